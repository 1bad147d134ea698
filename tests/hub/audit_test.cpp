// The audit log: canonical serialisation and hashing, the chain the store writes inside
// each operation's savepoint, tamper detection (UPDATE, DELETE, swapped rows, truncation),
// erasure, and the entries the API writes for reads and refusals.
#include "hub/audit.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "hub/audit_api.hpp"
#include "hub/store.hpp"
#include "query_text.hpp"

namespace deit::hub {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using model::MessageType;

constexpr const char* kPolice = "hertfordshire-police";
constexpr const char* kFire = "hertfordshire-fire";
constexpr const char* kAmbulance = "east-of-england-ambulance";

template <typename T, typename Start>
Result<T> sync(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

SubmitRequest request(const std::string& id, MessageType type, const std::string& reference,
                      std::vector<std::string> receivers = {kFire}, std::uint64_t sequence = 0) {
  SubmitRequest r;
  r.message.message_id = id;
  r.message.type = type;
  r.message.sequence = sequence;
  r.message.sender_agency = kPolice;
  r.message.receiving_agencies = receivers;
  r.message.sender_reference = reference;
  r.message.reason = model::TransferReason::assistance_request;
  r.message.incident.priority.police_grade = model::PoliceGrade::emergency;
  r.canonical_xml = "<incidentMessage><caller>Jane Doe, 07700 900123</caller></incidentMessage>";
  r.received_at = now_ms();
  r.validated_at = r.received_at;
  r.location_json = R"({"verified":true,"uprn":100081234567,"address":"12 High St"})";
  r.location_verified = true;
  for (const auto& receiver : receivers)
    r.targets.push_back(SubmitRequest::Target{make_transfer_id(kPolice, reference, receiver), receiver,
                                              "application/xml", "<for>" + receiver + ": Jane Doe</for>",
                                              R"([{"field":"incident/location","rule":"location-enriched","message":"added UPRN"}])"});
  return r;
}

json::object detail_of(const AuditRecord& r) { return json::parse(r.detail).as_object(); }

std::vector<std::string> transfers_in(const AuditRecord& r) {
  std::vector<std::string> out;
  const auto d = detail_of(r);
  if (const auto* t = d.if_contains("transfers"))
    for (const auto& v : t->as_array()) out.emplace_back(v.as_string());
  return out;
}

// Runs SQL on the store file as a tamperer would, with the sqlite3 library.
void tamper(const fs::path& db, const std::string& sql) {
  sqlite3* c = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &c), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(c, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
  sqlite3_free(err);
  sqlite3_close(c);
}

// Runs SQL expected to fail; returns the error message.
std::string refused_sql(const fs::path& db, const std::string& sql) {
  sqlite3* c = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &c), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(c, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(c);
  return rc == SQLITE_OK ? std::string("accepted") : message;
}

// ---- canonical serialisation ---------------------------------------------------------------

AuditRecord sample_record() {
  AuditRecord r;
  r.seq = 7;
  r.at = 1700000000123;
  r.actor = "hertfordshire-fire/op 7";
  r.action = "accepted";
  r.category = "lifecycle";
  r.subject = "transfer:T-abc";
  r.detail = R"({"sender":"hertfordshire-police"})";
  r.reason = "two appliances, ETA 8 min";
  r.prev_hash = std::string(kAuditGenesisHash);
  return r;
}

TEST(AuditFormat, CanonicalBytesAreTaggedLengthPrefixedFieldsInOrder) {
  EXPECT_EQ(canonical_audit_bytes(sample_record()),
            "12:deit-audit/1,1:7,13:1700000000123,23:hertfordshire-fire/op 7,8:accepted,9:lifecycle,"
            "14:transfer:T-abc,33:{\"sender\":\"hertfordshire-police\"},25:two appliances, ETA 8 min,"
            "64:" + std::string(kAuditGenesisHash) + ",");
}

// An entry's hash is SHA-256 of those bytes in lower-case hex; chains written by earlier
// builds verify only if it never changes. Expected value from Python's hashlib.
TEST(AuditFormat, HashIsSha256OfTheCanonicalBytes) {
  EXPECT_EQ(audit_hash(sample_record()), "ffe313b1b95c0e359da810aa99ffda43a6c591638e2a84b7e1767237f6aa3baa");
}

TEST(AuditFormat, FieldBoundariesCannotBeShifted) {
  AuditRecord a = sample_record(), b = sample_record();
  a.actor = "ab";
  a.action = "c";
  b.actor = "a";
  b.action = "bc";
  EXPECT_NE(canonical_audit_bytes(a), canonical_audit_bytes(b));
  EXPECT_NE(audit_hash(a), audit_hash(b));
  // A separator inside a field is just a byte of it.
  AuditRecord c = sample_record(), d = sample_record();
  c.reason = "x,1:y";
  d.reason = "x";
  d.prev_hash = "y";
  EXPECT_NE(canonical_audit_bytes(c), canonical_audit_bytes(d));
}

TEST(AuditFormat, HashIsSha256OfTheCanonicalBytesAndCoversEveryField) {
  const AuditRecord r = sample_record();
  const std::string bytes = canonical_audit_bytes(r);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr), 1);
  std::string expected;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    expected += buf;
  }
  EXPECT_EQ(audit_hash(r), expected);
  EXPECT_EQ(audit_hash(r).size(), 64u);

  std::set<std::string> hashes{audit_hash(r)};
  for (int field = 0; field < 9; ++field) {
    AuditRecord changed = r;
    switch (field) {
      case 0: changed.seq = 8; break;
      case 1: changed.at += 1; break;
      case 2: changed.actor += "x"; break;
      case 3: changed.action += "x"; break;
      case 4: changed.category = "refusal"; break;
      case 5: changed.subject += "x"; break;
      case 6: changed.detail = "{}"; break;
      case 7: changed.reason += "."; break;
      case 8: changed.prev_hash[0] = '1'; break;
    }
    EXPECT_TRUE(hashes.insert(audit_hash(changed)).second) << "field " << field << " is not covered by the hash";
  }
  AuditRecord stored = r;
  stored.hash = "anything";  // the stored hash itself is not hashed
  EXPECT_EQ(audit_hash(stored), audit_hash(r));
}

TEST(AuditFormat, CategoriesHaveStableNames) {
  const std::map<AuditCategory, std::string> names{
      {AuditCategory::collection, "collection"},     {AuditCategory::alteration, "alteration"},
      {AuditCategory::consultation, "consultation"}, {AuditCategory::disclosure, "disclosure"},
      {AuditCategory::erasure, "erasure"},           {AuditCategory::refusal, "refusal"},
      {AuditCategory::lifecycle, "lifecycle"},       {AuditCategory::buddy, "buddy"},
      {AuditCategory::administration, "administration"}};
  for (const auto& [c, name] : names) {
    EXPECT_EQ(to_string(c), name);
    EXPECT_EQ(parse_audit_category(name), c);
  }
  EXPECT_FALSE(parse_audit_category("reading").has_value());
}

TEST(AuditFormat, AnchorsParse) {
  const std::string h(64, 'a');
  auto a = parse_audit_anchor("42:" + std::string(64, 'A'));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->seq, 42);
  EXPECT_EQ(a->hash, h);
  for (const std::string& bad : std::vector<std::string>{"42", "x:" + h, "0:" + h, "-1:" + h, "42:abc",
                                                          "42:" + std::string(64, 'g'), ":" + h}) {
    auto r = parse_audit_anchor(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "head");
  }
}

TEST(AuditFormat, RecordJsonCarriesEveryField) {
  AuditRecord r = sample_record();
  r.hash = audit_hash(r);
  const auto o = json::parse(audit_record_json(r)).as_object();
  EXPECT_EQ(o.at("seq").as_int64(), 7);
  EXPECT_EQ(o.at("at").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(o.at("actor").as_string(), r.actor);
  EXPECT_EQ(o.at("action").as_string(), r.action);
  EXPECT_EQ(o.at("category").as_string(), r.category);
  EXPECT_EQ(o.at("subject").as_string(), r.subject);
  EXPECT_EQ(o.at("detail").as_object().at("sender").as_string(), "hertfordshire-police");
  EXPECT_EQ(o.at("reason").as_string(), r.reason);
  EXPECT_EQ(o.at("prevHash").as_string(), r.prev_hash);
  EXPECT_EQ(o.at("hash").as_string(), r.hash);
}

// ---- the store writes the chain --------------------------------------------------------------

class StoreAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deit-audit-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = dir_ / "hub.db";
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    auto s = Store::open(db_.string());
    ASSERT_TRUE(s.ok()) << s.error().describe();
    store_ = std::move(s).value();
  }
  void close() { store_.reset(); }

  Result<SubmitOutcome> submit(SubmitRequest r) {
    return sync<SubmitOutcome>([&](auto done) { store_->submit(std::move(r), done); });
  }
  SubmitOutcome submit_ok(SubmitRequest r) {
    auto out = submit(std::move(r));
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().describe());
    return out.ok() ? std::move(out).value() : SubmitOutcome{};
  }
  Result<AckOutcome> ack(const std::string& agency, std::vector<std::uint64_t> seqs) {
    return sync<AckOutcome>([&](auto done) { store_->acknowledge(agency, seqs, done); });
  }
  Result<DecisionOutcome> decide(const std::string& transfer, bool accept, const std::string& reason) {
    return sync<DecisionOutcome>(
        [&](auto done) { store_->decide(DecisionRequest{kFire, transfer, accept, reason, "hertfordshire-fire/op 7"}, done); });
  }
  Result<EraseOutcome> erase(const std::string& transfer, const std::string& reason) {
    return sync<EraseOutcome>([&](auto done) { store_->erase_transfer(EraseRequest{transfer, "hub-admin", reason}, done); });
  }
  std::vector<AuditRecord> entries(const std::string& subject = {}) {
    auto e = read_audit_file(db_.string(), subject);
    EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().describe());
    return e.ok() ? std::move(e).value() : std::vector<AuditRecord>{};
  }
  AuditReport verify(const std::vector<AuditAnchor>& anchors = {}) {
    auto r = verify_audit_file(db_.string(), anchors);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
    return r.ok() ? std::move(r).value() : AuditReport{};
  }
  // A store with ten chained entries, closed, ready to be tampered with.
  void ten_entries_then_close() {
    for (int i = 1; i <= 10; ++i) {
      auto r = sync<AuditRecord>([&](auto done) {
        store_->append_audit({"hub-admin", "note-" + std::to_string(i), AuditCategory::administration, "hub",
                              R"({"n":)" + std::to_string(i) + "}", "test"},
                             done);
      });
      ASSERT_TRUE(r.ok()) << r.error().describe();
      ASSERT_EQ(r->seq, i);
    }
    close();
    ASSERT_TRUE(verify().ok());
  }
  void drop_triggers() { tamper(db_, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"); }

  fs::path dir_, db_;
  std::unique_ptr<Store> store_;
};

const std::string kTransfer = make_transfer_id(kPolice, "REF-1", kFire);

TEST_F(StoreAuditTest, EveryStoreOperationAppendsOneChainedEntryWithWhoWhatWhy) {
  submit_ok(request("M-1", MessageType::create, "REF-1"));
  submit_ok(request("M-2", MessageType::update, "REF-1", {kFire}, 2));
  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok());
  std::vector<std::uint64_t> seqs;
  for (const auto& d : *pending) seqs.push_back(d.seq);
  ASSERT_EQ(seqs.size(), 2u);
  ASSERT_TRUE(ack(kFire, seqs).ok());
  auto accepted = decide(kTransfer, true, "two appliances mobilised");
  ASSERT_TRUE(accepted.ok());
  ASSERT_TRUE(submit(request("M-1", MessageType::create, "REF-1")).ok());  // a repeat: duplicate

  const auto e = entries();
  ASSERT_EQ(e.size(), 5u);
  // Chain: entry 1 starts from the genesis hash, each next one from its predecessor.
  EXPECT_EQ(e[0].prev_hash, kAuditGenesisHash);
  for (std::size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(e[i].seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(e[i].hash, audit_hash(e[i]));
    if (i) {
      EXPECT_EQ(e[i].prev_hash, e[i - 1].hash);
    }
    EXPECT_GT(e[i].at, 0);
    if (i) {
      EXPECT_GE(e[i].at, e[i - 1].at);
    }
  }
  EXPECT_EQ(e[0].category, "collection");
  EXPECT_EQ(e[0].action, "submit-create");
  EXPECT_EQ(e[0].actor, kPolice);
  EXPECT_EQ(e[0].subject, "message:hertfordshire-police/M-1");
  EXPECT_EQ(e[0].reason, "assistance-request");
  EXPECT_EQ(detail_of(e[0]).at("receivers").as_array().at(0).as_string(), kFire);
  EXPECT_EQ(transfers_in(e[0]), std::vector<std::string>{kTransfer});
  // The audit carries references, never the incident's personal data.
  EXPECT_EQ(e[0].detail.find("Jane"), std::string::npos);

  EXPECT_EQ(e[1].category, "alteration");
  EXPECT_EQ(e[1].action, "submit-update");
  EXPECT_EQ(detail_of(e[1]).at("sequence").as_int64(), 2);

  EXPECT_EQ(e[2].category, "disclosure");
  EXPECT_EQ(e[2].actor, kFire);
  EXPECT_EQ(e[2].subject, "transfer:" + kTransfer);
  EXPECT_EQ(detail_of(e[2]).at("deliveries").as_array().size(), 2u);
  EXPECT_EQ(detail_of(e[2]).at("recipient").as_string(), kFire);

  EXPECT_EQ(e[3].category, "lifecycle");
  EXPECT_EQ(e[3].action, "accepted");
  EXPECT_EQ(e[3].actor, "hertfordshire-fire/op 7");
  EXPECT_EQ(e[3].reason, "two appliances mobilised");

  EXPECT_EQ(e[4].action, "submit-duplicate");
  EXPECT_EQ(e[4].category, "lifecycle");

  const AuditReport report = verify();
  EXPECT_TRUE(report.ok()) << report.text();
  EXPECT_EQ(report.entries, 5);
  EXPECT_EQ(report.head_hash, e[4].hash);
  auto head = store_->audit_head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 5);
  EXPECT_EQ(head->hash, e[4].hash);
}

TEST_F(StoreAuditTest, DeadLetterRequeueAndPushFailuresAreLifecycleEntries) {
  const auto created = submit_ok(request("M-1", MessageType::create, "REF-1"));
  const std::uint64_t seq = created.deliveries.at(0).seq;
  store_->record_attempt(seq, "connection refused");
  auto dead = sync<std::vector<Delivery>>([&](auto done) { store_->dead_letter({seq}, "not acknowledged in 600 s", done); });
  ASSERT_TRUE(dead.ok());
  auto requeued = sync<Delivery>([&](auto done) { store_->requeue(seq, "hub-admin", done); });
  ASSERT_TRUE(requeued.ok());

  const auto e = entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[1].action, "push-failed");
  EXPECT_EQ(e[1].reason, "connection refused");
  EXPECT_EQ(e[2].action, "dead-letter");
  EXPECT_EQ(e[2].actor, "hub");
  EXPECT_EQ(e[2].reason, "not acknowledged in 600 s");
  EXPECT_EQ(e[2].subject, "transfer:" + kTransfer);
  EXPECT_EQ(e[3].action, "requeue");
  EXPECT_EQ(e[3].actor, "hub-admin");
  EXPECT_EQ(detail_of(e[3]).at("newDelivery").as_int64(), static_cast<std::int64_t>(requeued->seq));
  for (std::size_t i = 1; i < e.size(); ++i) EXPECT_EQ(e[i].category, "lifecycle");
  auto history = store_->history(kTransfer);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().event, "requeued");
  EXPECT_EQ(history->back().actor, "hub-admin");
  EXPECT_TRUE(verify().ok());
}

TEST_F(StoreAuditTest, AFailedOperationLeavesNoAuditEntry) {
  submit_ok(request("M-1", MessageType::create, "REF-1"));
  ASSERT_EQ(entries().size(), 1u);
  const std::string before = entries().back().hash;

  auto conflict = submit(request("M-2", MessageType::create, "REF-1"));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().rule, "conflict");
  auto stale = submit(request("M-3", MessageType::update, "REF-1", {kFire}, 1));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().rule, "sequence");
  auto unknown = submit(request("M-4", MessageType::update, "REF-nothing"));
  ASSERT_FALSE(unknown.ok());
  auto no_reason = decide(kTransfer, false, "");
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().rule, "required");
  auto pending = erase(kTransfer, "subject access request 2026/17");
  ASSERT_FALSE(pending.ok());
  EXPECT_EQ(pending.error().rule, "conflict");
  auto unacknowledged_seq = ack(kAmbulance, {1});  // not theirs: nothing acknowledged, nothing disclosed
  ASSERT_TRUE(unacknowledged_seq.ok());
  EXPECT_TRUE(unacknowledged_seq->acknowledged.empty());

  const auto e = entries();
  ASSERT_EQ(e.size(), 1u) << "a failed or empty operation wrote an audit entry: " << e.back().action;
  EXPECT_EQ(e.back().hash, before);
  EXPECT_TRUE(verify().ok());
}

TEST_F(StoreAuditTest, FailuresInsideOneBatchLeaveNoGapInTheChain) {
  submit_ok(request("M-0", MessageType::create, "REF-x", {kAmbulance}));
  // Hold the writer in a completion so that the next operations form one batch.
  std::promise<void> release, holding;
  std::shared_future<void> released = release.get_future().share();
  store_->submit(request("M-hold", MessageType::create, "REF-hold"), [&, released](Result<SubmitOutcome> r) {
    EXPECT_TRUE(r.ok());
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();
  std::vector<std::future<bool>> results;
  auto start = [&](SubmitRequest r) {
    auto p = std::make_shared<std::promise<bool>>();
    results.push_back(p->get_future());
    store_->submit(std::move(r), [p](Result<SubmitOutcome> out) { p->set_value(out.ok()); });
  };
  auto start_audit = [&](const std::string& action) {
    auto p = std::make_shared<std::promise<bool>>();
    results.push_back(p->get_future());
    store_->append_audit({"hertfordshire-fire", action, AuditCategory::consultation, "agency:hertfordshire-fire", "{}", ""},
                         [p](Result<AuditRecord> r) { p->set_value(r.ok()); });
  };
  start(request("M-good-1", MessageType::create, "REF-good-1"));
  start(request("M-bad-1", MessageType::create, "REF-x", {kFire, kAmbulance}));  // fails after writing its first target
  start_audit("read-inbox");
  start(request("M-bad-2", MessageType::update, "REF-nothing"));
  start(request("M-good-2", MessageType::create, "REF-good-2"));
  start_audit("list-transfers");
  release.set_value();
  std::vector<bool> ok;
  for (auto& f : results) ok.push_back(f.get());
  EXPECT_EQ(ok, (std::vector<bool>{true, false, true, false, true, true}));

  const auto e = entries();
  std::vector<std::string> actions;
  for (const auto& r : e) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"submit-create", "submit-create", "submit-create", "read-inbox",
                                               "submit-create", "list-transfers"}));
  const AuditReport report = verify();
  EXPECT_TRUE(report.ok()) << report.text();
  EXPECT_EQ(report.entries, 6);
}

TEST_F(StoreAuditTest, AppendAuditRecordsWhatTheStoreDoesNotSee) {
  auto r = sync<AuditRecord>([&](auto done) {
    store_->append_audit({"bedfordshire-police", "buddy-invoke", AuditCategory::buddy, "agency:hertfordshire-police",
                          R"({"buddy":"bedfordshire-police","home":"hertfordshire-police"})",
                          "Hertfordshire call centre evacuated"},
                         done);
  });
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->seq, 1);
  EXPECT_EQ(r->category, "buddy");
  EXPECT_EQ(r->prev_hash, kAuditGenesisHash);
  EXPECT_EQ(r->hash, audit_hash(*r));
  const auto e = entries("agency:hertfordshire-police");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].reason, "Hertfordshire call centre evacuated");
  EXPECT_EQ(e[0].hash, r->hash);

  auto not_json = sync<AuditRecord>(
      [&](auto done) { store_->append_audit({"x", "y", AuditCategory::buddy, "s", "buddy=bedfordshire", ""}, done); });
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().field, "detail");
  auto array = sync<AuditRecord>([&](auto done) { store_->append_audit({"x", "y", AuditCategory::buddy, "s", "[1]", ""}, done); });
  ASSERT_FALSE(array.ok());
  auto nobody = sync<AuditRecord>([&](auto done) { store_->append_audit({"", "y", AuditCategory::buddy, "s", "{}", ""}, done); });
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().field, "actor");
  // Without a completion it still lands.
  store_->append_audit({"hub", "no-completion", AuditCategory::administration, "hub", "", ""});
  close();
  EXPECT_EQ(entries().size(), 2u);
}

TEST_F(StoreAuditTest, SubjectFilterFindsEntriesListingATransfer) {
  submit_ok(request("M-1", MessageType::create, "REF-1", {kFire, kAmbulance}));
  submit_ok(request("M-2", MessageType::create, "REF-2"));
  const std::string to_ambulance = make_transfer_id(kPolice, "REF-1", kAmbulance);
  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok());
  for (const auto& d : *pending)
    if (d.agency == kAmbulance) {
      ASSERT_TRUE(ack(kAmbulance, {d.seq}).ok());
    }

  EXPECT_EQ(entries().size(), 3u);
  const auto about = entries(to_ambulance);  // the submit lists it; the disclosure is about it
  ASSERT_EQ(about.size(), 2u);
  EXPECT_EQ(about[0].action, "submit-create");
  EXPECT_EQ(about[1].subject, "transfer:" + to_ambulance);
  EXPECT_EQ(entries("transfer:" + to_ambulance).size(), 1u);  // a full subject matches exactly
  EXPECT_EQ(entries("hertfordshire-police/M-2").size(), 1u);
  EXPECT_EQ(entries("message:hertfordshire-police/M-2").size(), 1u);
  EXPECT_TRUE(entries("T-nothing").empty());
  auto after = read_audit_file(db_.string(), "", 1, 1);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].seq, 2);
}

TEST_F(StoreAuditTest, TheHubItselfCannotChangeOrDeleteEntries) {
  ten_entries_then_close();
  EXPECT_NE(refused_sql(db_, "UPDATE audit SET reason = 'nothing to see' WHERE seq = 3").find("append-only"),
            std::string::npos);
  EXPECT_NE(refused_sql(db_, "DELETE FROM audit WHERE seq = 10").find("append-only"), std::string::npos);
  EXPECT_TRUE(verify().ok());
}

// ---- tampering is detected --------------------------------------------------------------------

TEST_F(StoreAuditTest, ACleanChainPassesWithAndWithoutItsHead) {
  ten_entries_then_close();
  const AuditReport report = verify();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.entries, 10);
  EXPECT_EQ(report.first_seq, 1);
  EXPECT_EQ(report.last_seq, 10);
  auto head = audit_head_of_file(db_.string());
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 10);
  EXPECT_EQ(head->hash, report.head_hash);
  EXPECT_TRUE(verify({*head}).ok());
  EXPECT_NE(report.text().find("chain intact"), std::string::npos);
  EXPECT_TRUE(json::parse(report.json()).as_object().at("ok").as_bool());
}

TEST_F(StoreAuditTest, AnUpdatedEntryIsReportedAsAltered) {
  ten_entries_then_close();
  drop_triggers();
  tamper(db_, "UPDATE audit SET reason = 'nothing to see' WHERE seq = 4");
  const AuditReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().seq, 4);
  EXPECT_EQ(report.problems.front().kind, "altered");
  EXPECT_EQ(report.altered, 1);
  EXPECT_EQ(report.problems.size(), 1u) << report.text();
  EXPECT_NE(report.text().find("BROKEN at entry 4"), std::string::npos) << report.text();
}

TEST_F(StoreAuditTest, AnEntryAlteredAndRehashedIsCaughtByItsSuccessor) {
  ten_entries_then_close();
  auto rows = read_audit_file(db_.string());
  ASSERT_TRUE(rows.ok());
  AuditRecord forged = (*rows)[3];  // seq 4
  forged.actor = "someone-else";
  forged.hash = audit_hash(forged);
  drop_triggers();
  tamper(db_, "UPDATE audit SET actor = 'someone-else', hash = '" + forged.hash + "' WHERE seq = 4");
  const AuditReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().seq, 4);
  EXPECT_EQ(report.problems.front().kind, "altered");
  EXPECT_NE(report.problems.front().message.find("re-hashed"), std::string::npos) << report.text();
}

TEST_F(StoreAuditTest, ADeletedEntryIsReportedAsRemoved) {
  ten_entries_then_close();
  drop_triggers();
  tamper(db_, "DELETE FROM audit WHERE seq = 6");
  const AuditReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().seq, 6);
  EXPECT_EQ(report.problems.front().kind, "removed");
  EXPECT_EQ(report.removed, 1);
  EXPECT_EQ(report.entries, 9);
  EXPECT_NE(report.problems.front().message.find("entry 6 is missing"), std::string::npos) << report.text();
}

TEST_F(StoreAuditTest, DeletingTheFirstEntriesIsReported) {
  ten_entries_then_close();
  drop_triggers();
  tamper(db_, "DELETE FROM audit WHERE seq <= 2");
  const AuditReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().seq, 1);
  EXPECT_EQ(report.problems.front().kind, "removed");
  EXPECT_EQ(report.removed, 2);
}

TEST_F(StoreAuditTest, DeletingAndRenumberingIsStillCaught) {
  ten_entries_then_close();
  drop_triggers();
  tamper(db_, "DELETE FROM audit WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 7; "
              "UPDATE audit SET seq = 7 WHERE seq = 8; UPDATE audit SET seq = 8 WHERE seq = 9; "
              "UPDATE audit SET seq = 9 WHERE seq = 10;");
  const AuditReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().seq, 5) << report.text();
}

TEST_F(StoreAuditTest, SwappedEntriesAreReportedAsReordered) {
  ten_entries_then_close();
  drop_triggers();
  // Swap everything but the position (seq) of entries 3 and 4.
  const char* cols = "at, actor, action, category, subject, detail, reason, prev_hash, hash";
  tamper(db_, std::string("CREATE TABLE t AS SELECT seq, ") + cols + " FROM audit WHERE seq IN (3, 4);" +
                  "UPDATE audit SET (" + cols + ") = (SELECT " + cols + " FROM t WHERE t.seq = 7 - audit.seq) " +
                  "WHERE seq IN (3, 4); DROP TABLE t;");
  const AuditReport report = verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().seq, 3);
  EXPECT_EQ(report.problems.front().kind, "reordered");
  EXPECT_NE(report.problems.front().message.find("it is entry 4, moved intact"), std::string::npos) << report.text();
  EXPECT_EQ(report.reordered, 2);
  EXPECT_EQ(report.altered, 0);
}

TEST_F(StoreAuditTest, TruncationShowsOnlyAgainstAHeadRecordedEarlier) {
  ten_entries_then_close();
  auto head = audit_head_of_file(db_.string());
  ASSERT_TRUE(head.ok());
  drop_triggers();
  tamper(db_, "DELETE FROM audit WHERE seq > 7");
  // The chain alone cannot tell: what is left is a valid, shorter log.
  EXPECT_TRUE(verify().ok());
  const AuditReport report = verify({*head});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problems.front().kind, "removed");
  EXPECT_EQ(report.problems.front().seq, 8);
  EXPECT_EQ(report.removed, 3);
  EXPECT_NE(report.problems.front().message.find("entries 8 to 10 were removed"), std::string::npos) << report.text();

  // A head that does not match what is there now: altered (or a different log).
  AuditAnchor wrong{5, std::string(64, 'e')};
  const AuditReport mismatch = verify({wrong});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.problems.front().seq, 5);
  EXPECT_EQ(mismatch.problems.front().kind, "altered");
}

TEST_F(StoreAuditTest, NotAStoreOrNoAuditLogIsAnErrorNotAReport) {
  close();
  auto missing = verify_audit_file((dir_ / "nothing.db").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().rule, "store");
  tamper(dir_ / "other.db", "CREATE TABLE x(a)");
  auto other = verify_audit_file((dir_ / "other.db").string());
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("no audit log"), std::string::npos);
}

TEST_F(StoreAuditTest, VerifyWhileTheStoreWrites) {
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto r = submit(request("M-" + std::to_string(i), MessageType::create, "REF-" + std::to_string(i)));
      if (r.ok()) ++written;
    }
  });
  int checks = 0;
  while (written < 30 || checks < 5) {
    const AuditReport report = verify();
    ASSERT_TRUE(report.ok()) << report.text();
    ++checks;
  }
  stop = true;
  writer.join();
  EXPECT_TRUE(verify().ok());
}

TEST_F(StoreAuditTest, AnOlderDatabaseIsMigrated) {
  submit_ok(request("M-1", MessageType::create, "REF-1"));
  close();
  // As a version 2 store left it: no audit table.
  tamper(db_, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; DROP TABLE audit; PRAGMA user_version = 2;");
  EXPECT_FALSE(verify_audit_file(db_.string()).ok());
  reopen();
  EXPECT_EQ(query_text(db_, "PRAGMA user_version"), "5");
  submit_ok(request("M-2", MessageType::update, "REF-1", {kFire}, 2));
  const auto e = entries();
  ASSERT_EQ(e.size(), 1u);  // the log starts at the migration; what came before was never audited
  EXPECT_EQ(e[0].seq, 1);
  EXPECT_EQ(e[0].prev_hash, kAuditGenesisHash);
  EXPECT_NE(refused_sql(db_, "DELETE FROM audit").find("append-only"), std::string::npos);
}

// ---- erasure ----------------------------------------------------------------------------------

TEST_F(StoreAuditTest, ErasureRemovesPersonalDataKeepsTheSkeletonAndIsAudited) {
  const auto created = submit_ok(request("M-1", MessageType::create, "REF-1"));
  ASSERT_TRUE(ack(kFire, {created.deliveries.at(0).seq}).ok());
  ASSERT_TRUE(decide(kTransfer, true, "mobilised").ok());

  auto no_reason = erase(kTransfer, "");
  ASSERT_FALSE(no_reason.ok());
  EXPECT_EQ(no_reason.error().field, "reason");
  auto nothing = erase("T-nothing", "x");
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.error().rule, "not-found");

  auto erased = erase(kTransfer, "retention period ended (policy 4.2)");
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(erased->messages, 1);
  EXPECT_EQ(erased->deliveries, 1);
  EXPECT_EQ(erased->events, 2);  // translated (findings) and location-verified
  EXPECT_EQ(erased->audit.category, "erasure");
  EXPECT_EQ(erased->audit.actor, "hub-admin");
  EXPECT_EQ(erased->audit.reason, "retention period ended (policy 4.2)");
  EXPECT_EQ(erased->audit.subject, "transfer:" + kTransfer);

  // Personal data gone.
  auto body = store_->message_body(kPolice, "M-1");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "");
  EXPECT_EQ(query_text(db_, "SELECT count(*) FROM deliveries WHERE instr(payload, 'Jane') > 0"), "0");
  EXPECT_EQ(query_text(db_, "SELECT count(*) FROM events WHERE instr(detail, 'High St') > 0"), "0");
  // The skeleton stays: parties, states, times, decision.
  auto t = store_->transfer(kTransfer);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->state, "accepted");
  EXPECT_EQ(t->sender, kPolice);
  EXPECT_EQ(t->decision_reason, "mobilised");
  EXPECT_EQ(t->location_json, "{}");
  EXPECT_EQ(t->findings_json, "[]");
  auto history = store_->history(kTransfer);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().event, "erased");
  EXPECT_EQ(history->back().actor, "hub-admin");
  // The audit trail stays, and names the erasure last.
  const auto e = entries(kTransfer);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e.back().action, "erase");
  EXPECT_EQ(e.back().seq, erased->audit.seq);
  EXPECT_TRUE(verify().ok());
}

TEST_F(StoreAuditTest, AnErasedDeadLetterCannotBeRequeued) {
  const auto created = submit_ok(request("M-1", MessageType::create, "REF-1"));
  const std::uint64_t seq = created.deliveries.at(0).seq;
  ASSERT_TRUE(sync<std::vector<Delivery>>([&](auto done) { store_->dead_letter({seq}, "too late", done); }).ok());
  ASSERT_TRUE(erase(kTransfer, "sent in error: wrong caller details").ok());
  auto requeued = sync<Delivery>([&](auto done) { store_->requeue(seq, "hub-admin", done); });
  ASSERT_FALSE(requeued.ok());
  EXPECT_EQ(requeued.error().rule, "not-found");
  EXPECT_EQ(query_text(db_, "SELECT state FROM deliveries WHERE seq = " + std::to_string(seq)), "erased");
}

// ---- crash: the audit and the data never disagree ------------------------------------------------

TEST(StoreAuditCrash, AfterAKillTheAuditAndTheDataAgree) {
  const fs::path dir = fs::temp_directory_path() / ("deit-audit-crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db = dir / "hub.db";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = Store::open(db.string());
    if (!store) _exit(3);
    // Keep many operations in flight so that the kill lands mid-batch.
    for (int i = 0;; ++i) {
      (*store)->submit(request("M-" + std::to_string(i), MessageType::create, "REF-" + std::to_string(i)),
                       [](Result<SubmitOutcome>) {});
      if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Wait (bounded) until some entries are committed, then kill without warning.
  for (int i = 0; i < 800; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    const std::string n = fs::exists(db) ? query_text(db, "SELECT count(*) FROM audit") : "";
    if (!n.empty() && std::isdigit(static_cast<unsigned char>(n[0])) && std::stoi(n) >= 40) break;
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  auto store = Store::open(db.string());
  ASSERT_TRUE(store.ok());
  (*store)->close();
  auto report = verify_audit_file(db.string());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->text();
  EXPECT_GE(report->entries, 40);
  // Every stored message has its collection entry and every collection entry its message.
  std::set<std::string> audited;
  auto all = read_audit_file(db.string());
  ASSERT_TRUE(all.ok());
  for (const auto& e : *all)
    if (e.action == "submit-create") audited.insert(e.subject);
  EXPECT_EQ(std::to_string(audited.size()), query_text(db, "SELECT count(*) FROM messages"));
  EXPECT_EQ(query_text(db, "SELECT count(*) FROM messages WHERE 'message:' || sender || '/' || message_id NOT IN "
                           "(SELECT subject FROM audit WHERE action = 'submit-create')"),
            "0");
  fs::remove_all(dir);
}

// ---- entries written at the API ----------------------------------------------------------------

TEST(AuditApi, ARefusalNamesTheRuleFieldPositionAndCaller) {
  const Identity police{kPolice, "hertfordshire-police", "ab12", {Role::operator_role}};
  const std::string problem =
      R"({"type":"urn:deit-hub:problem:schema","status":422,"detail":"element 'grade' is not allowed here","rule":"schema","field":"incidentMessage/incident/grade","line":14,"column":9})";
  const AuditEntry e = refusal_entry(&police, "hertfordshire-police", "ab12", "127.0.0.1:50000", "POST",
                                     "/v1/transfers", 422, problem);
  EXPECT_EQ(e.category, AuditCategory::refusal);
  EXPECT_EQ(e.actor, kPolice);
  EXPECT_EQ(e.subject, "agency:hertfordshire-police");
  EXPECT_EQ(e.reason, "element 'grade' is not allowed here");
  const auto d = json::parse(e.detail).as_object();
  EXPECT_EQ(d.at("rule").as_string(), "schema");
  EXPECT_EQ(d.at("field").as_string(), "incidentMessage/incident/grade");
  EXPECT_EQ(d.at("line").as_int64(), 14);
  EXPECT_EQ(d.at("column").as_int64(), 9);
  EXPECT_EQ(d.at("status").as_int64(), 422);
  EXPECT_EQ(d.at("request").as_string(), "POST /v1/transfers");
  EXPECT_EQ(d.at("peer").as_string(), "127.0.0.1:50000");

  // A nosy read of someone else's transfer is a refusal about that transfer.
  const AuditEntry nosy = refusal_entry(&police, "hertfordshire-police", "ab12", "", "GET", "/v1/transfers/T-x", 404,
                                        R"({"rule":"not-found","detail":"no transfer T-x","field":"transfer"})");
  EXPECT_EQ(nosy.subject, "transfer:T-x");
  EXPECT_EQ(json::parse(nosy.detail).as_object().at("transfers").as_array().at(0).as_string(), "T-x");
}

TEST(AuditApi, AnUnregisteredCertificateIsNamedByItsSubjectAndFingerprint) {
  const AuditEntry e = refusal_entry(nullptr, "rogue-control-room", "cafe01", "10.0.0.9:4000", "GET", "/v1/health", 403,
                                     R"({"rule":"forbidden","detail":"not registered","field":"certificate"})");
  EXPECT_EQ(e.actor, "cn:rogue-control-room");
  EXPECT_EQ(e.subject, "certificate:cafe01");
  const auto d = json::parse(e.detail).as_object();
  EXPECT_EQ(d.at("sha256").as_string(), "cafe01");
  EXPECT_EQ(d.at("subjectCn").as_string(), "rogue-control-room");
  EXPECT_EQ(d.at("rule").as_string(), "forbidden");
}

TEST(AuditApi, ATlsRefusalNamesTheCertificateAndWhy) {
  TlsRefusal refusal;
  refusal.certificate_refused = true;
  refusal.subject = "/CN=east-of-england-ambulance";
  refusal.sha256 = "beef";
  refusal.reason = "certificate has expired";
  const AuditEntry e = tls_refusal_entry(refusal, "127.0.0.1:1234", "sslv3 alert certificate expired");
  EXPECT_EQ(e.category, AuditCategory::refusal);
  EXPECT_EQ(e.action, "tls-refused");
  EXPECT_EQ(e.subject, "certificate:beef");
  EXPECT_EQ(e.reason, "certificate has expired");
  EXPECT_EQ(e.actor, "/CN=east-of-england-ambulance");
  const AuditEntry none = tls_refusal_entry(TlsRefusal{}, "127.0.0.1:1234", "peer did not return a certificate");
  EXPECT_EQ(none.subject, "connection:127.0.0.1:1234");
  EXPECT_EQ(none.reason, "peer did not return a certificate");
}

TEST(AuditApi, AReadNamesTheReaderTheRequestAndWhatWasShown) {
  const Identity fire{kFire, "herts-fire-console-2", "cd34", {Role::operator_role}};
  RequestAudit note;
  note.record("list-transfers", "agency:hertfordshire-fire");
  note.add_transfer("T-1");
  note.add_transfer("T-2");
  note.add_transfer("T-1");
  note.detail["count"] = 2;
  const AuditEntry e = request_entry(fire, "GET", "/v1/transfers?awaiting=decision", std::move(note));
  EXPECT_EQ(e.category, AuditCategory::consultation);
  EXPECT_EQ(e.actor, kFire);
  EXPECT_EQ(e.action, "list-transfers");
  const auto d = json::parse(e.detail).as_object();
  EXPECT_EQ(d.at("request").as_string(), "GET /v1/transfers?awaiting=decision");
  EXPECT_EQ(d.at("certificate").as_string(), "herts-fire-console-2");  // which of the agency's certificates
  EXPECT_EQ(d.at("transfers").as_array().size(), 2u);
  EXPECT_EQ(d.at("count").as_int64(), 2);
}

}  // namespace
}  // namespace deit::hub
