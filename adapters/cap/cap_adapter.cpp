#include "adapters/cap/cap_adapter.hpp"

#include <charconv>
#include <cmath>

#include "adapters/translate_support.hpp"
#include "adapters/try.hpp"
#include "adapters/xml_support.hpp"
#include "schemas/catalog.hpp"
#include "schemas/xml.hpp"

namespace deit::adapters {

using namespace model;

namespace {

constexpr std::string_view kFormat = "cap";
constexpr std::string_view kNoArea = "unspecified";
constexpr std::string_view kMarkingCode = "deit:marking=";
constexpr std::string_view kTypeCode = "deit:message-type=";

// CAP times need a numeric offset and no fraction: "…Z" → "…+00:00".
std::string to_cap_time(std::string_view t, std::vector<Finding>& findings, const std::string& field) {
  std::string out(t);
  if (out.ends_with('Z') || out.ends_with('z')) out.replace(out.size() - 1, 1, "+00:00");
  if (auto dot = out.find('.'); dot != std::string::npos && dot > 10) {
    auto end = dot + 1;
    while (end < out.size() && out[end] >= '0' && out[end] <= '9') ++end;
    out.erase(dot, end - dot);
    add_finding(findings, field, "truncated", "CAP times have whole seconds; the fraction was dropped");
  }
  return out;
}

std::string from_cap_time(std::string_view t) {
  std::string out(t);
  if (out.ends_with("+00:00")) out.replace(out.size() - 6, 6, "Z");
  return out;
}

std::optional<double> parse_double(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Lower case letters, digits and '-', starting with a letter or digit, at most 64.
std::string agency_id_from(std::string_view text) {
  std::string id;
  for (char c : text) {
    if (id.size() == 64) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok) id += c;
    else if (!id.empty() && id.back() != '-') id += '-';
  }
  while (!id.empty() && id.back() == '-') id.pop_back();
  return id.empty() ? std::string("unknown-sender") : id;
}

// CAP addresses: space-separated, a quoted one may hold spaces. Each must be an agency id,
// the only thing the hub can route to and every other format can carry.
Result<std::vector<std::string>> read_addresses(const xml::Element& addresses) {
  std::vector<std::string> out;
  std::string_view rest = addresses.text;
  while (!rest.empty()) {
    while (rest.starts_with(' ')) rest.remove_prefix(1);
    if (rest.empty()) break;
    std::size_t end;
    std::string_view address;
    if (rest.front() == '"') {
      end = rest.find('"', 1);
      address = rest.substr(1, end == std::string_view::npos ? end : end - 1);
      end = end == std::string_view::npos ? rest.size() : end + 1;
    } else {
      end = std::min(rest.find(' '), rest.size());
      address = rest.substr(0, end);
    }
    if (!is_agency_id(address))
      return error_at(addresses, "alert/addresses", "type",
                      "address '" + std::string(address) + "' is not an agency id (1-64 of a-z, 0-9 and '-')");
    out.emplace_back(address);
    rest.remove_prefix(end);
  }
  return out;
}

void parameter(xml::Writer& w, std::string_view name, std::string_view value) {
  w.open("parameter");
  w.leaf("valueName", name);
  w.leaf("value", value);
  w.close();
}

std::string encode_cap(const IncidentMessage& m, const MappingTables& tables, std::vector<Finding>& findings) {
  const Incident& inc = m.incident;
  std::string out;
  out.reserve(3072);
  xml::Writer w(out);
  w.declaration();
  w.open("alert", {{"xmlns", kCapNamespace}});
  w.leaf("identifier", m.message_id);
  w.leaf("sender", m.sender_agency);
  std::string sent = !m.sent.empty() ? m.sent : !m.created.empty() ? m.created : m.call_received;
  if (m.sent.empty()) {
    if (sent.empty()) sent = utc_now();
    add_finding(findings, "sent", "defaulted", "CAP requires <sent>; used " + sent);
  }
  w.leaf("sent", to_cap_time(sent, findings, "sent"));
  w.leaf("status", "Actual");
  w.leaf("msgType", m.type == MessageType::create ? "Alert" : m.type == MessageType::cancel ? "Cancel" : "Update");
  if (!m.receiving_agencies.empty()) {
    w.leaf("scope", "Private");
    std::string addresses;
    for (const auto& r : m.receiving_agencies) addresses += (addresses.empty() ? "" : " ") + r;
    w.leaf("addresses", addresses);
  } else {
    w.leaf("scope", "Restricted");
    w.leaf("restriction", "Emergency services partners of the DEIT Hub only; " + std::string(to_string(m.marking)));
  }
  w.leaf("code", std::string(kMarkingCode) + std::string(to_string(m.marking)));
  if (m.type == MessageType::close) w.leaf("code", std::string(kTypeCode) + "close");
  if (m.type == MessageType::cancel) w.optional_leaf("note", inc.cancel_reason);
  else not_carried(findings, !inc.cancel_reason.empty(), "incident/cancel_reason", kFormat, "only a Cancel alert has a note");
  w.leaf("incidents", m.sender_reference);

  not_carried(findings, !m.transfer_id.empty(), "transfer_id", kFormat);
  not_carried(findings, m.sequence != 0, "sequence", kFormat);
  not_carried(findings, !m.on_behalf_of.empty(), "on_behalf_of", kFormat, m.on_behalf_of);
  not_carried(findings, !m.shared_reference.empty(), "shared_reference", kFormat, m.shared_reference);
  not_carried(findings, m.reason != TransferReason::assistance_request, "reason", kFormat,
              std::string(to_string(m.reason)));
  not_carried(findings, !m.call_received.empty(), "call_received", kFormat);
  not_carried(findings, !m.created.empty(), "created", kFormat);

  w.open("info");
  w.leaf("language", "en-GB");
  const IncidentKind* kind = tables.kind_of(inc.type);
  w.leaf("category", kind ? kind->cap_category : "Other");
  w.leaf("event", !inc.type.text.empty() ? inc.type.text : "Incident");
  if (m.type == MessageType::close) w.leaf("responseType", "AllClear");
  const PriorityLevel* level = tables.level_of(inc.priority);
  w.leaf("urgency", level ? level->cap_urgency : "Unknown");
  w.leaf("severity", level ? level->cap_severity : "Unknown");
  w.leaf("certainty", "Observed");
  if (!inc.type.code.empty()) {
    w.open("eventCode");
    w.leaf("valueName", inc.type.scheme);
    w.leaf("value", inc.type.code);
    w.close();
  }
  for (std::size_t i = 0; i < inc.qualifiers.size(); ++i) {
    const Code& q = inc.qualifiers[i];
    w.open("eventCode");
    w.leaf("valueName", "qualifier:" + q.scheme);
    w.leaf("value", q.code);
    w.close();
    not_carried(findings, !q.text.empty(), "incident/qualifiers/" + std::to_string(i) + "/text", kFormat, q.text);
  }
  w.leaf("senderName", m.sender_agency);
  w.optional_leaf("headline", inc.type_summary);
  const Priority& p = inc.priority;
  if (p.police_grade) parameter(w, "deit:policeGrade", to_string(*p.police_grade));
  if (p.ambulance_category) parameter(w, "deit:ambulanceCategory", std::to_string(*p.ambulance_category));
  if (!p.fire_priority.empty()) parameter(w, "deit:firePriority", p.fire_priority);
  parameter(w, "deit:emergency", p.emergency ? "true" : "false");
  parameter(w, "deit:lifeRisk", p.life_risk ? "true" : "false");
  if (!inc.status.empty()) parameter(w, "deit:status", inc.status);
  for (const auto& h : inc.hazards) parameter(w, "deit:hazard:" + h.code, h.description);
  if (inc.outcome) {
    parameter(w, "deit:outcomeCode", inc.outcome->code);
    parameter(w, "deit:outcomeText", inc.outcome->text);
  }

  const Location& l = inc.location;
  w.open("area");
  w.leaf("areaDesc", l.text.empty() ? kNoArea : std::string_view(l.text));
  if (l.latitude && l.longitude) {
    const double radius_km = l.uncertainty_m ? *l.uncertainty_m / 1000.0 : 0.0;
    w.leaf("circle", format_double(*l.latitude) + "," + format_double(*l.longitude) + " " + format_double(radius_km));
  } else {
    not_carried(findings, l.latitude.has_value() || l.longitude.has_value(), "incident/location/latitude", kFormat,
                "CAP needs both latitude and longitude");
  }
  not_carried(findings, l.uncertainty_m && !(l.latitude && l.longitude), "incident/location/uncertainty_m", kFormat);
  auto geocode = [&](std::string_view name, const std::string& value) {
    w.open("geocode");
    w.leaf("valueName", name);
    w.leaf("value", value);
    w.close();
  };
  if (l.uprn) geocode("UPRN", std::to_string(*l.uprn));
  if (l.usrn) geocode("USRN", std::to_string(*l.usrn));
  if (!l.address.postcode.empty()) geocode("postcode", l.address.postcode);
  if (l.easting && l.northing) {
    geocode("BNG", format_double(*l.easting) + " " + format_double(*l.northing));
  } else {
    not_carried(findings, l.easting || l.northing, "incident/location/easting", kFormat, "CAP needs both");
  }
  w.close();
  w.close();
  w.close();
  out += '\n';

  const auto& a = l.address;
  not_carried(findings, !(a.sao.empty() && a.pao.empty() && a.street.empty() && a.locality.empty() && a.town.empty() &&
                          a.administrative_area.empty()),
              "incident/location/address", kFormat, "only the postcode and the free-text description travel");
  not_carried(findings, l.source.has_value(), "incident/location/source", kFormat);
  auto withheld = [&](bool present, std::string field, std::string what) {
    if (present)
      add_finding(findings, std::move(field), "withheld", what + " is not published in a CAP alert (personal data)");
  };
  withheld(inc.caller.has_value(), "incident/caller", "the caller");
  withheld(!inc.persons.empty(), "incident/persons", std::to_string(inc.persons.size()) + " person(s)");
  withheld(!inc.vehicles.empty(), "incident/vehicles", std::to_string(inc.vehicles.size()) + " vehicle(s)");
  withheld(!inc.log.empty(), "incident/log", std::to_string(inc.log.size()) + " log entries");
  not_carried(findings, !inc.resources_requested.empty(), "incident/resources_requested", kFormat);
  return out;
}

// ---- decode ----

Result<Decoded> read_alert(const xml::Element& root) {
  Decoded out;
  IncidentMessage& m = out.message;
  auto& findings = out.findings;
  Incident& inc = m.incident;
  auto note = [&](std::string field, std::string message) {
    add_finding(findings, "alert/" + field, "not-carried", std::move(message));
  };

  // CAP 1.2 says an identifier has no spaces; the schema does not check it, and every other
  // format needs it.
  for (const char* name : {"identifier", "incidents"}) {
    const xml::Element* e = root.child(name);
    if (e && !is_identifier(e->text))
      return error_at(*e, std::string("alert/") + name, "type",
                      "'" + e->text + "' is not an identifier (1-128 characters, no white space)");
  }
  m.message_id = std::string(root.child_text("identifier"));
  // A CAP sender is an address ("hsas@dhs.gov"); the hub's formats need an agency id. The hub
  // replaces it with the authenticated agency anyway, so keep a recognisable id and say so.
  const std::string sender(root.child_text("sender"));
  m.sender_agency = agency_id_from(sender);
  if (m.sender_agency != sender)
    add_finding(findings, "alert/sender", "converted", "CAP sender '" + sender + "' recorded as agency id '" + m.sender_agency + "'");
  m.sent = from_cap_time(root.child_text("sent"));
  const std::string_view msg_type = root.child_text("msgType");
  if (msg_type == "Ack" || msg_type == "Error") {
    return error_at(*root.child("msgType"), "alert/msgType", "not-an-incident",
                    "a CAP " + std::string(msg_type) + " message acknowledges an alert; it is not an incident");
  }
  m.type = msg_type == "Alert" ? MessageType::create : msg_type == "Cancel" ? MessageType::cancel : MessageType::update;
  if (const std::string_view status = root.child_text("status"); status != "Actual")
    note("status", "status " + std::string(status) + ": the canonical model has no status, so it must not be treated as live");
  m.marking = ProtectiveMarking::official;
  for (const auto* c : root.children_named("code")) {
    const std::string_view code = c->text;
    if (code.starts_with(kMarkingCode)) {
      if (auto marking = parse_protective_marking(code.substr(kMarkingCode.size()))) m.marking = *marking;
    } else if (code == std::string(kTypeCode) + "close") {
      m.type = MessageType::close;
    } else {
      note("code", "handling code '" + std::string(code) + "'");
    }
  }
  const std::string_view scope = root.child_text("scope");
  if (const auto* a = root.child("addresses")) {
    DEIT_ASSIGN_OR_RETURN(receivers, read_addresses(*a));
    m.receiving_agencies = std::move(receivers);
  }
  if (const auto* r = root.child("restriction"); r && !r->text.starts_with("Emergency services partners of the DEIT Hub"))
    note("restriction", "restriction '" + r->text + "' (scope " + std::string(scope) + ")");
  if (const auto* n = root.child("note")) {
    if (m.type == MessageType::cancel) inc.cancel_reason = n->text;
    else note("note", "note '" + n->text + "'");
  }
  for (const char* name : {"source", "references"})
    if (const auto* e = root.child(name)) note(name, std::string(name) + " '" + e->text + "'");
  m.sender_reference = std::string(root.child_text("incidents"));
  if (m.sender_reference.empty()) m.sender_reference = m.message_id;

  const auto infos = root.children_named("info");
  for (std::size_t i = 1; i < infos.size(); ++i)
    note("info", "a further <info> block (language " + std::string(infos[i]->child_text("language")) + ", event '" +
                     std::string(infos[i]->child_text("event")) + "')");
  if (infos.empty()) return out;
  const xml::Element& info = *infos[0];

  const auto codes = info.children_named("eventCode");
  const std::string event(info.child_text("event"));
  bool typed = false;
  for (const auto* ec : codes) {
    const std::string_view name = ec->child_text("valueName");
    if (name.starts_with("qualifier:")) {
      inc.qualifiers.push_back(Code{std::string(name.substr(10)), std::string(ec->child_text("value")), ""});
    } else if (!typed) {
      inc.type = Code{std::string(name), std::string(ec->child_text("value")), event};
      typed = true;
    } else {
      inc.qualifiers.push_back(Code{std::string(name), std::string(ec->child_text("value")), ""});
    }
  }
  // Without an event code the event text is the only classification; "Incident" is what
  // this adapter writes when it had none.
  if (!typed && event != "Incident") inc.type = Code{"cap-event", event, event};
  inc.type_summary = std::string(info.child_text("headline"));
  for (const char* name : {"audience", "effective", "onset", "expires", "web", "contact"})
    if (const auto* e = info.child(name)) note(std::string("info/") + name, std::string(name) + " '" + e->text + "'");
  for (const auto* rt : info.children_named("responseType"))
    if (!(rt->text == "AllClear" && m.type == MessageType::close)) note("info/responseType", "response type " + rt->text);
  const std::string sender_name(info.child_text("senderName"));
  if (const auto* d = info.child("description"))
    inc.log.push_back(LogEntry{m.sent, sender_name, d->text, false});
  if (const auto* d = info.child("instruction"))
    inc.log.push_back(LogEntry{m.sent, sender_name, "Instruction: " + d->text, false});
  for (const auto* r : info.children_named("resource"))
    note("info/resource", "resource '" + std::string(r->child_text("resourceDesc")) + "' " + std::string(r->child_text("uri")));

  bool priority_given = false;
  for (const auto* pe : info.children_named("parameter")) {
    const std::string_view name = pe->child_text("valueName");
    const std::string value(pe->child_text("value"));
    const std::string field = "alert/info/parameter[valueName='" + std::string(name) + "']";
    if (name == "deit:policeGrade") {
      inc.priority.police_grade = parse_police_grade(value);
      if (!inc.priority.police_grade) return error_at(*pe, field, "enumeration", "'" + value + "' is not a police grade");
      priority_given = true;
    } else if (name == "deit:ambulanceCategory") {
      int cat = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), cat);
      if (ec != std::errc() || end != value.data() + value.size() || cat < 1 || cat > 4)
        return error_at(*pe, field, "range", "'" + value + "' is not a category 1 to 4");
      inc.priority.ambulance_category = cat;
      priority_given = true;
    } else if (name == "deit:firePriority") {
      inc.priority.fire_priority = value;
      priority_given = true;
    } else if (name == "deit:emergency") {
      inc.priority.emergency = read_bool(value);
      priority_given = true;
    } else if (name == "deit:lifeRisk") {
      inc.priority.life_risk = read_bool(value);
    } else if (name == "deit:status") {
      inc.status = value;
    } else if (name.starts_with("deit:hazard:")) {
      inc.hazards.push_back(Hazard{std::string(name.substr(12)), value});
    } else if (name == "deit:outcomeCode") {
      if (!inc.outcome) inc.outcome = Outcome{};
      inc.outcome->code = value;
    } else if (name == "deit:outcomeText") {
      if (!inc.outcome) inc.outcome = Outcome{};
      inc.outcome->text = value;
    } else {
      note("info/parameter", "parameter " + std::string(name) + " = '" + value + "'");
    }
  }
  if (!priority_given) {
    // A foreign alert: only "Immediate" says emergency; the rest is reported.
    inc.priority.emergency = info.child_text("urgency") == "Immediate";
    note("info/urgency", "urgency " + std::string(info.child_text("urgency")) + ", severity " +
                             std::string(info.child_text("severity")) + ", certainty " +
                             std::string(info.child_text("certainty")) + " (kept only as the emergency flag)");
  }

  const auto areas = info.children_named("area");
  for (std::size_t i = 1; i < areas.size(); ++i)
    note("info/area", "a further area '" + std::string(areas[i]->child_text("areaDesc")) + "'");
  if (areas.empty()) return out;
  const xml::Element& area = *areas[0];
  Location& l = inc.location;
  if (const std::string_view desc = area.child_text("areaDesc"); desc != kNoArea) l.text = std::string(desc);
  const auto circles = area.children_named("circle");
  if (!circles.empty()) {
    // "lat,lon radius_km"
    const std::string& c = circles[0]->text;
    const auto comma = c.find(',');
    const auto space = comma == std::string::npos ? std::string::npos : c.find(' ', comma);
    double lat = 0, lon = 0, radius = 0;
    bool ok = space != std::string::npos;
    if (ok) {
      const std::string_view text(c);
      auto a = parse_double(text.substr(0, comma));
      auto b = parse_double(text.substr(comma + 1, space - comma - 1));
      auto r = parse_double(text.substr(space + 1));
      ok = a && b && r;
      if (ok) {
        lat = *a;
        lon = *b;
        radius = *r;
      }
    }
    // 10,000 km: no uncertainty is larger, and the other formats' metres stop there.
    if (!ok || lat < -90 || lat > 90 || lon < -180 || lon > 180 || radius < 0 || radius > 10000)
      return error_at(*circles[0], "alert/info/area/circle", "format", "'" + c + "' is not \"latitude,longitude radius\"");
    l.latitude = lat;
    l.longitude = lon;
    // Radius in km to metres, kept to the micrometre so that metres round-trip exactly.
    if (radius > 0) l.uncertainty_m = std::round(radius * 1000.0 * 1e6) / 1e6;
    for (std::size_t i = 1; i < circles.size(); ++i) note("info/area/circle", "a further circle '" + circles[i]->text + "'");
  }
  for (const auto* p : area.children_named("polygon")) note("info/area/polygon", "polygon '" + p->text + "'");
  for (const auto* g : area.children_named("geocode")) {
    const std::string_view name = g->child_text("valueName");
    const std::string value(g->child_text("value"));
    const std::string field = "alert/info/area/geocode[valueName='" + std::string(name) + "']";
    if (name == "UPRN" || name == "USRN") {
      std::uint64_t v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || end != value.data() + value.size())
        return error_at(*g, field, "type", "'" + value + "' is not an unsigned integer");
      (name == "UPRN" ? l.uprn : l.usrn) = v;
    } else if (name == "postcode") {
      l.address.postcode = value;
    } else if (name == "BNG") {
      const auto space = value.find(' ');
      auto e = parse_double(std::string_view(value).substr(0, space));
      auto n = space == std::string::npos ? std::nullopt : parse_double(std::string_view(value).substr(space + 1));
      if (!e || !n) return error_at(*g, field, "format", "'" + value + "' is not \"easting northing\"");
      l.easting = e;
      l.northing = n;
    } else {
      note("info/area/geocode", "geocode " + std::string(name) + " = '" + value + "'");
    }
  }
  for (const char* name : {"altitude", "ceiling"})
    if (const auto* e = area.child(name)) note(std::string("info/area/") + name, std::string(name) + " " + e->text);
  return out;
}

}  // namespace

Result<std::shared_ptr<const Adapter>> make_cap_adapter(std::shared_ptr<MappingStore> mappings) {
  // The official OASIS schema is not kept in this repository; the build embeds it from
  // shared/corpus/cap when that is present (schemas/CMakeLists.txt).
  if (schemas::embedded("cap-1.2.xsd").empty())
    return Error::make("schema-missing", "the OASIS CAP 1.2 schema was not available at build time", "cap-1.2.xsd");
  auto schemas = xml::SchemaSet::load({{std::string(kCapNamespace), "cap-1.2.xsd", schemas::embedded("cap-1.2.xsd")}});
  if (!schemas) return schemas.error();
  return std::shared_ptr<const Adapter>(std::make_shared<XmlFormatAdapter>(
      kFormat, "application/cap+xml", std::move(schemas).value(), std::move(mappings),
      [](const xml::Element& root, const MappingTables&) { return read_alert(root); }, &encode_cap));
}

}  // namespace deit::adapters
