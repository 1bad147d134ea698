#pragma once
// UK postcode validation and normalisation.
//
// A full postcode is an outward code (area letters + district, e.g. "AL1", "SW1A") and an
// inward code (sector digit + unit letters, e.g. "3EX"). Call handlers often have only the
// outward code or the sector ("AL1 3"); those parse as partial postcodes that narrow a
// search. Normalised form: upper case, one space before the inward code ("AL1 3EX").

#include <optional>
#include <string>
#include <string_view>

#include "hub/model/result.hpp"

namespace deit::gazetteer {

struct Postcode {
  enum class Kind { full, sector, outward };
  Kind kind = Kind::full;
  std::string outward;  // "AL1"
  std::string inward;   // "3EX" (full), "3" (sector), "" (outward)
  std::string area;     // "AL"

  std::string normalised() const;  // "AL1 3EX", "AL1 3", "AL1"
  std::string sector() const;      // "AL1 3" (full and sector kinds), else ""
};

// Parses a full or partial postcode, in any case and spacing ("al13ex", "AL1  3EX", "AL1").
// Fails with rule "postcode-format" and a message naming the offending part.
Result<Postcode> parse_postcode(std::string_view text);

// Only full postcodes: the normalised form, or an error.
Result<std::string> normalise_postcode(std::string_view text);

bool is_valid_full_postcode(std::string_view text);

}  // namespace deit::gazetteer
