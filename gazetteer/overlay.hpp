#pragma once
// Internal: change-only updates applied on top of the mapped base snapshot without a
// rebuild. The overlay holds whole addresses that were inserted or updated, and the UPRNs
// that were deleted; it is persisted beside the snapshot as "<snapshot>.delta" (text, one
// record a line, written atomically) and loaded at open. Rebuild the snapshot when the
// delta grows large (it is searched with a small in-memory word index).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gazetteer/coords.hpp"
#include "gazetteer/matcher.hpp"
#include "gazetteer/model.hpp"
#include "gazetteer/records.hpp"
#include "gazetteer/snapshot.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

class Overlay {
 public:
  // A missing file is an empty overlay.
  static Result<Overlay> load(const std::string& path);
  Status save(const std::string& path) const;

  void upsert(Address address);
  void remove(std::uint64_t uprn);

  const Address* find(std::uint64_t uprn) const;
  bool deleted(std::uint64_t uprn) const { return deleted_.count(uprn) != 0; }
  // True when the base entry of this UPRN must be hidden (replaced or deleted).
  bool hides(std::uint64_t uprn) const { return deleted(uprn) || index_.count(uprn) != 0; }
  const std::vector<Address>& addresses() const { return addresses_; }
  std::size_t deletions() const { return deleted_.size(); }

  std::vector<std::pair<const Address*, double>> match(const ParsedQuery& query, std::size_t max) const;

 private:
  void index_words(std::size_t i);
  std::vector<Address> addresses_;  // slots of removed addresses keep uprn 0
  std::unordered_map<std::uint64_t, std::size_t> index_;
  std::unordered_set<std::uint64_t> deleted_;
  std::unordered_map<std::string, std::vector<std::size_t>> words_;
};

// Applies AddressBase Premium change-only-update CSV files (I/U/D records) to `overlay`,
// resolving unchanged parts of an address from the base snapshot.
Status apply_change_only_update(const Snapshot& base, Overlay& overlay, const std::vector<std::string>& files,
                                const CoordinateTransformer& transformer, LoadStats& stats);

}  // namespace deit::gazetteer
