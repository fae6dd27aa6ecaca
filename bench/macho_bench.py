#!/usr/bin/env python3
"""The Mach-O line of the dumpsyms benchmarks (run by dumpsyms-macho-bench.sh).

usage: macho_bench.py DUMPSYMS OUT_DIR [NFUNCS]

Generates a C and C++ program of about NFUNCS functions (default 6000) with
tests/dumpsyms/macho/macho_fixtures.py, builds it with clang-14 -g -O2 for
x86_64 and arm64 Mach-O with unwind tables (ld64.lld-14, a dSYM by
dsymutil-14, the .o files kept) and, for comparison, the same sources as an x86_64 ELF executable
(clang-14 + ld.lld-14), then dumps:

  elf      the ELF executable (DWARF in the binary)
  dsym     the Mach-O image paired with its dSYM: dumpsyms IMAGE DSYM
  debugmap the Mach-O image alone, through its debug map to the .o files

each without and with --inlines, and prints wall time, user time, peak RSS
and record counts, one line per run.  A benchmark, never a test: nothing
here asserts a time.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "dumpsyms", "macho"))
import macho_fixtures  # noqa: E402


def build_elf(src_dir, out_dir):
    """The same sources as an x86_64 ELF executable, for the ELF figures."""
    d = os.path.join(out_dir, "elf")
    os.makedirs(d, exist_ok=True)
    objs = []
    for src in ("fxmain.c", "fxcpp.cpp", "fxlib.c"):
        o = os.path.join(d, os.path.splitext(src)[0] + ".o")
        lang = ["-fno-exceptions", "-fno-rtti", "-std=c++17", "-nostdinc++"] if src.endswith(".cpp") else ["-std=c11"]
        subprocess.run(["clang-14", "-g", "-O2", "-target", "x86_64-linux-gnu", "-ffreestanding",
                        "-fno-stack-protector", "-fno-common", "-DFX_DATA=1"] + lang +
                       ["-c", os.path.join(src_dir, src), "-o", o], check=True)
        objs.append(o)
    exe = os.path.join(d, "fxexe")
    subprocess.run(["ld.lld-14", "-e", "main", "--gc-sections", "-o", exe] + objs, check=True)
    return exe


def measure(dumpsyms, args, out_dir):
    tfile = os.path.join(out_dir, "time.txt")
    sym = os.path.join(out_dir, "out.sym")
    with open(sym, "wb") as out, open(os.path.join(out_dir, "err.txt"), "wb") as err:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tfile, dumpsyms] + args, stdout=out, stderr=err)
    if p.returncode != 0:
        return None
    t = {}
    for line in open(tfile):
        k, _, v = line.strip().rpartition(": ")
        t[k] = v
    wall = 0.0
    for part in t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
        wall = wall * 60 + float(part)
    counts = {"FUNC": 0, "line": 0, "INLINE": 0, "PUBLIC": 0, "STACK": 0}
    with open(sym) as f:
        for line in f:
            k = line.split(" ", 1)[0]
            if k in counts:
                counts[k] += 1
            elif k[:1] in "0123456789abcdef" and line.count(" ") == 3:
                counts["line"] += 1
    return wall, float(t["User time (seconds)"]), int(t["Maximum resident set size (kbytes)"]) / 1024.0, counts


def main():
    dumpsyms, out_dir = sys.argv[1], os.path.abspath(sys.argv[2])
    nfuncs = int(sys.argv[3]) if len(sys.argv) > 3 else 6000
    missing = macho_fixtures.missing_tools()
    if missing:
        sys.exit("macho_bench: %s is not installed" % missing[0])
    # Unwind tables, as a real build has them: without them (-ffreestanding
    # drops them on Darwin) every Mach-O function gets synthesized CFI while
    # the ELF reads its .eh_frame, and the comparison measures the
    # disassembler instead of the readers.
    fx = macho_fixtures.build(out_dir, arches=("x86_64", "arm64"), opts=("O2",), nfuncs=nfuncs, fat=False,
                              cflags=("-funwind-tables",))
    elf = build_elf(os.path.join(out_dir, "src"), out_dir)
    runs = [("elf-x86_64", "elf", [elf])]
    for f in fx:
        if f.kind != "exe":
            continue
        runs.append(("macho-" + f.arch, "dsym", [f.image, f.dsym]))
        runs.append(("macho-" + f.arch, "debugmap", [f.image]))
    nobj = sum(len(f.objects) for f in fx if f.kind == "exe") // max(1, len([f for f in fx if f.kind == "exe"]))
    print("dumpsyms: %s, %d cores; generated program of ~%d functions (%d object files per image)" %
          (dumpsyms, os.cpu_count(), nfuncs, nobj))
    print("%-13s %-9s %-8s %7s %7s %8s %7s %8s %7s %7s %7s" %
          ("input", "source", "mode", "wall_s", "user_s", "peak_MB", "FUNC", "line", "INLINE", "PUBLIC", "STACK"))
    for label, source, args in runs:
        for mode, extra in (("plain", []), ("inlines", ["--inlines"])):
            r = measure(dumpsyms, extra + args, out_dir)
            if r is None:
                err = open(os.path.join(out_dir, "err.txt")).read().strip().splitlines()
                print("%-13s %-9s %-8s dumpsyms failed: %s" % (label, source, mode, err[-1] if err else "?"))
                continue
            wall, user, rss, c = r
            print("%-13s %-9s %-8s %7.2f %7.2f %8.1f %7d %8d %7d %7d %7d" %
                  (label, source, mode, wall, user, rss, c["FUNC"], c["line"], c["INLINE"], c["PUBLIC"], c["STACK"]))


if __name__ == "__main__":
    main()
