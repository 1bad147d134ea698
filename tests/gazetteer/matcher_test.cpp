#include <gtest/gtest.h>

#include "gazetteer/gazetteer.hpp"
#include "gazetteer/matcher.hpp"
#include "test_support.hpp"

namespace deit::gazetteer {
namespace {

class MatcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto g = Gazetteer::open(testing::build_simple(*dir_));
    ASSERT_TRUE(g.ok());
    gaz_ = new Gazetteer(*g);
  }
  static void TearDownTestSuite() {
    delete gaz_;
    delete dir_;
  }
  static std::uint64_t top(const std::string& text) {
    auto hits = gaz_->match(text, 5);
    return hits.empty() ? 0 : hits[0].address.uprn;
  }
  static testing::TempDir* dir_;
  static Gazetteer* gaz_;
};
testing::TempDir* MatcherTest::dir_ = nullptr;
Gazetteer* MatcherTest::gaz_ = nullptr;

TEST_F(MatcherTest, ParsesFlatsNumbersAndPostcodes) {
  ParsedQuery q = parse_free_text("Flat 2, 12a-14 High St., ST ALBANS al13ex", nullptr);
  ASSERT_TRUE(q.sao && q.pao && q.postcode);
  EXPECT_EQ(q.sao->start, 2);
  EXPECT_EQ(q.pao->start, 12);
  EXPECT_EQ(q.pao->start_suffix, 'A');
  EXPECT_EQ(q.pao->end, 14);
  EXPECT_EQ(q.postcode->normalised(), "AL1 3EX");
  EXPECT_EQ(q.words, (std::vector<std::string>{"HIGH", "ST", "ALBANS"}));
  ParsedQuery slash = parse_free_text("2/12 high street", nullptr);
  EXPECT_EQ(slash.sao->start, 2);
  EXPECT_EQ(slash.pao->start, 12);
  ParsedQuery two = parse_free_text("2 12 high street", nullptr);
  EXPECT_EQ(two.sao->start, 2);
  EXPECT_EQ(two.pao->start, 12);
  ParsedQuery spaced = parse_free_text("12 a high street", nullptr);
  EXPECT_EQ(spaced.pao->start_suffix, 'A');
}

TEST_F(MatcherTest, TheBriefsExampleFindsTheFlat) {
  auto hits = gaz_->match("flat 2 12 high st st albans", 5);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].address.uprn, 102u);
  EXPECT_GE(hits[0].confidence, 0.9);
  EXPECT_NE(hits[0].explanation.find("flat exact"), std::string::npos);
  EXPECT_LT(hits[1].confidence, hits[0].confidence);
}

TEST_F(MatcherTest, NormalisesCasePunctuationAbbreviationsAndOrder) {
  EXPECT_EQ(top("12 HIGH STREET ST ALBANS AL1 3EX"), 100u);
  EXPECT_EQ(top("12, High St., St. Albans"), 100u);
  EXPECT_EQ(top("st albans, 12 high street"), 100u);   // wrong order
  EXPECT_EQ(top("12 high st, saint albans"), 100u);    // St as Saint
  EXPECT_EQ(top("3 saint peters st st albans"), 106u); // Saint in the street, Street abbreviated
  EXPECT_EQ(top("7 acacia ave watford"), 111u);
  EXPECT_EQ(top("apartment 1, 12 high street, st albans"), 101u);
  EXPECT_EQ(top("2/12 high st st albans"), 102u);
}

TEST_F(MatcherTest, HandlesSuffixesRangesAndNamedHouses) {
  EXPECT_EQ(top("12a high st st albans"), 103u);
  EXPECT_EQ(top("12 A high st st albans"), 103u);
  EXPECT_EQ(top("14-16 high street st albans"), 104u);
  EXPECT_EQ(top("15 high street st albans al1 3ey"), 104u);  // inside the range
  EXPECT_EQ(top("rose cottage church lane colney heath"), 108u);
  EXPECT_EQ(top("the cottage, church ln, st albans"), 109u);
}

TEST_F(MatcherTest, UsesMissingOrPartialPostcodesAndTheTownToDisambiguate) {
  EXPECT_EQ(top("12 high st watford"), 110u);
  EXPECT_EQ(top("12 high st wd17"), 110u);   // outward code only
  EXPECT_EQ(top("12 high st al1 3"), 100u);  // sector
  EXPECT_EQ(top("12 high street, WD17 2BS"), 110u);
}

TEST_F(MatcherTest, ToleratesTypos) {
  EXPECT_EQ(top("12 hihg stret st albnas"), 100u);
  EXPECT_EQ(top("9 acacai avenue watfrod"), 112u);
  auto hits = gaz_->match("9 acacai avenue watford", 1);
  EXPECT_NE(hits[0].explanation.find("ACACAI~ACACIA"), std::string::npos) << hits[0].explanation;
}

TEST_F(MatcherTest, StructuredAddressesAndUprns) {
  StructuredAddress s;
  s.sao = "Flat 1";
  s.pao = "12";
  s.street = "High Street";
  s.town = "St Albans";
  auto hits = gaz_->match(s, 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].address.uprn, 101u);
  auto by_uprn = gaz_->match("000112", 1);
  ASSERT_EQ(by_uprn.size(), 1u);
  EXPECT_EQ(by_uprn[0].address.uprn, 112u);
  EXPECT_EQ(by_uprn[0].explanation, "exact UPRN");
}

TEST_F(MatcherTest, AmbiguityAndNonsenseLowerConfidence) {
  auto ambiguous = gaz_->match("12 high street", 5);  // St Albans or Watford
  ASSERT_GE(ambiguous.size(), 2u);
  EXPECT_LT(ambiguous[0].confidence, 0.9);
  EXPECT_NE(ambiguous[0].explanation.find("ambiguous"), std::string::npos);
  auto nonsense = gaz_->match("zzqx wibble", 5);
  EXPECT_TRUE(nonsense.empty() || nonsense[0].confidence < 0.5);
  EXPECT_TRUE(gaz_->match("", 5).empty());
  for (const auto& c : gaz_->match("12 high st st albans", 5)) {
    EXPECT_GE(c.confidence, 0.0);
    EXPECT_LE(c.confidence, 1.0);
  }
}

TEST_F(MatcherTest, AmbiguousCandidatesStayBestFirst) {
  // Found by fuzzing (fuzz_gazetteer_match): "AL1 3EX" ties 12 and 12A High Street at the
  // top; lowering only the tied ones put the flats of number 12 above them.
  auto hits = gaz_->match("AL1 3EX", 5);
  ASSERT_GE(hits.size(), 3u);
  EXPECT_NE(hits[0].explanation.find("ambiguous"), std::string::npos);
  for (std::size_t i = 1; i < hits.size(); ++i)
    EXPECT_GE(hits[i - 1].confidence, hits[i].confidence) << i << ": " << hits[i].explanation;
}

TEST_F(MatcherTest, CanonicalNamesAreAFixedPoint) {
  // Found by fuzzing (fuzz_gazetteer_address_text): "12- 14" joined after letters but
  // "12-14" did not, so canonicalising a canonical name changed it.
  for (const char* name : {"gree12- 14 the gn", "12- 14 the green", "12A- 14", "2/ 12 acacia ave"}) {
    const std::string once = text::canonical_name(name);
    EXPECT_EQ(text::canonical_name(once), once) << name;
  }
  EXPECT_EQ(text::tokenize("12A- 14"), (std::vector<std::string>{"12A-14"}));
  EXPECT_EQ(text::tokenize("GREE12- 14"), (std::vector<std::string>{"GREE12", "14"}));
}

TEST_F(MatcherTest, VerifyFlagsButNeverRefuses) {
  LocationInput good;
  good.text = "flat 2 12 high st st albans al1 3ex";
  Verification v = gaz_->verify(good);
  EXPECT_TRUE(v.verified);
  ASSERT_TRUE(v.best.has_value());
  EXPECT_EQ(v.best->address.uprn, 102u);
  ASSERT_FALSE(v.coverage.police.empty());
  EXPECT_EQ(v.coverage.police[0].agency_id, "hertfordshire-police");
  LocationInput bad;
  bad.text = "the field behind the old mill";
  bad.wgs84 = LatLon{51.75, -0.34};
  Verification u = gaz_->verify(bad);
  EXPECT_FALSE(u.verified);
  EXPECT_FALSE(u.flags.empty());
  EXPECT_FALSE(u.coverage.police.empty());  // still routed by position
}

}  // namespace
}  // namespace deit::gazetteer
