#!/usr/bin/env python3
"""A public test dump with a known report: rust-minidump's testdata/test.dmp.

That dump (Breakpad's Windows XP x86 test_app crashing on a write to 0x45)
is binary and not at hand, but rust-minidump's snapshot tests print what
matters of it: the exception context, the crashing thread's stack from its
stack pointer to the stack's end (the 380 bytes a frame-pointer walk reads),
the module list, system, misc and Breakpad info, and the directory's unused
entries.  The dump is rebuilt from those facts at test time, walked without
symbols, and the report compared with the one rust-minidump's snapshots
hold: every field of its --json (290 leaf values: crash info, both threads'
frames with offsets and trust, frame 0's registers, the 13 modules with
their ids and versions, system info) and its --human output, byte for byte
(frame-pointer walk, register layout, module table, unimplemented streams).
Not compared: the stack below the stack pointer and the second thread's
stack and context (zeros here; the report does not depend on them), the
memory list (the snapshot has no crashing-instruction analysis), and
symbolized output (its .sym files are not at hand).  Also Breakpad's
minidump2.dmp (the same program, an earlier build), rebuilt likewise from
its minidump_dump listing: without symbols the walk must give the four
frames, with the eip, esp and ebp, that minidump2.stackwalk.out shows.
usage: test_public_dump.py STACKWALK SCRATCH_DIR
"""
import json
import os
import struct
import subprocess
import sys

STACKWALK, SCRATCH = sys.argv[1], sys.argv[2]


MD2_TAIL = ("4500000070ff1200d03e40001100000058398700000000000400000014000000682d8700000000000700000000000000103f4000"
            "00000000000000002e000000173c41000000870000000000010000000700000027e0907c98268700ffffffff24000000fcfe"
            "1200240000002700000027c405fcf0268700268f4000bc2587005aad40002a0000002f000000c8fe120098268700f0268700"
            "0000a659b0b9a859019740008c954000c0070000704e14000000000001000000740b00000000000000000000c8070000c407"
            "0000740b0000b4fa1200009740005e9740005aad40006ad98e7ec0ff12009650400001000000982f8700b82f8700dad98e7e"
            "18000000000000000050fd7f050000c00100000005000000000000001800000084ff1200b4fa1200e0ff1200906640009a57"
            "de7e00000000f0ff1200d76f817c18000000000000000050fd7ffd3d5480c8ff1200a8fdec84ffffffffa89a837ce06f817c"
            "000000000000000000000000ed50400000000000")


def build_test_dmp(minidump2=False):
    """rust-minidump's testdata/test.dmp, as far as its snapshots show it;
    minidump2: Breakpad's src/processor/testdata/minidump2.dmp (the same
    program's crash, an earlier build), from its minidump_dump listing."""
    out = bytearray(32)
    def add(b):
        while len(out) % 4: out.append(0)
        r = len(out); out.extend(b); return r
    def mdstr(s):
        u = s.encode("utf-16-le"); return add(struct.pack("<I", len(u)) + u + b"\0\0")
    def ctx(r):
        b = bytearray(716); struct.pack_into("<I", b, 0, 0x1003f)
        offs = {"edi": 156, "esi": 160, "ebx": 164, "edx": 168, "ecx": 172, "eax": 176, "ebp": 180, "eip": 184,
                "cs": 188, "eflags": 192, "esp": 196, "ss": 200}
        for k, v in r.items(): struct.pack_into("<I", b, offs[k], v)
        return bytes(b)
    exc_ctx = ctx({"eax": 0x45, "ebp": 0x12fe88, "ebx": 0x7c80abc1, "ecx": 0x12fe94, "edi": 0xa28, "edx": 0x42bc58,
                   "eflags": 0x10246, "eip": 0x40429e, "esi": 2, "esp": 0x12fe84, "cs": 0x1b, "ss": 0x23})
    if minidump2:
        exc_ctx = ctx({"eax": 0x45, "ebp": 0x12fe90, "ebx": 0x7c80abc1, "ecx": 0x12fe9c, "edi": 0xa28,
                       "edx": 0x42ac60, "eflags": 0x10246, "eip": 0x403f6e, "esi": 2, "esp": 0x12fe8c, "cs": 0x1b,
                       "ss": 0x23})
    t0_ctx = ctx({"edi": 0, "esi": 0x7b8, "ebx": 0x7c883780, "edx": 0x7c97c0d8, "ecx": 0x7c80b46e, "eax": 0x400000,
                  "ebp": 0x12f384, "eip": 0x7c90eb94, "eflags": 0x246, "esp": 0x12f320})
    t1_ctx = ctx({"edi": 0x145b00, "esi": 0x145aa8, "ebx": 0x145ad0, "edx": 0x7c90eb94, "ecx": 7, "eax": 0xa80000,
                  "ebp": 0x97f6fc, "eip": 0x7c90eb94, "eflags": 0x246, "esp": 0x97f6ec})
    tail = bytes.fromhex(
     "4500000070ff120000424000b8278700dc31917c00000000004c870000000020040000000000000007000000000000004042400000000000000000002e000000000000000cff12007b434100010000000700000084434100004d87002e39917cffffffff24000000240000002700000000000000584d870004000000b1944000244c87002a0000002f000000c0fe1200004d8700584d87000000a659b0b9a859015d400015aa400000000000b4070000784e14000000000001000000f40b00000000000000000000bc070000b8070000f40b0000a8fa120000000000009c4000599c400094b240004f752a0fc0ff1200ec534000010000003039870050398700ff752a0f00002400a02024000050fd7f050000c00100000005000000000000000000240084ff1200acfa1200e0ff1200d06f4000a70b7a0f00000000f0ff1200d76f817c00002400a02024000050fd7f050000c0c8ff1200a8fa1200ffffffffa89a837ce06f817c0000000000000000000000004354400000000000")
    S0, N0 = 0x12f31c, 0xce4
    if minidump2:
        tail = bytes.fromhex(MD2_TAIL)
        S0, N0 = 0x12f368, 0xc98
    assert S0 + N0 - len(tail) == (0x12fe8c if minidump2 else 0x12fe84)
    stack0 = b"\0" * (N0 - len(tail)) + tail
    stack1 = b"\0" * 0x918
    streams = []
    csd = mdstr("Service Pack 2")
    si = struct.pack("<HHHBBIIIIIHH", 0, 6, 0xd08, 1, 1, 5, 1, 2600, 2, csd, 0x100, 0)
    si += b"GenuineIntel" + struct.pack("<III", 0, 0, 0)
    streams.append((7, si))
    s0 = add(stack0); c0 = add(t0_ctx); s1 = add(stack1); c1 = add(t1_ctx)
    th = struct.pack("<I", 2) + struct.pack("<IIIIQQIIII", 0xbf4, 0, 0, 0, 0x7ffdf000, S0, N0, s0, len(t0_ctx), c0) + \
        struct.pack("<IIIIQQIIII", 0x11c0, 0, 0, 0, 0x7ffde000, 0x97f6e8, 0x918, s1, len(t1_ctx), c1)
    streams.append((3, th))
    mods = [  # name, base, size, timestamp, debug_id, pdb, version
     ("C:\\test_app.exe", 0x400000, 0x2d000, 0x45d35f6c, "5A9832E5287241C1838ED98914E9B7FF1", "c:\\test_app.pdb", None),
     ("C:\\WINDOWS\\system32\\ntdll.dll", 0x7c900000, 0xb0000, 0x411096b4, "36515FB5D04345E491F672FA2E2878C02", "ntdll.pdb", "5.1.2600.2180"),
     ("C:\\WINDOWS\\system32\\kernel32.dll", 0x7c800000, 0xf4000, 0x44ab9a84, "BCE8785C57B44245A669896B6A19B9542", "kernel32.pdb", "5.1.2600.2945"),
     ("C:\\WINDOWS\\system32\\ole32.dll", 0x774e0000, 0x13d000, 0x42e5be93, "683B65B246F4418796D2EE6D4C55EB112", "ole32.pdb", "5.1.2600.2726"),
     ("C:\\WINDOWS\\system32\\advapi32.dll", 0x77dd0000, 0x9b000, 0x411096a7, "455D6C5F184D45BBB5C5F30F829751142", "advapi32.pdb", "5.1.2600.2180"),
     ("C:\\WINDOWS\\system32\\rpcrt4.dll", 0x77e70000, 0x91000, 0x411096ae, "BEA45A721DA141DAA3BA86B3A20311532", "rpcrt4.pdb", "5.1.2600.2180"),
     ("C:\\WINDOWS\\system32\\gdi32.dll", 0x77f10000, 0x47000, 0x43b34feb, "C0EA66BE00A64BD7AEF79E443A91869C2", "gdi32.pdb", "5.1.2600.2818"),
     ("C:\\WINDOWS\\system32\\user32.dll", 0x77d40000, 0x90000, 0x42260159, "EE2B714D83A34C9D88027621272F83262", "user32.pdb", "5.1.2600.2622"),
     ("C:\\WINDOWS\\system32\\msvcrt.dll", 0x77c10000, 0x58000, 0x41109752, "A678F3C30DED426B839032B996987E381", "msvcrt.pdb", "7.0.2600.2180"),
     ("C:\\WINDOWS\\system32\\imm32.dll", 0x76390000, 0x1d000, 0x411096ae, "2C17A49C251B4C8EB9E2AD13D7D9EA162", "imm32.pdb", "5.1.2600.2180"),
     ("C:\\WINDOWS\\system32\\dbghelp.dll", 0x59a60000, 0xa1000, 0x4110969a, "39559573E21B46F28E286923BE9E6A761", "dbghelp.pdb", "5.1.2600.2180"),
     ("C:\\WINDOWS\\system32\\version.dll", 0x77c00000, 0x8000, 0x411096b7, "180A90C40384463E82DDC45B2C8AB76E2", "version.pdb", "5.1.2600.2180"),
     ("C:\\WINDOWS\\system32\\psapi.dll", 0x76bf0000, 0xb000, 0x411096ca, "A5C3A1F9689F43D8AD228A09293889702", "psapi.pdb", "5.1.2600.2180"),
    ]
    if minidump2:
        mods[0] = ("C:\\test_app.exe", 0x400000, 0x2c000, 0x45787a49, "DA006AA30D684DF080C8D782A22738531",
                   "c:\\test_app.pdb", None)
    recs = []
    for name, base, size, ts, did, pdb, ver in mods:
        nrva = mdstr(name)
        g = did[:32]
        guid = struct.pack("<IHH", int(g[0:8], 16), int(g[8:12], 16), int(g[12:16], 16)) + bytes.fromhex(g[16:32])
        cv = struct.pack("<I", 0x53445352) + guid + struct.pack("<I", int(did[32:], 16)) + pdb.encode() + b"\0"
        cvr = add(cv)
        vi = b"\0" * 52
        if ver:
            a, b_, c, d_ = map(int, ver.split("."))
            vi = struct.pack("<IIIIII", 0xFEEF04BD, 0x10000, a << 16 | b_, c << 16 | d_, a << 16 | b_, c << 16 | d_).ljust(52, b"\0")
        recs.append(struct.pack("<QIIII", base, size, 0, ts, nrva) + vi + struct.pack("<IIII", len(cv), cvr, 0, 0) + b"\0" * 16)
    streams.append((4, struct.pack("<I", len(recs)) + b"".join(recs)))
    ec = add(exc_ctx)
    exc = struct.pack("<IIIIQQII", 0xbf4, 0, 0xc0000005, 0, 0, (0x403f6e if minidump2 else 0x40429e), 2, 0) + \
        (struct.pack("<QQ", 1, 0x45)).ljust(120, b"\0") + struct.pack("<II", len(exc_ctx), ec)
    streams.append((6, exc))
    streams.append((15, struct.pack("<IIIIII", 24, 3, 3932, 0x45d35f73, 0, 0)))
    streams.append((0x47670001, struct.pack("<III", 3, 0x11c0, 0xbf4)))
    placed = [(t, len(d), add(d)) for t, d in streams]
    placed += [(0, 0, 0), (0, 0, 0)]  # the two unused directory entries
    dr = add(b"".join(struct.pack("<III", t, n, r) for t, n, r in placed))
    struct.pack_into("<IIIIIIQ", out, 0, 0x504D444D, 0x5128a793, len(placed), dr, 0, 0x45d35f73, 0)
    return bytes(out)


mods = [("0x00400000","45d35f6c2d000","test_app.pdb","5A9832E5287241C1838ED98914E9B7FF1","0x0042d000","test_app.exe",None),
("0x7c900000","411096b4b0000","ntdll.pdb","36515FB5D04345E491F672FA2E2878C02","0x7c9b0000","ntdll.dll","5.1.2600.2180"),
("0x7c800000","44ab9a84f4000","kernel32.pdb","BCE8785C57B44245A669896B6A19B9542","0x7c8f4000","kernel32.dll","5.1.2600.2945"),
("0x774e0000","42e5be9313d000","ole32.pdb","683B65B246F4418796D2EE6D4C55EB112","0x7761d000","ole32.dll","5.1.2600.2726"),
("0x77dd0000","411096a79b000","advapi32.pdb","455D6C5F184D45BBB5C5F30F829751142","0x77e6b000","advapi32.dll","5.1.2600.2180"),
("0x77e70000","411096ae91000","rpcrt4.pdb","BEA45A721DA141DAA3BA86B3A20311532","0x77f01000","rpcrt4.dll","5.1.2600.2180"),
("0x77f10000","43b34feb47000","gdi32.pdb","C0EA66BE00A64BD7AEF79E443A91869C2","0x77f57000","gdi32.dll","5.1.2600.2818"),
("0x77d40000","4226015990000","user32.pdb","EE2B714D83A34C9D88027621272F83262","0x77dd0000","user32.dll","5.1.2600.2622"),
("0x77c10000","4110975258000","msvcrt.pdb","A678F3C30DED426B839032B996987E381","0x77c68000","msvcrt.dll","7.0.2600.2180"),
("0x76390000","411096ae1d000","imm32.pdb","2C17A49C251B4C8EB9E2AD13D7D9EA162","0x763ad000","imm32.dll","5.1.2600.2180"),
("0x59a60000","4110969aa1000","dbghelp.pdb","39559573E21B46F28E286923BE9E6A761","0x59b01000","dbghelp.dll","5.1.2600.2180"),
("0x77c00000","411096b78000","version.pdb","180A90C40384463E82DDC45B2C8AB76E2","0x77c08000","version.dll","5.1.2600.2180"),
("0x76bf0000","411096cab000","psapi.pdb","A5C3A1F9689F43D8AD228A09293889702","0x76bfb000","psapi.dll","5.1.2600.2180")]
frames = [("test_app.exe","0x0000429e","0x0040429e","context"),("test_app.exe","0x000041ff","0x004041ff","frame_pointer"),
          ("test_app.exe","0x000053eb","0x004053eb","frame_pointer"),("kernel32.dll","0x00016fd6","0x7c816fd6","frame_pointer")]
def frame(i, f, regs=None):
    d = {"file": None, "frame": i, "function": None, "function_offset": None, "inlines": None, "line": None,
         "missing_symbols": True, "module": f[0], "module_offset": f[1], "offset": f[2], "trust": f[3],
         "unloaded_modules": None}
    if regs: d["registers"] = regs
    return d
regs0 = {"eax":"0x00000045","ebp":"0x0012fe88","ebx":"0x7c80abc1","ecx":"0x0012fe94","edi":"0x00000a28",
         "edx":"0x0042bc58","eflags":"0x00010246","eip":"0x0040429e","esi":"0x00000002","esp":"0x0012fe84"}
want = {
 "crash_info": {"address": "0x00000045", "adjusted_address": None, "assertion": None, "crashing_thread": 0,
                "type": "EXCEPTION_ACCESS_VIOLATION_WRITE"},
 "crashing_thread": {"frame_count": 4, "frames": [frame(i, f, regs0 if i == 0 else None) for i, f in enumerate(frames)],
                     "last_error_value": None, "thread_name": None, "threads_index": 0},
 "lsb_release": None, "mac_crash_info": None, "main_module": 0,
 "modules": [{"base_addr": m[0], "cert_subject": None, "code_id": m[1], "corrupt_symbols": False, "debug_file": m[2],
              "debug_id": m[3], "end_addr": m[4], "filename": m[5], "loaded_symbols": False, "missing_symbols": False,
              "symbol_url": None, "version": m[6]} for m in mods],
 "modules_contains_cert_info": False, "pid": 3932, "status": "OK",
 "system_info": {"cpu_arch": "x86", "cpu_count": 1, "cpu_info": "GenuineIntel family 6 model 13 stepping 8",
                 "cpu_microcode_version": None, "os": "Windows NT", "os_ver": "5.1.2600 Service Pack 2"},
 "thread_count": 2,
 "threads": [{"frame_count": 4, "frames": [frame(i, f) for i, f in enumerate(frames)], "last_error_value": None,
              "thread_name": None},
             {"frame_count": 0, "frames": [], "last_error_value": None, "thread_name": None}],
 "unloaded_modules": []}


EXPECTED_HUMAN = "Operating system: Windows NT\n                  5.1.2600 Service Pack 2\nCPU: x86\n     GenuineIntel family 6 model 13 stepping 8\n     1 CPU\n\nCrash reason:  EXCEPTION_ACCESS_VIOLATION_WRITE\nCrash address: 0x00000045\nProcess uptime: 0 seconds\n\nThread 0  (crashed)\n 0  test_app.exe + 0x429e\n     eip = 0x0040429e    esp = 0x0012fe84    ebp = 0x0012fe88    ebx = 0x7c80abc1\n     esi = 0x00000002    edi = 0x00000a28    eax = 0x00000045    ecx = 0x0012fe94\n     edx = 0x0042bc58 eflags = 0x00010246\n    Found by: given as instruction pointer in context\n 1  test_app.exe + 0x41ff\n     eip = 0x00404200    esp = 0x0012fe90    ebp = 0x0012ff70\n    Found by: previous frame's frame pointer\n 2  test_app.exe + 0x53eb\n     eip = 0x004053ec    esp = 0x0012ff78    ebp = 0x0012ffc0\n    Found by: previous frame's frame pointer\n 3  kernel32.dll + 0x16fd6\n     eip = 0x7c816fd7    esp = 0x0012ffc8    ebp = 0x0012fff0\n    Found by: previous frame's frame pointer\n\n\nLoaded modules:\n0x00400000 - 0x0042cfff  test_app.exe  ???  (main)\n0x59a60000 - 0x59b00fff  dbghelp.dll  5.1.2600.2180\n0x76390000 - 0x763acfff  imm32.dll  5.1.2600.2180\n0x76bf0000 - 0x76bfafff  psapi.dll  5.1.2600.2180\n0x774e0000 - 0x7761cfff  ole32.dll  5.1.2600.2726\n0x77c00000 - 0x77c07fff  version.dll  5.1.2600.2180\n0x77c10000 - 0x77c67fff  msvcrt.dll  7.0.2600.2180\n0x77d40000 - 0x77dcffff  user32.dll  5.1.2600.2622\n0x77dd0000 - 0x77e6afff  advapi32.dll  5.1.2600.2180\n0x77e70000 - 0x77f00fff  rpcrt4.dll  5.1.2600.2180\n0x77f10000 - 0x77f56fff  gdi32.dll  5.1.2600.2818\n0x7c800000 - 0x7c8f3fff  kernel32.dll  5.1.2600.2945\n0x7c900000 - 0x7c9affff  ntdll.dll  5.1.2600.2180\n\nUnloaded modules:\n\nUnimplemented streams encountered:\nStream 0x00000000 UnusedStream (Official) @ 0x00000000\n\n"


def compare(path, w, g, out):
    if isinstance(w, dict):
        if not isinstance(g, dict):
            out.append("%s: want an object, got %r" % (path, g))
            return
        for k in w:
            if k not in g:
                out.append("%s.%s: missing" % (path, k))
            else:
                compare(path + "." + k, w[k], g[k], out)
    elif isinstance(w, list):
        if not isinstance(g, list) or len(g) != len(w):
            out.append("%s: want %d entries, got %r" % (path, len(w), len(g) if isinstance(g, list) else g))
            return
        for i, (a, b) in enumerate(zip(w, g)):
            compare("%s[%d]" % (path, i), a, b, out)
    elif w != g:
        out.append("%s: want %r, got %r" % (path, w, g))


os.makedirs(SCRATCH, exist_ok=True)
path = os.path.join(SCRATCH, "test.dmp")
with open(path, "wb") as f:
    f.write(build_test_dmp())
failures = []
p = subprocess.run([STACKWALK, "--json", path], capture_output=True, text=True, timeout=60)
if p.returncode != 0:
    failures.append("--json exit %d: %s" % (p.returncode, p.stderr))
else:
    compare("", want, json.loads(p.stdout), failures)
p = subprocess.run([STACKWALK, "--human", path], capture_output=True, text=True, timeout=60)
if p.stdout != EXPECTED_HUMAN:
    import difflib
    failures.append("--human differs:\n" + "".join(difflib.unified_diff(
        EXPECTED_HUMAN.splitlines(True), p.stdout.splitlines(True), "rust-minidump", "stackwalk")))
# Breakpad's -m: every stack line has 7 fields (thread|frame|module|function|
# file|line|offset), offsets from the return address; a frame without a
# function has empty function, file and line fields
p = subprocess.run([STACKWALK, "--machine", path], capture_output=True, text=True, timeout=60)
stack = p.stdout.split("\n\n", 1)[1].splitlines() if "\n\n" in p.stdout else []
want_m = ["0|0|test_app.exe||||0x429e", "0|1|test_app.exe||||0x4200", "0|2|test_app.exe||||0x53ec",
          "0|3|kernel32.dll||||0x16fd7"]
if stack != want_m:
    failures.append("--machine stack lines: %r, want %r" % (stack, want_m))
head = p.stdout.split("\n\n", 1)[0].splitlines()
if [l.split("|")[0] for l in head[:4]] != ["OS", "CPU", "GPU", "Crash"] or \
        "Module|test_app.exe||test_app.pdb|5A9832E5287241C1838ED98914E9B7FF1|0x00400000|0x0042cfff|1" not in head:
    failures.append("--machine header lines: %r" % head[:6])
# Breakpad's minidump2.dmp: minidump2.stackwalk.out (walked with its
# symbols) has these four frames' eip, esp and ebp; without the symbols
# the frame-pointer walk must find the same
path2 = os.path.join(SCRATCH, "minidump2.dmp")
with open(path2, "wb") as f:
    f.write(build_test_dmp(minidump2=True))
p = subprocess.run([STACKWALK, "--json", path2], capture_output=True, text=True, timeout=60)
fr = json.loads(p.stdout)["crashing_thread"]["frames"] if p.returncode == 0 else []
got2 = [(f["module"], int(f["registers"]["eip"], 16), int(f["registers"]["esp"], 16), int(f["registers"]["ebp"], 16))
        for f in fr if "registers" in f]
want2 = [("test_app.exe", 0x403f6e, 0x12fe8c, 0x12fe90), ("test_app.exe", 0x403ed0, 0x12fe98, 0x12ff70),
         ("test_app.exe", 0x405096, 0x12ff78, 0x12ffc0), ("kernel32.dll", 0x7c816fd7, 0x12ffc8, 0x12fff0)]
if got2 != want2 or len(fr) != 4:
    failures.append("minidump2 frames %r, want %r" % (got2, want2))
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("test.dmp: --json and --human agree with rust-minidump's report")
