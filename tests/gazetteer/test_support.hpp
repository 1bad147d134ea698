#pragma once
// Small helpers for the gazetteer tests: temporary directories and a tiny gazetteer.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "gazetteer/builder.hpp"

namespace deit::gazetteer::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("deit-gaz-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A few streets in two towns, with flats, suffixes, ranges, named houses and a Saint.
inline const char* kSimpleCsv =
    "uprn,parent_uprn,sao,pao,street,locality,town,postcode,easting,northing,custodian,classification\n"
    "100,,,12,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,PP\n"
    "101,100,FLAT 1,12,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,RD06\n"
    "102,100,FLAT 2,12,HIGH STREET,,ST ALBANS,AL1 3EX,514800,207300,1930,RD06\n"
    "103,,,12A,HIGH STREET,,ST ALBANS,AL1 3EX,514810,207310,1930,RD04\n"
    "104,,,14-16,HIGH STREET,,ST ALBANS,AL1 3EY,514820,207320,1930,CR07\n"
    "105,,,10,HIGH STREET,,ST ALBANS,AL1 3EX,514790,207290,1930,RD04\n"
    "106,,,3,ST PETERS STREET,,ST ALBANS,AL1 3HE,514900,207500,1930,RD04\n"
    "107,,,5,ST PETERS STREET,,ST ALBANS,AL1 3HE,514905,207505,1930,RD04\n"
    "108,,,ROSE COTTAGE,CHURCH LANE,COLNEY HEATH,ST ALBANS,AL4 0NQ,520000,206000,1930,RD02\n"
    "109,,,THE COTTAGE,CHURCH LANE,COLNEY HEATH,ST ALBANS,AL4 0NQ,520010,206010,1930,RD02\n"
    "110,,,12,HIGH STREET,,WATFORD,WD17 2BS,511000,196500,1945,RD04\n"
    "111,,,7,ACACIA AVENUE,,WATFORD,WD18 0AA,510500,196000,1945,RD03\n"
    "112,,,9,ACACIA AVENUE,,WATFORD,WD18 0AA,510510,196010,1945,RD03\n"
    "113,,,1,LUTON ROAD,,LUTON,LU1 1AA,509200,221400,230,RD04\n";

inline std::string build_simple(const TempDir& dir, const std::string& csv = kSimpleCsv) {
  std::string source = dir.file("addresses.csv", csv);
  BuildOptions o;
  o.sources.push_back(SourceFile{source, SourceFormat::unknown});
  std::string out = dir.path("test.gaz");
  auto r = build_snapshot(o, out);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().describe());
  return out;
}

}  // namespace deit::gazetteer::testing
