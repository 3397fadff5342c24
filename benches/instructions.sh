#!/usr/bin/env bash
# Instructions per recipient, counted by valgrind (callgrind): a figure that does not move with
# the machine's load, unlike wall time on a shared VM, so two commits can be compared exactly.
#
# Usage: benches/instructions.sh
#   SMALL=5000 LARGE=10000   the two CSV sizes; a per-row figure is the difference of the two
#                            counts over LARGE - SMALL, so start-up (the phone metadata) cancels
#   DATA, SHARED             as for benches/plan.sh (CSVs and projects are shared with it)
#   TOP=25                   how many functions to list, by instructions per row
#
# It counts `waform plan --emit FILE -j 1` and `waform validate -j 1` on the both-providers
# project, and limit_rs, and prints instructions per row for each, then the functions of
# `plan --emit` that execute the most instructions per row.
set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=benches/lib.sh
source "$PROJECT/benches/lib.sh"
SMALL=${SMALL:-5000}
LARGE=${LARGE:-10000}
TOP=${TOP:-25}
for n in "$SMALL" "$LARGE" "$TOP"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "SMALL, LARGE and TOP must be positive integers, got '$n'"
done
[ "$LARGE" -gt "$SMALL" ] || die "LARGE ($LARGE) must be larger than SMALL ($SMALL)"
command -v valgrind > /dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
build_all

count() {  # count OUT CMD...: callgrind's instruction total of CMD, its profile in OUT
    valgrind --tool=callgrind --callgrind-out-file="$1" "${@:2}" > /dev/null 2> "$DATA/stderr.txt" \
        || { tail -n 20 "$DATA/stderr.txt" >&2; die "'${*:2}' failed under valgrind"; }
    awk '/^summary:/ { print $2 }' "$1"
}

declare -A IR
for n in "$SMALL" "$LARGE"; do
    csv=$(gen "$n")
    project "$DATA/both_$n" "$csv"
    echo "counting $n rows ..." >&2
    IR[limit,$n]=$(count "$DATA/limit_$n.callgrind" "$LIMIT" "$csv" "$DATA/limit_rs_ir_$n")
    IR[plan,$n]=$(count "$DATA/plan_$n.callgrind" "$WAFORM" plan "$DATA/both_$n" -j 1 \
        --emit "$DATA/waform_ir_$n.ndjson" -q)
    IR[validate,$n]=$(count "$DATA/validate_$n.callgrind" "$WAFORM" validate "$DATA/both_$n" -j 1 -q)
done
rows=$((LARGE - SMALL))
export LC_ALL=C  # one collation for sort and join
echo
echo "instructions per recipient, both providers (counts at $LARGE and $SMALL rows: difference / $rows), waform $REV"
echo
echo "| program | instructions / row | / limit_rs |"
echo "| --- | ---: | ---: |"
ref=$(( (IR[limit,$LARGE] - IR[limit,$SMALL]) / rows ))
for p in limit plan validate; do
    per=$(( (IR[$p,$LARGE] - IR[$p,$SMALL]) / rows ))
    name=$p; [ "$p" = limit ] && name="limit_rs"; [ "$p" = plan ] && name="waform plan --emit"
    [ "$p" = validate ] && name="waform validate"
    awk -v n="$name" -v per="$per" -v ref="$ref" 'BEGIN { printf "| %s | %d | %.2f |\n", n, per, per / ref }'
done
echo
echo "functions of waform plan --emit by instructions per row (self):"
profile() {  # profile FILE: "instructions<TAB>function" per function, from callgrind's file
    callgrind_annotate --threshold=100 "$1" 2>/dev/null \
        | sed -nE 's/ \[[^] ]*\]$//; s/^ *([0-9,]+) \( *[0-9.]+%\) +(.*)$/\1\t\2/p' \
        | awk -F'\t' '$2 ~ /:/ && $2 !~ /PROGRAM TOTALS/ { gsub(",", "", $1); print $1 "\t" $2 }'
}
join -t $'\t' -1 2 -2 2 -a 2 -e 0 -o '0,1.1,2.1' \
    <(profile "$DATA/plan_$SMALL.callgrind" | sort -t $'\t' -k2,2) \
    <(profile "$DATA/plan_$LARGE.callgrind" | sort -t $'\t' -k2,2) \
    | awk -F'\t' -v rows="$rows" '{ sub(/^[?]+:/, "", $1); printf "%8.0f  %s\n", ($3 - $2) / rows, $1 }' \
    | sort -rn | head -n "$TOP"
rm -rf "$DATA"/limit_rs_ir_* "$DATA"/waform_ir_*.ndjson
