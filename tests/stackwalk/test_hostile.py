#!/usr/bin/env python3
"""Hostile minidumps: each must give exit 1 with a message (nothing
readable) or a report (exit 0), never a crash, a hang or a runaway walk.
usage: test_hostile.py STACKWALK SCRATCH_DIR"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdbuild  # noqa: E402

STACKWALK, SCRATCH = sys.argv[1], sys.argv[2]
shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
failures = []


def run(name, data, want_rc, extra=(), check=None):
    path = os.path.join(SCRATCH, name + ".dmp")
    with open(path, "wb") as f:
        f.write(data)
    try:
        p = subprocess.run([STACKWALK, "--json", path, *extra], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        failures.append("%s: hung" % name)
        return None
    if p.returncode != want_rc:
        failures.append("%s: exit %d, want %d (stderr: %s)" % (name, p.returncode, want_rc, p.stderr.strip()))
        return None
    # rust-minidump's log line, which Socorro keys its status off
    if want_rc == 1 and not re.match(r"ERROR [A-Za-z]+ - \S", p.stderr):
        failures.append("%s: no 'ERROR <Name> - ...' line: %r" % (name, p.stderr))
    if want_rc == 0:
        r = json.loads(p.stdout)
        if check:
            msg = check(r)
            if msg:
                failures.append("%s: %s" % (name, msg))
        return r
    return None


def header(count, dir_rva, version=0xA793, sig=0x504D444D):
    return struct.pack("<IIIIIIQ", sig, version, count, dir_rva, 0, 0, 0)


def base_dump():
    S = 0x7FFF0000
    st = mdbuild.Stack(S, 0x200, 8)
    d = mdbuild.Dump("amd64")
    d.modules = [mdbuild.Module("app", 0x400000, 0x10000, b"\x01" * 20)]
    d.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401000, "rsp": S + 0x10, "rbp": S + 0x20}, S, st.bytes())]
    d.exception = (1, 11, 1, 0, None)
    return d


# ---- not a minidump at all: exit 1 --------------------------------------
run("empty", b"", 1)
run("tiny", b"MDMP", 1)
run("bad-signature", header(0, 32, sig=0x12345678), 1)
run("bad-version", header(0, 32, version=0x1234), 1)
run("huge-stream-count", header(0xFFFFFFFF, 32), 1)
run("directory-past-eof", header(4, 0x7FFFFFF0), 1)
run("no-streams", header(0, 32), 1)
# every stream points outside the file
run("streams-past-eof", header(3, 32) + b"".join(struct.pack("<III", t, 0x1000, 0xFFFFFF00) for t in (3, 4, 6)), 1)

# ---- damaged but readable: a (partial) report -----------------------------
good = base_dump().build()
run("good", good, 0, check=lambda r: None if r["crash_info"]["crashing_thread"] == 0 else "no crashing thread")
# Truncated in the middle of stream data.  mdbuild writes the directory
# last, so a cut file loses its directory first and never gets as far as
# the streams; these copies have the directory moved to the front (every
# RVA inside the streams moved with the data), then lose their tail.


def directory_first(blob):
    count, dir_rva = struct.unpack_from("<II", blob, 8)
    entries = [struct.unpack_from("<III", blob, dir_rva + 12 * i) for i in range(count)]
    shift = (12 * count + 7) // 8 * 8
    body = bytearray(blob[32:dir_rva])

    def move(at):  # an RVA at file offset `at` (inside the body)
        old = struct.unpack_from("<I", body, at - 32)[0]
        if old:
            struct.pack_into("<I", body, at - 32, old + shift)

    for stype, size, rva in entries:
        if stype == mdbuild.SYSTEM_INFO:
            move(rva + 24)  # CSD version string
        elif stype == mdbuild.THREAD_LIST:
            for i in range(struct.unpack_from("<I", blob, rva)[0]):
                move(rva + 4 + 48 * i + 36)  # stack memory
                move(rva + 4 + 48 * i + 44)  # context
        elif stype == mdbuild.MODULE_LIST:
            for i in range(struct.unpack_from("<I", blob, rva)[0]):
                move(rva + 4 + 108 * i + 20)  # name
                move(rva + 4 + 108 * i + 80)  # CodeView record
        elif stype == mdbuild.EXCEPTION:
            move(rva + 164)  # context
        else:
            raise ValueError("directory_first: stream type %d not modelled" % stype)
    head = bytearray(blob[:32])
    struct.pack_into("<I", head, 12, 32)
    directory = b"".join(struct.pack("<III", t, n, rva + shift) for t, n, rva in entries).ljust(shift, b"\0")
    return bytes(head) + directory, bytes(body), {t: (rva + shift, n) for t, n, rva in entries}


def truncated(name, data, keep_threads=None, keep_modules=None):
    """Cut behind an intact directory: exit 1 naming the stream that ran
    past the end, or a report with what was intact; never the directory."""
    path = os.path.join(SCRATCH, name + ".dmp")
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([STACKWALK, "--json", path], capture_output=True, text=True, timeout=30)
    if "directory" in p.stderr:
        failures.append("%s: stopped at the directory, not in the streams: %s" % (name, p.stderr.strip()))
    elif p.returncode == 1:
        # rust-minidump's log form: "ERROR <Name> - <file>: ... <stream>: ... past the end"
        if not (p.stderr.startswith("ERROR ") and path in p.stderr and "stream" in p.stderr
                and "past the end" in p.stderr):
            failures.append("%s: exit 1 without naming the stream cut short: %s" % (name, p.stderr.strip()))
        elif keep_threads or keep_modules:
            failures.append("%s: exit 1, but streams before the cut were intact: %s" % (name, p.stderr.strip()))
    elif p.returncode == 0:
        r = json.loads(p.stdout)
        if keep_threads is not None and r["thread_count"] != keep_threads:
            failures.append("%s: %d threads, want %d" % (name, r["thread_count"], keep_threads))
        if keep_modules is not None and len(r["modules"]) != keep_modules:
            failures.append("%s: %d modules, want %d" % (name, len(r["modules"]), keep_modules))
    else:
        failures.append("%s: exit %d: %s" % (name, p.returncode, p.stderr.strip()))
    print("%-22s %5d bytes: exit %d %s" % (name, len(data), p.returncode, p.stderr.strip()[:120]))


head, body, where = directory_first(good)
# The moved copy, whole, must read like the original.
whole = run("directory-first", head + body, 0, check=lambda r: None if (
    r["crash_info"]["crashing_thread"] == 0 and r["thread_count"] == 1 and len(r["modules"]) == 1 and
    r["modules"][0]["filename"] == "app" and r["system_info"]["os_ver"].endswith("Linux 6.1.0 #1 SMP test"))
    else "the relaid dump reads differently: %s" % json.dumps(r)[:400])
for cut in (0.3, 0.6, 0.9):
    truncated("truncated-%d" % int(cut * 100), head + body[:int(len(body) * cut)])
# Cut inside one stream: every stream before it is still read.
order = sorted(where, key=lambda t: where[t][0])
for stype in order:
    rva, size = where[stype]
    cut = rva + size // 2 - len(head)
    before = {t for t in order if where[t][0] + where[t][1] <= rva}
    truncated("truncated-in-stream-%d" % stype, head + body[:cut],
              keep_threads=1 if mdbuild.THREAD_LIST in before else None,
              keep_modules=1 if mdbuild.MODULE_LIST in before else None)


def with_stream(dump, stype, payload):
    dump.extra.append((stype, payload))
    return dump.build()


# thread list claiming 2^32-1 threads
d = base_dump()
d.threads = []
run("thread-count-huge", with_stream(d, 3, struct.pack("<I", 0xFFFFFFFF) + b"\0" * 48), 0,
    check=lambda r: None if r["thread_count"] <= 1 else "kept %d threads" % r["thread_count"])
# module list claiming many modules, names pointing anywhere
d = base_dump()
d.modules = []
mod = struct.pack("<QIIII", 0x400000, 0x1000, 0, 0, 0xFFFFFFF0) + b"\0" * 52 + struct.pack("<IIII", 0xFFFF, 0xFFFFFF00, 0, 0) + b"\0" * 16
run("module-bad-rvas", with_stream(d, 4, struct.pack("<I", 1000) + mod), 0)
# module with base+size overflowing
d = base_dump()
d.modules = []
mod = struct.pack("<QIIII", 0xFFFFFFFFFFFFF000, 0x10000, 0, 0, 0) + b"\0" * 76
run("module-overflow", with_stream(d, 4, struct.pack("<I", 1) + mod), 0,
    check=lambda r: None if not r["modules"] else "overflowing module kept")
# memory list with huge sizes and overlapping ranges
d = base_dump()
mem = struct.pack("<I", 3) + struct.pack("<QII", 0x1000, 0xFFFFFFFF, 0) + struct.pack("<QII", 0x1000, 16, 0) + \
    struct.pack("<QII", 0x1008, 16, 0)
run("memory-huge-overlap", with_stream(d, 5, mem), 0)
# memory64 list whose ranges run past the file
d = base_dump()
run("memory64-past-eof", with_stream(d, 9, struct.pack("<QQ", 2, 0) + struct.pack("<QQ", 0, 1 << 40) * 2), 0)
# thread names with a wild RVA, unloaded modules with a bad header
d = base_dump()
d.extra.append((24, struct.pack("<I", 5) + struct.pack("<IQ", 1, 1 << 62)))
run("thread-name-wild", with_stream(d, 14, struct.pack("<III", 4, 1, 99)), 0)
# the streams read for rust-minidump's schema, damaged: each is a soft
# error in the report, never a crash
def soft(name, stype, payload):
    run(name, with_stream(d, stype, payload), 0,
        check=lambda r: None if r["soft_errors"] or r["handles"] is not None or r["mac_crash_info"] is not None
        else "damage not reported")


soft("handles-huge-count", 12, struct.pack("<IIII", 16, 32, 0xFFFFFFFF, 0) + struct.pack("<QII", 4, 0xFFFFFFF0, 7))
soft("handles-bad-header", 12, struct.pack("<IIII", 0xFFFF, 2, 1, 0))
soft("mac-crash-info-wild", 0x4D7A0001, struct.pack("<III", 0x4D7A0001, 20, 40) +
     b"".join(struct.pack("<II", 0xFFFF, 0xFFFFFF00 + i) for i in range(20)))
soft("mac-crash-info-short-record", 0x4D7A0001, struct.pack("<III", 0x4D7A0001, 1, 40) + struct.pack("<II", 8, 40))
run("mac-boot-args-wild", with_stream(d, 0x4D7A0002, struct.pack("<II", 0x4D7A0002, 0xFFFFFFF0)), 0)
soft("memory-info-huge", 16, struct.pack("<IIQ", 16, 48, 1 << 40))
run("limits-garbage", with_stream(d, 0x4D7A0003, bytes(range(256)) * 4), 0)
run("exception-params-overflow", with_stream(d, 6, struct.pack("<IIIIQQII", 1, 0, 0xC0000005, 0, 0, 0, 0xFFFF, 0) +
                                           b"\xff" * 120 + struct.pack("<II", 0, 0)), 0)
# two streams sharing the same bytes (overlap): module list == memory list
d = base_dump()
blob = bytearray(d.build())
count, dir_rva = struct.unpack_from("<II", blob, 8)
entries = [struct.unpack_from("<III", blob, dir_rva + 12 * i) for i in range(count)]
mods = [e for e in entries if e[0] == 4][0]
blob += struct.pack("<III", 5, mods[1], mods[2])  # memory list over the module list
struct.pack_into("<II", blob, 8, count + 1, len(blob) - 12 * (count + 1))
blob[len(blob) - 12 * (count + 1):] = b"".join(struct.pack("<III", *e) for e in entries) + struct.pack("<III", 5, mods[1], mods[2])
run("overlapping-streams", bytes(blob), 0)
# context of the wrong size / unknown CPU
d = base_dump()
d.arch = "x86"  # system info says x86, contexts are amd64-sized: no usable context
run("context-mismatch", d.build(), 0)

# ---- stack loops: the walk must end ----------------------------------------
S = 0x7FFF0000
st = mdbuild.Stack(S, 0x1000, 8)
st.put(S + 0x100, S + 0x100)        # rbp points at itself
st.put(S + 0x108, 0x401010)
d = base_dump()
d.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401000, "rsp": S + 0x80, "rbp": S + 0x100}, S, st.bytes())]
run("fp-self-loop", d.build(), 0,
    check=lambda r: None if r["crashing_thread"]["frame_count"] <= 3 else "%d frames" % r["crashing_thread"]["frame_count"])
# two frame records pointing at each other
st = mdbuild.Stack(S, 0x1000, 8)
st.put(S + 0x100, S + 0x200)
st.put(S + 0x108, 0x401010)
st.put(S + 0x200, S + 0x100)
st.put(S + 0x208, 0x401020)
d = base_dump()
d.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401000, "rsp": S + 0x80, "rbp": S + 0x100}, S, st.bytes())]
run("fp-cycle", d.build(), 0,
    check=lambda r: None if r["crashing_thread"]["frame_count"] <= 4 else "%d frames" % r["crashing_thread"]["frame_count"])
# a stack full of return addresses: scanning is bounded by --max-frames
st = mdbuild.Stack(S, 0x10000, 8)
for a in range(S, S + 0x10000, 8):
    st.put(a, 0x401010)
d = base_dump()
d.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401000, "rsp": S, "rbp": 0}, S, st.bytes())]
run("scan-flood", d.build(), 0, extra=("--max-frames", "50"),
    check=lambda r: None if r["crashing_thread"]["frame_count"] == 50 else "%d frames" % r["crashing_thread"]["frame_count"])
# CFI rules that do not move the stack pointer (a loop through CFI)
store = os.path.join(SCRATCH, "store")
app = mdbuild.Module("app", 0x400000, 0x10000, b"\x01" * 20)
mdbuild.write_sym(store, app, "x86_64", "FUNC 1000 100 0 f\nSTACK CFI INIT 1000 100 .cfa: $rsp .ra: $rip\n"
                  "GARBAGE LINE\nFUNC zz 1 0 broken\n")
st = mdbuild.Stack(S, 0x1000, 8)
d = base_dump()
d.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401000, "rsp": S + 0x80, "rbp": 0}, S, st.bytes())]
run("cfi-no-progress", d.build(), 0, extra=("--symbols-path", store),
    check=lambda r: None if r["crashing_thread"]["frame_count"] == 1 and r["modules"][0]["corrupt_symbols"]
    else "frames %d corrupt %s" % (r["crashing_thread"]["frame_count"], r["modules"][0]["corrupt_symbols"]))
# postfix garbage in CFI: no crash, falls back
mdbuild.write_sym(store, app, "x86_64", "FUNC 1000 100 0 f\nSTACK CFI INIT 1000 100 .cfa: $rsp 0 / .ra: ^ ^ ^ + @ $nope\n")
run("cfi-garbage", d.build(), 0, extra=("--symbols-path", store))

# ---- dump-provided names cannot escape the store --------------------------
evil = os.path.join(SCRATCH, "outside")
os.makedirs(os.path.join(evil, "x"), exist_ok=True)
d = base_dump()
# a module literally named ".." with symbols planted where "<store>/../ID/..sym" would lead
dotdot = mdbuild.Module("..", 0x400000, 0x10000, b"\x02" * 20)
os.makedirs(os.path.join(SCRATCH, dotdot.debug_id), exist_ok=True)
with open(os.path.join(SCRATCH, dotdot.debug_id, "...sym"), "w") as f:
    f.write("MODULE Linux x86_64 %s ..\nFUNC 1000 100 0 planted\n" % dotdot.debug_id)
d.modules = [dotdot]
run("name-traversal", d.build(), 0, extra=("--symbols-path", os.path.join(SCRATCH, "store")),
    check=lambda r: None if r["modules"][0]["loaded_symbols"] is False else "loaded symbols through ../")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("hostile: all cases handled")
