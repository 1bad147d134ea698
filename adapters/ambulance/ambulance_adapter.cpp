#include "adapters/ambulance/ambulance_adapter.hpp"

#include <boost/json.hpp>

#include "adapters/json/json_schema.hpp"
#include "adapters/translate_support.hpp"
#include "schemas/catalog.hpp"

namespace deit::adapters {

using namespace model;
namespace bj = boost::json;

namespace {

constexpr std::string_view kFormat = "ambulance";

// ---- reading a validated document: types are guaranteed by the schema ----

std::string str(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool flag(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

template <typename T>
std::optional<T> number(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<T>(v->get_int64());
  if (v->is_uint64()) return static_cast<T>(v->get_uint64());
  if (v->is_double()) return static_cast<T>(v->get_double());
  return std::nullopt;
}

const bj::object* object_at(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

const bj::array* array_at(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

Code read_code(const bj::object& o) { return Code{str(o, "scheme"), str(o, "code"), str(o, "text")}; }

// "[sex=female; conscious=no; breathing=yes] free text" ↔ the patient's clinical fields.
struct ClinicalState {
  std::string sex;
  std::optional<bool> conscious;
  std::optional<bool> breathing;
  std::string description;
};

std::string_view yes_no(bool v) { return v ? "yes" : "no"; }

std::string fold_clinical(const ClinicalState& c) {
  std::string prefix;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!prefix.empty()) prefix += "; ";
    prefix.append(key).append("=").append(value);
  };
  if (!c.sex.empty()) add("sex", c.sex);
  if (c.conscious) add("conscious", yes_no(*c.conscious));
  if (c.breathing) add("breathing", yes_no(*c.breathing));
  if (prefix.empty()) return c.description;
  std::string out = "[" + prefix + "]";
  if (!c.description.empty()) out += " " + c.description;
  return out;
}

ClinicalState unfold_clinical(std::string_view description) {
  ClinicalState c;
  c.description = std::string(description);
  if (!description.starts_with('[')) return c;
  const auto close = description.find(']');
  if (close == std::string_view::npos) return c;
  ClinicalState parsed;
  std::string_view body = description.substr(1, close - 1);
  while (!body.empty()) {
    const auto semi = body.find(';');
    std::string_view item = body.substr(0, semi);
    body = semi == std::string_view::npos ? std::string_view() : body.substr(semi + 1);
    while (item.starts_with(' ')) item.remove_prefix(1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return c;  // not ours: keep the description whole
    const auto key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "sex" && (value == "male" || value == "female" || value == "other" || value == "unknown")) {
      parsed.sex = std::string(value);
    } else if ((key == "conscious" || key == "breathing") && (value == "yes" || value == "no")) {
      (key == "conscious" ? parsed.conscious : parsed.breathing) = value == "yes";
    } else {
      return c;
    }
  }
  std::string_view rest = description.substr(close + 1);
  if (rest.starts_with(' ')) rest.remove_prefix(1);
  parsed.description = std::string(rest);
  return parsed;
}

Result<IncidentMessage> read_message(const bj::object& root) {
  IncidentMessage m;
  m.message_id = str(root, "messageId");
  m.transfer_id = str(root, "hubTransferId");
  m.type = parse_message_type(str(root, "messageType")).value_or(MessageType::create);
  m.sequence = number<std::uint64_t>(root, "sequence").value_or(0);
  m.sender_agency = str(root, "sender");
  if (const auto* r = array_at(root, "receivers"))
    for (const auto& v : *r) m.receiving_agencies.emplace_back(v.get_string());
  m.on_behalf_of = str(root, "onBehalfOf");
  m.sender_reference = str(root, "senderReference");
  m.shared_reference = str(root, "sharedReference");
  m.reason = parse_transfer_reason(str(root, "reason")).value_or(TransferReason::assistance_request);
  m.call_received = str(root, "callReceived");
  m.created = str(root, "created");
  m.sent = str(root, "sent");
  m.marking = parse_protective_marking(str(root, "protectiveMarking")).value_or(ProtectiveMarking::official);

  const bj::object& io = root.at("incident").get_object();
  Incident& inc = m.incident;
  inc.type_summary = str(io, "summary");
  std::optional<Code> native, original;
  if (const auto* d = object_at(io, "dispatchCode")) {
    Code c = read_code(*d);
    if (std::string version = str(*d, "version"); !version.empty()) c.scheme += ":" + version;
    native = std::move(c);
  }
  if (const auto* o = object_at(io, "originalClassification")) original = read_code(*o);
  inc.type = canonical_type(native, original);
  if (!flag(io, "categoryMapped")) inc.priority.ambulance_category = number<int>(io, "responseCategory");
  inc.priority.emergency = flag(io, "emergency");
  inc.priority.life_risk = flag(io, "lifeRisk");
  if (const auto* pp = object_at(io, "partnerPriority")) {
    inc.priority.police_grade = parse_police_grade(str(*pp, "policeGrade"));
    inc.priority.fire_priority = str(*pp, "firePriority");
  }
  inc.status = str(io, "status");
  if (const auto* lo = object_at(io, "location")) {
    Location& l = inc.location;
    l.text = str(*lo, "description");
    if (const auto* a = object_at(*lo, "address")) {
      l.address = Bs7666Address{str(*a, "sao"),  str(*a, "pao"),  str(*a, "street"),
                                str(*a, "locality"), str(*a, "town"), str(*a, "administrativeArea"),
                                str(*a, "postcode")};
    }
    l.uprn = number<std::uint64_t>(*lo, "uprn");
    l.usrn = number<std::uint64_t>(*lo, "usrn");
    l.latitude = number<double>(*lo, "latitude");
    l.longitude = number<double>(*lo, "longitude");
    l.uncertainty_m = number<double>(*lo, "uncertaintyMetres");
    l.easting = number<double>(*lo, "easting");
    l.northing = number<double>(*lo, "northing");
    if (lo->contains("source")) l.source = parse_location_source(str(*lo, "source"));
  }
  if (const auto* co = object_at(io, "caller")) {
    Caller c;
    c.name = str(*co, "name");
    c.phone = str(*co, "phone");
    if (co->contains("role")) c.role = parse_caller_role(str(*co, "role"));
    c.consent_to_update = flag(*co, "consentToUpdate");
    inc.caller = std::move(c);
  }
  std::size_t patients = 0;
  if (const auto* pa = array_at(io, "patients")) {
    for (const auto& v : *pa) {
      const bj::object& po = v.get_object();
      ClinicalState c;
      c.sex = str(po, "sex");
      if (const auto* x = po.if_contains("conscious"); x && x->is_bool()) c.conscious = x->get_bool();
      if (const auto* x = po.if_contains("breathing"); x && x->is_bool()) c.breathing = x->get_bool();
      c.description = str(po, "description");
      Person p;
      p.role = po.contains("role") ? str(po, "role") : std::string("patient");
      p.name = str(po, "name");
      p.age = number<int>(po, "age");
      p.description = fold_clinical(c);
      inc.persons.push_back(std::move(p));
      ++patients;
    }
  }
  // A count above the patients described means more patients not yet assessed.
  for (std::size_t n = number<std::size_t>(io, "patientCount").value_or(0); patients < n; ++patients)
    inc.persons.push_back(Person{"patient", "", std::nullopt, "not yet assessed", {}});
  if (const auto* op = array_at(io, "otherPersons")) {
    for (const auto& v : *op) {
      const bj::object& po = v.get_object();
      Person p;
      p.role = str(po, "role");
      p.name = str(po, "name");
      p.age = number<int>(po, "age");
      p.description = str(po, "description");
      if (const auto* wm = array_at(po, "warningMarkers"))
        for (const auto& w : *wm) p.warning_markers.emplace_back(w.get_string());
      inc.persons.push_back(std::move(p));
    }
  }
  if (const auto* ha = array_at(io, "hazards"))
    for (const auto& v : *ha) inc.hazards.push_back(Hazard{str(v.get_object(), "code"), str(v.get_object(), "description")});
  if (const auto* ra = array_at(io, "resourcesRequested")) {
    for (const auto& v : *ra) {
      const bj::object& ro = v.get_object();
      inc.resources_requested.push_back(ResourceRequest{str(ro, "kind"), number<int>(ro, "count").value_or(1), str(ro, "note")});
    }
  }
  if (const auto* na = array_at(io, "notes")) {
    for (const auto& v : *na) {
      const bj::object& no = v.get_object();
      inc.log.push_back(LogEntry{str(no, "time"), str(no, "author"), str(no, "text"), flag(no, "sensitive")});
    }
  }
  if (const auto* oo = object_at(io, "outcome")) inc.outcome = Outcome{str(*oo, "code"), str(*oo, "text")};
  inc.cancel_reason = str(io, "cancelReason");
  return m;
}

// ---- writing ----

void put(bj::object& o, std::string_view key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

bj::object code_object(const Code& c) {
  bj::object o;
  put(o, "scheme", c.scheme);
  o["code"] = c.code;
  put(o, "text", c.text);
  return o;
}

std::string encode_ambulance(const IncidentMessage& m, const MappingTables& tables, std::vector<Finding>& findings) {
  bj::object root;
  root["format"] = kAmbulanceFormatId;
  root["messageId"] = m.message_id;
  put(root, "hubTransferId", m.transfer_id);
  root["messageType"] = to_string(m.type);
  if (m.sequence) root["sequence"] = m.sequence;
  root["sender"] = m.sender_agency;
  if (!m.receiving_agencies.empty()) {
    bj::array r;
    for (const auto& a : m.receiving_agencies) r.emplace_back(a);
    root["receivers"] = std::move(r);
  }
  put(root, "onBehalfOf", m.on_behalf_of);
  root["senderReference"] = m.sender_reference;
  put(root, "sharedReference", m.shared_reference);
  root["reason"] = to_string(m.reason);
  put(root, "callReceived", m.call_received);
  put(root, "created", m.created);
  put(root, "sent", m.sent);
  root["protectiveMarking"] = to_string(m.marking);

  const Incident& inc = m.incident;
  bj::object io;
  put(io, "summary", inc.type_summary);
  const NativeClassification cls = classify_for(tables, inc.type, AgencyKind::ambulance, findings);
  if (cls.native) {
    bj::object d = code_object(*cls.native);
    // "ampds:13.3" travels as scheme "ampds" with version "13.3".
    const std::string& scheme = cls.native->scheme;
    if (const auto colon = scheme.find(':'); colon != std::string::npos) {
      d["scheme"] = scheme.substr(0, colon);
      d["version"] = scheme.substr(colon + 1);
    }
    if (cls.mapped) d["mapped"] = true;
    io["dispatchCode"] = std::move(d);
  }
  if (cls.original) io["originalClassification"] = code_object(*cls.original);
  for (std::size_t i = 0; i < inc.qualifiers.size(); ++i)
    not_carried(findings, true, "incident/qualifiers/" + std::to_string(i), kFormat, describe_code(inc.qualifiers[i]));
  const Priority& p = inc.priority;
  const auto category = ambulance_category_for(tables, p);
  if (category.value) {
    io["responseCategory"] = *category.value;
    if (category.mapped) io["categoryMapped"] = true;
  }
  io["emergency"] = p.emergency;
  if (p.life_risk) io["lifeRisk"] = true;
  if (p.police_grade || !p.fire_priority.empty()) {
    bj::object pp;
    if (p.police_grade) pp["policeGrade"] = to_string(*p.police_grade);
    put(pp, "firePriority", p.fire_priority);
    io["partnerPriority"] = std::move(pp);
  }
  put(io, "status", inc.status);
  const Location& l = inc.location;
  if (l != Location{}) {
    bj::object lo;
    put(lo, "description", l.text);
    if (l.address != Bs7666Address{}) {
      const auto& a = l.address;
      bj::object ao;
      put(ao, "sao", a.sao);
      put(ao, "pao", a.pao);
      put(ao, "street", a.street);
      put(ao, "locality", a.locality);
      put(ao, "town", a.town);
      put(ao, "administrativeArea", a.administrative_area);
      put(ao, "postcode", a.postcode);
      lo["address"] = std::move(ao);
    }
    if (l.uprn) lo["uprn"] = *l.uprn;
    if (l.usrn) lo["usrn"] = *l.usrn;
    if (l.latitude) lo["latitude"] = *l.latitude;
    if (l.longitude) lo["longitude"] = *l.longitude;
    if (l.uncertainty_m) lo["uncertaintyMetres"] = *l.uncertainty_m;
    if (l.easting) lo["easting"] = *l.easting;
    if (l.northing) lo["northing"] = *l.northing;
    if (l.source) lo["source"] = to_string(*l.source);
    io["location"] = std::move(lo);
  }
  if (inc.caller) {
    const Caller& c = *inc.caller;
    bj::object co;
    put(co, "name", c.name);
    put(co, "phone", c.phone);
    if (c.role) co["role"] = to_string(*c.role);
    if (c.consent_to_update) co["consentToUpdate"] = true;
    io["caller"] = std::move(co);
  }
  bj::array patients, others;
  for (std::size_t i = 0; i < inc.persons.size(); ++i) {
    const Person& person = inc.persons[i];
    bj::object po;
    if (is_patient_role(person.role)) {
      const ClinicalState c = unfold_clinical(person.description);
      po["role"] = person.role;
      put(po, "name", person.name);
      if (person.age) po["age"] = *person.age;
      put(po, "sex", c.sex);
      if (c.conscious) po["conscious"] = *c.conscious;
      if (c.breathing) po["breathing"] = *c.breathing;
      put(po, "description", c.description);
      for (std::size_t k = 0; k < person.warning_markers.size(); ++k)
        not_carried(findings, true, "incident/persons/" + std::to_string(i) + "/warning_markers/" + std::to_string(k),
                    kFormat, "patient warning marker '" + person.warning_markers[k] + "'");
      patients.emplace_back(std::move(po));
    } else {
      put(po, "role", person.role);
      put(po, "name", person.name);
      if (person.age) po["age"] = *person.age;
      put(po, "description", person.description);
      if (!person.warning_markers.empty()) {
        bj::array wm;
        for (const auto& w : person.warning_markers) wm.emplace_back(w);
        po["warningMarkers"] = std::move(wm);
      }
      others.emplace_back(std::move(po));
    }
  }
  if (!patients.empty()) {
    io["patientCount"] = patients.size();
    io["patients"] = std::move(patients);
  }
  if (!others.empty()) io["otherPersons"] = std::move(others);
  for (std::size_t i = 0; i < inc.vehicles.size(); ++i) {
    const Vehicle& v = inc.vehicles[i];
    not_carried(findings, true, "incident/vehicles/" + std::to_string(i), kFormat,
                "vehicle " + (v.registration.empty() ? v.description : v.registration));
  }
  if (!inc.hazards.empty()) {
    bj::array ha;
    for (const auto& h : inc.hazards) {
      bj::object ho;
      ho["code"] = h.code;
      put(ho, "description", h.description);
      ha.emplace_back(std::move(ho));
    }
    io["hazards"] = std::move(ha);
  }
  if (!inc.resources_requested.empty()) {
    bj::array ra;
    for (const auto& r : inc.resources_requested) {
      bj::object ro;
      ro["kind"] = r.kind;
      ro["count"] = r.count;
      put(ro, "note", r.note);
      ra.emplace_back(std::move(ro));
    }
    io["resourcesRequested"] = std::move(ra);
  }
  if (!inc.log.empty()) {
    bj::array na;
    for (const auto& e : inc.log) {
      bj::object no;
      no["time"] = e.time;
      put(no, "author", e.author);
      no["text"] = e.text;
      if (e.sensitive) no["sensitive"] = true;
      na.emplace_back(std::move(no));
    }
    io["notes"] = std::move(na);
  }
  if (inc.outcome) io["outcome"] = code_object(Code{"", inc.outcome->code, inc.outcome->text});
  put(io, "cancelReason", inc.cancel_reason);
  root["incident"] = std::move(io);
  std::string out = bj::serialize(root);
  out += '\n';
  return out;
}

class AmbulanceAdapter final : public Adapter {
 public:
  AmbulanceAdapter(std::shared_ptr<const json::Schema> schema, std::shared_ptr<MappingStore> mappings)
      : schema_(std::move(schema)), mappings_(std::move(mappings)) {}
  std::string_view name() const override { return kFormat; }
  std::string_view content_type() const override { return "application/json"; }

  Result<Decoded> decode(std::string_view bytes) const override {
    auto value = schema_->parse_and_validate(bytes);
    if (!value) return value.error();
    auto message = read_message(value->get_object());
    if (!message) return message.error();
    return Decoded{std::move(message).value(), {}};
  }

  Result<Encoded> encode(const IncidentMessage& message) const override {
    Encoded out;
    out.content_type = content_type();
    auto tables = mappings_->current();
    out.bytes = encode_ambulance(message, *tables, out.findings);
    return out;
  }

  Status validate(std::string_view bytes) const override {
    auto value = schema_->parse_and_validate(bytes);
    if (!value) return value.error();
    return Status::success();
  }

 private:
  std::shared_ptr<const json::Schema> schema_;
  std::shared_ptr<MappingStore> mappings_;
};

}  // namespace

Result<std::shared_ptr<const Adapter>> make_ambulance_adapter(std::shared_ptr<MappingStore> mappings) {
  auto schema = json::Schema::compile(schemas::embedded("ambulance-cad-1.schema.json"), "ambulance-cad-1.schema.json");
  if (!schema) return schema.error();
  return std::shared_ptr<const Adapter>(
      std::make_shared<AmbulanceAdapter>(std::move(schema).value(), std::move(mappings)));
}

}  // namespace deit::adapters
