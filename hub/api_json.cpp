#include "hub/api_json.hpp"

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
