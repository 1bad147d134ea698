#pragma once
// British National Grid (EPSG:27700) <-> WGS84 (EPSG:4326) with PROJ.
//
// Without a grid file PROJ picks the best operation it can run from Debian's proj-data,
// which has no OSTN15 grid: a 7-parameter Helmert transformation good to a few metres
// (fine for routing, not for surveying). Given the path of OS's OSTN15 NTv2 file
// (OSTN15_NTv2_OSGBtoETRS.gsb), the transformer uses it (about 0.1 m).
// Thread-safe: one instance may be shared by any number of threads.

#include <memory>
#include <string>
#include <vector>

#include "gazetteer/model.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

class CoordinateTransformer {
 public:
  // ostn15_grid_path empty: PROJ's default operation. Otherwise the file must exist and be
  // an NTv2 grid PROJ can read, or create fails (rule "coordinates").
  static Result<CoordinateTransformer> create(const std::string& ostn15_grid_path = {});

  Result<LatLon> to_wgs84(const Bng& point) const;
  Result<Bng> to_bng(const LatLon& point) const;
  // Batch form for the builder; points that fail become NaN.
  void to_wgs84(const std::vector<Bng>& in, std::vector<LatLon>& out) const;

  // "helmert (no OSTN15 grid; accuracy a few metres)" or "OSTN15 grid <path>".
  const std::string& description() const;
  bool uses_ostn15() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Planar distance in metres between two grid points.
double distance_m(const Bng& a, const Bng& b);

}  // namespace deit::gazetteer
