#!/usr/bin/env python3
"""Real minidumps: fixture programs (C at -O0 and -O2 -fomit-frame-pointer,
a shared library, deep recursion, a crash inside a qsort callback, abort, a
crashing thread; C++ with namespaces and templates) are built with -g,
dumped with `dumpsyms --store`, crashed under `symverify capture`, and
walked by stackwalk.  The crashing thread's frames in fixture modules must
match each program's known call chain, found by CFI, with the crashing
statement's file:line on the first frame.
usage: test_real.py STACKWALK DUMPSYMS SYMVERIFY FIXTURE_DIR SCRATCH_DIR"""
import json
import os
import shutil
import subprocess
import sys

STACKWALK, DUMPSYMS, SYMVERIFY, FIX, SCRATCH = sys.argv[1:6]
shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
store = os.path.join(SCRATCH, "store")
failures = []
checked = 0


def sh(*cmd, ok=(0,), **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if p.returncode not in ok:
        raise SystemExit("command failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout, p.stderr))
    return p


def marker_line(src, tag):
    with open(os.path.join(FIX, src)) as f:
        for i, line in enumerate(f, 1):
            if "CRASH-LINE " + tag in line:
                return i
    raise SystemExit("no marker " + tag)


# Symbols for the C library and dynamic loader, so walks through qsort,
# abort and thread start-up have CFI there too (from .eh_frame at least).
libs = [p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2") if os.path.exists(p)]
libc_symbols = False
if libs:
    p = sh(DUMPSYMS, "--store", store, *libs, ok=range(0, 256))
    libc_symbols = p.returncode == 0
    if not libc_symbols:
        print("note: dumpsyms could not dump %s (exit %d); frames past libc may need scanning" %
              (" ".join(libs), p.returncode))

FIXTURE_MODULES = ("crashers", "libcrashlib.so", "widget")
SYMBOLIZER = shutil.which("llvm-symbolizer")
if not SYMBOLIZER and os.environ.get("CI"):
    failures.append("llvm-symbolizer missing (CI is set: a missing oracle is a failure)")
agree = {"function": [0, 0], "line": [0, 0]}
CASES = {
    "chain": (["crash_null", "chain_b", "chain_a", "main"], ("crashers.c", "null")),
    "recurse": (["crash_null"] + ["recurse"] * 5 + ["main"], ("crashers.c", "null")),
    "qsort": (["crash_null", "compare_ints", "do_qsort", "main"], ("crashers.c", "null")),
    "abort": (["do_abort", "main"], ("crashers.c", "abort")),
    "thread": (["crash_null", "chain_b", "chain_a", "thread_main"], ("crashers.c", "null")),
    "lib": (["lib_crash", "lib_entry", "main"], ("crashlib.c", "lib")),
}


def walk(label, exe_dir, exe, args, want, where):
    global checked
    dump = os.path.join(SCRATCH, label + ".dmp")
    p = sh(SYMVERIFY, "capture", "-o", dump, "--", os.path.join(exe_dir, exe), *args, ok=range(1, 256))
    if not os.path.exists(dump):
        failures.append("%s: no dump written (%s)" % (label, p.stderr.strip()))
        return
    r = json.loads(sh(STACKWALK, "--json", dump, "--symbols-path", store).stdout)
    frames = r["crashing_thread"]["frames"] if r["crashing_thread"] else []
    mine = [f for f in frames if f["module"] in FIXTURE_MODULES]
    got = [f["function"] or "?" for f in mine][:len(want)]
    ok = len(got) == len(want) and all(w in g for w, g in zip(want, got))
    if not ok:
        failures.append("%s: fixture frames %s, want %s (all: %s)" %
                        (label, got, want, [(f["module"], f["function"], f["trust"]) for f in frames]))
        return
    src, tag = where
    first = mine[0]
    if not (first["file"] or "").endswith(src) or first["line"] != marker_line(src, tag):
        failures.append("%s: first fixture frame at %s:%s, want %s:%d" %
                        (label, first["file"], first["line"], src, marker_line(src, tag)))
    # every fixture frame up to the last expected one came from the
    # context or CFI, not from guessing
    # (without libc symbols, frames past a libc frame can only be scanned)
    lead = len(mine)
    if not libc_symbols:
        first_other = next((i for i, f in enumerate(frames) if f["module"] not in FIXTURE_MODULES), len(frames))
        lead = len([f for f in frames[:first_other] if f["module"] in FIXTURE_MODULES])
    bad = [f["function"] for f in mine[:min(len(want), lead)] if f["trust"] not in ("context", "cfi")]
    if bad:
        failures.append("%s: frames found by guessing: %s" % (label, bad))
    mods = {m["filename"]: m for m in r["modules"]}
    if not mods.get(exe, {}).get("loaded_symbols"):
        failures.append("%s: symbols of %s not loaded" % (label, exe))
    # llvm-symbolizer as the oracle for every fixture frame's function and line
    # (only frames of the known chain: what lies past it is the tail of the
    # stack, where guesses are allowed to be wrong)
    for i, f in enumerate(frames):
        if f["module"] not in FIXTURE_MODULES or not SYMBOLIZER or f not in mine[:len(want)]:
            continue
        off = int(f["module_offset"], 16) - (0 if f["trust"] == "context" else 1)
        obj = os.path.join(exe_dir, f["module"])
        out = sh(SYMBOLIZER, "--obj=" + obj, "--inlining", "--demangle", hex(off)).stdout.split("\n")
        pairs = [(out[k], out[k + 1]) for k in range(0, len(out) - 1, 2) if out[k]]
        if not pairs:
            continue
        fn, loc = pairs[-1]  # outermost: the frame's own function
        line = int(loc.split(":")[1]) if loc.count(":") >= 2 else 0
        inner_line = int(pairs[0][1].split(":")[1]) if pairs[0][1].count(":") >= 2 else 0
        ours = f["function"] or ""
        agree["function"][0] += 1
        agree["line"][0] += 1
        fn = fn[:-5] if fn.endswith(".cold") else fn  # the cold part of a hot/cold split
        if ours.split("(")[0].endswith(fn.split("(")[0].split(" ")[-1]) or fn.split("(")[0] in ours:
            agree["function"][1] += 1
        else:
            failures.append("%s frame %d: function %r, llvm-symbolizer says %r" % (label, i, ours, fn))
        want_line = line if len(pairs) > 1 else inner_line
        if (f["line"] or 0) == want_line:
            agree["line"][1] += 1
        else:
            print("%s frame %d %s: line %s, llvm-symbolizer %s" % (label, i, ours, f["line"], pairs))
    checked += 1


for variant, flags in (("O0", ["-O0"]), ("O2", ["-O2", "-fomit-frame-pointer"])):
    d = os.path.join(SCRATCH, variant)
    os.makedirs(d)
    sh("cc", "-g", *flags, "-shared", "-fPIC", "-o", os.path.join(d, "libcrashlib.so"),
       os.path.join(FIX, "crashlib.c"))
    sh("cc", "-g", *flags, "-pthread", "-o", os.path.join(d, "crashers"), os.path.join(FIX, "crashers.c"),
       "-L" + d, "-lcrashlib", "-Wl,-rpath,$ORIGIN")
    sh(DUMPSYMS, "--store", store, os.path.join(d, "crashers"), os.path.join(d, "libcrashlib.so"))
    for mode, (want, where) in CASES.items():
        walk("%s-%s" % (variant, mode), d, "crashers", [mode], want, where)

d = os.path.join(SCRATCH, "cpp")
os.makedirs(d)
sh("c++", "-g", "-O1", "-o", os.path.join(d, "widget"), os.path.join(FIX, "widget.cpp"))
sh(DUMPSYMS, "--store", store, os.path.join(d, "widget"))
walk("cpp", d, "widget", [], ["shapes::Widget::poke", "shapes::apply", "main"], ("widget.cpp", "cpp"))

for k, (n, ok) in agree.items():
    print("llvm-symbolizer agreement on %s: %d/%d" % (k, ok, n))
if agree["line"][0] and agree["line"][1] < 0.95 * agree["line"][0]:
    failures.append("line agreement with llvm-symbolizer below 95%%: %d/%d" % tuple(agree["line"][::-1]))
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("real dumps: %d crashes walked to their known call chains" % checked)
