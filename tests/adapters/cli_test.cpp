#include "adapters/cli.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "test_support.hpp"

using namespace deit::adapters;
using deit::adapters::testing::source_path;

namespace {

struct Run {
  int code;
  std::string out, err;
};

Run run(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = adapters_command(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST(Cli, TranslatesTheSampleToEveryFormat) {
  for (const char* to : {"deit", "police", "fire", "ambulance", "mait", "cap"}) {
    auto r = run({"translate", "--from", "deit", "--to", to, source_path("samples/rtc-injury.xml")});
    EXPECT_EQ(r.code, 0) << to << ": " << r.err;
    EXPECT_FALSE(r.out.empty());
  }
}

TEST(Cli, PrintsFindingsOnTheErrorStream) {
  auto r = run({"translate", "--from", "deit", "--to", "cap", source_path("samples/rtc-injury.xml")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("findings (encode cap):"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("incident/caller [withheld]"), std::string::npos) << r.err;
}

TEST(Cli, ValidateSaysOkOrGivesLineAndColumn) {
  auto ok = run({"validate", "--format", "deit", source_path("samples/rtc-injury.xml")});
  EXPECT_EQ(ok.code, 0);
  EXPECT_EQ(ok.out, "OK\n");
  auto bad = run({"validate", "--format", "police", source_path("samples/rtc-injury.xml")});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("line 2"), std::string::npos) << bad.out;
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"validate", "--format", "nope", "x"}).code, 2);
  EXPECT_EQ(run({"validate", "--format", "deit"}).code, 2);
  EXPECT_EQ(run({"validate", "--format", "deit", "/no/such/file"}).code, 2);
  EXPECT_EQ(run({"translate", "--from", "deit", "--to", "cap", "--bogus", "x"}).code, 2);
}

TEST(Cli, ListsFormats) {
  auto r = run({"formats"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "deit\npolice\nfire\nambulance\nmait\ncap\n");
}
