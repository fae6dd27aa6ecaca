"""Mach-O fixtures, built at test time with the LLVM 14 tools (no Apple SDK).

Each fixture is one linked image (an `-e _main` executable or a `-dylib`
library) for one arch (x86_64, arm64, armv7) and one optimization level
(-O0, -O2), built with `clang-14 -g -target <arch>-apple-...` and
`ld64.lld-14`, with:

  - the unlinked .o files kept where the compiler wrote them (the image's
    debug map, its N_OSO stabs, points at them; the executable also pulls
    one object out of a static archive, so the map has a `lib.a(member.o)`
    entry);
  - a dSYM made by `dsymutil-14`, kept in a `dsym/` folder away from the
    image so that `dumpsyms IMAGE` alone finds no dSYM beside it and has to
    follow the debug map, and `dumpsyms IMAGE DSYM` pairs them;
  - and, per optimization level, a fat executable (x86_64 + arm64) made by
    `llvm-lipo-14`.

The sources are generated (deterministically) so that the function count
can be chosen: a few hundred functions in C and C++ (namespaces, class and
function templates, inline functions from a shared header, always-inline
chains, static data for N_STSYM, globals for N_GSYM) by default, thousands
for the benchmark.  They call no library function: the images are linked
with `-nostdlib`, and `-ffreestanding` keeps the compiler from inventing
memset/memcpy calls.

armv7 is compiled in ARM mode (-marm): ld64.lld-14 cannot link the Thumb
branch relocations (ARM_THUMB_RELOC_BR22) clang writes for Thumb code, nor
any data reference from ARM code, nor a weak definition, so its sources are
built with FX_DATA=0: no globals, no function-pointer table, no vtables, and
the C++ in an anonymous namespace (templates and inline functions get
internal linkage instead of weak).

Outputs are reused between tests of one build tree (a lock and a stamp of
the sources and flags, as fixtures/build_fixtures.py does).
"""

import fcntl
import hashlib
import os
import shutil
import struct
import subprocess

TOOLS = ("clang-14", "ld64.lld-14", "dsymutil-14", "llvm-lipo-14", "llvm-ar-14")

ARCHES = {
    # arch: (clang target, extra flags, ld64 -platform_version)
    "x86_64": ("x86_64-apple-macos11", ["-DFX_DATA=1"], ["macos", "11.0", "11.0"]),
    "arm64": ("arm64-apple-macos11", ["-DFX_DATA=1"], ["macos", "11.0", "11.0"]),
    # No data references from code and no jump tables: ld64.lld-14 links
    # none of the ARM relocations they need (ARM_RELOC_HALF, _SECTDIFF,
    # non-extern VANILLA; "TODO: implement this" for jump tables).
    "armv7": ("armv7-apple-ios9", ["-marm", "-fno-jump-tables", "-DFX_DATA=0"], ["ios", "9.0", "9.0"]),
}
OPTS = ("O0", "O2")


class Fixture:
    def __init__(self, name, arch, opt, kind, image, dsym, objects):
        self.name = name          # e.g. "fxexe-x86_64-O2"
        self.arch = arch          # Breakpad arch ("x86_64", "arm64", "armv7"); "fat" for a fat file
        self.opt = opt
        self.optimized = opt != "O0"
        self.kind = kind          # "exe", "dylib", "fat"
        self.image = image        # the linked image
        self.dsym = dsym          # the .dSYM bundle (None for the fat file)
        self.objects = objects    # the .o files its debug map names

    @property
    def companion(self):
        """The DWARF file inside the dSYM bundle."""
        return os.path.join(self.dsym, "Contents", "Resources", "DWARF", os.path.basename(self.image))

    def __repr__(self):
        return self.name


# ---- sources ---------------------------------------------------------------

HEADER = r"""/* fx_inl.h: inline functions shared by the C and C++ units. */
#ifndef FX_INL_H
#define FX_INL_H
#ifdef __cplusplus
extern "C" {
#endif
static inline __attribute__((always_inline)) unsigned fx_mix(unsigned a, unsigned b)
{
    unsigned x = a ^ (b << 5);
    x += (x >> 3);
    return x * 2654435761u;
}
static inline __attribute__((always_inline)) unsigned fx_mix3(unsigned a, unsigned b, unsigned c)
{
    unsigned m = fx_mix(a, b);
    return fx_mix(m, c) ^ m;
}
static inline unsigned fx_rot(unsigned v, unsigned r)
{
    r &= 31u;
    return r ? (v << r) | (v >> (32u - r)) : v;
}
#ifdef __cplusplus
}
#endif
#endif
"""


def _c_source(n, prefix, with_main):
    """n generated C functions, their static data, and (with_main) a main
    that calls every one through a table (so none is dead-stripped but the
    one deliberately unused)."""
    out = ['/* %s.c: generated C functions. */' % prefix, '#include "fx_inl.h"', "",
           "#if FX_DATA",
           "unsigned %s_global[16];" % prefix,
           "static unsigned %s_state[8] = {1, 2, 3, 4, 5, 6, 7, 8};" % prefix,
           "#define FX_LOCAL_DATA(p)",
           "#else",
           "#define FX_LOCAL_DATA(p) unsigned p##_global[16], p##_state[8]; \\",
           "    for (unsigned k_ = 0; k_ < 16u; k_++) p##_global[k_] = x * k_ + 1u; \\",
           "    for (unsigned k_ = 0; k_ < 8u; k_++) p##_state[k_] = x ^ k_;",
           "#endif", ""]
    for i in range(n):
        shape = i % 6
        out.append("__attribute__((noinline)) unsigned %s_f%d(unsigned x)" % (prefix, i))
        out.append("{")
        if shape == 0:
            out += ["    unsigned acc = %du;" % (i + 1),
                    "    for (unsigned k = 0; k < (x & 7u) + 1u; k++)",
                    "        acc = fx_mix(acc, k + %du);" % i,
                    "    return acc;"]
        elif shape == 1:
            out += ["    switch (x & 3u) {",
                    "    case 0: return fx_rot(x, %du);" % (i & 31),
                    "    case 1: return x * %du + 1u;" % (2 * i + 3),
                    "    case 2: return fx_mix3(x, %du, x >> 1);" % i,
                    "    default: break;",
                    "    }",
                    "    return x ^ %du;" % (i * 977)]
        elif shape == 2:
            out += ["    FX_LOCAL_DATA(%s)" % prefix,
                    "    %s_state[x & 7u] += x;" % prefix,
                    "    %s_global[x & 15u] ^= %s_state[(x >> 3) & 7u];" % (prefix, prefix),
                    "    return %s_global[(x + %du) & 15u];" % (prefix, i)]
        elif shape == 3 and i > 0:
            out += ["    unsigned y = %s_f%d(x + 1u);" % (prefix, i - 1),
                    "    if (y & 1u)",
                    "        y = fx_mix(y, x);",
                    "    return y + %du;" % i]
        elif shape == 4:
            out += ["    unsigned a = x, b = %du;" % (i * 31 + 7),
                    "    while (a > 1u) {",
                    "        b = fx_mix3(a, b, %du);" % i,
                    "        a >>= 1;",
                    "    }",
                    "    return b;"]
        else:
            out += ["    unsigned r = fx_rot(x, %du) + fx_mix(x, %du);" % (i & 31, i),
                    "    return r > %du ? r - %du : r;" % (i * 13, i)]
        out += ["}", ""]
    out += ["__attribute__((noinline)) unsigned %s_unused(unsigned x)" % prefix,
            "{",
            "    return fx_mix(x, 99u);",
            "}", ""]
    out += ["#if FX_DATA", "unsigned (*const %s_table[])(unsigned) = {" % prefix]
    out += ["    %s_f%d," % (prefix, i) for i in range(n)]
    out += ["};", "unsigned %s_count = %d;" % (prefix, n), "#endif", ""]
    out += ["unsigned %s_all(unsigned acc)" % prefix, "{"]
    out += ["    acc += %s_f%d(acc);" % (prefix, i) for i in range(n)]
    out += ["    return acc;", "}", ""]
    if with_main:
        out += ["extern unsigned fxcpp_run(unsigned);", "extern unsigned fxlib_run(unsigned);",
                "#if FX_DATA", "volatile unsigned fx_sink;", "#endif", "",
                "int main(void)",
                "{",
                "    unsigned acc = 0;",
                "#if FX_DATA",
                "    for (unsigned i = 0; i < %s_count; i++)" % prefix,
                "        acc += %s_table[i](acc + i);" % prefix,
                "#endif",
                "    acc += %s_all(acc);" % prefix,
                "    acc += fxcpp_run(acc);",
                "    acc += fxlib_run(acc);",
                "#if FX_DATA",
                "    fx_sink = acc;",
                "#endif",
                "    return (int)(acc & 1u);",
                "}", ""]
    return "\n".join(out)


def _cpp_source(n, ns, entry):
    """About n C++ functions: namespaced free functions, class templates
    with methods, function templates over several types, lambdas."""
    out = ["// %s.cpp: generated C++ functions." % ns, '#include "fx_inl.h"', "",
           "#if !FX_DATA",
           "namespace {  // armv7: no weak definitions (see the file comment)",
           "#endif",
           "namespace %s {" % ns,
           "namespace detail {",
           "template <typename T> inline T twice(T v) { return v + v; }",
           "template <typename T> inline T clamp_add(T a, T b, T hi) { T s = a + b; return s > hi ? hi : s; }",
           "}  // namespace detail", ""]
    types = ["int", "unsigned", "long", "short"]
    nclasses = max(1, n // 12)
    for c in range(nclasses):
        out += ["template <typename T>",
                "class Shape%d {" % c,
                "  public:",
                "    explicit Shape%d(T s) : side_(s) {}" % c,
                "    __attribute__((noinline)) T area() const { return side_ * side_ + T(%d); }" % c,
                "    __attribute__((noinline)) T grow(T by) { side_ = detail::clamp_add(side_, by, T(%d)); return side_; }" % (1000 + c),
                "    T twice_side() const { return detail::twice(side_); }",
                "#if FX_DATA",
                "    virtual T kind() const { return T(%d); }" % c,
                "#else",
                "    __attribute__((noinline)) T kind() const { return T(%d); }" % c,
                "#endif",
                "  private:",
                "    T side_;",
                "};", ""]
    nfree = max(1, n - nclasses * 2 * len(types) // 2)
    for i in range(nfree):
        out += ["__attribute__((noinline)) unsigned step%d(unsigned x)" % i, "{"]
        if i % 4 == 0:
            out += ["    auto f = [x](unsigned k) { return fx_mix(x, k + %du); };" % i,
                    "    unsigned acc = 0;",
                    "    for (unsigned k = 0; k < (x & 3u) + 1u; k++)",
                    "        acc += f(k);",
                    "    return acc;"]
        elif i % 4 == 1:
            out += ["    Shape%d<unsigned> s(x & 255u);" % (i % nclasses),
                    "    s.grow(%du);" % i,
                    "    return s.area() + s.twice_side() + s.kind();"]
        elif i % 4 == 2:
            out += ["    return detail::clamp_add<unsigned>(fx_rot(x, %du), %du, 0xfffffu);" % (i & 31, i)]
        else:
            out += ["    unsigned y = step%d(x ^ %du);" % (i - 1, i),
                    "    return fx_mix3(y, x, %du);" % i]
        out += ["}", ""]
    out += ["template <typename T> __attribute__((noinline)) T fold(T a, T b) { return detail::twice(a) + b * T(3); }",
            ""]
    out += ["__attribute__((noinline)) unsigned run_classes(unsigned x)", "{", "    unsigned acc = x;"]
    for c in range(nclasses):
        for t in types[: 2 + (c % 3)]:
            out += ["    { Shape%d<%s> s((%s)(acc & 127u)); acc += (unsigned)s.area() + (unsigned)s.grow((%s)%d); }"
                    % (c, t, t, t, c + 1)]
    for t in types:
        out += ["    acc += (unsigned)fold<%s>((%s)(acc & 63u), (%s)3);" % (t, t, t)]
    out += ["    return acc;", "}", ""]
    out += ["}  // namespace %s" % ns, "#if !FX_DATA", "}  // namespace", "#endif", "",
            'extern "C" unsigned %s(unsigned x)' % entry, "{",
            "    unsigned acc = %s::run_classes(x);" % ns]
    for i in range(nfree):
        out += ["    acc += %s::step%d(acc);" % (ns, i)]
    out += ["    return acc;", "}", ""]
    return "\n".join(out)


LIB_SOURCE = r"""/* fxlib.c: the archive member of the executable fixtures. */
#include "fx_inl.h"

#if FX_DATA
static unsigned fxlib_table[32];
unsigned fxlib_calls;
#define FXLIB_TABLE fxlib_table
#define FXLIB_CALLS fxlib_calls
#else
#define FXLIB_TABLE t
#define FXLIB_CALLS 5u
#endif

__attribute__((noinline)) static unsigned fxlib_step(unsigned x, unsigned i, unsigned *t)
{
    (void)t;
    FXLIB_TABLE[i & 31u] += fx_mix3(x, i, FXLIB_CALLS);
    return FXLIB_TABLE[(i * 7u) & 31u];
}

unsigned fxlib_run(unsigned x)
{
    unsigned acc = x, t[32];
    for (unsigned i = 0; i < 32u; i++)
        t[i] = x * i + 7u;
    for (unsigned i = 0; i < 16u; i++)
        acc ^= fxlib_step(acc, i, t);
#if FX_DATA
    fxlib_calls++;
#endif
    return acc;
}
"""


def write_sources(src_dir, nfuncs=240):
    """The sources for nfuncs functions or so (about half C, half C++)."""
    os.makedirs(src_dir, exist_ok=True)
    files = {
        "fx_inl.h": HEADER,
        "fxmain.c": _c_source(nfuncs // 2, "fxc", True),
        "fxcpp.cpp": _cpp_source(nfuncs // 2, "fxns", "fxcpp_run"),
        "fxlib.c": LIB_SOURCE,
        "fxdyc.c": _c_source(max(8, nfuncs // 4), "fxd", False),
        "fxdy.cpp": _cpp_source(max(8, nfuncs // 4), "fxdyns", "fxdy_run"),
    }
    for name, text in files.items():
        path = os.path.join(src_dir, name)
        old = None
        if os.path.exists(path):
            with open(path) as f:
                old = f.read()
        if old != text:  # keep mtimes of unchanged sources
            with open(path, "w") as f:
                f.write(text)
    return files


# ---- building --------------------------------------------------------------

def _run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode,
                                                     p.stdout.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


def compile_one(src, obj, arch, opt, extra=()):
    target, flags, _ = ARCHES[arch]
    lang = ["-fno-exceptions", "-fno-rtti", "-std=c++17", "-nostdinc++"] if src.endswith(".cpp") else ["-std=c11"]
    _run(["clang-14", "-g", "-" + opt, "-target", target, "-ffreestanding", "-fno-stack-protector",
          "-fno-common"] + flags + lang + list(extra) + ["-c", src, "-o", obj])


def link(objs, out, arch, kind, dead_strip=True):
    _, _, plat = ARCHES[arch]
    cmd = ["ld64.lld-14", "-arch", arch, "-platform_version"] + plat
    if kind == "dylib":
        cmd += ["-dylib", "-install_name", "@rpath/" + os.path.basename(out)]
    else:
        cmd += ["-e", "_main"]
    if dead_strip:
        cmd += ["-dead_strip"]
    _run(cmd + ["-o", out] + objs)


def make_dsym(image, bundle):
    if os.path.exists(bundle):
        shutil.rmtree(bundle)
    _run(["dsymutil-14", image, "-o", bundle])


def build_variant(src_dir, out_dir, arch, opt, nfuncs_tag="", cflags=()):
    """Objects, the archive, the executable and the dylib of one arch/opt,
    each with its dSYM (cflags: extra compiler flags); returns [Fixture]."""
    d = os.path.join(out_dir, "%s-%s" % (arch, opt))
    obj_dir = os.path.join(d, "obj")
    os.makedirs(obj_dir, exist_ok=True)
    os.makedirs(os.path.join(d, "dsym"), exist_ok=True)
    objs = {}
    for src in ("fxmain.c", "fxcpp.cpp", "fxlib.c", "fxdyc.c", "fxdy.cpp"):
        o = os.path.join(obj_dir, os.path.splitext(src)[0] + ".o")
        compile_one(os.path.join(src_dir, src), o, arch, opt, cflags)
        objs[src] = o
    lib = os.path.join(obj_dir, "libfx.a")
    if os.path.exists(lib):
        os.unlink(lib)
    # U: real timestamps, so the archive member's N_OSO carries an mtime.
    _run(["llvm-ar-14", "rcsU", lib, objs["fxlib.c"]])
    fx = []
    exe = os.path.join(d, "fxexe%s" % nfuncs_tag)
    link([objs["fxmain.c"], objs["fxcpp.cpp"], lib], exe, arch, "exe")
    dylib = os.path.join(d, "libfxdy%s.dylib" % nfuncs_tag)
    link([objs["fxdyc.c"], objs["fxdy.cpp"]], dylib, arch, "dylib")
    for kind, image, members in (("exe", exe, [objs["fxmain.c"], objs["fxcpp.cpp"], lib]),
                                 ("dylib", dylib, [objs["fxdyc.c"], objs["fxdy.cpp"]])):
        bundle = os.path.join(d, "dsym", os.path.basename(image) + ".dSYM")
        make_dsym(image, bundle)
        name = "%s-%s-%s" % ("fxexe" if kind == "exe" else "libfxdy", arch, opt)
        fx.append(Fixture(name, arch, opt, kind, image, bundle, members))
    return fx


def _stamp_key(files, extra):
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    h.update(repr(extra).encode())
    h.update(open(__file__, "rb").read())
    return h.hexdigest()


def missing_tools():
    return [t for t in TOOLS if shutil.which(t) is None]


def build(out_dir, arches=tuple(ARCHES), opts=OPTS, nfuncs=240, fat=True, jobs=2, cflags=()):
    """Every fixture (reused when the stamp matches); a list of Fixture.
    cflags are added to every compile (the benchmark asks for unwind
    tables, which -ffreestanding leaves out on Darwin).
    Raises RuntimeError (with the tool's output) when a build fails."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        src_dir = os.path.join(out_dir, "src")
        files = write_sources(src_dir, nfuncs)
        stamp = os.path.join(out_dir, ".stamp")
        key = _stamp_key(files, (arches, opts, nfuncs, fat, tuple(cflags)))
        fresh = os.path.exists(stamp) and open(stamp).read() == key
        if not fresh and os.path.exists(stamp):
            os.unlink(stamp)
        variants = [(a, o) for a in arches for o in opts]
        fixtures = []
        if fresh:
            for a, o in variants:
                fixtures += _describe(src_dir, out_dir, a, o)
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
                for fl in ex.map(lambda v: build_variant(src_dir, out_dir, *v, cflags=cflags), variants):
                    fixtures += fl
        if fat and "x86_64" in arches and "arm64" in arches:
            for o in opts:
                out = os.path.join(out_dir, "fat-%s" % o, "fxexe")
                if not fresh:
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    _run(["llvm-lipo-14", "-create", "-output", out,
                          os.path.join(out_dir, "x86_64-%s" % o, "fxexe"),
                          os.path.join(out_dir, "arm64-%s" % o, "fxexe")])
                fixtures.append(Fixture("fxexe-fat-%s" % o, "fat", o, "fat", out, None, []))
        if not fresh:
            with open(stamp, "w") as f:
                f.write(key)
    return fixtures


def _describe(src_dir, out_dir, arch, opt):
    d = os.path.join(out_dir, "%s-%s" % (arch, opt))
    obj = os.path.join(d, "obj")
    return [Fixture("fxexe-%s-%s" % (arch, opt), arch, opt, "exe", os.path.join(d, "fxexe"),
                    os.path.join(d, "dsym", "fxexe.dSYM"),
                    [os.path.join(obj, "fxmain.o"), os.path.join(obj, "fxcpp.o"), os.path.join(obj, "libfx.a")]),
            Fixture("libfxdy-%s-%s" % (arch, opt), arch, opt, "dylib", os.path.join(d, "libfxdy.dylib"),
                    os.path.join(d, "dsym", "libfxdy.dylib.dSYM"),
                    [os.path.join(obj, "fxdyc.o"), os.path.join(obj, "fxdy.o")])]


# ---- Mach-O facts the tests need (read by hand, independent of dumpsyms) ---

def text_vmaddr(path):
    """__TEXT's vmaddr of a thin Mach-O image: what .sym addresses are relative to."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    if magic not in (0xfeedface, 0xfeedfacf):
        raise ValueError("%s: not a thin little-endian Mach-O file" % path)
    is64 = magic == 0xfeedfacf
    ncmds = struct.unpack_from("<I", data, 16)[0]
    off = 32 if is64 else 28
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd in (0x19, 0x1):  # LC_SEGMENT_64, LC_SEGMENT
            seg = data[off + 8:off + 24].rstrip(b"\0")
            if seg == b"__TEXT":
                return struct.unpack_from("<Q" if is64 else "<I", data, off + 24)[0]
        off += size
    raise ValueError("%s: no __TEXT segment" % path)


def uuid(path):
    """LC_UUID of a thin image as upper-case hex."""
    with open(path, "rb") as f:
        data = f.read()
    is64 = struct.unpack_from("<I", data, 0)[0] == 0xfeedfacf
    ncmds = struct.unpack_from("<I", data, 16)[0]
    off = 32 if is64 else 28
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd == 0x1b:
            return data[off + 8:off + 24].hex().upper()
        off += size
    return None
