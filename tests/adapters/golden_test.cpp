// Golden files: samples/rtc-injury.xml translated into each format (tests/adapters/golden/,
// pretty-printed by hand tools) must decode to the sample's projection for that format; and
// the four example alerts of the CAP 1.2 specification must decode.

#include <gtest/gtest.h>

#include "test_support.hpp"

using namespace deit;
using namespace deit::adapters;
using namespace deit::adapters::testing;

namespace {

model::IncidentMessage sample() {
  auto d = adapter("deit").decode(read_file(source_path("samples/rtc-injury.xml")));
  EXPECT_TRUE(d.ok());
  return d->message;
}

void expect_golden(std::string_view format, const std::string& file) {
  auto d = adapter(format).decode(read_file(source_path("tests/adapters/golden/" + file)));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  model::IncidentMessage expected = project(format, sample());
  EXPECT_EQ(d->message, expected);
  // Stable: encoding what was decoded gives a document that decodes to the same incident.
  auto again = adapter(format).decode(adapter(format).encode(d->message)->bytes);
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->message, d->message);
}

std::string cap_example(const char* name) {
  return read_file(std::string(DEIT_SOURCE_DIR) + "/../shared/corpus/cap/" + name);
}

}  // namespace

TEST(Golden, Police) { expect_golden("police", "rtc-injury.police.xml"); }
TEST(Golden, Fire) { expect_golden("fire", "rtc-injury.fire.xml"); }
TEST(Golden, Ambulance) { expect_golden("ambulance", "rtc-injury.ambulance.json"); }
TEST(Golden, Mait) { expect_golden("mait", "rtc-injury.mait.xml"); }
// What hub versions before the two-extension MAIT form wrote: one <Extension> per field.
TEST(Golden, MaitPerFieldExtensionsOfEarlierVersions) { expect_golden("mait", "rtc-injury.mait-per-field.xml"); }
TEST(Golden, Cap) { expect_golden("cap", "rtc-injury.cap.xml"); }

TEST(Golden, FireSeesTheMappedTypeAndKeepsTheOriginal) {
  const std::string doc = read_file(source_path("tests/adapters/golden/rtc-injury.fire.xml"));
  EXPECT_NE(doc.find("code=\"SS-RTC\" group=\"special-service\" mapped=\"true\""), std::string::npos);
  EXPECT_NE(doc.find("<originalClassification scheme=\"nsir\" code=\"RTC-INJURY\">"), std::string::npos);
  EXPECT_NE(doc.find("<firePriority mapped=\"true\">P1</firePriority>"), std::string::npos);
}

TEST(CapExamples, HomelandSecurityAdvisory) {
  auto d = adapter("cap").decode(cap_example("Oasis_HomelandAlert.xml"));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  const auto& m = d->message;
  EXPECT_EQ(m.message_id, "43b080713727");
  EXPECT_EQ(m.sender_agency, "hsas-dhs-gov");
  EXPECT_TRUE(has_finding(d->findings, "alert/sender"));
  EXPECT_EQ(m.sent, "2003-04-02T14:39:01-05:00");
  EXPECT_EQ(m.type, model::MessageType::create);
  EXPECT_EQ(m.incident.type_summary, "Homeland Security Sets Code ORANGE");
  EXPECT_EQ(m.incident.type.text, "Homeland Security Advisory System Update");
  EXPECT_EQ(m.incident.location.text, "U.S. nationwide and interests worldwide");
  EXPECT_TRUE(m.incident.priority.emergency);
  EXPECT_TRUE(has_finding(d->findings, "alert/info/parameter")) << describe(d->findings);
  EXPECT_TRUE(has_finding(d->findings, "alert/info/resource"));
}

TEST(CapExamples, SevereThunderstorm) {
  auto d = adapter("cap").decode(cap_example("Oasis_ThunderstormWarning.xml"));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->message.incident.type, (model::Code{"SAME", "SVR", "SEVERE THUNDERSTORM"}));
  EXPECT_TRUE(has_finding(d->findings, "alert/info/area/polygon"));
  EXPECT_TRUE(has_finding(d->findings, "alert/info/expires"));
  ASSERT_EQ(d->message.incident.log.size(), 2u);  // description and instruction
}

TEST(CapExamples, EarthquakeUpdateKeepsItsCircle) {
  auto d = adapter("cap").decode(cap_example("Oasis_EarthquakeReport.xml"));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  const auto& m = d->message;
  EXPECT_EQ(m.type, model::MessageType::update);
  EXPECT_DOUBLE_EQ(*m.incident.location.latitude, 32.9525);
  EXPECT_DOUBLE_EQ(*m.incident.location.longitude, -115.5527);
  EXPECT_FALSE(m.incident.location.uncertainty_m.has_value());
  EXPECT_TRUE(has_finding(d->findings, "alert/references"));
}

TEST(CapExamples, AmberAlertReportsTheSecondLanguage) {
  auto d = adapter("cap").decode(cap_example("Oasis_AmberAlert.xml"));
  ASSERT_TRUE(d.ok()) << d.error().describe();
  EXPECT_EQ(d->message.incident.type.code, "CAE");
  EXPECT_TRUE(has_finding(d->findings, "alert/info")) << describe(d->findings);
  EXPECT_TRUE(has_finding(d->findings, "alert/info/area/geocode"));
}

TEST(CapExamples, EveryExampleTranslatesToEveryFormat) {
  for (const char* file : {"Oasis_HomelandAlert.xml", "Oasis_ThunderstormWarning.xml", "Oasis_EarthquakeReport.xml",
                           "Oasis_AmberAlert.xml"}) {
    auto d = adapter("cap").decode(cap_example(file));
    ASSERT_TRUE(d.ok()) << file;
    for (const char* to : {"police", "fire", "ambulance", "mait", "cap"}) {
      auto e = adapter(to).encode(d->message);
      ASSERT_TRUE(e.ok());
      auto v = adapter(to).validate(e->bytes);
      EXPECT_TRUE(v.ok()) << file << " → " << to << ": " << v.error().describe() << "\n" << e->bytes;
    }
  }
}
