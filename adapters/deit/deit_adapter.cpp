#include "adapters/deit/deit_adapter.hpp"

#include "adapters/xml_support.hpp"
#include "schemas/catalog.hpp"
#include "schemas/xml.hpp"

namespace deit::adapters {

using namespace model;

namespace {

void write_code(xml::Writer& w, std::string_view element, const Code& c) {
  w.leaf(element, c.text, {{"scheme", c.scheme}, {"code", c.code}});
}

Code read_code(const xml::Element& e) {
  return Code{std::string(e.attribute("scheme")), std::string(e.attribute("code")), e.text};
}

template <typename E, typename Parse>
Result<E> read_enum(const xml::Element& e, Parse parse, const std::string& field) {
  auto v = parse(e.text);
  if (!v) return error_at(e, field, "enumeration", "'" + e.text + "' is not a known value");
  return *v;
}

#define DEIT_TRY(var, expr)             \
  auto var##_result = (expr);           \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(var##_result).value()

Result<Location> read_location(const xml::Element& le) {
  const std::string base = "incidentMessage/incident/location";
  Location loc;
  loc.text = std::string(le.child_text("text"));
  if (const auto* a = le.child("address")) {
    loc.address = Bs7666Address{std::string(a->child_text("sao")),      std::string(a->child_text("pao")),
                                std::string(a->child_text("street")),   std::string(a->child_text("locality")),
                                std::string(a->child_text("town")),     std::string(a->child_text("administrativeArea")),
                                std::string(a->child_text("postcode"))};
  }
  if (const auto* u = le.child("uprn")) {
    DEIT_TRY(v, read_uint64(*u, u->text, base + "/uprn"));
    loc.uprn = v;
  }
  if (const auto* u = le.child("usrn")) {
    DEIT_TRY(v, read_uint64(*u, u->text, base + "/usrn"));
    loc.usrn = v;
  }
  if (const auto* g = le.child("wgs84")) {
    DEIT_TRY(lat, read_double(*g, g->attribute("lat"), base + "/wgs84/@lat"));
    DEIT_TRY(lon, read_double(*g, g->attribute("lon"), base + "/wgs84/@lon"));
    loc.latitude = lat;
    loc.longitude = lon;
    if (g->has_attribute("uncertainty")) {
      DEIT_TRY(r, read_double(*g, g->attribute("uncertainty"), base + "/wgs84/@uncertainty"));
      loc.uncertainty_m = r;
    }
  }
  if (const auto* b = le.child("bng")) {
    DEIT_TRY(e, read_double(*b, b->attribute("easting"), base + "/bng/@easting"));
    DEIT_TRY(n, read_double(*b, b->attribute("northing"), base + "/bng/@northing"));
    loc.easting = e;
    loc.northing = n;
  }
  if (const auto* s = le.child("source")) {
    DEIT_TRY(src, read_enum<LocationSource>(*s, parse_location_source, base + "/source"));
    loc.source = src;
  }
  return loc;
}

Result<Incident> read_incident(const xml::Element& ie) {
  const std::string base = "incidentMessage/incident";
  Incident inc;
  inc.type_summary = std::string(ie.child_text("summary"));
  if (const auto* t = ie.child("type")) inc.type = read_code(*t);
  for (const auto* q : ie.children_named("qualifier")) inc.qualifiers.push_back(read_code(*q));
  if (const auto* p = ie.child("priority")) {
    inc.priority.emergency = read_bool(p->attribute("emergency"));
    inc.priority.life_risk = read_bool(p->attribute("lifeRisk"));
    if (const auto* g = p->child("policeGrade")) {
      DEIT_TRY(grade, read_enum<PoliceGrade>(*g, parse_police_grade, base + "/priority/policeGrade"));
      inc.priority.police_grade = grade;
    }
    if (const auto* c = p->child("ambulanceCategory")) {
      DEIT_TRY(cat, read_int(*c, c->text, base + "/priority/ambulanceCategory"));
      inc.priority.ambulance_category = cat;
    }
    inc.priority.fire_priority = std::string(p->child_text("firePriority"));
  }
  inc.status = std::string(ie.child_text("status"));
  if (const auto* l = ie.child("location")) {
    DEIT_TRY(loc, read_location(*l));
    inc.location = std::move(loc);
  }
  if (const auto* c = ie.child("caller")) {
    Caller caller;
    caller.name = std::string(c->child_text("name"));
    caller.phone = std::string(c->child_text("phone"));
    if (c->has_attribute("role")) caller.role = parse_caller_role(c->attribute("role"));
    caller.consent_to_update = read_bool(c->attribute("consentToUpdate"));
    inc.caller = std::move(caller);
  }
  for (const auto* pe : ie.children_named("person")) {
    Person p;
    p.role = std::string(pe->attribute("role"));
    p.name = std::string(pe->child_text("name"));
    p.description = std::string(pe->child_text("description"));
    if (pe->has_attribute("age")) {
      DEIT_TRY(age, read_int(*pe, pe->attribute("age"), base + "/person/@age"));
      p.age = age;
    }
    for (const auto* m : pe->children_named("warningMarker")) p.warning_markers.push_back(m->text);
    inc.persons.push_back(std::move(p));
  }
  for (const auto* ve : ie.children_named("vehicle")) {
    inc.vehicles.push_back(Vehicle{std::string(ve->child_text("registration")), std::string(ve->child_text("make")),
                                   std::string(ve->child_text("model")), std::string(ve->child_text("colour")),
                                   std::string(ve->child_text("description"))});
  }
  for (const auto* he : ie.children_named("hazard"))
    inc.hazards.push_back(Hazard{std::string(he->attribute("code")), he->text});
  for (const auto* le : ie.children_named("logEntry")) {
    inc.log.push_back(LogEntry{std::string(le->attribute("time")), std::string(le->attribute("author")), le->text,
                               read_bool(le->attribute("sensitive"))});
  }
  for (const auto* re : ie.children_named("resourceRequest")) {
    ResourceRequest r{std::string(re->attribute("kind")), 1, re->text};
    if (re->has_attribute("count")) {
      DEIT_TRY(count, read_int(*re, re->attribute("count"), base + "/resourceRequest/@count"));
      r.count = count;
    }
    inc.resources_requested.push_back(std::move(r));
  }
  if (const auto* o = ie.child("outcome")) inc.outcome = Outcome{std::string(o->attribute("code")), o->text};
  inc.cancel_reason = std::string(ie.child_text("cancelReason"));
  return inc;
}

Result<IncidentMessage> read_message(const xml::Element& root) {
  const std::string base = "incidentMessage";
  IncidentMessage m;
  m.message_id = std::string(root.child_text("messageId"));
  m.transfer_id = std::string(root.child_text("transferId"));
  if (const auto* t = root.child("messageType")) {
    DEIT_TRY(type, read_enum<MessageType>(*t, parse_message_type, base + "/messageType"));
    m.type = type;
  }
  if (const auto* s = root.child("sequence")) {
    DEIT_TRY(seq, read_uint64(*s, s->text, base + "/sequence"));
    m.sequence = seq;
  }
  m.sender_agency = std::string(root.child_text("sender"));
  if (const auto* r = root.child("receivers"))
    for (const auto* e : r->children_named("receiver")) m.receiving_agencies.push_back(e->text);
  m.on_behalf_of = std::string(root.child_text("onBehalfOf"));
  m.sender_reference = std::string(root.child_text("senderReference"));
  m.shared_reference = std::string(root.child_text("sharedReference"));
  if (const auto* r = root.child("reason")) {
    DEIT_TRY(reason, read_enum<TransferReason>(*r, parse_transfer_reason, base + "/reason"));
    m.reason = reason;
  }
  m.call_received = std::string(root.child_text("callReceived"));
  m.created = std::string(root.child_text("created"));
  m.sent = std::string(root.child_text("sent"));
  if (const auto* pm = root.child("protectiveMarking")) {
    DEIT_TRY(marking, read_enum<ProtectiveMarking>(*pm, parse_protective_marking, base + "/protectiveMarking"));
    m.marking = marking;
  }
  if (const auto* ie = root.child("incident")) {
    DEIT_TRY(inc, read_incident(*ie));
    m.incident = std::move(inc);
  }
  return m;
}

#undef DEIT_TRY

class DeitAdapter final : public Adapter {
 public:
  explicit DeitAdapter(std::shared_ptr<const xml::SchemaSet> schemas) : schemas_(std::move(schemas)) {}
  std::string_view name() const override { return "deit"; }
  std::string_view content_type() const override { return "application/xml"; }

  Result<Decoded> decode(std::string_view bytes) const override {
    auto root = schemas_->parse(bytes);
    if (!root) return root.error();
    auto message = read_message(*root);
    if (!message) return message.error();
    return Decoded{std::move(message).value(), {}};
  }

  Result<Encoded> encode(const IncidentMessage& message) const override {
    return Encoded{encode_canonical(message), std::string(content_type()), {}};
  }

 private:
  std::shared_ptr<const xml::SchemaSet> schemas_;
};

}  // namespace

std::string encode_canonical(const IncidentMessage& m) {
  std::string out;
  out.reserve(2048);
  xml::Writer w(out);
  w.declaration();
  w.open("incidentMessage", {{"xmlns", kCanonicalNamespace}, {"schemaVersion", "1.0"}});
  w.leaf("messageId", m.message_id);
  w.optional_leaf("transferId", m.transfer_id);
  w.leaf("messageType", to_string(m.type));
  if (m.sequence) w.leaf("sequence", std::to_string(m.sequence));
  w.leaf("sender", m.sender_agency);
  if (!m.receiving_agencies.empty()) {
    w.open("receivers");
    for (const auto& r : m.receiving_agencies) w.leaf("receiver", r);
    w.close();
  }
  w.optional_leaf("onBehalfOf", m.on_behalf_of);
  w.leaf("senderReference", m.sender_reference);
  w.optional_leaf("sharedReference", m.shared_reference);
  w.leaf("reason", to_string(m.reason));
  w.optional_leaf("callReceived", m.call_received);
  w.optional_leaf("created", m.created);
  w.optional_leaf("sent", m.sent);
  w.leaf("protectiveMarking", to_string(m.marking));

  const Incident& inc = m.incident;
  w.open("incident");
  w.optional_leaf("summary", inc.type_summary);
  if (!inc.type.code.empty()) write_code(w, "type", inc.type);
  for (const auto& q : inc.qualifiers) write_code(w, "qualifier", q);
  const Priority& p = inc.priority;
  w.open("priority", {{"emergency", p.emergency ? "true" : "false"}, {"lifeRisk", p.life_risk ? "true" : "false"}});
  if (p.police_grade) w.leaf("policeGrade", to_string(*p.police_grade));
  if (p.ambulance_category) w.leaf("ambulanceCategory", std::to_string(*p.ambulance_category));
  w.optional_leaf("firePriority", p.fire_priority);
  w.close();
  w.optional_leaf("status", inc.status);

  const Location& l = inc.location;
  if (l != Location{}) {
    w.open("location");
    w.optional_leaf("text", l.text);
    if (l.address != Bs7666Address{}) {
      const auto& a = l.address;
      w.open("address");
      w.optional_leaf("sao", a.sao);
      w.optional_leaf("pao", a.pao);
      w.optional_leaf("street", a.street);
      w.optional_leaf("locality", a.locality);
      w.optional_leaf("town", a.town);
      w.optional_leaf("administrativeArea", a.administrative_area);
      w.optional_leaf("postcode", a.postcode);
      w.close();
    }
    if (l.uprn) w.leaf("uprn", std::to_string(*l.uprn));
    if (l.usrn) w.leaf("usrn", std::to_string(*l.usrn));
    if (l.latitude && l.longitude) {
      const std::string lat = format_double(*l.latitude), lon = format_double(*l.longitude);
      const std::string unc = l.uncertainty_m ? format_double(*l.uncertainty_m) : std::string();
      w.leaf("wgs84", "", {{"lat", lat}, {"lon", lon}, {"uncertainty", unc}});
    }
    if (l.easting && l.northing) {
      const std::string e = format_double(*l.easting), n = format_double(*l.northing);
      w.leaf("bng", "", {{"easting", e}, {"northing", n}});
    }
    if (l.source) w.leaf("source", to_string(*l.source));
    w.close();
  }
  if (inc.caller) {
    const Caller& c = *inc.caller;
    w.open("caller", {{"role", c.role ? to_string(*c.role) : ""}, {"consentToUpdate", c.consent_to_update ? "true" : "false"}});
    w.optional_leaf("name", c.name);
    w.optional_leaf("phone", c.phone);
    w.close();
  }
  for (const auto& person : inc.persons) {
    const std::string age = person.age ? std::to_string(*person.age) : std::string();
    w.open("person", {{"role", person.role}, {"age", age}});
    w.optional_leaf("name", person.name);
    w.optional_leaf("description", person.description);
    for (const auto& marker : person.warning_markers) w.leaf("warningMarker", marker);
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
  for (const auto& h : inc.hazards) w.leaf("hazard", h.description, {{"code", h.code}});
  for (const auto& e : inc.log)
    w.leaf("logEntry", e.text, {{"time", e.time}, {"author", e.author}, {"sensitive", e.sensitive ? "true" : ""}});
  for (const auto& r : inc.resources_requested) {
    const std::string count = std::to_string(r.count);
    w.leaf("resourceRequest", r.note, {{"kind", r.kind}, {"count", count}});
  }
  if (inc.outcome) w.leaf("outcome", inc.outcome->text, {{"code", inc.outcome->code}});
  w.optional_leaf("cancelReason", inc.cancel_reason);
  w.close();
  w.close();
  out += '\n';
  return out;
}

Result<std::shared_ptr<const Adapter>> make_deit_adapter() {
  auto schemas = xml::SchemaSet::load(
      {{std::string(kCanonicalNamespace), "deit-incident-1.xsd", schemas::embedded("deit-incident-1.xsd")}});
  if (!schemas) return schemas.error();
  return std::shared_ptr<const Adapter>(std::make_shared<DeitAdapter>(std::move(schemas).value()));
}

}  // namespace deit::adapters
