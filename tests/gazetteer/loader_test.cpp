#include "gazetteer/loaders.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "test_support.hpp"

namespace deit::gazetteer {
namespace {

using testing::TempDir;

struct Recorder : RecordSink {
  std::vector<std::uint32_t> streets;
  std::vector<std::string> descriptions;
  std::vector<std::uint64_t> blpus, lpis, coords;
  std::vector<std::string> pao_texts, postcodes, classes, orgs;
  std::vector<char> changes;
  std::vector<double> xs;
  void street(const StreetRecord& r) override { streets.push_back(r.usrn); }
  void street_descriptor(const StreetDescriptorRecord& r) override { descriptions.emplace_back(r.description); }
  void blpu(const BlpuRecord& r) override {
    blpus.push_back(r.uprn);
    postcodes.emplace_back(r.postcode_locator);
    changes.push_back(static_cast<char>(r.change));
    xs.push_back(r.x);
  }
  void lpi(const LpiRecord& r) override {
    lpis.push_back(r.uprn);
    pao_texts.emplace_back(r.pao_text);
  }
  void classification(const ClassificationRecord& r) override { classes.emplace_back(r.code); }
  void organisation(const OrganisationRecord& r) override { orgs.emplace_back(r.organisation); }
  void coordinates(const CoordinateRecord& r) override { coords.push_back(r.uprn); }
};

const char* kAbp =
    "10,\"TEST\",1930,2024-01-01,1,2024-01-01,00:00:00,1.0,F\n"
    "11,\"I\",1,20000001,1,1930,2,2000-01-01,1,8,0,2000-01-01,,2024-01-01,2000-01-01,514700,207200,,,514900,207400,,,10\n"
    "15,\"I\",2,20000001,\"HIGH STREET\",\"\",\"ST ALBANS\",\"ST ALBANS\",\"ENG\",2000-01-01,,2024-01-01,2000-01-01\n"
    "21,\"I\",3,100,1,2,2000-01-01,,514800.00,207300.00,51.75,-0.34,1,1930,\"E\",2000-01-01,,2024-01-01,2000-01-01,\"D\",\"AL1 3EX\",0\n"
    "24,\"I\",4,100,\"1930L100\",\"ENG\",1,2000-01-01,,2024-01-01,2000-01-01,,,,,\"\",12,,,,\"THE \"\"OLD\"\" BANK, LTD\",20000001,\"1\",\"\",\"\",\"Y\"\n"
    "21,\"X\",5,101,1,2,2000-01-01,,1,2,3,4,1,1930,\"E\",2000-01-01,,2024-01-01,2000-01-01,\"D\",\"AL1 3EX\",0\n"
    "21,\"I\",6,abc,1,2,2000-01-01,,1,2,3,4,1,1930,\"E\",2000-01-01,,2024-01-01,2000-01-01,\"D\",\"AL1 3EX\",0\n"
    "24,\"I\",7,100,\"short\"\n"
    "77,\"I\",8\n"
    "24,\"I\",9,100,\"unterminated\n"
    "32,\"I\",10,100,\"C1\",\"RD04\",\"AddressBase Premium Classification Scheme\",1.0,2000-01-01,,2024-01-01,2000-01-01\n"
    "31,\"I\",11,100,\"O1\",\"BANK PLC\",\"\",2000-01-01,,2024-01-01,2000-01-01\n"
    "21,\"D\",12,102,1,2,2000-01-01,,,,,,1,1930,\"E\",2000-01-01,,2024-01-01,2000-01-01,\"D\",\"\",0\n"
    "99,0,12,2024-01-01,00:00:00\n";

TEST(AbpCsvLoader, ReadsEveryRecordTypeAndReportsMalformedLinesWithLineNumbers) {
  TempDir dir;
  std::string path = dir.file("abp.csv", kAbp);
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_abp_csv(path, r, stats).ok());
  EXPECT_EQ(r.streets, std::vector<std::uint32_t>{20000001});
  EXPECT_EQ(r.descriptions, std::vector<std::string>{"HIGH STREET"});
  EXPECT_EQ(r.blpus, (std::vector<std::uint64_t>{100, 102}));
  EXPECT_EQ(r.changes[1], 'D');
  EXPECT_DOUBLE_EQ(r.xs[0], 514800.0);
  EXPECT_EQ(r.postcodes[0], "AL1 3EX");
  ASSERT_EQ(r.pao_texts.size(), 1u);
  EXPECT_EQ(r.pao_texts[0], "THE \"OLD\" BANK, LTD");  // quoted comma and doubled quotes
  EXPECT_EQ(r.classes, std::vector<std::string>{"RD04"});
  EXPECT_EQ(r.orgs, std::vector<std::string>{"BANK PLC"});
  EXPECT_EQ(stats.skipped, 5u);
  ASSERT_EQ(stats.problems.size(), 5u);
  EXPECT_EQ(stats.problems[0].line, 6);
  EXPECT_NE(stats.problems[0].message.find("abp.csv:6"), std::string::npos);
  EXPECT_NE(stats.problems[0].message.find("change type"), std::string::npos);
  EXPECT_EQ(stats.problems[1].line, 7);
  EXPECT_EQ(stats.problems[1].field, "UPRN");
  EXPECT_NE(stats.problems[2].message.find("fields"), std::string::npos);
  EXPECT_NE(stats.problems[3].message.find("unknown record identifier 77"), std::string::npos);
  EXPECT_NE(stats.problems[4].message.find("unterminated"), std::string::npos);
  EXPECT_EQ(detect_format(path), SourceFormat::abp_csv);
}

TEST(OpenUprnLoader, ReadsCoordinatesAndSkipsBadRows) {
  TempDir dir;
  std::string path = dir.file("osopenuprn.csv",
                              "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n"
                              "100,514800.00,207300.00,51.75,-0.34\n"
                              "x1,1,2,3,4\n"
                              "101,514801.00,,51.75,-0.34\n"
                              "102,514802.00,207302.00,51.75,-0.34\n");
  EXPECT_EQ(detect_format(path), SourceFormat::open_uprn_csv);
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_source(path, r, stats).ok());
  EXPECT_EQ(r.coords, (std::vector<std::uint64_t>{100, 102}));
  EXPECT_EQ(stats.skipped, 2u);
  EXPECT_EQ(stats.problems[0].line, 3);
}

TEST(SimpleCsvLoader, SplitsNumbersSuffixesRangesAndNames) {
  TempDir dir;
  std::string path = dir.file("a.csv", testing::kSimpleCsv);
  EXPECT_EQ(detect_format(path), SourceFormat::simple_csv);
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_simple_csv(path, r, stats).ok());
  EXPECT_EQ(stats.records, 14u);
  EXPECT_EQ(r.lpis.size(), 14u);
  EXPECT_EQ(r.pao_texts[8], "ROSE COTTAGE");
  EXPECT_EQ(stats.skipped, 0u);
}

TEST(GmlLoader, StreamsRecordsAndInheritsIdentifiers) {
  TempDir dir;
  std::string path = dir.file("abp.gml", R"(<?xml version="1.0" encoding="UTF-8"?>
<abpr:FeatureCollection xmlns:abpr="http://namespaces.geoplace.co.uk/addressbasepremium/2.0" xmlns:gml="http://www.opengis.net/gml/3.2">
 <abpr:member>
  <abpr:Street gml:id="s1">
   <abpr:changeType>I</abpr:changeType>
   <abpr:usrn>20000001</abpr:usrn>
   <abpr:recordType>1</abpr:recordType>
   <abpr:streetDescriptorMember>
    <abpr:StreetDescriptiveIdentifier>
     <abpr:streetDescription>HIGH STREET</abpr:streetDescription>
     <abpr:townName>ST ALBANS</abpr:townName>
     <abpr:administrativeArea>ST ALBANS</abpr:administrativeArea>
     <abpr:language>ENG</abpr:language>
    </abpr:StreetDescriptiveIdentifier>
   </abpr:streetDescriptorMember>
  </abpr:Street>
 </abpr:member>
 <abpr:member>
  <abpr:BasicLandPropertyUnit gml:id="b1">
   <abpr:changeType>I</abpr:changeType>
   <abpr:uprn>100</abpr:uprn>
   <abpr:logicalStatus>1</abpr:logicalStatus>
   <abpr:position><gml:Point srsName="urn:ogc:def:crs:EPSG::27700"><gml:pos>514800.00 207300.00</gml:pos></gml:Point></abpr:position>
   <abpr:positionLatLong><gml:Point srsName="urn:ogc:def:crs:EPSG::4258"><gml:pos>51.75 -0.34</gml:pos></gml:Point></abpr:positionLatLong>
   <abpr:localCustodianCode>1930</abpr:localCustodianCode>
   <abpr:postcodeLocator>AL1 3EX</abpr:postcodeLocator>
   <abpr:landPropertyIdentifierMember>
    <abpr:LandPropertyIdentifier>
     <abpr:lpiKey>1930L100</abpr:lpiKey>
     <abpr:language>ENG</abpr:language>
     <abpr:logicalStatus>1</abpr:logicalStatus>
     <abpr:paoStartNumber>12</abpr:paoStartNumber>
     <abpr:paoText>THE OLD BANK</abpr:paoText>
     <abpr:usrn>20000001</abpr:usrn>
    </abpr:LandPropertyIdentifier>
   </abpr:landPropertyIdentifierMember>
   <abpr:classificationMember><abpr:Classification><abpr:classificationCode>RD04</abpr:classificationCode></abpr:Classification></abpr:classificationMember>
  </abpr:BasicLandPropertyUnit>
 </abpr:member>
 <abpr:member>
  <abpr:BasicLandPropertyUnit gml:id="b2">
   <abpr:uprn>notanumber</abpr:uprn>
  </abpr:BasicLandPropertyUnit>
 </abpr:member>
</abpr:FeatureCollection>
)");
  EXPECT_EQ(detect_format(path), SourceFormat::abp_gml);
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_source(path, r, stats).ok());
  EXPECT_EQ(r.streets, std::vector<std::uint32_t>{20000001});
  EXPECT_EQ(r.descriptions, std::vector<std::string>{"HIGH STREET"});
  EXPECT_EQ(r.blpus, std::vector<std::uint64_t>{100});
  EXPECT_DOUBLE_EQ(r.xs[0], 514800.0);
  EXPECT_EQ(r.lpis, std::vector<std::uint64_t>{100});  // UPRN inherited from the BLPU
  EXPECT_EQ(r.pao_texts[0], "THE OLD BANK");
  EXPECT_EQ(r.classes, std::vector<std::string>{"RD04"});
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_GT(stats.problems[0].line, 40);
}

TEST(GmlLoader, ReportsBrokenXmlWithItsLine) {
  TempDir dir;
  std::string path = dir.file("bad.gml", "<?xml version=\"1.0\"?>\n<a>\n<b>\n</a>\n");
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_abp_gml(path, r, stats).ok());
  ASSERT_EQ(stats.problems.size(), 1u);
  EXPECT_EQ(stats.problems[0].line, 4);
}

TEST(Loaders, MissingFileIsAnError) {
  Recorder r;
  LoadStats stats;
  EXPECT_FALSE(load_abp_csv("/nonexistent/abp.csv", r, stats).ok());
  EXPECT_FALSE(load_abp_gml("/nonexistent/abp.gml", r, stats).ok());
}

TEST(GmlLoader, RefusesDoctypeSoEntitiesNeverExpand) {
  // Found by fuzzing (fuzz_gazetteer_abp_gml): a "billion laughs" DOCTYPE ran the loader
  // out of time and memory before a single record was read.
  std::string laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    laughs += " <!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) laughs += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    laughs += "\">\n";
  }
  laughs += "]>\n<abpr:FeatureCollection xmlns:abpr=\"http://namespaces.geoplace.co.uk/addressbasepremium/2.0\">"
            "<abpr:Street><abpr:usrn>&lol9;</abpr:usrn></abpr:Street></abpr:FeatureCollection>\n";
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_abp_gml_data(laughs, "laughs.gml", r, stats).ok());
  EXPECT_TRUE(r.streets.empty());
  ASSERT_EQ(stats.problems.size(), 1u);
  EXPECT_EQ(stats.problems[0].field, "DOCTYPE");
  EXPECT_EQ(stats.problems[0].line, 2);
}

TEST(GmlLoader, RecordsWithoutTheirKeyAreSkippedAsInCsv) {
  // Found by fuzzing: the CSV loader requires the USRN or UPRN of every record; the GML
  // loader passed streets, delivery points, classifications and organisations without one.
  const std::string gml =
      "<abpr:FeatureCollection xmlns:abpr=\"http://namespaces.geoplace.co.uk/addressbasepremium/2.0\">\n"
      "<abpr:Street><abpr:recordType>1</abpr:recordType></abpr:Street>\n"
      "<abpr:DeliveryPointAddress><abpr:udprn>5</abpr:udprn></abpr:DeliveryPointAddress>\n"
      "<abpr:Classification><abpr:classificationCode>RD04</abpr:classificationCode></abpr:Classification>\n"
      "<abpr:Organisation><abpr:organisation>X</abpr:organisation></abpr:Organisation>\n"
      "</abpr:FeatureCollection>\n";
  Recorder r;
  LoadStats stats;
  ASSERT_TRUE(load_abp_gml_data(gml, "keyless.gml", r, stats).ok());
  EXPECT_TRUE(r.streets.empty());
  EXPECT_TRUE(r.classes.empty());
  EXPECT_TRUE(r.orgs.empty());
  EXPECT_EQ(stats.skipped, 4u);
  EXPECT_EQ(stats.records, 0u);
}

TEST(Loaders, InMemoryEntryPointsReadTheSameAsFiles) {
  TempDir dir;
  const std::string csv = testing::kSimpleCsv;
  Recorder from_file, from_memory;
  LoadStats file_stats, memory_stats;
  ASSERT_TRUE(load_simple_csv(dir.file("a.csv", csv), from_file, file_stats).ok());
  ASSERT_TRUE(load_simple_csv_data(csv, "a.csv", from_memory, memory_stats).ok());
  EXPECT_EQ(from_memory.lpis, from_file.lpis);
  EXPECT_EQ(from_memory.pao_texts, from_file.pao_texts);
  EXPECT_EQ(memory_stats.records, file_stats.records);
  Recorder abp;
  LoadStats abp_stats;
  ASSERT_TRUE(load_abp_csv_data(kAbp, "abp.csv", abp, abp_stats).ok());
  EXPECT_EQ(abp.blpus, (std::vector<std::uint64_t>{100, 102}));
  EXPECT_EQ(abp_stats.skipped, 5u);
  EXPECT_NE(abp_stats.problems[0].message.find("abp.csv:6"), std::string::npos);
  Recorder open_uprn;
  LoadStats open_stats;
  EXPECT_FALSE(load_open_uprn_csv_data("", "empty.csv", open_uprn, open_stats).ok());  // no header row
}

}  // namespace
}  // namespace deit::gazetteer
