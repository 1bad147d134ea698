// The in-memory delivery queues and the retry backoff.
#include "hub/dispatcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace deit::hub {
namespace {

using std::chrono::milliseconds;

Delivery make(std::uint64_t seq, const std::string& agency, std::int64_t queued_at = 1000) {
  Delivery d;
  d.seq = seq;
  d.agency = agency;
  d.transfer_id = "T-" + std::to_string(seq);
  d.message_id = "M-" + std::to_string(seq);
  d.kind = "incident";
  d.queued_at = queued_at;
  d.state = "pending";
  d.payload = std::make_shared<const std::string>("<x/>");
  return d;
}

std::vector<std::uint64_t> seqs(const std::vector<Delivery>& ds) {
  std::vector<std::uint64_t> out;
  for (const auto& d : ds) out.push_back(d.seq);
  return out;
}

using Seqs = std::vector<std::uint64_t>;

TEST(Dispatcher, EmptyAgency) {
  Dispatcher d;
  EXPECT_TRUE(d.pending_after("nobody", 0, 10).empty());
  EXPECT_EQ(d.pending_count("nobody"), 0u);
  EXPECT_EQ(d.pending_total(), 0u);
  EXPECT_EQ(d.oldest_age_ms("nobody", 5000), 0);
  EXPECT_TRUE(d.queued_before(1'000'000).empty());
  EXPECT_EQ(d.subscriber_count("nobody"), 0u);
}

TEST(Dispatcher, KeepsSequenceOrderPerAgency) {
  Dispatcher d;
  d.enqueue(make(1, "fire"));
  d.enqueue(make(2, "police"));
  d.enqueue(make(3, "fire"));
  d.enqueue(make(5, "fire"));
  d.enqueue(make(4, "police"));
  EXPECT_EQ(seqs(d.pending_after("fire", 0, 100)), (Seqs{1, 3, 5}));
  EXPECT_EQ(seqs(d.pending_after("police", 0, 100)), (Seqs{2, 4}));
  EXPECT_EQ(d.pending_count("fire"), 3u);
  EXPECT_EQ(d.pending_count("police"), 2u);
  EXPECT_EQ(d.pending_total(), 5u);
  const auto first = d.pending_after("fire", 0, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].transfer_id, "T-1");
  EXPECT_EQ(*first[0].payload, "<x/>");
}

TEST(Dispatcher, PendingAfterSkipsAndLimits) {
  Dispatcher d;
  for (std::uint64_t s = 1; s <= 10; ++s) d.enqueue(make(s, "fire"));
  EXPECT_EQ(seqs(d.pending_after("fire", 3, 100)), (Seqs{4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(seqs(d.pending_after("fire", 3, 2)), (Seqs{4, 5}));
  EXPECT_EQ(seqs(d.pending_after("fire", 10, 100)), Seqs{});
  EXPECT_EQ(seqs(d.pending_after("fire", 0, 0)), Seqs{});
  // `after` need not be a queued seq.
  d.remove({6});
  EXPECT_EQ(seqs(d.pending_after("fire", 6, 2)), (Seqs{7, 8}));
}

TEST(Dispatcher, PriorityLanesGoFirstLifeRiskAheadOfPassBack) {
  Dispatcher d;
  auto laned = [](std::uint64_t seq, int lane) {
    Delivery x = make(seq, "home");
    x.lane = lane;
    return x;
  };
  d.enqueue(laned(1, 0));
  d.enqueue(laned(2, 0));
  d.enqueue(laned(3, 1));  // passed back by the buddy
  d.enqueue(laned(4, 2));  // passed back, life risk
  d.enqueue(laned(5, 0));
  EXPECT_EQ(seqs(d.pending_after("home", 0, 100)), (Seqs{4, 3, 1, 2, 5}));
  EXPECT_EQ(seqs(d.pending_after("home", 0, 3)), (Seqs{4, 3, 1}));
  // A cursor past the routine ones still sees only what is after it.
  EXPECT_EQ(seqs(d.pending_after("home", 3, 100)), (Seqs{4, 5}));
  // A stream excludes what it has in flight.
  EXPECT_EQ(seqs(d.pending_except("home", {4, 1}, 100)), (Seqs{3, 2, 5}));
  d.remove({4, 3});
  EXPECT_EQ(seqs(d.pending_after("home", 0, 100)), (Seqs{1, 2, 5}));
  EXPECT_EQ(d.pending_total(), 3u);
}

TEST(Dispatcher, EnqueueTheSameSeqTwiceKeepsOne) {
  Dispatcher d;
  d.enqueue(make(7, "fire"));
  d.enqueue(make(7, "fire"));
  EXPECT_EQ(d.pending_count("fire"), 1u);
  EXPECT_EQ(d.pending_total(), 1u);
}

TEST(Dispatcher, Remove) {
  Dispatcher d;
  d.enqueue(make(1, "fire"));
  d.enqueue(make(2, "police"));
  d.enqueue(make(3, "fire"));
  d.remove({1, 2, 99});  // unknown seqs are ignored
  EXPECT_EQ(seqs(d.pending_after("fire", 0, 100)), (Seqs{3}));
  EXPECT_EQ(d.pending_count("police"), 0u);
  EXPECT_EQ(d.pending_total(), 1u);
  d.remove({1});  // twice is harmless
  d.remove({});
  EXPECT_EQ(d.pending_total(), 1u);
  d.remove({3});
  EXPECT_EQ(d.pending_total(), 0u);
}

TEST(Dispatcher, QueuedBeforeAcrossAgencies) {
  Dispatcher d;
  d.enqueue(make(1, "fire", 100));
  d.enqueue(make(2, "police", 150));
  d.enqueue(make(3, "fire", 200));
  d.enqueue(make(4, "police", 300));
  EXPECT_TRUE(d.queued_before(100).empty());  // strictly before
  auto stale = seqs(d.queued_before(201));
  std::sort(stale.begin(), stale.end());
  EXPECT_EQ(stale, (Seqs{1, 2, 3}));
  EXPECT_EQ(d.queued_before(10'000).size(), 4u);
  d.remove({1});
  auto after_remove = seqs(d.queued_before(201));
  std::sort(after_remove.begin(), after_remove.end());
  EXPECT_EQ(after_remove, (Seqs{2, 3}));
}

TEST(Dispatcher, OldestAge) {
  Dispatcher d;
  d.enqueue(make(1, "fire", 1000));
  d.enqueue(make(2, "fire", 4000));
  EXPECT_EQ(d.oldest_age_ms("fire", 5000), 4000);
  d.remove({1});
  EXPECT_EQ(d.oldest_age_ms("fire", 5000), 1000);
  d.remove({2});
  EXPECT_EQ(d.oldest_age_ms("fire", 5000), 0);
}

TEST(Dispatcher, SubscribersAreNotifiedForTheirAgencyOnly) {
  Dispatcher d;
  int fire = 0, fire2 = 0, police = 0;
  const auto h1 = d.subscribe("fire", [&] { ++fire; });
  const auto h2 = d.subscribe("fire", [&] { ++fire2; });
  const auto h3 = d.subscribe("police", [&] { ++police; });
  EXPECT_NE(h1, h2);
  EXPECT_NE(h2, h3);
  EXPECT_EQ(d.subscriber_count("fire"), 2u);
  EXPECT_EQ(d.subscriber_count("police"), 1u);

  d.enqueue(make(1, "fire"));
  EXPECT_EQ(fire, 1);
  EXPECT_EQ(fire2, 1);
  EXPECT_EQ(police, 0);

  d.unsubscribe(h1);
  EXPECT_EQ(d.subscriber_count("fire"), 1u);
  d.enqueue(make(2, "fire"));
  d.enqueue(make(3, "police"));
  EXPECT_EQ(fire, 1);
  EXPECT_EQ(fire2, 2);
  EXPECT_EQ(police, 1);

  d.unsubscribe(h1);     // twice is harmless
  d.unsubscribe(12345);  // unknown handle
  d.unsubscribe(h2);
  d.unsubscribe(h3);
  EXPECT_EQ(d.subscriber_count("fire"), 0u);
  EXPECT_EQ(d.subscriber_count("police"), 0u);
  d.enqueue(make(4, "fire"));
  EXPECT_EQ(fire2, 2);
}

TEST(Dispatcher, NotifyMayCallBackIntoTheDispatcher) {
  // Subscribers run outside the lock: a notify that reads the queue must not deadlock.
  Dispatcher d;
  std::size_t seen = 0;
  d.subscribe("fire", [&] { seen = d.pending_after("fire", 0, 100).size(); });
  d.enqueue(make(1, "fire"));
  d.enqueue(make(2, "fire"));
  EXPECT_EQ(seen, 2u);
}

TEST(Dispatcher, ConcurrentEnqueueAndRead) {
  Dispatcher d;
  std::atomic<int> notified{0};
  d.subscribe("fire", [&] { ++notified; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        d.enqueue(make(static_cast<std::uint64_t>(t * 1000 + i + 1), t % 2 ? "fire" : "police"));
        static_cast<void>(d.pending_after("fire", 0, 10));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(d.pending_total(), 1000u);
  EXPECT_EQ(d.pending_count("fire"), 500u);
  EXPECT_EQ(notified.load(), 500);
}

// ---- retry_delay ------------------------------------------------------------------------

TEST(RetryDelay, FirstAttemptIsTheInitialDelay) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(retry_delay(0, milliseconds(500), milliseconds(60000), rng).count(), 500);
}

TEST(RetryDelay, StaysWithinBounds) {
  std::mt19937_64 rng(42);
  const milliseconds initial(500), max(60000);
  for (int attempt = 0; attempt <= 40; ++attempt) {
    const std::int64_t ceiling =
        attempt >= 20 ? max.count() : std::min<std::int64_t>(max.count(), initial.count() << attempt);
    for (int i = 0; i < 200; ++i) {
      const auto d = retry_delay(attempt, initial, max, rng).count();
      ASSERT_GE(d, initial.count()) << "attempt " << attempt;
      ASSERT_LE(d, ceiling) << "attempt " << attempt;
    }
  }
}

TEST(RetryDelay, NegativeAttemptIsTreatedAsZero) {
  std::mt19937_64 rng(3);
  EXPECT_EQ(retry_delay(-5, milliseconds(100), milliseconds(1000), rng).count(), 100);
}

TEST(RetryDelay, GrowsWithAttempts) {
  std::mt19937_64 rng(7);
  const milliseconds initial(100), max(1'000'000);
  double previous_mean = 0;
  for (int attempt = 0; attempt <= 10; ++attempt) {
    double sum = 0;
    std::int64_t largest = 0;
    for (int i = 0; i < 400; ++i) {
      const auto d = retry_delay(attempt, initial, max, rng).count();
      sum += static_cast<double>(d);
      largest = std::max(largest, d);
    }
    const double mean = sum / 400;
    if (attempt > 0) {
      EXPECT_GT(mean, previous_mean) << "attempt " << attempt;
      // Full jitter: the largest of many draws is near the ceiling.
      EXPECT_GT(largest, (initial.count() << attempt) * 3 / 4) << "attempt " << attempt;
    }
    previous_mean = mean;
  }
}

TEST(RetryDelay, CappedAtMax) {
  std::mt19937_64 rng(9);
  for (int i = 0; i < 200; ++i) EXPECT_LE(retry_delay(30, milliseconds(500), milliseconds(2000), rng).count(), 2000);
  // A max below initial never returns more than max.
  EXPECT_EQ(retry_delay(3, milliseconds(500), milliseconds(200), rng).count(), 200);
}

TEST(RetryDelay, HugeInitialDoesNotOverflow) {
  std::mt19937_64 rng(11);
  const auto d = retry_delay(1000, milliseconds(3'600'000), milliseconds(86'400'000), rng).count();
  EXPECT_GE(d, 3'600'000);
  EXPECT_LE(d, 86'400'000);
}

}  // namespace
}  // namespace deit::hub
