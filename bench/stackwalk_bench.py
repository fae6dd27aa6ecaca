#!/usr/bin/env python3
"""Helpers for stackwalk-bench.sh.

  stackwalk_bench.py gen OUT.sym MEGABYTES   write a synthetic .sym of about that size
  stackwalk_bench.py dump SYM OUT.dmp STORE  a minidump whose main module is SYM's
                                             module, crashed 8 frames deep in it, and
                                             a store holding SYM (symlinked)
  stackwalk_bench.py batch STACKWALK DUMP STORE N JOBS
                                             N processes on the local store, JOBS at
                                             a time: total wall, peak RSS per process
  stackwalk_bench.py cache STACKWALK DUMP STORE N SCRATCH
                                             N processes at once against STORE served
                                             on 127.0.0.1, sharing one --symbols-cache:
                                             cold (empty cache), then warm
"""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "stackwalk"))
import mdbuild  # noqa: E402


def gen(path, megabytes):
    rnd = random.Random(1234)
    target = megabytes << 20
    debug_id = "B1A5B1A5B1A5B1A5B1A5B1A5B1A5B1A50"
    with open(path, "w") as f:
        f.write("MODULE Linux x86_64 %s bigmodule\nINFO CODE_ID A5B1A5B1A5B1A5B1A5B1A5B1A5B1A5B1\n" % debug_id)
        for i in range(2000):
            f.write("FILE %d /build/src/component%d/file%d.cc\n" % (i, i % 50, i))
        for i in range(5000):
            f.write("INLINE_ORIGIN %d ns%d::Class%d::inlined_method_%d(int, char const*)\n" % (i, i % 7, i % 300, i))
        addr, written, n = 0x10000, f.tell(), 0
        cfi = []
        while written < target:
            nlines = rnd.randint(10, 80)
            size = nlines * 8
            chunk = ["FUNC %x %x 0 ns%d::Class%d::method_%d(std::vector<int> const&, unsigned long)\n"
                     % (addr, size, n % 7, n % 300, n)]
            if n % 3 == 0:
                chunk.append("INLINE 0 %d %d %d %x %x\n" % (rnd.randint(1, 900), rnd.randrange(2000),
                                                           rnd.randrange(5000), addr + 8, 16))
            for k in range(nlines):
                chunk.append("%x 8 %d %d\n" % (addr + 8 * k, 10 + k, n % 2000))
            s = "".join(chunk)
            f.write(s)
            written += len(s)
            cfi.append("STACK CFI INIT %x %x .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
                       "STACK CFI %x .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n" % (addr, size, addr + 1))
            written += len(cfi[-1])
            addr += size + 16
            n += 1
        f.write("".join(cfi))
    print("%s: %d functions, %.0f MB" % (path, n, os.path.getsize(path) / 1e6))


def dump(sym, out, store):
    funcs = []
    with open(sym, "rb") as f:
        head = f.readline().split()
        debug_id, name = head[3].decode(), b" ".join(head[4:]).decode()
        for line in f:
            if line.startswith(b"FUNC "):
                parts = line.split()
                if parts[1] == b"m":
                    parts = parts[1:]
                funcs.append((int(parts[1], 16), int(parts[2], 16)))
    funcs.sort()
    top = funcs[-1][0] + funcs[-1][1]
    picks = [funcs[(i * len(funcs)) // 9 + len(funcs) // 18] for i in range(8)]
    g = bytearray.fromhex(debug_id[:32])
    g[0:4], g[4:6], g[6:8] = g[0:4][::-1], g[4:6][::-1], g[6:8][::-1]
    mod = mdbuild.Module(name, 0x555500000000, (top + 0xfff) & ~0xfff, bytes(g))
    assert mod.debug_id == debug_id, (mod.debug_id, debug_id)
    S = 0x7FFF00000000
    st = mdbuild.Stack(S, 0x2000, 8)
    for i, (a, size) in enumerate(picks[1:]):
        st.put(S + 0x100 + 8 * i, mod.base + a + 1)
    d = mdbuild.Dump("amd64")
    d.modules = [mod]
    a0 = picks[0][0]
    d.threads = [mdbuild.Thread(1, "amd64", {"rip": mod.base + a0, "rsp": S + 0x100, "rbp": 0}, S, st.bytes())]
    d.exception = (1, 11, 1, 0, None)
    d.write(out)
    target = os.path.join(store, name, debug_id)
    os.makedirs(target, exist_ok=True)
    link = os.path.join(target, name + ".sym")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.abspath(sym), link)


def _run_all(cmds, jobs):
    """Runs cmds, jobs at a time; returns (wall seconds, peak RSS MB of the
    largest process, failures)."""
    import subprocess
    import time
    t0 = time.monotonic()
    running, pending, failed, peak = [], list(cmds), 0, 0
    while pending or running:
        while pending and len(running) < jobs:
            running.append(subprocess.Popen(pending.pop(0), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        pid, status, usage = os.wait4(-1, 0)
        peak = max(peak, usage.ru_maxrss)
        for p in running:
            if p.pid == pid:
                running.remove(p)
                p.returncode = os.waitstatus_to_exitcode(status)
                failed += p.returncode != 0
    return time.monotonic() - t0, peak / 1024.0, failed


def batch(stackwalk, dmp, store, n, jobs):
    cmd = [stackwalk, "--json", dmp, "--symbols-path", store]
    wall, rss, failed = _run_all([cmd] * n, jobs)
    print("batch of %d (%d at a time)      wall %6.2f s   peak RSS %8.1f MB per process%s"
          % (n, jobs, wall, rss, "   FAILED: %d" % failed if failed else ""))


def cache(stackwalk, dmp, store, n, scratch):
    import http.server
    import shutil
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=store, **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    cache_dir, tmp = os.path.join(scratch, "cache"), os.path.join(scratch, "tmp")
    shutil.rmtree(cache_dir, ignore_errors=True)
    cmd = [stackwalk, "--json", "--symbols-cache=" + cache_dir, "--symbols-tmp=" + tmp, "--symbols-url=" + url, dmp]
    for label in ("cold", "warm"):
        wall, rss, failed = _run_all([cmd] * n, n)
        print("shared cache, %d at once, %s   wall %6.2f s   peak RSS %8.1f MB per process%s"
              % (n, label, wall, rss, "   FAILED: %d" % failed if failed else ""))
    srv.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "batch":
        batch(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif sys.argv[1] == "cache":
        cache(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        dump(sys.argv[2], sys.argv[3], sys.argv[4])
