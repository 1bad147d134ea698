#include "adapters/mapping_tables.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "adapters/builtin.hpp"
#include "test_support.hpp"

using namespace deit;
using namespace deit::adapters;
using model::AgencyKind;
using model::Code;

namespace {

std::shared_ptr<const MappingTables> embedded() {
  auto t = MappingTables::load_embedded();
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().describe());
  return t.value();
}

std::filesystem::path copy_of_embedded_tables() {
  auto dir = std::filesystem::temp_directory_path() / ("deit-mappings-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* f : {"incident-kinds.csv", "incident-types.csv", "priorities.csv", "warning-markers.csv"})
    std::filesystem::copy_file(deit::adapters::testing::source_path(std::string("adapters/mappings/") + f), dir / f,
                               std::filesystem::copy_options::overwrite_existing);
  return dir;
}

void write(const std::filesystem::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

}  // namespace

TEST(MappingTables, TranslatesAcrossTheServices) {
  auto t = embedded();
  EXPECT_EQ(t->translate(Code{"nsir", "RTC-INJURY", ""}, AgencyKind::fire)->code, "SS-RTC");
  EXPECT_EQ(t->translate(Code{"nsir", "RTC-INJURY", ""}, AgencyKind::ambulance)->code, "29-B-01");
  EXPECT_EQ(t->translate(Code{"frs", "SS-RTC-PT", ""}, AgencyKind::police)->code, "RTC-INJURY");
  EXPECT_EQ(t->translate(Code{"frs", "SS-RTC-PT", ""}, AgencyKind::ambulance)->code, "29-D-05");
  EXPECT_EQ(t->translate(Code{"ampds", "09-E-01", ""}, AgencyKind::fire)->code, "SS-MEDICAL");
  // An MPDS determinant falls back through its protocol and level, and may carry a version.
  EXPECT_EQ(t->translate(Code{"ampds:13.3", "29-D-02p", ""}, AgencyKind::fire)->code, "SS-RTC");
  EXPECT_EQ(t->translate(Code{"ampds", "29-A-01", ""}, AgencyKind::police)->code, "RTC-INJURY");
  EXPECT_FALSE(t->translate(Code{"nsir", "NO-SUCH", ""}, AgencyKind::fire));
  EXPECT_FALSE(t->translate(Code{"local", "X", ""}, AgencyKind::fire));
  EXPECT_EQ(t->fallback(AgencyKind::fire)->code, "SS-OTHER");
  EXPECT_EQ(t->kind_of(Code{"frs", "F-DWELLING-PR", ""})->cap_category, "Fire");
}

TEST(MappingTables, PriorityLadderNeverLowers) {
  auto t = embedded();
  model::Priority p;
  p.police_grade = model::PoliceGrade::emergency;
  EXPECT_EQ(t->level_of(p)->level, "P2");
  p.life_risk = true;
  EXPECT_EQ(t->level_of(p)->level, "P1");
  model::Priority q;
  q.ambulance_category = 1;  // category 1 is P1 even without the flag
  EXPECT_EQ(t->level_of(q)->level, "P1");
  q.police_grade = model::PoliceGrade::scheduled;  // the most urgent value wins
  EXPECT_EQ(t->level_of(q)->level, "P1");
  EXPECT_EQ(t->level_of(model::Priority{}), nullptr);
  EXPECT_EQ(t->police_marker_code("weapons"), "WE");
}

TEST(MappingTables, CsvErrorsNameFileLineAndColumn) {
  const auto dir = copy_of_embedded_tables();
  write(dir / "priorities.csv",
        "level,police_grade,ambulance_category,fire_priority,emergency,life_risk,cap_urgency,cap_severity,description\n"
        "P1,emergency,1,P1,true,true,Immediate,Extreme,ok\n"
        "P2,urgent,2,P2,true,false,Immediate,Severe,bad grade\n");
  auto t = MappingTables::load(dir);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().field, "priorities.csv");
  EXPECT_EQ(t.error().line, 3);
  EXPECT_EQ(t.error().column, 4);
  write(dir / "priorities.csv", "level,police_grade\n\"P1,emergency\n");
  t = MappingTables::load(dir);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().line, 2);
  EXPECT_NE(t.error().message.find("not closed"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(MappingTables, ReloadSwapsAtomicallyAndKeepsTheOldTablesOnError) {
  const auto dir = copy_of_embedded_tables();
  auto store = MappingStore::with_embedded().value();
  auto registry = builtin_registry(store).value();
  auto incident = deit::adapters::testing::rich_incident();
  EXPECT_NE(registry->find("fire")->encode(incident)->bytes.find("code=\"SS-RTC\""), std::string::npos);

  // A broken file: the reload fails and translation goes on with the old tables.
  write(dir / "incident-types.csv", "kind,scheme,code,text\nno-such-kind,nsir,X,Y\n");
  auto status = store->reload(dir);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().line, 2);
  EXPECT_NE(registry->find("fire")->encode(incident)->bytes.find("code=\"SS-RTC\""), std::string::npos);

  // Readers on other threads keep translating while tables are swapped underneath them.
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      auto e = registry->find("fire")->encode(incident);
      if (!e.ok() || (e->bytes.find("SS-RTC\"") == std::string::npos && e->bytes.find("SS-RTC-NEW\"") == std::string::npos))
        ++bad;
    }
  });
  std::ifstream in(deit::adapters::testing::source_path("adapters/mappings/incident-types.csv"));
  std::string types((std::istreambuf_iterator<char>(in)), {});
  const std::string from = "rtc-injury,frs,SS-RTC,", to = "rtc-injury,frs,SS-RTC-NEW,";
  types.replace(types.find(from), from.size(), to);
  write(dir / "incident-types.csv", types);
  for (int k = 0; k < 20; ++k) ASSERT_TRUE(store->reload(dir).ok());
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_NE(registry->find("fire")->encode(incident)->bytes.find("code=\"SS-RTC-NEW\""), std::string::npos);
  std::filesystem::remove_all(dir);
}
