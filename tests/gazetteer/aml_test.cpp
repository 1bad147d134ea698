#include "gazetteer/aml.hpp"

#include <gtest/gtest.h>

namespace deit::gazetteer {
namespace {

const std::string kFix =
    "A\"ML=1;lt=+51.53321;lg=-0.12601;rd=14;top=20220131171748;lc=68;pm=W;si=234159000000000;ei=123456789012345;"
    "mcc=234;mnc=15;ml=127";

TEST(Aml, ParsesAFix) {
  auto r = parse_aml(kFix);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_TRUE(r->has_fix);
  EXPECT_DOUBLE_EQ(r->position->latitude, 51.53321);
  EXPECT_DOUBLE_EQ(r->position->longitude, -0.12601);
  EXPECT_DOUBLE_EQ(*r->radius_m, 14);
  EXPECT_EQ(r->time_of_positioning, "2022-01-31T17:17:48Z");
  EXPECT_EQ(*r->unix_time, 1643649468);
  EXPECT_EQ(*r->confidence_percent, 68);
  EXPECT_EQ(r->method_name, "wifi");
  EXPECT_EQ(r->imsi, "234159000000000");
  EXPECT_EQ(r->mnc, "15");
  EXPECT_TRUE(r->warnings.empty());
}

TEST(Aml, ParsesNoFixAndToleratesALengthMismatchUnlessStrict) {
  auto none = parse_aml(
      "A\"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20220131173734;lc=0;pm=N;si=234159000000000;ei=123456789012345;"
      "mcc=234;mnc=15;ml=127");
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_FALSE(none->has_fix);
  EXPECT_FALSE(none->position.has_value());
  EXPECT_EQ(none->method_name, "none");
  std::string off_by_one = kFix.substr(0, kFix.size() - 3) + "126";  // the published example's ml
  auto lenient = parse_aml(off_by_one);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->warnings.size(), 1u);
  auto strict = parse_aml(off_by_one, AmlOptions{true});
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().field, "ml");
}

TEST(Aml, MalformedPayloadsNameTheField) {
  struct Case {
    std::string payload;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"AML=1;lt=+51.5;lg=-0.1", "A\"ML"},
      {"A\"ML=2;lt=+51.5", "A\"ML"},
      {"A\"ML=1;lt=north;lg=-0.1", "lt"},
      {"A\"ML=1;lt=+95.0;lg=-0.1", "lt"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;rd=far", "rd"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;top=2022013117174", "top"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;top=20221331171748", "top"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;lc=99.9", "lc"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;pm=X", "pm"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;si=23415x", "si"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;mcc=23", "mcc"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;mnc=1", "mnc"},
      {"A\"ML=1;lt=+51.5;lg=-0.1;zz=1", "zz"},
      {"A\"ML=1;lt=+51.5;lt=+51.6;lg=-0.1", "lt"},
      {"A\"ML=1;lt=+51.5;;lg=-0.1", ""},
      {"A\"ML=1;a==;lg=-0.1", "a"},
      {"A\"ML=1;lt=+51.5", "lg"},
  };
  for (const auto& c : cases) {
    auto r = parse_aml(c.payload);
    ASSERT_FALSE(r.ok()) << c.payload;
    EXPECT_EQ(r.error().rule, "aml") << c.payload;
    EXPECT_EQ(r.error().field, c.field) << c.payload << " -> " << r.error().describe();
  }
}

TEST(Aml, MissingOptionalFieldsAreTolerated) {
  auto r = parse_aml("A\"ML=1;lt=+51.5;lg=-0.1;rd=30;pm=G");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_fix);
  EXPECT_TRUE(r->time_of_positioning.empty());
  EXPECT_FALSE(r->declared_length.has_value());
}

TEST(Aml, RadiusAndTimeMustBeRealValues) {
  // Found by fuzzing (fuzz_gazetteer_aml): from_chars reads "nan" and "inf", and the day
  // check let 29 February through in every year.
  for (const char* radius : {"nan", "inf", "-inf", "infinity"}) {
    auto r = parse_aml(std::string("A\"ML=1;lt=+51.5;lg=-0.1;pm=G;rd=") + radius);
    ASSERT_FALSE(r.ok()) << radius;
    EXPECT_EQ(r.error().field, "rd");
  }
  auto not_leap = parse_aml("A\"ML=1;lt=+51.5;lg=-0.1;rd=10;top=20230229120000;pm=G");
  ASSERT_FALSE(not_leap.ok());
  EXPECT_EQ(not_leap.error().field, "top");
  auto leap = parse_aml("A\"ML=1;lt=+51.5;lg=-0.1;rd=10;top=20240229120000;pm=G");
  ASSERT_TRUE(leap.ok()) << leap.error().describe();
  EXPECT_EQ(leap->time_of_positioning, "2024-02-29T12:00:00Z");
}

}  // namespace
}  // namespace deit::gazetteer
