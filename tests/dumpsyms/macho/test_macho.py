#!/usr/bin/env python3
"""Mach-O tests: our reader (dumpsyms/macho/) and compact-unwind decoder
(dumpsyms/cfi/compact_unwind.c) against LLVM's tools, on fixtures built
here with clang-14 and ld64.lld-14 (no SDK: -nostdlib, -e _main).

    test_macho.py GROUP TOOLDIR WORKDIR

TOOLDIR holds macho_dump, fuzz_macho_corpus and dumpsyms.  Groups:
  parser    arch, UUID, segments, sections (llvm-objdump --macho
            --private-headers), symbols (llvm-nm -m), fat slices
            (llvm-lipo -archs) for x86_64 / arm64 / armv7 executables and
            dylibs, i386 / arm64e objects, a dSYM companion, fat files.
  unwind    every function's compact-unwind encoding against
            llvm-objdump --unwind-info (compressed pages as linked, and the
            same table rewritten with regular second-level pages), and its
            rules against libunwind's meaning of the encoding.
  badinput  corrupt files: one line naming the file and the problem, exit
            1, no crash or sanitizer report.
  fuzz      the fuzz target's deterministic corpus run over the fixtures.
  records   dumpsyms on every fixture: MODULE/INFO CODE_ID against the
            UUID llvm-objdump reads (the MD5 of an object without one),
            FUNC and PUBLIC against llvm-nm -C (with the dSYM dsymutil-14
            makes), Thumb bits on armv7 PUBLICs, compact-unwind rules
            reaching STACK CFI for every function DWARF CFI leaves out.
  cfi       STACK CFI rows from __eh_frame against llvm-dwarfdump
            --eh-frame at every row of every FDE (x86_64 and i386 objects;
            ld64.lld-14 leaves linked binaries' FDE pointers unrelocated).
  fat       --list-arch against llvm-lipo / llvm-objdump, --arch for every
            slice, refusal without --arch, --store writing every slice.
  dsym      BINARY.dSYM found beside the binary, named as a bundle or as its
            companion file, the bundle dumped alone, a UUID mismatch refused
            naming both UUIDs.
"""

import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import oracle_util  # noqa: E402

CLANG, CLANGXX, LD = "clang-14", "clang++-14", "ld64.lld-14"
OBJDUMP, NM, LIPO, DSYMUTIL = "llvm-objdump-14", "llvm-nm-14", "llvm-lipo-14", "dsymutil-14"
CXXFILT = "llvm-cxxfilt-14"

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def sanitizer_trouble(stderr):
    return any(s in stderr for s in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                                       "UndefinedBehaviorSanitizer"))


# ---- fixtures --------------------------------------------------------------

C_SRC = r"""
/* Functions whose unwind encodings differ: frame, frameless small and large
 * stacks (immediate and indirect sizes), callee-saved registers. */
int sink(int *p, int n);
int sink(int *p, int n) { return p[0] + n; }
int leaf(int a, int b) { return a * b + 3; }
static int helper(int a) { volatile int v = a; return v * 7; }
int small_frame(int a) { int v[4] = {a, a + 1, a + 2, a + 3}; return sink(v, 4) + helper(a); }
int big_frame(int a) { int v[3000]; v[a & 1023] = a; return sink(v, a); }
int huge_frame(int a) { int v[70000]; v[a & 1023] = a; return sink(v, a) + 1; }
int saves(int a, int b, int c, int d, int e)
{
    int x = sink(&a, b), y = sink(&b, c), z = sink(&c, d), w = sink(&d, e), u = sink(&e, a);
    return x * y + z * w + u + a + b + c + d + e;
}
int saves2(int a, int b)
{
    int x = sink(&a, b), y = sink(&b, a);
    return x + y * a;
}
int main(void) { return leaf(1, 2) + small_frame(3) + big_frame(4) + huge_frame(5) + saves(1, 2, 3, 4, 5) + saves2(6, 7); }
"""

CXX_SRC = r"""
namespace shapes {
template <typename T> struct Box {
    T v;
    T get() const;
    T twice() const { return get() * 2; }
};
template <typename T> T Box<T>::get() const { return v + 1; }
}  // namespace shapes
inline int square(int x) { return x * x; }
extern "C" int c_entry(int x);
int work(int n)
{
    shapes::Box<int> b{n};
    shapes::Box<long> c{n};
    return b.twice() + (int)c.get() + square(n);
}
int c_entry(int x) { return work(x) + 1; }
int main() { return c_entry(3); }
"""

OBJC_SRC = r"""
__attribute__((objc_root_class)) @interface Shape
- (int)sides;
+ (int)count:(int)n with:(int)m;
@end
@implementation Shape
- (int)sides { return 4; }
+ (int)count:(int)n with:(int)m { return n * m; }
@end
int shape_main(void) { return 0; }
"""

TARGETS = {
    "x86_64": ("x86_64-apple-macos11", "macos", "11.0"),
    "arm64": ("arm64-apple-macos11", "macos", "11.0"),
    "armv7": ("armv7-apple-ios9", "ios", "9.0"),
}
OBJ_TARGETS = {"x86": "i386-apple-macos10.13", "arm64e": "arm64e-apple-macos11"}
CFLAGS = ["-g", "-fno-stack-protector"]  # -ffreestanding would drop the unwind tables


def need_tools(*extra):
    oracle_util.require(CLANG, CLANGXX, LD, OBJDUMP, NM, LIPO, CXXFILT, *extra)


def link(arch, objs, out, dylib=False):
    triple, plat, ver = TARGETS[arch]
    cmd = [LD, "-arch", arch, "-platform_version", plat, ver, ver, "-o", out] + objs
    cmd += ["-dylib", "-install_name", "@rpath/" + os.path.basename(out)] if dylib else ["-e", "_main"]
    run(cmd)


def build_fixtures(work):
    """name -> (path, kind); kind: exe, dylib, obj, dsym, fat."""
    os.makedirs(work, exist_ok=True)
    for name, src in (("cu.c", C_SRC), ("shapes.cpp", CXX_SRC)):
        with open(os.path.join(work, name), "w") as f:
            f.write(src)
    fx = {}
    for arch, (triple, _, _) in TARGETS.items():
        # ld64.lld-14 cannot link armv7 -O0 code (an unhandled relocation).
        for opt in (("O1", "O2") if arch == "armv7" else ("O0", "O2")):
            extra = ["-fomit-frame-pointer"] if opt == "O2" else []
            o = os.path.join(work, "cu-%s-%s.o" % (arch, opt))
            run([CLANG, "-target", triple, "-" + opt] + extra + CFLAGS + ["-c", os.path.join(work, "cu.c"), "-o", o])
            exe = os.path.join(work, "cu-%s-%s" % (arch, opt))
            link(arch, [o], exe)
            fx[os.path.basename(exe)] = (exe, "exe", arch)
        o = os.path.join(work, "shapes-%s.o" % arch)
        run([CLANGXX, "-target", triple, "-O1" if arch == "armv7" else "-O0"] + CFLAGS + ["-fno-exceptions", "-c",
             os.path.join(work, "shapes.cpp"), "-o", o])
        lib = os.path.join(work, "libshapes-%s.dylib" % arch)
        link(arch, [o], lib, dylib=True)
        fx[os.path.basename(lib)] = (lib, "dylib", arch)
    for arch, triple in OBJ_TARGETS.items():
        o = os.path.join(work, "cu-%s.o" % arch)
        run([CLANG, "-target", triple, "-O1"] + CFLAGS + ["-c", os.path.join(work, "cu.c"), "-o", o])
        fx[os.path.basename(o)] = (o, "obj", arch)
    # Objective-C: method names pass through as written (a root class
    # needs no runtime headers; an object file needs no runtime library).
    with open(os.path.join(work, "shape.m"), "w") as f:
        f.write(OBJC_SRC)
    o = os.path.join(work, "shape-x86_64.o")
    run([CLANG, "-target", TARGETS["x86_64"][0], "-O1"] + CFLAGS + ["-c", os.path.join(work, "shape.m"), "-o", o])
    fx[os.path.basename(o)] = (o, "obj", "x86_64")
    fat = os.path.join(work, "cu-fat")
    run([LIPO, "-create", fx["cu-x86_64-O2"][0], fx["cu-arm64-O2"][0], fx["cu-armv7-O2"][0], "-output", fat])
    fx["cu-fat"] = (fat, "fat", None)
    if shutil.which(DSYMUTIL):
        exe = fx["cu-arm64-O0"][0]
        run([DSYMUTIL, exe, "-o", exe + ".dSYM"])
        comp = os.path.join(exe + ".dSYM", "Contents", "Resources", "DWARF", os.path.basename(exe))
        fx["cu-arm64-O0.dSYM"] = (comp, "dsym", "arm64")
    else:
        oracle_util.partly_missing(DSYMUTIL, "the dSYM companion fixture")
    return fx


# ---- our side --------------------------------------------------------------

def macho_dump(tooldir, path, arch=None):
    cmd = [os.path.join(tooldir, "macho_dump")] + (["--arch", arch] if arch else []) + [path]
    p = run(cmd, check=False)
    if p.returncode != 0 or sanitizer_trouble(p.stderr):
        raise RuntimeError("macho_dump %s failed (%d): %s" % (path, p.returncode, p.stderr.strip()))
    facts = {"section": [], "segment": [], "public": [], "cu": [], "curow": [], "slice": [], "funcstart": []}
    for line in p.stdout.splitlines():
        key, _, rest = line.partition(" ")
        facts.setdefault(key, [])
        if isinstance(facts[key], list):
            facts[key].append(rest)
        else:
            facts[key] = rest
    for k in ("arch", "uuid", "text_vmaddr", "filetype"):
        facts[k] = facts[k][0] if facts.get(k) else None
    return facts


# ---- parser vs llvm-objdump / llvm-nm / llvm-lipo --------------------------

def objdump_headers(path, arch=None):
    cmd = [OBJDUMP, "--macho", "--private-headers"] + (["--arch=" + arch] if arch else []) + [path]
    text = run(cmd).stdout
    sections, segments, uuid = [], [], None
    block = {}
    for line in text.splitlines() + ["Load command END"]:
        s = line.strip()
        if s.startswith("Load command") or s == "Section":
            if block.get("cmd") in ("LC_SEGMENT", "LC_SEGMENT_64"):
                segments.append((block["segname"], int(block["vmaddr"], 16), int(block["vmsize"], 16)))
            elif "sectname" in block:
                sections.append(("%s,%s" % (block["segname"], block["sectname"]),
                                 int(block["addr"], 16), int(block["size"], 16)))
            block = {}
            continue
        parts = s.split(None, 1)
        if len(parts) == 1:
            parts.append("")  # an object file's unnamed segment
        if len(parts) == 2:
            block.setdefault(parts[0], parts[1])
            if parts[0] == "uuid":
                uuid = parts[1].replace("-", "").upper()
    return sections, segments, uuid


def check_parser(tooldir, fx):
    for name, (path, kind, arch) in sorted(fx.items()):
        if kind == "fat":
            ours = macho_dump(tooldir, path, arch="arm64")
            want = run([LIPO, "-archs", path]).stdout.split()
            got = [s.split()[1] for s in ours["slice"]]
            if got != want:
                fail("%s: slices %s, llvm-lipo says %s" % (name, got, want))
            for a in want:
                one = macho_dump(tooldir, path, arch=a)
                _, _, uuid = objdump_headers(path, arch=a)
                if one["uuid"] != uuid:
                    fail("%s --arch %s: UUID %s, llvm-objdump says %s" % (name, a, one["uuid"], uuid))
            continue
        ours = macho_dump(tooldir, path)
        if ours["arch"] != arch:
            fail("%s: arch %s, expected %s" % (name, ours["arch"], arch))
        sections, segments, uuid = objdump_headers(path)
        if kind != "obj" and ours["uuid"] != uuid:
            fail("%s: UUID %s, llvm-objdump says %s" % (name, ours["uuid"], uuid))
        got_secs = [(s.split()[0], int(s.split()[1], 16), int(s.split()[2], 16)) for s in ours["section"]]
        if got_secs != sections:
            fail("%s: sections differ:\n  ours   %s\n  objdump %s" % (name, got_secs, sections))
        got_segs = [(s.split(" ")[0], int(s.split(" ")[1], 16), int(s.split(" ")[2], 16)) for s in ours["segment"]]
        want_segs = [(n, a, sz) for n, a, sz in segments]
        if [g for g in got_segs] != want_segs:
            fail("%s: segments differ:\n  ours   %s\n  objdump %s" % (name, got_segs, want_segs))
        # PUBLIC candidates: llvm-nm's defined symbols in code sections,
        # inside the section's bytes (not __mh_execute_header).
        code = {}
        for s in ours["section"]:
            f = s.split()
            if f[-1] == "code":
                code[f[0]] = (int(f[1], 16), int(f[2], 16))
        want = set()
        for line in run([NM, "-m", "--defined-only", path]).stdout.splitlines():
            m = re.match(r"([0-9a-f]+) \((\S+)\) (?:weak )?(?:private )?(?:non-)?external (?:\[no dead strip\] )?(?:\(was a private external\) )?(?:\[Thumb\] )?(.+)$", line)
            if not m:
                continue
            addr, sec, sym = int(m.group(1), 16), m.group(2), m.group(3)
            if sec in code and code[sec][0] <= addr < code[sec][0] + code[sec][1]:
                want.add((addr, sym[1:] if sym.startswith("_") else sym))
        got = set()
        for p in ours["public"]:
            f = p.split(None, 1)
            got.add((int(f[0], 16), f[1][:-len(" thumb")] if f[1].endswith(" thumb") else f[1]))
        if got != want:
            fail("%s: PUBLIC candidates differ: only ours %s, only llvm-nm %s" %
                 (name, sorted(got - want)[:5], sorted(want - got)[:5]))
        if arch == "armv7" and not all(p.endswith(" thumb") for p in ours["public"]):
            fail("%s: armv7 functions (Thumb by default) without the Thumb flag" % name)
        print("%s: %s, %d sections, %d segments, %d symbols agree" %
              (name, arch, len(got_secs), len(got_segs), len(got)))


# ---- compact unwind vs llvm-objdump --unwind-info ---------------------------

X86_REGS = [None, "$rbx", "$r12", "$r13", "$r14", "$r15", "$rbp"]


def x86_permutation(count, perm):
    """libunwind's register permutation decode (UNWIND_X86_64_FRAMELESS_STACK_REG_PERMUTATION)."""
    div = {6: [120, 24, 6, 2, 1], 5: [120, 24, 6, 2, 1], 4: [60, 12, 3, 1], 3: [20, 4, 1], 2: [5, 1], 1: [1]}
    digits = []
    for d in div.get(count, [])[:count]:
        digits.append(perm // d)
        perm %= d
    if count == 6:
        digits = digits[:5] + [0]
    regs, used = [], set()
    for d in digits[:count]:
        free = [r for r in range(1, 7) if r not in used]
        regs.append(free[d])
        used.add(free[d])
    return regs


def expected_rules(arch, enc, code, func_off):
    """The rules libunwind applies for one encoding, as a dict, or None."""
    mode = enc & 0x0F000000
    rules = {}
    if arch == "x86_64":
        if mode == 0x01000000:
            rules = {".cfa": "$rbp 16 +", ".ra": ".cfa -8 + ^", "$rbp": ".cfa -16 + ^"}
            off, locs = (enc >> 16) & 0xFF, enc & 0x7FFF
            for i in range(5):
                r = (locs >> (3 * i)) & 7
                if r:
                    rules[X86_REGS[r]] = ".cfa %d + ^" % (-16 - 8 * off + 8 * i)
            return rules
        if mode in (0x02000000, 0x03000000):
            size, adjust = (enc >> 16) & 0xFF, (enc >> 13) & 7
            count, perm = (enc >> 10) & 7, enc & 0x3FF
            if mode == 0x03000000:
                imm = struct.unpack_from("<I", code, func_off + size)[0]
                stack = imm + 8 * adjust
            else:
                stack = 8 * size
            rules = {".cfa": "$rsp %d +" % stack, ".ra": ".cfa -8 + ^"}
            for i, r in enumerate(x86_permutation(count, perm)):
                rules[X86_REGS[r]] = ".cfa %d + ^" % (-8 - 8 * count + 8 * i)
            return rules
        return None
    if mode == 0x04000000:
        rules = {".cfa": "x29 16 +", ".ra": ".cfa -8 + ^", "x29": ".cfa -16 + ^"}
        at = -24
    elif mode == 0x02000000:
        rules = {".cfa": "sp %d +" % (16 * ((enc >> 12) & 0xFFF)), ".ra": "x30"}
        at = -8
    else:
        return None
    pairs = [("x19", "x20"), ("x21", "x22"), ("x23", "x24"), ("x25", "x26"), ("x27", "x28"),
             None, None, None, ("v8", "v9"), ("v10", "v11"), ("v12", "v13"), ("v14", "v15")]
    for bit, pair in enumerate(pairs):
        if pair and enc & (1 << bit):
            rules[pair[0]] = ".cfa %d + ^" % at
            rules[pair[1]] = ".cfa %d + ^" % (at - 8)
            at -= 16
    return rules


def parse_rules(text):
    out, name = {}, None
    for tok in text.split():
        if tok.endswith(":"):
            name = tok[:-1]
            out[name] = []
        else:
            out[name].append(tok)
    return {k: " ".join(v) for k, v in out.items()}


def objdump_unwind(path):
    """[(function offset, encoding)] from every second-level page, and the
    sentinel (the last top-level index entry's function offset)."""
    text = run([OBJDUMP, "--unwind-info", path]).stdout
    entries, tops = [], []
    for line in text.splitlines():
        m = re.search(r"\[\d+\]: function offset=0x([0-9a-f]+), 2nd level page offset", line)
        if m:
            tops.append(int(m.group(1), 16))
            continue
        m = re.search(r"\[\d+\]: function offset=0x([0-9a-f]+), encoding(?:\[\d+\])?=0x([0-9a-f]+)", line)
        if m:
            entries.append((int(m.group(1), 16), int(m.group(2), 16)))
    return entries, (tops[-1] if tops else None)


def read_section(path, segname, sectname):
    """(file offset, addr, size) of a section, from llvm-objdump."""
    text = run([OBJDUMP, "--macho", "--private-headers", path]).stdout
    lines = [l.strip() for l in text.splitlines()]
    for i, l in enumerate(lines):
        if l == "sectname " + sectname and lines[i + 1] == "segname " + segname:
            vals = {}
            for l2 in lines[i + 2:i + 8]:
                k, _, v = l2.partition(" ")
                vals[k] = v.strip()
            return int(vals["offset"]), int(vals["addr"], 16), int(vals["size"], 16)
    return None


def to_regular_pages(path, out):
    """A copy of path whose __unwind_info has regular second-level pages
    (8 bytes per entry, the encoding inline) instead of compressed ones,
    written in place (ld64.lld leaves the section room to spare)."""
    off, _, size = read_section(path, "__TEXT", "__unwind_info")
    data = bytearray(open(path, "rb").read())
    sec = data[off:off + size]
    ver, common_off, ncommon, pers_off, npers, idx_off, nidx = struct.unpack_from("<7I", sec, 0)
    commons = list(struct.unpack_from("<%dI" % ncommon, sec, common_off))
    index = [list(struct.unpack_from("<3I", sec, idx_off + 12 * i)) for i in range(nidx)]
    pages = []
    for i in range(nidx - 1):
        fbase, page = index[i][0], index[i][1]
        kind, ent_off, nent, enc_off, nenc = struct.unpack_from("<IHHHH", sec, page)
        assert kind == 3, "expected a compressed page"
        encs = list(struct.unpack_from("<%dI" % nenc, sec, page + enc_off))
        ents = []
        for k in range(nent):
            v = struct.unpack_from("<I", sec, page + ent_off + 4 * k)[0]
            ei = v >> 24
            ents.append((fbase + (v & 0xFFFFFF), commons[ei] if ei < ncommon else encs[ei - ncommon]))
        pages.append(ents)
    # Rebuild: header, commons, index, LSDA (none), then the pages.
    lsda_off = idx_off + 12 * nidx
    at = lsda_off
    new = bytearray(sec[:lsda_off])
    for i, ents in enumerate(pages):
        index[i][1] = at
        index[i][2] = lsda_off
        page = struct.pack("<IHH", 2, 8, len(ents)) + b"".join(struct.pack("<II", f, e) for f, e in ents)
        new += page
        at += len(page)
    index[-1][2] = lsda_off
    for i, (f, p, l) in enumerate(index):
        struct.pack_into("<3I", new, idx_off + 12 * i, f, p, l)
    assert len(new) <= size, "no room for regular pages"
    new += bytes(size - len(new))
    data[off:off + size] = new
    with open(out, "wb") as f:
        f.write(data)


def check_unwind_file(tooldir, name, path, arch):
    entries, sentinel = objdump_unwind(path)
    if not entries:
        return 0, 0
    ours = macho_dump(tooldir, path)
    base = int(ours["text_vmaddr"], 16)
    toff, taddr, tsize = read_section(path, "__TEXT", "__text")
    code = open(path, "rb").read()[toff:toff + tsize]
    starts = sorted(int(s, 16) for s in ours["funcstart"])
    # Expected functions: each objdump entry split at the function starts.
    want = []
    for i, (fo, enc) in enumerate(entries):
        lo = base + fo
        hi = base + (entries[i + 1][0] if i + 1 < len(entries) else sentinel)
        cuts = [lo] + [s for s in starts if lo < s < hi] + [hi]
        for a, b in zip(cuts, cuts[1:]):
            if b > a and enc != 0:
                want.append((a, b - a, enc))
    got = []
    rules_at = {}
    for c in ours["cu"]:
        f = c.split(None, 4)
        got.append((int(f[0], 16), int(f[1], 16), int(f[2], 16)))
        rules_at[int(f[0], 16)] = [f[3], f[4]]
    # A recognised prologue gets rows: INIT is then the entry state, the
    # last row the encoding's rules, and every row sits just after a
    # prologue instruction of llvm-objdump's disassembly.
    insns = objdump_insns(path)
    entry = {".cfa": "$rsp 8 +", ".ra": ".cfa -8 + ^"} if arch == "x86_64" else {".cfa": "sp 0 +", ".ra": "x30"}
    prologue_ops = ("push", "sub", "stp", "add", "mov")
    last_row = {}
    prologue_rows_seen[0] += len(ours["curow"])
    for r in ours["curow"]:
        a, rest = r.split(None, 1)
        a = int(a, 16)
        fn = max(k for k in rules_at if k <= a)
        last_row[fn] = rest
        before = [i for i in insns if i[0] < a]
        if a not in {i[0] for i in insns} or not before or not before[-1][1].startswith(prologue_ops):
            fail("%s: 0x%x: prologue row not right after a prologue instruction (%s)" %
                 (name, a, before[-1] if before else None))
    for fn, rest in last_row.items():
        if parse_rules(rules_at[fn][1]) != entry:
            fail("%s: 0x%x: INIT before the prologue is %r" % (name, fn, rules_at[fn][1]))
        rules_at[fn][1] = rest
    agree = 0
    for w in want:
        if w not in got:
            fail("%s: function 0x%x+0x%x encoding %08x (llvm-objdump) missing from ours" % (name, *w))
            continue
        kind, rest = rules_at[w[0]]
        if kind == "dwarf":
            if (w[2] & 0x0F000000) not in (0x04000000 if arch == "x86_64" else 0x03000000,):
                fail("%s: 0x%x: DWARF mode for encoding %08x" % (name, w[0], w[2]))
            elif int(rest, 16) != w[2] & 0xFFFFFF:
                fail("%s: 0x%x: FDE offset %s, encoding says 0x%x" % (name, w[0], rest, w[2] & 0xFFFFFF))
            else:
                agree += 1
            continue
        exp = expected_rules(arch, w[2], code, w[0] - taddr)
        if exp is None or parse_rules(rest) != exp:
            fail("%s: 0x%x encoding %08x: rules %r, libunwind means %r" % (name, w[0], w[2], rest, exp))
        else:
            agree += 1
    for g in got:
        if g not in want:
            fail("%s: our function 0x%x+0x%x encoding %08x is not in llvm-objdump's table" % (name, *g))
    return agree, len(want)


prologue_rows_seen = [0]


def objdump_insns(path):
    """[(address, mnemonic and operands)] of __text, from llvm-objdump -d."""
    out = []
    for line in run([OBJDUMP, "-d", "--no-show-raw-insn", path]).stdout.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S.*)$", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2).strip()))
    return out


def check_unwind(tooldir, fx, work):
    total_agree = total = 0
    for name, (path, kind, arch) in sorted(fx.items()):
        if arch not in ("x86_64", "arm64") or kind not in ("exe", "dylib"):
            continue
        variants = [(name, path)]
        if objdump_unwind(path)[0]:
            reg = os.path.join(work, name + ".regular")
            to_regular_pages(path, reg)
            variants.append((name + " (regular pages)", reg))
        for vname, vpath in variants:
            a, n = check_unwind_file(tooldir, vname, vpath, arch)
            print("%s: compact unwind: %d of %d functions agree with llvm-objdump" % (vname, a, n))
            total_agree += a
            total += n
    print("compact unwind: %d of %d functions agree (%d prologue rows checked against the disassembly)" %
          (total_agree, total, prologue_rows_seen[0]))
    if total < 20:
        fail("only %d compact-unwind functions checked: the fixtures lost their variety" % total)


# ---- bad input ---------------------------------------------------------------

def u32(b, off, v):
    struct.pack_into("<I", b, off, v)


def bad_inputs(fx, work):
    """(name, bytes, expected message fragment)."""
    exe = bytearray(open(fx["cu-x86_64-O2"][0], "rb").read())
    arm = bytearray(open(fx["cu-arm64-O2"][0], "rb").read())
    fat = bytearray(open(fx["cu-fat"][0], "rb").read())
    cases = [("empty", b"", "not a Mach-O"),
             ("truncated-header", bytes(exe[:20]), "header truncated")]
    b = bytearray(exe[:200])
    cases.append(("load-commands-past-end", bytes(b), "run past the end"))
    b = bytearray(exe)
    u32(b, 16, 400)  # ncmds far more than sizeofcmds holds
    cases.append(("too-many-load-commands", bytes(b), "cannot fit"))
    b = bytearray(exe)
    u32(b, 32 + 4, 0xFFFF)  # first command's cmdsize past the commands
    cases.append(("load-command-size", bytes(b), "runs past the end of the load commands"))

    # Segments and sections: walk the load commands of the x86_64 file.
    def commands(data):
        ncmds = struct.unpack_from("<I", data, 16)[0]
        off = 32
        for _ in range(ncmds):
            cmd, size = struct.unpack_from("<II", data, off)
            yield off, cmd, size
            off += size

    segs = [(o, bytes(exe[o + 8:o + 24]).rstrip(b"\0").decode()) for o, c, s in commands(exe) if c == 0x19]
    text_seg = [o for o, n in segs if n == "__TEXT"][0]
    link_seg = [o for o, n in segs if n == "__LINKEDIT"][0]
    b = bytearray(exe)
    struct.pack_into("<Q", b, link_seg + 24, struct.unpack_from("<Q", b, text_seg + 24)[0] + 0x10)
    cases.append(("overlapping-segments", bytes(b), "overlap"))
    b = bytearray(exe)
    struct.pack_into("<Q", b, link_seg + 48, 1 << 40)
    cases.append(("segment-past-end", bytes(b), "lies past the end of the file"))
    b = bytearray(exe)
    sec0 = text_seg + 72
    struct.pack_into("<Q", b, sec0 + 40, 1 << 36)  # __text size far beyond its segment
    cases.append(("section-outside-segment", bytes(b), "outside its segment"))
    symtab = [o for o, c, s in commands(exe) if c == 0x2][0]
    b = bytearray(exe)
    u32(b, symtab + 20, 2)  # strsize: every name offset now past the string table
    cases.append(("string-offset-past-table", bytes(b), "past the string table"))
    b = bytearray(exe)
    u32(b, symtab + 12, 0x10000000)
    cases.append(("symbols-past-end", bytes(b), "symbol table"))
    b = bytearray(exe)
    symoff, nsyms = struct.unpack_from("<II", exe, symtab + 8)
    for k in range(nsyms):
        if exe[symoff + 16 * k + 4] & 0xEE == 0x0E:  # N_SECT, no stab bits
            b[symoff + 16 * k + 5] = 0x7F
            break
    cases.append(("symbol-section-past-count", bytes(b), "names section 127"))
    b = bytearray(exe)
    nsect_off = text_seg + 64
    u32(b, nsect_off, 0x7FFFFFFF)
    cases.append(("huge-section-count", bytes(b), "claims"))

    # Compact unwind (arm64 fixture).
    ui = read_section(fx["cu-arm64-O2"][0], "__TEXT", "__unwind_info")
    off = ui[0]
    idx_off, nidx = struct.unpack_from("<II", arm, off + 20)
    b = bytearray(arm)
    u32(b, off, 7)
    cases.append(("unwind-version", bytes(b), "version 7"))
    b = bytearray(arm)
    u32(b, off + 24, 0x0FFFFFFF)
    cases.append(("unwind-huge-index", bytes(b), "first-level index lies past"))
    b = bytearray(arm)
    page = struct.unpack_from("<I", arm, off + idx_off + 4)[0]
    # A cyclic index (moved into the section's slack): a second entry
    # naming the same page again.
    f0 = struct.unpack_from("<I", arm, off + idx_off)[0]
    u32(b, off + 20, 0x800)
    u32(b, off + 24, 3)
    struct.pack_into("<9I", b, off + 0x800, f0, page, 0, f0 + 0x10000, page, 0, 0xFFFFFF, 0, 0)
    cases.append(("unwind-cyclic-pages", bytes(b), "out of order or shared"))
    b = bytearray(arm)
    struct.pack_into("<H", b, off + page + 6, 0xFFFF)  # entry count beyond the section
    cases.append(("unwind-huge-page", bytes(b), "more entries than the section"))
    b = bytearray(arm)
    u32(b, off + idx_off + 4, 0x7FFFFFF0)
    cases.append(("unwind-page-past-end", bytes(b), "second-level page lies past"))

    # Fat files.
    b = bytearray(fat)
    struct.pack_into(">I", b, 8 + 12, len(fat))  # slice 0 size: the whole file
    cases.append(("fat-slice-past-end", bytes(b), "lies outside the file"))
    b = bytearray(fat[:30])
    cases.append(("fat-header-truncated", bytes(b), "fat header truncated"))
    b = bytearray(fat)
    struct.pack_into(">I", b, 8 + 20 + 8, struct.unpack_from(">I", fat, 8 + 8)[0])
    cases.append(("fat-slices-overlap", bytes(b), "overlap"))
    return cases


def check_badinput(tooldir, fx, work):
    n = 0
    for name, data, want in bad_inputs(fx, work):
        path = os.path.join(work, "bad-" + name)
        with open(path, "wb") as f:
            f.write(data)
        cmd = [os.path.join(tooldir, "macho_dump")] + (["--arch", "arm64"] if name.startswith("fat") else []) + [path]
        p = run(cmd, check=False)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        if p.returncode != 1 or sanitizer_trouble(p.stderr):
            fail("%s: exit %d (want 1): %s" % (name, p.returncode, p.stderr.strip()[:400]))
        elif len(lines) != 1 or not lines[0].startswith(path + ":") or want not in lines[0]:
            fail("%s: want one line naming the file and '%s', got %r" % (name, want, lines))
        else:
            n += 1
            print("%s: %s" % (name, lines[0]))
        dumpsyms = os.environ.get("DUMPSYMS")
        if dumpsyms:
            q = run([dumpsyms] + (["--arch", "arm64"] if name.startswith("fat") else []) + [path], check=False)
            # Warnings may come first (no dSYM); the refusal is one line.
            qlines = [l for l in q.stderr.splitlines() if l.strip() and "warning:" not in l]
            if q.returncode == 0 or sanitizer_trouble(q.stderr) or q.stdout or len(qlines) != 1 or path not in qlines[0]:
                fail("dumpsyms %s: exit %d, %d bytes out, stderr %r" % (name, q.returncode, len(q.stdout), qlines))
    print("%d bad inputs refused with one line" % n)


def check_fuzz(tooldir, fx):
    files = [p for p, k, a in fx.values()]
    p = run([os.path.join(tooldir, "fuzz_macho_corpus"), "-n", "150"] + sorted(files), check=False)
    if p.returncode != 0 or sanitizer_trouble(p.stderr):
        fail("fuzz corpus run: exit %d: %s" % (p.returncode, p.stderr.strip()[-2000:]))
    else:
        print(p.stdout.strip())
    # The whole of dumpsyms (object layer, DWARF, CFI, compact unwind,
    # symbols) on a few mutated fixtures: a .sym (exit 0) or one line
    # naming the file (exit 1), never a crash or a sanitizer report.
    rnd = random.Random(10)
    work = os.path.dirname(fx["cu-fat"][0])
    picks = [fx[n][0] for n in ("cu-x86_64-O0", "cu-arm64-O2", "cu-x86.o", "libshapes-x86_64.dylib")]
    if "cu-arm64-O0.dSYM" in fx:
        picks.append(fx["cu-arm64-O0.dSYM"][0])
    ran = 0
    for k in range(40):
        src = picks[k % len(picks)]
        data = bytearray(open(src, "rb").read())
        for _ in range(1 + rnd.randrange(6)):
            at = rnd.randrange(min(len(data), 4096)) if rnd.random() < 0.6 else rnd.randrange(len(data))
            data[at] = rnd.choice([0, 0xFF, 0x7F, 0x80, rnd.randrange(256)])
        path = os.path.join(work, "mut-%02d" % k)
        with open(path, "wb") as f:
            f.write(data)
        q = run([os.environ["DUMPSYMS"], "-j1", path], check=False)
        errs = [l for l in q.stderr.splitlines() if l.strip() and "warning:" not in l]
        if sanitizer_trouble(q.stderr) or q.returncode not in (0, 1) or \
                (q.returncode == 1 and (len(errs) != 1 or path not in errs[0] or q.stdout)):
            fail("dumpsyms on %s (mutated %s): exit %d, %r" % (path, os.path.basename(src), q.returncode,
                                                              q.stderr[-1500:]))
        ran += 1
    print("dumpsyms: %d mutated files, each a .sym or one line" % ran)


# ---- dumpsyms end to end ------------------------------------------------------

def dumpsyms(args, check=True):
    p = run([os.environ["DUMPSYMS"]] + args, check=False)
    if sanitizer_trouble(p.stderr):
        fail("dumpsyms %s: sanitizer report:\n%s" % (" ".join(args), p.stderr[-3000:]))
    if check and p.returncode != 0:
        raise RuntimeError("dumpsyms %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p


def parse_sym(text):
    sym = {"module": None, "info": [], "func": {}, "public": {}, "init": {}, "rows": {}}
    cur = None
    for line in text.splitlines():
        f = line.split(" ")
        if f[0] == "MODULE":
            sym["module"] = f[1:]
        elif f[0] == "INFO":
            sym["info"].append(" ".join(f[1:]))
        elif f[0] == "FUNC":
            i = 2 if f[1] == "m" else 1
            sym["func"][int(f[i], 16)] = (int(f[i + 1], 16), " ".join(f[i + 3:]))
        elif f[0] == "PUBLIC":
            i = 2 if f[1] == "m" else 1
            sym["public"][int(f[i], 16)] = " ".join(f[i + 2:])
        elif line.startswith("STACK CFI INIT "):
            cur = int(f[3], 16)
            sym["init"][cur] = (int(f[4], 16), " ".join(f[5:]))
            sym["rows"][cur] = []
        elif line.startswith("STACK CFI "):
            sym["rows"][cur].append((int(f[2], 16), " ".join(f[3:])))
    return sym


def rules_at(sym, addr):
    """The STACK CFI rules in effect at addr, or None."""
    starts = [a for a in sym["init"] if a <= addr < a + sym["init"][a][0]]
    if not starts:
        return None
    a = starts[0]
    rules = parse_rules(sym["init"][a][1])
    for ra, text in sym["rows"][a]:
        if ra <= addr:
            rules.update(parse_rules(text))
    return rules


def norm(name):
    return re.sub(r"\s+", "", name)


def nm_functions(path, load):
    """{address relative to load: demangled name} of text symbols (llvm-nm,
    the leading '_' dropped, C++ names through llvm-cxxfilt)."""
    raw = {}
    for line in run([NM, "-m", "--defined-only", path]).stdout.splitlines():
        m = re.match(r"([0-9a-f]+) \(__TEXT,__text\) (?:weak )?(?:private )?(?:non-)?external (?:\[Thumb\] )?(.+)$", line)
        if m and not m.group(2).startswith(("ltmp", "l_", "L")):
            name = m.group(2)
            raw[int(m.group(1), 16) - load] = name[1:] if name.startswith("_") else name
    addrs = sorted(raw)
    names = run([CXXFILT], input="\n".join(raw[a] for a in addrs) + "\n").stdout.splitlines()
    return dict(zip(addrs, names))


def make_dsyms(fx, work):
    """fixture name -> its dSYM bundle (dsymutil-14), for the linked ones."""
    oracle_util.require(DSYMUTIL)
    out = {}
    for name, (path, kind, arch) in sorted(fx.items()):
        if kind in ("exe", "dylib") and not name.endswith("-O0"):
            run([DSYMUTIL, path, "-o", path + ".dSYM"])
            out[name] = path + ".dSYM"
    return out


def check_records(tooldir, fx, work):
    dsyms = make_dsyms(fx, work)
    totals = [0, 0, 0]
    for name, (path, kind, arch) in sorted(fx.items()):
        if kind in ("fat", "dsym"):
            continue
        p = dumpsyms([path])
        sym = parse_sym(p.stdout)
        ours = macho_dump(tooldir, path)
        uuid = ours["uuid"]
        if kind == "obj":
            want_id = hashlib.md5(open(path, "rb").read()).hexdigest().upper() + "0"
        else:
            want_id = uuid + "0"
        want_mod = ["mac", arch, want_id, os.path.basename(path)]
        if sym["module"] != want_mod:
            fail("%s: MODULE %s, want %s" % (name, sym["module"], want_mod))
        if kind != "obj" and "CODE_ID " + uuid not in sym["info"]:
            fail("%s: no INFO CODE_ID %s (%s)" % (name, uuid, sym["info"]))
        load = int(ours["text_vmaddr"], 16) if ours["text_vmaddr"] else 0
        nm = nm_functions(path, load)
        has_dwarf = kind == "obj" or name in dsyms
        # Every symbol of __text is named at its address, by a FUNC (with
        # DWARF) or a PUBLIC; the names agree with llvm-nm -C.
        agree = 0
        for addr, nmname in sorted(nm.items()):
            got = None
            if addr in sym["func"]:
                got = sym["func"][addr][1]
            elif (addr | 1 if arch == "armv7" else addr) in sym["public"]:
                got = sym["public"][addr | 1 if arch == "armv7" else addr]
            if got is None:
                if kind == "obj" and addr == 0:
                    continue  # the DWARF reader takes address 0 for discarded code
                fail("%s: %s at 0x%x has no FUNC or PUBLIC" % (name, nmname, addr))
            elif norm(got) != norm(nmname):
                fail("%s: 0x%x named %r, llvm-nm -C says %r" % (name, addr, got, nmname))
            else:
                agree += 1
        if has_dwarf and len(sym["func"]) < len(nm) - 1:
            fail("%s: %d FUNC records for %d functions" % (name, len(sym["func"]), len(nm)))
        if arch == "armv7":
            even = [a for a in sym["public"] if not a & 1]
            if even:
                fail("%s: armv7 PUBLICs without the Thumb bit: %s" % (name, [hex(a) for a in even]))
        # Compact unwind reaches the .sym for what no FDE covers.
        cu_checked = 0
        for c in ours["cu"]:
            f = c.split(None, 4)
            if f[3] != "rules":
                continue
            start = int(f[0], 16) - load
            init = sym["init"].get(start)
            if init is None:
                fail("%s: compact-unwind function 0x%x has no STACK CFI INIT" % (name, start))
                continue
            # The encoding's rules: the last prologue row, else INIT.
            nxt = min([int(c2.split()[0], 16) for c2 in ours["cu"] if int(c2.split()[0], 16) > start + load] +
                      [1 << 64])
            rows = [r for r in ours["curow"] if start + load < int(r.split()[0], 16) < nxt]
            body = parse_rules(rows[-1].split(None, 1)[1]) if rows else parse_rules(f[4])
            got = rules_at(sym, start + int(f[1], 16) - 1)
            if init[0] != int(f[1], 16) or got != body:
                fail("%s: 0x%x: STACK CFI %r, compact unwind says %r" % (name, start, got, body))
            else:
                cu_checked += 1
        print("%s: %s, %d FUNC, %d PUBLIC, %d STACK CFI INIT; %d of %d symbols named as llvm-nm -C; "
              "%d compact-unwind functions in the .sym" %
              (name, arch, len(sym["func"]), len(sym["public"]), len(sym["init"]), agree, len(nm), cu_checked))
        totals[0] += len(sym["func"])
        totals[1] += agree
        totals[2] += cu_checked
    print("records: %d FUNC, %d names agree, %d compact-unwind functions" % tuple(totals))


DWARFDUMP = "llvm-dwarfdump-14"


def dwarfdump_rows(path, arch):
    """[(low, high, [(addr, rules)])] from llvm-dwarfdump --eh-frame."""
    text = run([DWARFDUMP, "--eh-frame", path]).stdout
    fdes, cur = [], None
    swap = {"ESP": "EBP", "EBP": "ESP"} if arch == "x86" else {}
    ra = "RIP" if arch == "x86_64" else "EIP"
    # A 32-bit file's pc-relative pointers come out of llvm-dwarfdump
    # 14 carried into bit 32.
    mask = 0xFFFFFFFF if arch == "x86" else (1 << 64) - 1
    for line in text.splitlines():
        m = re.search(r"FDE cie=\S+ pc=([0-9a-f]+)\.\.\.([0-9a-f]+)", line)
        if m:
            cur = (int(m.group(1), 16) & mask, int(m.group(2), 16) & mask, [])
            fdes.append(cur)
            continue
        m = re.match(r"\s+0x([0-9a-f]+): CFA=(\w+)([+-]\d+)(?:: (.*))?$", line)
        if m and cur is not None:
            rules = {".cfa": "$%s %d +" % (swap.get(m.group(2), m.group(2)).lower(), int(m.group(3)))}
            for r in (m.group(4) or "").split(", "):
                mm = re.match(r"(\w+)=\[CFA([+-]\d+)\]", r.strip())
                if mm:
                    reg = swap.get(mm.group(1), mm.group(1))
                    key = ".ra" if reg == ra else "$" + reg.lower()
                    rules[key] = ".cfa %d + ^" % int(mm.group(2))
            cur[2].append((int(m.group(1), 16) & mask, rules))
    return fdes


def check_cfi(tooldir, fx):
    oracle_util.require(DWARFDUMP)
    total = agree = 0
    # The objects: linked binaries' __eh_frame has ld64.lld-14's unrelocated
    # pointers (they land outside the code and are left out).
    work = os.path.dirname(fx["cu-fat"][0])
    inputs = dict(fx)
    for f in ("cu-x86_64-O0.o", "cu-x86_64-O2.o", "shapes-x86_64.o"):
        inputs[f] = (os.path.join(work, f), "obj", "x86_64")
    for name, (path, kind, arch) in sorted(inputs.items()):
        if kind not in ("obj", "exe", "dylib") or arch not in ("x86", "x86_64"):
            continue
        ours = macho_dump(tooldir, path)
        text = [s.split() for s in ours["section"] if s.startswith("__TEXT,__text ")][0]
        lo, hi = int(text[1], 16), int(text[1], 16) + int(text[2], 16)
        load = int(ours["text_vmaddr"], 16) if ours["text_vmaddr"] else 0
        sym = parse_sym(dumpsyms(["--no-synth-cfi", path]).stdout)
        n = a = 0
        for low, high, rows in dwarfdump_rows(path, arch):
            if not (lo <= low < high <= hi):
                continue  # an FDE pointer the linker left unrelocated
            init = sym["init"].get(low - load)
            if not init or init[0] != high - low:
                fail("%s: FDE 0x%x-0x%x: STACK CFI INIT %s" % (name, low, high, init))
                continue
            for addr, want in rows:
                n += 1
                got = rules_at(sym, addr - load)
                if got != want:
                    fail("%s: 0x%x: ours %r, llvm-dwarfdump %r" % (name, addr, got, want))
                else:
                    a += 1
        if n:
            print("%s: %d of %d CFI rows agree with llvm-dwarfdump --eh-frame" % (name, a, n))
        total += n
        agree += a
    print("cfi: %d of %d rows agree" % (agree, total))
    if total < 20:
        fail("only %d CFI rows compared" % total)


def check_fat(tooldir, fx, work):
    fat = fx["cu-fat"][0]
    archs = run([LIPO, "-archs", fat]).stdout.split()
    p = dumpsyms(["--list-arch", fat])
    want = []
    for a in archs:
        _, _, uuid = objdump_headers(fat, arch=a)
        want.append("%s %s" % (a, uuid))
    if p.stdout.splitlines() != want:
        fail("--list-arch: %r, want %r" % (p.stdout.splitlines(), want))
    for a, line in zip(archs, want):
        sym = parse_sym(dumpsyms(["--arch", a, fat]).stdout)
        if sym["module"] != ["mac", a, line.split()[1] + "0", "cu-fat"]:
            fail("--arch %s: MODULE %s" % (a, sym["module"]))
    q = dumpsyms([fat], check=False)
    lines = [l for l in q.stderr.splitlines() if l.strip()]
    if q.returncode == 0 or q.stdout or len(lines) != 1 or not all(a in lines[0] for a in archs) or fat not in lines[0]:
        fail("fat file without --arch: exit %d, stdout %d bytes, stderr %r" % (q.returncode, len(q.stdout), lines))
    else:
        print("without --arch: " + lines[0])
    q = dumpsyms(["--arch", "ppc", fat], check=False)
    if q.returncode == 0 or "ppc" not in q.stderr:
        fail("--arch ppc: exit %d, %r" % (q.returncode, q.stderr))
    store = os.path.join(work, "store")
    q = dumpsyms(["--store", store, fat], check=False)
    for a, line in zip(archs, want):
        f = os.path.join(store, "cu-fat", line.split()[1] + "0", "cu-fat.sym")
        if not os.path.isfile(f):
            fail("--store: no %s for %s (%s)" % (f, a, q.stdout))
        elif parse_sym(open(f).read())["module"][1] != a:
            fail("--store: %s is not the %s slice" % (f, a))
    if q.returncode != 0 or len([l for l in q.stdout.splitlines() if l.startswith("ok ")]) != len(archs):
        fail("--store on a fat file: exit %d:\n%s" % (q.returncode, q.stdout))
    print("fat: %d slices listed, dumped with --arch and stored" % len(archs))


def check_dsym(tooldir, fx, work):
    oracle_util.require(DSYMUTIL)
    exe = fx["cu-arm64-O2"][0]
    other = fx["cu-arm64-O0"][0]
    run([DSYMUTIL, exe, "-o", exe + ".dSYM"])
    run([DSYMUTIL, other, "-o", other + ".dSYM"])
    comp = os.path.join(exe + ".dSYM", "Contents", "Resources", "DWARF", os.path.basename(exe))
    beside = dumpsyms([exe]).stdout
    sym = parse_sym(beside)
    if len(sym["func"]) < 8:
        fail("dSYM beside the binary: %d FUNC records" % len(sym["func"]))
    for args in ([exe, exe + ".dSYM"], [exe, comp]):
        if dumpsyms(args).stdout != beside:
            fail("dumpsyms %s differs from the dSYM found beside" % " ".join(args))
    alone = parse_sym(dumpsyms([exe + ".dSYM"]).stdout)
    if alone["module"] != sym["module"] or alone["func"] != sym["func"]:
        fail("the dSYM bundle alone: MODULE %s, %d FUNC (binary: %s, %d)" %
             (alone["module"], len(alone["func"]), sym["module"], len(sym["func"])))
    q = dumpsyms([exe, other + ".dSYM"], check=False)
    u1 = macho_dump(tooldir, exe)["uuid"]
    u2 = macho_dump(tooldir, other)["uuid"]
    lines = [l for l in q.stderr.splitlines() if l.strip()]
    if q.returncode == 0 or q.stdout or len(lines) != 1 or u1 not in lines[0] or u2 not in lines[0]:
        fail("UUID mismatch: exit %d, stderr %r (want both %s and %s)" % (q.returncode, lines, u1, u2))
    else:
        print("mismatch refused: " + lines[0])
    # A fat binary's fat dSYM (dsymutil runs "lipo" to join the slices):
    # each slice's DWARF through --arch and in the store.
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir, exist_ok=True)
    if not os.path.exists(os.path.join(bindir, "lipo")):
        os.symlink(shutil.which(LIPO), os.path.join(bindir, "lipo"))
    fat = fx["cu-fat"][0]
    run([DSYMUTIL, fat, "-o", fat + ".dSYM"], env=dict(os.environ, PATH=bindir + ":" + os.environ["PATH"]))
    archs = run([LIPO, "-archs", fat]).stdout.split()
    listed = [l.split()[0] for l in dumpsyms(["--list-arch", fat + ".dSYM"]).stdout.splitlines()]
    if sorted(listed) != sorted(archs):
        fail("--list-arch on the fat dSYM: %s, want %s" % (listed, archs))
    for a in archs:
        s = parse_sym(dumpsyms(["--arch", a, fat]).stdout)
        if len(s["func"]) < 8 or s["module"][1] != a:
            fail("fat dSYM, --arch %s: MODULE %s, %d FUNC" % (a, s["module"], len(s["func"])))
    store = os.path.join(work, "store")
    dumpsyms(["--store", store, fat])
    for a in archs:
        _, _, uuid = objdump_headers(fat, arch=a)
        f = os.path.join(store, "cu-fat", uuid + "0", "cu-fat.sym")
        if not os.path.isfile(f) or len(parse_sym(open(f).read())["func"]) < 8:
            fail("--store with a fat dSYM: %s missing or without FUNC records" % f)
    print("dsym: %d FUNC from the dSYM beside, named, as companion file and alone; fat dSYM for %s" %
          (len(sym["func"]), ", ".join(archs)))


def main():
    group, tooldir, work = sys.argv[1], sys.argv[2], sys.argv[3]
    need_tools()
    if os.path.isdir(work):
        shutil.rmtree(work)
    fx = build_fixtures(work)
    if group == "parser":
        check_parser(tooldir, fx)
    elif group == "unwind":
        check_unwind(tooldir, fx, work)
    elif group == "badinput":
        check_badinput(tooldir, fx, work)
    elif group == "fuzz":
        check_fuzz(tooldir, fx)
    elif group == "records":
        check_records(tooldir, fx, work)
    elif group == "cfi":
        check_cfi(tooldir, fx)
    elif group == "fat":
        check_fat(tooldir, fx, work)
    elif group == "dsym":
        check_dsym(tooldir, fx, work)
    else:
        print("unknown group " + group)
        return 2
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
