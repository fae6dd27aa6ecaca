#!/usr/bin/env python3
"""dumpsyms --debuginfod: a stripped binary whose separate debug file is under
no --debug-dir gets it from a real debuginfod server by build-id, checked
like any separate debug file (build-id, .gnu_debuglink CRC).

  * `dumpsyms --debuginfod URL BIN` writes what `dumpsyms BIN DEBUGFILE`
    writes; `--debuginfod` alone takes DEBUGINFOD_URLS, and without it
    (or with it empty) is a usage error;
  * without --debuginfod nothing is asked; with the debug file under a
    --debug-dir nothing is asked either;
  * packager mode says where the debug file came from;
  * a served debug file whose CRC differs from the .gnu_debuglink's is
    refused (one warning naming the binary and the problem), and the dump
    goes on without DWARF; an unreachable server is a warning too.

usage: test_dumpsyms.py DUMPSYMS FIXTURE_SOURCE SCRATCH_DIR
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import di_server  # noqa: E402

DUMPSYMS, SOURCE, SCRATCH = sys.argv[1:4]
check = di_server.Checks()


def run(args, **env):
    e = di_server.env_without_debuginfod(DEBUGINFOD_CACHE_PATH=os.path.join(SCRATCH, "client-cache"))
    e.update(env)
    return subprocess.run(args, capture_output=True, text=True, env=e)


def fresh_client_cache():
    shutil.rmtree(os.path.join(SCRATCH, "client-cache"), ignore_errors=True)


def main():
    di_server.need("debuginfod", "gcc", "objcopy", "strip", "readelf")
    os.makedirs(SCRATCH, exist_ok=True)
    _, lib, srv = di_server.build_fixture(SOURCE, SCRATCH)
    bid = di_server.build_id(lib)
    debug = os.path.join(srv, "libdi.so.debug")
    want = run([DUMPSYMS, lib, debug])
    check(want.returncode == 0 and "\nFUNC " in want.stdout, "dumpsyms BIN DEBUGFILE: " + want.stderr)
    plain = run([DUMPSYMS, lib])
    check("\nFUNC " not in plain.stdout, "the stripped library has functions without its debug file")

    server = di_server.Debuginfod(srv, SCRATCH, known_build_id=bid)
    try:
        # nothing asked without the flag, even with DEBUGINFOD_URLS set
        run([DUMPSYMS, lib], DEBUGINFOD_URLS=server.url)
        check(server.client_requests() == [], "asked without --debuginfod: %s" % server.client_requests())

        fresh_client_cache()
        r = run([DUMPSYMS, "--debuginfod", server.url, lib])
        check(r.returncode == 0 and r.stdout == want.stdout,
              "--debuginfod URL: differs from dumpsyms BIN DEBUGFILE (exit %d): %s" % (r.returncode, r.stderr))
        check(any("/buildid/%s/debuginfo 200" % bid in l for l in server.client_requests()),
              "--debuginfod URL: no debuginfo request in the server log")
        fresh_client_cache()
        r = run([DUMPSYMS, "--debuginfod=" + server.url, lib])
        check(r.returncode == 0 and r.stdout == want.stdout, "--debuginfod=URL: " + r.stderr)
        fresh_client_cache()
        r = run([DUMPSYMS, "--debuginfod", lib], DEBUGINFOD_URLS=server.url)
        check(r.returncode == 0 and r.stdout == want.stdout, "--debuginfod with DEBUGINFOD_URLS: " + r.stderr)
        for env in ({}, {"DEBUGINFOD_URLS": ""}):
            r = run([DUMPSYMS, "--debuginfod", lib], **env)
            check(r.returncode == 2 and "DEBUGINFOD_URLS" in r.stderr,
                  "--debuginfod without any URL (%s): exit %d: %s" % (env, r.returncode, r.stderr))

        # a --debug-dir that has it: the server is not asked
        ddir = os.path.join(SCRATCH, "debug-root")
        shutil.rmtree(ddir, ignore_errors=True)
        os.makedirs(os.path.join(ddir, ".build-id", bid[:2]))
        shutil.copy2(debug, os.path.join(ddir, ".build-id", bid[:2], bid[2:] + ".debug"))
        before = len(server.client_requests())
        fresh_client_cache()
        r = run([DUMPSYMS, "--debug-dir", ddir, "--debuginfod", server.url, lib])
        check(r.returncode == 0 and r.stdout == want.stdout, "--debug-dir + --debuginfod: " + r.stderr)
        check(len(server.client_requests()) == before, "asked although --debug-dir had the debug file")

        # packager mode names the source
        store = os.path.join(SCRATCH, "store")
        shutil.rmtree(store, ignore_errors=True)
        fresh_client_cache()
        r = run([DUMPSYMS, "--store", store, "--debuginfod", server.url, lib])
        line = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
        url = "%s/buildid/%s/debuginfo" % (server.url, bid)
        check(r.returncode == 0 and line and ("debug info from " + url) in line[0],
              "packager: want a line naming %s, got %s" % (url, r.stdout))
    finally:
        server.stop()

    # unreachable server: a warning, the dump goes on without DWARF
    fresh_client_cache()
    r = run([DUMPSYMS, "--debuginfod", "http://127.0.0.1:%d" % di_server.free_port(), lib])
    warn = [l for l in r.stderr.splitlines() if "warning" in l and "no DWARF" not in l]
    check(r.returncode == 0 and r.stdout == plain.stdout, "unreachable: exit %d, output differs" % r.returncode)
    check(len(warn) == 1 and "libdi.so" in warn[0] and "connection refused" in warn[0],
          "unreachable: want one warning naming libdi.so: %s" % r.stderr)

    # a debug file with the right build-id but another CRC: refused
    bad_root = os.path.join(SCRATCH, "server-bad-crc")
    shutil.rmtree(bad_root, ignore_errors=True)
    os.makedirs(bad_root)
    subprocess.run(["objcopy", "--add-section", ".note.extra=" + __file__, debug,
                    os.path.join(bad_root, "libdi.so.debug")], check=True)
    shutil.copy2(lib, bad_root)
    server = di_server.Debuginfod(bad_root, SCRATCH, known_build_id=bid)
    try:
        fresh_client_cache()
        r = run([DUMPSYMS, "--debuginfod", server.url, lib])
        warn = [l for l in r.stderr.splitlines() if "warning" in l and "no DWARF" not in l]
        check(r.returncode == 0 and r.stdout == plain.stdout, "bad CRC: used anyway, or failed: " + r.stderr)
        check(len(warn) == 1 and "libdi.so" in warn[0] and "CRC" in warn[0],
              "bad CRC: want one warning naming libdi.so and the CRC: %s" % r.stderr)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
    check.finish()
