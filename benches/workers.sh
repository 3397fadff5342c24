#!/usr/bin/env bash
# Several `waform apply` workers splitting one campaign through PostgreSQL state, to the
# sandbox on loopback (release build, no `rate:`):
#
#   1. WORKERS workers started together on N Aldeamo recipients: the aggregate messages/s
#      (N / wall time of the slowest) and each worker's peak RSS (/usr/bin/time -v);
#   2. the same N again in a fresh state, with KILLS random SIGKILLs: every 1-3 s a random
#      worker is killed and a new one started in its place; at the end one more worker (after
#      the lease) finishes what the killed ones held. Then the duplicate check: no number was
#      accepted twice by the sandbox (from its request log), every key has an outcome, and the
#      uncertain ones are the intents the kills left in flight.
#
# Usage: benches/workers.sh
#   N=300000                 Aldeamo recipients (the CSV is generated once, then cached)
#   WORKERS=3                workers at once
#   KILLS=10                 SIGKILLs in the second run (0 skips it)
#   CONCURRENCY=64           --concurrency of each worker
#   LEASE=2                  --lease of each worker, in seconds
#   PORT=18797               the sandbox's port on 127.0.0.1
#   WAFORM_TEST_POSTGRES     the server (its schema `waform` is dropped before each run);
#                            unset: a throwaway one is started with .ci/postgres
#   DATA=target/bench-data   CSVs, the project, logs and timings
#   SHARED=../shared/bench   the shared bench folder (gen_recipients.py, bench.yaml)
#
# It prints a markdown table, also written to $DATA/workers_N.md.
set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-300000}
WORKERS=${WORKERS:-3}
KILLS=${KILLS:-10}
CONCURRENCY=${CONCURRENCY:-64}
LEASE=${LEASE:-2}
PORT=${PORT:-18797}
# shellcheck source=benches/lib.sh
source "$PROJECT/benches/lib.sh"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"

echo "building waform (release) ..." >&2
(cd "$PROJECT" && env -u CARGO_TARGET_DIR cargo build --release --quiet) \
    || die "cargo build --release of waform failed in $PROJECT"
WAFORM="$PROJECT/target/release/waform"

PGDIR=
SANDBOX=
cleanup() {
    kill "$SANDBOX" 2>/dev/null || true
    jobs -p | xargs -r kill -9 2>/dev/null || true
    [ -z "$PGDIR" ] || "$PROJECT/.ci/postgres" stop "$PGDIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
if [ -z "${WAFORM_TEST_POSTGRES:-}" ]; then
    eval "$("$PROJECT/.ci/postgres" start)"
    PGDIR=$WAFORM_TEST_PGDIR
fi
DB=$WAFORM_TEST_POSTGRES
PSQL=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | head -n1 || command -v psql)
[ -n "$PSQL" ] || die "psql not found"
sql() { "$PSQL" -qtAX "${DB%%\?*}" -c "SET client_min_messages = warning" -c "$1"; }

URL="http://127.0.0.1:$PORT"
csv=$(gen "$N")
dir="$DATA/workers_$N"
project "$dir" "$csv" aldeamo

# A fresh sandbox (it keeps what it accepted in memory) logging every request to $1.
start_sandbox() {
    [ -z "$SANDBOX" ] || { kill "$SANDBOX" 2>/dev/null || true; wait "$SANDBOX" 2>/dev/null || true; }
    rm -f "$1"  # the sandbox appends to its log
    "$WAFORM" sandbox --port "$PORT" --log "$1" > "$DATA/sandbox.log" 2>&1 &
    SANDBOX=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return
        sleep 0.1
    done
    die "the sandbox did not start on port $PORT (see $DATA/sandbox.log)"
}

# worker NAME: one `apply` in the background under /usr/bin/time -v; its pid in $PID.
worker() {
    (cd "$dir" && exec /usr/bin/time -v -o "$DATA/workers_time_$1.txt" "$WAFORM" apply . \
        --endpoint "bench-aldeamo=$URL" --state "$DB" --concurrency "$CONCURRENCY" \
        --lease "${LEASE}s" > /dev/null 2> "$DATA/workers_stderr_$1.txt") &
    PID=$!
}

sent_by() { sed -n 's/^This run: \([0-9]*\) sent.*/\1/p' "$DATA/workers_stderr_$1.txt" | tail -n1; }
rss_mib() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

# Numbers the sandbox accepted more than once, from its log.
duplicates() {
    python3 - "$1" <<'PY'
import collections, json, sys
seen = collections.Counter()
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        if r.get("status") == 200 and isinstance(r.get("body"), dict):
            seen[r["body"].get("to")] += 1
print(sum(1 for c in seen.values() if c > 1), sum(seen.values()))
PY
}

# 1. WORKERS together.
sql "DROP SCHEMA IF EXISTS waform CASCADE"
start_sandbox "$DATA/workers_log_1.ndjson"
start=$(date +%s.%N)
pids=()
for w in $(seq "$WORKERS"); do worker "run1_$w"; pids+=("$PID"); done
for p in "${pids[@]}"; do wait "$p" || [ $? -eq 3 ] || die "a worker failed (see $DATA/workers_stderr_run1_*.txt)"; done
end=$(date +%s.%N)
wall=$(echo "$end - $start" | bc -l)
read -r dups1 accepted1 < <(duplicates "$DATA/workers_log_1.ndjson")
rows=$(sql "SELECT count(*) FROM waform.recipients WHERE status = 'sent'")

{
    echo "### $WORKERS workers × $N Aldeamo recipients, PostgreSQL state ($REV)"
    echo
    echo "| run | wall s | messages/s (aggregate) | accepted | sent twice | rows sent |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    printf "| %s workers together | %.2f | %.0f | %s | %s | %s |\n" "$WORKERS" "$wall" \
        "$(echo "$accepted1 / $wall" | bc -l)" "$accepted1" "$dups1" "$rows"
    echo
    echo "| worker | messages sent | peak RSS MiB |"
    echo "| --- | ---: | ---: |"
    for w in $(seq "$WORKERS"); do
        echo "| $w | $(sent_by "run1_$w") | $(rss_mib "$DATA/workers_time_run1_$w.txt") |"
    done
    echo
} > "$DATA/workers_$N.md"

# 2. KILLS random SIGKILLs.
if [ "$KILLS" -gt 0 ]; then
    sql "DROP SCHEMA IF EXISTS waform CASCADE"
    start_sandbox "$DATA/workers_log_2.ndjson"
    live=()
    n=0
    for w in $(seq "$WORKERS"); do n=$((n + 1)); worker "run2_$n"; live+=("$PID"); done
    start=$(date +%s.%N)
    for k in $(seq "$KILLS"); do
        sleep "$(python3 -c 'import random; print(random.uniform(1, 3))')"
        i=$((RANDOM % ${#live[@]}))
        # The worker is the child of /usr/bin/time: kill it, not time.
        victim=$(pgrep -P "${live[$i]}" | head -n1 || true)
        [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || true
        wait "${live[$i]}" 2>/dev/null || true
        n=$((n + 1)); worker "run2_$n"; live[$i]=$PID
        echo "kill $k/$KILLS" >&2
    done
    for p in "${live[@]}"; do wait "$p" || true; done
    sleep "$LEASE"
    sleep 1
    n=$((n + 1)); worker "run2_final"; wait "$PID" || [ $? -eq 3 ] || die "the final worker failed"
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc -l)
    read -r dups2 accepted2 < <(duplicates "$DATA/workers_log_2.ndjson")
    counts=$(sql "SELECT s || ' ' || n FROM (SELECT coalesce(status, 'no outcome') AS s, count(*) AS n FROM waform.recipients GROUP BY 1) c ORDER BY 1" | paste -sd, -)
    in_flight=$(sql "SELECT count(*) FROM waform.recipients WHERE in_flight")
    {
        echo "| run | wall s | accepted | sent twice | rows by status | intents left in flight |"
        echo "| --- | ---: | ---: | ---: | --- | ---: |"
        printf "| %s workers, %s random SIGKILLs, then one more | %.2f | %s | %s | %s | %s |\n" \
            "$WORKERS" "$KILLS" "$wall" "$accepted2" "$dups2" "$counts" "$in_flight"
        echo
    } >> "$DATA/workers_$N.md"
fi
cat "$DATA/workers_$N.md"
