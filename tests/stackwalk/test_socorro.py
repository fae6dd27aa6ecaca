#!/usr/bin/env python3
"""Socorro's invocation, end to end, against symbol servers on 127.0.0.1.

Runs stackwalk exactly as Socorro's processor runs minidump-stackwalk
(--evil-json --symbols-cache --symbols-tmp --no-color --output-file
--log-file --symbols-url... --json --verbose=error DUMP), then 8 processes
at once on one cold cache (every .sym downloaded once, every report whole
and identical, no temporary files left) and again warm (no downloads);
--cyborg writes both outputs; an unreadable dump exits 1 with rust-minidump's
"ERROR <Name> - ..." log line and no output file.
usage: test_socorro.py STACKWALK SCRATCH_DIR"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdbuild  # noqa: E402

STACKWALK, SCRATCH = sys.argv[1], sys.argv[2]
shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
failures = []
downloads = {}
lock = threading.Lock()


def check(name, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


SERVED = os.path.join(SCRATCH, "served")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path).path.split("/")
        path = os.path.join(SERVED, *parts[2:]) if parts[1] == "syms" and ".." not in parts else None
        if not path or not os.path.isfile(path):
            self.send_response(404)
            self.end_headers()
            return
        with lock:
            downloads[path] = downloads.get(path, 0) + 1
        data = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # slow enough that concurrent processes overlap
        half = len(data) // 2
        self.wfile.write(data[:half])
        self.wfile.flush()
        time.sleep(0.2)
        self.wfile.write(data[half:])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % server.server_address[1]

# two modules with sizeable .sym files on the server
app = mdbuild.Module("app", 0x400000, 0x100000, bytes(range(1, 21)))
lib = mdbuild.Module("libfoo.so", 0x7F0000000000, 0x100000, bytes(range(101, 121)))
for m, funcs in ((app, ["main", "leaf"]), (lib, ["start_thread"])):
    lines = ["FILE 0 /src/%s.c" % m.name]
    for i in range(4000):  # padding functions: a few hundred KB
        lines.append("FUNC %x 10 0 pad_%d_with_a_long_name_to_make_the_file_big" % (0x10000 + i * 0x10, i))
    lines.append("FUNC 1000 100 0 %s" % funcs[0])
    lines.append("1000 100 10 0")
    if len(funcs) > 1:
        lines += ["FUNC 1100 100 0 %s" % funcs[1], "1100 100 20 0",
                  "STACK CFI INIT 1100 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^"]
    mdbuild.write_sym(SERVED, m, "x86_64", "\n".join(sorted(lines, key=lambda l: not l.startswith("FILE"))) + "\n")

S = 0x7FFF0000
st = mdbuild.Stack(S, 0x100, 8)
st.put(S, 0x401050)                 # leaf -> main
dump = mdbuild.Dump("amd64")
dump.modules = [app, lib]
dump.threads = [mdbuild.Thread(1, None, {"rip": 0x401110, "rsp": S}, S, st.bytes(), name="main"),
                mdbuild.Thread(2, None, {"rip": 0x7F0000001010, "rsp": S + 0x80}, S + 0x80, bytes(0x80))]
dump.exception = (1, 11, 1, 0x10, None)
DUMP = os.path.join(SCRATCH, "crash.dmp")
dump.write(DUMP)
EVIL = os.path.join(SCRATCH, "crash.json")
with open(EVIL, "w") as f:
    json.dump({"ModuleSignatureInfo": "{\"Mozilla Corporation\": [\"app\"]}"}, f)


def socorro_cmd(out, log, cache, tmp, dump_path=DUMP):
    return [STACKWALK, "--evil-json=" + EVIL, "--symbols-cache=" + cache, "--symbols-tmp=" + tmp, "--no-color",
            "--output-file=" + out, "--log-file=" + log, "--symbols-url=" + BASE + "/missing",
            "--symbols-url=" + BASE + "/syms", "--json", "--verbose=error", dump_path]


CACHE, TMP = os.path.join(SCRATCH, "cache"), os.path.join(SCRATCH, "tmp")


def run_many(tag, n):
    procs = []
    for i in range(n):
        out, log = os.path.join(SCRATCH, "%s%d.json" % (tag, i)), os.path.join(SCRATCH, "%s%d.log" % (tag, i))
        procs.append((subprocess.Popen(socorro_cmd(out, log, CACHE, TMP)), out, log))
    reports = []
    for p, out, log in procs:
        rc = p.wait(timeout=120)
        if rc != 0:
            failures.append("%s: exit %d: %s" % (tag, rc, open(log).read()))
            continue
        reports.append(json.load(open(out)))
    return reports


# ---- 8 processes, cold cache ------------------------------------------------
cold = run_many("cold", 8)
for path, n in sorted(downloads.items()):
    check("cold downloads of %s" % os.path.relpath(path, SERVED), n, 1)
check("cold: both files downloaded", len(downloads), 2)
if cold:
    r = cold[0]
    check("functions", [f["function"] for f in r["crashing_thread"]["frames"]], ["leaf", "main"])
    mods = {m["filename"]: m for m in r["modules"]}
    check("loaded", (mods["app"]["loaded_symbols"], mods["app"]["missing_symbols"]), (True, False))
    check("cert", (mods["app"]["cert_subject"], r["modules_contains_cert_info"]), ("Mozilla Corporation", True))
    urls = sorted(m["symbol_url"] or "" for m in cold[0]["modules"])
    # downloaded, or found in the cache another process filled
    check("symbol urls", all(u.startswith(BASE + "/syms/") or u.startswith(CACHE) for u in urls), True)
    check("some downloaded", any(u.startswith(BASE) for x in cold for u in (m["symbol_url"] or "" for m in x["modules"])),
          True)
    strip = lambda rep: json.dumps([t["frames"] for t in rep["threads"]])  # noqa: E731
    check("identical frames", len({strip(x) for x in cold}), 1)
for root, _, files in os.walk(CACHE):
    for f in files:
        if not f.endswith((".sym", ".lock")):
            failures.append("cache: stray file %s" % os.path.join(root, f))
check("tmp left empty", os.listdir(TMP) if os.path.isdir(TMP) else [], [])

# ---- 8 processes, warm cache: nothing downloaded -----------------------------
downloads.clear()
warm = run_many("warm", 8)
check("warm downloads", downloads, {})
if warm and cold:
    check("warm = cold frames", [t["frames"] for t in warm[0]["threads"]], [t["frames"] for t in cold[0]["threads"]])

# ---- --cyborg: human on the output, JSON in the file ---------------------------
cy = os.path.join(SCRATCH, "cyborg.json")
p = subprocess.run([STACKWALK, "--cyborg=" + cy, "--symbols-cache=" + CACHE, "--symbols-url=" + BASE + "/syms",
                    DUMP], capture_output=True, text=True, timeout=60)
check("cyborg exit", p.returncode, 0)
check("cyborg human", "Crash reason:  SIGSEGV / SEGV_MAPERR" in p.stdout, True)
if os.path.exists(cy):
    check("cyborg json", json.load(open(cy))["crash_info"]["type"], "SIGSEGV / SEGV_MAPERR")
else:
    failures.append("cyborg: no JSON file")

# ---- an unreadable dump: exit 1, the ERROR line, no output file ---------------
bad = os.path.join(SCRATCH, "bad.dmp")
with open(bad, "wb") as f:
    f.write(b"NOTADUMP" * 8)
out, log = os.path.join(SCRATCH, "bad.json"), os.path.join(SCRATCH, "bad.log")
p = subprocess.run(socorro_cmd(out, log, CACHE, TMP, bad), capture_output=True, text=True, timeout=60)
check("bad dump exit", p.returncode, 1)
check("bad dump: no output file", os.path.exists(out), False)
logtext = open(log).read() if os.path.exists(log) else ""
check("bad dump log line", logtext.startswith("ERROR HeaderMismatch - "), True)
missing = os.path.join(SCRATCH, "nothing-here.dmp")
p = subprocess.run(socorro_cmd(out, log, CACHE, TMP, missing), capture_output=True, text=True, timeout=60)
check("missing dump exit", p.returncode, 1)
check("missing dump log line", "ERROR FileNotFound - " in open(log).read(), True)

# ---- --dump lists the streams ------------------------------------------------
p = subprocess.run([STACKWALK, "--dump", DUMP], capture_output=True, text=True, timeout=60)
check("dump listing", (p.returncode, "ThreadListStream" in p.stdout, "libfoo.so" in p.stdout), (0, True, True))

server.shutdown()
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("socorro: all checks passed")
