#!/usr/bin/env python3
"""End to end: a system library's symbols on demand from a real debuginfod.

A fixture program crashes inside a fixture shared library (libdi.so) that
was stripped and whose debug file was split off; neither is in any symbol
store, only a `debuginfod -F` server on 127.0.0.1 has them.  Then:

  * without --debuginfod (and DEBUGINFOD_URLS unset or empty) stackwalk
    asks nobody: the library's frames stay unsymbolized and the server's
    log has no request;
  * with --debuginfod the library's frames get function, file:line and CFI
    trust, symbol_url names the server, --verbose says what was fetched and
    the seconds spent, and the .sym lands in --symbols-cache in store
    layout, byte for byte what `dumpsyms --inlines` makes of the same two
    files;
  * with the server stopped, a second walk symbolizes from the cache;
  * DEBUGINFOD_URLS alone turns it on, --no-debuginfod off again;
  * symverify check --debuginfod sees the same frames;
  * a server indexing the whole unstripped library is asked for its
    debuginfo only (it has the unwind tables the executable would give).

usage: test_stackwalk.py STACKWALK SYMVERIFY DUMPSYMS FIXTURE_SOURCE SCRATCH_DIR
"""
import json
import os
import resource
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import di_server  # noqa: E402

STACKWALK, SYMVERIFY, DUMPSYMS, SOURCE, SCRATCH = sys.argv[1:6]
check = di_server.Checks()


env_without_debuginfod = di_server.env_without_debuginfod


def run(args, env=None):
    return subprocess.run(args, capture_output=True, text=True, env=env or env_without_debuginfod())


def walk(dump, store, cache, *extra, env=None):
    r = run([STACKWALK, "--json", "--verbose", dump, "--symbols-path", store, "--symbols-cache", cache]
            + list(extra), env=env)
    report = None
    if check(r.returncode == 0, "stackwalk %s: exit %d: %s" % (" ".join(extra), r.returncode, r.stderr)):
        report = json.loads(r.stdout)
    return report, r.stderr


def lib_frames(report):
    t = report["crashing_thread"]
    return [f for f in t["frames"] if f.get("module") == "libdi.so"]


def module(report, name):
    return next((m for m in report["modules"] if m["filename"] == name), None)


def main():
    di_server.need("debuginfod", "gcc", "objcopy", "strip", "readelf", "eu-unstrip")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.makedirs(SCRATCH, exist_ok=True)
    exe, lib, srv = di_server.build_fixture(SOURCE, SCRATCH)
    bid = di_server.build_id(lib)

    # the program's own symbols are in a store; the library's nowhere
    store = os.path.join(SCRATCH, "store")
    shutil.rmtree(store, ignore_errors=True)
    r = run([DUMPSYMS, "--store", store, exe])
    check(r.returncode == 0, "dumpsyms --store: " + r.stdout + r.stderr)
    dump = os.path.join(SCRATCH, "di.dmp")
    r = run([SYMVERIFY, "capture", "-q", "-o", dump, "--", exe])
    if not check(os.path.isfile(dump), "capture wrote no dump: " + r.stderr):
        return

    server = di_server.Debuginfod(srv, SCRATCH, known_build_id=bid)
    try:
        cache = os.path.join(SCRATCH, "cache")
        tmp = os.path.join(SCRATCH, "tmp")
        os.makedirs(tmp, exist_ok=True)
        shutil.rmtree(cache, ignore_errors=True)

        # 1. off: no flag, DEBUGINFOD_URLS unset, then empty
        for env in (env_without_debuginfod(), env_without_debuginfod(DEBUGINFOD_URLS="")):
            rep, err = walk(dump, store, cache, env=env)
            if rep:
                frames = lib_frames(rep)
                check(frames and all(not f.get("function") for f in frames),
                      "off: library frames are symbolized: %s" % frames)
                check(module(rep, "libdi.so")["missing_symbols"], "off: libdi.so not missing_symbols")
        # --no-debuginfod wins over DEBUGINFOD_URLS
        rep, err = walk(dump, store, cache, "--no-debuginfod",
                        env=env_without_debuginfod(DEBUGINFOD_URLS=server.url))
        if rep:
            check(all(not f.get("function") for f in lib_frames(rep)), "--no-debuginfod: symbolized")
        check(server.client_requests() == [], "off: the server was asked: %s" % server.client_requests())
        check(not os.path.exists(os.path.join(cache, "libdi.so")), "off: something landed in the cache")

        # 2. on: fetched, converted, cached, used
        rep, err = walk(dump, store, cache, "--debuginfod", server.url,
                        env=env_without_debuginfod(TMPDIR=tmp))
        if rep:
            frames = lib_frames(rep)
            names = [f.get("function") for f in frames]
            check(names[:2] == ["di_crash", "di_outer"], "on: library frames %s" % names)
            check(all((f.get("file") or "").endswith("dilib.c") and f.get("line") for f in frames),
                  "on: library frames without file:line: %s" % frames)
            check(len(frames) >= 2 and frames[1]["trust"] == "cfi",
                  "on: di_outer not found by CFI: %s" % [f["trust"] for f in frames])
            inl = frames[0].get("inlines") if frames else None
            check(inl and inl[0]["function"] == "di_store", "on: di_store not an inline frame: %s" % inl)
            caller = [f for f in rep["crashing_thread"]["frames"] if f.get("module") == "diprog"]
            check(caller and caller[0].get("function") == "main" and caller[0]["trust"] == "cfi",
                  "on: main not found by CFI after the library frames: %s" % caller[:1])
            m = module(rep, "libdi.so")
            want_url = "%s/buildid/%s/debuginfo" % (server.url, bid)
            check(m["symbol_url"] == want_url, "on: symbol_url %r, want %r" % (m["symbol_url"], want_url))
            check(m["loaded_symbols"] and not m["missing_symbols"], "on: libdi.so not loaded: %s" % m)
            debug_id = m["debug_id"]
        check(any("libdi.so: debuginfod: fetched " + want_url in l and " s" in l for l in err.splitlines()),
              "on: no --verbose line naming the download and seconds: " + err)
        requests = server.client_requests()
        check(any("/buildid/%s/debuginfo 200" % bid in l for l in requests) and
              any("/buildid/%s/executable 200" % bid in l for l in requests),
              "on: the server log does not show debuginfo and executable: %s" % requests)
        check(os.listdir(tmp) == [], "on: downloads left in TMPDIR: %s" % os.listdir(tmp))
        sym = os.path.join(cache, "libdi.so", debug_id, "libdi.so.sym")
        if check(os.path.isfile(sym), "on: %s not in the cache" % sym):
            # the same as dumpsyms --inlines on the same two files
            want = run([DUMPSYMS, "--inlines", lib, os.path.join(srv, "libdi.so.debug")])
            check(want.returncode == 0, "dumpsyms --inlines: " + want.stderr)
            check(open(sym).read() == want.stdout, "cached .sym differs from dumpsyms --inlines")
            check(not any(n.startswith(".") for n in os.listdir(os.path.dirname(sym))),
                  "temporary files left beside the cached .sym")

        # 3. DEBUGINFOD_URLS alone turns it on (a fresh cache, so it fetches)
        cache2 = os.path.join(SCRATCH, "cache-env")
        shutil.rmtree(cache2, ignore_errors=True)
        rep, err = walk(dump, store, cache2, env=env_without_debuginfod(DEBUGINFOD_URLS=server.url))
        if rep:
            check([f.get("function") for f in lib_frames(rep)][:2] == ["di_crash", "di_outer"],
                  "DEBUGINFOD_URLS: library frames not symbolized")

        # 4. symverify check --debuginfod
        cache3 = os.path.join(SCRATCH, "cache-check")
        shutil.rmtree(cache3, ignore_errors=True)
        expect = os.path.join(SCRATCH, "expect.txt")
        open(expect, "w").write("dump: di.dmp\nlibdi.so!di_crash\nlibdi.so!di_outer\ndiprog!main\n")
        r = run([SYMVERIFY, "check", "--symbols", store, "--symbols-cache", cache3, "--debuginfod",
                 server.url, "--expect", expect, dump])
        check(r.returncode == 0, "symverify check --debuginfod: exit %d: %s%s" % (r.returncode, r.stdout,
                                                                                  r.stderr))
        # debuginfod as the only symbol source
        lib_only = os.path.join(SCRATCH, "expect-lib.txt")
        open(lib_only, "w").write("libdi.so!di_crash\nlibdi.so!di_outer\n")
        r = run([SYMVERIFY, "check", "--debuginfod", server.url, "--expect", lib_only, dump])
        check(r.returncode == 0, "symverify check with --debuginfod only: exit %d: %s%s" % (
            r.returncode, r.stdout, r.stderr))
        r = run([SYMVERIFY, "check", "--symbols", store, "--symbols-cache",
                 os.path.join(SCRATCH, "cache-check-off"), "--expect", expect, dump])
        check(r.returncode == 1, "symverify check without --debuginfod passed the chain: %s" % r.stdout)
    finally:
        server.stop()

    # 5. a server indexing the whole (unstripped) library: its debuginfo
    # has .eh_frame itself, so the executable is not asked for
    whole = os.path.join(SCRATCH, "server-whole")
    shutil.rmtree(whole, ignore_errors=True)
    os.makedirs(whole)
    subprocess.run(["eu-unstrip", lib, os.path.join(srv, "libdi.so.debug"), "-o",
                    os.path.join(whole, "libdi.so")], check=True)
    server2 = di_server.Debuginfod(whole, SCRATCH, known_build_id=bid)
    try:
        cache4 = os.path.join(SCRATCH, "cache-whole")
        shutil.rmtree(cache4, ignore_errors=True)
        rep, err = walk(dump, store, cache4, "--debuginfod", server2.url)
        if rep:
            frames = lib_frames(rep)
            check([f.get("function") for f in frames][:2] == ["di_crash", "di_outer"] and
                  frames[1]["trust"] == "cfi", "whole library: frames %s" % frames[:2])
        asked = [l for l in server2.client_requests() if bid in l]
        check(len(asked) == 1 and "/debuginfo 200" in asked[0],
              "whole library: want only the debuginfo request, got %s" % asked)
    finally:
        server2.stop()

    # 6. the first server is gone: the cache still has it, nothing is fetched
    rep, err = walk(dump, store, cache, "--debuginfod", server.url)
    if rep:
        check([f.get("function") for f in lib_frames(rep)][:2] == ["di_crash", "di_outer"],
              "server stopped: library frames not symbolized from the cache")
        check(not any(l.startswith(" WARN ") and "libdi.so" in l for l in err.splitlines()),
              "server stopped: a warning about libdi.so although the cache has it: " + err)


if __name__ == "__main__":
    main()
    check.finish()
