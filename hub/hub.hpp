#pragma once
// The transfer service: everything the hub decides, independent of sockets and threads.
// The HTTPS/WebSocket server (server.hpp) is a thin layer that calls these functions.

#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "adapters/adapter.hpp"
#include "gazetteer/gazetteer.hpp"
#include "hub/config.hpp"
#include "hub/dispatcher.hpp"
#include "hub/store.hpp"

namespace deit::hub {

// Who is calling, decided from the client certificate.
struct Identity {
  std::string agency;  // empty for administrators without an agency
  std::string subject_cn;
  std::string fingerprint;
  std::vector<Role> roles;

  bool has_role(Role r) const;
  // The name written into audit and history entries.
  const std::string& name() const { return agency.empty() ? subject_cn : agency; }
};

class Hub {
 public:
  // Opens the store, loads the adapters, and refills the delivery queues from the store.
  static Result<std::unique_ptr<Hub>> create(Config config);
  ~Hub();

  const Config& config() const { return config_; }
  Store& store() { return *store_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  const adapters::Registry& adapters() const { return *adapters_; }
  // The gazetteer, when one is configured and opened.
  const gazetteer::Gazetteer* gazetteer() const { return gazetteer_ ? &*gazetteer_ : nullptr; }

  // Maps a verified client certificate to exactly one identity; nullopt when unknown.
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

  // Reloads the code mapping tables from the configured directory. On any error the
  // tables in use stay as they were; the error names the file, line and column.
  Status reload_mappings(const std::string& actor = "SIGHUP");

  // Dead-letters deliveries pending longer than the configured limit, with an alert.
  void sweep_dead_letters(std::int64_t now);

  // Whether `caller` may read `transfer` (sender, receiver, or an administrator).
  static bool may_read(const Identity& caller, const TransferRecord& transfer);

 private:
  Hub(Config config, std::shared_ptr<const adapters::Registry> adapters, std::unique_ptr<Store> store);

  Config config_;
  std::shared_ptr<const adapters::Registry> adapters_;
  std::unique_ptr<Store> store_;
  Dispatcher dispatcher_;
  std::optional<gazetteer::Gazetteer> gazetteer_;
  std::atomic<bool> sweeping_{false};
  std::mutex audit_head_mutex_;
  std::int64_t logged_audit_head_ = -1;
};

// Checks the incident's location against the gazetteer. Never refuses: an unverified
// location is flagged. Fields the sender left empty (UPRN, coordinates) are filled from a
// verified match and reported as findings; what the sender gave is never changed.
struct LocationCheck {
  bool verified = false;
  std::string json;  // {"verified":..,"flags":[..],"uprn":..,"confidence":..,"coverage":{..}}
  std::vector<adapters::Finding> findings;
};
LocationCheck check_location(const gazetteer::Gazetteer& gazetteer, model::IncidentMessage& message);

// Builds the demo sample snapshot at `path` if it does not exist yet.
Status ensure_sample_gazetteer(const std::string& path);

// A JSON array of findings: [{"field":..,"rule":..,"message":..}].
std::string findings_to_json(const std::vector<adapters::Finding>& findings);

}  // namespace deit::hub
