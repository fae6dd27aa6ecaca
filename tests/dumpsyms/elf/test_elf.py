#!/usr/bin/env python3
"""ELF-side end-to-end tests of dumpsyms.

usage: test_elf.py GROUP DUMPSYMS ELF_SECTIONS WORKDIR

Every group builds its fixtures at test time with the real compilers (cross
compilers where Debian has them) and checks dumpsyms against independent
tools: readelf for ids, symbols and sections, c++filt for C++ names, the
toolchain's own objcopy/strip/xz for separate debug files, compressed
sections and MiniDebugInfo.
"""
import os
import random
import re
import shutil
import subprocess
import sys

GROUP, DUMPSYMS, ELF_SECTIONS, WORK = sys.argv[1:5]
FAILURES = []
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")

# (compiler prefix, MODULE arch) for every architecture of the issue.
ARCHES = [
    ("", "x86_64"),
    ("i686-linux-gnu-", "x86"),
    ("aarch64-linux-gnu-", "arm64"),
    ("arm-linux-gnueabihf-", "arm"),
    ("riscv64-linux-gnu-", "riscv64"),
    ("s390x-linux-gnu-", "s390x"),
    ("powerpc64le-linux-gnu-", "ppc64"),
]

C_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
int counter;
static int __attribute__((noinline)) helper(int x) { counter += x; return x * 3; }
int __attribute__((noinline)) exported_add(int a, int b) { return helper(a) + b; }
void __attribute__((noinline, cold)) rarely(void) { fprintf(stderr, "rare\n"); abort(); }
int main(int argc, char **argv) {
    (void)argv;
    if (argc > 5) rarely();
    printf("%d\n", exported_add(argc, 2));
    return 0;
}
"""

CXX_SOURCE = r"""
#include <cstdio>
#include <string>
#include <vector>
namespace ns {
struct Widget {
    int v;
    __attribute__((noinline)) int get(int x) const { return v + x; }
    __attribute__((noinline)) int get(double x) const { return v + (int)x; }
};
template <typename T> __attribute__((noinline)) T twice(T t) { return t + t; }
}
static __attribute__((noinline)) int local_helper(std::vector<int> &v) {
    int s = 0;
    for (int x : v) s += x;
    return s;
}
__attribute__((noinline)) int with_cold(int x) {
    if (__builtin_expect(x > 1000, 0)) {
        std::string s = "cold path ";
        s += std::to_string(x);
        std::puts(s.c_str());
        throw 42;
    }
    return x + 1;
}
int main(int argc, char **) {
    ns::Widget w{argc};
    std::vector<int> v{1, 2, argc};
    std::printf("%d %d %d %f %d %d\n", w.get(1), w.get(2.0), ns::twice(argc), ns::twice(1.5),
                local_helper(v), with_cold(argc));
    return 0;
}
"""


def log(msg):
    print(msg, flush=True)


def fail(msg):
    FAILURES.append(msg)
    log("FAIL: " + msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=kw.pop("timeout", 120), **kw)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def must(cmd, **kw):
    rc, out, err = run(cmd, **kw)
    if rc != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (rc, " ".join(cmd), err))
    return out


def have(tool):
    return shutil.which(tool) is not None


def w(name):
    return os.path.join(WORK, name)


def write(name, text):
    with open(w(name), "w") as f:
        f.write(text)
    return w(name)


def dumpsyms(*args, timeout=120):
    rc, out, err = run([DUMPSYMS] + list(args), timeout=timeout)
    for mark in SANITIZER_MARKS:
        if mark in err:
            fail("sanitizer report for dumpsyms %s:\n%s" % (" ".join(args), err[-3000:]))
            break
    return rc, out, err


def records(sym_text, kind):
    return [l for l in sym_text.splitlines() if l.startswith(kind + " ")]


def publics(sym_text):
    """{addr: name} of the PUBLIC records."""
    res = {}
    for l in records(sym_text, "PUBLIC"):
        parts = l.split(" ", 3)
        if parts[1] == "m":
            parts = l.split(" ", 4)[1:]
        res[int(parts[1], 16)] = parts[3]
    return res


def compile_c(prefix, src, out, extra=(), cxx=False):
    cc = prefix + ("g++" if cxx else "gcc")
    if not have(cc):
        if os.environ.get("CI"):  # CI has every cross compiler: a missing one is a failure
            fail("%s is not installed (CI is set)" % cc)
        return None
    must([cc, "-g", "-O2", "-o", out, src] + list(extra))
    return out


# ---- oracles (readelf) ------------------------------------------------------

def readelf_header(path):
    out = must(["readelf", "-hW", path])
    h = {}
    for l in out.splitlines():
        if ":" in l:
            k, v = l.split(":", 1)
            h[k.strip()] = v.strip()
    return h


def readelf_build_id(path):
    out = must(["readelf", "-nW", path])
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return bytes.fromhex(m.group(1)) if m else None


def readelf_sections(path):
    """[(index, name, type, addr, offset, size, flags)]"""
    out = must(["readelf", "-SW", path])
    secs = []
    for l in out.splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)\s", l)
        if m:
            flags = m.group(7)
            if re.match(r"^\d+$", flags):  # no flags: that column is Lk
                flags = ""
            secs.append((int(m.group(1)), m.group(2), m.group(3), int(m.group(4), 16),
                         int(m.group(5), 16), int(m.group(6), 16), flags))
    return secs


def load_addr(path):
    out = must(["readelf", "-lW", path])
    addrs = [int(m.group(1), 16) for m in re.finditer(r"^\s*LOAD\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", out, re.M)]
    return min(addrs) if addrs else 0


def readelf_func_symbols(path, table):
    """[(value, bind, name)] of defined FUNC/IFUNC symbols in executable sections."""
    exec_idx = {s[0] for s in readelf_sections(path) if "X" in s[6]}
    out = must(["readelf", "-sW", "--wide", path])
    syms, cur = [], None
    for l in out.splitlines():
        m = re.match(r"Symbol table '([^']+)'", l)
        if m:
            cur = m.group(1)
            continue
        if cur != table:
            continue
        # ppc64 ELFv2 adds "[<localentry>: 8]" before Ndx.
        l = re.sub(r"\[<localentry>: \d+\]", "", l)
        parts = l.split()
        if len(parts) < 8 or not parts[0].rstrip(":").isdigit():
            continue
        value, typ, bind, ndx, name = parts[1], parts[3], parts[4], parts[6], parts[7]
        if typ not in ("FUNC", "IFUNC") or not ndx.isdigit() or int(ndx) not in exec_idx:
            continue
        # readelf prints versioned dynamic names as "name@VER (n)"; keep the name.
        syms.append((int(value, 16), bind, name))
    return syms


def expected_debug_id(build_id, little_endian):
    b = (build_id + bytes(16))[:16]
    if little_endian:
        b = b[3::-1] + b[5:3:-1] + b[7:5:-1] + b[8:]
    return b.hex().upper() + "0"


def text_hash(path):
    for s in readelf_sections(path):
        if s[1] == ".text":
            with open(path, "rb") as f:
                f.seek(s[4])
                data = f.read(min(4096, s[5]))
            h = bytearray(16)
            for i, c in enumerate(data):
                h[i % 16] ^= c
            return bytes(h)
    return None


def text_hash_id(path, little_endian):
    h = text_hash(path)
    return expected_debug_id(h, little_endian) if h is not None else None


CLONE_RE = re.compile(r"^(.+?)((\.(cold|hot|isra|part|constprop|lto_priv|localalias|llvm|__uniq|clone|"
                      r"specialized|multiarch|resolver|ifunc|split|unlikely|inlined)(\.[0-9a-f]+)*)+)$")


def cxxfilt(names):
    """c++filt of each name after folding clone suffixes, as dumpsyms does."""
    bases = []
    for n in names:
        n = n.split("@")[0]
        m = CLONE_RE.match(n)
        bases.append(m.group(1) if m else n)
    out = must(["c++filt"], input="\n".join(bases).encode()).splitlines() if bases else []
    return out


# ---- groups -----------------------------------------------------------------

def group_ids():
    src = write("ids.c", C_SOURCE)
    tested = 0
    for prefix, arch in ARCHES:
        exe = compile_c(prefix, src, w("ids-" + arch), ["-Wl,--build-id=sha1"])
        if not exe:
            log("skip %s: no %sgcc" % (arch, prefix))
            continue
        tested += 1
        h = readelf_header(exe)
        le = "little endian" in h["Data"]
        bid = readelf_build_id(exe)
        rc, out, err = dumpsyms("-i", exe)
        if not check(rc == 0, "%s: dumpsyms -i exit %d: %s" % (arch, rc, err)):
            continue
        lines = out.splitlines()
        want = "MODULE Linux %s %s %s" % (arch, expected_debug_id(bid, le), os.path.basename(exe))
        check(lines[0] == want, "%s: got %r want %r" % (arch, lines[0], want))
        check("INFO CODE_ID %s" % bid.hex().upper() in lines, "%s: CODE_ID missing/wrong: %r" % (arch, lines))
        check(len(lines[0].split()) == 5, "%s: MODULE line must have 5 tokens" % arch)
        # No build-id: the .text hash.
        nob = compile_c(prefix, src, w("ids-nobid-" + arch), ["-Wl,--build-id=none"])
        rc, out, err = dumpsyms("-i", nob)
        want_id = text_hash_id(nob, le)
        got = out.splitlines()[0].split()[3] if rc == 0 else None
        check(got == want_id, "%s without build-id: got %s want %s (%s)" % (arch, got, want_id, err))
        # Breakpad's code id for such a file is the unswapped hash.
        want_code = "INFO CODE_ID %s" % text_hash(nob).hex().upper()
        check(want_code in out.splitlines(), "%s without build-id: want %r in %r" % (arch, want_code, out))
        log("ok %s: %s" % (arch, lines[0]))
    # Short build-ids: zero padded; the swap only for little-endian files.
    for prefix, arch, want in [("", "x86_64", "BBA6FA10B8AAB33D00000000000000000"),
                               ("s390x-linux-gnu-", "s390x", "10FAA6BBAAB83DB300000000000000000")]:
        exe = compile_c(prefix, src, w("ids-short-" + arch), ["-Wl,--build-id=0x10FAA6BBAAB83DB3"])
        if not exe:
            continue
        rc, out, err = dumpsyms("-i", exe)
        check(rc == 0 and out.splitlines()[0].split()[3] == want,
              "%s 8-byte build-id: %r want %s" % (arch, out[:120], want))
        check("INFO CODE_ID 10FAA6BBAAB83DB3" in out, "%s 8-byte code id: %r" % (arch, out[:200]))
    check(tested >= 2, "fewer than two architectures could be built")


def check_publics(exe, table, label, thumb=False):
    """PUBLIC records of a file without DWARF equal readelf's function symbols."""
    rc, out, err = dumpsyms("-c", exe)
    if not check(rc == 0, "%s: exit %d: %s" % (label, rc, err)):
        return
    got = publics(out)
    base = load_addr(exe)
    syms = readelf_func_symbols(exe, table)
    by_addr = {}
    for value, bind, name in syms:
        if thumb:
            value &= ~1
        by_addr.setdefault(value - base, []).append(name)
    check(set(got) == set(by_addr), "%s: PUBLIC addresses differ: missing %s, extra %s" % (
        label, sorted(hex(a) for a in set(by_addr) - set(got))[:10],
        sorted(hex(a) for a in set(got) - set(by_addr))[:10]))
    wrong = 0
    addrs = sorted(set(got) & set(by_addr))
    all_names = [n for a in addrs for n in by_addr[a]]
    demangled = dict(zip(all_names, cxxfilt(all_names)))
    for a in addrs:
        names = by_addr[a]
        accepted = set(demangled[n] for n in names)
        accepted |= set(demangled[n] + n[n.index("@"):] for n in names if "@" in n)
        if got[a] not in accepted:
            wrong += 1
            if wrong <= 5:
                fail("%s: PUBLIC %x is %r, c++filt says one of %r" % (label, a, got[a], sorted(accepted)))
    log("ok %s: %d PUBLIC records, %d names checked" % (label, len(got), len(addrs)))
    return got


def group_publics():
    csrc = write("pub.c", C_SOURCE)
    cxxsrc = write("pub.cc", CXX_SOURCE)
    for prefix, arch in ARCHES:
        exe = compile_c(prefix, csrc, w("pub-" + arch))
        if not exe:
            continue
        nodebug = w("pub-nodebug-" + arch)
        must([prefix + "strip" if have(prefix + "strip") else "strip", "--strip-debug", "-o", nodebug, exe])
        got = check_publics(nodebug, ".symtab", "%s .symtab" % arch, thumb=arch == "arm")
        if got is not None:
            names = set(got.values())
            check({"main", "exported_add", "helper"} <= names, "%s: expected functions missing: %r" % (arch, names))
            check("rarely" in names, "%s: 'rarely' missing" % arch)
            if arch == "arm":
                check(all(a % 2 == 0 for a in got), "arm: PUBLIC addresses must not carry the Thumb bit")
        # Stripped: only .dynsym.
        lib = w("libpub-%s.so" % arch)
        if compile_c(prefix, csrc, lib, ["-shared", "-fPIC"]):
            stripped = lib + ".stripped"
            must([prefix + "strip" if have(prefix + "strip") else "strip", "--strip-all", "-o", stripped, lib])
            got = check_publics(stripped, ".dynsym", "%s .dynsym" % arch, thumb=arch == "arm")
            if got is not None:
                check("exported_add" in got.values() and "helper" not in got.values(),
                      "%s .dynsym: exported_add expected, static helper not: %r" % (arch, got))
    # C++ with overloads, templates, clones, cold parts.
    for prefix, arch in ARCHES[:1] + ARCHES[2:3]:
        exe = compile_c(prefix, cxxsrc, w("pubxx-" + arch), cxx=True)
        if not exe:
            continue
        nodebug = exe + ".nodebug"
        must([prefix + "strip" if have(prefix + "strip") else "strip", "--strip-debug", "-o", nodebug, exe])
        got = check_publics(nodebug, ".symtab", "%s C++" % arch)
        if got is None:
            continue
        names = set(got.values())
        for want in ["ns::Widget::get(int) const", "ns::Widget::get(double) const", "int ns::twice<int>(int)",
                     "double ns::twice<double>(double)", "with_cold(int)"]:
            check(want in names, "%s C++: %r missing from PUBLIC names" % (arch, want))
        check(not any("[clone" in n or ".cold" in n for n in names),
              "%s C++: clone suffixes must be folded: %r" % (arch, [n for n in names if "clone" in n or ".cold" in n]))
    # Relative to the lowest PT_LOAD: a non-PIE linked at 0x400000.
    exe = compile_c("", csrc, w("pub-nopie"), ["-no-pie"])
    nodebug = exe + ".nodebug"
    must(["strip", "--strip-debug", "-o", nodebug, exe])
    got = check_publics(nodebug, ".symtab", "x86_64 -no-pie")
    if got is not None:
        check(load_addr(nodebug) >= 0x400000 and max(got) < 0x100000,
              "-no-pie: PUBLIC addresses must be relative to the load address")


def expect_error(label, path, args=(), rc_want=1):
    rc, out, err = dumpsyms(*(list(args) + [path]), timeout=30)
    lines = [l for l in err.splitlines() if l]
    ok = check(rc == rc_want, "%s: exit %d, want %d (%s)" % (label, rc, rc_want, err.strip()))
    ok &= check(len(lines) >= 1 and lines[-1].startswith("dumpsyms: ") and path in lines[-1],
                "%s: want a one-line error naming the file, got %r" % (label, err))
    ok &= check(out == "", "%s: nothing on stdout expected, got %r" % (label, out[:200]))
    if ok:
        log("ok %s: %s" % (label, lines[-1]))


def group_badinput():
    src = write("bad.c", C_SOURCE)
    exe = compile_c("", src, w("bad-good"))
    data = open(exe, "rb").read()
    expect_error("non-ELF", write("bad-text.txt", "hello, this is not an ELF file\n" * 10))
    expect_error("empty file", write("bad-empty", ""))
    expect_error("missing file", w("does-not-exist"))
    expect_error("directory", WORK)
    # Truncated at several points.
    shoff = int(readelf_header(exe)["Start of section headers"].split()[0])
    for cut in [3, 16, 40, 63, 64, 200, len(data) // 3, len(data) // 2, shoff, shoff + 100, len(data) - 1]:
        p = w("bad-trunc-%d" % cut)
        with open(p, "wb") as f:
            f.write(data[:cut])
        expect_error("truncated at %d" % cut, p)
    # Big-endian and 32-bit truncations too.
    for prefix, arch in [("s390x-linux-gnu-", "s390x"), ("arm-linux-gnueabihf-", "arm")]:
        e = compile_c(prefix, src, w("bad-%s" % arch))
        if e:
            d = open(e, "rb").read()
            p = w("bad-trunc-%s" % arch)
            with open(p, "wb") as f:
                f.write(d[:len(d) // 2])
            expect_error("truncated %s" % arch, p)
    # Garbage in the ELF header fields that locate tables.
    is64 = data[4] == 2
    fields = {"e_phoff": (0x20, 8), "e_shoff": (0x28, 8), "e_shnum": (0x3c, 2), "e_shstrndx": (0x3e, 2),
              "e_phnum": (0x38, 2), "e_shentsize": (0x3a, 2)} if is64 else {}
    for name, (off, size) in fields.items():
        for val in [0xffff, 0x7fffffff, 1, 0xffffffffffffffff & ((1 << (8 * size)) - 1)]:
            d = bytearray(data)
            d[off:off + size] = (val & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            p = w("bad-%s-%x" % (name, val))
            with open(p, "wb") as f:
                f.write(d)
            rc, out, err = dumpsyms(p, timeout=30)
            check(rc in (0, 1), "%s=%x: exit %d (crash?) %s" % (name, val, rc, err[-500:]))
            if rc == 1:
                check(p in err, "%s=%x: error must name the file: %r" % (name, val, err))
    # Random garbage in the section header table (seeded: reproducible).
    rng = random.Random(1234)
    crashes = 0
    for i in range(120):
        d = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(shoff, len(d))
            d[pos] = rng.randrange(256)
        p = w("bad-shdr-%d" % i)
        with open(p, "wb") as f:
            f.write(d)
        rc, out, err = dumpsyms(p, timeout=30)
        if rc not in (0, 1):
            crashes += 1
            fail("garbage section headers #%d: exit %d: %s" % (i, rc, err[-500:]))
        elif rc == 1 and p not in err:
            fail("garbage section headers #%d: error does not name the file: %r" % (i, err))
        os.unlink(p)
    log("ok garbage section headers: 120 variants, %d crashes" % crashes)
    # A compressed debug section whose payload is corrupt.
    z = w("bad-zlib")
    must(["objcopy", "--compress-debug-sections=zlib", exe, z])
    for s in readelf_sections(z):
        if s[1] == ".debug_info":
            d = bytearray(open(z, "rb").read())
            for k in range(s[4] + 30, s[4] + s[5] - 4, 7):
                d[k] ^= 0x5a
            with open(z, "wb") as f:
                f.write(d)
    rc, out, err = dumpsyms(z, timeout=30)
    check(rc in (0, 1) and ("bad-zlib" in err), "corrupt zlib section: exit %d, %r" % (rc, err))
    rc, out, err = run([ELF_SECTIONS, z])
    check(rc == 1 and "corrupt zlib" in out, "elf_sections must report the corrupt zlib section: %r" % out)
    log("ok corrupt zlib section: %s" % (err.strip().splitlines() or ["(no message)"])[-1])
    # A compressed .debug_info is streamed unit by unit, so damage near its
    # end is found only after most units were read: it must still fail the
    # whole dump (exit 1, file and section named, nothing written), never
    # give a .sym that silently lacks the last units.  The last 4 bytes are
    # the zlib checksum; for zstd, the last bytes of the frame.
    for kind in ["zlib", "zstd"]:
        for what, back in [("checksum", 2), ("tail", 40)]:
            t = w("bad-tail-%s-%s" % (kind, what))
            must(["objcopy", "--compress-debug-sections=" + kind, exe, t])
            for s in readelf_sections(t):
                if s[1] == ".debug_info":
                    d = bytearray(open(t, "rb").read())
                    d[s[4] + s[5] - back] ^= 0xff
                    with open(t, "wb") as f:
                        f.write(d)
            out_path = t + ".sym"
            rc, out, err = dumpsyms(t, "-o", out_path, timeout=30)
            if kind == "zstd" and rc == 0:
                # objcopy writes zstd frames without a content checksum: a
                # changed byte of raw literals decompresses cleanly, and no
                # reader can tell.  (zlib's adler32 always tells.)
                log("ok damaged %s stream (%s): undetectable (no frame checksum), dumped" % (kind, what))
                continue
            check(rc == 1 and t in err and ".debug_info" in err and "corrupt" in err,
                  "%s: damaged end of a %s-compressed .debug_info: exit %d, %r" % (t, kind, rc, err))
            check(not os.path.exists(out_path), "%s: a .sym was written despite the error" % t)
            log("ok damaged %s stream (%s): %s" % (kind, what, (err.strip().splitlines() or ["?"])[-1]))


def strip_tool(prefix):
    return prefix + "objcopy" if have(prefix + "objcopy") else "objcopy"


def make_split(exe, prefix=""):
    """exe -> (stripped, debug): objcopy --only-keep-debug + strip + debuglink."""
    oc = strip_tool(prefix)
    dbg = exe + ".debug"
    stripped = exe + ".stripped"
    must([oc, "--only-keep-debug", exe, dbg])
    must([oc, "--strip-debug", "--strip-unneeded", exe, stripped])
    return stripped, dbg


def add_debuglink(stripped, dbg, prefix=""):
    cwd = os.path.dirname(dbg)
    must([strip_tool(prefix), "--add-gnu-debuglink=" + os.path.basename(dbg), stripped], cwd=cwd)


def sym_body(text):
    """A .sym without its MODULE and INFO lines (ids may legitimately differ)."""
    return "\n".join(l for l in text.splitlines() if not l.startswith(("MODULE ", "INFO ")))


def group_debugfile():
    src = write("dbg.c", C_SOURCE)
    for prefix, arch in [("", "x86_64"), ("s390x-linux-gnu-", "s390x"), ("arm-linux-gnueabihf-", "arm")]:
        d = w("dbg-" + arch)
        os.makedirs(d, exist_ok=True)
        exe = compile_c(prefix, src, os.path.join(d, "prog"), ["-Wl,--build-id=sha1"])
        if not exe:
            continue
        rc, full, err = dumpsyms("-n", "prog", exe)
        check(rc == 0, "%s: full dump failed: %s" % (arch, err))
        stripped, dbg = make_split(exe, prefix)
        bid = readelf_build_id(exe).hex()
        # 1. build-id tree under --debug-dir.
        root = os.path.join(d, "root")
        os.makedirs(os.path.join(root, ".build-id", bid[:2]), exist_ok=True)
        shutil.copy(dbg, os.path.join(root, ".build-id", bid[:2], bid[2:] + ".debug"))
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", "/nonexistent", "--debug-dir", root, stripped)
        check(rc == 0 and ".build-id" in err, "%s build-id: exit %d, -v must name the debug file: %s" % (arch, rc, err))
        check(out.splitlines()[0] == full.splitlines()[0], "%s build-id: MODULE differs" % arch)
        check(sym_body(out) == sym_body(full), "%s build-id: .sym differs from the unstripped dump" % arch)
        # 2. .gnu_debuglink beside the binary, in .debug/, under root/<dir>.
        linked = os.path.join(d, "linked")
        shutil.copy(stripped, linked)
        add_debuglink(linked, dbg, prefix)
        empty_root = os.path.join(d, "empty-root")
        os.makedirs(empty_root, exist_ok=True)
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", empty_root, linked)
        check(rc == 0 and dbg in err and sym_body(out) == sym_body(full),
              "%s debuglink beside: %d %s" % (arch, rc, err))
        sub = os.path.join(d, "sub")
        os.makedirs(os.path.join(sub, ".debug"), exist_ok=True)
        shutil.copy(linked, os.path.join(sub, "linked"))
        shutil.copy(dbg, os.path.join(sub, ".debug", os.path.basename(dbg)))
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", empty_root, os.path.join(sub, "linked"))
        check(rc == 0 and "/.debug/" in err and sym_body(out) == sym_body(full),
              "%s debuglink in .debug/: %d %s" % (arch, rc, err))
        sub2 = os.path.join(d, "sub2")
        os.makedirs(sub2, exist_ok=True)
        shutil.copy(linked, os.path.join(sub2, "linked"))
        under = os.path.join(d, "root2") + os.path.realpath(sub2)
        os.makedirs(under, exist_ok=True)
        shutil.copy(dbg, os.path.join(under, os.path.basename(dbg)))
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", os.path.join(d, "root2"), os.path.join(sub2, "linked"))
        check(rc == 0 and "root2" in err and sym_body(out) == sym_body(full),
              "%s debuglink under root: %d %s" % (arch, rc, err))
        # Reached through a symbolic link from another directory: the debug
        # file beside the real binary is found.
        lnk = os.path.join(d, "links")
        os.makedirs(lnk, exist_ok=True)
        os.symlink(os.path.join(sub, "linked"), os.path.join(lnk, "alias"))
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", empty_root, os.path.join(lnk, "alias"))
        check(rc == 0 and "/sub/.debug/" in err and sym_body(out) == sym_body(full),
              "%s debuglink through a symlink: %d %s" % (arch, rc, err))
        # In a directory reached through a symbolic link: <root>/<dir> is the
        # directory resolved, the debug file the same whichever name is used.
        dirlink = os.path.join(d, "dirlink")
        os.symlink(sub2, dirlink)
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", os.path.join(d, "root2"),
                                os.path.join(dirlink, "linked"))
        check(rc == 0 and os.path.join(under, os.path.basename(dbg)) in err and sym_body(out) == sym_body(full),
              "%s debuglink in a symlinked directory: %d %s" % (arch, rc, err))
        # A build-id tree whose entries are relative symbolic links (as the
        # distributions ship them): named by the link, not its target.
        ltree = os.path.join(d, "link-root")
        os.makedirs(os.path.join(ltree, ".build-id", bid[:2]), exist_ok=True)
        os.makedirs(os.path.join(ltree, "files"), exist_ok=True)
        shutil.copy(dbg, os.path.join(ltree, "files", "prog.debug"))
        bid_link = os.path.join(ltree, ".build-id", bid[:2], bid[2:] + ".debug")
        os.symlink("../../files/prog.debug", bid_link)
        rc, out, err = dumpsyms("-v", "-n", "prog", "--debug-dir", ltree, stripped)
        check(rc == 0 and bid_link in err and sym_body(out) == sym_body(full),
              "%s symlinked build-id tree: %d %s" % (arch, rc, err))
        # 3. explicit DEBUGFILE.
        rc, out, err = dumpsyms("-n", "prog", stripped, dbg)
        check(rc == 0 and sym_body(out) == sym_body(full), "%s explicit debug file: %d %s" % (arch, rc, err))
        # 4. a debug file of another build is refused.
        other = compile_c(prefix, write("dbg-other.c", C_SOURCE + "int other_fn(void) { return 7; }\n"),
                          os.path.join(d, "other"), ["-Wl,--build-id=sha1"])
        _, other_dbg = make_split(other, prefix)
        rc, out, err = dumpsyms(stripped, other_dbg)
        check(rc == 1 and "does not match" in err and other_dbg in err,
              "%s mismatched explicit debug file must be refused: %d %s" % (arch, rc, err))
        bad_root = os.path.join(d, "bad-root")
        os.makedirs(os.path.join(bad_root, ".build-id", bid[:2]), exist_ok=True)
        shutil.copy(other_dbg, os.path.join(bad_root, ".build-id", bid[:2], bid[2:] + ".debug"))
        rc, out, err = dumpsyms("--debug-dir", bad_root, stripped)
        check(rc == 0 and "refused" in err and "build-id" in err and "FUNC " not in out,
              "%s mismatched build-id tree file: warning expected, no FUNC: %d %s" % (arch, rc, err))
        # 5. debuglink with a wrong CRC (the debug file changed after linking).
        crcdir = os.path.join(d, "crc")
        os.makedirs(crcdir, exist_ok=True)
        shutil.copy(linked, os.path.join(crcdir, "linked"))
        with open(os.path.join(crcdir, os.path.basename(dbg)), "wb") as f:
            f.write(open(dbg, "rb").read() + b"\0")
        rc, out, err = dumpsyms("--debug-dir", empty_root, os.path.join(crcdir, "linked"))
        check(rc == 0 and "CRC32" in err and "refused" in err,
              "%s bad CRC must be refused with a warning: %d %s" % (arch, rc, err))
        log("ok %s: build-id tree, debuglink (beside, .debug/, root), explicit, mismatches" % arch)


def section_table(path):
    rc, out, err = run([ELF_SECTIONS, path])
    check(rc == 0, "elf_sections %s: %s %s" % (path, out[-500:], err))
    return {l.split()[0]: l.split()[1:] for l in out.splitlines() if l.split()[0].startswith(".debug_")}


def group_compress():
    src = write("z.cc", CXX_SOURCE)
    for prefix, arch in [("", "x86_64"), ("s390x-linux-gnu-", "s390x"), ("i686-linux-gnu-", "x86")]:
        exe = compile_c(prefix, src, w("z-" + arch), ["-gdwarf-5"], cxx=True)
        if not exe:
            continue
        oc = strip_tool(prefix)
        rc, ref, err = dumpsyms("-n", "z", exe)
        check(rc == 0, "%s: %s" % (arch, err))
        ref_secs = section_table(exe)
        variants = []
        for kind in ["zlib", "zlib-gnu", "zstd"]:
            out = w("z-%s-%s" % (arch, kind))
            rc, _, err = run([oc, "--compress-debug-sections=" + kind, exe, out])
            if rc != 0:
                log("skip %s %s: objcopy cannot (%s)" % (arch, kind, err.strip()))
                continue
            variants.append((kind, out))
        # The compiler's own compression (gcc 12 has no zstd: objcopy covers it).
        for kind in ["zlib", "zlib-gnu"]:
            out = w("z-%s-gcc-gz-%s" % (arch, kind))
            cxx = prefix + "g++"
            rc, _, err = run([cxx, "-g", "-O2", "-gdwarf-5", "-gz=" + kind, "-o", out, src])
            if rc == 0:
                variants.append(("gcc -gz=" + kind, out))
        for kind, path in variants:
            secs = readelf_sections(path)
            compressed = [s for s in secs if s[1].startswith(".zdebug") or "C" in s[6]]
            check(compressed, "%s %s: no compressed section in the fixture" % (arch, kind))
            got_secs = section_table(path)
            if not kind.startswith("gcc"):
                check(got_secs == ref_secs, "%s %s: decompressed sections differ: %r" % (
                    arch, kind, [k for k in ref_secs if got_secs.get(k) != ref_secs[k]]))
            rc, out, err = dumpsyms("-n", "z", path)
            check(rc == 0, "%s %s: exit %d %s" % (arch, kind, rc, err))
            if kind.startswith("gcc"):
                # Another link: the build-id differs, everything else must not.
                check(sym_body(out) == sym_body(ref), "%s %s: .sym differs from the uncompressed build" % (arch, kind))
            else:
                check(out == ref, "%s %s: .sym differs from the uncompressed original" % (arch, kind))
            log("ok %s %s: %d compressed sections, identical .sym (%d lines)" % (arch, kind, len(compressed), len(out.splitlines())))


STREAM_SOURCES = [
    r"""
#include <stdio.h>
int part_b(int);
int part_c(int);
static int __attribute__((noinline)) square(int x) { return x * x; }
int main(int argc, char **argv) {
    (void)argv;
    int s = 0;
    for (int i = 0; i < argc; i++)
        s += square(i);
    printf("%d\n", part_b(s) + part_c(argc));
    return 0;
}
""",
    r"""
static inline int twice(int x) { return x + x; }
int __attribute__((noinline)) part_b(int x) {
    int r = 0;
    while (x > 0) {
        r += twice(x);
        x /= 3;
    }
    return r;
}
""",
    r"""
int __attribute__((noinline)) part_c(int x) {
    if (x > 10)
        return x - 10;
    return x * 7 + 1;
}
""",
]


def uleb(b, i):
    r = shift = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return r, i


def stmt_lists(path, attr=0x10):
    """[(file offset of the unit's DW_AT_stmt_list value, its value)] for every
    32-bit DWARF 4/5 unit of an uncompressed file (the forms GCC gives a
    unit's root DIE); attr names another 4-byte attribute (DW_AT_ranges)."""
    secs = {s[1]: s for s in readelf_sections(path)}
    data = open(path, "rb").read()
    info_off, info_size = secs[".debug_info"][4], secs[".debug_info"][5]
    abbrev_off = secs[".debug_abbrev"][4]
    info = data[info_off:info_off + info_size]
    out = []
    pos = 0
    while pos < len(info):
        length = int.from_bytes(info[pos:pos + 4], "little")
        version = int.from_bytes(info[pos + 4:pos + 6], "little")
        if version >= 5:
            addr_size, abbr = info[pos + 7], int.from_bytes(info[pos + 8:pos + 12], "little")
            i = pos + 12
        else:
            abbr, addr_size = int.from_bytes(info[pos + 6:pos + 10], "little"), info[pos + 10]
            i = pos + 11
        code, i = uleb(info, i)
        # The root DIE's abbreviation.
        a = abbrev_off + abbr
        while True:
            c, a = uleb(data, a)
            _, a = uleb(data, a)  # tag
            a += 1  # children
            specs = []
            while True:
                at, a = uleb(data, a)
                form, a = uleb(data, a)
                if form == 0x21:
                    _, a = uleb(data, a)
                if at == 0 and form == 0:
                    break
                specs.append((at, form))
            if c == code:
                break
        sizes = {0x01: addr_size, 0x05: 2, 0x06: 4, 0x07: 8, 0x0B: 1, 0x0C: 1, 0x0E: 4, 0x17: 4,
                 0x1F: 4, 0x19: 0, 0x21: 0, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x1E: 16}
        for at, form in specs:
            if at == attr:
                out.append((info_off + i, int.from_bytes(info[i:i + 4], "little")))
            if form in sizes:
                i += sizes[form]
            elif form in (0x0F, 0x0D, 0x1A, 0x1B):  # udata, sdata, strx, addrx
                _, i = uleb(info, i)
            elif form == 0x08:  # string
                i = info.index(b"\0", i) + 1
            else:
                raise RuntimeError("%s: unexpected form 0x%x in a unit's root DIE" % (path, form))
        pos += 4 + length
    return out


def patched(src, dst, edits):
    data = bytearray(open(src, "rb").read())
    for off, value in edits:
        data[off:off + 4] = value.to_bytes(4, "little")
    open(dst, "wb").write(bytes(data))
    return dst


def group_streamedlines():
    """A compressed .debug_line is read unit by unit beside a streamed
    .debug_info: in order, out of order, shared and broken line programs
    give what the uncompressed file gives, on one thread and on two."""
    objs = []
    for n, text in enumerate(STREAM_SOURCES):
        src = write("part%d.c" % n, text)
        objs.append(src)
    for dwarf in ["-gdwarf-4", "-gdwarf-5"]:
        exe = w("lines" + dwarf)
        must(["gcc", "-g", "-O2", dwarf, "-o", exe] + objs)
        units = stmt_lists(exe)
        check(len(units) >= 3, "%s: expected three units with line programs, got %r" % (dwarf, units))
        if len(units) < 3:
            continue
        secs = {s[1]: s for s in readelf_sections(exe)}
        line_off = secs[".debug_line"][4]
        (p0, v0), (p1, v1) = units[0], units[1]
        variants = [
            ("in order", exe),
            ("first two swapped", patched(exe, exe + "-swapped", [(p0, v1), (p1, v0)])),
            ("one program shared", patched(exe, exe + "-shared", [(p1, v0)])),
            # The second program claims to run far past the section.
            ("bad length", patched(exe, exe + "-badlen", [(line_off + v1, 0x7FFFFFF0)])),
        ]
        for label, plain in variants:
            rc, want, want_err = dumpsyms("--inlines", "-n", "lines", plain)
            check(rc == 0 and "FUNC" in want, "%s %s: uncompressed dump: %d %s" % (dwarf, label, rc, want_err))
            for kind in ["zlib", "zstd"]:
                comp = plain + "-" + kind
                rc, _, err = run(["objcopy", "--compress-debug-sections=" + kind, plain, comp])
                if rc != 0:
                    log("skip %s %s %s: objcopy cannot (%s)" % (dwarf, label, kind, err.strip()))
                    continue
                for jobs in ["-j1", "-j2"]:
                    rc2, got, got_err = dumpsyms(jobs, "--inlines", "-n", "lines", comp)
                    check(rc2 == rc and got == want,
                          "%s %s %s %s: .sym differs from the uncompressed file's (%d vs %d)" % (
                              dwarf, label, kind, jobs, rc2, rc))
                    check(got_err.replace(comp, plain) == want_err,
                          "%s %s %s %s: messages differ:\n%s\nvs\n%s" % (
                              dwarf, label, kind, jobs, got_err, want_err))
            log("ok %s %s: %d lines, identical compressed (zlib, zstd; -j1, -j2)" % (
                dwarf, label, len(want.splitlines())))
        check("line table length runs past" in dumpsyms("-n", "lines", exe + "-badlen")[2],
              "%s bad length: the fixture must make its unit fail" % dwarf)


RNG_SOURCES = [
    # (source, flags): -ffunction-sections puts each function in a section
    # of its own, so the unit's code has ranges (a .debug_rnglists
    # contribution); without it a one-function unit has none.
    (r"""
#include <stdio.h>
int rb(int);
int rc(int);
int rd(int);
static int __attribute__((noinline)) square(int x) { return x * x; }
static inline int add3(int x) { return x + 3; }
int main(int argc, char **argv) {
    (void)argv;
    int s = 0;
    for (int i = 0; i < argc; i++)
        s += square(i) + add3(i);
    printf("%d\n", rb(s) + rc(argc) + rd(s));
    return 0;
}
""", ["-ffunction-sections"]),
    (r"""
static inline int twice(int x) { return x + x; }
static int __attribute__((noinline)) halve(int x) { return x / 2 + twice(x & 1); }
int __attribute__((noinline)) rb(int x) {
    int r = 0;
    while (x > 0) {
        r += twice(x) + halve(x);
        x /= 3;
    }
    return r;
}
""", ["-ffunction-sections"]),
    (r"""
int __attribute__((noinline)) rc(int x) { return x * 7 + 1; }
""", []),
    (r"""
static inline int thrice(int x) { return 3 * x; }
static int __attribute__((noinline)) tail(int x) { return x > 5 ? thrice(x) : x - 1; }
int __attribute__((noinline)) rd(int x) { return tail(x) + thrice(x + 1); }
""", ["-ffunction-sections"]),
]


def rnglists_contribs(path):
    """[(file offset of the length, section offset)] of every .debug_rnglists
    contribution of an uncompressed file (32-bit DWARF)."""
    sec = {s[1]: s for s in readelf_sections(path)}[".debug_rnglists"]
    data = open(path, "rb").read()
    out, pos = [], 0
    while pos < sec[5]:
        out.append((sec[4] + pos, pos))
        pos += 4 + int.from_bytes(data[sec[4] + pos:sec[4] + pos + 4], "little")
    return out


def group_streamedrnglists():
    """A compressed DWARF 5 .debug_rnglists is read a unit's contribution at
    a time beside a streamed .debug_info: in order, swapped, a unit without
    one, a unit pointing into another's and a broken header give what the
    uncompressed file gives, on one thread and on two."""
    objs = []
    for n, (text, flags) in enumerate(RNG_SOURCES):
        src = write("rng%d.c" % n, text)
        obj = w("rng%d.o" % n)
        must(["gcc", "-c", "-g", "-O2", "-gdwarf-5"] + flags + ["-o", obj, src])
        objs.append(obj)
    exe = w("rnglists")
    must(["gcc", "-o", exe] + objs)
    units = stmt_lists(exe, 0x55)  # DW_AT_ranges of the units that have one
    contribs = rnglists_contribs(exe)
    log("units' DW_AT_ranges %r, contributions %r" % (units, contribs))
    check(len(units) >= 3 and len(contribs) >= 3,
          "expected three units with range lists, got %r, %r" % (units, contribs))
    if len(units) < 3 or len(contribs) < 3:
        return
    (p0, v0), (p1, v1), (p2, _) = units[0], units[1], units[2]
    variants = [
        ("in order", exe),
        ("first two swapped", patched(exe, exe + "-swapped", [(p0, v1), (p1, v0)])),
        # The last unit is then given the second's contribution (still kept
        # for the unit without one between them): its inlined call's range
        # list lies outside it.
        ("into another's", patched(exe, exe + "-into", [(p2, v1)])),
        ("shared", patched(exe, exe + "-shared", [(p1, v0)])),
        ("bad length", patched(exe, exe + "-badlen", [(contribs[1][0], 0x7FFFFFF0)])),
    ]
    for label, plain in variants:
        rc, want, want_err = dumpsyms("--inlines", "-n", "rng", plain)
        check(rc == 0 and "FUNC" in want, "%s: uncompressed dump: %d %s" % (label, rc, want_err))
        for kind in ["zlib", "zstd"]:
            comp = plain + "-" + kind
            rc2, _, err = run(["objcopy", "--compress-debug-sections=" + kind, plain, comp])
            if rc2 != 0:
                log("skip %s %s: objcopy cannot (%s)" % (label, kind, err.strip()))
                continue
            for jobs in ["-j1", "-j2"]:
                rc2, got, got_err = dumpsyms(jobs, "--inlines", "-n", "rng", comp)
                check(rc2 == rc and got == want,
                      "%s %s %s: .sym differs from the uncompressed file's (%d vs %d)" % (
                          label, kind, jobs, rc2, rc))
                check(got_err.replace(comp, plain) == want_err,
                      "%s %s %s: messages differ:\n%s\nvs\n%s" % (label, kind, jobs, got_err, want_err))
        log("ok %s: %d lines, identical compressed (zlib, zstd; -j1, -j2)" % (label, len(want.splitlines())))
    # (The whole section's reader does not read contribution headers: a
    # broken one only stops the stream.)


def group_minidebuginfo():
    src = write("mini.c", C_SOURCE)
    for prefix, arch in [("", "x86_64"), ("aarch64-linux-gnu-", "arm64")]:
        exe = compile_c(prefix, src, w("mini-" + arch))
        if not exe:
            continue
        oc = strip_tool(prefix)
        nm = prefix + "nm" if have(prefix + "nm") else "nm"
        # Fedora's recipe (find-debuginfo): the function symbols not in .dynsym.
        dyn = set(l.split()[0] for l in must([nm, "-D", "--format=posix", "--defined-only", exe]).splitlines() if l)
        funcs = [l.split()[0] for l in must([nm, "--format=posix", "--defined-only", exe]).splitlines()
                 if l and l.split()[1] in ("T", "t")]
        keep = write("mini-keep-" + arch, "\n".join(sorted(set(funcs) - dyn)) + "\n")
        dbg = exe + ".dbg"
        must([oc, "--only-keep-debug", exe, dbg])
        mini = exe + ".mini"
        must([oc, "-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
              "--keep-symbols=" + keep, dbg, mini])
        must(["xz", "-f", "-k", mini])
        stripped = exe + ".stripped"
        must([oc, "--strip-all", "-R", ".comment", exe, stripped])
        rc, plain, err = dumpsyms("-c", stripped)
        with_mini = exe + ".minidebuginfo"
        must([oc, "--add-section", ".gnu_debugdata=" + mini + ".xz", stripped, with_mini])
        rc, out, err = dumpsyms("-c", with_mini)
        check(rc == 0, "%s: exit %d %s" % (arch, rc, err))
        names = set(publics(out).values())
        plain_names = set(publics(plain).values())
        check("helper" in names and "rarely" in names and "main" in names,
              "%s: MiniDebugInfo functions missing from PUBLIC: %r" % (arch, sorted(names)))
        check("helper" not in plain_names, "%s: a stripped file without .gnu_debugdata has no 'helper'" % arch)
        # Addresses agree with the unstripped symbol table.
        nodebug = exe + ".nodebug"
        must([oc, "--strip-debug", exe, nodebug])
        rc2, full, _ = dumpsyms("-c", nodebug)
        fp = publics(full)
        mp = publics(out)
        check(all(fp.get(a) == n for a, n in mp.items()), "%s: MiniDebugInfo PUBLIC disagree with .symtab: %r" % (
            arch, {hex(a): (n, fp.get(a)) for a, n in mp.items() if fp.get(a) != n}))
        # Corrupt xz: a warning, the dump still succeeds.
        data = bytearray(open(mini + ".xz", "rb").read())
        for k in range(20, len(data) - 20, 11):
            data[k] ^= 0xff
        bad = w("mini-bad.xz")
        open(bad, "wb").write(data)
        bad_exe = exe + ".badmini"
        must([oc, "--add-section", ".gnu_debugdata=" + bad, stripped, bad_exe])
        rc, out, err = dumpsyms("-c", bad_exe)
        check(rc == 0 and ".gnu_debugdata" in err, "%s corrupt .gnu_debugdata: want warning + exit 0: %d %s" % (arch, rc, err))
        log("ok %s: MiniDebugInfo gives %d PUBLIC (stripped alone: %d)" % (arch, len(names), len(plain_names)))


RUST_SOURCE = r"""
pub mod outer {
    #[inline(never)]
    pub fn inner_function(x: u64) -> u64 { x.wrapping_mul(31).rotate_left(3) }
}
pub struct Shape { pub w: u32 }
impl Shape {
    #[inline(never)]
    pub fn area(&self) -> u32 { self.w * self.w }
}
#[inline(never)]
pub fn generic<T: std::fmt::Debug>(t: T) -> String { format!("{:?}", t) }
fn main() {
    let s = Shape { w: std::env::args().count() as u32 };
    println!("{} {} {}", outer::inner_function(s.w as u64), s.area(), generic(7u32));
}
"""


def group_rust():
    if not have("rustc"):
        if os.environ.get("CI"):
            fail("no rustc (CI is set: a missing compiler is a failure)")
        log("skip: no rustc")
        return
    src = write("rfix.rs", RUST_SOURCE)
    for mangling in ["legacy", "v0"]:
        exe = w("rfix-" + mangling)
        args = ["rustc", "-C", "opt-level=1", "-g", "--crate-name", "rfix", "-o", exe, src]
        if mangling == "v0":
            args[1:1] = ["-C", "symbol-mangling-version=v0"]
        rc, _, err = run(args)
        if rc != 0:
            log("skip %s: rustc cannot build it: %s" % (mangling, err.strip()[:300]))
            continue
        nodebug = exe + ".nodebug"
        must(["strip", "--strip-debug", "-o", nodebug, exe])
        rc, out, err = dumpsyms("-c", nodebug)
        check(rc == 0, "rust %s: %s" % (mangling, err))
        names = set(publics(out).values())
        # rustfilt's conventions: no hash (legacy), no crate disambiguator (v0).
        want = ["rfix::outer::inner_function", "rfix::main"]
        # rustc-demangle (rustfilt) writes v0 inherent methods as "<Type>::m".
        want += ["<rfix::Shape>::area", "rfix::generic::<u32>"] if mangling == "v0" else ["rfix::Shape::area", "rfix::generic"]
        for n in want:
            check(n in names, "rust %s: %r missing from PUBLIC (have %r)" % (
                mangling, n, sorted(x for x in names if "rfix" in x)))
        check(not any(re.search(r"::h[0-9a-f]{16}$", n) for n in names), "rust %s: legacy hashes must go" % mangling)
        check(not any(re.search(r"\[[0-9a-f]+\]", n) for n in names if "rfix" in n),
              "rust %s: v0 disambiguators must go" % mangling)
        check(not any(n.startswith(("_ZN", "_R")) for n in names if "rfix" in n),
              "rust %s: undemangled names left" % mangling)
        log("ok rust %s: %s" % (mangling, ", ".join(sorted(n for n in names if n.startswith("rfix::")))))


def group_packager():
    src = write("pkg.c", C_SOURCE)
    tree = w("tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(os.path.join(tree, "bin"))
    os.makedirs(os.path.join(tree, "lib", "deep"))
    good1 = compile_c("", src, os.path.join(tree, "bin", "prog"))
    good2 = compile_c("", src, os.path.join(tree, "lib", "deep", "libx.so"), ["-shared", "-fPIC"])
    good3 = compile_c("aarch64-linux-gnu-", src, os.path.join(tree, "lib", "prog-arm64"))
    with open(os.path.join(tree, "README"), "w") as f:
        f.write("not an ELF file\n")
    with open(os.path.join(tree, "lib", "data.bin"), "wb") as f:
        f.write(os.urandom(3000))
    data = open(good1, "rb").read()
    corrupt = os.path.join(tree, "bin", "corrupt")
    with open(corrupt, "wb") as f:
        f.write(data[:len(data) // 2])
    os.symlink("libx.so", os.path.join(tree, "lib", "deep", "libx.so.1"))
    must(["cc", "-c", "-o", os.path.join(tree, "lib", "empty.o"), "-x", "c", "-"], input=b"int data_only = 3;\n")
    good = [p for p in [good1, good2, good3] if p]
    stores = {}
    for jobs in ["1", "2"]:
        store = w("store-j" + jobs)
        shutil.rmtree(store, ignore_errors=True)
        rc, out, err = dumpsyms("--store", store, "-j", jobs, tree)
        check(rc == 1, "packager -j%s: exit %d, want 1 (a corrupt file)" % (jobs, rc))
        lines = out.splitlines()
        check(any(l.startswith("FAILED") and corrupt in l for l in lines), "packager: corrupt file not named: %r" % lines)
        for g in good:
            check(any(l.startswith("ok") and (g + " ->") in l for l in lines), "packager: %s not ok: %r" % (g, lines))
        check(any(l.startswith("empty") and "empty.o" in l for l in lines), "packager: data-only ELF must be reported: %r" % lines)
        check(not any("README" in l or "data.bin" in l or "libx.so.1" in l for l in lines),
              "packager: non-ELF files and symlinks must be skipped silently: %r" % lines)
        check(len([l for l in lines if l.split()[0] in ("ok", "FAILED", "empty")]) == len(good) + 2,
              "packager: one line per ELF file expected: %r" % lines)
        check(lines[-1] == "dumpsyms: %d written, 1 empty, 1 failed" % len(good), "packager summary: %r" % lines[-1])
        files = {}
        for dp, dn, fn in os.walk(store):
            for n in fn:
                rel = os.path.relpath(os.path.join(dp, n), store)
                files[rel] = open(os.path.join(dp, n), "rb").read()
        check(all(r.endswith(".sym") and len(r.split("/")) == 3 for r in files),
              "packager: only NAME/ID/NAME.sym files expected in the store: %r" % sorted(files))
        check(len(files) == len(good), "packager: %d .sym files, want %d" % (len(files), len(good)))
        for g in good:
            rc, single, _ = dumpsyms(g)
            mod = single.splitlines()[0].split()
            rel = "%s/%s/%s.sym" % (mod[4], mod[3], mod[4])
            check(files.get(rel) == single.encode(), "packager: %s differs from the single-file dump" % rel)
        stores[jobs] = files
        log("ok packager -j%s: %d written, corrupt named, junk skipped" % (jobs, len(files)))
    check(stores.get("1") == stores.get("2"), "packager: -j1 and -j2 stores differ")
    # A write that fails is that file's failure, counted, and the others
    # land: a directory where prog's .sym must go fails its commit (the
    # rename, done after the dumping thread has moved on), a file where
    # libx.so's directory must go fails before it.
    def store_rel(path):
        mod = dumpsyms(path)[1].splitlines()[0].split()
        return "%s/%s/%s.sym" % (mod[4], mod[3], mod[4])
    for jobs in ["1", "2"]:
        store = w("store-bad-j" + jobs)
        shutil.rmtree(store, ignore_errors=True)
        os.makedirs(os.path.join(store, store_rel(good1), "keep"))
        with open(os.path.join(store, store_rel(good2).split("/")[0]), "w") as f:
            f.write("in the way\n")
        rc, out, err = dumpsyms("--store", store, "-j", jobs, tree)
        lines = out.splitlines()
        check(rc == 1, "packager, failed writes -j%s: exit %d, want 1" % (jobs, rc))
        for g, why in [(good1, "cannot rename into place"), (good2, "cannot create directory")]:
            check(any(l.startswith("FAILED  " + g + ":") and why in l for l in lines),
                  "packager -j%s: failed write of %s not reported (%r): %r" % (jobs, g, why, lines))
        others = [g for g in good if g not in (good1, good2)]
        for g in others:
            check(any(l.startswith("ok") and (g + " ->") in l for l in lines), "packager -j%s: %s not ok: %r" % (jobs, g, lines))
        check(lines[-1] == "dumpsyms: %d written, 1 empty, 3 failed" % len(others),
              "packager -j%s, failed writes: summary %r" % (jobs, lines[-1]))
        left = [os.path.join(dp, n) for dp, dn, fn in os.walk(store) for n in fn]
        check(sorted(os.path.relpath(f, store) for f in left)
              == sorted([store_rel(good2).split("/")[0]] + [store_rel(g) for g in others]),
              "packager -j%s, failed writes: the store holds %r" % (jobs, left))
        log("ok packager -j%s: failed commit and failed directory reported and counted, the rest written" % jobs)
    # Only good files: exit 0.
    store = w("store-good")
    rc, out, err = dumpsyms("--store", store, good1, good2)
    check(rc == 0 and out.splitlines()[-1] == "dumpsyms: 2 written, 0 empty, 0 failed", "packager all good: %d %r" % (rc, out))
    # A non-ELF file named explicitly is an error.
    rc, out, err = dumpsyms("--store", store, os.path.join(tree, "README"))
    check(rc == 1 and "FAILED" in out and "not an ELF" in out, "packager explicit non-ELF: %d %r" % (rc, out))
    # Separate debug files are found in packager mode too.
    stripped, dbg = make_split(good1)
    bid = readelf_build_id(good1).hex()
    root = w("pkg-root")
    os.makedirs(os.path.join(root, ".build-id", bid[:2]), exist_ok=True)
    shutil.copy(dbg, os.path.join(root, ".build-id", bid[:2], bid[2:] + ".debug"))
    rc, out, err = dumpsyms("--store", w("store-dbg"), "--debug-dir", root, stripped)
    check(rc == 0 and "debug info from " + root in out, "packager --debug-dir: %d %r %s" % (rc, out, err))
    # The same through a build-id tree of relative symbolic links: the
    # summary line names the link.
    lroot = w("pkg-link-root")
    os.makedirs(os.path.join(lroot, ".build-id", bid[:2]), exist_ok=True)
    os.makedirs(os.path.join(lroot, "usr", "bin"), exist_ok=True)
    shutil.copy(dbg, os.path.join(lroot, "usr", "bin", "prog.debug"))
    lbid = os.path.join(lroot, ".build-id", bid[:2], bid[2:] + ".debug")
    os.symlink("../../usr/bin/prog.debug", lbid)
    rc, lout, err = dumpsyms("--store", w("store-dbg-link"), "--debug-dir", lroot, stripped)
    check(rc == 0 and "debug info from " + lbid in lout
          and lout.replace(lbid, "X").replace(w("store-dbg-link"), "S")
          == out.replace(os.path.join(root, ".build-id", bid[:2], bid[2:] + ".debug"), "X").replace(w("store-dbg"), "S"),
          "packager, symlinked build-id tree: %d %r %r %s" % (rc, lout, out, err))
    # A package tree with its debug tree inside: the .debug files are used,
    # not dumped as modules of their own.
    pkg = w("pkg")
    os.makedirs(os.path.join(pkg, "usr", "bin"))
    shutil.copy(stripped, os.path.join(pkg, "usr", "bin", "prog"))
    shutil.copytree(root, os.path.join(pkg, "usr", "lib", "debug"))
    os.makedirs(os.path.join(pkg, "usr", "lib", "other", ".debug"))
    shutil.copy(dbg, os.path.join(pkg, "usr", "lib", "other", ".debug", "prog.debug"))
    shutil.copy(dbg, os.path.join(pkg, "usr", "lib", "other", "prog.debug"))
    rc, out, err = dumpsyms("--store", w("store-pkg"), "--debug-dir", os.path.join(pkg, "usr", "lib", "debug"), pkg)
    lines = out.splitlines()
    check(rc == 0 and len(lines) == 2 and lines[0].startswith("ok      " + os.path.join(pkg, "usr", "bin", "prog"))
          and "/.build-id/" in lines[0], "packager over a tree with its debug files: %r %s" % (lines, err))


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    fn = globals().get("group_" + GROUP)
    if not fn:
        print("unknown group " + GROUP)
        return 2
    try:
        fn()
    except Exception as e:  # a broken fixture step is a failure, not a skip
        import traceback
        traceback.print_exc()
        fail("%s: %s" % (GROUP, e))
    if FAILURES:
        print("%d failure(s) in group %s" % (len(FAILURES), GROUP))
        return 1
    print("group %s passed" % GROUP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
