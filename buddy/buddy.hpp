#pragma once
// PECS buddy arrangements: who covers for whom, and the decisions that follow from an
// invocation. Plain logic, no I/O and no clock of its own: the hub persists invocations,
// passes the time in, and asks the Board where a transfer should go.
//
// Vocabulary (PECS Code of Practice s.4.2; NFCC buddy and consortium guidance):
// - home agency: the control room that cannot take its calls (influx, failure, evacuation);
// - buddy: the pre-nominated control room that takes them; a secondary buddy when the
//   primary is itself unavailable;
// - mode: the buddy dispatches on the home agency's behalf, or only takes the calls and
//   passes every incident straight back to the home agency (life-risk first);
// - scope: overflow only (the home agency still gets its transfers and the buddy takes
//   what it does not accept in time) or all calls; all incidents, emergencies only, or
//   listed incident types.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model/retained.hpp"
#include "hub/model/result.hpp"

namespace deit::buddy {

enum class Trigger { influx_of_calls, technical_failure, building_evacuation, planned_maintenance, exercise };
enum class CallScope { overflow, all_calls };
enum class IncidentScope { all, emergency_only, listed_types };
enum class Mode { dispatch_on_behalf, pass_back };

// Text forms used in the configuration and the API ("influx-of-calls", "pass-back", ...).
std::string_view to_string(Trigger);
std::string_view to_string(CallScope);
std::string_view to_string(IncidentScope);
std::string_view to_string(Mode);
std::optional<Trigger> parse_trigger(std::string_view);
std::optional<CallScope> parse_call_scope(std::string_view);
std::optional<IncidentScope> parse_incident_scope(std::string_view);
std::optional<Mode> parse_mode(std::string_view);
// "influx-of-calls, technical-failure, ..." for error messages.
std::string trigger_words();

struct Scope {
  CallScope calls = CallScope::all_calls;
  IncidentScope incidents = IncidentScope::all;
  std::vector<std::string> types;  // incident type codes, when incidents == listed_types
  bool operator==(const Scope&) const = default;
};

// One agreement, from configuration.
struct Arrangement {
  std::string home;
  std::string primary;
  std::string secondary;  // optional
  Scope scope;
  Mode mode = Mode::dispatch_on_behalf;
  // Agencies whose business-continuity staff may invoke and stand down; empty means the
  // home agency and its buddies. Administrators with the business-continuity role always may.
  std::vector<std::string> may_invoke;
  // An unaccepted transfer to the home agency falls back to the buddy at its deadline.
  bool fallback_on_deadline = false;
  // Invoke automatically (trigger technical-failure) instead of only suggesting.
  bool auto_invoke = false;
  std::chrono::seconds suggest_after_link_down{120};
  std::chrono::seconds suggest_after_unaccepted{300};
  bool operator==(const Arrangement&) const = default;
};

// One invocation: a record kept for ever, active while ended_at == 0.
struct Invocation {
  std::string id;  // "INV-..." assigned by the hub
  std::string home;
  std::string buddy;      // the control room taking the calls
  std::string secondary;  // used when the buddy itself becomes unavailable
  Trigger trigger = Trigger::influx_of_calls;
  Scope scope;
  Mode mode = Mode::dispatch_on_behalf;
  std::string authorised_by;   // the person or certificate identity
  std::string authorised_via;  // the agency (or "administrator") whose certificate was used
  std::string cha_reference;   // the call handling agent's (BT's) reference
  std::string note;
  std::int64_t started_at = 0;  // ms since the epoch
  std::int64_t ended_at = 0;
  std::string stood_down_by;
  std::string stand_down_reason;
  bool active() const { return ended_at == 0; }
};

// What an invoker asks for; empty fields take the arrangement's values.
struct InvocationRequest {
  std::string home;
  std::string buddy;  // empty or "primary": the primary; "secondary": the secondary; or an agency id
  std::optional<Trigger> trigger;
  std::optional<Scope> scope;
  std::optional<Mode> mode;
  std::string authorised_by;
  std::string cha_reference;
  std::string note;
};

// Who is asking, as the hub identified the certificate.
struct Caller {
  std::string agency;  // empty for administrators
  bool business_continuity = false;
  bool administrator = false;
};

// What the Board needs to know about an incident to apply a scope.
struct IncidentFacts {
  bool emergency = false;
  bool life_risk = false;
  std::string type_code;
};

bool in_scope(const Scope& scope, const IncidentFacts& incident);

// Where a transfer addressed to `home` goes while an invocation is active.
struct Redirect {
  std::string to;          // the buddy (or secondary) to deliver to
  std::string invocation;  // invocation id
  bool secondary = false;  // the primary was unavailable
};

// How a buddy's own incident for the home area is handled.
struct PassBack {
  std::string invocation;
  Mode mode = Mode::dispatch_on_behalf;
};

// A suggestion to invoke, raised by the hub from link and queue health.
struct Suggestion {
  std::string home;
  std::string buddy;
  std::string reason;  // "link down for 180 s", "oldest unaccepted transfer waited 420 s"
  bool auto_invoke = false;
};

// Arrangements plus the active invocations. Thread-safe: routing asks from many threads
// while invocations change.
class Board {
 public:
  // Checks that every agency named exists (through `known`) and that no home agency has two
  // arrangements; errors name buddy[i].field.
  static Result<std::vector<Arrangement>> check(std::vector<Arrangement> arrangements,
                                                const std::function<bool(const std::string&)>& known);

  explicit Board(std::vector<Arrangement> arrangements = {});

  // References stay valid after a replace (see hub/model/retained.hpp).
  const std::vector<Arrangement>& arrangements() const { return arrangements_.get(); }
  const Arrangement* arrangement_for(std::string_view home) const;
  // A reloaded configuration's arrangements (already checked); active invocations carry on.
  void replace_arrangements(std::vector<Arrangement> arrangements) { arrangements_.replace(std::move(arrangements)); }

  // Validates a request from `caller` and fills in a complete invocation (id and times left
  // for the hub). Refusals: "forbidden" (role or agency not allowed), "not-found" (no
  // arrangement), "conflict" (already invoked), "buddy-unavailable" (the chosen buddy is
  // itself invoked).
  Result<Invocation> prepare(const InvocationRequest& request, const Caller& caller) const;
  // Whether `caller` may stand down `invocation`.
  Status may_stand_down(const Invocation& invocation, const Caller& caller) const;

  // Activates (after the hub stored it) or ends an invocation.
  void activate(Invocation invocation);
  void end(const std::string& invocation_id);
  std::optional<Invocation> active_for(std::string_view home) const;
  std::optional<Invocation> find_active(std::string_view invocation_id) const;
  std::vector<Invocation> active() const;

  // A transfer addressed to `home`: goes to the buddy when an all-calls, dispatch-on-behalf
  // invocation covers the incident; to the secondary when `unavailable(buddy)`; nullopt when
  // it goes to the home agency as usual.
  std::optional<Redirect> redirect(std::string_view home, const IncidentFacts& incident,
                                   const std::function<bool(const std::string&)>& unavailable) const;
  // An unaccepted transfer to `home` reached its deadline: the buddy to fall back to when an
  // overflow invocation is active or the arrangement falls back on deadlines.
  std::optional<Redirect> fallback(std::string_view home, const IncidentFacts& incident,
                                   const std::function<bool(const std::string&)>& unavailable) const;
  // `buddy` sends an incident on behalf of `home`: allowed only while it runs an invocation
  // for `home`.
  Result<PassBack> pass_back(std::string_view buddy, std::string_view home) const;

  // Link down for `link_down` (0: up) and the oldest unaccepted transfer `oldest_unaccepted`
  // old: a suggestion when an arrangement's thresholds are passed and nothing is invoked.
  std::optional<Suggestion> suggest(std::string_view home, std::chrono::seconds link_down,
                                    std::chrono::seconds oldest_unaccepted) const;

 private:
  bool buddy_unavailable_locked(const std::string& agency) const;

  Retained<std::vector<Arrangement>> arrangements_;
  mutable std::mutex mutex_;
  std::map<std::string, Invocation, std::less<>> active_by_home_;
};

}  // namespace deit::buddy
