#!/bin/sh
# compare-ref.sh — proves two dumpsyms builds write byte-identical output:
# every input below is dumped by both, and the .sym files (or whole stores)
# are compared.  Prints one line per input, "identical" or "differs" with
# the first differing line, and exits 1 when anything differs (2 on usage
# errors).  Inputs whose package is not installed are skipped with a note.
#
#   scripts/compare-ref.sh [--quick] [--no-fixtures] REF_DUMPSYMS NEW_DUMPSYMS
#
# --quick leaves out ceph-osd and the whole-system store.  Fixtures are
# built with fixtures/build_fixtures.py into $COMPARE_FIXTURES (default: a
# cache under ${TMPDIR:-/tmp}), reused across runs.  Extra flags for both
# builds may be given in $COMPARE_FLAGS (e.g. "-j1").
set -eu

# ---- inputs -------------------------------------------------------------
ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
# NAME|PACKAGE|FILE|FLAGS — one .sym each (FLAGS: "-" for none).
SINGLE_INPUTS="
ceph-osd|ceph-osd-dbg|/usr/bin/ceph-osd|-
ceph-osd--inlines|ceph-osd-dbg|/usr/bin/ceph-osd|--inlines
libc|libc6-dbg|/lib/$ARCH/libc.so.6|-
libc--inlines|libc6-dbg|/lib/$ARCH/libc.so.6|--inlines
libstdc++|libstdc++6-12-dbg|@LIBSTDCXX@|-
libstdc++--inlines|libstdc++6-12-dbg|@LIBSTDCXX@|--inlines
libstdc++-system|-|/usr/lib/$ARCH/libstdc++.so.6|--inlines
"
# NAME|PACKAGES|ARGS — one store each (--store DIR ARGS), compared with diff -r.
STORE_INPUTS="
system-store|-|/usr/bin /usr/lib/$ARCH
ceph-osd-debs-store|ceph-osd ceph-osd-dbg|@CEPH_DEBS@
"
# ---------------------------------------------------------------------------

QUICK=0
FIXTURES=1
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1; shift ;;
    --no-fixtures) FIXTURES=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || { echo "usage: compare-ref.sh [--quick] [--no-fixtures] REF_DUMPSYMS NEW_DUMPSYMS" >&2; exit 2; }
REF=$1
NEW=$2
for b in "$REF" "$NEW"; do
    [ -x "$b" ] || { echo "compare-ref: $b is not an executable" >&2; exit 2; }
done
HERE=$(cd "$(dirname "$0")/.." && pwd)
FLAGS=${COMPARE_FLAGS:-}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/compare-ref.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
FAILED=0

installed() { # PACKAGES ("-": none needed)
    for p in $1; do
        [ "$p" = - ] && continue
        dpkg -s "$p" >/dev/null 2>&1 || return 1
    done
    return 0
}

# first_diff A B: "line N: ref: ... | new: ..." for two files that differ.
first_diff() {
    n=$(cmp "$1" "$2" 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p')
    if [ -z "$n" ]; then # one is a prefix of the other
        echo "one output ends early: $(cmp "$1" "$2" 2>&1 | head -1)"
        return
    fi
    a=$(sed -n "${n}p" "$1" | cut -c1-160)
    b=$(sed -n "${n}p" "$2" | cut -c1-160)
    echo "line $n: ref: $a | new: $b"
}

report() { # NAME STATUS [DETAIL]
    if [ "$2" = identical ]; then
        printf '%-40s identical\n' "$1"
    else
        printf '%-40s differs: %s\n' "$1" "$3"
        FAILED=1
    fi
}

# compare_one NAME FILE FLAGS...
compare_one() {
    name=$1 file=$2
    shift 2
    # shellcheck disable=SC2086
    "$REF" $FLAGS "$@" "$file" >"$OUT/ref.sym" 2>"$OUT/ref.err" && rr=0 || rr=$?
    # shellcheck disable=SC2086
    "$NEW" $FLAGS "$@" "$file" >"$OUT/new.sym" 2>"$OUT/new.err" && nr=0 || nr=$?
    if [ "$rr" != "$nr" ]; then
        report "$name" differs "exit status $rr (ref) vs $nr (new): $(tail -1 "$OUT/new.err")"
    elif cmp -s "$OUT/ref.sym" "$OUT/new.sym"; then
        report "$name" identical
    else
        report "$name" differs "$(first_diff "$OUT/ref.sym" "$OUT/new.sym")"
    fi
}

# compare_store NAME ARGS...
compare_store() {
    name=$1
    shift
    rm -rf "$OUT/ref.store" "$OUT/new.store"
    # shellcheck disable=SC2086
    "$REF" $FLAGS --store "$OUT/ref.store" "$@" >"$OUT/ref.out" 2>"$OUT/ref.err" && rr=0 || rr=$?
    # shellcheck disable=SC2086
    "$NEW" $FLAGS --store "$OUT/new.store" "$@" >"$OUT/new.out" 2>"$OUT/new.err" && nr=0 || nr=$?
    # Packager summaries are per-file lines in completion order: compare
    # sorted, with each run's own store directory taken out of the paths.
    sed "s|$OUT/ref.store|STORE|g" "$OUT/ref.out" | sort >"$OUT/ref.sorted"
    sed "s|$OUT/new.store|STORE|g" "$OUT/new.out" | sort >"$OUT/new.sorted"
    if [ "$rr" != "$nr" ]; then
        report "$name" differs "exit status $rr (ref) vs $nr (new)"
        return
    fi
    d=$(diff -rq "$OUT/ref.store" "$OUT/new.store" 2>&1 | head -1 || true)
    if [ -n "$d" ]; then
        f=$(echo "$d" | sed -n 's/^Files \(.*\) and \(.*\) differ$/\1/p')
        if [ -n "$f" ]; then
            g=$OUT/new.store${f#"$OUT/ref.store"}
            report "$name" differs "${f#"$OUT/ref.store/"}: $(first_diff "$f" "$g")"
        else
            report "$name" differs "$d"
        fi
    elif ! cmp -s "$OUT/ref.sorted" "$OUT/new.sorted"; then
        report "$name" differs "summary lines: $(diff "$OUT/ref.sorted" "$OUT/new.sorted" | sed -n 2p | cut -c1-160)"
    else
        report "$name" identical "$(find "$OUT/new.store" -name '*.sym' | wc -l) files"
    fi
}

LIBSTDCXX=$(readlink -f "/usr/lib/$ARCH/debug/libstdc++.so.6" 2>/dev/null || true)
echo "ref: $REF ($("$REF" --version 2>/dev/null | head -1))"
echo "new: $NEW ($("$NEW" --version 2>/dev/null | head -1))"

echo "$SINGLE_INPUTS" | while IFS='|' read -r name pkg file flags; do
    [ -n "$name" ] || continue
    case "$name" in ceph-osd*) [ "$QUICK" = 1 ] && { printf '%-40s skipped (--quick)\n' "$name"; continue; } ;; esac
    if ! installed "$pkg"; then
        printf '%-40s skipped (%s is not installed)\n' "$name" "$pkg"
        continue
    fi
    [ "$file" = @LIBSTDCXX@ ] && file=$LIBSTDCXX
    if [ -z "$file" ] || [ ! -e "$file" ]; then
        printf '%-40s skipped (%s is missing)\n' "$name" "$file"
        continue
    fi
    [ "$flags" = - ] && flags=""
    # shellcheck disable=SC2086
    compare_one "$name" "$file" $flags
    [ "$FAILED" = 0 ] || echo 1 >"$OUT/failed"
done

ceph_debs() {
    ver=$(dpkg-query -W -f '${Version}' ceph-osd 2>/dev/null) || return 1
    fver=$(echo "$ver" | sed 's/:/%3a/')
    for p in ceph-osd ceph-osd-dbg; do
        f=/var/cache/apt/archives/${p}_${fver}_amd64.deb
        [ -f "$f" ] || return 1
        printf '%s ' "$f"
    done
}

echo "$STORE_INPUTS" | while IFS='|' read -r name pkg args; do
    [ -n "$name" ] || continue
    if [ "$QUICK" = 1 ]; then
        printf '%-40s skipped (--quick)\n' "$name"
        continue
    fi
    if ! installed "$pkg"; then
        printf '%-40s skipped (%s is not installed)\n' "$name" "$pkg"
        continue
    fi
    if [ "$args" = @CEPH_DEBS@ ]; then
        args=$(ceph_debs) || { printf '%-40s skipped (the ceph .deb files are not in the apt cache)\n' "$name"; continue; }
    fi
    # shellcheck disable=SC2086
    compare_store "$name" $args
    [ "$FAILED" = 0 ] || echo 1 >"$OUT/failed"
done

if [ "$FIXTURES" = 1 ]; then
    FIX=${COMPARE_FIXTURES:-${TMPDIR:-/tmp}/compare-ref-fixtures}
    mkdir -p "$FIX"
    if ! python3 "$HERE/fixtures/build_fixtures.py" "$FIX" >"$OUT/fix.log" 2>&1; then
        printf '%-40s differs: cannot build the fixtures (%s)\n' fixtures "$(tail -1 "$OUT/fix.log")"
        echo 1 >"$OUT/failed"
    else
        n=0
        for f in "$FIX"/*; do
            [ -f "$f" ] && head -c4 "$f" | grep -q ELF || continue
            for flags in "" --inlines; do
                compare_one "fixture $(basename "$f")${flags:+ $flags}" "$f" $flags
                n=$((n + 1))
            done
            [ "$FAILED" = 0 ] || echo 1 >"$OUT/failed"
        done
        echo "($n fixture dumps compared)"
    fi
fi

if [ -f "$OUT/failed" ]; then
    echo "compare-ref: outputs differ"
    exit 1
fi
echo "compare-ref: every output is byte-identical"
