#include "hub/model/incident.hpp"

#include <array>
#include <utility>

#include "hub/model/result.hpp"

namespace deit {

std::string Error::describe() const {
  std::string out;
  if (!field.empty()) out += field + ": ";
  out += message;
  if (line > 0) out += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  if (!rule.empty()) out += " [" + rule + "]";
  return out;
}

}  // namespace deit

namespace deit::model {
namespace {

// One table per enum keeps the text forms in a single place for both directions.
template <typename E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<AgencyKind, 3> kAgencyKinds{{{AgencyKind::police, "police"},
                                             {AgencyKind::fire, "fire"},
                                             {AgencyKind::ambulance, "ambulance"}}};
constexpr Names<MessageType, 4> kMessageTypes{{{MessageType::create, "create"},
                                               {MessageType::update, "update"},
                                               {MessageType::close, "close"},
                                               {MessageType::cancel, "cancel"}}};
constexpr Names<TransferReason, 5> kReasons{{{TransferReason::misrouted, "misrouted"},
                                             {TransferReason::assistance_request, "assistance-request"},
                                             {TransferReason::information_only, "information-only"},
                                             {TransferReason::buddy_overflow, "buddy-overflow"},
                                             {TransferReason::transfer_back, "transfer-back"}}};
constexpr Names<PoliceGrade, 4> kGrades{{{PoliceGrade::emergency, "emergency"},
                                         {PoliceGrade::priority, "priority"},
                                         {PoliceGrade::scheduled, "scheduled"},
                                         {PoliceGrade::resolution_without_deployment, "resolution-without-deployment"}}};
constexpr Names<ProtectiveMarking, 2> kMarkings{{{ProtectiveMarking::official, "OFFICIAL"},
                                                 {ProtectiveMarking::official_sensitive, "OFFICIAL-SENSITIVE"}}};
constexpr Names<CallerRole, 4> kCallerRoles{{{CallerRole::victim, "victim"},
                                             {CallerRole::witness, "witness"},
                                             {CallerRole::third_party, "third-party"},
                                             {CallerRole::other, "other"}}};
constexpr Names<LocationSource, 6> kSources{{{LocationSource::caller, "caller"},
                                             {LocationSource::aml, "aml"},
                                             {LocationSource::eisec, "eisec"},
                                             {LocationSource::gazetteer, "gazetteer"},
                                             {LocationSource::operator_entered, "operator"},
                                             {LocationSource::other, "other"}}};

template <typename E, std::size_t N>
std::string_view name_of(const Names<E, N>& names, E value) {
  for (const auto& [e, s] : names)
    if (e == value) return s;
  return "?";
}

template <typename E, std::size_t N>
std::optional<E> parse_name(const Names<E, N>& names, std::string_view text) {
  for (const auto& [e, s] : names)
    if (s == text) return e;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(AgencyKind v) { return name_of(kAgencyKinds, v); }
std::string_view to_string(MessageType v) { return name_of(kMessageTypes, v); }
std::string_view to_string(TransferReason v) { return name_of(kReasons, v); }
std::string_view to_string(PoliceGrade v) { return name_of(kGrades, v); }
std::string_view to_string(ProtectiveMarking v) { return name_of(kMarkings, v); }
std::string_view to_string(CallerRole v) { return name_of(kCallerRoles, v); }
std::string_view to_string(LocationSource v) { return name_of(kSources, v); }
std::optional<AgencyKind> parse_agency_kind(std::string_view s) { return parse_name(kAgencyKinds, s); }
std::optional<MessageType> parse_message_type(std::string_view s) { return parse_name(kMessageTypes, s); }
std::optional<TransferReason> parse_transfer_reason(std::string_view s) { return parse_name(kReasons, s); }
std::optional<PoliceGrade> parse_police_grade(std::string_view s) { return parse_name(kGrades, s); }
std::optional<ProtectiveMarking> parse_protective_marking(std::string_view s) { return parse_name(kMarkings, s); }
std::optional<CallerRole> parse_caller_role(std::string_view s) { return parse_name(kCallerRoles, s); }
std::optional<LocationSource> parse_location_source(std::string_view s) { return parse_name(kSources, s); }

bool is_agency_id(std::string_view text) {
  if (text.empty() || text.size() > 64 || text.front() == '-') return false;
  for (char c : text)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool is_identifier(std::string_view text) {
  std::size_t characters = 0;
  for (unsigned char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return false;
    if ((c & 0xC0) != 0x80) ++characters;  // count UTF-8 lead bytes
  }
  return characters >= 1 && characters <= 128;
}

bool is_timestamp(std::string_view t) {
  // YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm)
  auto digits = [&](std::size_t at, std::size_t n, int* out) {
    if (at + n > t.size()) return false;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || t.size() < 20 || t[4] != '-' || !digits(5, 2, &month) || t[7] != '-' ||
      !digits(8, 2, &day) || t[10] != 'T' || !digits(11, 2, &hour) || t[13] != ':' || !digits(14, 2, &minute) ||
      t[16] != ':' || !digits(17, 2, &second))
    return false;
  std::size_t at = 19;
  bool fraction_is_zero = true;
  if (t[at] == '.') {
    const std::size_t start = ++at;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') fraction_is_zero = fraction_is_zero && t[at++] == '0';
    if (at == start) return false;
  }
  if (at < t.size() && t[at] == 'Z') {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    int oh, om;
    if (!digits(at + 1, 2, &oh) || at + 3 >= t.size() || t[at + 3] != ':' || !digits(at + 4, 2, &om)) return false;
    if (oh > 14 || om > 59 || (oh == 14 && om != 0)) return false;
    at += 6;
  } else {
    return false;
  }
  if (at != t.size()) return false;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year == 0 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || (month == 2 && day == 29 && !leap))
    return false;
  if (hour == 24) return minute == 0 && second == 0 && fraction_is_zero;
  return hour <= 23 && minute <= 59 && second <= 60;
}

}  // namespace deit::model
