#include "hub/wal_coalescing_vfs.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

sqlite3* open_db(const std::string& path, const char* vfs) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << " in " << sql;
}

std::int64_t count_and_sum(sqlite3* db, std::int64_t* bytes) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(length(body)), 0) FROM t", -1, &s, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
  const std::int64_t n = sqlite3_column_int64(s, 0);
  *bytes = sqlite3_column_int64(s, 1);
  sqlite3_finalize(s);
  return n;
}

class WalCoalescingVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deit-walvfs-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string path_;
};

// Commits of one page, of more than the unix VFS's 128 KiB write limit, and of more than
// the shim's 4 MiB buffer: a reader on the default VFS sees every committed row at once, and
// the file is intact after the writer closes.
TEST_F(WalCoalescingVfsTest, ReadersSeeEveryCommitOfAnySize) {
  sqlite3* writer = open_db(path_, deit::hub::wal_coalescing_vfs());
  exec(writer, "PRAGMA journal_mode=WAL");
  exec(writer, "PRAGMA synchronous=FULL");
  exec(writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)");
  sqlite3* reader = open_db(path_, nullptr);
  std::int64_t rows = 0, bytes = 0;
  for (int rows_per_commit : {1, 60, 1500}) {  // × 3 KB: 3 KB, 180 KB, 4.5 MB
    exec(writer, "BEGIN");
    for (int i = 0; i < rows_per_commit; ++i) exec(writer, "INSERT INTO t(body) VALUES(randomblob(3000))");
    exec(writer, "COMMIT");
    rows += rows_per_commit;
    bytes += 3000LL * rows_per_commit;
    std::int64_t seen_bytes = 0;
    EXPECT_EQ(count_and_sum(reader, &seen_bytes), rows) << "after a commit of " << rows_per_commit << " rows";
    EXPECT_EQ(seen_bytes, bytes);
  }
  // An update rewrites pages already in the WAL: the frames for them are not contiguous with
  // a buffered run, so the shim must flush and start a new one.
  exec(writer, "UPDATE t SET body = randomblob(2000) WHERE id % 7 = 0");
  sqlite3_close(reader);
  sqlite3_close(writer);

  sqlite3* again = open_db(path_, nullptr);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(again, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
  sqlite3_finalize(s);
  std::int64_t total = 0;
  EXPECT_EQ(count_and_sum(again, &total), rows);
  sqlite3_close(again);
}

// Two databases written at once through the shim, each with its own WAL: neither's frames
// land in the other.
TEST_F(WalCoalescingVfsTest, TwoDatabasesKeepTheirOwnWals) {
  const std::string other = (dir_ / "u.db").string();
  sqlite3* a = open_db(path_, deit::hub::wal_coalescing_vfs());
  sqlite3* b = open_db(other, deit::hub::wal_coalescing_vfs());
  for (sqlite3* db : {a, b}) {
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)");
  }
  for (int i = 0; i < 50; ++i) {
    exec(a, "INSERT INTO t(body) VALUES(randomblob(5000))");
    exec(b, "INSERT INTO t(body) VALUES(randomblob(100))");
  }
  sqlite3* ra = open_db(path_, nullptr);
  sqlite3* rb = open_db(other, nullptr);
  std::int64_t bytes_a = 0, bytes_b = 0;
  EXPECT_EQ(count_and_sum(ra, &bytes_a), 50);
  EXPECT_EQ(count_and_sum(rb, &bytes_b), 50);
  EXPECT_EQ(bytes_a, 250000);
  EXPECT_EQ(bytes_b, 5000);
  for (sqlite3* db : {ra, rb, a, b}) sqlite3_close(db);
}

// A checkpoint through the shim (as the store's checkpointer runs it) writes the database
// file in adjacent runs that the shim buffers. Once it has finished, and while its
// connection stays open, a reader on the default VFS that finds the WAL empty reads the
// database file alone, and must find every row in it: with the checkpoint's sync, and
// without one (synchronous=OFF), where only the wal-index locks flush the buffer.
TEST_F(WalCoalescingVfsTest, ACheckpointLeavesEveryPageInTheDatabaseFileBeforeItReturns) {
  for (const char* synchronous : {"FULL", "OFF"}) {
    SCOPED_TRACE(synchronous);
    fs::remove(path_);
    fs::remove(path_ + "-wal");
    fs::remove(path_ + "-shm");
    sqlite3* writer = open_db(path_, deit::hub::wal_coalescing_vfs());
    exec(writer, "PRAGMA journal_mode=WAL");
    exec(writer, "PRAGMA wal_autocheckpoint=0");
    exec(writer, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)");
    exec(writer, "CREATE INDEX t_body ON t(substr(body, 1, 8))");  // scattered index pages
    for (int commit = 0; commit < 20; ++commit) {
      exec(writer, "BEGIN");
      for (int i = 0; i < 40; ++i) exec(writer, "INSERT INTO t(body) VALUES(randomblob(1500))");
      exec(writer, "COMMIT");
    }
    exec(writer, "UPDATE t SET body = randomblob(900) WHERE id % 5 = 0");
    sqlite3* checkpointer = open_db(path_, deit::hub::wal_coalescing_vfs());
    exec(checkpointer, std::string("PRAGMA synchronous=") + synchronous);
    exec(checkpointer, "PRAGMA wal_checkpoint(TRUNCATE)");
    EXPECT_EQ(fs::file_size(path_ + "-wal"), 0u) << "the checkpoint did not reach the WAL's end";

    sqlite3* reader = open_db(path_, nullptr);
    std::int64_t bytes = 0;
    EXPECT_EQ(count_and_sum(reader, &bytes), 800);
    EXPECT_EQ(bytes, 640 * 1500 + 160 * 900);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(reader, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
    sqlite3_finalize(s);
    for (sqlite3* db : {reader, checkpointer, writer}) sqlite3_close(db);
  }
}

}  // namespace
