#!/usr/bin/env python3
"""debuginfod faults in stackwalk: each one is a warning for the module, never
a failed walk.

The fixture program crashes in libdi.so, whose symbols only a debuginfod
server could give.  Against a server that is unreachable, that does not
have the build-id (a real debuginfod indexing something else: 404), that
never answers or trickles bytes past --symbols-download-timeout-secs (a
small server of our own), and that serves a corrupt debug file (a real
debuginfod whose indexed file was truncated afterwards), stackwalk must
exit 0 with a full report (the program's own frames symbolized, libdi.so
missing_symbols), print exactly one warning line naming libdi.so and the
problem, and leave nothing in the cache for it.

usage: test_faults.py STACKWALK SYMVERIFY DUMPSYMS FIXTURE_SOURCE SCRATCH_DIR
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import di_server  # noqa: E402

STACKWALK, SYMVERIFY, DUMPSYMS, SOURCE, SCRATCH = sys.argv[1:6]
check = di_server.Checks()


def run(args):
    return subprocess.run(args, capture_output=True, text=True, env=di_server.env_without_debuginfod())


def fault(label, url, store, dump, problem, *extra):
    """One walk against a bad server: report, one warning naming libdi.so."""
    cache = os.path.join(SCRATCH, "cache-" + label)
    shutil.rmtree(cache, ignore_errors=True)
    t0 = time.time()
    r = run([STACKWALK, "--json", "--verbose", dump, "--symbols-path", store, "--symbols-cache", cache,
             "--debuginfod", url] + list(extra))
    took = time.time() - t0
    if not check(r.returncode == 0, "%s: exit %d: %s" % (label, r.returncode, r.stderr)):
        return took
    rep = json.loads(r.stdout)
    frames = rep["crashing_thread"]["frames"]
    check(any(f.get("module") == "diprog" and f.get("function") == "main" for f in frames),
          "%s: the program's own frames are not symbolized" % label)
    lib = next(m for m in rep["modules"] if m["filename"] == "libdi.so")
    check(lib["missing_symbols"] and not lib["loaded_symbols"], "%s: libdi.so has symbols: %s" % (label, lib))
    warnings = [l for l in r.stderr.splitlines() if l.startswith(" WARN ") and "libdi.so" in l]
    check(len(warnings) == 1 and problem in warnings[0],
          "%s: want one warning about libdi.so saying %r, got %s" % (label, problem, warnings))
    check(not os.path.exists(os.path.join(cache, "libdi.so")), "%s: libdi.so landed in the cache" % label)
    print("%s: %s (%.1f s)" % (label, warnings[0] if warnings else "-", took))
    return took


def main():
    di_server.need("debuginfod", "gcc", "objcopy", "strip", "readelf")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.makedirs(SCRATCH, exist_ok=True)
    exe, lib, srv = di_server.build_fixture(SOURCE, SCRATCH)
    bid = di_server.build_id(lib)
    store = os.path.join(SCRATCH, "store")
    shutil.rmtree(store, ignore_errors=True)
    check(run([DUMPSYMS, "--store", store, exe]).returncode == 0, "dumpsyms --store failed")
    dump = os.path.join(SCRATCH, "di.dmp")
    r = run([SYMVERIFY, "capture", "-q", "-o", dump, "--", exe])
    if not check(os.path.isfile(dump), "capture wrote no dump: " + r.stderr):
        return

    # unreachable: a port nobody listens on
    fault("unreachable", "http://127.0.0.1:%d" % di_server.free_port(), store, dump, "connection refused")

    # 404: a real server that indexed only the program
    other = os.path.join(SCRATCH, "server-other")
    shutil.rmtree(other, ignore_errors=True)
    os.makedirs(other)
    shutil.copy2(exe, other)
    server = di_server.Debuginfod(other, SCRATCH, known_build_id=None)
    try:
        fault("404", server.url, store, dump, "debuginfo of build-id %s: not found" % bid)
        asked = server.client_requests()
        check(any("/buildid/%s/debuginfo 404" % bid in l for l in asked),
              "404: the server was not asked: %s" % asked)
    finally:
        server.stop()

    # a server that never answers, and one that never finishes
    for mode in ("stall", "trickle"):
        slow = di_server.Stalling(mode)
        try:
            took = fault(mode, slow.url, store, dump, "no complete answer within 2 s",
                         "--symbols-download-timeout-secs", "2")
            # one timeout for the dump, not one per module (libc, ld.so are
            # on the stack as well): after libdi.so's debug file (which
            # libdebuginfod may retry once), nothing else is asked for
            want = "/buildid/%s/debuginfo" % bid
            check(slow.requests and set(slow.requests) == {want},
                  "%s: requests %s, want only %s (not asked again)" % (mode, slow.requests, want))
            print("%s: %.1f s with a 2 s limit" % (mode, took))
        finally:
            slow.stop()

    # a corrupt debug file: indexed whole, truncated afterwards (the mtime
    # kept, so the server still serves it)
    debug = os.path.join(srv, "libdi.so.debug")
    server = di_server.Debuginfod(srv, SCRATCH, known_build_id=bid)
    try:
        st = os.stat(debug)
        with open(debug, "r+b") as f:
            f.truncate(st.st_size // 3)
        os.utime(debug, ns=(st.st_atime_ns, st.st_mtime_ns))
        fault("corrupt", server.url, store, dump, "/buildid/%s/debuginfo: " % bid)
        check(any("/buildid/%s/debuginfo 200" % bid in l for l in server.client_requests()),
              "corrupt: the truncated file was not served")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
    check.finish()
