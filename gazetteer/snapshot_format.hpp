#pragma once
// Internal: the on-disk layout of a gazetteer snapshot. The file is memory-mapped and used
// in place, so every structure is fixed-size, little-endian, naturally aligned, and every
// cross-reference is an index or offset. Sections start on 64-byte boundaries.
//
//   Header | strings | streets | street_terms | addresses | uprn_keys | uprn_addresses |
//   terms | term_hash | postings | fuzzy_hash | postcodes | postcode_addresses |
//   grid_cells | grid_addresses | custodians | boundaries | meta
//
// strings        u16 length + bytes; a string id is its byte offset (0 = empty string)
// addresses      AddressEntry sorted by (street, PAO, SAO): a street's addresses are one run
// uprn_*         UPRNs sorted, with the index of each UPRN's primary entry
// terms          one per distinct canonical word of street / locality / town / admin area /
//                post town, plus "@AL1" (outward code) and "@AL1 3" (sector) terms;
//                postings are the street indexes holding the term, ascending
// term_hash      open addressing, u32 term index + 1 per slot (0 = empty)
// fuzzy_hash     (hash of a word or of the word with one letter deleted, term + 1):
//                symmetric-deletion candidates for typo tolerance
// postcodes      PostcodeEntry sorted by code, each a run in postcode_addresses
// grid_*         square cells over British National Grid; cells has cols*rows+1 offsets

#include <cstdint>

namespace deit::gazetteer::snapshot {

constexpr char kMagic[8] = {'D', 'E', 'I', 'T', 'G', 'A', 'Z', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kEndianCheck = 0x01020304;

enum Section : std::uint32_t {
  kStrings,
  kStreets,
  kStreetTerms,
  kAddresses,
  kUprnKeys,
  kUprnAddresses,
  kTerms,
  kTermHash,
  kPostings,
  kFuzzyHash,
  kPostcodes,
  kPostcodeAddresses,
  kGridCells,
  kGridAddresses,
  kCustodians,
  kBoundaries,
  kMeta,
  kSectionCount
};

struct SectionRef {
  std::uint64_t offset;
  std::uint64_t size;
};

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t endian;
  std::uint64_t file_size;
  std::uint64_t address_count;
  std::uint64_t street_count;
  std::uint64_t term_count;
  std::uint64_t postcode_count;
  std::uint64_t uprn_count;
  double grid_min_e;
  double grid_min_n;
  double grid_cell_m;
  std::uint32_t grid_cols;
  std::uint32_t grid_rows;
  std::uint32_t term_hash_slots;   // power of two
  std::uint32_t fuzzy_hash_slots;  // power of two
  std::int64_t built_unix_time;
  SectionRef sections[kSectionCount];
};

enum AddressFlags : std::uint8_t {
  kAlternative = 1,  // not the UPRN's preferred LPI (alternative, provisional or Welsh form)
  kWelsh = 2,
  kHasPosition = 4,
};

struct AddressEntry {
  std::uint64_t uprn;
  std::uint64_t parent_uprn;
  std::uint32_t street;    // index into streets
  std::uint32_t postcode;  // string id of the normalised postcode
  std::uint32_t sao_text;
  std::uint32_t pao_text;
  std::uint32_t organisation;
  std::int32_t easting_dm;  // decimetres
  std::int32_t northing_dm;
  std::int32_t lat_e7;  // degrees * 1e7
  std::int32_t lon_e7;
  std::uint16_t sao_start, sao_end, pao_start, pao_end;
  char sao_start_suffix, sao_end_suffix, pao_start_suffix, pao_end_suffix;
  std::uint16_t custodian;
  std::uint8_t logical_status;
  std::uint8_t rpc;
  std::uint8_t flags;
  char classification[6];
  std::uint8_t reserved[5];
};
static_assert(sizeof(AddressEntry) == 80);

struct StreetEntry {
  std::uint32_t usrn;
  std::uint32_t description;
  std::uint32_t locality;
  std::uint32_t town;
  std::uint32_t admin_area;
  std::uint32_t first_address;
  std::uint32_t address_count;
  std::uint32_t terms_offset;  // into street_terms (u32 term indexes, ascending)
  std::uint32_t terms_count;
};
static_assert(sizeof(StreetEntry) == 36);

enum TermKind : std::uint32_t { kWord = 0, kOutward = 1, kSector = 2 };

struct TermEntry {
  std::uint32_t text;  // string id
  std::uint32_t postings_offset;
  std::uint32_t postings_count;
  std::uint32_t kind;
};

struct FuzzySlot {
  std::uint64_t key;
  std::uint32_t term_plus1;
  std::uint32_t reserved;
};

struct PostcodeEntry {
  char code[8];  // normalised, NUL-padded
  std::uint32_t first;
  std::uint32_t count;
};

}  // namespace deit::gazetteer::snapshot
