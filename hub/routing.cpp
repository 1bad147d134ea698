#include "hub/routing.hpp"

#include <algorithm>
#include <optional>

namespace deit::hub {

namespace {

constexpr std::string_view kResponsible = "responsible-";

std::optional<model::AgencyKind> responsible_kind(std::string_view receiver) {
  if (!receiver.starts_with(kResponsible)) return std::nullopt;
  return model::parse_agency_kind(receiver.substr(kResponsible.size()));
}

std::string service_words(model::AgencyKind k) {
  switch (k) {
    case model::AgencyKind::police: return "police force";
    case model::AgencyKind::fire: return "fire and rescue service";
    case model::AgencyKind::ambulance: return "ambulance service";
  }
  return "service";
}

const std::vector<gazetteer::AgencyArea>& areas_of(const gazetteer::Coverage& c, model::AgencyKind k) {
  switch (k) {
    case model::AgencyKind::police: return c.police;
    case model::AgencyKind::fire: return c.fire;
    case model::AgencyKind::ambulance: return c.ambulance;
  }
  return c.police;
}

// The agency covering the location: the area the point lies inside, else the first listed.
Result<std::string> responsible_for(const RoutingInput& in, model::AgencyKind kind, const std::string& field,
                                    std::vector<adapters::Finding>& findings) {
  if (!in.coverage || in.coverage->empty())
    return Error::make("routing",
                       "cannot tell which " + service_words(kind) +
                           " covers this location (no gazetteer match or coordinates); name the receiver",
                       field);
  const auto& areas = areas_of(*in.coverage, kind);
  if (areas.empty())
    return Error::make("routing", "the gazetteer knows no " + service_words(kind) + " for this location; name the receiver",
                       field);
  auto chosen = std::find_if(areas.begin(), areas.end(), [](const auto& a) { return a.inside; });
  if (chosen == areas.end()) chosen = areas.begin();
  if (!in.config->find_agency(chosen->agency_id))
    return Error::make("routing",
                       chosen->agency_id + " covers this location but is not connected to this hub; use its " +
                           "other channels (telephone) and name a receiver here only if it can take it",
                       field);
  std::string note = std::string(kResponsible) + std::string(model::to_string(kind)) + " is " + chosen->agency_id + " (" +
                     (chosen->basis.empty() ? "gazetteer" : chosen->basis) + ")";
  if (areas.size() > 1) {
    note += "; near the boundary with";
    for (const auto& a : areas)
      if (a.agency_id != chosen->agency_id) note += " " + a.agency_id;
  }
  if (!in.location_verified) note += "; CAUTION: the location is not verified";
  findings.push_back({"incidentMessage/receivers", "routed-by-location", note});
  return chosen->agency_id;
}

}  // namespace

buddy::IncidentFacts incident_facts(const model::IncidentMessage& m) {
  return buddy::IncidentFacts{m.incident.priority.emergency, m.incident.priority.life_risk, m.incident.type.code};
}

Result<std::vector<RouteTarget>> route(const RoutingInput& in) {
  const model::IncidentMessage& m = *in.message;
  const Agency& sender = *in.sender;
  const buddy::IncidentFacts facts = incident_facts(m);

  // A buddy acting for the home agency: allowed only under an active invocation.
  std::optional<buddy::PassBack> pass_back;
  if (!m.on_behalf_of.empty() && m.on_behalf_of != sender.id) {
    if (!in.config->find_agency(m.on_behalf_of))
      return Error::make("unknown-agency", "'" + m.on_behalf_of + "' is not a known agency", "incidentMessage/onBehalfOf");
    auto pb = in.board->pass_back(sender.id, m.on_behalf_of);
    if (!pb) return pb.error();
    pass_back = *pb;
  }

  std::vector<std::string> asked = m.receiving_agencies;
  const bool implicit = asked.empty();
  if (implicit) asked.push_back(pass_back ? m.on_behalf_of : std::string(kResponsible) + std::string(model::to_string(sender.kind)));

  std::vector<RouteTarget> targets;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const std::string field =
        implicit ? "incidentMessage/receivers" : "incidentMessage/receivers/receiver[" + std::to_string(i + 1) + "]";
    RouteTarget t;
    t.reason = m.reason;
    if (auto kind = responsible_kind(asked[i])) {
      auto who = responsible_for(in, *kind, field, t.findings);
      if (!who) return who.error();
      t.receiver = std::move(who).value();
      if (t.receiver == sender.id) {
        if (implicit)
          return Error::make("routing",
                             "the location is in " + sender.id + "'s own area, so there is nobody to transfer it to; "
                             "name a receiver",
                             field);
        continue;  // "the responsible police force" is the sender itself: nothing to send
      }
      if (*kind == sender.kind) {
        // The call reached the wrong control room: the covering one owns it once it accepts.
        t.reason = model::TransferReason::misrouted;
        t.findings.push_back({"incidentMessage/reason", "misrouted",
                              "the location is outside " + sender.id + "'s area: a misrouted transfer to " + t.receiver});
      }
    } else if (asked[i].starts_with(kResponsible)) {
      return Error::make("unknown-agency",
                         "'" + asked[i] + "' is not one of responsible-police, responsible-fire, responsible-ambulance",
                         field);
    } else {
      if (!in.config->find_agency(asked[i]))
        return Error::make("unknown-agency", "'" + asked[i] + "' is not a known agency", field);
      if (asked[i] == sender.id) return Error::make("routing", "an agency cannot transfer an incident to itself", field);
      t.receiver = asked[i];
    }

    if (pass_back) {
      t.on_behalf_of = m.on_behalf_of;
      t.invocation = pass_back->invocation;
      if (t.receiver == m.on_behalf_of) {
        if (pass_back->mode == buddy::Mode::pass_back) {
          // The home agency dispatches: what the buddy logged reaches it at once, life risk first.
          t.lane = facts.life_risk ? 2 : 1;
          t.findings.push_back({"incidentMessage/onBehalfOf", "passed-back",
                                "logged by " + sender.id + " for " + m.on_behalf_of + " under " + t.invocation +
                                    (facts.life_risk ? "; life risk: priority lane" : "; priority lane")});
        } else {
          // The buddy dispatches: the incident goes home when the invocation stands down.
          t.held = true;
          t.findings.push_back({"incidentMessage/onBehalfOf", "held-for-transfer-back",
                                "run by " + sender.id + " for " + m.on_behalf_of + " under " + t.invocation +
                                    "; returned to " + m.on_behalf_of + " at stand-down"});
        }
      }
    } else if (auto redirect = in.board->redirect(t.receiver, facts, in.unavailable);
               redirect && redirect->to != sender.id) {
      t.findings.push_back({"incidentMessage/receivers", "buddy-redirect",
                            t.receiver + " is invoked (" + redirect->invocation + "): delivered to " + redirect->to +
                                (redirect->secondary ? " (secondary buddy)" : "") + " on its behalf"});
      t.on_behalf_of = t.receiver;
      t.receiver = redirect->to;
      t.invocation = redirect->invocation;
      t.reason = model::TransferReason::buddy_overflow;
    }

    auto same = std::find_if(targets.begin(), targets.end(), [&](const RouteTarget& o) { return o.receiver == t.receiver; });
    if (same == targets.end()) {
      targets.push_back(std::move(t));
    } else {
      same->findings.push_back({"incidentMessage/receivers", "receiver-repeated",
                                asked[i] + " is also " + t.receiver + ": one transfer"});
    }
  }
  if (targets.empty())
    return Error::make("routing", "no receiver left after routing (every one resolved to the sender)",
                       "incidentMessage/receivers");
  return targets;
}

}  // namespace deit::hub
