// End-to-end: real deit-hub processes, real mutual TLS over loopback, real SQLite.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "hub/pki.hpp"
#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;

namespace {


// Reads stream frames until `want` distinct message ids arrived or `timeout_ms` passed
// without a frame; acknowledges each frame. Returns message id → times seen.
std::map<std::string, int> drain(hub::StreamClient& stream, std::size_t want, int timeout_ms,
                                 std::vector<std::string>* order = nullptr) {
  std::map<std::string, int> seen;
  while (seen.size() < want) {
    auto frame = stream.next(timeout_ms);
    if (!frame) break;
    auto d = parse_object(*frame);
    const std::string message = str(d, "message");
    ++seen[message];
    if (order) order->push_back(message);
    EXPECT_TRUE(stream.ack({d.at("delivery").to_number<std::uint64_t>()}).ok());
  }
  return seen;
}

}  // namespace

// A hub that cannot start is reported with its own words, and leaves neither a process nor
// its directory behind (a constructor that throws runs no destructor).
TEST(TransferEndToEnd, AHubThatCannotStartLeavesNothingBehind) {
  const std::string prefix = "deit-e2e-" + std::to_string(::getpid()) + "-";
  auto ours = [&] {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
      n += entry.path().filename().string().starts_with(prefix);
    return n;
  };
  const int before = ours();
  try {
    HubProcess hub(R"({"id": "wessex-police", "kind": "coastguard"})");
    ADD_FAILURE() << "a hub with an agency of an unknown kind started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exited at start"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kind"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ours(), before);
}

TEST(TransferEndToEnd, SendReceiveAcceptAndTheSenderIsTold) {
  HubProcess hub;
  auto police = hub.client("hertfordshire-police");
  auto sent = police->request("POST", "/v1/transfers", sample_message("m-1", "REF-1"), "application/xml");
  ASSERT_TRUE(sent.ok()) << sent.error().describe();
  ASSERT_EQ(sent->status, 202) << sent->body;
  const auto reply = parse_object(sent->body);
  EXPECT_EQ(str(reply, "status"), "received");
  const std::string transfer = str(reply.at("transfers").as_array()[0].as_object(), "id");

  auto fire_stream = hub.stream("hertfordshire-fire");
  auto frame = fire_stream->next(5000);
  ASSERT_TRUE(frame.ok()) << frame.error().describe();
  auto delivery = parse_object(*frame);
  EXPECT_EQ(str(delivery, "transfer"), transfer);
  EXPECT_EQ(str(delivery, "kind"), "incident");
  EXPECT_NE(str(delivery, "body").find("<transferId>" + transfer + "</transferId>"), std::string::npos);
  ASSERT_TRUE(fire_stream->ack({delivery.at("delivery").to_number<std::uint64_t>()}).ok());

  auto fire = hub.client("hertfordshire-fire");
  auto accepted = fire->request("POST", "/v1/transfers/" + transfer + "/accept",
                                R"({"reason":"two appliances mobilised","operator":"op 7"})", "application/json");
  ASSERT_TRUE(accepted.ok());
  ASSERT_EQ(accepted->status, 200) << accepted->body;
  EXPECT_EQ(str(parse_object(accepted->body), "state"), "accepted");

  // The sender sees the acceptance in its own queue and in the transfer's history.
  auto inbox = police->request("GET", "/v1/inbox?wait=5");
  ASSERT_TRUE(inbox.ok());
  auto deliveries = parse_object(inbox->body).at("deliveries").as_array();
  ASSERT_EQ(deliveries.size(), 1u) << inbox->body;
  auto status = parse_object(str(deliveries[0].as_object(), "body"));
  EXPECT_EQ(str(status, "state"), "accepted");
  EXPECT_EQ(str(status, "reason"), "two appliances mobilised");

  auto shown = police->request("GET", "/v1/transfers/" + transfer);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->status, 200);
  std::vector<std::string> events;
  const auto shown_transfer = parse_object(shown->body);
  for (const auto& e : shown_transfer.at("history").as_array()) events.push_back(str(e.as_object(), "event"));
  EXPECT_EQ(events, (std::vector<std::string>{"received", "validated", "stored", "delivered", "accepted"}));

  // The same message again is recognised, never a second transfer.
  auto again = police->request("POST", "/v1/transfers", sample_message("m-1", "REF-1"), "application/xml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(str(parse_object(again->body), "status"), "duplicate");
  auto more = fire_stream->next(500);
  EXPECT_FALSE(more.ok()) << "a duplicate must not be delivered again";

  // Another agency cannot even learn that the transfer exists.
  auto nosy = hub.client("bedfordshire-police")->request("GET", "/v1/transfers/" + transfer);
  ASSERT_TRUE(nosy.ok());
  EXPECT_EQ(nosy->status, 404);
}

TEST(TransferEndToEnd, BatchedStreamFramesCarryEveryWaitingDeliveryInOrder) {
  HubProcess hub;
  auto police = hub.client("hertfordshire-police");
  for (int i = 1; i <= 5; ++i) {
    auto sent = police->request("POST", "/v1/transfers", sample_message("m-" + std::to_string(i), "REF-" + std::to_string(i)),
                                "application/xml");
    ASSERT_TRUE(sent.ok()) << sent.error().describe();
    ASSERT_EQ(sent->status, 202) << sent->body;
  }
  auto connected = hub::StreamClient::connect(hub.options("hertfordshire-fire"), 4);
  ASSERT_TRUE(connected.ok()) << connected.error().describe();
  auto& stream = **connected;
  // Five were waiting: a frame of four (the batch size), then a frame of one, in order.
  std::vector<std::string> messages;
  std::vector<std::size_t> frame_sizes;
  std::vector<std::uint64_t> seqs;
  while (messages.size() < 5) {
    auto frame = stream.next(5000);
    ASSERT_TRUE(frame.ok()) << frame.error().describe();
    const json::value v = json::parse(*frame);
    ASSERT_TRUE(v.is_array()) << *frame;
    frame_sizes.push_back(v.as_array().size());
    for (const auto& d : v.as_array()) {
      messages.push_back(str(d.as_object(), "message"));
      seqs.push_back(d.as_object().at("delivery").to_number<std::uint64_t>());
    }
  }
  EXPECT_EQ(frame_sizes, (std::vector<std::size_t>{4, 1}));
  EXPECT_EQ(messages, (std::vector<std::string>{"m-1", "m-2", "m-3", "m-4", "m-5"}));
  ASSERT_TRUE(stream.ack(seqs).ok());

  // A delivery committed later comes as an array of one.
  ASSERT_EQ(police->request("POST", "/v1/transfers", sample_message("m-6", "REF-6"), "application/xml")->status, 202);
  auto later = stream.next(5000);
  ASSERT_TRUE(later.ok()) << later.error().describe();
  const json::value one = json::parse(*later);
  ASSERT_TRUE(one.is_array() && one.as_array().size() == 1) << *later;
  EXPECT_EQ(str(one.as_array()[0].as_object(), "message"), "m-6");
  ASSERT_TRUE(stream.ack({one.as_array()[0].as_object().at("delivery").to_number<std::uint64_t>()}).ok());
  stream.close();

  // Everything acknowledged: a new stream (one delivery per frame) has nothing to send.
  auto plain = hub.stream("hertfordshire-fire");
  EXPECT_FALSE(plain->next(700).ok());
}

// A receiver that acknowledges each frame at once, back to back, gets ahead of the hub's
// commits: the hub gathers what arrives meanwhile into one commit, and loses none.
TEST(TransferEndToEnd, AcknowledgementsSentBackToBackAreAllCommitted) {
  HubProcess hub;
  auto police = hub.client("hertfordshire-police");
  constexpr int kMessages = 30;
  std::vector<std::string> transfers;
  for (int i = 1; i <= kMessages; ++i) {
    auto sent = police->request("POST", "/v1/transfers", sample_message("a-" + std::to_string(i), "ACK-" + std::to_string(i)),
                                "application/xml");
    ASSERT_TRUE(sent.ok()) << sent.error().describe();
    ASSERT_EQ(sent->status, 202) << sent->body;
    transfers.push_back(str(parse_object(sent->body).at("transfers").as_array()[0].as_object(), "id"));
  }
  {
    auto stream = hub.stream("hertfordshire-fire");
    for (int i = 0; i < kMessages; ++i) {
      auto frame = stream->next(5000);
      ASSERT_TRUE(frame.ok()) << frame.error().describe();
      ASSERT_TRUE(stream->ack({parse_object(*frame).at("delivery").to_number<std::uint64_t>()}).ok());
    }
    stream->close();
  }
  // The stream's last commit may still be under way when the client has closed.
  auto fire = hub.client("hertfordshire-fire");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (const auto& id : transfers) {
    std::string state;
    for (bool first = true; state != "delivered" && (first || std::chrono::steady_clock::now() < deadline); first = false) {
      if (!first) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto shown = fire->request("GET", "/v1/transfers/" + id);
      ASSERT_TRUE(shown.ok());
      state = str(parse_object(shown->body), "state");
    }
    EXPECT_EQ(state, "delivered") << id;
  }
  auto again = hub.stream("hertfordshire-fire");
  EXPECT_FALSE(again->next(700).ok()) << "every acknowledged delivery must stay acknowledged";
}

// Submits that overlap are prepared in the work pool rather than on a second I/O thread
// (server.cpp, prepare): each still gets its own answer, and every incident arrives once.
TEST(TransferEndToEnd, OverlappingSubmitsArePreparedInTheWorkPoolAndEachArrivesOnce) {
  HubProcess hub;
  constexpr int kSenders = 6, kPerSender = 25, kTotal = kSenders * kPerSender;
  std::atomic<int> answered{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s)
    senders.emplace_back([&, s] {
      auto police = hub.client("hertfordshire-police");
      for (int i = 0; i < kPerSender; ++i) {
        const std::string id = "w" + std::to_string(s) + "-" + std::to_string(i);
        auto r = police->request("POST", "/v1/transfers", sample_message(id, "WORK-" + id), "application/xml");
        if (r.ok() && r->status == 202 && str(parse_object(r->body), "message") == id) ++answered;
      }
    });
  for (auto& t : senders) t.join();
  EXPECT_EQ(answered, kTotal);

  auto fire = hub.stream("hertfordshire-fire");
  const auto received = drain(*fire, kTotal, 3000);
  EXPECT_EQ(received.size(), static_cast<std::size_t>(kTotal));
  for (const auto& [id, n] : received) EXPECT_EQ(n, 1) << id;

  auto health = hub.client("hertfordshire-police")->request("GET", "/v1/health");
  ASSERT_TRUE(health.ok()) << health.error().describe();
  const auto submits = parse_object(health->body).at("submits").as_object();
  const auto in_place = submits.at("prepared_in_place").to_number<std::int64_t>();
  const auto in_pool = submits.at("prepared_in_pool").to_number<std::int64_t>();
  EXPECT_GT(in_pool, 0) << "six senders at once always overlap";
  EXPECT_EQ(in_place + in_pool, kTotal);

  // An administrator tells the threads apart in `top -H` or `ps -L`: the main thread keeps
  // the process name and runs I/O with the other (io_threads 2 by default).
  const auto names = hub.thread_names();
  EXPECT_EQ(names.count("deit-hub"), 1u);
  EXPECT_EQ(names.count("deit-io"), 1u);
  EXPECT_EQ(names.count("deit-store"), 1u);
  EXPECT_EQ(names.count("deit-checkpoint"), 1u);
  EXPECT_EQ(names.count("deit-logflush"), 1u);
  EXPECT_GE(names.count("deit-prepare"), 1u) << "a pool thread that prepared a submit";
}

// A sender that retries on several connections at once (a timeout, then a resend while the
// first is still in flight) has its copies prepared side by side, in place and in the pool.
// Still exactly one is received and makes a transfer; the others are answered "duplicate"
// with that same transfer, and the receiver gets each message once.
TEST(TransferEndToEnd, TheSameMessageSentOnSixConnectionsAtOnceMakesOneTransfer) {
  HubProcess hub;
  constexpr int kConnections = 6, kMessages = 12;
  struct Answer {
    int status = 0;
    std::string state, transfer;
  };
  std::vector<std::vector<Answer>> answers(kMessages, std::vector<Answer>(kConnections));
  std::atomic<int> ready{0};
  std::vector<std::thread> senders;
  for (int c = 0; c < kConnections; ++c)
    senders.emplace_back([&, c] {
      auto police = hub.client("hertfordshire-police");
      for (int m = 0; m < kMessages; ++m) {
        // Every connection starts message m together.
        ++ready;
        while (ready.load() < kConnections * (m + 1)) std::this_thread::yield();
        const std::string id = "same-" + std::to_string(m);
        auto r = police->request("POST", "/v1/transfers", sample_message(id, "SAME-" + id), "application/xml");
        if (!r.ok()) continue;
        Answer& a = answers[m][c];
        a.status = r->status;
        // A refusal (problem+json) has a numeric status and no transfers: leave them empty.
        const auto body = parse_object(r->body);
        if (const auto* state = body.if_contains("status"); state && state->is_string()) a.state = state->as_string();
        if (const auto* ts = body.if_contains("transfers"); ts && ts->is_array() && !ts->as_array().empty())
          a.transfer = str(ts->as_array()[0].as_object(), "id");
      }
    });
  for (auto& t : senders) t.join();

  for (int m = 0; m < kMessages; ++m) {
    int received = 0, duplicate = 0;
    for (const Answer& a : answers[m]) {
      if (a.status == 202 && a.state == "received") ++received;
      if (a.status == 200 && a.state == "duplicate") ++duplicate;
      EXPECT_EQ(a.transfer, answers[m][0].transfer) << "message " << m << ": every answer names the one transfer";
    }
    EXPECT_EQ(received, 1) << "message " << m;
    EXPECT_EQ(duplicate, kConnections - 1) << "message " << m;
    EXPECT_FALSE(answers[m][0].transfer.empty()) << "message " << m;
  }

  auto fire = hub.stream("hertfordshire-fire");
  const auto delivered = drain(*fire, kMessages, 3000);
  EXPECT_EQ(delivered.size(), static_cast<std::size_t>(kMessages));
  for (const auto& [id, n] : delivered) EXPECT_EQ(n, 1) << id;
  EXPECT_FALSE(fire->next(700).ok()) << "no second transfer may be delivered";
}

TEST(TransferEndToEnd, RefusalsAreProblemDetailsNamingTheRule) {
  HubProcess hub;
  auto police = hub.client("hertfordshire-police");

  auto malformed = police->request(
      "POST", "/v1/transfers",
      "<incidentMessage xmlns=\"urn:deit-hub:incident:1\" schemaVersion=\"1.0\">\n  <messageId>x</messageID>",
      "application/xml");
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400) << malformed->body;
  EXPECT_EQ(malformed->content_type, "application/problem+json");
  auto p = parse_object(malformed->body);
  EXPECT_EQ(str(p, "rule"), "well-formed");
  EXPECT_EQ(p.at("line").to_number<int>(), 2);

  std::string invalid = sample_message("m-bad", "REF-BAD");
  invalid.replace(invalid.find("<policeGrade>emergency"), 22, "<policeGrade>urgent");
  auto schema = police->request("POST", "/v1/transfers", invalid, "application/xml");
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->status, 422) << schema->body;
  p = parse_object(schema->body);
  EXPECT_EQ(str(p, "rule"), "schema");
  EXPECT_NE(str(p, "field").find("policeGrade"), std::string::npos);
  EXPECT_EQ(p.at("line").to_number<int>(), 20);
  EXPECT_GT(p.at("column").to_number<int>(), 0);

  auto wrong_type = police->request("POST", "/v1/transfers", sample_message("m-2", "R2"), "text/plain");
  ASSERT_TRUE(wrong_type.ok());
  EXPECT_EQ(wrong_type->status, 415);

  auto spoofed = hub.client("bedfordshire-police")
                     ->request("POST", "/v1/transfers", sample_message("m-3", "R3"), "application/xml");
  ASSERT_TRUE(spoofed.ok());
  EXPECT_EQ(spoofed->status, 403) << spoofed->body;
  EXPECT_EQ(str(parse_object(spoofed->body), "field"), "incidentMessage/sender");

  auto unknown = police->request("POST", "/v1/transfers",
                                 sample_message("m-4", "R4", "create", 1, "hertfordshire-police", "nowhere-police"),
                                 "application/xml");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 422);
  EXPECT_EQ(str(parse_object(unknown->body), "rule"), "unknown-agency");

  std::string huge = "<a>" + std::string(2 << 20, 'x') + "</a>";
  auto big = hub.client("hertfordshire-police")->request("POST", "/v1/transfers", huge, "application/xml");
  // The hub answers 413 as soon as it sees the length and closes; a client still writing
  // the body may see the connection reset instead of the answer. Either way it is refused.
  if (big.ok()) {
    EXPECT_EQ(big->status, 413);
  }
  EXPECT_TRUE(log_shows(hub, "rule=size"));

  std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
      "<incidentMessage xmlns=\"urn:deit-hub:incident:1\">&b;</incidentMessage>";
  auto entity = hub.client("hertfordshire-police")->request("POST", "/v1/transfers", laughs, "application/xml");
  ASSERT_TRUE(entity.ok());
  EXPECT_EQ(entity->status, 400);
  EXPECT_EQ(str(parse_object(entity->body), "rule"), "doctype");

  auto update_first = police->request("POST", "/v1/transfers", sample_message("m-5", "NEVER-CREATED", "update", 2),
                                      "application/xml");
  ASSERT_TRUE(update_first.ok());
  EXPECT_EQ(update_first->status, 404);

  // After all that, the hub still serves.
  auto ok = police->request("POST", "/v1/transfers", sample_message("m-6", "R6"), "application/xml");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 202);
}

TEST(TransferEndToEnd, OnlyKnownCertificatesGetIn) {
  HubProcess hub;
  const std::string certs = hub.certs().string();
  // Same CA, but no agency claims this name.
  ASSERT_TRUE(hub::pki::issue_certificate(certs, "rogue-control-room", false, 30).ok());
  auto rogue = hub::Client::connect(hub.options("rogue-control-room"));
  ASSERT_TRUE(rogue.ok());
  auto r = (*rogue)->request("GET", "/v1/health");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  EXPECT_TRUE(log_shows(hub, "event=unknown-certificate"));

  // Issued by a different CA: refused during the TLS handshake.
  const std::string other = (hub.dir() / "other-ca").string();
  ASSERT_TRUE(hub::pki::ensure_dev_pki(other, {"hertfordshire-police"}).ok());
  auto options = hub.options("hertfordshire-police");
  options.cert_file = other + "/hertfordshire-police.pem";
  options.key_file = other + "/hertfordshire-police.key";
  auto foreign = hub::Client::connect(options);
  if (foreign.ok()) {
    auto reply = (*foreign)->request("GET", "/v1/health");  // TLS 1.3 reports the refusal on first use
    EXPECT_FALSE(reply.ok());
  }

  // Expired: refused during the handshake too, with the reason logged.
  ASSERT_TRUE(hub::pki::issue_certificate(certs, "east-of-england-ambulance", false, -1).ok());
  auto expired = hub::Client::connect(hub.options("east-of-england-ambulance"));
  if (expired.ok()) {
    EXPECT_FALSE((*expired)->request("GET", "/v1/health").ok());
  }
  EXPECT_TRUE(log_shows(hub, "certificate has expired"));

  // No client certificate at all.
  auto anonymous = hub.options("hertfordshire-police");
  anonymous.cert_file.clear();
  auto none = hub::Client::connect(anonymous);
  if (none.ok()) {
    EXPECT_FALSE((*none)->request("GET", "/v1/health").ok());
  }
}

TEST(TransferEndToEnd, UpdatesArriveInOrderAndStaleSequencesAreRefused) {
  HubProcess hub;
  auto police = hub.client("hertfordshire-police");
  ASSERT_EQ(police->request("POST", "/v1/transfers", sample_message("u-1", "UPD", "create", 1), "application/xml")->status, 202);
  for (int seq = 2; seq <= 6; ++seq) {
    auto r = police->request("POST", "/v1/transfers", sample_message("u-" + std::to_string(seq), "UPD", "update", seq),
                             "application/xml");
    ASSERT_EQ(r->status, 202) << r->body;
  }
  auto stale = police->request("POST", "/v1/transfers", sample_message("u-stale", "UPD", "update", 4), "application/xml");
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(str(parse_object(stale->body), "rule"), "sequence");

  auto fire = hub.stream("hertfordshire-fire");
  std::vector<std::string> order;
  drain(*fire, 6, 3000, &order);
  EXPECT_EQ(order, (std::vector<std::string>{"u-1", "u-2", "u-3", "u-4", "u-5", "u-6"}));
}

TEST(TransferEndToEnd, LongPollInboxWakesWhenATransferArrives) {
  HubProcess hub;
  auto fire = hub.client("hertfordshire-fire");
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto r = hub.client("hertfordshire-police")->request("POST", "/v1/transfers", sample_message("lp-1", "LP"), "application/xml");
    EXPECT_TRUE(r.ok());
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto inbox = fire->request("GET", "/v1/inbox?wait=20");
  const auto waited = std::chrono::steady_clock::now() - t0;
  sender.join();
  ASSERT_TRUE(inbox.ok());
  auto deliveries = parse_object(inbox->body).at("deliveries").as_array();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_LT(waited, std::chrono::seconds(5));
  const auto seq = deliveries[0].as_object().at("delivery").to_number<std::uint64_t>();
  auto ack = fire->request("POST", "/v1/inbox/ack", "{\"ack\":[" + std::to_string(seq) + "]}", "application/json");
  EXPECT_EQ(ack->status, 200);
  EXPECT_EQ(parse_object(fire->request("GET", "/v1/inbox")->body).at("deliveries").as_array().size(), 0u);
}

TEST(TransferEndToEnd, PushDeliveryRetriesUntilTheEndpointAccepts) {
  // A fourth police force that takes deliveries on its own HTTPS endpoint.
  const int port = 20000 + (::getpid() % 20000);
  HubProcess hub(R"({"id": "pushing-police", "kind": "police", "delivery": {"mode": "push", "endpoint": "https://127.0.0.1:)" +
                 std::to_string(port) + R"(/incidents"}})");
  const std::string out = (hub.dir() / "received").string();
  // `timeout`: a pusher that never comes fails the test rather than hanging it.
  const std::string cmd = "timeout 30 " + std::string(DEIT_BINARY_DIR) + "/hub/deitctl --certs " + hub.certs().string() +
                          " receive --name hub --listen 127.0.0.1:" + std::to_string(port) + " --out " + out +
                          " --count 3 --fail-first 2 > " + (hub.dir() / "receive.txt").string() + " 2>&1";
  std::thread endpoint([&] { EXPECT_EQ(std::system(cmd.c_str()), 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto police = hub.client("hertfordshire-police");
  for (int i = 1; i <= 3; ++i) {
    auto r = police->request("POST", "/v1/transfers",
                             sample_message("p-" + std::to_string(i), "PUSH-" + std::to_string(i), "create", 1,
                                            "hertfordshire-police", "pushing-police"),
                             "application/xml");
    ASSERT_EQ(r->status, 202) << r->body;
  }
  endpoint.join();
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(out)) files += e.path().extension() == ".msg";
  EXPECT_EQ(files, 3u);
  EXPECT_TRUE(log_shows(hub, "event=push-failed"));  // the two refusals were retried
  EXPECT_TRUE(log_shows(hub, "via=push"));
}

// After a TLS reload (a renewed client certificate, a new CA) the pusher does not keep the
// connection it dialled with the old files: the next delivery dials again.
TEST(TransferEndToEnd, PushDialsAgainAfterATlsReload) {
  const int port = 20000 + ((::getpid() + 7919) % 20000);
  HubProcess hub(R"({"id": "pushing-police", "kind": "police", "delivery": {"mode": "push", "endpoint": "https://127.0.0.1:)" +
                 std::to_string(port) + R"(/incidents"}})");
  const std::string out = (hub.dir() / "received").string();
  const auto receive_log = hub.dir() / "receive.txt";
  // `timeout`: a pusher that never comes fails the test rather than hanging it.
  const std::string cmd = "timeout 30 " + std::string(DEIT_BINARY_DIR) + "/hub/deitctl --certs " + hub.certs().string() +
                          " receive --name hub --listen 127.0.0.1:" + std::to_string(port) + " --out " + out +
                          " --count 2 > " + receive_log.string() + " 2>&1";
  std::thread endpoint([&] { EXPECT_EQ(std::system(cmd.c_str()), 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto police = hub.client("hertfordshire-police");
  auto send = [&](int i) {
    auto r = police->request("POST", "/v1/transfers",
                             sample_message("rp-" + std::to_string(i), "RPUSH-" + std::to_string(i), "create", 1,
                                            "hertfordshire-police", "pushing-police"),
                             "application/xml");
    ASSERT_EQ(r->status, 202) << r->body;
  };
  send(1);
  ASSERT_TRUE(log_shows(hub, "agency=pushing-police delivery=1 via=push"));
  hub.signal(SIGHUP);
  ASSERT_TRUE(log_shows(hub, "event=tls-reloaded generation=1"));
  send(2);
  endpoint.join();
  const std::string received = read_text(receive_log);
  std::size_t connections = 0;
  for (auto at = received.find("connection from"); at != std::string::npos; at = received.find("connection from", at + 1))
    ++connections;
  EXPECT_EQ(connections, 2u) << received;
  EXPECT_NE(received.find("received 2, duplicates suppressed 0"), std::string::npos) << received;
}

TEST(TransferEndToEnd, UnacknowledgedTransfersGoToDeadLettersWithAnAlert) {
  HubProcess hub("", R"({"retry_initial_ms": 50, "retry_max_ms": 500, "dead_letter_after_s": 1})");
  auto police = hub.client("hertfordshire-police");
  auto sent = police->request("POST", "/v1/transfers",
                              sample_message("dl-1", "DL", "create", 1, "hertfordshire-police", "thames-valley-police"),
                              "application/xml");
  ASSERT_EQ(sent->status, 202);
  const std::string transfer = str(parse_object(sent->body).at("transfers").as_array()[0].as_object(), "id");
  // The limit is 1 s and the sweep runs every second; allow a loaded machine up to 20 s.
  auto admin = hub.client("hub-admin");
  json::array list;
  for (int i = 0; i < 200 && list.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto dead = admin->request("GET", "/v1/dead-letters");
    ASSERT_EQ(dead->status, 200) << dead->body;
    list = parse_object(dead->body).at("deadLetters").as_array();
  }
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(str(list[0].as_object(), "transfer"), transfer);
  EXPECT_TRUE(log_shows(hub, "event=alert kind=dead-letter transfer=" + transfer));
  auto shown = police->request("GET", "/v1/transfers/" + transfer);
  EXPECT_EQ(str(parse_object(shown->body), "state"), "dead-letter");
  auto told = parse_object(police->request("GET", "/v1/inbox?wait=10")->body).at("deliveries").as_array();
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(str(parse_object(str(told[0].as_object(), "body")), "state"), "dead-letter");

  // An administrator puts it back; the receiver now gets it.
  const auto seq = list[0].as_object().at("delivery").to_number<std::uint64_t>();
  EXPECT_EQ(admin->request("POST", "/v1/dead-letters/" + std::to_string(seq) + "/retry")->status, 200);
  EXPECT_EQ(police->request("POST", "/v1/dead-letters/" + std::to_string(seq) + "/retry")->status, 403);
  auto tvp = hub.stream("thames-valley-police");
  auto got = drain(*tvp, 1, 3000);
  EXPECT_EQ(got.count("dl-1"), 1u);
}

// The hub is killed with SIGKILL while messages are in flight, then restarted: every
// message it acknowledged reaches the receiving application, none twice.
TEST(TransferEndToEnd, SurvivesSigkillWithEveryAcknowledgedMessageDeliveredOnce) {
  HubProcess hub;
  constexpr int kSenders = 2, kPerSender = 150;
  std::mutex mutex;
  std::set<std::string> acknowledged_by_hub;
  std::atomic<int> sent{0};

  auto send_all = [&](int sender, int from) {
    try {
      auto police = hub.client(sender == 0 ? "hertfordshire-police" : "bedfordshire-police");
      for (int i = from; i < kPerSender; ++i) {
        const std::string id = "k" + std::to_string(sender) + "-" + std::to_string(i);
        auto r = police->request("POST", "/v1/transfers",
                                 sample_message(id, "REF-" + id, "create", 1,
                                                sender == 0 ? "hertfordshire-police" : "bedfordshire-police",
                                                "east-of-england-ambulance"),
                                 "application/xml");
        if (!r.ok()) return i;  // the hub died under us
        if (r->status == 202 || r->status == 200) {
          std::lock_guard lock(mutex);
          acknowledged_by_hub.insert(id);
        }
        ++sent;
      }
    } catch (const std::exception&) {
    }
    return kPerSender;
  };

  // Receiver side: the ambulance service's application, suppressing duplicates by id.
  std::map<std::string, int> received;
  {
    auto ambulance = hub.stream("east-of-england-ambulance");
    std::vector<std::thread> senders;
    std::vector<int> stopped_at(kSenders, 0);
    for (int s = 0; s < kSenders; ++s) senders.emplace_back([&, s] { stopped_at[s] = send_all(s, 0); });
    while (sent < kSenders * kPerSender / 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // Take part of the traffic before the crash, acknowledging some of it.
    for (auto& [id, n] : drain(*ambulance, 40, 2000)) received[id] += n;
    hub.kill_hard();
    for (auto& t : senders) t.join();
    // The senders retry what was not acknowledged, with the same message ids.
    hub.start();
    senders.clear();
    for (int s = 0; s < kSenders; ++s) senders.emplace_back([&, s] { send_all(s, 0); });
    for (auto& t : senders) t.join();
  }
  auto ambulance = hub.stream("east-of-england-ambulance");
  for (auto& [id, n] : drain(*ambulance, kSenders * kPerSender, 3000)) received[id] += n;

  std::size_t missing = 0, duplicates = 0;
  for (const auto& id : acknowledged_by_hub) missing += received.count(id) == 0;
  for (const auto& [id, n] : received) duplicates += n > 1 ? n - 1 : 0;
  EXPECT_EQ(acknowledged_by_hub.size(), static_cast<std::size_t>(kSenders * kPerSender));
  EXPECT_EQ(missing, 0u);
  // Redelivery after the crash is allowed by the protocol (at least once); the receiver
  // recognises repeats by message id, so the application sees each incident once.
  EXPECT_EQ(received.size(), acknowledged_by_hub.size());
  std::cout << "[ figures ] acknowledged=" << acknowledged_by_hub.size() << " delivered=" << received.size()
            << " redelivered_and_suppressed=" << duplicates << "\n";
}
