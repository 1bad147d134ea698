#pragma once
// Information sharing rules: what one agency's incident may carry to another.
//
// Each rule names a sending side and a receiving side (an agency id, an agency kind such
// as "police", or "*"; one word or a list) and the fields it withholds. Before the hub
// translates a message for a receiver, every rule that applies to the (sender, receiver)
// pair removes its fields from that receiver's copy. What was removed is reported (rule,
// field, how many values), never the removed content itself, so the sender, the receiver
// and an auditor can all see that something was withheld and under which rule.
//
//   "sharing_rules": [
//     {"name": "warning-markers-police-only", "from": "*", "to": ["fire", "ambulance"],
//      "withhold": ["persons.warning_markers"]}
//   ]

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.hpp"
#include "hub/model/incident.hpp"
#include "hub/model/result.hpp"

namespace deit::hub {

// The fields a rule can withhold, on the canonical incident (hub/model/incident.hpp).
enum class SharedField {
  caller,                   // "caller": the whole caller block (name, phone, role, consent)
  caller_name,              // "caller.name"
  caller_phone,             // "caller.phone"
  persons,                  // "persons": every person
  persons_name,             // "persons.name"
  persons_description,      // "persons.description"
  persons_warning_markers,  // "persons.warning_markers": intelligence warning markers
  vehicles,                 // "vehicles"
  hazards,                  // "hazards"
  log,                      // "log": every log entry
  log_sensitive,            // "log.sensitive": log entries marked sensitive (clinical notes)
};

std::string_view to_string(SharedField);
// All names, in the order above, for messages and documentation.
const std::vector<std::string_view>& shared_field_names();

struct SharingRule {
  std::string name;
  std::vector<std::string> from;  // agency ids, agency kinds, or "*"
  std::vector<std::string> to;
  std::vector<SharedField> withhold;
  bool operator==(const SharingRule&) const = default;
};

// One side of a transfer, as a rule sees it.
struct SharingParty {
  std::string_view agency;
  model::AgencyKind kind;
};

// Parses the "sharing_rules" array. `agency_ids` are the configured agencies: a side that
// is neither one of them, an agency kind nor "*" is an error (usually a typo), as is an
// unknown field name. Errors name their path, e.g. sharing_rules[1].withhold[0].
Result<std::vector<SharingRule>> parse_sharing_rules(const boost::json::value& value,
                                                     const std::vector<std::string>& agency_ids,
                                                     const std::string& path = "sharing_rules");

// Whether `rule` applies to a message from `sender` to `receiver`.
bool sharing_rule_applies(const SharingRule& rule, SharingParty sender, SharingParty receiver);

// What one rule removed from one field.
struct Withheld {
  std::string rule;
  SharedField field;
  std::size_t count = 0;  // values removed: entries, markers, persons, names ...
};

// Removes from `message` (the receiver's copy) every field the applicable rules withhold,
// in rule order; a value is counted once, by the first rule that removes it. Pure: no I/O.
std::vector<Withheld> apply_sharing_rules(const std::vector<SharingRule>& rules, SharingParty sender,
                                          SharingParty receiver, model::IncidentMessage& message);

// Findings for the transfer's record: rule "withheld", the canonical field path, and a
// message naming the sharing rule and the count (never the content).
std::vector<adapters::Finding> withheld_findings(const std::vector<Withheld>& withheld);

}  // namespace deit::hub
