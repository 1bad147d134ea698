// Crash safety, end to end: a real deit-hub is SIGKILLed at random moments while several
// senders keep submitting (each retrying a message, with the same message id, until the
// hub acknowledges it), and a receiving application records each delivery before it
// acknowledges it. Afterwards: every message the hub acknowledged to a sender reached the
// application exactly once once repeats are suppressed by message id, in per-incident
// order. Second scenario: the receiver is offline while a backlog builds across a hub
// crash; when it returns it gets the whole backlog, in order.
//
// Each test prints one machine-readable line, "[ figures ] {json}". The defaults keep each
// test well under a minute for CI; bench/crash/run.sh runs the same tests longer through
// these environment variables:
//   DEIT_CRASH_SENDERS       sender threads (4)
//   DEIT_CRASH_KILLS         SIGKILLs under load (5)
//   DEIT_CRASH_KILL_MIN_MS / DEIT_CRASH_KILL_MAX_MS   random time from a restart to the next kill (300 / 2000)
//   DEIT_CRASH_MESSAGES_PER_INCIDENT                  create + updates per incident (5)
//   DEIT_CRASH_PACE_MS       pause between one sender's messages under kills (0)
//   DEIT_CRASH_OFFLINE_S     how long the receiver stays away (20)
//   DEIT_CRASH_OFFLINE_RESTARTS  hub SIGKILL + restarts while it is away (1)
//   DEIT_CRASH_OFFLINE_PACE_MS   pause between one sender's messages while it is away (25)
//   DEIT_CRASH_DRAIN_S       how long delivery may take afterwards (30)
//   DEIT_CRASH_SEED          random seed for the kill moments (random; printed)

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/hub_process.hpp"

using namespace deit;
using namespace deit::e2e;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

long env_number(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return end && *end == '\0' && n >= 0 ? n : fallback;
}

struct Params {
  int senders = static_cast<int>(env_number("DEIT_CRASH_SENDERS", 4));
  int kills = static_cast<int>(env_number("DEIT_CRASH_KILLS", 5));
  long kill_min_ms = env_number("DEIT_CRASH_KILL_MIN_MS", 300);
  long kill_max_ms = env_number("DEIT_CRASH_KILL_MAX_MS", 2000);
  int messages_per_incident = static_cast<int>(std::max(1L, env_number("DEIT_CRASH_MESSAGES_PER_INCIDENT", 5)));
  long pace_ms = env_number("DEIT_CRASH_PACE_MS", 0);
  long offline_s = env_number("DEIT_CRASH_OFFLINE_S", 20);
  int offline_restarts = static_cast<int>(env_number("DEIT_CRASH_OFFLINE_RESTARTS", 1));
  long offline_pace_ms = env_number("DEIT_CRASH_OFFLINE_PACE_MS", 25);
  long drain_s = env_number("DEIT_CRASH_DRAIN_S", 30);
  unsigned seed = static_cast<unsigned>(env_number("DEIT_CRASH_SEED", std::random_device{}()));
};

constexpr const char* kReceiver = "east-of-england-ambulance";
const std::vector<std::string> kSenderAgencies{"hertfordshire-police", "bedfordshire-police", "thames-valley-police",
                                               "hertfordshire-fire"};

// Message ids say which sender thread, incident and sequence they are: s<T>-i<N>-<SEQ>.
struct MessageName {
  std::string incident;  // s<T>-i<N>
  int sender = 0;
  int sequence = 0;
};
MessageName parse_name(const std::string& id) {
  MessageName n;
  const auto last = id.rfind('-');
  n.incident = id.substr(0, last);
  n.sequence = std::atoi(id.c_str() + last + 1);
  n.sender = std::atoi(id.c_str() + 1);
  return n;
}

// The hub, killed and restarted from one thread while others connect to it: its port
// changes at every start, so reading the client options and restarting are serialised.
class CrashableHub {
 public:
  explicit CrashableHub(const std::string& delivery_json) : hub_("", delivery_json) {}

  hub::ClientOptions options(const std::string& who) {
    std::lock_guard lock(mutex_);
    return hub_.options(who);
  }
  void kill_and_restart(milliseconds down) {
    std::lock_guard lock(mutex_);
    hub_.kill_hard();
    std::this_thread::sleep_for(down);
    hub_.start();
  }
  HubProcess& process() { return hub_; }

 private:
  std::mutex mutex_;
  HubProcess hub_;
};

// Sender threads: each sends incidents (a create, then updates with rising sequence
// numbers) to the receiver, retrying every message until the hub acknowledges it.
class Senders {
 public:
  Senders(CrashableHub& hub, int count, int per_incident, long pace_ms)
      : hub_(hub), per_incident_(per_incident), pace_ms_(pace_ms), acked_in_order_(static_cast<std::size_t>(count)) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([this, i] { run(i); });
  }
  ~Senders() {
    aborting_ = true;  // a failed assertion must not wait for a hub that will not answer
    stop();
  }

  // Stops after each sender's current message is acknowledged.
  void stop() {
    stopping_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  std::size_t sent() const { return sent_; }
  std::size_t acknowledged() const { return acknowledged_; }
  long attempts() const { return attempts_; }
  long failed_attempts() const { return failed_; }
  long refusals() const { return refused_; }
  // Per sender thread, the message ids in the order the hub acknowledged them.
  const std::vector<std::vector<std::string>>& acked_in_order() const { return acked_in_order_; }
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  void run(int index) {
    const std::string& agency = kSenderAgencies[static_cast<std::size_t>(index) % kSenderAgencies.size()];
    std::unique_ptr<hub::Client> client;
    for (int incident = 0; !stopping_; ++incident) {
      const std::string reference = "s" + std::to_string(index) + "-i" + std::to_string(incident);
      for (int seq = 1; seq <= per_incident_ && !stopping_; ++seq) {
        const std::string id = reference + "-" + std::to_string(seq);
        const std::string body = sample_message(id, reference, seq == 1 ? "create" : "update", seq, agency, kReceiver);
        ++sent_;
        for (;;) {  // until acknowledged: the hub may be dead or restarting
          if (aborting_) return;
          if (!client) {
            auto c = hub::Client::connect(hub_.options(agency));
            if (!c) {
              std::this_thread::sleep_for(milliseconds(20));
              continue;
            }
            client = std::move(c).value();
          }
          ++attempts_;
          auto r = client->request("POST", "/v1/transfers", body, "application/xml");
          if (!r) {
            ++failed_;
            client.reset();
            std::this_thread::sleep_for(milliseconds(20));
            continue;
          }
          if (r->status == 202 || r->status == 200) break;
          if (r->status >= 500) {  // e.g. the store is unavailable while the hub stops
            ++refused_;
            std::this_thread::sleep_for(milliseconds(50));
            continue;
          }
          std::lock_guard lock(mutex_);
          error_ = id + ": HTTP " + std::to_string(r->status) + " " + r->body;
          return;
        }
        acked_in_order_[static_cast<std::size_t>(index)].push_back(id);
        ++acknowledged_;
        if (pace_ms_ > 0) std::this_thread::sleep_for(milliseconds(pace_ms_));
      }
    }
  }

  CrashableHub& hub_;
  const int per_incident_;
  const long pace_ms_;
  std::vector<std::vector<std::string>> acked_in_order_;  // each written by its own thread only
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false}, aborting_{false};
  std::atomic<std::size_t> sent_{0}, acknowledged_{0};
  std::atomic<long> attempts_{0}, failed_{0}, refused_{0};
  std::mutex mutex_;
  std::string error_;
};

// The receiving application: takes deliveries from the stream, records each (suppressing
// repeats by message id) and only then acknowledges it; reconnects whenever the hub goes.
class ReceivingApplication {
 public:
  explicit ReceivingApplication(CrashableHub& hub) : hub_(hub), thread_([this] { run(); }) {}
  ~ReceivingApplication() { stop(); }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::size_t delivered() {
    std::lock_guard lock(mutex_);
    return order_.size();
  }
  // Waits until every id in `expected` was recorded, or `limit` passed.
  bool wait_for(const std::set<std::string>& expected, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (std::all_of(expected.begin(), expected.end(), [&](const std::string& id) { return seen_.count(id) > 0; }))
          return true;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }
  // Message ids in the order first recorded, with their delivery sequence numbers.
  std::vector<std::pair<std::string, std::uint64_t>> order() {
    std::lock_guard lock(mutex_);
    return order_;
  }
  std::set<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  long duplicates_suppressed() const { return duplicates_; }
  long connections() const { return connections_; }

 private:
  void run() {
    std::unique_ptr<hub::StreamClient> stream;
    while (!stopping_) {
      if (!stream) {
        auto s = hub::StreamClient::connect(hub_.options(kReceiver));
        if (!s) {
          std::this_thread::sleep_for(milliseconds(50));
          continue;
        }
        stream = std::move(s).value();
        ++connections_;
      }
      auto frame = stream->next(500);
      if (!frame) {
        if (frame.error().rule != "timeout") stream.reset();
        continue;
      }
      const json::object d = json::parse(*frame).as_object();
      const std::string id = json::value_to<std::string>(d.at("message"));
      const auto seq = d.at("delivery").to_number<std::uint64_t>();
      {
        std::lock_guard lock(mutex_);
        if (seen_.insert(id).second) {
          order_.emplace_back(id, seq);
        } else {
          ++duplicates_;
        }
      }
      if (!stream->ack({seq})) stream.reset();
    }
  }

  CrashableHub& hub_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::set<std::string> seen_;
  std::vector<std::pair<std::string, std::uint64_t>> order_;
  std::atomic<long> duplicates_{0}, connections_{0};
  std::thread thread_;
};

// What the application received, checked against what the hub acknowledged.
struct Verdict {
  std::size_t acknowledged = 0, delivered = 0, missing = 0, unexpected = 0;
  std::size_t incidents = 0, incidents_out_of_order = 0, senders_out_of_order = 0;
  bool delivery_sequence_rising = true;
};

Verdict verify(const Senders& senders, ReceivingApplication& app) {
  Verdict v;
  std::set<std::string> acked;
  for (const auto& list : senders.acked_in_order()) acked.insert(list.begin(), list.end());
  const auto order = app.order();
  const auto seen = app.seen();
  v.acknowledged = acked.size();
  v.delivered = seen.size();
  for (const auto& id : acked) v.missing += seen.count(id) == 0;
  for (const auto& id : seen) v.unexpected += acked.count(id) == 0;

  // Per incident, the application saw sequence 1, 2, 3, ... in that order.
  std::map<std::string, std::vector<int>> per_incident;
  std::vector<std::vector<std::string>> per_sender(senders.acked_in_order().size());
  std::uint64_t last_seq = 0;
  for (const auto& [id, seq] : order) {
    const MessageName n = parse_name(id);
    per_incident[n.incident].push_back(n.sequence);
    if (static_cast<std::size_t>(n.sender) < per_sender.size()) per_sender[static_cast<std::size_t>(n.sender)].push_back(id);
    if (seq <= last_seq) v.delivery_sequence_rising = false;
    last_seq = seq;
  }
  v.incidents = per_incident.size();
  for (const auto& [incident, sequence] : per_incident) {
    for (std::size_t i = 0; i < sequence.size(); ++i)
      if (sequence[i] != static_cast<int>(i) + 1) {
        ++v.incidents_out_of_order;
        break;
      }
  }
  // Each sender waits for one acknowledgement before the next message, so its messages
  // were committed, and must be delivered, in the order they were acknowledged.
  for (std::size_t s = 0; s < per_sender.size(); ++s)
    v.senders_out_of_order += per_sender[s] != senders.acked_in_order()[s];
  return v;
}

std::string delivery_settings() {
  // Long enough that nothing is dead-lettered while a receiver is away in the long runs.
  return R"({"retry_initial_ms": 50, "retry_max_ms": 500, "dead_letter_after_s": 86400})";
}

std::int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
}

}  // namespace

TEST(CrashEndToEnd, RepeatedSigkillUnderLoadLosesAndDuplicatesNothing) {
  const Params p;
  std::mt19937 rng(p.seed);
  CrashableHub hub(delivery_settings());
  const auto t0 = Clock::now();
  ReceivingApplication app(hub);
  Senders senders(hub, p.senders, p.messages_per_incident, p.pace_ms);

  int kills = 0;
  for (int k = 0; k < p.kills; ++k) {
    // Let load build after the previous restart, then kill at a random moment. Waiting
    // for some acknowledgements proves the restarted hub is serving again.
    const std::size_t before = senders.acknowledged();
    const auto progress_deadline = Clock::now() + std::chrono::seconds(20);
    while (senders.acknowledged() < before + 10 && Clock::now() < progress_deadline && senders.error().empty())
      std::this_thread::sleep_for(milliseconds(20));
    ASSERT_GE(senders.acknowledged(), before + 10) << "no progress after restart " << k << " " << senders.error();
    std::uniform_int_distribution<long> pause(p.kill_min_ms, std::max(p.kill_min_ms, p.kill_max_ms));
    std::this_thread::sleep_for(milliseconds(pause(rng)));
    hub.kill_and_restart(milliseconds(std::uniform_int_distribution<long>(0, 300)(rng)));
    ++kills;
  }
  // Some load on the last incarnation, then the senders finish their current message.
  const std::size_t before_tail = senders.acknowledged();
  const auto tail_deadline = Clock::now() + std::chrono::seconds(20);
  while (senders.acknowledged() < before_tail + 10 && Clock::now() < tail_deadline)
    std::this_thread::sleep_for(milliseconds(20));
  senders.stop();
  ASSERT_TRUE(senders.error().empty()) << senders.error();
  const std::int64_t load_ms = ms_since(t0);

  std::set<std::string> acked;
  for (const auto& list : senders.acked_in_order()) acked.insert(list.begin(), list.end());
  const bool complete = app.wait_for(acked, std::chrono::seconds(p.drain_s));
  app.stop();
  const Verdict v = verify(senders, app);

  std::cout << "[ figures ] "
            << json::serialize(json::object{{"scenario", "sigkill-under-load"},
                                            {"senders", p.senders},
                                            {"kills", kills},
                                            {"seed", p.seed},
                                            {"sent", senders.sent()},
                                            {"attempts", senders.attempts()},
                                            {"failed_attempts", senders.failed_attempts()},
                                            {"refused_5xx", senders.refusals()},
                                            {"acknowledged", v.acknowledged},
                                            {"delivered", v.delivered},
                                            {"duplicates_suppressed", app.duplicates_suppressed()},
                                            {"missing", v.missing},
                                            {"unexpected", v.unexpected},
                                            {"incidents", v.incidents},
                                            {"incidents_out_of_order", v.incidents_out_of_order},
                                            {"senders_out_of_order", v.senders_out_of_order},
                                            {"receiver_connections", app.connections()},
                                            {"load_ms", load_ms},
                                            {"total_ms", ms_since(t0)}})
            << std::endl;

  EXPECT_EQ(kills, p.kills);
  EXPECT_TRUE(complete) << "not every acknowledged message was delivered within " << p.drain_s << " s";
  EXPECT_GT(v.acknowledged, 0u);
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.unexpected, 0u);
  EXPECT_EQ(v.delivered, v.acknowledged);
  EXPECT_EQ(v.incidents_out_of_order, 0u);
  EXPECT_EQ(v.senders_out_of_order, 0u);
  EXPECT_TRUE(v.delivery_sequence_rising);
}

TEST(CrashEndToEnd, AReceiverAwayAcrossAHubCrashGetsItsWholeBacklogInOrder) {
  const Params p;
  std::mt19937 rng(p.seed);
  CrashableHub hub(delivery_settings());
  const auto t0 = Clock::now();
  Senders senders(hub, p.senders, p.messages_per_incident, p.offline_pace_ms);
  // The receiver stays away; the hub is SIGKILLed and restarted while the backlog builds.
  const auto offline = std::chrono::seconds(p.offline_s);
  int restarts = 0;
  for (int r = 1; r <= p.offline_restarts; ++r) {
    const auto at = t0 + offline * r / (p.offline_restarts + 1);
    std::this_thread::sleep_until(at + milliseconds(std::uniform_int_distribution<long>(0, 500)(rng)));
    hub.kill_and_restart(milliseconds(100));
    ++restarts;
  }
  std::this_thread::sleep_until(t0 + offline);
  senders.stop();
  ASSERT_TRUE(senders.error().empty()) << senders.error();
  const std::size_t backlog = senders.acknowledged();
  ASSERT_GT(backlog, 0u);

  const auto back = Clock::now();
  ReceivingApplication app(hub);
  std::set<std::string> acked;
  for (const auto& list : senders.acked_in_order()) acked.insert(list.begin(), list.end());
  const bool complete = app.wait_for(acked, std::chrono::seconds(p.drain_s));
  const std::int64_t drain_ms = ms_since(back);
  app.stop();
  const Verdict v = verify(senders, app);

  std::cout << "[ figures ] "
            << json::serialize(json::object{{"scenario", "receiver-offline"},
                                            {"senders", p.senders},
                                            {"offline_s", p.offline_s},
                                            {"hub_restarts_while_offline", restarts},
                                            {"seed", p.seed},
                                            {"sent", senders.sent()},
                                            {"backlog_acknowledged", v.acknowledged},
                                            {"attempts", senders.attempts()},
                                            {"delivered", v.delivered},
                                            {"duplicates_suppressed", app.duplicates_suppressed()},
                                            {"missing", v.missing},
                                            {"unexpected", v.unexpected},
                                            {"incidents", v.incidents},
                                            {"incidents_out_of_order", v.incidents_out_of_order},
                                            {"senders_out_of_order", v.senders_out_of_order},
                                            {"drain_ms", drain_ms},
                                            {"drain_per_s", drain_ms > 0 ? static_cast<std::int64_t>(v.delivered) * 1000 / drain_ms : 0},
                                            {"total_ms", ms_since(t0)}})
            << std::endl;

  EXPECT_EQ(restarts, p.offline_restarts);
  EXPECT_TRUE(complete) << "the backlog was not delivered within " << p.drain_s << " s";
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.unexpected, 0u);
  EXPECT_EQ(v.delivered, backlog);
  EXPECT_EQ(v.incidents_out_of_order, 0u);
  EXPECT_EQ(v.senders_out_of_order, 0u);
  // The backlog arrives in the hub's commit order: delivery numbers only rise.
  EXPECT_TRUE(v.delivery_sequence_rising);
}
