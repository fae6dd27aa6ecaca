#!/usr/bin/env bash
# debuginfod-bench.sh — what a walk that needs libc's symbols from a
# debuginfod server costs: the first walk with a cold cache (download of
# libc's debug file and executable + in-process conversion), then the same
# walk with the .sym in the cache.  The server is Debian's debuginfod on
# 127.0.0.1, indexing libc.so.6 and its debug file from libc6-dbg, so the
# figures are the conversion plus a loopback transfer, not a real network.
#
# usage: bench/debuginfod-bench.sh [BUILD_DIR] [RUNS]
#   BUILD_DIR  a configured build (default: build)
#   RUNS       warm walks to average (default 5)
# Prints wall time and peak RSS of each step.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${2:-5}
out="$here/out/debuginfod"
rm -rf "$out"
mkdir -p "$out/server" "$out/tmp"
ninja -C "$build" stackwalk/stackwalk dumpsyms/dumpsyms verify/symverify >/dev/null

for pkg in libc6-dbg debuginfod; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        echo "installing $pkg (needs root)"
        apt-get install -y "$pkg" >/dev/null
    fi
done

libc=$(readlink -f "$(ldd /bin/true | awk '/libc.so.6/ {print $3}')")
bid=$(readelf -n "$libc" | awk '/Build ID/ {print $3}')
debug="/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug"
[ -f "$debug" ] || { echo "no debug file for $libc (build-id $bid) in libc6-dbg" >&2; exit 1; }
cp "$libc" "$out/server/libc.so.6"
cp "$debug" "$out/server/libc.so.6.debug"
echo "libc: $libc, build-id $bid"
echo "      $(stat -c %s "$libc") bytes; debug file $(stat -c %s "$debug") bytes"

# a program that dies in libc (abort -> raise), its own symbols in a store
cat >"$out/aborter.c" <<'C'
#include <stdlib.h>
__attribute__((noinline)) static void die(void) { abort(); }
int main(void) { die(); return 0; }
C
gcc -g -O1 "$out/aborter.c" -o "$out/aborter"
"$build/dumpsyms/dumpsyms" --store "$out/store" "$out/aborter" >/dev/null
(ulimit -c 0; "$build/verify/symverify" capture -q -o "$out/abort.dmp" -- "$out/aborter") || true
[ -s "$out/abort.dmp" ] || { echo "no dump captured" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
debuginfod -F -d "$out/db.sqlite" -p "$port" -t 0 -g 0 -c 1 --disable-source-scan "$out/server" \
    >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 300); do  # until the scan has indexed libc
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/buildid/$bid/executable" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
done
[ "$code" = 200 ] || { echo "debuginfod did not index libc; log: $out/server.log" >&2; exit 1; }

measure() { # label command...
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >"$out/walk.json" 2>"$out/walk.err"
    read -r wall rss <"$out/time.txt"
    printf '%-34s wall %6.2f s   peak RSS %7.1f MB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
walk=("$build/stackwalk/stackwalk" --json --verbose "$out/abort.dmp" --symbols-path "$out/store"
      --symbols-cache "$out/cache" --symbols-tmp "$out/tmp" --debuginfod "$url")
sync
measure "cold cache (fetch + convert)" "${walk[@]}"
grep "libc.so.6: debuginfod: fetched" "$out/walk.err" | sed 's/^/    /'
python3 - "$out/walk.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
libc = [f for f in r["crashing_thread"]["frames"] if f.get("module") == "libc.so.6"]
print("    libc frames: " + ", ".join("%s (%s)" % (f.get("function"), f["trust"]) for f in libc))
PY
sym=$(find "$out/cache/libc.so.6" -name '*.sym')
echo "    cached: $sym ($(stat -c %s "$sym") bytes)"
total=0
for i in $(seq "$runs"); do
    measure "warm cache, run $i" "${walk[@]}"
    total=$(echo "$total + $(cut -d' ' -f1 "$out/time.txt")" | bc -l)
done
printf '%-34s wall %6.2f s\n' "warm cache, mean of $runs" "$(echo "$total / $runs" | bc -l)"
measure "dumpsyms --inlines (same files)" "$build/dumpsyms/dumpsyms" --inlines -o "$out/libc.sym" \
    "$out/server/libc.so.6" "$out/server/libc.so.6.debug"
cmp -s "$out/libc.sym" "$sym" && echo "    in-process .sym == dumpsyms --inlines output" ||
    echo "    DIFFERENT from dumpsyms --inlines output"
# libdebuginfod's requests only (not the readiness probe above): the cold
# walk's, for libc and for ld.so (which the server does not have)
echo "stackwalk's requests to the server: $(grep 'UA:elfutils' "$out/server.log" | grep -c 'GET /buildid/')" \
    "(all from the cold walk: warm walks ask nothing)"
