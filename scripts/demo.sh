#!/usr/bin/env bash
# demo.sh BUILD_DIR — the symkit pipeline on a bundled program:
#   build fixtures/demo/crasher.c with -g, make its .sym (dumpsyms), then,
#   when those tools are built, crash it under symverify capture, walk the
#   minidump with stackwalk and check symbol quality with symverify.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
out="$build/demo"
rm -rf "$out"
mkdir -p "$out/symbols"

echo "== compiling fixtures/demo/crasher.c with gcc -g -O1"
gcc -g -O1 -fno-omit-frame-pointer -o "$out/crasher" "$root/fixtures/demo/crasher.c"

echo "== dumpsyms $out/crasher"
"$build/dumpsyms/dumpsyms" "$out/crasher" > "$out/crasher.sym"
grep -v '^STACK' "$out/crasher.sym"
echo "... plus $(grep -c '^STACK CFI' "$out/crasher.sym") STACK CFI records"
"$build/dumpsyms/dumpsyms" --store "$out/symbols" "$out/crasher"
echo "== symbol store:"
(cd "$out/symbols" && find . -type f | sort)

if [ -x "$build/verify/symverify" ] && [ -x "$build/stackwalk/stackwalk" ]; then
    echo "== symverify capture -- crasher crash"
    set +e
    "$build/verify/symverify" capture -o "$out/crash.dmp" -- "$out/crasher" crash
    echo "(the program exited with status $?, as it would without symverify)"
    set -e
    echo "== stackwalk crash.dmp symbols/"
    "$build/stackwalk/stackwalk" "$out/crash.dmp" "$out/symbols"
    echo "== symverify check"
    "$build/verify/symverify" check --symbols "$out/symbols" "$out/crash.dmp"
fi
echo "== demo done; outputs in $out"
