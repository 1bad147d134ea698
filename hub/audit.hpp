#pragma once
// The tamper-evident audit log: append-only, hash-chained, in the store's own database.
//
// Every entry records who did what, when and why: lifecycle events, buddy actions,
// refusals, and (Data Protection Act 2018 s.62) every collection, alteration,
// consultation, disclosure and erasure of personal data. The store writes entries on its
// single writer thread, inside the same transaction as the change they record, so after
// a crash the audit and the data never disagree.
//
// Chain: entry N carries prev_hash = hash of entry N-1 (64 zeros for entry 1) and
// hash = SHA-256 of canonical_audit_bytes(entry). Changing, removing or reordering any
// entry breaks the chain at that entry. Removing the newest entries (truncating the
// tail) leaves a valid shorter chain; the hub therefore logs its head (seq and hash)
// periodically and at shutdown, and verify_audit accepts such heads as anchors.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::hub {

enum class AuditCategory {
  collection,      // s.62: personal data came in (a submitted create)
  alteration,      // s.62: it changed (update, close, cancel)
  consultation,    // s.62: someone read it (API or console)
  disclosure,      // s.62: another agency received it (transport acknowledgement)
  erasure,         // s.62: it was erased
  refusal,         // a request, certificate or message the hub refused
  lifecycle,       // accept, reject, dead-letter, requeue, push failures
  buddy,           // PECS buddy invocation, stand-down, transfer back
  administration,  // start, reload of mappings, audit verification
};
std::string_view to_string(AuditCategory c);
std::optional<AuditCategory> parse_audit_category(std::string_view text);

// What a caller asks to record. The writer adds seq, time and the chain.
struct AuditEntry {
  std::string actor;     // agency id, certificate name ("agency/operator"), "hub", ...
  std::string action;    // e.g. "submit-create", "read-transfer", "erase", "buddy-invoke"
  AuditCategory category = AuditCategory::administration;
  std::string subject;   // "transfer:T-..", "message:<sender>/<id>", "agency:<id>", "certificate:<sha256>", ...
  std::string detail = "{}";  // a JSON object; "transfers":[ids] lists every transfer it concerns
  std::string reason;    // why, in the actor's words or the rule broken
};

// One stored entry.
struct AuditRecord {
  std::int64_t seq = 0;
  std::int64_t at = 0;  // ms since the epoch, stamped by the writer
  std::string actor, action, category, subject, detail, reason;
  std::string prev_hash;  // 64 lower-case hex digits
  std::string hash;
};

inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The bytes hashed for an entry: the tag "deit-audit/1" followed by seq, at, actor,
// action, category, subject, detail, reason and prev_hash, each as a netstring
// "<decimal byte length>:<bytes>," (integers in decimal). Length prefixes make the
// encoding unambiguous: no two different entries serialise to the same bytes.
std::string canonical_audit_bytes(const AuditRecord& r);
// Lower-case hex SHA-256 of canonical_audit_bytes(r).
std::string audit_hash(const AuditRecord& r);
// Fills r.category, actor, ... from `e`; the caller sets seq, at and prev_hash.
AuditRecord audit_record_from(const AuditEntry& e);
// {"seq":..,"at":"RFC 3339","actor":..,..,"detail":{..},"prevHash":..,"hash":..}
std::string audit_record_json(const AuditRecord& r);

// A known (seq, hash) pair written down elsewhere (the hub's log, a ticket): proves that
// the log reached at least `seq` and what entry `seq` was. Text form "N:HASH".
struct AuditAnchor {
  std::int64_t seq = 0;
  std::string hash;
};
Result<AuditAnchor> parse_audit_anchor(std::string_view text);

struct AuditProblem {
  std::int64_t seq = 0;  // the entry where the chain breaks
  std::string kind;      // "altered", "removed", "reordered"
  std::string message;   // one sentence naming the entry
};

struct AuditReport {
  bool ok() const { return problems.empty(); }
  std::int64_t entries = 0;   // rows read
  std::int64_t first_seq = 0, last_seq = 0;
  std::string head_hash;      // hash of the last row
  std::int64_t altered = 0, removed = 0, reordered = 0;  // removed counts missing entries
  std::vector<AuditProblem> problems;  // in log order; the first is the first break
  std::string text() const;   // human summary, several lines
  std::string json() const;   // {"ok":..,"entries":..,"head":{..},"altered":..,..,"problems":[..]}
};

// Checks the chain in the SQLite file at `path`, opened read-only in one read
// transaction (safe while the hub runs). Errors are I/O or "not an audit log" only;
// a broken chain is a report with problems.
Result<AuditReport> verify_audit_file(const std::string& path, const std::vector<AuditAnchor>& anchors = {});

// Entries with seq > after (oldest first), at most `limit` (0: all). `subject` filters:
// "transfer:T-.." or any full subject matches exactly; a bare id ("T-..", an agency id)
// matches any subject with that id and entries whose detail lists it under "transfers".
Result<std::vector<AuditRecord>> read_audit_file(const std::string& path, const std::string& subject = {},
                                                 std::int64_t after = 0, std::int64_t limit = 0);

// The newest entry's seq and hash (seq 0 and the genesis hash when the log is empty).
Result<AuditAnchor> audit_head_of_file(const std::string& path);

}  // namespace deit::hub
