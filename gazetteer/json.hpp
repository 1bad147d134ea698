#pragma once
// The JSON shapes of gazetteer results, shared by `deitctl gazetteer --json` and the hub's
// /v1/gazetteer API so both speak the same fields.

#include <boost/json.hpp>

#include "gazetteer/gazetteer.hpp"
#include "gazetteer/model.hpp"
#include "gazetteer/responsibility.hpp"

namespace deit::gazetteer {

boost::json::object address_json(const Address& address);
// address_json plus "confidence" (3 decimals) and "explanation".
boost::json::object candidate_json(const Candidate& candidate);
boost::json::object coverage_json(const Coverage& coverage);
// What a snapshot holds: `deitctl gazetteer info --json`, the hub's health and its reloads.
boost::json::object info_json(const SnapshotInfo& info);

}  // namespace deit::gazetteer
