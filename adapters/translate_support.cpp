#include "adapters/translate_support.hpp"

#include <ctime>

namespace deit::adapters {

using model::AgencyKind;

std::string describe_code(const model::Code& code) {
  std::string out = code.scheme.empty() ? std::string("(no scheme)") : code.scheme;
  out += '/';
  out += code.code;
  if (!code.text.empty()) {
    out += " '";
    out += code.text;
    out += '\'';
  }
  return out;
}

void add_finding(std::vector<Finding>& findings, std::string field, std::string rule, std::string message) {
  findings.push_back(Finding{std::move(field), std::move(rule), std::move(message)});
}

void not_carried(std::vector<Finding>& findings, bool present, std::string field, std::string_view format,
                 std::string detail) {
  if (!present) return;
  std::string message = "the " + std::string(format) + " format has no place for this field";
  if (!detail.empty()) message += ": " + detail;
  add_finding(findings, std::move(field), "not-carried", std::move(message));
}

NativeClassification classify_for(const MappingTables& tables, const model::Code& type, AgencyKind target,
                                  std::vector<Finding>& findings) {
  NativeClassification out;
  if (type.code.empty() && type.scheme.empty() && type.text.empty()) return out;
  auto service = MappingTables::service_of_scheme(type.scheme);
  if (service == target) {
    out.native = type;
    return out;
  }
  out.original = type;
  out.mapped = true;
  if (auto translated = tables.translate(type, target)) {
    out.native = std::move(translated);
    return out;
  }
  out.native = tables.fallback(target);
  std::string target_name(model::to_string(target));
  add_finding(findings, "incident/type", "unmapped-code",
              "no " + target_name + " equivalent for " + describe_code(type) +
                  "; carried through as the original classification");
  return out;
}

model::Code canonical_type(const std::optional<model::Code>& native, const std::optional<model::Code>& original) {
  if (original) return *original;
  if (native) return *native;
  return {};
}

NativeValue<model::PoliceGrade> police_grade_for(const MappingTables& tables, const model::Priority& p) {
  if (p.police_grade) return {p.police_grade, false};
  const PriorityLevel* level = tables.level_of(p);
  if (level && level->police_grade) return {level->police_grade, true};
  return {};
}

NativeValue<int> ambulance_category_for(const MappingTables& tables, const model::Priority& p) {
  if (p.ambulance_category) return {p.ambulance_category, false};
  const PriorityLevel* level = tables.level_of(p);
  if (level && level->ambulance_category) return {level->ambulance_category, true};
  return {};
}

NativeValue<std::string> fire_priority_for(const MappingTables& tables, const model::Priority& p) {
  if (!p.fire_priority.empty()) return {p.fire_priority, false};
  const PriorityLevel* level = tables.level_of(p);
  if (level && !level->fire_priority.empty()) return {level->fire_priority, true};
  return {};
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_patient_role(std::string_view role) {
  return role == "patient" || role == "casualty" || role == "injured";
}

}  // namespace deit::adapters
