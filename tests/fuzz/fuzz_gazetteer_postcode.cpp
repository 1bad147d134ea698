// libFuzzer harness: the UK postcode parser (gazetteer/postcode.hpp).
// Checks: a refusal has rule "postcode-format"; an accepted postcode's normalised form is
// upper-case letters, digits and at most one space, and parses back to the same postcode;
// surrounding white space changes nothing ("in any case and spacing"); normalise_postcode
// and is_valid_full_postcode agree with the kind.

#include <algorithm>

#include "gazetteer/postcode.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace deit;
using namespace deit::fuzz;
using gazetteer::Postcode;

namespace {

bool same(const Postcode& a, const Postcode& b) {
  return a.kind == b.kind && a.outward == b.outward && a.inward == b.inward && a.area == b.area;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  auto parsed = gazetteer::parse_postcode(text);
  auto padded = gazetteer::parse_postcode(" " + std::string(text) + " \t");
  if (parsed.ok() != padded.ok())
    broken("surrounding white space changed whether a postcode parses",
           std::string(text) + " -> " + (parsed.ok() ? padded.error().describe() : parsed.error().describe()));
  const bool full = gazetteer::is_valid_full_postcode(text);
  auto normalised = gazetteer::normalise_postcode(text);
  require(normalised.ok() == full, "normalise_postcode and is_valid_full_postcode disagree", text);
  if (!parsed) {
    require_explained(parsed.error(), "parse_postcode");
    require(parsed.error().rule == "postcode-format", "a postcode refusal with another rule", parsed.error().rule);
    require(!full, "a refused postcode is a valid full postcode", text);
    return 0;
  }
  const Postcode& pc = parsed.value();
  require(same(pc, padded.value()), "surrounding white space changed the postcode", text);
  require(full == (pc.kind == Postcode::Kind::full), "is_valid_full_postcode disagrees with the kind", text);
  const std::string n = pc.normalised();
  require(std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' '; }) &&
              std::count(n.begin(), n.end(), ' ') <= 1,
          "a normalised postcode with other characters", n);
  require(!pc.area.empty() && pc.outward.rfind(pc.area, 0) == 0, "the area is not the start of the outward code", n);
  auto again = gazetteer::parse_postcode(n);
  require(again.ok() && same(again.value(), pc), "a normalised postcode does not parse back to itself", n);
  if (full) require(normalised.value() == n, "normalise_postcode differs from normalised()", n);
  return 0;
}
