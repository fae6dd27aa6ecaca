#!/usr/bin/env python3
"""rust-minidump's unwinder scenarios, replayed through stackwalk.

rust-minidump tests each CPU's unwinder on synthetic stacks: a context, a
hand-laid stack, two modules and sometimes a few .sym lines, with the
frames (count, trust, recovered registers) it must find.  Each scenario
here lays out the same situation as a real minidump (mdbuild), walks it with
`stackwalk --json` and checks the same things: the number of frames, each
frame's trust, the exact set of registers a caller frame has (rust-minidump's
"validity") and their values.  The layouts are described in our own terms;
the expectations are rust-minidump's.

usage: test_unwind_parity.py STACKWALK SCRATCH_DIR [--report]
  --report: print "ARCH agreed/total" per CPU and every disagreement, and
            exit 0 (for before/after comparisons with another build).
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdbuild  # noqa: E402

STACKWALK, SCRATCH = sys.argv[1], sys.argv[2]
REPORT = "--report" in sys.argv[3:]
OS_WINDOWS, OS_IOS, OS_LINUX = 2, 0x8102, mdbuild.OS_LINUX
U64 = (1 << 64) - 1
U32 = (1 << 32) - 1
results = {}  # arch -> [(name, problem or None)]


class Lay:
    """A stack under construction: words, gaps and named positions (marks);
    a word may be a mark's name, resolved once the layout is complete."""

    def __init__(self, base, word):
        self.base, self.word, self.items = base, word, []

    def gap(self, n):
        self.items.append(("gap", n))
        return self

    def w(self, *values):
        for v in values:
            self.items.append(("word", v))
        return self

    def mark(self, name):
        self.items.append(("mark", name))
        return self

    def marks(self):
        at, out = self.base, {}
        for kind, v in self.items:
            if kind == "mark":
                out[v] = at
            else:
                at += v if kind == "gap" else self.word
        return out

    def build(self, extra=None):
        m = self.marks()
        if extra:
            m.update(extra)
        out = bytearray()
        for kind, v in self.items:
            if kind == "gap":
                out += b"\0" * v
            elif kind == "word":
                val = m[v] if isinstance(v, str) else v
                if isinstance(v, tuple):  # (mark, bits to or in)
                    val = m[v[0]] | v[1]
                out += (val & (U64 if self.word == 8 else U32)).to_bytes(self.word, "little")
        return bytes(out)


ARCH_NAMES = {"amd64": "x86_64", "x86": "x86", "arm": "arm", "arm64": "arm64"}
LOW_MODULES = [("module1", 0x40000000), ("module2", 0x50000000)]
AMD64_MODULES = [("module1", 0x7400C0000000), ("module2", 0x7500B0000000)]


def walk(arch, label, os_id, modules, stack: Lay, regs, syms=None, extra_marks=None):
    d = os.path.join(SCRATCH, arch, label)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    store = os.path.join(d, "store")
    os.makedirs(store)
    mods = []
    for i, (name, base) in enumerate(modules):
        m = mdbuild.Module(name, base, 0x10000, bytes([i + 1] * 20))
        mods.append(m)
        if syms and name in syms:
            mdbuild.write_sym(store, m, ARCH_NAMES[arch], syms[name])
    dump = mdbuild.Dump(arch, os_id=os_id)
    dump.modules = mods
    dump.threads = [mdbuild.Thread(1, arch, regs, stack.base, stack.build(extra_marks))]
    # a crash in that thread: rust-minidump (and stackwalk) report the
    # recovered registers of the crashing thread's frames
    dump.exception = (1, 11, 1, 0, None)
    path = os.path.join(d, "t.dmp")
    dump.write(path)
    p = subprocess.run([STACKWALK, "--json", path, "--symbols-path", store], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("exit %d: %s" % (p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)["crashing_thread"]["frames"]


def frame_regs(f):
    return {k: int(v, 16) for k, v in (f.get("registers") or {}).items()}


def scenario(arch, name, frames_want, **kw):
    """frames_want: one (trust, registers, exact) per frame; registers a dict
    of values the frame must have; exact: the set of registers it must have
    and no others (None: not checked)."""
    try:
        got = walk(arch, name, **kw)
        problems = []
        if len(got) != len(frames_want):
            problems.append("%d frames %s, want %d" % (len(got), [f["trust"] for f in got], len(frames_want)))
        for i, (want, f) in enumerate(zip(frames_want, got)):
            trust, values, exact = want
            if f["trust"] != trust:
                problems.append("frame %d trust %s, want %s" % (i, f["trust"], trust))
            r = frame_regs(f)
            for k, v in values.items():
                if r.get(k) != v:
                    problems.append("frame %d %s=%s, want %#x" % (i, k, hex(r[k]) if k in r else None, v))
            if exact is not None and set(r) != set(exact):
                problems.append("frame %d registers %s, want %s" % (i, sorted(r), sorted(exact)))
        problem = "; ".join(problems) or None
    except Exception as e:  # a crash or unreadable output is a disagreement
        problem = "error: %s" % e
    results.setdefault(arch, []).append((name, problem))


CTX = ("context", {}, None)

# ---------------------------------------------------------------- amd64 ----
S64 = 0x8000000080000000


def amd64():
    a = "amd64"
    scenario(a, "simple", [CTX], os_id=OS_LINUX, modules=AMD64_MODULES, stack=Lay(0x80000000, 8),
             regs={"rip": 0x7400C0000200, "rbp": 0x8000000080000000})

    st = Lay(S64, 8).gap(16).w(0x7400B0000000, 0x7500B0000000, 0x7400C0001000, 0x7500B000AAAA) \
        .mark("f0_rbp").w("f1_rbp", 0x7500B0000110).mark("f1_sp").gap(32).mark("f1_rbp").w(0)
    m = st.marks()
    scenario(a, "caller_pushed_rbp",
             [CTX, ("frame_pointer", {"rip": 0x7500B0000110, "rsp": m["f1_sp"], "rbp": m["f1_rbp"]},
                    {"rip", "rsp", "rbp"})],
             os_id=OS_LINUX, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": m["f0_rbp"], "rsp": S64})

    # Windows: the frame pointer may point into the middle of the frame; the
    # record right at rbp is no record, and the scan finds the caller
    st = Lay(S64, 8).gap(16).w(0xB0000000, 0xB0000000).mark("f0_rbp").w(0xC0001000, 0xB000AAAA) \
        .w("f1_rbp", 0x7500B0000110).mark("f1_sp").gap(32).mark("f1_rbp").w(0)
    m = st.marks()
    scenario(a, "windows_rbp_scan",
             [CTX, ("scan", {"rip": 0x7500B0000110, "rsp": m["f1_sp"]}, None)],
             os_id=OS_WINDOWS, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": m["f0_rbp"], "rsp": S64})

    st = Lay(S64, 8).gap(16).w(0x7400B0000000, 0x7500D0000000, 0x7500B0000100).mark("f1_sp") \
        .gap(16).w(0x7400B0000000, 0x7500D0000000).mark("f1_rbp").w(S64, 0x7500B0000900) \
        .mark("f2_sp").gap(32)
    m = st.marks()
    scenario(a, "scan_without_symbols",
             [CTX, ("scan", {"rip": 0x7500B0000100, "rsp": m["f1_sp"], "rbp": m["f1_rbp"]},
                    {"rip", "rsp", "rbp"}),
              ("scan", {"rip": 0x7500B0000900, "rsp": m["f2_sp"]}, {"rip", "rsp"})],
             os_id=OS_LINUX, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": m["f1_rbp"], "rsp": S64})

    st = Lay(S64, 8).gap(16).w(0x7400B0000000, 0x7500B0000000, 0x7400C0001000, 0x7500B000AAAA,
                                0x7500B0000110).mark("f1_sp").gap(32).mark("f1_rbp")
    m = st.marks()
    scenario(a, "scan_with_symbols",
             [CTX, ("scan", {"rip": 0x7500B0000110, "rsp": m["f1_sp"], "rbp": m["f1_rbp"]},
                    {"rip", "rsp", "rbp"})],
             os_id=OS_LINUX, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": m["f1_rbp"], "rsp": S64},
             syms={"module1": "FUNC 100 400 10 monotreme\n", "module2": "FUNC 100 400 10 marsupial\n"})

    cfi = "".join([
        "FUNC 4000 1000 10 enchiridion\n",
        "STACK CFI INIT 4000 100 .cfa: $rsp 8 + .ra: .cfa 8 - ^\n",
        "STACK CFI 4001 .cfa: $rsp 16 + $rbx: .cfa 16 - ^\n",
        "STACK CFI 4002 $r12: $rbx\n",
        "STACK CFI 4003 .cfa: $rsp 40 + $r13: .cfa 32 - ^\n",
        "STACK CFI 4005 .ra: $r13\n",
        "STACK CFI 4006 .cfa: $rbp 16 + $rbp: .cfa 24 - ^\n",
        "FUNC 5000 1000 10 epictetus\n",
        "STACK CFI INIT 5000 1000 .cfa: $rsp .ra 0\n"])
    caller = {"rip": 0x7400C0005510, "rbp": 0x68995B1DE4700266, "rbx": 0x5A5BEEB38DE23BE8,
              "r12": 0xED1B02E8CC0FC79C, "r13": 0x1D20AD8ACACBE930, "r14": 0xE94CFFC2F7ADAA28,
              "r15": 0xB638D17D8DA413B5}
    exact = {"rip", "rbx", "rbp", "rsp", "r12", "r13", "r14", "r15"}
    cases = [
        ("4000", [0x7400C0005510], {}),
        ("4001", [0x5A5BEEB38DE23BE8, 0x7400C0005510], {"rbx": 0xBE0487D2F9EAFE29}),
        ("4002", [0x5A5BEEB38DE23BE8, 0x7400C0005510], {"rbx": 0xED1B02E8CC0FC79C, "r12": 0xB0118DE918A4BCEA}),
        ("4003", [0x0E023828DFFD4D81, 0x1D20AD8ACACBE930, 0x319E68B49E3ACE0F, 0x5A5BEEB38DE23BE8,
                  0x7400C0005510], {"rbx": 0xED1B02E8CC0FC79C, "r12": 0x89D04FA804C87A43,
                                    "r13": 0x5118E02CBDB24B03}),
        ("4004", [0x0E023828DFFD4D81, 0x1D20AD8ACACBE930, 0x319E68B49E3ACE0F, 0x5A5BEEB38DE23BE8,
                  0x7400C0005510], {"rbx": 0xED1B02E8CC0FC79C, "r12": 0x46B1B8868891B34A,
                                    "r13": 0x5118E02CBDB24B03}),
        ("4005", [0x4B516DD035745953, 0x1D20AD8ACACBE930, 0xA6D445E16AE3D872, 0x5A5BEEB38DE23BE8,
                  0xAA95FA054AEDFBAE], {"rbx": 0xED1B02E8CC0FC79C, "r12": 0x46B1B8868891B34A,
                                        "r13": 0x7400C0005510}),
    ]
    for at, words, callee in cases:
        st = Lay(0x8000000080000000, 8).w(*words).mark("f1_sp").gap(1000)
        regs = dict(caller, rsp=0x8000000080000000, rip=0x7400C0000000 + int(at, 16))
        regs.update(callee)
        scenario(a, "cfi_at_" + at, [CTX, ("cfi", dict(caller, rsp=st.marks()["f1_sp"]), exact)],
                 os_id=OS_LINUX, modules=AMD64_MODULES, stack=st, regs=regs, syms={"module1": cfi})
    st = Lay(0x8000000080000000, 8).w(0x043C6DFCEB91AA34, 0x1D20AD8ACACBE930, 0x68995B1DE4700266) \
        .mark("f0_rbp").w(0x5A5BEEB38DE23BE8, 0xF015EE516AD89EAB).mark("f1_sp").gap(1000)
    m = st.marks()
    regs = dict(caller, rsp=0x8000000080000000, rip=0x7400C0004006, rbp=m["f0_rbp"], rbx=0xED1B02E8CC0FC79C,
                r12=0x26E007B341ACFEBD, r13=0x7400C0005510)
    scenario(a, "cfi_at_4006", [CTX, ("cfi", dict(caller, rsp=m["f1_sp"]), exact)],
             os_id=OS_LINUX, modules=AMD64_MODULES, stack=st, regs=regs, syms={"module1": cfi})

    st = Lay(U64 - 1000, 8).gap(1000)
    scenario(a, "frame_pointer_overflow", [CTX], os_id=OS_LINUX, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": U64, "rsp": U64 - 1000})
    st = Lay(U64 - 24, 8).mark("f0_fp").w("f1_fp", 0x7500B0000110).mark("f1_sp").mark("f1_fp").w(0)
    m = st.marks()
    scenario(a, "frame_pointer_barely_no_overflow",
             [CTX, ("frame_pointer", {"rip": 0x7500B0000110, "rsp": m["f1_sp"], "rbp": m["f1_fp"]},
                    {"rip", "rsp", "rbp"})],
             os_id=OS_LINUX, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": m["f0_fp"], "rsp": U64 - 24})
    st = Lay(0, 8).w(0x7500B0000100).mark("f1_sp").gap(16).w(0x7400B0000000, 0x7500D0000000).mark("f1_rbp")
    m = st.marks()
    scenario(a, "scan_walk_overflow",
             [CTX, ("scan", {"rip": 0x7500B0000100, "rsp": m["f1_sp"]}, {"rip", "rsp"})],
             os_id=OS_LINUX, modules=AMD64_MODULES, stack=st,
             regs={"rip": 0x7400C0000200, "rbp": m["f1_rbp"], "rsp": 0})


# ------------------------------------------------------------------ x86 ----
def x86():
    a = "x86"
    B = 0x80000000
    scenario(a, "simple", [CTX], os_id=OS_WINDOWS, modules=LOW_MODULES, stack=Lay(B, 4).w(0, 0),
             regs={"eip": 0x40000200, "ebp": B})
    st = Lay(B, 4).mark("f0_ebp").w("f1_ebp", 0x40008679).mark("f1_esp").mark("f1_ebp").w(0, 0)
    m = st.marks()
    scenario(a, "traditional",
             [CTX, ("frame_pointer", {"eip": 0x40008679, "esp": m["f1_esp"], "ebp": m["f1_ebp"]},
                    {"eip", "esp", "ebp"})],
             os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st, regs={"eip": 0x4000C7A5, "esp": B, "ebp": B})
    for name, pad in (("traditional_scan", 0), ("traditional_scan_long_way", 20 * 4)):
        st = Lay(B, 4).w(0xF065DC76, 0x46EE2167, 0xBAB023EC).gap(pad).w("f1_ebp", 0x4000129D).mark("f1_esp") \
            .gap(8).mark("f1_ebp").w(0, 0)
        m = st.marks()
        scenario(a, name,
                 [CTX, ("scan", {"eip": 0x4000129D, "esp": m["f1_esp"], "ebp": m["f1_ebp"]},
                        {"eip", "esp", "ebp"})],
                 os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st,
                 regs={"eip": 0x4000F49D, "esp": B, "ebp": 0xD43EED6E})

    cfi = "".join([
        "FUNC 4000 1000 10 enchiridion\n",
        "STACK CFI INIT 4000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^\n",
        "STACK CFI 4001 .cfa: $esp 8 + $ebx: .cfa 8 - ^\n",
        "STACK CFI 4002 $esi: $ebx\n",
        "STACK CFI 4003 .cfa: $esp 20 + $edi: .cfa 16 - ^\n",
        "STACK CFI 4005 .ra: $edi\n",
        "STACK CFI 4006 .cfa: $ebp 8 + $ebp: .cfa 12 - ^\n",
        "FUNC 5000 1000 10 epictetus\n",
        "STACK CFI INIT 5000 1000 .cfa: $esp .ra 0\n"])
    caller = {"eip": 0x40005510, "ebp": 0xC0D4AAB9, "ebx": 0x60F20CE6, "esi": 0x53D1379D, "edi": 0xAFBAE234}
    exact = {"eip", "esp", "ebp", "ebx", "edi", "esi"}
    cases = [
        ("4000", [0x40005510], {}),
        ("4001", [0x60F20CE6, 0x40005510], {"ebx": 0x91AA9A8B}),
        ("4002", [0x60F20CE6, 0x40005510], {"ebx": 0x53D1379D, "esi": 0xA5C790ED}),
        ("4003", [0x56EC3DB7, 0xAFBAE234, 0x53D67131, 0x60F20CE6, 0x40005510],
         {"ebx": 0x53D1379D, "esi": 0xA97F229D, "edi": 0xB05CC997}),
        ("4004", [0x56EC3DB7, 0xAFBAE234, 0x53D67131, 0x60F20CE6, 0x40005510],
         {"ebx": 0x53D1379D, "esi": 0xA97F229D, "edi": 0xB05CC997}),
        ("4005", [0xE29782C2, 0xAFBAE234, 0x5BA29CE9, 0x60F20CE6, 0x8036CC02],
         {"ebx": 0x53D1379D, "esi": 0x0E9C55F0, "edi": 0x40005510}),
    ]
    for at, words, callee in cases:
        st = Lay(B, 4).w(*words).mark("f1_sp").gap(1000)
        regs = dict(caller, esp=B, eip=0x40000000 + int(at, 16))
        regs.update(callee)
        scenario(a, "cfi_at_" + at, [CTX, ("cfi", dict(caller, esp=st.marks()["f1_sp"]), exact)],
                 os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st, regs=regs, syms={"module1": cfi})

    win = ("STACK WIN 4 aa85 176 0 0 4 10 4 0 1 $T2 $esp .cbSavedRegs + = $T0 .raSearchStart = "
           "$eip $T0 ^ = $esp $T0 4 + = $ebx $T2 4  - ^ = $edi $T2 8  - ^ = $esi $T2 12 - ^ = "
           "$ebp $T2 16 - ^ =\n")
    st = Lay(B, 4).w("f1_ebp", 0xA7120D1A, 0x630891BE, 0x9068A878, 0xA08EA45F, 0x40001350).mark("f1_esp") \
        .gap(12).mark("f1_ebp").w(0, 0)
    m = st.marks()
    want = [CTX, ("cfi", {"eip": 0x40001350, "esp": m["f1_esp"], "ebp": m["f1_ebp"], "ebx": 0x9068A878,
                          "esi": 0xA7120D1A, "edi": 0x630891BE}, None)]
    scenario(a, "stack_win_frame_data_basic", want, os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st,
             regs={"eip": 0x4000AA85, "esp": B, "ebp": 0xF052C1DE}, syms={"module1": win})
    junk = "STACK WIN 4 %s %s 0 0 4 10 4 0 1 $eip .raSearchStart =\n"
    scenario(a, "stack_win_frame_data_overlapping", want, os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st,
             regs={"eip": 0x4000AA85, "esp": B, "ebp": 0xF052C1DE},
             syms={"module1": junk % ("aa80", "181") + junk % ("aa84", "177") + win + junk % ("aa86", "175")})

    st = Lay(B, 4).mark("f0_esp").gap(16).mark("f0_ebp").w(0x6FA902E0, 0x5000AA95).mark("f1_esp") \
        .w(0xBAA0CB7A, 0xBDC92F9F, 0x0B1D8442, "f2_ebp", 0xB1B90A15, 0xF18E072D, 0x2558C7F3, 0x0365E25E,
           0x2A179E38).mark("f2_esp").gap(12).mark("f2_ebp").w(0, 0)
    m = st.marks()
    scenario(a, "stack_win_frame_data_parameter_size",
             [CTX, ("frame_pointer", {"eip": 0x5000AA95, "esp": m["f1_esp"], "ebp": 0x6FA902E0}, None),
              ("cfi", {"eip": 0x2A179E38, "esp": m["f2_esp"], "ebp": m["f2_ebp"], "ebx": 0x2558C7F3}, None)],
             os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st,
             regs={"eip": 0x40001004, "esp": B, "ebp": m["f0_ebp"]},
             syms={"module1": "FUNC 1000 100 c module1::wheedle\n",
                   "module2": "FUNC aa85 176 beef module2::whine\n"
                              "STACK WIN 4 aa85 176 0 0 4 10 4 0 1 $T2 $esp .cbLocals + .cbSavedRegs + = "
                              "$T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + = $ebp $T0 20 - ^ = "
                              "$ebx $T0 8 - ^ =\n"})

    scenario(a, "frame_pointer_overflow", [CTX], os_id=OS_WINDOWS, modules=LOW_MODULES,
             stack=Lay(U32 - 1000, 4).gap(1000), regs={"eip": 0x7A100000, "ebp": U32, "esp": U32 - 1000})
    top = U32 + 8
    scenario(a, "frame_pointer_overflow_nonsense_32bit_stack", [CTX], os_id=OS_WINDOWS, modules=LOW_MODULES,
             stack=Lay(top - 1000, 4).gap(1000),
             regs={"eip": 0x7A100000, "ebp": U32 - 4, "esp": (top - 1000) & U32})
    st = Lay(U32 - 12, 4).mark("f0_fp").w("f1_fp", 0x7B302000).mark("f1_sp").mark("f1_fp").w(0)
    m = st.marks()
    scenario(a, "frame_pointer_barely_no_overflow",
             [CTX, ("frame_pointer", {"eip": 0x7B302000, "esp": m["f1_sp"], "ebp": m["f1_fp"]},
                    {"eip", "esp", "ebp"})],
             os_id=OS_WINDOWS, modules=LOW_MODULES, stack=st,
             regs={"eip": 0x7A100000, "ebp": m["f0_fp"], "esp": U32 - 12})


# ---------------------------------------------------------- arm and arm64 ----
def arm_family(a):
    """The scenarios rust-minidump shares between arm and arm64 (iOS for arm,
    Windows for arm64, as its fixtures), with the CPU's word size and names."""
    W = 4 if a == "arm" else 8
    fp = "r11" if a == "arm" else "fp"
    os_id = OS_IOS if a == "arm" else OS_WINDOWS
    B = 0x80000000
    M = LOW_MODULES
    ex2 = {"pc", "sp"}
    ex3 = {"pc", "sp", fp}
    scenario(a, "simple", [CTX], os_id=os_id, modules=M, stack=Lay(B, W), regs={"pc": 0x4000C020, fp: B})

    st = Lay(B, W).gap(16).w(0x40090000, 0x60000000, 0x50000100).mark("f1_sp").gap(16) \
        .w(0xF0000000, 0x0000000D, 0x50000900).mark("f2_sp").gap(64 if W == 8 else 32)
    m = st.marks()
    scenario(a, "scan_without_symbols",
             [CTX, ("scan", {"pc": 0x50000100, "sp": m["f1_sp"]}, ex2),
              ("scan", {"pc": 0x50000900, "sp": m["f2_sp"]}, ex2)],
             os_id=os_id, modules=M, stack=st, regs={"pc": 0x40005510, "sp": B, fp: 1 if W == 4 else 0})

    if W == 8:
        st = Lay(B, W).gap(16).w(0x40090000, 0x60000000, 0x40001000, 0x5000F000, 0x50000200).mark("f1_sp") \
            .gap(64)
        scenario(a, "scan_with_symbols", [CTX, ("scan", {"pc": 0x50000200, "sp": st.marks()["f1_sp"]}, ex2)],
                 os_id=os_id, modules=M, stack=st, regs={"pc": 0x40000200, "sp": B},
                 syms={"module1": "FUNC 100 400 10 monotreme\n", "module2": "FUNC 100 400 10 marsupial\n"})

    st = Lay(B, W).gap(16).w(0x40090000, 0x60000000).gap(96).w(0x50000100).mark("f1_sp").gap(32) \
        .w(0xF0000000, 0x0000000D).gap(336).w(0x50000900).mark("f2_sp").gap(64)
    scenario(a, "scan_first_frame", [CTX, ("scan", {"pc": 0x50000100, "sp": st.marks()["f1_sp"]}, ex2)],
             os_id=os_id, modules=M, stack=st, regs={"pc": 0x40005510, "sp": B, fp: 1 if W == 4 else 0})

    if W == 4:
        # Linux: frame records are not trusted, an lr pointing at the stack
        # is no return address; both callers come from the scan
        st = Lay(B, W).gap(32).mark("lr").w(0x0000000D, 0xF0000000).mark("f1_fp").w("f2_fp", 0x50000100) \
            .mark("f1_sp").gap(32).w(0x0000000D, 0xF0000000).mark("f2_fp").w(0, 0x50000900).mark("f2_sp")
        m = st.marks()
        scenario(a, "invalid_lr",
                 [CTX, ("scan", {"pc": 0x50000100, "sp": m["f1_sp"]}, ex2),
                  ("scan", {"pc": 0x50000900, "sp": m["f2_sp"]}, ex2)],
                 os_id=OS_LINUX, modules=M, stack=st, regs={"pc": 0x40005510, "lr": m["lr"], fp: m["f1_fp"],
                                                            "sp": B})

    space = 64 if W == 8 else 32

    def fp_stack(evil=False, auth=None):
        st = Lay(B, W).gap(space).w(0x0000000D, 0xF0000000).mark("f0_fp")
        f1 = ("f1_fp", auth[0]) if auth else "f1_fp"
        f2 = ("f2_fp", auth[2]) if auth else "f2_fp"
        st.w("f0_fp" if evil else f1, 0x50000100 | (auth[1] if auth else 0)).mark("f1_sp") \
            .gap(space).w(0x0000000D, 0xF0000000).mark("f1_fp").w(f2, 0x50000900 | (auth[3] if auth else 0)) \
            .mark("f2_sp").gap(space).w(0x0000000D, 0xF0000000).mark("f2_fp").w(0, 0)
        return st

    st = fp_stack()
    m = st.marks()
    fp_want = [CTX, ("frame_pointer", {"pc": 0x50000100, "sp": m["f1_sp"], fp: m["f1_fp"]}, ex3),
               ("frame_pointer", {"pc": 0x50000900, "sp": m["f2_sp"], fp: m["f2_fp"]}, ex3)]
    scenario(a, "frame_pointer", fp_want, os_id=os_id, modules=M, stack=st,
             regs={"pc": 0x40005510, "lr": 0x1FE0FE10 if W == 8 else 0x50000100, fp: m["f0_fp"], "sp": B})
    if W == 8:
        st = fp_stack(auth=(0xA310000000000000, 0x0013800000000000, 0xF31E800000000000, 0x1110000000000000))
        scenario(a, "frame_pointer_ptr_auth_strip", fp_want, os_id=os_id, modules=M, stack=st,
                 regs={"pc": 0x40005510, "lr": 0x1FE0FE10, fp: m["f0_fp"], "sp": B})
    # leaves: frame 0 never pushed a record; its fp is still the caller's, so
    # the caller itself is lost but the frames after it are right
    for name, lead in (("frame_pointer_stackless_leaf", True), ("frame_pointer_stackful_leaf", False)):
        st = Lay(B, W)
        if lead and W == 8:
            st.gap(64).w(0x0000000D, 0xF0000000)
        st.mark("f1_sp").gap(space).w(0x0000000D, 0xF0000000).mark("f1_fp").w("f2_fp", 0x50000900) \
            .mark("f2_sp").gap(space).w(0x0000000D, 0xF0000000).mark("f2_fp").w(0, 0)
        m = st.marks()
        if W == 4 and not lead:
            continue  # rust-minidump has the stackless variant only for arm
        scenario(a, name, [CTX, ("frame_pointer", {"pc": 0x50000900, "sp": m["f2_sp"], fp: m["f2_fp"]}, ex3)],
                 os_id=os_id, modules=M, stack=st, regs={"pc": 0x40005510, "lr": 0x50000100, fp: m["f1_fp"],
                                                         "sp": B})
    st = fp_stack(evil=True)
    m = st.marks()
    scenario(a, "frame_pointer_infinite_equality",
             [CTX, ("frame_pointer", {"pc": 0x50000100, "sp": m["f1_sp"], fp: m["f0_fp"]}, ex3)],
             os_id=os_id, modules=M, stack=st,
             regs={"pc": 0x40005510, "lr": 0x1FE0FE10 if W == 8 else 0x50000100, fp: m["f0_fp"], "sp": B})

    UMAX = U64 if W == 8 else U32
    scenario(a, "frame_pointer_overflow", [CTX], os_id=os_id, modules=M, stack=Lay(UMAX - 1000, W).gap(1000),
             regs={"pc": 0x7A100000 if W == 4 else 0x7400C0000200, fp: UMAX, "sp": UMAX - 1000,
                   "lr": 0x7B302000 if W == 4 else 0x7500B0000110})
    if W == 8:
        st = Lay(U64 - 24, 8).mark("f0_fp").w("f1_fp", 0x7500B0000110).mark("f1_sp").mark("f1_fp").w(0)
        m = st.marks()
        scenario(a, "frame_pointer_barely_no_overflow",
                 [CTX, ("frame_pointer", {"pc": 0x7500B0000110, "sp": m["f1_sp"], fp: m["f1_fp"]}, ex3)],
                 os_id=os_id, modules=M + [("highest-module", 0xA000000000000000)], stack=st,
                 regs={"pc": 0x7400C0000200, fp: m["f0_fp"], "sp": U64 - 24, "lr": 0x7500B0000110})

    # CFI, as rust-minidump's common arm/arm64 table
    if W == 8:
        names = {"r": lambda i: "x%d" % i, "fp": "x29", "lr": "x30"}
        vals = {"fp": 0x000000A28112E110, "x19": 0x5E68B5D5B5D55E68, "x20": 0x34F3EBD1EBD134F3,
                "x21": 0x74BCA31EA31E74BC, "x22": 0x16B32DCB2DCB16B3, "x23": 0x21372ADA2ADA2137,
                "x24": 0x557DBBBBBBBB557D, "x25": 0x8CA748BF48BF8CA7, "x26": 0x21F0AB46AB4621F0,
                "x27": 0x146732B732B71467, "x28": 0xA673645FA673645F}
        saved = ["x19", "x20", "x21", "x22"]
        exact = {"pc", "sp", "fp"} | {"x%d" % i for i in range(19, 29)}
        rules = ["FUNC 4000 1000 10 enchiridion\n", "STACK CFI INIT 4000 100 .cfa: sp 0 + .ra: x30\n",
                 "STACK CFI 4001 .cfa: sp 32 + .ra: .cfa -8 + ^ x19: .cfa -32 + ^ x20: .cfa -24 + ^ "
                 "x29: .cfa -16 + ^\n",
                 "STACK CFI 4002 x19: x0 x20: x1 x21: x2 x22: x3\n",
                 "STACK CFI 4003 .cfa: sp 40 + x1: .cfa 40 - ^ x19: x19 x20: x20 x21: x21 x22: x22\n",
                 "STACK CFI 4005 .cfa: sp 32 + x1: .cfa 32 - ^ x29: .cfa 8 - ^ .ra: .cfa ^ sp: .cfa 8 +\n",
                 "STACK CFI 4006 .cfa: sp 40 + pc: .cfa 40 - ^\n",
                 "FUNC 5000 1000 10 epictetus\n", "STACK CFI INIT 5000 1000 .cfa: 0 .ra: 0\n",
                 "FUNC 6000 1000 20 palinal\n", "STACK CFI INIT 6000 1000 .cfa: sp 8 - .ra: x30\n",
                 "FUNC 7000 1000 20 rhetorical\n", "STACK CFI INIT 7000 1000 .cfa: moot .ra: ambiguous\n"]
        x1_saved, x1_callee, ret = 0xDD5A48C848C8DD5A, 0xFB756319FB756319, 0x40005510
        f4001 = [0x5E68B5D5B5D55E68, 0x34F3EBD1EBD134F3, 0x000000A28112E110, ret]
        later = [x1_saved, 0xFF3DFB81FB81FF3D, 0x34F3EBD1EBD134F3, 0x000000A28112E110, ret]
        saved_x = 0x5FC4BE14BE145FC4
        distinct = {"x19": 0xADC9F635A635ADC9, "x20": 0x623135AC35AC6231, "x21": 0xAC4543564356AC45,
                    "x22": 0x2561562F562F2561}
        tail = 120
    else:
        vals = {"r11": 0x8112E110, "r4": 0xB5D55E68, "r5": 0xEBD134F3, "r6": 0xA31E74BC, "r7": 0x2DCB16B3,
                "r8": 0x2ADA2137, "r9": 0xBBBB557D, "r10": 0x48BF8CA7}
        saved = ["r4", "r5", "r6", "r7"]
        exact = {"pc", "sp", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11"}
        rules = ["FUNC 4000 1000 10 enchiridion\n", "STACK CFI INIT 4000 100 .cfa: sp .ra: lr\n",
                 "STACK CFI 4001 .cfa: sp 12 + r4: .cfa 12 - ^ r11: .cfa 8 - ^ .ra: .cfa 4 - ^\n",
                 "STACK CFI 4002 r4: r0 r5: r1 r6: r2 r7: r3\n",
                 "STACK CFI 4003 .cfa: sp 16 + r1: .cfa 16 - ^ r4: r4 r5: r5 r6: r6 r7: r7\n",
                 "STACK CFI 4005 .cfa: sp 12 + r1: .cfa 12 - ^ r11: .cfa 4 - ^ .ra: .cfa ^ sp: .cfa 4 +\n",
                 "STACK CFI 4006 .cfa: sp 16 + pc: .cfa 16 - ^\n",
                 "FUNC 5000 1000 10 epictetus\n", "STACK CFI INIT 5000 1000 .cfa: 0 .ra: 0\n",
                 "FUNC 6000 1000 20 palinal\n", "STACK CFI INIT 6000 1000 .cfa: sp 4 - .ra: lr\n",
                 "FUNC 7000 1000 20 rhetorical\n", "STACK CFI INIT 7000 1000 .cfa: moot .ra: ambiguous\n"]
        x1_saved, x1_callee, ret = 0x48C8DD5A, 0xFB756319, 0x40005510
        f4001 = [0xB5D55E68, 0x8112E110, ret]
        later = [x1_saved, 0xCB78040E, 0x8112E110, ret]
        saved_x = 0xBE145FC4
        distinct = {"r4": 0xFDD35466, "r5": 0xF18C946C, "r6": 0xAC2079E8, "r7": 0xA449829F}
        tail = 120
    sym = {"module1": "".join(rules)}
    r1 = "x1" if W == 8 else "r1"
    r0 = (lambda i: "x%d" % i) if W == 8 else (lambda i: "r%d" % i)
    fpn = "fp" if W == 8 else "r11"
    base = dict(vals, pc=0x40005510, sp=B)

    def cfi_case(at, words, callee, extra_want=None, extra_exact=(), modules=M):
        st = Lay(B, W).w(*words).mark("f1_sp").gap(tail)
        regs = dict(base, pc=0x40000000 + int(at, 16))
        regs.update(callee)
        want = dict(vals, pc=ret, sp=st.marks()["f1_sp"])
        want.update(extra_want or {})
        scenario(a, "cfi_at_" + at + ("" if modules is M else "_high_module"),
                 [CTX, ("cfi", want, exact | set(extra_exact))],
                 os_id=os_id, modules=modules, stack=st, regs=regs, syms=sym)

    st = Lay(B, W).gap(tail)
    scenario(a, "cfi_at_4000", [CTX, ("cfi", dict(vals, pc=ret, sp=B), exact)], os_id=os_id, modules=M,
             stack=st, regs=dict(base, pc=0x40004000, lr=ret), syms=sym)
    first = {saved[0]: distinct[saved[0]], fpn: saved_x}
    if W == 8:
        first[saved[1]] = distinct[saved[1]]
    cfi_case("4001", f4001, first)
    c4002 = {r0(i): vals[saved[i]] for i in range(4)}
    c4002.update({k: v for k, v in distinct.items()})
    c4002[fpn] = saved_x
    cfi_case("4002", [0xFF3DFB81FB81FF3D if W == 8 else 0xFB81FF3D] + f4001[1:], c4002)
    for at in ("4003", "4004", "4005"):
        cb = {r1: x1_callee}
        if at != "4005" or W == 4:
            cb[fpn] = saved_x if W == 8 else vals["r11"]
        cfi_case(at, later, cb, {r1: x1_saved}, {r1})
    cfi_case("4006", [ret] + later[:-1] + [0xF8D157835783F8D1 if W == 8 else 0xF8D15783], {r1: x1_callee},
             {r1: x1_saved}, {r1})
    if W == 8:
        # pointer authentication: Apple's bits above 47, and (with a module
        # high up) Android's above the highest module
        cfi_case("4005", later[:3] + [0xAE2380A28112E110, 0xAE1D000040005510], {r1: x1_callee},
                 {r1: x1_saved}, {r1})
        results[a][-1] = ("cfi_at_4005_ptr_auth_strip_apple", results[a][-1][1])
        cfi_case("4005", later[:3] + [0x100345A28112E110, 0x100DF70040005510], {r1: x1_callee},
                 {r1: x1_saved, "fp": 0x000345A28112E110, "pc": 0x000DF70040005510}, {r1},
                 modules=M + [("high-module", 0x10000000000000)])
        results[a][-1] = ("cfi_at_4005_ptr_auth_strip_high", results[a][-1][1])
    scenario(a, "cfi_reject_backwards", [CTX], os_id=os_id, modules=M, stack=Lay(B, W).gap(tail),
             regs=dict(base, pc=0x40006000, lr=ret), syms=sym)
    scenario(a, "cfi_reject_bad_exprs", [CTX], os_id=os_id, modules=M, stack=Lay(B, W).gap(tail),
             regs=dict(base, pc=0x40007000), syms=sym)


amd64()
x86()
arm_family("arm")
arm_family("arm64")

total_bad = 0
for arch in ("x86", "amd64", "arm", "arm64"):
    rs = results.get(arch, [])
    bad = [(n, p) for n, p in rs if p]
    total_bad += len(bad)
    print("%s: %d/%d scenarios agree with rust-minidump" % (arch, len(rs) - len(bad), len(rs)))
    for n, p in bad:
        print("  %s %s: %s" % (arch, n, p))
sys.exit(0 if REPORT or not total_bad else 1)
