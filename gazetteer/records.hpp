#pragma once
// Source records as the loaders deliver them: one struct per AddressBase Premium record
// type, with text as string_views valid only for the duration of the RecordSink call.
// Loaders of every format (CSV, GML, OS Open UPRN, simple CSV) feed the same sink, so the
// snapshot builder and the change-only-update applier do not care where records came from.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::gazetteer {

enum class Change : char { insert = 'I', update = 'U', remove = 'D' };

struct StreetRecord {  // record 11
  Change change = Change::insert;
  std::uint32_t usrn = 0;
  int record_type = 0;
  double start_x = 0, start_y = 0, end_x = 0, end_y = 0;
};

struct StreetDescriptorRecord {  // record 15
  Change change = Change::insert;
  std::uint32_t usrn = 0;
  std::string_view description, locality, town, administrative_area, language;
};

struct BlpuRecord {  // record 21
  Change change = Change::insert;
  std::uint64_t uprn = 0;
  std::uint64_t parent_uprn = 0;
  int logical_status = 1;
  int blpu_state = 0;
  double x = 0, y = 0, latitude = 0, longitude = 0;
  bool has_position = false;
  int rpc = 0;
  std::uint16_t local_custodian_code = 0;
  std::string_view postcode_locator;
};

struct LpiRecord {  // record 24
  Change change = Change::insert;
  std::uint64_t uprn = 0;
  std::string_view lpi_key, language;
  int logical_status = 1;
  std::uint16_t sao_start_number = 0, sao_end_number = 0, pao_start_number = 0, pao_end_number = 0;
  char sao_start_suffix = 0, sao_end_suffix = 0, pao_start_suffix = 0, pao_end_suffix = 0;
  std::string_view sao_text, pao_text;
  std::uint32_t usrn = 0;
  std::string_view area_name, level;
};

struct DeliveryPointRecord {  // record 28
  Change change = Change::insert;
  std::uint64_t uprn = 0;
  std::uint64_t udprn = 0;
  std::string_view organisation_name, sub_building_name, building_name, thoroughfare,
      dependent_locality, post_town, postcode;
  std::uint16_t building_number = 0;
};

struct ClassificationRecord {  // record 32
  Change change = Change::insert;
  std::uint64_t uprn = 0;
  std::string_view code, scheme;
};

struct OrganisationRecord {  // record 31
  Change change = Change::insert;
  std::uint64_t uprn = 0;
  std::string_view organisation;
};

struct CoordinateRecord {  // OS Open UPRN
  std::uint64_t uprn = 0;
  double x = 0, y = 0, latitude = 0, longitude = 0;
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void street(const StreetRecord&) {}
  virtual void street_descriptor(const StreetDescriptorRecord&) {}
  virtual void blpu(const BlpuRecord&) {}
  virtual void lpi(const LpiRecord&) {}
  virtual void delivery_point(const DeliveryPointRecord&) {}
  virtual void classification(const ClassificationRecord&) {}
  virtual void organisation(const OrganisationRecord&) {}
  virtual void coordinates(const CoordinateRecord&) {}
};

// What a load did. Problems keep the first `kMaxProblems` malformed lines (file, line,
// reason); `skipped` counts all of them.
struct LoadStats {
  static constexpr std::size_t kMaxProblems = 100;
  std::size_t lines = 0;
  std::size_t records = 0;
  std::size_t skipped = 0;
  std::size_t ignored = 0;  // well-formed records of types the gazetteer does not use
  std::vector<Error> problems;

  void problem(const std::string& file, std::size_t line, std::string message, std::string field = {});
  void merge(const LoadStats& other);
};

}  // namespace deit::gazetteer
