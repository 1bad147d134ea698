#pragma once
// The in-memory face of the delivery queues: every pending (committed, not yet
// acknowledged) delivery, per agency, in sequence order, and who is waiting for them.
// The store is the truth; after a restart the dispatcher is refilled from it.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/store.hpp"

namespace deit::hub {

class Dispatcher {
 public:
  // Adds a committed delivery. Must be called in sequence order (the store's commit
  // callbacks are). Wakes the agency's subscribers.
  void enqueue(Delivery delivery);
  // Drops deliveries that were acknowledged or dead-lettered.
  void remove(const std::vector<std::uint64_t>& seqs);

  // Pending deliveries for `agency` with seq > after, at most `limit`: higher lanes first
  // (buddy pass-back, life risk first), then oldest first. A cursor user that follows the
  // highest routine seq it saw never skips one; a priority delivery may come again.
  std::vector<Delivery> pending_after(const std::string& agency, std::uint64_t after, std::size_t limit) const;
  // Pending deliveries not in `exclude` (those in flight on a stream), in the same order.
  std::vector<Delivery> pending_except(const std::string& agency, const std::set<std::uint64_t>& exclude,
                                       std::size_t limit) const;
  // Pending deliveries queued before `cutoff_ms` (for dead-lettering), any agency.
  std::vector<Delivery> queued_before(std::int64_t cutoff_ms) const;
  std::size_t pending_count(const std::string& agency) const;
  std::size_t pending_total() const;
  // Age in ms of the oldest pending delivery for `agency`, 0 when none.
  std::int64_t oldest_age_ms(const std::string& agency, std::int64_t now) const;

  // `notify` runs (on the enqueuing thread; keep it short) whenever a delivery for
  // `agency` is enqueued. Returns a handle for unsubscribe.
  std::uint64_t subscribe(const std::string& agency, std::function<void()> notify);
  void unsubscribe(std::uint64_t handle);
  std::size_t subscriber_count(const std::string& agency) const;

 private:
  struct Subscriber {
    std::uint64_t handle;
    std::function<void()> notify;
  };
  struct Queue {
    std::map<std::uint64_t, Delivery> pending;
    std::set<std::pair<int, std::uint64_t>> lanes;  // (-lane, seq) of deliveries with lane > 0
    std::vector<Subscriber> subscribers;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Queue> queues_;
  std::unordered_map<std::uint64_t, std::string> agency_of_seq_;
  std::uint64_t next_handle_ = 1;
};

// Exponential backoff with full jitter: a random delay in [initial, min(max, initial*2^attempt)].
// Jitter keeps many senders from retrying a recovering partner in lockstep.
std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                      std::mt19937_64& rng);

}  // namespace deit::hub
