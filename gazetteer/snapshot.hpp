#pragma once
// Internal: a memory-mapped snapshot. Opening checks the header and section bounds (O(1));
// nothing is parsed or copied. Immutable, so any number of threads may read it.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gazetteer/io.hpp"
#include "gazetteer/model.hpp"
#include "gazetteer/snapshot_format.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

class Snapshot {
 public:
  // `prefault`: read every page at open (seconds for a national file) instead of on first
  // use; otherwise the kernel is only asked to read ahead in the background.
  static Result<std::shared_ptr<const Snapshot>> open(const std::string& path, bool prefault = false);

  const snapshot::Header& header() const { return *header_; }
  const std::string& path() const { return path_; }

  std::string_view string(std::uint32_t id) const;
  std::span<const snapshot::AddressEntry> addresses() const { return addresses_; }
  std::span<const snapshot::StreetEntry> streets() const { return streets_; }
  std::span<const snapshot::TermEntry> terms() const { return terms_; }
  std::span<const std::uint32_t> street_terms(const snapshot::StreetEntry& s) const {
    return street_terms_.subspan(s.terms_offset, s.terms_count);
  }
  std::span<const std::uint32_t> postings(std::uint32_t term) const {
    return postings_.subspan(terms_[term].postings_offset, terms_[term].postings_count);
  }

  // The preferred entry of a UPRN, or nullptr.
  const snapshot::AddressEntry* find_uprn(std::uint64_t uprn) const;
  // Term index of an exact canonical term ("HIGH", "@AL1", "@AL1 3"), or -1.
  std::int64_t find_term(std::string_view term) const;
  // Word terms within max_distance edits of `word` (itself included when present),
  // as (term, distance). Words shorter than 4 letters get exact matches only.
  void similar_terms(std::string_view word, int max_distance,
                     std::vector<std::pair<std::uint32_t, int>>& out) const;

  const snapshot::PostcodeEntry* find_postcode(std::string_view normalised) const;
  std::span<const std::uint32_t> postcode_addresses(const snapshot::PostcodeEntry& p) const {
    return postcode_addresses_.subspan(p.first, p.count);
  }
  std::span<const snapshot::PostcodeEntry> postcodes() const { return postcodes_; }

  // Address entry indexes in grid cell (col, row); empty outside the grid.
  std::span<const std::uint32_t> cell(std::int64_t col, std::int64_t row) const;

  std::string_view custodian_table() const { return section_text(snapshot::kCustodians); }
  std::string_view boundaries() const { return section_text(snapshot::kBoundaries); }
  std::string_view meta() const { return section_text(snapshot::kMeta); }

  Address to_address(const snapshot::AddressEntry& e) const;

 private:
  std::string_view section_text(snapshot::Section s) const;
  template <typename T>
  std::span<const T> section(snapshot::Section s) const;

  std::string path_;
  io::MappedFile file_;
  const snapshot::Header* header_ = nullptr;
  std::span<const snapshot::AddressEntry> addresses_;
  std::span<const snapshot::StreetEntry> streets_;
  std::span<const std::uint32_t> street_terms_;
  std::span<const std::uint64_t> uprn_keys_;
  std::span<const std::uint32_t> uprn_addresses_;
  std::span<const snapshot::TermEntry> terms_;
  std::span<const std::uint32_t> term_hash_;
  std::span<const std::uint32_t> postings_;
  std::span<const snapshot::FuzzySlot> fuzzy_;
  std::span<const snapshot::PostcodeEntry> postcodes_;
  std::span<const std::uint32_t> postcode_addresses_;
  std::span<const std::uint32_t> grid_cells_;
  std::span<const std::uint32_t> grid_addresses_;
};

}  // namespace deit::gazetteer
