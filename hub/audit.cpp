#include "hub/audit.hpp"

#include <boost/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "hub/digest.hpp"
#include "hub/store.hpp"  // format_time_ms

namespace deit::hub {

namespace {

constexpr std::string_view kCategoryNames[] = {"collection", "alteration", "consultation",
                                               "disclosure", "erasure",    "refusal",
                                               "lifecycle",  "buddy",      "administration"};

void append_netstring(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out.push_back(':');
  out.append(field);
  out.push_back(',');
}

std::string hex(const unsigned char* bytes, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

bool is_hash(std::string_view h) {
  return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A read-only connection to a store file and one read transaction, so that every query
// sees the same snapshot even while the hub keeps writing.
class ReadSnapshot {
 public:
  static Result<std::unique_ptr<ReadSnapshot>> open(const std::string& path) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      Error e = Error::make("store", "cannot open " + path + " read-only: " + (db ? sqlite3_errmsg(db) : "no memory"),
                            "store");
      sqlite3_close(db);
      return e;
    }
    auto snapshot = std::unique_ptr<ReadSnapshot>(new ReadSnapshot(db, path));
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return snapshot->error("BEGIN");
    // Reading the schema starts the read transaction: from here on the snapshot is fixed.
    sqlite3_stmt* s = nullptr;
    bool has_audit = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'audit'", -1, &s, nullptr) ==
        SQLITE_OK) {
      has_audit = sqlite3_step(s) == SQLITE_ROW;
    } else {
      sqlite3_finalize(s);
      return snapshot->error("read schema");
    }
    sqlite3_finalize(s);
    if (!has_audit)
      return Error::make("store", path + " has no audit log (not a DEIT Hub store, or made before the audit log existed)",
                         "store");
    return snapshot;
  }
  ~ReadSnapshot() {
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }

  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s);
      return nullptr;
    }
    return s;
  }
  Error error(const std::string& what) const {
    return Error::make("store", what + " in " + path_ + ": " + sqlite3_errmsg(db_), "store");
  }

 private:
  ReadSnapshot(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

struct StmtGuard {
  sqlite3_stmt* s;
  ~StmtGuard() { sqlite3_finalize(s); }
};

std::string column_text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

#define AUDIT_COLUMNS "seq, at, actor, action, category, subject, detail, reason, prev_hash, hash"

AuditRecord read_record(sqlite3_stmt* s) {
  AuditRecord r;
  r.seq = sqlite3_column_int64(s, 0);
  r.at = sqlite3_column_int64(s, 1);
  r.actor = column_text(s, 2);
  r.action = column_text(s, 3);
  r.category = column_text(s, 4);
  r.subject = column_text(s, 5);
  r.detail = column_text(s, 6);
  r.reason = column_text(s, 7);
  r.prev_hash = column_text(s, 8);
  r.hash = column_text(s, 9);
  return r;
}

std::string short_hash(const std::string& h) { return h.size() > 12 ? h.substr(0, 12) + "…" : h; }

}  // namespace

std::string_view to_string(AuditCategory c) { return kCategoryNames[static_cast<int>(c)]; }

std::optional<AuditCategory> parse_audit_category(std::string_view text) {
  for (std::size_t i = 0; i < std::size(kCategoryNames); ++i)
    if (kCategoryNames[i] == text) return static_cast<AuditCategory>(i);
  return std::nullopt;
}

std::string canonical_audit_bytes(const AuditRecord& r) {
  std::string out;
  out.reserve(96 + r.actor.size() + r.action.size() + r.subject.size() + r.detail.size() + r.reason.size() + 64);
  append_netstring(out, "deit-audit/1");
  append_netstring(out, std::to_string(r.seq));
  append_netstring(out, std::to_string(r.at));
  append_netstring(out, r.actor);
  append_netstring(out, r.action);
  append_netstring(out, r.category);
  append_netstring(out, r.subject);
  append_netstring(out, r.detail);
  append_netstring(out, r.reason);
  append_netstring(out, r.prev_hash);
  return out;
}

std::string audit_hash(const AuditRecord& r) {
  const auto md = sha256({canonical_audit_bytes(r)});
  return hex(md.data(), md.size());
}

AuditRecord audit_record_from(const AuditEntry& e) {
  AuditRecord r;
  r.actor = e.actor;
  r.action = e.action;
  r.category = std::string(to_string(e.category));
  r.subject = e.subject;
  r.detail = e.detail.empty() ? "{}" : e.detail;
  r.reason = e.reason;
  return r;
}

std::string audit_record_json(const AuditRecord& r) {
  boost::json::object o{{"seq", r.seq},         {"at", format_time_ms(r.at)}, {"actor", r.actor},
                        {"action", r.action},   {"category", r.category},     {"subject", r.subject}};
  boost::system::error_code ec;
  boost::json::value detail = boost::json::parse(r.detail, ec);
  if (ec) {
    o["detail"] = r.detail;  // not JSON (a tampered entry): show it as it is
  } else {
    o["detail"] = std::move(detail);
  }
  o["reason"] = r.reason;
  o["prevHash"] = r.prev_hash;
  o["hash"] = r.hash;
  return boost::json::serialize(o);
}

Result<AuditAnchor> parse_audit_anchor(std::string_view text) {
  const auto colon = text.find(':');
  AuditAnchor a;
  const std::string_view number = text.substr(0, colon);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), a.seq);
  if (colon == std::string_view::npos || ec != std::errc() || end != number.data() + number.size() || a.seq < 1)
    return Error::make("anchor", "'" + std::string(text) + "' is not SEQ:HASH (from an event=audit-head log line)", "head");
  a.hash = std::string(text.substr(colon + 1));
  std::transform(a.hash.begin(), a.hash.end(), a.hash.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!is_hash(a.hash))
    return Error::make("anchor", "the hash in '" + std::string(text) + "' is not 64 hexadecimal digits", "head");
  return a;
}

std::string AuditReport::text() const {
  std::string out = "audit log: " + std::to_string(entries) + " entries";
  if (entries) out += ", seq " + std::to_string(first_seq) + ".." + std::to_string(last_seq);
  out += "\nhead: " + std::to_string(last_seq) + ":" + head_hash + "\n";
  if (ok()) return out + "chain intact\n";
  const AuditProblem& first = problems.front();
  out += "BROKEN at entry " + std::to_string(first.seq) + " (" + first.kind + "): " + first.message + "\n";
  out += "problems: " + std::to_string(altered) + " altered, " + std::to_string(removed) + " removed, " +
         std::to_string(reordered) + " reordered\n";
  const std::size_t shown = std::min<std::size_t>(problems.size(), 20);
  for (std::size_t i = 0; i < shown; ++i)
    out += "  entry " + std::to_string(problems[i].seq) + ": " + problems[i].kind + ": " + problems[i].message + "\n";
  if (shown < problems.size()) out += "  ... " + std::to_string(problems.size() - shown) + " more\n";
  return out;
}

std::string AuditReport::json() const {
  boost::json::array list;
  for (const auto& p : problems) list.push_back({{"seq", p.seq}, {"kind", p.kind}, {"message", p.message}});
  boost::json::object o{{"ok", ok()},
                        {"entries", entries},
                        {"firstSeq", first_seq},
                        {"lastSeq", last_seq},
                        {"head", std::to_string(last_seq) + ":" + head_hash},
                        {"altered", altered},
                        {"removed", removed},
                        {"reordered", reordered},
                        {"problems", std::move(list)}};
  if (!problems.empty())
    o["firstProblem"] = {{"seq", problems.front().seq}, {"kind", problems.front().kind},
                         {"message", problems.front().message}};
  return boost::json::serialize(o);
}

Result<AuditReport> verify_audit_file(const std::string& path, const std::vector<AuditAnchor>& anchors) {
  auto opened = ReadSnapshot::open(path);
  if (!opened) return opened.error();
  ReadSnapshot& db = **opened;
  StmtGuard rows{db.prepare("SELECT " AUDIT_COLUMNS " FROM audit ORDER BY seq")};
  StmtGuard by_hash{db.prepare("SELECT seq FROM audit WHERE hash = ? AND seq <> ? ORDER BY seq LIMIT 1")};
  StmtGuard by_prev{db.prepare("SELECT seq FROM audit WHERE prev_hash = ? AND seq <> ? ORDER BY seq LIMIT 1")};
  StmtGuard by_seq{db.prepare("SELECT hash FROM audit WHERE seq = ?")};
  if (!rows.s || !by_hash.s || !by_prev.s || !by_seq.s) return db.error("prepare");

  AuditReport report;
  report.head_hash = std::string(kAuditGenesisHash);
  std::int64_t expected_seq = 1;
  std::string expected_prev(kAuditGenesisHash);
  bool previous_reported = false;
  // Finding where a moved entry belongs takes two scans, so only the first breaks get them.
  int lookups_left = 1000;
  auto find_seq = [](sqlite3_stmt* s, const std::string& hash, std::int64_t not_seq) -> std::optional<std::int64_t> {
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, not_seq);
    if (sqlite3_step(s) == SQLITE_ROW) return sqlite3_column_int64(s, 0);
    return std::nullopt;
  };
  auto add = [&](std::int64_t seq, const char* kind, std::string message) {
    report.problems.push_back(AuditProblem{seq, kind, std::move(message)});
  };
  int rc;
  while ((rc = sqlite3_step(rows.s)) == SQLITE_ROW) {
    const AuditRecord r = read_record(rows.s);
    const std::string at = std::to_string(r.seq);
    if (report.entries++ == 0) report.first_seq = r.seq;
    report.last_seq = r.seq;
    report.head_hash = r.hash;
    bool gap = false, reported = false;
    if (r.seq != expected_seq) {
      // Rows come by seq, so a jump means the entries in between are gone.
      gap = true;
      const std::int64_t missing = r.seq - expected_seq;
      report.removed += missing;
      const std::string follows = " (entry " + at + " follows entry " + std::to_string(expected_seq - 1) + ")";
      add(expected_seq, "removed",
          missing == 1 ? "entry " + std::to_string(expected_seq) + " is missing" + follows
                       : "entries " + std::to_string(expected_seq) + " to " + std::to_string(r.seq - 1) +
                             " are missing" + follows);
    }
    // seq is hashed, so an entry verifies only at the position it was written at.
    if (audit_hash(r) != r.hash) {
      reported = true;
      std::optional<std::int64_t> original;
      if (lookups_left-- > 0) {
        // Where it belongs: after the entry it was chained to, or before the one chained to it.
        std::vector<std::int64_t> candidates;
        if (auto after = find_seq(by_hash.s, r.prev_hash, r.seq)) candidates.push_back(*after + 1);
        if (auto before = find_seq(by_prev.s, r.hash, r.seq)) candidates.push_back(*before - 1);
        for (std::int64_t c : candidates) {
          AuditRecord moved = r;
          moved.seq = c;
          if (c != r.seq && c > 0 && audit_hash(moved) == r.hash) original = c;
        }
      }
      if (original) {
        ++report.reordered;
        add(r.seq, "reordered",
            "entry " + at + " is out of place: it is entry " + std::to_string(*original) + ", moved intact");
      } else {
        ++report.altered;
        add(r.seq, "altered",
            "entry " + at + " was altered: its content no longer matches its hash " + short_hash(r.hash));
      }
    } else if (!gap && r.prev_hash != expected_prev && !previous_reported) {
      // This entry is intact and in place, so its predecessor is not the entry it was
      // chained to: that one was replaced, or altered and given a new hash.
      ++report.altered;
      add(r.seq - 1, "altered",
          "entry " + std::to_string(r.seq - 1) + " was replaced or altered and re-hashed: entry " + at +
              " was chained to hash " + short_hash(r.prev_hash) + ", entry " + std::to_string(r.seq - 1) +
              " now has " + short_hash(expected_prev));
    }
    previous_reported = reported;
    expected_seq = r.seq + 1;
    expected_prev = r.hash;
  }
  if (rc != SQLITE_DONE) return db.error("read audit");

  for (const auto& a : anchors) {
    sqlite3_reset(by_seq.s);
    sqlite3_bind_int64(by_seq.s, 1, a.seq);
    if (sqlite3_step(by_seq.s) == SQLITE_ROW) {
      const std::string h = column_text(by_seq.s, 0);
      if (h != a.hash) {
        ++report.altered;
        add(a.seq, "altered",
            "entry " + std::to_string(a.seq) + " is not the entry recorded as head " + std::to_string(a.seq) + ":" +
                short_hash(a.hash) + " (it has hash " + short_hash(h) + ")");
      }
    } else if (a.seq > report.last_seq) {
      report.removed += a.seq - report.last_seq;
      add(report.last_seq + 1, "removed",
          "the log ends at entry " + std::to_string(report.last_seq) + " but entry " + std::to_string(a.seq) +
              " was recorded as head (" + short_hash(a.hash) + "): entries " + std::to_string(report.last_seq + 1) +
              " to " + std::to_string(a.seq) + " were removed");
    }
    // An anchored entry missing inside the log was already reported as a gap.
  }
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const AuditProblem& x, const AuditProblem& y) { return x.seq < y.seq; });
  return report;
}

Result<std::vector<AuditRecord>> read_audit_file(const std::string& path, const std::string& subject,
                                                 std::int64_t after, std::int64_t limit) {
  auto opened = ReadSnapshot::open(path);
  if (!opened) return opened.error();
  ReadSnapshot& db = **opened;
  // CASE, not AND: json_each fails on a row whose detail is not JSON (a tampered row),
  // and only CASE guarantees it is not evaluated then.
  StmtGuard s{db.prepare(
      "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ?1 AND (?2 = '' OR subject = ?2 OR "
      "(instr(?2, ':') = 0 AND (substr(subject, instr(subject, ':') + 1) = ?2 OR "
      "CASE WHEN json_valid(detail) THEN EXISTS(SELECT 1 FROM json_each(detail, '$.transfers') WHERE value = ?2) "
      "ELSE 0 END))) ORDER BY seq LIMIT ?3")};
  if (!s.s) return db.error("prepare");
  sqlite3_bind_int64(s.s, 1, after);
  sqlite3_bind_text(s.s, 2, subject.data(), static_cast<int>(subject.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.s, 3, limit > 0 ? limit : -1);
  std::vector<AuditRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.s)) == SQLITE_ROW) out.push_back(read_record(s.s));
  if (rc != SQLITE_DONE) return db.error("read audit");
  return out;
}

Result<AuditAnchor> audit_head_of_file(const std::string& path) {
  auto opened = ReadSnapshot::open(path);
  if (!opened) return opened.error();
  StmtGuard s{(*opened)->prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")};
  if (!s.s) return (*opened)->error("prepare");
  AuditAnchor head{0, std::string(kAuditGenesisHash)};
  if (sqlite3_step(s.s) == SQLITE_ROW) {
    head.seq = sqlite3_column_int64(s.s, 0);
    head.hash = column_text(s.s, 1);
  }
  return head;
}

}  // namespace deit::hub
