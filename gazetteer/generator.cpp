#include "gazetteer/generator.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "gazetteer/coords.hpp"

namespace deit::gazetteer {
namespace {

// splitmix64: small, fast, and the same on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  bool chance(double p) { return uniform() < p; }
  template <typename C>
  const auto& pick(const C& c) {
    return c[below(c.size())];
  }

 private:
  std::uint64_t s_;
};

class Writer {
 public:
  explicit Writer(const std::string& path) : f_(std::fopen(path.c_str(), "wb")) { buf_.reserve(1 << 20); }
  ~Writer() { close(); }
  bool ok() const { return f_ != nullptr && ok_; }
  Writer& operator<<(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= (1 << 20)) flush();
    return *this;
  }
  Writer& operator<<(char c) {
    buf_.push_back(c);
    return *this;
  }
  Writer& num(std::uint64_t v) {
    char tmp[24];
    auto [p, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
    buf_.append(tmp, static_cast<std::size_t>(p - tmp));
    return *this;
  }
  Writer& fixed(double v, int decimals) {
    char tmp[48];
    auto [p, ec] = std::to_chars(tmp, tmp + sizeof tmp, v, std::chars_format::fixed, decimals);
    buf_.append(tmp, static_cast<std::size_t>(p - tmp));
    return *this;
  }
  Writer& quoted(std::string_view s) {
    buf_.push_back('"');
    buf_.append(s);
    buf_.push_back('"');
    return *this;
  }
  void flush() {
    if (f_ != nullptr && !buf_.empty()) ok_ = std::fwrite(buf_.data(), 1, buf_.size(), f_) == buf_.size() && ok_;
    buf_.clear();
  }
  bool close() {
    flush();
    if (f_ != nullptr) {
      ok_ = std::fclose(f_) == 0 && ok_;
      f_ = nullptr;
    }
    return ok_;
  }

 private:
  std::FILE* f_;
  std::string buf_;
  bool ok_ = true;
};

constexpr std::array<std::string_view, 50> kTownStarts{
    "ASH",  "BRAD", "CHEL",  "DUN",   "EL",   "FAR",  "GRANT", "HAL", "KINGS", "LANG", "MAR",  "NEW",  "OAK",
    "PEN",  "ROTH", "SAL",   "THORN", "UP",   "WAL",  "WEST",  "WIN", "YAR",   "BAS",  "BER",  "CAR",  "DAR",
    "EAS",  "FEL",  "GLOS",  "HAM",   "HEX",  "IL",   "KET",   "LEY", "MID",   "NOR",  "OT",   "PET",  "RAM",
    "SHEP", "STAN", "TAM",   "TEW",   "WAT",  "WOL",  "AYL",   "BUCK", "CROW", "DOR",  "EVER"};
constexpr std::array<std::string_view, 30> kTownEnds{
    "FORD", "TON",  "BURY",  "HAM",   "LEY",  "WICK", "FIELD", "BOROUGH", "CHESTER", "STEAD",
    "WORTH", "MOUTH", "BRIDGE", "DALE", "HOLME", "THORPE", "BY", "COMBE", "HURST", "MINSTER",
    "CASTER", "SEA", "PORT", "WELL", "DEN", "GATE", "MERE", "STOW", "WOOD", "SHAW"};
constexpr std::array<std::string_view, 8> kTownPrefixes{"GREAT ", "LITTLE ", "UPPER ", "LOWER ", "ST ", "NORTH ", "SOUTH ", "EAST "};

constexpr std::array<std::string_view, 120> kStreetBases{
    "HIGH", "STATION", "CHURCH", "MILL", "SCHOOL", "PARK", "VICTORIA", "ALBERT", "QUEENS", "KINGS", "MANOR",
    "GROVE", "ORCHARD", "MEADOW", "WILLOW", "BEECH", "OAK", "ELM", "ASH", "BIRCH", "CEDAR", "CHESTNUT", "HAWTHORN",
    "HOLLY", "IVY", "LABURNUM", "LILAC", "MAPLE", "POPLAR", "ROWAN", "SYCAMORE", "YEW", "ACACIA", "ALDER", "HAZEL",
    "JUNIPER", "LARCH", "LINDEN", "MAGNOLIA", "PINE", "ROSE", "VIOLET", "PRIMROSE", "BLUEBELL", "DAISY", "HEATHER",
    "CLOVER", "FERN", "FOXGLOVE", "LAVENDER", "ST MARYS", "ST JOHNS", "ST PETERS", "ST ANDREWS", "ST GEORGES",
    "ST MICHAELS", "WINDSOR", "YORK", "LANCASTER", "STUART", "TUDOR", "NORMAN", "SAXON", "ROMAN", "ABBEY", "PRIORY",
    "CASTLE", "BRIDGE", "RIVER", "BROOK", "SPRING", "WELL", "HILL", "VALLEY", "FOREST", "WOODLAND", "FIELD",
    "FARM", "BARN", "DAIRY", "MARKET", "CHAPEL", "VICARAGE", "RECTORY", "COLLEGE", "UNIVERSITY", "HOSPITAL",
    "NEWTON", "DARWIN", "FARADAY", "NELSON", "WELLINGTON", "CHURCHILL", "GLADSTONE", "DISRAELI", "PALMERSTON",
    "BYRON", "SHELLEY", "KEATS", "TENNYSON", "WORDSWORTH", "MILTON", "CHAUCER", "DICKENS", "HARDY", "AUSTEN",
    "BRONTE", "ELGAR", "HANDEL", "PURCELL", "HOLST", "BRUNEL", "TELFORD", "STEPHENSON", "WATT", "ARKWRIGHT",
    "CAXTON", "CROMWELL", "RALEIGH", "DRAKE"};
constexpr std::array<std::string_view, 14> kStreetMiddles{"", "", "", "FIELD", "WOOD", "LEIGH", "DENE", "MEAD", "CROFT", "HURST", "WELL", "BURY", "GATE", "LANDS"};
constexpr std::array<std::string_view, 22> kStreetTypes{
    "ROAD", "STREET", "LANE", "AVENUE", "CLOSE", "DRIVE", "WAY", "GARDENS", "CRESCENT", "PLACE", "GROVE",
    "TERRACE", "COURT", "HILL", "PARK", "SQUARE", "WALK", "MEWS", "RISE", "VIEW", "GREEN", "ROW"};
constexpr std::array<std::string_view, 8> kQualifiers{"NORTH ", "SOUTH ", "UPPER ", "LOWER ", "OLD ", "NEW ", "WEST ", "EAST "};
constexpr std::array<std::string_view, 24> kHouseNames{
    "ROSE COTTAGE", "THE OLD RECTORY", "ORCHARD HOUSE", "THE WILLOWS", "IVY COTTAGE", "THE LODGE", "HILLSIDE",
    "THE BARN", "MEADOW VIEW", "WOODLANDS", "THE COTTAGE", "APPLE TREE HOUSE", "BRAMBLE COTTAGE", "THE GRANARY",
    "OAKLANDS", "THE STABLES", "FOXHOLES", "HONEYSUCKLE COTTAGE", "SUNNYSIDE", "THE OLD FORGE", "MILL HOUSE",
    "GREENACRES", "THE COACH HOUSE", "BEECHWOOD"};
constexpr std::array<std::string_view, 12> kBlockNames{"ALBANY COURT", "VICTORIA HOUSE", "KESTREL HOUSE", "MERIDIAN COURT",
                                                      "REGENT HOUSE", "PARKSIDE", "RIVERSIDE COURT", "WINDSOR HOUSE",
                                                      "CAVENDISH COURT", "HERON HOUSE", "BEAUFORT COURT", "SOVEREIGN HOUSE"};
constexpr std::array<std::string_view, 121> kAreas{
    "AB", "AL", "B",  "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "CA", "CB", "CF", "CH", "CM", "CO", "CR", "CT",
    "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E",  "EC", "EH", "EN", "EX", "FK", "FY", "G",
    "GL", "GU", "HA", "HD", "HG", "HP", "HR", "HS", "HU", "HX", "IG", "IP", "IV", "KA", "KT", "KW", "KY", "L",  "LA",
    "LD", "LE", "LL", "LN", "LS", "LU", "M",  "ME", "MK", "ML", "N",  "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX",
    "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S",  "SA", "SE", "SG", "SK", "SL", "SM", "SN", "SO", "SP",
    "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "W",  "WA", "WC", "WD", "WF",
    "WN", "WR", "WS", "WV", "YO", "ZE", "DE"};
constexpr std::string_view kUnitLetters = "ABDEFGHJLNPQRSTUWXYZ";

struct LocalAuthority {
  std::uint16_t code;
  std::string name;
  std::string police, fire, ambulance;
  double e, n;
};

struct Town {
  std::string name;
  std::size_t la;
  std::uint64_t addresses;  // target
  std::vector<std::string> districts;  // outward codes
  std::vector<std::string> localities;
  std::vector<std::string> fixed_streets;  // sample mode: streets that must exist
  double e, n;
};

std::string title_case(std::string s) {
  bool start = true;
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      if (!start) c = static_cast<char>(c - 'A' + 'a');
      start = false;
    } else {
      start = c == ' ' || c == '-' || c == '\'';
    }
  }
  return s;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// One typo as a hurried call handler makes it.
std::string typo(std::string w, Rng& rng) {
  if (w.size() < 5) return w;
  std::size_t i = 1 + rng.below(w.size() - 2);
  switch (rng.below(4)) {
    case 0: w.erase(i, 1); break;                                  // dropped letter
    case 1: std::swap(w[i], w[i + 1 < w.size() ? i + 1 : i - 1]); break;  // transposed
    case 2: w.insert(i, 1, w[i]); break;                           // doubled
    default: {
      static constexpr std::string_view kNear = "qwertyuiopasdfghjklzxcvbnm";
      char c = kNear[rng.below(kNear.size())];
      if (w[i] >= 'A' && w[i] <= 'Z') c = static_cast<char>(c - 'a' + 'A');
      w[i] = c;
    }
  }
  return w;
}

std::string abbreviate_type(std::string_view type, Rng& rng) {
  static constexpr std::pair<std::string_view, std::string_view> kAbbrev[] = {
      {"ROAD", "RD"},     {"STREET", "ST"},  {"LANE", "LN"},     {"AVENUE", "AVE"}, {"CLOSE", "CL"},
      {"DRIVE", "DR"},    {"GARDENS", "GDNS"}, {"CRESCENT", "CRES"}, {"PLACE", "PL"}, {"COURT", "CT"},
      {"TERRACE", "TERR"}, {"SQUARE", "SQ"}, {"GROVE", "GRV"},  {"PARK", "PK"}};
  for (auto [full, abbr] : kAbbrev)
    if (type == full && rng.chance(0.6)) return std::string(abbr) + (rng.chance(0.15) ? "." : "");
  return std::string(type);
}

struct Generated {
  std::uint64_t uprn, parent;
  std::uint16_t sao;
  std::uint16_t pao, pao_end;
  char pao_suffix;
  std::string_view pao_text;
  std::string_view classification;
};

class Generator {
 public:
  Generator(const GeneratorOptions& o, Writer& abp, Writer& queries, Writer* simple, const CoordinateTransformer& t)
      : o_(o), rng_(o.seed), query_rng_(o.seed ^ 0x5eed5eedull), abp_(abp), queries_(queries), simple_(simple), transformer_(t) {}

  std::vector<LocalAuthority> las;
  std::vector<Town> towns;
  GeneratorReport report;

  void plan_national() {
    std::uint64_t n = std::max<std::uint64_t>(o_.addresses, 100);
    std::size_t la_count = static_cast<std::size_t>(std::clamp<std::uint64_t>(n / 80000, 4, 350));
    for (std::size_t i = 0; i < la_count; ++i) {
      LocalAuthority la;
      la.code = static_cast<std::uint16_t>(1000 + i * 5);
      la.name = "DISTRICT " + std::to_string(i + 1);
      char id[64];
      std::snprintf(id, sizeof id, "police-force-%02zu", i / 8 + 1);
      la.police = id;
      std::snprintf(id, sizeof id, "fire-service-%02zu", i / 7 + 1);
      la.fire = id;
      std::snprintf(id, sizeof id, "ambulance-service-%02zu", i / 35 + 1);
      la.ambulance = id;
      la.e = 150000 + static_cast<double>(i % 18) * 28000 + rng_.uniform() * 8000;
      la.n = 60000 + static_cast<double>(i / 18) * 50000 + rng_.uniform() * 8000;
      las.push_back(la);
    }
    std::size_t town_count = static_cast<std::size_t>(std::clamp<std::uint64_t>(n / 10000, 3, 3000));
    std::vector<std::string> names;
    std::unordered_set<std::string> used;
    for (auto s : kTownStarts)
      for (auto e : kTownEnds) names.push_back(std::string(s) + std::string(e));
    for (std::size_t i = names.size(); i-- > 1;) std::swap(names[i], names[rng_.below(i + 1)]);
    std::size_t base_count = names.size();
    for (std::size_t i = 0; names.size() < town_count + 10 && i < base_count * kTownPrefixes.size(); ++i)
      names.push_back(std::string(kTownPrefixes[i % kTownPrefixes.size()]) + names[i / kTownPrefixes.size()]);
    double total_weight = 0;
    std::vector<double> weight(town_count);
    for (std::size_t i = 0; i < town_count; ++i) total_weight += weight[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.8);
    std::vector<int> next_district(kAreas.size(), 1);
    for (std::size_t i = 0; i < town_count; ++i) {
      Town t;
      t.name = names[i];
      t.la = i % la_count;
      t.addresses = std::max<std::uint64_t>(20, static_cast<std::uint64_t>(static_cast<double>(n) * weight[i] / total_weight));
      std::size_t district_count = std::max<std::uint64_t>(1, (t.addresses + 7999) / 8000);
      std::size_t area = t.la % kAreas.size();
      for (std::size_t d = 0; d < district_count; ++d) {
        std::size_t tries = 0;
        while (next_district[area] > 99 && tries++ < kAreas.size()) area = (area + 1) % kAreas.size();
        t.districts.push_back(std::string(kAreas[area]) + std::to_string(next_district[area]++));
      }
      std::size_t locality_count = t.addresses > 5000 ? 2 + t.addresses / 20000 : 0;
      std::unordered_set<std::string> taken;
      for (std::size_t k = 0; k < locality_count && k < 40; ++k) {
        std::string loc = std::string(kTownStarts[rng_.below(kTownStarts.size())]) +
                          std::string(kTownEnds[rng_.below(kTownEnds.size())]);
        if (loc == t.name || !taken.insert(loc).second) continue;
        t.localities.push_back(loc);
      }
      const LocalAuthority& la = las[t.la];
      double spread = 2000 + 60 * std::sqrt(static_cast<double>(t.addresses));
      t.e = la.e + (rng_.uniform() - 0.5) * 20000;
      t.n = la.n + (rng_.uniform() - 0.5) * 20000;
      (void)spread;
      towns.push_back(std::move(t));
    }
  }

  void plan_sample() {
    struct S {
      const char* town;
      std::uint16_t code;
      const char* la;
      std::vector<std::string> districts;
      double e, n;
      std::vector<std::string> streets;
    };
    std::vector<S> sample = {
        {"ST ALBANS", 1930, "ST ALBANS", {"AL1", "AL3"}, 514800, 207300, {"HIGH STREET", "ST PETERS STREET", "HOLYWELL HILL", "VERULAM ROAD", "LONDON ROAD", "HATFIELD ROAD"}},
        {"HATFIELD", 1950, "WELWYN HATFIELD", {"AL10"}, 522800, 208800, {"ST ALBANS ROAD EAST", "FRENCH HORN LANE"}},
        {"WATFORD", 1945, "WATFORD", {"WD17", "WD18"}, 511000, 196500, {"HIGH STREET", "ST ALBANS ROAD", "CLARENDON ROAD"}},
        {"STEVENAGE", 1935, "STEVENAGE", {"SG1"}, 524000, 224500, {"HIGH STREET", "LYTTON WAY"}},
        {"HITCHIN", 1925, "NORTH HERTFORDSHIRE", {"SG5"}, 518400, 229000, {"BANCROFT", "BRIDGE STREET"}},
        {"HEMEL HEMPSTEAD", 1910, "DACORUM", {"HP1", "HP2"}, 505600, 207200, {"MARLOWES", "HIGH STREET"}},
        {"LUTON", 230, "LUTON", {"LU1", "LU2"}, 509200, 221400, {"GEORGE STREET", "DUNSTABLE ROAD"}},
        {"BEDFORD", 235, "BEDFORD", {"MK40"}, 505000, 249600, {"HIGH STREET", "ST PETERS STREET"}},
        {"MILTON KEYNES", 435, "MILTON KEYNES", {"MK9"}, 485500, 238500, {"MIDSUMMER BOULEVARD", "SAXON GATE"}},
        {"AYLESBURY", 440, "BUCKINGHAMSHIRE", {"HP20"}, 482000, 213800, {"MARKET SQUARE", "CAMBRIDGE STREET"}},
        {"READING", 345, "READING", {"RG1"}, 471400, 173400, {"BROAD STREET", "FRIAR STREET"}},
        {"OXFORD", 3110, "OXFORD", {"OX1"}, 451300, 206200, {"HIGH STREET", "ST GILES", "CORNMARKET STREET"}},
    };
    for (const S& s : sample) {
      std::size_t la_index = las.size();
      for (std::size_t i = 0; i < las.size(); ++i)
        if (las[i].code == s.code) la_index = i;
      if (la_index == las.size()) las.push_back(LocalAuthority{s.code, s.la, "", "", "", s.e, s.n});
      Town t;
      t.name = s.town;
      t.la = la_index;
      t.addresses = 250;
      t.districts = s.districts;
      t.e = s.e;
      t.n = s.n;
      t.fixed_streets = s.streets;
      towns.push_back(std::move(t));
    }
  }

  void write_header() {
    abp_ << "10,\"DEIT SYNTHETIC GAZETTEER\",9999,2024-05-01,1,2024-05-01,00:00:00,1.0,F\n";
    ++lines_;
  }

  void write_trailer() {
    abp_ << "99,0,";
    abp_.num(lines_ + 1) << ",2024-05-01,00:00:00\n";
  }

  void generate_towns() {
    for (std::size_t i = 0; i < towns.size(); ++i) generate_town(towns[i]);
  }

 private:
  std::string street_name(Town& t, std::unordered_set<std::string>& used, std::size_t index) {
    if (index < t.fixed_streets.size()) {
      used.insert(t.fixed_streets[index]);
      return t.fixed_streets[index];
    }
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::string name;
      if (attempt > 20 || rng_.chance(0.08)) name += kQualifiers[rng_.below(kQualifiers.size())];
      std::string_view base = kStreetBases[rng_.below(kStreetBases.size())];
      name += base;
      std::string_view middle = kStreetMiddles[rng_.below(kStreetMiddles.size())];
      if (!middle.empty() && base.find(' ') == std::string_view::npos) name += middle;
      name += ' ';
      name += kStreetTypes[rng_.below(kStreetTypes.size())];
      if (used.insert(name).second) return name;
    }
    std::string name = "STREET " + std::to_string(index);
    used.insert(name);
    return name;
  }

  void generate_town(Town& t) {
    const LocalAuthority& la = las[t.la];
    std::unordered_set<std::string> used;
    std::uint64_t produced = 0;
    std::size_t street_index = 0;
    std::size_t district = 0, sector = 0, unit = 0, unit_fill = 0, sector_fill = 0, district_fill = 0;
    const std::uint64_t per_district = std::max<std::uint64_t>(1, t.addresses / t.districts.size() + 1);
    const double radius = 800 + 25 * std::sqrt(static_cast<double>(t.addresses));
    const bool rural = t.addresses < 3000;
    while (produced < t.addresses || street_index < t.fixed_streets.size()) {
      std::string street = street_name(t, used, street_index++);
      std::string locality;
      if (!t.localities.empty() && rng_.chance(0.3)) locality = t.localities[rng_.below(t.localities.size())];
      std::uint32_t usrn = next_usrn_++;
      std::uint64_t want = 1 + static_cast<std::uint64_t>(-std::log(1 - rng_.uniform() * 0.999) * 23.0);
      if (want > 250) want = 250;
      const bool demo_street = o_.sample && street_index == 1 && t.name == "ST ALBANS";  // "flat 2 12 high st st albans"
      if (demo_street) want = std::max<std::uint64_t>(want, 40);
      double angle = rng_.uniform() * 6.283185307;
      double r = radius * std::sqrt(rng_.uniform());
      double sx = t.e + r * std::cos(angle), sy = t.n + r * std::sin(angle);
      double dir = rng_.uniform() * 6.283185307;
      double ux = std::cos(dir), uy = std::sin(dir);
      double length = 8.0 * static_cast<double>(want) / 2 + 20;
      street_records(usrn, street, locality, t, la, sx, sy, sx + ux * length, sy + uy * length);

      // Buildings along the street.
      std::vector<Generated> props;
      std::unordered_set<std::string_view> names_used;
      std::uint16_t number = 0;
      std::uint64_t made = 0;
      while (made < want) {
        double roll = rng_.uniform();
        if (rural && roll < 0.25) {  // a named house
          std::string_view name = kHouseNames[rng_.below(kHouseNames.size())];
          if (!names_used.insert(name).second) continue;
          props.push_back(Generated{next_uprn(), 0, 0, 0, 0, 0, name, "RD02"});
          ++made;
          continue;
        }
        ++number;
        if (demo_street && number == 12) roll = 0;
        if (roll < 0.06 && want - made >= 3) {  // a block of flats
          std::uint16_t flats = static_cast<std::uint16_t>(2 + rng_.below(std::min<std::uint64_t>(24, want - made)));
          if (demo_street && number == 12) flats = 4;
          std::string_view block_name = !(demo_street && number == 12) && rng_.chance(0.3) ? kBlockNames[rng_.below(kBlockNames.size())] : std::string_view();
          if (!block_name.empty() && !names_used.insert(block_name).second) block_name = {};
          std::uint64_t parent = next_uprn();
          props.push_back(Generated{parent, 0, 0, block_name.empty() ? number : std::uint16_t{0}, 0, 0, block_name, "PP"});
          for (std::uint16_t f = 1; f <= flats; ++f)
            props.push_back(Generated{next_uprn(), parent, f, block_name.empty() ? number : std::uint16_t{0}, 0, 0, block_name, "RD06"});
          made += flats;
          continue;
        }
        if (roll < 0.08) {  // a commercial range "12-14"
          props.push_back(Generated{next_uprn(), 0, 0, number, static_cast<std::uint16_t>(number + 2), 0, {}, "CR07"});
          number = static_cast<std::uint16_t>(number + 2);
          ++made;
          continue;
        }
        props.push_back(Generated{next_uprn(), 0, 0, number, 0, 0, {}, roll < 0.5 ? "RD04" : "RD03"});
        ++made;
        if (roll > 0.97) {  // "12A" squeezed in after 12
          props.push_back(Generated{next_uprn(), 0, 0, number, 0, 'A', {}, "RD04"});
          ++made;
        }
      }
      // Postcode units: about 15 addresses each; flats of a block share one.
      std::vector<std::string> postcodes(props.size());
      const std::uint64_t sector_cap = per_district / 10 + 15;
      for (std::size_t k = 0; k < props.size(); ++k) {
        const bool flat = props[k].parent != 0;
        if (k == 0 || (unit_fill >= 15 && !flat)) {  // each street starts a unit; flats stay with their block
          ++unit;
          unit_fill = 0;
          if (unit >= kUnitLetters.size() * kUnitLetters.size() || sector_fill >= sector_cap) {
            ++sector;
            unit = 0;
            sector_fill = 0;
          }
          if (sector > 9 || district_fill >= per_district) {
            if (district + 1 < t.districts.size()) {
              ++district;
              district_fill = 0;
              sector = 0;
              unit = 0;
              sector_fill = 0;
            } else if (sector > 9) {
              sector = 0;
            }
          }
        }
        std::string pc = t.districts[district] + " " + std::to_string(sector) +
                         kUnitLetters[(unit / kUnitLetters.size()) % kUnitLetters.size()] +
                         kUnitLetters[unit % kUnitLetters.size()];
        postcodes[k] = pc;
        ++unit_fill;
        ++sector_fill;
        ++district_fill;
      }
      // Positions, then WGS84 in one PROJ batch per street.
      std::vector<Bng> points(props.size());
      std::size_t house = 0;
      for (std::size_t k = 0; k < props.size(); ++k) {
        if (props[k].parent != 0) {
          points[k] = points[k - 1];
          continue;
        }
        double along = 8.0 * static_cast<double>(house / 2) + 5;
        double side = (house % 2 == 0) ? 10 : -10;
        points[k] = Bng{std::round((sx + ux * along - uy * side) * 100) / 100, std::round((sy + uy * along + ux * side) * 100) / 100};
        ++house;
      }
      std::vector<LatLon> wgs;
      transformer_.to_wgs84(points, wgs);
      for (std::size_t k = 0; k < props.size(); ++k) {
        const Generated& g = props[k];
        address_records(g, usrn, la, points[k], wgs[k], postcodes[k]);
        maybe_query(g, props, street, locality, t, postcodes[k]);
        if (simple_ != nullptr) simple_row(g, street, locality, t, la, points[k], postcodes[k]);
      }
      produced += props.size();
      report.addresses += props.size();
      ++report.streets;
    }
    ++report.towns;
  }

  std::uint64_t next_uprn() {
    next_uprn_ += 1 + (rng_.chance(0.2) ? rng_.below(5) : 0);
    return next_uprn_;
  }

  void street_records(std::uint32_t usrn, const std::string& street, const std::string& locality, const Town& t,
                      const LocalAuthority& la, double sx, double sy, double ex, double ey) {
    abp_ << "11,\"I\",";
    abp_.num(++lines_) << ',';
    abp_.num(usrn) << ",1,";
    abp_.num(la.code) << ",2,2000-01-01,1,8,0,2000-01-01,,2024-05-01,2000-01-01,";
    abp_.fixed(sx, 2) << ',';
    abp_.fixed(sy, 2) << ",,,";
    abp_.fixed(ex, 2) << ',';
    abp_.fixed(ey, 2) << ",,,10\n";
    abp_ << "15,\"I\",";
    abp_.num(++lines_) << ',';
    abp_.num(usrn) << ',';
    abp_.quoted(street) << ',';
    abp_.quoted(locality) << ',';
    abp_.quoted(t.name) << ',';
    abp_.quoted(la.name) << ",\"ENG\",2000-01-01,,2024-05-01,2000-01-01\n";
  }

  void address_records(const Generated& g, std::uint32_t usrn, const LocalAuthority& la, const Bng& p, const LatLon& ll,
                       const std::string& postcode) {
    abp_ << "21,\"I\",";
    abp_.num(++lines_) << ',';
    abp_.num(g.uprn) << ",1,2,2000-01-01,";
    if (g.parent != 0) abp_.num(g.parent);
    abp_ << ',';
    abp_.fixed(p.easting, 2) << ',';
    abp_.fixed(p.northing, 2) << ',';
    abp_.fixed(ll.latitude, 7) << ',';
    abp_.fixed(ll.longitude, 7) << ",1,";
    abp_.num(la.code) << ",\"E\",2000-01-01,,2024-05-01,2000-01-01,\"D\",";
    abp_.quoted(postcode) << ",0\n";
    abp_ << "24,\"I\",";
    abp_.num(++lines_) << ',';
    abp_.num(g.uprn) << ",\"";
    abp_.num(la.code) << 'L';
    abp_.num(g.uprn) << "\",\"ENG\",1,2000-01-01,,2024-05-01,2000-01-01,";
    if (g.sao != 0) abp_.num(g.sao);
    abp_ << ",,,,\"\",";
    if (g.pao != 0) abp_.num(g.pao);
    abp_ << ',';
    if (g.pao_suffix != 0) abp_ << '"' << g.pao_suffix << '"';
    abp_ << ',';
    if (g.pao_end != 0) abp_.num(g.pao_end);
    abp_ << ",,";
    abp_.quoted(g.pao_text) << ',';
    abp_.num(usrn) << ",\"1\",\"\",\"\",\"Y\"\n";
    abp_ << "32,\"I\",";
    abp_.num(++lines_) << ',';
    abp_.num(g.uprn) << ",\"";
    abp_.num(la.code) << 'C';
    abp_.num(g.uprn) << "\",";
    abp_.quoted(g.classification) << ",\"AddressBase Premium Classification Scheme\",1.0,2000-01-01,,2024-05-01,2000-01-01\n";
  }

  void simple_row(const Generated& g, const std::string& street, const std::string& locality, const Town& t,
                  const LocalAuthority& la, const Bng& p, const std::string& postcode) {
    Writer& w = *simple_;
    w.num(g.uprn) << ',';
    if (g.parent != 0) w.num(g.parent);
    w << ',';
    if (g.sao != 0) w << "FLAT " << std::to_string(g.sao);
    w << ",\"" << building(g) << "\",";
    w.quoted(street) << ',';
    w.quoted(locality) << ',';
    w.quoted(t.name) << ',';
    w << postcode << ',';
    w.fixed(p.easting, 2) << ',';
    w.fixed(p.northing, 2) << ',';
    w.num(la.code) << ',' << g.classification << '\n';
  }

  static std::string building(const Generated& g) {
    std::string b;
    if (!g.pao_text.empty()) b = std::string(g.pao_text);
    if (g.pao != 0) {
      std::string n = std::to_string(g.pao);
      if (g.pao_suffix != 0) n.push_back(g.pao_suffix);
      if (g.pao_end != 0) n += "-" + std::to_string(g.pao_end);
      b = b.empty() ? n : b + " " + n;
    }
    return b;
  }

  // Noisy query for this address, as a call handler might type it.
  void maybe_query(const Generated& g, const std::vector<Generated>&, const std::string& street,
                   const std::string& locality, const Town& t, const std::string& postcode) {
    if (g.classification == "PP") return;  // the shell of a block of flats: nobody calls from there
    double p = o_.sample ? static_cast<double>(o_.queries) / 3000.0
                         : static_cast<double>(o_.queries) / static_cast<double>(std::max<std::uint64_t>(1, o_.addresses));
    if (report.queries >= o_.queries || !query_rng_.chance(p)) return;
    Rng& r = query_rng_;
    std::vector<std::string> parts;
    // Flat and building.
    std::string number = g.pao != 0 ? std::to_string(g.pao) : "";
    if (g.pao_suffix != 0) number += r.chance(0.5) ? std::string(1, g.pao_suffix) : " " + std::string(1, g.pao_suffix);
    if (g.pao_end != 0) number += "-" + std::to_string(g.pao_end);
    std::string name = std::string(g.pao_text);
    if (g.sao != 0) {
      double style = r.uniform();
      std::string flat = std::to_string(g.sao);
      if (!name.empty()) {
        parts.push_back((style < 0.5 ? "flat " : style < 0.8 ? "apartment " : "") + flat);
        parts.push_back(name);
      } else if (style < 0.45) {
        parts.push_back("flat " + flat);
        parts.push_back(number);
      } else if (style < 0.65) {
        parts.push_back(flat + "/" + number);
      } else if (style < 0.8) {
        parts.push_back("apartment " + flat + ",");
        parts.push_back(number);
      } else {
        parts.push_back(flat);
        parts.push_back(number);
      }
    } else {
      if (!name.empty()) parts.push_back(name);
      if (!number.empty()) parts.push_back(number);
    }
    // Street, with abbreviations and the odd typo.
    std::vector<std::string> street_words;
    {
      std::size_t pos = 0;
      while (pos < street.size()) {
        std::size_t end = street.find(' ', pos);
        if (end == std::string::npos) end = street.size();
        street_words.push_back(street.substr(pos, end - pos));
        pos = end + 1;
      }
    }
    if (!street_words.empty()) street_words.back() = abbreviate_type(street_words.back(), r);
    for (auto& w : street_words) {
      if (w == "ST" && &w != &street_words.back() && r.chance(0.3)) w = "SAINT";
    }
    bool typo_done = false;
    if (r.chance(0.35)) {
      std::size_t k = r.below(street_words.size());
      if (street_words[k].size() >= 5) {
        street_words[k] = typo(street_words[k], r);
        typo_done = true;
      }
    }
    std::string street_text;
    for (auto& w : street_words) street_text += (street_text.empty() ? "" : " ") + w;
    parts.push_back(street_text);
    double postcode_roll = r.uniform();
    bool include_town = r.chance(0.85);
    if (!include_town && postcode_roll > 0.5) postcode_roll = r.uniform() * 0.5;  // need some place
    if (!locality.empty() && r.chance(0.3)) parts.push_back(locality);
    std::string town = t.name;
    if (include_town) {
      if (!typo_done && r.chance(0.2)) town = typo(town, r);
      if (r.chance(0.1)) parts.insert(parts.begin(), town + ",");
      else parts.push_back(town);
    }
    if (postcode_roll < 0.3) {
      std::string pc = postcode;
      if (r.chance(0.3)) pc.erase(pc.find(' '), 1);
      parts.push_back(pc);
    } else if (postcode_roll < 0.5) {
      parts.push_back(postcode.substr(0, postcode.find(' ')));
    }
    std::string query;
    for (auto& part : parts) {
      if (part.empty()) continue;
      if (!query.empty()) query += r.chance(0.35) ? ", " : " ";
      query += part;
    }
    double case_roll = r.uniform();
    if (case_roll < 0.6) query = lower(query);
    else if (case_roll < 0.8) query = title_case(query);
    queries_.num(g.uprn) << '\t' << query << '\n';
    ++report.queries;
  }

  const GeneratorOptions& o_;
  Rng rng_;
  Rng query_rng_;
  Writer& abp_;
  Writer& queries_;
  Writer* simple_;
  const CoordinateTransformer& transformer_;
  std::uint64_t next_uprn_ = 10000000;
  std::uint32_t next_usrn_ = 20000000;
  std::uint64_t lines_ = 0;
};

}  // namespace

Result<GeneratorReport> generate_gazetteer(const GeneratorOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return Error::make("io", "cannot create " + options.out_dir + ": " + ec.message(), "out");
  auto transformer = CoordinateTransformer::create();
  if (!transformer) return transformer.error();
  std::string abp_path = options.out_dir + "/abp.csv";
  std::string queries_path = options.out_dir + "/queries.tsv";
  std::string simple_path = options.out_dir + "/addresses.csv";
  Writer abp(abp_path), queries(queries_path);
  std::unique_ptr<Writer> simple;
  if (options.sample) {
    simple = std::make_unique<Writer>(simple_path);
    *simple << "uprn,parent_uprn,sao,pao,street,locality,town,postcode,easting,northing,custodian,classification\n";
  }
  if (!abp.ok() || !queries.ok()) return Error::make("io", "cannot write into " + options.out_dir, "out");
  Generator g(options, abp, queries, simple.get(), *transformer);
  if (options.sample) g.plan_sample();
  else g.plan_national();
  g.write_header();
  g.generate_towns();
  g.write_trailer();
  GeneratorReport report = g.report;
  report.abp_csv = abp_path;
  report.queries_tsv = queries_path;
  if (simple) report.simple_csv = simple_path;
  if (!options.sample) {
    std::string path = options.out_dir + "/custodians.csv";
    Writer w(path);
    w << "local_custodian_code,local_authority,ons_code,police,fire,ambulance\n";
    for (const auto& la : g.las) {
      w.num(la.code) << ',' << la.name << ",," << la.police << ',' << la.fire << ',' << la.ambulance << '\n';
    }
    if (!w.close()) return Error::make("io", "cannot write " + path, "out");
    report.custodians_csv = path;
  }
  bool ok = abp.close() && queries.close() && (!simple || simple->close());
  if (!ok) return Error::make("io", "cannot write the generated files in " + options.out_dir, "out");
  return report;
}

}  // namespace deit::gazetteer
