#!/usr/bin/env bash
# The same noisy queries against a real PostgreSQL with pg_trgm, on N addresses (default
# 1,000,000): a throw-away cluster in a temporary directory on a loopback port, GiST and GIN
# trigram indexes; one JSON line per way of asking (KNN by trigram distance, and the %
# similarity operator), with the same fields as run.sh. pg_trgm answers about one query a
# second here, so by default only the first 300 queries are run (PG_QUERY_LIMIT).
#
#   bench/gazetteer/pg_trgm.sh [N]        env: BUILD_DIR, WORK_DIR, QUERIES, PGPORT (54329),
#                                          PG_QUERY_LIMIT (run only the first N of the queries)
set -euo pipefail
N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gazetteer}
WORK=${WORK_DIR:-/tmp/deit-gazetteer-pg-$N}
QUERIES=${QUERIES:-20000}
PORT=${PGPORT:-54329}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql postgresql-contrib >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [ ! -f "$BUILD/build.ninja" ] && [ ! -f "$BUILD/Makefile" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD" --target deit-gazetteer pg_trgm_bench -j2 >&2
TOOL=$BUILD/gazetteer/deit-gazetteer

mkdir -p "$WORK"
DATA=$(mktemp -d /tmp/deit-pg-XXXXXX)
chown postgres "$DATA"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop() {
  as_pg "$PGBIN/pg_ctl" -D "$DATA/db" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap stop EXIT

# Same generator, same seed, same queries as run.sh.
"$TOOL" generate --out "$WORK" --addresses "$N" --queries "$QUERIES" >&2
"$TOOL" build --out "$WORK/national.gaz" --custodians "$WORK/custodians.csv" "$WORK/abp.csv" >&2
"$TOOL" export --snapshot "$WORK/national.gaz" > "$WORK/addresses.tsv"
chmod a+r "$WORK/addresses.tsv"; chmod a+rx "$WORK"

as_pg "$PGBIN/initdb" -D "$DATA/db" -A trust -U postgres >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c maintenance_work_mem=1GB -c fsync=off" start >&2
PSQL=("$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" -c "CREATE DATABASE gaz" >&2
start=$(date +%s.%N)
"${PSQL[@]}" -d gaz <<SQL >&2
CREATE EXTENSION pg_trgm;
CREATE TABLE addresses (uprn bigint PRIMARY KEY, addr text NOT NULL);
\copy addresses FROM '$WORK/addresses.tsv' WITH (FORMAT text)
CREATE INDEX addresses_trgm_gist ON addresses USING gist (addr gist_trgm_ops);
CREATE INDEX addresses_trgm_gin ON addresses USING gin (addr gin_trgm_ops);
ANALYZE addresses;
SQL
build_seconds=$(echo "$(date +%s.%N) - $start" | bc)
for mode in knn similarity; do
  "$BUILD/bench/gazetteer/pg_trgm_bench" --conninfo "host=127.0.0.1 port=$PORT user=postgres dbname=gaz" \
    --queries "$WORK/queries.tsv" --limit "${PG_QUERY_LIMIT:-300}" --mode $mode > "$WORK/pg.json"
  python3 - "$WORK/pg.json" "$build_seconds" "$N" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["requested_addresses"] = int(sys.argv[3])
r["build_seconds"] = round(float(sys.argv[2]), 1)
print(json.dumps(r))
PY
done
