#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gazetteer/gazetteer.hpp"
#include "test_support.hpp"

namespace deit::gazetteer {
namespace {

using testing::TempDir;

TEST(Snapshot, BuildsOpensAndLooksUpByUprn) {
  TempDir dir;
  std::string snap = testing::build_simple(dir);
  auto g = Gazetteer::open(snap);
  ASSERT_TRUE(g.ok()) << g.error().describe();
  auto info = g->info();
  EXPECT_EQ(info.uprns, 14u);
  EXPECT_GE(info.streets, 6u);
  auto a = g->lookup(102);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->parent_uprn, 100u);
  EXPECT_EQ(a->sao.start_number, 2);
  EXPECT_EQ(a->pao.start_number, 12);
  EXPECT_EQ(a->street, "HIGH STREET");
  EXPECT_EQ(a->town, "ST ALBANS");
  EXPECT_EQ(a->postcode, "AL1 3EX");
  EXPECT_EQ(a->classification, "RD06");
  EXPECT_EQ(a->local_custodian_code, 1930);
  EXPECT_TRUE(a->coordinates.known);
  EXPECT_NEAR(a->coordinates.wgs84.latitude, 51.75, 0.02);  // filled in from BNG by PROJ
  EXPECT_EQ(a->single_line(), "FLAT 2, 12 HIGH STREET, ST ALBANS, AL1 3EX");
  auto range = g->lookup(104);
  EXPECT_EQ(range->pao.describe(), "14-16");
  EXPECT_FALSE(g->lookup(999).has_value());
}

TEST(Snapshot, RejectsMissingTruncatedAndForeignFiles) {
  TempDir dir;
  auto missing = Gazetteer::open(dir.path("none.gaz"));
  ASSERT_FALSE(missing.ok());
  std::string snap = testing::build_simple(dir);
  auto size = std::filesystem::file_size(snap);
  std::filesystem::copy_file(snap, dir.path("cut.gaz"));
  std::filesystem::resize_file(dir.path("cut.gaz"), size - 10);
  auto cut = Gazetteer::open(dir.path("cut.gaz"));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().rule, "snapshot");
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos);
  auto foreign = Gazetteer::open(dir.file("x.gaz", std::string(4096, 'x')));
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("magic"), std::string::npos);
}

TEST(Snapshot, BuildReportsSkippedLinesAndStillBuilds) {
  TempDir dir;
  std::string csv = std::string(testing::kSimpleCsv) + "notanumber,,,1,X STREET,,T,AL1 1AA,1,2,1930,RD04\n";
  std::string source = dir.file("a.csv", csv);
  BuildOptions o;
  o.sources.push_back(SourceFile{source, SourceFormat::simple_csv});
  auto r = build_snapshot(o, dir.path("a.gaz"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->load.skipped, 1u);
  EXPECT_EQ(r->uprns, 14u);
  EXPECT_EQ(r->load.problems[0].line, 16);
}

// Change-only updates: insert, update, delete, applied on top of the mapped base and
// persisted in the delta file that the next open loads.
TEST(ChangeOnlyUpdate, InsertsUpdatesAndDeletesWithoutRebuild) {
  TempDir dir;
  std::string snap = testing::build_simple(dir);
  auto g = Gazetteer::open(snap);
  ASSERT_TRUE(g.ok());
  auto old = g->lookup(111);
  ASSERT_TRUE(old.has_value());
  std::string cou = dir.file(
      "cou.csv",
      "10,\"TEST\",1945,2024-02-01,2,2024-02-01,00:00:00,1.0,C\n"
      "15,\"I\",1,30000001,\"NEW BUILD WAY\",\"\",\"WATFORD\",\"WATFORD\",\"ENG\",2024-02-01,,2024-02-01,2024-02-01\n"
      "21,\"I\",2,500,1,2,2024-02-01,,511200.00,196600.00,0,0,1,1945,\"E\",2024-02-01,,2024-02-01,2024-02-01,\"D\",\"WD17 9ZZ\",0\n"
      "24,\"I\",3,500,\"1945L500\",\"ENG\",1,2024-02-01,,2024-02-01,2024-02-01,,,,,\"\",1,,,,\"\",30000001,\"1\",\"\",\"\",\"Y\"\n"
      "24,\"U\",4,111,\"1945L111\",\"ENG\",1,2024-02-01,,2024-02-01,2024-02-01,,,,,\"\",7,\"B\",,,\"\",0,\"1\",\"\",\"\",\"Y\"\n"
      "21,\"D\",5,113,1,2,2024-02-01,,,,,,1,230,\"E\",2024-02-01,,2024-02-01,2024-02-01,\"D\",\"\",0\n"
      "24,\"X\",6,999\n"
      "99,0,7,2024-02-01,00:00:00\n");
  LoadStats stats;
  ASSERT_TRUE(g->apply_update({cou}, &stats).ok());
  EXPECT_EQ(stats.skipped, 1u);
  auto inserted = g->lookup(500);
  ASSERT_TRUE(inserted.has_value());
  EXPECT_EQ(inserted->street, "NEW BUILD WAY");
  EXPECT_EQ(inserted->postcode, "WD17 9ZZ");
  EXPECT_NEAR(inserted->coordinates.wgs84.latitude, 51.65, 0.05);
  EXPECT_FALSE(g->lookup(113).has_value());
  auto updated = g->lookup(111);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->pao.start_suffix, 'B');
  EXPECT_EQ(updated->street, "ACACIA AVENUE");  // USRN 0 in the update: the street is kept

  auto hits = g->match("1 new build way watford", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].address.uprn, 500u);
  EXPECT_TRUE(g->match("1 luton road luton", 3).empty() || g->match("1 luton road luton", 3)[0].address.uprn != 113u);
  auto near = g->nearest(Bng{511200, 196600}, 1, 100);
  ASSERT_EQ(near.size(), 1u);
  EXPECT_EQ(near[0].address.uprn, 500u);

  // Persisted: a fresh open sees the same state.
  auto again = Gazetteer::open(snap);
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_TRUE(again->lookup(500).has_value());
  EXPECT_FALSE(again->lookup(113).has_value());
  EXPECT_EQ(again->info().delta_deletes, 1u);
  Options no_delta;
  no_delta.load_delta = false;
  auto base_only = Gazetteer::open(snap, no_delta);
  EXPECT_TRUE(base_only->lookup(113).has_value());
}

// Readers on several threads while an update is published: every answer is either the
// old or the new state, and nothing crashes or tears.
TEST(ChangeOnlyUpdate, ConcurrentReadersDuringAnUpdate) {
  TempDir dir;
  auto g = Gazetteer::open(testing::build_simple(dir));
  ASSERT_TRUE(g.ok());
  std::string cou = dir.file(
      "cou.csv",
      "24,\"U\",1,105,\"1930L105\",\"ENG\",1,2024-02-01,,2024-02-01,2024-02-01,,,,,\"\",10,\"C\",,,\"\",0,\"1\",\"\",\"\",\"Y\"\n");
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, copy = *g] {
      while (!stop.load()) {
        auto hits = copy.match("flat 2 12 high st st albans", 3);
        if (hits.empty() || hits[0].address.uprn != 102u) ++bad;
        auto a = copy.lookup(105);
        if (!a || (a->pao.start_suffix != 0 && a->pao.start_suffix != 'C')) ++bad;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(g->apply_update({cou}).ok());
  while (reads.load() < 200) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(g->lookup(105)->pao.start_suffix, 'C');
}

}  // namespace
}  // namespace deit::gazetteer
