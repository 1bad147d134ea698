#include "adapters/police/police_adapter.hpp"

#include "adapters/translate_support.hpp"
#include "adapters/try.hpp"
#include "adapters/xml_support.hpp"
#include "schemas/catalog.hpp"
#include "schemas/xml.hpp"

namespace deit::adapters {

using namespace model;

namespace {

constexpr std::string_view kFormat = "police";

Code read_code(const xml::Element& e) {
  return Code{std::string(e.attribute("scheme")), std::string(e.attribute("code")), e.text};
}

void write_code(xml::Writer& w, std::string_view name, const Code& c, bool mapped = false) {
  w.leaf(name, c.text, {{"scheme", c.scheme}, {"code", c.code}, {"mapped", mapped ? "true" : ""}});
}

template <typename E, typename Parse>
Result<E> read_enum(const xml::Element& e, std::string_view text, Parse parse, const std::string& field) {
  auto v = parse(text);
  if (!v) return error_at(e, field, "enumeration", std::string("'").append(text).append("' is not a known value"));
  return *v;
}

Result<Location> read_location(const xml::Element& le) {
  const std::string base = "policeIncident/incident/location";
  Location loc;
  loc.text = std::string(le.child_text("description"));
  if (const auto* a = le.child("address")) {
    loc.address = Bs7666Address{std::string(a->child_text("subBuilding")), std::string(a->child_text("building")),
                                std::string(a->child_text("street")),      std::string(a->child_text("locality")),
                                std::string(a->child_text("town")),        std::string(a->child_text("county")),
                                std::string(a->child_text("postcode"))};
  }
  if (const auto* u = le.child("uprn")) {
    DEIT_ASSIGN_OR_RETURN(v, read_uint64(*u, u->text, base + "/uprn"));
    loc.uprn = v;
  }
  if (const auto* u = le.child("usrn")) {
    DEIT_ASSIGN_OR_RETURN(v, read_uint64(*u, u->text, base + "/usrn"));
    loc.usrn = v;
  }
  if (const auto* p = le.child("position")) {
    DEIT_ASSIGN_OR_RETURN(lat, read_double(*p, p->attribute("latitude"), base + "/position/@latitude"));
    DEIT_ASSIGN_OR_RETURN(lon, read_double(*p, p->attribute("longitude"), base + "/position/@longitude"));
    loc.latitude = lat;
    loc.longitude = lon;
    if (p->has_attribute("radius")) {
      DEIT_ASSIGN_OR_RETURN(r, read_double(*p, p->attribute("radius"), base + "/position/@radius"));
      loc.uncertainty_m = r;
    }
  }
  if (const auto* g = le.child("gridReference")) {
    DEIT_ASSIGN_OR_RETURN(e, read_double(*g, g->attribute("easting"), base + "/gridReference/@easting"));
    DEIT_ASSIGN_OR_RETURN(n, read_double(*g, g->attribute("northing"), base + "/gridReference/@northing"));
    loc.easting = e;
    loc.northing = n;
  }
  if (const auto* s = le.child("source")) {
    DEIT_ASSIGN_OR_RETURN(src, read_enum<LocationSource>(*s, s->text, parse_location_source, base + "/source"));
    loc.source = src;
  }
  return loc;
}

Result<Incident> read_incident(const xml::Element& ie, const MappingTables& tables) {
  const std::string base = "policeIncident/incident";
  Incident inc;
  inc.type_summary = std::string(ie.child_text("summary"));
  if (const auto* c = ie.child("classification")) {
    std::optional<Code> native, original;
    if (const auto* o = c->child("openingCode")) native = read_code(*o);
    if (const auto* o = c->child("originalClassification")) original = read_code(*o);
    inc.type = canonical_type(native, original);
    for (const auto* q : c->children_named("qualifier")) inc.qualifiers.push_back(read_code(*q));
  }
  if (const auto* g = ie.child("grade")) {
    inc.priority.emergency = read_bool(g->attribute("emergency"));
    inc.priority.life_risk = read_bool(g->attribute("threatToLife"));
    if (const auto* cg = g->child("contactGrade"); cg && !read_bool(cg->attribute("mapped"))) {
      DEIT_ASSIGN_OR_RETURN(grade, read_enum<PoliceGrade>(*cg, cg->text, parse_police_grade,
                                                          base + "/grade/contactGrade"));
      inc.priority.police_grade = grade;
    }
    if (const auto* c = g->child("ambulanceCategory")) {
      DEIT_ASSIGN_OR_RETURN(cat, read_int(*c, c->text, base + "/grade/ambulanceCategory"));
      inc.priority.ambulance_category = cat;
    }
    inc.priority.fire_priority = std::string(g->child_text("firePriority"));
  }
  inc.status = std::string(ie.child_text("status"));
  if (const auto* l = ie.child("location")) {
    DEIT_ASSIGN_OR_RETURN(loc, read_location(*l));
    inc.location = std::move(loc);
  }
  if (const auto* c = ie.child("informant")) {
    Caller caller;
    caller.name = std::string(c->child_text("name"));
    caller.phone = std::string(c->child_text("phone"));
    if (c->has_attribute("role")) {
      DEIT_ASSIGN_OR_RETURN(role, read_enum<CallerRole>(*c, c->attribute("role"), parse_caller_role,
                                                        base + "/informant/@role"));
      caller.role = role;
    }
    caller.consent_to_update = read_bool(c->attribute("consentToUpdate"));
    inc.caller = std::move(caller);
  }
  for (const auto* pe : ie.children_named("person")) {
    Person p;
    p.role = std::string(pe->attribute("role"));
    p.name = std::string(pe->child_text("name"));
    p.description = std::string(pe->child_text("description"));
    if (pe->has_attribute("age")) {
      DEIT_ASSIGN_OR_RETURN(age, read_int(*pe, pe->attribute("age"), base + "/person/@age"));
      p.age = age;
    }
    for (const auto* m : pe->children_named("warningMarker")) {
      // The marker's words win; a bare PNC code is turned into the canonical word.
      std::string marker = m->text;
      if (marker.empty()) marker = std::string(tables.marker_for_police_code(m->attribute("code")));
      if (marker.empty()) marker = std::string(m->attribute("code"));
      p.warning_markers.push_back(std::move(marker));
    }
    inc.persons.push_back(std::move(p));
  }
  for (const auto* ve : ie.children_named("vehicle")) {
    inc.vehicles.push_back(Vehicle{std::string(ve->child_text("vrm")), std::string(ve->child_text("make")),
                                   std::string(ve->child_text("model")), std::string(ve->child_text("colour")),
                                   std::string(ve->child_text("description"))});
  }
  for (const auto* he : ie.children_named("hazard"))
    inc.hazards.push_back(Hazard{std::string(he->attribute("code")), he->text});
  for (const auto* re : ie.children_named("assistanceRequested")) {
    ResourceRequest r{std::string(re->attribute("resource")), 1, re->text};
    if (re->has_attribute("count")) {
      DEIT_ASSIGN_OR_RETURN(count, read_int(*re, re->attribute("count"), base + "/assistanceRequested/@count"));
      r.count = count;
    }
    inc.resources_requested.push_back(std::move(r));
  }
  for (const auto* le : ie.children_named("logEntry")) {
    inc.log.push_back(LogEntry{std::string(le->attribute("time")), std::string(le->attribute("operator")), le->text,
                               read_bool(le->attribute("restricted"))});
  }
  if (const auto* o = ie.child("closingCode")) inc.outcome = Outcome{std::string(o->attribute("code")), o->text};
  inc.cancel_reason = std::string(ie.child_text("cancelReason"));
  return inc;
}

Result<IncidentMessage> read_message(const xml::Element& root, const MappingTables& tables) {
  const std::string base = "policeIncident/header";
  const xml::Element* h = root.child("header");
  IncidentMessage m;
  m.message_id = std::string(h->child_text("exportId"));
  m.transfer_id = std::string(h->child_text("hubTransferId"));
  if (const auto* t = h->child("messageType")) {
    DEIT_ASSIGN_OR_RETURN(type, read_enum<MessageType>(*t, t->text, parse_message_type, base + "/messageType"));
    m.type = type;
  }
  if (const auto* s = h->child("sequence")) {
    DEIT_ASSIGN_OR_RETURN(seq, read_uint64(*s, s->text, base + "/sequence"));
    m.sequence = seq;
  }
  m.sender_agency = std::string(h->child_text("sourceForce"));
  if (const auto* d = h->child("destinations"))
    for (const auto* e : d->children_named("destination")) m.receiving_agencies.push_back(e->text);
  m.on_behalf_of = std::string(h->child_text("onBehalfOf"));
  m.sender_reference = std::string(h->child_text("forceIncidentNumber"));
  m.shared_reference = std::string(h->child_text("sharedReference"));
  if (const auto* r = h->child("transferReason")) {
    DEIT_ASSIGN_OR_RETURN(reason, read_enum<TransferReason>(*r, r->text, parse_transfer_reason,
                                                            base + "/transferReason"));
    m.reason = reason;
  }
  m.call_received = std::string(h->child_text("callReceived"));
  m.created = std::string(h->child_text("created"));
  m.sent = std::string(h->child_text("sent"));
  if (const auto* pm = h->child("protectiveMarking")) {
    DEIT_ASSIGN_OR_RETURN(marking, read_enum<ProtectiveMarking>(*pm, pm->text, parse_protective_marking,
                                                                base + "/protectiveMarking"));
    m.marking = marking;
  }
  DEIT_ASSIGN_OR_RETURN(inc, read_incident(*root.child("incident"), tables));
  m.incident = std::move(inc);
  return m;
}

std::string encode_police(const IncidentMessage& m, const MappingTables& tables, std::vector<Finding>& findings) {
  std::string out;
  out.reserve(3072);
  xml::Writer w(out);
  w.declaration();
  w.open("policeIncident", {{"xmlns", kPoliceNamespace}, {"version", "1"}});
  w.open("header");
  w.leaf("exportId", m.message_id);
  w.optional_leaf("hubTransferId", m.transfer_id);
  w.leaf("messageType", to_string(m.type));
  if (m.sequence) w.leaf("sequence", std::to_string(m.sequence));
  w.leaf("sourceForce", m.sender_agency);
  if (!m.receiving_agencies.empty()) {
    w.open("destinations");
    for (const auto& r : m.receiving_agencies) w.leaf("destination", r);
    w.close();
  }
  w.optional_leaf("onBehalfOf", m.on_behalf_of);
  w.leaf("forceIncidentNumber", m.sender_reference);
  w.optional_leaf("sharedReference", m.shared_reference);
  w.leaf("transferReason", to_string(m.reason));
  w.optional_leaf("callReceived", m.call_received);
  w.optional_leaf("created", m.created);
  w.optional_leaf("sent", m.sent);
  w.leaf("protectiveMarking", to_string(m.marking));
  w.close();

  const Incident& inc = m.incident;
  w.open("incident");
  w.optional_leaf("summary", inc.type_summary);
  const NativeClassification cls = classify_for(tables, inc.type, AgencyKind::police, findings);
  if (cls.native || cls.original || !inc.qualifiers.empty()) {
    w.open("classification");
    if (cls.native) write_code(w, "openingCode", *cls.native, cls.mapped);
    for (const auto& q : inc.qualifiers) write_code(w, "qualifier", q);
    if (cls.original) write_code(w, "originalClassification", *cls.original);
    w.close();
  }
  const Priority& p = inc.priority;
  w.open("grade", {{"emergency", p.emergency ? "true" : "false"}, {"threatToLife", p.life_risk ? "true" : ""}});
  const auto grade = police_grade_for(tables, p);
  if (grade.value) w.leaf("contactGrade", to_string(*grade.value), {{"mapped", grade.mapped ? "true" : ""}});
  if (p.ambulance_category) w.leaf("ambulanceCategory", std::to_string(*p.ambulance_category));
  w.optional_leaf("firePriority", p.fire_priority);
  w.close();
  w.optional_leaf("status", inc.status);

  const Location& l = inc.location;
  if (l != Location{}) {
    w.open("location");
    w.optional_leaf("description", l.text);
    if (l.address != Bs7666Address{}) {
      const auto& a = l.address;
      w.open("address");
      w.optional_leaf("subBuilding", a.sao);
      w.optional_leaf("building", a.pao);
      w.optional_leaf("street", a.street);
      w.optional_leaf("locality", a.locality);
      w.optional_leaf("town", a.town);
      w.optional_leaf("county", a.administrative_area);
      w.optional_leaf("postcode", a.postcode);
      w.close();
    }
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
    if (l.source) w.leaf("source", to_string(*l.source));
    w.close();
  }
  if (inc.caller) {
    const Caller& c = *inc.caller;
    w.open("informant", {{"role", c.role ? to_string(*c.role) : ""},
                         {"consentToUpdate", c.consent_to_update ? "true" : "false"}});
    w.optional_leaf("name", c.name);
    w.optional_leaf("phone", c.phone);
    w.close();
  }
  for (const auto& person : inc.persons) {
    const std::string age = person.age ? std::to_string(*person.age) : std::string();
    w.open("person", {{"role", person.role}, {"age", age}});
    w.optional_leaf("name", person.name);
    w.optional_leaf("description", person.description);
    for (const auto& marker : person.warning_markers)
      w.leaf("warningMarker", marker, {{"code", tables.police_marker_code(marker)}});
    w.close();
  }
  for (std::size_t i = 0; i < inc.vehicles.size(); ++i) {
    const auto& v = inc.vehicles[i];
    w.open("vehicle");
    // The police schema's Vrm holds 32 characters (a plate is at most 8; the rest is noise).
    std::string vrm = v.registration;
    std::size_t cut = 0;
    for (int characters = 0; cut < vrm.size() && characters < 32; ++characters) {
      ++cut;
      while (cut < vrm.size() && (static_cast<unsigned char>(vrm[cut]) & 0xC0) == 0x80) ++cut;  // whole characters
    }
    if (cut < vrm.size()) {
      vrm.resize(cut);
      add_finding(findings, "incident/vehicles/" + std::to_string(i) + "/registration", "truncated",
                  "'" + v.registration + "' cut to the police schema's 32 characters");
    }
    w.optional_leaf("vrm", vrm);
    w.optional_leaf("make", v.make);
    w.optional_leaf("model", v.model);
    w.optional_leaf("colour", v.colour);
    w.optional_leaf("description", v.description);
    w.close();
  }
  for (const auto& h : inc.hazards) w.leaf("hazard", h.description, {{"code", h.code}});
  for (const auto& r : inc.resources_requested) {
    const std::string count = std::to_string(r.count);
    w.leaf("assistanceRequested", r.note, {{"resource", r.kind}, {"count", count}});
  }
  for (const auto& e : inc.log)
    w.leaf("logEntry", e.text, {{"time", e.time}, {"operator", e.author}, {"restricted", e.sensitive ? "true" : ""}});
  if (inc.outcome) w.leaf("closingCode", inc.outcome->text, {{"code", inc.outcome->code}});
  w.optional_leaf("cancelReason", inc.cancel_reason);
  w.close();
  w.close();
  out += '\n';
  return out;
}

}  // namespace

Result<std::shared_ptr<const Adapter>> make_police_adapter(std::shared_ptr<MappingStore> mappings) {
  auto schemas = xml::SchemaSet::load(
      {{std::string(kPoliceNamespace), "police-cad-1.xsd", schemas::embedded("police-cad-1.xsd")}});
  if (!schemas) return schemas.error();
  return std::shared_ptr<const Adapter>(std::make_shared<XmlFormatAdapter>(
      kFormat, "application/xml", std::move(schemas).value(), std::move(mappings),
      [](const xml::Element& root, const MappingTables& tables) -> Result<Decoded> {
        auto message = read_message(root, tables);
        if (!message) return message.error();
        return Decoded{std::move(message).value(), {}};
      },
      &encode_police));
}

}  // namespace deit::adapters
