#include "gazetteer/responsibility.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "gazetteer/io.hpp"
#include "gazetteer/text.hpp"

namespace deit::gazetteer {

const char* service_name(Service s) {
  switch (s) {
    case Service::police: return "police";
    case Service::fire: return "fire";
    case Service::ambulance: return "ambulance";
  }
  return "?";
}

Result<CustodianTable> CustodianTable::parse(std::string_view csv, const std::string& source) {
  CustodianTable table;
  io::LineReader lines(csv);
  std::string_view line;
  std::vector<std::string_view> f;
  std::string scratch;
  bool header = true;
  int c_code = -1, c_la = -1, c_ons = -1, c_police = -1, c_fire = -1, c_amb = -1;
  while (lines.next(&line)) {
    if (line.empty() || line[0] == '#') continue;
    if (!io::split_csv(line, f, scratch))
      return Error::make("custodian-table", source + ":" + std::to_string(lines.line_number()) + ": unterminated quote");
    if (header) {
      for (std::size_t i = 0; i < f.size(); ++i) {
        std::string n = text::to_upper(text::trim(f[i]));
        int idx = static_cast<int>(i);
        if (n == "LOCAL_CUSTODIAN_CODE") c_code = idx;
        if (n == "LOCAL_AUTHORITY") c_la = idx;
        if (n == "ONS_CODE") c_ons = idx;
        if (n == "POLICE") c_police = idx;
        if (n == "FIRE") c_fire = idx;
        if (n == "AMBULANCE") c_amb = idx;
      }
      if (c_code < 0 || c_police < 0 || c_fire < 0 || c_amb < 0)
        return Error::make("custodian-table",
                           source + ": header must name local_custodian_code, police, fire and ambulance", "header");
      header = false;
      continue;
    }
    auto col = [&](int i) { return i >= 0 && static_cast<std::size_t>(i) < f.size() ? text::trim(f[static_cast<std::size_t>(i)]) : std::string(); };
    CustodianRow row;
    if (!io::parse_u16(col(c_code), &row.code) || row.code == 0) {
      Error e = Error::make("custodian-table", source + ":" + std::to_string(lines.line_number()) +
                                                   ": local_custodian_code '" + col(c_code) + "' is not a number",
                            "local_custodian_code");
      e.line = static_cast<int>(lines.line_number());
      return e;
    }
    row.local_authority = col(c_la);
    row.ons_code = col(c_ons);
    row.police = col(c_police);
    row.fire = col(c_fire);
    row.ambulance = col(c_amb);
    table.rows_.push_back(std::move(row));
  }
  std::stable_sort(table.rows_.begin(), table.rows_.end(),
                   [](const CustodianRow& a, const CustodianRow& b) { return a.code < b.code; });
  return table;
}

const CustodianRow* CustodianTable::find(std::uint16_t code) const {
  auto it = std::lower_bound(rows_.begin(), rows_.end(), code, [](const CustodianRow& r, std::uint16_t c) { return r.code < c; });
  return it != rows_.end() && it->code == code ? &*it : nullptr;
}

namespace {

namespace json = boost::json;

Error geo_error(const std::string& source, const std::string& what, const std::string& field) {
  return Error::make("boundaries", source + ": " + what, field);
}

double segment_distance(const Bng& p, const Bng& a, const Bng& b) {
  double dx = b.easting - a.easting, dy = b.northing - a.northing;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.easting - a.easting) * dx + (p.northing - a.northing) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.easting - (a.easting + t * dx), p.northing - (a.northing + t * dy));
}

}  // namespace

Status BoundarySet::add_geojson(std::string_view text, const std::string& source, const CoordinateTransformer& transformer) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return geo_error(source, "not valid JSON: " + ec.message(), "");
  if (!doc.is_object()) return geo_error(source, "top level must be a FeatureCollection object", "");
  const json::object& root = doc.as_object();
  bool bng = false;
  if (auto* crs = root.if_contains("crs")) {
    std::string s = json::serialize(*crs);
    bng = s.find("27700") != std::string::npos;
  }
  const json::value* features = root.if_contains("features");
  if (features == nullptr || !features->is_array()) return geo_error(source, "missing features array", "features");
  std::size_t index = 0;
  for (const json::value& fv : features->as_array()) {
    std::string where = "features/" + std::to_string(index++);
    if (!fv.is_object()) return geo_error(source, "feature is not an object", where);
    const json::object& feature = fv.as_object();
    const json::value* props = feature.if_contains("properties");
    const json::value* geometry = feature.if_contains("geometry");
    if (props == nullptr || !props->is_object()) return geo_error(source, "feature has no properties", where + "/properties");
    if (geometry == nullptr || !geometry->is_object()) return geo_error(source, "feature has no geometry", where + "/geometry");
    auto prop = [&](const char* key) -> std::string {
      const json::value* v = props->as_object().if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    Area area;
    std::string service = prop("service");
    if (service == "police") area.service = Service::police;
    else if (service == "fire") area.service = Service::fire;
    else if (service == "ambulance") area.service = Service::ambulance;
    else return geo_error(source, "properties.service must be police, fire or ambulance", where + "/properties/service");
    area.agency_id = prop("agency");
    if (area.agency_id.empty()) return geo_error(source, "properties.agency is required", where + "/properties/agency");
    area.name = prop("name");
    const json::object& g = geometry->as_object();
    const json::value* type = g.if_contains("type");
    const json::value* coords = g.if_contains("coordinates");
    if (type == nullptr || !type->is_string() || coords == nullptr || !coords->is_array())
      return geo_error(source, "geometry needs type and coordinates", where + "/geometry");
    std::vector<const json::array*> polygons;
    if (type->as_string() == "Polygon") {
      polygons.push_back(&coords->as_array());
    } else if (type->as_string() == "MultiPolygon") {
      for (const auto& p : coords->as_array()) {
        if (!p.is_array()) return geo_error(source, "malformed MultiPolygon", where + "/geometry/coordinates");
        polygons.push_back(&p.as_array());
      }
    } else {
      return geo_error(source, "geometry type must be Polygon or MultiPolygon", where + "/geometry/type");
    }
    area.min_e = area.min_n = std::numeric_limits<double>::max();
    area.max_e = area.max_n = std::numeric_limits<double>::lowest();
    for (const json::array* polygon : polygons) {
      std::vector<Ring> rings;
      for (const auto& rv : *polygon) {
        if (!rv.is_array()) return geo_error(source, "ring is not an array", where + "/geometry/coordinates");
        Ring ring;
        for (const auto& pv : rv.as_array()) {
          if (!pv.is_array() || pv.as_array().size() < 2)
            return geo_error(source, "position is not [x, y]", where + "/geometry/coordinates");
          auto num = [](const json::value& v) { return v.is_double() ? v.as_double() : v.is_int64() ? static_cast<double>(v.as_int64()) : v.is_uint64() ? static_cast<double>(v.as_uint64()) : std::nan(""); };
          double x = num(pv.as_array()[0]), y = num(pv.as_array()[1]);
          if (!std::isfinite(x) || !std::isfinite(y)) return geo_error(source, "position is not numeric", where + "/geometry/coordinates");
          Bng p{x, y};
          if (!bng) {
            auto r = transformer.to_bng(LatLon{y, x});
            if (!r) return geo_error(source, r.error().message, where + "/geometry/coordinates");
            p = *r;
          }
          area.min_e = std::min(area.min_e, p.easting);
          area.max_e = std::max(area.max_e, p.easting);
          area.min_n = std::min(area.min_n, p.northing);
          area.max_n = std::max(area.max_n, p.northing);
          ring.points.push_back(p);
        }
        if (ring.points.size() < 4) return geo_error(source, "ring has fewer than 4 positions", where + "/geometry/coordinates");
        rings.push_back(std::move(ring));
      }
      area.polygons.push_back(std::move(rings));
    }
    areas_.push_back(std::move(area));
  }
  return Status::success();
}

void BoundarySet::covering(const Bng& p, double border_m, Coverage& out) const {
  for (const Area& area : areas_) {
    if (p.easting < area.min_e - border_m || p.easting > area.max_e + border_m || p.northing < area.min_n - border_m ||
        p.northing > area.max_n + border_m)
      continue;
    bool inside = false;
    double distance = std::numeric_limits<double>::max();
    for (const auto& polygon : area.polygons) {
      bool in_polygon = false;
      for (std::size_t r = 0; r < polygon.size(); ++r) {
        const auto& pts = polygon[r].points;
        bool in_ring = false;
        for (std::size_t i = 0, j = pts.size() - 1; i < pts.size(); j = i++) {
          const Bng& a = pts[i];
          const Bng& b = pts[j];
          if ((a.northing > p.northing) != (b.northing > p.northing) &&
              p.easting < (b.easting - a.easting) * (p.northing - a.northing) / (b.northing - a.northing) + a.easting)
            in_ring = !in_ring;
          distance = std::min(distance, segment_distance(p, a, b));
        }
        if (r == 0) in_polygon = in_ring;
        else if (in_ring) in_polygon = false;  // inside a hole
      }
      inside = inside || in_polygon;
    }
    if (!inside && distance > border_m) continue;
    AgencyArea a;
    a.agency_id = area.agency_id;
    a.name = area.name;
    a.basis = "boundary";
    a.inside = inside;
    a.distance_to_boundary_m = distance;
    out.of(area.service).push_back(std::move(a));
  }
  for (Service s : {Service::police, Service::fire, Service::ambulance}) {
    auto& v = out.of(s);
    std::stable_sort(v.begin(), v.end(), [](const AgencyArea& a, const AgencyArea& b) {
      if (a.inside != b.inside) return a.inside;
      return a.inside ? a.distance_to_boundary_m > b.distance_to_boundary_m : a.distance_to_boundary_m < b.distance_to_boundary_m;
    });
  }
}

}  // namespace deit::gazetteer
