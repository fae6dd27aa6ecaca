#!/usr/bin/env python3
"""What a hostile or unusual dump makes stackwalk ask a debuginfod server.

Synthetic dumps (tests/stackwalk/mdbuild.py) with one thread per module, so
every module is looked up, against a small server of our own that records
each request and answers 404.  A table of modules says, for each, whether
its build-id may be asked for: only an ELF build-id (BpEL CodeView record)
of a module whose name can be a store path component; never a Windows
module (its code id is a time stamp and size), a module without any
CodeView record, or a name like "..".  Each dump must still give a report
(exit 0), and nothing is asked twice.

usage: test_hostile.py STACKWALK SCRATCH_DIR
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "stackwalk"))
import di_server  # noqa: E402
import mdbuild  # noqa: E402

STACKWALK, SCRATCH = sys.argv[1:3]
check = di_server.Checks()


class Recorder(http.server.BaseHTTPRequestHandler):
    paths = []

    def do_GET(self):
        Recorder.paths.append(self.path)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


# (name in the dump, CodeView build-id or None, may it be asked for?)
LINUX_MODULES = [
    ("libgood.so", bytes(range(1, 21)), True),             # a GNU build-id, 20 bytes
    ("libshort.so", b"\x42", True),                         # 1 byte: still an id
    ("libsha256.so", bytes(range(32)), True),               # 32 bytes
    ("liblong.so", bytes(range(63)), True),                 # 63: the longest libdebuginfod takes
    ("libtoolong.so", bytes(range(64)), False),             # 64: refused by libdebuginfod
    ("/usr/lib/../lib/libpath.so", b"\x07" * 20, True),     # a path: its last component is the name
    ("..", b"\x08" * 20, False),                            # never a store path component
    ("", b"\x09" * 20, False),                              # no name at all
    ("lib bad|name.so", b"\x0a" * 20, False),               # characters a store refuses
    ("libnocv.so", None, False),                            # no CodeView record: no build-id
    ("libempty.so", b"", False),                            # an empty BpEL record
]


def dump_of(modules, os_id=mdbuild.OS_LINUX):
    d = mdbuild.Dump("amd64", os_id)
    base = 0x10000000
    for i, (name, bid, _) in enumerate(modules):
        d.modules.append(mdbuild.Module(name, base + i * 0x100000, 0x10000, bid, timestamp=0x5F3A1B2C))
    S = 0x7FFF0000
    for i in range(len(modules)):
        st = mdbuild.Stack(S + i * 0x1000, 0x200, 8)
        d.threads.append(mdbuild.Thread(i + 1, "amd64", {"rip": base + i * 0x100000 + 0x100,
                                                         "rsp": S + i * 0x1000 + 0x10}, S + i * 0x1000,
                                        st.bytes()))
    d.exception = (1, 11, 1, 0, None)
    return d


def walk(label, dump, url):
    path = os.path.join(SCRATCH, label + ".dmp")
    dump.write(path)
    Recorder.paths = []
    try:
        r = subprocess.run([STACKWALK, "--json", "--verbose", path, "--debuginfod", url,
                            "--symbols-cache", os.path.join(SCRATCH, "cache-" + label)],
                           capture_output=True, text=True, timeout=120, env=di_server.env_without_debuginfod())
    except subprocess.TimeoutExpired:
        check(False, "%s: stackwalk hung" % label)
        return None
    check(r.returncode == 0, "%s: exit %d: %s" % (label, r.returncode, r.stderr))
    if r.returncode == 0:
        json.loads(r.stdout)
    return list(Recorder.paths)


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % httpd.server_address[1]
    try:
        asked = walk("linux", dump_of(LINUX_MODULES), url)
        if asked is not None:
            for name, bid, allowed in LINUX_MODULES:
                want = ["/buildid/%s/debuginfo" % bid.hex(), "/buildid/%s/executable" % bid.hex()] \
                    if allowed else []
                got = [p for p in asked if bid and p.split("/")[2:3] == [bid.hex()]]
                check(sorted(got) == sorted(want), "linux: %r: asked %s, want %s" % (name, got, want))
            check(len(asked) == len(set(asked)), "linux: something was asked twice: %s" % asked)
            check(all(p.startswith("/buildid/") for p in asked), "linux: odd requests: %s" % asked)
        # a Windows dump: code ids are time stamp + size, never a build-id
        win = [("app.exe", None, False), ("kernel32.dll", None, False)]
        asked = walk("windows", dump_of(win, os_id=2), url)
        if asked is not None:
            check(asked == [], "windows: asked %s" % asked)
    finally:
        httpd.shutdown()


if __name__ == "__main__":
    main()
    check.finish()
