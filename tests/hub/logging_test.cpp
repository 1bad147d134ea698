// Logging: lines reach the log file within the flush interval, warnings at once, and a log
// file that cannot be opened is a clear error naming the setting.
#include "hub/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace deit::hub {
namespace {

namespace fs = std::filesystem;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deit-logging-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    // Back to a logger that holds no file of this test's.
    ASSERT_TRUE(setup_logging("info", "").ok());
    fs::remove_all(dir_);
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Polls for `text` in the file for up to `limit`.
  static bool appears(const fs::path& path, const std::string& text, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    do {
      if (read(path).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < until);
    return false;
  }

  fs::path dir_;
};

TEST_F(LoggingTest, InfoLinesReachTheFileWithinTheFlushInterval) {
  const fs::path file = dir_ / "logs" / "hub.log";  // the directory is created
  ASSERT_TRUE(setup_logging("info", file.string()).ok());
  spdlog::info("event=test-info transfer=T-1");
  spdlog::debug("event=test-debug transfer=T-1");
  EXPECT_TRUE(appears(file, "info event=test-info transfer=T-1", std::chrono::milliseconds(3000)));
  EXPECT_EQ(read(file).find("test-debug"), std::string::npos) << "below the level";
}

TEST_F(LoggingTest, WarningsAreWrittenAtOnce) {
  const fs::path file = dir_ / "hub.log";
  ASSERT_TRUE(setup_logging("info", file.string()).ok());
  spdlog::warn("event=test-warning transfer=T-2");
  // No waiting: flush_on(warn) has written it before warn() returned.
  EXPECT_NE(read(file).find("warning event=test-warning transfer=T-2"), std::string::npos);
}

TEST_F(LoggingTest, ASecondSetupReplacesTheFirstAndAppends) {
  const fs::path first = dir_ / "first.log", second = dir_ / "second.log";
  ASSERT_TRUE(setup_logging("info", first.string()).ok());
  spdlog::warn("event=one");
  ASSERT_TRUE(setup_logging("info", second.string()).ok());
  spdlog::warn("event=two");
  ASSERT_TRUE(setup_logging("info", second.string()).ok());
  spdlog::warn("event=three");
  EXPECT_EQ(read(first).find("event=two"), std::string::npos);
  const std::string text = read(second);
  EXPECT_NE(text.find("event=two"), std::string::npos) << "a restart appends rather than truncating";
  EXPECT_NE(text.find("event=three"), std::string::npos);
}

TEST_F(LoggingTest, AFileThatCannotBeOpenedIsAnErrorNamingTheSettingAndTheOldLoggerStays) {
  const fs::path good = dir_ / "good.log";
  ASSERT_TRUE(setup_logging("info", good.string()).ok());
  const fs::path blocker = dir_ / "not-a-directory";
  std::ofstream(blocker) << "x";
  auto s = setup_logging("info", (blocker / "hub.log").string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "log_file");
  EXPECT_NE(s.error().message.find("cannot open log file"), std::string::npos) << s.error().message;
  spdlog::info("event=after-the-refusal");
  EXPECT_TRUE(appears(good, "event=after-the-refusal", std::chrono::milliseconds(3000)))
      << "the previous logger, and its flushing, stay in place";
}

}  // namespace
}  // namespace deit::hub
