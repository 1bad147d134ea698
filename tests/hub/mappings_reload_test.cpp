// The hub's code mapping tables: loaded from the configured directory at start-up and
// reloaded at run time, never half-applied.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "adapters/mapping_tables.hpp"
#include "hub/hub.hpp"

using namespace deit;
using namespace deit::hub;
namespace fs = std::filesystem;

namespace {

class MappingsReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deit-mappings-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "mappings");
    for (const auto& e : fs::directory_iterator(std::string(DEIT_SOURCE_DIR) + "/adapters/mappings"))
      fs::copy_file(e.path(), dir_ / "mappings" / e.path().filename());
  }
  void TearDown() override {
    // Leave the process-wide tables as the other tests expect them.
    auto embedded = adapters::MappingTables::load_embedded();
    if (embedded) adapters::default_mapping_store()->replace(std::move(embedded).value());
    fs::remove_all(dir_);
  }
  Result<Config> config() {
    return parse_config(R"({"store": "hub.db", "mappings_dir": "mappings",
      "tls": {"ca": "ca.pem", "cert": "hub.pem", "key": "hub.key"},
      "agencies": [{"id": "hertfordshire-police", "kind": "police"}]})",
                        dir_.string());
  }
  fs::path dir_;
};

TEST_F(MappingsReload, ReloadsGoodTablesAndKeepsTheOldOnesOnAnError) {
  auto c = config();
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->mappings_dir, (dir_ / "mappings").string());
  auto hub = Hub::create(std::move(c).value());
  ASSERT_TRUE(hub.ok()) << hub.error().describe();
  const auto before = adapters::default_mapping_store()->current();
  ASSERT_TRUE((*hub)->reload_mappings().ok());
  EXPECT_NE(adapters::default_mapping_store()->current(), before);  // a fresh table set

  const auto good = adapters::default_mapping_store()->current();
  std::ofstream(dir_ / "mappings" / "priorities.csv", std::ios::app) << "\"unterminated,quote\n";
  Status s = (*hub)->reload_mappings();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().describe().find("priorities.csv"), std::string::npos) << s.error().describe();
  EXPECT_GT(s.error().line, 1) << s.error().describe();
  EXPECT_EQ(adapters::default_mapping_store()->current(), good);  // nothing half-applied
}

TEST_F(MappingsReload, ABrokenDirectoryStopsStartUpWithTheReason) {
  std::ofstream(dir_ / "mappings" / "priorities.csv", std::ios::trunc) << "not,the,right,header\n";
  auto c = config();
  ASSERT_TRUE(c.ok());
  auto hub = Hub::create(std::move(c).value());
  ASSERT_FALSE(hub.ok());
  EXPECT_NE(hub.error().describe().find("priorities.csv"), std::string::npos) << hub.error().describe();
}

TEST_F(MappingsReload, WithoutADirectoryReloadSaysSo) {
  auto c = parse_config(R"({"store": "hub.db", "tls": {"ca": "a", "cert": "b", "key": "c"},
      "agencies": [{"id": "x", "kind": "fire"}]})",
                        dir_.string());
  ASSERT_TRUE(c.ok());
  auto hub = Hub::create(std::move(c).value());
  ASSERT_TRUE(hub.ok());
  Status s = (*hub)->reload_mappings();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().field, "mappings_dir");
}

}  // namespace
