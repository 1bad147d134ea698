#include "adapters/mapping_tables.hpp"

#include <fstream>
#include <mutex>
#include <sstream>

#include "adapters/csv.hpp"

namespace deit::adapters {

namespace mapping_files {
extern const std::string_view incident_kinds_csv;
extern const std::string_view incident_types_csv;
extern const std::string_view priorities_csv;
extern const std::string_view warning_markers_csv;
}  // namespace mapping_files

using model::AgencyKind;

namespace {

#define DEIT_TRY_ASSIGN(var, expr)                 \
  auto var##_result = (expr);                      \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(var##_result).value()

Result<bool> parse_bool_cell(const CsvTable& t, const CsvRow& row, std::size_t c) {
  const std::string& v = row.cells[c];
  if (v == "true") return true;
  if (v == "false") return false;
  return t.error_at(row, c, "'" + v + "' is not true or false");
}

// "ampds:13.3" → "ampds": a scheme may carry the version of its code set after a colon.
std::string_view base_scheme(std::string_view scheme) {
  const auto colon = scheme.find(':');
  return colon == std::string_view::npos ? scheme : scheme.substr(0, colon);
}

// MPDS determinants fall back from the most to the least specific: 29-D-02p, 29-D-02,
// 29-D, 29. Other schemes match exactly.
std::vector<std::string_view> lookup_keys(AgencyKind service, std::string_view code) {
  std::vector<std::string_view> keys{code};
  if (service != AgencyKind::ambulance) return keys;
  std::string_view c = code;
  while (!c.empty() && c.back() >= 'a' && c.back() <= 'z') c.remove_suffix(1);
  if (c != code) keys.push_back(c);
  for (auto dash = c.rfind('-'); dash != std::string_view::npos; dash = c.rfind('-')) {
    c = c.substr(0, dash);
    keys.push_back(c);
  }
  return keys;
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make("mapping-file", "cannot open " + path.string(), path.filename().string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<AgencyKind> MappingTables::service_of_scheme(std::string_view scheme) {
  const auto base = base_scheme(scheme);
  if (base == kPoliceScheme) return AgencyKind::police;
  if (base == kFireScheme) return AgencyKind::fire;
  if (base == kAmbulanceScheme) return AgencyKind::ambulance;
  return std::nullopt;
}

std::string_view MappingTables::scheme_of(AgencyKind service) {
  switch (service) {
    case AgencyKind::police: return kPoliceScheme;
    case AgencyKind::fire: return kFireScheme;
    case AgencyKind::ambulance: return kAmbulanceScheme;
  }
  return {};
}

Result<std::shared_ptr<const MappingTables>> MappingTables::parse(const MappingSources& s) {
  auto tables = std::make_shared<MappingTables>();

  {
    DEIT_TRY_ASSIGN(t, CsvTable::parse(s.incident_kinds_csv, "incident-kinds.csv"));
    DEIT_TRY_ASSIGN(c_kind, t.column("kind"));
    DEIT_TRY_ASSIGN(c_desc, t.column("description"));
    DEIT_TRY_ASSIGN(c_lead, t.column("lead"));
    DEIT_TRY_ASSIGN(c_cap, t.column("cap_category"));
    static constexpr std::string_view kCapCategories[] = {"Geo",    "Met",    "Safety",    "Security",
                                                          "Rescue", "Fire",   "Health",    "Env",
                                                          "Transport", "Infra", "CBRNE",   "Other"};
    for (const auto& row : t.rows()) {
      if (row.cells[c_kind].empty()) return t.error_at(row, c_kind, "kind is empty");
      for (const auto& k : tables->kinds_)
        if (k.kind == row.cells[c_kind]) return t.error_at(row, c_kind, "kind '" + k.kind + "' is listed twice");
      bool known = false;
      for (auto cat : kCapCategories) known |= (cat == row.cells[c_cap]);
      if (!known) return t.error_at(row, c_cap, "'" + row.cells[c_cap] + "' is not a CAP 1.2 category");
      tables->kinds_.push_back({row.cells[c_kind], row.cells[c_desc], row.cells[c_lead], row.cells[c_cap]});
    }
  }
  {
    DEIT_TRY_ASSIGN(t, CsvTable::parse(s.incident_types_csv, "incident-types.csv"));
    DEIT_TRY_ASSIGN(c_kind, t.column("kind"));
    DEIT_TRY_ASSIGN(c_scheme, t.column("scheme"));
    DEIT_TRY_ASSIGN(c_code, t.column("code"));
    DEIT_TRY_ASSIGN(c_text, t.column("text"));
    for (const auto& row : t.rows()) {
      std::optional<std::size_t> kind_index;
      for (std::size_t k = 0; k < tables->kinds_.size(); ++k)
        if (tables->kinds_[k].kind == row.cells[c_kind]) kind_index = k;
      if (!kind_index)
        return t.error_at(row, c_kind, "kind '" + row.cells[c_kind] + "' is not in incident-kinds.csv");
      auto service = service_of_scheme(row.cells[c_scheme]);
      if (!service)
        return t.error_at(row, c_scheme, "scheme '" + row.cells[c_scheme] + "' is not nsir, frs or ampds");
      if (row.cells[c_code].empty()) return t.error_at(row, c_code, "code is empty");
      tables->types_.push_back(
          {*kind_index, *service, model::Code{row.cells[c_scheme], row.cells[c_code], row.cells[c_text]}});
    }
  }
  {
    DEIT_TRY_ASSIGN(t, CsvTable::parse(s.priorities_csv, "priorities.csv"));
    DEIT_TRY_ASSIGN(c_level, t.column("level"));
    DEIT_TRY_ASSIGN(c_grade, t.column("police_grade"));
    DEIT_TRY_ASSIGN(c_cat, t.column("ambulance_category"));
    DEIT_TRY_ASSIGN(c_fire, t.column("fire_priority"));
    DEIT_TRY_ASSIGN(c_em, t.column("emergency"));
    DEIT_TRY_ASSIGN(c_life, t.column("life_risk"));
    DEIT_TRY_ASSIGN(c_urg, t.column("cap_urgency"));
    DEIT_TRY_ASSIGN(c_sev, t.column("cap_severity"));
    DEIT_TRY_ASSIGN(c_desc, t.column("description"));
    for (const auto& row : t.rows()) {
      PriorityLevel level;
      level.level = row.cells[c_level];
      if (!row.cells[c_grade].empty()) {
        level.police_grade = model::parse_police_grade(row.cells[c_grade]);
        if (!level.police_grade)
          return t.error_at(row, c_grade, "'" + row.cells[c_grade] + "' is not a police grade");
      }
      if (const auto& cat = row.cells[c_cat]; !cat.empty()) {
        if (cat.size() != 1 || cat[0] < '1' || cat[0] > '4')
          return t.error_at(row, c_cat, "'" + cat + "' is not an ambulance category 1 to 4");
        level.ambulance_category = cat[0] - '0';
      }
      level.fire_priority = row.cells[c_fire];
      DEIT_TRY_ASSIGN(em, parse_bool_cell(t, row, c_em));
      DEIT_TRY_ASSIGN(life, parse_bool_cell(t, row, c_life));
      level.emergency = em;
      level.life_risk = life;
      static constexpr std::string_view kUrgency[] = {"Immediate", "Expected", "Future", "Past", "Unknown"};
      static constexpr std::string_view kSeverity[] = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"};
      bool urgency_ok = false, severity_ok = false;
      for (auto u : kUrgency) urgency_ok |= (u == row.cells[c_urg]);
      for (auto v : kSeverity) severity_ok |= (v == row.cells[c_sev]);
      if (!urgency_ok) return t.error_at(row, c_urg, "'" + row.cells[c_urg] + "' is not a CAP urgency");
      if (!severity_ok) return t.error_at(row, c_sev, "'" + row.cells[c_sev] + "' is not a CAP severity");
      level.cap_urgency = row.cells[c_urg];
      level.cap_severity = row.cells[c_sev];
      level.description = row.cells[c_desc];
      tables->levels_.push_back(std::move(level));
    }
  }
  {
    DEIT_TRY_ASSIGN(t, CsvTable::parse(s.warning_markers_csv, "warning-markers.csv"));
    DEIT_TRY_ASSIGN(c_marker, t.column("marker"));
    DEIT_TRY_ASSIGN(c_code, t.column("police_code"));
    for (const auto& row : t.rows()) {
      if (row.cells[c_marker].empty()) return t.error_at(row, c_marker, "marker is empty");
      tables->markers_.emplace_back(row.cells[c_marker], row.cells[c_code]);
    }
  }
  return std::shared_ptr<const MappingTables>(std::move(tables));
}

Result<std::shared_ptr<const MappingTables>> MappingTables::load_embedded() {
  return parse(MappingSources{std::string(mapping_files::incident_kinds_csv),
                              std::string(mapping_files::incident_types_csv),
                              std::string(mapping_files::priorities_csv),
                              std::string(mapping_files::warning_markers_csv)});
}

Result<std::shared_ptr<const MappingTables>> MappingTables::load(const std::filesystem::path& dir) {
  MappingSources s;
  DEIT_TRY_ASSIGN(kinds, read_text_file(dir / "incident-kinds.csv"));
  DEIT_TRY_ASSIGN(types, read_text_file(dir / "incident-types.csv"));
  DEIT_TRY_ASSIGN(priorities, read_text_file(dir / "priorities.csv"));
  DEIT_TRY_ASSIGN(markers, read_text_file(dir / "warning-markers.csv"));
  s.incident_kinds_csv = std::move(kinds);
  s.incident_types_csv = std::move(types);
  s.priorities_csv = std::move(priorities);
  s.warning_markers_csv = std::move(markers);
  return parse(s);
}

const MappingTables::TypeRow* MappingTables::find_type(AgencyKind service, std::string_view code) const {
  for (auto key : lookup_keys(service, code))
    for (const auto& row : types_)
      if (row.service == service && row.code.code == key) return &row;
  return nullptr;
}

const IncidentKind* MappingTables::kind_of(const model::Code& code) const {
  auto service = service_of_scheme(code.scheme);
  if (!service) return nullptr;
  const TypeRow* row = find_type(*service, code.code);
  return row ? &kinds_[row->kind_index] : nullptr;
}

std::optional<model::Code> MappingTables::translate(const model::Code& code, AgencyKind target) const {
  auto service = service_of_scheme(code.scheme);
  if (!service) return std::nullopt;
  if (*service == target) return code;
  const TypeRow* from = find_type(*service, code.code);
  if (!from) return std::nullopt;
  for (const auto& row : types_)
    if (row.kind_index == from->kind_index && row.service == target) return row.code;
  return std::nullopt;
}

std::optional<model::Code> MappingTables::fallback(AgencyKind target) const {
  for (const auto& row : types_)
    if (row.service == target && kinds_[row.kind_index].kind == "unclassified") return row.code;
  return std::nullopt;
}

const PriorityLevel* MappingTables::level_from(const model::Priority& p, AgencyKind service) const {
  auto matches = [&](const PriorityLevel& l) {
    switch (service) {
      case AgencyKind::police: return p.police_grade && l.police_grade == p.police_grade;
      case AgencyKind::ambulance: return p.ambulance_category && l.ambulance_category == p.ambulance_category;
      case AgencyKind::fire: return !p.fire_priority.empty() && l.fire_priority == p.fire_priority;
    }
    return false;
  };
  const PriorityLevel* first = nullptr;
  for (const auto& l : levels_) {
    if (!matches(l)) continue;
    if (!first) first = &l;
    if (!l.life_risk || p.life_risk) return &l;
  }
  return first;
}

const PriorityLevel* MappingTables::level_of(const model::Priority& p) const {
  const PriorityLevel* best = nullptr;
  for (auto service : {AgencyKind::police, AgencyKind::ambulance, AgencyKind::fire}) {
    const PriorityLevel* l = level_from(p, service);
    if (l && (!best || l < best)) best = l;  // levels_ is ordered most urgent first
  }
  return best;
}

std::string_view MappingTables::police_marker_code(std::string_view marker) const {
  for (const auto& [m, code] : markers_)
    if (m == marker) return code;
  return {};
}

std::string_view MappingTables::marker_for_police_code(std::string_view code) const {
  for (const auto& [m, c] : markers_)
    if (c == code) return m;
  return {};
}

MappingStore::MappingStore(std::shared_ptr<const MappingTables> initial) : current_(std::move(initial)) {}

Result<std::shared_ptr<MappingStore>> MappingStore::with_embedded() {
  auto tables = MappingTables::load_embedded();
  if (!tables) return tables.error();
  return std::make_shared<MappingStore>(std::move(tables).value());
}

Status MappingStore::reload(const std::filesystem::path& dir) {
  auto tables = MappingTables::load(dir);
  if (!tables) return tables.error();
  replace(std::move(tables).value());
  return Status::success();
}

std::shared_ptr<MappingStore> default_mapping_store() {
  // The embedded tables are checked by the tests, so a failure here is a build defect; an
  // empty table set keeps the hub translating (every code then carries through as unmapped).
  static const std::shared_ptr<MappingStore> store = [] {
    auto s = MappingStore::with_embedded();
    if (s) return std::move(s).value();
    return std::make_shared<MappingStore>(std::make_shared<const MappingTables>());
  }();
  return store;
}

#undef DEIT_TRY_ASSIGN

}  // namespace deit::adapters
