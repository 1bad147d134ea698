#pragma once
// Internal: free-text and structured address matching against a snapshot.
//
// 1. Parse: postcode (full, sector or outward), SAO / PAO numbers ("flat 2 12", "2/12",
//    "12a", "12-14"), canonical words (abbreviations folded, stop words dropped).
// 2. Expand each word to snapshot terms: exact, else within 1 edit (2 for long words)
//    using the symmetric-deletion index; each word is weighted by its rarity (IDF).
// 3. Candidate streets: the postcode's streets, plus streets holding the rarest words
//    (a union when the lists are short, else streets holding at least two of the four
//    rarest words, by galloping intersection). Each candidate street is scored by the
//    weighted share of query words found among its terms.
// 4. Within the best streets, every address is scored on numbers, leftover words against
//    building / flat names, and postcode agreement; the blend is the confidence.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gazetteer/model.hpp"
#include "gazetteer/postcode.hpp"
#include "gazetteer/snapshot.hpp"
#include "gazetteer/text.hpp"

namespace deit::gazetteer {

struct ParsedQuery {
  std::optional<Postcode> postcode;
  std::optional<text::NumberRange> sao;
  char sao_letter = 0;  // "FLAT B"
  std::optional<text::NumberRange> pao;
  std::vector<std::string> words;  // canonical, distinct, in typed order
  std::optional<std::uint64_t> uprn;  // a bare 6-12 digit number that is a known UPRN

  bool empty() const { return !postcode && !sao && !pao && words.empty() && !uprn; }
};

// `snapshot` (optional) confirms that a token like "AL1" is a known outward code.
ParsedQuery parse_free_text(std::string_view text, const Snapshot* snapshot);
ParsedQuery parse_structured(const StructuredAddress& address);

struct MatchHit {
  std::uint64_t uprn = 0;
  const snapshot::AddressEntry* entry = nullptr;  // base snapshot entry
  int overlay_index = -1;                          // or an overlay address
  double confidence = 0;
  std::string explanation;
};

// Scores one address that is not in the snapshot index (change-only-update overlay).
// Slower than the indexed path; meant for small sets.
double score_plain_address(const ParsedQuery& query, const Address& address, std::string* explanation);

class Matcher {
 public:
  explicit Matcher(const Snapshot& snapshot) : snap_(snapshot) {}
  // Best `max` distinct UPRNs, best first. `skip(uprn)` hides UPRNs replaced or deleted
  // by an overlay. Never throws; an empty query yields no hits.
  // Only the best `max + 8` UPRNs are considered, skipped ones included.
  template <typename Skip>
  std::vector<MatchHit> match(const ParsedQuery& query, std::size_t max, Skip skip) const {
    return match_all(query, max, [&skip](std::uint64_t uprn) { return static_cast<bool>(skip(uprn)); });
  }

 private:
  std::vector<MatchHit> match_all(const ParsedQuery& query, std::size_t max,
                                  const std::function<bool(std::uint64_t)>& skip) const;
  const Snapshot& snap_;
};

}  // namespace deit::gazetteer
