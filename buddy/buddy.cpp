#include "buddy/buddy.hpp"

#include <algorithm>
#include <set>

namespace deit::buddy {

namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> parse_word(std::string_view s, const std::pair<Enum, std::string_view> (&words)[N]) {
  for (const auto& [value, word] : words)
    if (word == s) return value;
  return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string_view word_of(Enum e, const std::pair<Enum, std::string_view> (&words)[N]) {
  for (const auto& [value, word] : words)
    if (value == e) return word;
  return "?";
}

constexpr std::pair<Trigger, std::string_view> kTriggers[] = {
    {Trigger::influx_of_calls, "influx-of-calls"},
    {Trigger::technical_failure, "technical-failure"},
    {Trigger::building_evacuation, "building-evacuation"},
    {Trigger::planned_maintenance, "planned-maintenance"},
    {Trigger::exercise, "exercise"}};
constexpr std::pair<CallScope, std::string_view> kCallScopes[] = {{CallScope::overflow, "overflow"},
                                                                  {CallScope::all_calls, "all-calls"}};
constexpr std::pair<IncidentScope, std::string_view> kIncidentScopes[] = {
    {IncidentScope::all, "all"}, {IncidentScope::emergency_only, "emergency-only"}, {IncidentScope::listed_types, "listed-types"}};
constexpr std::pair<Mode, std::string_view> kModes[] = {{Mode::dispatch_on_behalf, "dispatch-on-behalf"},
                                                        {Mode::pass_back, "pass-back"}};

bool contains(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

std::string_view to_string(Trigger t) { return word_of(t, kTriggers); }
std::string_view to_string(CallScope s) { return word_of(s, kCallScopes); }
std::string_view to_string(IncidentScope s) { return word_of(s, kIncidentScopes); }
std::string_view to_string(Mode m) { return word_of(m, kModes); }
std::optional<Trigger> parse_trigger(std::string_view s) { return parse_word(s, kTriggers); }
std::optional<CallScope> parse_call_scope(std::string_view s) { return parse_word(s, kCallScopes); }
std::optional<IncidentScope> parse_incident_scope(std::string_view s) { return parse_word(s, kIncidentScopes); }
std::optional<Mode> parse_mode(std::string_view s) { return parse_word(s, kModes); }

std::string trigger_words() {
  std::string out;
  for (const auto& [value, word] : kTriggers) out += (out.empty() ? "" : ", ") + std::string(word);
  return out;
}

bool in_scope(const Scope& scope, const IncidentFacts& incident) {
  switch (scope.incidents) {
    case IncidentScope::all: return true;
    // Life risk is an emergency whatever the sender's grade says.
    case IncidentScope::emergency_only: return incident.emergency || incident.life_risk;
    case IncidentScope::listed_types: return contains(scope.types, incident.type_code);
  }
  return true;
}

Result<std::vector<Arrangement>> Board::check(std::vector<Arrangement> arrangements,
                                              const std::function<bool(const std::string&)>& known) {
  std::set<std::string> homes;
  for (std::size_t i = 0; i < arrangements.size(); ++i) {
    const Arrangement& a = arrangements[i];
    const std::string at = "buddy[" + std::to_string(i) + "]";
    auto must_know = [&](const std::string& id, const char* field) -> Status {
      if (!known(id)) return Error::make("config", "'" + id + "' is not a known agency", at + "." + field);
      return Status::success();
    };
    if (auto s = must_know(a.home, "home"); !s) return s.error();
    if (auto s = must_know(a.primary, "primary"); !s) return s.error();
    if (!a.secondary.empty())
      if (auto s = must_know(a.secondary, "secondary"); !s) return s.error();
    for (std::size_t j = 0; j < a.may_invoke.size(); ++j)
      if (auto s = must_know(a.may_invoke[j], ("may_invoke[" + std::to_string(j) + "]").c_str()); !s) return s.error();
    if (a.primary == a.home || a.secondary == a.home)
      return Error::make("config", "an agency cannot be its own buddy", at + (a.primary == a.home ? ".primary" : ".secondary"));
    if (!a.secondary.empty() && a.secondary == a.primary)
      return Error::make("config", "the secondary buddy must differ from the primary", at + ".secondary");
    if (a.scope.incidents == IncidentScope::listed_types && a.scope.types.empty())
      return Error::make("config", "listed-types needs at least one type", at + ".types");
    if (!homes.insert(a.home).second)
      return Error::make("config", "'" + a.home + "' already has an arrangement", at + ".home");
  }
  return arrangements;
}

Board::Board(std::vector<Arrangement> arrangements) : arrangements_(std::move(arrangements)) {}

const Arrangement* Board::arrangement_for(std::string_view home) const {
  for (const auto& a : arrangements())
    if (a.home == home) return &a;
  return nullptr;
}

namespace {

Status allowed(const Arrangement& a, const Caller& caller, const char* action) {
  if (!caller.business_continuity)
    return Error::make("forbidden", std::string("only business continuity staff may ") + action + " a buddy arrangement",
                       "certificate");
  if (caller.administrator || caller.agency.empty()) return Status::success();
  const bool listed = a.may_invoke.empty()
                          ? (caller.agency == a.home || caller.agency == a.primary || caller.agency == a.secondary)
                          : contains(a.may_invoke, caller.agency);
  if (!listed)
    return Error::make("forbidden", caller.agency + " may not " + action + " the buddy arrangement of " + a.home,
                       "certificate");
  return Status::success();
}

}  // namespace

bool Board::buddy_unavailable_locked(const std::string& agency) const {
  // A buddy whose own control room is invoked cannot take another's calls.
  return active_by_home_.count(agency) > 0;
}

Result<Invocation> Board::prepare(const InvocationRequest& r, const Caller& caller) const {
  const Arrangement* a = arrangement_for(r.home);
  if (!a) return Error::make("not-found", "no buddy arrangement for '" + r.home + "'", "home");
  if (auto s = allowed(*a, caller, "invoke"); !s) return s.error();
  if (!r.trigger) return Error::make("required", "say why: one of " + trigger_words(), "trigger");
  if (r.authorised_by.empty())
    return Error::make("required", "name the person who authorised the invocation", "authorisedBy");

  Invocation inv;
  inv.home = a->home;
  inv.trigger = *r.trigger;
  inv.scope = r.scope ? *r.scope : a->scope;
  if (inv.scope.incidents == IncidentScope::listed_types && inv.scope.types.empty())
    return Error::make("required", "listed-types needs at least one type", "types");
  inv.mode = r.mode ? *r.mode : a->mode;
  inv.authorised_by = r.authorised_by;
  inv.authorised_via = caller.agency.empty() ? "administrator" : caller.agency;
  inv.cha_reference = r.cha_reference;
  inv.note = r.note;

  std::lock_guard lock(mutex_);
  if (auto it = active_by_home_.find(r.home); it != active_by_home_.end())
    return Error::make("conflict", r.home + " is already invoked (" + it->second.id + " to " + it->second.buddy + ")",
                       "home");
  const bool named = !r.buddy.empty() && r.buddy != "primary";
  if (!named || r.buddy == a->primary) {
    inv.buddy = a->primary;
    inv.secondary = a->secondary;
    // Asked for "the buddy" and the primary is down itself: its secondary takes over. A
    // buddy named explicitly is never swapped silently.
    if (!named && buddy_unavailable_locked(inv.buddy) && !a->secondary.empty() &&
        !buddy_unavailable_locked(a->secondary)) {
      inv.buddy = a->secondary;
      inv.secondary.clear();
    }
  } else if (r.buddy == "secondary" || (!a->secondary.empty() && r.buddy == a->secondary)) {
    if (a->secondary.empty()) return Error::make("not-found", a->home + " has no secondary buddy", "buddy");
    inv.buddy = a->secondary;
  } else {
    return Error::make("routing", "'" + r.buddy + "' is not a buddy of " + a->home + " (primary " + a->primary +
                                      (a->secondary.empty() ? "" : ", secondary " + a->secondary) + ")",
                       "buddy");
  }
  if (buddy_unavailable_locked(inv.buddy))
    return Error::make("buddy-unavailable", inv.buddy + " is itself invoked and cannot take " + a->home + "'s calls",
                       "buddy");
  return inv;
}

Status Board::may_stand_down(const Invocation& invocation, const Caller& caller) const {
  const Arrangement* a = arrangement_for(invocation.home);
  if (!a) return Error::make("not-found", "no buddy arrangement for '" + invocation.home + "'", "home");
  return allowed(*a, caller, "stand down");
}

void Board::activate(Invocation invocation) {
  std::lock_guard lock(mutex_);
  const std::string home = invocation.home;
  active_by_home_[home] = std::move(invocation);
}

void Board::end(const std::string& invocation_id) {
  std::lock_guard lock(mutex_);
  for (auto it = active_by_home_.begin(); it != active_by_home_.end(); ++it) {
    if (it->second.id == invocation_id) {
      active_by_home_.erase(it);
      return;
    }
  }
}

std::optional<Invocation> Board::active_for(std::string_view home) const {
  std::lock_guard lock(mutex_);
  auto it = active_by_home_.find(home);
  if (it == active_by_home_.end()) return std::nullopt;
  return it->second;
}

std::optional<Invocation> Board::find_active(std::string_view invocation_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& [home, inv] : active_by_home_)
    if (inv.id == invocation_id) return inv;
  return std::nullopt;
}

std::vector<Invocation> Board::active() const {
  std::lock_guard lock(mutex_);
  std::vector<Invocation> out;
  for (const auto& [home, inv] : active_by_home_) out.push_back(inv);
  return out;
}

namespace {

std::optional<Redirect> choose(const Invocation& inv, const std::function<bool(const std::string&)>& unavailable,
                               const std::function<bool(const std::string&)>& invoked) {
  auto down = [&](const std::string& id) { return invoked(id) || (unavailable && unavailable(id)); };
  if (!down(inv.buddy)) return Redirect{inv.buddy, inv.id, false};
  if (!inv.secondary.empty() && !down(inv.secondary)) return Redirect{inv.secondary, inv.id, true};
  return std::nullopt;  // nobody can take it: it stays with the home agency, flagged by the hub
}

}  // namespace

std::optional<Redirect> Board::redirect(std::string_view home, const IncidentFacts& incident,
                                        const std::function<bool(const std::string&)>& unavailable) const {
  std::lock_guard lock(mutex_);
  auto it = active_by_home_.find(home);
  if (it == active_by_home_.end()) return std::nullopt;
  const Invocation& inv = it->second;
  if (inv.mode != Mode::dispatch_on_behalf || inv.scope.calls != CallScope::all_calls) return std::nullopt;
  if (!in_scope(inv.scope, incident)) return std::nullopt;
  return choose(inv, unavailable, [this](const std::string& id) { return buddy_unavailable_locked(id); });
}

std::optional<Redirect> Board::fallback(std::string_view home, const IncidentFacts& incident,
                                        const std::function<bool(const std::string&)>& unavailable) const {
  std::lock_guard lock(mutex_);
  auto invoked = [this](const std::string& id) { return buddy_unavailable_locked(id); };
  if (auto it = active_by_home_.find(home); it != active_by_home_.end()) {
    const Invocation& inv = it->second;
    if (inv.mode != Mode::dispatch_on_behalf || !in_scope(inv.scope, incident)) return std::nullopt;
    return choose(inv, unavailable, invoked);
  }
  const Arrangement* a = arrangement_for(home);
  if (!a || !a->fallback_on_deadline || !in_scope(a->scope, incident)) return std::nullopt;
  Invocation standing;  // no invocation: the standing arrangement decides, recorded without one
  standing.buddy = a->primary;
  standing.secondary = a->secondary;
  return choose(standing, unavailable, invoked);
}

Result<PassBack> Board::pass_back(std::string_view buddy, std::string_view home) const {
  std::lock_guard lock(mutex_);
  auto it = active_by_home_.find(home);
  if (it == active_by_home_.end() || (it->second.buddy != buddy && it->second.secondary != buddy))
    return Error::make("forbidden",
                       std::string(buddy) + " is not running a buddy invocation for " + std::string(home) +
                           ", so it cannot act on its behalf",
                       "incidentMessage/onBehalfOf");
  return PassBack{it->second.id, it->second.mode};
}

std::optional<Suggestion> Board::suggest(std::string_view home, std::chrono::seconds link_down,
                                         std::chrono::seconds oldest_unaccepted) const {
  const Arrangement* a = arrangement_for(home);
  if (!a) return std::nullopt;
  {
    std::lock_guard lock(mutex_);
    if (active_by_home_.count(home)) return std::nullopt;
  }
  Suggestion s{a->home, a->primary, "", a->auto_invoke};
  if (link_down.count() > 0 && link_down >= a->suggest_after_link_down) {
    s.reason = "link down for " + std::to_string(link_down.count()) + " s";
  } else if (oldest_unaccepted >= a->suggest_after_unaccepted) {
    s.reason = "oldest unaccepted transfer waited " + std::to_string(oldest_unaccepted.count()) + " s";
  } else {
    return std::nullopt;
  }
  return s;
}

}  // namespace deit::buddy
