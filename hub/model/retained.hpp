#pragma once
// A value that is replaced now and then (a reloaded configuration) and read from any thread
// without a lock. Every version is kept for the holder's life, so a reference taken before
// a replace stays valid however long its reader holds it: a replace is an administrator's
// act, a few times a year, and a version is a few kilobytes.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace deit {

template <class T>
class Retained {
 public:
  explicit Retained(T first) { replace(std::move(first)); }
  Retained(const Retained&) = delete;
  Retained& operator=(const Retained&) = delete;

  const T& get() const { return *current_.load(std::memory_order_acquire); }
  // 0 for the first version, then one more per replace.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  const T& replace(T next) {
    std::lock_guard lock(mutex_);
    versions_.push_back(std::make_unique<const T>(std::move(next)));
    current_.store(versions_.back().get(), std::memory_order_release);
    generation_.store(versions_.size() - 1, std::memory_order_release);
    return *versions_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<const T>> versions_;
  std::atomic<const T*> current_{nullptr};
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace deit
