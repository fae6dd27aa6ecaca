"""Helpers for the debuginfod tests: a real elfutils `debuginfod` server on
127.0.0.1, fixture libraries split into stripped binary + separate debug
file, and a server that never finishes an answer.

debuginfod 0.188 has no option to listen on one address only: it listens on
every interface of the test machine, on a free port picked at run time, and
is only ever spoken to through 127.0.0.1.  It scans its directory once
(-t 0, no rescans) and the helper waits until that scan is over, so a test
never races the index.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


class Checks:
    """The tests' soft assertions: every failed check is printed and
    counted, and finish() ends the test (exit 1 on any failure)."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what)
        return cond

    def finish(self):
        if self.failures:
            print("%d failure(s)" % len(self.failures))
            sys.exit(1)
        print("PASS")


def skip(why):
    """Exit 77 (meson: skipped) outside CI, fail inside it."""
    print("SKIP:" if not os.environ.get("CI") else "FAIL:", why)
    sys.exit(1 if os.environ.get("CI") else 77)


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            skip("%s is not installed (Debian: %s)" % (t, {"debuginfod": "debuginfod", "eu-unstrip": "elfutils"}.get(t, t)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, "%s has no build-id" % path
    return m.group(1)


def split_debug(path, debug_path):
    """objcopy --only-keep-debug into debug_path, strip path, link the two."""
    subprocess.run(["objcopy", "--only-keep-debug", path, debug_path], check=True)
    subprocess.run(["strip", "--strip-all", path], check=True)
    subprocess.run(["objcopy", "--add-gnu-debuglink=" + debug_path, path], check=True,
                   cwd=os.path.dirname(debug_path) or ".")


def build_fixture(source, scratch):
    """libdi.so (stripped, its debug file split off) and the program using
    it, in scratch/run; scratch/server gets the library and its debug file,
    the run directory keeps no debug file.  Returns (program, library,
    server directory)."""
    srv = os.path.join(scratch, "server")
    run_dir = os.path.join(scratch, "run")
    for d in (srv, run_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    lib = os.path.join(run_dir, "libdi.so")
    subprocess.run(["gcc", "-g", "-O1", "-fomit-frame-pointer", "-shared", "-fPIC", "-DDI_LIB", source,
                    "-o", lib], check=True)
    debug = os.path.join(run_dir, "libdi.so.debug")
    split_debug(lib, debug)
    exe = os.path.join(run_dir, "diprog")
    subprocess.run(["gcc", "-g", "-O1", source, "-o", exe, "-L" + run_dir, "-ldi",
                    "-Wl,-rpath," + run_dir], check=True)
    shutil.copy2(lib, srv)
    shutil.move(debug, os.path.join(srv, "libdi.so.debug"))
    return exe, lib, srv


def env_without_debuginfod(**extra):
    """The test's environment without any DEBUGINFOD_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
    env.update(extra)
    return env


class Debuginfod:
    """`debuginfod -F DIR` on a free port; stop() ends it."""

    def __init__(self, root, scratch, known_build_id=None):
        self.root = root
        self.db = os.path.join(scratch, "debuginfod-%d.sqlite" % os.getpid())
        self.log_path = os.path.join(scratch, "debuginfod-%d.log" % os.getpid())
        for p in (self.db, self.db + "-wal", self.db + "-shm"):
            if os.path.exists(p):
                os.unlink(p)
        self.proc = None
        for _ in range(5):  # the port may be taken between free_port() and bind
            self.port = free_port()
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen(
                ["debuginfod", "-F", "-d", self.db, "-p", str(self.port), "-t", "0", "-g", "0",
                 "-c", "1", "--disable-source-scan", root],
                stdout=self.log, stderr=subprocess.STDOUT)
            if self._wait_scanned(known_build_id):
                break
            self.stop()
        else:
            raise RuntimeError("debuginfod did not start; log:\n" + open(self.log_path).read())
        self.url = "http://127.0.0.1:%d" % self.port

    def _get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""

    def metrics(self):
        status, body = self._get("/metrics")
        out = {}
        for line in body.decode().splitlines():
            m = re.match(r"^(\S+) (\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def _wait_scanned(self, known_build_id):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                m = self.metrics()
            except (OSError, ValueError):
                time.sleep(0.1)
                continue
            done = (m.get('thread_work_total{role="traverse"}', 0) >= 1 and
                    m.get('thread_work_pending{role="scan"}', 1) == 0 and
                    m.get('thread_busy{role="scan"}', 1) == 0 and
                    m.get('thread_busy{role="traverse"}', 1) == 0)
            if done and known_build_id:
                done = self._get("/buildid/%s/debuginfo" % known_build_id)[0] == 200
            if done:
                self.requests_before = self.buildid_requests()
                return True
            time.sleep(0.1)
        return False

    def buildid_requests(self):
        """The /buildid/ GET lines of the server's log so far."""
        self.log.flush()
        return [l for l in open(self.log_path).read().splitlines() if "GET /buildid/" in l]

    def client_requests(self):
        """/buildid/ requests made after the server was ready (not our probes)."""
        return self.buildid_requests()[len(self.requests_before):]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None


class Stalling:
    """A server that accepts, reads the request and never answers (stall),
    or answers 200 and then sends one byte now and then (trickle)."""

    def __init__(self, mode="stall"):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.requests = []  # request paths
        self.stopped = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            data = c.recv(65536)
            if not data:
                return  # opened and closed again without asking
            head = data.decode("latin-1").split(" ")
            self.requests.append(head[1] if len(head) > 1 else "?")
            if self.mode == "trickle":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
                while not self.stopped.is_set():
                    c.sendall(b"\0")
                    time.sleep(0.05)
            else:
                self.stopped.wait()
        except OSError:
            pass

    def stop(self):
        self.stopped.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
