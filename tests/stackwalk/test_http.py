#!/usr/bin/env python3
"""--symbols-url against a real HTTP server on 127.0.0.1: redirects, gzip
content-encoding, the ?code_file=&code_id= query, the on-disk cache (filled
atomically, used when the server is gone), 404/500/non-.sym answers, and the
code-id lookup for a module without a debug id.
usage: test_http.py STACKWALK SCRATCH_DIR"""
import gzip
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdbuild  # noqa: E402

STACKWALK, SCRATCH = sys.argv[1], sys.argv[2]
shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
failures = []
requests = []


def check(name, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


SERVED = os.path.join(SCRATCH, "served")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        requests.append((u.path, urllib.parse.parse_qs(u.query), self.headers.get("Accept-Encoding", "")))
        parts = u.path.split("/")
        if parts[1] == "redir":
            self.send_response(302)
            self.send_header("Location", "/syms/" + "/".join(parts[2:]) + ("?" + u.query if u.query else ""))
            self.end_headers()
            return
        if parts[1] == "fail":
            self.send_response(500)
            self.end_headers()
            return
        if parts[1] == "html":
            body = b"<html>not symbols</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if parts[1] == "codeid" and len(parts) == 5:
            # code-id lookup: answer with a redirect to the debug-id path
            target = CODE_ID_MAP.get("/".join(parts[2:]))
            if target:
                self.send_response(302)
                self.send_header("Location", "/syms/" + target)
                self.end_headers()
                return
        path = os.path.join(SERVED, *parts[2:]) if parts[1] == "syms" else None
        if not path or ".." in parts or not os.path.isfile(path):
            self.send_response(404)
            self.end_headers()
            return
        data = open(path, "rb").read()
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


CODE_ID_MAP = {}
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % port

# ---- a dump whose main module's symbols live only on the server ---------
app = mdbuild.Module("app", 0x400000, 0x10000, bytes(range(1, 21)))
body = "FILE 0 /src/app.c\nFUNC 1000 100 0 main\n1000 100 7 0\nFUNC 1300 100 0 leaf\n1300 100 40 0\n" \
       "STACK CFI INIT 1300 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
sym_path = mdbuild.write_sym(SERVED, app, "x86_64", body)
S = 0x7FFF0000
st = mdbuild.Stack(S, 0x400, 8)
st.put(S + 0x100, 0x401010)
dump = mdbuild.Dump("amd64")
dump.modules = [app]
dump.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401310, "rsp": S + 0x100}, S, st.bytes())]
dump.exception = (1, 11, 1, 0, None)
dump_path = os.path.join(SCRATCH, "app.dmp")
dump.write(dump_path)
cache = os.path.join(SCRATCH, "cache")


def walk(*args):
    p = subprocess.run([STACKWALK, "--json", dump_path, *args], capture_output=True, text=True, timeout=120)
    check("exit " + " ".join(args), p.returncode, 0)
    return json.loads(p.stdout) if p.returncode == 0 else None


def names(r):
    return [f["function"] for f in r["crashing_thread"]["frames"]] if r else None


r = walk("--symbols-url", BASE + "/redir", "--symbols-cache", cache)
check("download frames", names(r), ["leaf", "main"])
if r:
    m = r["modules"][0]
    check("symbol_url", m["symbol_url"], "%s/redir/app/%s/app.sym?code_file=app&code_id=%s" %
          (BASE, app.debug_id, app.build_id.hex()))
    check("loaded", (m["loaded_symbols"], m["missing_symbols"]), (True, False))
first = [q for q in requests if q[0].startswith("/redir/")]
check("query code_file", first[0][1].get("code_file") if first else None, ["app"])
check("query code_id", first[0][1].get("code_id") if first else None, [app.build_id.hex()])
check("gzip offered", "gzip" in (first[0][2] if first else ""), True)
cached = os.path.join(cache, "app", app.debug_id, "app.sym")
check("cache file", open(cached).read() if os.path.exists(cached) else None, open(sym_path).read())
leftovers = [f for _, _, fs in os.walk(cache) for f in fs if ".tmp" in f]
check("no temp files", leftovers, [])

# the cache answers when the server is gone
dead = socket.socket()
dead.bind(("127.0.0.1", 0))
dead_port = dead.getsockname()[1]
dead.close()
n_before = len(requests)
r = walk("--symbols-url", "http://127.0.0.1:%d/x" % dead_port, "--symbols-cache", cache)
check("cache frames", names(r), ["leaf", "main"])
check("no request with a warm cache", len(requests), n_before)

# absent, failing and non-.sym answers: missing symbols, still exit 0
for kind in ("syms-missing", "fail", "html"):
    prefix = {"syms-missing": "/nothing", "fail": "/fail", "html": "/html"}[kind]
    r = walk("--symbols-url", BASE + prefix)
    if r:
        check(kind + " missing", (r["modules"][0]["loaded_symbols"], r["modules"][0]["missing_symbols"]),
              (False, True))
# a dead server without cache: missing, exit 0
r = walk("--symbols-url", "http://127.0.0.1:%d/x" % dead_port, "--timeout", "5")
check("dead server missing", r["modules"][0]["missing_symbols"] if r else None, True)

# ---- code-id lookup for a Windows module without a debug id -------------
win = mdbuild.Module("app.dll", 0x10000000, 0x20000, None, timestamp=0x5E8F3C1A)
code_id = "5E8F3C1A20000"
win_debug = "0123456789ABCDEF0123456789ABCDEF1"
d = os.path.join(SERVED, "app.pdb", win_debug)
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "app.sym"), "w") as f:
    f.write("MODULE windows x86 %s app.pdb\nFUNC 1000 100 0 DllMain\n" % win_debug)
CODE_ID_MAP["app.dll/%s/app.sym" % code_id] = "app.pdb/%s/app.sym" % win_debug
wdump = mdbuild.Dump("x86", os_id=2)
wdump.modules = [win]
WS = 0x00200000
wdump.threads = [mdbuild.Thread(5, "x86", {"eip": 0x10001010, "esp": WS + 0x10}, WS, bytes(0x100))]
wdump.exception = (5, 0xC0000005, 0, 0x10, None)
dump_path = os.path.join(SCRATCH, "win.dmp")
wdump.write(dump_path)
r = walk("--symbols-url", BASE + "/codeid")
if r:
    check("code-id frame", r["crashing_thread"]["frames"][0]["function"], "DllMain")
    m = r["modules"][0]
    check("code-id module", (m["code_id"], m["debug_id"], m["debug_file"]), (code_id.lower(), win_debug, "app.pdb"))
    check("windows crash type", r["crash_info"]["type"], "EXCEPTION_ACCESS_VIOLATION")

server.shutdown()
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("http: %d requests, all checks passed" % len(requests))
