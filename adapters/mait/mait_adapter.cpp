#include "adapters/mait/mait_adapter.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <iterator>
#include <span>
#include <tuple>

#include "adapters/translate_support.hpp"
#include "adapters/try.hpp"
#include "adapters/xml_support.hpp"
#include "schemas/catalog.hpp"
#include "schemas/xml.hpp"

namespace deit::adapters {

using namespace model;

namespace {

constexpr std::string_view kFormat = "mait";
constexpr std::string_view kOwner = "deit-hub";

std::string_view mait_type(MessageType t) {
  switch (t) {
    case MessageType::create: return "IncidentCreate";
    case MessageType::update: return "IncidentUpdate";
    case MessageType::close:
    case MessageType::cancel: return "IncidentClose";
  }
  return "IncidentUpdate";
}

// An extension key from its parts: {"persons/", "0", "/age"}.
using NameParts = std::initializer_list<std::string_view>;

// Canonical fields without a MAIT element travel in two extensions, one for the message's
// fields and one for the incident's:
//   <Extension owner="deit-hub" name="incident">status=officers en route;persons/1/age=41</Extension>
// The value is key=value fields separated by ';'. A key is the field's canonical path
// relative to the extension's name ("status", "persons/1/warning_markers/0",
// "vehicles/0/make"), so name + '/' + key is the field's canonical path. In a value, '\'
// and ';' are written "\\" and "\;". A field at its default (false, absent, or what a MAIT
// element already says) is not written. One element per field, or even per entity, costs
// the validating parser more than its text does, so everything goes into these two.
class Extension {
 public:
  void field(NameParts key, std::string_view value) {
    if (!value_.empty()) value_ += ';';
    for (std::string_view part : key) value_ += part;
    value_ += '=';
    std::size_t from = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] != '\\' && value[i] != ';') continue;
      value_.append(value.substr(from, i - from));
      value_ += '\\';
      from = i;
    }
    value_.append(value.substr(from));
  }
  void field_if(NameParts key, std::string_view value) {
    if (!value.empty()) field(key, value);
  }
  bool empty() const { return value_.empty(); }
  void write(xml::Writer& w, std::string_view name) const {
    if (!value_.empty()) w.leaf("Extension", value_, {{"owner", kOwner}, {"name", name}});
  }

 private:
  std::string value_;
};

// A person's MAIT role, and the canonical role that MAIT role gives back on decode.
bool is_casualty(const Person& p) { return is_patient_role(p.role) || p.role == "victim"; }
std::string_view implied_role(bool casualty) { return casualty ? "casualty" : "subject"; }

std::string encode_mait(const IncidentMessage& m, std::vector<Finding>&) {
  const Incident& inc = m.incident;
  Extension message_ext;
  Extension ext;  // the incident's
  std::string out;
  out.reserve(4096);
  xml::Writer w(out);
  w.declaration();
  w.open("MAITMessage", {{"xmlns", kMaitNamespace}, {"schemaVersion", kMaitSchemaVersion}});
  w.open("Header");
  w.leaf("MessageID", m.message_id);
  // MAIT requires a timestamp; the nearest time the message has, else now.
  std::string sent = !m.sent.empty() ? m.sent : !m.created.empty() ? m.created : m.call_received;
  if (m.sent.empty() && sent.empty()) sent = utc_now();
  w.leaf("Sent", sent);
  w.leaf("MessageType", mait_type(m.type));
  w.leaf("Mode", "Live");
  w.open("Sender");
  w.leaf("AgencyID", m.sender_agency);
  w.close();
  if (!m.receiving_agencies.empty()) {
    w.open("Recipients");
    for (const auto& r : m.receiving_agencies) {
      w.open("Recipient");
      w.leaf("AgencyID", r);
      w.close();
    }
    w.close();
  }
  if (!m.on_behalf_of.empty()) {
    w.open("OnBehalfOf");
    w.leaf("AgencyID", m.on_behalf_of);
    w.close();
  }
  w.close();

  {
    Extension& x = message_ext;
    if (m.type == MessageType::cancel) x.field({"type"}, "cancel");
    x.field_if({"transfer_id"}, m.transfer_id);
    x.field_if({"shared_reference"}, m.shared_reference);
    if (m.reason != TransferReason::assistance_request) x.field({"reason"}, to_string(m.reason));
    x.field_if({"call_received"}, m.call_received);
    if (m.marking != ProtectiveMarking::official_sensitive) x.field({"marking"}, to_string(m.marking));
    if (m.sent.empty()) x.field({"sent"}, "");  // <Sent> was defaulted: the canonical one is empty
  }

  w.open("Incident");
  w.leaf("OriginatorRef", m.sender_reference);
  if (m.sequence) w.leaf("Sequence", std::to_string(m.sequence));
  w.optional_leaf("Created", m.created);
  if (inc.type != Code{}) w.leaf("IncidentType", inc.type.code, {{"scheme", inc.type.scheme}, {"description", inc.type.text}});
  const Priority& p = inc.priority;
  if (p.police_grade) w.leaf("Priority", to_string(*p.police_grade), {{"scheme", "police-grade"}});
  if (p.ambulance_category) w.leaf("Priority", std::to_string(*p.ambulance_category), {{"scheme", "ambulance-category"}});
  if (!p.fire_priority.empty()) w.leaf("Priority", p.fire_priority, {{"scheme", "fire-priority"}});
  w.leaf("Status", m.type == MessageType::close || m.type == MessageType::cancel ? "Closed" : "Open");
  w.optional_leaf("Summary", inc.type_summary);
  if (!inc.hazards.empty()) {
    w.open("Hazards");
    for (const auto& h : inc.hazards) w.leaf("Hazard", h.description, {{"code", h.code}});
    w.close();
  }
  ext.field_if({"status"}, inc.status);
  if (p.emergency) ext.field({"priority/emergency"}, "true");
  if (p.life_risk) ext.field({"priority/life_risk"}, "true");
  if (inc.outcome) ext.field({"outcome/code"}, inc.outcome->code);
  ext.field_if({"cancel_reason"}, inc.cancel_reason);
  for (std::size_t i = 0; i < inc.qualifiers.size(); ++i) {
    const std::string n = std::to_string(i);
    ext.field_if({"qualifiers/", n, "/scheme"}, inc.qualifiers[i].scheme);
    ext.field({"qualifiers/", n, "/code"}, inc.qualifiers[i].code);
    ext.field_if({"qualifiers/", n, "/text"}, inc.qualifiers[i].text);
  }

  const Location& l = inc.location;
  if (l != Location{}) {
    w.open("Location");
    if (l.uprn) w.leaf("UPRN", std::to_string(*l.uprn));
    if (l.easting) w.leaf("Easting", format_double(*l.easting));
    if (l.northing) w.leaf("Northing", format_double(*l.northing));
    if (l.latitude) w.leaf("Latitude", format_double(*l.latitude));
    if (l.longitude) w.leaf("Longitude", format_double(*l.longitude));
    const auto& a = l.address;
    if (a.sao.size() + a.pao.size() + a.street.size() + a.locality.size() + a.town.size() + a.postcode.size()) {
      w.open("Address");
      w.optional_leaf("SAO", a.sao);
      w.optional_leaf("PAO", a.pao);
      w.optional_leaf("Street", a.street);
      w.optional_leaf("Locality", a.locality);
      w.optional_leaf("Town", a.town);
      w.optional_leaf("Postcode", a.postcode);
      w.close();
    }
    w.optional_leaf("Description", l.text);
    // Verified means checked against the gazetteer; an unverified location is flagged, not refused.
    if (l.source) w.leaf("Verified", *l.source == LocationSource::gazetteer ? "true" : "false");
    w.close();
    ext.field_if({"location/administrative_area"}, a.administrative_area);  // BS 7666 county: no MAIT element
    if (l.usrn) ext.field({"location/usrn"}, std::to_string(*l.usrn));
    if (l.uncertainty_m) ext.field({"location/uncertainty_m"}, format_double(*l.uncertainty_m));
    // <Verified>true</Verified> already says gazetteer.
    if (l.source && *l.source != LocationSource::gazetteer) ext.field({"location/source"}, to_string(*l.source));
  }

  if (inc.caller || !inc.persons.empty()) {
    w.open("Persons");
    if (inc.caller) {
      const Caller& c = *inc.caller;
      w.open("Person", {{"role", "Caller"}});
      w.optional_leaf("Name", c.name);
      w.optional_leaf("Phone", c.phone);
      w.close();
      if (c.role) ext.field({"caller/role"}, to_string(*c.role));
      if (c.consent_to_update) ext.field({"caller/consent_to_update"}, "true");
    }
    for (std::size_t i = 0; i < inc.persons.size(); ++i) {
      const Person& person = inc.persons[i];
      const bool casualty = is_casualty(person);
      w.open("Person", {{"role", casualty ? "Casualty" : "Subject"}});
      w.optional_leaf("Name", person.name);
      if (casualty) w.optional_leaf("CasualtyStatus", person.description);
      w.close();
      const std::string n = std::to_string(i);
      if (person.role != implied_role(casualty)) ext.field({"persons/", n, "/role"}, person.role);
      if (!casualty) ext.field_if({"persons/", n, "/description"}, person.description);
      if (person.age) ext.field({"persons/", n, "/age"}, std::to_string(*person.age));
      for (std::size_t k = 0; k < person.warning_markers.size(); ++k)
        ext.field({"persons/", n, "/warning_markers/", std::to_string(k)}, person.warning_markers[k]);
    }
    w.close();
  }
  for (std::size_t i = 0; i < inc.vehicles.size(); ++i) {
    const Vehicle& v = inc.vehicles[i];
    const std::string n = std::to_string(i);
    ext.field({"vehicles/", n, "/registration"}, v.registration);
    ext.field_if({"vehicles/", n, "/make"}, v.make);
    ext.field_if({"vehicles/", n, "/model"}, v.model);
    ext.field_if({"vehicles/", n, "/colour"}, v.colour);
    ext.field_if({"vehicles/", n, "/description"}, v.description);
  }
  for (std::size_t i = 0; i < inc.resources_requested.size(); ++i) {
    const ResourceRequest& r = inc.resources_requested[i];
    const std::string n = std::to_string(i);
    ext.field({"resources_requested/", n, "/kind"}, r.kind);
    ext.field({"resources_requested/", n, "/count"}, std::to_string(r.count));
    ext.field_if({"resources_requested/", n, "/note"}, r.note);
  }
  if (!inc.log.empty()) {
    w.open("Log");
    for (std::size_t i = 0; i < inc.log.size(); ++i) {
      const LogEntry& e = inc.log[i];
      w.leaf("Entry", e.text, {{"time", e.time}, {"author", e.author}});
      if (e.sensitive) ext.field({"log/", std::to_string(i), "/sensitive"}, "true");
    }
    w.close();
  }
  if (inc.outcome) {
    w.open("Close");
    if (!m.sent.empty()) w.leaf("Time", m.sent);
    w.optional_leaf("Reason", inc.outcome->text);
    w.close();
  }
  if (!message_ext.empty() || !ext.empty()) {
    w.open("Extensions");
    message_ext.write(w, "message");
    ext.write(w, "incident");
    w.close();
  }
  w.close();
  w.close();
  out += '\n';
  return out;
}

// ---- decode ----

// The hub's extensions, read back: the two it writes, name="message" and name="incident",
// with key=value fields, and the one-field-per-extension form of earlier hub versions (name =
// the field's whole canonical path, value = the bare value). Both come down to fields
// identified by (entity, list index, key). Fields the hub does not know are ignored.
enum class Entity : std::uint8_t { message, incident, location, caller, qualifier, person, vehicle, resource, log };
enum class Key : std::uint8_t {
  type, transfer_id, shared_reference, reason, call_received, marking, sent,           // message
  status, emergency, life_risk, outcome_code, cancel_reason,                           // incident
  administrative_area, usrn, uncertainty_m, source,                                    // location
  role, consent_to_update,                                                              // caller, person
  scheme, code, text, description, age, warning_marker,                                 // qualifier, person
  registration, make, model, colour, kind, count, note, sensitive,                     // vehicle, resource, log
};

struct KeyName {
  std::string_view name;
  Key key;
};
constexpr KeyName kMessageKeys[] = {{"type", Key::type},
                                    {"transfer_id", Key::transfer_id},
                                    {"shared_reference", Key::shared_reference},
                                    {"reason", Key::reason},
                                    {"call_received", Key::call_received},
                                    {"marking", Key::marking},
                                    {"sent", Key::sent}};
constexpr KeyName kIncidentKeys[] = {{"status", Key::status},
                                     {"priority/emergency", Key::emergency},
                                     {"priority/life_risk", Key::life_risk},
                                     {"outcome/code", Key::outcome_code},
                                     {"cancel_reason", Key::cancel_reason}};
constexpr KeyName kLocationKeys[] = {{"administrative_area", Key::administrative_area},
                                     {"usrn", Key::usrn},
                                     {"uncertainty_m", Key::uncertainty_m},
                                     {"source", Key::source}};
constexpr KeyName kCallerKeys[] = {{"role", Key::role}, {"consent_to_update", Key::consent_to_update}};
constexpr KeyName kQualifierKeys[] = {{"scheme", Key::scheme}, {"code", Key::code}, {"text", Key::text}};
constexpr KeyName kPersonKeys[] = {{"role", Key::role}, {"description", Key::description}, {"age", Key::age}};
constexpr KeyName kVehicleKeys[] = {{"registration", Key::registration},
                                    {"make", Key::make},
                                    {"model", Key::model},
                                    {"colour", Key::colour},
                                    {"description", Key::description}};
constexpr KeyName kResourceKeys[] = {{"kind", Key::kind}, {"count", Key::count}, {"note", Key::note}};
constexpr KeyName kLogKeys[] = {{"sensitive", Key::sensitive}};

// Where an entity's fields are: under "message" or "incident", and for the incident's parts
// under a further segment ("incident/persons/1/age").
struct EntityName {
  std::string_view top;   // "message" or "incident"
  std::string_view part;  // "persons", or "" for the message's or incident's own fields
  Entity entity;
  bool list;  // the part is a list: a list index follows it
  std::span<const KeyName> keys;
};
constexpr EntityName kMessage = {"message", "", Entity::message, false, kMessageKeys};
constexpr EntityName kIncident = {"incident", "", Entity::incident, false, kIncidentKeys};
constexpr EntityName kIncidentParts[] = {
    {"incident", "location", Entity::location, false, kLocationKeys},
    {"incident", "caller", Entity::caller, false, kCallerKeys},
    {"incident", "qualifiers", Entity::qualifier, true, kQualifierKeys},
    {"incident", "persons", Entity::person, true, kPersonKeys},
    {"incident", "vehicles", Entity::vehicle, true, kVehicleKeys},
    {"incident", "resources_requested", Entity::resource, true, kResourceKeys},
    {"incident", "log", Entity::log, true, kLogKeys},
};

// A list index as the encoder writes it ("0", "17"): digits, no leading zero, below a
// million (no incident has lists that long; a larger index is ignored like a gap).
std::optional<std::uint32_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 6 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return v;
}

class ExtensionValues {
 public:
  // Adds one deit-hub <Extension>; an error when a fields value is not key=value fields.
  Status add(const xml::Element& e) {
    const std::string_view name = e.attribute("name");
    if (name == "message" || name == "incident") return add_fields(e, name);
    // The earlier form: the name is the field's path.
    const std::size_t slash = name.find('/');
    if (slash != std::string_view::npos) add_path(e, name.substr(0, slash), name.substr(slash + 1), e.text);
    return Status::success();
  }
  void index() {
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      return std::tie(a.entity, a.index, a.key, a.sub, a.order) < std::tie(b.entity, b.index, b.key, b.sub, b.order);
    });
  }

  // The <Extension> that holds this field, or nullptr.
  const xml::Element* where(Entity entity, std::uint32_t index, Key key, std::uint32_t sub = 0) const {
    const Item* item = lookup(entity, index, key, sub);
    return item ? item->at : nullptr;
  }
  std::optional<std::string_view> find(Entity entity, std::uint32_t index, Key key, std::uint32_t sub = 0) const {
    const Item* item = lookup(entity, index, key, sub);
    return item ? std::optional<std::string_view>(item->value) : std::nullopt;
  }
  std::optional<std::string_view> find(Entity entity, Key key) const { return find(entity, 0, key); }
  std::string get(Entity entity, std::uint32_t index, Key key) const {
    return std::string(find(entity, index, key).value_or(std::string_view()));
  }
  std::string get(Entity entity, Key key) const { return get(entity, 0, key); }
  bool has(Entity entity, std::uint32_t index, Key key) const { return lookup(entity, index, key, 0) != nullptr; }

 private:
  struct Item {
    Entity entity;
    Key key;
    std::uint32_t index;
    std::uint32_t sub;  // a warning marker's index
    std::uint32_t order;
    std::string_view value;
    const xml::Element* at;
  };

  // One field by its canonical path, split after the first segment: "incident", "persons/1/age".
  void add_path(const xml::Element& e, std::string_view top, std::string_view key, std::string_view value) {
    const EntityName* en = top == "message" ? &kMessage : top == "incident" ? &kIncident : nullptr;
    if (!en) return;
    std::uint32_t index = 0;
    if (en == &kIncident) {
      if (const std::size_t slash = key.find('/'); slash != std::string_view::npos) {
        const std::string_view part = key.substr(0, slash);
        for (const EntityName& p : kIncidentParts) {
          if (p.part != part) continue;
          en = &p;
          key.remove_prefix(slash + 1);
          if (p.list) {
            const std::size_t end = key.find('/');
            const auto parsed = parse_index(key.substr(0, end));
            if (!parsed || end == std::string_view::npos) return;
            index = *parsed;
            key.remove_prefix(end + 1);
          }
          break;
        }
      }
    }
    std::uint32_t sub = 0;
    Key id;
    if (en->entity == Entity::person && key.starts_with("warning_markers/")) {
      const auto marker = parse_index(key.substr(16));
      if (!marker) return;
      sub = *marker;
      id = Key::warning_marker;
    } else {
      const auto known = std::find_if(en->keys.begin(), en->keys.end(), [key](const KeyName& k) { return k.name == key; });
      if (known == en->keys.end()) return;
      id = known->key;
    }
    items_.push_back(Item{en->entity, id, index, sub, static_cast<std::uint32_t>(items_.size()), value, &e});
  }

  // Splits "k=v;k=v" at each ';' not escaped by '\', and each field at its first '='.
  Status add_fields(const xml::Element& e, std::string_view top) {
    const std::string_view text = e.text;
    std::size_t backslash = text.find('\\');  // the next one at or after `from`
    std::size_t from = 0;
    while (from < text.size()) {
      std::size_t end = text.find(';', from);
      if (end == std::string_view::npos) end = text.size();
      const bool escaped = backslash < end;
      if (escaped) {  // ';' after '\' does not end the field
        for (end = backslash; end < text.size() && text[end] != ';'; ++end) {
          if (text[end] != '\\') continue;
          if (end + 1 == text.size()) return bad_field(e, "ends in a lone '\\'");
          ++end;
        }
        backslash = text.find('\\', end);
      }
      const std::string_view field = text.substr(from, end - from);
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos || eq == 0 || field.substr(0, eq).find('\\') != std::string_view::npos)
        return bad_field(e, "has a field '" + std::string(field) + "' that is not key=value");
      std::string_view value = field.substr(eq + 1);
      if (escaped) {
        std::string& plain = unescaped_.emplace_back();
        for (std::size_t k = 0; k < value.size(); ++k) plain += value[k] == '\\' ? value[++k] : value[k];
        value = plain;
      }
      add_path(e, top, field.substr(0, eq), value);
      from = end + 1;
    }
    return Status::success();
  }
  static Error bad_field(const xml::Element& e, const std::string& what) {
    const std::string name(e.attribute("name"));
    return error_at(e, "MAITMessage/Incident/Extensions/Extension[@name='" + name + "']", "extension",
                    "the deit-hub extension '" + name + "' " + what);
  }
  // The last (in document order) of the fields with this identity.
  const Item* lookup(Entity entity, std::uint32_t index, Key key, std::uint32_t sub) const {
    const auto it = std::upper_bound(items_.begin(), items_.end(), std::tie(entity, index, key, sub),
                                     [](const auto& k, const Item& item) {
                                       return k < std::tie(item.entity, item.index, item.key, item.sub);
                                     });
    if (it == items_.begin()) return nullptr;
    const Item& last = *std::prev(it);
    return last.entity == entity && last.index == index && last.key == key && last.sub == sub ? &last : nullptr;
  }

  std::vector<Item> items_;
  std::deque<std::string> unescaped_;  // values that had escapes; a deque keeps them in place
};

// The canonical path of a field, for messages: "incident/persons/1/age".
std::string field_path(Entity entity, std::uint32_t index, Key key) {
  const EntityName* en = entity == Entity::message ? &kMessage : &kIncident;
  for (const EntityName& p : kIncidentParts)
    if (p.entity == entity) en = &p;
  std::string path(en->top);
  if (!en->part.empty()) path.append("/").append(en->part);
  if (en->list) path.append("/").append(std::to_string(index));
  for (const KeyName& k : en->keys)
    if (k.key == key) path.append("/").append(k.name);
  return path;
}

// A typed extension value; a bad one is an error located at its <Extension>.
template <typename T, typename Parse>
Result<std::optional<T>> ext_value(const ExtensionValues& ext, Entity entity, std::uint32_t index, Key key,
                                   Parse parse) {
  const std::optional<std::string_view> text = ext.find(entity, index, key);
  if (!text) return std::optional<T>();
  auto parsed = parse(*text);
  if (!parsed) {
    const xml::Element& at = *ext.where(entity, index, key);
    return error_at(at, "MAITMessage/Incident/Extensions/Extension[@name='" + std::string(at.attribute("name")) + "']",
                    "extension", "'" + std::string(*text) + "' is not a valid value for " + field_path(entity, index, key));
  }
  return std::optional<T>(*parsed);
}
template <typename T, typename Parse>
Result<std::optional<T>> ext_value(const ExtensionValues& ext, Entity entity, Key key, Parse parse) {
  return ext_value<T>(ext, entity, 0, key, parse);
}

std::optional<std::string> parse_timestamp(std::string_view s) {
  if (!is_timestamp(s)) return std::nullopt;
  return std::string(s);
}

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}
std::optional<double> parse_dbl(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Result<Decoded> read_message(const xml::Element& root) {
  Decoded out;
  IncidentMessage& m = out.message;
  auto& findings = out.findings;
  const xml::Element* h = root.child("Header");
  const std::string_view type = h->child_text("MessageType");
  if (type != "IncidentCreate" && type != "IncidentUpdate" && type != "IncidentClose") {
    const xml::Element* t = h->child("MessageType");
    return error_at(*t, "MAITMessage/Header/MessageType", "not-an-incident",
                    "a " + std::string(type) + " message is a response, not an incident");
  }
  const xml::Element* ie = root.child("Incident");
  if (!ie) return error_at(root, "MAITMessage/Incident", "required", "an incident message needs an <Incident>");

  ExtensionValues ext;
  if (const auto* es = ie->child("Extensions")) {
    for (const auto* e : es->children_named("Extension")) {
      if (e->attribute("owner") == kOwner) {
        if (Status added = ext.add(*e); !added) return added.error();
      } else {
        add_finding(findings, "MAITMessage/Incident/Extensions", "not-carried",
                    "extension '" + std::string(e->attribute("name")) + "' of owner '" +
                        std::string(e->attribute("owner")) + "' has no canonical field");
      }
    }
  }
  ext.index();

  m.message_id = std::string(h->child_text("MessageID"));
  m.sent = ext.find(Entity::message, Key::sent).has_value() ? std::string() : std::string(h->child_text("Sent"));
  m.type = type == "IncidentCreate" ? MessageType::create
           : type == "IncidentUpdate" ? MessageType::update
           : ext.find(Entity::message, Key::type) == "cancel" ? MessageType::cancel
                                                 : MessageType::close;
  if (const std::string_view mode = h->child_text("Mode"); mode != "Live") {
    add_finding(findings, "MAITMessage/Header/Mode", "not-carried",
                "a " + std::string(mode) + " message: the canonical model has no mode, so it must not be treated as live");
  }
  // MAIT agency ids may have capitals; the hub's are lower case.
  auto agency_id = [&findings](const xml::Element& e, const std::string& field) {
    std::string id(e.text);
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (id != e.text) add_finding(findings, field, "converted", "MAIT agency id '" + e.text + "' recorded as '" + id + "'");
    return id;
  };
  const xml::Element* sender = h->child("Sender");
  m.sender_agency = agency_id(*sender->child("AgencyID"), "MAITMessage/Header/Sender/AgencyID");
  for (const char* name : {"ControlRoom", "OperatorID"})
    if (const auto* e = sender->child(name))
      add_finding(findings, std::string("MAITMessage/Header/Sender/") + name, "not-carried", "'" + e->text + "' has no canonical field");
  if (const auto* r = h->child("Recipients"))
    for (const auto* e : r->children_named("Recipient"))
      m.receiving_agencies.push_back(agency_id(*e->child("AgencyID"), "MAITMessage/Header/Recipients/Recipient/AgencyID"));
  if (const auto* o = h->child("OnBehalfOf")) m.on_behalf_of = agency_id(*o->child("AgencyID"), "MAITMessage/Header/OnBehalfOf/AgencyID");
  if (const auto* r = h->child("InReplyTo"))
    add_finding(findings, "MAITMessage/Header/InReplyTo", "not-carried", "'" + r->text + "' has no canonical field");

  m.transfer_id = ext.get(Entity::message, Key::transfer_id);
  m.shared_reference = ext.get(Entity::message, Key::shared_reference);
  DEIT_ASSIGN_OR_RETURN(reason, ext_value<TransferReason>(ext, Entity::message, Key::reason, parse_transfer_reason));
  m.reason = reason.value_or(TransferReason::assistance_request);
  // An extension is free text; the other formats need a real instant here.
  DEIT_ASSIGN_OR_RETURN(call_received, ext_value<std::string>(ext, Entity::message, Key::call_received, parse_timestamp));
  m.call_received = call_received.value_or(std::string());
  DEIT_ASSIGN_OR_RETURN(marking, ext_value<ProtectiveMarking>(ext, Entity::message, Key::marking, parse_protective_marking));
  // Without a marking, assume the stricter one: MAIT incidents carry personal data.
  m.marking = marking.value_or(ProtectiveMarking::official_sensitive);

  Incident& inc = m.incident;
  m.sender_reference = std::string(ie->child_text("OriginatorRef"));
  if (const auto* s = ie->child("Sequence")) {
    DEIT_ASSIGN_OR_RETURN(seq, read_uint64(*s, s->text, "MAITMessage/Incident/Sequence"));
    m.sequence = seq;
  }
  m.created = std::string(ie->child_text("Created"));
  if (const auto* t = ie->child("IncidentType"))
    inc.type = Code{std::string(t->attribute("scheme")), t->text, std::string(t->attribute("description"))};
  for (const auto* p : ie->children_named("Priority")) {
    const std::string_view scheme = p->attribute("scheme");
    const std::string field = "MAITMessage/Incident/Priority[@scheme='" + std::string(scheme) + "']";
    if (scheme == "police-grade") {
      auto grade = parse_police_grade(p->text);
      if (!grade) return error_at(*p, field, "enumeration", "'" + p->text + "' is not a police grade");
      inc.priority.police_grade = grade;
    } else if (scheme == "ambulance-category") {
      auto cat = parse_int(p->text);
      if (!cat || *cat < 1 || *cat > 4) return error_at(*p, field, "range", "'" + p->text + "' is not a category 1 to 4");
      inc.priority.ambulance_category = cat;
    } else if (scheme == "fire-priority") {
      inc.priority.fire_priority = p->text;
    } else {
      add_finding(findings, field, "not-carried", "priority '" + p->text + "' in an unknown scheme");
    }
  }
  inc.priority.emergency = ext.find(Entity::incident, Key::emergency) == "true";
  inc.priority.life_risk = ext.find(Entity::incident, Key::life_risk) == "true";
  inc.status = ext.get(Entity::incident, Key::status);
  inc.type_summary = std::string(ie->child_text("Summary"));
  if (const auto* hz = ie->child("Hazards"))
    for (const auto* e : hz->children_named("Hazard")) inc.hazards.push_back(Hazard{std::string(e->attribute("code")), e->text});
  for (std::uint32_t i = 0; ext.has(Entity::qualifier, i, Key::code); ++i) {
    const Entity q = Entity::qualifier;
    inc.qualifiers.push_back(Code{ext.get(q, i, Key::scheme), ext.get(q, i, Key::code), ext.get(q, i, Key::text)});
  }

  if (const auto* le = ie->child("Location")) {
    const std::string base = "MAITMessage/Incident/Location";
    Location& l = inc.location;
    if (const auto* e = le->child("UPRN")) {
      DEIT_ASSIGN_OR_RETURN(v, read_uint64(*e, e->text, base + "/UPRN"));
      l.uprn = v;
    }
    if (const auto* e = le->child("Easting")) {
      DEIT_ASSIGN_OR_RETURN(v, read_double(*e, e->text, base + "/Easting"));
      l.easting = v;
    }
    if (const auto* e = le->child("Northing")) {
      DEIT_ASSIGN_OR_RETURN(v, read_double(*e, e->text, base + "/Northing"));
      l.northing = v;
    }
    if (const auto* e = le->child("Latitude")) {
      DEIT_ASSIGN_OR_RETURN(v, read_double(*e, e->text, base + "/Latitude"));
      l.latitude = v;
    }
    if (const auto* e = le->child("Longitude")) {
      DEIT_ASSIGN_OR_RETURN(v, read_double(*e, e->text, base + "/Longitude"));
      l.longitude = v;
    }
    if (const auto* a = le->child("Address")) {
      l.address.sao = std::string(a->child_text("SAO"));
      l.address.pao = std::string(a->child_text("PAO"));
      l.address.street = std::string(a->child_text("Street"));
      l.address.locality = std::string(a->child_text("Locality"));
      l.address.town = std::string(a->child_text("Town"));
      l.address.postcode = std::string(a->child_text("Postcode"));
    }
    l.text = std::string(le->child_text("Description"));
    l.address.administrative_area = ext.get(Entity::location, Key::administrative_area);
    DEIT_ASSIGN_OR_RETURN(usrn, ext_value<std::uint64_t>(ext, Entity::location, Key::usrn, parse_u64));
    l.usrn = usrn;
    DEIT_ASSIGN_OR_RETURN(uncertainty, ext_value<double>(ext, Entity::location, Key::uncertainty_m, parse_dbl));
    l.uncertainty_m = uncertainty;
    DEIT_ASSIGN_OR_RETURN(source, ext_value<LocationSource>(ext, Entity::location, Key::source, parse_location_source));
    l.source = source;
    if (!l.source && read_bool(le->child_text("Verified"))) l.source = LocationSource::gazetteer;
  }

  if (const auto* ps = ie->child("Persons")) {
    std::uint32_t index = 0;
    for (const auto* pe : ps->children_named("Person")) {
      const std::string_view role = pe->attribute("role");
      if (role == "Caller") {
        if (inc.caller) {
          add_finding(findings, "MAITMessage/Incident/Persons/Person", "not-carried",
                      "a second caller '" + std::string(pe->child_text("Name")) + "': the canonical model holds one");
          continue;
        }
        Caller c;
        c.name = std::string(pe->child_text("Name"));
        c.phone = std::string(pe->child_text("Phone"));
        DEIT_ASSIGN_OR_RETURN(caller_role, ext_value<CallerRole>(ext, Entity::caller, Key::role, parse_caller_role));
        c.role = caller_role;
        c.consent_to_update = ext.find(Entity::caller, Key::consent_to_update) == "true";
        inc.caller = std::move(c);
        continue;
      }
      const std::uint32_t n = index++;
      Person p;
      p.role = ext.find(Entity::person, n, Key::role).value_or(implied_role(role == "Casualty"));
      p.name = std::string(pe->child_text("Name"));
      p.description = role == "Casualty" ? std::string(pe->child_text("CasualtyStatus")) : ext.get(Entity::person, n, Key::description);
      if (role != "Casualty" && pe->child("CasualtyStatus")) p.description = std::string(pe->child_text("CasualtyStatus"));
      if (!pe->child_text("Phone").empty())
        add_finding(findings, "MAITMessage/Incident/Persons/Person/Phone", "not-carried",
                    "the canonical model keeps a phone number for the caller only");
      DEIT_ASSIGN_OR_RETURN(age, ext_value<int>(ext, Entity::person, n, Key::age, parse_int));
      p.age = age;
      for (std::uint32_t k = 0;; ++k) {
        const std::optional<std::string_view> marker = ext.find(Entity::person, n, Key::warning_marker, k);
        if (!marker) break;
        p.warning_markers.emplace_back(*marker);
      }
      inc.persons.push_back(std::move(p));
    }
  }
  for (std::uint32_t i = 0; ext.has(Entity::vehicle, i, Key::registration); ++i) {
    const Entity v = Entity::vehicle;
    inc.vehicles.push_back(Vehicle{ext.get(v, i, Key::registration), ext.get(v, i, Key::make), ext.get(v, i, Key::model),
                                   ext.get(v, i, Key::colour), ext.get(v, i, Key::description)});
  }
  for (std::uint32_t i = 0; ext.has(Entity::resource, i, Key::kind); ++i) {
    const Entity r = Entity::resource;
    DEIT_ASSIGN_OR_RETURN(count, ext_value<int>(ext, r, i, Key::count, parse_int));
    inc.resources_requested.push_back(ResourceRequest{ext.get(r, i, Key::kind), count.value_or(1), ext.get(r, i, Key::note)});
  }
  if (const auto* rs = ie->child("Resources")) {
    for (const auto* r : rs->children_named("Resource"))
      add_finding(findings, "MAITMessage/Incident/Resources/Resource", "not-carried",
                  "deployed resource '" + std::string(r->child_text("CallSign")) + "' of " +
                      std::string(r->child_text("AgencyID")) + " (" + std::string(r->child_text("Status")) +
                      "): the canonical model holds requested resources only");
  }
  if (const auto* lg = ie->child("Log")) {
    std::uint32_t i = 0;
    for (const auto* e : lg->children_named("Entry")) {
      const bool sensitive = ext.find(Entity::log, i++, Key::sensitive) == "true";
      inc.log.push_back(LogEntry{std::string(e->attribute("time")), std::string(e->attribute("author")), e->text, sensitive});
    }
  }
  if (const auto* as = ie->child("Attachments")) {
    for (const auto* a : as->children_named("Attachment"))
      add_finding(findings, "MAITMessage/Incident/Attachments/Attachment", "not-carried",
                  "attachment " + std::string(a->attribute("href")) + " (" + std::string(a->attribute("mime")) + ")");
  }
  if (const auto* c = ie->child("Close")) {
    const std::optional<std::string_view> code = ext.find(Entity::incident, Key::outcome_code);
    if (code || !c->child_text("Reason").empty())
      inc.outcome = Outcome{std::string(code.value_or(std::string_view())), std::string(c->child_text("Reason"))};
  }
  inc.cancel_reason = ext.get(Entity::incident, Key::cancel_reason);
  return out;
}

}  // namespace

Result<std::shared_ptr<const Adapter>> make_mait_adapter(std::shared_ptr<MappingStore> mappings) {
  auto schemas =
      xml::SchemaSet::load({{std::string(kMaitNamespace), "mait-r-1.xsd", schemas::embedded("mait-r-1.xsd")}});
  if (!schemas) return schemas.error();
  // MAIT carries codes as sent, so the mapping tables are not consulted.
  return std::shared_ptr<const Adapter>(std::make_shared<XmlFormatAdapter>(
      kFormat, "application/xml", std::move(schemas).value(), std::move(mappings),
      [](const xml::Element& root, const MappingTables&) { return read_message(root); },
      [](const IncidentMessage& m, const MappingTables&, std::vector<Finding>& findings) {
        return encode_mait(m, findings);
      }));
}

}  // namespace deit::adapters
