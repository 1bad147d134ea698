#pragma once
// Which police force, fire and rescue service and ambulance service cover a place.
//
// Two sources, used together: the local custodian code of an address (the local
// authority that maintains it) through a lookup table, and boundary polygons (GeoJSON)
// where an operator supplies them. Near a border (configurable distance) the areas on both
// sides are returned, each with its distance to the boundary, so an operator can decide.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gazetteer/coords.hpp"
#include "gazetteer/model.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

enum class Service { police, fire, ambulance };
const char* service_name(Service s);

struct AgencyArea {
  std::string agency_id;  // e.g. "hertfordshire-police"
  std::string name;       // area or agency name when known
  std::string basis;      // "custodian 1930 ST ALBANS" or "boundary"
  bool inside = true;     // the point lies inside this area
  double distance_to_boundary_m = -1;  // -1 when not computed (custodian basis)
};

struct Coverage {
  std::vector<AgencyArea> police, fire, ambulance;  // best first
  std::uint16_t local_custodian_code = 0;
  std::string local_authority;
  std::optional<Bng> point;
  std::vector<AgencyArea>& of(Service s) { return s == Service::police ? police : s == Service::fire ? fire : ambulance; }
  bool empty() const { return police.empty() && fire.empty() && ambulance.empty(); }
};

struct CustodianRow {
  std::uint16_t code = 0;
  std::string local_authority, ons_code, police, fire, ambulance;
};

// CSV with header: local_custodian_code,local_authority,ons_code,police,fire,ambulance.
// Lines starting with '#' are comments.
class CustodianTable {
 public:
  static Result<CustodianTable> parse(std::string_view csv, const std::string& source_name);
  const CustodianRow* find(std::uint16_t code) const;
  std::size_t size() const { return rows_.size(); }

 private:
  std::vector<CustodianRow> rows_;  // sorted by code
};

// Polygons from GeoJSON FeatureCollections. Each feature needs properties "service"
// (police | fire | ambulance) and "agency" (id), optionally "name"; geometry Polygon or
// MultiPolygon in WGS84 lon/lat (RFC 7946), or in EPSG:27700 when the collection carries
// the legacy member "crs": {"properties": {"name": "...27700"}}.
class BoundarySet {
 public:
  Status add_geojson(std::string_view geojson, const std::string& source_name, const CoordinateTransformer& transformer);
  // Areas containing `point`, plus areas whose boundary lies within border_m of it.
  void covering(const Bng& point, double border_m, Coverage& out) const;
  std::size_t size() const { return areas_.size(); }

 private:
  struct Ring {
    std::vector<Bng> points;
  };
  struct Area {
    Service service;
    std::string agency_id, name;
    std::vector<std::vector<Ring>> polygons;  // each: outer ring then holes
    double min_e, min_n, max_e, max_n;
  };
  std::vector<Area> areas_;
};

}  // namespace deit::gazetteer
