#include "gazetteer/gazetteer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>

#include "gazetteer/matcher.hpp"
#include "gazetteer/overlay.hpp"
#include "gazetteer/snapshot.hpp"

namespace deit::gazetteer {

struct Gazetteer::State {
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<Matcher> matcher;
  CoordinateTransformer transformer;
  CustodianTable custodians;
  BoundarySet boundaries;
  Options options;
  std::string delta_path;

  mutable std::mutex overlay_mutex;
  std::shared_ptr<const Overlay> overlay;
  std::mutex update_mutex;  // one apply_update at a time

  std::shared_ptr<const Overlay> current_overlay() const {
    std::lock_guard lock(overlay_mutex);
    return overlay;
  }
};

namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make("io", "cannot open " + path, "path");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<Gazetteer> Gazetteer::open(const std::string& path, const Options& options) {
  auto snap = Snapshot::open(path, options.prefault);
  if (!snap) return snap.error();
  auto transformer = CoordinateTransformer::create(options.ostn15_grid);
  if (!transformer) return transformer.error();
  auto state = std::make_shared<State>();
  state->snapshot = *snap;
  state->matcher = std::make_unique<Matcher>(*state->snapshot);
  state->transformer = *transformer;
  state->options = options;
  state->delta_path = path + ".delta";

  std::string custodian_text;
  std::string custodian_source = path + " (embedded custodian table)";
  if (!options.custodian_table.empty()) {
    auto text = read_file(options.custodian_table);
    if (!text) return text.error();
    custodian_text = std::move(*text);
    custodian_source = options.custodian_table;
  } else {
    custodian_text = std::string(state->snapshot->custodian_table());
  }
  auto table = CustodianTable::parse(custodian_text, custodian_source);
  if (!table) return table.error();
  state->custodians = std::move(*table);

  std::string_view embedded = state->snapshot->boundaries();
  std::size_t start = 0;
  while (start < embedded.size()) {
    std::size_t end = embedded.find("\n\x1e\n", start);
    if (end == std::string_view::npos) end = embedded.size();
    Status st = state->boundaries.add_geojson(embedded.substr(start, end - start), path + " (embedded boundaries)",
                                              state->transformer);
    if (!st.ok()) return st.error();
    start = end + 3;
  }
  for (const auto& file : options.boundaries) {
    auto text = read_file(file);
    if (!text) return text.error();
    Status st = state->boundaries.add_geojson(*text, file, state->transformer);
    if (!st.ok()) return st.error();
  }
  if (options.load_delta) {
    auto overlay = Overlay::load(state->delta_path);
    if (!overlay) return overlay.error();
    state->overlay = std::make_shared<const Overlay>(std::move(*overlay));
  } else {
    state->overlay = std::make_shared<const Overlay>();
  }
  Gazetteer g;
  g.state_ = std::move(state);
  return g;
}

namespace {

std::vector<Candidate> run_match(const Snapshot& snap, const Matcher& matcher, const Overlay& overlay,
                                 const ParsedQuery& q, std::size_t max) {
  std::vector<Candidate> out;
  if (max == 0 || q.empty()) return out;
  if (q.uprn) {
    Candidate c;
    if (const Address* a = overlay.find(*q.uprn)) {
      c.address = *a;
    } else if (const auto* e = overlay.deleted(*q.uprn) ? nullptr : snap.find_uprn(*q.uprn)) {
      c.address = snap.to_address(*e);
    }
    if (c.address.uprn != 0) {
      c.confidence = 1.0;
      c.explanation = "exact UPRN";
      out.push_back(std::move(c));
      return out;
    }
  }
  auto hits = matcher.match(q, max, [&](std::uint64_t uprn) { return overlay.hides(uprn); });
  auto overlay_hits = overlay.match(q, max);
  out.reserve(hits.size() + overlay_hits.size());
  for (auto& h : hits) {
    Candidate c;
    c.address = snap.to_address(*h.entry);
    c.confidence = h.confidence;
    c.explanation = std::move(h.explanation);
    out.push_back(std::move(c));
  }
  for (auto& [address, score] : overlay_hits) {
    Candidate c;
    c.address = *address;
    c.confidence = score;
    score_plain_address(q, *address, &c.explanation);
    out.push_back(std::move(c));
  }
  auto better = [](const Candidate& a, const Candidate& b) { return a.confidence > b.confidence; };
  // The matcher's hits come best first: without overlay hits there is nothing to sort.
  if (!std::is_sorted(out.begin(), out.end(), better)) std::stable_sort(out.begin(), out.end(), better);
  if (out.size() > max) out.resize(max);
  // Several candidates equally good: none of them is certain. Every candidate is scaled,
  // so the list stays best first (lowering only the tied ones put worse ones above them).
  if (out.size() >= 2 && out[1].confidence >= out[0].confidence - 0.005) {
    const double top = out[0].confidence;
    for (auto& c : out) {
      if (c.confidence >= top - 0.005) c.explanation += "; ambiguous: equally good candidates";
      c.confidence *= 0.85;
    }
  }
  for (auto& c : out) c.confidence = std::clamp(c.confidence, 0.0, 1.0);
  return out;
}

}  // namespace

std::vector<Candidate> Gazetteer::match(std::string_view free_text, std::size_t max) const {
  auto overlay = state_->current_overlay();
  ParsedQuery q = parse_free_text(free_text, state_->snapshot.get());
  return run_match(*state_->snapshot, *state_->matcher, *overlay, q, max);
}

std::vector<Candidate> Gazetteer::match(const StructuredAddress& address, std::size_t max) const {
  auto overlay = state_->current_overlay();
  ParsedQuery q = parse_structured(address);
  return run_match(*state_->snapshot, *state_->matcher, *overlay, q, max);
}

std::optional<Address> Gazetteer::lookup(std::uint64_t uprn) const {
  auto overlay = state_->current_overlay();
  if (const Address* a = overlay->find(uprn)) return *a;
  if (overlay->deleted(uprn)) return std::nullopt;
  if (const auto* e = state_->snapshot->find_uprn(uprn)) return state_->snapshot->to_address(*e);
  return std::nullopt;
}

std::vector<Nearby> Gazetteer::nearest(const Bng& p, std::size_t k, double max_distance) const {
  std::vector<Nearby> out;
  if (k == 0) return out;
  auto overlay = state_->current_overlay();
  const Snapshot& snap = *state_->snapshot;
  const auto& h = snap.header();
  const double cell = h.grid_cell_m;
  const auto cx = static_cast<std::int64_t>(std::floor((p.easting - h.grid_min_e) / cell));
  const auto cy = static_cast<std::int64_t>(std::floor((p.northing - h.grid_min_n) / cell));
  using Item = std::pair<double, std::uint32_t>;  // max-heap of the k best
  std::priority_queue<Item> best;
  auto consider = [&](std::uint32_t index) {
    const auto& e = snap.addresses()[index];
    if (overlay->hides(e.uprn)) return;
    double d = std::hypot(e.easting_dm / 10.0 - p.easting, e.northing_dm / 10.0 - p.northing);
    if (d > max_distance) return;
    if (best.size() < k) {
      best.emplace(d, index);
    } else if (d < best.top().first) {
      best.pop();
      best.emplace(d, index);
    }
  };
  const auto max_ring = static_cast<std::int64_t>(std::ceil(max_distance / cell)) + 1;
  for (std::int64_t r = 0; r <= max_ring; ++r) {
    // Anything in ring r is at least (r - 1) cells away.
    if (best.size() == k && (static_cast<double>(r) - 1) * cell > best.top().first) break;
    for (std::int64_t dy = -r; dy <= r; ++dy) {
      for (std::int64_t dx = -r; dx <= r; ++dx) {
        if (std::max(std::abs(dx), std::abs(dy)) != r) continue;
        for (std::uint32_t index : snap.cell(cx + dx, cy + dy)) consider(index);
      }
    }
  }
  while (!best.empty()) {
    out.push_back(Nearby{snap.to_address(snap.addresses()[best.top().second]), best.top().first});
    best.pop();
  }
  for (const Address& a : overlay->addresses()) {
    if (a.uprn == 0 || !a.coordinates.known) continue;
    double d = distance_m(a.coordinates.bng, p);
    if (d <= max_distance) out.push_back(Nearby{a, d});
  }
  std::sort(out.begin(), out.end(), [](const Nearby& a, const Nearby& b) {
    return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.address.uprn < b.address.uprn;
  });
  if (out.size() > k) out.resize(k);
  return out;
}

Result<std::vector<Nearby>> Gazetteer::nearest(const LatLon& p, std::size_t k, double max_distance) const {
  auto bng = state_->transformer.to_bng(p);
  if (!bng) return bng.error();
  return nearest(*bng, k, max_distance);
}

namespace {

void add_custodian(const CustodianTable& table, std::uint16_t code, const std::string& basis, Coverage& out) {
  out.local_custodian_code = code;
  const CustodianRow* row = table.find(code);
  if (row == nullptr) return;
  out.local_authority = row->local_authority;
  auto add = [&](Service s, const std::string& agency) {
    if (agency.empty()) return;
    auto& list = out.of(s);
    for (auto& existing : list) {
      if (existing.agency_id == agency) {
        existing.basis += "; " + basis;
        return;
      }
    }
    AgencyArea a;
    a.agency_id = agency;
    a.basis = basis;
    a.inside = true;
    // The custodian's answer leads unless a boundary says the point is elsewhere.
    auto pos = std::find_if(list.begin(), list.end(), [](const AgencyArea& x) { return !x.inside; });
    list.insert(pos, std::move(a));
  };
  add(Service::police, row->police);
  add(Service::fire, row->fire);
  add(Service::ambulance, row->ambulance);
}

}  // namespace

Result<Coverage> Gazetteer::who_covers(std::uint64_t uprn) const {
  // What lookup(uprn) would find, without building the whole Address.
  std::optional<Bng> position;
  std::uint16_t custodian = 0;
  auto overlay = state_->current_overlay();
  if (const Address* a = overlay->find(uprn)) {
    if (a->coordinates.known) position = a->coordinates.bng;
    custodian = a->local_custodian_code;
  } else if (const auto* e = overlay->deleted(uprn) ? nullptr : state_->snapshot->find_uprn(uprn)) {
    if (e->flags & snapshot::kHasPosition) position = Bng{e->easting_dm / 10.0, e->northing_dm / 10.0};
    custodian = e->custodian;
  } else {
    return Error::make("not-found", "UPRN " + std::to_string(uprn) + " is not in the gazetteer", "uprn");
  }
  Coverage out;
  if (position) {
    out.point = *position;
    state_->boundaries.covering(*out.point, state_->options.border_distance_m, out);
  }
  const CustodianRow* row = state_->custodians.find(custodian);
  add_custodian(state_->custodians, custodian,
                "custodian " + std::to_string(custodian) + (row ? " " + row->local_authority : ""), out);
  return out;
}

Coverage Gazetteer::who_covers(const Bng& point) const {
  Coverage out;
  out.point = point;
  state_->boundaries.covering(point, state_->options.border_distance_m, out);
  auto near = nearest(point, 1, 1000);
  if (!near.empty()) {
    std::uint16_t code = near[0].address.local_custodian_code;
    const CustodianRow* row = state_->custodians.find(code);
    std::ostringstream basis;
    basis << "custodian " << code << (row ? " " + row->local_authority : "") << " of nearest address UPRN "
          << near[0].address.uprn << " (" << static_cast<long>(std::lround(near[0].distance_m)) << " m)";
    add_custodian(state_->custodians, code, basis.str(), out);
  }
  return out;
}

Result<Coverage> Gazetteer::who_covers(const LatLon& p) const {
  auto bng = state_->transformer.to_bng(p);
  if (!bng) return bng.error();
  return who_covers(*bng);
}

Verification Gazetteer::verify(const LocationInput& in) const {
  Verification v;
  std::optional<Bng> position = in.bng;
  if (!position && in.wgs84) {
    auto b = state_->transformer.to_bng(*in.wgs84);
    if (b) position = *b;
    else v.flags.push_back("position not usable: " + b.error().message);
  }
  std::vector<Candidate> candidates;
  if (in.uprn) {
    if (auto a = lookup(*in.uprn)) {
      Candidate c;
      c.address = std::move(*a);
      c.confidence = 1.0;
      c.explanation = "exact UPRN";
      candidates.push_back(std::move(c));
    } else {
      v.flags.push_back("UPRN " + std::to_string(*in.uprn) + " not in the gazetteer");
    }
  }
  if (candidates.empty()) {
    const StructuredAddress& s = in.structured;
    bool structured = !(s.sao.empty() && s.pao.empty() && s.street.empty() && s.locality.empty() && s.town.empty() &&
                        s.postcode.empty());
    if (!in.text.empty()) candidates = match(in.text, 4);
    else if (structured) candidates = match(s, 4);
    if ((!in.text.empty() || structured) && candidates.empty()) v.flags.push_back("address not found in the gazetteer");
  }
  if (!candidates.empty()) {
    v.best = std::move(candidates.front());
    v.alternatives.assign(std::make_move_iterator(candidates.begin() + 1), std::make_move_iterator(candidates.end()));
    v.verified = v.best->confidence >= state_->options.verified_confidence;
    // snprintf rather than a stream: a stream costs as much as a small match.
    char number[64];
    if (!v.verified) {
      std::snprintf(number, sizeof number, "%.2f", v.best->confidence);
      v.flags.push_back("low confidence " + std::string(number) + ": " + v.best->explanation);
    }
    if (position && v.best->address.coordinates.known) {
      double d = distance_m(*position, v.best->address.coordinates.bng);
      if (d > 1000) {
        std::snprintf(number, sizeof number, "%.1f", d / 1000);
        v.flags.push_back("reported position is " + std::string(number) + " km from the matched address");
      }
    }
    auto cov = who_covers(v.best->address.uprn);
    if (cov) v.coverage = std::move(*cov);
  } else if (position) {
    v.coverage = who_covers(*position);
    v.flags.push_back("location from coordinates only");
  } else if (v.flags.empty()) {
    v.flags.push_back("no location given");
  }
  return v;
}

Status Gazetteer::apply_update(const std::vector<std::string>& files, LoadStats* stats) {
  std::lock_guard update(state_->update_mutex);
  LoadStats local;
  Overlay next = *state_->current_overlay();
  Status st = apply_change_only_update(*state_->snapshot, next, files, state_->transformer, stats ? *stats : local);
  if (!st.ok()) return st;
  st = next.save(state_->delta_path);
  if (!st.ok()) return st;
  auto published = std::make_shared<const Overlay>(std::move(next));
  std::lock_guard lock(state_->overlay_mutex);
  state_->overlay = std::move(published);
  return Status::success();
}

SnapshotInfo Gazetteer::info() const {
  SnapshotInfo i;
  const auto& h = state_->snapshot->header();
  auto overlay = state_->current_overlay();
  i.path = state_->snapshot->path();
  i.addresses = h.address_count;
  i.uprns = h.uprn_count;
  i.streets = h.street_count;
  i.postcodes = h.postcode_count;
  i.delta_upserts = static_cast<std::size_t>(
      std::count_if(overlay->addresses().begin(), overlay->addresses().end(), [](const Address& a) { return a.uprn != 0; }));
  i.delta_deletes = overlay->deletions();
  i.built_unix_time = h.built_unix_time;
  i.coordinate_method = state_->transformer.description();
  i.custodians = state_->custodians.size();
  i.boundary_areas = state_->boundaries.size();
  return i;
}

const CoordinateTransformer& Gazetteer::coordinates() const { return state_->transformer; }

}  // namespace deit::gazetteer
