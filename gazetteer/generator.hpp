#pragma once
// Deterministic synthetic national gazetteer in AddressBase Premium CSV form, and noisy
// queries as call handlers type them, each with the UPRN it should find.
//
// Structure: local authorities (custodian codes) mapped to police forces, fire and rescue
// services and ambulance services; towns (Zipf-like sizes) in postcode areas, districts,
// sectors and units; localities; streets unique within their town; numbered and named
// buildings, suffixes ("12A"), ranges ("12-14") and blocks of flats whose flats point to
// the building through PARENT_UPRN. The same seed always gives the same files.

#include <cstdint>
#include <string>

#include "hub/model/result.hpp"

namespace deit::gazetteer {

struct GeneratorOptions {
  std::uint64_t addresses = 100000;  // approximate; up to 30 million and beyond
  std::uint64_t seed = 20240501;
  std::uint64_t queries = 10000;     // noisy queries written to queries.tsv
  // The demo sample: real town names and custodian codes of Hertfordshire, Bedfordshire and
  // Thames Valley (a few thousand addresses); `addresses` is ignored.
  bool sample = false;
  std::string out_dir;
};

struct GeneratorReport {
  std::uint64_t addresses = 0, streets = 0, towns = 0, queries = 0;
  std::string abp_csv;         // <out>/abp.csv
  std::string queries_tsv;     // <out>/queries.tsv: uprn TAB query
  std::string custodians_csv;  // <out>/custodians.csv (national mode; sample uses the built-in table)
  std::string simple_csv;      // <out>/addresses.csv: the same addresses in the simple CSV form (sample only)
};

// Writes the files into options.out_dir (created if missing).
Result<GeneratorReport> generate_gazetteer(const GeneratorOptions& options);

}  // namespace deit::gazetteer
