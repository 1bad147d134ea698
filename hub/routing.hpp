#pragma once
// Who receives an incident: named agencies, "the service responsible for this location"
// (from the gazetteer), misrouted calls, and buddy arrangements. Pure: the caller supplies
// the configuration, the gazetteer's coverage and the buddy board.
//
// Receiver words, besides agency ids:
//   responsible-police | responsible-fire | responsible-ambulance
// No receivers at all means "responsible-<the sender's own service>": the call reached the
// wrong control room and goes, as a misrouted transfer, to the one covering the location.

#include <functional>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "buddy/buddy.hpp"
#include "gazetteer/responsibility.hpp"
#include "hub/config.hpp"
#include "hub/model/incident.hpp"

namespace deit::hub {

struct RouteTarget {
  std::string receiver;
  model::TransferReason reason = model::TransferReason::assistance_request;
  std::string on_behalf_of;  // the home agency when a buddy is involved
  std::string invocation;    // the buddy invocation this transfer belongs to
  int lane = 0;              // 0 routine; 1 pass-back; 2 pass-back with life risk (delivered first)
  bool held = false;         // kept until the invocation stands down (buddy dispatching for home)
  std::vector<adapters::Finding> findings;  // how the receiver was chosen
};

struct RoutingInput {
  const Config* config = nullptr;
  const Agency* sender = nullptr;
  const model::IncidentMessage* message = nullptr;
  const gazetteer::Coverage* coverage = nullptr;  // nullptr: no gazetteer or no location
  bool location_verified = false;
  const buddy::Board* board = nullptr;
  // Agencies the hub considers unavailable (for choosing a secondary buddy).
  std::function<bool(const std::string&)> unavailable;
};

// The transfers to create, one per distinct receiver. Errors name the receiver element.
Result<std::vector<RouteTarget>> route(const RoutingInput& input);

buddy::IncidentFacts incident_facts(const model::IncidentMessage& message);

}  // namespace deit::hub
