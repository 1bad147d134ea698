#pragma once
// What every service adapter does the same way: put an incident's classification and
// priority into the receiving service's terms (through the mapping tables) while keeping
// the sender's original, and record what did not map as Findings.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.hpp"
#include "adapters/mapping_tables.hpp"
#include "hub/model/incident.hpp"

namespace deit::adapters {

// An incident type as a service's format writes it. `mapped` says the hub derived `native`
// from another service's code; `original` then holds the sender's code so it is never lost.
struct NativeClassification {
  std::optional<model::Code> native;
  bool mapped = false;
  std::optional<model::Code> original;
};

// Puts `type` into `target`'s scheme. An unknown code becomes the service's fallback code
// (if it has one), travels on as `original`, and is reported as an "unmapped-code" Finding.
NativeClassification classify_for(const MappingTables& tables, const model::Code& type, model::AgencyKind target,
                                  std::vector<Finding>& findings);

// Back to canonical: the original when the format carries one, else the native code.
model::Code canonical_type(const std::optional<model::Code>& native, const std::optional<model::Code>& original);

// One service's priority value, either the sender's own or mapped through the ladder.
template <typename T>
struct NativeValue {
  std::optional<T> value;
  bool mapped = false;
};
NativeValue<model::PoliceGrade> police_grade_for(const MappingTables& tables, const model::Priority& p);
NativeValue<int> ambulance_category_for(const MappingTables& tables, const model::Priority& p);
NativeValue<std::string> fire_priority_for(const MappingTables& tables, const model::Priority& p);

// Appends a Finding.
void add_finding(std::vector<Finding>& findings, std::string field, std::string rule, std::string message);

// "not-carried" Findings for fields a format has no place for, only when they hold a value.
void not_carried(std::vector<Finding>& findings, bool present, std::string field, std::string_view format,
                 std::string detail = {});

// "scheme/code 'text'" for messages.
std::string describe_code(const model::Code& code);

// The current UTC time as RFC 3339 with seconds ("2026-11-23T08:15:02Z").
std::string utc_now();

// True when a person's role makes them a patient for the ambulance service.
bool is_patient_role(std::string_view role);

}  // namespace deit::adapters
