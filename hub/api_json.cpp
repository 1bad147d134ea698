#include "hub/api_json.hpp"

#include <set>

#include "schemas/xml.hpp"

namespace deit::hub {

namespace json = boost::json;

json::object transfer_json(const TransferRecord& t) {
  json::object times;
  auto put = [&](const char* name, std::int64_t ms) {
    if (ms > 0) times[name] = format_time_ms(ms);
  };
  put("received", t.received_at);
  put("validated", t.validated_at);
  put("stored", t.stored_at);
  put("delivered", t.delivered_at);
  put("accepted", t.accepted_at);
  put("rejected", t.rejected_at);
  put("closed", t.closed_at);
  put("cancelled", t.cancelled_at);
  put("overdue", t.overdue_at);
  json::object o{{"id", t.id},
                 {"sender", t.sender},
                 {"receiver", t.receiver},
                 {"senderReference", t.sender_reference},
                 {"reason", t.reason},
                 {"state", t.state},
                 {"grade", t.grade},
                 {"emergency", t.emergency},
                 {"lifeRisk", t.life_risk},
                 {"lastSequence", t.last_sequence},
                 {"times", std::move(times)}};
  if (!t.shared_reference.empty()) o["sharedReference"] = t.shared_reference;
  if (!t.on_behalf_of.empty()) o["onBehalfOf"] = t.on_behalf_of;
  if (!t.invocation.empty()) o["invocation"] = t.invocation;
  // Doctrine: the sender owns the incident until the receiver accepts it.
  o["owner"] = t.accepted_at ? t.receiver : t.sender;
  if (!t.receiver_grade.empty()) o["receiverGrade"] = {{"grade", t.receiver_grade}, {"rationale", t.grade_rationale}};

  if (t.accepted_at || t.rejected_at) o["decision"] = {{"reason", t.decision_reason}, {"by", t.decided_by}};
  boost::system::error_code ec;
  json::value findings = json::parse(t.findings_json, ec);
  o["findings"] = ec ? json::value(json::array()) : findings;
  json::value location = json::parse(t.location_json, ec);
  if (!ec && location.is_object() && !location.as_object().empty()) o["location"] = location;
  return o;
}

json::array history_json(const std::vector<EventRecord>& events) {
  json::array a;
  for (const auto& e : events) {
    json::object o{{"at", format_time_ms(e.at)}, {"event", e.event}, {"actor", e.actor}};
    if (!e.message_id.empty()) o["message"] = e.message_id;
    if (!e.detail.empty()) o["detail"] = e.detail;
    a.push_back(std::move(o));
  }
  return a;
}

json::object delivery_json(const Delivery& d) {
  return {{"delivery", d.seq},        {"agency", d.agency},
          {"transfer", d.transfer_id}, {"message", d.message_id},
          {"kind", d.kind},           {"contentType", d.content_type},
          {"queuedAt", format_time_ms(d.queued_at)}, {"attempts", d.attempts},
          {"body", d.payload ? *d.payload : std::string()}};
}

json::object invocation_json(const buddy::Invocation& inv) {
  json::array types;
  for (const auto& t : inv.scope.types) types.push_back(json::string(t));
  json::object o{{"id", inv.id},
                 {"home", inv.home},
                 {"buddy", inv.buddy},
                 {"trigger", buddy::to_string(inv.trigger)},
                 {"calls", buddy::to_string(inv.scope.calls)},
                 {"incidents", buddy::to_string(inv.scope.incidents)},
                 {"mode", buddy::to_string(inv.mode)},
                 {"authorisedBy", inv.authorised_by},
                 {"authorisedVia", inv.authorised_via},
                 {"startedAt", format_time_ms(inv.started_at)},
                 {"active", inv.active()}};
  if (!inv.secondary.empty()) o["secondary"] = inv.secondary;
  if (!types.empty()) o["types"] = std::move(types);
  if (!inv.cha_reference.empty()) o["chaReference"] = inv.cha_reference;
  if (!inv.note.empty()) o["note"] = inv.note;
  if (inv.ended_at) {
    o["endedAt"] = format_time_ms(inv.ended_at);
    o["stoodDownBy"] = inv.stood_down_by;
    o["standDownReason"] = inv.stand_down_reason;
  }
  return o;
}

json::object arrangement_json(const buddy::Arrangement& a) {
  json::object o{{"home", a.home},
                 {"primary", a.primary},
                 {"calls", buddy::to_string(a.scope.calls)},
                 {"incidents", buddy::to_string(a.scope.incidents)},
                 {"mode", buddy::to_string(a.mode)},
                 {"fallbackOnDeadline", a.fallback_on_deadline},
                 {"autoInvoke", a.auto_invoke}};
  if (!a.secondary.empty()) o["secondary"] = a.secondary;
  return o;
}

json::object config_reload_json(const Hub::ConfigReload& r) {
  auto names = [](const std::vector<std::string>& list) {
    json::array a;
    for (const auto& name : list) a.emplace_back(name);
    return a;
  };
  const ConfigChanges& c = r.changes;
  return {{"generation", r.generation},  {"added", names(c.added)},       {"removed", names(c.removed)},
          {"changed", names(c.changed)}, {"settings", names(c.settings)}, {"restart_required", names(c.restart_required)}};
}

json::object suggestion_json(const buddy::Suggestion& s) {
  return {{"home", s.home}, {"buddy", s.buddy}, {"reason", s.reason}, {"autoInvoke", s.auto_invoke}};
}

json::object report_json(const InvocationReport& r, bool with_transfers) {
  auto list = [](const std::vector<TransferRecord>& ts) {
    json::array a;
    for (const auto& t : ts)
      a.push_back({{"id", t.id},
                   {"sender", t.sender},
                   {"receiver", t.receiver},
                   {"senderReference", t.sender_reference},
                   {"state", t.state},
                   {"grade", t.grade},
                   {"lifeRisk", t.life_risk},
                   {"accepted", t.accepted_at != 0}});
    return a;
  };
  json::object o{{"invocation", invocation_json(r.invocation)},
                 {"counts",
                  {{"received", r.received.size()},
                   {"created", r.created.size()},
                   {"returned", r.returned.size()},
                   {"accepted", r.accepted},
                   {"outstanding", r.outstanding}}},
                 {"complete", !r.invocation.active() && r.outstanding == 0}};
  if (with_transfers) {
    o["received"] = list(r.received);
    o["created"] = list(r.created);
    o["returned"] = list(r.returned);
  }
  return o;
}

Result<json::object> parse_json_object(std::string_view body) {
  boost::system::error_code ec;
  json::stream_parser p;
  const std::size_t consumed = p.write_some(body.data(), body.size(), ec);
  if (!ec) p.finish(ec);
  if (ec || !p.done()) {
    auto [line, column] = xml::line_column_at(body, consumed);
    Error e = Error::make("bad-request", "body is not JSON: " + (ec ? ec.message() : std::string("incomplete")), "body");
    e.line = line;
    e.column = column;
    return e;
  }
  json::value v = p.release();
  if (!v.is_object()) return Error::make("bad-request", "body must be a JSON object", "body");
  return std::move(v.as_object());
}

Result<buddy::InvocationRequest> parse_invocation_request(std::string_view body) {
  auto parsed = parse_json_object(body);
  if (!parsed) return parsed.error();
  const json::object& o = *parsed;
  static const std::set<std::string_view> known{"home",    "buddy", "trigger", "calls", "incidents", "types",
                                                "mode",    "authorisedBy", "chaReference", "note"};
  for (const auto& kv : o)
    if (!known.count(kv.key())) return Error::make("bad-request", "unknown field", std::string(kv.key()));
  auto text = [&](const char* key, std::string& out) -> Status {
    if (auto* v = o.if_contains(key)) {
      if (!v->is_string()) return Error::make("bad-request", "must be a string", key);
      out = std::string(v->as_string());
    }
    return Status::success();
  };
  buddy::InvocationRequest r;
  std::string trigger, calls, incidents, mode;
  for (auto [key, out] : {std::pair{"home", &r.home}, {"buddy", &r.buddy}, {"trigger", &trigger}, {"calls", &calls},
                          {"incidents", &incidents}, {"mode", &mode}, {"authorisedBy", &r.authorised_by},
                          {"chaReference", &r.cha_reference}, {"note", &r.note}})
    if (auto s = text(key, *out); !s) return s.error();
  if (r.home.empty()) return Error::make("required", "name the home agency", "home");
  if (!trigger.empty()) {
    r.trigger = buddy::parse_trigger(trigger);
    if (!r.trigger) return Error::make("enumeration", "'" + trigger + "' is not one of " + buddy::trigger_words(), "trigger");
  }
  if (!mode.empty()) {
    r.mode = buddy::parse_mode(mode);
    if (!r.mode) return Error::make("enumeration", "'" + mode + "' is not one of dispatch-on-behalf, pass-back", "mode");
  }
  if (!calls.empty() || !incidents.empty() || o.contains("types")) {
    buddy::Scope scope;
    if (!calls.empty()) {
      auto c = buddy::parse_call_scope(calls);
      if (!c) return Error::make("enumeration", "'" + calls + "' is not one of overflow, all-calls", "calls");
      scope.calls = *c;
    }
    if (!incidents.empty()) {
      auto i = buddy::parse_incident_scope(incidents);
      if (!i) return Error::make("enumeration", "'" + incidents + "' is not one of all, emergency-only, listed-types", "incidents");
      scope.incidents = *i;
    }
    if (auto* types = o.if_contains("types")) {
      if (!types->is_array()) return Error::make("bad-request", "must be an array of incident type codes", "types");
      for (std::size_t i = 0; i < types->as_array().size(); ++i) {
        const auto& t = types->as_array()[i];
        if (!t.is_string()) return Error::make("bad-request", "must be a string", "types[" + std::to_string(i) + "]");
        scope.types.emplace_back(t.as_string());
      }
      if (incidents.empty()) scope.incidents = buddy::IncidentScope::listed_types;
    }
    r.scope = scope;
  }
  return r;
}

Result<std::vector<std::uint64_t>> parse_ack(std::string_view body) {
  boost::system::error_code ec;
  json::parse_options opts;
  json::stream_parser p({}, opts);
  const std::size_t consumed = p.write_some(body.data(), body.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    auto [line, column] = xml::line_column_at(body, consumed);
    Error e = Error::make("bad-request", "acknowledgement is not JSON: " + ec.message(), "body");
    e.line = line;
    e.column = column;
    return e;
  }
  json::value v = p.release();
  const json::array* list = nullptr;
  if (v.is_object()) {
    if (auto* a = v.as_object().if_contains("ack"); a && a->is_array()) list = &a->as_array();
    if (auto* a = v.as_object().if_contains("deliveries"); a && a->is_array()) list = &a->as_array();
  }
  if (!list) return Error::make("bad-request", "expected {\"ack\": [delivery numbers]}", "ack");
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& x = (*list)[i];
    if (x.is_uint64()) {
      out.push_back(x.as_uint64());
    } else if (x.is_int64() && x.as_int64() >= 0) {
      out.push_back(static_cast<std::uint64_t>(x.as_int64()));
    } else {
      return Error::make("bad-request", "must be a delivery number", "ack[" + std::to_string(i) + "]");
    }
  }
  return out;
}

}  // namespace deit::hub
