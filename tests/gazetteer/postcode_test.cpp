#include "gazetteer/postcode.hpp"

#include <gtest/gtest.h>

namespace deit::gazetteer {
namespace {

TEST(Postcode, NormalisesFullPostcodesInAnySpacingAndCase) {
  EXPECT_EQ(*normalise_postcode("al13ex"), "AL1 3EX");
  EXPECT_EQ(*normalise_postcode("  AL1   3EX "), "AL1 3EX");
  EXPECT_EQ(*normalise_postcode("sw1a2aa"), "SW1A 2AA");
  EXPECT_EQ(*normalise_postcode("M1 1AE"), "M1 1AE");
  EXPECT_EQ(*normalise_postcode("W1A 1AA"), "W1A 1AA");
  EXPECT_EQ(*normalise_postcode("GIR 0AA"), "GIR 0AA");
}

TEST(Postcode, ParsesPartialPostcodes) {
  auto outward = parse_postcode("AL1");
  ASSERT_TRUE(outward.ok());
  EXPECT_EQ(outward->kind, Postcode::Kind::outward);
  EXPECT_EQ(outward->area, "AL");
  auto sector = parse_postcode("al1 3");
  ASSERT_TRUE(sector.ok());
  EXPECT_EQ(sector->kind, Postcode::Kind::sector);
  EXPECT_EQ(sector->normalised(), "AL1 3");
  auto full = parse_postcode("AL1 3EX");
  EXPECT_EQ(full->sector(), "AL1 3");
}

TEST(Postcode, RejectsMalformedWithAReason) {
  for (const char* bad : {"", "12345", "QA1 1AA", "AL1 3EC", "A-1 1AA", "AL1 3E X Y"}) {
    auto r = parse_postcode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().rule, "postcode-format");
      EXPECT_EQ(r.error().field, "postcode");
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  EXPECT_FALSE(normalise_postcode("AL1").ok());  // partial where a full one is required
  EXPECT_TRUE(is_valid_full_postcode("EC1A 1BB"));
  EXPECT_FALSE(is_valid_full_postcode("EC1A"));
}

TEST(Postcode, SurroundingWhiteSpaceChangesNothing) {
  // Found by fuzzing (fuzz_gazetteer_postcode): a trailing space was taken for the space
  // between outward and inward codes, so "AL1 " was refused while "AL1" parsed.
  for (const char* text : {"AL1 ", " AL1\t", "AL1 3 ", "al1 3ex  ", "\nAL1 3EX\n"}) {
    auto r = parse_postcode(text);
    ASSERT_TRUE(r.ok()) << "'" << text << "': " << r.error().describe();
  }
  EXPECT_EQ(parse_postcode("AL1 ")->kind, Postcode::Kind::outward);
  EXPECT_EQ(parse_postcode("AL1 3 ")->normalised(), "AL1 3");
  EXPECT_EQ(parse_postcode(" al13ex ")->normalised(), "AL1 3EX");
}

}  // namespace
}  // namespace deit::gazetteer
