// The buddy board: who may invoke, where transfers go while invoked, and when the hub
// suggests an invocation.

#include "buddy/buddy.hpp"

#include <gtest/gtest.h>

using namespace deit;
using namespace deit::buddy;

namespace {

Arrangement herts() {
  Arrangement a;
  a.home = "herts";
  a.primary = "beds";
  a.secondary = "tvp";
  a.scope = Scope{CallScope::all_calls, IncidentScope::all, {}};
  return a;
}

Arrangement beds() {
  Arrangement a;
  a.home = "beds";
  a.primary = "herts";
  return a;
}

const Caller kHertsContinuity{"herts", true, false};
const Caller kHertsOperator{"herts", false, false};
const Caller kStranger{"fire", true, false};
const auto kNobodyDown = [](const std::string&) { return false; };

InvocationRequest request_for(const std::string& home) {
  InvocationRequest r;
  r.home = home;
  r.trigger = Trigger::influx_of_calls;
  r.authorised_by = "Insp. Jones";
  r.cha_reference = "BT-4471";
  return r;
}

Invocation invoke(Board& board, const InvocationRequest& r, const Caller& c, const std::string& id) {
  auto inv = board.prepare(r, c);
  EXPECT_TRUE(inv.ok()) << (inv ? "" : inv.error().describe());
  inv->id = id;
  inv->started_at = 1;
  board.activate(*inv);
  return *inv;
}

}  // namespace

TEST(BuddyWords, RoundTrip) {
  for (auto t : {Trigger::influx_of_calls, Trigger::technical_failure, Trigger::building_evacuation,
                 Trigger::planned_maintenance, Trigger::exercise})
    EXPECT_EQ(parse_trigger(to_string(t)), t);
  EXPECT_EQ(parse_mode("pass-back"), Mode::pass_back);
  EXPECT_EQ(parse_call_scope("overflow"), CallScope::overflow);
  EXPECT_EQ(parse_incident_scope("emergency-only"), IncidentScope::emergency_only);
  EXPECT_FALSE(parse_trigger("boredom"));
}

TEST(BuddyCheck, NamesTheFieldOfEachMistake) {
  auto known = [](const std::string& id) { return id == "herts" || id == "beds" || id == "tvp"; };
  EXPECT_TRUE(Board::check({herts(), beds()}, known).ok());
  auto a = herts();
  a.primary = "kent";
  auto r = Board::check({a}, known);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "buddy[0].primary");
  a = herts();
  a.secondary = "herts";
  EXPECT_EQ(Board::check({a}, known).error().field, "buddy[0].secondary");
  EXPECT_EQ(Board::check({herts(), herts()}, known).error().field, "buddy[1].home");
  a = herts();
  a.scope.incidents = IncidentScope::listed_types;
  EXPECT_EQ(Board::check({a}, known).error().field, "buddy[0].types");
}

TEST(BuddyInvoke, OnlyBusinessContinuityStaffOfTheArrangement) {
  Board board({herts(), beds()});
  auto refused = board.prepare(request_for("herts"), kHertsOperator);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rule, "forbidden");
  refused = board.prepare(request_for("herts"), kStranger);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rule, "forbidden");
  EXPECT_NE(refused.error().message.find("fire may not invoke"), std::string::npos);
  // The buddy's own business continuity staff may (the default list), and administrators.
  EXPECT_TRUE(board.prepare(request_for("herts"), Caller{"beds", true, false}).ok());
  EXPECT_TRUE(board.prepare(request_for("herts"), Caller{"", true, true}).ok());
  // An explicit list replaces the default.
  auto a = herts();
  a.may_invoke = {"tvp"};
  Board listed({a});
  EXPECT_FALSE(listed.prepare(request_for("herts"), kHertsContinuity).ok());
  EXPECT_TRUE(listed.prepare(request_for("herts"), Caller{"tvp", true, false}).ok());
}

TEST(BuddyInvoke, NeedsATriggerAndWhoAuthorisedIt) {
  Board board({herts()});
  auto r = request_for("herts");
  r.trigger.reset();
  EXPECT_EQ(board.prepare(r, kHertsContinuity).error().field, "trigger");
  r = request_for("herts");
  r.authorised_by.clear();
  EXPECT_EQ(board.prepare(r, kHertsContinuity).error().field, "authorisedBy");
  EXPECT_EQ(board.prepare(request_for("kent"), kHertsContinuity).error().rule, "not-found");
}

TEST(BuddyInvoke, FillsTheRecordFromTheArrangement) {
  Board board({herts()});
  auto inv = board.prepare(request_for("herts"), kHertsContinuity);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->buddy, "beds");
  EXPECT_EQ(inv->secondary, "tvp");
  EXPECT_EQ(inv->mode, Mode::dispatch_on_behalf);
  EXPECT_EQ(inv->authorised_by, "Insp. Jones");
  EXPECT_EQ(inv->authorised_via, "herts");
  EXPECT_EQ(inv->cha_reference, "BT-4471");
  auto r = request_for("herts");
  r.buddy = "secondary";
  r.mode = Mode::pass_back;
  inv = board.prepare(r, kHertsContinuity);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->buddy, "tvp");
  EXPECT_EQ(inv->mode, Mode::pass_back);
  r.buddy = "kent";
  EXPECT_EQ(board.prepare(r, kHertsContinuity).error().field, "buddy");
}

TEST(BuddyInvoke, ASecondInvocationConflictsAndAnInvokedBuddyIsPassedOver) {
  Board board({herts(), beds()});
  invoke(board, request_for("beds"), Caller{"beds", true, false}, "INV-1");
  EXPECT_EQ(board.prepare(request_for("beds"), Caller{"beds", true, false}).error().rule, "conflict");
  // beds (herts' primary) is itself invoked: herts' calls go to its secondary.
  auto inv = board.prepare(request_for("herts"), kHertsContinuity);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->buddy, "tvp");
  auto r = request_for("herts");
  r.buddy = "beds";
  EXPECT_EQ(board.prepare(r, kHertsContinuity).error().rule, "buddy-unavailable");
}

TEST(BuddyRoute, AllCallsDispatchRedirectsInScopeIncidents) {
  Board board({herts()});
  const IncidentFacts routine{false, false, "ASB"}, emergency{true, false, "RTC"};
  EXPECT_FALSE(board.redirect("herts", routine, kNobodyDown));  // not invoked
  auto r = request_for("herts");
  r.scope = Scope{CallScope::all_calls, IncidentScope::emergency_only, {}};
  invoke(board, r, kHertsContinuity, "INV-7");
  EXPECT_FALSE(board.redirect("herts", routine, kNobodyDown));  // out of scope: stays home
  auto to = board.redirect("herts", emergency, kNobodyDown);
  ASSERT_TRUE(to);
  EXPECT_EQ(to->to, "beds");
  EXPECT_EQ(to->invocation, "INV-7");
  EXPECT_TRUE(board.redirect("herts", IncidentFacts{false, true, ""}, kNobodyDown)) << "life risk is an emergency";
  // The primary unavailable: the secondary.
  to = board.redirect("herts", emergency, [](const std::string& a) { return a == "beds"; });
  ASSERT_TRUE(to);
  EXPECT_EQ(to->to, "tvp");
  EXPECT_TRUE(to->secondary);
  // Both unavailable: nobody, so it stays with the home agency.
  EXPECT_FALSE(board.redirect("herts", emergency, [](const std::string&) { return true; }));
  board.end("INV-7");
  EXPECT_FALSE(board.redirect("herts", emergency, kNobodyDown));
}

TEST(BuddyRoute, OverflowAndPassBackDoNotRedirectAtSubmission) {
  Board board({herts()});
  auto r = request_for("herts");
  r.scope = Scope{CallScope::overflow, IncidentScope::all, {}};
  invoke(board, r, kHertsContinuity, "INV-1");
  EXPECT_FALSE(board.redirect("herts", IncidentFacts{true, true, ""}, kNobodyDown));
  // ... but an unaccepted transfer falls back to the buddy at its deadline.
  auto fb = board.fallback("herts", IncidentFacts{true, true, ""}, kNobodyDown);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->to, "beds");
  board.end("INV-1");

  r = request_for("herts");
  r.mode = Mode::pass_back;
  invoke(board, r, kHertsContinuity, "INV-2");
  EXPECT_FALSE(board.redirect("herts", IncidentFacts{true, true, ""}, kNobodyDown));
  EXPECT_FALSE(board.fallback("herts", IncidentFacts{true, true, ""}, kNobodyDown));
}

TEST(BuddyRoute, StandingArrangementFallsBackOnlyWhenConfigured) {
  auto a = herts();
  Board without({a});
  EXPECT_FALSE(without.fallback("herts", IncidentFacts{true, false, ""}, kNobodyDown));
  a.fallback_on_deadline = true;
  Board with({a});
  auto fb = with.fallback("herts", IncidentFacts{true, false, ""}, kNobodyDown);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->to, "beds");
  EXPECT_TRUE(fb->invocation.empty());
}

TEST(BuddyRoute, ListedTypesScope) {
  Scope s{CallScope::all_calls, IncidentScope::listed_types, {"RTC-INJURY", "FIRE"}};
  EXPECT_TRUE(in_scope(s, IncidentFacts{false, false, "FIRE"}));
  EXPECT_FALSE(in_scope(s, IncidentFacts{true, true, "ASB"}));
}

TEST(BuddyPassBack, OnlyTheInvokedBuddyActsForTheHome) {
  Board board({herts()});
  EXPECT_EQ(board.pass_back("beds", "herts").error().rule, "forbidden");
  auto r = request_for("herts");
  r.mode = Mode::pass_back;
  invoke(board, r, kHertsContinuity, "INV-3");
  auto pb = board.pass_back("beds", "herts");
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(pb->invocation, "INV-3");
  EXPECT_EQ(pb->mode, Mode::pass_back);
  EXPECT_TRUE(board.pass_back("tvp", "herts").ok()) << "the secondary may stand in";
  EXPECT_FALSE(board.pass_back("fire", "herts").ok());
}

TEST(BuddySuggest, LinkDownOrAgedQueueBeyondThresholds) {
  auto a = herts();
  a.suggest_after_link_down = std::chrono::seconds(120);
  a.suggest_after_unaccepted = std::chrono::seconds(300);
  Board board({a});
  using std::chrono::seconds;
  EXPECT_FALSE(board.suggest("herts", seconds(0), seconds(0)));
  EXPECT_FALSE(board.suggest("herts", seconds(119), seconds(299)));
  auto s = board.suggest("herts", seconds(180), seconds(0));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->buddy, "beds");
  EXPECT_EQ(s->reason, "link down for 180 s");
  s = board.suggest("herts", seconds(0), seconds(420));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, "oldest unaccepted transfer waited 420 s");
  EXPECT_FALSE(board.suggest("kent", seconds(999), seconds(999)));
  invoke(board, request_for("herts"), kHertsContinuity, "INV-4");
  EXPECT_FALSE(board.suggest("herts", seconds(999), seconds(999))) << "already invoked";
}
