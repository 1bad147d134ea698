#!/usr/bin/env python3
"""What a partial index's condition costs each write, in SQLite alone.

The store's transfers_ended index once had `WHERE state IN ('closed', 'cancelled',
'rejected')`. SQLite evaluates an IN list of three or more constants through a temporary
table, which it builds and drops for every insert into the table and twice for every update
(the old row and the new). This inserts and then updates ROWS rows of about the size of a
transfer's row under each spelling of the condition and prints one JSON line: medians of
RUNS rounds, microseconds per statement, and how many OpenEphemeral opcodes each program has.

Usage: bench/sqlite/partial_index_condition.py [ROWS] [RUNS]   (defaults 50000, 5)
Uses Python's own SQLite (the same major version as Debian 12's libsqlite3).
"""
import json
import sqlite3
import statistics
import sys
import time

CONDITIONS = {
    "in_list": "state IN ('closed', 'cancelled', 'rejected')",
    "ors": "state = 'closed' OR state = 'cancelled' OR state = 'rejected'",
}
INSERT = "INSERT INTO transfers(id, state, closed_at, cancelled_at, rejected_at, findings) VALUES(?, 'stored', 0, 0, 0, ?)"
UPDATE = "UPDATE transfers SET state = 'delivered', delivered_at = 1 WHERE key = ?"


def open_table(condition):
    db = sqlite3.connect(":memory:")
    db.executescript(f"""
        CREATE TABLE transfers(key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
                               closed_at INTEGER, cancelled_at INTEGER, rejected_at INTEGER,
                               delivered_at INTEGER DEFAULT 0, findings TEXT);
        CREATE INDEX transfers_ended ON transfers(max(closed_at, cancelled_at, rejected_at)) WHERE {condition};
    """)
    return db


def ephemeral_tables(db, sql, args):
    return sum(1 for row in db.execute("EXPLAIN " + sql, args) if row[1] == "OpenEphemeral")


def one_round(condition, rows):
    db = open_table(condition)
    started = time.perf_counter()
    db.executemany(INSERT, ((f"T-{i:010d}", "x" * 800) for i in range(rows)))
    inserted = time.perf_counter()
    db.executemany(UPDATE, ((i,) for i in range(1, rows + 1)))
    updated = time.perf_counter()
    return (inserted - started) / rows * 1e6, (updated - inserted) / rows * 1e6


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    result = {"bench": "sqlite-partial-index-condition", "sqlite": sqlite3.sqlite_version, "rows": rows, "runs": runs}
    timings = {name: [] for name in CONDITIONS}
    for _ in range(runs):  # alternating, so that a drift of the machine hits both alike
        for name, condition in CONDITIONS.items():
            timings[name].append(one_round(condition, rows))
    for name, condition in CONDITIONS.items():
        db = open_table(condition)
        result[name] = {
            "insert_us": round(statistics.median(t[0] for t in timings[name]), 2),
            "update_us": round(statistics.median(t[1] for t in timings[name]), 2),
            "insert_ephemeral_tables": ephemeral_tables(db, INSERT, ("T-x", "")),
            "update_ephemeral_tables": ephemeral_tables(db, UPDATE, (1,)),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
