#include "hub/wal_coalescing_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace deit::hub {
namespace {

constexpr std::size_t kFlushAtBytes = 4u << 20;  // bounds the buffer on a very large commit
constexpr std::size_t kMaxWriteBytes = 31 * 4096;

struct ShimFile {
  sqlite3_file base;       // must be first: SQLite sees a ShimFile as a sqlite3_file
  sqlite3_file* real;      // the default VFS's file, allocated right after this struct
  bool wal;
  bool coalesce;           // the WAL, or a main database file (a checkpoint's page writes)
  std::string* pending;    // buffered bytes (heap: SQLite allocates ShimFile raw)
  sqlite3_int64 pending_at;
  const char* name;        // SQLite keeps the name alive while the file is open
  ShimFile* partner;       // main database file <-> its WAL, while both are open
};

sqlite3_vfs* default_vfs = nullptr;
sqlite3_vfs shim_vfs;
sqlite3_io_methods shim_methods;
// Main database files open through this VFS, to pair each WAL with its database: the
// wal-index calls (barrier, locks) arrive on the database's handle.
std::mutex open_mains_mutex;
std::vector<ShimFile*> open_mains;

ShimFile* as_shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }

int flush(ShimFile* f) {
  if (!f->coalesce || f->pending->empty()) return SQLITE_OK;
  // The unix VFS masks a write's length to 17 bits (seekAndWriteFd), so no chunk may reach 128 KiB.
  const std::string& buf = *f->pending;
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < buf.size() && rc == SQLITE_OK; done += kMaxWriteBytes) {
    const std::size_t n = std::min(kMaxWriteBytes, buf.size() - done);
    rc = f->real->pMethods->xWrite(f->real, buf.data() + done, static_cast<int>(n),
                                   f->pending_at + static_cast<sqlite3_int64>(done));
  }
  f->pending->clear();
  return rc;
}

// Called on the database's handle, by the connection that owns it: its WAL is its own.
int flush_partner_wal(ShimFile* main) { return main->partner ? flush(main->partner) : SQLITE_OK; }

int x_close(sqlite3_file* file) {
  ShimFile* f = as_shim(file);
  int rc = flush(f);
  {
    std::lock_guard lock(open_mains_mutex);
    if (f->partner) f->partner->partner = nullptr;
    open_mains.erase(std::remove(open_mains.begin(), open_mains.end(), f), open_mains.end());
  }
  const int closed = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->pending;
  f->pending = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* file, void* out, int n, sqlite3_int64 at) {
  ShimFile* f = as_shim(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, n, at);
}

int x_write(sqlite3_file* file, const void* data, int n, sqlite3_int64 at) {
  ShimFile* f = as_shim(file);
  if (!f->coalesce) return f->real->pMethods->xWrite(f->real, data, n, at);
  std::string& buf = *f->pending;
  if (!buf.empty() && at != f->pending_at + static_cast<sqlite3_int64>(buf.size()))
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  if (buf.empty()) f->pending_at = at;
  buf.append(static_cast<const char*>(data), static_cast<std::size_t>(n));
  return buf.size() >= kFlushAtBytes ? flush(f) : SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  ShimFile* f = as_shim(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  ShimFile* f = as_shim(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  ShimFile* f = as_shim(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* f, int level) {
  if (int rc = flush(as_shim(f)); rc != SQLITE_OK) return rc;
  return as_shim(f)->real->pMethods->xLock(as_shim(f)->real, level);
}
int x_unlock(sqlite3_file* f, int level) {
  if (int rc = flush(as_shim(f)); rc != SQLITE_OK) return rc;
  return as_shim(f)->real->pMethods->xUnlock(as_shim(f)->real, level);
}
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return as_shim(f)->real->pMethods->xCheckReservedLock(as_shim(f)->real, out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  if (int rc = flush(as_shim(f)); rc != SQLITE_OK) return rc;
  return as_shim(f)->real->pMethods->xFileControl(as_shim(f)->real, op, arg);
}
int x_sector_size(sqlite3_file* f) { return as_shim(f)->real->pMethods->xSectorSize(as_shim(f)->real); }
int x_device_characteristics(sqlite3_file* f) {
  return as_shim(f)->real->pMethods->xDeviceCharacteristics(as_shim(f)->real);
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return as_shim(f)->real->pMethods->xShmMap(as_shim(f)->real, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  // A commit takes or drops wal-index locks only after writing its frames, and a checkpoint
  // after writing its pages: make them visible.
  if (int rc = flush(as_shim(f)); rc != SQLITE_OK) return rc;
  if (int rc = flush_partner_wal(as_shim(f)); rc != SQLITE_OK) return rc;
  return as_shim(f)->real->pMethods->xShmLock(as_shim(f)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  // SQLite publishes a new wal-index header between two barriers; readers must then find
  // the frames it points to in the file.
  static_cast<void>(flush(as_shim(f)));
  static_cast<void>(flush_partner_wal(as_shim(f)));
  as_shim(f)->real->pMethods->xShmBarrier(as_shim(f)->real);
}
int x_shm_unmap(sqlite3_file* f, int remove) { return as_shim(f)->real->pMethods->xShmUnmap(as_shim(f)->real, remove); }
int x_fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
  if (int rc = flush(as_shim(f)); rc != SQLITE_OK) return rc;
  return as_shim(f)->real->pMethods->xFetch(as_shim(f)->real, at, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) {
  return as_shim(f)->real->pMethods->xUnfetch(as_shim(f)->real, at, p);
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  ShimFile* f = as_shim(file);
  std::memset(f, 0, sizeof(ShimFile));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(ShimFile));
  const int rc = default_vfs->xOpen(default_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;
    return rc;
  }
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->coalesce = (flags & (SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_DB)) != 0;
  f->pending = new (std::nothrow) std::string;
  if (!f->pending) {
    f->real->pMethods->xClose(f->real);
    f->base.pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  f->name = name;
  if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL))) {
    std::lock_guard lock(open_mains_mutex);
    if (flags & SQLITE_OPEN_MAIN_DB) {
      open_mains.push_back(f);
    } else {
      // SQLite opens a WAL from inside a call on its database's connection, right after
      // that database (the store opens its writer, then its checkpointer, on one path):
      // the newest unpaired database of that name is this WAL's.
      const std::string wal_name = name;
      for (auto m = open_mains.rbegin(); m != open_mains.rend(); ++m)
        if (!(*m)->partner && (*m)->name && wal_name == std::string((*m)->name) + "-wal") {
          (*m)->partner = f;
          f->partner = *m;
          break;
        }
    }
  }
  f->base.pMethods = &shim_methods;
  return SQLITE_OK;
}

}  // namespace

const char* wal_coalescing_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    default_vfs = sqlite3_vfs_find(nullptr);
    shim_methods = sqlite3_io_methods{3,
                                      x_close,
                                      x_read,
                                      x_write,
                                      x_truncate,
                                      x_sync,
                                      x_file_size,
                                      x_lock,
                                      x_unlock,
                                      x_check_reserved_lock,
                                      x_file_control,
                                      x_sector_size,
                                      x_device_characteristics,
                                      x_shm_map,
                                      x_shm_lock,
                                      x_shm_barrier,
                                      x_shm_unmap,
                                      x_fetch,
                                      x_unfetch};
    shim_vfs = *default_vfs;  // xDelete, xAccess, xFullPathname, randomness, time: the default's
    shim_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + default_vfs->szOsFile;
    shim_vfs.zName = "deit-wal-coalescing";
    shim_vfs.pNext = nullptr;
    shim_vfs.xOpen = x_open;
    sqlite3_vfs_register(&shim_vfs, 0);
  });
  return shim_vfs.zName;
}

}  // namespace deit::hub
