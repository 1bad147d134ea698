// The SQLite store: transfers, events, the delivery queue, decisions, dead letters,
// durability across reopen, and the group-commit writer under concurrency.
#include "hub/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "query_text.hpp"

namespace deit::hub {
namespace {

namespace fs = std::filesystem;
using model::MessageType;

constexpr const char* kPolice = "hertfordshire-police";
constexpr const char* kFire = "hertfordshire-fire";
constexpr const char* kAmbulance = "east-of-england-ambulance";

// Runs one asynchronous store operation and waits for its completion.
template <typename T, typename Start>
Result<T> sync(Start start) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

struct Msg {
  std::string id = "M-1";
  MessageType type = MessageType::create;
  std::string reference = "REF-1";
  std::uint64_t sequence = 0;
  std::vector<std::string> receivers{kFire};
  std::string sender = kPolice;
  bool emergency = false;
  std::string findings = "[]";
};

SubmitRequest request(const Msg& m) {
  SubmitRequest r;
  r.message.message_id = m.id;
  r.message.type = m.type;
  r.message.sequence = m.sequence;
  r.message.sender_agency = m.sender;
  r.message.receiving_agencies = m.receivers;
  r.message.sender_reference = m.reference;
  r.message.reason = model::TransferReason::assistance_request;
  r.message.incident.priority.police_grade = model::PoliceGrade::emergency;
  r.message.incident.priority.emergency = m.emergency;
  r.message.incident.priority.life_risk = true;
  r.canonical_xml = "<incidentMessage><messageId>" + m.id + "</messageId></incidentMessage>";
  r.received_at = now_ms();
  r.validated_at = r.received_at + 1;
  for (const auto& receiver : m.receivers) {
    r.targets.push_back(SubmitRequest::Target{make_transfer_id(m.sender, m.reference, receiver), receiver,
                                              "application/xml", "<for>" + receiver + "/" + m.id + "</for>",
                                              m.findings});
  }
  return r;
}

std::vector<std::string> event_names(const std::vector<EventRecord>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event);
  return out;
}

using Names = std::vector<std::string>;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deit-store-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void reopen(StoreOptions options = {}) {
    store_.reset();
    auto s = Store::open((dir_ / "hub.db").string(), options);
    ASSERT_TRUE(s.ok()) << s.error().describe();
    store_ = std::move(s).value();
  }

  Result<SubmitOutcome> submit(const Msg& m) {
    return sync<SubmitOutcome>([&](auto done) { store_->submit(request(m), done); });
  }
  // Submits and expects success.
  SubmitOutcome submit_ok(const Msg& m) {
    auto r = submit(m);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
    return r.ok() ? std::move(r).value() : SubmitOutcome{};
  }
  Result<AckOutcome> ack(const std::string& agency, std::vector<std::uint64_t> seqs) {
    return sync<AckOutcome>([&](auto done) { store_->acknowledge(agency, seqs, done); });
  }
  Result<DecisionOutcome> decide(const std::string& agency, const std::string& transfer, bool accept,
                                 const std::string& reason = "", const std::string& actor = "op 7") {
    return sync<DecisionOutcome>(
        [&](auto done) { store_->decide(DecisionRequest{agency, transfer, accept, reason, actor}, done); });
  }
  Result<std::vector<Delivery>> dead_letter(std::vector<std::uint64_t> seqs, const std::string& reason) {
    return sync<std::vector<Delivery>>([&](auto done) { store_->dead_letter(seqs, reason, done); });
  }
  Result<Delivery> requeue(std::uint64_t seq) {
    return sync<Delivery>([&](auto done) { store_->requeue(seq, done); });
  }
  std::int64_t count(const std::string& table) {
    auto n = store_->count(table);
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }
  TransferRecord transfer(const std::string& id) {
    auto t = store_->transfer(id);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().describe());
    return t.ok() ? std::move(t).value() : TransferRecord{};
  }
  std::vector<std::string> history(const std::string& id) {
    auto h = store_->history(id);
    EXPECT_TRUE(h.ok());
    return h.ok() ? event_names(*h) : Names{};
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

const std::string kTransfer = make_transfer_id(kPolice, "REF-1", kFire);

// ---- make_transfer_id -------------------------------------------------------------------

TEST(TransferId, DeterministicAndReadable) {
  const std::string id = make_transfer_id(kPolice, "REF-1", kFire);
  EXPECT_EQ(id, make_transfer_id(kPolice, "REF-1", kFire));
  ASSERT_EQ(id.size(), 22u);
  EXPECT_EQ(id.substr(0, 2), "T-");
  for (char c : id.substr(2)) EXPECT_NE(std::string_view("0123456789abcdefghjkmnpqrstvwxyz").find(c), std::string::npos) << c;
}

// Stored transfers, updates and operators' notes refer to ids made by earlier builds: the
// derivation (SHA-256 of sender, reference and receiver, one per line; the first 100 bits
// in Crockford base32) must never change. Expected value from Python's hashlib.
TEST(TransferId, SameIdAsEveryEarlierBuild) {
  EXPECT_EQ(make_transfer_id("hertfordshire-police", "HP-20261123-0123", "hertfordshire-fire"), "T-2t60zse7g1rr94rn9qep");
}

TEST(TransferId, SameIdOnEveryThread) {
  const std::string here = make_transfer_id(kPolice, "REF-1", kFire);
  std::string there;
  std::thread([&] { there = make_transfer_id(kPolice, "REF-1", kFire); }).join();
  EXPECT_EQ(there, here);
}

TEST(TransferId, DistinctForEachPart) {
  std::set<std::string> ids{make_transfer_id(kPolice, "REF-1", kFire), make_transfer_id(kPolice, "REF-2", kFire),
                            make_transfer_id(kPolice, "REF-1", kAmbulance), make_transfer_id(kFire, "REF-1", kPolice),
                            make_transfer_id("ab", "c", "d"), make_transfer_id("a", "bc", "d"),
                            make_transfer_id("a", "b", "cd")};
  EXPECT_EQ(ids.size(), 7u);
}

// ---- submit -----------------------------------------------------------------------------

TEST_F(StoreTest, CreateStoresTransferEventsAndOneDelivery) {
  const auto out = submit_ok({});
  EXPECT_FALSE(out.duplicate);
  ASSERT_EQ(out.transfers.size(), 1u);
  EXPECT_EQ(out.transfers[0], std::make_pair(kTransfer, std::string(kFire)));
  ASSERT_EQ(out.deliveries.size(), 1u);
  const Delivery& d = out.deliveries[0];
  EXPECT_GT(d.seq, 0u);
  EXPECT_EQ(d.agency, kFire);
  EXPECT_EQ(d.transfer_id, kTransfer);
  EXPECT_EQ(d.message_id, "M-1");
  EXPECT_EQ(d.kind, "incident");
  EXPECT_EQ(d.content_type, "application/xml");
  ASSERT_TRUE(d.payload);
  EXPECT_EQ(*d.payload, "<for>hertfordshire-fire/M-1</for>");
  EXPECT_EQ(d.state, "pending");
  EXPECT_GT(d.queued_at, 0);

  const TransferRecord t = transfer(kTransfer);
  EXPECT_EQ(t.id, kTransfer);
  EXPECT_EQ(t.sender, kPolice);
  EXPECT_EQ(t.receiver, kFire);
  EXPECT_EQ(t.sender_reference, "REF-1");
  EXPECT_EQ(t.reason, "assistance-request");
  EXPECT_EQ(t.state, "stored");
  EXPECT_EQ(t.grade, "emergency");
  EXPECT_TRUE(t.life_risk);
  EXPECT_FALSE(t.emergency);
  EXPECT_EQ(t.last_sequence, 1u);  // sequence 0: the hub assigns 1
  EXPECT_GT(t.received_at, 0);
  EXPECT_EQ(t.validated_at, t.received_at + 1);
  EXPECT_GE(t.stored_at, t.received_at);
  EXPECT_EQ(t.delivered_at, 0);
  EXPECT_EQ(t.findings_json, "[]");

  EXPECT_EQ(history(kTransfer), (Names{"received", "validated", "stored"}));
  auto events = store_->history(kTransfer);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ((*events)[0].actor, kPolice);
  EXPECT_EQ((*events)[0].message_id, "M-1");
  EXPECT_EQ((*events)[0].detail, "create");

  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].seq, d.seq);
  EXPECT_EQ(*(*pending)[0].payload, *d.payload);
  EXPECT_EQ(count("transfers"), 1);
  EXPECT_EQ(count("messages"), 1);
  EXPECT_EQ(count("deliveries"), 1);
  EXPECT_EQ(count("pending"), 1);

  auto body = store_->message_body(kPolice, "M-1");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "<incidentMessage><messageId>M-1</messageId></incidentMessage>");
}

TEST_F(StoreTest, FindingsAreStoredWithATranslatedEvent) {
  Msg m;
  m.findings = R"([{"field":"incident/type","rule":"unmapped-code","message":"x"}])";
  submit_ok(m);
  EXPECT_EQ(transfer(kTransfer).findings_json, m.findings);
  EXPECT_EQ(history(kTransfer), (Names{"received", "validated", "translated", "stored"}));
}

// A create's findings and location check are stored once, in its transfer row; its history
// shows them as before. A later message's own check stays with its events, an operator's
// text that happens to look like the marker is shown as typed, and an erasure empties all.
TEST_F(StoreTest, ACreatesCheckIsStoredOnceAndShownInItsHistory) {
  const std::string create_findings = R"([{"field":"incident/type","rule":"unmapped-code","message":"x"}])";
  const std::string create_location = R"({"verified":true,"flags":[],"uprn":100081234567,"street":"HIGH STREET"})";
  const std::string update_findings = R"([{"field":"incident/type","rule":"unmapped-code","message":"y"}])";
  const std::string update_location = R"({"verified":false,"flags":["no match"],"street":"LOW ROAD"})";
  auto submit_with = [&](Msg m, const std::string& location) {
    SubmitRequest r = request(m);
    r.location_json = location;
    r.location_verified = location.find("\"verified\":true") != std::string::npos;
    return sync<SubmitOutcome>([&](auto done) { store_->submit(std::move(r), done); });
  };
  Msg create;
  create.findings = create_findings;
  auto created = submit_with(create, create_location);
  ASSERT_TRUE(created.ok()) << created.error().describe();
  Msg update{"M-2", MessageType::update, "REF-1"};
  update.findings = update_findings;
  auto updated = submit_with(update, update_location);
  ASSERT_TRUE(updated.ok()) << updated.error().describe();

  using Detail = std::pair<std::string, std::string>;  // event, detail
  auto details = [&] {
    std::vector<Detail> out;
    auto h = store_->history(kTransfer);
    EXPECT_TRUE(h.ok());
    if (h.ok())
      for (const auto& e : *h)
        if (e.event == "translated" || e.event.starts_with("location-") || e.event == "rejected")
          out.emplace_back(e.event, e.detail);
    return out;
  };
  EXPECT_EQ(details(), (std::vector<Detail>{{"translated", create_findings},
                                            {"location-verified", create_location},
                                            {"translated", update_findings},
                                            {"location-unverified", update_location}}));
  const fs::path db = dir_ / "hub.db";
  EXPECT_EQ(query_text(db, "SELECT count(*) FROM events WHERE instr(detail, 'HIGH STREET') > 0"), "0");
  EXPECT_EQ(query_text(db, "SELECT count(*) FROM events WHERE instr(detail, 'LOW ROAD') > 0"), "1");
  EXPECT_EQ(query_text(db, "SELECT count(*) FROM transfers WHERE instr(location, 'HIGH STREET') > 0"), "1");

  ASSERT_TRUE(ack(kFire, {created->deliveries.at(0).seq, updated->deliveries.at(0).seq}).ok());
  ASSERT_TRUE(decide(kFire, kTransfer, false, "=location").ok());
  EXPECT_EQ(details().back(), (Detail{"rejected", "=location"}));

  auto erased = sync<EraseOutcome>(
      [&](auto done) { store_->erase_transfer(EraseRequest{kTransfer, "hub-admin", "sent in error"}, done); });
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(erased->events, 4);
  EXPECT_EQ(details(), (std::vector<Detail>{{"translated", ""},
                                            {"location-verified", ""},
                                            {"translated", ""},
                                            {"location-unverified", ""},
                                            {"rejected", "=location"}}));
}

TEST_F(StoreTest, CreateToSeveralReceivers) {
  Msg m;
  m.receivers = {kFire, kAmbulance};
  const auto out = submit_ok(m);
  ASSERT_EQ(out.transfers.size(), 2u);
  ASSERT_EQ(out.deliveries.size(), 2u);
  EXPECT_EQ(out.deliveries[0].agency, kFire);
  EXPECT_EQ(out.deliveries[1].agency, kAmbulance);
  EXPECT_LT(out.deliveries[0].seq, out.deliveries[1].seq);
  EXPECT_EQ(out.transfers[1].first, make_transfer_id(kPolice, "REF-1", kAmbulance));

  const auto again = submit_ok(m);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.transfers, out.transfers);
}

TEST_F(StoreTest, SameMessageIdIsADuplicate) {
  const auto first = submit_ok({});
  const auto second = submit_ok({});
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.transfers, first.transfers);
  EXPECT_TRUE(second.deliveries.empty());
  EXPECT_EQ(count("deliveries"), 1);
  EXPECT_EQ(count("messages"), 1);
  EXPECT_EQ(history(kTransfer).size(), 3u);
  // The store keeps working after a duplicate.
  Msg update;
  update.id = "M-2";
  update.type = MessageType::update;
  const auto next = submit_ok(update);
  EXPECT_FALSE(next.duplicate);
  ASSERT_EQ(next.deliveries.size(), 1u);
  EXPECT_GT(next.deliveries[0].seq, first.deliveries[0].seq);
}

TEST_F(StoreTest, DuplicateIsPerSender) {
  submit_ok({});
  Msg other;
  other.sender = "bedfordshire-police";  // same message id, another sender
  const auto out = submit_ok(other);
  EXPECT_FALSE(out.duplicate);
  EXPECT_EQ(count("transfers"), 2);
}

TEST_F(StoreTest, SecondCreateForTheSameReferenceConflicts) {
  submit_ok({});
  Msg again;
  again.id = "M-2";
  auto r = submit(again);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "conflict");
  EXPECT_EQ(r.error().field, "incidentMessage/senderReference");
  EXPECT_NE(r.error().message.find(kTransfer), std::string::npos);
  EXPECT_EQ(count("messages"), 1);
  EXPECT_EQ(count("deliveries"), 1);
}

TEST_F(StoreTest, UpdateWithoutCreateIsNotFound) {
  Msg m;
  m.type = MessageType::update;
  auto r = submit(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "not-found");
  EXPECT_EQ(r.error().field, "incidentMessage/senderReference");
  EXPECT_EQ(count("transfers"), 0);
  EXPECT_EQ(count("messages"), 0);
  EXPECT_EQ(count("deliveries"), 0);
}

TEST_F(StoreTest, SequenceMustIncrease) {
  Msg create;
  create.sequence = 1;
  submit_ok(create);
  Msg u2{"M-2", MessageType::update, "REF-1", 2};
  submit_ok(u2);
  EXPECT_EQ(transfer(kTransfer).last_sequence, 2u);

  for (std::uint64_t stale : {2u, 1u}) {
    Msg old{"M-old-" + std::to_string(stale), MessageType::update, "REF-1", stale};
    auto r = submit(old);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rule, "sequence");
    EXPECT_EQ(r.error().field, "incidentMessage/sequence");
  }
  // Sequence 0 means "next": the hub assigns 3.
  submit_ok(Msg{"M-3", MessageType::update, "REF-1", 0});
  EXPECT_EQ(transfer(kTransfer).last_sequence, 3u);
  // Gaps are allowed.
  submit_ok(Msg{"M-4", MessageType::update, "REF-1", 10});
  EXPECT_EQ(transfer(kTransfer).last_sequence, 10u);
  EXPECT_EQ(count("deliveries"), 4);
}

TEST_F(StoreTest, CloseThenUpdateConflicts) {
  submit_ok({});
  submit_ok(Msg{"M-2", MessageType::close});
  const TransferRecord t = transfer(kTransfer);
  EXPECT_EQ(t.state, "closed");
  EXPECT_GT(t.closed_at, 0);
  EXPECT_EQ(history(kTransfer).back(), "closed");

  auto r = submit(Msg{"M-3", MessageType::update});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "conflict");
  EXPECT_EQ(r.error().field, "incidentMessage/messageType");
  EXPECT_EQ(count("deliveries"), 2);  // the create and the close were delivered
}

TEST_F(StoreTest, CancelEndsTheTransfer) {
  submit_ok({});
  submit_ok(Msg{"M-2", MessageType::cancel});
  const TransferRecord t = transfer(kTransfer);
  EXPECT_EQ(t.state, "cancelled");
  EXPECT_GT(t.cancelled_at, 0);
  auto r = submit(Msg{"M-3", MessageType::close});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "conflict");
}

// ---- acknowledge ------------------------------------------------------------------------

TEST_F(StoreTest, AcknowledgeMarksDelivered) {
  const auto out = submit_ok({});
  const std::uint64_t seq = out.deliveries[0].seq;
  auto a = ack(kFire, {seq});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->acknowledged, std::vector<std::uint64_t>{seq});

  const TransferRecord t = transfer(kTransfer);
  EXPECT_EQ(t.state, "delivered");
  EXPECT_GT(t.delivered_at, 0);
  EXPECT_EQ(history(kTransfer).back(), "delivered");
  auto events = store_->history(kTransfer);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->back().actor, kFire);
  EXPECT_EQ(count("pending"), 0);

  // Again: nothing new.
  auto again = ack(kFire, {seq});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->acknowledged.empty());
  EXPECT_EQ(history(kTransfer).size(), 4u);
}

TEST_F(StoreTest, AcknowledgingAnotherAgencysDeliveryIsIgnored) {
  const auto out = submit_ok({});
  const std::uint64_t seq = out.deliveries[0].seq;
  auto a = ack(kPolice, {seq, seq + 100});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->acknowledged.empty());
  EXPECT_EQ(transfer(kTransfer).state, "stored");
  EXPECT_EQ(count("pending"), 1);
}

TEST_F(StoreTest, AcknowledgeSeveralKeepsFirstDeliveredTime) {
  const auto create = submit_ok({});
  const auto update = submit_ok(Msg{"M-2", MessageType::update});
  auto a = ack(kFire, {create.deliveries[0].seq});
  ASSERT_TRUE(a.ok());
  const std::int64_t first = transfer(kTransfer).delivered_at;
  auto b = ack(kFire, {update.deliveries[0].seq});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->acknowledged.size(), 1u);
  EXPECT_EQ(transfer(kTransfer).delivered_at, first);
  EXPECT_EQ(count("pending"), 0);
}

// ---- decide -----------------------------------------------------------------------------

TEST_F(StoreTest, AcceptQueuesAStatusForTheSender) {
  submit_ok({});
  auto d = decide(kFire, kTransfer, true, "", "op 7");
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_FALSE(d->unchanged);
  EXPECT_EQ(d->transfer.state, "accepted");
  EXPECT_GT(d->transfer.accepted_at, 0);
  EXPECT_EQ(d->transfer.decided_by, "op 7");
  ASSERT_TRUE(d->status_for_sender.has_value());
  const Delivery& s = *d->status_for_sender;
  EXPECT_EQ(s.agency, kPolice);
  EXPECT_EQ(s.kind, "status");
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_EQ(s.transfer_id, kTransfer);
  EXPECT_EQ(s.message_id, "accepted:" + kTransfer);
  ASSERT_TRUE(s.payload);
  EXPECT_NE(s.payload->find("\"state\":\"accepted\""), std::string::npos) << *s.payload;
  EXPECT_NE(s.payload->find("\"senderReference\":\"REF-1\""), std::string::npos);

  const TransferRecord t = transfer(kTransfer);
  EXPECT_EQ(t.state, "accepted");
  EXPECT_EQ(history(kTransfer).back(), "accepted");
  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[1].seq, s.seq);
  EXPECT_EQ((*pending)[1].agency, kPolice);
}

TEST_F(StoreTest, SameDecisionAgainIsUnchanged) {
  submit_ok({});
  ASSERT_TRUE(decide(kFire, kTransfer, true).ok());
  auto again = decide(kFire, kTransfer, true);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged);
  EXPECT_FALSE(again->status_for_sender.has_value());
  EXPECT_EQ(count("deliveries"), 2);
}

TEST_F(StoreTest, DifferentSecondDecisionConflicts) {
  submit_ok({});
  ASSERT_TRUE(decide(kFire, kTransfer, true).ok());
  auto r = decide(kFire, kTransfer, false, "changed my mind");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "conflict");
  EXPECT_EQ(transfer(kTransfer).state, "accepted");
}

TEST_F(StoreTest, RejectNeedsAReason) {
  submit_ok({});
  auto r = decide(kFire, kTransfer, false, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rule, "required");
  EXPECT_EQ(r.error().field, "reason");
  EXPECT_EQ(transfer(kTransfer).state, "stored");
  EXPECT_EQ(count("deliveries"), 1);
}

TEST_F(StoreTest, RejectWithReason) {
  submit_ok({});
  auto r = decide(kFire, kTransfer, false, "not a \"fire\" matter", "op 9");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->transfer.state, "rejected");
  EXPECT_EQ(r->transfer.decision_reason, "not a \"fire\" matter");
  ASSERT_TRUE(r->status_for_sender);
  const std::string& payload = *r->status_for_sender->payload;
  EXPECT_NE(payload.find("\"state\":\"rejected\""), std::string::npos) << payload;
  EXPECT_NE(payload.find(R"("reason":"not a \"fire\" matter")"), std::string::npos) << payload;
  const TransferRecord t = transfer(kTransfer);
  EXPECT_EQ(t.state, "rejected");
  EXPECT_GT(t.rejected_at, 0);
  EXPECT_EQ(t.accepted_at, 0);
  EXPECT_EQ(t.decided_by, "op 9");
  // Same rejection again is unchanged; accept after reject conflicts.
  auto again = decide(kFire, kTransfer, false, "other words");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged);
  auto accept = decide(kFire, kTransfer, true);
  ASSERT_FALSE(accept.ok());
  EXPECT_EQ(accept.error().rule, "conflict");
}

TEST_F(StoreTest, OnlyTheReceiverMayDecide) {
  submit_ok({});
  for (const char* agency : {kPolice, kAmbulance}) {
    auto r = decide(agency, kTransfer, true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rule, "not-found");
  }
  auto unknown = decide(kFire, "T-nothing", true);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().rule, "not-found");
  EXPECT_EQ(transfer(kTransfer).state, "stored");
}

TEST_F(StoreTest, AcceptAfterDeliveryAndAfterClose) {
  const auto out = submit_ok({});
  ASSERT_TRUE(ack(kFire, {out.deliveries[0].seq}).ok());
  auto d = decide(kFire, kTransfer, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(transfer(kTransfer).state, "accepted");

  Msg other;
  other.id = "M-9";
  other.reference = "REF-9";
  submit_ok(other);
  submit_ok(Msg{"M-10", MessageType::close, "REF-9"});
  const std::string closed = make_transfer_id(kPolice, "REF-9", kFire);
  auto late = decide(kFire, closed, true);
  ASSERT_TRUE(late.ok());
  const TransferRecord t = transfer(closed);
  EXPECT_EQ(t.state, "closed");  // the decision is recorded but the state stays closed
  EXPECT_GT(t.accepted_at, 0);
}

// ---- dead letters and requeue -----------------------------------------------------------

TEST_F(StoreTest, DeadLetterTellsTheSender) {
  const auto out = submit_ok({});
  const std::uint64_t seq = out.deliveries[0].seq;
  auto r = dead_letter({seq}, "not acknowledged within 600 s");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  ASSERT_EQ(r->size(), 1u);
  const Delivery& status = (*r)[0];
  EXPECT_EQ(status.agency, kPolice);
  EXPECT_EQ(status.kind, "status");
  EXPECT_EQ(status.message_id, "dead-letter:" + std::to_string(seq));
  EXPECT_GT(status.seq, seq);
  EXPECT_NE(status.payload->find("\"state\":\"dead-letter\""), std::string::npos);
  EXPECT_NE(status.payload->find("not acknowledged within 600 s"), std::string::npos);

  EXPECT_EQ(transfer(kTransfer).state, "dead-letter");
  EXPECT_EQ(history(kTransfer).back(), "dead-letter");
  auto dead = store_->dead_letters(kFire);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].seq, seq);
  EXPECT_EQ((*dead)[0].state, "dead");
  EXPECT_EQ((*dead)[0].last_error, "not acknowledged within 600 s");
  auto all = store_->dead_letters("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  auto none = store_->dead_letters(kPolice);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].seq, status.seq);

  // Acknowledging a dead-lettered delivery does nothing.
  auto a = ack(kFire, {seq});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->acknowledged.empty());
}

TEST_F(StoreTest, DeadLetterSkipsDeliveredAndUnknown) {
  const auto out = submit_ok({});
  ASSERT_TRUE(ack(kFire, {out.deliveries[0].seq}).ok());
  auto r = dead_letter({out.deliveries[0].seq, 999}, "late");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(transfer(kTransfer).state, "delivered");
}

TEST_F(StoreTest, RequeuePutsTheDeliveryBack) {
  const auto out = submit_ok({});
  const std::uint64_t seq = out.deliveries[0].seq;
  ASSERT_TRUE(dead_letter({seq}, "late").ok());
  auto r = requeue(seq);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_GT(r->seq, seq);
  EXPECT_EQ(r->agency, kFire);
  EXPECT_EQ(r->transfer_id, kTransfer);
  EXPECT_EQ(r->message_id, "M-1");
  EXPECT_EQ(r->kind, "incident");
  EXPECT_EQ(r->state, "pending");
  EXPECT_EQ(*r->payload, *out.deliveries[0].payload);

  EXPECT_EQ(transfer(kTransfer).state, "stored");
  EXPECT_EQ(history(kTransfer).back(), "requeued");
  auto dead = store_->dead_letters(kFire);
  ASSERT_TRUE(dead.ok());
  EXPECT_TRUE(dead->empty());

  auto twice = requeue(seq);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().rule, "not-found");
  auto pending_one = requeue(r->seq);  // pending, not dead
  ASSERT_FALSE(pending_one.ok());
  EXPECT_EQ(pending_one.error().rule, "not-found");

  ASSERT_TRUE(ack(kFire, {r->seq}).ok());
  EXPECT_EQ(transfer(kTransfer).state, "delivered");
}

TEST_F(StoreTest, RecordAttempt) {
  const auto out = submit_ok({});
  store_->record_attempt(out.deliveries[0].seq, "connection refused");
  store_->record_attempt(out.deliveries[0].seq, "timeout");
  submit_ok(Msg{"M-2", MessageType::update});  // writes are in order: a barrier
  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].attempts, 2);
  EXPECT_EQ((*pending)[0].last_error, "timeout");
  EXPECT_EQ((*pending)[1].attempts, 0);
}

// ---- reads ------------------------------------------------------------------------------

TEST_F(StoreTest, ListTransfers) {
  Msg a{"M-a", MessageType::create, "REF-a"};
  Msg b{"M-b", MessageType::create, "REF-b"};
  b.emergency = true;
  Msg c{"M-c", MessageType::create, "REF-c"};
  Msg d{"M-d", MessageType::create, "REF-d"};
  submit_ok(a);
  submit_ok(b);
  submit_ok(c);
  submit_ok(d);
  ASSERT_TRUE(decide(kFire, make_transfer_id(kPolice, "REF-c", kFire), true).ok());
  submit_ok(Msg{"M-d2", MessageType::close, "REF-d"});

  auto awaiting = store_->list_transfers(kFire, true, 100);
  ASSERT_TRUE(awaiting.ok());
  ASSERT_EQ(awaiting->size(), 2u);
  EXPECT_EQ((*awaiting)[0].sender_reference, "REF-b");  // emergencies first
  EXPECT_EQ((*awaiting)[1].sender_reference, "REF-a");

  auto all = store_->list_transfers(kFire, false, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
  auto sent = store_->list_transfers(kPolice, false, 100);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->size(), 4u);
  auto sent_awaiting = store_->list_transfers(kPolice, true, 100);
  ASSERT_TRUE(sent_awaiting.ok());
  EXPECT_TRUE(sent_awaiting->empty());  // the sender does not decide
  auto limited = store_->list_transfers(kFire, false, 3);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 3u);
  auto nobody = store_->list_transfers(kAmbulance, false, 100);
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->empty());
}

TEST_F(StoreTest, ReadsOfMissingThings) {
  auto t = store_->transfer("T-missing");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().rule, "not-found");
  auto h = store_->history("T-missing");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty());
  auto body = store_->message_body(kPolice, "nothing");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().rule, "not-found");
  auto n = store_->count("users; DROP TABLE transfers");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().rule, "store");
}

// ---- durability and lifecycle -----------------------------------------------------------

TEST_F(StoreTest, PendingDeliveriesSurviveReopen) {
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 3; ++i) {
    Msg m{"M-" + std::to_string(i), MessageType::create, "REF-" + std::to_string(i)};
    seqs.push_back(submit_ok(m).deliveries.at(0).seq);
  }
  ASSERT_TRUE(ack(kFire, {seqs[1]}).ok());
  store_->close();
  reopen();

  auto pending = store_->pending_deliveries();
  ASSERT_TRUE(pending.ok()) << pending.error().describe();
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].seq, seqs[0]);
  EXPECT_EQ((*pending)[1].seq, seqs[2]);
  EXPECT_EQ(*(*pending)[1].payload, "<for>hertfordshire-fire/M-2</for>");
  EXPECT_EQ((*pending)[1].message_id, "M-2");
  EXPECT_EQ(transfer(make_transfer_id(kPolice, "REF-1", kFire)).state, "delivered");
  EXPECT_EQ(count("transfers"), 3);

  // Idempotency survives too, and sequence numbers keep growing.
  EXPECT_TRUE(submit_ok(Msg{"M-0", MessageType::create, "REF-0"}).duplicate);
  const auto next = submit_ok(Msg{"M-9", MessageType::create, "REF-9"});
  ASSERT_EQ(next.deliveries.size(), 1u);
  EXPECT_GT(next.deliveries[0].seq, seqs[2]);
}

TEST_F(StoreTest, CloseCompletesQueuedWritesThenRefuses) {
  std::vector<std::future<Result<SubmitOutcome>>> futures;
  std::vector<std::shared_ptr<std::promise<Result<SubmitOutcome>>>> promises;
  for (int i = 0; i < 20; ++i) {
    auto p = std::make_shared<std::promise<Result<SubmitOutcome>>>();
    futures.push_back(p->get_future());
    store_->submit(request(Msg{"M-" + std::to_string(i), MessageType::create, "REF-" + std::to_string(i)}),
                   [p](Result<SubmitOutcome> r) { p->set_value(std::move(r)); });
  }
  store_->close();
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  auto refused = submit(Msg{"M-late", MessageType::create, "REF-late"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().rule, "store");
  store_->close();  // twice is harmless
  reopen();
  EXPECT_EQ(count("transfers"), 20);
}

// Counts this process's open file descriptors that refer to `path`.
int open_descriptors_for(const fs::path& path) {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd", ec)) {
    std::error_code link_ec;
    const fs::path target = fs::read_symlink(entry.path(), link_ec);
    if (!link_ec && target == path) ++n;
  }
  return n;
}

// Regression (Store::Impl::reader): read connections once lived only in a thread_local map
// and were never closed, so every thread that read from a Store kept the database file open
// after the Store was destroyed (a leaked descriptor and SQLite connection per thread per
// Store; a deleted database's space was not freed).
TEST_F(StoreTest, DestroyingTheStoreClosesReadConnections) {
  submit_ok({});
  ASSERT_TRUE(store_->transfer(kTransfer).ok());  // opens this thread's read connection
  std::thread([&] { EXPECT_TRUE(store_->pending_deliveries().ok()); }).join();
  store_.reset();
  EXPECT_EQ(open_descriptors_for(dir_ / "hub.db"), 0);
}

// Creates `db_path` holding `sql` (tables a Store will find already present).
void create_database(const fs::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

class StoreSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");  // the store runs a writer thread
    dir_ = fs::temp_directory_path() / ("deit-store-schema-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A death test's child runs SetUp again under its own pid and leaves through _Exit, which
  // skips TearDown, so it removes its own directory on the way out.
  [[noreturn]] void exit_child(int code) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    std::_Exit(code);
  }
  fs::path dir_;
};

// Regression (Stmt::reset, reached from Connection::stmt): when sqlite3_prepare_v3 failed,
// the null statement went to sqlite3_clear_bindings before any caller could check it, and
// the process crashed (SIGSEGV) instead of returning the "store" error DEIT_SQL_OK reports.
// Run in a child process (death-test machinery) so that a crash cannot take the runner down.
TEST_F(StoreSchemaTest, UnpreparableStatementIsAnErrorNotACrash) {
  const fs::path db_path = dir_ / "hub.db";
  // A deliveries table from some other program: no last_error column.
  create_database(db_path, "CREATE TABLE deliveries(seq INTEGER PRIMARY KEY AUTOINCREMENT, agency TEXT, "
                           "transfer_id TEXT, message_id TEXT, kind TEXT, content_type TEXT, payload BLOB, "
                           "state TEXT, attempts INTEGER, queued_at INTEGER, delivered_at INTEGER);");
  EXPECT_EXIT(
      {
        auto store = Store::open(db_path.string());
        if (!store.ok()) exit_child(0);  // refusing the database is fine too
        auto pending = (*store)->pending_deliveries();
        exit_child(!pending.ok() && pending.error().rule == "store" ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// A database written by the first release (commit a65b2bf): its transfers table has no
// `location` column.
constexpr const char* kFirstReleaseTransfers = R"sql(
CREATE TABLE transfers(
  id TEXT PRIMARY KEY, sender TEXT NOT NULL, receiver TEXT NOT NULL, sender_reference TEXT NOT NULL,
  shared_reference TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL, on_behalf_of TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL, grade TEXT NOT NULL DEFAULT '', emergency INTEGER NOT NULL DEFAULT 0,
  life_risk INTEGER NOT NULL DEFAULT 0, last_sequence INTEGER NOT NULL DEFAULT 0,
  received_at INTEGER NOT NULL DEFAULT 0, validated_at INTEGER NOT NULL DEFAULT 0,
  stored_at INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER NOT NULL DEFAULT 0,
  accepted_at INTEGER NOT NULL DEFAULT 0, rejected_at INTEGER NOT NULL DEFAULT 0,
  closed_at INTEGER NOT NULL DEFAULT 0, cancelled_at INTEGER NOT NULL DEFAULT 0,
  decision_reason TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT '',
  findings TEXT NOT NULL DEFAULT '[]'
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

// Regression: when transfers.location was added, the schema was applied with CREATE TABLE IF
// NOT EXISTS alone, so a database created by the first release never gained the column and
// every submit and transfer read failed to prepare. migrate() now upgrades by user_version.
TEST_F(StoreSchemaTest, DatabaseFromTheFirstReleaseStillWorks) {
  const fs::path db_path = dir_ / "hub.db";
  create_database(db_path, kFirstReleaseTransfers);
  EXPECT_EXIT(
      {
        auto store = Store::open(db_path.string());
        if (!store.ok()) exit_child(2);
        Store& s = *store.value();
        auto out = sync<SubmitOutcome>(
            [&s](std::function<void(Result<SubmitOutcome>)> done) { s.submit(request(Msg{}), std::move(done)); });
        auto t = s.transfer(kTransfer);
        exit_child(out.ok() && t.ok() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// A database written by version 3 (session 2): hash-keyed WITHOUT ROWID transfers and
// messages, events indexed by transfer id. Version 4 rebuilds them as rowid tables.
constexpr const char* kVersion3Tables = R"sql(
CREATE TABLE transfers(
  id TEXT PRIMARY KEY, sender TEXT NOT NULL, receiver TEXT NOT NULL, sender_reference TEXT NOT NULL,
  shared_reference TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL, on_behalf_of TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL, grade TEXT NOT NULL DEFAULT '', emergency INTEGER NOT NULL DEFAULT 0,
  life_risk INTEGER NOT NULL DEFAULT 0, last_sequence INTEGER NOT NULL DEFAULT 0,
  received_at INTEGER NOT NULL DEFAULT 0, validated_at INTEGER NOT NULL DEFAULT 0,
  stored_at INTEGER NOT NULL DEFAULT 0, delivered_at INTEGER NOT NULL DEFAULT 0,
  accepted_at INTEGER NOT NULL DEFAULT 0, rejected_at INTEGER NOT NULL DEFAULT 0,
  closed_at INTEGER NOT NULL DEFAULT 0, cancelled_at INTEGER NOT NULL DEFAULT 0,
  decision_reason TEXT NOT NULL DEFAULT '', decided_by TEXT NOT NULL DEFAULT '',
  findings TEXT NOT NULL DEFAULT '[]', location TEXT NOT NULL DEFAULT '{}',
  receiver_grade TEXT NOT NULL DEFAULT '', grade_rationale TEXT NOT NULL DEFAULT '',
  invocation TEXT NOT NULL DEFAULT '', overdue_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX transfers_sender ON transfers(sender, stored_at);
CREATE TABLE messages(
  sender TEXT NOT NULL, message_id TEXT NOT NULL, type TEXT NOT NULL, sequence INTEGER NOT NULL,
  sender_reference TEXT NOT NULL, received_at INTEGER NOT NULL, transfer_ids TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY(sender, message_id)
) WITHOUT ROWID;
CREATE TABLE events(
  id INTEGER PRIMARY KEY, transfer_id TEXT NOT NULL, at INTEGER NOT NULL, event TEXT NOT NULL,
  actor TEXT NOT NULL DEFAULT '', message_id TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_transfer ON events(transfer_id, id);
PRAGMA user_version = 3;
)sql";

TEST_F(StoreSchemaTest, DatabaseFromVersion3IsRebuiltWithItsRows) {
  const fs::path db_path = dir_ / "hub.db";
  create_database(db_path, kVersion3Tables);
  const std::string rows =
      "INSERT INTO transfers(id, sender, receiver, sender_reference, reason, state, last_sequence, stored_at) "
      "VALUES('" + kTransfer + "', 'hertfordshire-police', 'hertfordshire-fire', 'REF-1', 'assistance-request', "
      "'delivered', 1, 1000);"
      "INSERT INTO messages VALUES('hertfordshire-police', 'M-1', 'create', 1, 'REF-1', 1000, '" + kTransfer +
      "=hertfordshire-fire', '<old/>');"
      "INSERT INTO events(transfer_id, at, event, actor, message_id) VALUES"
      "('" + kTransfer + "', 1000, 'received', 'hertfordshire-police', 'M-1'),"
      "('" + kTransfer + "', 1001, 'stored', 'hub', 'M-1'),"
      "('" + kTransfer + "', 1002, 'delivered', 'hertfordshire-fire', 'M-1');";
  create_database(db_path, rows.c_str());

  auto opened = Store::open(db_path.string());
  ASSERT_TRUE(opened.ok()) << opened.error().describe();
  Store& store = *opened.value();
  auto t = store.transfer(kTransfer);
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_EQ(t->state, "delivered");
  EXPECT_EQ(t->last_sequence, 1u);
  auto h = store.history(kTransfer);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(event_names(*h), (Names{"received", "stored", "delivered"}));
  auto body = store.message_body(kPolice, "M-1");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "<old/>");

  // The old message id is still known, and the old transfer takes updates.
  using Done = std::function<void(Result<SubmitOutcome>)>;
  auto again = sync<SubmitOutcome>([&](Done done) { store.submit(request(Msg{}), std::move(done)); });
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  const Msg update_message{"M-2", MessageType::update, "REF-1", 2};
  auto update = sync<SubmitOutcome>([&](Done done) { store.submit(request(update_message), std::move(done)); });
  ASSERT_TRUE(update.ok()) << update.error().describe();
  h = store.history(kTransfer);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 6u);  // + received, validated, stored of M-2
  store.close();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* version = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &version, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(version), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(version, 0), 5);
  sqlite3_finalize(version);
  sqlite3_close(db);
}

TEST(StoreOpen, UnwritablePathFails) {
  auto s = Store::open("/nonexistent-dir-for-deit-tests/sub/hub.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().rule, "store");
}

// ---- group commit -----------------------------------------------------------------------

TEST_F(StoreTest, ConcurrentSubmitsAllCommitInSeqOrder) {
  constexpr int kThreads = 4, kPerThread = 50;
  std::mutex mutex;
  std::vector<std::uint64_t> completion_order;  // seqs as completions ran
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<void>> done;
      for (int i = 0; i < kPerThread; ++i) {
        auto p = std::make_shared<std::promise<void>>();
        done.push_back(p->get_future());
        const std::string n = std::to_string(t) + "-" + std::to_string(i);
        store_->submit(request(Msg{"M-" + n, MessageType::create, "REF-" + n}), [&, p](Result<SubmitOutcome> r) {
          if (!r.ok() || r->deliveries.size() != 1) {
            ++failures;
          } else {
            std::lock_guard lock(mutex);
            completion_order.push_back(r->deliveries[0].seq);
          }
          p->set_value();
        });
      }
      for (auto& f : done) f.wait();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(completion_order.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 1; i < completion_order.size(); ++i)
    ASSERT_LT(completion_order[i - 1], completion_order[i]) << "at " << i;
  EXPECT_EQ(count("transfers"), kThreads * kPerThread);
  EXPECT_EQ(count("pending"), kThreads * kPerThread);
}

namespace {

// Submits `warm` + `n` creates one every `gap` from this thread, waits for them all, and
// returns how many commits there were from the first of the `n` on (the writer measures
// the rate over the last 50 ms, so the first few milliseconds of a burst are not counted).
std::uint64_t commits_for_paced_submits(Store& store, int n, std::chrono::microseconds gap, int warm = 0) {
  std::vector<std::future<void>> done;
  StoreCounters before = store.counters();
  for (int i = 0; i < warm + n; ++i) {
    if (i == warm) before = store.counters();
    const std::string id = std::to_string(i);
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    store.submit(request(Msg{"M-" + id, MessageType::create, "REF-" + id}), [p](Result<SubmitOutcome> r) {
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
      p->set_value();
    });
    std::this_thread::sleep_for(gap);
  }
  for (auto& f : done) f.wait();
  const auto after = store.counters();
  EXPECT_GE(after.ops - before.ops, static_cast<std::uint64_t>(n));
  return after.commits - before.commits;
}

}  // namespace

// While ops arrive fast, the writer starts a commit no sooner than commit_interval after
// the previous one: about 0.3 s of submits at some thousands a second commit in a few
// dozen batches at most (with no waiting, in hundreds: a commit here takes about 1 ms).
TEST_F(StoreTest, UnderLoadTheWriterWaitsToCommitMoreAtOnce) {
  StoreOptions options;
  options.commit_interval = std::chrono::milliseconds(50);
  options.linger_rate = 1000;
  reopen(options);
  const auto commits = commits_for_paced_submits(*store_, 1000, std::chrono::microseconds(200), 300);
  EXPECT_LE(commits, 40u) << "1,000 submits at some thousands a second";
  EXPECT_EQ(count("transfers"), 1300);
}

// Senders that each wait for "received" before sending again (a closed loop) go quiet
// once all are queued: the writer then commits at once instead of waiting out the
// interval. 8 such senders, 400 submits: waiting out 50 ms per commit would take over 2 s.
TEST_F(StoreTest, UnderLoadTheWriterStopsWaitingWhenArrivalsPause) {
  StoreOptions options;
  options.commit_interval = std::chrono::milliseconds(50);
  options.linger_rate = 100;
  reopen(options);
  constexpr int kSenders = 8, kEach = 50;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(submit(Msg{"M-" + id, MessageType::create, "REF-" + id}).ok());
      }
    });
  }
  for (auto& s : senders) s.join();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));
  EXPECT_GE(store_->counters().commits, static_cast<std::uint64_t>(kEach));  // at most 8 in a batch
  EXPECT_EQ(count("transfers"), kSenders * kEach);
}

// Below the linger rate every op commits as soon as the writer is free: 100 submits a
// second, 10 ms apart, each commit alone, though the interval would group five (a sync
// of over 10 ms may let two share one).
TEST_F(StoreTest, AtLowRatesEveryOpCommitsWithoutWaiting) {
  StoreOptions options;
  options.commit_interval = std::chrono::milliseconds(50);
  reopen(options);
  const auto commits = commits_for_paced_submits(*store_, 40, std::chrono::milliseconds(10));
  EXPECT_GE(commits, 35u);
}

// Commits go to the WAL; the background checkpointer copies them into the database file
// in steps while the writer goes on, without any reader or writer asking for it.
TEST_F(StoreTest, CommittedPagesReachTheDatabaseFileInTheBackground) {
  const auto db = dir_ / "hub.db";
  const auto initial = fs::file_size(db);
  std::vector<std::future<void>> done;
  for (int i = 0; i < 400; ++i) {  // about 3 MiB of WAL, several checkpoint steps
    auto r = request(Msg{"M-" + std::to_string(i), MessageType::create, "REF-" + std::to_string(i)});
    r.canonical_xml += std::string(6000, 'x');
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    store_->submit(std::move(r), [p](Result<SubmitOutcome> out) {
      EXPECT_TRUE(out.ok());
      p->set_value();
    });
  }
  for (auto& f : done) f.wait();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (fs::file_size(db) < initial + (2u << 20) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(fs::file_size(db), initial + (2u << 20)) << "the WAL was not checkpointed into " << db;
  EXPECT_EQ(count("transfers"), 400);
}

// Retention erases what ended before the cut-off, once, oldest first, and nothing else.
TEST_F(StoreTest, RetentionErasesTransfersThatEndedBeforeTheCutOffOnce) {
  auto erase_ended = [&](RetentionCursor after, std::int64_t before, std::size_t limit = 100) {
    return sync<RetentionOutcome>([&](auto done) {
      store_->erase_ended(RetentionRequest{after, before, limit, "retention: test"}, done);
    });
  };
  auto submit_and_ack = [&](const Msg& m) {
    auto out = submit_ok(m);
    for (const auto& d : out.deliveries) ASSERT_TRUE(ack(d.agency, {d.seq}).ok());
  };
  // Closed and delivered; closed but its close not yet acknowledged; still open; rejected.
  submit_and_ack(Msg{"A-1", MessageType::create, "REF-A"});
  submit_and_ack(Msg{"A-2", MessageType::close, "REF-A"});
  submit_and_ack(Msg{"C-1", MessageType::create, "REF-C"});
  submit_ok(Msg{"C-2", MessageType::close, "REF-C"});
  submit_and_ack(Msg{"B-1", MessageType::create, "REF-B"});
  submit_and_ack(Msg{"D-1", MessageType::create, "REF-D"});
  const std::string a = make_transfer_id(kPolice, "REF-A", kFire), b = make_transfer_id(kPolice, "REF-B", kFire),
                    c = make_transfer_id(kPolice, "REF-C", kFire), d = make_transfer_id(kPolice, "REF-D", kFire);
  ASSERT_TRUE(decide(kFire, d, false, "not ours").ok());

  // A cut-off before any of them ended: nothing.
  auto none = erase_ended({}, now_ms() - 3'600'000);
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_TRUE(none->erased.empty());
  EXPECT_TRUE(none->skipped.empty());

  // One at a time: the cursor moves on, oldest end first.
  const std::int64_t cutoff = now_ms() + 1000;
  auto first = erase_ended({}, cutoff, 1);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ(first->erased, Names{a});
  EXPECT_TRUE(first->more);
  auto rest = erase_ended(first->next, cutoff);
  ASSERT_TRUE(rest.ok()) << rest.error().describe();
  EXPECT_EQ(rest->erased, Names{d});
  EXPECT_EQ(rest->skipped, Names{c}) << "its close is still pending at the receiver";
  EXPECT_FALSE(rest->more);

  EXPECT_EQ(history(a).back(), "erased");
  EXPECT_EQ(transfer(a).state, "closed");
  EXPECT_EQ(history(d).back(), "erased");
  EXPECT_NE(history(b).back(), "erased");
  EXPECT_NE(history(c).back(), "erased");
  auto audit = read_audit_file((dir_ / "hub.db").string());
  ASSERT_TRUE(audit.ok()) << audit.error().describe();
  std::vector<AuditRecord> erasures;
  for (const auto& r : *audit)
    if (r.action == "erase") erasures.push_back(r);
  ASSERT_EQ(erasures.size(), 2u);
  EXPECT_EQ(erasures.front().subject, "transfer:" + a);
  EXPECT_EQ(erasures.front().actor, "hub");
  EXPECT_EQ(erasures.front().reason, "retention: test");

  // A second pass from the start erases nothing twice.
  auto again = erase_ended({}, cutoff);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->erased.empty());
  EXPECT_EQ(again->skipped, Names{c});
  std::size_t erased_events = 0;
  for (const auto& name : history(a)) erased_events += name == "erased";
  EXPECT_EQ(erased_events, 1u);
}

// How often `opcode` appears in the program SQLite compiles for `sql` on the database at `db`.
int opcode_count(const fs::path& db_path, const std::string& sql, std::string_view opcode) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* explain = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN " + sql).c_str(), -1, &explain, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int count = 0;
  while (explain && sqlite3_step(explain) == SQLITE_ROW)
    count += opcode == reinterpret_cast<const char*>(sqlite3_column_text(explain, 1));
  sqlite3_finalize(explain);
  sqlite3_close(db);
  return count;
}

// Every submit inserts a transfer and every acknowledgement updates one. Neither may build a
// temporary table: an IN list in a partial index's condition did, twice per update.
TEST_F(StoreTest, WritingATransferBuildsNoTemporaryTable) {
  submit_ok({});
  const fs::path db = dir_ / "hub.db";
  EXPECT_EQ(opcode_count(db, "INSERT INTO transfers(id, sender, receiver, sender_reference, reason, state) "
                             "VALUES('T-x', 'a', 'b', 'REF-x', 'misrouted', 'stored')", "OpenEphemeral"), 0);
  EXPECT_EQ(opcode_count(db, "UPDATE transfers SET state = 'closed', closed_at = 1 WHERE key = 1", "OpenEphemeral"), 0);
  EXPECT_EQ(opcode_count(db, "UPDATE deliveries SET state = 'delivered', delivered_at = 1 WHERE seq = 1", "OpenEphemeral"), 0);
}

// Version 5 rebuilds a version-4 database's transfers_ended index without its IN list, and
// retention still finds what ended.
TEST_F(StoreTest, Version4IndexOfEndedTransfersIsReplaced) {
  for (const Msg& m : {Msg{}, Msg{"M-2", MessageType::close, "REF-1", 2}})
    for (const auto& d : submit_ok(m).deliveries) ASSERT_TRUE(ack(d.agency, {d.seq}).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "hub.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX transfers_ended; CREATE INDEX transfers_ended ON "
                         "transfers(max(closed_at, cancelled_at, rejected_at)) "
                         "WHERE state IN ('closed', 'cancelled', 'rejected'); PRAGMA user_version = 4;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  reopen();
  EXPECT_EQ(opcode_count(dir_ / "hub.db", "UPDATE transfers SET state = 'closed' WHERE key = 1", "OpenEphemeral"), 0);
  auto erased = sync<RetentionOutcome>([&](auto done) {
    store_->erase_ended(RetentionRequest{{}, now_ms() + 1000, 100, "retention: test"}, done);
  });
  ASSERT_TRUE(erased.ok()) << erased.error().describe();
  EXPECT_EQ(erased->erased.size(), 1u);
}

TEST_F(StoreTest, AFailingOpInABatchDoesNotUndoTheOthers) {
  // Create REF-x to the ambulance service first, so a later create of REF-x to fire AND
  // ambulance fails on its second target, after its first target's rows were written.
  submit_ok(Msg{"M-0", MessageType::create, "REF-x", 0, {kAmbulance}});

  // Hold the writer inside a completion so the next operations queue up and are taken
  // as one batch.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  store_->submit(request(Msg{"M-hold", MessageType::create, "REF-hold"}), [&, released](Result<SubmitOutcome> r) {
    EXPECT_TRUE(r.ok());
    holding.set_value();
    released.wait();
  });
  holding.get_future().wait();

  std::vector<std::future<Result<SubmitOutcome>>> results;
  auto start = [&](const Msg& m) {
    auto p = std::make_shared<std::promise<Result<SubmitOutcome>>>();
    results.push_back(p->get_future());
    store_->submit(request(m), [p](Result<SubmitOutcome> r) { p->set_value(std::move(r)); });
  };
  start(Msg{"M-good-1", MessageType::create, "REF-good-1"});
  start(Msg{"M-bad-1", MessageType::update, "REF-nothing"});                   // not-found
  start(Msg{"M-bad-2", MessageType::create, "REF-x", 0, {kFire, kAmbulance}});  // conflict on 2nd target
  // The same receiver twice: refused by the transfers table's unique id, on the second
  // insert, after the first target's rows were written. The batch runs again with a
  // savepoint around each op.
  start(Msg{"M-bad-3", MessageType::create, "REF-twice", 0, {kFire, kFire}});
  start(Msg{"M-good-2", MessageType::create, "REF-good-2"});
  release.set_value();

  auto good1 = results[0].get();
  auto bad1 = results[1].get();
  auto bad2 = results[2].get();
  auto bad3 = results[3].get();
  auto good2 = results[4].get();
  ASSERT_TRUE(good1.ok());
  ASSERT_FALSE(bad1.ok());
  EXPECT_EQ(bad1.error().rule, "not-found");
  ASSERT_FALSE(bad2.ok());
  EXPECT_EQ(bad2.error().rule, "conflict");
  ASSERT_FALSE(bad3.ok());
  EXPECT_EQ(bad3.error().rule, "store");
  ASSERT_TRUE(good2.ok());
  EXPECT_LT(good1->deliveries[0].seq, good2->deliveries[0].seq);
  // What the ops hand back is from the run that committed, not from the one rolled back.
  ASSERT_EQ(good1->deliveries.size(), 1u);
  ASSERT_EQ(good2->deliveries.size(), 1u);
  EXPECT_EQ(good2->transfers.size(), 1u);
  EXPECT_EQ(good2->deliveries[0].seq, good1->deliveries[0].seq + 1);
  EXPECT_FALSE(store_->transfer(make_transfer_id(kPolice, "REF-twice", kFire)).ok());
  EXPECT_TRUE(store_->message_body(kPolice, "M-bad-3").error().rule == "not-found");

  // The failed create's first target was rolled back with it.
  auto partial = store_->transfer(make_transfer_id(kPolice, "REF-x", kFire));
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().rule, "not-found");
  EXPECT_TRUE(store_->message_body(kPolice, "M-bad-2").error().rule == "not-found");
  EXPECT_EQ(count("transfers"), 4);  // M-0, M-hold, good-1, good-2
  EXPECT_EQ(count("messages"), 4);
  EXPECT_EQ(count("deliveries"), 4);
  EXPECT_EQ(history(make_transfer_id(kPolice, "REF-x", kFire)).size(), 0u);
  EXPECT_EQ(history(make_transfer_id(kPolice, "REF-x", kAmbulance)).size(), 3u);
}

}  // namespace
}  // namespace deit::hub
