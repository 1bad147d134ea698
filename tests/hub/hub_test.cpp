// The transfer service: identity, the pure prepare_submit pipeline (decode, sender check,
// routing, translation), read rules, and commit/acknowledge/decide keeping the dispatcher
// in step with the store.
#include "hub/hub.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "gazetteer/builder.hpp"

namespace deit::hub {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPolice = "hertfordshire-police";
constexpr const char* kFire = "hertfordshire-fire";
constexpr const char* kAmbulance = "east-of-england-ambulance";
constexpr const char* kThames = "thames-valley-police";
constexpr const char* kBeds = "bedfordshire-police";
const std::string kThamesFingerprint(64, 'e');

constexpr const char* kConfig = R"({
  "store": "hub.db",
  "tls": {"ca": "certs/ca.pem", "cert": "certs/hub.pem", "key": "certs/hub.key"},
  "delivery": {"dead_letter_after_s": 60},
  "agencies": [
    {"id": "hertfordshire-police", "kind": "police"},
    {"id": "hertfordshire-fire", "kind": "fire"},
    {"id": "east-of-england-ambulance", "kind": "ambulance", "format": "ambulance"},
    {"id": "thames-valley-police", "kind": "police", "format": "police",
     "certificates": [{"sha256": "@FP@"}]},
    {"id": "bedfordshire-police", "kind": "police",
     "certificates": [{"subject_cn": "beds-cad", "roles": ["operator", "business-continuity"]}]}
  ],
  "administrators": [
    {"subject_cn": "hub-admin", "roles": ["administrator"]},
    {"subject_cn": "bc-desk", "roles": ["business-continuity"]}
  ]
})";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "sample does not contain " << from;
    return text;
  }
  return text.replace(at, from.size(), to);
}

template <typename T, typename Start>
Result<T> sync(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);  // the hub logs every event; keep test output readable
    dir_ = fs::temp_directory_path() / ("deit-hub-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sample_ = read_file(fs::path(DEIT_SOURCE_DIR) / "samples" / "rtc-injury.xml");
    ASSERT_FALSE(sample_.empty());
    start();
  }
  void TearDown() override {
    hub_.reset();
    fs::remove_all(dir_);
  }

  Config config() {
    auto c = parse_config(replace(kConfig, "@FP@", kThamesFingerprint), dir_.string());
    EXPECT_TRUE(c.ok()) << c.error().describe();
    return std::move(c).value();
  }
  void start() {
    hub_.reset();
    auto h = Hub::create(config());
    ASSERT_TRUE(h.ok()) << h.error().describe();
    hub_ = std::move(h).value();
  }
  Identity agency(const std::string& cn) {
    auto id = hub_->identify(cn, "");
    EXPECT_TRUE(id.has_value()) << cn;
    return id.value_or(Identity{});
  }
  Result<SubmitRequest> prepare(const std::string& body, const Identity& who, std::string_view type = "application/xml") {
    return hub_->prepare_submit(who, body, type);
  }
  Error prepare_error(const std::string& body, const Identity& who, std::string_view type = "application/xml") {
    auto r = prepare(body, who, type);
    if (r.ok()) {
      ADD_FAILURE() << "expected an error";
      return Error{};
    }
    return r.error();
  }
  Result<SubmitOutcome> commit(const std::string& body) {
    auto prepared = prepare(body, agency(kPolice));
    if (!prepared) return prepared.error();
    return sync<SubmitOutcome>([&](auto done) { hub_->commit_submit(std::move(prepared).value(), done); });
  }

  fs::path dir_;
  std::string sample_;
  std::unique_ptr<Hub> hub_;
};

// ---- create ---------------------------------------------------------------------------

TEST_F(HubTest, CreateOpensTheStoreInTheConfiguredPlace) {
  EXPECT_TRUE(fs::exists(dir_ / "hub.db"));
  EXPECT_EQ(hub_->config().store_path, (dir_ / "hub.db").string());
  EXPECT_EQ(hub_->dispatcher().pending_total(), 0u);
  EXPECT_NE(hub_->adapters().find("deit"), nullptr);
  EXPECT_NE(hub_->adapters().find("police"), nullptr);
  EXPECT_NE(hub_->adapters().find("ambulance"), nullptr);
}

TEST_F(HubTest, CreateRefusesAnUnknownFormat) {
  hub_.reset();
  Config c = config();
  c.agencies[2].format = "ambulanse";
  auto h = Hub::create(std::move(c));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().rule, "config");
  EXPECT_EQ(h.error().field, "agencies[2].format");
}

TEST_F(HubTest, CreateFailsWhenTheStoreCannotOpen) {
  Config c = config();
  c.store_path = (dir_ / "missing" / "sub" / "hub.db").string();
  auto h = Hub::create(std::move(c));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().rule, "store");
}

// ---- identify -------------------------------------------------------------------------

TEST_F(HubTest, IdentifyByCommonName) {
  auto id = hub_->identify(kPolice, "0123");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->agency, kPolice);
  EXPECT_EQ(id->subject_cn, kPolice);
  EXPECT_EQ(id->fingerprint, "0123");
  EXPECT_EQ(id->roles, std::vector<Role>{Role::operator_role});
  EXPECT_EQ(id->name(), kPolice);

  auto beds = hub_->identify("beds-cad", "");
  ASSERT_TRUE(beds.has_value());
  EXPECT_EQ(beds->agency, kBeds);
  EXPECT_TRUE(beds->has_role(Role::business_continuity));
  EXPECT_FALSE(beds->has_role(Role::administrator));
  // Configured certificates replace the default "CN = agency id".
  EXPECT_FALSE(hub_->identify(kBeds, "").has_value());
}

TEST_F(HubTest, IdentifyByFingerprint) {
  auto id = hub_->identify("any-name", kThamesFingerprint);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->agency, kThames);
  EXPECT_EQ(id->subject_cn, "any-name");
  // A pinned agency is not recognised by its CN alone.
  EXPECT_FALSE(hub_->identify(kThames, std::string(64, 'f')).has_value());
  EXPECT_FALSE(hub_->identify(kThames, "").has_value());
}

TEST_F(HubTest, UnknownCertificate) {
  EXPECT_FALSE(hub_->identify("someone-else", std::string(64, '0')).has_value());
  EXPECT_FALSE(hub_->identify("", "").has_value());
}

TEST_F(HubTest, AdministratorIdentity) {
  auto admin = hub_->identify("hub-admin", "");
  ASSERT_TRUE(admin.has_value());
  EXPECT_TRUE(admin->agency.empty());
  EXPECT_TRUE(admin->has_role(Role::administrator));
  EXPECT_EQ(admin->name(), "hub-admin");
  auto bc = hub_->identify("bc-desk", "");
  ASSERT_TRUE(bc.has_value());
  EXPECT_FALSE(bc->has_role(Role::administrator));
  EXPECT_TRUE(bc->has_role(Role::business_continuity));
}

// ---- prepare_submit -------------------------------------------------------------------

TEST_F(HubTest, PrepareTheSample) {
  auto r = prepare(sample_, agency(kPolice));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->message.sender_agency, kPolice);
  EXPECT_EQ(r->message.message_id, "HP-2026-000123-1");
  EXPECT_EQ(r->message.sender_reference, "HP-20261123-0123");
  EXPECT_TRUE(r->message.transfer_id.empty());
  EXPECT_GT(r->received_at, 0);
  EXPECT_GE(r->validated_at, r->received_at);
  EXPECT_NE(r->canonical_xml.find("<incidentMessage"), std::string::npos);
  EXPECT_NE(r->canonical_xml.find("HP-2026-000123-1"), std::string::npos);
  ASSERT_EQ(r->targets.size(), 1u);
  const auto& t = r->targets[0];
  EXPECT_EQ(t.receiver, kFire);
  EXPECT_EQ(t.transfer_id, make_transfer_id(kPolice, "HP-20261123-0123", kFire));
  EXPECT_EQ(t.content_type, "application/xml");
  EXPECT_NE(t.payload.find("<incidentMessage"), std::string::npos);
  EXPECT_NE(t.payload.find(t.transfer_id), std::string::npos);  // the receiver sees the transfer id
  boost::system::error_code ec;
  auto findings = boost::json::parse(t.findings_json, ec);
  ASSERT_FALSE(ec) << t.findings_json;
  EXPECT_TRUE(findings.is_array());
}

TEST_F(HubTest, PrepareIsPure) {
  auto a = prepare(sample_, agency(kPolice));
  auto b = prepare(sample_, agency(kPolice));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->targets[0].payload, b->targets[0].payload);
  EXPECT_EQ(a->canonical_xml, b->canonical_xml);
  auto n = hub_->store().count("transfers");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(hub_->dispatcher().pending_total(), 0u);
}

TEST_F(HubTest, ContentTypeVariantsForXml) {
  for (std::string_view type : {"application/xml", "application/xml; charset=utf-8", "text/xml", ""}) {
    SCOPED_TRACE(type);
    auto r = prepare(sample_, agency(kPolice), type);
    EXPECT_TRUE(r.ok()) << r.error().describe();
  }
}

TEST_F(HubTest, WrongContentType) {
  const Error e = prepare_error(sample_, agency(kPolice), "application/json");
  EXPECT_EQ(e.rule, "unsupported-media-type");
  EXPECT_EQ(e.field, "Content-Type");
  EXPECT_NE(e.message.find("application/json"), std::string::npos);
}

// Regression (Hub::prepare_submit, the Content-Type check): media types are case-insensitive
// and optional whitespace may precede ';' (RFC 9110 section 8.3.1). The check once compared
// bytes and refused "Application/XML" and "application/xml ; charset=utf-8".
TEST_F(HubTest, ContentTypeIsCaseInsensitive) {
  for (std::string_view type : {"Application/XML", "TEXT/XML", "application/xml ; charset=utf-8"}) {
    SCOPED_TRACE(type);
    auto r = prepare(sample_, agency(kPolice), type);
    EXPECT_TRUE(r.ok()) << r.error().describe();
  }
}

TEST_F(HubTest, SenderMustMatchTheCertificate) {
  const Error e = prepare_error(sample_, agency("beds-cad"));
  EXPECT_EQ(e.rule, "forbidden");
  EXPECT_EQ(e.field, "incidentMessage/sender");
  EXPECT_NE(e.message.find(kPolice), std::string::npos);
  EXPECT_NE(e.message.find(kBeds), std::string::npos);
}

TEST_F(HubTest, AdministratorsCannotSubmit) {
  auto admin = hub_->identify("hub-admin", "");
  ASSERT_TRUE(admin.has_value());
  const Error e = prepare_error(sample_, *admin);
  EXPECT_EQ(e.rule, "forbidden");
  EXPECT_EQ(e.field, "certificate");
}

TEST_F(HubTest, UnknownReceiverNamesItsIndex) {
  const std::string one = replace(sample_, "<receiver>hertfordshire-fire</receiver>", "<receiver>atlantis-fire</receiver>");
  Error e = prepare_error(one, agency(kPolice));
  EXPECT_EQ(e.rule, "unknown-agency");
  EXPECT_EQ(e.field, "incidentMessage/receivers/receiver[1]");
  EXPECT_NE(e.message.find("atlantis-fire"), std::string::npos);

  const std::string second = replace(sample_, "<receiver>hertfordshire-fire</receiver>",
                                     "<receiver>hertfordshire-fire</receiver><receiver>atlantis-fire</receiver>");
  e = prepare_error(second, agency(kPolice));
  EXPECT_EQ(e.rule, "unknown-agency");
  EXPECT_EQ(e.field, "incidentMessage/receivers/receiver[2]");
}

TEST_F(HubTest, SelfTransferIsRefused) {
  const std::string body =
      replace(sample_, "<receiver>hertfordshire-fire</receiver>", "<receiver>hertfordshire-police</receiver>");
  const Error e = prepare_error(body, agency(kPolice));
  EXPECT_EQ(e.rule, "routing");
  EXPECT_EQ(e.field, "incidentMessage/receivers/receiver[1]");
}

TEST_F(HubTest, NoReceivers) {
  const std::string body = replace(sample_, "<receivers>\n    <receiver>hertfordshire-fire</receiver>\n  </receivers>\n", "");
  const Error e = prepare_error(body, agency(kPolice));
  EXPECT_EQ(e.rule, "routing");
  EXPECT_EQ(e.field, "incidentMessage/receivers");
}

TEST_F(HubTest, RepeatedReceiverGetsOneTarget) {
  const std::string body = replace(sample_, "<receiver>hertfordshire-fire</receiver>",
                                   "<receiver>hertfordshire-fire</receiver><receiver>hertfordshire-fire</receiver>");
  auto r = prepare(body, agency(kPolice));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->targets.size(), 1u);
}

TEST_F(HubTest, SchemaInvalidXmlHasLineAndColumn) {
  const std::string body = replace(sample_, "<messageType>create</messageType>", "<messageType>creat</messageType>");
  const Error e = prepare_error(body, agency(kPolice));
  EXPECT_EQ(e.rule, "schema");
  EXPECT_GT(e.line, 0);
  EXPECT_GT(e.column, 0);
  EXPECT_EQ(e.line, 4);
}

TEST_F(HubTest, MalformedXmlHasLineAndColumn) {
  const std::string body = replace(sample_, "</status>", "</statu>");
  const Error e = prepare_error(body, agency(kPolice));
  EXPECT_FALSE(e.rule.empty());
  EXPECT_GT(e.line, 0);
  EXPECT_GT(e.column, 0);
}

TEST_F(HubTest, ReceiverInAnotherFormatGetsThatFormat) {
  const std::string body =
      replace(sample_, "<receiver>hertfordshire-fire</receiver>",
              "<receiver>hertfordshire-fire</receiver><receiver>east-of-england-ambulance</receiver>"
              "<receiver>thames-valley-police</receiver>");
  auto r = prepare(body, agency(kPolice));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->targets.size(), 3u);

  EXPECT_EQ(r->targets[0].receiver, kFire);
  EXPECT_NE(r->targets[0].payload.find("<incidentMessage"), std::string::npos);

  const auto& amb = r->targets[1];
  EXPECT_EQ(amb.receiver, kAmbulance);
  EXPECT_EQ(amb.content_type, "application/json");
  EXPECT_EQ(amb.transfer_id, make_transfer_id(kPolice, "HP-20261123-0123", kAmbulance));
  boost::system::error_code ec;
  auto json = boost::json::parse(amb.payload, ec);
  ASSERT_FALSE(ec) << amb.payload;
  EXPECT_TRUE(json.is_object());

  const auto& pol = r->targets[2];
  EXPECT_EQ(pol.receiver, kThames);
  EXPECT_EQ(pol.content_type, "application/xml");
  EXPECT_NE(pol.payload.find("<policeIncident"), std::string::npos) << pol.payload.substr(0, 200);
  EXPECT_NE(pol.payload.find(pol.transfer_id), std::string::npos);

  // The translation is checked: each payload decodes with the receiver's own adapter.
  for (const auto& t : r->targets) {
    const Agency* a = hub_->config().find_agency(t.receiver);
    ASSERT_NE(a, nullptr);
    auto back = hub_->adapters().find(a->format)->decode(t.payload);
    EXPECT_TRUE(back.ok()) << t.receiver << ": " << back.error().describe();
  }
}

// ---- may_read -------------------------------------------------------------------------

TEST(HubMayRead, Rules) {
  TransferRecord t;
  t.sender = kPolice;
  t.receiver = kFire;
  EXPECT_TRUE(Hub::may_read(Identity{kPolice, kPolice, "", {Role::operator_role}}, t));
  EXPECT_TRUE(Hub::may_read(Identity{kFire, kFire, "", {Role::operator_role}}, t));
  EXPECT_FALSE(Hub::may_read(Identity{kAmbulance, kAmbulance, "", {Role::operator_role}}, t));
  // Business continuity is not a licence to read other agencies' incidents.
  EXPECT_FALSE(Hub::may_read(Identity{kBeds, "beds-cad", "", {Role::business_continuity}}, t));
  EXPECT_TRUE(Hub::may_read(Identity{"", "hub-admin", "", {Role::administrator}}, t));
  EXPECT_TRUE(Hub::may_read(Identity{kAmbulance, "x", "", {Role::operator_role, Role::administrator}}, t));
  EXPECT_FALSE(Hub::may_read(Identity{"", "bc-desk", "", {Role::business_continuity}}, t));
  // An empty agency never matches an empty sender.
  TransferRecord blank;
  EXPECT_FALSE(Hub::may_read(Identity{"", "nobody", "", {}}, blank));
}

// ---- commit / acknowledge / decide ----------------------------------------------------

TEST_F(HubTest, CommitAcknowledgeDecideKeepTheDispatcherInStep) {
  int fire_notified = 0;
  hub_->dispatcher().subscribe(kFire, [&] { ++fire_notified; });

  auto committed = commit(sample_);
  ASSERT_TRUE(committed.ok()) << committed.error().describe();
  ASSERT_EQ(committed->deliveries.size(), 1u);
  const std::uint64_t seq = committed->deliveries[0].seq;
  // Enqueued before the completion ran.
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 1u);
  EXPECT_EQ(fire_notified, 1);
  const auto pending = hub_->dispatcher().pending_after(kFire, 0, 10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].seq, seq);
  const std::string transfer = committed->transfers.at(0).first;

  // The same message again: nothing new queued.
  auto again = commit(sample_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 1u);
  EXPECT_EQ(fire_notified, 1);

  // Someone else's acknowledgement changes nothing.
  auto wrong = sync<AckOutcome>([&](auto done) { hub_->acknowledge(kAmbulance, {seq}, done); });
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(wrong->acknowledged.empty());
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 1u);

  auto acked = sync<AckOutcome>([&](auto done) { hub_->acknowledge(kFire, {seq}, done); });
  ASSERT_TRUE(acked.ok()) << acked.error().describe();
  EXPECT_EQ(acked->acknowledged, std::vector<std::uint64_t>{seq});
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 0u);
  EXPECT_EQ(hub_->store().transfer(transfer)->state, "delivered");

  auto decided = sync<DecisionOutcome>(
      [&](auto done) { hub_->decide(DecisionRequest{kFire, transfer, true, "", "op 3"}, done); });
  ASSERT_TRUE(decided.ok()) << decided.error().describe();
  ASSERT_TRUE(decided->status_for_sender.has_value());
  EXPECT_EQ(hub_->dispatcher().pending_count(kPolice), 1u);
  EXPECT_EQ(hub_->store().transfer(transfer)->state, "accepted");

  // Deciding the same way again queues nothing more.
  auto same = sync<DecisionOutcome>(
      [&](auto done) { hub_->decide(DecisionRequest{kFire, transfer, true, "", "op 3"}, done); });
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->unchanged);
  EXPECT_EQ(hub_->dispatcher().pending_count(kPolice), 1u);

  auto status_ack = sync<AckOutcome>(
      [&](auto done) { hub_->acknowledge(kPolice, {decided->status_for_sender->seq}, done); });
  ASSERT_TRUE(status_ack.ok());
  EXPECT_EQ(hub_->dispatcher().pending_total(), 0u);
}

TEST_F(HubTest, RetentionErasesTransfersThatEndedLongerAgoThanThePeriod) {
  hub_.reset();
  Config c = config();
  c.retention_days = 30;
  auto h = Hub::create(std::move(c));
  ASSERT_TRUE(h.ok()) << h.error().describe();
  hub_ = std::move(h).value();
  auto committed = commit(sample_);
  ASSERT_TRUE(committed.ok()) << committed.error().describe();
  const std::string transfer = committed->transfers.at(0).first;
  const std::uint64_t seq = committed->deliveries.at(0).seq;
  ASSERT_TRUE(sync<AckOutcome>([&](auto done) { hub_->acknowledge(kFire, {seq}, done); }).ok());
  ASSERT_TRUE(sync<DecisionOutcome>([&](auto done) {
                hub_->decide(DecisionRequest{kFire, transfer, false, "not a fire service matter", "op 3"}, done);
              }).ok());
  auto barrier = [&] { ASSERT_TRUE(sync<AckOutcome>([&](auto done) { hub_->acknowledge(kFire, {}, done); }).ok()); };
  auto last_event = [&] {
    auto h = hub_->store().history(transfer);
    return h.ok() && !h->empty() ? h->back().event : std::string();
  };
  constexpr std::int64_t kDay = 24 * 3600 * 1000;

  hub_->sweep_retention(now_ms() + 29 * kDay);  // rejected 29 days ago: kept
  barrier();
  EXPECT_EQ(last_event(), "rejected");
  hub_->sweep_retention(now_ms() + 31 * kDay);
  barrier();
  EXPECT_EQ(last_event(), "erased");
  auto history = hub_->store().history(transfer);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().detail, "retention: ended more than 30 days ago");
  EXPECT_EQ(hub_->store().transfer(transfer)->state, "rejected") << "the skeleton stays";
}

TEST_F(HubTest, RefusedCommitQueuesNothing) {
  ASSERT_TRUE(commit(sample_).ok());
  // A second create for the same reference with a new message id conflicts.
  auto r = commit(replace(sample_, "HP-2026-000123-1", "HP-2026-000123-2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "conflict");
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 1u);
}

TEST_F(HubTest, PendingDeliveriesAreReloadedOnRestart) {
  auto r = commit(sample_);
  ASSERT_TRUE(r.ok());
  auto second = commit(replace(replace(sample_, "HP-2026-000123-1", "HP-2026-000124-1"), "HP-20261123-0123",
                               "HP-20261123-0124"));
  ASSERT_TRUE(second.ok()) << second.error().describe();
  start();
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 2u);
  const auto pending = hub_->dispatcher().pending_after(kFire, 0, 10);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].seq, r->deliveries[0].seq);
  EXPECT_EQ(pending[1].seq, second->deliveries[0].seq);
}

// ---- gazetteer reload -----------------------------------------------------------------

// A small gazetteer for the reload test: `extra` lines appended to its CSV.
std::string build_gazetteer(const fs::path& dir, const std::string& name, const std::string& extra = "") {
  fs::create_directories(dir);
  const fs::path csv = dir / (name + ".csv");
  std::ofstream(csv) << "uprn,parent_uprn,sao,pao,street,locality,town,postcode,easting,northing,custodian,classification\n"
                        "100,,,12,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,RD04\n"
                        "111,,,7,ACACIA AVENUE,,WATFORD,WD18 0AA,510500,196000,1945,RD03\n"
                     << extra;
  gazetteer::BuildOptions options;
  options.sources.push_back(gazetteer::SourceFile{csv.string(), gazetteer::SourceFormat::unknown});
  const std::string out = (dir / (name + ".gaz")).string();
  auto built = gazetteer::build_snapshot(options, out);
  EXPECT_TRUE(built.ok()) << built.error().describe();
  return out;
}

// An AddressBase Premium change-only update adding UPRN 500, 1 New Build Way, Watford.
constexpr const char* kNewBuildCou =
    "10,\"TEST\",1945,2024-02-01,2,2024-02-01,00:00:00,1.0,C\n"
    "15,\"I\",1,30000001,\"NEW BUILD WAY\",\"\",\"WATFORD\",\"WATFORD\",\"ENG\",2024-02-01,,2024-02-01,2024-02-01\n"
    "21,\"I\",2,500,1,2,2024-02-01,,511200.00,196600.00,0,0,1,1945,\"E\",2024-02-01,,2024-02-01,2024-02-01,\"D\","
    "\"WD17 9ZZ\",0\n"
    "24,\"I\",3,500,\"1945L500\",\"ENG\",1,2024-02-01,,2024-02-01,2024-02-01,,,,,\"\",1,,,,\"\",30000001,\"1\",\"\",\"\","
    "\"Y\"\n"
    "99,0,4,2024-02-01,00:00:00\n";

// A new supply or an update reaches the running hub on reload: submits prepared after it
// verify against it, a handle taken before it keeps working, and a snapshot that does not
// open changes nothing.
TEST_F(HubTest, AReloadedGazetteerVerifiesAgainstItsUpdatesAndABrokenOneChangesNothing) {
  const std::string first = build_gazetteer(dir_ / "gaz", "first");
  Config c = config();
  c.gazetteer.snapshot = first;
  hub_.reset();
  auto created = Hub::create(c);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  hub_ = std::move(created).value();
  Config next = c;
  hub_->set_config_source([&next]() -> Result<Config> { return next; });

  const std::string at_new_build = replace(sample_, "A414 eastbound near the Colney Heath turn, St Albans",
                                           "1 New Build Way, Watford, WD17 9ZZ");
  auto verified = [&]() {
    auto prepared = prepare(at_new_build, agency(kPolice));
    EXPECT_TRUE(prepared.ok()) << prepared.error().describe();
    return prepared.ok() && prepared->location_verified;
  };
  EXPECT_FALSE(verified());
  auto unchanged = hub_->reload_gazetteer("test");
  ASSERT_TRUE(unchanged.ok()) << unchanged.error().describe();
  EXPECT_FALSE(unchanged->changed);

  // `deit-gazetteer update` on the same snapshot: the hub's handle does not see it until the reload.
  const auto before = hub_->gazetteer();
  ASSERT_TRUE(before.has_value());
  {
    auto offline = gazetteer::Gazetteer::open(first);
    ASSERT_TRUE(offline.ok());
    const fs::path cou = dir_ / "gaz" / "cou.csv";
    std::ofstream(cou) << kNewBuildCou;
    ASSERT_TRUE(offline->apply_update({cou.string()}).ok());
  }
  EXPECT_FALSE(verified());
  auto updated = hub_->reload_gazetteer("test");
  ASSERT_TRUE(updated.ok()) << updated.error().describe();
  EXPECT_TRUE(updated->changed);
  EXPECT_EQ(updated->info.delta_upserts, 1u);
  EXPECT_TRUE(verified());
  EXPECT_TRUE(hub_->gazetteer()->lookup(500).has_value());
  EXPECT_FALSE(before->lookup(500).has_value());  // the old handle still answers, from the old files
  EXPECT_TRUE(before->lookup(100).has_value());

  // A snapshot replaced by something that is not one: refused, the one in use stays.
  const fs::path broken = dir_ / "gaz" / "broken.gaz";
  std::ofstream(broken) << "not a snapshot";
  fs::rename(broken, first);
  auto refused = hub_->reload_gazetteer("test");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "gazetteer.snapshot");
  EXPECT_TRUE(verified());

  // A new supply named in the configuration file: opened by the configuration reload.
  next.gazetteer.snapshot = build_gazetteer(dir_ / "gaz", "second", "600,,,2,NEW BUILD WAY,,WATFORD,WD17 9ZZ,511210,196610,1945,RD04\n");
  auto reloaded = hub_->reload_config("test");
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().describe();
  EXPECT_EQ(reloaded->changes.settings, std::vector<std::string>{"gazetteer"});
  EXPECT_TRUE(hub_->gazetteer()->lookup(600).has_value());
  EXPECT_FALSE(hub_->gazetteer()->lookup(500).has_value());

  // One that does not open fails the whole configuration reload.
  next.gazetteer.snapshot = first;
  next.retention_days = 9;
  auto failed = hub_->reload_config("test");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().field, "gazetteer.snapshot");
  EXPECT_NE(hub_->config().retention_days, 9);
  EXPECT_TRUE(hub_->gazetteer()->lookup(600).has_value());

  // Without a snapshot in the file the hub runs on, unverified.
  next.gazetteer.snapshot.clear();
  ASSERT_TRUE(hub_->reload_config("test").ok());
  EXPECT_FALSE(hub_->gazetteer().has_value());
  EXPECT_FALSE(verified());
  EXPECT_FALSE(hub_->reload_gazetteer("test").ok());
}

TEST_F(HubTest, SweepDeadLettersThenRequeue) {
  auto r = commit(sample_);
  ASSERT_TRUE(r.ok());
  const Delivery d = r->deliveries.at(0);

  // Not yet stale: nothing happens.
  hub_->sweep_dead_letters(d.queued_at + 59'000);
  // Operations complete in order, so an acknowledgement of nothing is a barrier.
  auto barrier = [&] { ASSERT_TRUE(sync<AckOutcome>([&](auto done) { hub_->acknowledge(kFire, {}, done); }).ok()); };
  barrier();
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 1u);

  hub_->sweep_dead_letters(d.queued_at + 61'000);
  barrier();
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 0u);
  EXPECT_EQ(hub_->dispatcher().pending_count(kPolice), 1u);  // the sender is told
  EXPECT_EQ(hub_->store().transfer(d.transfer_id)->state, "dead-letter");
  auto dead = hub_->store().dead_letters(kFire);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE(dead->at(0).last_error.find("60 s"), std::string::npos) << dead->at(0).last_error;

  auto requeued = sync<Delivery>([&](auto done) { hub_->requeue(d.seq, done); });
  ASSERT_TRUE(requeued.ok()) << requeued.error().describe();
  EXPECT_GT(requeued->seq, d.seq);
  EXPECT_EQ(hub_->dispatcher().pending_count(kFire), 1u);
  EXPECT_EQ(hub_->store().transfer(d.transfer_id)->state, "stored");
}

// ---- findings_to_json -------------------------------------------------------------------

TEST(FindingsToJson, Shape) {
  EXPECT_EQ(findings_to_json({}), "[]");
  const std::string s = findings_to_json({{"incident/type", "unmapped-code", "no \"IRS\" code"}});
  auto v = boost::json::parse(s);
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.as_array().size(), 1u);
  EXPECT_EQ(v.as_array()[0].at("field").as_string(), "incident/type");
  EXPECT_EQ(v.as_array()[0].at("rule").as_string(), "unmapped-code");
  EXPECT_EQ(v.as_array()[0].at("message").as_string(), "no \"IRS\" code");
}

}  // namespace
}  // namespace deit::hub
