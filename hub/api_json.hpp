#pragma once
// The JSON shapes of the HTTP API, in one place so the server, deitctl and the tests agree.

#include <boost/json.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

#include "hub/store.hpp"

namespace deit::hub {

boost::json::object transfer_json(const TransferRecord& t);
boost::json::array history_json(const std::vector<EventRecord>& events);
// {"delivery":seq,"transfer":..,"message":..,"kind":..,"contentType":..,"queuedAt":..,"body":..}
boost::json::object delivery_json(const Delivery& d);
// Parses {"ack":[1,2]} or {"deliveries":[1,2]} into sequence numbers.
Result<std::vector<std::uint64_t>> parse_ack(std::string_view body);

}  // namespace deit::hub
