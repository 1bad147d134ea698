#pragma once
// The gazetteer's public value types: a BS 7666 address and the results of matching,
// nearest-address search and responsibility look-ups. Plain values, safe to copy and to
// hand to another thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deit::gazetteer {

// British National Grid (EPSG:27700) metres.
struct Bng {
  double easting = 0;
  double northing = 0;
};

// WGS84 / ETRS89 decimal degrees (the two differ by well under a metre in the UK).
struct LatLon {
  double latitude = 0;
  double longitude = 0;
};

struct Coordinates {
  bool known = false;  // false when the source gave no position
  Bng bng;
  LatLon wgs84;
};

// A BS 7666 addressable object: the primary (building) or secondary (flat) part.
// Numbers are 0 when absent; a range is start..end ("12-14"); suffixes are 'A'..'Z' or 0.
struct AddressableObject {
  std::uint16_t start_number = 0;
  char start_suffix = 0;
  std::uint16_t end_number = 0;
  char end_suffix = 0;
  std::string text;  // a name: "ROSE COTTAGE", "FLAT"

  bool empty() const { return start_number == 0 && text.empty(); }
  // "12A", "12-14", "ROSE COTTAGE", "ROSE COTTAGE 3".
  std::string describe() const;
};

struct Address {
  std::uint64_t uprn = 0;
  std::uint64_t parent_uprn = 0;  // the building of a flat; 0 when none
  std::uint32_t usrn = 0;
  AddressableObject sao;  // secondary: flat, unit
  AddressableObject pao;  // primary: building number or name
  std::string organisation;
  std::string street;
  std::string locality;
  std::string town;
  std::string administrative_area;
  std::string postcode;  // normalised, may be empty
  Coordinates coordinates;
  std::string classification;       // AddressBase classification code, e.g. "RD04"
  std::uint8_t logical_status = 1;  // 1 approved, 3 alternative, 6 provisional, 8 historical
  std::uint16_t local_custodian_code = 0;

  // "FLAT 2, 12 HIGH ST, ST ALBANS, AL1 3EX" (canonical spellings).
  std::string single_line() const;
};

// Structured input, e.g. from a CAD system that already splits the address.
struct StructuredAddress {
  std::string sao;  // "FLAT 2", "2"
  std::string pao;  // "12", "12A", "12-14", "ROSE COTTAGE"
  std::string street;
  std::string locality;
  std::string town;
  std::string postcode;  // full or partial
};

struct Candidate {
  Address address;
  double confidence = 0;    // 0..1; >= 0.9 means every part of the query agreed
  std::string explanation;  // "postcode AL1 3EX; number 12; street HIGH ST; town ST ALBANS"
};

// Parses a typed or stored addressable object: "12A", "12-14", "ROSE COTTAGE", "FLAT 2",
// "UNIT 3 ROSE COURT". Flat markers (FLAT, APARTMENT, UNIT, ...) are dropped; the first
// number or range becomes the numbers, the remaining words the text.
AddressableObject parse_addressable_object(std::string_view text);

struct Nearby {
  Address address;
  double distance_m = 0;
};

}  // namespace deit::gazetteer
