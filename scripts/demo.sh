#!/usr/bin/env bash
# demo.sh BUILD_DIR — the whole symkit pipeline on the bundled demo program,
# one short line per step, then the crashing thread's stack:
#   1. build fixtures/demo/crasher.c with -g
#   2. dumpsyms: its symbols and those of the system libraries it loads,
#      into a symbol store
#   3. symverify capture: crash it under ptrace into a minidump
#   4. stackwalk: walk the dump against the store, print the readable stack
#   5. symverify check: the frames are found by CFI and have file:line
#   6. symupload: ship the store to a Tecken-compatible upload server that
#      this script starts on 127.0.0.1 (the test suite's server) and stops
#      afterwards, and check it received every .sym byte for byte
# Everything is written under BUILD_DIR/demo; nothing leaves this machine.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
out="$build/demo"
rm -rf "$out"
mkdir -p "$out"
dumpsyms="$build/dumpsyms/dumpsyms"
stackwalk="$build/stackwalk/stackwalk"
symverify="$build/verify/symverify"
symupload="$build/upload/symupload"
for t in "$dumpsyms" "$stackwalk" "$symverify" "$symupload"; do
    [ -x "$t" ] || { echo "demo: $t is missing: build first (scripts/bootstrap.sh build)" >&2; exit 1; }
done
step() { printf '%-10s %s\n' "$1" "$2"; }
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

gcc -g -O1 -fno-omit-frame-pointer -o "$out/crasher" "$root/fixtures/demo/crasher.c"
step build "gcc -g -O1 fixtures/demo/crasher.c -> $out/crasher"

# The program and the system libraries it loads, so the walk goes through
# libc with its CFI and exported names.
libs=$(ldd "$out/crasher" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}')
"$dumpsyms" --inlines --store "$out/symbols" "$out/crasher" $libs > "$out/dumpsyms.log"
nsym=$(find "$out/symbols" -name '*.sym' | wc -l)
step dump "dumpsyms --store: $nsym modules ($(tail -n 1 "$out/dumpsyms.log" | sed 's/^dumpsyms: //'))"

set +e
"$symverify" capture -q -o "$out/crash.dmp" -- "$out/crasher" crash > /dev/null 2>&1
status=$?
set -e
[ -s "$out/crash.dmp" ] || { echo "demo: no minidump was written (crasher exited $status)" >&2; exit 1; }
step capture "symverify capture: crasher died (status $status), wrote crash.dmp ($(stat -c %s "$out/crash.dmp") bytes)"

"$stackwalk" --human "$out/crash.dmp" "$out/symbols" > "$out/stack.txt"
step walk "stackwalk crash.dmp symbols/ -> stack.txt"

printf 'crasher!checksum\ncrasher!process\ncrasher!run\ncrasher!main\n' > "$out/expect.txt"
"$symverify" check --symbols "$out/symbols" --expect "$out/expect.txt" --min-cfi 0.5 \
    --json "$out/check.json" "$out/crash.dmp" > "$out/check.txt"
step check "symverify check: $(grep -m1 '^result:' "$out/check.txt" | sed 's/^result: //'), the expected chain checksum < process < run < main found"

# A Tecken-compatible upload server on 127.0.0.1 (the one the tests use).
mkdir -p "$out/server"
cat > "$out/server/config.json" <<EOF
{"token": "demo-token", "port_file": "$out/server/port", "log_file": "$out/server/log.jsonl",
 "store_dir": "$out/server/store"}
EOF
python3 "$root/tests/upload/tecken_server.py" "$out/server/config.json" 2> "$out/server/stderr" &
server_pid=$!
for _ in $(seq 100); do [ -s "$out/server/port" ] && break; sleep 0.1; done
[ -s "$out/server/port" ] || { echo "demo: the upload server did not start" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$out/server/port")"
SYMKIT_UPLOAD_TOKEN=demo-token "$symupload" -q --url "$url" "$out/symbols" > "$out/upload.log"
# Every .sym must have arrived byte for byte.
missing=0
while IFS= read -r f; do
    key=${f#"$out/symbols/"}
    cmp -s "$f" "$out/server/store/$key" || { echo "demo: $key did not arrive intact" >&2; missing=$((missing + 1)); }
done < <(find "$out/symbols" -name '*.sym' | sort)
[ "$missing" -eq 0 ] || exit 1
step upload "symupload --url $url: $nsym .sym files received byte-identical"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

echo
# The crashing thread, as stackwalk prints it for people.
awk '/crashed/ && /^Thread/ {p=1} p && /^$/ {exit} p' "$out/stack.txt" | head -n 60
echo
echo "demo: done; everything is in $out (stack.txt is the whole report)"
