#include "gazetteer/cli.hpp"

#include <boost/json.hpp>

#include "gazetteer/json.hpp"
#include <cmath>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

#include "gazetteer/aml.hpp"
#include "gazetteer/builder.hpp"
#include "gazetteer/gazetteer.hpp"
#include "gazetteer/generator.hpp"
#include "gazetteer/snapshot.hpp"

namespace deit::gazetteer {
namespace {

namespace json = boost::json;

constexpr const char* kUsage =
    "usage: gazetteer <build|match|lookup|nearest|who-covers|update|generate|aml|info> [options]\n"
    "  build      --out SNAPSHOT [--custodians CSV] [--boundaries GEOJSON]... [--grid-cell M] SOURCE...\n"
    "  match      --snapshot SNAPSHOT [--max N] TEXT...   (or --sao --pao --street --locality --town --postcode)\n"
    "  lookup     --snapshot SNAPSHOT UPRN\n"
    "  nearest    --snapshot SNAPSHOT (--lat L --lon L | --easting E --northing N | --aml PAYLOAD) [--k N] [--max-distance M]\n"
    "  who-covers --snapshot SNAPSHOT (--uprn U | --lat L --lon L | --easting E --northing N | --aml PAYLOAD) [--border M]\n"
    "  update     --snapshot SNAPSHOT COU-FILE...\n"
    "  generate   --out DIR (--addresses N | --sample) [--seed S] [--queries Q]\n"
    "  aml        PAYLOAD\n"
    "  info       --snapshot SNAPSHOT\n"
    "  export     --snapshot SNAPSHOT   (uprn TAB single-line address, one per UPRN)\n"
    "  common: --json, --ostn15 GSB\n";

// Options that take a value; everything else starting with "--" is a flag.
const std::vector<std::string> kValued = {"--out",  "--custodians", "--boundaries", "--grid-cell", "--ostn15",  "--snapshot",
                                          "--max",  "--sao",        "--pao",        "--street",    "--locality", "--town",
                                          "--postcode", "--lat",    "--lon",        "--easting",   "--northing", "--aml",
                                          "--k",    "--max-distance", "--uprn",     "--border",    "--addresses", "--seed",
                                          "--queries"};

struct Args {
  std::multimap<std::string, std::string> values;
  std::vector<std::string> flags;
  std::vector<std::string> positional;
  std::string error;

  bool has(const std::string& k) const { return values.count(k) != 0; }
  bool flag(const std::string& f) const { return std::find(flags.begin(), flags.end(), f) != flags.end(); }
  std::string get(const std::string& k, const std::string& fallback = {}) const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> out;
    auto [a, b] = values.equal_range(k);
    for (auto it = a; it != b; ++it) out.push_back(it->second);
    return out;
  }
  std::optional<double> number(const std::string& k) {
    if (!has(k)) return std::nullopt;
    try {
      std::size_t used = 0;
      double v = std::stod(get(k), &used);
      if (used == get(k).size() && std::isfinite(v)) return v;
    } catch (...) {
    }
    error = k + " '" + get(k) + "' is not a number";
    return std::nullopt;
  }
};

Args parse_args(const std::vector<std::string>& args, std::size_t from) {
  Args a;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s.rfind("--", 0) == 0 && s.size() > 2) {
      std::string key = s, value;
      bool inline_value = false;
      if (auto eq = s.find('='); eq != std::string::npos) {
        key = s.substr(0, eq);
        value = s.substr(eq + 1);
        inline_value = true;
      }
      if (std::find(kValued.begin(), kValued.end(), key) != kValued.end()) {
        if (!inline_value) {
          if (i + 1 >= args.size()) {
            a.error = key + " needs a value";
            return a;
          }
          value = args[++i];
        }
        a.values.emplace(key, value);
      } else {
        a.flags.push_back(key);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

int fail(std::ostream& err, const Error& e) {
  err << "error: " << e.describe() << "\n";
  return 1;
}


void print_coverage(std::ostream& out, const Coverage& c) {
  if (c.local_custodian_code != 0)
    out << "custodian " << c.local_custodian_code << (c.local_authority.empty() ? "" : " " + c.local_authority) << "\n";
  for (Service s : {Service::police, Service::fire, Service::ambulance}) {
    const auto& v = s == Service::police ? c.police : s == Service::fire ? c.fire : c.ambulance;
    out << std::left << std::setw(10) << service_name(s);
    if (v.empty()) out << "(unknown)";
    for (std::size_t i = 0; i < v.size(); ++i) {
      out << (i ? "; " : "") << v[i].agency_id << (v[i].inside ? "" : " (outside)");
      if (v[i].distance_to_boundary_m >= 0) out << " [" << std::lround(v[i].distance_to_boundary_m) << " m to boundary]";
      out << " via " << v[i].basis;
    }
    out << "\n";
  }
}

Result<Gazetteer> open_from(Args& a) {
  if (!a.has("--snapshot")) return Error::make("usage", "--snapshot is required", "--snapshot");
  Options o;
  o.ostn15_grid = a.get("--ostn15");
  o.custodian_table = a.get("--custodians");
  o.boundaries = a.all("--boundaries");
  if (auto b = a.number("--border")) o.border_distance_m = *b;
  return Gazetteer::open(a.get("--snapshot"), o);
}

// A point from --lat/--lon, --easting/--northing or --aml.
Result<Bng> point_from(Args& a, const Gazetteer& g, std::ostream& out, bool json_out) {
  if (a.has("--aml")) {
    auto aml = parse_aml(a.get("--aml"));
    if (!aml) return aml.error();
    if (!aml->has_fix) return Error::make("aml", "the AML payload carries no position fix", "lt");
    if (!json_out)
      out << "AML fix " << aml->position->latitude << ", " << aml->position->longitude << " radius "
          << aml->radius_m.value_or(0) << " m, " << aml->method_name << ", " << aml->time_of_positioning << "\n";
    return g.coordinates().to_bng(*aml->position);
  }
  if (a.has("--lat") || a.has("--lon")) {
    auto lat = a.number("--lat"), lon = a.number("--lon");
    if (!lat || !lon) return Error::make("usage", a.error.empty() ? "--lat and --lon go together" : a.error, "--lat");
    return g.coordinates().to_bng(LatLon{*lat, *lon});
  }
  auto e = a.number("--easting"), n = a.number("--northing");
  if (!e || !n) return Error::make("usage", a.error.empty() ? "give --lat/--lon, --easting/--northing or --aml" : a.error, "point");
  return Bng{*e, *n};
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

int gazetteer_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string& cmd = args[0];
  Args a = parse_args(args, 1);
  if (!a.error.empty()) {
    err << "error: " << a.error << "\n" << kUsage;
    return 2;
  }
  const bool json_out = a.flag("--json");

  if (cmd == "build") {
    if (!a.has("--out") || a.positional.empty()) {
      err << "error: build needs --out and at least one source file\n" << kUsage;
      return 2;
    }
    BuildOptions o;
    for (const auto& p : a.positional) o.sources.push_back(SourceFile{p, SourceFormat::unknown});
    o.custodian_table = a.get("--custodians");
    o.boundaries = a.all("--boundaries");
    o.ostn15_grid = a.get("--ostn15");
    if (auto c = a.number("--grid-cell")) o.grid_cell_m = *c;
    auto r = build_snapshot(o, a.get("--out"));
    if (!r) return fail(err, r.error());
    for (const auto& p : r->load.problems) err << "warning: " << p.message << "\n";
    if (json_out) {
      json::object j{{"snapshot", a.get("--out")},         {"addresses", r->addresses}, {"uprns", r->uprns},
                     {"streets", r->streets},               {"terms", r->terms},         {"postcodes", r->postcodes},
                     {"skipped_lines", r->load.skipped},    {"records", r->load.records}, {"bytes", r->bytes},
                     {"load_seconds", r->load_seconds},     {"index_seconds", r->index_seconds}};
      out << json::serialize(j) << "\n";
    } else {
      out << "built " << a.get("--out") << ": " << r->uprns << " UPRNs (" << r->addresses << " address forms), "
          << r->streets << " streets, " << r->postcodes << " postcodes, " << r->bytes / (1024 * 1024) << " MiB; "
          << r->load.records << " records read, " << r->load.skipped << " lines skipped; load " << std::fixed
          << std::setprecision(1) << r->load_seconds << " s, index " << r->index_seconds << " s\n";
    }
    return 0;
  }

  if (cmd == "generate") {
    if (!a.has("--out") || (!a.has("--addresses") && !a.flag("--sample"))) {
      err << "error: generate needs --out and --addresses N or --sample\n" << kUsage;
      return 2;
    }
    GeneratorOptions o;
    o.out_dir = a.get("--out");
    o.sample = a.flag("--sample");
    if (auto n = a.number("--addresses")) o.addresses = static_cast<std::uint64_t>(*n);
    if (auto s = a.number("--seed")) o.seed = static_cast<std::uint64_t>(*s);
    if (auto q = a.number("--queries")) o.queries = static_cast<std::uint64_t>(*q);
    else if (o.sample) o.queries = 500;
    if (!a.error.empty()) {
      err << "error: " << a.error << "\n";
      return 2;
    }
    auto r = generate_gazetteer(o);
    if (!r) return fail(err, r.error());
    if (json_out) {
      out << json::serialize(json::object{{"addresses", r->addresses}, {"streets", r->streets}, {"towns", r->towns},
                                          {"queries", r->queries}, {"abp_csv", r->abp_csv}, {"queries_tsv", r->queries_tsv},
                                          {"custodians_csv", r->custodians_csv}})
          << "\n";
    } else {
      out << "generated " << r->addresses << " addresses on " << r->streets << " streets in " << r->towns << " towns: "
          << r->abp_csv << "; " << r->queries << " queries: " << r->queries_tsv << "\n";
    }
    return 0;
  }

  if (cmd == "aml") {
    if (a.positional.size() != 1) {
      err << "error: aml needs one payload argument\n";
      return 2;
    }
    auto r = parse_aml(a.positional[0]);
    if (!r) return fail(err, r.error());
    if (json_out) {
      json::object j{{"has_fix", r->has_fix}, {"method", r->method_name}, {"time", r->time_of_positioning}};
      if (r->position) {
        j["latitude"] = r->position->latitude;
        j["longitude"] = r->position->longitude;
      }
      if (r->radius_m) j["radius_m"] = *r->radius_m;
      if (r->confidence_percent) j["confidence_percent"] = *r->confidence_percent;
      json::array w;
      for (auto& x : r->warnings) w.push_back(json::value(x));
      j["warnings"] = w;
      out << json::serialize(j) << "\n";
    } else {
      if (r->has_fix)
        out << "fix " << r->position->latitude << ", " << r->position->longitude << " radius " << *r->radius_m << " m";
      else
        out << "no fix";
      out << "; method " << r->method_name << "; time " << r->time_of_positioning << "\n";
      for (auto& x : r->warnings) out << "warning: " << x << "\n";
    }
    return 0;
  }

  if (cmd == "export") {
    if (!a.has("--snapshot")) {
      err << "error: export needs --snapshot\n";
      return 2;
    }
    auto snap = Snapshot::open(a.get("--snapshot"));
    if (!snap) return fail(err, snap.error());
    for (const auto& e : (*snap)->addresses()) {
      if (e.flags & snapshot::kAlternative) continue;
      out << e.uprn << '\t' << (*snap)->to_address(e).single_line() << '\n';
    }
    return 0;
  }

  auto g = open_from(a);
  if (!g) return fail(err, g.error());

  if (cmd == "info") {
    SnapshotInfo i = g->info();
    if (json_out) {
      out << json::serialize(info_json(i)) << "\n";
    } else {
      out << i.path << ": " << i.uprns << " UPRNs, " << i.streets << " streets, " << i.postcodes << " postcodes; delta "
          << i.delta_upserts << " upserts, " << i.delta_deletes << " deletes; " << i.custodians << " custodians, "
          << i.boundary_areas << " boundary areas; coordinates: " << i.coordinate_method << "\n";
    }
    return 0;
  }

  if (cmd == "match") {
    std::size_t max = 5;
    if (auto m = a.number("--max")) max = static_cast<std::size_t>(*m);
    std::vector<Candidate> hits;
    if (!a.positional.empty()) {
      hits = g->match(join(a.positional), max);
    } else {
      StructuredAddress s{a.get("--sao"), a.get("--pao"), a.get("--street"), a.get("--locality"), a.get("--town"),
                          a.get("--postcode")};
      hits = g->match(s, max);
    }
    if (json_out) {
      json::array arr;
      for (const auto& c : hits) {
        arr.push_back(candidate_json(c));
      }
      out << json::serialize(json::object{{"candidates", arr}}) << "\n";
    } else {
      if (hits.empty()) out << "no match\n";
      for (const auto& c : hits)
        out << std::fixed << std::setprecision(3) << c.confidence << "  " << c.address.uprn << "  "
            << c.address.single_line() << "\n       " << c.explanation << "\n";
    }
    return 0;
  }

  if (cmd == "lookup") {
    if (a.positional.size() != 1) {
      err << "error: lookup needs one UPRN\n";
      return 2;
    }
    std::uint64_t uprn = 0;
    try {
      uprn = std::stoull(a.positional[0]);
    } catch (...) {
      err << "error: '" << a.positional[0] << "' is not a UPRN\n";
      return 2;
    }
    auto addr = g->lookup(uprn);
    if (!addr) return fail(err, Error::make("not-found", "UPRN " + a.positional[0] + " is not in the gazetteer", "uprn"));
    if (json_out) out << json::serialize(address_json(*addr)) << "\n";
    else out << addr->uprn << "  " << addr->single_line() << "\n";
    return 0;
  }

  if (cmd == "nearest") {
    auto p = point_from(a, *g, out, json_out);
    if (!p) return fail(err, p.error());
    std::size_t k = 5;
    double max_distance = 2000;
    if (auto n = a.number("--k")) k = static_cast<std::size_t>(*n);
    if (auto d = a.number("--max-distance")) max_distance = *d;
    auto near = g->nearest(*p, k, max_distance);
    if (json_out) {
      json::array arr;
      for (const auto& n : near) {
        json::object j = address_json(n.address);
        j["distance_m"] = std::round(n.distance_m * 10) / 10;
        arr.push_back(std::move(j));
      }
      out << json::serialize(json::object{{"nearest", arr}}) << "\n";
    } else {
      if (near.empty()) out << "nothing within " << max_distance << " m\n";
      for (const auto& n : near)
        out << std::fixed << std::setprecision(1) << std::setw(8) << n.distance_m << " m  " << n.address.uprn << "  "
            << n.address.single_line() << "\n";
    }
    return 0;
  }

  if (cmd == "who-covers") {
    Coverage c;
    if (a.has("--uprn")) {
      std::uint64_t uprn = 0;
      try {
        uprn = std::stoull(a.get("--uprn"));
      } catch (...) {
        err << "error: --uprn '" << a.get("--uprn") << "' is not a UPRN\n";
        return 2;
      }
      auto r = g->who_covers(uprn);
      if (!r) return fail(err, r.error());
      c = std::move(*r);
    } else {
      auto p = point_from(a, *g, out, json_out);
      if (!p) return fail(err, p.error());
      c = g->who_covers(*p);
    }
    if (json_out) out << json::serialize(coverage_json(c)) << "\n";
    else print_coverage(out, c);
    return 0;
  }

  if (cmd == "update") {
    if (a.positional.empty()) {
      err << "error: update needs change-only-update files\n";
      return 2;
    }
    LoadStats stats;
    Status st = g->apply_update(a.positional, &stats);
    if (!st.ok()) return fail(err, st.error());
    for (const auto& p : stats.problems) err << "warning: " << p.message << "\n";
    SnapshotInfo i = g->info();
    if (json_out)
      out << json::serialize(json::object{{"records", stats.records}, {"skipped", stats.skipped},
                                          {"delta_upserts", i.delta_upserts}, {"delta_deletes", i.delta_deletes}})
          << "\n";
    else
      out << "applied " << stats.records << " records (" << stats.skipped << " skipped); delta now " << i.delta_upserts
          << " upserts, " << i.delta_deletes << " deletes\n";
    return 0;
  }

  err << "error: unknown subcommand '" << cmd << "'\n" << kUsage;
  return 2;
}

}  // namespace deit::gazetteer
