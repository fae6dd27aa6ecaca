#!/usr/bin/env python3
"""mac modules downstream of dumpsyms: symupload, symverify and stackwalk.

A hand-written `MODULE mac arm64 <UUID+0> App` .sym (what dumpsyms writes for
a Mach-O, debug file = the binary's name) goes through `symupload --store`
(key App/<id>/App.sym), `symverify lint` (clean) and `symverify diff` (a
lost function is a LOSS), and then a synthetic macOS arm64 minidump whose
module carries Crashpad's CodeView record for a Mach-O (RSDS, the LC_UUID
as GUID, age 0) is walked against that store: the module is found by its
binary's name, its code_id is the UUID in rust-minidump's form (lower-case
hex, no dashes), its debug id the UUID plus age 0, and the frames are
symbolized from the mac .sym.
usage: test_mac_modules.py SYMUPLOAD SYMVERIFY STACKWALK SCRATCH_DIR
"""
import json
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stackwalk"))
import mdbuild  # noqa: E402

SYMUPLOAD, SYMVERIFY, STACKWALK, SCRATCH = sys.argv[1:5]
failures = []


def check(name, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)


shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
uuid = bytes.fromhex("4c4c44a0555c3f1c9f3eb0e6a8d47f21")
debug_id = uuid.hex().upper() + "0"
sym = os.path.join(SCRATCH, "App.sym")
body = ["MODULE mac arm64 %s App" % debug_id, "INFO CODE_ID %s" % uuid.hex().upper(),
        "FILE 0 /src/main.m", "FUNC 1000 100 0 -[Crasher crash]", "1000 100 5 0",
        "FUNC 1100 100 0 main", "1100 100 9 0", "STACK CFI INIT 1000 100 .cfa: sp 0 + .ra: x30", ""]
with open(sym, "w") as f:
    f.write("\n".join(body))

# symupload: the store key is the debug file (the binary's name), the id
store = os.path.join(SCRATCH, "store")
p = run(SYMUPLOAD, "--store", store, sym)
check("symupload exit", (p.returncode, p.stderr), (0, ""))
stored = os.path.join(store, "App", debug_id, "App.sym")
check("symupload key", os.path.isfile(stored), True)

# symverify lint and diff
p = run(SYMVERIFY, "lint", sym)
check("lint exit", p.returncode, 0)
check("lint clean", "0 errors, 0 warnings" in p.stdout, True)
lost = os.path.join(SCRATCH, "App-lost.sym")
with open(lost, "w") as f:
    f.write("\n".join(b for b in body if "main" not in b or b.startswith("FILE")))
p = run(SYMVERIFY, "diff", sym, lost)
check("diff loss", (p.returncode, "funcs_lost (1):\n  main" in p.stdout, "result: LOSS" in p.stdout), (1, True, True))
p = run(SYMVERIFY, "diff", sym, sym)
check("diff same", p.returncode, 0)

# stackwalk: a macOS arm64 dump with the Mach-O module
guid = struct.pack("<IHH", int.from_bytes(uuid[0:4], "big"), int.from_bytes(uuid[4:6], "big"),
                   int.from_bytes(uuid[6:8], "big")) + uuid[8:]
app = mdbuild.Module("/Applications/App.app/Contents/MacOS/App", 0x100000000, 0x10000, None,
                     rsds=(guid, 0, "App"))
dump = mdbuild.Dump("arm64", os_id=0x8101)
dump.modules = [app]
S = 0x16F000000
st = mdbuild.Stack(S, 0x100, 8)
# -[Crasher crash] is a leaf whose CFI says the caller is in lr
dump.threads = [mdbuild.Thread(1, None, {"pc": 0x100001010, "sp": S, "fp": S + 0x20, "lr": 0x100001104},
                               S, st.bytes())]
dump.exception = (1, 1, 1, 0x20, None)
path = os.path.join(SCRATCH, "mac.dmp")
dump.write(path)
p = run(STACKWALK, "--json", path, "--symbols-path", store)
check("stackwalk exit", (p.returncode, p.stderr), (0, ""))
if p.returncode == 0:
    r = json.loads(p.stdout)
    m = r["modules"][0]
    check("module ids", (m["code_id"], m["debug_id"], m["debug_file"]), (uuid.hex(), debug_id, "App"))
    check("module symbols", (m["loaded_symbols"], m["missing_symbols"]), (True, False))
    fr = r["crashing_thread"]["frames"]
    check("frames", [(f["function"], f["trust"]) for f in fr][:2], [("-[Crasher crash]", "context"),
                                                                    ("main", "cfi")])
    check("os", r["system_info"]["os"], "Mac OS X")
p = run(STACKWALK, "--machine", path, "--symbols-path", store)
check("machine module line", any(line.startswith("Module|App|") for line in p.stdout.splitlines()), True)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("mac modules: symupload, symverify lint/diff and stackwalk agree")
