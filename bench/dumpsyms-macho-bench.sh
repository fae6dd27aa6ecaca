#!/bin/sh
# dumpsyms-macho-bench.sh — the Mach-O line beside the ELF figures: a
# generated C/C++ program of thousands of functions, built as an x86_64 and
# an arm64 Mach-O executable (with its dSYM and its .o files) and as an
# x86_64 ELF executable, dumped from the ELF, from the dSYM, and through the
# debug map (no dSYM), each plain and with --inlines: wall time, user time,
# peak RSS and record counts.
#
#   bench/dumpsyms-macho-bench.sh [DUMPSYMS] [NFUNCS]
#
# Needs clang-14, ld64.lld-14, ld.lld-14, dsymutil-14, llvm-ar-14 and
# /usr/bin/time (all in scripts/packages.txt).  The program is built once
# into bench/out/macho/ and reused while its sources are the same.  This is
# a benchmark, never a test: nothing here asserts a time.  For the distro
# ELF figures (libc, libstdc++, ceph-osd) see dumpsyms-bench.sh.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
DUMPSYMS=${1:-}
NFUNCS=${2:-6000}
if [ -z "$DUMPSYMS" ]; then
    for d in "$HERE"/../build*/dumpsyms/dumpsyms; do
        [ -x "$d" ] && DUMPSYMS=$d && break
    done
fi
[ -n "$DUMPSYMS" ] && [ -x "$DUMPSYMS" ] || { echo "dumpsyms-macho-bench: no dumpsyms binary (pass its path)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "dumpsyms-macho-bench: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
mkdir -p "$HERE/out/macho"
exec python3 "$HERE/macho_bench.py" "$DUMPSYMS" "$HERE/out/macho" "$NFUNCS"
