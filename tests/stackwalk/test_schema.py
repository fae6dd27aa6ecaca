#!/usr/bin/env python3
"""The JSON report against rust-minidump's json-schema.md, key by key.

Builds synthetic dumps for Windows (x86, amd64), macOS (arm64) and Linux
(x86, amd64, arm, arm64) that between them carry every stream the schema
draws on, walks each with --json, and checks that every schema key is
present with its JSON type (null allowed, as the schema says) and that
every key is non-null in at least one report, so none is silently always
null.  Also checks the values rust-minidump gives for these streams:
crash type names, addresses, code ids, analysis fields.
usage: test_schema.py STACKWALK SCRATCH_DIR
"""
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
HEX = re.compile(r"^0x[0-9a-f]+$")


def check(name, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


# ---- the schema: key -> type ("str", "hex", "u32", "bool", "f32", "obj:NAME", "arr:NAME") ----
SCHEMA = {
    "top": {"status": "str", "pid": "u32", "crash_info": "obj:crash_info", "system_info": "obj:system_info",
            "thread_count": "u32", "threads": "arr:thread", "crashing_thread": "obj:crashing_thread",
            "main_module": "u32", "modules_contains_cert_info": "bool", "modules": "arr:module",
            "unloaded_modules": "arr:unloaded", "lsb_release": "obj:lsb", "mac_crash_info": "obj:mac_crash_info",
            "mac_boot_args": "str", "process_create_time": "str", "process_uptime": "u32",
            "linux_memory_map_count": "u32", "soft_errors": "arr:str", "handles": "arr:handle",
            "proc_limits": "obj:proc_limits"},
    "crash_info": {"type": "str", "address": "hex", "adjusted_address": "obj:adjusted", "instruction": "str",
                   "memory_accesses": "arr:access", "possible_bit_flips": "arr:bitflip", "crashing_thread": "u32",
                   "assertion": "str", "instruction_pointer_update": "obj:ipupdate",
                   "crash_inconsistencies": "arr:str"},
    "adjusted": {"kind": "str"},
    "ipupdate": {"kind": "str"},
    "access": {"address": "hex", "size": "u32"},
    "bitflip": {"address": "hex", "details": "obj:bitflip_details", "confidence": "f32"},
    "bitflip_details": {"was_non_canonical": "bool", "is_null": "bool", "was_low": "bool",
                        "poison_registers": "bool", "nearby_registers": "u32"},
    "system_info": {"os": "str", "os_ver": "str", "cpu_arch": "str", "cpu_info": "str", "cpu_count": "u32",
                    "cpu_microcode_version": "hex"},
    "thread": {"thread_name": "str", "last_error_value": "str", "frame_count": "u32", "frames": "arr:frame"},
    "crashing_thread": {"threads_index": "u32", "thread_name": "str", "last_error_value": "str",
                        "frame_count": "u32", "frames": "arr:cframe"},
    "frame": {"frame": "u32", "trust": "str", "offset": "hex", "module": "str", "module_offset": "hex",
              "unloaded_modules": "arr:frame_unloaded", "inlines": "arr:inline", "function": "str",
              "function_offset": "hex", "file": "str", "line": "u32", "missing_symbols": "bool"},
    "frame_unloaded": {"module": "str", "offsets": "arr:hex"},
    "inline": {"function": "str", "file": "str", "line": "u32"},
    "module": {"base_addr": "hex", "end_addr": "hex", "debug_file": "str", "debug_id": "str", "filename": "str",
               "code_id": "str", "version": "str", "cert_subject": "str", "missing_symbols": "bool",
               "loaded_symbols": "bool", "corrupt_symbols": "bool", "symbol_url": "str"},
    "unloaded": {"base_addr": "hex", "end_addr": "hex", "code_id": "str", "filename": "str", "cert_subject": "str"},
    "lsb": {"id": "str", "release": "str", "codename": "str", "description": "str"},
    "mac_crash_info": {"num_records": "u32", "records": "arr:mac_record"},
    "mac_record": {"thread": "hex", "dialog_mode": "hex", "abort_cause": "hex", "module": "str", "message": "str",
                   "signature_string": "str", "backtrace": "str", "message2": "str"},
    "handle": {"handle": "hex", "type_name": "str", "object_name": "str"},
    "proc_limits": {"limits": "arr:limit"},
    "limit": {"name": "str", "soft": "str", "hard": "str", "unit": "str"},
}
SCHEMA["cframe"] = dict(SCHEMA["frame"], registers="obj:*")
# keys no synthetic dump here can fill: symbol_url needs a server
# (test_socorro.py checks it)
MAY_STAY_NULL = {"module.symbol_url"}
seen_non_null = set()


def type_ok(t, v):
    if t == "str":
        return isinstance(v, str)
    if t == "hex":
        return isinstance(v, str) and HEX.match(v) is not None
    if t == "u32":
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 32
    if t == "bool":
        return isinstance(v, bool)
    if t == "f32":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t.startswith("obj:"):
        return isinstance(v, dict)
    if t.startswith("arr:"):
        return isinstance(v, list)
    raise ValueError(t)


def validate(where, kind, obj):
    spec = SCHEMA[kind]
    for key, t in spec.items():
        if key not in obj:
            failures.append("%s: key %s.%s missing" % (where, kind, key))
            continue
        v = obj[key]
        if v is None:
            continue
        if not type_ok(t, v):
            failures.append("%s: %s.%s = %r is not %s" % (where, kind, key, v, t))
            continue
        seen_non_null.add("%s.%s" % (kind, key))
        if t == "obj:*":
            for rk, rv in v.items():
                if not type_ok("hex", rv):
                    failures.append("%s: register %s = %r is not hex" % (where, rk, rv))
        elif t.startswith("obj:"):
            validate(where + "." + key, t[4:], v)
        elif t.startswith("arr:"):
            sub = t[4:]
            for i, item in enumerate(v):
                if sub in SCHEMA:
                    if not isinstance(item, dict):
                        failures.append("%s.%s[%d] is not an object" % (where, key, i))
                    else:
                        validate("%s.%s[%d]" % (where, key, i), sub, item)
                elif item is not None and not type_ok(sub, item):
                    failures.append("%s.%s[%d] = %r is not %s" % (where, key, i, item, sub))


def walk(name, dump, *extra):
    path = os.path.join(SCRATCH, name + ".dmp")
    dump.write(path)
    p = subprocess.run([STACKWALK, "--json", "--symbols-path", STORE, path, *extra], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        failures.append("%s: exit %d: %s" % (name, p.returncode, p.stderr))
        return None
    r = json.loads(p.stdout)
    validate(name, "top", r)
    return r


STORE = os.path.join(SCRATCH, "store")


def sym(debug_file, debug_id, body, os_name="windows", arch="x86_64", name=None):
    stem = name or (debug_file[:-4] if debug_file.endswith(".pdb") else debug_file)
    d = os.path.join(STORE, debug_file, debug_id)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, stem + ".sym"), "w") as f:
        f.write("MODULE %s %s %s %s\n%s" % (os_name, arch, debug_id, debug_file, body))


def guid_id(guid: bytes, age: int) -> str:
    a, b, c = struct.unpack("<IHH", guid[:8])
    return "%08X%04X%04X%s%X" % (a, b, c, guid[8:].hex().upper(), age)


def unloaded_stream(mods):
    def build(add, mdstring):
        entries = b"".join(struct.pack("<QIIII", base, size, 0, 0, mdstring(name)) for name, base, size in mods)
        return (14, struct.pack("<III", 12, 24, len(mods)) + entries)
    return build


def handle_stream(handles):
    def build(add, mdstring):
        d = b"".join(struct.pack("<QIIIIII", h, mdstring(t), mdstring(o), 0, 0, 1, 1) for h, t, o in handles)
        return (12, struct.pack("<IIII", 16, 32, len(handles), 0) + d)
    return build


def utf16_field(s):
    return s.encode("utf-16-le").ljust(256, b"\0")


# ---- Windows amd64: everything Windows has ----------------------------------
guid = bytes(range(0x10, 0x20))
app_id = guid_id(guid, 1)
sym("app.pdb", app_id, "\n".join([
    "FILE 0 c:\\src\\app.cpp", "FILE 1 c:\\src\\util.h", "INLINE_ORIGIN 0 util::helper",
    "FUNC 1000 100 0 crash_here", "1000 100 12 0",
    "FUNC 1100 100 0 caller", "INLINE 0 40 0 0 1140 20", "1100 40 30 0", "1140 20 7 1", "1160 a0 31 0",
    "STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^", ""]))
app = mdbuild.Module("C:\\Program Files\\App\\app.exe", 0x140000000, 0x10000, None, timestamp=0x5E8F3C1A,
                     rsds=(guid, 1, "c:\\build\\app.pdb"), version=(1, 2, 3, 4))
RIP = 0x140001010
S = 0x0000000000500000
st = mdbuild.Stack(S, 0x100, 8)
st.put(S, 0x140001150)             # crash_here's return address -> caller, in the inline
TEB = 0x7FFDE000
win = mdbuild.Dump("amd64", os_id=2)
win.csd = "Service Pack 1"
win.os_version = (10, 0, 19045)
win.modules = [app]
win.threads = [mdbuild.Thread(10, None, {"rip": RIP, "rsp": S, "rcx": 0}, S, st.bytes(), name="main", teb=TEB),
               mdbuild.Thread(11, None, {"rip": 0x7FF800001234, "rsp": S + 0x80}, S + 0x80, bytes(0x80))]
win.memory = [(RIP, bytes([0x48, 0x8B, 0x41, 0x08]) + b"\x90" * 12),
              (TEB, b"\0" * 0x68 + struct.pack("<I", 2) + b"\0" * 12)]
win.exception = (10, 0xC0000005, 0, RIP, None)
win.exception_params = [0, 8]
win.pid = 321
win.create_time = 1700000000
win.time = 1700000100
win.builders = [unloaded_stream([("C:\\Windows\\old.dll", 0x7FF800000000, 0x10000)]),
                handle_stream([(4, "File", "\\Device\\HarddiskVolume1\\x")])]
win.extra = [(0x47670002, utf16_field("x != 0") + utf16_field("check") + utf16_field("app.cpp") +
              struct.pack("<II", 7, 0))]
evil = os.path.join(SCRATCH, "evil.json")
with open(evil, "w") as f:
    json.dump({"ModuleSignatureInfo": json.dumps({"Microsoft Windows": ["old.dll"],
                                                  "App Corp": ["app.exe"]}),
               "CPUMicrocodeVersion": "0xf0"}, f)
r = walk("windows-amd64", win, "--evil-json", evil)
if r:
    ci = r["crash_info"]
    check("win type", ci["type"], "EXCEPTION_ACCESS_VIOLATION_READ")
    check("win address", ci["address"], "0x0000000000000008")
    check("win instruction", ci["instruction"], "mov rax, qword ptr [rcx + 8]")
    check("win accesses", ci["memory_accesses"], [{"address": "0x0000000000000008", "size": 8}])
    check("win adjusted", ci["adjusted_address"], {"kind": "null-pointer", "offset": "0x0000000000000008"})
    check("win ip update", ci["instruction_pointer_update"], {"kind": "no-update"})
    check("win bitflip null", [(b["address"], b["details"]["is_null"], b["details"]["was_low"])
                               for b in ci["possible_bit_flips"] or []][:1],
          [("0x0000000000000000", True, True)])
    check("win assertion", ci["assertion"], "x != 0 in check at app.cpp:7")
    check("win os", (r["system_info"]["os"], r["system_info"]["os_ver"]), ("Windows NT", "10.0.19045 Service Pack 1"))
    check("win microcode from evil json", r["system_info"]["cpu_microcode_version"], "0xf0")
    m = r["modules"][0]
    check("win module", (m["filename"], m["code_id"], m["debug_id"], m["debug_file"], m["version"], m["cert_subject"]),
          ("app.exe", "5e8f3c1a10000", app_id, "app.pdb", "1.2.3.4", "App Corp"))
    check("win certs", r["modules_contains_cert_info"], True)
    check("win unloaded", r["unloaded_modules"], [{"base_addr": "0x00007ff800000000", "end_addr": "0x00007ff800010000",
                                                   "filename": "old.dll", "code_id": "", "cert_subject": "Microsoft Windows"}])
    ct = r["crashing_thread"]
    check("win last error", (ct["thread_name"], ct["last_error_value"]), ("main", "ERROR_FILE_NOT_FOUND"))
    fr = ct["frames"]
    check("win frames", [(f["function"], f["trust"]) for f in fr], [("crash_here", "context"), ("caller", "cfi")])
    if len(fr) > 1:
        check("win caller at the call", (fr[1]["offset"], fr[1]["module_offset"], fr[1]["function_offset"]),
              ("0x000000014000114f", "0x000000000000114f", "0x000000000000004f"))
        check("win inlines", (fr[0]["inlines"], fr[1]["inlines"]),
              (None, [{"function": "util::helper", "file": "c:\\src\\util.h", "line": 7}]))
        # the CFI frame knows rip and rsp, and keeps the callee-saved registers
        check("win caller registers", {"rip", "rsp", "rbx", "rbp"} <= set(fr[1].get("registers", {})), True)
        check("win caller no rax", "rax" in fr[1].get("registers", {}), False)
    check("win frame0 regs", fr[0]["registers"].get("rcx"), "0x0000000000000000")
    t2 = r["threads"][1]["frames"][0]
    check("win unloaded frame", (t2["module"], t2["unloaded_modules"]),
          (None, [{"module": "old.dll", "offsets": ["0x0000000000001234"]}]))
    check("win handles", r["handles"], [{"handle": "0x4", "type_name": "File",
                                         "object_name": "\\Device\\HarddiskVolume1\\x"}])
    check("win times", (r["process_create_time"], r["process_uptime"], r["pid"]),
          ("2023-11-14T22:13:20+00:00", 100, 321))

# ---- Windows x86: an integer division crash on an instruction that cannot divide ----
xguid = bytes(range(0x30, 0x40))
xapp = mdbuild.Module("xapp.exe", 0x00400000, 0x10000, None, timestamp=0x11223344, rsds=(xguid, 2, "xapp.pdb"))
x86w = mdbuild.Dump("x86", os_id=2)
x86w.modules = [xapp]
x86w.threads = [mdbuild.Thread(7, None, {"eip": 0x00401000, "esp": 0x600000, "ecx": 0x700000}, 0x600000, bytes(64))]
x86w.memory = [(0x00401000, bytes([0x8B, 0x01]) + b"\x90" * 14)]
x86w.exception = (7, 0xC0000094, 0, 0x00401000, None)
r = walk("windows-x86", x86w)
if r:
    check("x86 div type", r["crash_info"]["type"], "EXCEPTION_INT_DIVIDE_BY_ZERO")
    check("x86 inconsistency", r["crash_info"]["crash_inconsistencies"], ["int_div_by_zero_not_possible"])
    check("x86 instruction", r["crash_info"]["instruction"], "mov eax, dword ptr [ecx]")
    check("x86 eflags name", "eflags" in r["crashing_thread"]["frames"][0]["registers"], True)

# ---- macOS arm64: Mach exception names, Mozilla's mac streams, UUID ids ------
uuid = bytes.fromhex("0123456789abcdef0011223344556677")
# Crashpad stores LC_UUID as a GUID: its first three fields are the UUID's
# big-endian numbers, written little-endian
mac_guid = struct.pack("<IHH", int.from_bytes(uuid[0:4], "big"), int.from_bytes(uuid[4:6], "big"),
                       int.from_bytes(uuid[6:8], "big")) + uuid[8:]
mac_app = mdbuild.Module("/Applications/App.app/Contents/MacOS/App", 0x100000000, 0x10000, None,
                         rsds=(mac_guid, 0, "App"))
mac_id = uuid.hex().upper() + "0"
check("mac guid layout", guid_id(mac_guid, 0), mac_id)
sym("App", mac_id, "FUNC 1000 100 0 -[Crasher crash]\n1000 100 5 0\nFUNC 1100 100 0 main\n1100 100 9 0\n"
    "FILE 0 /src/main.m\n", os_name="mac", arch="arm64")


def mac_crash_info(add, mdstring):
    rec = struct.pack("<IIQQQQ", 0x4D7A0001, 0, 5, 0x1234, 0x2, 0x3) + \
        b"libApp.dylib\0assertion failed\0sig\0bt\0second\0"
    rva = add(rec)
    return (0x4D7A0001, struct.pack("<III", 0x4D7A0001, 1, 40) + struct.pack("<II", len(rec), rva) + b"\0" * 152)


mac = mdbuild.Dump("arm64", os_id=0x8101)
mac.csd = "22F66"
mac.os_version = (13, 4, 0)
mac.modules = [mac_app]
MS = 0x16F000000
mst = mdbuild.Stack(MS, 0x100, 8)
mst.put(MS + 0x20, 0)                # the outermost frame record
mst.put(MS + 0x28, 0)
mac.threads = [mdbuild.Thread(1, None, {"pc": 0x100001008, "sp": MS, "fp": MS + 0x20, "lr": 0x100001104,
                                        "x1": 0x10}, MS, mst.bytes())]
mac.memory = [(0x100001008, bytes.fromhex("200840f9") + b"\0" * 12)]
mac.exception = (1, 1, 1, 0x20, None)
mac.builders = [mac_crash_info, lambda add, mdstring: (0x4D7A0002, struct.pack("<II", 0x4D7A0002,
                                                                              mdstring("-v keepsyms=1")))]
r = walk("macos-arm64", mac)
if r:
    check("mac type", r["crash_info"]["type"], "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS")
    m = r["modules"][0]
    check("mac ids", (m["code_id"], m["debug_id"], m["debug_file"]), (uuid.hex(), mac_id, "App"))
    check("mac frames", [f["function"] for f in r["crashing_thread"]["frames"]][:2], ["-[Crasher crash]", "main"])
    check("mac crash info", r["mac_crash_info"], {"num_records": 1, "records": [{
        "thread": "0x0000000000001234", "dialog_mode": "0x0000000000000002", "abort_cause": "0x0000000000000003",
        "module": "libApp.dylib", "message": "assertion failed", "signature_string": "sig", "backtrace": "bt",
        "message2": "second"}]})
    check("mac boot args", r["mac_boot_args"], "-v keepsyms=1")
    check("mac access", r["crash_info"]["memory_accesses"], [{"address": "0x0000000000000020", "size": 8}])
    check("mac instruction", r["crash_info"]["instruction"], "ldr x0, [x1, #0x10]")

# ---- Linux amd64: a general-protection fault on a non-canonical address ------
lapp = mdbuild.Module("/usr/bin/lapp", 0x555555554000, 0x10000, bytes(range(40, 60)))
mdbuild.write_sym(STORE, lapp, "x86_64", "FUNC 1000 100 0 deref\n")
lin = mdbuild.Dump("amd64")
LR = 0x555555555000
lin.modules = [lapp]
lin.threads = [mdbuild.Thread(100, None, {"rip": LR, "rsp": 0x7FFF0000, "rcx": 0x8000000000001000,
                                          "rax": 0xA5A5A5A5A5A5A5A5}, 0x7FFF0000, bytes(64), name="worker"),
               mdbuild.Thread(101, None, {"rip": LR, "rsp": 0x7FFF1000}, 0x7FFF1000, bytes(64), name="dumper")]
lin.memory = [(LR, bytes([0x48, 0x8B, 0x01]) + b"\x90" * 13), (0xDEAD0000, b"")]
lin.exception = (100, 11, 0x80, 0, None)
lin.dump_thread = 101
lin.create_time = 1000
lin.time = 1234
lin.extra = [(mdbuild.LINUX_LSB_RELEASE, b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
              b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'),
             (mdbuild.LINUX_CPU_INFO, b"processor\t: 0\nmicrocode\t: 0xde\nmodel name\t: Test CPU\n"),
             (mdbuild.LINUX_MAPS, b"555555554000-555555564000 r-xp 00000000 08:01 1 /usr/bin/lapp\n"
                                  b"7fff0000-7fff1000 rw-p 00000000 00:00 0 [stack]\n"),
             (0x4D7A0003, b"Limit                     Soft Limit           Hard Limit           Units     \n"
                          b"Max cpu time              unlimited            unlimited            seconds   \n"
                          b"Max open files            1024                 524288               files     \n"),
             # an unloaded module list with a broken header: a soft error
             (14, struct.pack("<III", 0, 24, 1))]
r = walk("linux-amd64", lin)
if r:
    ci = r["crash_info"]
    check("linux type", ci["type"], "SIGSEGV / SI_KERNEL")
    check("linux adjusted", ci["adjusted_address"], {"kind": "non-canonical", "address": "0x8000000000001000"})
    check("linux lsb", r["lsb_release"], {"id": "debian", "release": "12", "codename": "bookworm",
                                          "description": "Debian GNU/Linux 12 (bookworm)"})
    check("linux microcode", r["system_info"]["cpu_microcode_version"], "0xde")
    check("linux limits", [(l["name"], l["soft"], l["hard"], l["unit"]) for l in r["proc_limits"]["limits"]],
          [("Max cpu time", "unlimited", "unlimited", "seconds"), ("Max open files", "1024", "524288", "files")])
    check("linux maps", r["linux_memory_map_count"], 2)
    check("linux uptime", r["process_uptime"], 234)
    check("linux dump thread skipped", (r["threads"][1]["thread_name"], r["threads"][1]["frame_count"]),
          ("dumper", 0))
    check("linux soft errors", bool(r["soft_errors"]), True)
    check("linux code id", r["modules"][0]["code_id"], lapp.build_id.hex())

# ---- Linux x86: a call through a register to a bad address ------------------
xl = mdbuild.Module("/usr/lib/libx.so", 0x08048000, 0x10000, bytes(range(70, 90)))
mdbuild.write_sym(STORE, xl, "x86", "FUNC 1000 100 0 jumper\n")
lx86 = mdbuild.Dump("x86")
lx86.modules = [xl]
lx86.threads = [mdbuild.Thread(5, None, {"eip": 0x08049000, "esp": 0x600000, "eax": 0x41414141}, 0x600000, bytes(64))]
lx86.memory = [(0x08049000, bytes([0xFF, 0xD0]) + b"\x90" * 14)]
lx86.exception = (5, 11, 1, 0x41414141, None)
r = walk("linux-x86", lx86)
if r:
    check("x86 linux type", r["crash_info"]["type"], "SIGSEGV / SEGV_MAPERR")
    check("x86 ip update", r["crash_info"]["instruction_pointer_update"], {"kind": "update", "address": "0x41414141"})
    check("x86 no accesses", r["crash_info"]["memory_accesses"], [])

# ---- Linux arm: a misaligned load --------------------------------------------
al = mdbuild.Module("/system/lib/liba.so", 0x40000000, 0x10000, bytes(range(90, 110)))
mdbuild.write_sym(STORE, al, "arm", "FUNC 1000 100 0 loader\n")
arm = mdbuild.Dump("arm")
arm.modules = [al]
arm.threads = [mdbuild.Thread(9, None, {"pc": 0x40001000, "sp": 0x800000, "r1": 0x1001}, 0x800000, bytes(64))]
arm.memory = [(0x40001000, bytes.fromhex("000091e5") + b"\0" * 12)]
arm.exception = (9, 7, 1, 0x1001, None)
# a no-access mapping around the accessed address: a likely guard page
arm.extra = [(mdbuild.LINUX_MAPS, b"00001000-00002000 ---p 00000000 00:00 0\n"
                                  b"40000000-40010000 r-xp 00000000 08:01 2 /system/lib/liba.so\n")]
r = walk("linux-arm", arm)
if r:
    check("arm type", r["crash_info"]["type"], "SIGBUS / BUS_ADRALN")
    check("arm access", r["crash_info"]["memory_accesses"],
          [{"address": "0x00001001", "size": 4, "is_likely_guard_page": True}])

# ---- Linux arm64: a dump requested without a crash ---------------------------
a64 = mdbuild.Module("/usr/bin/a64", 0x5500000000, 0x10000, bytes(range(110, 130)))
mdbuild.write_sym(STORE, a64, "arm64", "FUNC 1000 100 0 idle\n")
req = mdbuild.Dump("arm64")
req.modules = [a64]
req.threads = [mdbuild.Thread(3, None, {"pc": 0x7F10002000, "sp": 0x7F000000}, 0x7F000000, bytes(64))]
req.requesting = 3
req.builders = [unloaded_stream([("/usr/lib/gone.so", 0x7F10000000, 0x10000),
                                 ("/usr/lib/gone.so", 0x7F10000000, 0x10000)])]
r = walk("linux-arm64", req)
if r:
    check("requested: no crash type", (r["crash_info"]["type"], r["crash_info"]["crashing_thread"]), (None, 0))
    check("requested: unloaded frame", r["crashing_thread"]["frames"][0]["unloaded_modules"],
          [{"module": "gone.so", "offsets": ["0x0000000000002000"]}])

for kind, spec in SCHEMA.items():
    for key in spec:
        k = "%s.%s" % (kind, key)
        if k not in seen_non_null and k not in MAY_STAY_NULL:
            failures.append("schema key %s was null in every report" % k)
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("schema: %d keys, all present with their types" % sum(len(v) for v in SCHEMA.values()))
