#!/usr/bin/env python3
"""End-to-end test of `symverify check`: the whole pipeline.

Build the crasher fixture with -g, `dumpsyms --store` it (and the libc it
runs on, for CFI through abort/raise), `symverify capture` three crashes,
then `symverify check` with the expected call chains must pass.  The walk
itself is held against the fixture's known chain: every frame's function
and source line, found in the sources by content.  The same
dumps against a store whose .sym lost its STACK CFI records, or its line
records, must fail as a regression against the first run's --json report,
naming what dropped.  Bad input exits 2.

A second fixture crashes inside a shared library (module base != 0, its own
build-id), and the first one is also built as a non-PIE executable.

usage: test_check.py SYMVERIFY DUMPSYMS STACKWALK CRASHER_SOURCE CRASHLIB_SOURCE SCRATCH_DIR
"""
import functools
import http.server
import json
import os
import resource
import re
import shutil
import subprocess
import sys
import threading

SYMVERIFY, DUMPSYMS, STACKWALK, SOURCE, LIBSOURCE, SCRATCH = sys.argv[1:7]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def sv_check(*args):
    return run([SYMVERIFY, "check"] + list(args))


def libc_path(exe):
    out = run(["ldd", exe]).stdout
    m = re.search(r"libc\.so\.6 => (\S+)", out)
    return os.path.realpath(m.group(1)) if m else None


def make_store(src, dst, drop):
    """A copy of store src with lines matching drop() removed from every .sym."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    for root, _, files in os.walk(dst):
        for f in files:
            if f.endswith(".sym"):
                p = os.path.join(root, f)
                lines = open(p).read().splitlines(True)
                open(p, "w").write("".join(l for l in lines if not drop(l)))


LINE_RECORD = re.compile(r"^[0-9a-f]+ [0-9a-f]+ \d+ \d+$")

EXPECT = """# chains the fixture's crashes must show, innermost first
dump: null.dmp
crasher!crash_null
crasher!sv_leaf
crasher!sv_middle
crasher!main

dump: abort.dmp
libc.so.6!*abort
crasher!crash_abort
crasher!sv_leaf
crasher!sv_middle
crasher!main

dump: thread.dmp
crasher!crash_null
crasher!sv_leaf
crasher!sv_middle
crasher!thread_main

dump: lib.dmp
libsvcrash.so!sv_lib_crash
libsvcrash.so!sv_lib_outer
crashlib!main

dump: nopie.dmp
crasher-nopie!crash_null
crasher-nopie!sv_leaf
crasher-nopie!sv_middle
crasher-nopie!main
"""


def source_line(path, text):
    """The one line of path that starts with text (stripped): by content,
    so the expectation follows edits of the fixture."""
    hits = [n for n, l in enumerate(open(path), 1) if l.strip().startswith(text)]
    if len(hits) != 1:
        raise RuntimeError("%s: %d lines start with %r, want 1" % (path, len(hits), text))
    return hits[0]


def known_chains():
    """dump name -> [(module, function, source file, line)], innermost first."""
    c, lib = os.path.basename(SOURCE), os.path.basename(LIBSOURCE)
    L = functools.partial(source_line, SOURCE)
    leaf = [("sv_leaf", L("crash_null();")), ("sv_middle", L("sv_leaf(how);"))]
    null = [("crash_null", L("*null_ptr = 42;"))] + leaf + [("main", L("sv_middle(how);"))]
    out = {
        "null.dmp": [("crasher", f, c, n) for f, n in null],
        "nopie.dmp": [("crasher-nopie", f, c, n) for f, n in null],
        "thread.dmp": [("crasher", f, c, n) for f, n in null[:3] + [("thread_main", L("sv_middle(arg);"))]],
        "abort.dmp": [("crasher", f, c, n) for f, n in
                      [("crash_abort", L("abort();")), ("sv_leaf", L("crash_abort();"))] + null[2:]],
    }
    M = functools.partial(source_line, LIBSOURCE)
    out["lib.dmp"] = [("libsvcrash.so", "sv_lib_crash", lib, M("*lib_null = depth;")),
                      ("libsvcrash.so", "sv_lib_outer", lib, M("sv_lib_crash(depth + 1);")),
                      ("crashlib", "main", lib, M("sv_lib_outer(1);"))]
    return out


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    # the fixtures crash on purpose: no core files in the build tree
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.makedirs(SCRATCH, exist_ok=True)
    exe = os.path.join(SCRATCH, "crasher")
    subprocess.run(["gcc", "-g", "-O1", "-pthread", SOURCE, "-o", exe], check=True)
    nopie = os.path.join(SCRATCH, "crasher-nopie")
    subprocess.run(["gcc", "-g", "-O1", "-pthread", "-no-pie", "-fno-pie", SOURCE, "-o", nopie], check=True)
    lib = os.path.join(SCRATCH, "libsvcrash.so")
    subprocess.run(["gcc", "-g", "-O1", "-shared", "-fPIC", "-DSV_LIB", LIBSOURCE, "-o", lib], check=True)
    libexe = os.path.join(SCRATCH, "crashlib")
    subprocess.run(["gcc", "-g", "-O1", LIBSOURCE, "-o", libexe, "-L" + SCRATCH, "-lsvcrash",
                    "-Wl,-rpath," + SCRATCH], check=True)
    store = os.path.join(SCRATCH, "store")
    shutil.rmtree(store, ignore_errors=True)
    libc = libc_path(exe)
    targets = [exe, nopie, lib, libexe] + ([libc] if libc else [])
    p = run([DUMPSYMS, "--store", store] + targets)
    if not check(p.returncode == 0, "dumpsyms --store: %s" % p.stderr.strip()):
        return 1

    # what dumpsyms wrote lints clean (an independent producer vs our checks)
    syms = [os.path.join(r, f) for r, _, fs in os.walk(store) for f in fs if f.endswith(".sym")]
    check(len(syms) == len(targets), "one .sym per dumped file (%d)" % len(syms))
    p = run([SYMVERIFY, "lint", "--json"] + syms)
    check(p.returncode == 0, "dumpsyms output lints without errors:\n" + p.stdout[-2000:])

    dumps = []
    for name, cmd in (("null", [exe, "null"]), ("abort", [exe, "abort"]), ("thread", [exe, "thread"]),
                      ("lib", [libexe]), ("nopie", [nopie, "null"])):
        d = os.path.join(SCRATCH, name + ".dmp")
        p = run([SYMVERIFY, "capture", "-q", "-o", d, "--"] + cmd)
        check(p.returncode in (134, 139), "capture %s: status %d" % (name, p.returncode))
        dumps.append(d)
    expect = os.path.join(SCRATCH, "expect.txt")
    open(expect, "w").write(EXPECT)

    # 1. good symbols: the chains are found, everything passes
    base = os.path.join(SCRATCH, "baseline.json")
    p = sv_check("--symbols", store, "--expect", expect, "--json", base, *dumps)
    check(p.returncode == 0, "check with good symbols passes (exit %d):\n%s" % (p.returncode, p.stdout))
    check("result: pass" in p.stdout, "human output says pass")
    rep = json.load(open(base))
    check(rep["result"] == "pass" and rep["failures"] == [], "JSON says pass")
    for d in rep["dumps"]:
        ct = d["crashing_thread"]
        check(len(d["expect"]) == 1 and d["expect"][0]["passed"], "%s: its chain passed" % d["name"])
        check(ct["trust"]["context"] == 1, "%s: one context frame" % d["name"])
        check(ct["trust"]["cfi"] >= 3, "%s: CFI found the callers (%s)" % (d["name"], ct["trust"]))
        check(ct["with_line"] >= 3, "%s: frames with lines (%d)" % (d["name"], ct["with_line"]))
        check(d["modules_missing_symbols"] == [], "%s: every module on the stack has symbols (%s)" %
              (d["name"], d["modules_missing_symbols"]))
    lib_dump = [d for d in rep["dumps"] if d["name"] == "lib.dmp"][0]
    check("libsvcrash.so" in lib_dump["modules_on_stack"] and "crashlib" in lib_dump["modules_on_stack"],
          "lib.dmp: the library and the program are on the stack")
    check(rep["total"]["dumps"] == len(dumps), "total covers every dump")
    check(rep["total"]["crashing_thread"]["frames"] ==
          sum(d["crashing_thread"]["frames"] for d in rep["dumps"]), "total frames add up")

    # The walk against an independent expectation: the fixture's known call
    # chain, each frame's function and source line taken from the sources
    # (frame 0 the faulting line, callers the line of their call), so that
    # a walker that looks callers up at the return address, swaps frames
    # or shifts lines fails here, whatever symverify makes of it.
    chains = known_chains()
    for d in rep["dumps"]:
        w = run([STACKWALK, "--json", d["dump"], "--symbols-path", store])
        try:
            sj = json.loads(w.stdout)
        except ValueError:
            check(False, "stackwalk --json %s: %s" % (d["name"], w.stderr.strip()))
            continue
        frames = sj["crashing_thread"]["frames"]
        want = chains[d["name"]]
        got = [(f.get("module"), f.get("function"), os.path.basename(f.get("file") or ""), f.get("line"))
               for f in frames]
        start = [i for i, g in enumerate(got) if g[:2] == want[0][:2]]
        if not check(start, "%s: no frame %s!%s in %s" % (d["name"], want[0][0], want[0][1], got[:8])):
            continue
        i = start[0]
        check(got[i:i + len(want)] == want,
              "%s: the chain from frame %d is\n      %s\n  the fixture's is\n      %s" %
              (d["name"], i, got[i:i + len(want)], want))
        # The leaf is where the crash happened: nothing but libc (abort's
        # raise) may sit below it.
        check(all(g[0].startswith("libc.so") for g in got[:i]),
              "%s: frames below the fixture's leaf: %s" % (d["name"], got[:i]))
        # symverify counts the same walk: at least the known chain.
        ct = d["crashing_thread"]
        check(ct["frames"] == len(frames), "%s: %d frames, stackwalk says %d" % (d["name"], ct["frames"], len(frames)))
        check(ct["with_function"] >= i + len(want) and ct["with_line"] >= len(want),
              "%s: with_function %d / with_line %d, the known chain has %d frames with both" %
              (d["name"], ct["with_function"], ct["with_line"], len(want)))
        check(ct["trust"]["cfi"] >= len(want) - 1, "%s: %d CFI frames for a known chain of %d" %
              (d["name"], ct["trust"]["cfi"], len(want)))

    # 2. STACK CFI stripped: a regression naming CFI
    nocfi = os.path.join(SCRATCH, "store-nocfi")
    make_store(store, nocfi, lambda l: l.startswith("STACK CFI"))
    p = sv_check("--symbols", nocfi, "--baseline", base, *dumps)
    check(p.returncode == 1, "stripped CFI fails (exit %d)" % p.returncode)
    check(re.search(r"FAIL: regression: \S+: crashing_thread\.trust\.cfi \d+ -> \d+ .*STACK CFI", p.stdout),
          "stripped CFI: regression names crashing_thread.trust.cfi and STACK CFI:\n" + p.stdout)
    p = sv_check("--symbols", nocfi, "--min-cfi", "0.5", *dumps)
    check(p.returncode == 1 and "below --min-cfi" in p.stdout, "--min-cfi threshold fails without CFI")

    # 3. line records removed: a regression naming lines
    nolines = os.path.join(SCRATCH, "store-nolines")
    make_store(store, nolines, lambda l: LINE_RECORD.match(l.strip()) is not None)
    p = sv_check("--symbols", nolines, "--baseline", base, "--json", "-", *dumps)
    check(p.returncode == 1, "removed lines fail (exit %d)" % p.returncode)
    try:
        r = json.loads(p.stdout)
        check(r["result"] == "fail", "JSON result fail")
        check(any("with_line" in f and "line records" in f for f in r["failures"]),
              "removed lines: a failure names with_line: %s" % r["failures"])
        check(not any("trust.cfi" in f for f in r["failures"]), "removed lines: CFI did not regress")
    except ValueError:
        check(False, "--json - prints JSON: %r" % p.stdout[:200])
    p = sv_check("--symbols", nolines, "--min-lines", "50%", *dumps)
    check(p.returncode == 1 and "below --min-lines" in p.stdout, "--min-lines threshold")

    # a single .sym file works as a symbol source too
    crasher_sym = [f for f in syms if f.endswith("/crasher.sym")][0]
    p = sv_check("--symbols", crasher_sym, "--json", "-", dumps[0])
    r = json.loads(p.stdout) if p.stdout.startswith("{") else {"dumps": [{}]}
    check(p.returncode == 0 and "crasher" not in r["dumps"][0].get("modules_missing_symbols", ["crasher"]),
          "--symbols FILE.sym: crasher symbolized (%d) %s" % (p.returncode, p.stderr))

    # the same symbols against their own baseline: no regression
    p = sv_check("--symbols", store, "--expect", expect, "--baseline", base, *dumps)
    check(p.returncode == 0, "no regression against itself (exit %d)\n%s" % (p.returncode, p.stdout))

    # 4. a wrong expectation fails with a readable message
    bad_expect = os.path.join(SCRATCH, "bad-expect.txt")
    open(bad_expect, "w").write("dump: null.dmp\ncrasher!crash_null\ncrasher!not_there\n")
    p = sv_check("--symbols", store, "--expect", bad_expect, *dumps)
    check(p.returncode == 1 and "expected crasher!not_there, found crasher!sv_leaf" in p.stdout,
          "wrong chain names the mismatch:\n" + p.stdout)
    open(bad_expect, "w").write("dump: nosuch.dmp\ncrasher!main\n")
    p = sv_check("--symbols", store, "--expect", bad_expect, *dumps)
    check(p.returncode == 1 and "matched no dump" in p.stdout, "chain for an unknown dump fails")

    # 5. symbols under another debug id: mismatched, not just missing
    mism = os.path.join(SCRATCH, "store-mismatch")
    make_store(store, mism, lambda l: False)
    cdir = os.path.join(mism, "crasher")
    (old_id,) = os.listdir(cdir)
    os.rename(os.path.join(cdir, old_id), os.path.join(cdir, "0" * 33))
    p = sv_check("--symbols", mism, "--json", "-", "--max-missing", "0", dumps[0])
    r = json.loads(p.stdout)
    mm = r["dumps"][0]["modules_mismatched_symbols"]
    check(len(mm) == 1 and mm[0].startswith("crasher (dump has %s" % old_id),
          "mismatched symbols named: %s" % mm)
    check(p.returncode == 1 and any("--max-missing" in f for f in r["failures"]), "--max-missing fails")

    # 6. symbols from a symbol server (a local HTTP server on 127.0.0.1)
    handler = functools.partial(QuietHandler, directory=store)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % server.server_address[1]
    cache = os.path.join(SCRATCH, "http-cache")
    shutil.rmtree(cache, ignore_errors=True)
    p = sv_check("--symbols", url, "--symbols-cache", cache, "--expect", expect, "--json", "-", *dumps)
    check(p.returncode == 0, "check over HTTP passes (exit %d) %s" % (p.returncode, p.stderr))
    try:
        r = json.loads(p.stdout)
        for a, b in zip(r["dumps"], rep["dumps"]):
            check(a["crashing_thread"] == b["crashing_thread"],
                  "%s: same metrics over HTTP as from the local store" % a["name"])
    except ValueError:
        check(False, "check over HTTP prints JSON: %r" % p.stdout[:200])
    check(any(f.endswith(".sym") for _, _, fs in os.walk(cache) for f in fs),
          "downloaded symbols kept in --symbols-cache")
    p = sv_check("--symbols", url + "nothing-here/", "--max-missing", "0", dumps[0])
    check(p.returncode == 1 and "crasher" in p.stdout and "--max-missing" in p.stdout,
          "symbols missing on the server: named, and --max-missing fails:\n" + p.stdout)
    server.shutdown()

    # 7. bad input: one line on stderr, exit 2
    corrupt = os.path.join(SCRATCH, "corrupt.dmp")
    open(corrupt, "wb").write(b"MDMP" + b"\xff" * 60)
    truncated = os.path.join(SCRATCH, "truncated.dmp")
    open(truncated, "wb").write(open(dumps[0], "rb").read()[:20])
    notjson = os.path.join(SCRATCH, "notjson.json")
    open(notjson, "w").write("{\"dumps\": [")
    empty_expect = os.path.join(SCRATCH, "empty-expect.txt")
    open(empty_expect, "w").write("# nothing\n")
    syntax_expect = os.path.join(SCRATCH, "syntax-expect.txt")
    open(syntax_expect, "w").write("crasher main\n")
    bad = [
        ["--symbols", store, corrupt],
        ["--symbols", store, truncated],
        ["--symbols", store, os.path.join(SCRATCH, "missing.dmp")],
        ["--symbols", store, "--baseline", notjson, dumps[0]],
        ["--symbols", store, "--baseline", os.path.join(SCRATCH, "nobaseline.json"), dumps[0]],
        ["--symbols", store, "--expect", empty_expect, dumps[0]],
        ["--symbols", store, "--expect", syntax_expect, dumps[0]],
        [dumps[0]],
        ["--symbols", store],
        ["--symbols", store, "--min-cfi", "2", dumps[0]],
        ["--symbols", store, "--max-scanned", "x", dumps[0]],
        ["--symbols", store, "--bogus", dumps[0]],
        ["--symbols"],
        ["--symbols", os.path.join(SCRATCH, "no-such-store"), dumps[0]],
    ]
    for args in bad:
        p = sv_check(*args)
        check(p.returncode == 2, "check %s: exit 2, got %d (%s)" % (args[-2:], p.returncode, p.stderr.strip()))
        check(p.stderr.startswith("symverify: ") and p.stderr.count("\n") == 1,
              "check %s: one-line error, got %r" % (args[-2:], p.stderr))

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all check tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
