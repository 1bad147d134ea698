#include "gazetteer/aml.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

namespace deit::gazetteer {
namespace {

Error aml_error(const std::string& field, std::string message, std::size_t column) {
  Error e = Error::make("aml", std::move(message), field);
  e.line = 1;
  e.column = static_cast<int>(column);
  return e;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Signed decimal degrees: optional sign, digits, optional '.' digits.
bool parse_degrees(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string_view body = s;
  bool negative = false;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || body.front() == '.' || body.back() == '.') return false;
  if (!std::all_of(body.begin(), body.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) return false;
  if (std::count(body.begin(), body.end(), '.') > 1) return false;
  double v = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || p != body.data() + body.size()) return false;
  *out = negative ? -v : v;
  return true;
}

// Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

Result<AmlLocation> parse_aml(std::string_view payload, const AmlOptions& options) {
  AmlLocation out;
  std::string_view text = payload;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  constexpr std::string_view kHeader = "A\"ML=";
  if (text.substr(0, kHeader.size()) != kHeader)
    return aml_error("A\"ML", "payload must start with A\"ML=<version>", 1);

  std::vector<std::string> seen;
  std::size_t pos = 0;
  bool first = true;
  while (pos <= text.size()) {
    std::size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view pair = text.substr(pos, end - pos);
    const std::size_t column = pos + 1;
    if (pair.empty()) {
      if (end == text.size() && !first) break;  // a trailing ';'
      return aml_error("", "empty field at column " + std::to_string(column), column);
    }
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return aml_error(std::string(pair), "field '" + std::string(pair) + "' is not key=value", column);
    std::string key(pair.substr(0, eq));
    std::string_view value = pair.substr(eq + 1);
    if (value.find('=') != std::string_view::npos)
      return aml_error(key, "field '" + key + "' has more than one '='", column);
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      return aml_error(key, "field '" + key + "' appears twice", column);
    seen.push_back(key);
    if (first) {
      if (key != "A\"ML") return aml_error(key, "payload must start with A\"ML", column);
      if (value != "1") return aml_error(key, "version '" + std::string(value) + "' is not supported (only 1)", column);
      first = false;
    } else if (key == "lt" || key == "lg") {
      double v = 0;
      if (!parse_degrees(value, &v))
        return aml_error(key, std::string(key == "lt" ? "latitude" : "longitude") + " '" + std::string(value) + "' is not signed decimal degrees", column);
      double limit = key == "lt" ? 90 : 180;
      if (std::fabs(v) > limit) return aml_error(key, key + " " + std::string(value) + " is out of range", column);
      if (!out.position) out.position = LatLon{};
      (key == "lt" ? out.position->latitude : out.position->longitude) = v;
    } else if (key == "rd") {
      if (value != "N") {
        double r = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), r);
        // from_chars also reads "nan" and "inf": a radius is a finite number of metres.
        if (value.empty() || ec != std::errc() || p != value.data() + value.size() || !std::isfinite(r) || r < 0)
          return aml_error(key, "radius '" + std::string(value) + "' is not metres or N", column);
        out.radius_m = r;
      }
    } else if (key == "top") {
      if (value.size() != 14 || !all_digits(value))
        return aml_error(key, "time of positioning '" + std::string(value) + "' is not YYYYMMDDhhmmss", column);
      auto num = [&](std::size_t at, std::size_t len) {
        int v = 0;
        std::from_chars(value.data() + at, value.data() + at + len, v);
        return v;
      };
      int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(8, 2), mi = num(10, 2), s = num(12, 2);
      static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 ||
          s > 60)
        return aml_error(key, "time of positioning '" + std::string(value) + "' is not a valid UTC date and time", column);
      char iso[96];
      std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
      out.time_of_positioning = iso;
      out.unix_time = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s;
    } else if (key == "lc") {
      int v = -1;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() || v < 0 || v > 100)
        return aml_error(key, "level of confidence '" + std::string(value) + "' is not an integer percentage", column);
      out.confidence_percent = v;
    } else if (key == "pm") {
      if (value.size() != 1 || std::string_view("GWCNU").find(value[0]) == std::string_view::npos)
        return aml_error(key, "positioning method '" + std::string(value) + "' is not G, W, C, N or U", column);
      out.method = value[0];
      out.method_name = value[0] == 'G' ? "gnss" : value[0] == 'W' ? "wifi" : value[0] == 'C' ? "cell" : value[0] == 'N' ? "none" : "unknown";
    } else if (key == "si" || key == "ei") {
      if (!all_digits(value) || value.size() > 16)
        return aml_error(key, std::string(key == "si" ? "IMSI" : "IMEI") + " '" + std::string(value) + "' is not up to 16 digits", column);
      (key == "si" ? out.imsi : out.imei) = std::string(value);
    } else if (key == "mcc") {
      if (value.size() != 3 || !all_digits(value))
        return aml_error(key, "mobile country code '" + std::string(value) + "' is not 3 digits", column);
      out.mcc = std::string(value);
    } else if (key == "mnc") {
      if ((value.size() != 2 && value.size() != 3) || !all_digits(value))
        return aml_error(key, "mobile network code '" + std::string(value) + "' is not 2 or 3 digits", column);
      out.mnc = std::string(value);
    } else if (key == "ml") {
      if (!all_digits(value) || value.size() > 4)
        return aml_error(key, "message length '" + std::string(value) + "' is not a number", column);
      out.declared_length = std::stoi(std::string(value));
      if (*out.declared_length != static_cast<int>(text.size())) {
        std::string msg = "message length says " + std::string(value) + " but the payload has " +
                          std::to_string(text.size()) + " characters";
        if (options.strict_length) return aml_error(key, msg, column);
        out.warnings.push_back(msg);
      }
    } else {
      return aml_error(key, "unknown field '" + key + "'", column);
    }
    if (end == text.size()) break;
    pos = end + 1;
  }
  if (out.position && !(std::find(seen.begin(), seen.end(), "lt") != seen.end() &&
                        std::find(seen.begin(), seen.end(), "lg") != seen.end()))
    return aml_error(std::find(seen.begin(), seen.end(), "lt") != seen.end() ? "lg" : "lt",
                     "latitude and longitude must come together", 0);
  // "+00.00000/+000.00000" with pm=N or rd=N is the documented "no fix" form.
  bool zero = out.position && out.position->latitude == 0 && out.position->longitude == 0;
  out.has_fix = out.position && !zero && out.method != 'N' && out.radius_m.has_value();
  if (zero) out.position.reset();
  return out;
}

}  // namespace deit::gazetteer
