#include "gazetteer/overlay.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "gazetteer/io.hpp"
#include "gazetteer/loaders.hpp"
#include "gazetteer/postcode.hpp"
#include "gazetteer/text.hpp"

namespace deit::gazetteer {
namespace {

constexpr std::string_view kDeltaHeader = "DEIT-GAZETTEER-DELTA 1";

std::string clean(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return out;
}

std::string suffix(char c) { return c == 0 ? std::string() : std::string(1, c); }

void write_object(std::ostringstream& o, const AddressableObject& a) {
  o << '\t' << a.start_number << '\t' << suffix(a.start_suffix) << '\t' << a.end_number << '\t' << suffix(a.end_suffix)
    << '\t' << clean(a.text);
}

std::vector<std::string> split_tabs(std::string_view line) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = line.find('\t', pos);
    out.emplace_back(line.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace

Result<Overlay> Overlay::load(const std::string& path) {
  Overlay overlay;
  std::ifstream in(path);
  if (!in) return overlay;
  std::string line;
  std::size_t line_number = 0;
  auto bad = [&](const std::string& why) {
    Error e = Error::make("delta", path + ":" + std::to_string(line_number) + ": " + why, "delta");
    e.line = static_cast<int>(line_number);
    return e;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (line_number == 1) {
      if (line != kDeltaHeader) return bad("not a gazetteer delta file");
      continue;
    }
    if (line.empty()) continue;
    auto f = split_tabs(line);
    std::uint64_t uprn = 0;
    if (f.size() < 2 || !io::parse_u64(f[1], &uprn) || uprn == 0) return bad("bad UPRN");
    if (f[0] == "D") {
      overlay.remove(uprn);
      continue;
    }
    if (f[0] != "U" || f.size() != 31) return bad("expected 31 fields in a U record");
    Address a;
    a.uprn = uprn;
    bool ok = io::parse_u64(f[2], &a.parent_uprn) && io::parse_u32(f[3], &a.usrn);
    auto object = [&](std::size_t at, AddressableObject& o) {
      ok = ok && io::parse_u16(f[at], &o.start_number) && io::parse_suffix(f[at + 1], &o.start_suffix) &&
           io::parse_u16(f[at + 2], &o.end_number) && io::parse_suffix(f[at + 3], &o.end_suffix);
      o.text = f[at + 4];
    };
    object(4, a.sao);
    object(9, a.pao);
    a.organisation = f[14];
    a.street = f[15];
    a.locality = f[16];
    a.town = f[17];
    a.administrative_area = f[18];
    a.postcode = f[19];
    a.coordinates.known = f[20] == "1";
    ok = ok && io::parse_double(f[21], &a.coordinates.bng.easting) && io::parse_double(f[22], &a.coordinates.bng.northing) &&
         io::parse_double(f[23], &a.coordinates.wgs84.latitude) && io::parse_double(f[24], &a.coordinates.wgs84.longitude);
    a.classification = f[25];
    int status = 0;
    ok = ok && io::parse_int(f[26], &status) && io::parse_u16(f[27], &a.local_custodian_code);
    a.logical_status = static_cast<std::uint8_t>(status);
    if (!ok) return bad("a numeric field is malformed");
    overlay.upsert(std::move(a));
  }
  return overlay;
}

Status Overlay::save(const std::string& path) const {
  std::ostringstream o;
  o.precision(10);
  o << kDeltaHeader << '\n';
  for (std::uint64_t uprn : deleted_) o << "D\t" << uprn << '\n';
  for (const Address& a : addresses_) {
    if (a.uprn == 0) continue;
    o << "U\t" << a.uprn << '\t' << a.parent_uprn << '\t' << a.usrn;
    write_object(o, a.sao);
    write_object(o, a.pao);
    o << '\t' << clean(a.organisation) << '\t' << clean(a.street) << '\t' << clean(a.locality) << '\t' << clean(a.town)
      << '\t' << clean(a.administrative_area) << '\t' << clean(a.postcode) << '\t' << (a.coordinates.known ? 1 : 0)
      << '\t' << a.coordinates.bng.easting << '\t' << a.coordinates.bng.northing << '\t' << a.coordinates.wgs84.latitude
      << '\t' << a.coordinates.wgs84.longitude << '\t' << clean(a.classification) << '\t'
      << static_cast<int>(a.logical_status) << '\t' << a.local_custodian_code << "\t\t\t\n";
  }
  return io::write_file_atomically(path, o.str());
}

void Overlay::index_words(std::size_t i) {
  const Address& a = addresses_[i];
  std::vector<std::string> all;
  for (const std::string* s : {&a.street, &a.locality, &a.town, &a.pao.text, &a.sao.text, &a.organisation}) {
    auto w = text::canonical_words(*s);
    all.insert(all.end(), w.begin(), w.end());
  }
  if (!a.postcode.empty()) all.push_back("@" + a.postcode.substr(0, a.postcode.find(' ')));
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  for (auto& w : all) words_[w].push_back(i);
}

void Overlay::upsert(Address address) {
  deleted_.erase(address.uprn);
  auto it = index_.find(address.uprn);
  if (it != index_.end()) addresses_[it->second].uprn = 0;  // old version: dead slot
  index_[address.uprn] = addresses_.size();
  addresses_.push_back(std::move(address));
  index_words(addresses_.size() - 1);
}

void Overlay::remove(std::uint64_t uprn) {
  auto it = index_.find(uprn);
  if (it != index_.end()) {
    addresses_[it->second].uprn = 0;
    index_.erase(it);
  }
  deleted_.insert(uprn);
}

const Address* Overlay::find(std::uint64_t uprn) const {
  auto it = index_.find(uprn);
  return it == index_.end() ? nullptr : &addresses_[it->second];
}

std::vector<std::pair<const Address*, double>> Overlay::match(const ParsedQuery& q, std::size_t max) const {
  std::vector<std::pair<const Address*, double>> out;
  if (index_.empty()) return out;
  std::vector<std::size_t> candidates;
  auto take = [&](const std::string& key) {
    auto it = words_.find(key);
    if (it != words_.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  };
  for (const auto& w : q.words) take(w);
  if (q.postcode) take("@" + q.postcode->outward);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (std::size_t i : candidates) {
    const Address& a = addresses_[i];
    if (a.uprn == 0) continue;
    out.emplace_back(&a, score_plain_address(q, a, nullptr));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > max) out.resize(max);
  return out;
}

namespace {

struct StreetNames {
  std::string description, locality, town, admin_area;
};

// Collects a change-only update with owned strings (updates are small).
class CouCollector : public RecordSink {
 public:
  struct Blpu {
    BlpuRecord r;
    std::string postcode;
  };
  struct Lpi {
    LpiRecord r;
    std::string sao_text, pao_text, language;
  };
  std::map<std::uint32_t, std::optional<StreetNames>> streets;
  std::vector<Blpu> blpus;
  std::vector<Lpi> lpis;
  std::vector<std::tuple<std::uint64_t, Change, std::string>> classes, orgs;
  std::vector<std::tuple<std::uint64_t, Change, std::string>> dpa_postcodes;

  void street_descriptor(const StreetDescriptorRecord& r) override {
    if (r.change == Change::remove) {
      streets[r.usrn] = std::nullopt;
      return;
    }
    if (!r.language.empty() && r.language != "ENG" && streets.count(r.usrn)) return;
    streets[r.usrn] = StreetNames{text::to_upper(r.description), text::to_upper(r.locality), text::to_upper(r.town),
                                  text::to_upper(r.administrative_area)};
  }
  void blpu(const BlpuRecord& r) override {
    Blpu b{r, std::string(r.postcode_locator)};
    blpus.push_back(std::move(b));
  }
  void lpi(const LpiRecord& r) override {
    Lpi l{r, text::to_upper(r.sao_text), text::to_upper(r.pao_text), std::string(r.language)};
    lpis.push_back(std::move(l));
  }
  void classification(const ClassificationRecord& r) override { classes.emplace_back(r.uprn, r.change, std::string(r.code)); }
  void organisation(const OrganisationRecord& r) override { orgs.emplace_back(r.uprn, r.change, text::to_upper(r.organisation)); }
  void delivery_point(const DeliveryPointRecord& r) override {
    dpa_postcodes.emplace_back(r.uprn, r.change, std::string(r.postcode));
  }
};

}  // namespace

Status apply_change_only_update(const Snapshot& base, Overlay& overlay, const std::vector<std::string>& files,
                                const CoordinateTransformer& transformer, LoadStats& stats) {
  CouCollector cou;
  for (const auto& file : files) {
    Status st = load_source(file, cou, stats);
    if (!st.ok()) return st;
  }
  auto base_street = [&](std::uint32_t usrn) -> const snapshot::StreetEntry* {
    auto streets = base.streets();
    auto it = std::lower_bound(streets.begin(), streets.end(), usrn,
                               [](const snapshot::StreetEntry& s, std::uint32_t u) { return s.usrn < u; });
    return it != streets.end() && it->usrn == usrn ? &*it : nullptr;
  };
  auto names_for = [&](std::uint32_t usrn) -> std::optional<StreetNames> {
    auto it = cou.streets.find(usrn);
    if (it != cou.streets.end() && it->second) return it->second;
    if (const auto* s = base_street(usrn))
      return StreetNames{std::string(base.string(s->description)), std::string(base.string(s->locality)),
                         std::string(base.string(s->town)), std::string(base.string(s->admin_area))};
    for (const Address& a : overlay.addresses())
      if (a.uprn != 0 && a.usrn == usrn) return StreetNames{a.street, a.locality, a.town, a.administrative_area};
    return std::nullopt;
  };
  std::map<std::uint64_t, Address> working;
  auto current = [&](std::uint64_t uprn) -> Address& {
    auto it = working.find(uprn);
    if (it != working.end()) return it->second;
    Address a;
    if (const Address* o = overlay.find(uprn)) {
      a = *o;
    } else if (!overlay.deleted(uprn)) {
      if (const auto* e = base.find_uprn(uprn)) a = base.to_address(*e);
    }
    a.uprn = uprn;
    return working.emplace(uprn, std::move(a)).first->second;
  };
  std::vector<std::uint64_t> deletions;
  for (const auto& b : cou.blpus) {
    if (b.r.change == Change::remove) {
      deletions.push_back(b.r.uprn);
      working.erase(b.r.uprn);
      continue;
    }
    Address& a = current(b.r.uprn);
    a.parent_uprn = b.r.parent_uprn;
    a.logical_status = static_cast<std::uint8_t>(b.r.logical_status);
    a.local_custodian_code = b.r.local_custodian_code;
    if (b.r.has_position) {
      a.coordinates.known = true;
      a.coordinates.bng = Bng{b.r.x, b.r.y};
      a.coordinates.wgs84 = LatLon{b.r.latitude, b.r.longitude};
      if (b.r.latitude == 0 && b.r.longitude == 0) {
        auto ll = transformer.to_wgs84(a.coordinates.bng);
        if (ll) a.coordinates.wgs84 = *ll;
      }
    }
    if (!b.postcode.empty()) {
      auto pc = normalise_postcode(b.postcode);
      if (pc) a.postcode = *pc;
    }
  }
  for (const auto& l : cou.lpis) {
    // Only the preferred form (approved, English) replaces the address text.
    if (l.r.change == Change::remove || l.r.logical_status == 8 || (l.r.logical_status != 1 && l.r.logical_status != 6) ||
        l.language == "CYM")
      continue;
    if (std::find(deletions.begin(), deletions.end(), l.r.uprn) != deletions.end()) continue;
    Address& a = current(l.r.uprn);
    a.sao = AddressableObject{l.r.sao_start_number, l.r.sao_start_suffix, l.r.sao_end_number, l.r.sao_end_suffix, l.sao_text};
    a.pao = AddressableObject{l.r.pao_start_number, l.r.pao_start_suffix, l.r.pao_end_number, l.r.pao_end_suffix, l.pao_text};
    if (l.r.usrn != 0) a.usrn = l.r.usrn;  // 0: the update does not move the address
    if (auto names = names_for(a.usrn)) {
      a.street = names->description;
      a.locality = names->locality;
      a.town = names->town;
      a.administrative_area = names->admin_area;
    }
  }
  for (auto& [uprn, change, code] : cou.classes)
    if (change != Change::remove && working.count(uprn)) working[uprn].classification = code;
  for (auto& [uprn, change, org] : cou.orgs)
    if (working.count(uprn)) working[uprn].organisation = change == Change::remove ? std::string() : org;
  for (auto& [uprn, change, postcode] : cou.dpa_postcodes) {
    auto it = working.find(uprn);
    if (change == Change::remove || it == working.end() || !it->second.postcode.empty()) continue;
    auto pc = normalise_postcode(postcode);
    if (pc) it->second.postcode = *pc;
  }
  // A renamed street renames every address on it.
  for (auto& [usrn, names] : cou.streets) {
    if (!names) continue;
    if (const auto* s = base_street(usrn)) {
      for (std::uint32_t i = s->first_address; i < s->first_address + s->address_count; ++i) {
        const auto& e = base.addresses()[i];
        if ((e.flags & snapshot::kAlternative) || overlay.deleted(e.uprn)) continue;
        Address& a = current(e.uprn);
        a.street = names->description;
        a.locality = names->locality;
        a.town = names->town;
        a.administrative_area = names->admin_area;
      }
    }
    for (const Address& o : overlay.addresses()) {
      if (o.uprn == 0 || o.usrn != usrn) continue;
      Address& a = current(o.uprn);
      a.street = names->description;
      a.locality = names->locality;
      a.town = names->town;
      a.administrative_area = names->admin_area;
    }
  }
  for (std::uint64_t uprn : deletions) overlay.remove(uprn);
  for (auto& [uprn, a] : working) {
    if (a.street.empty() && a.pao.empty() && a.sao.empty()) {
      stats.problem("change-only update", 0, "UPRN " + std::to_string(uprn) + " has no address (no LPI)", "UPRN");
      continue;
    }
    overlay.upsert(std::move(a));
  }
  return Status::success();
}

}  // namespace deit::gazetteer
