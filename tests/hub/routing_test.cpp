// Routing: named receivers, the service responsible for a location, misrouted calls,
// fan-out, and transfers redirected or passed back under a buddy invocation.

#include "hub/routing.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace deit;
using namespace deit::hub;

namespace {

Config three_forces() {
  Config c;
  auto add = [&](const std::string& id, model::AgencyKind kind) {
    Agency a;
    a.id = id;
    a.kind = kind;
    c.agencies.push_back(a);
  };
  add("herts-police", model::AgencyKind::police);
  add("beds-police", model::AgencyKind::police);
  add("tvp", model::AgencyKind::police);
  add("herts-fire", model::AgencyKind::fire);
  add("eoe-ambulance", model::AgencyKind::ambulance);
  return c;
}

gazetteer::Coverage in_bedfordshire() {
  gazetteer::Coverage c;
  c.police.push_back({"beds-police", "Bedfordshire", "boundary", true, 800});
  c.police.push_back({"herts-police", "Hertfordshire", "boundary", false, 800});
  c.fire.push_back({"beds-fire", "Bedfordshire", "boundary", true, -1});
  c.ambulance.push_back({"eoe-ambulance", "East of England", "boundary", true, -1});
  return c;
}

gazetteer::Coverage in_hertfordshire() {
  gazetteer::Coverage c;
  c.police.push_back({"herts-police", "Hertfordshire", "custodian 1930 ST ALBANS", true, -1});
  c.fire.push_back({"herts-fire", "Hertfordshire", "custodian 1930 ST ALBANS", true, -1});
  c.ambulance.push_back({"eoe-ambulance", "East of England", "custodian 1930 ST ALBANS", true, -1});
  return c;
}

model::IncidentMessage message(const std::string& sender, std::vector<std::string> receivers) {
  model::IncidentMessage m;
  m.message_id = "m-1";
  m.sender_agency = sender;
  m.sender_reference = "REF-1";
  m.receiving_agencies = std::move(receivers);
  m.incident.priority.emergency = true;
  m.incident.type = model::Code{"nsir", "RTC-INJURY", "RTC"};
  return m;
}

struct Fixture {
  Config config = three_forces();
  std::unique_ptr<buddy::Board> board = std::make_unique<buddy::Board>();
  gazetteer::Coverage coverage;
  model::IncidentMessage msg;
  bool has_coverage = true;

  Result<std::vector<RouteTarget>> run() {
    RoutingInput in;
    in.config = &config;
    in.sender = config.find_agency(msg.sender_agency);
    in.message = &msg;
    in.coverage = has_coverage ? &coverage : nullptr;
    in.location_verified = true;
    in.board = board.get();
    in.unavailable = [](const std::string&) { return false; };
    return route(in);
  }
};

bool has_finding(const RouteTarget& t, const std::string& rule) {
  for (const auto& f : t.findings)
    if (f.rule == rule) return true;
  return false;
}

}  // namespace

TEST(Routing, NamedReceiversEachGetATransfer) {
  Fixture f;
  f.msg = message("herts-police", {"herts-fire", "eoe-ambulance", "herts-fire"});
  auto r = f.run();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].receiver, "herts-fire");
  EXPECT_EQ((*r)[1].receiver, "eoe-ambulance");
  EXPECT_EQ((*r)[0].reason, model::TransferReason::assistance_request);
  EXPECT_TRUE(has_finding((*r)[0], "receiver-repeated"));
}

TEST(Routing, UnknownAndSelfAreRefusedNamingTheReceiver) {
  Fixture f;
  f.msg = message("herts-police", {"herts-fire", "kent-police"});
  auto r = f.run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "unknown-agency");
  EXPECT_EQ(r.error().field, "incidentMessage/receivers/receiver[2]");
  f.msg = message("herts-police", {"herts-police"});
  EXPECT_EQ(f.run().error().rule, "routing");
  f.msg = message("herts-police", {"responsible-coastguard"});
  EXPECT_EQ(f.run().error().rule, "unknown-agency");
}

TEST(Routing, ResponsibleServiceComesFromTheLocation) {
  Fixture f;
  f.coverage = in_hertfordshire();
  f.msg = message("herts-police", {"responsible-fire", "responsible-ambulance"});
  auto r = f.run();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].receiver, "herts-fire");
  EXPECT_EQ((*r)[1].receiver, "eoe-ambulance");
  EXPECT_TRUE(has_finding((*r)[0], "routed-by-location"));
  EXPECT_EQ((*r)[0].reason, model::TransferReason::assistance_request);
}

TEST(Routing, ACallOutsideTheSendersAreaIsAMisroutedTransfer) {
  Fixture f;
  f.coverage = in_bedfordshire();
  f.msg = message("herts-police", {});
  auto r = f.run();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].receiver, "beds-police");
  EXPECT_EQ((*r)[0].reason, model::TransferReason::misrouted);
  EXPECT_TRUE(has_finding((*r)[0], "misrouted"));
  // The boundary is near: the note says so.
  bool near = false;
  for (const auto& x : (*r)[0].findings) near |= x.message.find("near the boundary with herts-police") != std::string::npos;
  EXPECT_TRUE(near);
}

TEST(Routing, NoReceiverInsideOwnAreaOrWithoutLocationIsRefused) {
  Fixture f;
  f.coverage = in_hertfordshire();
  f.msg = message("herts-police", {});
  auto r = f.run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "routing");
  EXPECT_NE(r.error().message.find("own area"), std::string::npos);
  f.has_coverage = false;
  EXPECT_NE(f.run().error().message.find("cannot tell which police force"), std::string::npos);
}

TEST(Routing, AResponsibleAgencyNotOnTheHubIsNamed) {
  Fixture f;
  f.coverage = in_bedfordshire();
  f.msg = message("herts-police", {"responsible-fire"});
  auto r = f.run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("beds-fire covers this location but is not connected"), std::string::npos);
  EXPECT_EQ(r.error().field, "incidentMessage/receivers/receiver[1]");
}

TEST(Routing, InvokedReceiverIsRedirectedToItsBuddyOnItsBehalf) {
  Fixture f;
  buddy::Arrangement a;
  a.home = "beds-police";
  a.primary = "tvp";
  f.board = std::make_unique<buddy::Board>(std::vector<buddy::Arrangement>{a});
  buddy::InvocationRequest req;
  req.home = "beds-police";
  req.trigger = buddy::Trigger::technical_failure;
  req.authorised_by = "Supt. Khan";
  auto inv = f.board->prepare(req, buddy::Caller{"", true, true});
  ASSERT_TRUE(inv.ok());
  inv->id = "INV-9";
  f.board->activate(*inv);

  f.coverage = in_bedfordshire();
  f.msg = message("herts-police", {});  // a misrouted 999 call for Bedfordshire
  auto r = f.run();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].receiver, "tvp");
  EXPECT_EQ((*r)[0].on_behalf_of, "beds-police");
  EXPECT_EQ((*r)[0].invocation, "INV-9");
  EXPECT_EQ((*r)[0].reason, model::TransferReason::buddy_overflow);
  EXPECT_TRUE(has_finding((*r)[0], "buddy-redirect"));

  // The buddy's own incident for the home area: held for the transfer back.
  f.msg = message("tvp", {});
  f.msg.on_behalf_of = "beds-police";
  r = f.run();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ((*r)[0].receiver, "beds-police");
  EXPECT_TRUE((*r)[0].held);
  EXPECT_EQ((*r)[0].invocation, "INV-9");

  // Someone else may not act for beds-police.
  f.msg = message("herts-police", {});
  f.msg.on_behalf_of = "beds-police";
  EXPECT_EQ(f.run().error().rule, "forbidden");
}

TEST(Routing, PassBackGoesHomeAtOnceLifeRiskInTheTopLane) {
  Fixture f;
  buddy::Arrangement a;
  a.home = "beds-police";
  a.primary = "tvp";
  a.mode = buddy::Mode::pass_back;
  f.board = std::make_unique<buddy::Board>(std::vector<buddy::Arrangement>{a});
  buddy::InvocationRequest req;
  req.home = "beds-police";
  req.trigger = buddy::Trigger::influx_of_calls;
  req.authorised_by = "Insp. Ali";
  auto inv = f.board->prepare(req, buddy::Caller{"", true, true});
  ASSERT_TRUE(inv.ok());
  inv->id = "INV-5";
  f.board->activate(*inv);

  f.msg = message("tvp", {});
  f.msg.on_behalf_of = "beds-police";
  f.msg.incident.priority.life_risk = true;
  auto r = f.run();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ((*r)[0].receiver, "beds-police");
  EXPECT_FALSE((*r)[0].held);
  EXPECT_EQ((*r)[0].lane, 2);
  f.msg.incident.priority.life_risk = false;
  EXPECT_EQ(f.run().value()[0].lane, 1);
  // Transfers addressed to the home agency still go there: it dispatches.
  f.msg = message("herts-police", {"beds-police"});
  EXPECT_EQ(f.run().value()[0].receiver, "beds-police");
}
