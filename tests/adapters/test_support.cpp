#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "adapters/builtin.hpp"

namespace deit::adapters::testing {

using namespace model;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string source_path(const std::string& relative) { return std::string(DEIT_SOURCE_DIR) + "/" + relative; }

const Registry& registry() {
  static const std::shared_ptr<const Registry> r = [] {
    auto built = builtin_registry();
    EXPECT_TRUE(built.ok()) << (built.ok() ? "" : built.error().describe());
    return built.ok() ? built.value() : std::make_shared<const Registry>();
  }();
  return *r;
}

const Adapter& adapter(std::string_view name) {
  const Adapter* a = registry().find(name);
  if (!a) throw std::runtime_error("no adapter " + std::string(name));
  return *a;
}

IncidentMessage rich_incident() {
  IncidentMessage m;
  m.message_id = "HP-2026-000123-1";
  m.transfer_id = "T-7f3a";
  m.type = MessageType::create;
  m.sequence = 1;
  m.sender_agency = "hertfordshire-police";
  m.receiving_agencies = {"hertfordshire-fire", "east-of-england-ambulance"};
  m.on_behalf_of = "bedfordshire-police";
  m.sender_reference = "HP-20261123-0123";
  m.shared_reference = "JESIP-2026-77";
  m.reason = TransferReason::assistance_request;
  m.call_received = "2026-11-23T08:14:05Z";
  m.created = "2026-11-23T08:14:40Z";
  m.sent = "2026-11-23T08:15:02Z";
  m.marking = ProtectiveMarking::official_sensitive;
  Incident& i = m.incident;
  i.type_summary = "RTC two cars, one person trapped, fuel leaking";
  i.type = {"nsir", "RTC-INJURY", "Road traffic collision - injury"};
  i.qualifiers = {{"nsir", "QALC", "Alcohol related"}, {"frs-property", "ROAD-VEHICLE", "Road vehicle"}};
  i.priority = {PoliceGrade::emergency, std::nullopt, "", true, true};
  i.status = "officers en route";
  i.location.text = "A414 eastbound near the Colney Heath turn, St Albans";
  i.location.address = {"", "", "A414", "Colney Heath", "St Albans", "Hertfordshire", "AL4 0PB"};
  i.location.uprn = 100081234567ULL;
  i.location.usrn = 45601234;
  i.location.latitude = 51.7398;
  i.location.longitude = -0.2567;
  i.location.uncertainty_m = 50;
  i.location.easting = 519040;
  i.location.northing = 207420;
  i.location.source = LocationSource::aml;
  i.caller = Caller{"Sam Taylor", "07700900123", CallerRole::witness, true};
  i.persons = {{"casualty", "Alex Morgan", 34, "[sex=female; conscious=yes; breathing=yes] driver of the Focus, trapped", {}},
               {"suspect", "Jo Bloggs", 41, "driver of the van, left on foot", {"violent", "weapons"}}};
  i.vehicles = {{"AB12 CDE", "Ford", "Focus", "blue", "front end damage"},
                {"XY69 ZZZ", "Ford", "Transit", "white", "van, abandoned"}};
  i.hazards = {{"fuel", "fuel leaking onto the carriageway"}, {"cylinders", "acetylene cylinders in the van"}};
  i.log = {{"2026-11-23T08:14:40Z", "op 4471", "Caller reports two-car collision, one driver trapped.", false},
           {"2026-11-23T08:16:10Z", "paramedic 12", "GCS 14, suspected femur fracture.", true}};
  i.resources_requested = {{"fire-appliance", 2, "extrication"}, {"ambulance", 1, "one casualty"}};
  i.outcome = std::nullopt;
  return m;
}

namespace {

template <typename T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& options) {
  return options[std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(rng)];
}

bool coin(std::mt19937_64& rng, double p = 0.5) { return std::bernoulli_distribution(p)(rng); }

int between(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// Text that exercises escaping and UTF-8 but that every format keeps byte for byte (no
// tabs, carriage returns or newlines, which XML attribute normalisation would change).
std::string text(std::mt19937_64& rng) {
  static const std::vector<std::string> words = {
      "collision", "Flat 2", "A&E", "<urgent>", "\"quoted\"", "it's", "Café", "Llanfair­pwll", "Ŵ", "🚑",
      "north", "junction 6", "M1", "persons reported", "x > y", "100%", "St Albans", "no-one hurt", "ÆØÅ"};
  std::string out;
  const int n = between(rng, 1, 5);
  for (int k = 0; k < n; ++k) {
    if (k) out += ' ';
    out += pick(rng, words);
  }
  return out;
}

std::string maybe(std::mt19937_64& rng, double p = 0.6) { return coin(rng, p) ? text(rng) : std::string(); }

std::string time_at(std::mt19937_64& rng) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-%02d-%02dT%02d:%02d:%02dZ", between(rng, 1, 12), between(rng, 1, 28),
                between(rng, 0, 23), between(rng, 0, 59), between(rng, 0, 59));
  return buf;
}

std::string id(std::mt19937_64& rng, const char* prefix) { return prefix + std::to_string(between(rng, 1, 999999)); }

}  // namespace

IncidentMessage random_incident(std::mt19937_64& rng) {
  static const std::vector<std::string> agencies = {"hertfordshire-police", "bedfordshire-police", "hertfordshire-fire",
                                                    "east-of-england-ambulance", "london-fire", "met-police"};
  static const std::vector<Code> types = {
      {"nsir", "RTC-INJURY", "Road traffic collision - injury"}, {"nsir", "MISSING-PERSON", "Missing person"},
      {"frs", "SS-RTC-PT", "Special service - RTC persons trapped"}, {"frs", "F-DWELLING-PR", "Dwelling fire PR"},
      {"ampds", "29-D-05", "Traffic incident - trapped"}, {"ampds:13.3", "09-E-01", "Arrest"},
      {"ampds", "29-D-02p", "Traffic - rollover"}, {"frs", "SS-FLOODING", "Flooding"},
      {"nsir", "LOCAL-X17", "A code no table knows"}, {"thames-valley-local", "TV99", "Force-local type"},
      {"", "", ""}};
  static const std::vector<Code> qualifiers = {{"nsir", "QMH", "Mental health"}, {"nsir", "QDA", "Domestic abuse"},
                                               {"frs-property", "DWELLING", "Dwelling - house"},
                                               {"frs-property", "ROAD-VEHICLE", "Road vehicle"}};
  static const std::vector<std::string> roles = {"casualty", "patient", "suspect", "victim", "witness", "missing", ""};
  static const std::vector<std::string> markers = {"weapons", "violent", "mental-health", "drugs", "unlisted-marker"};
  static const std::vector<std::string> hazards = {"cylinders", "asbestos", "chemicals", "fuel", "dog"};
  static const std::vector<std::string> resources = {"fire-appliance", "ambulance", "police-unit", "hart"};
  static const std::vector<std::string> fire_priorities = {"P1", "P2", "P3", "P4", "P5", "LOCAL-7"};

  IncidentMessage m;
  m.message_id = id(rng, "MSG-");
  if (coin(rng, 0.3)) m.transfer_id = id(rng, "T-");
  m.type = static_cast<MessageType>(between(rng, 0, 3));
  m.sequence = static_cast<std::uint64_t>(between(rng, 0, 50));
  m.sender_agency = pick(rng, agencies);
  for (int k = between(rng, 0, 3); k > 0; --k) m.receiving_agencies.push_back(pick(rng, agencies));
  if (coin(rng, 0.2)) m.on_behalf_of = pick(rng, agencies);
  m.sender_reference = id(rng, "REF-");
  if (coin(rng, 0.3)) m.shared_reference = id(rng, "SH-");
  m.reason = static_cast<TransferReason>(between(rng, 0, 4));
  if (coin(rng)) m.call_received = time_at(rng);
  if (coin(rng)) m.created = time_at(rng);
  if (coin(rng, 0.8)) m.sent = time_at(rng);
  m.marking = coin(rng) ? ProtectiveMarking::official : ProtectiveMarking::official_sensitive;

  Incident& i = m.incident;
  i.type_summary = maybe(rng);
  i.type = pick(rng, types);
  for (int k = between(rng, 0, 3); k > 0; --k) i.qualifiers.push_back(pick(rng, qualifiers));
  if (coin(rng)) i.priority.police_grade = static_cast<PoliceGrade>(between(rng, 0, 3));
  if (coin(rng)) i.priority.ambulance_category = between(rng, 1, 4);
  if (coin(rng, 0.4)) i.priority.fire_priority = pick(rng, fire_priorities);
  i.priority.emergency = coin(rng);
  i.priority.life_risk = coin(rng);
  i.status = maybe(rng, 0.4);
  Location& l = i.location;
  if (coin(rng, 0.9)) {
    l.text = maybe(rng);
    if (coin(rng)) l.address = {maybe(rng, 0.3), maybe(rng), maybe(rng), maybe(rng, 0.3), maybe(rng), maybe(rng, 0.3), "AL1 3EX"};
    if (coin(rng)) l.uprn = static_cast<std::uint64_t>(between(rng, 1, 999999999)) * 1000ULL;
    if (coin(rng, 0.3)) l.usrn = static_cast<std::uint64_t>(between(rng, 1, 99999999));
    if (coin(rng)) {
      l.latitude = between(rng, 499000, 558000) / 10000.0;
      l.longitude = between(rng, -60000, 17000) / 10000.0;
      if (coin(rng)) l.uncertainty_m = between(rng, 1, 5000) / 2.0;
    }
    if (coin(rng, 0.4)) {
      l.easting = between(rng, 100000, 600000) + 0.5;
      l.northing = between(rng, 100000, 900000);
    }
    if (coin(rng)) l.source = static_cast<LocationSource>(between(rng, 0, 5));
  }
  if (coin(rng, 0.7)) {
    Caller c{maybe(rng), coin(rng) ? "07700900" + std::to_string(between(rng, 100, 999)) : "", std::nullopt, coin(rng)};
    if (coin(rng)) c.role = static_cast<CallerRole>(between(rng, 0, 3));
    i.caller = c;
  }
  for (int k = between(rng, 0, 4); k > 0; --k) {
    Person p;
    p.role = pick(rng, roles);
    p.name = maybe(rng);
    if (coin(rng)) p.age = between(rng, 0, 100);
    p.description = maybe(rng);
    for (int n = between(rng, 0, 2); n > 0; --n) p.warning_markers.push_back(pick(rng, markers));
    i.persons.push_back(std::move(p));
  }
  for (int k = between(rng, 0, 3); k > 0; --k)
    i.vehicles.push_back({"AB" + std::to_string(between(rng, 10, 99)) + " CDE", maybe(rng), maybe(rng), maybe(rng), maybe(rng)});
  for (int k = between(rng, 0, 3); k > 0; --k) i.hazards.push_back({pick(rng, hazards), maybe(rng)});
  for (int k = between(rng, 0, 5); k > 0; --k) i.log.push_back({time_at(rng), maybe(rng), text(rng), coin(rng, 0.3)});
  for (int k = between(rng, 0, 3); k > 0; --k) i.resources_requested.push_back({pick(rng, resources), between(rng, 1, 5), maybe(rng)});
  if (coin(rng, 0.3)) i.outcome = Outcome{"RESOLVED-" + std::to_string(between(rng, 1, 9)), maybe(rng)};
  if (coin(rng, 0.2)) i.cancel_reason = text(rng);
  return m;
}

IncidentMessage project(std::string_view format, const IncidentMessage& original) {
  IncidentMessage m = original;
  Incident& i = m.incident;
  if (format == "fire") {
    std::vector<Code> kept;
    for (const auto& q : i.qualifiers)
      if (q.scheme == "frs-property") {
        kept.push_back(q);
        break;
      }
    i.qualifiers = kept;
    i.location.source.reset();
    if (i.caller) {
      i.caller->role.reset();
      i.caller->consent_to_update = false;
    }
    std::erase_if(i.log, [](const LogEntry& e) { return e.sensitive; });
  } else if (format == "ambulance") {
    i.qualifiers.clear();
    i.vehicles.clear();
    std::stable_partition(i.persons.begin(), i.persons.end(), [](const Person& p) {
      return p.role == "patient" || p.role == "casualty" || p.role == "injured";
    });
    for (auto& p : i.persons)
      if (p.role == "patient" || p.role == "casualty" || p.role == "injured") p.warning_markers.clear();
  } else if (format == "cap") {
    m.transfer_id.clear();
    m.sequence = 0;
    m.on_behalf_of.clear();
    m.shared_reference.clear();
    m.reason = TransferReason::assistance_request;
    m.call_received.clear();
    m.created.clear();
    for (auto& q : i.qualifiers) q.text.clear();
    Location& l = i.location;
    l.address = Bs7666Address{"", "", "", "", "", "", l.address.postcode};
    l.source.reset();
    if (!(l.latitude && l.longitude)) {
      l.latitude.reset();
      l.longitude.reset();
      l.uncertainty_m.reset();
    }
    if (!(l.easting && l.northing)) {
      l.easting.reset();
      l.northing.reset();
    }
    i.caller.reset();
    i.persons.clear();
    i.vehicles.clear();
    i.log.clear();
    i.resources_requested.clear();
    if (m.type != MessageType::cancel) i.cancel_reason.clear();
  }
  return m;
}

bool has_finding(const std::vector<Finding>& findings, std::string_view field) {
  for (const auto& f : findings) {
    if (f.field == field) return true;
    if (f.field.size() > field.size() && std::string_view(f.field).starts_with(field) && f.field[field.size()] == '/')
      return true;
  }
  return false;
}

std::string describe(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings) out += "  " + f.field + " [" + f.rule + "] " + f.message + "\n";
  return out;
}

}  // namespace deit::adapters::testing
