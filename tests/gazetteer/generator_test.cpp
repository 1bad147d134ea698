#include "gazetteer/generator.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gazetteer/builder.hpp"
#include "gazetteer/gazetteer.hpp"
#include "test_support.hpp"

namespace deit::gazetteer {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Generator, IsDeterministicAndItsQueriesMatch) {
  testing::TempDir dir;
  GeneratorOptions o;
  o.addresses = 20000;
  o.queries = 400;
  o.out_dir = dir.path("a");
  auto a = generate_gazetteer(o);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  o.out_dir = dir.path("b");
  auto b = generate_gazetteer(o);
  ASSERT_TRUE(b.ok());
  EXPECT_GE(a->addresses, 20000u);
  EXPECT_EQ(slurp(a->abp_csv), slurp(b->abp_csv));
  EXPECT_EQ(slurp(a->queries_tsv), slurp(b->queries_tsv));

  BuildOptions bo;
  bo.sources.push_back(SourceFile{a->abp_csv, SourceFormat::unknown});
  bo.custodian_table = a->custodians_csv;
  auto built = build_snapshot(bo, dir.path("g.gaz"));
  ASSERT_TRUE(built.ok()) << built.error().describe();
  EXPECT_EQ(built->load.skipped, 0u);
  EXPECT_EQ(built->uprns, a->addresses);
  auto g = Gazetteer::open(dir.path("g.gaz"));
  ASSERT_TRUE(g.ok());
  std::istringstream queries(slurp(a->queries_tsv));
  std::string line;
  int total = 0, right = 0;
  std::uint64_t last_uprn = 0;
  while (std::getline(queries, line)) {
    auto tab = line.find('\t');
    last_uprn = std::stoull(line.substr(0, tab));
    std::uint64_t uprn = std::stoull(line.substr(0, tab));
    auto hits = g->match(line.substr(tab + 1), 1);
    ++total;
    right += !hits.empty() && hits[0].address.uprn == uprn;
  }
  EXPECT_GT(total, 300);
  EXPECT_GE(static_cast<double>(right) / total, 0.95);
  // Flats point to their building.
  auto who = g->who_covers(last_uprn);
  ASSERT_TRUE(who.ok());
  EXPECT_FALSE(who->police.empty());
}

TEST(Generator, SampleUsesTheHubsAgencies) {
  testing::TempDir dir;
  GeneratorOptions o;
  o.sample = true;
  o.out_dir = dir.path("s");
  auto r = generate_gazetteer(o);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->addresses, 2000u);
  EXPECT_LT(r->addresses, 6000u);
  BuildOptions bo;
  bo.sources.push_back(SourceFile{r->abp_csv, SourceFormat::unknown});
  ASSERT_TRUE(build_snapshot(bo, dir.path("s.gaz")).ok());
  auto g = Gazetteer::open(dir.path("s.gaz"));
  auto hits = g->match("flat 2 12 high st st albans", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].address.sao.start_number, 2);
  EXPECT_EQ(hits[0].address.town, "ST ALBANS");
  auto who = g->who_covers(hits[0].address.uprn);
  EXPECT_EQ(who->police[0].agency_id, "hertfordshire-police");
}

}  // namespace
}  // namespace deit::gazetteer
