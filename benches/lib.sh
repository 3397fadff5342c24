# Shared by the benchmark scripts (sourced): settings, the builds, and the generated data.
#
#   DATA=target/bench-data   CSVs, waform project folders, timings, limit_rs target dir
#   OUT=$DATA                where the programs write their NDJSON (e.g. a tmpfs folder)
#   SHARED=../shared/bench   the shared bench folder (gen_recipients.py, baseline_jinja.py,
#                            limit_rs/, waform-campaign/bench.yaml)

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

DATA=${DATA:-$PROJECT/target/bench-data}
OUT=${OUT:-$DATA}
SHARED=${SHARED:-$PROJECT/../shared/bench}
for f in gen_recipients.py baseline_jinja.py limit_rs/Cargo.toml waform-campaign/bench.yaml; do
    [ -f "$SHARED/$f" ] || die "shared bench folder not found: '$SHARED/$f' is missing.
Put the shared bench folder at $PROJECT/../shared/bench or set SHARED=/path/to/bench."
done
SHARED=$(cd "$SHARED" && pwd)
mkdir -p "$DATA" "$OUT"
DATA=$(cd "$DATA" && pwd)
OUT=$(cd "$OUT" && pwd)
REV=$(git -C "$PROJECT" describe --always --dirty 2>/dev/null || echo unknown)

# Secrets the senders in bench.yaml name; plan and validate send nothing.
export BENCH_ALDEAMO_KEY=dummy-key BENCH_ALDEAMO_USER=dummy-user BENCH_MAYTEN_TOKEN=dummy-token

# build_all: build waform and limit_rs (release), setting WAFORM and LIMIT to their binaries.
build_all() {
    echo "building waform (release) ..." >&2
    (cd "$PROJECT" && env -u CARGO_TARGET_DIR cargo build --release --quiet) \
        || die "cargo build --release of waform failed in $PROJECT"
    WAFORM="$PROJECT/target/release/waform"
    echo "building limit_rs (release) ..." >&2
    CARGO_TARGET_DIR="$DATA/limit-target" cargo build --release --quiet \
        --manifest-path "$SHARED/limit_rs/Cargo.toml" || die "cargo build --release of limit_rs failed"
    LIMIT="$DATA/limit-target/release/limit_rs"
}

gen() {  # gen ROWS -> path of the cached CSV
    local csv="$DATA/recipients_$1.csv"
    if [ ! -s "$csv" ]; then
        echo "generating $1 recipients ..." >&2
        python3 "$SHARED/gen_recipients.py" "$1" "$csv.tmp" && mv "$csv.tmp" "$csv"
    fi
    echo "$csv"
}

# select PROVIDER: bench.yaml's documents for one provider (its Sender and Campaign
# `bench-PROVIDER`, and the Template), joined by `---`. Fails unless exactly three are found.
select_docs() {
    awk -v want="bench-$1" '
        function val(line) { sub(/^[a-z]+:[ \t]*/, "", line); sub(/[ \t]+#.*$/, "", line)
                             gsub(/["\047 \t]/, "", line); return line }
        function flush() {
            if (doc != "" && (kind == "Template" || ((kind == "Sender" || kind == "Campaign") && name == want)))
                printf "%s%s", (kept++ ? "---\n" : ""), doc
            doc = ""; kind = ""; name = ""
        }
        /^---[ \t]*$/ { flush(); next }
        { doc = doc $0 "\n" }
        /^kind:/ { kind = val($0) }
        /^name:/ { name = val($0) }
        END { flush(); exit (kept == 3 ? 0 : 1) }' "$SHARED/waform-campaign/bench.yaml"
}

# project DIR CSV [PROVIDER]: a waform project folder with bench.yaml (all of it, or one
# provider's documents) and the CSV as recipients.csv. waform refuses a symlink that points
# outside the project, so the CSV is hard-linked (copied if that fails).
project() {
    local dir=$1 csv=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ $# -gt 2 ]; then
        select_docs "$3" > "$dir/bench.yaml" \
            || die "could not find the Sender, Template and Campaign for '$3' in bench.yaml"
    else
        cat "$SHARED/waform-campaign/bench.yaml" > "$dir/bench.yaml"
    fi
    ln "$csv" "$dir/recipients.csv" 2>/dev/null || cp "$csv" "$dir/recipients.csv"
}


# measure RESULTS NAME CMD...: run CMD under /usr/bin/time -v after `sync; sleep 1` and append
# `NAME<TAB>wall s<TAB>CPU s<TAB>max RSS KiB` to RESULTS; a failure stops the script.
measure() {  # measure RESULTS NAME CMD... (stdout to /dev/null; stderr kept for a failure)
    local results=$1 name=$2 rc=0
    shift 2
    sync; sleep 1  # let writeback of earlier runs settle
    /usr/bin/time -v -o "$DATA/time.txt" "$@" > /dev/null 2> "$DATA/stderr.txt" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "$(basename "$0"): '$name' exited with status $rc: $*" >&2
        echo "--- last lines of its stderr ($DATA/stderr.txt):" >&2
        tail -n 30 "$DATA/stderr.txt" >&2
        exit 1
    fi
    awk -v name="$name" -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
        /User time|System time/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { print name "\t" s "\t" cpu "\t" rss }' "$DATA/time.txt" >> "$results"
}

