#pragma once
// Reads a database file directly, beside the store: the first column of the first row of
// `sql`, "<none>" when there is no row, "<error>" when the statement does not prepare.

#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace deit::hub {

inline std::string query_text(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* c = nullptr;
  sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  std::string out = "<error>";
  if (sqlite3_prepare_v2(c, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
    out = "<none>";
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      out = p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, 0))) : std::string();
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(c);
  return out;
}

}  // namespace deit::hub
