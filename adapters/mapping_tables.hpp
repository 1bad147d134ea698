#pragma once
// Code mapping tables between the services (adapters/mappings/*.csv): incident types through
// a canonical "kind", the priority ladder, and police warning-marker codes.
//
// The tables are immutable once loaded. MappingStore holds the current set behind an atomic
// shared_ptr: a reader takes one snapshot per message and never sees a half-loaded table; a
// reload that fails leaves the previous tables in place.

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model/incident.hpp"
#include "hub/model/result.hpp"

namespace deit::adapters {

// The scheme each service writes its incident types in.
inline constexpr std::string_view kPoliceScheme = "nsir";
inline constexpr std::string_view kFireScheme = "frs";
inline constexpr std::string_view kAmbulanceScheme = "ampds";
// Fire property types travel as canonical qualifiers in this scheme.
inline constexpr std::string_view kFirePropertyScheme = "frs-property";

struct IncidentKind {
  std::string kind;
  std::string description;
  std::string lead;          // P, F, A or all
  std::string cap_category;  // CAP 1.2 <category>
};

struct PriorityLevel {
  std::string level;  // P1..P5
  std::optional<model::PoliceGrade> police_grade;
  std::optional<int> ambulance_category;
  std::string fire_priority;
  bool emergency = false;
  bool life_risk = false;
  std::string cap_urgency;
  std::string cap_severity;
  std::string description;
};

// The CSV texts that make up one set of tables, with the names used in error messages.
struct MappingSources {
  std::string incident_kinds_csv;
  std::string incident_types_csv;
  std::string priorities_csv;
  std::string warning_markers_csv;
};

class MappingTables {
 public:
  // The tables compiled into the binary (adapters/mappings/). Fails only on a build defect.
  static Result<std::shared_ptr<const MappingTables>> load_embedded();
  // Reads incident-kinds.csv, incident-types.csv, priorities.csv and warning-markers.csv
  // from `dir`. Every error names the file, line and column.
  static Result<std::shared_ptr<const MappingTables>> load(const std::filesystem::path& dir);
  static Result<std::shared_ptr<const MappingTables>> parse(const MappingSources& sources);

  // The service a scheme belongs to ("nsir" → police; "ampds:13.3" → ambulance); nullopt
  // for a scheme the tables do not know (a force's local list, CAP event codes, ...).
  static std::optional<model::AgencyKind> service_of_scheme(std::string_view scheme);
  static std::string_view scheme_of(model::AgencyKind service);

  // The canonical kind of a code, or nullptr when the tables do not know the code.
  const IncidentKind* kind_of(const model::Code& code) const;
  // The receiving service's code for `code`: itself when already in that service's scheme,
  // else through the kind. nullopt when the service has no equivalent.
  std::optional<model::Code> translate(const model::Code& code, model::AgencyKind target) const;
  // The code a service uses for "no equivalent; see the original" (may be nullopt).
  std::optional<model::Code> fallback(model::AgencyKind target) const;

  // The ladder level of a priority judged from one service's value (nullptr if none set).
  const PriorityLevel* level_from(const model::Priority& priority, model::AgencyKind service) const;
  // The most urgent level any of the priority's values maps to; nullptr when none is set.
  const PriorityLevel* level_of(const model::Priority& priority) const;

  // Police warning signal code for a canonical marker ("weapons" → "WE"); "" if none.
  std::string_view police_marker_code(std::string_view marker) const;
  // Canonical marker for a police code ("WE" → "weapons"); "" if none.
  std::string_view marker_for_police_code(std::string_view code) const;

  const std::vector<IncidentKind>& kinds() const { return kinds_; }
  const std::vector<PriorityLevel>& levels() const { return levels_; }

 private:
  struct TypeRow {
    std::size_t kind_index;
    model::AgencyKind service;
    model::Code code;
  };
  std::vector<IncidentKind> kinds_;
  std::vector<TypeRow> types_;
  std::vector<PriorityLevel> levels_;
  std::vector<std::pair<std::string, std::string>> markers_;  // marker, police code

  const TypeRow* find_type(model::AgencyKind service, std::string_view code) const;
};

// The current tables for the process. Thread-safe: current() may run concurrently with
// reload(); readers keep their snapshot alive for as long as they hold it.
class MappingStore {
 public:
  explicit MappingStore(std::shared_ptr<const MappingTables> initial);
  // A store holding the embedded tables (aborts only on a build defect, as load_embedded fails).
  static Result<std::shared_ptr<MappingStore>> with_embedded();

  std::shared_ptr<const MappingTables> current() const { return current_.load(std::memory_order_acquire); }
  // Loads `dir` completely, then swaps it in. On error the old tables stay current.
  Status reload(const std::filesystem::path& dir);
  void replace(std::shared_ptr<const MappingTables> tables) {
    current_.store(std::move(tables), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const MappingTables>> current_;
};

// The process-wide store used by builtin_registry(). Created with the embedded tables on
// first use; the hub calls default_mapping_store()->reload(dir) when its configuration says so.
std::shared_ptr<MappingStore> default_mapping_store();

}  // namespace deit::adapters
