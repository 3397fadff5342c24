#!/usr/bin/env bash
# `waform plan` / `waform validate` against the shared campaign benchmark (limit_rs, the Rust
# "physical limit", and baseline_jinja.py, the Python + Jinja2 program a user would write).
#
# Usage: benches/plan.sh            (from the project root or anywhere)
#   SIZES="100000 1000000"   recipients per CSV (each generated once, then cached)
#   REPEAT=1                 timed runs per program; the tables show the median
#   DATA=target/bench-data   CSVs, waform project folders, timings, limit_rs target dir
#   OUT=$DATA                where the programs write their NDJSON (e.g. a tmpfs folder)
#   SHARED=../shared/bench   the shared bench folder (gen_recipients.py, baseline_jinja.py,
#                            limit_rs/, waform-campaign/bench.yaml)
#   PYTHON_BASELINE=1        0 skips baseline_jinja.py (about 140 s at 1M rows)
#
# Per size N it times, with /usr/bin/time -v after `sync; sleep 1`: limit_rs, the Python
# baseline, then `waform plan DIR --emit FILE -q` and `waform validate DIR -q` on three projects
# (both providers, Aldeamo only, Mayten only) built from bench.yaml. It prints one markdown
# table per size (also written to $DATA/results_N.md), then per size the NDJSON line counts of
# waform's `both` plan and of limit_rs (waform drops duplicate phones: small differences are
# expected). Any program exiting non-zero stops the script with the tail of its stderr.
set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${SIZES:-100000 1000000}
REPEAT=${REPEAT:-1}
PYTHON_BASELINE=${PYTHON_BASELINE:-1}
# shellcheck source=benches/lib.sh
source "$PROJECT/benches/lib.sh"

for n in $SIZES; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "SIZES must be positive integers, got '$n'"
done
[ -n "${SIZES// /}" ] || die "SIZES is empty"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive integer, got '$REPEAT'"
[[ $PYTHON_BASELINE =~ ^[01]$ ]] || die "PYTHON_BASELINE must be 0 or 1, got '$PYTHON_BASELINE'"

# --- tools ---------------------------------------------------------------
if [ "$PYTHON_BASELINE" = 1 ]; then
    python3 -c 'import jinja2' 2>/dev/null || python3 -m pip install --quiet jinja2
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
build_all

table() {  # table RESULTS N: markdown table of medians (max RSS: the largest run)
    awk -F'\t' -v n="$2" '
        function median(A, key, m,    v, i, j, t) {
            for (i = 1; i <= m; i++) v[i] = A[key, i]
            for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
            return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        }
        function commas(x,    s) {
            s = sprintf("%.0f", x)
            while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
            return s
        }
        function dashes(k,    s) { s = ""; while (k-- > 0) s = s "-"; return s }
        {
            if (!($1 in cnt)) { order[++rows] = $1; if (length($1) > w) w = length($1) }
            c = ++cnt[$1]; W[$1, c] = $2; C[$1, c] = $3
            if ($4 + 0 > R[$1]) R[$1] = $4 + 0
        }
        END {
            if (w < 7) w = 7
            ref = median(W, "limit_rs (Rust reference)", cnt["limit_rs (Rust reference)"])
            printf "| %-*s | %7s | %12s | %6s | %11s | %15s |\n", w, "program", "wall s", "recipients/s", "CPU s", "max RSS MiB", "wall / limit_rs"
            printf "|%s|%s:|%s:|%s:|%s:|%s:|\n", dashes(w + 2), dashes(8), dashes(13), dashes(7), dashes(12), dashes(16)
            for (r = 1; r <= rows; r++) {
                name = order[r]; wall = median(W, name, cnt[name]); cpu = median(C, name, cnt[name])
                if (wall > 0) { shown = sprintf("%.2f", wall); rate = commas(n / wall) }
                else { shown = "<0.01"; rate = ">" commas(n / 0.01) }
                ratio = (ref > 0 && wall > 0) ? sprintf("%.2f", wall / ref) : "n/a"
                printf "| %-*s | %7s | %12s | %6.2f | %11.1f | %15s |\n", w, name, shown, rate, cpu, R[name] / 1024, ratio
            }
        }' "$1"
}

# --- timing ---------------------------------------------------------------
CHECKS=()
for n in $SIZES; do
    csv=$(gen "$n")
    for p in both aldeamo mayten; do
        if [ "$p" = both ]; then project "$DATA/${p}_$n" "$csv"; else project "$DATA/${p}_$n" "$csv" "$p"; fi
    done
    results="$DATA/results_$n.tsv"
    : > "$results"
    for run in $(seq "$REPEAT"); do
        echo "$n rows: run $run/$REPEAT ..." >&2
        rm -rf "$OUT/limit_rs_$n"
        measure "$results" "limit_rs (Rust reference)" "$LIMIT" "$csv" "$OUT/limit_rs_$n"
        if [ "$PYTHON_BASELINE" = 1 ]; then
            rm -rf "$OUT/python_$n"
            measure "$results" "baseline_jinja.py (Python+Jinja2)" \
                python3 "$SHARED/baseline_jinja.py" "$csv" "$OUT/python_$n"
        fi
        for p in both aldeamo mayten; do
            rm -f "$OUT/waform_${p}_$n.ndjson"
            measure "$results" "waform plan --emit ($p)" \
                "$WAFORM" plan "$DATA/${p}_$n" --emit "$OUT/waform_${p}_$n.ndjson" -q
        done
        for p in both aldeamo mayten; do
            measure "$results" "waform validate ($p)" "$WAFORM" validate "$DATA/${p}_$n" -q
        done
    done
    {
        echo "$n recipients, $REPEAT run(s) (median), $(nproc) cores, waform $REV," \
            "$(rustc -V | cut -d' ' -f1-2)$([ "$PYTHON_BASELINE" = 1 ] && echo ", $(python3 -V), jinja2 $(python3 -c 'import jinja2; print(jinja2.__version__)')")"
        echo
        table "$results" "$n"
    } > "$DATA/results_$n.md"
    waform_lines=$(wc -l < "$OUT/waform_both_$n.ndjson")
    aldeamo_lines=$(wc -l < "$OUT/limit_rs_$n/aldeamo.ndjson")
    mayten_lines=$(wc -l < "$OUT/limit_rs_$n/mayten.ndjson")
    CHECKS+=("check $n: waform plan (both) emitted $waform_lines lines; limit_rs $((aldeamo_lines + mayten_lines)) (aldeamo.ndjson $aldeamo_lines + mayten.ndjson $mayten_lines)")
done

# --- tables ---------------------------------------------------------------
for n in $SIZES; do
    echo
    cat "$DATA/results_$n.md"
done
echo
printf '%s\n' "${CHECKS[@]}"
