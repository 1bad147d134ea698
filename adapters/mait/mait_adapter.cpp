#include "adapters/mait/mait_adapter.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>

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

// An extension's name from its parts: {"incident/persons/", "0", "/age"}.
using NameParts = std::initializer_list<std::string_view>;

void join(std::string& out, NameParts parts) {
  out.clear();
  for (std::string_view part : parts) out += part;
}

// Canonical fields without a MAIT element, as name/value extensions. They go at the end of
// the incident, so they are written as they come into a buffer of their own.
class Extensions {
 public:
  void add(NameParts name, std::string_view value) {
    join(name_, name);
    xml::Writer(xml_).leaf("Extension", value, {{"owner", kOwner}, {"name", name_}});
  }
  void add_if(NameParts name, std::string_view value) {
    if (!value.empty()) add(name, value);
  }
  void write(xml::Writer& w) const {
    if (xml_.empty()) return;
    w.open("Extensions");
    w.markup(xml_);
    w.close();
  }

 private:
  std::string name_;
  std::string xml_;
};

std::string encode_mait(const IncidentMessage& m, std::vector<Finding>&) {
  const Incident& inc = m.incident;
  Extensions ext;
  std::string out;
  out.reserve(4096);
  xml::Writer w(out);
  w.declaration();
  w.open("MAITMessage", {{"xmlns", kMaitNamespace}, {"schemaVersion", kMaitSchemaVersion}});
  w.open("Header");
  w.leaf("MessageID", m.message_id);
  // MAIT requires a timestamp; the nearest time the message has, else now.
  std::string sent = !m.sent.empty() ? m.sent : !m.created.empty() ? m.created : m.call_received;
  if (m.sent.empty()) {
    ext.add({"message/sent"}, "");
    if (sent.empty()) sent = utc_now();
  }
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

  if (m.type == MessageType::cancel) ext.add({"message/type"}, "cancel");
  ext.add_if({"message/transfer_id"}, m.transfer_id);
  ext.add_if({"message/shared_reference"}, m.shared_reference);
  ext.add({"message/reason"}, to_string(m.reason));
  ext.add_if({"message/call_received"}, m.call_received);
  ext.add({"message/marking"}, to_string(m.marking));

  w.open("Incident");
  w.leaf("OriginatorRef", m.sender_reference);
  if (m.sequence) w.leaf("Sequence", std::to_string(m.sequence));
  w.optional_leaf("Created", m.created);
  if (inc.type != Code{}) w.leaf("IncidentType", inc.type.code, {{"scheme", inc.type.scheme}, {"description", inc.type.text}});
  const Priority& p = inc.priority;
  if (p.police_grade) w.leaf("Priority", to_string(*p.police_grade), {{"scheme", "police-grade"}});
  if (p.ambulance_category) w.leaf("Priority", std::to_string(*p.ambulance_category), {{"scheme", "ambulance-category"}});
  if (!p.fire_priority.empty()) w.leaf("Priority", p.fire_priority, {{"scheme", "fire-priority"}});
  ext.add({"incident/priority/emergency"}, p.emergency ? "true" : "false");
  ext.add({"incident/priority/life_risk"}, p.life_risk ? "true" : "false");
  w.leaf("Status", m.type == MessageType::close || m.type == MessageType::cancel ? "Closed" : "Open");
  ext.add_if({"incident/status"}, inc.status);
  w.optional_leaf("Summary", inc.type_summary);
  if (!inc.hazards.empty()) {
    w.open("Hazards");
    for (const auto& h : inc.hazards) w.leaf("Hazard", h.description, {{"code", h.code}});
    w.close();
  }
  for (std::size_t i = 0; i < inc.qualifiers.size(); ++i) {
    const std::string n = std::to_string(i);
    ext.add({"incident/qualifiers/", n, "/code"}, inc.qualifiers[i].code);
    ext.add_if({"incident/qualifiers/", n, "/scheme"}, inc.qualifiers[i].scheme);
    ext.add_if({"incident/qualifiers/", n, "/text"}, inc.qualifiers[i].text);
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
    ext.add_if({"incident/location/administrative_area"}, a.administrative_area);
    if (l.usrn) ext.add({"incident/location/usrn"}, std::to_string(*l.usrn));
    if (l.uncertainty_m) ext.add({"incident/location/uncertainty_m"}, format_double(*l.uncertainty_m));
    if (l.source) ext.add({"incident/location/source"}, to_string(*l.source));
  }

  if (inc.caller || !inc.persons.empty()) {
    w.open("Persons");
    if (inc.caller) {
      const Caller& c = *inc.caller;
      w.open("Person", {{"role", "Caller"}});
      w.optional_leaf("Name", c.name);
      w.optional_leaf("Phone", c.phone);
      w.close();
      if (c.role) ext.add({"incident/caller/role"}, to_string(*c.role));
      if (c.consent_to_update) ext.add({"incident/caller/consent_to_update"}, "true");
    }
    for (std::size_t i = 0; i < inc.persons.size(); ++i) {
      const Person& person = inc.persons[i];
      const bool casualty = is_patient_role(person.role) || person.role == "victim";
      const std::string n = std::to_string(i);
      w.open("Person", {{"role", casualty ? "Casualty" : "Subject"}});
      w.optional_leaf("Name", person.name);
      if (casualty) w.optional_leaf("CasualtyStatus", person.description);
      w.close();
      ext.add({"incident/persons/", n, "/role"}, person.role);
      if (!casualty) ext.add_if({"incident/persons/", n, "/description"}, person.description);
      if (person.age) ext.add({"incident/persons/", n, "/age"}, std::to_string(*person.age));
      for (std::size_t k = 0; k < person.warning_markers.size(); ++k)
        ext.add({"incident/persons/", n, "/warning_markers/", std::to_string(k)}, person.warning_markers[k]);
    }
    w.close();
  }
  for (std::size_t i = 0; i < inc.vehicles.size(); ++i) {
    const Vehicle& v = inc.vehicles[i];
    const std::string n = std::to_string(i);
    ext.add({"incident/vehicles/", n, "/registration"}, v.registration);
    ext.add_if({"incident/vehicles/", n, "/make"}, v.make);
    ext.add_if({"incident/vehicles/", n, "/model"}, v.model);
    ext.add_if({"incident/vehicles/", n, "/colour"}, v.colour);
    ext.add_if({"incident/vehicles/", n, "/description"}, v.description);
  }
  for (std::size_t i = 0; i < inc.resources_requested.size(); ++i) {
    const ResourceRequest& r = inc.resources_requested[i];
    const std::string n = std::to_string(i);
    ext.add({"incident/resources_requested/", n, "/kind"}, r.kind);
    ext.add({"incident/resources_requested/", n, "/count"}, std::to_string(r.count));
    ext.add_if({"incident/resources_requested/", n, "/note"}, r.note);
  }
  if (!inc.log.empty()) {
    w.open("Log");
    for (std::size_t i = 0; i < inc.log.size(); ++i) {
      const LogEntry& e = inc.log[i];
      w.leaf("Entry", e.text, {{"time", e.time}, {"author", e.author}});
      if (e.sensitive) ext.add({"incident/log/", std::to_string(i), "/sensitive"}, "true");
    }
    w.close();
  }
  if (inc.outcome) {
    w.open("Close");
    if (!m.sent.empty()) w.leaf("Time", m.sent);
    w.optional_leaf("Reason", inc.outcome->text);
    w.close();
    ext.add({"incident/outcome/code"}, inc.outcome->code);
  }
  ext.add_if({"incident/cancel_reason"}, inc.cancel_reason);
  ext.write(w);
  w.close();
  w.close();
  out += '\n';
  return out;
}

// ---- decode ----

// The deit-hub extensions of one document, by name; when a name comes twice the later one
// counts. Names and values stay in the element tree, which outlives this index. Sorted, so
// a document with thousands of extensions costs a logarithm per lookup, not a scan.
class ExtensionValues {
 public:
  void add(const xml::Element& e) { items_.push_back(Item{e.attribute("name"), items_.size(), &e}); }
  void index() {
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      return a.name != b.name ? a.name < b.name : a.order < b.order;
    });
  }

  // The <Extension> with this name, or nullptr.
  const xml::Element* where(NameParts name) const {
    join(name_, name);
    auto it = std::upper_bound(items_.begin(), items_.end(), std::string_view(name_),
                               [](std::string_view n, const Item& item) { return n < item.name; });
    if (it == items_.begin() || std::prev(it)->name != name_) return nullptr;
    return std::prev(it)->at;
  }
  const std::string* find(NameParts name) const {
    const xml::Element* e = where(name);
    return e ? &e->text : nullptr;
  }
  std::string get(NameParts name) const {
    const std::string* v = find(name);
    return v ? *v : std::string();
  }

 private:
  struct Item {
    std::string_view name;
    std::size_t order;
    const xml::Element* at;
  };
  std::vector<Item> items_;
  mutable std::string name_;  // the name being looked up
};

// A typed extension value; a bad one is an error located at its <Extension>.
template <typename T, typename Parse>
Result<std::optional<T>> ext_value(const ExtensionValues& ext, NameParts name_parts, Parse parse) {
  const xml::Element* at = ext.where(name_parts);
  if (!at) return std::optional<T>();
  auto parsed = parse(at->text);
  if (!parsed) {
    std::string name;
    join(name, name_parts);
    return error_at(*at, "MAITMessage/Incident/Extensions/Extension[@name='" + name + "']", "extension",
                    "'" + at->text + "' is not a valid value for " + name);
  }
  return std::optional<T>(*parsed);
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
        ext.add(*e);
      } else {
        add_finding(findings, "MAITMessage/Incident/Extensions", "not-carried",
                    "extension '" + std::string(e->attribute("name")) + "' of owner '" +
                        std::string(e->attribute("owner")) + "' has no canonical field");
      }
    }
  }
  ext.index();

  m.message_id = std::string(h->child_text("MessageID"));
  m.sent = ext.find({"message/sent"}) ? std::string() : std::string(h->child_text("Sent"));
  m.type = type == "IncidentCreate" ? MessageType::create
           : type == "IncidentUpdate" ? MessageType::update
           : ext.get({"message/type"}) == "cancel" ? MessageType::cancel
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

  m.transfer_id = ext.get({"message/transfer_id"});
  m.shared_reference = ext.get({"message/shared_reference"});
  DEIT_ASSIGN_OR_RETURN(reason, ext_value<TransferReason>(ext, {"message/reason"}, parse_transfer_reason));
  m.reason = reason.value_or(TransferReason::assistance_request);
  // An extension is free text; the other formats need a real instant here.
  DEIT_ASSIGN_OR_RETURN(call_received, ext_value<std::string>(ext, {"message/call_received"}, parse_timestamp));
  m.call_received = call_received.value_or(std::string());
  DEIT_ASSIGN_OR_RETURN(marking, ext_value<ProtectiveMarking>(ext, {"message/marking"}, parse_protective_marking));
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
  inc.priority.emergency = ext.get({"incident/priority/emergency"}) == "true";
  inc.priority.life_risk = ext.get({"incident/priority/life_risk"}) == "true";
  inc.status = ext.get({"incident/status"});
  inc.type_summary = std::string(ie->child_text("Summary"));
  if (const auto* hz = ie->child("Hazards"))
    for (const auto* e : hz->children_named("Hazard")) inc.hazards.push_back(Hazard{std::string(e->attribute("code")), e->text});
  for (std::size_t i = 0;; ++i) {
    const std::string n = std::to_string(i);
    if (!ext.find({"incident/qualifiers/", n, "/code"})) break;
    inc.qualifiers.push_back(Code{ext.get({"incident/qualifiers/", n, "/scheme"}),
                                  ext.get({"incident/qualifiers/", n, "/code"}),
                                  ext.get({"incident/qualifiers/", n, "/text"})});
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
    l.address.administrative_area = ext.get({"incident/location/administrative_area"});
    DEIT_ASSIGN_OR_RETURN(usrn, ext_value<std::uint64_t>(ext, {"incident/location/usrn"}, parse_u64));
    l.usrn = usrn;
    DEIT_ASSIGN_OR_RETURN(uncertainty, ext_value<double>(ext, {"incident/location/uncertainty_m"}, parse_dbl));
    l.uncertainty_m = uncertainty;
    DEIT_ASSIGN_OR_RETURN(source, ext_value<LocationSource>(ext, {"incident/location/source"}, parse_location_source));
    l.source = source;
    if (!l.source && read_bool(le->child_text("Verified"))) l.source = LocationSource::gazetteer;
  }

  if (const auto* ps = ie->child("Persons")) {
    std::size_t index = 0;
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
        DEIT_ASSIGN_OR_RETURN(caller_role, ext_value<CallerRole>(ext, {"incident/caller/role"}, parse_caller_role));
        c.role = caller_role;
        c.consent_to_update = ext.get({"incident/caller/consent_to_update"}) == "true";
        inc.caller = std::move(c);
        continue;
      }
      const std::string n = std::to_string(index++);
      Person p;
      const std::string* exact_role = ext.find({"incident/persons/", n, "/role"});
      p.role = exact_role ? *exact_role : role == "Casualty" ? "casualty" : "subject";
      p.name = std::string(pe->child_text("Name"));
      p.description = role == "Casualty" ? std::string(pe->child_text("CasualtyStatus")) : ext.get({"incident/persons/", n, "/description"});
      if (role != "Casualty" && pe->child("CasualtyStatus")) p.description = std::string(pe->child_text("CasualtyStatus"));
      if (!pe->child_text("Phone").empty())
        add_finding(findings, "MAITMessage/Incident/Persons/Person/Phone", "not-carried",
                    "the canonical model keeps a phone number for the caller only");
      DEIT_ASSIGN_OR_RETURN(age, ext_value<int>(ext, {"incident/persons/", n, "/age"}, parse_int));
      p.age = age;
      for (std::size_t k = 0;; ++k) {
        const std::string* marker = ext.find({"incident/persons/", n, "/warning_markers/", std::to_string(k)});
        if (!marker) break;
        p.warning_markers.push_back(*marker);
      }
      inc.persons.push_back(std::move(p));
    }
  }
  for (std::size_t i = 0;; ++i) {
    const std::string n = std::to_string(i);
    if (!ext.find({"incident/vehicles/", n, "/registration"})) break;
    inc.vehicles.push_back(Vehicle{ext.get({"incident/vehicles/", n, "/registration"}),
                                   ext.get({"incident/vehicles/", n, "/make"}), ext.get({"incident/vehicles/", n, "/model"}),
                                   ext.get({"incident/vehicles/", n, "/colour"}),
                                   ext.get({"incident/vehicles/", n, "/description"})});
  }
  for (std::size_t i = 0;; ++i) {
    const std::string n = std::to_string(i);
    if (!ext.find({"incident/resources_requested/", n, "/kind"})) break;
    DEIT_ASSIGN_OR_RETURN(count, ext_value<int>(ext, {"incident/resources_requested/", n, "/count"}, parse_int));
    inc.resources_requested.push_back(ResourceRequest{ext.get({"incident/resources_requested/", n, "/kind"}),
                                                      count.value_or(1),
                                                      ext.get({"incident/resources_requested/", n, "/note"})});
  }
  if (const auto* rs = ie->child("Resources")) {
    for (const auto* r : rs->children_named("Resource"))
      add_finding(findings, "MAITMessage/Incident/Resources/Resource", "not-carried",
                  "deployed resource '" + std::string(r->child_text("CallSign")) + "' of " +
                      std::string(r->child_text("AgencyID")) + " (" + std::string(r->child_text("Status")) +
                      "): the canonical model holds requested resources only");
  }
  if (const auto* lg = ie->child("Log")) {
    std::size_t i = 0;
    for (const auto* e : lg->children_named("Entry")) {
      const bool sensitive = ext.get({"incident/log/", std::to_string(i++), "/sensitive"}) == "true";
      inc.log.push_back(LogEntry{std::string(e->attribute("time")), std::string(e->attribute("author")), e->text, sensitive});
    }
  }
  if (const auto* as = ie->child("Attachments")) {
    for (const auto* a : as->children_named("Attachment"))
      add_finding(findings, "MAITMessage/Incident/Attachments/Attachment", "not-carried",
                  "attachment " + std::string(a->attribute("href")) + " (" + std::string(a->attribute("mime")) + ")");
  }
  if (const auto* c = ie->child("Close")) {
    const std::string* code = ext.find({"incident/outcome/code"});
    if (code || !c->child_text("Reason").empty())
      inc.outcome = Outcome{code ? *code : std::string(), std::string(c->child_text("Reason"))};
  }
  inc.cancel_reason = ext.get({"incident/cancel_reason"});
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
