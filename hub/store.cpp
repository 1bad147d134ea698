#include "hub/store.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "hub/digest.hpp"
#include "hub/thread_name.hpp"
#include "hub/wal_coalescing_vfs.hpp"

#include <chrono>
#include <ctime>
#include <unordered_map>

namespace deit::hub {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time_ms(std::int64_t ms) {
  if (ms <= 0) return {};
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string make_transfer_id(std::string_view sender, std::string_view sender_reference, std::string_view receiver) {
  const auto md = sha256({sender, "\n", sender_reference, "\n", receiver});
  // 20 characters of Crockford base32 (100 bits): short enough to read out on a phone.
  static const char* alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  std::string id = "T-";
  std::uint64_t acc = 0;
  int bits = 0;
  for (int i = 0; id.size() < 22; ++i) {
    acc = (acc << 8) | md[i];
    bits += 8;
    while (bits >= 5 && id.size() < 22) {
      id.push_back(alphabet[(acc >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return id;
}

std::string grade_text(const model::Priority& p) {
  if (p.police_grade) return std::string(model::to_string(*p.police_grade));
  if (p.ambulance_category) return "category-" + std::to_string(*p.ambulance_category);
  if (!p.fire_priority.empty()) return p.fire_priority;
  return {};
}

namespace {

// A create's history records the translation findings and the location check that its
// transfer row holds too (columns findings and location). Those events keep only the
// column's name, as below, and history() reads the value from the row: about 1.1 KB less
// per transfer, a seventh of what a transfer writes (bench/store). The events of later
// messages keep their own detail, which the row does not hold. An erasure empties both.
constexpr std::string_view kDetailInTransferFindings = "=findings";
constexpr std::string_view kDetailInTransferLocation = "=location";

// Schema version 4. Transfers, messages and events are rowid tables whose rows arrive in
// time order, so a batch of new transfers fills the same few pages at the end of each
// table instead of one scattered page per row. The hash-keyed ids (transfer id, sender's
// message id) live in small unique indexes, and the events index is keyed by the
// transfer's rowid, so the only scattered writes left per transfer are those two index
// entries. Created in two steps so that migrate() can rebuild older tables in between.
const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS transfers(
  key INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  sender TEXT NOT NULL,
  receiver TEXT NOT NULL,
  sender_reference TEXT NOT NULL,
  shared_reference TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL,
  on_behalf_of TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  grade TEXT NOT NULL DEFAULT '',
  emergency INTEGER NOT NULL DEFAULT 0,
  life_risk INTEGER NOT NULL DEFAULT 0,
  last_sequence INTEGER NOT NULL DEFAULT 0,
  received_at INTEGER NOT NULL DEFAULT 0,
  validated_at INTEGER NOT NULL DEFAULT 0,
  stored_at INTEGER NOT NULL DEFAULT 0,
  delivered_at INTEGER NOT NULL DEFAULT 0,
  accepted_at INTEGER NOT NULL DEFAULT 0,
  rejected_at INTEGER NOT NULL DEFAULT 0,
  closed_at INTEGER NOT NULL DEFAULT 0,
  cancelled_at INTEGER NOT NULL DEFAULT 0,
  decision_reason TEXT NOT NULL DEFAULT '',
  decided_by TEXT NOT NULL DEFAULT '',
  findings TEXT NOT NULL DEFAULT '[]',
  location TEXT NOT NULL DEFAULT '{}',
  receiver_grade TEXT NOT NULL DEFAULT '',
  grade_rationale TEXT NOT NULL DEFAULT '',
  invocation TEXT NOT NULL DEFAULT '',
  overdue_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages(
  key INTEGER PRIMARY KEY,
  sender TEXT NOT NULL,
  message_id TEXT NOT NULL,
  type TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  sender_reference TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  transfer_ids TEXT NOT NULL,
  body TEXT NOT NULL,
  UNIQUE(sender, message_id)
);
CREATE TABLE IF NOT EXISTS deliveries(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  agency TEXT NOT NULL,
  transfer_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  content_type TEXT NOT NULL,
  payload BLOB NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  queued_at INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  lane INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  transfer_key INTEGER NOT NULL,
  transfer_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  event TEXT NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  message_id TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS invocations(
  id TEXT PRIMARY KEY,
  home TEXT NOT NULL,
  buddy TEXT NOT NULL,
  secondary TEXT NOT NULL DEFAULT '',
  trigger TEXT NOT NULL,
  calls TEXT NOT NULL,
  incidents TEXT NOT NULL,
  types TEXT NOT NULL DEFAULT '',
  mode TEXT NOT NULL,
  authorised_by TEXT NOT NULL,
  authorised_via TEXT NOT NULL,
  cha_reference TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL DEFAULT 0,
  stood_down_by TEXT NOT NULL DEFAULT '',
  stand_down_reason TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql";

const char* kIndexes = R"sql(
CREATE INDEX IF NOT EXISTS transfers_sender ON transfers(sender, stored_at);
CREATE INDEX IF NOT EXISTS transfers_receiver ON transfers(receiver, stored_at);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries(agency, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries(agency, seq) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS events_by_transfer ON events(transfer_key, id);
)sql";

// Indexes on columns that older databases gain in migrate(), so created after it.
// transfers_ended spells its states as ORs: SQLite evaluates an IN list of three or more
// constants through a temporary table, which it then built and dropped for every insert
// into transfers and twice for every update of one (2 % of the hub's samples at 5,000 /s).
const char* kLateIndexes = R"sql(
CREATE INDEX IF NOT EXISTS transfers_invocation ON transfers(invocation) WHERE invocation != '';
CREATE INDEX IF NOT EXISTS transfers_on_behalf ON transfers(on_behalf_of, stored_at) WHERE on_behalf_of != '';
CREATE INDEX IF NOT EXISTS deliveries_held ON deliveries(transfer_id) WHERE state = 'held';
CREATE INDEX IF NOT EXISTS transfers_ended ON transfers(max(closed_at, cancelled_at, rejected_at))
  WHERE state = 'closed' OR state = 'cancelled' OR state = 'rejected';
)sql";

// Schema version 3: the hash-chained audit log (audit.hpp). No index beyond seq: an index
// on subject would dirty a scattered page per entry on the hot path; audit queries scan.
// The triggers keep the hub itself from changing or deleting entries; anyone who drops
// them and edits the file breaks the chain, which `deitctl audit verify` reports.
const char* kAuditSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  category TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL,
  reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

Error db_error(sqlite3* db, const std::string& what) {
  return Error::make("store", what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

// A prepared statement with positional binding; reset on every use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      error_ = sqlite3_errmsg(db);
      stmt_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  const std::string& prepare_error() const { return error_; }

  Stmt& reset() {
    if (!stmt_) return *this;  // a failed prepare is reported by DEIT_SQL_OK, not a crash
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    index_ = 0;
    return *this;
  }
  Stmt& bind(std::string_view s) {
    sqlite3_bind_text(stmt_, ++index_, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(const char* s) { return bind(std::string_view(s)); }
  Stmt& bind(const std::string& s) { return bind(std::string_view(s)); }
  Stmt& bind(std::int64_t v) {
    sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }
  Stmt& bind(std::uint64_t v) { return bind(static_cast<std::int64_t>(v)); }
  Stmt& bind(int v) { return bind(static_cast<std::int64_t>(v)); }
  Stmt& bind(bool v) { return bind(static_cast<std::int64_t>(v ? 1 : 0)); }
  Stmt& blob(std::string_view s) {
    sqlite3_bind_blob(stmt_, ++index_, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Without SQLite's copy, for the large texts of a submit (bodies, payloads): the caller
  // keeps `s` alive and unchanged until the statement has run.
  Stmt& bind_uncopied(std::string_view s) {
    sqlite3_bind_text(stmt_, ++index_, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& blob_uncopied(std::string_view s) {
    sqlite3_bind_blob(stmt_, ++index_, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  Status run() {
    int rc = step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_error(db_, "statement failed");
    return Status::success();
  }

  std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int index_ = 0;
  std::string error_;
};

// One connection plus its statement cache, keyed by SQL text (the texts are literals).
class Connection {
 public:
  // The role sets the page cache's size (below) and, for the writer and checkpointer, write access.
  enum class Role { writer, checkpointer, reader };
  static Result<std::unique_ptr<Connection>> open(const std::string& path, Role role) {
    const bool writer = role != Role::reader;
    // No memory statistics: with them every allocation and free inside SQLite takes a global
    // mutex, which the writer and the readers on the I/O threads contend for (about 2 % of
    // the hub's CPU flat out). Only possible before SQLite initialises; nothing here reads them.
    static const bool statistics_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    static_cast<void>(statistics_off);
    sqlite3* db = nullptr;
    const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                      SQLITE_OPEN_NOMUTEX;
    // The writer's WAL frames go out in one write per commit (wal_coalescing_vfs.hpp).
    if (sqlite3_open_v2(path.c_str(), &db, flags, writer ? wal_coalescing_vfs() : nullptr) != SQLITE_OK) {
      Error e = db_error(db, "cannot open " + path);
      sqlite3_close(db);
      return e;
    }
    auto c = std::unique_ptr<Connection>(new Connection(db));
    sqlite3_busy_timeout(db, 5000);
    // The hub keeps no more resident than pays for itself: the kernel's access tracking
    // samples its resident pages (on this VM DAMON's proactive reclaim, kdamond, every 0.5 s),
    // and answers stall while it runs.
    // Page caches of 16 MiB for the writer and 2 MiB for the others: 64 MiB on every
    // connection left the hub at 250 to 300 MB after a burst, and paced 1,000 /s just after
    // 100,000 incidents gave p99 21 / 23 / 54 ms against 16 / 13 / 12 ms with these sizes, at
    // the same CPU per transfer offered 5,000 /s (bench/transfer). A bigger cache is not even
    // cheaper for the writer: a page SQLite drops is still in the kernel's page cache
    // (bench/store, 40,000 transfers: 57 µs of store CPU per submit with 64 MiB, 52 with
    // 16 MiB, 45 with 4 MiB).
    // No mmap (mmap_size=0): mapped, every resident page of the database is in the hub's
    // page tables, which kdamond walks (16 % of all samples while answers stalled, 0.2 %
    // otherwise). Paced 1,000 /s just after 100,000 incidents: p99 29 / 23 / 32 ms mapped,
    // 18 / 17 / 23 ms not, with the same CPU per transfer flat out and offered
    // (bench/transfer). A read error is then SQLITE_IOERR, which the hub reports, rather than
    // a SIGBUS that ends it.
    for (const char* pragma : {role == Role::writer ? "PRAGMA cache_size=-16384" : "PRAGMA cache_size=-2048",
                               "PRAGMA mmap_size=0", "PRAGMA temp_store=MEMORY"}) {
      if (auto s = c->exec(pragma); !s) return s.error();
    }
    if (writer) {
      // WAL: readers never block the writer. synchronous=FULL: a commit is on disk
      // (fsync of the WAL) before the sender is told "received".
      // Checkpoints run on their own thread (run_checkpoints), not inside a sender's commit.
      // journal_size_limit: above the WAL's usual cycle (kWalRestartFrames frames of 4 KiB
      // plus headers, 67.5 MB), so its file is cut back only after an unusual growth. At
      // 64 MiB every cycle ended in a truncate that freed blocks the next cycle allocated
      // again (the root file system is mounted with `discard`).
      for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                                 "PRAGMA wal_autocheckpoint=0", "PRAGMA journal_size_limit=134217728"}) {
        if (auto s = c->exec(pragma); !s) return s.error();
      }
      if (auto s = c->exec(kTables); !s) return s.error();
      if (auto s = c->migrate(); !s) return s.error();
    }
    return c;
  }
  ~Connection() {
    cache_.clear();
    sqlite3_close(db_);
  }

  Status exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      Error e = Error::make("store", std::string(sql).substr(0, 40) + ": " + (err ? err : "failed"));
      sqlite3_free(err);
      return e;
    }
    return Status::success();
  }

  // Brings a database made by an earlier version up to the current schema.
  Status migrate() {
    struct Added {
      const char* table;
      const char* column;
      const char* declaration;
    };
    static const Added added[] = {
        {"transfers", "location", "TEXT NOT NULL DEFAULT '{}'"},         // version 2
        {"transfers", "receiver_grade", "TEXT NOT NULL DEFAULT ''"},     // version 3: routing and buddy
        {"transfers", "grade_rationale", "TEXT NOT NULL DEFAULT ''"},
        {"transfers", "invocation", "TEXT NOT NULL DEFAULT ''"},
        {"transfers", "overdue_at", "INTEGER NOT NULL DEFAULT 0"},
        {"deliveries", "lane", "INTEGER NOT NULL DEFAULT 0"},
    };
    for (const auto& a : added) {
      if (!has_column(a.table, a.column)) {
        const std::string sql = std::string("ALTER TABLE ") + a.table + " ADD COLUMN " + a.column + " " + a.declaration;
        if (auto s = exec(sql.c_str()); !s) return s;
      }
    }
    if (auto s = rebuild_as_rowid_tables(); !s) return s;
    // Version 5: transfers_ended with ORs instead of IN (see kLateIndexes).
    if (index_sql("transfers_ended").find(" IN (") != std::string::npos)
      if (auto s = exec("DROP INDEX transfers_ended"); !s) return s;
    if (auto s = exec(kIndexes); !s) return s;
    if (auto s = exec(kLateIndexes); !s) return s;
    if (auto s = exec(kAuditSchema); !s) return s;
    return exec("PRAGMA user_version = 5");
  }

  std::string index_sql(const char* name) {
    auto& s = stmt("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?");
    s.bind(name);
    std::string sql = s.step() == SQLITE_ROW ? s.text(0) : std::string();
    s.reset();
    return sql;
  }

  bool has_column(const char* table, std::string_view column) {
    bool present = false;
    auto& columns = stmt("SELECT name FROM pragma_table_info(?)");
    columns.bind(table);
    while (columns.step() == SQLITE_ROW) present |= columns.text(0) == column;
    columns.reset();
    return present;
  }

  // Version 4: transfers, messages and events become time-ordered rowid tables (see
  // kTables). Older tables are renamed, their rows copied in time order, and dropped, in
  // one transaction: a failure leaves the database as it was.
  Status rebuild_as_rowid_tables() {
    struct Old {
      const char* table;
      const char* added;     // the column version 4 added: absent means an older table
      const char* order_by;  // time order of the old rows
    };
    static const Old tables[] = {{"transfers", "key", "stored_at, id"},
                                 {"messages", "key", "received_at, sender, message_id"},
                                 {"events", "transfer_key", "id"}};
    std::vector<const Old*> old;
    for (const auto& t : tables)
      if (!has_column(t.table, t.added)) old.push_back(&t);
    if (old.empty()) return Status::success();
    if (auto s = exec("BEGIN IMMEDIATE"); !s) return s;
    auto copy = [&]() -> Status {
      for (const Old* t : old) {
        const std::string rename = std::string("ALTER TABLE ") + t->table + " RENAME TO " + t->table + "_v3";
        if (auto s = exec(rename.c_str()); !s) return s;
      }
      if (auto s = exec(kTables); !s) return s;
      for (const Old* t : old) {
        const std::string from = std::string(t->table) + "_v3";
        std::string columns;
        auto& names = stmt("SELECT name FROM pragma_table_info(?)");
        names.bind(from);
        while (names.step() == SQLITE_ROW) columns += (columns.empty() ? "" : ", ") + names.text(0);
        names.reset();
        const bool events = std::string_view(t->table) == "events";
        const std::string sql =
            std::string("INSERT INTO ") + t->table + "(" + (events ? "transfer_key, " : "") + columns + ") SELECT " +
            (events ? "coalesce((SELECT key FROM transfers WHERE transfers.id = " + from + ".transfer_id), 0), " : "") +
            columns + " FROM " + from + " ORDER BY " + t->order_by + "; DROP TABLE " + from + ";";
        if (auto s = exec(sql.c_str()); !s) return s;
      }
      return Status::success();
    };
    if (auto s = copy(); !s) {
      static_cast<void>(exec("ROLLBACK"));
      return s;
    }
    return exec("COMMIT");
  }

  // A statement without results, prepared once (BEGIN, SAVEPOINT, COMMIT on the hot path).
  Status run(const char* sql) {
    auto& s = stmt(sql);
    if (!s.valid()) return Error::make("store", "prepare: " + s.prepare_error());
    return s.run();
  }

  Stmt& stmt(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<Stmt>(db_, sql)).first;
    return it->second->reset();
  }

  sqlite3* db() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

#define DEIT_SQL_OK(stmt_ref)                                                                  \
  do {                                                                                         \
    if (!(stmt_ref).valid()) return Error::make("store", "prepare: " + (stmt_ref).prepare_error()); \
  } while (0)

TransferRecord read_transfer(const Stmt& s) {
  TransferRecord t;
  int c = 0;
  t.id = s.text(c++);
  t.sender = s.text(c++);
  t.receiver = s.text(c++);
  t.sender_reference = s.text(c++);
  t.shared_reference = s.text(c++);
  t.reason = s.text(c++);
  t.on_behalf_of = s.text(c++);
  t.state = s.text(c++);
  t.grade = s.text(c++);
  t.emergency = s.i64(c++) != 0;
  t.life_risk = s.i64(c++) != 0;
  t.last_sequence = static_cast<std::uint64_t>(s.i64(c++));
  t.received_at = s.i64(c++);
  t.validated_at = s.i64(c++);
  t.stored_at = s.i64(c++);
  t.delivered_at = s.i64(c++);
  t.accepted_at = s.i64(c++);
  t.rejected_at = s.i64(c++);
  t.closed_at = s.i64(c++);
  t.cancelled_at = s.i64(c++);
  t.decision_reason = s.text(c++);
  t.decided_by = s.text(c++);
  t.findings_json = s.text(c++);
  t.location_json = s.text(c++);
  t.receiver_grade = s.text(c++);
  t.grade_rationale = s.text(c++);
  t.invocation = s.text(c++);
  t.overdue_at = s.i64(c++);
  return t;
}

#define TRANSFER_COLUMNS                                                                                        \
  "id, sender, receiver, sender_reference, shared_reference, reason, on_behalf_of, state, grade, emergency, " \
  "life_risk, last_sequence, received_at, validated_at, stored_at, delivered_at, accepted_at, rejected_at, "   \
  "closed_at, cancelled_at, decision_reason, decided_by, findings, location, receiver_grade, grade_rationale, "  \
  "invocation, overdue_at"

Delivery read_delivery(const Stmt& s) {
  Delivery d;
  d.seq = static_cast<std::uint64_t>(s.i64(0));
  d.agency = s.text(1);
  d.transfer_id = s.text(2);
  d.message_id = s.text(3);
  d.kind = s.text(4);
  d.content_type = s.text(5);
  d.payload = std::make_shared<const std::string>(s.text(6));
  d.state = s.text(7);
  d.attempts = static_cast<int>(s.i64(8));
  d.queued_at = s.i64(9);
  d.last_error = s.text(10);
  d.lane = static_cast<int>(s.i64(11));
  return d;
}

#define INVOCATION_COLUMNS                                                                                 \
  "id, home, buddy, secondary, trigger, calls, incidents, types, mode, authorised_by, authorised_via, "  \
  "cha_reference, note, started_at, ended_at, stood_down_by, stand_down_reason"

buddy::Invocation read_invocation_row(const Stmt& s) {
  buddy::Invocation inv;
  int c = 0;
  inv.id = s.text(c++);
  inv.home = s.text(c++);
  inv.buddy = s.text(c++);
  inv.secondary = s.text(c++);
  inv.trigger = buddy::parse_trigger(s.text(c++)).value_or(buddy::Trigger::influx_of_calls);
  inv.scope.calls = buddy::parse_call_scope(s.text(c++)).value_or(buddy::CallScope::all_calls);
  inv.scope.incidents = buddy::parse_incident_scope(s.text(c++)).value_or(buddy::IncidentScope::all);
  const std::string types = s.text(c++);
  for (std::size_t start = 0; start < types.size();) {
    std::size_t comma = types.find(',', start);
    if (comma == std::string::npos) comma = types.size();
    inv.scope.types.push_back(types.substr(start, comma - start));
    start = comma + 1;
  }
  inv.mode = buddy::parse_mode(s.text(c++)).value_or(buddy::Mode::dispatch_on_behalf);
  inv.authorised_by = s.text(c++);
  inv.authorised_via = s.text(c++);
  inv.cha_reference = s.text(c++);
  inv.note = s.text(c++);
  inv.started_at = s.i64(c++);
  inv.ended_at = s.i64(c++);
  inv.stood_down_by = s.text(c++);
  inv.stand_down_reason = s.text(c++);
  return inv;
}

#define DELIVERY_COLUMNS \
  "seq, agency, transfer_id, message_id, kind, content_type, payload, state, attempts, queued_at, last_error, lane"

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::string audit_detail(const boost::json::object& o) { return boost::json::serialize(o); }

// An entry about one transfer names it as its subject; one about several names `fallback`
// and lists them under "transfers" (which `deitctl audit list --subject` also searches).
std::string audit_subject(const boost::json::array& transfers, const std::string& fallback) {
  if (transfers.size() == 1) return "transfer:" + std::string(transfers[0].as_string());
  return fallback;
}

void add_unique(boost::json::array& a, const std::string& id) {
  for (const auto& v : a)
    if (v.as_string() == id) return;
  a.emplace_back(id);
}

}  // namespace

// ---------------------------------------------------------------------------------------

struct Store::Impl {
  struct Op {
    // Runs inside the batch's transaction, and may run twice (see commit_batch): all it
    // changes is the database and what it hands to `done`.
    std::function<Status(Connection&)> work;
    std::function<void(Status)> done;  // after commit (or with the failure)
  };

  std::string path;
  std::uint64_t id = 0;
  std::unique_ptr<Connection> writer;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Op> queue;
  bool stopping = false;
  std::thread thread;
  // Copies committed WAL pages into the database file off the commit path, so no
  // sender's commit pays for a checkpoint (wal_autocheckpoint is off). In small steps: a
  // large checkpoint (its reads, its writes and the fsync of the database file when it
  // reaches the WAL's end) competes with the commits' fsync of the WAL, and showed as a
  // spike in every sender's latency (p99 at 1,000/s offered: 28 ms with a pass every
  // 500 ms, 7 to 10 ms in steps of about 1 MiB; bench/transfer). But each step also
  // copies every page the commits since the last one rewrote (index roots, the tails of
  // tables) and syncs both files, so while the writer is saturated (its batches large on
  // average) the steps are four times longer: flat out, 32 senders, alternating runs,
  // that took 10 to 20 % less CPU per transfer and carried as much more. On average, not
  // per batch: the batch after a slow sync is large too, and a longer checkpoint then
  // would make the next sync slower still. The writer's wake-up is not under the mutex,
  // so one can be missed; the idle timeout bounds that.
  static constexpr int kCheckpointStepFrames = 256;       // 1 MiB of 4 KiB pages
  static constexpr int kBusyCheckpointStepFrames = 1024;  // 4 MiB
  static constexpr double kBusyBatchOps = 8;              // batches this large on average: the writer is saturated
  double batch_average = 1;                               // the writer's, over about the last 16 batches
  std::atomic<int> checkpoint_step{kCheckpointStepFrames};
  static constexpr auto kCheckpointIdle = std::chrono::milliseconds(100);
  std::unique_ptr<Connection> checkpointer;
  std::thread checkpoint_thread;
  std::condition_variable checkpoint_wake;  // not `wake`: it must never take the writer's wake-up
  std::atomic<int> frames_since_checkpoint{0};  // WAL frames committed since the last step began

  void run_checkpoints() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      checkpoint_wake.wait_for(lock, kCheckpointIdle, [&] {
        return stopping || frames_since_checkpoint.load(std::memory_order_relaxed) >=
                               checkpoint_step.load(std::memory_order_relaxed);
      });
      if (stopping) break;
      if (frames_since_checkpoint.exchange(0, std::memory_order_relaxed) == 0) continue;  // nothing new
      lock.unlock();
      const auto started = std::chrono::steady_clock::now();
      static_cast<void>(checkpointer->exec("PRAGMA wal_checkpoint(PASSIVE)"));
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      if (ms >= 100) spdlog::info("event=checkpoint ms={}", ms);
      lock.lock();
    }
  }

  // The WAL hook, on the writer thread after each commit: `frames` is the WAL's length.
  void committed(int frames) {
    const int before = wal_frames.exchange(frames, std::memory_order_relaxed);
    const int added = frames >= before ? frames - before : frames;  // the WAL restarted
    const int since = frames_since_checkpoint.fetch_add(added, std::memory_order_relaxed) + added;
    const int step = checkpoint_step.load(std::memory_order_relaxed);
    if (since >= step && since - added < step) checkpoint_wake.notify_one();
  }

  // Group commit under load (StoreOptions). Each commit has a large fixed cost, about
  // 200 µs of the store's CPU on the project's VM (the hot index pages written again, the
  // WAL's sync and its virtio doorbell, the checkpointer copying those pages once more), so
  // a writer that commits as soon as anything waits spends the most per transfer exactly
  // when it keeps up with a high rate (deit-store-bench: 150 µs per submit with 2 in
  // flight, 53 with 32). The rate is measured over windows of kRateWindow; the paced
  // latency target's 1,000 /s stays well below the default linger rate.
  StoreOptions options;
  static constexpr auto kRateWindow = std::chrono::milliseconds(50);
  static constexpr std::size_t kLingerBatch = 64;
  std::size_t wake_at = 1;     // queue length at which enqueue wakes the writer (under `mutex`)
  std::uint64_t enqueued = 0;  // ops ever enqueued (under `mutex`)
  std::chrono::steady_clock::time_point last_enqueued{};  // under `mutex`
  std::uint64_t window_enqueued = 0;
  std::chrono::steady_clock::time_point window_start{};
  double arrival_rate = 0;  // ops per second over the last complete window (writer only)
  std::atomic<std::uint64_t> commits{0}, committed_ops{0};

  void enqueue(Op op) {
    bool refused = false, notify = false;
    {
      std::lock_guard lock(mutex);
      refused = stopping;
      if (!refused) {
        queue.push_back(std::move(op));
        ++enqueued;
        last_enqueued = std::chrono::steady_clock::now();
        notify = queue.size() >= wake_at;
      }
    }
    if (refused) {
      op.done(Error::make("store", "the store is closing"));
      return;
    }
    if (notify) wake.notify_one();
  }

  // Under `mutex`, on the writer thread, with something queued: waits for a fuller batch
  // while the arrival rate is high.
  void linger(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point previous_commit) {
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start >= kRateWindow) {
      arrival_rate = static_cast<double>(enqueued - window_enqueued) / std::chrono::duration<double>(now - window_start).count();
      window_start = now;
      window_enqueued = enqueued;
    }
    if (arrival_rate < options.linger_rate || queue.size() >= kLingerBatch ||
        now - previous_commit >= options.commit_interval)
      return;
    // It also stops when arrivals go quiet for three average gaps (at least 0.5 ms): then
    // the senders are waiting for this commit (a closed loop, or a burst that has ended),
    // and more waiting would add their latency without adding to the batch.
    const auto deadline = previous_commit + options.commit_interval;
    const auto quiet = std::max<std::chrono::steady_clock::duration>(
        std::chrono::microseconds(500),
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>(arrival_rate > 0 ? 3 / arrival_rate : 0)));  // a linger_rate of 0
    wake_at = kLingerBatch;
    while (!wake.wait_until(lock, std::min(deadline, last_enqueued + quiet),
                            [&] { return stopping || queue.size() >= kLingerBatch; })) {
      const auto at = std::chrono::steady_clock::now();
      if (at >= deadline || at - last_enqueued >= quiet) break;
    }
    wake_at = 1;
  }

  void run() {
    std::vector<Op> batch;
    auto previous_commit = std::chrono::steady_clock::now();
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty() && stopping) return;
        linger(lock, previous_commit);
        previous_commit = std::chrono::steady_clock::now();
        const std::size_t n = std::min<std::size_t>(queue.size(), 2048);
        batch.clear();
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      commit_batch(batch);
    }
  }

  void commit_batch(std::vector<Op>& batch) {
    const auto started = std::chrono::steady_clock::now();
    batch_average += (static_cast<double>(batch.size()) - batch_average) / 16;
    checkpoint_step.store(batch_average >= kBusyBatchOps ? kBusyCheckpointStepFrames : kCheckpointStepFrames,
                          std::memory_order_relaxed);
    std::vector<Status> results(batch.size());
    Status committed = run_batch(batch, results, false);
    if (!committed && committed.error().rule == kRetryWithSavepoints) committed = run_batch(batch, results, true);
    if (!committed) {
      spdlog::critical("event=store-commit-failed ops={} error=\"{}\"", batch.size(), committed.error().message);
      for (auto& r : results) r = committed;
    }
    const auto committed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    // Every sender in the batch waited this long for "received": worth an operator's look.
    if (committed_ms >= kSlowCommitMs)
      spdlog::warn("event=slow-commit ms={} ops={} wal_frames={}", committed_ms, batch.size(), wal_frames.load());
    if (committed) {
      commits.fetch_add(1, std::memory_order_relaxed);
      committed_ops.fetch_add(batch.size(), std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(results[i]);
    finish_wal_cycle();
  }

  static constexpr const char* kRetryWithSavepoints = "retry-with-savepoints";

  // One transaction for the batch; an op that fails leaves the database as it found it.
  // A savepoint around every op would do that, at a cost of about 9 µs of the writer's time
  // per transfer (a submit and its acknowledgement; bench/store). So first the batch runs
  // without them: an op that fails before it changed a row (a refusal: each op decides
  // those before its first write) costs nothing to undo. Only when an op fails after changing
  // rows is the whole transaction rolled back and the batch run again with a savepoint
  // around each op (`guarded`). Returns the commit's status.
  Status run_batch(std::vector<Op>& batch, std::vector<Status>& results, bool guarded) {
    sqlite3* db = writer->db();
    if (Status begun = writer->run("BEGIN IMMEDIATE"); !begun) return begun;
    Status broken = Status::success();
    for (std::size_t i = 0; i < batch.size() && broken; ++i) {
      if (guarded) {
        broken = writer->run("SAVEPOINT op");
        if (!broken) break;
      }
      const std::int64_t changes_before = sqlite3_total_changes64(db);
      results[i] = batch[i].work(*writer);
      if (results[i]) {
        if (guarded) broken = writer->run("RELEASE op");
        continue;
      }
      if (guarded) {
        broken = writer->run("ROLLBACK TO op");
        if (broken) broken = writer->run("RELEASE op");
        continue;
      }
      // A statement left mid-step has not counted its changes yet. Some errors (a full
      // disk, an I/O error) make SQLite roll the whole transaction back itself: the ops
      // after it would then each commit on their own.
      for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st != nullptr; st = sqlite3_next_stmt(db, st))
        if (sqlite3_stmt_busy(st) && !sqlite3_stmt_readonly(st)) sqlite3_reset(st);
      if (sqlite3_total_changes64(db) != changes_before || sqlite3_get_autocommit(db) != 0) {
        static_cast<void>(writer->exec("ROLLBACK"));
        spdlog::debug("event=store-batch-retried ops={} failed_op={}", batch.size(), i);
        return Error::make(kRetryWithSavepoints, "an op failed after changing rows");
      }
    }
    Status committed = broken ? writer->run("COMMIT") : broken;
    if (!committed) static_cast<void>(writer->exec("ROLLBACK"));
    return committed;
  }

  // Under sustained load the background checkpoint never catches the WAL's end (a commit
  // always lands while it copies), so the WAL would never restart and would grow without
  // bound. Once it passes kWalRestartFrames, the writer itself checkpoints the few frames
  // the background pass left; with nothing left to copy, the next transaction starts the
  // WAL from the top again, overwriting the same file.
  static constexpr std::int64_t kSlowCommitMs = 20;
  static constexpr int kWalRestartFrames = 16384;  // 64 MiB of 4 KiB pages
  std::atomic<int> wal_frames{0};                  // set by the WAL hook after each commit

  void finish_wal_cycle() {
    if (wal_frames.load(std::memory_order_relaxed) < kWalRestartFrames) return;
    int in_wal = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(writer->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &in_wal, &copied);
    if (rc == SQLITE_OK && in_wal == copied) wal_frames = 0;  // restarts with the next write
  }

  // Read connections: one per thread, owned here so that closing the store closes them.
  std::mutex readers_mutex;
  std::vector<std::unique_ptr<Connection>> readers;

  Connection* reader() {
    // WAL lets any number of these read while the writer writes. The thread-local map is
    // keyed by store id, which is never reused, so an entry of a closed store is never used.
    thread_local std::unordered_map<std::uint64_t, Connection*> mine;
    Connection*& c = mine[id];
    if (!c) {
      auto opened = Connection::open(path, Connection::Role::reader);
      if (!opened) return nullptr;
      std::lock_guard lock(readers_mutex);
      readers.push_back(std::move(opened).value());
      c = readers.back().get();
    }
    return c;
  }

  // ---- operations (run on the writer thread, inside a savepoint) ----

  // Appends one chained audit entry. The chain's end is read back from the table rather
  // than kept in memory, so a savepoint or transaction rollback can never leave a stale
  // head behind; the row is on the last, cached page.
  Result<AuditRecord> append_audit_row(Connection& c, const AuditEntry& e) {
    AuditRecord r = audit_record_from(e);
    auto& last = c.stmt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    DEIT_SQL_OK(last);
    if (last.step() == SQLITE_ROW) {
      r.seq = last.i64(0) + 1;
      r.prev_hash = last.text(1);
    } else {
      r.seq = 1;
      r.prev_hash = std::string(kAuditGenesisHash);
    }
    last.reset();
    r.at = now_ms();
    r.hash = audit_hash(r);
    auto& ins = c.stmt("INSERT INTO audit(seq, at, actor, action, category, subject, detail, reason, prev_hash, hash) "
                       "VALUES(?,?,?,?,?,?,?,?,?,?)");
    DEIT_SQL_OK(ins);
    if (auto st = ins.bind(r.seq)
                      .bind(r.at)
                      .bind(r.actor)
                      .bind(r.action)
                      .bind(r.category)
                      .bind(r.subject)
                      .bind(r.detail)
                      .bind(r.reason)
                      .bind(r.prev_hash)
                      .bind(r.hash)
                      .run();
        !st)
      return st.error();
    return r;
  }

  Status audit(Connection& c, const AuditEntry& e) {
    auto r = append_audit_row(c, e);
    return r ? Status::success() : Status(r.error());
  }

  static Result<AuditAnchor> audit_head_on(Connection& c) {
    auto& s = c.stmt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    DEIT_SQL_OK(s);
    AuditAnchor head{0, std::string(kAuditGenesisHash)};
    if (s.step() == SQLITE_ROW) {
      head.seq = s.i64(0);
      head.hash = s.text(1);
    }
    s.reset();
    return head;
  }

  Status insert_event(Connection& c, const std::string& transfer_id, std::int64_t at, std::string_view event,
                      std::string_view actor, std::string_view message_id, std::string_view detail) {
    auto& s = c.stmt("INSERT INTO events(transfer_key, transfer_id, at, event, actor, message_id, detail) "
                     "VALUES((SELECT key FROM transfers WHERE id = ?1), ?1, ?2, ?3, ?4, ?5, ?6)");
    DEIT_SQL_OK(s);
    return s.bind(transfer_id).bind(at).bind(event).bind(actor).bind(message_id).bind(detail).run();
  }

  // The same, for a caller that has the transfer's rowid at hand: a submit writes five or
  // six events, and each lookup of the key by id is a search of the id index.
  Status insert_event(Connection& c, std::int64_t transfer_key, const std::string& transfer_id, std::int64_t at,
                      std::string_view event, std::string_view actor, std::string_view message_id,
                      std::string_view detail) {
    auto& s = c.stmt("INSERT INTO events(transfer_key, transfer_id, at, event, actor, message_id, detail) "
                     "VALUES(?, ?, ?, ?, ?, ?, ?)");
    DEIT_SQL_OK(s);
    return s.bind(transfer_key).bind(transfer_id).bind(at).bind(event).bind(actor).bind(message_id).bind(detail).run();
  }

  Result<Delivery> insert_delivery(Connection& c, const std::string& agency, const std::string& transfer_id,
                                   const std::string& message_id, std::string_view kind, std::string_view content_type,
                                   std::shared_ptr<const std::string> payload, std::int64_t at, int lane = 0,
                                   bool held = false) {
    auto& s = c.stmt(
        "INSERT INTO deliveries(agency, transfer_id, message_id, kind, content_type, payload, state, queued_at, lane) "
        "VALUES(?,?,?,?,?,?,?,?,?)");
    DEIT_SQL_OK(s);
    if (auto st = s.bind(agency)
                      .bind(transfer_id)
                      .bind(message_id)
                      .bind(kind)
                      .bind(content_type)
                      .blob_uncopied(*payload)
                      .bind(held ? "held" : "pending")
                      .bind(at)
                      .bind(lane)
                      .run();
        !st)
      return st.error();
    Delivery d;
    d.seq = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(c.db()));
    d.agency = agency;
    d.transfer_id = transfer_id;
    d.message_id = message_id;
    d.kind = std::string(kind);
    d.content_type = std::string(content_type);
    d.payload = std::move(payload);
    d.queued_at = at;
    d.lane = lane;
    d.state = held ? "held" : "pending";
    return d;
  }

  Status do_submit(Connection& c, const SubmitRequest& r, SubmitOutcome& out) {
    const model::IncidentMessage& m = r.message;
    // Idempotency: a message id the sender used before returns the original transfers.
    {
      auto& s = c.stmt("SELECT transfer_ids FROM messages WHERE sender = ? AND message_id = ?");
      DEIT_SQL_OK(s);
      s.bind(m.sender_agency).bind(m.message_id);
      if (s.step() == SQLITE_ROW) {
        out.duplicate = true;
        std::string ids = s.text(0);
        std::size_t start = 0;
        while (start < ids.size()) {
          std::size_t comma = ids.find(',', start);
          if (comma == std::string::npos) comma = ids.size();
          std::string entry = ids.substr(start, comma - start);
          auto eq = entry.find('=');
          out.transfers.emplace_back(entry.substr(0, eq), eq == std::string::npos ? "" : entry.substr(eq + 1));
          start = comma + 1;
        }
        s.reset();
        boost::json::array transfers;
        for (const auto& t : out.transfers) transfers.emplace_back(t.first);
        return audit(c, AuditEntry{m.sender_agency, "submit-duplicate", AuditCategory::lifecycle,
                                   "message:" + m.sender_agency + "/" + m.message_id,
                                   audit_detail({{"message", m.message_id}, {"transfers", std::move(transfers)}}),
                                   "message id already received; nothing stored"});
      }
    }
    const std::int64_t stored_at = now_ms();
    const std::string type(model::to_string(m.type));
    // Every refusal is decided before the first write, for all receivers: a refused
    // message then leaves nothing to undo (commit_batch relies on that to need no savepoint).
    struct Existing {
      std::int64_t key = 0;
      std::uint64_t sequence = 0;  // this message's
    };
    std::vector<Existing> existing(r.targets.size());
    for (std::size_t i = 0; i < r.targets.size(); ++i) {
      const auto& t = r.targets[i];
      auto& find = c.stmt("SELECT state, last_sequence, key FROM transfers WHERE id = ?");
      DEIT_SQL_OK(find);
      find.bind(t.transfer_id);
      const bool exists = find.step() == SQLITE_ROW;
      const std::string state = exists ? find.text(0) : std::string();
      const auto last_sequence = exists ? static_cast<std::uint64_t>(find.i64(1)) : 0;
      existing[i].key = exists ? find.i64(2) : 0;
      find.reset();
      existing[i].sequence = m.sequence ? m.sequence : last_sequence + 1;
      if (m.type == model::MessageType::create) {
        if (exists)
          return Error::make("conflict",
                             "sender reference '" + m.sender_reference + "' already has a transfer to " + t.receiver +
                                 " (" + t.transfer_id + "); send an update with a new message id",
                             "incidentMessage/senderReference");
        continue;
      }
      if (!exists)
        return Error::make("not-found",
                           "no transfer to " + t.receiver + " for sender reference '" + m.sender_reference +
                               "'; send a create first",
                           "incidentMessage/senderReference");
      if (state == "closed" || state == "cancelled" || state == "redirected")
        return Error::make("conflict", "transfer " + t.transfer_id + " is " + state + "; no further messages",
                           "incidentMessage/messageType");
      if (m.sequence && m.sequence <= last_sequence)
        return Error::make("sequence",
                           "sequence " + std::to_string(m.sequence) + " is not after " + std::to_string(last_sequence) +
                               " already received for this incident",
                           "incidentMessage/sequence");
    }
    std::string transfer_ids;
    for (std::size_t i = 0; i < r.targets.size(); ++i) {
      const auto& t = r.targets[i];
      std::int64_t key = existing[i].key;
      const std::uint64_t sequence = existing[i].sequence;
      if (m.type == model::MessageType::create) {
        auto& ins = c.stmt("INSERT INTO transfers(id, sender, receiver, sender_reference, shared_reference, reason, "
                           "on_behalf_of, state, grade, emergency, life_risk, last_sequence, received_at, validated_at, "
                           "stored_at, findings, location, invocation) VALUES(?,?,?,?,?,?,?,'stored',?,?,?,?,?,?,?,?,?,?)");
        DEIT_SQL_OK(ins);
        const auto& p = m.incident.priority;
        if (auto st = ins.bind(t.transfer_id)
                          .bind(m.sender_agency)
                          .bind(t.receiver)
                          .bind(m.sender_reference)
                          .bind(m.shared_reference)
                          .bind(t.reason.empty() ? model::to_string(m.reason) : std::string_view(t.reason))
                          .bind(t.on_behalf_of.empty() ? m.on_behalf_of : t.on_behalf_of)
                          .bind(grade_text(p))
                          .bind(p.emergency)
                          .bind(p.life_risk)
                          .bind(sequence)
                          .bind(r.received_at)
                          .bind(r.validated_at)
                          .bind(stored_at)
                          .bind_uncopied(t.findings_json)
                          .bind_uncopied(r.location_json)
                          .bind(t.invocation)
                          .run();
            !st)
          return st;
        key = sqlite3_last_insert_rowid(c.db());
      } else {
        const bool ends = m.type == model::MessageType::close || m.type == model::MessageType::cancel;
        auto& up = m.type == model::MessageType::close
                       ? c.stmt("UPDATE transfers SET last_sequence = ?, state = 'closed', closed_at = ? WHERE id = ?")
                   : m.type == model::MessageType::cancel
                       ? c.stmt("UPDATE transfers SET last_sequence = ?, state = 'cancelled', cancelled_at = ? WHERE id = ?")
                       : c.stmt("UPDATE transfers SET last_sequence = ? WHERE id = ?");
        DEIT_SQL_OK(up);
        up.bind(sequence);
        if (ends) up.bind(stored_at);
        if (auto st = up.bind(t.transfer_id).run(); !st) return st;
      }
      if (auto st = insert_event(c, key, t.transfer_id, r.received_at, "received", m.sender_agency, m.message_id, type); !st)
        return st;
      if (auto st = insert_event(c, key, t.transfer_id, r.validated_at, "validated", "hub", m.message_id, ""); !st) return st;
      const bool create = m.type == model::MessageType::create;  // the row holds findings and location
      if (t.findings_json.size() > 2) {
        if (auto st = insert_event(c, key, t.transfer_id, r.validated_at, "translated", "hub", m.message_id,
                                   create ? kDetailInTransferFindings : std::string_view(t.findings_json));
            !st)
          return st;
      }
      if (r.location_json.size() > 2) {
        if (auto st = insert_event(c, key, t.transfer_id, r.validated_at,
                                   r.location_verified ? "location-verified" : "location-unverified", "gazetteer",
                                   m.message_id, create ? kDetailInTransferLocation : std::string_view(r.location_json));
            !st)
          return st;
      }
      if (auto st = insert_event(c, key, t.transfer_id, stored_at, "stored", "hub", m.message_id, ""); !st) return st;
      if (m.type == model::MessageType::close || m.type == model::MessageType::cancel) {
        if (auto st = insert_event(c, key, t.transfer_id, stored_at, m.type == model::MessageType::close ? "closed" : "cancelled",
                                   m.sender_agency, m.message_id, m.incident.cancel_reason);
            !st)
          return st;
      }
      if (t.held) {
        if (auto st = insert_event(c, key, t.transfer_id, stored_at, "held", "hub", m.message_id,
                                   "returned to " + t.receiver + " when " + t.invocation + " stands down");
            !st)
          return st;
      }
      auto d = insert_delivery(c, t.receiver, t.transfer_id, m.message_id, "incident", t.content_type,
                               std::make_shared<const std::string>(t.payload), stored_at, t.lane, t.held);
      if (!d) return d.error();
      if (!t.held) out.deliveries.push_back(std::move(d).value());
      out.transfers.emplace_back(t.transfer_id, t.receiver);
      if (!transfer_ids.empty()) transfer_ids += ',';
      transfer_ids += t.transfer_id + "=" + t.receiver;
    }
    auto& msg = c.stmt("INSERT INTO messages(sender, message_id, type, sequence, sender_reference, received_at, "
                       "transfer_ids, body) VALUES(?,?,?,?,?,?,?,?)");
    DEIT_SQL_OK(msg);
    if (auto st = msg.bind(m.sender_agency)
                      .bind(m.message_id)
                      .bind(type)
                      .bind(m.sequence)
                      .bind(m.sender_reference)
                      .bind(r.received_at)
                      .bind(transfer_ids)
                      .bind_uncopied(r.canonical_xml)
                      .run();
        !st)
      return st;
    // s.62: a create collects personal data; updates, closes and cancels alter it.
    boost::json::array receivers, transfers;
    for (const auto& t : r.targets) {
      receivers.emplace_back(t.receiver);
      transfers.emplace_back(t.transfer_id);
    }
    std::string why(model::to_string(m.reason));
    if (m.type == model::MessageType::cancel && !m.incident.cancel_reason.empty()) why += ": " + m.incident.cancel_reason;
    return audit(c, AuditEntry{m.sender_agency, "submit-" + type,
                               m.type == model::MessageType::create ? AuditCategory::collection : AuditCategory::alteration,
                               "message:" + m.sender_agency + "/" + m.message_id,
                               audit_detail({{"message", m.message_id},
                                             {"type", type},
                                             {"sequence", m.sequence},
                                             {"senderReference", m.sender_reference},
                                             {"receivers", std::move(receivers)},
                                             {"transfers", std::move(transfers)},
                                             {"locationVerified", r.location_verified}}),
                               std::move(why)});
  }

  Status do_ack(Connection& c, const std::string& agency, const std::vector<std::uint64_t>& seqs, AckOutcome& out) {
    const std::int64_t at = now_ms();
    boost::json::array disclosed, transfers;
    for (std::uint64_t seq : seqs) {
      // A SELECT and an UPDATE by rowid, not UPDATE ... RETURNING: RETURNING builds and drops
      // a temporary table for each row, which cost about as much as the update itself.
      auto& s = c.stmt("SELECT transfer_id, message_id, kind FROM deliveries "
                       "WHERE seq = ? AND agency = ? AND state = 'pending'");
      DEIT_SQL_OK(s);
      s.bind(seq).bind(agency);
      if (s.step() != SQLITE_ROW) continue;  // unknown, someone else's, or already acknowledged
      const std::string transfer_id = s.text(0), message_id = s.text(1), kind = s.text(2);
      s.reset();
      auto& u = c.stmt("UPDATE deliveries SET state = 'delivered', delivered_at = ? WHERE seq = ?");
      DEIT_SQL_OK(u);
      if (auto st = u.bind(at).bind(seq).run(); !st) return st;
      out.acknowledged.push_back(seq);
      disclosed.push_back({{"delivery", seq}, {"transfer", transfer_id}, {"message", message_id}, {"kind", kind}});
      add_unique(transfers, transfer_id);
      if (kind != "incident") continue;
      // The transfer's rowid once, for the update and the event: each lookup by id is a
      // search of the id index.
      auto& k = c.stmt("SELECT key FROM transfers WHERE id = ?");
      DEIT_SQL_OK(k);
      k.bind(transfer_id);
      const bool found = k.step() == SQLITE_ROW;
      const std::int64_t key = found ? k.i64(0) : 0;
      k.reset();
      if (!found) continue;  // transfers are never deleted (erasure blanks them), but be safe
      auto& t = c.stmt("UPDATE transfers SET delivered_at = CASE delivered_at WHEN 0 THEN ? ELSE delivered_at END, "
                       "state = CASE state WHEN 'stored' THEN 'delivered' ELSE state END WHERE key = ?");
      DEIT_SQL_OK(t);
      if (auto st = t.bind(at).bind(key).run(); !st) return st;
      if (auto st = insert_event(c, key, transfer_id, at, "delivered", agency, message_id, ""); !st) return st;
    }
    if (disclosed.empty()) return Status::success();
    // s.62 disclosure: the receiving agency's system confirmed it has the message.
    std::string subject = audit_subject(transfers, "agency:" + agency);
    return audit(c, AuditEntry{agency, "delivered", AuditCategory::disclosure, std::move(subject),
                               audit_detail({{"recipient", agency},
                                             {"deliveries", std::move(disclosed)},
                                             {"transfers", std::move(transfers)}}),
                               "transport acknowledgement"});
  }

  // A status message for `to` about transfer `t`: {"kind":"status", "transfer", ..., extra}.
  Result<Delivery> queue_status(Connection& c, const std::string& to, const TransferRecord& t, std::string_view state,
                                const std::string& message_id, std::int64_t at,
                                std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
    std::string json = "{\"kind\":\"status\",\"transfer\":\"" + t.id + "\",\"senderReference\":\"" +
                       json_escape(t.sender_reference) + "\",\"sender\":\"" + t.sender + "\",\"receiver\":\"" +
                       t.receiver + "\",\"state\":\"" + std::string(state) + "\"";
    for (const auto& [key, value] : extra)
      if (!value.empty()) json += ",\"" + std::string(key) + "\":\"" + json_escape(value) + "\"";
    json += ",\"at\":\"" + format_time_ms(at) + "\"}";
    return insert_delivery(c, to, t.id, message_id, "status", "application/json",
                           std::make_shared<const std::string>(std::move(json)), at);
  }

  Status do_decide(Connection& c, const DecisionRequest& r, DecisionOutcome& out) {
    auto& s = c.stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE id = ?");
    DEIT_SQL_OK(s);
    s.bind(r.transfer_id);
    std::optional<TransferRecord> found;
    if (s.step() == SQLITE_ROW) found = read_transfer(s);
    s.reset();
    // Someone else's transfer looks exactly like a missing one: existence is not disclosed.
    if (!found || found->receiver != r.agency)
      return Error::make("not-found", "no transfer " + r.transfer_id + " addressed to " + r.agency, "transfer");
    TransferRecord t = std::move(*found);
    if (t.state == "redirected")
      return Error::make("conflict", "transfer " + t.id + " was passed to a buddy after its deadline; it is no longer yours",
                         "transfer");
    if (!r.grade.empty() && r.rationale.empty())
      return Error::make("required", "a new grade needs a rationale for the sender", "rationale");
    const std::int64_t at = now_ms();
    if (r.regrade_only) {
      if (r.grade.empty()) return Error::make("required", "give the new grade", "grade");
      if (!t.accepted_at) return Error::make("conflict", "accept transfer " + t.id + " before re-grading it", "transfer");
      return regrade(c, t, r, at, out);
    }
    const char* wanted = r.accept ? "accepted" : "rejected";
    if (t.accepted_at || t.rejected_at) {
      const bool same = (r.accept && t.accepted_at) || (!r.accept && t.rejected_at);
      if (same) {
        out.transfer = t;
        out.unchanged = true;
        return Status::success();
      }
      return Error::make("conflict", "transfer " + t.id + " was already " + (t.accepted_at ? "accepted" : "rejected"),
                         "transfer");
    }
    if (!r.accept && r.reason.empty())
      return Error::make("required", "a rejection needs a reason for the sender", "reason");
    if (!r.accept && !r.grade.empty())
      return Error::make("routing", "a rejected transfer keeps the sender's grade; re-grade when accepting", "grade");
    auto& u = c.stmt(r.accept ? "UPDATE transfers SET accepted_at = ?, decision_reason = ?, decided_by = ?, "
                                "state = CASE WHEN state IN ('stored','delivered') THEN 'accepted' ELSE state END WHERE id = ?"
                              : "UPDATE transfers SET rejected_at = ?, decision_reason = ?, decided_by = ?, "
                                "state = CASE WHEN state IN ('stored','delivered') THEN 'rejected' ELSE state END WHERE id = ?");
    DEIT_SQL_OK(u);
    if (auto st = u.bind(at).bind(r.reason).bind(r.actor).bind(t.id).run(); !st) return st;
    if (auto st = insert_event(c, t.id, at, wanted, r.actor, "", r.reason); !st) return st;
    if (r.accept) {
      t.accepted_at = at;
    } else {
      t.rejected_at = at;
    }
    if (t.state == "stored" || t.state == "delivered") t.state = wanted;
    t.decision_reason = r.reason;
    t.decided_by = r.actor;
    if (r.accept && !r.grade.empty()) return regrade(c, t, r, at, out);
    // The sender owns the incident until the receiver accepts: tell it at once.
    auto d = queue_status(c, t.sender, t, wanted, std::string(wanted) + ":" + t.id, at,
                          {{"reason", r.reason}, {"by", r.actor}, {"onBehalfOf", t.on_behalf_of}});
    if (!d) return d.error();
    out.status_for_sender = std::move(d).value();
    if (auto st = audit(c, AuditEntry{r.actor, wanted, AuditCategory::lifecycle, "transfer:" + t.id,
                                      audit_detail({{"sender", t.sender},
                                                    {"receiver", t.receiver},
                                                    {"statusDelivery", out.status_for_sender->seq},
                                                    {"transfers", boost::json::array{boost::json::string(t.id)}}}),
                                      r.reason});
        !st)
      return st;
    out.transfer = std::move(t);
    return Status::success();
  }

  // The receiver's own grade: recorded beside the sender's (which is never overwritten) and
  // told to the sender with the rationale.
  Status regrade(Connection& c, TransferRecord& t, const DecisionRequest& r, std::int64_t at, DecisionOutcome& out) {
    auto& u = c.stmt("UPDATE transfers SET receiver_grade = ?, grade_rationale = ? WHERE id = ?");
    DEIT_SQL_OK(u);
    if (auto st = u.bind(r.grade).bind(r.rationale).bind(t.id).run(); !st) return st;
    const std::string detail = "from '" + (t.receiver_grade.empty() ? t.grade : t.receiver_grade) + "' to '" + r.grade +
                               "': " + r.rationale;
    if (auto st = insert_event(c, t.id, at, "regraded", r.actor, "", detail); !st) return st;
    const std::string previous = t.receiver_grade.empty() ? t.grade : t.receiver_grade;
    t.receiver_grade = r.grade;
    t.grade_rationale = r.rationale;
    const std::string state = r.regrade_only ? "regraded" : "accepted";
    auto d = queue_status(c, t.sender, t, state, "regraded:" + t.id + ":" + std::to_string(at), at,
                          {{"reason", r.reason},
                           {"by", r.actor},
                           {"senderGrade", t.grade},
                           {"previousGrade", previous},
                           {"grade", r.grade},
                           {"rationale", r.rationale},
                           {"onBehalfOf", t.on_behalf_of}});
    if (!d) return d.error();
    out.status_for_sender = std::move(d).value();
    if (auto st = audit(c, AuditEntry{r.actor, r.regrade_only ? "regrade" : "accepted",
                                      r.regrade_only ? AuditCategory::alteration : AuditCategory::lifecycle,
                                      "transfer:" + t.id,
                                      audit_detail({{"sender", t.sender},
                                                    {"receiver", t.receiver},
                                                    {"senderGrade", t.grade},
                                                    {"previousGrade", previous},
                                                    {"grade", r.grade},
                                                    {"statusDelivery", out.status_for_sender->seq},
                                                    {"transfers", boost::json::array{boost::json::string(t.id)}}}),
                                      r.rationale});
        !st)
      return st;
    out.transfer = t;
    return Status::success();
  }

  Status do_dead_letter(Connection& c, const std::vector<std::uint64_t>& seqs, const std::string& reason,
                        std::vector<Delivery>& out) {
    const std::int64_t at = now_ms();
    boost::json::array dead, transfers;
    for (std::uint64_t seq : seqs) {
      auto& s = c.stmt("UPDATE deliveries SET state = 'dead', last_error = ? WHERE seq = ? AND state = 'pending' "
                       "RETURNING agency, transfer_id, message_id, kind");
      DEIT_SQL_OK(s);
      s.bind(reason).bind(seq);
      if (s.step() != SQLITE_ROW) continue;
      const std::string agency = s.text(0), transfer_id = s.text(1), message_id = s.text(2), kind = s.text(3);
      s.reset();
      dead.push_back({{"delivery", seq}, {"agency", agency}, {"transfer", transfer_id}, {"message", message_id}, {"kind", kind}});
      add_unique(transfers, transfer_id);
      if (kind != "incident") continue;
      auto& t = c.stmt("UPDATE transfers SET state = CASE WHEN state IN ('stored') THEN 'dead-letter' ELSE state END "
                       "WHERE id = ? RETURNING sender, sender_reference");
      DEIT_SQL_OK(t);
      t.bind(transfer_id);
      if (t.step() != SQLITE_ROW) continue;
      const std::string sender = t.text(0), sender_reference = t.text(1);
      t.reset();
      if (auto st = insert_event(c, transfer_id, at, "dead-letter", "hub", message_id, reason); !st) return st;
      auto payload = std::make_shared<const std::string>(
          "{\"kind\":\"status\",\"transfer\":\"" + transfer_id + "\",\"senderReference\":\"" +
          json_escape(sender_reference) + "\",\"receiver\":\"" + agency +
          "\",\"state\":\"dead-letter\",\"reason\":\"" + json_escape(reason) + "\",\"at\":\"" + format_time_ms(at) +
          "\"}");
      auto d = insert_delivery(c, sender, transfer_id, "dead-letter:" + std::to_string(seq), "status",
                               "application/json", std::move(payload), at);
      if (!d) return d.error();
      out.push_back(std::move(d).value());
    }
    if (dead.empty()) return Status::success();
    std::string subject = audit_subject(transfers, "hub");
    return audit(c, AuditEntry{"hub", "dead-letter", AuditCategory::lifecycle, std::move(subject),
                               audit_detail({{"deliveries", std::move(dead)}, {"transfers", std::move(transfers)}}),
                               reason});
  }

  Status do_requeue(Connection& c, std::uint64_t seq, const std::string& actor, Delivery& out) {
    auto& s = c.stmt("SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE seq = ? AND state = 'dead'");
    DEIT_SQL_OK(s);
    s.bind(seq);
    if (s.step() != SQLITE_ROW) return Error::make("not-found", "no dead-lettered delivery " + std::to_string(seq), "seq");
    Delivery old = read_delivery(s);
    s.reset();
    auto& u = c.stmt("UPDATE deliveries SET state = 'requeued' WHERE seq = ?");
    DEIT_SQL_OK(u);
    if (auto st = u.bind(seq).run(); !st) return st;
    const std::int64_t at = now_ms();
    auto d = insert_delivery(c, old.agency, old.transfer_id, old.message_id, old.kind, old.content_type, old.payload, at);
    if (!d) return d.error();
    auto& t = c.stmt("UPDATE transfers SET state = 'stored' WHERE id = ? AND state = 'dead-letter'");
    DEIT_SQL_OK(t);
    if (auto st = t.bind(old.transfer_id).run(); !st) return st;
    if (auto st = insert_event(c, old.transfer_id, at, "requeued", actor, old.message_id, ""); !st) return st;
    out = std::move(d).value();
    return audit(c, AuditEntry{actor, "requeue", AuditCategory::lifecycle, "transfer:" + old.transfer_id,
                               audit_detail({{"delivery", seq},
                                             {"newDelivery", out.seq},
                                             {"agency", old.agency},
                                             {"message", old.message_id},
                                             {"transfers", boost::json::array{boost::json::string(old.transfer_id)}}}),
                               ""});
  }

  Status do_erase(Connection& c, const EraseRequest& r, EraseOutcome& out) {
    if (r.reason.empty()) return Error::make("required", "an erasure needs a reason for the audit log", "reason");
    auto& find = c.stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE id = ?");
    DEIT_SQL_OK(find);
    find.bind(r.transfer_id);
    if (find.step() != SQLITE_ROW) return Error::make("not-found", "no transfer " + r.transfer_id, "transfer");
    TransferRecord t = read_transfer(find);
    find.reset();
    // Erasing what is still being delivered would hand the receiver an empty incident.
    auto& pending = c.stmt("SELECT count(*) FROM deliveries WHERE transfer_id = ? AND kind = 'incident' AND state = 'pending'");
    DEIT_SQL_OK(pending);
    pending.bind(t.id);
    const std::int64_t waiting = pending.step() == SQLITE_ROW ? pending.i64(0) : 0;
    pending.reset();
    if (waiting > 0)
      return Error::make("conflict",
                         "transfer " + t.id + " has " + std::to_string(waiting) +
                             " incident deliveries not yet acknowledged; erase it once they are delivered or dead-lettered",
                         "transfer");
    // The messages it carried: their stored canonical body is the sender's incident. A
    // message sent to several receivers is shared, so its body goes for all of them.
    std::vector<std::string> message_ids;
    auto& ids = c.stmt("SELECT DISTINCT message_id FROM events WHERE transfer_key = (SELECT key FROM transfers WHERE id = ?) "
                     "AND message_id <> ''");
    DEIT_SQL_OK(ids);
    ids.bind(t.id);
    while (ids.step() == SQLITE_ROW) message_ids.push_back(ids.text(0));
    ids.reset();
    for (const auto& id : message_ids) {
      auto& body = c.stmt("UPDATE messages SET body = '' WHERE sender = ? AND message_id = ? AND body <> ''");
      DEIT_SQL_OK(body);
      if (auto st = body.bind(t.sender).bind(id).run(); !st) return st;
      out.messages += sqlite3_changes(c.db());
    }
    // Incident payloads (status payloads carry no incident content). A dead letter can no
    // longer be requeued: state 'erased'.
    auto& payloads = c.stmt("UPDATE deliveries SET payload = X'', state = CASE state WHEN 'dead' THEN 'erased' ELSE state END "
                            "WHERE transfer_id = ? AND kind = 'incident' AND (length(payload) > 0 OR state = 'dead')");
    DEIT_SQL_OK(payloads);
    if (auto st = payloads.bind(t.id).run(); !st) return st;
    out.deliveries = sqlite3_changes(c.db());
    auto& details = c.stmt("UPDATE events SET detail = '' WHERE transfer_key = (SELECT key FROM transfers WHERE id = ?) AND detail <> '' AND event IN "
                           "('translated', 'location-verified', 'location-unverified')");
    DEIT_SQL_OK(details);
    if (auto st = details.bind(t.id).run(); !st) return st;
    out.events = sqlite3_changes(c.db());
    auto& skeleton = c.stmt("UPDATE transfers SET location = '{}', findings = '[]' WHERE id = ?");
    DEIT_SQL_OK(skeleton);
    if (auto st = skeleton.bind(t.id).run(); !st) return st;
    const std::int64_t at = now_ms();
    if (auto st = insert_event(c, t.id, at, "erased", r.actor, "", r.reason); !st) return st;
    t.location_json = "{}";
    t.findings_json = "[]";
    out.transfer = std::move(t);
    boost::json::array messages;
    for (const auto& id : message_ids) messages.emplace_back(id);
    auto entry = append_audit_row(
        c, AuditEntry{r.actor, "erase", AuditCategory::erasure, "transfer:" + out.transfer.id,
                      audit_detail({{"sender", out.transfer.sender},
                                    {"receiver", out.transfer.receiver},
                                    {"messages", std::move(messages)},
                                    {"messageBodies", out.messages},
                                    {"deliveryPayloads", out.deliveries},
                                    {"eventDetails", out.events},
                                    {"transfers", boost::json::array{boost::json::string(out.transfer.id)}}}),
                      r.reason});
    if (!entry) return entry.error();
    out.audit = std::move(entry).value();
    return Status::success();
  }

  // ---- buddy invocations and acceptance deadlines ----

  Result<Delivery> queue_notice(Connection& c, const std::string& to, const buddy::Invocation& inv, std::string_view notice,
                                std::int64_t at) {
    std::string json = "{\"kind\":\"notice\",\"notice\":\"" + std::string(notice) + "\",\"invocation\":\"" + inv.id +
                       "\",\"home\":\"" + inv.home + "\",\"buddy\":\"" + inv.buddy + "\",\"trigger\":\"" +
                       std::string(buddy::to_string(inv.trigger)) + "\",\"mode\":\"" +
                       std::string(buddy::to_string(inv.mode)) + "\",\"calls\":\"" +
                       std::string(buddy::to_string(inv.scope.calls)) + "\",\"incidents\":\"" +
                       std::string(buddy::to_string(inv.scope.incidents)) + "\",\"authorisedBy\":\"" +
                       json_escape(inv.authorised_by) + "\",\"chaReference\":\"" + json_escape(inv.cha_reference) +
                       "\",\"startedAt\":\"" + format_time_ms(inv.started_at) + "\"";
    if (inv.ended_at)
      json += ",\"endedAt\":\"" + format_time_ms(inv.ended_at) + "\",\"stoodDownBy\":\"" + json_escape(inv.stood_down_by) +
              "\"";
    json += "}";
    return insert_delivery(c, to, inv.id, std::string(notice) + ":" + inv.id, "notice", "application/json",
                           std::make_shared<const std::string>(std::move(json)), at);
  }

  Status do_invoke(Connection& c, const buddy::Invocation& inv, InvocationOutcome& out) {
    auto& active = c.stmt("SELECT id FROM invocations WHERE home = ? AND ended_at = 0");
    DEIT_SQL_OK(active);
    active.bind(inv.home);
    if (active.step() == SQLITE_ROW) {
      const std::string id = active.text(0);
      active.reset();
      return Error::make("conflict", inv.home + " is already invoked (" + id + ")", "home");
    }
    active.reset();
    std::string types;
    for (const auto& t : inv.scope.types) types += (types.empty() ? "" : ",") + t;
    auto& ins = c.stmt("INSERT INTO invocations(id, home, buddy, secondary, trigger, calls, incidents, types, mode, "
                       "authorised_by, authorised_via, cha_reference, note, started_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    DEIT_SQL_OK(ins);
    if (auto st = ins.bind(inv.id)
                      .bind(inv.home)
                      .bind(inv.buddy)
                      .bind(inv.secondary)
                      .bind(buddy::to_string(inv.trigger))
                      .bind(buddy::to_string(inv.scope.calls))
                      .bind(buddy::to_string(inv.scope.incidents))
                      .bind(types)
                      .bind(buddy::to_string(inv.mode))
                      .bind(inv.authorised_by)
                      .bind(inv.authorised_via)
                      .bind(inv.cha_reference)
                      .bind(inv.note)
                      .bind(inv.started_at)
                      .run();
        !st)
      return st;
    for (const std::string& to : {inv.home, inv.buddy}) {
      auto d = queue_notice(c, to, inv, "buddy-invoked", inv.started_at);
      if (!d) return d.error();
      out.deliveries.push_back(std::move(d).value());
    }
    out.invocation = inv;
    return audit(c, AuditEntry{inv.authorised_via + "/" + inv.authorised_by, "buddy-invoke", AuditCategory::buddy,
                               "invocation:" + inv.id,
                               audit_detail({{"home", inv.home},
                                             {"buddy", inv.buddy},
                                             {"secondary", inv.secondary},
                                             {"mode", buddy::to_string(inv.mode)},
                                             {"calls", buddy::to_string(inv.scope.calls)},
                                             {"incidents", buddy::to_string(inv.scope.incidents)},
                                             {"chaReference", inv.cha_reference}}),
                               std::string(buddy::to_string(inv.trigger))});
  }

  Status do_stand_down(Connection& c, const StandDownRequest& r, StandDownOutcome& out) {
    auto found = read_invocation(c, r.invocation_id);
    if (!found) return found.error();
    buddy::Invocation inv = std::move(found).value();
    if (!inv.active()) return Error::make("conflict", inv.id + " was stood down already", "invocation");
    const std::int64_t at = now_ms();
    auto& u = c.stmt("UPDATE invocations SET ended_at = ?, stood_down_by = ?, stand_down_reason = ? WHERE id = ?");
    DEIT_SQL_OK(u);
    if (auto st = u.bind(at).bind(r.by).bind(r.reason).bind(inv.id).run(); !st) return st;
    inv.ended_at = at;
    inv.stood_down_by = r.by;
    inv.stand_down_reason = r.reason;

    // Received on the home agency's behalf: each goes back as a transfer-back message.
    for (const SubmitRequest& back : r.returns) {
      SubmitOutcome submitted;
      if (auto st = do_submit(c, back, submitted); !st) return st;
      for (auto& d : submitted.deliveries) out.deliveries.push_back(std::move(d));
      for (auto& t : submitted.transfers) out.returned.push_back(std::move(t));
    }
    // Created by the buddy for the home agency and held: queued now, as new deliveries at the
    // end of the home agency's queue (a consumer's cursor never skips them).
    auto& held = c.stmt("SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE state = 'held' AND transfer_id IN "
                        "(SELECT id FROM transfers WHERE invocation = ?) ORDER BY seq");
    DEIT_SQL_OK(held);
    held.bind(inv.id);
    std::vector<Delivery> release;
    while (held.step() == SQLITE_ROW) release.push_back(read_delivery(held));
    held.reset();
    for (const Delivery& old : release) {
      auto& mark = c.stmt("UPDATE deliveries SET state = 'released' WHERE seq = ?");
      DEIT_SQL_OK(mark);
      if (auto st = mark.bind(old.seq).run(); !st) return st;
      auto d = insert_delivery(c, old.agency, old.transfer_id, old.message_id, old.kind, old.content_type, old.payload, at,
                               old.lane);
      if (!d) return d.error();
      if (auto st = insert_event(c, old.transfer_id, at, "returned", r.by, old.message_id, "stand-down of " + inv.id); !st)
        return st;
      out.deliveries.push_back(std::move(d).value());
      out.returned.emplace_back(old.transfer_id, old.agency);
    }
    for (const std::string& to : {inv.home, inv.buddy}) {
      auto d = queue_notice(c, to, inv, "buddy-stood-down", at);
      if (!d) return d.error();
      out.deliveries.push_back(std::move(d).value());
    }
    boost::json::array returned;
    for (const auto& [id, to] : out.returned) returned.emplace_back(id);
    if (auto st = audit(c, AuditEntry{r.by, "buddy-stand-down", AuditCategory::buddy, "invocation:" + inv.id,
                                      audit_detail({{"home", inv.home}, {"buddy", inv.buddy}, {"transfers", returned}}),
                                      r.reason});
        !st)
      return st;
    out.invocation = std::move(inv);
    return Status::success();
  }

  Status do_overdue(Connection& c, const OverdueRequest& r, OverdueOutcome& out) {
    auto& s = c.stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE id = ?");
    DEIT_SQL_OK(s);
    s.bind(r.transfer_id);
    if (s.step() != SQLITE_ROW) return Error::make("not-found", "no transfer " + r.transfer_id, "transfer");
    TransferRecord t = read_transfer(s);
    s.reset();
    if (t.accepted_at || t.rejected_at || t.overdue_at || t.state == "closed" || t.state == "cancelled" ||
        t.state == "redirected") {
      out.already_decided = true;
      return Status::success();
    }
    const std::int64_t at = now_ms();
    auto& u = c.stmt(r.fallback ? "UPDATE transfers SET overdue_at = ?, state = 'redirected' WHERE id = ?"
                                : "UPDATE transfers SET overdue_at = ? WHERE id = ?");
    DEIT_SQL_OK(u);
    if (auto st = u.bind(at).bind(t.id).run(); !st) return st;
    if (auto st = insert_event(c, t.id, at, "acceptance-overdue", "hub", "", r.detail); !st) return st;
    std::string fallback_to;
    if (r.fallback) {
      SubmitOutcome submitted;
      if (auto st = do_submit(c, *r.fallback, submitted); !st) return st;
      for (auto& d : submitted.deliveries) out.deliveries.push_back(std::move(d));
      for (auto& tr : submitted.transfers) {
        fallback_to = tr.second;
        if (auto st = insert_event(c, t.id, at, "redirected", "hub", "", "passed to " + tr.second + " as " + tr.first); !st)
          return st;
        out.fallback_transfers.push_back(std::move(tr));
      }
      // The original receiver must not act on it any more.
      auto withdrawn = queue_status(c, t.receiver, t, "withdrawn", "withdrawn:" + t.id, at,
                                    {{"reason", r.detail}, {"passedTo", fallback_to}});
      if (!withdrawn) return withdrawn.error();
      out.deliveries.push_back(std::move(withdrawn).value());
    }
    auto told = queue_status(c, t.sender, t, r.fallback ? "redirected" : "overdue", "overdue:" + t.id, at,
                             {{"reason", r.detail}, {"passedTo", fallback_to}});
    if (!told) return told.error();
    out.deliveries.push_back(std::move(told).value());
    return audit(c, AuditEntry{"hub", r.fallback ? "acceptance-overdue-fallback" : "acceptance-overdue",
                               AuditCategory::lifecycle, "transfer:" + t.id,
                               audit_detail({{"sender", t.sender},
                                             {"receiver", t.receiver},
                                             {"passedTo", fallback_to},
                                             {"transfers", boost::json::array{boost::json::string(t.id)}}}),
                               r.detail});
  }

  Status do_erase_ended(Connection& c, const RetentionRequest& r, RetentionOutcome& out) {
    struct Candidate {
      std::string id;
      std::int64_t key, ended_at;
    };
    std::vector<Candidate> candidates;
    {
      // The expression and the state condition match the transfers_ended index exactly.
      auto& s = c.stmt(
          "SELECT id, key, max(closed_at, cancelled_at, rejected_at) FROM transfers "
          "WHERE (state = 'closed' OR state = 'cancelled' OR state = 'rejected') "
          "AND max(closed_at, cancelled_at, rejected_at) < ? "
          "AND (max(closed_at, cancelled_at, rejected_at) > ? OR (max(closed_at, cancelled_at, rejected_at) = ? AND key > ?)) "
          "ORDER BY max(closed_at, cancelled_at, rejected_at), key LIMIT ?");
      DEIT_SQL_OK(s);
      s.bind(r.ended_before).bind(r.after.ended_at).bind(r.after.ended_at).bind(r.after.key).bind(static_cast<std::int64_t>(r.limit));
      while (s.step() == SQLITE_ROW) candidates.push_back(Candidate{s.text(0), s.i64(1), s.i64(2)});
      s.reset();
    }
    out.next = r.after;
    out.more = candidates.size() == r.limit;
    for (const auto& candidate : candidates) {
      out.next = RetentionCursor{candidate.ended_at, candidate.key};
      auto& erased = c.stmt("SELECT 1 FROM events WHERE transfer_key = ? AND event = 'erased' LIMIT 1");
      DEIT_SQL_OK(erased);
      erased.bind(candidate.key);
      const bool already = erased.step() == SQLITE_ROW;
      erased.reset();
      if (already) continue;
      EraseOutcome erasure;
      if (auto st = do_erase(c, EraseRequest{candidate.id, "hub", r.reason}, erasure); !st) {
        // Refused before it changed anything: a delivery of it is still pending.
        if (st.error().rule != "conflict") return st;
        out.skipped.push_back(candidate.id);
        continue;
      }
      out.erased.push_back(candidate.id);
    }
    return Status::success();
  }

  Result<buddy::Invocation> read_invocation(Connection& c, const std::string& id) {
    auto& s = c.stmt("SELECT " INVOCATION_COLUMNS " FROM invocations WHERE id = ?");
    DEIT_SQL_OK(s);
    s.bind(id);
    if (s.step() != SQLITE_ROW) return Error::make("not-found", "no invocation " + id, "invocation");
    buddy::Invocation inv = read_invocation_row(s);
    s.reset();
    return inv;
  }
};

// ---------------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() { close(); }

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions options) {
  static std::atomic<std::uint64_t> next_id{1};
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  impl->id = next_id++;
  auto writer = Connection::open(path, Connection::Role::writer);
  if (!writer) return writer.error();
  impl->writer = std::move(writer).value();
  auto checkpointer = Connection::open(path, Connection::Role::checkpointer);
  if (!checkpointer) return checkpointer.error();
  impl->checkpointer = std::move(checkpointer).value();
  Impl* raw = impl.get();
  sqlite3_wal_hook(
      raw->writer->db(),
      [](void* store, sqlite3*, const char*, int frames) {
        static_cast<Impl*>(store)->committed(frames);
        return SQLITE_OK;
      },
      raw);
  impl->thread = std::thread([raw] {
    name_this_thread("deit-store");
    raw->run();
  });
  impl->checkpoint_thread = std::thread([raw] {
    name_this_thread("deit-checkpoint");
    raw->run_checkpoints();
  });
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

StoreCounters Store::counters() const {
  return {impl_->commits.load(std::memory_order_relaxed), impl_->committed_ops.load(std::memory_order_relaxed)};
}

void Store::close() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->checkpoint_wake.notify_all();
  impl_->thread.join();
  impl_->checkpoint_thread.join();
  // The last head, for proving later that nothing after it was removed (audit.hpp).
  if (auto head = Impl::audit_head_on(*impl_->writer)) {
    spdlog::info("event=audit-head seq={} hash={} when=shutdown", head->seq, head->hash);
  }
  static_cast<void>(impl_->writer->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  std::lock_guard lock(impl_->readers_mutex);
  impl_->readers.clear();
}

template <typename T, typename Work>
static void run_op(Store::Impl& impl, Work work, std::function<void(Result<T>)> done) {
  auto out = std::make_shared<T>();
  impl.enqueue(Store::Impl::Op{
      [out, work = std::move(work)](Connection& c) {
        *out = T{};  // a batch run again starts every op afresh
        return work(c, *out);
      },
      [out, done = std::move(done)](Status s) {
        if (s) {
          done(std::move(*out));
        } else {
          done(s.error());
        }
      }});
}

void Store::submit(SubmitRequest request, std::function<void(Result<SubmitOutcome>)> done) {
  auto req = std::make_shared<SubmitRequest>(std::move(request));
  Impl* impl = impl_.get();
  run_op<SubmitOutcome>(
      *impl_, [impl, req](Connection& c, SubmitOutcome& out) { return impl->do_submit(c, *req, out); }, std::move(done));
}

void Store::acknowledge(std::string agency, std::vector<std::uint64_t> seqs, std::function<void(Result<AckOutcome>)> done) {
  Impl* impl = impl_.get();
  run_op<AckOutcome>(
      *impl_,
      [impl, agency = std::move(agency), seqs = std::move(seqs)](Connection& c, AckOutcome& out) {
        return impl->do_ack(c, agency, seqs, out);
      },
      std::move(done));
}

void Store::decide(DecisionRequest request, std::function<void(Result<DecisionOutcome>)> done) {
  Impl* impl = impl_.get();
  run_op<DecisionOutcome>(
      *impl_,
      [impl, request = std::move(request)](Connection& c, DecisionOutcome& out) { return impl->do_decide(c, request, out); },
      std::move(done));
}

void Store::dead_letter(std::vector<std::uint64_t> seqs, std::string reason,
                        std::function<void(Result<std::vector<Delivery>>)> done) {
  Impl* impl = impl_.get();
  run_op<std::vector<Delivery>>(
      *impl_,
      [impl, seqs = std::move(seqs), reason = std::move(reason)](Connection& c, std::vector<Delivery>& out) {
        return impl->do_dead_letter(c, seqs, reason, out);
      },
      std::move(done));
}

void Store::requeue(std::uint64_t seq, std::function<void(Result<Delivery>)> done) {
  requeue(seq, "administrator", std::move(done));
}

void Store::requeue(std::uint64_t seq, std::string actor, std::function<void(Result<Delivery>)> done) {
  Impl* impl = impl_.get();
  run_op<Delivery>(
      *impl_,
      [impl, seq, actor = std::move(actor)](Connection& c, Delivery& out) { return impl->do_requeue(c, seq, actor, out); },
      std::move(done));
}

void Store::record_attempt(std::uint64_t seq, std::string error) {
  Impl* impl = impl_.get();
  impl_->enqueue(Impl::Op{[impl, seq, error = std::move(error)](Connection& c) -> Status {
                            auto& s = c.stmt("UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE seq = ? "
                                             "RETURNING agency, transfer_id, message_id, attempts");
                            DEIT_SQL_OK(s);
                            s.bind(error).bind(seq);
                            if (s.step() != SQLITE_ROW) return Status::success();
                            const std::string agency = s.text(0), transfer_id = s.text(1), message_id = s.text(2);
                            const std::int64_t attempts = s.i64(3);
                            s.reset();
                            return impl->audit(
                                c, AuditEntry{"hub", "push-failed", AuditCategory::lifecycle, "transfer:" + transfer_id,
                                              audit_detail({{"delivery", seq},
                                                            {"agency", agency},
                                                            {"message", message_id},
                                                            {"attempts", attempts},
                                                            {"transfers", boost::json::array{boost::json::string(transfer_id)}}}),
                                              error});
                          },
                          [](Status) {}});
}

void Store::invoke(buddy::Invocation invocation, std::function<void(Result<InvocationOutcome>)> done) {
  Impl* impl = impl_.get();
  run_op<InvocationOutcome>(
      *impl_,
      [impl, invocation = std::move(invocation)](Connection& c, InvocationOutcome& out) {
        return impl->do_invoke(c, invocation, out);
      },
      std::move(done));
}

void Store::append_audit(AuditEntry entry, std::function<void(Result<AuditRecord>)> done) {
  if (!done) {
    done = [](Result<AuditRecord> r) {
      if (!r) spdlog::error("event=audit-write-failed reason=\"{}\"", r.error().describe());
    };
  }
  // Entries must stay machine-readable: the detail is a JSON object or nothing.
  if (entry.detail.empty()) entry.detail = "{}";
  boost::system::error_code ec;
  const boost::json::value detail = boost::json::parse(entry.detail, ec);
  if (ec || !detail.is_object()) {
    done(Error::make("audit", "the detail of an audit entry must be a JSON object", "detail"));
    return;
  }
  if (entry.actor.empty() || entry.action.empty()) {
    done(Error::make("required", "an audit entry needs an actor and an action", entry.actor.empty() ? "actor" : "action"));
    return;
  }
  Impl* impl = impl_.get();
  run_op<AuditRecord>(
      *impl_,
      [impl, entry = std::move(entry)](Connection& c, AuditRecord& out) -> Status {
        auto r = impl->append_audit_row(c, entry);
        if (!r) return r.error();
        out = std::move(r).value();
        return Status::success();
      },
      std::move(done));
}

void Store::stand_down(StandDownRequest request, std::function<void(Result<StandDownOutcome>)> done) {
  auto req = std::make_shared<StandDownRequest>(std::move(request));
  Impl* impl = impl_.get();
  run_op<StandDownOutcome>(
      *impl_, [impl, req](Connection& c, StandDownOutcome& out) { return impl->do_stand_down(c, *req, out); },
      std::move(done));
}

void Store::overdue(OverdueRequest request, std::function<void(Result<OverdueOutcome>)> done) {
  auto req = std::make_shared<OverdueRequest>(std::move(request));
  Impl* impl = impl_.get();
  run_op<OverdueOutcome>(
      *impl_, [impl, req](Connection& c, OverdueOutcome& out) { return impl->do_overdue(c, *req, out); }, std::move(done));
}

void Store::erase_transfer(EraseRequest request, std::function<void(Result<EraseOutcome>)> done) {
  Impl* impl = impl_.get();
  run_op<EraseOutcome>(
      *impl_,
      [impl, request = std::move(request)](Connection& c, EraseOutcome& out) { return impl->do_erase(c, request, out); },
      std::move(done));
}

void Store::erase_ended(RetentionRequest request, std::function<void(Result<RetentionOutcome>)> done) {
  Impl* impl = impl_.get();
  run_op<RetentionOutcome>(
      *impl_,
      [impl, request = std::move(request)](Connection& c, RetentionOutcome& out) {
        return impl->do_erase_ended(c, request, out);
      },
      std::move(done));
}

Result<AuditAnchor> Store::audit_head() {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  return Impl::audit_head_on(*c);
}

Result<TransferRecord> Store::transfer(const std::string& id) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = c->stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE id = ?");
  DEIT_SQL_OK(s);
  s.bind(id);
  if (s.step() != SQLITE_ROW) return Error::make("not-found", "no transfer " + id, "transfer");
  TransferRecord t = read_transfer(s);
  s.reset();
  return t;
}

Result<std::vector<EventRecord>> Store::history(const std::string& transfer_id) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  // Details kept in the transfer row (kDetailInTransferFindings, kDetailInTransferLocation),
  // only for the events that are written so: any other event's detail is the sender's or
  // an operator's text. An erased transfer's row holds '[]' and '{}': its events then show
  // no detail, as those that kept their own, which the erasure emptied.
  static const std::string sql =
      "SELECT e.at, e.event, e.actor, e.message_id, CASE "
      "WHEN e.event = 'translated' AND e.detail = '" + std::string(kDetailInTransferFindings) +
      "' THEN iif(t.findings = '[]', '', t.findings) "
      "WHEN e.event IN ('location-verified', 'location-unverified') AND e.detail = '" +
      std::string(kDetailInTransferLocation) + "' THEN iif(t.location = '{}', '', t.location) ELSE e.detail END "
      "FROM transfers t JOIN events e ON e.transfer_key = t.key WHERE t.id = ? ORDER BY e.id";
  auto& s = c->stmt(sql.c_str());
  DEIT_SQL_OK(s);
  s.bind(transfer_id);
  std::vector<EventRecord> out;
  while (s.step() == SQLITE_ROW) out.push_back(EventRecord{s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4)});
  s.reset();
  return out;
}

Result<std::vector<TransferRecord>> Store::list_transfers(const std::string& agency, bool awaiting_decision,
                                                          std::size_t limit) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = awaiting_decision
                ? c->stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE receiver = ? AND accepted_at = 0 AND "
                          "rejected_at = 0 AND state NOT IN ('cancelled','closed') ORDER BY emergency DESC, stored_at LIMIT ?")
                : c->stmt("SELECT " TRANSFER_COLUMNS " FROM (SELECT * FROM transfers WHERE receiver = ?1 UNION ALL "
                          "SELECT * FROM transfers WHERE sender = ?1) ORDER BY stored_at DESC LIMIT ?2");
  DEIT_SQL_OK(s);
  s.bind(agency).bind(static_cast<std::int64_t>(limit));
  std::vector<TransferRecord> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_transfer(s));
  s.reset();
  return out;
}

namespace {

Result<std::vector<TransferRecord>> read_transfers(Stmt& s) {
  DEIT_SQL_OK(s);
  std::vector<TransferRecord> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_transfer(s));
  s.reset();
  return out;
}

}  // namespace

Result<std::vector<TransferRecord>> Store::undecided_transfers() {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  return read_transfers(c->stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE accepted_at = 0 AND rejected_at = 0 "
                                "AND overdue_at = 0 AND state IN ('stored','delivered') ORDER BY stored_at"));
}

Result<std::vector<TransferRecord>> Store::on_behalf_of(const std::string& home, std::size_t limit) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = c->stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE on_behalf_of = ? ORDER BY stored_at DESC LIMIT ?");
  if (s.valid()) s.bind(home).bind(static_cast<std::int64_t>(limit));
  return read_transfers(s);
}

Result<std::vector<TransferRecord>> Store::invocation_transfers(const std::string& invocation_id) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = c->stmt("SELECT " TRANSFER_COLUMNS " FROM transfers WHERE invocation = ? ORDER BY stored_at");
  if (s.valid()) s.bind(invocation_id);
  return read_transfers(s);
}

Result<std::vector<buddy::Invocation>> Store::invocations(bool active_only) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = active_only ? c->stmt("SELECT " INVOCATION_COLUMNS " FROM invocations WHERE ended_at = 0 ORDER BY started_at")
                        : c->stmt("SELECT " INVOCATION_COLUMNS " FROM invocations ORDER BY started_at DESC");
  DEIT_SQL_OK(s);
  std::vector<buddy::Invocation> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_invocation_row(s));
  s.reset();
  return out;
}

Result<buddy::Invocation> Store::invocation(const std::string& id) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  return impl_->read_invocation(*c, id);
}

Result<std::vector<std::string>> Store::incident_messages(const std::string& sender, const std::string& sender_reference) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = c->stmt("SELECT body FROM messages WHERE sender = ? AND sender_reference = ? ORDER BY sequence, received_at");
  DEIT_SQL_OK(s);
  s.bind(sender).bind(sender_reference);
  std::vector<std::string> out;
  while (s.step() == SQLITE_ROW) out.push_back(s.text(0));
  s.reset();
  return out;
}

Result<std::vector<Delivery>> Store::pending_deliveries() {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = c->stmt("SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE state = 'pending' ORDER BY seq");
  DEIT_SQL_OK(s);
  std::vector<Delivery> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_delivery(s));
  s.reset();
  return out;
}

Result<std::vector<Delivery>> Store::dead_letters(const std::string& agency) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = agency.empty()
                ? c->stmt("SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE state = 'dead' ORDER BY seq")
                : c->stmt("SELECT " DELIVERY_COLUMNS " FROM deliveries WHERE state = 'dead' AND agency = ? ORDER BY seq");
  DEIT_SQL_OK(s);
  if (!agency.empty()) s.bind(agency);
  std::vector<Delivery> out;
  while (s.step() == SQLITE_ROW) out.push_back(read_delivery(s));
  s.reset();
  return out;
}

Result<std::string> Store::message_body(const std::string& sender, const std::string& message_id) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  auto& s = c->stmt("SELECT body FROM messages WHERE sender = ? AND message_id = ?");
  DEIT_SQL_OK(s);
  s.bind(sender).bind(message_id);
  if (s.step() != SQLITE_ROW) return Error::make("not-found", "no message " + message_id, "message");
  std::string body = s.text(0);
  s.reset();
  return body;
}

Result<std::int64_t> Store::count(const std::string& table) {
  Connection* c = impl_->reader();
  if (!c) return Error::make("store", "cannot open a read connection");
  const char* sql = table == "transfers"    ? "SELECT count(*) FROM transfers"
                    : table == "deliveries" ? "SELECT count(*) FROM deliveries"
                    : table == "pending"    ? "SELECT count(*) FROM deliveries WHERE state = 'pending'"
                    : table == "messages"   ? "SELECT count(*) FROM messages"
                                            : nullptr;
  if (!sql) return Error::make("store", "unknown table " + table);
  auto& s = c->stmt(sql);
  DEIT_SQL_OK(s);
  std::int64_t n = s.step() == SQLITE_ROW ? s.i64(0) : 0;
  s.reset();
  return n;
}

}  // namespace deit::hub
