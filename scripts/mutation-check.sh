#!/usr/bin/env bash
# Mutation check of the oracle tests: applies small deliberate bugs, one at
# a time, to a scratch copy of the tree, builds it, runs the tests and
# prints which tests caught each bug.  Every bug must be caught by at least
# one oracle test (a test that holds our output against an independent
# tool or a known answer), not only by an end-to-end test.  Slow (one
# incremental build and test run per bug), so not part of .ci/run.
#
# usage: scripts/mutation-check.sh [--full] [--keep] [MUTATION...]
#   --full   run the whole suite for every bug (default: the dumpsyms,
#            stackwalk, verify and symfile suites)
#   --keep   keep the scratch directory (its path is printed)
#   MUTATION only these (names as in the table; default: all)
#
# Each bug finds its code by content (grep for a distinctive line, then an
# exact replacement that must match exactly once), never by a file path,
# so the list survives files moving between folders.  A replacement that
# matches nothing is an error of this script, reported as such: update the
# pattern, never drop the bug.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
full=0 keep=0
only=()
for a in "$@"; do
    case $a in
        --full) full=1 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "mutation-check: unknown option $a" >&2; exit 2 ;;
        *) only+=("$a") ;;
    esac
done

# Oracle tests: independent tools (llvm-symbolizer, llvm-dwarfdump, readelf,
# lldb) or a fixture's known answer.
ORACLES="dumpsyms-dwarf-lines dumpsyms-dwarf-funcset dumpsyms-dwarf-inlines dumpsyms-dwarf-splitdwarf
dumpsyms-cfi-oracle dumpsyms-cfi-special dumpsyms-dwp-index stackwalk-real-dumps verify-check
verify-capture-lldb"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/symkit-mutation.XXXXXX")
cleanup() {
    if [ "$keep" = 1 ]; then echo "scratch kept: $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT
src=$scratch/src
mkdir -p "$src"
# Tracked and new (not ignored) files, as they are in the working tree now.
(cd "$root" && git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null) || {
    echo "mutation-check: cannot copy the tree" >&2; exit 1; }

# ---- the bugs ------------------------------------------------------------
# mutate NAME: applies bug NAME to $src; exit status 3 if a pattern failed.
mutate() {
    python3 - "$src" "$1" <<'PY'
import os, re, subprocess, sys
src, name = sys.argv[1], sys.argv[2]

def find(needle, under):
    """The one C file under src/under holding needle."""
    p = subprocess.run(["grep", "-rlF", "--include=*.c", needle, os.path.join(src, under)],
                       stdout=subprocess.PIPE, text=True)
    files = p.stdout.split()
    if len(files) != 1:
        print("mutation %s: %r found in %d files under %s: %s" % (name, needle, len(files), under, files))
        sys.exit(3)
    return files[0]

def sub(needle, under, pattern, repl, regex=False):
    path = find(needle, under)
    text = open(path).read()
    if regex:
        new, n = re.subn(pattern, repl, text, flags=re.S)
    else:
        n = text.count(pattern)
        new = text.replace(pattern, repl)
    if n != 1:
        print("mutation %s: pattern matched %d times in %s (want 1):\n%s" % (name, n, path, pattern))
        sys.exit(3)
    open(path, "w").write(new)
    print("mutation %s: %s" % (name, os.path.relpath(path, src)))

M = {}
def bug(f):
    M[f.__name__.replace("_", "-")] = f
    return f

@bug
def func_short():
    """every FUNC one byte short"""
    sub('PUT(b, "FUNC ");', "symfile", "sk_buf_hex(b, f->size);", "sk_buf_hex(b, f->size - 1);")

@bug
def offset_extended_sf_ignored():
    """DW_CFA_offset_extended_sf read but ignored"""
    sub("case CFA_offset_extended_sf:", "dumpsyms",
        r"(case CFA_offset_extended_sf:\s*\n\s*if \(!ds_bytes_uleb\(&r, &reg\) \|\| !ds_bytes_sleb\(&r, &s\)\)\s*\n"
        r"\s*goto truncated;\s*\n)(\s*)set_rule\([^;]*;", r"\1\2(void)reg;", regex=True)

@bug
def init_short():
    """every STACK CFI INIT one byte short"""
    sub('PUT(b, "STACK CFI INIT ");', "symfile", "sk_buf_hex(b, c->size);", "sk_buf_hex(b, c->size - 1);")

@bug
def line_gap():
    """a one-byte gap at the end of every line record"""
    sub("p = sk_fmt_hex(p, l->size);", "symfile", "p = sk_fmt_hex(p, l->size);",
        "p = sk_fmt_hex(p, l->size > 1 ? l->size - 1 : l->size);")

@bug
def lookup_at_return_address():
    """caller frames looked up at the return address instead of the call"""
    sub("f->instruction - cpu->lookup_adjust", "stackwalk",
        "first ? f->instruction : f->instruction - cpu->lookup_adjust", "((void)cpu, (void)first, f->instruction)")
    sub("return first ? pc : pc - w->cpu->lookup_adjust;", "stackwalk",
        "return first ? pc : pc - w->cpu->lookup_adjust;", "(void)first;\n    return pc;")

@bug
def frames_2_3_swapped():
    """frames 2 and 3 swapped"""
    sub("symbolize(p, cpu, f, i == 0);", "stackwalk",
        "        symbolize(p, cpu, f, i == 0);\n    }\n",
        "        symbolize(p, cpu, f, i == 0);\n    }\n    if (n > 3) {\n        sw_frame tmp = out->frames[2];\n"
        "        out->frames[2] = out->frames[3];\n        out->frames[3] = tmp;\n    }\n")

@bug
def caller_line_off_by_one():
    """the line of every caller frame off by one"""
    sub("f->line = l.inlines[0].call_line;", "stackwalk",
        "        f->line = l.inlines[0].call_line;\n    }\n",
        "        f->line = l.inlines[0].call_line;\n    }\n    if (!first && f->line)\n        f->line++;\n")

@bug
def cfi_restore_ignored():
    """DW_CFA_restore ignored"""
    sub("restore_col(x, op & 0x3f);", "dumpsyms", "restore_col(x, op & 0x3f);", "(void)0;")

if name == "--list":
    for k, f in M.items():
        print("%s\t%s" % (k, f.__doc__))
    sys.exit(0)
if name not in M:
    print("mutation-check: no mutation %r" % name)
    sys.exit(2)
M[name]()
PY
}

mapfile -t all < <(mutate --list | cut -f1)
[ ${#only[@]} -gt 0 ] || only=("${all[@]}")

build=$scratch/build
echo "== scratch tree $src; building"
(cd "$src" && meson setup "$build" -Dwerror=true >"$scratch/setup.log" 2>&1) || {
    cat "$scratch/setup.log"; exit 1; }
nice ninja -C "$build" >"$scratch/build.log" 2>&1 || { tail -30 "$scratch/build.log"; exit 1; }

if [ "$full" = 1 ]; then
    tests=()
else
    tests=(--suite dumpsyms --suite stackwalk --suite verify --suite symfile)
fi

# run_tests LABEL: runs the tests, prints the names of those that failed.
run_tests() {
    rm -f "$build/meson-logs/testlog.json"
    meson test -C "$build" --no-rebuild --num-processes 2 "${tests[@]}" >"$scratch/test-$1.log" 2>&1 || true
    python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
bad = []
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL"):
        bad.append(t["name"].split(" / ")[-1])
print(" ".join(sorted(bad)))
PY
}

echo "== baseline (no bug)"
start=$(date +%s)
base_fail=$(run_tests baseline)
echo "baseline: $(( $(date +%s) - start ))s; failing without any bug: ${base_fail:-none}"

declare -A caught
status=0
pristine=$scratch/pristine
cp -a "$src" "$pristine"
# restore: every file a bug changed gets its pristine text back, with a new
# time stamp so that ninja rebuilds it.
restore() {
    { diff -rq "$pristine" "$src" || true; } | sed -n 's/^Files .* and \(.*\) differ$/\1/p' | while read -r f; do
        cp "$pristine/${f#"$src"/}" "$f"
    done
}
for m in "${only[@]}"; do
    if ! mutate "$m"; then
        caught[$m]="(pattern did not match: fix this script)"
        status=1
        restore
        continue
    fi
    if ! nice ninja -C "$build" >"$scratch/build-$m.log" 2>&1; then
        caught[$m]="(does not build: $(grep -m1 error: "$scratch/build-$m.log"))"
        status=1
    else
        fails=$(run_tests "$m")
        # only tests that pass without the bug count
        got=""
        for t in $fails; do
            case " $base_fail " in *" $t "*) ;; *) got="$got $t" ;; esac
        done
        caught[$m]=${got# }
    fi
    restore
    echo "$m: ${caught[$m]:-NOT CAUGHT}"
done
nice ninja -C "$build" >/dev/null 2>&1 || true

echo
echo "| mutation | tests that caught it (oracle tests in bold) |"
echo "|---|---|"
for m in "${only[@]}"; do
    row="" oracle=0
    for t in ${caught[$m]}; do
        case " $(echo $ORACLES) " in
            *" $t "*) row="$row **$t**"; oracle=1 ;;
            *) row="$row $t" ;;
        esac
    done
    case ${caught[$m]} in "("*) row=" ${caught[$m]}" ;; esac
    [ "$oracle" = 1 ] || { row="$row  <- NOT CAUGHT BY AN ORACLE TEST"; status=1; }
    echo "| $m | ${row# } |"
done
exit $status
