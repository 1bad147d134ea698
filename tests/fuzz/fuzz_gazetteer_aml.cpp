// libFuzzer harness: the Advanced Mobile Location SMS parser (gazetteer/aml.hpp).
// Checks: a refusal has rule "aml" and names its field; an accepted payload has a position
// inside the WGS84 ranges, a finite non-negative radius, a percentage confidence, and a
// fix only with a position and a radius; strict parsing accepts nothing lenient refuses.

#include <cmath>
#include <ctime>

#include "gazetteer/aml.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace deit;
using namespace deit::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload = as_text(data, size);
  auto lenient = gazetteer::parse_aml(payload);
  auto strict = gazetteer::parse_aml(payload, gazetteer::AmlOptions{.strict_length = true});
  if (!lenient) {
    require_explained(lenient.error(), "parse_aml");
    require(lenient.error().rule == "aml", "an AML refusal with another rule", lenient.error().rule);
    require(!strict.ok(), "strict parsing accepted what lenient parsing refused", lenient.error().describe());
    return 0;
  }
  const gazetteer::AmlLocation& a = lenient.value();
  if (a.position) {
    require(std::isfinite(a.position->latitude) && std::fabs(a.position->latitude) <= 90, "latitude out of range");
    require(std::isfinite(a.position->longitude) && std::fabs(a.position->longitude) <= 180, "longitude out of range");
  }
  if (a.radius_m) require(std::isfinite(*a.radius_m) && *a.radius_m >= 0, "radius not a finite distance");
  if (a.confidence_percent) require(*a.confidence_percent >= 0 && *a.confidence_percent <= 100, "confidence not a percentage");
  if (a.has_fix) require(a.position.has_value() && a.radius_m.has_value(), "a fix without a position and radius");
  if (a.unix_time) {
    // The ISO form and the Unix time name the same instant (a leap second aside): a date
    // that does not exist, such as 29 February of a common year, cannot pass.
    require(!a.time_of_positioning.empty(), "a time without its ISO form");
    const std::time_t t = static_cast<std::time_t>(*a.unix_time);
    std::tm utc{};
    ::gmtime_r(&t, &utc);
    char iso[64];
    std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                  utc.tm_hour, utc.tm_min, utc.tm_sec);
    if (a.time_of_positioning.compare(17, 2, "60") != 0)
      require(a.time_of_positioning == iso, "the time of positioning is not a real date and time",
              a.time_of_positioning + " vs " + iso);
  }
  if (!strict) require_explained(strict.error(), "parse_aml strict");
  return 0;
}
