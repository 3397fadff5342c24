#!/usr/bin/env bash
# Memory and time of the delivery state: `waform apply` of N recipients to the sandbox on
# loopback, then `waform status` of them, then `apply` again (nothing left to send), each
# measured with /usr/bin/time -v for wall time, CPU and max RSS.
#
# Usage: benches/state.sh
#   SIZES="1000000"          recipients per CSV (each generated once, then cached)
#   PROVIDERS="aldeamo"      bench.yaml projects to send: aldeamo, mayten, or both
#   DATA=target/bench-data   CSVs, projects, state folders and timings
#   SHARED=../shared/bench   the shared bench folder (gen_recipients.py, bench.yaml)
#   PORT=18787               the sandbox's port on 127.0.0.1
#
# It prints one markdown table per size and provider set, also written to
# $DATA/state_PROVIDERS_N.md. The state folder is removed before each apply.
set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-1000000}
PROVIDERS=${PROVIDERS:-aldeamo}
PORT=${PORT:-18787}
# shellcheck source=benches/lib.sh
source "$PROJECT/benches/lib.sh"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

echo "building waform (release) ..." >&2
(cd "$PROJECT" && env -u CARGO_TARGET_DIR cargo build --release --quiet) \
    || die "cargo build --release of waform failed in $PROJECT"
WAFORM="$PROJECT/target/release/waform"

URL="http://127.0.0.1:$PORT"
SANDBOX=
trap 'kill "$SANDBOX" 2>/dev/null || true' EXIT

# A fresh sandbox for each project: it keeps every request it accepts in memory.
start_sandbox() {
    [ -z "$SANDBOX" ] || { kill "$SANDBOX" 2>/dev/null || true; wait "$SANDBOX" 2>/dev/null || true; }
    "$WAFORM" sandbox --port "$PORT" > "$DATA/sandbox.log" 2>&1 &
    SANDBOX=$!
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return
        sleep 0.1
    done
    die "the sandbox did not start on port $PORT (see $DATA/sandbox.log)"
}

for n in $SIZES; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "SIZES must be positive integers, got '$n'"
    csv=$(gen "$n")
    for p in $PROVIDERS; do
        dir="$DATA/state_${p}_$n"
        if [ "$p" = both ]; then project "$dir" "$csv"; else project "$dir" "$csv" "$p"; fi
        rm -rf "$dir/.waform"
        case $p in
            both) ENDPOINTS=(--endpoint "bench-aldeamo=$URL" --endpoint "bench-mayten=$URL") ;;
            aldeamo | mayten) ENDPOINTS=(--endpoint "bench-$p=$URL") ;;
            *) die "PROVIDERS takes aldeamo, mayten or both, got '$p'" ;;
        esac
        start_sandbox
        results="$DATA/state_${p}_$n.tsv"
        : > "$results"
        (
            cd "$dir"
            measure "$results" "apply, first run" "$WAFORM" apply . "${ENDPOINTS[@]}" -q
            measure "$results" "status" "$WAFORM" status . "${ENDPOINTS[@]}"
            measure "$results" "apply, nothing left" "$WAFORM" apply . "${ENDPOINTS[@]}" -q
        )
        journal=$(du -sm "$dir/.waform" | cut -f1)
        {
            echo "### $n recipients, $p (journal $journal MB, $REV)"
            echo
            echo "| run | wall s | CPU s | max RSS MiB |"
            echo "| --- | ---: | ---: | ---: |"
            awk -F'\t' '{ printf "| %s | %.2f | %.2f | %.1f |\n", $1, $2, $3, $4 / 1024 }' "$results"
            echo
        } | tee "$DATA/state_${p}_$n.md"
    done
done
