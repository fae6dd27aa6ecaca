#!/usr/bin/env bash
# demo.sh BUILD_DIR — the symkit pipeline on a bundled program:
#   build fixtures/demo/crasher.c with -g, make .sym files for it and the
#   libraries it loads (dumpsyms), put them in a symbol store (symupload
#   --store), crash it under symverify capture, walk the minidump with
#   stackwalk and check symbol quality with symverify.
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
# Packager mode: the program and the system libraries it loads, so the walk
# can go through libc with its CFI and exported names.
libs=$(ldd "$out/crasher" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}')
echo "== dumpsyms --store $out/symbols crasher" $libs
"$build/dumpsyms/dumpsyms" --store "$out/symbols" "$out/crasher" $libs

if [ -x "$build/upload/symupload" ]; then
    echo "== symupload --store $out/store (what a symbol server would receive)"
    "$build/upload/symupload" --store "$out/store" "$out/symbols"
    echo "== symbol store:"
    (cd "$out/store" && find . -type f | sort)
else
    cp -r "$out/symbols" "$out/store"
fi

if [ -x "$build/verify/symverify" ] && [ -x "$build/stackwalk/stackwalk" ]; then
    echo "== symverify capture -- crasher crash"
    set +e
    "$build/verify/symverify" capture -o "$out/crash.dmp" -- "$out/crasher" crash
    echo "(the program exited with status $?, as it would without symverify)"
    set -e
    echo "== stackwalk crash.dmp store/"
    "$build/stackwalk/stackwalk" "$out/crash.dmp" "$out/store"
    echo "== symverify check"
    "$build/verify/symverify" check --symbols "$out/store" "$out/crash.dmp"
fi
echo "== demo done; outputs in $out"
