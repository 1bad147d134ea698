#pragma once

// An SQLite VFS for the store's writer connection that writes a commit's WAL frames in one
// pwrite instead of two per page (a 24-byte frame header, then the page). SQLite appends
// frames to the WAL strictly in order, so consecutive writes are buffered and flushed as
// one before anything that must see them on disk or in the file: a sync (every commit, with
// synchronous=FULL), a read, a truncate, a size query, a shared-memory barrier (SQLite
// publishes a commit to readers through the wal-index only after one), and close.
// A checkpoint's page writes to the database file are coalesced the same way: SQLite
// writes them in ascending page order, and the pages new since the last checkpoint (the
// growing ends of tables) are adjacent, so a step of 1,024 frames makes about a third of
// the pwrite calls. They are flushed before the database's sync, which comes before SQLite
// records them as checkpointed, and before any lock or other call on the file.
// Every other file, and every other call, goes straight to the default VFS.

namespace deit::hub {

// Registers the VFS (once, not as the default) and returns its name for sqlite3_open_v2.
const char* wal_coalescing_vfs();

}  // namespace deit::hub
