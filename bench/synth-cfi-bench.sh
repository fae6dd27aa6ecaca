#!/bin/sh
# synth-cfi-bench.sh — what synthesized STACK CFI (dumpsyms/cfi/synth.c)
# costs and gives: time and peak RSS of `dumpsyms --cfi-only` with and
# without it on musl's libc.so and on a whole-system packager run (/usr/bin
# and /usr/lib/x86_64-linux-gnu), then the coverage/agreement table against
# the compilers' CFI (libc, libstdc++, x86_64 and the aarch64 cross ones).
#
#   bench/synth-cfi-bench.sh [DUMPSYMS] [--quick]
#
# --quick leaves out the whole-system run.  A benchmark, never a test:
# nothing here asserts a time.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DUMPSYMS=""
QUICK=0
for a in "$@"; do
    case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) DUMPSYMS=$a ;;
    esac
done
if [ -z "$DUMPSYMS" ]; then
    for d in "$HERE"/../build/dumpsyms/dumpsyms "$HERE"/../build*/dumpsyms/dumpsyms; do
        [ -x "$d" ] && DUMPSYMS=$d && break
    done
fi
[ -x "$DUMPSYMS" ] || { echo "synth-cfi-bench: no dumpsyms binary (build first)" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

measure() { # label, then the command
    label=$1; shift
    /usr/bin/time -f "%e %U %M" -o "$OUT/t" "$@" >"$OUT/o" 2>"$OUT/e" || true
    # When the run exits non-zero, time writes "Command exited with
    # non-zero status N" before the figures: they are its last line.
    set -- $(tail -n 1 "$OUT/t")
    printf "%-44s wall %6ss  user %6ss  peak RSS %7s KB\n" "$label" "$1" "$2" "$3"
}

MUSL=/lib/x86_64-linux-musl/libc.so
if [ -f "$MUSL" ]; then
    echo "== musl libc.so ($MUSL), --cfi-only -j1"
    measure "without (--no-synth-cfi)" "$DUMPSYMS" --cfi-only -j1 --no-synth-cfi "$MUSL"
    n0=$(grep -c '^STACK CFI INIT' "$OUT/o" || true)
    measure "with synthesized CFI" "$DUMPSYMS" --cfi-only -j1 -v "$MUSL"
    n1=$(grep -c '^STACK CFI INIT' "$OUT/o" || true)
    echo "INIT records: $n0 without, $n1 with; $(grep -o 'synthesized for [0-9]* functions[^)]*)' "$OUT/e" || true)"
fi

if [ "$QUICK" = 0 ]; then
    echo "== whole system: --store --cfi-only of /usr/bin and /usr/lib/x86_64-linux-gnu"
    measure "without (--no-synth-cfi)" "$DUMPSYMS" --store "$OUT/s0" --cfi-only --no-synth-cfi /usr/bin /usr/lib/x86_64-linux-gnu
    tail -1 "$OUT/o"
    measure "with synthesized CFI" "$DUMPSYMS" --store "$OUT/s1" --cfi-only /usr/bin /usr/lib/x86_64-linux-gnu
    tail -1 "$OUT/o"
    echo "files with synthesized CFI: $(grep -c 'synthesized for' "$OUT/o" || true);" \
         "functions: $(grep -o 'synthesized for [0-9]*' "$OUT/o" | awk '{s += $3} END {print s + 0}')"
    rm -rf "$OUT/s0" "$OUT/s1"
fi

echo "== against the compilers' CFI (every function as if it had none)"
python3 - "$DUMPSYMS" <<'PY'
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath("bench")), "tests", "dumpsyms", "synth"))
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "dumpsyms", "synth"))
import compare
ds = sys.argv[1]
print("%-46s %9s %9s %7s %7s" % ("input", "insns", "covered", "wrong", "wrong%"))
for path in ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
             "/usr/aarch64-linux-gnu/lib/libc.so.6", "/usr/aarch64-linux-gnu/lib/libstdc++.so.6"]:
    if not os.path.exists(path):
        continue
    ref = subprocess.run([ds, "--cfi-only", "--no-synth-cfi", path], capture_output=True, text=True).stdout
    syn = subprocess.run([ds, "--cfi-only", "--synth-cfi-everywhere", path], capture_output=True, text=True).stdout
    ins = compare.instructions("llvm-objdump-14", path, compare.load_address(path))
    r = compare.compare(ref, syn, ins)
    print("%-46s %9d %8.1f%% %7d %6.3f%%" % (path, r["instructions"], 100.0 * r["given"] / max(1, r["instructions"]),
                                             r["wrong"], 100.0 * r["wrong"] / max(1, r["given"])))
PY
