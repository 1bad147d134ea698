// Routing and buddy arrangements through the Hub with a real store: invocation rights,
// redirects, stand-down with every incident returned, acceptance deadlines with a moved
// clock, re-grading and re-routing.
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "hub/hub.hpp"

namespace deit::hub {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kHerts = "hertfordshire-police";
constexpr const char* kBeds = "bedfordshire-police";
constexpr const char* kThames = "thames-valley-police";
constexpr const char* kFire = "hertfordshire-fire";

constexpr const char* kConfig = R"({
  "store": "hub.db",
  "tls": {"ca": "certs/ca.pem", "cert": "certs/hub.pem", "key": "certs/hub.key"},
  "acceptance": {"emergency": 60, "default": 600},
  "agencies": [
    {"id": "hertfordshire-police", "kind": "police",
     "certificates": [{"subject_cn": "hertfordshire-police"},
                      {"subject_cn": "herts-bc", "roles": ["operator", "business-continuity"]}]},
    {"id": "bedfordshire-police", "kind": "police",
     "certificates": [{"subject_cn": "bedfordshire-police"},
                      {"subject_cn": "beds-bc", "roles": ["operator", "business-continuity"]}]},
    {"id": "thames-valley-police", "kind": "police"},
    {"id": "hertfordshire-fire", "kind": "fire", "format": "fire"},
    {"id": "east-of-england-ambulance", "kind": "ambulance"}
  ],
  "buddy": [
    {"home": "hertfordshire-police", "primary": "bedfordshire-police", "secondary": "thames-valley-police",
     "calls": "all-calls", "mode": "dispatch-on-behalf", "fallback_on_deadline": @FALLBACK@}
  ],
  "administrators": [{"subject_cn": "hub-admin", "roles": ["administrator"]}]
})";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void replace(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

template <typename T, typename Start>
Result<T> sync(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

class BuddyHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    dir_ = fs::temp_directory_path() / ("deit-buddy-hub-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sample_ = read_file(fs::path(DEIT_SOURCE_DIR) / "samples" / "rtc-injury.xml");
    start(false);
  }
  void TearDown() override {
    hub_.reset();
    fs::remove_all(dir_);
  }
  void start(bool fallback) {
    hub_.reset();
    std::string text = kConfig;
    replace(text, "@FALLBACK@", fallback ? "true" : "false");
    auto c = parse_config(text, dir_.string());
    ASSERT_TRUE(c.ok()) << c.error().describe();
    auto h = Hub::create(std::move(c).value());
    ASSERT_TRUE(h.ok()) << h.error().describe();
    hub_ = std::move(h).value();
  }
  Identity who(const std::string& cn) { return hub_->identify(cn, "").value_or(Identity{}); }

  // The sample incident from `sender` to `receiver`, with its own message id and reference.
  std::string message(const std::string& sender, const std::string& receiver, const std::string& ref,
                      const std::string& extra = "") {
    std::string xml = sample_;
    replace(xml, "<messageId>HP-2026-000123-1</messageId>", "<messageId>" + ref + "-1</messageId>");
    replace(xml, "<senderReference>HP-20261123-0123</senderReference>", "<senderReference>" + ref + "</senderReference>");
    replace(xml, "<sender>hertfordshire-police</sender>", "<sender>" + sender + "</sender>");
    replace(xml, "<receiver>hertfordshire-fire</receiver>", "<receiver>" + receiver + "</receiver>");
    if (!extra.empty()) replace(xml, "<senderReference>", extra + "<senderReference>");
    return xml;
  }
  Result<SubmitOutcome> submit(const std::string& sender, const std::string& body) {
    auto prepared = hub_->prepare_submit(who(sender), body, "application/xml");
    if (!prepared) return prepared.error();
    return sync<SubmitOutcome>([&](auto done) { hub_->commit_submit(std::move(prepared).value(), done); });
  }
  Result<buddy::Invocation> invoke(const std::string& cn, const std::string& home = kHerts) {
    buddy::InvocationRequest r;
    r.home = home;
    r.trigger = buddy::Trigger::building_evacuation;
    r.authorised_by = "Insp. Jones";
    r.cha_reference = "BT-CC-0042";
    return sync<buddy::Invocation>([&](auto done) { hub_->invoke(who(cn), r, done); });
  }
  Result<DecisionOutcome> decide(const std::string& agency, const std::string& transfer, bool accept,
                                 const std::string& grade = "", const std::string& rationale = "",
                                 bool regrade_only = false) {
    DecisionRequest d{agency, transfer, accept, accept ? "" : "not ours", agency + "/op 1", grade, rationale, regrade_only};
    return sync<DecisionOutcome>([&](auto done) { hub_->decide(d, done); });
  }
  // Bodies of the deliveries waiting for `agency`, optionally only of one kind.
  std::vector<std::string> waiting(const std::string& agency, const std::string& kind = "") {
    std::vector<std::string> out;
    for (const auto& d : hub_->dispatcher().pending_after(agency, 0, 1000))
      if (kind.empty() || d.kind == kind) out.push_back(*d.payload);
    return out;
  }

  fs::path dir_;
  std::string sample_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(BuddyHubTest, OnlyBusinessContinuityStaffInvokeAndTheRecordIsKept) {
  auto refused = invoke(kHerts);  // an operator certificate
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rule, "forbidden");
  refused = invoke("hub-admin");  // an administrator without the business continuity role
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rule, "forbidden");

  auto inv = invoke("herts-bc");
  ASSERT_TRUE(inv.ok()) << inv.error().describe();
  EXPECT_EQ(inv->buddy, kBeds);
  EXPECT_EQ(inv->authorised_via, kHerts);
  ASSERT_EQ(waiting(kHerts, "notice").size(), 1u);
  ASSERT_EQ(waiting(kBeds, "notice").size(), 1u);
  EXPECT_NE(waiting(kBeds, "notice")[0].find("\"notice\":\"buddy-invoked\""), std::string::npos);
  EXPECT_NE(waiting(kBeds, "notice")[0].find("BT-CC-0042"), std::string::npos);
  EXPECT_EQ(invoke("beds-bc").error().rule, "conflict");

  // Survives a restart: still invoked, still routing to the buddy.
  start(false);
  ASSERT_TRUE(hub_->board().active_for(kHerts));
  auto stored = hub_->store().invocation(inv->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->trigger, buddy::Trigger::building_evacuation);
  EXPECT_EQ(stored->authorised_by, "Insp. Jones");
}

TEST_F(BuddyHubTest, InvokedThenStoodDownWithEveryIncidentReturnedAndAccepted) {
  auto inv = invoke("herts-bc");
  ASSERT_TRUE(inv.ok()) << inv.error().describe();

  // Thames Valley hands Hertfordshire an incident: it goes to Bedfordshire on Herts' behalf.
  auto sent = submit(kThames, message(kThames, kHerts, "TVP-1"));
  ASSERT_TRUE(sent.ok()) << sent.error().describe();
  ASSERT_EQ(sent->transfers.size(), 1u);
  const std::string received = sent->transfers[0].first;
  EXPECT_EQ(sent->transfers[0].second, kBeds);
  auto t = hub_->store().transfer(received);
  EXPECT_EQ(t->on_behalf_of, kHerts);
  EXPECT_EQ(t->invocation, inv->id);
  EXPECT_EQ(t->reason, "buddy-overflow");
  ASSERT_EQ(waiting(kBeds, "incident").size(), 1u);
  EXPECT_NE(waiting(kBeds, "incident")[0].find("<onBehalfOf>hertfordshire-police</onBehalfOf>"), std::string::npos);
  // Herts can see it; Fire cannot.
  EXPECT_TRUE(Hub::may_read(who(kHerts), *t));
  EXPECT_FALSE(Hub::may_read(who(kFire), *t));
  ASSERT_TRUE(decide(kBeds, received, true).ok());

  // Bedfordshire logs its own incident for Hertfordshire's area: held until stand-down.
  auto created = submit(kBeds, message(kBeds, kHerts, "BEDS-77", "<onBehalfOf>hertfordshire-police</onBehalfOf>"));
  ASSERT_TRUE(created.ok()) << created.error().describe();
  const std::string created_id = created->transfers[0].first;
  EXPECT_TRUE(created->deliveries.empty()) << "held, not delivered yet";
  EXPECT_TRUE(waiting(kHerts, "incident").empty());

  auto report = hub_->report(inv->id);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->received.size(), 1u);
  EXPECT_EQ(report->created.size(), 1u);
  EXPECT_EQ(report->returned.size(), 0u);
  EXPECT_EQ(report->outstanding, 2u);

  // Fire's business continuity staff may not stand it down; Herts' may.
  auto refused = sync<StandDownOutcome>([&](auto done) { hub_->stand_down(who(kFire), inv->id, "over", done); });
  EXPECT_EQ(refused.error().rule, "forbidden");
  auto stood = sync<StandDownOutcome>(
      [&](auto done) { hub_->stand_down(who("herts-bc"), inv->id, "control room re-occupied", done); });
  ASSERT_TRUE(stood.ok()) << stood.error().describe();
  EXPECT_EQ(stood->returned.size(), 2u);
  EXPECT_FALSE(hub_->board().active_for(kHerts));

  // Both are now with Hertfordshire; the transfer back carries the whole story.
  const auto incidents = waiting(kHerts, "incident");
  ASSERT_EQ(incidents.size(), 2u);
  bool has_back = false;
  for (const auto& body : incidents) {
    if (body.find("<reason>transfer-back</reason>") == std::string::npos) continue;
    has_back = true;
    EXPECT_NE(body.find("Caller reports two-car collision"), std::string::npos) << "the sender's log";
    EXPECT_NE(body.find("author=\"deit-hub\""), std::string::npos) << "the hub's history";
    EXPECT_NE(body.find("accepted (bedfordshire-police/op 1)"), std::string::npos);
  }
  EXPECT_TRUE(has_back);
  EXPECT_EQ(waiting(kHerts, "notice").size(), 2u);  // invoked, stood down

  // Nothing is complete until Hertfordshire accepts each one.
  report = hub_->report(inv->id);
  EXPECT_EQ(report->returned.size(), 2u);
  EXPECT_EQ(report->outstanding, 2u);
  for (const auto& [id, to] : stood->returned) ASSERT_TRUE(decide(kHerts, id, true).ok()) << id;
  report = hub_->report(inv->id);
  EXPECT_EQ(report->accepted, 2u);
  EXPECT_EQ(report->outstanding, 0u);

  // A second stand-down changes nothing.
  auto again = sync<StandDownOutcome>([&](auto done) { hub_->stand_down(who("herts-bc"), inv->id, "again", done); });
  EXPECT_EQ(again.error().rule, "conflict");
  // After the stand-down, transfers go to Hertfordshire again.
  auto after = submit(kThames, message(kThames, kHerts, "TVP-2"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->transfers[0].second, kHerts);
  (void)created_id;
}

TEST_F(BuddyHubTest, AnOverdueTransferAlertsTheSenderAndFallsBackToTheBuddy) {
  start(true);  // the arrangement falls back on deadlines
  auto sent = submit(kThames, message(kThames, kHerts, "TVP-9"));
  ASSERT_TRUE(sent.ok()) << sent.error().describe();
  const std::string id = sent->transfers[0].first;
  const std::int64_t due = hub_->deadline_of(id);
  ASSERT_GT(due, 0);
  EXPECT_NEAR(static_cast<double>(due - hub_->store().transfer(id)->stored_at), 60'000.0, 2'000.0) << "emergency: 60 s";

  hub_->sweep_deadlines(due - 1000);  // not yet
  EXPECT_EQ(hub_->store().transfer(id)->overdue_at, 0);
  hub_->sweep_deadlines(due + 1);
  for (int i = 0; i < 100 && hub_->store().transfer(id)->state != "redirected"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto t = hub_->store().transfer(id);
  EXPECT_EQ(t->state, "redirected");
  EXPECT_GT(t->overdue_at, 0);
  // The buddy has it now, on Herts' behalf; the sender and Herts are told.
  auto fallback = hub_->store().transfer(make_transfer_id(kThames, "TVP-9", kBeds));
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->on_behalf_of, kHerts);
  EXPECT_EQ(fallback->reason, "buddy-overflow");
  bool told = false;
  for (const auto& s : waiting(kThames, "status")) told |= s.find("\"state\":\"redirected\"") != std::string::npos;
  EXPECT_TRUE(told);
  bool withdrawn = false;
  for (const auto& s : waiting(kHerts, "status")) withdrawn |= s.find("\"state\":\"withdrawn\"") != std::string::npos;
  EXPECT_TRUE(withdrawn);
  // Herts can no longer accept it.
  EXPECT_EQ(decide(kHerts, id, true).error().rule, "conflict");
}

TEST_F(BuddyHubTest, OverdueWithoutFallbackTellsTheSenderOnlyAndAcceptedOnesStayQuiet) {
  auto first = submit(kHerts, message(kHerts, kFire, "HP-1"));
  auto second = submit(kHerts, message(kHerts, kFire, "HP-2"));
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string a = first->transfers[0].first, b = second->transfers[0].first;
  ASSERT_TRUE(decide(kFire, a, true).ok());
  EXPECT_EQ(hub_->deadline_of(a), 0) << "decided: no deadline";
  hub_->sweep_deadlines(now_ms() + 61'000);
  for (int i = 0; i < 100 && hub_->store().transfer(b)->overdue_at == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT(hub_->store().transfer(b)->overdue_at, 0);
  EXPECT_EQ(hub_->store().transfer(a)->overdue_at, 0);
  EXPECT_EQ(hub_->store().transfer(b)->state, "stored") << "no buddy: it stays with the receiver";
  int overdue = 0;
  for (const auto& s : waiting(kHerts, "status")) overdue += s.find("\"state\":\"overdue\"") != std::string::npos;
  EXPECT_EQ(overdue, 1);
  // A late acceptance is still welcome.
  EXPECT_TRUE(decide(kFire, b, true).ok());
}

// A receiver that takes nothing makes dozens overdue at once. Each sweep handles a few
// (each is a store read and a write every sender's commit would wait for), the earliest
// due first, and the next sweeps the rest.
TEST_F(BuddyHubTest, ABacklogOfOverdueTransfersIsHandledAFewPerSweep) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto sent = submit(kHerts, message(kHerts, kFire, "HP-B" + std::to_string(i)));
    ASSERT_TRUE(sent.ok()) << sent.error().describe();
    ids.push_back(sent->transfers[0].first);
  }
  auto overdue_count = [&] {
    int n = 0;
    for (const auto& id : ids) n += hub_->store().transfer(id)->overdue_at > 0;
    return n;
  };
  auto settle = [&](int expected) {
    for (int i = 0; i < 100 && overdue_count() < expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  const std::int64_t later = now_ms() + 61'000;
  hub_->sweep_deadlines(later);
  settle(8);
  EXPECT_EQ(overdue_count(), 8) << "one sweep";
  EXPECT_GT(hub_->store().transfer(ids.front())->overdue_at, 0) << "the earliest due goes first";
  EXPECT_EQ(hub_->store().transfer(ids.back())->overdue_at, 0);
  hub_->sweep_deadlines(later);
  hub_->sweep_deadlines(later);
  settle(20);
  EXPECT_EQ(overdue_count(), 20) << "three sweeps";
}

TEST_F(BuddyHubTest, ASilentLinkOrAnAgedQueueLeadsToASuggestionNotAnInvocation) {
  const std::int64_t start = now_ms();
  hub_->check_links(start);
  EXPECT_TRUE(hub_->suggestions().empty());
  // Hertfordshire's link was seen now; nothing for two minutes, then silence is suspicious.
  hub_->seen(kHerts, start);
  hub_->check_links(start + 60'000);
  EXPECT_TRUE(hub_->suggestions().empty());
  hub_->check_links(start + 130'000);
  auto suggestions = hub_->suggestions();
  ASSERT_EQ(suggestions.size(), 1u);
  EXPECT_EQ(suggestions[0].home, kHerts);
  EXPECT_EQ(suggestions[0].buddy, kBeds);
  EXPECT_NE(suggestions[0].reason.find("link down"), std::string::npos);
  EXPECT_FALSE(hub_->board().active_for(kHerts)) << "suggested, not invoked: auto_invoke is off";
  // Back in touch: the suggestion clears.
  hub_->seen(kHerts, start + 131'000);
  hub_->check_links(start + 132'000);
  EXPECT_TRUE(hub_->suggestions().empty());
  // An incident waiting unaccepted beyond the threshold (300 s) suggests it too.
  ASSERT_TRUE(submit(kThames, message(kThames, kHerts, "TVP-AGED")).ok());
  hub_->seen(kHerts, start + 400'000);
  hub_->check_links(start + 400'000);
  suggestions = hub_->suggestions();
  ASSERT_EQ(suggestions.size(), 1u);
  EXPECT_NE(suggestions[0].reason.find("unaccepted"), std::string::npos);
}

TEST_F(BuddyHubTest, ARegradeKeepsTheSendersGradeAndTellsTheSenderWhy) {
  auto sent = submit(kHerts, message(kHerts, kBeds, "HP-5"));
  ASSERT_TRUE(sent.ok());
  const std::string id = sent->transfers[0].first;
  EXPECT_EQ(decide(kBeds, id, true, "priority").error().field, "rationale");
  EXPECT_EQ(decide(kBeds, id, true, "priority", "x", true).error().rule, "conflict") << "accept first";
  auto accepted = decide(kBeds, id, true, "priority", "suspect detained by door staff, no further threat");
  ASSERT_TRUE(accepted.ok()) << accepted.error().describe();
  auto t = hub_->store().transfer(id);
  EXPECT_EQ(t->grade, "emergency") << "the sender's grade is never overwritten";
  EXPECT_EQ(t->receiver_grade, "priority");
  const auto statuses = waiting(kHerts, "status");
  ASSERT_EQ(statuses.size(), 1u);
  auto status = json::parse(statuses[0]).as_object();
  EXPECT_EQ(status.at("state").as_string(), "accepted");
  EXPECT_EQ(status.at("senderGrade").as_string(), "emergency");
  EXPECT_EQ(status.at("grade").as_string(), "priority");
  EXPECT_EQ(status.at("rationale").as_string(), "suspect detained by door staff, no further threat");
  // A later re-grade is told too.
  ASSERT_TRUE(decide(kBeds, id, true, "emergency", "second call: weapon seen", true).ok());
  EXPECT_EQ(waiting(kHerts, "status").size(), 2u);
  EXPECT_EQ(hub_->store().transfer(id)->receiver_grade, "emergency");
}

TEST_F(BuddyHubTest, ARejectedTransferCanBeReroutedBySenderOnly) {
  auto sent = submit(kHerts, message(kHerts, kBeds, "HP-6"));
  ASSERT_TRUE(sent.ok());
  const std::string id = sent->transfers[0].first;
  auto reroute = [&](const std::string& as, const std::string& to) {
    return sync<SubmitOutcome>([&](auto done) { hub_->reroute(who(as), id, to, done); });
  };
  EXPECT_EQ(reroute(kHerts, kThames).error().rule, "conflict") << "not rejected yet";
  ASSERT_TRUE(decide(kBeds, id, false).ok());
  EXPECT_EQ(reroute(kThames, kThames).error().rule, "not-found") << "not the sender";
  EXPECT_EQ(reroute(kHerts, kBeds).error().rule, "routing") << "the one who rejected it";
  auto moved = reroute(kHerts, kThames);
  ASSERT_TRUE(moved.ok()) << moved.error().describe();
  ASSERT_EQ(moved->transfers.size(), 1u);
  EXPECT_EQ(moved->transfers[0].second, kThames);
  EXPECT_EQ(waiting(kThames, "incident").size(), 1u);
  EXPECT_TRUE(reroute(kHerts, kThames)->duplicate) << "a repeated re-route is the same transfer";
}


// ---- configuration reload: arrangements and identities change; invocations are kept whole

TEST_F(BuddyHubTest, AReloadChangesArrangementsAndIdentitiesButNeverStrandsAnActiveInvocation) {
  std::string next = kConfig;
  replace(next, "@FALLBACK@", "false");
  hub_->set_config_source([&] { return parse_config(next, dir_.string()); });

  // A new agency, a new business continuity certificate for Thames Valley, and an
  // arrangement of its own: in effect without a restart.
  replace(next, R"({"id": "thames-valley-police", "kind": "police"},)",
          R"({"id": "thames-valley-police", "kind": "police",
              "certificates": [{"subject_cn": "thames-valley-police"},
                               {"subject_cn": "tvp-bc", "roles": ["operator", "business-continuity"]}]},
             {"id": "essex-police", "kind": "police"},)");
  replace(next, R"("buddy": [)", R"("buddy": [
    {"home": "thames-valley-police", "primary": "essex-police", "calls": "all-calls"},)");
  EXPECT_FALSE(hub_->identify("essex-police", "").has_value());
  EXPECT_FALSE(invoke("tvp-bc", kThames).ok());
  auto reloaded = hub_->reload_config("hub-admin");
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().describe();
  EXPECT_EQ(reloaded->generation, 1u);
  EXPECT_EQ(reloaded->changes.added, std::vector<std::string>{"essex-police"});
  EXPECT_EQ(reloaded->changes.changed, std::vector<std::string>{kThames});
  EXPECT_EQ(reloaded->changes.settings, std::vector<std::string>{"buddy"});
  EXPECT_TRUE(hub_->identify("essex-police", "").has_value());
  ASSERT_NE(hub_->board().arrangement_for(kThames), nullptr);
  auto thames = invoke("tvp-bc", kThames);
  ASSERT_TRUE(thames.ok()) << thames.error().describe();
  EXPECT_EQ(thames->buddy, "essex-police");

  // Reading the same file again changes nothing, and the generation stays.
  auto again = hub_->reload_config("hub-admin");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changes.any());
  EXPECT_EQ(again->generation, 1u);

  // While that invocation is active, neither its arrangement nor its buddy may go, and a
  // refused reload changes nothing at all (the new agency below is not added either).
  std::string active = next;
  replace(next, R"({"home": "thames-valley-police", "primary": "essex-police", "calls": "all-calls"},)", "");
  replace(next, R"("agencies": [)", R"("agencies": [{"id": "kent-police", "kind": "police"},)");
  auto refused = hub_->reload_config("hub-admin");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "buddy");
  EXPECT_NE(refused.error().message.find(thames->id), std::string::npos) << refused.error().message;
  EXPECT_FALSE(hub_->identify("kent-police", "").has_value());
  EXPECT_EQ(hub_->config_generation(), 1u);
  next = active;
  replace(next, R"({"id": "essex-police", "kind": "police"},)", "");
  replace(next, R"({"home": "thames-valley-police", "primary": "essex-police", "calls": "all-calls"},)", "");
  refused = hub_->reload_config("hub-admin");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "agencies");
  EXPECT_NE(refused.error().message.find("'essex-police' takes part in invocation"), std::string::npos)
      << refused.error().message;

  // A format the hub does not know is refused with its field, as at start.
  next = active;
  replace(next, R"({"id": "essex-police", "kind": "police"},)", R"({"id": "essex-police", "kind": "police", "format": "cad9"},)");
  refused = hub_->reload_config("hub-admin");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "agencies[3].format");

  // Once stood down, the arrangement may go; Thames Valley's own certificate still works.
  ASSERT_TRUE(sync<StandDownOutcome>([&](auto done) { hub_->stand_down(who("tvp-bc"), thames->id, "recovered", done); }).ok());
  next = active;
  replace(next, R"({"home": "thames-valley-police", "primary": "essex-police", "calls": "all-calls"},)", "");
  reloaded = hub_->reload_config("hub-admin");
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().describe();
  EXPECT_EQ(reloaded->generation, 2u);
  EXPECT_EQ(hub_->board().arrangement_for(kThames), nullptr);
  EXPECT_TRUE(hub_->identify(kThames, "").has_value());

  // Every reload, refused or not, is in the audit log (entries commit in order: once this
  // one is durable, so are they).
  ASSERT_TRUE(sync<AuditRecord>([&](auto done) {
                hub_->audit({"test", "marker", AuditCategory::administration, "config", "{}", ""}, done);
              }).ok());
  auto entries = read_audit_file((dir_ / "hub.db").string(), "config", 0, 100);
  ASSERT_TRUE(entries.ok()) << entries.error().describe();
  std::size_t done = 0, failed = 0;
  for (const auto& e : *entries) {
    done += e.action == "reload-config";
    failed += e.action == "reload-config-failed";
  }
  EXPECT_EQ(done, 3u);
  EXPECT_EQ(failed, 3u);
}

}  // namespace
}  // namespace deit::hub
