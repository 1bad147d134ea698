#include "adapters/deit/deit_adapter.hpp"
#include "schemas/xml.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <atomic>
#include <latch>

using namespace deit;
using namespace deit::adapters;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Adapter& adapter() {
  static auto a = make_deit_adapter();
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().describe());
  return *a.value();
}

}  // namespace

TEST(DeitAdapter, DecodesTheSampleIncident) {
  auto d = adapter().decode(read_file(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml"));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  const auto& m = d->message;
  EXPECT_EQ(m.message_id, "HP-2026-000123-1");
  EXPECT_EQ(m.sender_agency, "hertfordshire-police");
  ASSERT_EQ(m.receiving_agencies.size(), 1u);
  EXPECT_EQ(m.receiving_agencies[0], "hertfordshire-fire");
  EXPECT_EQ(m.marking, model::ProtectiveMarking::official_sensitive);
  EXPECT_EQ(m.incident.type.code, "RTC-INJURY");
  EXPECT_EQ(m.incident.priority.police_grade, model::PoliceGrade::emergency);
  EXPECT_TRUE(m.incident.priority.life_risk);
  EXPECT_DOUBLE_EQ(*m.incident.location.latitude, 51.7398);
  EXPECT_DOUBLE_EQ(*m.incident.location.uncertainty_m, 50);
  ASSERT_TRUE(m.incident.caller.has_value());
  EXPECT_TRUE(m.incident.caller->consent_to_update);
  EXPECT_EQ(m.incident.persons.at(0).age, 34);
  EXPECT_EQ(m.incident.resources_requested.at(0).count, 2);
  EXPECT_TRUE(d->findings.empty());
}

TEST(DeitAdapter, EncodeDecodeRoundTripKeepsEveryField) {
  model::IncidentMessage m;
  m.message_id = "m-1";
  m.transfer_id = "T-abc";
  m.type = model::MessageType::update;
  m.sequence = 7;
  m.sender_agency = "bedfordshire-police";
  m.receiving_agencies = {"hertfordshire-police", "east-of-england-ambulance"};
  m.on_behalf_of = "thames-valley-police";
  m.sender_reference = "BP-1";
  m.shared_reference = "X-9";
  m.reason = model::TransferReason::buddy_overflow;
  m.call_received = "2026-11-23T08:00:00Z";
  m.created = "2026-11-23T08:00:01Z";
  m.sent = "2026-11-23T08:00:02Z";
  m.marking = model::ProtectiveMarking::official;
  auto& i = m.incident;
  i.type_summary = "Concern for safety <&> \"quotes\" 'apos'";
  i.type = {"nsir", "CFS", "Concern for safety"};
  i.qualifiers = {{"nsir", "QMH", "Mental health"}};
  i.priority = {model::PoliceGrade::priority, 2, "P2", true, true};
  i.status = "open";
  i.location.text = "Flat 2, 12 High St";
  i.location.address = {"Flat 2", "12", "High Street", "", "St Albans", "Hertfordshire", "AL1 3EX"};
  i.location.uprn = 100080123456ULL;
  i.location.usrn = 45600123;
  i.location.latitude = 51.7520;
  i.location.longitude = -0.3394;
  i.location.uncertainty_m = 12.5;
  i.location.easting = 514693.1;
  i.location.northing = 207134.9;
  i.location.source = model::LocationSource::aml;
  i.caller = model::Caller{"A Caller", "+447700900000", model::CallerRole::third_party, true};
  i.persons = {{"subject", "J Doe", 40, "tall", {"weapons", "violent"}}};
  i.vehicles = {{"AB12CDE", "Ford", "Focus", "blue", "dented"}};
  i.hazards = {{"cylinders", "acetylene in garage"}};
  i.log = {{"2026-11-23T08:00:00Z", "op1", "first entry", false}, {"2026-11-23T08:01:00Z", "op2", "clinical", true}};
  i.resources_requested = {{"ambulance", 2, "two patients"}};
  i.outcome = model::Outcome{"RESOLVED", "all safe"};
  i.cancel_reason = "";

  const std::string xml = encode_canonical(m);
  auto d = adapter().decode(xml);
  ASSERT_TRUE(d.ok()) << d.error().describe() << "\n" << xml;
  EXPECT_EQ(d->message, m);
}

// The tree builder narrows ASCII in chunks and switches to full UTF-8 encoding at the first
// chunk holding anything else: text longer than a chunk, with accents, a euro sign and a
// character outside the BMP (a surrogate pair in Xerces' UTF-16) on either side of the
// chunk boundaries, in element text and attribute values, must come back unchanged.
TEST(DeitAdapter, NonAsciiTextAroundChunkBoundariesRoundTrips) {
  model::IncidentMessage m;
  m.message_id = "m-utf8";
  m.sender_agency = "bedfordshire-police";
  m.receiving_agencies = {"hertfordshire-police"};
  m.sender_reference = "BP-2";
  m.sent = "2026-11-23T08:00:02Z";
  auto& i = m.incident;
  const std::string ascii(127, 'a');
  i.type_summary = ascii + "\xC3\xA9" + ascii + ascii + "\xE2\x82\xAC\xF0\x9F\x9A\x91 end";  // é, €, U+1F691
  i.type = {"nsir", "CFS", "Caf\xC3\xA9 " + ascii + "\xF0\x9F\x9A\x91"};
  i.log = {{"2026-11-23T08:00:00Z", "op \xC3\xB8", std::string(300, 'x') + "\xF0\x9F\x9A\x91", false}};
  const std::string xml = encode_canonical(m);
  auto d = adapter().decode(xml);
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->message.incident.type_summary, i.type_summary);
  EXPECT_EQ(d->message.incident.type, i.type);
  EXPECT_EQ(d->message.incident.log, i.log);
}

TEST(DeitAdapter, SchemaViolationNamesFieldLineAndColumn) {
  std::string doc = read_file(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  const auto pos = doc.find("<policeGrade>emergency");
  doc.replace(pos, std::string("<policeGrade>emergency").size(), "<policeGrade>urgent");
  auto d = adapter().decode(doc);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "schema");
  EXPECT_EQ(d.error().line, 20);
  EXPECT_GT(d.error().column, 1);
  EXPECT_NE(d.error().field.find("policeGrade"), std::string::npos) << d.error().describe();
}

// An agency id is 1 to 64 of a-z, 0-9 and '-', not starting with '-' (the schema says so
// with maxLength and an open pattern rather than {0,63}, which Xerces backtracks through).
TEST(DeitAdapter, AgencyIdsAreOneToSixtyFourLowerCaseLettersDigitsAndHyphens) {
  const std::string sample = read_file(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  auto with_receiver = [&](const std::string& id) {
    std::string doc = sample;
    const std::string original = "<receiver>hertfordshire-fire</receiver>";
    doc.replace(doc.find(original), original.size(), "<receiver>" + id + "</receiver>");
    return adapter().decode(doc);
  };
  EXPECT_TRUE(with_receiver("a").ok());
  auto longest = with_receiver("a" + std::string(63, '-'));
  EXPECT_TRUE(longest.ok()) << longest.error().describe();
  for (const std::string& bad : {"a" + std::string(64, 'b'), std::string("-fire"), std::string("Herts-fire"),
                                 std::string("herts fire"), std::string("")}) {
    auto d = with_receiver(bad);
    ASSERT_FALSE(d.ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(d.error().rule, "schema") << bad;
    EXPECT_EQ(d.error().line, 8) << bad;
    EXPECT_NE(d.error().field.find("receiver"), std::string::npos) << d.error().describe();
  }
}

TEST(DeitAdapter, MalformedXmlIsAWellFormednessError) {
  auto d = adapter().decode(
      "<incidentMessage xmlns=\"urn:deit-hub:incident:1\" schemaVersion=\"1.0\">\n  <messageId>x</messageID>");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "well-formed");
  EXPECT_EQ(d.error().line, 2);
}

TEST(DeitAdapter, DoctypeAndEntitiesAreRefused) {
  const std::string billion_laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
      "<incidentMessage xmlns=\"urn:deit-hub:incident:1\">&lol2;</incidentMessage>";
  auto d = adapter().decode(billion_laughs);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "doctype");
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
      "<incidentMessage xmlns=\"urn:deit-hub:incident:1\">&e;</incidentMessage>";
  d = adapter().decode(xxe);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().rule, "doctype");
}

TEST(DeitAdapter, DeepNestingIsRefused) {
  std::string doc = "<incidentMessage xmlns=\"urn:deit-hub:incident:1\">";
  for (int i = 0; i < 100; ++i) doc += "<a>";
  auto d = adapter().decode(doc);
  ASSERT_FALSE(d.ok());
  // The schema refuses <a> before the depth limit is reached; either is a clean refusal.
  EXPECT_TRUE(d.error().rule == "schema" || d.error().rule == "depth") << d.error().describe();
}

TEST(DeitAdapter, UnknownRootNamespaceIsRefused) {
  auto d = adapter().decode("<foo xmlns=\"urn:other\"/>");
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.error().rule == "schema" || d.error().rule == "namespace") << d.error().describe();
}

TEST(DeitAdapter, ParsesConcurrentlyFromManyThreads) {
  const std::string xml = read_file(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (adapter().decode(xml).ok()) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
}

// Xerces builds a character class's lookup table on its first use in a match, without a
// lock (RangeToken::createMap), and a locked grammar pool is shared by every thread's
// parser. Two threads meeting a class for the first time at once both build it, and a
// Xerces with assertions aborts (it did in CI). SchemaSet::load builds every table first;
// here each round loads the schemas afresh and starts its threads on the same instant.
TEST(SchemaSet, FreshlyLoadedPatternsAreSafeToUseFromManyThreadsAtOnce) {
  const std::string xml = read_file(std::string(DEIT_SOURCE_DIR) + "/samples/rtc-injury.xml");
  constexpr int kThreads = 8;
  for (int round = 0; round < 25; ++round) {
    auto fresh = make_deit_adapter();
    ASSERT_TRUE(fresh.ok()) << fresh.error().describe();
    const Adapter& a = *fresh.value();
    std::latch start(kThreads);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&] {
        start.arrive_and_wait();
        if (a.decode(xml).ok()) ++ok;
      });
    for (auto& t : threads) t.join();
    ASSERT_EQ(ok.load(), kThreads) << "round " << round;
  }
}

// Identity-constraint checking is switched on only for schema sets that declare a
// constraint; a set that does must still refuse a duplicate key.
TEST(SchemaSet, IdentityConstraintsAreCheckedWhereDeclared) {
  const std::string xsd =
      "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:t=\"urn:test:ic\""
      " targetNamespace=\"urn:test:ic\" elementFormDefault=\"qualified\">"
      "<xs:element name=\"list\"><xs:complexType><xs:sequence>"
      "<xs:element name=\"item\" maxOccurs=\"unbounded\"><xs:complexType>"
      "<xs:attribute name=\"id\" type=\"xs:string\" use=\"required\"/></xs:complexType></xs:element>"
      "</xs:sequence></xs:complexType>"
      "<xs:unique name=\"ids\"><xs:selector xpath=\"t:item\"/><xs:field xpath=\"@id\"/></xs:unique>"
      "</xs:element></xs:schema>";
  auto set = xml::SchemaSet::load({{"urn:test:ic", "ic.xsd", xsd}});
  ASSERT_TRUE(set.ok()) << set.error().describe();
  const auto& schemas = *set.value();
  EXPECT_TRUE(schemas.parse("<list xmlns=\"urn:test:ic\"><item id=\"a\"/><item id=\"b\"/></list>").ok());
  auto duplicate = schemas.parse("<list xmlns=\"urn:test:ic\">\n<item id=\"a\"/>\n<item id=\"a\"/></list>");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().rule, "schema") << duplicate.error().describe();
}
