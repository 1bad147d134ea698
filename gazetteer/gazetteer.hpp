#pragma once
// DEIT Hub national address gazetteer: the public API the hub calls.
//
//   auto gaz = deit::gazetteer::Gazetteer::open("/var/lib/deit/gazetteer.snap");
//   if (!gaz) { log(gaz.error().describe()); ... }      // the hub runs on, unverified
//   auto hits = gaz->match("flat 2 12 high st st albans", 5);
//   auto v = gaz->verify({.text = "12 high st, st albans"});  // never refuses: flags instead
//
// A Gazetteer is a cheap handle (copies share one state). All const calls are safe from
// any number of threads at once; apply_update may run concurrently with them (readers see
// the old or the new overlay, never a mix). No call throws; failures come back as values.
//
// Build a snapshot with build_snapshot (builder.hpp) or `deitctl gazetteer build`.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gazetteer/coords.hpp"
#include "gazetteer/model.hpp"
#include "gazetteer/records.hpp"
#include "gazetteer/responsibility.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

struct Options {
  // OS OSTN15 NTv2 grid file (OSTN15_NTv2_OSGBtoETRS.gsb). Empty: PROJ's Helmert
  // transformation, accurate to a few metres (Debian ships no OSTN15 grid).
  std::string ostn15_grid;
  // Custodian -> agencies CSV replacing the table embedded in the snapshot.
  std::string custodian_table;
  // GeoJSON area files used in addition to any embedded in the snapshot.
  std::vector<std::string> boundaries;
  // who_covers reports areas whose boundary lies within this distance of the point.
  double border_distance_m = 2000;
  // verify() flags a match below this confidence as unverified.
  double verified_confidence = 0.8;
  // Apply "<snapshot>.delta" (change-only updates) when present.
  bool load_delta = true;
  // Read the whole snapshot into memory at open (a few seconds for 30 million addresses)
  // so that no query waits on a page fault. Off: pages load on first use.
  bool prefault = false;
};

struct SnapshotInfo {
  std::string path;
  std::uint64_t addresses = 0;  // entries including alternative forms
  std::uint64_t uprns = 0;
  std::uint64_t streets = 0;
  std::uint64_t postcodes = 0;
  std::size_t delta_upserts = 0;
  std::size_t delta_deletes = 0;
  std::int64_t built_unix_time = 0;
  std::string coordinate_method;
  std::size_t custodians = 0;
  std::size_t boundary_areas = 0;
};

// What the hub knows about an incident's location; any subset may be set.
struct LocationInput {
  std::optional<std::uint64_t> uprn;
  std::string text;               // free text as typed
  StructuredAddress structured;   // used when text is empty
  std::optional<LatLon> wgs84;    // handset (AML) or CAD position
  std::optional<Bng> bng;
};

struct Verification {
  bool verified = false;          // a confident single match (or an exact UPRN)
  std::vector<std::string> flags; // why not verified, or cautions ("position 3.2 km from the address")
  std::optional<Candidate> best;
  std::vector<Candidate> alternatives;
  Coverage coverage;              // responsible agencies for the best match or the position
};

class Gazetteer {
 public:
  // Maps the snapshot (O(1): no parse), loads the embedded custodian table and boundaries,
  // the options' extra files, and the delta. Fails with rule "snapshot" when the file is
  // missing, truncated or of another format version.
  static Result<Gazetteer> open(const std::string& snapshot_path, const Options& options = {});

  // Ranked candidates (best first, distinct UPRNs), at most max_candidates. An empty or
  // unmatched query gives an empty vector. A bare UPRN is looked up exactly.
  std::vector<Candidate> match(std::string_view free_text, std::size_t max_candidates = 5) const;
  std::vector<Candidate> match(const StructuredAddress& address, std::size_t max_candidates = 5) const;

  std::optional<Address> lookup(std::uint64_t uprn) const;

  // Up to k addresses within max_distance_m, nearest first (flats share their building's
  // point, so several may tie).
  std::vector<Nearby> nearest(const Bng& point, std::size_t k, double max_distance_m = 2000) const;
  Result<std::vector<Nearby>> nearest(const LatLon& point, std::size_t k, double max_distance_m = 2000) const;

  // Responsible police / fire / ambulance. For a UPRN: its custodian's agencies, plus
  // boundary areas at its position. For a point: boundary areas, plus the custodian of the
  // nearest address within 1 km. Fails (rule "not-found") for an unknown UPRN.
  Result<Coverage> who_covers(std::uint64_t uprn) const;
  Coverage who_covers(const Bng& point) const;
  Result<Coverage> who_covers(const LatLon& point) const;

  // One call for the hub: resolve, score, and attach coverage. Never fails; anything
  // short of a confident match is flagged, never refused.
  Verification verify(const LocationInput& input) const;

  // Applies AddressBase Premium change-only-update files on top of the snapshot and
  // persists them to "<snapshot>.delta". Visible to every copy of this handle.
  Status apply_update(const std::vector<std::string>& cou_files, LoadStats* stats = nullptr);

  SnapshotInfo info() const;
  const CoordinateTransformer& coordinates() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace deit::gazetteer
