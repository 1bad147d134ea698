// AddressBase Premium CSV, OS Open UPRN CSV and the simple CSV, plus format detection.

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "gazetteer/io.hpp"
#include "gazetteer/loaders.hpp"
#include "gazetteer/model.hpp"
#include "gazetteer/postcode.hpp"
#include "gazetteer/text.hpp"

namespace deit::gazetteer {

void LoadStats::problem(const std::string& file, std::size_t line, std::string message, std::string field) {
  ++skipped;
  if (problems.size() >= kMaxProblems) return;
  Error e = Error::make("malformed-record", file + ":" + std::to_string(line) + ": " + std::move(message),
                        std::move(field));
  e.line = static_cast<int>(line);
  problems.push_back(std::move(e));
}

void LoadStats::merge(const LoadStats& other) {
  lines += other.lines;
  records += other.records;
  skipped += other.skipped;
  ignored += other.ignored;
  for (const auto& p : other.problems) {
    if (problems.size() >= kMaxProblems) break;
    problems.push_back(p);
  }
}

namespace {

// Parses one typed field or records why the line is bad. Keeps the record parsers flat.
class FieldReader {
 public:
  FieldReader(const std::vector<std::string_view>& fields, const char* record) : f_(fields), record_(record) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& field() const { return field_; }

  // Built by appending: GCC 12 reports a false -Wrestrict on chained operator+ at -O3.
  static std::string quote(std::string_view value, std::string_view tail) {
    std::string m;
    m.reserve(value.size() + tail.size() + 3);
    m.push_back('\'');
    m.append(value);
    m.append("' ");
    m.append(tail);
    return m;
  }
  std::string_view text(std::size_t i) const { return i < f_.size() ? f_[i] : std::string_view{}; }
  template <typename T, typename Parse>
  T number(std::size_t i, const char* name, Parse parse) {
    T v{};
    if (ok() && !parse(text(i), &v)) fail(name, quote(text(i), "is not a number"));
    return v;
  }
  std::uint64_t u64(std::size_t i, const char* name) { return number<std::uint64_t>(i, name, io::parse_u64); }
  std::uint32_t u32(std::size_t i, const char* name) { return number<std::uint32_t>(i, name, io::parse_u32); }
  std::uint16_t u16(std::size_t i, const char* name) { return number<std::uint16_t>(i, name, io::parse_u16); }
  int integer(std::size_t i, const char* name) { return number<int>(i, name, io::parse_int); }
  double real(std::size_t i, const char* name) { return number<double>(i, name, io::parse_double); }
  char suffix(std::size_t i, const char* name) {
    char c = 0;
    if (ok() && !io::parse_suffix(text(i), &c)) fail(name, quote(text(i), "is not a single-letter suffix"));
    return c;
  }
  Change change() {
    std::string_view c = text(1);
    if (c == "I") return Change::insert;
    if (c == "U") return Change::update;
    if (c == "D") return Change::remove;
    fail("CHANGE_TYPE", "change type '" + std::string(c) + "' is not I, U or D");
    return Change::insert;
  }
  void require_key(std::uint64_t key, const char* name) {
    if (ok() && key == 0) fail(name, "missing " + std::string(name));
  }
  void fail(const char* name, std::string message) {
    if (!ok()) return;
    field_ = name;
    error_ = std::string("record ") + record_ + " " + name + ": " + message;
  }

 private:
  const std::vector<std::string_view>& f_;
  const char* record_;
  std::string error_;
  std::string field_;
};

struct RecordShape {
  int id;
  std::size_t fields;  // minimum number of fields
  const char* name;
};

constexpr std::array<RecordShape, 12> kShapes{{{10, 9, "10"},
                                               {11, 24, "11"},
                                               {15, 13, "15"},
                                               {21, 22, "21"},
                                               {23, 12, "23"},
                                               {24, 26, "24"},
                                               {28, 29, "28"},
                                               {29, 2, "29"},
                                               {30, 2, "30"},
                                               {31, 11, "31"},
                                               {32, 12, "32"},
                                               {99, 5, "99"}}};

}  // namespace

namespace {

// `mapped`, when the data is a mapped file, lets go of pages already read.
Status parse_abp_csv(std::string_view data, const std::string& path, RecordSink& sink, LoadStats& stats,
                     const io::MappedFile* mapped) {
  io::LineReader lines(data);
  std::vector<std::string_view> f;
  f.reserve(40);
  std::string scratch;
  std::string_view line;
  std::size_t released = 0;
  while (lines.next(&line)) {
    ++stats.lines;
    const std::size_t ln = lines.line_number();
    if (mapped != nullptr && lines.position() - released > (256u << 20)) {  // national files are many GB
      released = lines.position() - 4096;
      mapped->release_before(released);
    }
    if (line.empty()) continue;
    if (!io::split_csv(line, f, scratch)) {
      stats.problem(path, ln, "unterminated quoted field");
      continue;
    }
    int id = 0;
    if (!io::parse_int(f[0], &id) || f[0].empty()) {
      stats.problem(path, ln, "record identifier '" + std::string(f[0]) + "' is not a number", "RECORD_IDENTIFIER");
      continue;
    }
    auto shape = std::find_if(kShapes.begin(), kShapes.end(), [id](const RecordShape& s) { return s.id == id; });
    if (shape == kShapes.end()) {
      stats.problem(path, ln, "unknown record identifier " + std::to_string(id), "RECORD_IDENTIFIER");
      continue;
    }
    if (f.size() < shape->fields) {
      stats.problem(path, ln,
                    "record " + std::string(shape->name) + " has " + std::to_string(f.size()) + " fields, expected " +
                        std::to_string(shape->fields));
      continue;
    }
    FieldReader r(f, shape->name);
    switch (id) {
      case 11: {
        StreetRecord s;
        s.change = r.change();
        s.usrn = r.u32(3, "USRN");
        r.require_key(s.usrn, "USRN");
        s.record_type = r.integer(4, "RECORD_TYPE");
        s.start_x = r.real(15, "STREET_START_X");
        s.start_y = r.real(16, "STREET_START_Y");
        s.end_x = r.real(19, "STREET_END_X");
        s.end_y = r.real(20, "STREET_END_Y");
        if (r.ok()) sink.street(s);
        break;
      }
      case 15: {
        StreetDescriptorRecord s;
        s.change = r.change();
        s.usrn = r.u32(3, "USRN");
        r.require_key(s.usrn, "USRN");
        s.description = r.text(4);
        s.locality = r.text(5);
        s.town = r.text(6);
        s.administrative_area = r.text(7);
        s.language = r.text(8);
        if (r.ok()) sink.street_descriptor(s);
        break;
      }
      case 21: {
        BlpuRecord b;
        b.change = r.change();
        b.uprn = r.u64(3, "UPRN");
        r.require_key(b.uprn, "UPRN");
        b.logical_status = r.integer(4, "LOGICAL_STATUS");
        b.blpu_state = r.integer(5, "BLPU_STATE");
        b.parent_uprn = r.u64(7, "PARENT_UPRN");
        b.has_position = !r.text(8).empty() && !r.text(9).empty();
        b.x = r.real(8, "X_COORDINATE");
        b.y = r.real(9, "Y_COORDINATE");
        b.latitude = r.real(10, "LATITUDE");
        b.longitude = r.real(11, "LONGITUDE");
        b.rpc = r.integer(12, "RPC");
        b.local_custodian_code = r.u16(13, "LOCAL_CUSTODIAN_CODE");
        b.postcode_locator = r.text(20);
        if (r.ok()) sink.blpu(b);
        break;
      }
      case 24: {
        LpiRecord l;
        l.change = r.change();
        l.uprn = r.u64(3, "UPRN");
        r.require_key(l.uprn, "UPRN");
        l.lpi_key = r.text(4);
        l.language = r.text(5);
        l.logical_status = r.integer(6, "LOGICAL_STATUS");
        l.sao_start_number = r.u16(11, "SAO_START_NUMBER");
        l.sao_start_suffix = r.suffix(12, "SAO_START_SUFFIX");
        l.sao_end_number = r.u16(13, "SAO_END_NUMBER");
        l.sao_end_suffix = r.suffix(14, "SAO_END_SUFFIX");
        l.sao_text = r.text(15);
        l.pao_start_number = r.u16(16, "PAO_START_NUMBER");
        l.pao_start_suffix = r.suffix(17, "PAO_START_SUFFIX");
        l.pao_end_number = r.u16(18, "PAO_END_NUMBER");
        l.pao_end_suffix = r.suffix(19, "PAO_END_SUFFIX");
        l.pao_text = r.text(20);
        l.usrn = r.u32(21, "USRN");
        l.area_name = r.text(23);
        l.level = r.text(24);
        if (r.ok()) sink.lpi(l);
        break;
      }
      case 28: {
        DeliveryPointRecord d;
        d.change = r.change();
        d.uprn = r.u64(3, "UPRN");
        r.require_key(d.uprn, "UPRN");
        d.udprn = r.u64(4, "UDPRN");
        d.organisation_name = r.text(5);
        d.sub_building_name = r.text(7);
        d.building_name = r.text(8);
        d.building_number = r.u16(9, "BUILDING_NUMBER");
        d.thoroughfare = r.text(11);
        d.dependent_locality = r.text(13);
        d.post_town = r.text(14);
        d.postcode = r.text(15);
        if (r.ok()) sink.delivery_point(d);
        break;
      }
      case 31: {
        OrganisationRecord o;
        o.change = r.change();
        o.uprn = r.u64(3, "UPRN");
        r.require_key(o.uprn, "UPRN");
        o.organisation = r.text(5);
        if (r.ok()) sink.organisation(o);
        break;
      }
      case 32: {
        ClassificationRecord c;
        c.change = r.change();
        c.uprn = r.u64(3, "UPRN");
        r.require_key(c.uprn, "UPRN");
        c.code = r.text(5);
        c.scheme = r.text(6);
        if (r.ok()) sink.classification(c);
        break;
      }
      case 23:
      case 30:
        r.change();
        if (r.ok()) ++stats.ignored;
        break;
      default:  // 10 header, 29 metadata, 99 trailer
        ++stats.ignored;
        break;
    }
    if (!r.ok()) {
      stats.problem(path, ln, r.error(), r.field());
      continue;
    }
    ++stats.records;
  }
  return Status::success();
}

}  // namespace

Status load_abp_csv(const std::string& path, RecordSink& sink, LoadStats& stats) {
  auto file = io::MappedFile::open(path, true);
  if (!file) return file.error();
  return parse_abp_csv(file->view(), path, sink, stats, &file.value());
}

Status load_abp_csv_data(std::string_view data, const std::string& name, RecordSink& sink, LoadStats& stats) {
  return parse_abp_csv(data, name, sink, stats, nullptr);
}

namespace {

// Column positions by header name (case-insensitive); -1 when absent.
class Header {
 public:
  explicit Header(const std::vector<std::string_view>& names) {
    for (std::size_t i = 0; i < names.size(); ++i) index_[text::to_upper(text::trim(names[i]))] = static_cast<int>(i);
  }
  int at(std::string_view name) const {
    auto it = index_.find(text::to_upper(name));
    return it == index_.end() ? -1 : it->second;
  }

 private:
  std::unordered_map<std::string, int> index_;
};

std::string_view column(const std::vector<std::string_view>& f, int i) {
  return i >= 0 && static_cast<std::size_t>(i) < f.size() ? f[static_cast<std::size_t>(i)] : std::string_view{};
}

}  // namespace

Status load_open_uprn_csv(const std::string& path, RecordSink& sink, LoadStats& stats) {
  auto file = io::MappedFile::open(path, true);
  if (!file) return file.error();
  return load_open_uprn_csv_data(file->view(), path, sink, stats);
}

Status load_open_uprn_csv_data(std::string_view data, const std::string& path, RecordSink& sink, LoadStats& stats) {
  io::LineReader lines(data);
  std::vector<std::string_view> f;
  std::string scratch;
  std::string_view line;
  if (!lines.next(&line) || !io::split_csv(line, f, scratch))
    return Error::make("format", path + ": missing header row", "header");
  ++stats.lines;
  Header h(f);
  const int c_uprn = h.at("UPRN"), c_x = h.at("X_COORDINATE"), c_y = h.at("Y_COORDINATE"), c_lat = h.at("LATITUDE"),
            c_lon = h.at("LONGITUDE");
  if (c_uprn < 0 || c_x < 0 || c_y < 0)
    return Error::make("format", path + ": header must name UPRN, X_COORDINATE and Y_COORDINATE", "header");
  while (lines.next(&line)) {
    ++stats.lines;
    if (line.empty()) continue;
    const std::size_t ln = lines.line_number();
    if (!io::split_csv(line, f, scratch)) {
      stats.problem(path, ln, "unterminated quoted field");
      continue;
    }
    CoordinateRecord c;
    if (!io::parse_u64(column(f, c_uprn), &c.uprn) || c.uprn == 0) {
      stats.problem(path, ln, "UPRN '" + std::string(column(f, c_uprn)) + "' is not a number", "UPRN");
      continue;
    }
    if (!io::parse_double(column(f, c_x), &c.x) || !io::parse_double(column(f, c_y), &c.y) ||
        column(f, c_x).empty() || column(f, c_y).empty()) {
      stats.problem(path, ln, "X_COORDINATE/Y_COORDINATE are not numbers", "X_COORDINATE");
      continue;
    }
    if (!io::parse_double(column(f, c_lat), &c.latitude) || !io::parse_double(column(f, c_lon), &c.longitude)) {
      stats.problem(path, ln, "LATITUDE/LONGITUDE are not numbers", "LATITUDE");
      continue;
    }
    sink.coordinates(c);
    ++stats.records;
  }
  return Status::success();
}

Status load_simple_csv(const std::string& path, RecordSink& sink, LoadStats& stats) {
  auto file = io::MappedFile::open(path, true);
  if (!file) return file.error();
  return load_simple_csv_data(file->view(), path, sink, stats);
}

Status load_simple_csv_data(std::string_view data, const std::string& path, RecordSink& sink, LoadStats& stats) {
  io::LineReader lines(data);
  std::vector<std::string_view> f;
  std::string scratch;
  std::string_view line;
  if (!lines.next(&line) || !io::split_csv(line, f, scratch))
    return Error::make("format", path + ": missing header row", "header");
  ++stats.lines;
  Header h(f);
  const int c_uprn = h.at("uprn");
  if (c_uprn < 0) return Error::make("format", path + ": header must name a uprn column", "header");
  const int c_parent = h.at("parent_uprn"), c_usrn = h.at("usrn"), c_sao = h.at("sao"), c_pao = h.at("pao"),
            c_org = h.at("organisation"), c_street = h.at("street"), c_loc = h.at("locality"), c_town = h.at("town"),
            c_admin = h.at("admin_area"), c_pc = h.at("postcode"), c_e = h.at("easting"), c_n = h.at("northing"),
            c_lat = h.at("latitude"), c_lon = h.at("longitude"), c_cust = h.at("custodian"),
            c_class = h.at("classification"), c_status = h.at("logical_status");
  std::unordered_map<std::string, std::uint32_t> synthetic_usrn;
  while (lines.next(&line)) {
    ++stats.lines;
    if (line.empty()) continue;
    const std::size_t ln = lines.line_number();
    if (!io::split_csv(line, f, scratch)) {
      stats.problem(path, ln, "unterminated quoted field");
      continue;
    }
    BlpuRecord b;
    LpiRecord l;
    if (!io::parse_u64(column(f, c_uprn), &b.uprn) || b.uprn == 0) {
      stats.problem(path, ln, "uprn '" + std::string(column(f, c_uprn)) + "' is not a number", "uprn");
      continue;
    }
    std::uint32_t usrn = 0;
    std::uint16_t custodian = 0;
    int status = 1;
    if (!io::parse_u64(column(f, c_parent), &b.parent_uprn) || !io::parse_u32(column(f, c_usrn), &usrn) ||
        !io::parse_u16(column(f, c_cust), &custodian) || !io::parse_int(column(f, c_status), &status) ||
        !io::parse_double(column(f, c_e), &b.x) || !io::parse_double(column(f, c_n), &b.y) ||
        !io::parse_double(column(f, c_lat), &b.latitude) || !io::parse_double(column(f, c_lon), &b.longitude)) {
      stats.problem(path, ln, "a numeric column (parent_uprn, usrn, custodian, easting, northing, ...) is not a number");
      continue;
    }
    std::string_view street = column(f, c_street), locality = column(f, c_loc), town = column(f, c_town);
    if (usrn == 0) {
      // No USRN column: one synthetic street per (street, locality, town).
      std::string key = text::canonical_name(street) + "|" + text::canonical_name(locality) + "|" +
                        text::canonical_name(town);
      auto [it, inserted] = synthetic_usrn.emplace(key, 0);
      if (inserted) it->second = 90000000u + static_cast<std::uint32_t>(synthetic_usrn.size());
      usrn = it->second;
      if (inserted) {
        StreetDescriptorRecord s;
        s.usrn = usrn;
        s.description = street;
        s.locality = locality;
        s.town = town;
        s.administrative_area = column(f, c_admin);
        s.language = "ENG";
        sink.street_descriptor(s);
      }
    }
    std::string_view pc = column(f, c_pc);
    b.local_custodian_code = custodian;
    b.has_position = !column(f, c_e).empty() && !column(f, c_n).empty();
    b.postcode_locator = pc;
    b.logical_status = status;
    sink.blpu(b);
    AddressableObject sao = parse_addressable_object(column(f, c_sao));
    AddressableObject pao = parse_addressable_object(column(f, c_pao));
    l.uprn = b.uprn;
    l.language = "ENG";
    l.logical_status = status;
    l.usrn = usrn;
    l.sao_start_number = sao.start_number;
    l.sao_start_suffix = sao.start_suffix;
    l.sao_end_number = sao.end_number;
    l.sao_end_suffix = sao.end_suffix;
    l.sao_text = sao.text;
    l.pao_start_number = pao.start_number;
    l.pao_start_suffix = pao.start_suffix;
    l.pao_end_number = pao.end_number;
    l.pao_end_suffix = pao.end_suffix;
    l.pao_text = pao.text;
    sink.lpi(l);
    if (!column(f, c_class).empty()) {
      ClassificationRecord c;
      c.uprn = b.uprn;
      c.code = column(f, c_class);
      c.scheme = "AddressBase Premium Classification Scheme";
      sink.classification(c);
    }
    if (!column(f, c_org).empty()) {
      OrganisationRecord o;
      o.uprn = b.uprn;
      o.organisation = column(f, c_org);
      sink.organisation(o);
    }
    ++stats.records;
  }
  return Status::success();
}

SourceFormat detect_format(const std::string& path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           std::equal(suffix.rbegin(), suffix.rend(), path.rbegin(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
  };
  if (ends_with(".gml") || ends_with(".xml")) return SourceFormat::abp_gml;
  std::ifstream in(path);
  std::string first;
  if (!in || !std::getline(in, first)) return SourceFormat::unknown;
  if (!first.empty() && first[0] == '<') return SourceFormat::abp_gml;
  std::string upper = text::to_upper(first);
  if (upper.rfind("UPRN,", 0) == 0 && upper.find("X_COORDINATE") != std::string::npos) return SourceFormat::open_uprn_csv;
  if (upper.find("UPRN") != std::string::npos && upper.find("STREET") != std::string::npos) return SourceFormat::simple_csv;
  std::size_t comma = first.find(',');
  std::string id = first.substr(0, comma);
  int n = 0;
  if (io::parse_int(id, &n) && !id.empty() &&
      std::any_of(kShapes.begin(), kShapes.end(), [n](const RecordShape& s) { return s.id == n; }))
    return SourceFormat::abp_csv;
  return SourceFormat::unknown;
}

const char* format_name(SourceFormat format) {
  switch (format) {
    case SourceFormat::abp_csv: return "addressbase-premium-csv";
    case SourceFormat::abp_gml: return "addressbase-premium-gml";
    case SourceFormat::open_uprn_csv: return "os-open-uprn-csv";
    case SourceFormat::simple_csv: return "simple-csv";
    case SourceFormat::unknown: break;
  }
  return "unknown";
}

Status load_source(const std::string& path, RecordSink& sink, LoadStats& stats, SourceFormat format) {
  if (format == SourceFormat::unknown) format = detect_format(path);
  switch (format) {
    case SourceFormat::abp_csv: return load_abp_csv(path, sink, stats);
    case SourceFormat::abp_gml: return load_abp_gml(path, sink, stats);
    case SourceFormat::open_uprn_csv: return load_open_uprn_csv(path, sink, stats);
    case SourceFormat::simple_csv: return load_simple_csv(path, sink, stats);
    case SourceFormat::unknown: break;
  }
  return Error::make("format", "cannot tell the format of " + path, "path");
}

}  // namespace deit::gazetteer
