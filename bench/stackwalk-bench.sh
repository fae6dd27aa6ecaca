#!/usr/bin/env bash
# stackwalk-bench.sh — how fast stackwalk answers a few frames out of a huge
# .sym, next to parsing that whole .sym into a model.
#
# usage: bench/stackwalk-bench.sh [BUILD_DIR] [BIG.sym]
#   BUILD_DIR  a configured build (default: build); its stackwalk and
#              libsymfile/libcommon are used
#   BIG.sym    a real big .sym (e.g. ceph-osd dumped with --inlines); without
#              one, a synthetic 250 MB .sym is generated once into bench/out/
# Prints wall time and peak RSS of both runs, of a batch of 20 processes
# (as many at a time as there are cores), and of 8 processes at once
# sharing one --symbols-cache filled from a loopback HTTP server, cold
# (empty cache: one download, the others wait on its lock) and warm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out="$here/out/stackwalk"
mkdir -p "$out"
ninja -C "$build" stackwalk/stackwalk symfile/libsymfile.a common/libcommon.a >/dev/null

sym="${2:-}"
if [ -z "$sym" ]; then
    sym="$out/big.sym"
    [ -s "$sym" ] || python3 "$here/stackwalk_bench.py" gen "$sym" 250
fi
python3 "$here/stackwalk_bench.py" dump "$sym" "$out/big.dmp" "$out/store"

# the comparison: every record of the file into a sym_module
cat > "$out/fullparse.c" <<'C'
#include "symfile.h"
#include <stdio.h>
int main(int argc, char **argv)
{
    (void)argc;
    sym_module m;
    sym_parse_stats st;
    sk_error err;
    sym_module_init(&m);
    if (sym_module_read(argv[1], &m, &st, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%zu FUNC, %zu STACK CFI INIT, %zu lines read\n", m.nfuncs, m.ncfi, st.lines);
    sym_module_free(&m);
    return 0;
}
C
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/common" -I"$root/symfile" -o "$out/fullparse" "$out/fullparse.c" \
    "$build/symfile/libsymfile.a" "$build/common/libcommon.a" -lpthread

size_mb=$(( $(stat -L -c %s "$sym") / 1000000 ))
echo "symbols: $sym ($size_mb MB)"
sync
measure() { # label command...
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >"$out/$label.out"
    read -r wall rss <"$out/time.txt"
    printf '%-28s wall %6.2f s   peak RSS %8.1f MB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
measure "stackwalk (8 frames)" "$build/stackwalk/stackwalk" --json "$out/big.dmp" --symbols-path "$out/store"
measure "stackwalk, file cached" "$build/stackwalk/stackwalk" --json "$out/big.dmp" --symbols-path "$out/store"
measure "full parse (sym_module_read)" "$out/fullparse"  "$sym"
python3 - "$out/stackwalk (8 frames).out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
fr = r["crashing_thread"]["frames"]
print("frames: %d, symbolized: %d, trust: %s" % (len(fr), sum(1 for f in fr if f["function"]),
      ",".join(sorted({f["trust"] for f in fr}))))
PY
cat "$out/full parse (sym_module_read).out"
python3 "$here/stackwalk_bench.py" batch "$build/stackwalk/stackwalk" "$out/big.dmp" "$out/store" 20 "$(nproc)"
python3 "$here/stackwalk_bench.py" cache "$build/stackwalk/stackwalk" "$out/big.dmp" "$out/store" 8 "$out"
