#pragma once
// Durable store-and-forward on SQLite (WAL, synchronous=FULL).
//
// Writes go through one writer thread that groups whatever operations are waiting into
// one transaction (one savepoint each, so one failing operation does not undo others),
// commits, and only then calls each operation's completion: a sender hears "received"
// after its message is on disk. Completions run on the writer thread in commit order,
// which is also delivery sequence order; keep them short (post elsewhere for real work).
// Reads use per-thread connections and see committed data only.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "buddy/buddy.hpp"
#include "hub/audit.hpp"
#include "hub/model/incident.hpp"
#include "hub/model/result.hpp"

struct sqlite3;

namespace deit::hub {

std::int64_t now_ms();
std::string format_time_ms(std::int64_t ms);  // RFC 3339 UTC with milliseconds

// The grade word recorded on a transfer: police grade, "category-N", or the fire priority.
std::string grade_text(const model::Priority& priority);

// Deterministic: the same sender incident sent to the same receiver is the same transfer.
std::string make_transfer_id(std::string_view sender, std::string_view sender_reference, std::string_view receiver);

struct TransferRecord {
  std::string id;
  std::string sender;
  std::string receiver;
  std::string sender_reference;
  std::string shared_reference;
  std::string reason;
  std::string on_behalf_of;
  std::string state;  // stored, delivered, accepted, rejected, closed, cancelled, dead-letter, redirected
  std::string grade;  // police grade / ambulance category / fire priority as sent, e.g. "emergency"
  std::string receiver_grade;   // the receiver's own grade when it re-graded, with its rationale
  std::string grade_rationale;
  std::string invocation;       // the buddy invocation this transfer belongs to, if any
  std::int64_t overdue_at = 0;  // when its acceptance deadline passed unaccepted
  bool emergency = false;
  bool life_risk = false;
  std::uint64_t last_sequence = 0;
  std::int64_t received_at = 0, validated_at = 0, stored_at = 0, delivered_at = 0;
  std::int64_t accepted_at = 0, rejected_at = 0, closed_at = 0, cancelled_at = 0;
  std::string decision_reason;
  std::string decided_by;
  std::string findings_json;  // JSON array of translation findings for this receiver
  std::string location_json;  // the gazetteer's verification of the location (JSON object)
};

struct EventRecord {
  std::int64_t at = 0;
  std::string event;  // received, validated, stored, delivered, accepted, rejected, ...
  std::string actor;
  std::string message_id;
  std::string detail;
};

// One message waiting in (or delivered from) one agency's queue.
struct Delivery {
  std::uint64_t seq = 0;  // global order; an agency's queue is its deliveries by seq
  std::string agency;
  std::string transfer_id;
  std::string message_id;
  std::string kind;  // "incident", "status" or "notice"
  std::string content_type;
  std::shared_ptr<const std::string> payload;
  std::int64_t queued_at = 0;
  int attempts = 0;
  int lane = 0;       // higher lanes are delivered first (buddy pass-back)
  std::string state;  // pending, delivered, dead, requeued, held, released
  std::string last_error;
};

// A decoded, routed and translated message, ready to commit.
struct SubmitRequest {
  model::IncidentMessage message;  // canonical, as received
  std::string canonical_xml;
  std::int64_t received_at = 0;
  std::int64_t validated_at = 0;
  std::string location_json = "{}";  // gazetteer verification, recorded on every transfer
  bool location_verified = false;
  struct Target {
    std::string transfer_id;
    std::string receiver;
    std::string content_type;
    std::string payload;        // in the receiver's format
    std::string findings_json;  // JSON array
    std::string reason;         // empty: the message's own reason
    std::string on_behalf_of;   // empty: the message's own
    std::string invocation;     // buddy invocation, if any
    int lane = 0;
    bool held = false;  // stored now, queued when its invocation stands down
  };
  std::vector<Target> targets;
};

struct SubmitOutcome {
  bool duplicate = false;  // message id seen before: nothing new was stored
  std::vector<std::pair<std::string, std::string>> transfers;  // (transfer id, receiver)
  std::vector<Delivery> deliveries;                           // new queue entries, in order
};

struct DecisionRequest {
  std::string agency;  // the receiver deciding
  std::string transfer_id;
  bool accept = true;
  std::string reason;
  std::string actor;  // operator or certificate identity
  // A receiver's own grade. The sender is told the new grade and the rationale; lowering an
  // emergency needs a rationale (the lesson of the Joanna Michael hand-over).
  std::string grade;
  std::string rationale;
  bool regrade_only = false;  // POST .../regrade: change the grade of an accepted transfer
};

struct DecisionOutcome {
  TransferRecord transfer;
  bool unchanged = false;  // the same decision was already recorded
  std::optional<Delivery> status_for_sender;
};

// A buddy invocation starting, with the notices for the home agency and the buddy.
struct InvocationOutcome {
  buddy::Invocation invocation;
  std::vector<Delivery> deliveries;
};

struct StandDownRequest {
  std::string invocation_id;
  std::string by;
  std::string reason;
  // Transfer-back messages (buddy -> home) for every transfer the buddy received on the
  // home agency's behalf; their sender's message id makes a repeated stand-down harmless.
  std::vector<SubmitRequest> returns;
};

struct StandDownOutcome {
  buddy::Invocation invocation;
  std::vector<std::pair<std::string, std::string>> returned;  // (transfer id, receiver)
  std::vector<Delivery> deliveries;
};

// A transfer not accepted by its deadline: alert the sender and perhaps fall back.
struct OverdueRequest {
  std::string transfer_id;
  std::string detail;
  std::optional<SubmitRequest> fallback;  // to the receiver's buddy
};

struct OverdueOutcome {
  bool already_decided = false;  // accepted or rejected meanwhile: nothing done
  std::vector<Delivery> deliveries;
  std::vector<std::pair<std::string, std::string>> fallback_transfers;
};

struct AckOutcome {
  std::vector<std::uint64_t> acknowledged;  // seqs newly marked delivered
};

// Erasure of one transfer's personal data by an administrator (DPA 2018 s.62 "erasure").
struct EraseRequest {
  std::string transfer_id;
  std::string actor;   // the administrator
  std::string reason;  // required
};

struct EraseOutcome {
  TransferRecord transfer;  // the skeleton that remains
  std::int64_t messages = 0, deliveries = 0, events = 0;  // rows whose content was erased
  AuditRecord audit;        // the erasure's audit entry
};

// Retention: transfers that ended (closed, cancelled or rejected) before a cut-off lose
// their personal data as erase_transfer takes it. A cursor (end time, then row) walks
// them oldest first, so each is looked at once per pass.
struct RetentionCursor {
  std::int64_t ended_at = 0;
  std::int64_t key = 0;
};
struct RetentionRequest {
  RetentionCursor after;        // where the last call stopped
  std::int64_t ended_before = 0;  // ms since the epoch
  std::size_t limit = 100;      // transfers looked at per call
  std::string reason;           // for each erasure's audit entry and history event
};
struct RetentionOutcome {
  std::vector<std::string> erased;
  std::vector<std::string> skipped;  // a delivery still pending: left to an administrator
  RetentionCursor next;              // the next call's `after`
  bool more = false;                 // the limit was reached: call again
};

// Group commit under load: while ops arrive faster than `linger_rate` a second, the writer
// starts a commit no sooner than `commit_interval` after the previous one began (unless
// 64 ops wait, or arrivals pause), so that each commit's fixed cost is shared by more
// transfers. Below that rate it commits as soon as anything waits. A zero interval turns
// this off.
struct StoreOptions {
  std::chrono::microseconds commit_interval{4000};
  double linger_rate = 2500;
};
// Since the store opened: commits and the ops they carried (ops / commits = batch size).
struct StoreCounters {
  std::uint64_t commits = 0;
  std::uint64_t ops = 0;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options = {});
  ~Store();

  // Writes (asynchronous; `done` runs on the writer thread after commit or failure).
  void submit(SubmitRequest request, std::function<void(Result<SubmitOutcome>)> done);
  void acknowledge(std::string agency, std::vector<std::uint64_t> seqs, std::function<void(Result<AckOutcome>)> done);
  void decide(DecisionRequest request, std::function<void(Result<DecisionOutcome>)> done);
  // Moves deliveries to the dead-letter list; notifies each sender with a status delivery.
  void dead_letter(std::vector<std::uint64_t> seqs, std::string reason,
                   std::function<void(Result<std::vector<Delivery>>)> done);
  // Puts a dead-lettered delivery back at the end of its agency's queue (new seq).
  void requeue(std::uint64_t seq, std::function<void(Result<Delivery>)> done);
  void requeue(std::uint64_t seq, std::string actor, std::function<void(Result<Delivery>)> done);
  // Records a failed push attempt (attempt count and last error; not on the hot path).
  void record_attempt(std::uint64_t seq, std::string error);
  // Buddy invocations: the record, notices to the home agency and the buddy.
  void invoke(buddy::Invocation invocation, std::function<void(Result<InvocationOutcome>)> done);
  // Ends the invocation, stores the transfer-back messages and releases held transfers.
  void stand_down(StandDownRequest request, std::function<void(Result<StandDownOutcome>)> done);
  void overdue(OverdueRequest request, std::function<void(Result<OverdueOutcome>)> done);

  // Audit (audit.hpp). Every write above appends its own audit entry in the same
  // savepoint as its change; a failed operation leaves none. append_audit records what
  // the store does not see (reads, refusals, buddy actions) in its own savepoint of the
  // next batch; `done` (optional) gets the stored entry after commit.
  void append_audit(AuditEntry entry, std::function<void(Result<AuditRecord>)> done = {});
  // Erases the transfer's personal data: message bodies, delivery payloads, its location,
  // findings and event details. Keeps the skeleton (ids, parties, states, times, decision)
  // and adds an "erased" history event. Refused while a delivery of it is pending.
  void erase_transfer(EraseRequest request, std::function<void(Result<EraseOutcome>)> done);
  // Erases, as erase_transfer does, the transfers that ended before the cut-off (Retention*).
  // Transfers already erased are passed over; so are those with a delivery still pending.
  void erase_ended(RetentionRequest request, std::function<void(Result<RetentionOutcome>)> done);
  // The newest committed audit entry (seq 0 and the genesis hash when there is none).
  Result<AuditAnchor> audit_head();

  // Reads (synchronous, from any thread).
  Result<TransferRecord> transfer(const std::string& id);
  Result<std::vector<EventRecord>> history(const std::string& transfer_id);
  // Transfers an agency sent or received; `awaiting_decision` keeps received ones not yet
  // accepted or rejected.
  Result<std::vector<TransferRecord>> list_transfers(const std::string& agency, bool awaiting_decision,
                                                     std::size_t limit);
  // Transfers to `agency` still waiting for a decision, oldest first (deadlines, restart).
  Result<std::vector<TransferRecord>> undecided_transfers();
  // Transfers run by partners on `home`'s behalf, newest first.
  Result<std::vector<TransferRecord>> on_behalf_of(const std::string& home, std::size_t limit);
  // Every transfer recorded under an invocation (received, created, returned).
  Result<std::vector<TransferRecord>> invocation_transfers(const std::string& invocation_id);
  Result<std::vector<buddy::Invocation>> invocations(bool active_only);
  Result<buddy::Invocation> invocation(const std::string& id);
  // Canonical XML of every message of one sender incident, in sequence order.
  Result<std::vector<std::string>> incident_messages(const std::string& sender, const std::string& sender_reference);
  Result<std::vector<Delivery>> pending_deliveries();
  Result<std::vector<Delivery>> dead_letters(const std::string& agency);
  // The stored canonical XML of one message.
  Result<std::string> message_body(const std::string& sender, const std::string& message_id);
  Result<std::int64_t> count(const std::string& table);

  StoreCounters counters() const;

  // Waits for queued writes to commit, then stops the writer.
  void close();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deit::hub
