#include "adapters/fire/fire_adapter.hpp"

#include "adapters/translate_support.hpp"
#include "adapters/try.hpp"
#include "adapters/xml_support.hpp"
#include "schemas/catalog.hpp"
#include "schemas/xml.hpp"

namespace deit::adapters {

using namespace model;

namespace {

constexpr std::string_view kFormat = "fire";

Code read_code(const xml::Element& e) {
  return Code{std::string(e.attribute("scheme")), std::string(e.attribute("code")), e.text};
}

template <typename E, typename Parse>
Result<E> read_enum(const xml::Element& e, std::string_view text, Parse parse, const std::string& field) {
  auto v = parse(text);
  if (!v) return error_at(e, field, "enumeration", std::string("'").append(text).append("' is not a known value"));
  return *v;
}

// The incident group follows from the fire code's prefix (F-, SS-, FA-).
std::string_view group_of(std::string_view code) {
  if (code.starts_with("F-")) return "fire";
  if (code.starts_with("SS-")) return "special-service";
  if (code.starts_with("FA-")) return "false-alarm";
  return {};
}

Result<Location> read_address(const xml::Element& ae) {
  const std::string base = "mobilisingMessage/incident/address";
  Location loc;
  loc.text = std::string(ae.child_text("locationNotes"));
  loc.address = Bs7666Address{std::string(ae.child_text("sao")),      std::string(ae.child_text("pao")),
                              std::string(ae.child_text("street")),   std::string(ae.child_text("locality")),
                              std::string(ae.child_text("town")),     std::string(ae.child_text("county")),
                              std::string(ae.child_text("postcode"))};
  if (const auto* u = ae.child("uprn")) {
    DEIT_ASSIGN_OR_RETURN(v, read_uint64(*u, u->text, base + "/uprn"));
    loc.uprn = v;
  }
  if (const auto* u = ae.child("usrn")) {
    DEIT_ASSIGN_OR_RETURN(v, read_uint64(*u, u->text, base + "/usrn"));
    loc.usrn = v;
  }
  if (const auto* p = ae.child("position")) {
    DEIT_ASSIGN_OR_RETURN(lat, read_double(*p, p->attribute("latitude"), base + "/position/@latitude"));
    DEIT_ASSIGN_OR_RETURN(lon, read_double(*p, p->attribute("longitude"), base + "/position/@longitude"));
    loc.latitude = lat;
    loc.longitude = lon;
    if (p->has_attribute("radius")) {
      DEIT_ASSIGN_OR_RETURN(r, read_double(*p, p->attribute("radius"), base + "/position/@radius"));
      loc.uncertainty_m = r;
    }
  }
  if (const auto* g = ae.child("gridReference")) {
    DEIT_ASSIGN_OR_RETURN(e, read_double(*g, g->attribute("easting"), base + "/gridReference/@easting"));
    DEIT_ASSIGN_OR_RETURN(n, read_double(*g, g->attribute("northing"), base + "/gridReference/@northing"));
    loc.easting = e;
    loc.northing = n;
  }
  return loc;
}

Result<Incident> read_incident(const xml::Element& ie) {
  const std::string base = "mobilisingMessage/incident";
  Incident inc;
  std::optional<Code> native, original;
  if (const auto* t = ie.child("incidentType")) native = read_code(*t);
  if (const auto* o = ie.child("originalClassification")) original = read_code(*o);
  inc.type = canonical_type(native, original);
  if (const auto* pt = ie.child("propertyType")) {
    Code property = read_code(*pt);
    if (property.scheme.empty()) property.scheme = std::string(kFirePropertyScheme);
    inc.qualifiers.push_back(std::move(property));
  }
  if (const auto* p = ie.child("priority")) {
    inc.priority.emergency = read_bool(p->attribute("emergency"));
    inc.priority.life_risk = read_bool(p->attribute("personsReported"));
    if (const auto* fp = p->child("firePriority"); fp && !read_bool(fp->attribute("mapped")))
      inc.priority.fire_priority = fp->text;
    if (const auto* g = p->child("policeGrade")) {
      DEIT_ASSIGN_OR_RETURN(grade, read_enum<PoliceGrade>(*g, g->text, parse_police_grade,
                                                          base + "/priority/policeGrade"));
      inc.priority.police_grade = grade;
    }
    if (const auto* c = p->child("ambulanceCategory")) {
      DEIT_ASSIGN_OR_RETURN(cat, read_int(*c, c->text, base + "/priority/ambulanceCategory"));
      inc.priority.ambulance_category = cat;
    }
  }
  inc.type_summary = std::string(ie.child_text("incidentDetails"));
  inc.status = std::string(ie.child_text("status"));
  if (const auto* a = ie.child("address")) {
    DEIT_ASSIGN_OR_RETURN(loc, read_address(*a));
    inc.location = std::move(loc);
  }
  if (const auto* c = ie.child("caller"))
    inc.caller = Caller{std::string(c->child_text("name")), std::string(c->child_text("phone")), std::nullopt, false};
  for (const auto* pe : ie.children_named("person")) {
    Person p;
    p.role = std::string(pe->attribute("role"));
    p.name = std::string(pe->child_text("name"));
    p.description = std::string(pe->child_text("description"));
    if (pe->has_attribute("age")) {
      DEIT_ASSIGN_OR_RETURN(age, read_int(*pe, pe->attribute("age"), base + "/person/@age"));
      p.age = age;
    }
    for (const auto* r : pe->children_named("riskNote")) p.warning_markers.push_back(r->text);
    inc.persons.push_back(std::move(p));
  }
  for (const auto* ve : ie.children_named("vehicle")) {
    inc.vehicles.push_back(Vehicle{std::string(ve->child_text("registration")), std::string(ve->child_text("make")),
                                   std::string(ve->child_text("model")), std::string(ve->child_text("colour")),
                                   std::string(ve->child_text("description"))});
  }
  for (const auto* he : ie.children_named("hazard"))
    inc.hazards.push_back(Hazard{std::string(he->attribute("type")), he->text});
  for (const auto* re : ie.children_named("attendance")) {
    ResourceRequest r{std::string(re->attribute("resource")), 1, re->text};
    if (re->has_attribute("count")) {
      DEIT_ASSIGN_OR_RETURN(count, read_int(*re, re->attribute("count"), base + "/attendance/@count"));
      r.count = count;
    }
    inc.resources_requested.push_back(std::move(r));
  }
  for (const auto* me : ie.children_named("informativeMessage"))
    inc.log.push_back(LogEntry{std::string(me->attribute("time")), std::string(me->attribute("from")), me->text, false});
  if (const auto* s = ie.child("stopMessage")) inc.outcome = Outcome{std::string(s->attribute("code")), s->text};
  inc.cancel_reason = std::string(ie.child_text("cancelReason"));
  return inc;
}

Result<IncidentMessage> read_message(const xml::Element& root) {
  const std::string base = "mobilisingMessage/header";
  const xml::Element* h = root.child("header");
  IncidentMessage m;
  m.message_id = std::string(h->child_text("messageId"));
  m.transfer_id = std::string(h->child_text("hubTransferId"));
  if (const auto* t = h->child("messageType")) {
    DEIT_ASSIGN_OR_RETURN(type, read_enum<MessageType>(*t, t->text, parse_message_type, base + "/messageType"));
    m.type = type;
  }
  if (const auto* s = h->child("sequence")) {
    DEIT_ASSIGN_OR_RETURN(seq, read_uint64(*s, s->text, base + "/sequence"));
    m.sequence = seq;
  }
  m.sender_agency = std::string(h->child_text("originator"));
  if (const auto* r = h->child("recipients"))
    for (const auto* e : r->children_named("recipient")) m.receiving_agencies.push_back(e->text);
  m.on_behalf_of = std::string(h->child_text("onBehalfOf"));
  m.sender_reference = std::string(h->child_text("originatorReference"));
  m.shared_reference = std::string(h->child_text("sharedReference"));
  if (const auto* r = h->child("reason")) {
    DEIT_ASSIGN_OR_RETURN(reason, read_enum<TransferReason>(*r, r->text, parse_transfer_reason, base + "/reason"));
    m.reason = reason;
  }
  m.call_received = std::string(h->child_text("timeOfCall"));
  m.created = std::string(h->child_text("created"));
  m.sent = std::string(h->child_text("sent"));
  if (const auto* pm = h->child("securityMarking")) {
    DEIT_ASSIGN_OR_RETURN(marking, read_enum<ProtectiveMarking>(*pm, pm->text, parse_protective_marking,
                                                                base + "/securityMarking"));
    m.marking = marking;
  }
  DEIT_ASSIGN_OR_RETURN(inc, read_incident(*root.child("incident")));
  m.incident = std::move(inc);
  return m;
}

std::string encode_fire(const IncidentMessage& m, const MappingTables& tables, std::vector<Finding>& findings) {
  std::string out;
  out.reserve(3072);
  xml::Writer w(out);
  w.declaration();
  w.open("mobilisingMessage", {{"xmlns", kFireNamespace}, {"version", "1"}});
  w.open("header");
  w.leaf("messageId", m.message_id);
  w.optional_leaf("hubTransferId", m.transfer_id);
  w.leaf("messageType", to_string(m.type));
  if (m.sequence) w.leaf("sequence", std::to_string(m.sequence));
  w.leaf("originator", m.sender_agency);
  if (!m.receiving_agencies.empty()) {
    w.open("recipients");
    for (const auto& r : m.receiving_agencies) w.leaf("recipient", r);
    w.close();
  }
  w.optional_leaf("onBehalfOf", m.on_behalf_of);
  w.leaf("originatorReference", m.sender_reference);
  w.optional_leaf("sharedReference", m.shared_reference);
  w.leaf("reason", to_string(m.reason));
  w.optional_leaf("timeOfCall", m.call_received);
  w.optional_leaf("created", m.created);
  w.optional_leaf("sent", m.sent);
  w.leaf("securityMarking", to_string(m.marking));
  w.close();

  const Incident& inc = m.incident;
  w.open("incident");
  const NativeClassification cls = classify_for(tables, inc.type, AgencyKind::fire, findings);
  if (cls.native) {
    const Code& c = *cls.native;
    w.leaf("incidentType", c.text,
           {{"scheme", c.scheme}, {"code", c.code}, {"group", group_of(c.code)}, {"mapped", cls.mapped ? "true" : ""}});
  }
  if (cls.original) {
    const Code& c = *cls.original;
    w.leaf("originalClassification", c.text, {{"scheme", c.scheme}, {"code", c.code}});
  }
  // One property type; every other qualifier has no place in a mobilising message.
  bool property_written = false;
  for (std::size_t i = 0; i < inc.qualifiers.size(); ++i) {
    const Code& q = inc.qualifiers[i];
    if (!property_written && q.scheme == kFirePropertyScheme) {
      w.leaf("propertyType", q.text, {{"scheme", q.scheme}, {"code", q.code}});
      property_written = true;
    } else {
      not_carried(findings, true, "incident/qualifiers/" + std::to_string(i), kFormat, describe_code(q));
    }
  }
  const Priority& p = inc.priority;
  w.open("priority", {{"emergency", p.emergency ? "true" : "false"}, {"personsReported", p.life_risk ? "true" : ""}});
  const auto fire_priority = fire_priority_for(tables, p);
  if (fire_priority.value)
    w.leaf("firePriority", *fire_priority.value, {{"mapped", fire_priority.mapped ? "true" : ""}});
  if (p.police_grade) w.leaf("policeGrade", to_string(*p.police_grade));
  if (p.ambulance_category) w.leaf("ambulanceCategory", std::to_string(*p.ambulance_category));
  w.close();
  w.optional_leaf("incidentDetails", inc.type_summary);
  w.optional_leaf("status", inc.status);

  const Location& l = inc.location;
  not_carried(findings, l.source.has_value(), "incident/location/source", kFormat,
              l.source ? std::string(to_string(*l.source)) : std::string());
  Location without_source = l;
  without_source.source.reset();
  if (without_source != Location{}) {
    const auto& a = l.address;
    w.open("address");
    w.optional_leaf("locationNotes", l.text);
    w.optional_leaf("sao", a.sao);
    w.optional_leaf("pao", a.pao);
    w.optional_leaf("street", a.street);
    w.optional_leaf("locality", a.locality);
    w.optional_leaf("town", a.town);
    w.optional_leaf("county", a.administrative_area);
    w.optional_leaf("postcode", a.postcode);
    if (l.uprn) w.leaf("uprn", std::to_string(*l.uprn));
    if (l.usrn) w.leaf("usrn", std::to_string(*l.usrn));
    if (l.latitude && l.longitude) {
      const std::string lat = format_double(*l.latitude), lon = format_double(*l.longitude);
      const std::string radius = l.uncertainty_m ? format_double(*l.uncertainty_m) : std::string();
      w.leaf("position", "", {{"latitude", lat}, {"longitude", lon}, {"radius", radius}});
    }
    if (l.easting && l.northing) {
      const std::string e = format_double(*l.easting), n = format_double(*l.northing);
      w.leaf("gridReference", "", {{"easting", e}, {"northing", n}});
    }
    w.close();
  }
  if (inc.caller) {
    const Caller& c = *inc.caller;
    not_carried(findings, c.role.has_value(), "incident/caller/role", kFormat,
                c.role ? std::string(to_string(*c.role)) : std::string());
    not_carried(findings, c.consent_to_update, "incident/caller/consent_to_update", kFormat,
                "the caller agreed to receive updates");
    w.open("caller");
    w.optional_leaf("name", c.name);
    w.optional_leaf("phone", c.phone);
    w.close();
  }
  for (const auto& person : inc.persons) {
    const std::string age = person.age ? std::to_string(*person.age) : std::string();
    w.open("person", {{"role", person.role}, {"age", age}});
    w.optional_leaf("name", person.name);
    w.optional_leaf("description", person.description);
    for (const auto& marker : person.warning_markers) w.leaf("riskNote", marker);
    w.close();
  }
  for (const auto& v : inc.vehicles) {
    w.open("vehicle");
    w.optional_leaf("registration", v.registration);
    w.optional_leaf("make", v.make);
    w.optional_leaf("model", v.model);
    w.optional_leaf("colour", v.colour);
    w.optional_leaf("description", v.description);
    w.close();
  }
  for (const auto& h : inc.hazards) w.leaf("hazard", h.description, {{"type", h.code}});
  for (const auto& r : inc.resources_requested) {
    const std::string count = std::to_string(r.count);
    w.leaf("attendance", r.note, {{"resource", r.kind}, {"count", count}});
  }
  for (std::size_t i = 0; i < inc.log.size(); ++i) {
    const LogEntry& e = inc.log[i];
    if (e.sensitive) {
      add_finding(findings, "incident/log/" + std::to_string(i), "withheld",
                  "sensitive log entry of " + e.time + " is not sent to a fire service");
      continue;
    }
    w.leaf("informativeMessage", e.text, {{"time", e.time}, {"from", e.author}});
  }
  if (inc.outcome) w.leaf("stopMessage", inc.outcome->text, {{"code", inc.outcome->code}});
  w.optional_leaf("cancelReason", inc.cancel_reason);
  w.close();
  w.close();
  out += '\n';
  return out;
}

}  // namespace

Result<std::shared_ptr<const Adapter>> make_fire_adapter(std::shared_ptr<MappingStore> mappings) {
  auto schemas = xml::SchemaSet::load(
      {{std::string(kFireNamespace), "fire-mobilising-1.xsd", schemas::embedded("fire-mobilising-1.xsd")}});
  if (!schemas) return schemas.error();
  return std::shared_ptr<const Adapter>(std::make_shared<XmlFormatAdapter>(
      kFormat, "application/xml", std::move(schemas).value(), std::move(mappings),
      [](const xml::Element& root, const MappingTables&) -> Result<Decoded> {
        auto message = read_message(root);
        if (!message) return message.error();
        return Decoded{std::move(message).value(), {}};
      },
      &encode_fire));
}

}  // namespace deit::adapters
