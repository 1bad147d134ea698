#include "gazetteer/builder.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gazetteer/coords.hpp"
#include "gazetteer/io.hpp"
#include "gazetteer/postcode.hpp"
#include "gazetteer/snapshot_format.hpp"
#include "gazetteer/text.hpp"

namespace deit::gazetteer {

namespace embedded {
extern const std::string_view custodian_agencies_csv;
}

namespace {

using namespace snapshot;

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Deduplicated strings; an id is the byte offset of a u16 length + bytes record.
class StringPool {
 public:
  StringPool() { bytes_.assign(2, '\0'); }
  std::uint32_t intern(std::string_view s) {
    if (s.empty()) return 0;
    if (s.size() > 65535) s = s.substr(0, 65535);
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    auto id = static_cast<std::uint32_t>(bytes_.size());
    auto len = static_cast<std::uint16_t>(s.size());
    bytes_.push_back(static_cast<char>(len & 0xff));
    bytes_.push_back(static_cast<char>(len >> 8));
    bytes_.append(s);
    ids_.emplace(std::string(s), id);
    return id;
  }
  // Upper-cased, trimmed, inner whitespace collapsed: how names are stored.
  std::uint32_t intern_name(std::string_view s) {
    scratch_.clear();
    bool space = false;
    for (char c : s) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        space = !scratch_.empty();
        continue;
      }
      if (space) scratch_.push_back(' ');
      space = false;
      scratch_.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    return intern(scratch_);
  }
  std::string_view get(std::uint32_t id) const {
    auto len = static_cast<std::uint16_t>(static_cast<unsigned char>(bytes_[id]) |
                                          (static_cast<unsigned char>(bytes_[id + 1]) << 8));
    return std::string_view(bytes_).substr(id + 2, len);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
  std::string scratch_;
  std::unordered_map<std::string, std::uint32_t, TransparentHash, std::equal_to<>> ids_;
};

struct StreetTmp {
  std::uint32_t description = 0, locality = 0, town = 0, admin_area = 0;
  bool english = false;
};

struct BlpuTmp {
  std::uint64_t uprn;
  std::uint64_t parent;
  std::int32_t x_dm, y_dm, lat_e7, lon_e7;
  std::uint32_t postcode;
  std::uint32_t seq;
  std::uint16_t custodian;
  std::uint8_t status;
  std::uint8_t rpc;
  bool has_position;
  bool removed;
  char classification[6];
};

struct LpiTmp {
  std::uint64_t uprn;
  std::uint64_t key;
  std::uint32_t usrn;
  std::uint32_t sao_text, pao_text;
  std::uint32_t seq;
  std::uint16_t sao_start, sao_end, pao_start, pao_end;
  char sao_start_suffix, sao_end_suffix, pao_start_suffix, pao_end_suffix;
  std::uint8_t status;
  bool welsh;
  bool removed;
};

struct UprnText {  // organisation, DPA post town / locality / postcode, classification
  std::uint64_t uprn;
  std::uint32_t seq;
  std::uint32_t a = 0, b = 0, c = 0, d = 0;
  bool removed = false;
};

struct CoordTmp {
  std::uint64_t uprn;
  std::int32_t x_dm, y_dm, lat_e7, lon_e7;
};

std::int32_t to_dm(double metres) { return static_cast<std::int32_t>(std::lround(metres * 10.0)); }
std::int32_t to_e7(double degrees) { return static_cast<std::int32_t>(std::llround(degrees * 1e7)); }

class Collector : public RecordSink {
 public:
  StringPool pool;
  std::unordered_map<std::uint32_t, StreetTmp> streets;
  std::vector<BlpuTmp> blpus;
  std::vector<LpiTmp> lpis;
  std::vector<UprnText> classes;  // a = code (string id)
  std::vector<UprnText> orgs;     // a = organisation
  std::vector<UprnText> dpas;     // a = organisation, b = post town, c = dependent locality, d = postcode
  std::vector<CoordTmp> coords;
  std::uint32_t seq = 0;

  std::uint32_t postcode_id(std::string_view raw) {
    if (raw.empty()) return 0;
    auto it = postcode_cache_.find(raw);
    if (it != postcode_cache_.end()) return it->second;
    auto parsed = parse_postcode(raw);
    std::uint32_t id = 0;
    if (parsed.ok() && parsed->kind == Postcode::Kind::full) id = pool.intern(parsed->normalised());
    postcode_cache_.emplace(std::string(raw), id);
    return id;
  }

  void street_descriptor(const StreetDescriptorRecord& r) override {
    bool english = r.language.empty() || r.language == "ENG";
    if (r.change == Change::remove) {
      streets.erase(r.usrn);
      return;
    }
    auto it = streets.find(r.usrn);
    if (it != streets.end() && it->second.english && !english) return;  // keep the English form
    StreetTmp s;
    s.description = pool.intern_name(r.description);
    s.locality = pool.intern_name(r.locality);
    s.town = pool.intern_name(r.town);
    s.admin_area = pool.intern_name(r.administrative_area);
    s.english = english;
    streets[r.usrn] = s;
  }

  void blpu(const BlpuRecord& r) override {
    BlpuTmp b{};
    b.uprn = r.uprn;
    b.parent = r.parent_uprn;
    b.has_position = r.has_position;
    b.x_dm = to_dm(r.x);
    b.y_dm = to_dm(r.y);
    b.lat_e7 = to_e7(r.latitude);
    b.lon_e7 = to_e7(r.longitude);
    b.postcode = postcode_id(r.postcode_locator);
    b.seq = seq++;
    b.custodian = r.local_custodian_code;
    b.status = static_cast<std::uint8_t>(r.logical_status);
    b.rpc = static_cast<std::uint8_t>(r.rpc);
    b.removed = r.change == Change::remove;
    blpus.push_back(b);
  }

  void lpi(const LpiRecord& r) override {
    LpiTmp l{};
    l.uprn = r.uprn;
    l.key = text::stable_hash(r.lpi_key);
    l.usrn = r.usrn;
    l.sao_text = pool.intern_name(r.sao_text);
    l.pao_text = pool.intern_name(r.pao_text);
    l.seq = seq++;
    l.sao_start = r.sao_start_number;
    l.sao_end = r.sao_end_number;
    l.pao_start = r.pao_start_number;
    l.pao_end = r.pao_end_number;
    l.sao_start_suffix = r.sao_start_suffix;
    l.sao_end_suffix = r.sao_end_suffix;
    l.pao_start_suffix = r.pao_start_suffix;
    l.pao_end_suffix = r.pao_end_suffix;
    l.status = static_cast<std::uint8_t>(r.logical_status);
    l.welsh = r.language == "CYM";
    l.removed = r.change == Change::remove;
    lpis.push_back(l);
  }

  void classification(const ClassificationRecord& r) override {
    UprnText t{r.uprn, seq++};
    t.a = pool.intern_name(r.code);
    t.removed = r.change == Change::remove;
    classes.push_back(t);
  }

  void organisation(const OrganisationRecord& r) override {
    UprnText t{r.uprn, seq++};
    t.a = pool.intern_name(r.organisation);
    t.removed = r.change == Change::remove;
    orgs.push_back(t);
  }

  void delivery_point(const DeliveryPointRecord& r) override {
    UprnText t{r.uprn, seq++};
    t.a = pool.intern_name(r.organisation_name);
    t.b = pool.intern_name(r.post_town);
    t.c = pool.intern_name(r.dependent_locality);
    t.d = postcode_id(r.postcode);
    t.removed = r.change == Change::remove;
    dpas.push_back(t);
  }

  void coordinates(const CoordinateRecord& r) override {
    coords.push_back(CoordTmp{r.uprn, to_dm(r.x), to_dm(r.y), to_e7(r.latitude), to_e7(r.longitude)});
  }

 private:
  std::unordered_map<std::string, std::uint32_t, TransparentHash, std::equal_to<>> postcode_cache_;
};

// Sorts by (uprn, seq) and keeps the last record of each UPRN unless it is a deletion.
template <typename T, typename Key>
void keep_latest(std::vector<T>& v, Key key) {
  std::sort(v.begin(), v.end(), [&](const T& a, const T& b) {
    auto ka = key(a), kb = key(b);
    return ka != kb ? ka < kb : a.seq < b.seq;
  });
  std::size_t out = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i + 1 < v.size() && key(v[i + 1]) == key(v[i])) continue;
    if (v[i].removed) continue;
    v[out++] = v[i];
  }
  v.resize(out);
  v.shrink_to_fit();
}

// Finds the run of records for `uprn` in a vector sorted by uprn, advancing a cursor.
template <typename T>
const T* find_one(const std::vector<T>& v, std::size_t& cursor, std::uint64_t uprn) {
  while (cursor < v.size() && v[cursor].uprn < uprn) ++cursor;
  if (cursor < v.size() && v[cursor].uprn == uprn) return &v[cursor];
  return nullptr;
}

std::uint32_t round_up_pow2(std::size_t n) {
  std::uint32_t p = 16;
  while (p < n) p <<= 1;
  return p;
}

// Streams sections to a temporary file, then writes the header and renames, so a reader
// never sees a half-written snapshot and the builder never holds a second copy.
class SnapshotWriter {
 public:
  SnapshotWriter(Header* header, std::string path) : header_(header), path_(std::move(path)), tmp_(path_ + ".tmp") {
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (file_ != nullptr) ok_ = std::fwrite(header_, sizeof(Header), 1, file_) == 1;
    offset_ = sizeof(Header);
  }
  ~SnapshotWriter() {
    if (file_ != nullptr) std::fclose(file_);
  }
  void add(Section id, const void* data, std::size_t size) {
    static const char zeros[64] = {};
    std::size_t pad = (64 - offset_ % 64) % 64;
    if (file_ != nullptr && pad > 0) ok_ = std::fwrite(zeros, 1, pad, file_) == pad && ok_;
    offset_ += pad;
    header_->sections[id] = SectionRef{offset_, size};
    if (file_ != nullptr && size > 0) ok_ = std::fwrite(data, 1, size, file_) == size && ok_;
    offset_ += size;
  }
  template <typename T>
  void add(Section id, const std::vector<T>& v) {
    add(id, v.data(), v.size() * sizeof(T));
  }
  Status finish() {
    if (file_ == nullptr) return Error::make("io", "cannot create " + tmp_, "path");
    header_->file_size = offset_;
    ok_ = std::fseek(file_, 0, SEEK_SET) == 0 && ok_;
    ok_ = std::fwrite(header_, sizeof(Header), 1, file_) == 1 && ok_;
    ok_ = std::fflush(file_) == 0 && ok_;
    ok_ = std::fclose(file_) == 0 && ok_;
    file_ = nullptr;
    if (!ok_) return Error::make("io", "cannot write " + tmp_, "path");
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) return Error::make("io", "cannot rename " + tmp_, "path");
    return Status::success();
  }
  std::uint64_t size() const { return offset_; }

 private:
  Header* header_;
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  std::uint64_t offset_ = 0;
  bool ok_ = false;
};

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make("io", "cannot open " + path, "path");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<BuildReport> build_snapshot(const BuildOptions& options, const std::string& output_path) {
  using Clock = std::chrono::steady_clock;
  BuildReport report;
  auto t0 = Clock::now();
  Collector c;
  for (const auto& source : options.sources) {
    LoadStats stats;
    Status st = load_source(source.path, c, stats, source.format);
    if (!st.ok()) return st.error();
    report.load.merge(stats);
  }
  std::string custodians;
  if (options.custodian_table.empty()) {
    custodians = std::string(embedded::custodian_agencies_csv);
  } else {
    auto text = read_text_file(options.custodian_table);
    if (!text) return text.error();
    custodians = std::move(*text);
  }
  std::string boundaries;
  for (const auto& path : options.boundaries) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    if (!boundaries.empty()) boundaries += "\n\x1e\n";
    boundaries += *text;
  }
  auto t1 = Clock::now();
  report.load_seconds = std::chrono::duration<double>(t1 - t0).count();

  // --- join records by UPRN ------------------------------------------------------------
  keep_latest(c.blpus, [](const BlpuTmp& b) { return b.uprn; });
  keep_latest(c.classes, [](const UprnText& t) { return t.uprn; });
  keep_latest(c.orgs, [](const UprnText& t) { return t.uprn; });
  keep_latest(c.dpas, [](const UprnText& t) { return t.uprn; });
  std::sort(c.coords.begin(), c.coords.end(), [](const CoordTmp& a, const CoordTmp& b) { return a.uprn < b.uprn; });
  {
    // An LPI is identified by its key; keep the latest version of each.
    auto& v = c.lpis;
    std::sort(v.begin(), v.end(), [](const LpiTmp& a, const LpiTmp& b) {
      if (a.uprn != b.uprn) return a.uprn < b.uprn;
      if (a.key != b.key) return a.key < b.key;
      return a.seq < b.seq;
    });
    std::size_t out = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i + 1 < v.size() && v[i + 1].uprn == v[i].uprn && v[i + 1].key == v[i].key) continue;
      if (v[i].removed || v[i].status == 8) continue;  // deleted or historical
      v[out++] = v[i];
    }
    v.resize(out);
    v.shrink_to_fit();
  }

  std::vector<AddressEntry> entries;
  entries.reserve(c.lpis.size());
  // (usrn, name id) pairs of post towns / dependent localities that differ from the street's.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> extra_street_names;
  {
    std::size_t lpi_cursor = 0, class_cursor = 0, org_cursor = 0, dpa_cursor = 0, coord_cursor = 0;
    for (const BlpuTmp& b : c.blpus) {
      while (lpi_cursor < c.lpis.size() && c.lpis[lpi_cursor].uprn < b.uprn) ++lpi_cursor;
      std::size_t first = lpi_cursor, last = lpi_cursor;
      while (last < c.lpis.size() && c.lpis[last].uprn == b.uprn) ++last;
      if (first == last) {
        ++report.without_address;
        continue;
      }
      // The preferred LPI: approved, English, then the lowest status.
      std::size_t best = first;
      auto rank = [](const LpiTmp& l) { return (l.status == 1 ? 0 : l.status == 6 ? 2 : 4) + (l.welsh ? 1 : 0); };
      for (std::size_t i = first; i < last; ++i)
        if (rank(c.lpis[i]) < rank(c.lpis[best])) best = i;
      const UprnText* cls = find_one(c.classes, class_cursor, b.uprn);
      const UprnText* org = find_one(c.orgs, org_cursor, b.uprn);
      const UprnText* dpa = find_one(c.dpas, dpa_cursor, b.uprn);
      const CoordTmp* xy = find_one(c.coords, coord_cursor, b.uprn);
      for (std::size_t i = first; i < last; ++i) {
        const LpiTmp& l = c.lpis[i];
        AddressEntry e{};
        e.uprn = b.uprn;
        e.parent_uprn = b.parent;
        e.street = l.usrn;  // replaced by the street index below
        e.postcode = b.postcode != 0 ? b.postcode : (dpa != nullptr ? dpa->d : 0);
        e.sao_text = l.sao_text;
        e.pao_text = l.pao_text;
        e.organisation = org != nullptr ? org->a : (dpa != nullptr ? dpa->a : 0);
        e.easting_dm = b.x_dm;
        e.northing_dm = b.y_dm;
        e.lat_e7 = b.lat_e7;
        e.lon_e7 = b.lon_e7;
        bool has_position = b.has_position;
        if (xy != nullptr && !has_position) {
          e.easting_dm = xy->x_dm;
          e.northing_dm = xy->y_dm;
          e.lat_e7 = xy->lat_e7;
          e.lon_e7 = xy->lon_e7;
          has_position = true;
        }
        e.sao_start = l.sao_start;
        e.sao_end = l.sao_end;
        e.pao_start = l.pao_start;
        e.pao_end = l.pao_end;
        e.sao_start_suffix = l.sao_start_suffix;
        e.sao_end_suffix = l.sao_end_suffix;
        e.pao_start_suffix = l.pao_start_suffix;
        e.pao_end_suffix = l.pao_end_suffix;
        e.custodian = b.custodian;
        e.logical_status = l.status;
        e.rpc = b.rpc;
        e.flags = static_cast<std::uint8_t>((i == best ? 0 : kAlternative) | (l.welsh ? kWelsh : 0) |
                                            (has_position ? kHasPosition : 0));
        if (cls != nullptr) {
          std::string_view code = c.pool.get(cls->a);
          std::memcpy(e.classification, code.data(), std::min<std::size_t>(code.size(), 6));
        }
        entries.push_back(e);
      }
      if (dpa != nullptr) {
        const LpiTmp& l = c.lpis[best];
        auto street = c.streets.find(l.usrn);
        std::uint32_t town = street != c.streets.end() ? street->second.town : 0;
        std::uint32_t locality = street != c.streets.end() ? street->second.locality : 0;
        if (dpa->b != 0 && dpa->b != town && dpa->b != locality) extra_street_names.emplace_back(l.usrn, dpa->b);
        if (dpa->c != 0 && dpa->c != town && dpa->c != locality) extra_street_names.emplace_back(l.usrn, dpa->c);
      }
      lpi_cursor = last;
    }
  }
  std::vector<BlpuTmp>().swap(c.blpus);
  std::vector<LpiTmp>().swap(c.lpis);
  std::vector<UprnText>().swap(c.classes);
  std::vector<UprnText>().swap(c.orgs);
  std::vector<UprnText>().swap(c.dpas);
  std::vector<CoordTmp>().swap(c.coords);
  std::sort(extra_street_names.begin(), extra_street_names.end());
  extra_street_names.erase(std::unique(extra_street_names.begin(), extra_street_names.end()), extra_street_names.end());

  // Fill WGS84 where the sources gave only grid coordinates.
  {
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if ((entries[i].flags & kHasPosition) && entries[i].lat_e7 == 0 && entries[i].lon_e7 == 0) missing.push_back(i);
    if (!missing.empty()) {
      auto transformer = CoordinateTransformer::create(options.ostn15_grid);
      if (!transformer) return transformer.error();
      std::vector<Bng> in;
      std::vector<LatLon> out;
      for (std::size_t start = 0; start < missing.size(); start += 1 << 20) {
        std::size_t end = std::min(missing.size(), start + (1u << 20));
        in.clear();
        for (std::size_t k = start; k < end; ++k)
          in.push_back(Bng{entries[missing[k]].easting_dm / 10.0, entries[missing[k]].northing_dm / 10.0});
        transformer->to_wgs84(in, out);
        for (std::size_t k = start; k < end; ++k) {
          const LatLon& ll = out[k - start];
          if (std::isfinite(ll.latitude)) {
            entries[missing[k]].lat_e7 = to_e7(ll.latitude);
            entries[missing[k]].lon_e7 = to_e7(ll.longitude);
          }
        }
      }
    }
  }

  // --- streets -------------------------------------------------------------------------
  std::vector<std::uint32_t> usrns;
  usrns.reserve(entries.size() / 8 + 16);
  for (const auto& e : entries) usrns.push_back(e.street);
  std::sort(usrns.begin(), usrns.end());
  usrns.erase(std::unique(usrns.begin(), usrns.end()), usrns.end());
  for (auto& e : entries)
    e.street = static_cast<std::uint32_t>(std::lower_bound(usrns.begin(), usrns.end(), e.street) - usrns.begin());

  auto text_of = [&](std::uint32_t id) { return c.pool.get(id); };
  std::sort(entries.begin(), entries.end(), [&](const AddressEntry& a, const AddressEntry& b) {
    if (a.street != b.street) return a.street < b.street;
    if (a.pao_start != b.pao_start) return a.pao_start < b.pao_start;
    if (a.pao_start_suffix != b.pao_start_suffix) return a.pao_start_suffix < b.pao_start_suffix;
    if (a.pao_text != b.pao_text) return text_of(a.pao_text) < text_of(b.pao_text);
    if (a.sao_start != b.sao_start) return a.sao_start < b.sao_start;
    if (a.sao_start_suffix != b.sao_start_suffix) return a.sao_start_suffix < b.sao_start_suffix;
    if (a.sao_text != b.sao_text) return text_of(a.sao_text) < text_of(b.sao_text);
    if (a.flags != b.flags) return a.flags < b.flags;
    return a.uprn < b.uprn;
  });

  std::vector<StreetEntry> streets(usrns.size());
  for (std::size_t i = 0; i < usrns.size(); ++i) {
    StreetEntry& s = streets[i];
    s = StreetEntry{};
    s.usrn = usrns[i];
    auto it = c.streets.find(usrns[i]);
    if (it != c.streets.end()) {
      s.description = it->second.description;
      s.locality = it->second.locality;
      s.town = it->second.town;
      s.admin_area = it->second.admin_area;
    }
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    StreetEntry& s = streets[entries[i].street];
    if (s.address_count == 0) s.first_address = static_cast<std::uint32_t>(i);
    ++s.address_count;
  }

  // --- terms ---------------------------------------------------------------------------
  std::unordered_map<std::string, std::uint32_t, TransparentHash, std::equal_to<>> term_ids;
  std::vector<TermEntry> terms;
  auto term_id = [&](std::string_view t, TermKind kind) {
    auto it = term_ids.find(t);
    if (it != term_ids.end()) return it->second;
    auto id = static_cast<std::uint32_t>(terms.size());
    terms.push_back(TermEntry{c.pool.intern(t), 0, 0, kind});
    term_ids.emplace(std::string(t), id);
    return id;
  };
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> name_terms;  // name string id -> term ids
  auto terms_of_name = [&](std::uint32_t name) -> const std::vector<std::uint32_t>& {
    auto it = name_terms.find(name);
    if (it != name_terms.end()) return it->second;
    std::vector<std::uint32_t> ids;
    for (auto& w : text::canonical_words(c.pool.get(name))) ids.push_back(term_id(w, kWord));
    return name_terms.emplace(name, std::move(ids)).first->second;
  };
  std::unordered_map<std::uint32_t, std::pair<std::uint32_t, std::uint32_t>> postcode_terms;
  std::vector<std::uint32_t> street_terms;
  street_terms.reserve(streets.size() * 10);
  std::vector<std::uint32_t> scratch;
  std::size_t extra_cursor = 0;
  for (std::size_t i = 0; i < streets.size(); ++i) {
    StreetEntry& s = streets[i];
    scratch.clear();
    for (std::uint32_t name : {s.description, s.locality, s.town, s.admin_area}) {
      if (name == 0) continue;
      const auto& ids = terms_of_name(name);
      scratch.insert(scratch.end(), ids.begin(), ids.end());
    }
    while (extra_cursor < extra_street_names.size() && extra_street_names[extra_cursor].first < s.usrn) ++extra_cursor;
    for (std::size_t k = extra_cursor; k < extra_street_names.size() && extra_street_names[k].first == s.usrn; ++k) {
      const auto& ids = terms_of_name(extra_street_names[k].second);
      scratch.insert(scratch.end(), ids.begin(), ids.end());
    }
    std::uint32_t previous_postcode = 0;
    for (std::uint32_t a = s.first_address; a < s.first_address + s.address_count; ++a) {
      std::uint32_t pc = entries[a].postcode;
      if (pc == 0 || pc == previous_postcode) continue;
      previous_postcode = pc;
      auto it = postcode_terms.find(pc);
      if (it == postcode_terms.end()) {
        auto parsed = parse_postcode(c.pool.get(pc));
        std::pair<std::uint32_t, std::uint32_t> ids{0, 0};
        if (parsed.ok()) ids = {term_id("@" + parsed->outward, kOutward) + 1, term_id("@" + parsed->sector(), kSector) + 1};
        it = postcode_terms.emplace(pc, ids).first;
      }
      if (it->second.first != 0) {
        scratch.push_back(it->second.first - 1);
        scratch.push_back(it->second.second - 1);
      }
    }
    std::sort(scratch.begin(), scratch.end());
    scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    s.terms_offset = static_cast<std::uint32_t>(street_terms.size());
    s.terms_count = static_cast<std::uint32_t>(scratch.size());
    street_terms.insert(street_terms.end(), scratch.begin(), scratch.end());
  }
  // Postings: street indexes per term, ascending because streets are visited in order.
  for (std::uint32_t t : street_terms) ++terms[t].postings_count;
  std::uint32_t running = 0;
  for (auto& t : terms) {
    t.postings_offset = running;
    running += t.postings_count;
  }
  std::vector<std::uint32_t> postings(running);
  {
    std::vector<std::uint32_t> fill(terms.size(), 0);
    for (std::size_t i = 0; i < streets.size(); ++i)
      for (std::uint32_t k = 0; k < streets[i].terms_count; ++k) {
        std::uint32_t t = street_terms[streets[i].terms_offset + k];
        postings[terms[t].postings_offset + fill[t]++] = static_cast<std::uint32_t>(i);
      }
  }
  std::vector<std::uint32_t> term_hash(round_up_pow2(terms.size() * 2));
  for (std::uint32_t t = 0; t < terms.size(); ++t) {
    std::size_t mask = term_hash.size() - 1;
    std::size_t slot = text::stable_hash(c.pool.get(terms[t].text)) & mask;
    while (term_hash[slot] != 0) slot = (slot + 1) & mask;
    term_hash[slot] = t + 1;
  }
  std::vector<FuzzySlot> fuzzy;
  {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> keys;
    for (std::uint32_t t = 0; t < terms.size(); ++t) {
      if (terms[t].kind != kWord) continue;
      std::string_view w = c.pool.get(terms[t].text);
      if (w.size() < 4) continue;
      keys.emplace_back(text::stable_hash(w), t);
      std::string d;
      for (std::size_t k = 0; k < w.size(); ++k) {
        if (k > 0 && w[k] == w[k - 1]) continue;  // same deletion as the previous letter
        d.assign(w.substr(0, k));
        d.append(w.substr(k + 1));
        keys.emplace_back(text::stable_hash(d), t);
      }
    }
    fuzzy.assign(round_up_pow2(keys.size() * 2), FuzzySlot{0, 0, 0});
    std::size_t mask = fuzzy.size() - 1;
    for (auto& [key, t] : keys) {
      std::size_t slot = key & mask;
      while (fuzzy[slot].term_plus1 != 0) slot = (slot + 1) & mask;
      fuzzy[slot] = FuzzySlot{key, t + 1, 0};
    }
  }

  // --- UPRN, postcode and grid indexes (preferred entries only) -----------------------
  std::vector<std::pair<std::uint64_t, std::uint32_t>> by_uprn;
  std::vector<std::pair<std::string_view, std::uint32_t>> by_postcode;
  for (std::uint32_t i = 0; i < entries.size(); ++i) {
    if (entries[i].flags & kAlternative) continue;
    by_uprn.emplace_back(entries[i].uprn, i);
    if (entries[i].postcode != 0) by_postcode.emplace_back(c.pool.get(entries[i].postcode), i);
  }
  std::sort(by_uprn.begin(), by_uprn.end());
  std::vector<std::uint64_t> uprn_keys(by_uprn.size());
  std::vector<std::uint32_t> uprn_addresses(by_uprn.size());
  for (std::size_t i = 0; i < by_uprn.size(); ++i) {
    uprn_keys[i] = by_uprn[i].first;
    uprn_addresses[i] = by_uprn[i].second;
  }
  std::vector<std::pair<std::uint64_t, std::uint32_t>>().swap(by_uprn);
  std::sort(by_postcode.begin(), by_postcode.end());
  std::vector<PostcodeEntry> postcodes;
  std::vector<std::uint32_t> postcode_addresses(by_postcode.size());
  for (std::size_t i = 0; i < by_postcode.size(); ++i) {
    postcode_addresses[i] = by_postcode[i].second;
    if (i == 0 || by_postcode[i].first != by_postcode[i - 1].first) {
      PostcodeEntry p{};
      std::memcpy(p.code, by_postcode[i].first.data(), std::min<std::size_t>(8, by_postcode[i].first.size()));
      p.first = static_cast<std::uint32_t>(i);
      postcodes.push_back(p);
    }
    ++postcodes.back().count;
  }
  std::vector<std::pair<std::string_view, std::uint32_t>>().swap(by_postcode);

  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kVersion;
  header.endian = kEndianCheck;
  header.grid_cell_m = options.grid_cell_m > 0 ? options.grid_cell_m : 500;
  // The grid covers the data's extent (whole cells), so a small sample stays small.
  {
    double min_e = 1e12, min_n = 1e12, max_e = -1e12, max_n = -1e12;
    for (const auto& e : entries) {
      if (!(e.flags & kHasPosition)) continue;
      min_e = std::min(min_e, e.easting_dm / 10.0);
      max_e = std::max(max_e, e.easting_dm / 10.0);
      min_n = std::min(min_n, e.northing_dm / 10.0);
      max_n = std::max(max_n, e.northing_dm / 10.0);
    }
    if (min_e > max_e) min_e = max_e = min_n = max_n = 0;
    const double c = header.grid_cell_m;
    header.grid_min_e = std::floor(min_e / c) * c;
    header.grid_min_n = std::floor(min_n / c) * c;
    header.grid_cols = static_cast<std::uint32_t>(std::floor((max_e - header.grid_min_e) / c)) + 1;
    header.grid_rows = static_cast<std::uint32_t>(std::floor((max_n - header.grid_min_n) / c)) + 1;
  }
  const std::size_t cells = static_cast<std::size_t>(header.grid_cols) * header.grid_rows;
  std::vector<std::uint32_t> grid_cells(cells + 1, 0);
  std::vector<std::uint32_t> grid_addresses;
  {
    auto cell_of = [&](const AddressEntry& e) -> std::int64_t {
      if (!(e.flags & kHasPosition) || (e.flags & kAlternative)) return -1;
      auto col = static_cast<std::int64_t>(std::floor((e.easting_dm / 10.0 - header.grid_min_e) / header.grid_cell_m));
      auto row = static_cast<std::int64_t>(std::floor((e.northing_dm / 10.0 - header.grid_min_n) / header.grid_cell_m));
      if (col < 0 || row < 0 || col >= header.grid_cols || row >= header.grid_rows) return -1;
      return row * header.grid_cols + col;
    };
    for (const auto& e : entries) {
      auto cell = cell_of(e);
      if (cell >= 0) ++grid_cells[static_cast<std::size_t>(cell) + 1];
    }
    for (std::size_t i = 1; i <= cells; ++i) grid_cells[i] += grid_cells[i - 1];
    grid_addresses.resize(grid_cells[cells]);
    std::vector<std::uint32_t> fill(grid_cells.begin(), grid_cells.end() - 1);
    for (std::uint32_t i = 0; i < entries.size(); ++i) {
      auto cell = cell_of(entries[i]);
      if (cell >= 0) grid_addresses[fill[static_cast<std::size_t>(cell)]++] = i;
    }
  }

  header.address_count = entries.size();
  header.street_count = streets.size();
  header.term_count = terms.size();
  header.postcode_count = postcodes.size();
  header.uprn_count = uprn_keys.size();
  header.term_hash_slots = static_cast<std::uint32_t>(term_hash.size());
  header.fuzzy_hash_slots = static_cast<std::uint32_t>(fuzzy.size());
  header.built_unix_time = static_cast<std::int64_t>(std::time(nullptr));

  std::ostringstream meta;
  meta << "addresses=" << entries.size() << "\nuprns=" << uprn_keys.size() << "\nstreets=" << streets.size()
       << "\nterms=" << terms.size() << "\npostcodes=" << postcodes.size()
       << "\nskipped_lines=" << report.load.skipped << "\n";
  for (const auto& s : options.sources) meta << "source=" << s.path << "\n";
  std::string meta_text = meta.str();

  SnapshotWriter writer(&header, output_path);
  writer.add(kStrings, c.pool.bytes().data(), c.pool.bytes().size());
  writer.add(kStreets, streets);
  writer.add(kStreetTerms, street_terms);
  writer.add(kAddresses, entries);
  writer.add(kUprnKeys, uprn_keys);
  writer.add(kUprnAddresses, uprn_addresses);
  writer.add(kTerms, terms);
  writer.add(kTermHash, term_hash);
  writer.add(kPostings, postings);
  writer.add(kFuzzyHash, fuzzy);
  writer.add(kPostcodes, postcodes);
  writer.add(kPostcodeAddresses, postcode_addresses);
  writer.add(kGridCells, grid_cells);
  writer.add(kGridAddresses, grid_addresses);
  writer.add(kCustodians, custodians.data(), custodians.size());
  writer.add(kBoundaries, boundaries.data(), boundaries.size());
  writer.add(kMeta, meta_text.data(), meta_text.size());
  report.bytes = writer.size();
  Status st = writer.finish();
  if (!st.ok()) return st.error();

  report.addresses = entries.size();
  report.uprns = uprn_keys.size();
  report.streets = streets.size();
  report.terms = terms.size();
  report.postcodes = postcodes.size();
  report.index_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return report;
}

}  // namespace deit::gazetteer
