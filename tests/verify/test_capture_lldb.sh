#!/bin/bash
# Independent reader: LLDB loads a dump written by `symverify capture` and
# must walk the crashing thread through the fixture's call chain.
# usage: test_capture_lldb.sh SYMVERIFY CRASHER_SOURCE SCRATCH_DIR
set -u
ulimit -c 0 # the fixture crashes on purpose: no core files
symverify=$1 src=$2 scratch=$3
lldb=$(command -v lldb-14 || command -v lldb || true)
if [ -z "$lldb" ]; then
    if [ -n "${CI:-}" ]; then
        echo "FAIL: lldb is not installed (CI is set: a missing oracle is a failure)"
        exit 1
    fi
    echo "SKIP: lldb is not installed (apt-get install lldb-14)"
    exit 77
fi
mkdir -p "$scratch"
exe=$scratch/crasher
gcc -g -O1 -pthread "$src" -o "$exe" || exit 1
fail=0
for how in null thread abort; do
    dump=$scratch/lldb-$how.dmp
    rm -f "$dump"
    "$symverify" capture -q -o "$dump" -- "$exe" $how
    out=$("$lldb" --batch -o "thread backtrace" --core "$dump" "$exe" 2>&1)
    # frames in order, innermost first, as LLDB unwinds them from our contexts
    chain=$(printf '%s\n' "$out" | sed -n 's/.*frame #[0-9]*: 0x[0-9a-f]* [^`]*`\([A-Za-z_0-9]*\).*/\1/p' | tr '\n' ' ')
    case $how in
        null) want="crash_null sv_leaf sv_middle main " ;;
        # Past thread_main comes libc's thread start: LLDB names it
        # start_thread only when libc's debug symbols are installed, so only
        # its presence is required (checked below).
        thread) want="crash_null sv_leaf sv_middle thread_main " ;;
        abort) want="crash_abort sv_leaf sv_middle main " ;;
    esac
    if [[ "$chain" != *"$want"* ]]; then
        echo "FAIL: $how: lldb chain '$chain' lacks '$want'"
        printf '%s\n' "$out" | grep -v -e Traceback -e 'File "<string>"' -e Error
        fail=1
    fi
    if [ $how = thread ] && [[ "$chain" != *"thread_main "?* ]]; then
        echo "FAIL: thread: lldb does not walk past thread_main: '$chain'"
        fail=1
    fi
    sig=SIGSEGV; [ $how = abort ] && sig=SIGABRT
    if ! printf '%s\n' "$out" | grep -q "stop reason = signal $sig"; then
        echo "FAIL: $how: lldb does not report $sig"
        fail=1
    fi
done
[ $fail = 0 ] && echo "lldb reads every dump"
exit $fail
