#include "gazetteer/responsibility.hpp"

#include <gtest/gtest.h>

#include "gazetteer/gazetteer.hpp"
#include "test_support.hpp"

namespace deit::gazetteer {
namespace {

// Two squares sharing the border x = 500000 (BNG), one MultiPolygon with a hole.
const char* kAreas = R"({"type":"FeatureCollection",
 "crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::27700"}},
 "features":[
  {"type":"Feature","properties":{"service":"police","agency":"west-police","name":"West"},
   "geometry":{"type":"Polygon","coordinates":[[[490000,200000],[500000,200000],[500000,210000],[490000,210000],[490000,200000]]]}},
  {"type":"Feature","properties":{"service":"police","agency":"east-police"},
   "geometry":{"type":"Polygon","coordinates":[[[500000,200000],[510000,200000],[510000,210000],[500000,210000],[500000,200000]]]}},
  {"type":"Feature","properties":{"service":"fire","agency":"ring-fire"},
   "geometry":{"type":"MultiPolygon","coordinates":[[[[490000,200000],[510000,200000],[510000,210000],[490000,210000],[490000,200000]],
                                                    [[499000,204000],[501000,204000],[501000,206000],[499000,206000],[499000,204000]]]]}}
 ]})";

TEST(Boundaries, PointNearABorderReturnsBothSidesWithDistances) {
  auto t = CoordinateTransformer::create();
  ASSERT_TRUE(t.ok());
  BoundarySet set;
  ASSERT_TRUE(set.add_geojson(kAreas, "areas.geojson", *t).ok());
  EXPECT_EQ(set.size(), 3u);
  Coverage near_border;
  set.covering(Bng{499700, 202000}, 500, near_border);
  ASSERT_EQ(near_border.police.size(), 2u);
  EXPECT_EQ(near_border.police[0].agency_id, "west-police");
  EXPECT_TRUE(near_border.police[0].inside);
  EXPECT_NEAR(near_border.police[0].distance_to_boundary_m, 300, 1e-6);
  EXPECT_EQ(near_border.police[1].agency_id, "east-police");
  EXPECT_FALSE(near_border.police[1].inside);
  EXPECT_NEAR(near_border.police[1].distance_to_boundary_m, 300, 1e-6);
  Coverage deep;
  set.covering(Bng{492000, 208000}, 500, deep);
  ASSERT_EQ(deep.police.size(), 1u);
  EXPECT_EQ(deep.police[0].agency_id, "west-police");
  Coverage in_hole;
  set.covering(Bng{500000 - 200, 205000}, 100, in_hole);
  EXPECT_TRUE(in_hole.fire.empty());  // inside the hole, far from its edges
}

TEST(Boundaries, MalformedGeoJsonNamesTheProblem) {
  auto t = CoordinateTransformer::create();
  BoundarySet set;
  auto bad_json = set.add_geojson("{nope", "x.geojson", *t);
  EXPECT_FALSE(bad_json.ok());
  auto no_service = set.add_geojson(
      R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"agency":"a"},"geometry":{"type":"Polygon","coordinates":[]}}]})",
      "y.geojson", *t);
  ASSERT_FALSE(no_service.ok());
  EXPECT_EQ(no_service.error().field, "features/0/properties/service");
}

TEST(Boundaries, Wgs84GeoJsonIsProjectedToTheGrid) {
  auto t = CoordinateTransformer::create();
  BoundarySet set;
  ASSERT_TRUE(set.add_geojson(
                     R"({"type":"FeatureCollection","features":[{"type":"Feature","properties":{"service":"ambulance","agency":"amb"},
     "geometry":{"type":"Polygon","coordinates":[[[-0.5,51.6],[-0.2,51.6],[-0.2,51.9],[-0.5,51.9],[-0.5,51.6]]]}}]})",
                     "wgs.geojson", *t)
                  .ok());
  Coverage c;
  set.covering(Bng{514800, 207300}, 0, c);  // St Albans
  ASSERT_EQ(c.ambulance.size(), 1u);
  EXPECT_TRUE(c.ambulance[0].inside);
}

TEST(CustodianTable, ParsesAndRejectsBadRows) {
  auto t = CustodianTable::parse("# comment\nlocal_custodian_code,local_authority,police,fire,ambulance\n1930,ST ALBANS,p,f,a\n", "t");
  ASSERT_TRUE(t.ok());
  ASSERT_NE(t->find(1930), nullptr);
  EXPECT_EQ(t->find(1930)->police, "p");
  EXPECT_EQ(t->find(1931), nullptr);
  auto bad = CustodianTable::parse("local_custodian_code,police,fire,ambulance\nxx,p,f,a\n", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().line, 2);
  EXPECT_FALSE(CustodianTable::parse("a,b\n", "t").ok());
}

TEST(WhoCovers, UprnUsesTheCustodianTableAndBoundaries) {
  testing::TempDir dir;
  std::string snap = testing::build_simple(dir);
  Options o;
  o.boundaries.push_back(DEIT_SOURCE_DIR "/gazetteer/data/sample_boundaries.geojson");
  auto g = Gazetteer::open(snap, o);
  ASSERT_TRUE(g.ok()) << g.error().describe();
  auto herts = g->who_covers(std::uint64_t{102});
  ASSERT_TRUE(herts.ok());
  EXPECT_EQ(herts->local_custodian_code, 1930);
  EXPECT_EQ(herts->local_authority, "ST ALBANS");
  ASSERT_FALSE(herts->police.empty());
  EXPECT_EQ(herts->police[0].agency_id, "hertfordshire-police");
  EXPECT_NE(herts->police[0].basis.find("custodian 1930"), std::string::npos);
  EXPECT_NE(herts->police[0].basis.find("boundary"), std::string::npos);
  EXPECT_EQ(herts->fire[0].agency_id, "hertfordshire-fire");
  EXPECT_EQ(herts->ambulance[0].agency_id, "east-of-england-ambulance");
  auto luton = g->who_covers(std::uint64_t{113});
  EXPECT_EQ(luton->police[0].agency_id, "bedfordshire-police");
  EXPECT_FALSE(g->who_covers(std::uint64_t{424242}).ok());
  // On the Hertfordshire / Bedfordshire line: both forces, with distances.
  Coverage border = g->who_covers(Bng{512000, 218100});
  ASSERT_GE(border.police.size(), 2u);
  EXPECT_LT(border.police[0].distance_to_boundary_m, 200);
}

}  // namespace
}  // namespace deit::gazetteer
