#include "gazetteer/coords.hpp"

#include <gtest/gtest.h>

#include "gazetteer/gazetteer.hpp"
#include "test_support.hpp"

namespace deit::gazetteer {
namespace {

TEST(Coordinates, BngToWgs84IsWithinAFewMetresOfPublishedValues) {
  auto t = CoordinateTransformer::create();
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_FALSE(t->uses_ostn15());
  EXPECT_NE(t->description().find("Helmert"), std::string::npos);
  // Ordnance Survey trig pillar values are not needed: a round trip, and a point whose
  // WGS84 position is well known (the OS "Caister water tower" worked example:
  // E 651409.903, N 313177.270 is ETRS89 52.658007 N, 1.716073 E).
  auto ll = t->to_wgs84(Bng{651409.903, 313177.270});
  ASSERT_TRUE(ll.ok());
  EXPECT_NEAR(ll->latitude, 52.658007, 0.00005);   // ~5 m
  EXPECT_NEAR(ll->longitude, 1.716073, 0.00008);   // ~5 m
  auto back = t->to_bng(*ll);
  ASSERT_TRUE(back.ok());
  EXPECT_NEAR(back->easting, 651409.903, 0.01);
  EXPECT_NEAR(back->northing, 313177.270, 0.01);
  std::vector<Bng> in{{514800, 207300}, {530000, 180000}};
  std::vector<LatLon> out;
  t->to_wgs84(in, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].latitude, 51.75, 0.02);
  EXPECT_FALSE(t->to_bng(LatLon{123, 0}).ok());
}

TEST(Coordinates, AnOstn15GridThatIsMissingIsAnError) {
  auto t = CoordinateTransformer::create("/nonexistent/OSTN15_NTv2_OSGBtoETRS.gsb");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().rule, "coordinates");
  EXPECT_EQ(t.error().field, "ostn15_grid");
}

TEST(Nearest, FindsAddressesAroundAPointWithDistances) {
  testing::TempDir dir;
  auto g = Gazetteer::open(testing::build_simple(dir));
  ASSERT_TRUE(g.ok());
  auto near = g->nearest(Bng{514805, 207305}, 3, 500);
  ASSERT_EQ(near.size(), 3u);
  EXPECT_LE(near[0].distance_m, near[1].distance_m);
  EXPECT_LE(near[1].distance_m, near[2].distance_m);
  EXPECT_LT(near[0].distance_m, 10);
  EXPECT_TRUE(g->nearest(Bng{100000, 100000}, 3, 500).empty());
  auto from_gps = g->nearest(LatLon{51.75, -0.34}, 1, 5000);
  ASSERT_TRUE(from_gps.ok());
  ASSERT_EQ(from_gps->size(), 1u);
  // A point far from one cell's contents still finds the nearest across cells.
  auto far = g->nearest(Bng{520000 + 1200, 206000}, 1, 5000);
  ASSERT_EQ(far.size(), 1u);
  EXPECT_EQ(far[0].address.uprn, 109u);
  EXPECT_NEAR(far[0].distance_m, 1190.04, 0.5);
}

}  // namespace
}  // namespace deit::gazetteer
