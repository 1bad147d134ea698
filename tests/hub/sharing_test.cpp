// Information sharing rules: parsing with exact error paths, which rules apply to which
// pair, what is removed and counted, the embedded defaults, and the hub applying them per
// receiver before translation (the receiver's payload loses the field, the transfer's
// findings say so without quoting it).
#include "hub/sharing.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>

#include "hub/config.hpp"
#include "hub/hub.hpp"

namespace deit::hub {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const std::vector<std::string> kIds{"hertfordshire-police", "thames-valley-police", "hertfordshire-fire",
                                    "east-of-england-ambulance"};
const SharingParty kHertsPolice{"hertfordshire-police", model::AgencyKind::police};
const SharingParty kThamesPolice{"thames-valley-police", model::AgencyKind::police};
const SharingParty kFire{"hertfordshire-fire", model::AgencyKind::fire};
const SharingParty kAmbulance{"east-of-england-ambulance", model::AgencyKind::ambulance};

Result<std::vector<SharingRule>> parse(const std::string& text) { return parse_sharing_rules(json::parse(text), kIds); }

Error parse_error(const std::string& text) {
  auto r = parse(text);
  if (r.ok()) {
    ADD_FAILURE() << "expected an error for " << text;
    return Error{};
  }
  return r.error();
}

std::vector<SharingRule> rules(const std::string& text) {
  auto r = parse(text);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  return r.ok() ? std::move(r).value() : std::vector<SharingRule>{};
}

// An incident with something in every withholdable field.
model::IncidentMessage full_message() {
  model::IncidentMessage m;
  m.message_id = "m-1";
  m.sender_agency = "hertfordshire-police";
  auto& inc = m.incident;
  inc.caller = model::Caller{"Sam Taylor", "07700900123", model::CallerRole::witness, true};
  model::Person suspect;
  suspect.role = "suspect";
  suspect.name = "J Bloggs";
  suspect.description = "tall, grey coat";
  suspect.warning_markers = {"firearms", "violent"};
  model::Person casualty;
  casualty.role = "casualty";
  casualty.description = "driver, trapped";
  casualty.warning_markers = {"mental-health"};
  inc.persons = {suspect, casualty};
  inc.vehicles = {model::Vehicle{"AB12 CDE", "Ford", "Focus", "blue", ""}};
  inc.hazards = {model::Hazard{"fuel", "fuel leak"}};
  inc.log = {model::LogEntry{"2026-11-23T08:14:40Z", "op 1", "two cars", false},
             model::LogEntry{"2026-11-23T08:15:00Z", "paramedic 9", "GCS 13, suspected pelvic fracture", true},
             model::LogEntry{"2026-11-23T08:16:00Z", "op 1", "road closed", false},
             model::LogEntry{"2026-11-23T08:17:00Z", "paramedic 9", "history of epilepsy", true}};
  return m;
}

// ---- parsing ---------------------------------------------------------------------------

TEST(SharingParse, SidesAsWordOrListAndFieldsInOrder) {
  auto r = rules(R"([
    {"name": "markers", "from": "*", "to": ["fire", "east-of-england-ambulance"], "withhold": ["persons.warning_markers"]},
    {"name": "clinical", "from": "ambulance", "to": "police", "withhold": ["log.sensitive", "caller.phone"]}
  ])");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].name, "markers");
  EXPECT_EQ(r[0].from, std::vector<std::string>{"*"});
  EXPECT_EQ(r[0].to, (std::vector<std::string>{"fire", "east-of-england-ambulance"}));
  EXPECT_EQ(r[0].withhold, std::vector<SharedField>{SharedField::persons_warning_markers});
  EXPECT_EQ(r[1].from, std::vector<std::string>{"ambulance"});
  EXPECT_EQ(r[1].withhold, (std::vector<SharedField>{SharedField::log_sensitive, SharedField::caller_phone}));
}

TEST(SharingParse, EveryFieldNameRoundTrips) {
  for (auto name : shared_field_names()) {
    auto r = rules(R"([{"name": "r", "from": "*", "to": "*", "withhold": [")" + std::string(name) + R"("]}])");
    ASSERT_EQ(r.size(), 1u) << name;
    EXPECT_EQ(to_string(r[0].withhold[0]), name);
  }
  EXPECT_EQ(shared_field_names().size(), 11u);
}

TEST(SharingParse, UnknownFieldNamesItsPathAndTheVocabulary) {
  const Error e = parse_error(R"([{"name": "a", "from": "*", "to": "*", "withhold": ["caller.name"]},
                                  {"name": "b", "from": "*", "to": "*", "withhold": ["log", "persons.warnings"]}])");
  EXPECT_EQ(e.rule, "config");
  EXPECT_EQ(e.field, "sharing_rules[1].withhold[1]");
  EXPECT_NE(e.message.find("'persons.warnings' is not one of"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("persons.warning_markers"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("log.sensitive"), std::string::npos) << e.message;
}

TEST(SharingParse, UnknownAgencyOrKind) {
  Error e = parse_error(R"([{"name": "a", "from": "hertfordshire-polce", "to": "*", "withhold": ["log"]}])");
  EXPECT_EQ(e.field, "sharing_rules[0].from");
  EXPECT_NE(e.message.find("'hertfordshire-polce' is not a configured agency id"), std::string::npos) << e.message;
  e = parse_error(R"([{"name": "a", "from": "*", "to": ["fire", "coastguard"], "withhold": ["log"]}])");
  EXPECT_EQ(e.field, "sharing_rules[0].to[1]");
}

TEST(SharingParse, ShapeMistakes) {
  EXPECT_EQ(parse_error(R"({"name": "a"})").field, "sharing_rules");
  EXPECT_EQ(parse_error(R"([7])").field, "sharing_rules[0]");
  EXPECT_EQ(parse_error(R"([{"from": "*", "to": "*", "withhold": ["log"]}])").field, "sharing_rules[0].name");
  EXPECT_EQ(parse_error(R"([{"name": "", "from": "*", "to": "*", "withhold": ["log"]}])").field,
            "sharing_rules[0].name");
  EXPECT_EQ(parse_error(R"([{"name": "a", "to": "*", "withhold": ["log"]}])").field, "sharing_rules[0].from");
  EXPECT_EQ(parse_error(R"([{"name": "a", "from": [], "to": "*", "withhold": ["log"]}])").field,
            "sharing_rules[0].from");
  EXPECT_EQ(parse_error(R"([{"name": "a", "from": "*", "to": 3, "withhold": ["log"]}])").field, "sharing_rules[0].to");
  EXPECT_EQ(parse_error(R"([{"name": "a", "from": "*", "to": "*", "withhold": []}])").field,
            "sharing_rules[0].withhold");
  EXPECT_EQ(parse_error(R"([{"name": "a", "from": "*", "to": "*", "withhold": [1]}])").field,
            "sharing_rules[0].withhold[0]");
  const Error typo = parse_error(R"([{"name": "a", "from": "*", "to": "*", "withold": ["log"]}])");
  EXPECT_EQ(typo.field, "sharing_rules[0].withold");
  EXPECT_EQ(typo.message, "unknown setting");
  const Error twice = parse_error(R"([{"name": "a", "from": "*", "to": "*", "withhold": ["log"]},
                                      {"name": "a", "from": "*", "to": "*", "withhold": ["hazards"]}])");
  EXPECT_EQ(twice.field, "sharing_rules[1].name");
  EXPECT_NE(twice.message.find("duplicate"), std::string::npos);
}

TEST(SharingParse, InTheConfigurationFile) {
  const std::string base = R"({"tls": {"ca": "a", "cert": "b", "key": "c"},
    "agencies": [{"id": "hertfordshire-police", "kind": "police"}, {"id": "hertfordshire-fire", "kind": "fire"}],
    "sharing_rules": @RULES@})";
  auto with = [&](const std::string& rules_text) {
    std::string text = base;
    text.replace(text.find("@RULES@"), 7, rules_text);
    return parse_config(text, "/srv");
  };
  auto ok = with(R"([{"name": "no-markers-to-fire", "from": "hertfordshire-police", "to": "hertfordshire-fire",
                      "withhold": ["persons.warning_markers"]}])");
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  ASSERT_EQ(ok->sharing_rules.size(), 1u);
  // Only agencies of this configuration are accepted.
  auto bad = with(R"([{"name": "x", "from": "thames-valley-police", "to": "*", "withhold": ["log"]}])");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "sharing_rules[0].from");
  // Absent: nothing is withheld.
  std::string none = base;
  none.replace(none.find(",\n    \"sharing_rules\": @RULES@"), std::string(",\n    \"sharing_rules\": @RULES@").size(), "");
  auto empty = parse_config(none, "/srv");
  ASSERT_TRUE(empty.ok()) << empty.error().describe();
  EXPECT_TRUE(empty->sharing_rules.empty());
}

// ---- which rules apply -----------------------------------------------------------------

TEST(SharingApplies, ByIdKindOrAnyone) {
  auto r = rules(R"([
    {"name": "by-id", "from": "hertfordshire-police", "to": "hertfordshire-fire", "withhold": ["log"]},
    {"name": "by-kind", "from": "police", "to": "ambulance", "withhold": ["log"]},
    {"name": "any", "from": "*", "to": ["fire", "police"], "withhold": ["log"]}
  ])");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(sharing_rule_applies(r[0], kHertsPolice, kFire));
  EXPECT_FALSE(sharing_rule_applies(r[0], kThamesPolice, kFire));
  EXPECT_FALSE(sharing_rule_applies(r[0], kFire, kHertsPolice));  // direction matters
  EXPECT_TRUE(sharing_rule_applies(r[1], kThamesPolice, kAmbulance));
  EXPECT_FALSE(sharing_rule_applies(r[1], kFire, kAmbulance));
  EXPECT_TRUE(sharing_rule_applies(r[2], kAmbulance, kFire));
  EXPECT_TRUE(sharing_rule_applies(r[2], kAmbulance, kThamesPolice));
  EXPECT_FALSE(sharing_rule_applies(r[2], kHertsPolice, kAmbulance));
}

// ---- what is removed -------------------------------------------------------------------

TEST(SharingApply, WarningMarkersAreRemovedAndCounted) {
  auto r = rules(R"([{"name": "markers", "from": "*", "to": "fire", "withhold": ["persons.warning_markers"]}])");
  auto m = full_message();
  const auto withheld = apply_sharing_rules(r, kHertsPolice, kFire, m);
  ASSERT_EQ(withheld.size(), 1u);
  EXPECT_EQ(withheld[0].rule, "markers");
  EXPECT_EQ(withheld[0].field, SharedField::persons_warning_markers);
  EXPECT_EQ(withheld[0].count, 3u);
  ASSERT_EQ(m.incident.persons.size(), 2u);  // the persons stay, without their markers
  EXPECT_TRUE(m.incident.persons[0].warning_markers.empty());
  EXPECT_TRUE(m.incident.persons[1].warning_markers.empty());
  EXPECT_EQ(m.incident.persons[0].name, "J Bloggs");
  // Everything else is untouched.
  auto expected = full_message();
  for (auto& p : expected.incident.persons) p.warning_markers.clear();
  EXPECT_EQ(m, expected);
}

TEST(SharingApply, RulesForOtherPairsChangeNothing) {
  auto r = rules(R"([{"name": "markers", "from": "*", "to": "fire", "withhold": ["persons.warning_markers"]}])");
  auto m = full_message();
  EXPECT_TRUE(apply_sharing_rules(r, kHertsPolice, kThamesPolice, m).empty());
  EXPECT_EQ(m, full_message());
}

TEST(SharingApply, OnlySensitiveLogEntriesGoAndTheRestKeepTheirOrder) {
  auto r = rules(R"([{"name": "clinical", "from": "*", "to": "police", "withhold": ["log.sensitive"]}])");
  auto m = full_message();
  const auto withheld = apply_sharing_rules(r, kAmbulance, kHertsPolice, m);
  ASSERT_EQ(withheld.size(), 1u);
  EXPECT_EQ(withheld[0].count, 2u);
  ASSERT_EQ(m.incident.log.size(), 2u);
  EXPECT_EQ(m.incident.log[0].text, "two cars");
  EXPECT_EQ(m.incident.log[1].text, "road closed");
}

TEST(SharingApply, EachFieldOfTheVocabulary) {
  struct Case {
    const char* field;
    std::size_t count;
    std::function<bool(const model::Incident&)> gone;
  };
  const std::vector<Case> cases{
      {"caller", 1, [](const model::Incident& i) { return !i.caller; }},
      {"caller.name", 1, [](const model::Incident& i) { return i.caller && i.caller->name.empty() && !i.caller->phone.empty(); }},
      {"caller.phone", 1, [](const model::Incident& i) { return i.caller && i.caller->phone.empty() && !i.caller->name.empty(); }},
      {"persons", 2, [](const model::Incident& i) { return i.persons.empty(); }},
      {"persons.name", 1, [](const model::Incident& i) { return i.persons.size() == 2 && i.persons[0].name.empty(); }},
      {"persons.description", 2,
       [](const model::Incident& i) { return i.persons[0].description.empty() && i.persons[1].description.empty(); }},
      {"vehicles", 1, [](const model::Incident& i) { return i.vehicles.empty(); }},
      {"hazards", 1, [](const model::Incident& i) { return i.hazards.empty(); }},
      {"log", 4, [](const model::Incident& i) { return i.log.empty(); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.field);
    auto r = rules(R"([{"name": "r", "from": "*", "to": "*", "withhold": [")" + std::string(c.field) + R"("]}])");
    auto m = full_message();
    const auto withheld = apply_sharing_rules(r, kHertsPolice, kFire, m);
    ASSERT_EQ(withheld.size(), 1u);
    EXPECT_EQ(withheld[0].count, c.count);
    EXPECT_TRUE(c.gone(m.incident));
    // Nothing left to withhold the second time: no finding.
    EXPECT_TRUE(apply_sharing_rules(r, kHertsPolice, kFire, m).empty());
  }
}

TEST(SharingApply, AValueIsCountedByTheFirstRuleThatRemovesIt) {
  auto r = rules(R"([
    {"name": "no-people", "from": "*", "to": "fire", "withhold": ["persons"]},
    {"name": "no-markers", "from": "*", "to": "*", "withhold": ["persons.warning_markers", "hazards"]}
  ])");
  auto m = full_message();
  const auto withheld = apply_sharing_rules(r, kHertsPolice, kFire, m);
  ASSERT_EQ(withheld.size(), 2u);
  EXPECT_EQ(withheld[0].rule, "no-people");
  EXPECT_EQ(withheld[0].count, 2u);
  EXPECT_EQ(withheld[1].rule, "no-markers");
  EXPECT_EQ(withheld[1].field, SharedField::hazards);
}

TEST(SharingApply, FindingsNameRuleFieldAndCountButNotTheContent) {
  auto r = rules(R"([{"name": "markers-police-only", "from": "*", "to": "fire",
                      "withhold": ["persons.warning_markers", "log.sensitive"]}])");
  auto m = full_message();
  const auto findings = withheld_findings(apply_sharing_rules(r, kHertsPolice, kFire, m));
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].rule, "withheld");
  EXPECT_EQ(findings[0].field, "incident/persons/warning_markers");
  EXPECT_EQ(findings[0].message,
            "sharing rule 'markers-police-only' withheld 3 warning markers (persons.warning_markers)");
  EXPECT_EQ(findings[1].field, "incident/log");
  EXPECT_EQ(findings[1].message,
            "sharing rule 'markers-police-only' withheld 2 sensitive log entries (log.sensitive)");
  for (const auto& f : findings) {
    EXPECT_EQ(f.message.find("firearms"), std::string::npos);
    EXPECT_EQ(f.message.find("epilepsy"), std::string::npos);
  }
}

// ---- the embedded defaults ------------------------------------------------------------

TEST(SharingDefaults, MarkersOnlyToPoliceClinicalNotesOnlyToAmbulance) {
  auto c = default_config("/srv/deit");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  ASSERT_FALSE(c->sharing_rules.empty());
  auto count = [&](SharingParty from, SharingParty to, SharedField field) {
    auto m = full_message();
    std::size_t n = 0;
    for (const auto& w : apply_sharing_rules(c->sharing_rules, from, to, m))
      if (w.field == field) n += w.count;
    return n;
  };
  EXPECT_EQ(count(kHertsPolice, kThamesPolice, SharedField::persons_warning_markers), 0u);
  EXPECT_EQ(count(kHertsPolice, kFire, SharedField::persons_warning_markers), 3u);
  EXPECT_EQ(count(kHertsPolice, kAmbulance, SharedField::persons_warning_markers), 3u);
  EXPECT_EQ(count(kAmbulance, kAmbulance, SharedField::log_sensitive), 0u);
  EXPECT_EQ(count(kHertsPolice, kAmbulance, SharedField::log_sensitive), 0u);
  EXPECT_EQ(count(kAmbulance, kHertsPolice, SharedField::log_sensitive), 2u);
  EXPECT_EQ(count(kAmbulance, kFire, SharedField::log_sensitive), 2u);
}

// ---- in the hub: per receiver, before translation ---------------------------------------

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename T, typename Start>
Result<T> sync(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

class SharingInTheHub : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    dir_ = fs::temp_directory_path() / ("deit-sharing-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto config = parse_config(R"({
      "store": "hub.db",
      "tls": {"ca": "certs/ca.pem", "cert": "certs/hub.pem", "key": "certs/hub.key"},
      "agencies": [
        {"id": "hertfordshire-police", "kind": "police"},
        {"id": "thames-valley-police", "kind": "police", "format": "police"},
        {"id": "hertfordshire-fire", "kind": "fire", "format": "fire"},
        {"id": "east-of-england-ambulance", "kind": "ambulance", "format": "ambulance"}
      ],
      "sharing_rules": [
        {"name": "intelligence-markers-to-police-only", "from": "*", "to": ["fire", "ambulance"],
         "withhold": ["persons.warning_markers"]},
        {"name": "clinical-notes-to-ambulance-only", "from": "*", "to": ["police", "fire"], "withhold": ["log.sensitive"]}
      ]})",
                               dir_.string());
    ASSERT_TRUE(config.ok()) << config.error().describe();
    auto hub = Hub::create(std::move(config).value());
    ASSERT_TRUE(hub.ok()) << hub.error().describe();
    hub_ = std::move(hub).value();
  }
  void TearDown() override {
    hub_.reset();
    fs::remove_all(dir_);
  }

  // The sample incident with an intelligence warning marker and a clinical log entry.
  std::string body(const std::string& receivers) {
    std::string text = read_file(fs::path(DEIT_SOURCE_DIR) / "samples" / "rtc-injury.xml");
    auto replace = [&](const std::string& from, const std::string& to) {
      const auto at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) text.replace(at, from.size(), to);
    };
    replace("<receiver>hertfordshire-fire</receiver>", receivers);
    replace("<description>driver of blue Ford Focus, trapped, conscious</description>",
            "<description>driver of blue Ford Focus, trapped, conscious</description>"
            "<warningMarker>firearms-intel-7731</warningMarker>");
    replace("</logEntry>",
            "</logEntry><logEntry time=\"2026-11-23T08:16:00Z\" author=\"paramedic 9\" sensitive=\"true\">"
            "clinical-note-GCS-13</logEntry>");
    return text;
  }

  fs::path dir_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(SharingInTheHub, EachReceiverGetsItsOwnCutAndTheTransferSaysWhat) {
  const std::string body = this->body(
      "<receiver>hertfordshire-fire</receiver><receiver>east-of-england-ambulance</receiver>"
      "<receiver>thames-valley-police</receiver>");
  auto police = hub_->identify("hertfordshire-police", "");
  ASSERT_TRUE(police.has_value());
  auto prepared = hub_->prepare_submit(*police, body, "application/xml");
  ASSERT_TRUE(prepared.ok()) << prepared.error().describe();
  ASSERT_EQ(prepared->targets.size(), 3u);
  // The stored canonical message is the sender's own, complete.
  EXPECT_NE(prepared->canonical_xml.find("firearms-intel-7731"), std::string::npos);

  auto withheld_rules = [](const std::string& findings_json) {
    std::vector<std::string> out;
    const json::value findings = json::parse(findings_json);
    for (const auto& f : findings.as_array())
      if (json::value_to<std::string>(f.at("rule")) == "withheld")
        out.push_back(json::value_to<std::string>(f.at("message")));
    return out;
  };
  for (const auto& t : prepared->targets) {
    SCOPED_TRACE(t.receiver);
    const bool police_receiver = t.receiver == "thames-valley-police";
    const bool ambulance_receiver = t.receiver == "east-of-england-ambulance";
    EXPECT_EQ(t.payload.find("firearms-intel-7731") != std::string::npos, police_receiver);
    EXPECT_EQ(t.payload.find("clinical-note-GCS-13") != std::string::npos, ambulance_receiver);
    EXPECT_EQ(t.findings_json.find("firearms-intel-7731"), std::string::npos);
    EXPECT_EQ(t.findings_json.find("clinical-note-GCS-13"), std::string::npos);
    const auto messages = withheld_rules(t.findings_json);
    std::vector<std::string> expected;
    if (!police_receiver)
      expected.push_back(
          "sharing rule 'intelligence-markers-to-police-only' withheld 1 warning marker (persons.warning_markers)");
    if (!ambulance_receiver)
      expected.push_back(
          "sharing rule 'clinical-notes-to-ambulance-only' withheld 1 sensitive log entry (log.sensitive)");
    EXPECT_EQ(messages, expected) << t.findings_json;
  }
}

// A re-routed transfer is built from the sender's stored (complete) message: the rules
// for the new receiver apply to it as to a new submission.
TEST_F(SharingInTheHub, AReroutedTransferIsCutForItsNewReceiver) {
  const Identity police = hub_->identify("hertfordshire-police", "").value();
  auto prepared = hub_->prepare_submit(police, body("<receiver>thames-valley-police</receiver>"), "application/xml");
  ASSERT_TRUE(prepared.ok()) << prepared.error().describe();
  EXPECT_NE(prepared->targets[0].payload.find("firearms-intel-7731"), std::string::npos) << "police to police";
  auto sent = sync<SubmitOutcome>([&](auto done) { hub_->commit_submit(std::move(prepared).value(), done); });
  ASSERT_TRUE(sent.ok()) << sent.error().describe();
  const std::string id = sent->transfers[0].first;
  DecisionRequest reject{"thames-valley-police", id, false, "not ours", "thames-valley-police/op 1"};
  ASSERT_TRUE(sync<DecisionOutcome>([&](auto done) { hub_->decide(reject, done); }).ok());

  auto moved = sync<SubmitOutcome>([&](auto done) { hub_->reroute(police, id, "hertfordshire-fire", done); });
  ASSERT_TRUE(moved.ok()) << moved.error().describe();
  ASSERT_EQ(moved->transfers.size(), 1u);
  const auto waiting = hub_->dispatcher().pending_after("hertfordshire-fire", 0, 10);
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].payload->find("firearms-intel-7731"), std::string::npos) << *waiting[0].payload;
  EXPECT_EQ(waiting[0].payload->find("clinical-note-GCS-13"), std::string::npos);
  auto record = hub_->store().transfer(moved->transfers[0].first);
  ASSERT_TRUE(record.ok());
  EXPECT_NE(record->findings_json.find("intelligence-markers-to-police-only"), std::string::npos) << record->findings_json;
  EXPECT_EQ(record->findings_json.find("firearms-intel-7731"), std::string::npos);
}

}  // namespace
}  // namespace deit::hub
