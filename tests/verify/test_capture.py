#!/usr/bin/env python3
"""End-to-end test of `symverify capture`.

Builds the crasher fixture with -g, captures crashes (null dereference,
abort, a crash in a second thread, int3), and reads each dump with a parser
written here from the minidump format description (independent of the C
reader): header, directory, thread list with contexts and stacks, memory
list, module list with BpEL build-ids compared to readelf's, exception,
system info, thread names, the Linux streams.  Also checks exit statuses,
that the environment is not recorded, and that bad usage exits 2.

usage: test_capture.py SYMVERIFY CRASHER_SOURCE SCRATCH_DIR
"""
import os
import resource
import re
import shutil
import struct
import subprocess
import sys

SYMVERIFY, SOURCE, SCRATCH = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def build_crasher():
    os.makedirs(SCRATCH, exist_ok=True)
    exe = os.path.join(SCRATCH, "crasher")
    subprocess.run(["gcc", "-g", "-O1", "-pthread", SOURCE, "-o", exe], check=True)
    return exe


class Dump:
    STREAM_NAMES = {3: "threads", 4: "modules", 5: "memory", 6: "exception", 7: "sysinfo",
                    15: "misc", 24: "thread_names", 0x47670003: "cpuinfo",
                    0x47670004: "status", 0x47670005: "lsb", 0x47670006: "cmdline",
                    0x47670007: "environ", 0x47670008: "auxv", 0x47670009: "maps"}

    def __init__(self, path):
        self.data = open(path, "rb").read()
        d = self.data
        sig, ver, count, dir_rva = struct.unpack_from("<IIII", d, 0)
        assert sig == 0x504D444D, "bad signature"
        assert ver & 0xFFFF == 0xA793, "bad version"
        self.streams = {}
        for i in range(count):
            typ, size, rva = struct.unpack_from("<III", d, dir_rva + 12 * i)
            assert rva + size <= len(d), "stream %#x outside the file" % typ
            assert typ not in self.streams, "stream %#x twice" % typ
            self.streams[typ] = (rva, size)
        self.parse_memory()

    def stream(self, typ):
        rva, size = self.streams[typ]
        return self.data[rva:rva + size]

    def string(self, rva):
        (n,) = struct.unpack_from("<I", self.data, rva)
        return self.data[rva + 4:rva + 4 + n].decode("utf-16-le")

    def parse_memory(self):
        s = self.stream(5)
        (n,) = struct.unpack_from("<I", s, 0)
        assert len(s) == 4 + 16 * n, "memory list size"
        self.memory = []
        for i in range(n):
            start, size, rva = struct.unpack_from("<QII", s, 4 + 16 * i)
            self.memory.append((start, size, rva))
        ranges = sorted((m[0], m[0] + m[1]) for m in self.memory)
        for a, b in zip(ranges, ranges[1:]):
            assert a[1] <= b[0], "overlapping memory ranges"

    def read(self, addr, n):
        for start, size, rva in self.memory:
            if start <= addr and addr + n <= start + size:
                off = rva + addr - start
                return self.data[off:off + n]
        return None

    def threads(self):
        s = self.stream(3)
        (n,) = struct.unpack_from("<I", s, 0)
        assert len(s) == 4 + 48 * n, "thread list size"
        out = []
        for i in range(n):
            tid, _, _, _, _teb, st_start, st_size, st_rva, ctx_size, ctx_rva = \
                struct.unpack_from("<IIIIQQIIII", s, 4 + 48 * i)
            ctx = self.data[ctx_rva:ctx_rva + ctx_size]
            out.append(dict(tid=tid, stack=(st_start, st_size, st_rva), ctx=ctx))
        return out

    def modules(self):
        s = self.stream(4)
        (n,) = struct.unpack_from("<I", s, 0)
        assert len(s) == 4 + 108 * n, "module list size"
        out = []
        for i in range(n):
            off = 4 + 108 * i
            base, size, _, _, name_rva = struct.unpack_from("<QIIII", s, off)
            cv_size, cv_rva = struct.unpack_from("<II", s, off + 76)
            cv = self.data[cv_rva:cv_rva + cv_size]
            out.append(dict(base=base, size=size, name=self.string(name_rva), cv=cv))
        return out


def amd64_regs(ctx):
    assert len(ctx) == 1232, "amd64 context is 1232 bytes, got %d" % len(ctx)
    (flags,) = struct.unpack_from("<I", ctx, 0x30)
    names = "rax rcx rdx rbx rsp rbp rsi rdi r8 r9 r10 r11 r12 r13 r14 r15 rip".split()
    vals = struct.unpack_from("<17Q", ctx, 0x78)
    r = dict(zip(names, vals))
    r["flags"] = flags
    return r


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def capture(exe, how, env=None, opts=()):
    dump = os.path.join(SCRATCH, "cap-%s.dmp" % how)
    if os.path.exists(dump):
        os.unlink(dump)
    p = subprocess.run([SYMVERIFY, "capture", "-o", dump] + list(opts) + ["--", exe, how],
                       capture_output=True, text=True, env=env)
    return p, dump


def check_dump(exe, how, dump, signo, fault_zero):
    d = Dump(dump)
    for typ in (3, 4, 5, 6, 7, 15, 24, 0x47670003, 0x47670004, 0x47670006, 0x47670008,
                0x47670009):
        check(typ in d.streams, "%s: stream %s present" % (how, Dump.STREAM_NAMES[typ]))
    check(0x47670007 not in d.streams, "%s: no environment stream" % how)

    si = d.stream(7)
    arch, = struct.unpack_from("<H", si, 0)
    platform, = struct.unpack_from("<I", si, 20)
    check(arch == 9, "%s: system info says amd64" % how)
    check(platform == 0x8201, "%s: system info says Linux" % how)
    csd_rva, = struct.unpack_from("<I", si, 24)
    check(d.string(csd_rva).startswith("Linux "), "%s: csd version names the kernel" % how)

    ex = d.stream(6)
    check(len(ex) == 168, "%s: exception stream size" % how)
    tid, _, code, flags, _, addr = struct.unpack_from("<IIIIQQ", ex, 0)
    ctx_size, ctx_rva = struct.unpack_from("<II", ex, 160)
    check(code == signo, "%s: exception code %d is the signal %d" % (how, code, signo))
    if fault_zero:
        check(addr == 0, "%s: fault address 0 (null dereference), got %#x" % (how, addr))
        check(flags == 1, "%s: si_code SEGV_MAPERR" % how)

    threads = d.threads()
    tids = [t["tid"] for t in threads]
    check(tid in tids, "%s: crashing thread %d is in the thread list" % (how, tid))
    expect_threads = 3 if how == "thread" else 2
    check(len(threads) == expect_threads,
          "%s: %d threads, expected %d" % (how, len(threads), expect_threads))
    crashed = [t for t in threads if t["tid"] == tid][0]
    check(d.data[ctx_rva:ctx_rva + ctx_size] == crashed["ctx"],
          "%s: exception context is the crashing thread's" % how)

    mods = d.modules()
    names = [m["name"] for m in mods]
    exe_real = os.path.realpath(exe)
    main = [m for m in mods if m["name"] == exe_real]
    check(len(main) == 1, "%s: the executable is a module (%s)" % (how, names))
    check(any(os.path.basename(n).startswith("libc.so") for n in names),
          "%s: libc is a module" % how)
    for a, b in zip(mods, mods[1:]):
        check(a["base"] + a["size"] <= b["base"], "%s: modules do not overlap" % how)
    for m in mods:
        if not m["name"].startswith("/"):
            continue
        bid = build_id(m["name"])
        check(m["cv"][:4] == struct.pack("<I", 0x4270454C), "%s: %s has a BpEL record" % (how, m["name"]))
        if bid:
            check(m["cv"][4:].hex() == bid,
                  "%s: %s build-id %s matches readelf %s" % (how, m["name"], m["cv"][4:].hex(), bid))

    # registers are real: pc inside the executable or libc, sp inside its stack
    for t in threads:
        r = amd64_regs(t["ctx"])
        check(r["flags"] & 0x00100003 == 0x00100003,
              "%s: thread %d context flags %#x" % (how, t["tid"], r["flags"]))
        st_start, st_size, st_rva = t["stack"]
        check(st_size > 0 and st_start <= r["rsp"] < st_start + st_size,
              "%s: thread %d stack memory covers rsp" % (how, t["tid"]))
        check(r["rsp"] - st_start == 128 or st_start > r["rsp"] - 128,
              "%s: thread %d stack keeps the red zone" % (how, t["tid"]))
        check(d.data[st_rva:st_rva + 8] == d.read(st_start, 8),
              "%s: thread %d stack is in the memory list" % (how, t["tid"]))
        check(any(m["base"] <= r["rip"] < m["base"] + m["size"] for m in mods),
              "%s: thread %d pc %#x is in a module" % (how, t["tid"], r["rip"]))
    r = amd64_regs(crashed["ctx"])
    check(d.read(r["rip"], 4) is not None, "%s: memory around the pc is kept" % how)
    if how in ("null", "thread"):
        m = main[0]
        # the faulting store is in crash_null: ask the symbolizer independently
        sym = subprocess.run(["llvm-symbolizer", "--obj=" + exe, hex(r["rip"] - m["base"])],
                             capture_output=True, text=True).stdout
        check(sym.startswith("crash_null"), "%s: pc is in crash_null (%s)" % (how, sym.split()[:1]))
        # the word at rsp in the leaf is the return address into sv_leaf
        ret, = struct.unpack("<Q", d.read(r["rsp"], 8))
        sym = subprocess.run(["llvm-symbolizer", "--obj=" + exe, hex(ret - m["base"] - 1)],
                             capture_output=True, text=True).stdout
        check(sym.startswith("sv_leaf"), "%s: return address in sv_leaf (%s)" % (how, sym.split()[:1]))

    names_s = d.stream(24)
    n, = struct.unpack_from("<I", names_s, 0)
    tnames = {}
    for i in range(n):
        ttid, rva = struct.unpack_from("<IQ", names_s, 4 + 12 * i)
        tnames[ttid] = d.string(rva)
    check(tnames.get(threads[0]["tid"]) == "crasher", "%s: thread name %s" % (how, tnames))

    cmdline = d.stream(0x47670006)
    check(cmdline.split(b"\0")[1] == how.encode(), "%s: cmdline stream" % how)
    check(b"r-xp" in d.stream(0x47670009), "%s: maps stream" % how)
    check(b"SECRET_VALUE_4711" not in d.data, "%s: the environment is not in the dump" % how)
    return d


def main():
    # the fixtures crash on purpose: no core files in the build tree
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    exe = build_crasher()
    env = dict(os.environ, SV_TEST_TOKEN="SECRET_VALUE_4711")
    cases = [("null", 11, 139, True), ("abort", 6, 134, False), ("thread", 11, 139, True),
             ("trap", 4, 132, False), ("fpe", 8, 136, False),
             ("int3", 5, 133, False)]
    for how, signo, status, fault_zero in cases:
        p, dump = capture(exe, how, env)
        check(p.returncode == status, "%s: exit status %d, expected %d (%s)" %
              (how, p.returncode, status, p.stderr.strip()))
        if check(os.path.exists(dump), "%s: dump written" % how):
            try:
                check_dump(exe, how, dump, signo, fault_zero)
            except (AssertionError, struct.error, IndexError, KeyError) as e:
                check(False, "%s: dump readable: %s" % (how, e))

    # no crash: the child's status, no dump
    p, dump = capture(exe, "exit")
    check(p.returncode == 3, "exit: status 3, got %d" % p.returncode)
    check(not os.path.exists(dump), "exit: no dump")
    # a signal the program ignores is not a crash
    p, dump = capture(exe, "caught")
    check(p.returncode == 4, "caught: status 4, got %d" % p.returncode)
    check(not os.path.exists(dump), "caught: no dump for an ignored signal")

    # a program with its own SIGSEGV handler: no dump unless --first-chance
    p, dump = capture(exe, "handled")
    check(p.returncode == 5, "handled: status 5, got %d" % p.returncode)
    check(not os.path.exists(dump), "handled: no dump without --first-chance")
    p, dump = capture(exe, "handled", opts=["--first-chance"])
    check(p.returncode == 5, "handled --first-chance: status 5, got %d" % p.returncode)
    if check(os.path.exists(dump), "handled --first-chance: dump written"):
        ex = Dump(dump).stream(6)
        check(struct.unpack_from("<I", ex, 8)[0] == 11, "handled --first-chance: SIGSEGV recorded")
    # SIGFPE: the address is the faulting instruction, the code FPE_INTDIV
    p, dump = capture(exe, "fpe")
    if os.path.exists(dump):
        d = Dump(dump)
        ex = d.stream(6)
        _, _, code, flags, _, addr = struct.unpack_from("<IIIIQQ", ex, 0)
        crashed = [t for t in d.threads() if t["tid"] == struct.unpack_from("<I", ex, 0)[0]][0]
        check(flags == 1 and addr == amd64_regs(crashed["ctx"])["rip"],
              "fpe: FPE_INTDIV at the pc (flags %d, addr %#x)" % (flags, addr))
    # a thread whose stack pointer is garbage: still a dump, without its stack
    p, dump = capture(exe, "badsp")
    check(p.returncode == 139, "badsp: status 139, got %d" % p.returncode)
    if check(os.path.exists(dump), "badsp: dump written"):
        d = Dump(dump)
        tid = struct.unpack_from("<I", d.stream(6), 0)[0]
        t = [t for t in d.threads() if t["tid"] == tid][0]
        check(amd64_regs(t["ctx"])["rsp"] == 0 and t["stack"][1] == 0,
              "badsp: rsp 0 and no stack memory (%s)" % (t["stack"],))

    # exec keeps the traced process: a crash after `exec` in a shell is caught
    dump = os.path.join(SCRATCH, "cap-exec.dmp")
    p = subprocess.run([SYMVERIFY, "capture", "-q", "-o", dump, "--", "sh", "-c", 'exec "$0" null', exe],
                       capture_output=True, text=True)
    check(p.returncode == 139 and os.path.exists(dump), "exec via sh: status %d, dump %s" %
          (p.returncode, os.path.exists(dump)))
    if os.path.exists(dump):
        names = [m["name"] for m in Dump(dump).modules()]
        check(os.path.realpath(exe) in names, "exec via sh: the dump lists the new image (%s)" % names)

    # --max-stack bounds every thread's stack copy (plus the red zone)
    p, dump = capture(exe, "thread", opts=["--max-stack", "2k"])
    if check(os.path.exists(dump), "--max-stack: dump written"):
        sizes = [t["stack"][1] for t in Dump(dump).threads()]
        check(all(0 < n <= 2048 + 128 for n in sizes), "--max-stack 2k: stack sizes %s" % sizes)
    # -q: nothing on stderr; an unwritable dump path: the program still dies, exit 2
    p, dump = capture(exe, "null", opts=["-q"])
    check(p.returncode == 139 and p.stderr == "", "-q: quiet (%r)" % p.stderr)
    p = subprocess.run([SYMVERIFY, "capture", "-o", os.path.join(SCRATCH, "no", "such", "dir.dmp"),
                        "--", exe, "null"], capture_output=True, text=True)
    check(p.returncode == 2 and p.stderr.count("\n") == 1 and "dir.dmp" in p.stderr,
          "unwritable dump: exit 2 with one line (%d, %r)" % (p.returncode, p.stderr))

    # bad usage: one line on stderr, exit 2
    for args in (["capture"], ["capture", "--bogus", "--", exe], ["capture", "-o"],
                 [], ["nosuchcommand"], ["--nosuchflag"], ["capture", "--max-stack", "x", "--", exe]):
        p = subprocess.run([SYMVERIFY] + args, capture_output=True, text=True)
        check(p.returncode == 2, "%s: exit 2, got %d" % (args, p.returncode))
        check(p.stderr.startswith("symverify: ") and p.stderr.count("\n") == 1,
              "%s: one-line error, got %r" % (args, p.stderr))
    p = subprocess.run([SYMVERIFY, "capture", "--", os.path.join(SCRATCH, "does-not-exist")],
                       capture_output=True, text=True)
    check(p.returncode == 127, "missing command: exit 127, got %d" % p.returncode)
    check("does-not-exist" in p.stderr, "missing command named in the error")

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all capture checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
