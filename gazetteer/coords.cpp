#include "gazetteer/coords.hpp"

#include <proj.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>

namespace deit::gazetteer {

struct CoordinateTransformer::Impl {
  PJ_CONTEXT* context = nullptr;
  PJ* forward = nullptr;  // BNG easting,northing -> lat,lon degrees (normalised: lon,lat)
  std::string description;
  bool ostn15 = false;
  std::mutex mutex;  // a PJ object is not safe for concurrent use

  ~Impl() {
    if (forward != nullptr) proj_destroy(forward);
    if (context != nullptr) proj_context_destroy(context);
  }
};

namespace {

Error proj_error(const std::string& what, PJ_CONTEXT* context) {
  int code = proj_context_errno(context);
  return Error::make("coordinates", what + ": " + (code != 0 ? proj_context_errno_string(context, code) : "unknown error"));
}

}  // namespace

Result<CoordinateTransformer> CoordinateTransformer::create(const std::string& grid_path) {
  auto impl = std::make_shared<Impl>();
  impl->context = proj_context_create();
  if (impl->context == nullptr) return Error::make("coordinates", "cannot create a PROJ context");
  proj_context_set_enable_network(impl->context, 0);
  proj_log_level(impl->context, PJ_LOG_NONE);
  PJ* op = nullptr;
  if (grid_path.empty()) {
    op = proj_create_crs_to_crs(impl->context, "EPSG:27700", "EPSG:4326", nullptr);
    if (op == nullptr) return proj_error("cannot create EPSG:27700 -> EPSG:4326", impl->context);
    impl->description = "PROJ EPSG:27700 -> EPSG:4326 without OSTN15 (Helmert; accuracy a few metres)";
  } else {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(grid_path, ec))
      return Error::make("coordinates", "OSTN15 grid file not found: " + grid_path, "ostn15_grid");
    // OSGB36 Transverse Mercator (Airy 1830) -> OSGB36 geographic -> OSTN15 NTv2 shift to
    // ETRS89 (treated as WGS84, which it is to well under a metre in the UK).
    std::string pipeline =
        "+proj=pipeline +step +inv +proj=tmerc +lat_0=49 +lon_0=-2 +k=0.9996012717 +x_0=400000 "
        "+y_0=-100000 +ellps=airy +step +proj=hgridshift +grids=" +
        grid_path + " +step +proj=unitconvert +xy_in=rad +xy_out=deg +step +proj=axisswap +order=2,1";
    op = proj_create(impl->context, pipeline.c_str());
    if (op == nullptr) return proj_error("cannot use OSTN15 grid " + grid_path, impl->context);
    impl->description = "OSTN15 NTv2 grid " + grid_path;
    impl->ostn15 = true;
  }
  if (!impl->ostn15) {
    // Traditional GIS order: x = easting / longitude, y = northing / latitude.
    PJ* normalised = proj_normalize_for_visualization(impl->context, op);
    proj_destroy(op);
    if (normalised == nullptr) return proj_error("cannot normalise axis order", impl->context);
    op = normalised;
  }
  impl->forward = op;
  CoordinateTransformer t;
  t.impl_ = std::move(impl);
  return t;
}

Result<LatLon> CoordinateTransformer::to_wgs84(const Bng& p) const {
  std::lock_guard lock(impl_->mutex);
  PJ_COORD c = proj_coord(p.easting, p.northing, 0, 0);
  PJ_COORD r = proj_trans(impl_->forward, PJ_FWD, c);
  if (!std::isfinite(r.v[0]) || !std::isfinite(r.v[1]) || r.v[0] == HUGE_VAL)
    return Error::make("coordinates", "cannot transform easting " + std::to_string(p.easting) + ", northing " +
                                          std::to_string(p.northing) + " to WGS84");
  if (impl_->ostn15) return LatLon{r.v[0], r.v[1]};  // the pipeline outputs lat, lon
  return LatLon{r.v[1], r.v[0]};
}

Result<Bng> CoordinateTransformer::to_bng(const LatLon& p) const {
  if (!(p.latitude >= -90 && p.latitude <= 90 && p.longitude >= -180 && p.longitude <= 180))
    return Error::make("coordinates", "latitude/longitude out of range", "latitude");
  std::lock_guard lock(impl_->mutex);
  PJ_COORD c = impl_->ostn15 ? proj_coord(p.latitude, p.longitude, 0, 0) : proj_coord(p.longitude, p.latitude, 0, 0);
  PJ_COORD r = proj_trans(impl_->forward, PJ_INV, c);
  if (!std::isfinite(r.v[0]) || !std::isfinite(r.v[1]) || r.v[0] == HUGE_VAL)
    return Error::make("coordinates", "cannot transform latitude " + std::to_string(p.latitude) + ", longitude " +
                                          std::to_string(p.longitude) + " to British National Grid");
  return Bng{r.v[0], r.v[1]};
}

void CoordinateTransformer::to_wgs84(const std::vector<Bng>& in, std::vector<LatLon>& out) const {
  out.resize(in.size());
  std::vector<double> x(in.size()), y(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    x[i] = in[i].easting;
    y[i] = in[i].northing;
  }
  std::lock_guard lock(impl_->mutex);
  proj_trans_generic(impl_->forward, PJ_FWD, x.data(), sizeof(double), x.size(), y.data(), sizeof(double), y.size(),
                     nullptr, 0, 0, nullptr, 0, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < in.size(); ++i) {
    bool ok = std::isfinite(x[i]) && std::isfinite(y[i]) && x[i] != HUGE_VAL;
    if (!ok) {
      out[i] = LatLon{nan, nan};
    } else if (impl_->ostn15) {
      out[i] = LatLon{x[i], y[i]};
    } else {
      out[i] = LatLon{y[i], x[i]};
    }
  }
}

const std::string& CoordinateTransformer::description() const { return impl_->description; }
bool CoordinateTransformer::uses_ostn15() const { return impl_->ostn15; }

double distance_m(const Bng& a, const Bng& b) { return std::hypot(a.easting - b.easting, a.northing - b.northing); }

}  // namespace deit::gazetteer
