#include "hub/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace deit::hub {

Status setup_logging(const std::string& level, const std::string& file) {
  try {
    spdlog::init_thread_pool(65536, 1);
    std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stdout_sink_mt>()};
    if (!file.empty()) {
      std::filesystem::create_directories(std::filesystem::path(file).parent_path());
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
    }
    // Never drop a lifecycle line: block the caller instead when the queue is full.
    auto logger = std::make_shared<spdlog::async_logger>("deit-hub", sinks.begin(), sinks.end(), spdlog::thread_pool(),
                                                         spdlog::async_overflow_policy::block);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
  } catch (const spdlog::spdlog_ex& e) {
    return Error::make("logging", e.what(), "log_file");
  }
  return Status::success();
}

}  // namespace deit::hub
