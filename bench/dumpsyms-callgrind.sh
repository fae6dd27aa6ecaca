#!/bin/sh
# dumpsyms-callgrind.sh — instruction counts of one dump under callgrind,
# for before/after comparisons of two dumpsyms builds.  Instruction counts,
# unlike wall time, do not move with the load of a shared machine, so two
# builds can be compared on a busy CI box.
#
#   bench/dumpsyms-callgrind.sh [--top N] [--args "DUMPSYMS ARGS"] DUMPSYMS [DUMPSYMS...]
#
# Default args: --inlines /usr/bin/ceph-osd (needs ceph-osd and ceph-osd-dbg;
# about 32G instructions, 5 minutes per build under valgrind).  Prints, per
# build, the total and the N (default 12) functions with the most
# instructions of their own; the last line compares the totals with the
# first build's.  The .sym outputs are compared too: a speed-up that
# changes the output is not one.  Profiles stay in $CALLGRIND_OUT (default:
# a temporary folder, removed) for callgrind_annotate.  A benchmark, never
# a test: nothing here asserts a count.
set -eu

TOP=12
ARGS="--inlines /usr/bin/ceph-osd"
BUILDS=""
while [ $# -gt 0 ]; do
    case "$1" in
    --top) TOP=$2; shift 2 ;;
    --args) ARGS=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) BUILDS="$BUILDS $1"; shift ;;
    esac
done
[ -n "$BUILDS" ] || { echo "dumpsyms-callgrind: name at least one dumpsyms binary" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "dumpsyms-callgrind: needs valgrind (apt-get install valgrind)" >&2; exit 2; }

if [ -n "${CALLGRIND_OUT:-}" ]; then
    OUT=$CALLGRIND_OUT
    mkdir -p "$OUT"
else
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/dumpsyms-callgrind.XXXXXX")
    trap 'rm -rf "$OUT"' EXIT
fi

echo "dumpsyms $ARGS under callgrind"
first_total=""
first_sym=""
i=0
for b in $BUILDS; do
    i=$((i + 1))
    [ -x "$b" ] || { echo "dumpsyms-callgrind: $b is not executable" >&2; exit 2; }
    # shellcheck disable=SC2086  # ARGS is a word list on purpose
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$i" "$b" $ARGS >"$OUT/out.$i.sym" 2>"$OUT/err.$i" ||
        { echo "$b: dumpsyms failed under valgrind:" >&2; tail -3 "$OUT/err.$i" >&2; exit 1; }
    total=$(callgrind_annotate "$OUT/cg.$i" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    echo
    echo "== $b: $total instructions"
    callgrind_annotate "$OUT/cg.$i" 2>/dev/null |
        awk -v top="$TOP" 'started && NF >= 3 && n < top {print "   " $0; n++} /file:function/ {getline; started = 1}' |
        cut -c1-120
    if [ -z "$first_total" ]; then
        first_total=$total
        first_sym=$OUT/out.$i.sym
    else
        awk -v a="$first_total" -v b="$total" 'BEGIN {printf "   %.1f%% of the first build'"'"'s instructions\n", 100 * b / a}'
        if cmp -s "$first_sym" "$OUT/out.$i.sym"; then
            echo "   output identical to the first build's"
        else
            echo "   OUTPUT DIFFERS from the first build's"
        fi
    fi
done
