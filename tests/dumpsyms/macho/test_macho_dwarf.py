#!/usr/bin/env python3
"""Mach-O DWARF in dumpsyms, checked against LLVM 14's own reading of it.

usage: test_macho_dwarf.py GROUP DUMPSYMS WORK_DIR

Fixtures: macho_fixtures.py (C and C++, x86_64/arm64/armv7, -O0/-O2,
executables and dylibs, each with its dSYM and its .o files).

Groups:
  oracle    `dumpsyms -c IMAGE DSYM`: the MODULE line (mac, arch, UUID + 0,
            the image's name); FUNC names and file:line agree with
            `llvm-symbolizer-14 --obj=<dSYM companion>` at llvm-dwarfdump's
            addresses (first and last byte of every function range, every
            line-row start and the byte before the next row) >= 99.5% for
            every fixture by itself, every disagreement listed; --inlines
            chains agree with `llvm-symbolizer-14 --inlines` >= 99% (adding
            the inlined-call range ends to the samples).  .sym addresses are
            relative to __TEXT's vmaddr, which is added back for the oracle.
  debugmap  `dumpsyms IMAGE` with no dSYM beside it follows the debug map to
            the .o files and writes the same FUNC, line and INLINE records
            as the dSYM path, for every fixture; a function the linker
            dead-stripped is left out; a missing .o and a touched .o are each
            named in one warning and their functions left out, the others
            still read.
"""

import os
import shutil
import subprocess
import sys

GROUP, DUMPSYMS, WORK = sys.argv[1:4]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", ".."))
import macho_fixtures  # noqa: E402
import oracle_util  # noqa: E402

LINES_MIN = 99.5
INLINES_MIN = 99.0
LINE_SAMPLES = 1500  # row boundaries per fixture, besides every function range end
SYMBOLIZER = "llvm-symbolizer-14"
DWARFDUMP = "llvm-dwarfdump-14"
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def fixtures():
    missing = macho_fixtures.missing_tools()
    if missing:
        oracle_util.missing(missing[0], "the Mach-O fixtures are built with it")
    out = os.path.join(os.path.dirname(os.path.abspath(WORK)), "macho-fixtures")
    try:
        fx = macho_fixtures.build(out)
    except RuntimeError as e:
        fail("building the Mach-O fixtures: %s" % e)
    return [f for f in fx if f.kind != "fat"]


def run_dumpsyms(args, check=True):
    p = subprocess.run([DUMPSYMS] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = p.stderr.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        if mark in err:
            fail("sanitizer report from dumpsyms %s:\n%s" % (" ".join(args), err))
    if check and p.returncode != 0:
        fail("dumpsyms %s exited %d:\n%s" % (" ".join(args), p.returncode, err))
    return p.returncode, p.stdout, err


norm = oracle_util.normalize_function_name


# ---- oracle ----------------------------------------------------------------

def check_module(fx, sym, problems):
    want = ["mac", fx.arch, macho_fixtures.uuid(fx.image) + "0", os.path.basename(fx.image)]
    if sym.module != want:
        problems.append("%s: MODULE %s, want %s" % (fx.name, " ".join(sym.module or ["(none)"]),
                                                    " ".join(want)))


def group_oracle():
    oracle_util.require(SYMBOLIZER, DWARFDUMP)
    lines = oracle_util.Floors(LINES_MIN)
    inl = oracle_util.Floors(INLINES_MIN)
    problems, disagreements, inline_disagreements = [], [], []
    with_inline = 0
    for fx in fixtures():
        base = macho_fixtures.text_vmaddr(fx.image)
        dwarf = fx.companion
        _, out, _ = run_dumpsyms(["-c", "--inlines", fx.image, fx.dsym])
        sym = oracle_util.SymText(out)
        check_module(fx, sym, problems)
        if not sym.funcs:
            problems.append("%s: no FUNC records" % fx.name)
        func_at = sym.func_finder()

        ranges = oracle_util.dwarf_code_ranges(DWARFDUMP, dwarf)
        if len(ranges) < 20:
            fail("%s: llvm-dwarfdump sees only %d functions in %s: the fixture lost its point" %
                 (fx.name, len(ranges), dwarf))
        addrs = oracle_util.dwarf_sample_addrs(DWARFDUMP, dwarf, ranges, LINE_SAMPLES)
        answers = oracle_util.llvm_symbolize(SYMBOLIZER, dwarf, addrs, inlines=False)
        ok = oracle_util.score_lines(sym, addrs, answers, base, fx.name, disagreements, norm)
        lines.add(fx.name, "FUNC+line", ok, len(addrs))

        # Inline chains: the same addresses and every inlined call's range ends.
        inlined = oracle_util.dwarf_code_ranges(DWARFDUMP, dwarf, tag="DW_TAG_inlined_subroutine")
        ends = set()
        for lo, hi in inlined:
            ends.update((lo, hi - 1))
        iaddrs = sorted(set(addrs) | ends)
        answers = oracle_util.llvm_symbolize(SYMBOLIZER, dwarf, iaddrs, inlines=True)
        ok = 0
        for a, frames in zip(iaddrs, answers):
            f = func_at(a - base)
            ours = sym.inline_chain(f, a - base, norm) if f else [("(no FUNC)", "??", 0)]
            theirs = [(norm(n), fl, ln) for n, fl, ln in frames]
            if len(theirs) > 1:
                with_inline += 1
            if ours == theirs:
                ok += 1
            else:
                inline_disagreements.append("%s 0x%x:\n      ours %s\n      llvm %s" % (fx.name, a, ours, theirs))
        inl.add(fx.name, "inline chain", ok, len(iaddrs))

    problems += lines.report("Mach-O FUNC and file:line vs %s --obj=<dSYM companion>" % SYMBOLIZER,
                             min_samples=50)
    for d in disagreements[:300]:
        print("  " + d)
    if len(disagreements) > 300:
        print("  ... and %d more" % (len(disagreements) - 300))
    problems += inl.report("Mach-O inline chains vs %s --inlines" % SYMBOLIZER, min_samples=50)
    for d in inline_disagreements[:100]:
        print("  " + d)
    if len(inline_disagreements) > 100:
        print("  ... and %d more" % (len(inline_disagreements) - 100))
    print("%d sampled addresses inside inlined code" % with_inline)
    if with_inline < 200:
        problems.append("only %d sampled addresses lie in inlined code: the check proves little" % with_inline)
    if problems:
        fail("; ".join(problems[:6]) + ("; ..." if len(problems) > 6 else ""))
    print("PASS")


# ---- debug map -------------------------------------------------------------

def records(sym):
    """FUNC/line/INLINE records with FILE and INLINE_ORIGIN ids resolved."""
    out = []
    for f in sym.funcs:
        out.append(("FUNC", f["addr"], f["size"], f["name"]))
        for a, s, ln, fi in f["lines"]:
            out.append(("line", a, s, ln, sym.files.get(fi, "??")))
        for depth, cl, cf, origin, ranges in f["inlines"]:
            out.append(("INLINE", depth, cl, sym.files.get(cf, "??"), sym.origins.get(origin, "??"),
                        tuple(ranges)))
    return out


def compare_records(label, ref, got, problems, limit=15):
    if ref == got:
        return True
    import difflib
    diff = [d for d in difflib.unified_diff([repr(r) for r in ref], [repr(r) for r in got],
                                            "dSYM", "debug map", lineterm="", n=0)
            if not d.startswith("@@")]
    problems.append("%s: debug-map records differ from the dSYM's (%d lines of diff):\n      %s" %
                    (label, len(diff), "\n      ".join(diff[:limit])))
    return False


def group_debugmap():
    problems = []
    same = 0
    fxs = fixtures()
    for fx in fxs:
        _, ref_out, _ = run_dumpsyms(["-c", "--inlines", fx.image, fx.dsym])
        _, map_out, err = run_dumpsyms(["-c", "--inlines", fx.image])
        if err.strip():
            problems.append("%s: the debug-map dump warned with every object in place:\n      %s" %
                            (fx.name, err.strip().replace("\n", "\n      ")))
        ref, got = oracle_util.SymText(ref_out), oracle_util.SymText(map_out)
        if not ref.funcs:
            problems.append("%s: the dSYM path wrote no FUNC records" % fx.name)
        if not got.funcs:
            problems.append("%s: the debug-map path wrote no FUNC records" % fx.name)
        if ref.module != got.module:
            problems.append("%s: MODULE %s through the debug map, %s from the dSYM" %
                            (fx.name, got.module, ref.module))
        ok = compare_records(fx.name, records(ref), records(got), problems)
        nlines = sum(len(f["lines"]) for f in got.funcs)
        ninl = sum(len(f["inlines"]) for f in got.funcs)
        print("%-22s dSYM %4d FUNC | debug map %4d FUNC %5d lines %4d INLINE  %s" %
              (fx.name, len(ref.funcs), len(got.funcs), nlines, ninl, "same" if ok else "DIFFERENT"))
        same += ok
        if fx.kind == "exe":
            # -dead_strip dropped fxc_unused from the image; its DWARF is
            # still in fxmain.o, so only the map can leave it out.
            nm = subprocess.run(["llvm-nm-14", fx.objects[0]], stdout=subprocess.PIPE).stdout.decode()
            if "_fxc_unused" not in nm:
                problems.append("%s: fxc_unused is not in %s: the dead-strip check lost its point" %
                                (fx.name, fx.objects[0]))
            if any(f["name"].startswith("fxc_unused") for f in got.funcs):
                problems.append("%s: the dead-stripped fxc_unused has a FUNC through the debug map" % fx.name)
            if not any(f["name"].startswith("fxlib_run") for f in got.funcs):
                problems.append("%s: no FUNC for fxlib_run, from the archive member libfx.a(fxlib.o)" %
                                fx.name)
    print("%d of %d fixtures: the same FUNC/line/INLINE records through the debug map as from the dSYM" %
          (same, len(fxs)))
    stale_objects(problems)
    for p in problems:
        print("  " + p)
    if problems:
        fail("%d problems" % len(problems))
    print("PASS")


STALE_SOURCES = {
    "keep.c": "__attribute__((noinline)) unsigned kept_one(unsigned x) { return x * 3u + 1u; }\n",
    "gone.c": "__attribute__((noinline)) unsigned gone_one(unsigned x) { return x ^ 0x55u; }\n",
    "touched.c": "__attribute__((noinline)) unsigned touched_one(unsigned x) { return x + 17u; }\n",
    "main.c": "unsigned kept_one(unsigned), gone_one(unsigned), touched_one(unsigned);\n"
              "int main(void) { return (int)(kept_one(1u) + gone_one(2u) + touched_one(3u)); }\n",
}


def stale_objects(problems):
    """A .o deleted and a .o touched after the link: one warning each,
    naming it; their functions are not taken from a file that is not the
    one the image was linked from; the others are still read."""
    d = os.path.join(WORK, "stale")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    objs = []
    for name, text in STALE_SOURCES.items():
        src = os.path.join(d, name)
        with open(src, "w") as f:
            f.write(text)
        obj = src[:-2] + ".o"
        macho_fixtures.compile_one(src, obj, "x86_64", "O0")
        objs.append(obj)
    image = os.path.join(d, "stale")
    macho_fixtures.link(objs, image, "x86_64", "exe")
    _, before, err = run_dumpsyms(["-c", image])
    names = {f["name"] for f in oracle_util.SymText(before).funcs}
    for fn in ("kept_one", "gone_one", "touched_one", "main"):
        if fn not in names:
            problems.append("stale: %s has no FUNC before any .o was changed" % fn)
    gone, touched = os.path.join(d, "gone.o"), os.path.join(d, "touched.o")
    os.unlink(gone)
    st = os.stat(touched)
    os.utime(touched, (st.st_atime, st.st_mtime + 3600))
    rc, out, err = run_dumpsyms(["-c", image], check=False)
    if rc != 0:
        problems.append("stale: dumpsyms exited %d:\n      %s" % (rc, err))
        return
    warn_lines = [ln for ln in err.splitlines() if ln.strip()]
    for path, what in ((gone, "missing"), (touched, "touched")):
        hits = [ln for ln in warn_lines if path in ln]
        if len(hits) != 1:
            problems.append("stale: the %s object %s is named in %d warning lines, want 1:\n      %s" %
                            (what, path, len(hits), "\n      ".join(warn_lines) or "(no warnings)"))
    print("stale objects, dumpsyms said:\n  " + "\n  ".join(warn_lines))
    names = {f["name"] for f in oracle_util.SymText(out).funcs}
    for fn in ("kept_one", "main"):
        if fn not in names:
            problems.append("stale: %s lost its FUNC when another object went missing" % fn)
    for fn in ("gone_one", "touched_one"):
        if fn in names:
            problems.append("stale: %s has a FUNC though its object is missing or changed" % fn)


GROUPS = {"oracle": group_oracle, "debugmap": group_debugmap}

if __name__ == "__main__":
    if GROUP not in GROUPS:
        fail("unknown group %r" % GROUP)
    os.makedirs(WORK, exist_ok=True)
    GROUPS[GROUP]()
