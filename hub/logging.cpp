#include "hub/logging.hpp"

#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hub/thread_name.hpp"

namespace deit::hub {

namespace {

// A line goes into stdio's buffer on the calling thread. spdlog's own sinks would flush
// stdout after every line (a write(2) per lifecycle event); these are flushed by
// LogWriteBack below, and at once for warnings and errors.
class StdioSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StdioSink(std::FILE* file, bool owned) : file_(file), owned_(owned) {}
  ~StdioSink() override {
    if (owned_) std::fclose(file_);
  }
  int fd() const { return fileno(file_); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), file_);
  }
  void flush_() override { std::fflush(file_); }

 private:
  std::FILE* file_;
  bool owned_;
};

// Every second: flushes the logger, then starts the write-back of what the log files hold
// (sync_file_range, without waiting for it). Left to the kernel, a log's dirty pages are
// written 30 s after they were written, all at once: after a burst of incidents that is
// 100 MB or more in a few hundred milliseconds, queued in front of the store's commits
// (paced 1,000 /s just after 100,000 incidents: p99 88 and 100 ms with info-level
// logging, 12 and 7 ms with warnings only; bench/transfer). Off the logging threads, and
// outside the sinks' locks: starting a write-back can block while the disk's queue is full.
class LogWriteBack {
 public:
  LogWriteBack(std::shared_ptr<spdlog::logger> logger, std::vector<int> files)
      : logger_(std::move(logger)), files_(std::move(files)), thread_([this] { run(); }) {}
  ~LogWriteBack() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    logger_->flush();
  }

 private:
  void run() {
    name_this_thread("deit-logflush");
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
      lock.unlock();
      logger_->flush();
      for (int fd : files_) static_cast<void>(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
      lock.lock();
    }
  }

  std::shared_ptr<spdlog::logger> logger_;
  std::vector<int> files_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is set
};

std::unique_ptr<LogWriteBack> write_back;

bool is_regular_file(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Status setup_logging(const std::string& level, const std::string& file) {
  auto out = std::make_shared<StdioSink>(stdout, false);
  std::vector<spdlog::sink_ptr> sinks{out};
  // Standard output counts when it is redirected to a file; a pipe or a terminal is not ours.
  std::vector<int> files;
  if (is_regular_file(out->fd())) files.push_back(out->fd());
  if (!file.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
    std::FILE* f = std::fopen(file.c_str(), "ab");
    if (f == nullptr)
      return Error::make("logging", "cannot open log file " + file + ": " + std::strerror(errno), "log_file");
    auto sink = std::make_shared<StdioSink>(f, true);
    files.push_back(sink->fd());
    sinks.push_back(std::move(sink));
  }
  // Synchronous: a line goes into stdio's buffer on the calling thread, which costs less
  // than handing it to a logging thread (a futex wake per line; 440 -> 416 us of hub CPU
  // per transfer, flat-out p99 60 -> 32 ms, bench/transfer). No line can be dropped.
  auto logger = std::make_shared<spdlog::logger>("deit-hub", sinks.begin(), sinks.end());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));  // checked by load_config
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  write_back = std::make_unique<LogWriteBack>(logger, std::move(files));  // the old one flushes as it goes
  return Status::success();
}

}  // namespace deit::hub
