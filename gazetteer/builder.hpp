#pragma once
// Builds a snapshot file from source files, once; the hub then maps it (see gazetteer.hpp).
// Memory during a build is roughly 200 bytes per address; time is dominated by parsing.

#include <cstdint>
#include <string>
#include <vector>

#include "gazetteer/loaders.hpp"
#include "gazetteer/records.hpp"
#include "hub/model/result.hpp"

namespace deit::gazetteer {

struct SourceFile {
  std::string path;
  SourceFormat format = SourceFormat::unknown;  // unknown: detect_format
};

struct BuildOptions {
  std::vector<SourceFile> sources;
  // Local custodian code -> agencies CSV embedded in the snapshot. Empty: the built-in
  // table (gazetteer/data/custodian_agencies.csv).
  std::string custodian_table;
  // GeoJSON FeatureCollections of police / fire / ambulance areas embedded in the snapshot.
  std::vector<std::string> boundaries;
  double grid_cell_m = 500;
  // Used only to fill WGS84 positions that the sources did not give.
  std::string ostn15_grid;
};

struct BuildReport {
  LoadStats load;
  std::size_t addresses = 0;  // entries, including alternative forms
  std::size_t uprns = 0;
  std::size_t streets = 0;
  std::size_t terms = 0;
  std::size_t postcodes = 0;
  std::size_t without_address = 0;  // BLPUs with no usable LPI
  std::uint64_t bytes = 0;
  double load_seconds = 0;
  double index_seconds = 0;
};

// Loads every source, joins BLPU / LPI / street / delivery point / classification /
// organisation records by UPRN and USRN, and writes the snapshot atomically to
// output_path. Malformed lines are skipped and reported in BuildReport::load. Fails when a
// source cannot be read or the output cannot be written.
Result<BuildReport> build_snapshot(const BuildOptions& options, const std::string& output_path);

}  // namespace deit::gazetteer
