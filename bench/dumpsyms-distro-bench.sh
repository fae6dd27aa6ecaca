#!/bin/sh
# dumpsyms-distro-bench.sh — the packager's jobs, timed: every ELF file of
# this system into one store, ceph-osd straight from its two .deb files
# versus the same files installed, and many packages read straight from
# the apt cache with -j1 and -j2.  Prints files (results: files or package
# members), files/s, wall, user and system time, peak RSS, minor page faults
# and what was written, for a person to compare across commits (or with
# Breakpad's dump_syms).
#
#   bench/dumpsyms-distro-bench.sh [DUMPSYMS] [--no-install] [--no-system] [--no-ceph] [--no-many]
#
# The many-packages run takes the first $DUMPSYMS_BENCH_PACKAGES (default
# 200) *_amd64.deb files under 2 MB in /var/cache/apt/archives, by name.
#
# ceph-osd and ceph-osd-dbg are installed (and their .deb files fetched
# into the apt cache) unless --no-install is given.  This is a benchmark,
# never a test: nothing here asserts a time.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DUMPSYMS=""
INSTALL=1
SYSTEM=1
CEPH=1
MANY=1
NPKGS=${DUMPSYMS_BENCH_PACKAGES:-200}
for a in "$@"; do
    case "$a" in
    --no-install) INSTALL=0 ;;
    --no-system) SYSTEM=0 ;;
    --no-ceph) CEPH=0 ;;
    --no-many) MANY=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) DUMPSYMS=$a ;;
    esac
done
if [ -z "$DUMPSYMS" ]; then
    for d in "$HERE"/../build*/dumpsyms/dumpsyms; do
        [ -x "$d" ] && DUMPSYMS=$d && break
    done
fi
[ -n "$DUMPSYMS" ] && [ -x "$DUMPSYMS" ] || { echo "dumpsyms-distro-bench: no dumpsyms binary (pass its path)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "dumpsyms-distro-bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

OUT=$(mktemp -d "${TMPDIR:-/tmp}/dumpsyms-distro-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
ARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

# run LABEL ARGS...: one packager run into a fresh store, one result line.
run() {
    label=$1
    shift
    rm -rf "$OUT/store"
    if ! /usr/bin/time -v -o "$OUT/time" "$DUMPSYMS" --store "$OUT/store" "$@" >"$OUT/out" 2>"$OUT/err"; then
        echo "$label: dumpsyms reported failures:" >&2
        grep -E '^FAILED' "$OUT/out" | head -5 >&2 || true
    fi
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$OUT/time")
    user=$(awk -F': ' '/User time/ {print $2}' "$OUT/time")
    sys=$(awk -F': ' '/System time/ {print $2}' "$OUT/time")
    minflt=$(awk -F': ' '/Minor \(reclaiming a frame\) page faults/ {print $2}' "$OUT/time")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$OUT/time")
    files=$(grep -cE '^(ok|empty|FAILED) ' "$OUT/out" || true)
    rate=$(awk -v f="$files" -v w="$wall" 'BEGIN {printf "%.0f", (w > 0 ? f / w : 0)}')
    syms=$(find "$OUT/store" -name '*.sym' | wc -l)
    mb=$(du -sm "$OUT/store" | cut -f1)
    printf '%-28s %6s %7s %8s %8s %7s %8s %8s %6s %7s  %s\n' "$label" "$files" "$rate" "$wall" "$user" "$sys" "$rss" \
        "$minflt" "$syms" "$mb" "$(tail -1 "$OUT/out")"
}

echo "dumpsyms: $DUMPSYMS ($("$DUMPSYMS" --version)), $(nproc) cores"
printf '%-28s %6s %7s %8s %8s %7s %8s %8s %6s %7s  %s\n' run files files/s wall_s user_s sys_s peak_MB minflt syms \
    store_MB summary

if [ "$SYSTEM" = 1 ]; then
    run "system (/usr/bin, /usr/lib/$ARCH)" /usr/bin "/usr/lib/$ARCH"
    run "system -j1" -j1 /usr/bin "/usr/lib/$ARCH"
fi

if [ "$CEPH" = 1 ]; then
    for p in ceph-osd ceph-osd-dbg; do
        if ! dpkg -s "$p" >/dev/null 2>&1; then
            [ "$INSTALL" = 1 ] || { echo "dumpsyms-distro-bench: $p is not installed" >&2; exit 2; }
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$p" >&2
        fi
    done
    ver=$(dpkg-query -W -f '${Version}' ceph-osd)
    fver=$(echo "$ver" | sed 's/:/%3a/')
    debs=""
    for p in ceph-osd ceph-osd-dbg; do
        f=/var/cache/apt/archives/${p}_${fver}_amd64.deb
        if [ ! -f "$f" ]; then
            (cd "$OUT" && apt-get download "$p=$ver" >&2)
            f=$OUT/${p}_${fver}_amd64.deb
        fi
        debs="$debs $f"
    done
    # The same binaries, installed: what the .deb holds.
    bins=$(dpkg -L ceph-osd | while read -r f; do
        if [ -f "$f" ] && [ ! -L "$f" ] && head -c4 "$f" | grep -q 'ELF'; then echo "$f"; fi; done)
    # shellcheck disable=SC2086
    run "ceph-osd installed" $bins
    # shellcheck disable=SC2086
    run "ceph-osd from .deb" $debs
    # shellcheck disable=SC2086
    [ "${NO_INLINES:-0}" = 1 ] || run "ceph-osd installed --inlines" --inlines $bins
    # shellcheck disable=SC2086
    [ "${NO_INLINES:-0}" = 1 ] || run "ceph-osd from .deb --inlines" --inlines $debs
fi

if [ "$MANY" = 1 ]; then
    many=$(find /var/cache/apt/archives -maxdepth 1 -name '*_amd64.deb' -size -2M | LC_ALL=C sort | head -n "$NPKGS")
    n=$(echo "$many" | grep -c . || true)
    if [ "$n" -gt 0 ]; then
        # shellcheck disable=SC2086
        run "$n packages -j1" -j1 $many
        # shellcheck disable=SC2086
        run "$n packages -j2" -j2 $many
    else
        echo "dumpsyms-distro-bench: no .deb files in /var/cache/apt/archives: many-packages run left out" >&2
    fi
fi
