#include "gazetteer/snapshot.hpp"

#include <algorithm>
#include <cstring>

#include "gazetteer/text.hpp"

namespace deit::gazetteer {

using namespace snapshot;

namespace {
Error corrupt(const std::string& path, const std::string& why) {
  return Error::make("snapshot", path + " is not a usable gazetteer snapshot: " + why, "snapshot");
}
}  // namespace

template <typename T>
std::span<const T> Snapshot::section(Section s) const {
  const SectionRef& ref = header_->sections[s];
  return {reinterpret_cast<const T*>(file_.data() + ref.offset), ref.size / sizeof(T)};
}

std::string_view Snapshot::section_text(Section s) const {
  const SectionRef& ref = header_->sections[s];
  return {file_.data() + ref.offset, ref.size};
}

Result<std::shared_ptr<const Snapshot>> Snapshot::open(const std::string& path, bool prefault) {
  auto file = io::MappedFile::open(path, false, prefault);
  if (!file) return file.error();
  auto snap = std::make_shared<Snapshot>();
  snap->path_ = path;
  snap->file_ = std::move(*file);
  const auto& f = snap->file_;
  if (f.size() < sizeof(Header)) return corrupt(path, "file too small");
  snap->header_ = reinterpret_cast<const Header*>(f.data());
  const Header& h = *snap->header_;
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) return corrupt(path, "bad magic");
  if (h.version != kVersion)
    return corrupt(path, "format version " + std::to_string(h.version) + ", this build reads " + std::to_string(kVersion));
  if (h.endian != kEndianCheck) return corrupt(path, "written on a machine of the other byte order");
  if (h.file_size != f.size()) return corrupt(path, "truncated (header says " + std::to_string(h.file_size) + " bytes)");
  const std::size_t sizes[kSectionCount] = {1,
                                            sizeof(StreetEntry),
                                            4,
                                            sizeof(AddressEntry),
                                            8,
                                            4,
                                            sizeof(TermEntry),
                                            4,
                                            4,
                                            sizeof(FuzzySlot),
                                            sizeof(PostcodeEntry),
                                            4,
                                            4,
                                            4,
                                            1,
                                            1,
                                            1};
  for (std::uint32_t s = 0; s < kSectionCount; ++s) {
    const SectionRef& r = h.sections[s];
    if (r.offset > f.size() || r.size > f.size() - r.offset) return corrupt(path, "section " + std::to_string(s) + " out of bounds");
    if (r.size % sizes[s] != 0 || (sizes[s] > 1 && r.offset % 8 != 0))
      return corrupt(path, "section " + std::to_string(s) + " misaligned");
  }
  snap->addresses_ = snap->section<AddressEntry>(kAddresses);
  snap->streets_ = snap->section<StreetEntry>(kStreets);
  snap->street_terms_ = snap->section<std::uint32_t>(kStreetTerms);
  snap->uprn_keys_ = snap->section<std::uint64_t>(kUprnKeys);
  snap->uprn_addresses_ = snap->section<std::uint32_t>(kUprnAddresses);
  snap->terms_ = snap->section<TermEntry>(kTerms);
  snap->term_hash_ = snap->section<std::uint32_t>(kTermHash);
  snap->postings_ = snap->section<std::uint32_t>(kPostings);
  snap->fuzzy_ = snap->section<FuzzySlot>(kFuzzyHash);
  snap->postcodes_ = snap->section<PostcodeEntry>(kPostcodes);
  snap->postcode_addresses_ = snap->section<std::uint32_t>(kPostcodeAddresses);
  snap->grid_cells_ = snap->section<std::uint32_t>(kGridCells);
  snap->grid_addresses_ = snap->section<std::uint32_t>(kGridAddresses);
  if (snap->addresses_.size() != h.address_count || snap->streets_.size() != h.street_count ||
      snap->terms_.size() != h.term_count || snap->uprn_keys_.size() != h.uprn_count ||
      snap->uprn_addresses_.size() != h.uprn_count || snap->postcodes_.size() != h.postcode_count)
    return corrupt(path, "section sizes disagree with the header counts");
  if (snap->grid_cells_.size() != static_cast<std::size_t>(h.grid_cols) * h.grid_rows + 1)
    return corrupt(path, "grid size disagrees with the header");
  auto pow2 = [](std::size_t n) { return n != 0 && (n & (n - 1)) == 0; };
  if (!pow2(snap->term_hash_.size()) || !pow2(snap->fuzzy_.size())) return corrupt(path, "hash tables malformed");
  // The index sections are small and touched by every query: ask for them now.
  for (Section s : {kStreets, kStreetTerms, kTerms, kTermHash, kPostings, kFuzzyHash, kPostcodes, kStrings})
    snap->file_.will_need(h.sections[s].offset, h.sections[s].size);
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

std::string_view Snapshot::string(std::uint32_t id) const {
  const SectionRef& ref = header_->sections[kStrings];
  if (id == 0 || id + 2 > ref.size) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(file_.data() + ref.offset + id);
  std::size_t len = static_cast<std::size_t>(p[0]) | (static_cast<std::size_t>(p[1]) << 8);
  if (id + 2 + len > ref.size) return {};
  return {reinterpret_cast<const char*>(p + 2), len};
}

const AddressEntry* Snapshot::find_uprn(std::uint64_t uprn) const {
  auto it = std::lower_bound(uprn_keys_.begin(), uprn_keys_.end(), uprn);
  if (it == uprn_keys_.end() || *it != uprn) return nullptr;
  return &addresses_[uprn_addresses_[static_cast<std::size_t>(it - uprn_keys_.begin())]];
}

std::int64_t Snapshot::find_term(std::string_view term) const {
  const std::size_t mask = term_hash_.size() - 1;
  std::size_t slot = text::stable_hash(term) & mask;
  for (std::size_t probes = 0; probes <= mask; ++probes) {
    std::uint32_t v = term_hash_[slot];
    if (v == 0) return -1;
    if (string(terms_[v - 1].text) == term) return v - 1;
    slot = (slot + 1) & mask;
  }
  return -1;
}

void Snapshot::similar_terms(std::string_view word, int max_distance,
                             std::vector<std::pair<std::uint32_t, int>>& out) const {
  out.clear();
  std::int64_t exact = find_term(word);
  if (exact >= 0 && terms_[static_cast<std::size_t>(exact)].kind == kWord) out.emplace_back(static_cast<std::uint32_t>(exact), 0);
  if (word.size() < 4 || max_distance <= 0) return;
  const std::size_t mask = fuzzy_.size() - 1;
  auto probe = [&](std::string_view key_text) {
    const std::uint64_t key = text::stable_hash(key_text);
    std::size_t slot = key & mask;
    for (std::size_t probes = 0; probes <= mask; ++probes) {
      const FuzzySlot& s = fuzzy_[slot];
      if (s.term_plus1 == 0) return;
      if (s.key == key) {
        std::uint32_t t = s.term_plus1 - 1;
        bool seen = std::any_of(out.begin(), out.end(), [t](const auto& p) { return p.first == t; });
        if (!seen) {
          int d = text::edit_distance(word, string(terms_[t].text), max_distance);
          if (d <= max_distance && d > 0) out.emplace_back(t, d);
        }
      }
      slot = (slot + 1) & mask;
    }
  };
  probe(word);
  std::string d;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (k > 0 && word[k] == word[k - 1]) continue;
    d.assign(word.substr(0, k));
    d.append(word.substr(k + 1));
    probe(d);
  }
}

const PostcodeEntry* Snapshot::find_postcode(std::string_view code) const {
  char key[8] = {};
  if (code.size() > 8) return nullptr;
  std::memcpy(key, code.data(), code.size());
  auto it = std::lower_bound(postcodes_.begin(), postcodes_.end(), key,
                             [](const PostcodeEntry& p, const char* k) { return std::memcmp(p.code, k, 8) < 0; });
  if (it == postcodes_.end() || std::memcmp(it->code, key, 8) != 0) return nullptr;
  return &*it;
}

std::span<const std::uint32_t> Snapshot::cell(std::int64_t col, std::int64_t row) const {
  if (col < 0 || row < 0 || col >= header_->grid_cols || row >= header_->grid_rows) return {};
  std::size_t i = static_cast<std::size_t>(row) * header_->grid_cols + static_cast<std::size_t>(col);
  return grid_addresses_.subspan(grid_cells_[i], grid_cells_[i + 1] - grid_cells_[i]);
}

Address Snapshot::to_address(const AddressEntry& e) const {
  Address a;
  a.uprn = e.uprn;
  a.parent_uprn = e.parent_uprn;
  const StreetEntry& s = streets_[e.street];
  a.usrn = s.usrn;
  a.sao = AddressableObject{e.sao_start, e.sao_start_suffix, e.sao_end, e.sao_end_suffix, std::string(string(e.sao_text))};
  a.pao = AddressableObject{e.pao_start, e.pao_start_suffix, e.pao_end, e.pao_end_suffix, std::string(string(e.pao_text))};
  a.organisation = string(e.organisation);
  a.street = string(s.description);
  a.locality = string(s.locality);
  a.town = string(s.town);
  a.administrative_area = string(s.admin_area);
  a.postcode = string(e.postcode);
  a.coordinates.known = (e.flags & kHasPosition) != 0;
  a.coordinates.bng = Bng{e.easting_dm / 10.0, e.northing_dm / 10.0};
  a.coordinates.wgs84 = LatLon{e.lat_e7 / 1e7, e.lon_e7 / 1e7};
  a.classification = std::string(e.classification, strnlen(e.classification, sizeof e.classification));
  a.logical_status = e.logical_status;
  a.local_custodian_code = e.custodian;
  return a;
}

}  // namespace deit::gazetteer
