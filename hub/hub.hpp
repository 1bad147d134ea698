#pragma once
// The transfer service: everything the hub decides, independent of sockets and threads.
// The HTTPS/WebSocket server (server.hpp) is a thin layer that calls these functions.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/adapter.hpp"
#include "buddy/buddy.hpp"
#include "gazetteer/gazetteer.hpp"
#include "hub/config.hpp"
#include "hub/dispatcher.hpp"
#include "hub/identity.hpp"
#include "hub/model/retained.hpp"
#include "hub/routing.hpp"
#include "hub/store.hpp"

namespace deit::hub {

// The reconciliation of one invocation: when, who, why, and every incident accounted for.
struct InvocationReport {
  buddy::Invocation invocation;
  std::vector<TransferRecord> received;  // sent to the home agency, run by the buddy
  std::vector<TransferRecord> created;   // logged by the buddy for the home agency's area
  std::vector<TransferRecord> returned;  // back with the home agency (transfer back or pass-back)
  std::size_t accepted = 0;              // returned ones the home agency accepted
  std::size_t outstanding = 0;           // returned but not yet accepted, or not yet returned
};

class Hub {
 public:
  // Opens the store, loads the adapters, and refills the delivery queues from the store.
  static Result<std::unique_ptr<Hub>> create(Config config);
  ~Hub();

  // The configuration in effect. A reference stays valid after a reload, but two calls
  // may see two versions: read it once per decision.
  const Config& config() const { return config_.get(); }
  // 0 at start, one more for each reload that changed something.
  std::uint64_t config_generation() const { return config_.generation(); }
  Store& store() { return *store_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  const adapters::Registry& adapters() const { return *adapters_; }
  // The gazetteer in use, when one is configured and opened: a handle (copies share the
  // mapped snapshot) that stays valid for as long as it is held, across a reload.
  std::optional<gazetteer::Gazetteer> gazetteer() const;

  // Maps a verified client certificate to exactly one identity; the error says why not
  // (unknown or ambiguous; see hub/identity.hpp).
  Result<Identity> identify(const PeerCertificate& certificate) const;
  // The same for a certificate known by its CN and fingerprint only; nullopt when refused.
  std::optional<Identity> identify(std::string_view subject_cn, std::string_view sha256_hex) const;

  // Decodes `body` with the caller's format, checks that the caller is the sender, routes
  // to the receivers and translates for each. No side effects.
  Result<SubmitRequest> prepare_submit(const Identity& caller, std::string_view body,
                                       std::string_view content_type) const;

  // Commits; on success enqueues the new deliveries (in commit order) before `done` runs.
  void commit_submit(SubmitRequest request, std::function<void(Result<SubmitOutcome>)> done);
  void acknowledge(const std::string& agency, std::vector<std::uint64_t> seqs,
                   std::function<void(Result<AckOutcome>)> done);
  void decide(DecisionRequest request, std::function<void(Result<DecisionOutcome>)> done);
  void requeue(std::uint64_t seq, std::function<void(Result<Delivery>)> done);
  void requeue(std::uint64_t seq, std::string actor, std::function<void(Result<Delivery>)> done);
  // Erases a transfer's personal data, keeping its skeleton and audit trail (Store::erase_transfer).
  void erase(EraseRequest request, std::function<void(Result<EraseOutcome>)> done);

  // Records an action the store does not see in the audit log (audit.hpp): reads,
  // refusals, buddy invocation and stand-down, administration. Asynchronous; the entry is
  // durable when `done` (optional) runs. For example:
  //   hub.audit({who.name(), "buddy-invoke", AuditCategory::buddy, "agency:" + home,
  //              R"({"buddy":"bedfordshire-police"})", "call centre flooded"});
  void audit(AuditEntry entry, std::function<void(Result<AuditRecord>)> done = {});
  // Logs "event=audit-head seq=N hash=H" when the head moved since the last line, or
  // `force`. Those lines are the anchors `deitctl audit verify --head N:H` checks.
  void log_audit_head(bool force = false);

  // ---- routing and buddy arrangements (issue: routing) ----
  const buddy::Board& board() const { return board_; }
  // Invokes a buddy arrangement: only business continuity staff allowed by the arrangement.
  void invoke(const Identity& caller, buddy::InvocationRequest request,
              std::function<void(Result<buddy::Invocation>)> done);
  // Ends an invocation: every incident the buddy received or created for the home agency
  // goes back to it, tracked until accepted.
  void stand_down(const Identity& caller, const std::string& invocation_id, std::string reason,
                  std::function<void(Result<StandDownOutcome>)> done);
  Result<InvocationReport> report(const std::string& invocation_id);
  // The sender sends a rejected or overdue transfer on to another receiver (an agency id or
  // responsible-police|fire|ambulance).
  void reroute(const Identity& caller, const std::string& transfer_id, std::string receiver,
               std::function<void(Result<SubmitOutcome>)> done);
  // Acceptance deadlines: alerts, sender told, buddy fallback. `now` in ms (tests move it).
  void sweep_deadlines(std::int64_t now);
  // Link and queue health per home agency: suggests (or auto-invokes) buddy arrangements.
  void check_links(std::int64_t now);
  // An agency's certificate was seen (a request or an open stream): its link is up.
  void seen(const std::string& agency, std::int64_t now);
  std::vector<buddy::Suggestion> suggestions() const;
  // When `transfer_id` must be accepted by, 0 when no deadline is pending.
  std::int64_t deadline_of(const std::string& transfer_id) const;

  // How reload_config reads the configuration again: the file the hub started from, with
  // the same command-line overrides (main.cpp). Without one, reload_config refuses.
  void set_config_source(std::function<Result<Config>()> source) { config_source_ = std::move(source); }
  struct ConfigReload {
    std::uint64_t generation = 0;
    ConfigChanges changes;
  };
  // Reads the configuration again and puts into effect what may change while the hub runs
  // (plan_reload in config.hpp): agencies added, changed or removed, certificate rules,
  // administrators, buddy arrangements, sharing rules, deadlines, the gazetteer settings.
  // All or nothing: on any error (the file, a format the hub does not know, an active
  // invocation whose arrangement or agencies would go, a gazetteer snapshot that does not
  // open) the running configuration stays, and the error names the setting. Audited with `actor`. Open connections and pushers follow it
  // through config_generation() (server.cpp).
  Result<ConfigReload> reload_config(const std::string& actor);

  struct GazetteerReload {
    bool changed = false;  // false: the files are those in use, and nothing was swapped
    gazetteer::SnapshotInfo info;
  };
  // Opens the configured snapshot again, with its "<snapshot>.delta" of change-only updates,
  // and puts it in use if either file changed since the one in use was opened (a new supply
  // built with `deit-gazetteer build`, or `deit-gazetteer update` applied to this one).
  // Submits being prepared finish with the snapshot they started with. A snapshot that
  // does not open changes nothing, and the error says why. Audited with `actor`.
  Result<GazetteerReload> reload_gazetteer(const std::string& actor);

  // Reloads the code mapping tables from the configured directory. On any error the
  // tables in use stay as they were; the error names the file, line and column.
  Status reload_mappings(const std::string& actor = "SIGHUP");

  // Dead-letters deliveries pending longer than the configured limit, with an alert.
  void sweep_dead_letters(std::int64_t now);
  // With retention_days set: every 10 minutes (at once while a pass has more), erases the
  // transfers that ended longer ago than that (Store::erase_ended).
  void sweep_retention(std::int64_t now);

  // Whether `caller` may read `transfer` (sender, receiver, the home agency a buddy ran it
  // for, or an administrator).
  static bool may_read(const Identity& caller, const TransferRecord& transfer);

 private:
  Hub(Config config, std::shared_ptr<const adapters::Registry> adapters, std::unique_ptr<Store> store);

  // A new transfer of an incident the hub already holds (fallback, reroute, transfer back).
  struct Derived {
    std::string sender;
    std::string receiver;
    std::string sender_reference;
    std::string message_id;
    model::TransferReason reason = model::TransferReason::assistance_request;
    std::string on_behalf_of;
    std::string invocation;
    bool full_log = false;  // append the hub's history of the source as log entries
  };
  Result<SubmitRequest> derive(const TransferRecord& source, const Derived& spec) const;
  Result<std::vector<RouteTarget>> follow_existing(const model::IncidentMessage& message) const;
  bool unavailable(const std::string& agency) const;
  void track(const std::string& transfer_id, const std::string& receiver, const std::string& grade, bool emergency,
             std::int64_t since);
  void untrack(const std::string& transfer_id);
  void finish_overdue(const std::string& transfer_id, const std::string& receiver, Result<OverdueOutcome> r);
  void return_stragglers(const buddy::Invocation& invocation, int attempts_left);

  Retained<Config> config_;
  std::function<Result<Config>()> config_source_;
  std::mutex reload_mutex_;  // one configuration reload at a time
  std::shared_ptr<const adapters::Registry> adapters_;
  std::unique_ptr<Store> store_;
  Dispatcher dispatcher_;
  // The gazetteer in use, with the settings it was opened with and its files' identity
  // ("" when there is none): a reload swaps the whole under gazetteer_mutex_.
  struct OpenedGazetteer {
    gazetteer::Gazetteer handle;
    GazetteerConfig settings;
    std::string files;
  };
  mutable std::mutex gazetteer_mutex_;
  std::optional<OpenedGazetteer> gazetteer_;
  // `make_sample`: build the demo sample first where the settings ask for one (at start,
  // and for a snapshot path a configuration reload names).
  static Result<OpenedGazetteer> open_gazetteer(const GazetteerConfig& settings, bool make_sample);
  void use_gazetteer(std::optional<OpenedGazetteer> opened);
  std::atomic<bool> sweeping_{false};
  std::mutex retention_mutex_;  // the sweep's strand and the store's completion thread
  bool retention_running_ = false;
  std::int64_t retention_next_at_ = 0;
  RetentionCursor retention_cursor_;  // in memory: a restart looks at the erased ones once more
  buddy::Board board_;

  // Undecided transfers with an acceptance deadline, and the health of each agency's link.
  struct Tracked {
    std::string receiver;
    std::int64_t since = 0;
    std::int64_t due = 0;
  };
  mutable std::mutex health_mutex_;
  std::multimap<std::int64_t, std::string> due_;         // due time -> transfer id
  std::unordered_map<std::string, Tracked> undecided_;  // transfer id -> tracking
  // receiver -> (since, transfer id) of its undecided transfers, oldest first: the link
  // check reads the oldest per agency without walking every undecided transfer (it held
  // health_mutex_, and so stalled the writer's track(), for milliseconds each second).
  std::unordered_map<std::string, std::set<std::pair<std::int64_t, std::string>>> waiting_by_receiver_;
  void forget_tracked(std::unordered_map<std::string, Tracked>::iterator it);  // health_mutex_ held
  std::unordered_map<std::string, std::int64_t> last_seen_;
  std::map<std::string, buddy::Suggestion> suggestions_;
  std::int64_t started_at_ = 0;
  std::mutex audit_head_mutex_;
  std::int64_t logged_audit_head_ = -1;
};

// Checks the incident's location against the gazetteer. Never refuses: an unverified
// location is flagged. Fields the sender left empty (UPRN, coordinates) are filled from a
// verified match and reported as findings; what the sender gave is never changed.
struct LocationCheck {
  bool verified = false;
  gazetteer::Coverage coverage;  // who is responsible for the location (empty when unknown)
  std::string json;  // {"verified":..,"flags":[..],"uprn":..,"confidence":..,"coverage":{..}}
  std::vector<adapters::Finding> findings;
};
LocationCheck check_location(const gazetteer::Gazetteer& gazetteer, model::IncidentMessage& message);

// Builds the demo sample snapshot at `path` if it does not exist yet.
Status ensure_sample_gazetteer(const std::string& path);

// A JSON array of findings: [{"field":..,"rule":..,"message":..}].
std::string findings_to_json(const std::vector<adapters::Finding>& findings);

}  // namespace deit::hub
