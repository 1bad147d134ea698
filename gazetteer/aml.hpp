#pragma once
// Advanced Mobile Location (AML) SMS payloads, version 1 (ETSI TS 103 625 / Google ELS):
//   A"ML=1;lt=+51.53321;lg=-0.12601;rd=14;top=20220131171748;lc=68;pm=W;
//   si=234159000000000;ei=123456789012345;mcc=234;mnc=15;ml=126
// Parsing is strict about syntax (every error names the field: rule "aml", field = key)
// and tolerant about what handsets really omit: missing lt/lg/rd/top/pm/si/ei yield
// no value rather than failure. A "no fix" message (pm=N, rd=N) parses with has_fix=false.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gazetteer/model.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

struct AmlLocation {
  int version = 1;
  bool has_fix = false;                 // a position with a radius
  std::optional<LatLon> position;       // WGS84
  std::optional<double> radius_m;       // rd
  std::string time_of_positioning;      // ISO 8601 UTC, "2022-01-31T17:17:48Z"
  std::optional<std::int64_t> unix_time;
  std::optional<int> confidence_percent;  // lc
  char method = 0;                      // pm: G GNSS, W Wi-Fi, C cell, N none, U unknown
  std::string method_name;              // "gnss", "wifi", "cell", "none", "unknown"
  std::string imsi, imei, mcc, mnc;     // personal data: handle as OFFICIAL-SENSITIVE
  std::optional<int> declared_length;   // ml
  std::vector<std::string> warnings;    // e.g. ml differs from the real length
};

struct AmlOptions {
  // ml is an integrity check; published examples disagree by one character, so by default
  // a mismatch is a warning. Strict mode makes it an error.
  bool strict_length = false;
};

Result<AmlLocation> parse_aml(std::string_view payload, const AmlOptions& options = {});

}  // namespace deit::gazetteer
