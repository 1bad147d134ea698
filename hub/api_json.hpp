#pragma once
// The JSON shapes of the HTTP API, in one place so the server, deitctl and the tests agree.

#include <boost/json.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

#include "buddy/buddy.hpp"
#include "hub/hub.hpp"
#include "hub/store.hpp"

namespace deit::hub {

boost::json::object transfer_json(const TransferRecord& t);
boost::json::array history_json(const std::vector<EventRecord>& events);
// {"delivery":seq,"transfer":..,"message":..,"kind":..,"contentType":..,"queuedAt":..,"body":..}
boost::json::object delivery_json(const Delivery& d);
boost::json::object invocation_json(const buddy::Invocation& inv);
boost::json::object arrangement_json(const buddy::Arrangement& a);
boost::json::object suggestion_json(const buddy::Suggestion& s);
// What a configuration reload changed: {"generation":N,"added":[..],"removed":[..],
// "changed":[..],"settings":[..],"restart_required":[..]} (the answer and the audit detail).
boost::json::object config_reload_json(const Hub::ConfigReload& r);
// The reconciliation report; with_transfers=false gives the counts only.
boost::json::object report_json(const InvocationReport& r, bool with_transfers);
// {"home":..,"buddy":..,"trigger":..,"calls":..,"incidents":..,"types":[..],"mode":..,
//  "authorisedBy":..,"chaReference":..,"note":..}; errors name the field.
Result<buddy::InvocationRequest> parse_invocation_request(std::string_view body);
// A JSON object body; errors carry line and column.
Result<boost::json::object> parse_json_object(std::string_view body);

// Parses {"ack":[1,2]} or {"deliveries":[1,2]} into sequence numbers.
Result<std::vector<std::uint64_t>> parse_ack(std::string_view body);

}  // namespace deit::hub
