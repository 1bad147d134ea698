#pragma once
// The canonical incident: what every adapter decodes into and encodes from, and what the
// hub stores and routes. Plain data, no I/O. Optional fields are empty strings / nullopt;
// an adapter that cannot carry a field reports it as a finding instead of dropping it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deit::model {

enum class AgencyKind { police, fire, ambulance };

enum class MessageType { create, update, close, cancel };

enum class TransferReason { misrouted, assistance_request, information_only, buddy_overflow, transfer_back };

// National contact management grades (police).
enum class PoliceGrade { emergency, priority, scheduled, resolution_without_deployment };

enum class ProtectiveMarking { official, official_sensitive };

enum class CallerRole { victim, witness, third_party, other };

enum class LocationSource { caller, aml, eisec, gazetteer, operator_entered, other };

// Text forms used by the canonical XML, the JSON API and the config ("emergency",
// "buddy-overflow", ...). Parsing returns nullopt for an unknown word.
std::string_view to_string(AgencyKind);
std::string_view to_string(MessageType);
std::string_view to_string(TransferReason);
std::string_view to_string(PoliceGrade);
std::string_view to_string(ProtectiveMarking);
std::string_view to_string(CallerRole);
std::string_view to_string(LocationSource);
std::optional<AgencyKind> parse_agency_kind(std::string_view);
std::optional<MessageType> parse_message_type(std::string_view);
std::optional<TransferReason> parse_transfer_reason(std::string_view);
std::optional<PoliceGrade> parse_police_grade(std::string_view);
std::optional<ProtectiveMarking> parse_protective_marking(std::string_view);
std::optional<CallerRole> parse_caller_role(std::string_view);
std::optional<LocationSource> parse_location_source(std::string_view);

// The shapes every format shares, for decoders whose own schema is looser (CAP addresses,
// MAIT extensions, JSON): a value that passes these passes every format's schema.
// An agency id: 1-64 of a-z, 0-9 and '-', not starting with '-'.
bool is_agency_id(std::string_view text);
// A message id or reference: 1-128 characters, none of them white space.
bool is_identifier(std::string_view text);
// An instant as RFC 3339 writes it and xs:dateTime accepts it: "2026-11-23T08:15:02Z",
// optional fraction, offset Z or +hh:mm / -hh:mm (at most 14:00); every field in range
// (no 30 February, no minute 60; a leap second and 24:00:00 as XML Schema allows).
bool is_timestamp(std::string_view text);

// A code as one service writes it: scheme ("nsir", "irs", "ampds", a force's local list),
// the code, and its text. Unknown codes are carried as they came.
struct Code {
  std::string scheme;
  std::string code;
  std::string text;
  bool operator==(const Code&) const = default;
};

struct Priority {
  std::optional<PoliceGrade> police_grade;
  std::optional<int> ambulance_category;  // ARP 1..4
  std::string fire_priority;              // service-defined, e.g. "P1"
  bool emergency = false;                 // the common flag every service understands
  bool life_risk = false;
  bool operator==(const Priority&) const = default;
};

// BS 7666: secondary addressable object (flat), primary addressable object (building),
// street, locality, town, administrative area, postcode.
struct Bs7666Address {
  std::string sao;
  std::string pao;
  std::string street;
  std::string locality;
  std::string town;
  std::string administrative_area;
  std::string postcode;
  bool operator==(const Bs7666Address&) const = default;
};

struct Location {
  std::string text;  // free text as given by the caller / operator
  Bs7666Address address;
  std::optional<std::uint64_t> uprn;
  std::optional<std::uint64_t> usrn;
  std::optional<double> latitude;   // WGS84
  std::optional<double> longitude;  // WGS84
  std::optional<double> uncertainty_m;
  std::optional<double> easting;   // BNG EPSG:27700
  std::optional<double> northing;
  std::optional<LocationSource> source;
  bool operator==(const Location&) const = default;
};

struct Caller {
  std::string name;
  std::string phone;
  std::optional<CallerRole> role;
  bool consent_to_update = false;
  bool operator==(const Caller&) const = default;
};

struct Person {
  std::string role;  // "victim", "suspect", "patient", "missing", ...
  std::string name;
  std::optional<int> age;
  std::string description;
  std::vector<std::string> warning_markers;  // e.g. "weapons", "violent", "mental-health"
  bool operator==(const Person&) const = default;
};

struct Vehicle {
  std::string registration;
  std::string make;
  std::string model;
  std::string colour;
  std::string description;
  bool operator==(const Vehicle&) const = default;
};

struct Hazard {
  std::string code;  // "cylinders", "asbestos", "chemicals", "weapons", ...
  std::string description;
  bool operator==(const Hazard&) const = default;
};

struct LogEntry {
  std::string time;  // RFC 3339 UTC
  std::string author;
  std::string text;
  bool sensitive = false;  // e.g. clinical notes: information sharing rules may withhold it
  bool operator==(const LogEntry&) const = default;
};

struct ResourceRequest {
  std::string kind;  // "ambulance", "fire-appliance", "police-unit", "hart", ...
  int count = 1;
  std::string note;
  bool operator==(const ResourceRequest&) const = default;
};

struct Outcome {
  std::string code;
  std::string text;
  bool operator==(const Outcome&) const = default;
};

// The incident itself, as carried in one message. An update carries the fields that
// changed plus new log entries; the hub does not merge, it delivers in order.
struct Incident {
  std::string type_summary;  // one line: "RTC - injury, two cars, A1(M) J6"
  Code type;                 // the sender's own classification
  std::vector<Code> qualifiers;
  Priority priority;
  std::string status;  // sender's free status text ("resources assigned", ...)
  Location location;
  std::optional<Caller> caller;
  std::vector<Person> persons;
  std::vector<Vehicle> vehicles;
  std::vector<Hazard> hazards;
  std::vector<LogEntry> log;
  std::vector<ResourceRequest> resources_requested;
  std::optional<Outcome> outcome;  // on close
  std::string cancel_reason;       // on cancel
  bool operator==(const Incident&) const = default;
};

// One message from a control room: the envelope plus the incident. The hub assigns
// transfer_id; everything else comes from the sender.
struct IncidentMessage {
  std::string message_id;    // sender-unique; a repeat never creates a second transfer
  std::string transfer_id;   // hub-assigned; empty on the way in
  MessageType type = MessageType::create;
  std::uint64_t sequence = 0;  // per sender incident, strictly increasing; 0 = hub assigns
  std::string sender_agency;
  std::vector<std::string> receiving_agencies;  // empty = route by location
  std::string on_behalf_of;  // set when a buddy handles the home agency's incident
  std::string sender_reference;  // the sender's own incident number
  std::string shared_reference;  // cross-agency reference, if any
  TransferReason reason = TransferReason::assistance_request;
  std::string call_received;  // RFC 3339 UTC times
  std::string created;
  std::string sent;
  ProtectiveMarking marking = ProtectiveMarking::official;
  Incident incident;
  bool operator==(const IncidentMessage&) const = default;
};

}  // namespace deit::model
