#!/bin/sh
# dumpsyms-bench.sh — times dumpsyms on real distribution inputs and prints
# wall time, user time, peak RSS and record counts, so runs on different
# commits (or against Breakpad's dump_syms) can be compared by a person.
#
#   bench/dumpsyms-bench.sh [DUMPSYMS] [--no-install] [--quick]
#
# Inputs (Debian 12): libc.so.6 with libc6-dbg, libstdc++.so.6 with
# libstdc++6-12-dbg, and ceph-osd with ceph-osd-dbg (a 230 MB debug file of
# zlib-compressed DWARF 5).  Missing packages are installed with apt-get
# unless --no-install is given; --quick leaves ceph-osd out.  This is a
# benchmark, never a test: nothing here asserts a time.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DUMPSYMS=""
INSTALL=1
QUICK=0
for a in "$@"; do
    case "$a" in
    --no-install) INSTALL=0 ;;
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) DUMPSYMS=$a ;;
    esac
done
if [ -z "$DUMPSYMS" ]; then
    for d in "$HERE"/../build*/dumpsyms/dumpsyms; do
        [ -x "$d" ] && DUMPSYMS=$d && break
    done
fi
[ -n "$DUMPSYMS" ] && [ -x "$DUMPSYMS" ] || { echo "dumpsyms-bench: no dumpsyms binary (pass its path)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "dumpsyms-bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

PKGS="libc6-dbg libstdc++6-12-dbg"
[ "$QUICK" = 1 ] || PKGS="$PKGS ceph-osd ceph-osd-dbg"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$INSTALL" = 1 ]; then
        echo "installing:$missing" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2
    else
        echo "dumpsyms-bench: missing packages:$missing" >&2
        exit 2
    fi
fi

ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
# libstdc++6-12-dbg ships an unstripped debug build of the library, not a
# separate debug file for the system one.
LIBSTDCXX=$(readlink -f /usr/lib/$ARCH/debug/libstdc++.so.6)
INPUTS="libc:/lib/$ARCH/libc.so.6 libstdc++:$LIBSTDCXX"
[ "$QUICK" = 1 ] || INPUTS="$INPUTS ceph-osd:/usr/bin/ceph-osd"

OUT=$(mktemp -d "${TMPDIR:-/tmp}/dumpsyms-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

echo "dumpsyms: $DUMPSYMS ($("$DUMPSYMS" --version)), $(nproc) cores"
printf '%-10s %-9s %8s %8s %9s %8s %9s %8s %8s %9s %s\n' input mode wall_s user_s peak_MB FUNC line INLINE PUBLIC STACK debug_file
for spec in $INPUTS; do
    name=${spec%%:*}
    bin=${spec#*:}
    for mode in plain inlines; do
        flags="-v"
        [ "$mode" = inlines ] && flags="-v --inlines"
        # shellcheck disable=SC2086
        if ! /usr/bin/time -v -o "$OUT/time" "$DUMPSYMS" $flags "$bin" >"$OUT/sym" 2>"$OUT/err"; then
            echo "$name $mode: dumpsyms failed:" >&2
            tail -5 "$OUT/err" >&2
            continue
        fi
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$OUT/time")
        user=$(awk -F': ' '/User time/ {print $2}' "$OUT/time")
        rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$OUT/time")
        counts=$(awk '
            /^FUNC /   {f++; next}
            /^INLINE / {i++; next}
            /^PUBLIC / {p++; next}
            /^STACK /  {s++; next}
            /^[0-9a-f]+ [0-9a-f]+ [0-9]+ [0-9]+$/ {l++}
            END {printf "%d %d %d %d %d", f, l, i, p, s}' "$OUT/sym")
        dbg=$(sed -n 's/.*debug information from //p' "$OUT/err" | head -1)
        # shellcheck disable=SC2086
        set -- $counts
        printf '%-10s %-9s %8s %8s %9s %8s %9s %8s %8s %9s %s\n' "$name" "$mode" "$wall" "$user" "$rss" "$1" "$2" "$3" "$4" "$5" "${dbg:-(in binary)}"
    done
done
