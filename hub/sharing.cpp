#include "hub/sharing.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

namespace deit::hub {

namespace json = boost::json;

namespace {

struct FieldInfo {
  SharedField field;
  std::string_view name;
  std::string_view path;  // canonical path used in findings
  std::string_view one;   // what a count counts, for people: one ...
  std::string_view many;  // ... and several
};

// The fixed vocabulary. Adding a field means adding it here and in withhold() below.
constexpr FieldInfo kFields[] = {
    {SharedField::caller, "caller", "incident/caller", "caller's details", "caller's details"},
    {SharedField::caller_name, "caller.name", "incident/caller/name", "caller's name", "caller's names"},
    {SharedField::caller_phone, "caller.phone", "incident/caller/phone", "caller's phone number",
     "caller's phone numbers"},
    {SharedField::persons, "persons", "incident/persons", "person", "persons"},
    {SharedField::persons_name, "persons.name", "incident/persons/name", "person's name", "persons' names"},
    {SharedField::persons_description, "persons.description", "incident/persons/description",
     "person's description", "persons' descriptions"},
    {SharedField::persons_warning_markers, "persons.warning_markers", "incident/persons/warning_markers",
     "warning marker", "warning markers"},
    {SharedField::vehicles, "vehicles", "incident/vehicles", "vehicle", "vehicles"},
    {SharedField::hazards, "hazards", "incident/hazards", "hazard", "hazards"},
    {SharedField::log, "log", "incident/log", "log entry", "log entries"},
    {SharedField::log_sensitive, "log.sensitive", "incident/log", "sensitive log entry", "sensitive log entries"},
};

const FieldInfo& info(SharedField f) {
  for (const auto& i : kFields)
    if (i.field == f) return i;
  return kFields[0];  // unreachable: every enumerator is in the table
}

std::size_t withhold(SharedField field, model::Incident& incident) {
  auto clear_text = [](std::string& s) -> std::size_t {
    if (s.empty()) return 0;
    s.clear();
    return 1;
  };
  std::size_t n = 0;
  switch (field) {
    case SharedField::caller:
      n = incident.caller ? 1 : 0;
      incident.caller.reset();
      return n;
    case SharedField::caller_name:
      return incident.caller ? clear_text(incident.caller->name) : 0;
    case SharedField::caller_phone:
      return incident.caller ? clear_text(incident.caller->phone) : 0;
    case SharedField::persons:
      n = incident.persons.size();
      incident.persons.clear();
      return n;
    case SharedField::persons_name:
      for (auto& p : incident.persons) n += clear_text(p.name);
      return n;
    case SharedField::persons_description:
      for (auto& p : incident.persons) n += clear_text(p.description);
      return n;
    case SharedField::persons_warning_markers:
      for (auto& p : incident.persons) {
        n += p.warning_markers.size();
        p.warning_markers.clear();
      }
      return n;
    case SharedField::vehicles:
      n = incident.vehicles.size();
      incident.vehicles.clear();
      return n;
    case SharedField::hazards:
      n = incident.hazards.size();
      incident.hazards.clear();
      return n;
    case SharedField::log:
      n = incident.log.size();
      incident.log.clear();
      return n;
    case SharedField::log_sensitive:
      return static_cast<std::size_t>(
          std::erase_if(incident.log, [](const model::LogEntry& e) { return e.sensitive; }));
  }
  return 0;
}

bool side_matches(const std::vector<std::string>& side, SharingParty party) {
  for (const auto& s : side)
    if (s == "*" || s == party.agency || s == model::to_string(party.kind)) return true;
  return false;
}

Result<std::vector<std::string>> parse_side(const json::object& rule, std::string_view key,
                                            const std::vector<std::string>& agency_ids, const std::string& path) {
  const std::string field = path + "." + std::string(key);
  const json::value* v = rule.if_contains(key);
  if (!v) return Error::make("config", "is required: an agency id, an agency kind, '*', or a list of them", field);
  std::vector<const json::value*> items;
  if (v->is_array()) {
    for (const auto& item : v->as_array()) items.push_back(&item);
    if (items.empty()) return Error::make("config", "must name at least one agency, kind or '*'", field);
  } else {
    items.push_back(v);
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string at = v->is_array() ? field + "[" + std::to_string(i) + "]" : field;
    if (!items[i]->is_string()) return Error::make("config", "must be a string", at);
    std::string word(items[i]->as_string());
    const bool known = word == "*" || model::parse_agency_kind(word) ||
                       std::find(agency_ids.begin(), agency_ids.end(), word) != agency_ids.end();
    if (!known)
      return Error::make("config",
                         "'" + word + "' is not a configured agency id, an agency kind (police, fire, ambulance) or '*'",
                         at);
    out.push_back(std::move(word));
  }
  return out;
}

}  // namespace

std::string_view to_string(SharedField f) { return info(f).name; }

const std::vector<std::string_view>& shared_field_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> n;
    for (const auto& i : kFields) n.push_back(i.name);
    return n;
  }();
  return names;
}

Result<std::vector<SharingRule>> parse_sharing_rules(const json::value& value, const std::vector<std::string>& agency_ids,
                                                     const std::string& path) {
  if (!value.is_array()) return Error::make("config", "must be an array of sharing rules", path);
  std::vector<SharingRule> rules;
  std::set<std::string> names;
  for (std::size_t i = 0; i < value.as_array().size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    const json::value& v = value.as_array()[i];
    if (!v.is_object()) return Error::make("config", "must be an object", at);
    const json::object& o = v.as_object();
    for (const auto& kv : o) {
      static const std::set<std::string_view> allowed{"name", "from", "to", "withhold"};
      if (!allowed.count(kv.key())) return Error::make("config", "unknown setting", at + "." + std::string(kv.key()));
    }
    SharingRule rule;
    const json::value* name = o.if_contains("name");
    if (!name || !name->is_string() || name->as_string().empty())
      return Error::make("config", "is required: a name that findings and logs can quote", at + ".name");
    rule.name = std::string(name->as_string());
    if (!names.insert(rule.name).second)
      return Error::make("config", "duplicate sharing rule name '" + rule.name + "'", at + ".name");
    auto from = parse_side(o, "from", agency_ids, at);
    if (!from) return from.error();
    rule.from = std::move(from).value();
    auto to = parse_side(o, "to", agency_ids, at);
    if (!to) return to.error();
    rule.to = std::move(to).value();
    const json::value* withhold = o.if_contains("withhold");
    if (!withhold || !withhold->is_array() || withhold->as_array().empty())
      return Error::make("config", "must be a non-empty array of field names", at + ".withhold");
    for (std::size_t k = 0; k < withhold->as_array().size(); ++k) {
      const std::string field_at = at + ".withhold[" + std::to_string(k) + "]";
      const json::value& f = withhold->as_array()[k];
      if (!f.is_string()) return Error::make("config", "must be a field name", field_at);
      const auto* found = std::find_if(std::begin(kFields), std::end(kFields),
                                       [&](const FieldInfo& fi) { return fi.name == std::string_view(f.as_string()); });
      if (found == std::end(kFields)) {
        std::string list;
        for (auto n : shared_field_names()) list += (list.empty() ? "" : ", ") + std::string(n);
        return Error::make("config", "'" + std::string(f.as_string()) + "' is not one of " + list, field_at);
      }
      rule.withhold.push_back(found->field);
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

bool sharing_rule_applies(const SharingRule& rule, SharingParty sender, SharingParty receiver) {
  return side_matches(rule.from, sender) && side_matches(rule.to, receiver);
}

std::vector<Withheld> apply_sharing_rules(const std::vector<SharingRule>& rules, SharingParty sender,
                                          SharingParty receiver, model::IncidentMessage& message) {
  std::vector<Withheld> out;
  for (const auto& rule : rules) {
    if (!sharing_rule_applies(rule, sender, receiver)) continue;
    for (SharedField field : rule.withhold) {
      const std::size_t n = withhold(field, message.incident);
      if (n > 0) out.push_back(Withheld{rule.name, field, n});
    }
  }
  return out;
}

std::vector<adapters::Finding> withheld_findings(const std::vector<Withheld>& withheld) {
  std::vector<adapters::Finding> out;
  for (const auto& w : withheld) {
    const FieldInfo& i = info(w.field);
    out.push_back({std::string(i.path), "withheld",
                   "sharing rule '" + w.rule + "' withheld " + std::to_string(w.count) + " " +
                       std::string(w.count == 1 ? i.one : i.many) +
                       " (" + std::string(i.name) + ")"});
  }
  return out;
}

}  // namespace deit::hub
