#include "hub/dispatcher.hpp"

#include <algorithm>

namespace deit::hub {

void Dispatcher::enqueue(Delivery delivery) {
  std::vector<std::function<void()>> to_notify;
  {
    std::lock_guard lock(mutex_);
    Queue& q = queues_[delivery.agency];
    agency_of_seq_[delivery.seq] = delivery.agency;
    if (delivery.lane > 0) q.lanes.emplace(-delivery.lane, delivery.seq);
    q.pending.emplace(delivery.seq, std::move(delivery));
    for (const auto& s : q.subscribers) to_notify.push_back(s.notify);
  }
  for (auto& n : to_notify) n();
}

void Dispatcher::remove(const std::vector<std::uint64_t>& seqs) {
  std::lock_guard lock(mutex_);
  for (std::uint64_t seq : seqs) {
    auto it = agency_of_seq_.find(seq);
    if (it == agency_of_seq_.end()) continue;
    auto q = queues_.find(it->second);
    if (q != queues_.end()) {
      auto d = q->second.pending.find(seq);
      if (d != q->second.pending.end()) {
        if (d->second.lane > 0) q->second.lanes.erase({-d->second.lane, seq});
        q->second.pending.erase(d);
      }
    }
    agency_of_seq_.erase(it);
  }
}

std::vector<Delivery> Dispatcher::pending_after(const std::string& agency, std::uint64_t after, std::size_t limit) const {
  std::vector<Delivery> out;
  std::lock_guard lock(mutex_);
  auto q = queues_.find(agency);
  if (q == queues_.end()) return out;
  for (const auto& [lane, seq] : q->second.lanes) {
    if (out.size() >= limit) return out;
    if (seq > after) out.push_back(q->second.pending.at(seq));
  }
  for (auto it = q->second.pending.upper_bound(after); it != q->second.pending.end() && out.size() < limit; ++it)
    if (it->second.lane == 0) out.push_back(it->second);
  return out;
}

std::vector<Delivery> Dispatcher::pending_except(const std::string& agency, const std::set<std::uint64_t>& exclude,
                                                 std::size_t limit) const {
  std::vector<Delivery> out;
  std::lock_guard lock(mutex_);
  auto q = queues_.find(agency);
  if (q == queues_.end()) return out;
  for (const auto& [lane, seq] : q->second.lanes) {
    if (out.size() >= limit) return out;
    if (!exclude.count(seq)) out.push_back(q->second.pending.at(seq));
  }
  for (auto it = q->second.pending.begin(); it != q->second.pending.end() && out.size() < limit; ++it)
    if (it->second.lane == 0 && !exclude.count(it->first)) out.push_back(it->second);
  return out;
}

std::vector<Delivery> Dispatcher::queued_before(std::int64_t cutoff_ms) const {
  std::vector<Delivery> out;
  std::lock_guard lock(mutex_);
  for (const auto& [agency, q] : queues_) {
    for (const auto& [seq, d] : q.pending) {
      if (d.queued_at >= cutoff_ms) break;  // queues are in commit order, so in time order
      out.push_back(d);
    }
  }
  return out;
}

std::size_t Dispatcher::pending_count(const std::string& agency) const {
  std::lock_guard lock(mutex_);
  auto q = queues_.find(agency);
  return q == queues_.end() ? 0 : q->second.pending.size();
}

std::size_t Dispatcher::pending_total() const {
  std::lock_guard lock(mutex_);
  return agency_of_seq_.size();
}

std::int64_t Dispatcher::oldest_age_ms(const std::string& agency, std::int64_t now) const {
  std::lock_guard lock(mutex_);
  auto q = queues_.find(agency);
  if (q == queues_.end() || q->second.pending.empty()) return 0;
  return now - q->second.pending.begin()->second.queued_at;
}

std::uint64_t Dispatcher::subscribe(const std::string& agency, std::function<void()> notify) {
  std::lock_guard lock(mutex_);
  const std::uint64_t handle = next_handle_++;
  queues_[agency].subscribers.push_back(Subscriber{handle, std::move(notify)});
  return handle;
}

void Dispatcher::unsubscribe(std::uint64_t handle) {
  std::lock_guard lock(mutex_);
  for (auto& [agency, q] : queues_) {
    auto& subs = q.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(), [&](const Subscriber& s) { return s.handle == handle; }),
               subs.end());
  }
}

std::size_t Dispatcher::subscriber_count(const std::string& agency) const {
  std::lock_guard lock(mutex_);
  auto q = queues_.find(agency);
  return q == queues_.end() ? 0 : q->second.subscribers.size();
}

std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                                      std::mt19937_64& rng) {
  const int shift = std::clamp(attempt, 0, 30);
  const auto ceiling = std::min<std::int64_t>(max.count(), initial.count() << std::min(shift, 20));
  const auto floor = std::min<std::int64_t>(initial.count(), ceiling);
  std::uniform_int_distribution<std::int64_t> pick(floor, std::max(floor, ceiling));
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace deit::hub
