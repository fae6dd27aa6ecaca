#!/usr/bin/env python3
"""Synthetic minidumps with known call chains, one scenario per CPU.

Each scenario lays out a stack by hand so that, frame by frame, the walker
must use STACK CFI, (x86) STACK WIN, the frame pointer and stack scanning,
and checks the function, trust, file/line and inlines stackwalk reports.
usage: test_synthetic.py STACKWALK SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdbuild  # noqa: E402

STACKWALK, SCRATCH = sys.argv[1], sys.argv[2]
failures = []


def run(dump_path, store, *extra):
    p = subprocess.run([STACKWALK, "--json", dump_path, "--symbols-path", store, *extra],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("stackwalk exit %d: %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def check(name, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


def expect_frames(label, report, want):
    """want: list of (function, trust) or (function, trust, file, line)."""
    frames = report["crashing_thread"]["frames"]
    got = [(f["function"], f["trust"]) for f in frames]
    check(label + " frames", got, [w[:2] for w in want])
    for i, w in enumerate(want):
        if len(w) > 2 and i < len(frames):
            check("%s frame %d file:line" % (label, i), (frames[i]["file"], frames[i]["line"]), (w[2], w[3]))
    return frames


def fresh(name):
    d = os.path.join(SCRATCH, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


# ---- amd64: CFI (with a delta row and an inline), frame pointer, scan ------
def amd64():
    d = fresh("amd64")
    app = mdbuild.Module("app", 0x400000, 0x10000, bytes(range(1, 21)))
    lib = mdbuild.Module("libfoo.so", 0x7F0000000000, 0x10000, bytes(range(101, 121)))
    store = os.path.join(d, "store")
    mdbuild.write_sym(store, app, "x86_64", "\n".join([
        "FILE 0 /src/app.c", "FILE 1 /src/helper.h", "INLINE_ORIGIN 0 inlined_helper",
        "FUNC 1000 100 0 main", "1000 100 10 0",
        "FUNC 1100 100 0 outer", "1100 100 20 0",
        "FUNC 1200 100 0 middle", "INLINE 0 77 0 0 1240 20", "1200 40 30 0", "1240 20 99 1", "1260 a0 31 0",
        "FUNC 1300 100 0 leaf", "1300 100 40 0",
        "STACK CFI INIT 1300 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^",
        "STACK CFI INIT 1200 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^",
        "STACK CFI 1204 .cfa: $rsp 16 + $rbp: .cfa -16 + ^", ""]))
    mdbuild.write_sym(store, lib, "x86_64", "FUNC 1000 100 0 start_thread\n")
    S = 0x7FFF0000
    st = mdbuild.Stack(S, 0x1000, 8)
    st.put(S + 0x100, 0x401250)          # leaf's return address -> middle
    st.put(S + 0x108, S + 0x200)         # middle saved rbp
    st.put(S + 0x110, 0x401150)          # middle's return address -> outer
    st.put(S + 0x200, 0x10)              # outer's frame record: bogus caller rbp
    st.put(S + 0x208, 0x401080)          # -> main
    st.put(S + 0x210, 0x1234)            # scan: junk
    st.put(S + 0x218, 0x401FFF)          # scan: in app but in no function
    st.put(S + 0x220, 0x7F0000001010)    # scan: start_thread
    dump = mdbuild.Dump("amd64")
    dump.modules = [app, lib]
    regs = {"rip": 0x401310, "rsp": S + 0x100, "rbp": 0x5555}
    dump.threads = [mdbuild.Thread(1001, "amd64", regs, S, st.bytes(), name="crasher"),
                    mdbuild.Thread(1002, "amd64", {"rip": 0x401010, "rsp": S + 0x800}, S, st.bytes())]
    dump.exception = (1001, 11, 1, 0xDEAD, None)
    dump.pid = 4242
    dump.annotations = {"product": "Fixture", "version": "1.2.3"}
    dump.module_annotations = {1: {"lib-key": "lib-value"}}
    dump.extra = [(mdbuild.LINUX_LSB_RELEASE, b"DISTRIB_ID=Debian\nDISTRIB_RELEASE=12\n")]
    path = os.path.join(d, "amd64.dmp")
    dump.write(path)
    r = run(path, store)
    frames = expect_frames("amd64", r, [
        ("leaf", "context", "/src/app.c", 40),
        ("middle", "cfi", "/src/app.c", 77),
        ("outer", "cfi", "/src/app.c", 20),
        # outer's frame record holds a bogus caller rbp (0x10, below its own
        # frame): rust-minidump rejects that record, and the scan finds main
        ("main", "scan", "/src/app.c", 10),
        ("start_thread", "scan")])
    check("amd64 inline", frames[1].get("inlines"),
          [{"function": "inlined_helper", "file": "/src/helper.h", "line": 99}])
    check("amd64 crash", (r["crash_info"]["type"], r["crash_info"]["address"], r["crash_info"]["crashing_thread"]),
          ("SIGSEGV / SEGV_MAPERR", "0x000000000000dead", 0))
    check("amd64 pid", r["pid"], 4242)
    check("amd64 thread name", r["threads"][0]["thread_name"], "crasher")
    check("amd64 frame0 regs", frames[0]["registers"]["rip"], "0x0000000000401310")
    check("amd64 module offsets", (frames[1]["module"], frames[1]["module_offset"], frames[1]["function_offset"]),
          ("app", "0x000000000000124f", "0x000000000000004f"))  # the call instruction
    mods = {m["filename"]: m for m in r["modules"]}
    check("amd64 module ids", (mods["app"]["debug_id"], mods["app"]["code_id"]),
          (app.debug_id, app.build_id.hex()))
    check("amd64 loaded", (mods["app"]["loaded_symbols"], mods["app"]["missing_symbols"],
                           mods["app"]["corrupt_symbols"]), (True, False, False))
    check("amd64 main module", r["main_module"], 0)
    check("amd64 annotations", [(a["module"], a["key"], a["value"]) for a in r.get("annotations", [])],
          [(None, "product", "Fixture"), (None, "version", "1.2.3"), ("libfoo.so", "lib-key", "lib-value")])
    check("amd64 lsb_release", r["lsb_release"], {"id": "Debian", "release": "12", "codename": "", "description": ""})
    check("amd64 system", (r["system_info"]["os"], r["system_info"]["cpu_arch"], r["system_info"]["cpu_count"]),
          ("Linux", "amd64", 4))
    # without symbols: frame 0 only from context, the rest by frame pointer/scan,
    # and modules flagged as missing symbols
    r2 = run(path, os.path.join(d, "nowhere"))
    f2 = r2["crashing_thread"]["frames"]
    check("amd64 nosyms frame0", (f2[0]["function"], f2[0]["module"], f2[0]["trust"]), (None, "app", "context"))
    check("amd64 nosyms missing", [m["missing_symbols"] for m in r2["modules"]], [True, True])
    # single .sym files as symbol paths: matched on the MODULE line's debug id
    app_sym = os.path.join(store, "app", app.debug_id, "app.sym")
    p = subprocess.run([STACKWALK, "--json", path, app_sym], capture_output=True, text=True, timeout=60)
    r3 = json.loads(p.stdout)
    check("amd64 sym file", [f["function"] for f in r3["crashing_thread"]["frames"]][:3], ["leaf", "middle", "outer"])
    other = os.path.join(d, "other.sym")
    with open(app_sym) as f:
        text = f.read().replace(app.debug_id, "0" * 33)
    with open(other, "w") as f:
        f.write(text)
    p = subprocess.run([STACKWALK, "--json", path, "--symbols-path", other], capture_output=True, text=True,
                       timeout=60)
    check("amd64 mismatched sym file", json.loads(p.stdout)["modules"][0]["loaded_symbols"], False)
    # --machine and --human run on the same dump
    for mode in ("--machine", "--human", "--brief", "--pretty"):
        p = subprocess.run([STACKWALK, mode, path, store], capture_output=True, text=True, timeout=60)
        check("amd64 %s exit" % mode, p.returncode, 0)
        if mode == "--machine":
            # Breakpad -m: the inline frame has its own line (offset from its
            # line record), the return address is what offsets count from
            lines = p.stdout.splitlines()
            check("machine inline line", "0|1|app|inlined_helper|/src/helper.h|99|0x10" in lines, True)
            check("machine frame line", "0|2|app|middle|/src/app.c|77|0x50" in lines, True)
        if mode == "--human":
            # rust-minidump: inline frames numbered, callers at the call
            check("human inline", " 1  app!inlined_helper [helper.h : 99]\n    Found by: inlining" in p.stdout, True)
            check("human frame", " 2  app!middle [app.c : 77 + 0x4f]" in p.stdout, True)


# ---- x86: STACK WIN program, CFI, frame pointer, scan ----------------------
def x86():
    d = fresh("x86")
    app = mdbuild.Module("app.exe", 0x400000, 0x10000, bytes(range(1, 21)))
    store = os.path.join(d, "store")
    mdbuild.write_sym(store, app, "x86", "\n".join([
        "FILE 0 c:\\src\\app.c",
        "FUNC 1000 100 0 main", "1000 100 10 0",
        "FUNC 1100 100 0 outer", "1100 100 20 0",
        "FUNC 1200 100 0 middle", "1200 100 30 0",
        "FUNC 1300 100 0 leaf", "1300 100 40 0",
        "FUNC 1400 100 0 bottom", "1400 100 50 0",
        # leaf: FrameData program, ebp-based frame
        "STACK WIN 4 1300 100 3 0 0 0 0 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
        # middle: CFI, return address at [esp]
        "STACK CFI INIT 1200 100 .cfa: $esp 4 + .ra: .cfa -4 + ^", ""]))
    S = 0x00100000
    st = mdbuild.Stack(S, 0x1000, 4)
    # frame 0 leaf: ebp = S+0x40 -> [ebp] saved ebp, [ebp+4] ra -> middle
    st.put(S + 0x40, S + 0x100)
    st.put(S + 0x44, 0x401250)
    # middle (cfi): esp = S+0x48, ra at [S+0x48] -> outer
    st.put(S + 0x48, 0x401150)
    # outer (no info): frame pointer ebp = S+0x100 -> main; its saved ebp
    # (S+0x200) is above the caller's esp and in memory, as rust-minidump
    # requires of a frame record
    st.put(S + 0x100, S + 0x200)
    st.put(S + 0x104, 0x401080)
    # main: the record at S+0x200 holds a bogus saved ebp (0x20, below its
    # own frame), so it is no frame record; the scan finds bottom
    st.put(S + 0x108, 0x401480)
    st.put(S + 0x200, 0x20)
    dump = mdbuild.Dump("x86")
    dump.modules = [app]
    regs = {"eip": 0x401310, "esp": S + 0x30, "ebp": S + 0x40}
    dump.threads = [mdbuild.Thread(7, "x86", regs, S, st.bytes())]
    dump.exception = (7, 11, 2, 0x10, None)
    path = os.path.join(d, "x86.dmp")
    dump.write(path)
    r = run(path, store)
    expect_frames("x86", r, [
        ("leaf", "context", "c:\\src\\app.c", 40),
        ("middle", "cfi"),
        ("outer", "cfi"),
        ("main", "frame_pointer"),
        ("bottom", "scan")])
    check("x86 address width", r["crash_info"]["address"], "0x00000010")


# ---- x86 FPO: a STACK WIN record without a program ---------------------------
def x86_fpo():
    d = fresh("x86fpo")
    app = mdbuild.Module("app.exe", 0x400000, 0x10000, bytes(range(2, 22)))
    store = os.path.join(d, "store")
    mdbuild.write_sym(store, app, "x86", "\n".join([
        "FUNC 1000 100 0 main", "FUNC 1500 100 4 fpo_leaf",
        # 8 bytes of locals, 4 of saved registers, no frame pointer
        "STACK WIN 0 1500 100 0 0 4 4 8 0 0 0", ""]))
    S = 0x00100000
    st = mdbuild.Stack(S, 0x100, 4)
    st.put(S + 0x10 + 12, 0x401050)   # esp + locals + saved regs -> return address
    dump = mdbuild.Dump("x86")
    dump.modules = [app]
    dump.threads = [mdbuild.Thread(8, "x86", {"eip": 0x401510, "esp": S + 0x10, "ebp": 0x99}, S, st.bytes())]
    dump.exception = (8, 11, 1, 0, None)
    path = os.path.join(d, "fpo.dmp")
    dump.write(path)
    r = run(path, store)
    frames = expect_frames("x86 fpo", r, [("fpo_leaf", "context"), ("main", "cfi")])
    check("x86 fpo caller esp", frames[1]["offset"], "0x0040104f")  # the call, as rust-minidump reports it


# ---- arm64: leaf via lr (CFI), PAC-signed return address, frame records, scan
def arm64(layout):
    d = fresh(layout)
    app = mdbuild.Module("app", 0x5500000000, 0x10000, bytes(range(1, 21)))
    store = os.path.join(d, "store")
    mdbuild.write_sym(store, app, "arm64", "\n".join([
        "FILE 0 /src/app.c",
        "FUNC 1000 100 0 main", "1000 100 10 0",
        "FUNC 1100 100 0 outer", "1100 100 20 0",
        "FUNC 1200 100 0 middle", "1200 100 30 0",
        "FUNC 1300 100 0 leaf", "1300 100 40 0",
        "FUNC 1400 100 0 bottom", "1400 100 50 0",
        "STACK CFI INIT 1300 100 .cfa: sp 0 + .ra: x30",
        "STACK CFI INIT 1200 100 .cfa: sp 32 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^", ""]))
    S = 0x7FF0000000
    st = mdbuild.Stack(S, 0x1000, 8)
    pac = 0x002D000000000000
    # middle's frame: sp = S+0x100, cfa = S+0x120, fp at S+0x110, lr at S+0x118 (PAC-signed)
    st.put(S + 0x110, S + 0x200)
    st.put(S + 0x118, pac | (app.base + 0x1104))       # -> outer
    # outer: no CFI -> frame record at x29 = S+0x200
    st.put(S + 0x200, S + 0x300)
    st.put(S + 0x208, app.base + 0x1084)               # -> main
    # main: frame record at S+0x300 is garbage -> scan from sp = S+0x210
    st.put(S + 0x300, 0x1)
    st.put(S + 0x308, 0x2)
    st.put(S + 0x218, app.base + 0x1404)               # -> bottom
    dump = mdbuild.Dump(layout)
    dump.modules = [app]
    regs = {"pc": app.base + 0x1310, "sp": S + 0x100, "lr": app.base + 0x1208, "fp": S + 0x110}
    dump.threads = [mdbuild.Thread(9, layout, regs, S, st.bytes())]
    dump.exception = (9, 6, 0xFFFFFFFA, 0, None)
    path = os.path.join(d, layout + ".dmp")
    dump.write(path)
    r = run(path, store)
    frames = expect_frames(layout, r, [
        ("leaf", "context", "/src/app.c", 40),
        ("middle", "cfi", "/src/app.c", 30),
        ("outer", "cfi", "/src/app.c", 20),
        ("main", "frame_pointer"),
        ("bottom", "scan")])
    check(layout + " pac stripped", frames[2]["offset"], "0x%016x" % (app.base + 0x1100))
    check(layout + " cpu", r["system_info"]["cpu_arch"], "arm64")
    check(layout + " crash", r["crash_info"]["type"], "SIGABRT / SI_TKILL")


# ---- arm: leaf by lr, frame records through r11, scan -----------------------
def arm():
    d = fresh("arm")
    app = mdbuild.Module("app", 0x10000, 0x10000, bytes(range(1, 21)))
    store = os.path.join(d, "store")
    mdbuild.write_sym(store, app, "arm", "\n".join([
        "FUNC 1000 100 0 main",
        "FUNC 1100 100 0 outer",
        "FUNC 1200 100 0 middle",
        "FUNC 1300 100 0 leaf",
        "FUNC 1400 100 0 bottom",
        "STACK CFI INIT 1200 100 .cfa: sp 8 + .ra: .cfa -4 + ^ r11: .cfa -8 + ^", ""]))
    S = 0x7E000000
    st = mdbuild.Stack(S, 0x1000, 4)
    # middle (cfi): sp = S+0x100 -> cfa S+0x108, r11 at S+0x100, ra at S+0x104
    st.put(S + 0x100, S + 0x200)
    st.put(S + 0x104, app.base + 0x1104)   # -> outer
    # outer: frame record at r11 = S+0x200: {fp, lr}
    st.put(S + 0x200, 0x4)
    st.put(S + 0x204, app.base + 0x1084)   # -> main
    # main: bad record -> scan from S+0x208
    st.put(S + 0x20C, app.base + 0x1404)   # -> bottom
    dump = mdbuild.Dump("arm")
    dump.modules = [app]
    # leaf without CFI: lr points into middle, which is a different function
    regs = {"pc": app.base + 0x1310, "sp": S + 0x100, "lr": app.base + 0x1208, "r11": S + 0x100}
    dump.threads = [mdbuild.Thread(3, "arm", regs, S, st.bytes())]
    dump.exception = (3, 7, 2, 0x100, None)
    path = os.path.join(d, "arm.dmp")
    dump.write(path)
    r = run(path, store)
    expect_frames("arm", r, [
        ("leaf", "context"),
        ("middle", "frame_pointer"),
        ("outer", "cfi"),
        ("main", "frame_pointer"),
        ("bottom", "scan")])


amd64()
x86()
x86_fpo()
arm64("arm64")
arm64("arm64_old")
arm()
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("synthetic: all scenarios passed")
