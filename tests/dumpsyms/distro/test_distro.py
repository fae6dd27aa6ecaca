#!/usr/bin/env python3
"""dumpsyms on Linux distribution inputs, end to end.

usage: test_distro.py GROUP WORKDIR   (tools from the environment: DUMPSYMS,
STACKWALK, SYMVERIFY)

Groups:
  soname   a library with a versioned file name and a SONAME is stored under
           its SONAME; a crash through it, captured by symverify (which names
           it as Breakpad's Linux client does), is symbolized from the
           dumpsyms --store store, and so is a dump that names the library by
           its file name.
  oddnames files called "[", "a%b", "lib#x" land in a local store.
  nested   a function with code nested in inline-only functions (a lambda's
           _FUN in a local struct in an always-inline function) gets its
           FUNC and lines, checked against llvm-symbolizer.
  dwz      dwz-processed files give the records of the files before dwz.
  packages .deb/.ddeb/.rpm read in place equal the unpacked files' store;
           damaged packages are named.
  pkgjobs  eight packages (debug files in four of them) in four orders, -j1 and
           -j4: the same store, equal to the unpacked files'; a damaged one
           among them is named; the final count; the progress bar under a
           pseudo-terminal (and its absence when stderr is not one).

Fixtures are built at test time with gcc/g++.  Outside CI a missing tool
makes the group exit 77 (skip); with CI set it is a failure.
"""
import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys

GROUP, WORK = sys.argv[1], sys.argv[2]
DUMPSYMS = os.environ.get("DUMPSYMS", "")
STACKWALK = os.environ.get("STACKWALK", "")
SYMVERIFY = os.environ.get("SYMVERIFY", "")
FAILURES = []
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        log("FAIL: " + msg)
    return cond


def skip(why):
    if os.environ.get("CI"):
        log("FAIL (CI): " + why)
        sys.exit(1)
    log("SKIP: " + why)
    sys.exit(77)


def need(*tools):
    for t in tools:
        if not t or not shutil.which(t):
            skip("%s not found" % (t or "a tool"))


def run(cmd, timeout=300, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kw)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        if mark in err:
            check(False, "sanitizer report for %s:\n%s" % (" ".join(cmd), err[-3000:]))
            break
    return p.returncode, out, err


def must(cmd, **kw):
    rc, out, err = run(cmd, **kw)
    if rc != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (rc, " ".join(cmd), err))
    return out


def w(*parts):
    return os.path.join(WORK, *parts)


def write(name, text):
    with open(w(name), "w") as f:
        f.write(text)
    return w(name)


def module_line(sym_text):
    return sym_text.split("\n", 1)[0].split(" ")


def store_files(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


# ---- soname -------------------------------------------------------------------

LIB_SRC = r"""
static volatile int *volatile lib_null;
__attribute__((noinline)) void svs_crash(int depth) { if (depth > 0) *lib_null = depth; }
__attribute__((noinline)) void svs_outer(int depth) { svs_crash(depth + 1); __asm__ volatile("" ::: "memory"); }
"""
EXE_SRC = r"""
#include <stdio.h>
void svs_outer(int depth);
int main(void) { svs_outer(1); __asm__ volatile("" ::: "memory"); puts("not reached"); return 0; }
"""


def utf16_string(s):
    b = s.encode("utf-16-le")
    return struct.pack("<I", len(b)) + b + b"\0\0"


def rename_module(dump, out, old_base, new_base):
    """A copy of dump whose module named .../old_base is named .../new_base
    (a client that writes the file name instead of the SONAME): the new
    string goes at the end of the file, the module points to it."""
    data = bytearray(open(dump, "rb").read())
    _, _, nstreams, dir_rva = struct.unpack_from("<IIII", data, 0)
    renamed = 0
    for i in range(nstreams):
        typ, size, rva = struct.unpack_from("<III", data, dir_rva + 12 * i)
        if typ != 4:
            continue
        (n,) = struct.unpack_from("<I", data, rva)
        for k in range(n):
            off = rva + 4 + 108 * k
            name_rva = struct.unpack_from("<I", data, off + 20)[0]
            (ln,) = struct.unpack_from("<I", data, name_rva)
            name = bytes(data[name_rva + 4:name_rva + 4 + ln]).decode("utf-16-le")
            if os.path.basename(name) != old_base:
                continue
            while len(data) % 4:
                data.append(0)
            new_rva = len(data)
            data += utf16_string(os.path.join(os.path.dirname(name), new_base))
            struct.pack_into("<I", data, off + 20, new_rva)
            renamed += 1
    open(out, "wb").write(bytes(data))
    return renamed


def frames_of(dump, store):
    rc, out, err = run([STACKWALK, "--json", dump, "--symbols-path", store])
    if not check(rc == 0, "stackwalk %s: exit %d %s" % (dump, rc, err)):
        return [], {}
    j = json.loads(out)
    frames = j["crashing_thread"]["frames"]
    return frames, j


def group_soname():
    need("gcc", DUMPSYMS, STACKWALK, SYMVERIFY)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libdir = w("lib")
    os.makedirs(libdir, exist_ok=True)
    real = os.path.join(libdir, "libsvsoname.so.1.2.3")
    must(["gcc", "-g", "-O1", "-shared", "-fPIC", "-Wl,-soname,libsvsoname.so.1", "-Wl,--build-id",
          "-o", real, write("lib.c", LIB_SRC)])
    # The usual symlinks of an installed library: the loader opens the
    # SONAME link, /proc/PID/maps shows the versioned file.
    for link in ("libsvsoname.so.1", "libsvsoname.so"):
        if os.path.lexists(os.path.join(libdir, link)):
            os.unlink(os.path.join(libdir, link))
        os.symlink("libsvsoname.so.1.2.3", os.path.join(libdir, link))
    exe = w("svsoname")
    must(["gcc", "-g", "-O1", "-o", exe, write("exe.c", EXE_SRC), "-L" + libdir, "-lsvsoname",
          "-Wl,-rpath," + libdir])

    rc, out, err = run([DUMPSYMS, "-i", real])
    mod = module_line(out)
    check(rc == 0 and mod[4] == "libsvsoname.so.1", "MODULE name is the SONAME: %r %s" % (out, err))
    rc, out, err = run([DUMPSYMS, "-i", "-n", "custom.so", real])
    check(rc == 0 and module_line(out)[4] == "custom.so", "-n overrides the SONAME: %r" % out)
    rc, out, err = run([DUMPSYMS, "-i", exe])
    check(rc == 0 and module_line(out)[4] == "svsoname", "a program keeps its file name: %r" % out)
    debug_id = mod[3]

    store = w("store")
    shutil.rmtree(store, ignore_errors=True)
    rc, out, err = run([DUMPSYMS, "--store", store, real, exe])
    check(rc == 0, "dumpsyms --store: exit %d %s" % (rc, err))
    want = "libsvsoname.so.1/%s/libsvsoname.so.1.sym" % debug_id
    files = store_files(store)
    check(want in files, "stored under the SONAME: %s" % sorted(files))

    dump = w("crash.dmp")
    rc, out, err = run([SYMVERIFY, "capture", "-q", "-o", dump, "--", exe])
    if not check(rc in (134, 139) and os.path.exists(dump), "capture: status %d %s" % (rc, err)):
        return
    frames, j = frames_of(dump, store)
    names = [m.get("filename") or os.path.basename(m.get("code_file", "")) for m in j.get("modules", [])]
    check("libsvsoname.so.1" in names, "the dump names the library by its SONAME: %s" % names)
    funcs = [f.get("function") for f in frames[:3]]
    check(funcs[:2] == ["svs_crash", "svs_outer"] and frames[0].get("line"),
          "captured crash symbolized from the store: %s" % [(f.get("module"), f.get("function"),
                                                              f.get("line")) for f in frames[:4]])
    check(any(f.get("function") == "main" for f in frames), "main is on the stack: %s" % funcs)

    # A client that names the library by its file name (older Breakpad,
    # some crash handlers): the SONAME-style name is tried too.
    byfile = w("crash-filename.dmp")
    check(rename_module(dump, byfile, "libsvsoname.so.1", "libsvsoname.so.1.2.3") == 1,
          "the library module was renamed in the copy")
    frames, j = frames_of(byfile, store)
    check([f.get("function") for f in frames[:2]] == ["svs_crash", "svs_outer"],
          "a dump naming libsvsoname.so.1.2.3 is symbolized from the SONAME store entry: %s" %
          [(f.get("module"), f.get("function")) for f in frames[:3]])
    log("ok soname: %s" % want)


# ---- odd names ----------------------------------------------------------------

def group_oddnames():
    need("gcc", DUMPSYMS)
    src = write("odd.c", "int main(void) { return 0; }\n")
    d = w("odd")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    names = ["[", "a%b", "lib#x", "x y", "caf\u00e9", "..."]
    for n in names:
        must(["gcc", "-g", "-O1", "-o", os.path.join(d, n), src])
    store = w("odd-store")
    shutil.rmtree(store, ignore_errors=True)
    rc, out, err = run([DUMPSYMS, "--store", store, d])
    check(rc == 0, "packager over odd names: exit %d\n%s%s" % (rc, out, err))
    got = set(p.split("/")[0] for p in store_files(store))
    # A MODULE line has exactly 5 fields: a space in a name becomes '_'.
    want = set(n.replace(" ", "_") for n in names)
    check(got == want, "every odd name landed: %s" % sorted(got))
    # Named one at a time too.
    store2 = w("odd-store2")
    shutil.rmtree(store2, ignore_errors=True)
    rc, out, err = run([DUMPSYMS, "--store", store2, os.path.join(d, "[")])
    check(rc == 0 and len(store_files(store2)) == 1, "'[' named explicitly: %d %s" % (rc, err))
    log("ok oddnames: %s" % sorted(got))


# ---- nested -------------------------------------------------------------------

NESTED_SRC = r"""
#include <cstdio>
typedef int (*fn_t)(int);
volatile int sink;
static inline __attribute__((always_inline)) fn_t make_callback(int k) {
    struct Local {
        static fn_t get() {
            return [](int x) {
                sink = x;
                return x * 7 + 1;
            };
        }
    };
    sink = k;
    return Local::get();
}
__attribute__((noinline)) fn_t pick(int k) { return make_callback(k); }
int main(int argc, char **) {
    fn_t f = pick(argc);
    std::printf("%d\n", f(argc));
    return 0;
}
"""


def parse_funcs(sym):
    """{addr: (size, name, [(addr, size, line, file)], ninlines)}"""
    funcs, cur = {}, None
    for l in sym.splitlines():
        if l.startswith("FUNC "):
            p = l.split(" ")
            if p[1] == "m":
                p = p[1:]
            cur = int(p[1], 16)
            funcs[cur] = [int(p[2], 16), " ".join(p[4:]), [], 0]
        elif l.startswith("INLINE ") and cur is not None:
            funcs[cur][3] += 1
        elif re.match(r"^[0-9a-f]+ [0-9a-f]+ \d+ \d+$", l) and cur is not None:
            a, s, ln, f = l.split()
            funcs[cur][2].append((int(a, 16), int(s, 16), int(ln), int(f)))
        elif not l.startswith(("INLINE_ORIGIN", "FILE", "MODULE", "INFO")):
            cur = None
    return funcs


def group_nested():
    need("g++", DUMPSYMS, "llvm-symbolizer-14")
    exe = w("nested")
    must(["g++", "-g", "-O2", "-o", exe, write("nested.cc", NESTED_SRC)])
    nm = must(["nm", exe])
    fun = [int(l.split()[0], 16) for l in nm.splitlines() if "_FUN" in l and l.split()[1] in "tT"]
    if not check(len(fun) == 1, "one _FUN symbol in the fixture: %s" % fun):
        return
    rc, out, err = run([DUMPSYMS, "--inlines", exe])
    if not check(rc == 0, "dumpsyms: %d %s" % (rc, err)):
        return
    funcs = parse_funcs(out)
    f = funcs.get(fun[0])
    if not check(f is not None, "FUNC at the _FUN address 0x%x (only a PUBLIC before): %s" %
                 (fun[0], [l for l in out.splitlines() if "_FUN" in l])):
        return
    size, name, lines, ninl = f
    check("_FUN" in name and "make_callback" in name, "FUNC name %r" % name)
    check(len(lines) >= 2, "line records for _FUN: %s" % lines)
    check(ninl >= 1, "the inlined operator() appears as an INLINE record")
    # Every address of the FUNC: llvm-symbolizer's outermost function is
    # _FUN and its innermost line is the line record's.
    addrs = [a for a in range(fun[0], fun[0] + size)]
    q = "\n".join("0x%x" % a for a in addrs) + "\n"
    res = must(["llvm-symbolizer-14", "--obj=" + exe, "--inlining", "--functions=linkage"],
               input=q.encode()).split("\n\n")
    compared = 0
    for a, block in zip(addrs, res):
        rows = [r for r in block.strip().splitlines()]
        if len(rows) < 2:
            continue
        outer = rows[-2]
        inner_line = int(rows[1].rsplit(":", 2)[1]) if rows[1].count(":") >= 2 else 0
        check("_FUN" in outer, "0x%x: llvm-symbolizer's outer function %r" % (a, outer))
        ours = [ln for (la, ls, ln, _) in lines if la <= a < la + ls]
        if inner_line and check(len(ours) == 1, "0x%x: one line record" % a):
            check(ours[0] == inner_line, "0x%x: line %d, llvm-symbolizer says %d" % (a, ours[0], inner_line))
            compared += 1
    check(compared >= 4, "compared %d addresses with llvm-symbolizer" % compared)
    log("ok nested: FUNC %x %x %s, %d lines, %d inlines, %d addresses agree" %
        (fun[0], size, name, len(lines), ninl, compared))


# ---- dwz ----------------------------------------------------------------------

DWZ_A = r"""
#include <cstdio>
#include <map>
#include <string>
#include <vector>
namespace ns {
struct Widget { int v; __attribute__((noinline)) int get(int x) const { return v + x; } };
template <typename T> __attribute__((noinline)) T twice(T t) { return t + t; }
static inline int helper(int x) { return x * 3 + 1; }
}
extern "C" int plain_c(int x);
int shared_fn(std::vector<int> &v);
int other(int);
int main(int argc, char **) {
    ns::Widget w{argc};
    std::vector<int> v{1, 2, argc};
    std::map<std::string, int> m;
    m["a"] = argc;
    std::printf("%d %d %d %d %d %d\n", w.get(1), ns::twice(argc), shared_fn(v), ns::helper(argc),
                other((int)m.size()), plain_c(argc));
    return 0;
}
"""
DWZ_B = r"""
#include <map>
#include <string>
#include <vector>
namespace ns {
struct Widget { int v; __attribute__((noinline)) int get(int x) const { return v + x; } };
template <typename T> __attribute__((noinline)) T twice(T t) { return t + t; }
}
extern "C" __attribute__((noinline)) int plain_c(int x) { return x ^ 0x55; }
int shared_fn(std::vector<int> &v) {
    int s = 0;
    for (int x : v) s += x;
    ns::Widget w{s};
    return w.get(2) + ns::twice(s);
}
int other(int x) { std::map<std::string, int> m; m["x"] = x; return (int)m.size() + x; }
"""
DWZ_FLAGS = [["-O2"], ["-O2", "-fno-inline-small-functions"], ["-O1"]]


def dump_body(path, *extra):
    rc, out, err = run([DUMPSYMS, "--inlines"] + list(extra) + [path])
    return rc, out, err


def dwarf_forms(path):
    out = must(["llvm-dwarfdump-14", "-v", "--debug-info", path])
    return out


def group_dwz():
    need("g++", "dwz", DUMPSYMS, "llvm-dwarfdump-14")
    a, b = write("dwz_a.cc", DWZ_A), write("dwz_b.cc", DWZ_B)
    orig = w("orig")
    shutil.rmtree(orig, ignore_errors=True)
    os.makedirs(orig)
    progs = []
    for i, flags in enumerate(DWZ_FLAGS):
        p = os.path.join(orig, "prog%d" % (i + 1))
        must(["g++", "-g", "-Wl,--build-id"] + flags + ["-o", p, a, b])
        progs.append(p)
    want = {}
    for p in progs:
        rc, out, err = dump_body(p)
        check(rc == 0 and "FUNC" in out, "plain dump of %s: %s" % (p, err))
        want[os.path.basename(p)] = out
    equal = [0]

    def same_as_plain(path, label, *extra, warn_ok=False):
        rc, out, err = dump_body(path, *extra)
        name = os.path.basename(path)
        ok = check(rc == 0, "%s: dumpsyms exit %d %s" % (label, rc, err))
        if ok and out != want[name]:
            import difflib
            d = "".join(list(difflib.unified_diff(want[name].splitlines(True), out.splitlines(True),
                                                  "plain", "dwz", n=0))[:30])
            check(False, "%s: records differ from the build before dwz:\n%s" % (label, d))
        elif ok:
            equal[0] += 1
        if not warn_ok:
            check("warning" not in err, "%s: unexpected warning: %s" % (label, err))
        return out, err

    def fresh(name, n):
        d = w(name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        out = []
        for p in progs[:n]:
            shutil.copy(p, d)
            out.append(os.path.join(d, os.path.basename(p)))
        return d, out

    # 1. Within one file: partial units and imported units.
    d, files = fresh("infile", 1)
    must(["dwz", files[0]])
    forms = dwarf_forms(files[0])
    check("DW_TAG_partial_unit" in forms and "DW_TAG_imported_unit" in forms,
          "in-file dwz made partial and imported units")
    same_as_plain(files[0], "in-file dwz")

    # 2. Two binaries, a supplementary file named relative to them.
    d, files = fresh("multi2", 2)
    must(["dwz", "-m", os.path.join(d, "common.debug"), "-M", "common.debug"] + files, cwd=d)
    forms = dwarf_forms(files[0])
    check("DW_FORM_GNU_ref_alt" in forms and "DW_FORM_GNU_strp_alt" in forms,
          "dwz -m wrote GNU_ref_alt / GNU_strp_alt forms")
    for f in files:
        same_as_plain(f, "dwz -m (2 files, relative link) %s" % os.path.basename(f))

    # 3. Three binaries, an absolute link; packager mode shares the file.
    d, files = fresh("multi3", 3)
    sup = os.path.join(d, "sup", "three.debug")
    os.makedirs(os.path.dirname(sup))
    must(["dwz", "-m", sup, "-M", sup] + files)
    for f in files:
        same_as_plain(f, "dwz -m (3 files) %s" % os.path.basename(f))
    store = w("multi3-store")
    shutil.rmtree(store, ignore_errors=True)
    rc, out, err = run([DUMPSYMS, "-v", "--inlines", "--store", store] + files)
    check(rc == 0 and "warning" not in err, "packager over 3 dwz files: %d %s" % (rc, err))
    opened = [l for l in err.splitlines() if "dwz supplementary file" in l and "opened" in l]
    check(len(opened) == 1, "the supplementary file is opened once for the 3 files: %s" % opened)
    got = store_files(store)
    check(len(got) == 3, "3 .sym files in the store: %s" % sorted(got))
    for k, v in got.items():
        name = k.split("/")[0]
        check(v.decode() == want[name], "packager: %s equals the build before dwz" % k)
        if v.decode() == want[name]:
            equal[0] += 1

    # 4. DWARF 5 .debug_sup with ref_sup4 / strp_sup.
    d, files = fresh("sup5", 2)
    rc, _, err = run(["dwz", "--dwarf-5", "-m", os.path.join(d, "five.debug"), "-M",
                      os.path.join(d, "five.debug")] + files)
    if check(rc == 0, "dwz --dwarf-5: %s" % err):
        forms = dwarf_forms(files[0])
        check("DW_FORM_ref_sup4" in forms and "DW_FORM_strp_sup" in forms,
              "dwz --dwarf-5 wrote ref_sup4 / strp_sup forms")
        for f in files:
            same_as_plain(f, "dwz --dwarf-5 (.debug_sup) %s" % os.path.basename(f))

    # 5. Installed elsewhere: the link names /usr/lib/debug/.dwz/..., the
    # file is in a --debug-dir's .dwz/ tree, or its .build-id/ tree.
    d, files = fresh("debian", 2)
    link = "/usr/lib/debug/.dwz/x86_64-linux-gnu/symkit-fixture.debug"
    local = os.path.join(d, "symkit-fixture.debug")
    must(["dwz", "-m", local, "-M", link] + files)
    root = w("debian-root")
    shutil.rmtree(root, ignore_errors=True)
    dest = os.path.join(root, ".dwz", "x86_64-linux-gnu")
    os.makedirs(dest)
    shutil.move(local, os.path.join(dest, "symkit-fixture.debug"))
    for f in files:
        same_as_plain(f, "supplementary file under --debug-dir/.dwz %s" % os.path.basename(f),
                      "--debug-dir", root)
    bid = ""
    for l in must(["readelf", "-n", os.path.join(dest, "symkit-fixture.debug")]).splitlines():
        if "Build ID:" in l:
            bid = l.split(":")[1].strip()
    root2 = w("buildid-root")
    shutil.rmtree(root2, ignore_errors=True)
    if check(len(bid) > 2, "the supplementary file has a build-id"):
        os.makedirs(os.path.join(root2, ".build-id", bid[:2]))
        shutil.copy(os.path.join(dest, "symkit-fixture.debug"),
                    os.path.join(root2, ".build-id", bid[:2], bid[2:] + ".debug"))
        same_as_plain(files[0], "supplementary file by build-id", "--debug-dir", root2)

    # 6. Missing: one warning naming the file and the count, names from the
    # symbol table, <name omitted> only where nothing knows the name.
    rc, out, err = dump_body(files[0], "--debug-dir", w("nowhere"))
    lines = [l for l in err.splitlines() if "warning" in l]
    check(rc == 0 and len(lines) == 1 and link in lines[0] and "could not be resolved" in lines[0],
          "missing supplementary file: one warning naming it: %r" % err)
    m = re.search(r"(\d+) function names could not be resolved \((\d+) taken from the symbol table",
                  lines[0] if lines else "")
    check(m and int(m.group(1)) > 0 and m.group(1) == m.group(2),
          "every lost function name came back from the symbol table: %r" % lines)
    funcs = [l.split(" ", 4)[4] for l in out.splitlines() if l.startswith("FUNC ")]
    check("main" in funcs and "plain_c" in funcs, "main and plain_c named from the symbol table")
    check(not any(f == "<name omitted>" for f in funcs), "no FUNC left without a name: %s" %
          [f for f in funcs if "omitted" in f])
    # 7. A different file at the place the link names is refused.
    os.makedirs(os.path.join(w("wrong-root"), ".dwz", "x86_64-linux-gnu"), exist_ok=True)
    shutil.copy(sup, os.path.join(w("wrong-root"), ".dwz", "x86_64-linux-gnu", "symkit-fixture.debug"))
    rc, out, err = dump_body(files[0], "--debug-dir", w("wrong-root"))
    check(rc == 0 and "refused" in err and "differs" in err, "a wrong supplementary file is refused: %s" % err)
    check(equal[0] >= 12, "record-equal dumps: %d" % equal[0])
    log("ok dwz: %d dumps record-identical to the build before dwz" % equal[0])


# ---- packages -----------------------------------------------------------------

PKG_LIB = r"""
__attribute__((noinline)) int pkglib_work(int x) { return x * 41 + 1; }
int pkglib_entry(int x) { return pkglib_work(x) ^ 3; }
"""
PKG_NOBID = r"""
#include <stdio.h>
__attribute__((noinline)) static int nobid_helper(int x) { return x + 5; }
int main(int argc, char **argv) { (void)argv; printf("%d\n", nobid_helper(argc)); return 0; }
"""


def split_debug(exe, dbg):
    must(["objcopy", "--only-keep-debug", exe, dbg])
    must(["objcopy", "--strip-debug", "--add-gnu-debuglink=" + dbg, exe])


def build_id_hex(path):
    for l in must(["readelf", "-n", path]).splitlines():
        if "Build ID:" in l:
            return l.split(":")[1].strip()
    return None


CONTROL = "Package: %s\nVersion: 1.0\nArchitecture: amd64\nMaintainer: symkit <t@example.org>\nDescription: fixture\n"


def make_trees(base):
    """An installed-system layout: bin/ (what the binary package holds) and
    dbg/ (the debug package), like dh_strip + dh_dwz make them."""
    shutil.rmtree(base, ignore_errors=True)
    binr, dbgr, build = os.path.join(base, "bin"), os.path.join(base, "dbg"), os.path.join(base, "build")
    for d in (binr + "/usr/bin", binr + "/usr/lib/x86_64-linux-gnu", binr + "/usr/share/doc/fixture",
              dbgr + "/usr/lib/debug/.dwz/x86_64-linux-gnu", dbgr + "/usr/lib/debug/usr/bin", build):
        os.makedirs(d)
    a, b = write("pkg_a.cc", DWZ_A), write("pkg_b.cc", DWZ_B)
    progs = []
    for i, flags in enumerate(DWZ_FLAGS[:2]):
        p = os.path.join(build, "tool%d" % (i + 1))
        must(["g++", "-g", "-Wl,--build-id"] + flags + ["-o", p, a, b])
        progs.append(p)
    # Two programs share a dwz supplementary file, as dh_dwz makes them.
    link = "/usr/lib/debug/.dwz/x86_64-linux-gnu/fixture.debug"
    must(["dwz", "-m", os.path.join(dbgr, link.lstrip("/")[len("usr/lib/debug/"):] if False else
                                     dbgr + link), "-M", link] + progs)
    lib = os.path.join(build, "libpkgfix.so.1.2.3")
    must(["gcc", "-g", "-O2", "-shared", "-fPIC", "-Wl,-soname,libpkgfix.so.1", "-Wl,--build-id",
          "-o", lib, write("pkglib.c", PKG_LIB)])
    nobid = os.path.join(build, "nobid")
    must(["gcc", "-g", "-O2", "-Wl,--build-id=none", "-o", nobid, write("nobid.c", PKG_NOBID)])
    for exe in progs + [lib]:
        bid = build_id_hex(exe)
        ddir = os.path.join(dbgr, "usr/lib/debug/.build-id", bid[:2])
        os.makedirs(ddir, exist_ok=True)
        dbg = os.path.join(ddir, bid[2:] + ".debug")
        split_debug(exe, dbg)
    split_debug(nobid, os.path.join(dbgr, "usr/lib/debug/usr/bin/nobid.debug"))
    # objcopy named the debuglink after the file it was given: fix the name.
    must(["objcopy", "--remove-section=.gnu_debuglink", nobid])
    shutil.copy(os.path.join(dbgr, "usr/lib/debug/usr/bin/nobid.debug"), os.path.join(build, "nobid.debug"))
    must(["objcopy", "--add-gnu-debuglink=" + os.path.join(build, "nobid.debug"), nobid])
    for p in progs + [nobid]:
        shutil.copy(p, os.path.join(binr, "usr/bin"))
    shutil.copy(lib, os.path.join(binr, "usr/lib/x86_64-linux-gnu"))
    os.symlink("libpkgfix.so.1.2.3", os.path.join(binr, "usr/lib/x86_64-linux-gnu/libpkgfix.so.1"))
    with open(os.path.join(binr, "usr/share/doc/fixture/README"), "w") as f:
        f.write("not an ELF file\n")
    return binr, dbgr


def make_deb(root, name, out, comp):
    os.makedirs(os.path.join(root, "DEBIAN"), exist_ok=True)
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write(CONTROL % name)
    must(["dpkg-deb", "-Z" + comp, "--root-owner-group", "-b", root, out])
    shutil.rmtree(os.path.join(root, "DEBIAN"))
    return out


SPEC = """Name: fixture
Version: 1.0
Release: 1
Summary: symkit fixture
License: MIT
BuildArch: x86_64
%%define debug_package %%{nil}
%%define __os_install_post %%{nil}
%%define _build_id_links none
%%description
fixture
%%package debuginfo
Summary: debug files
%%description debuginfo
debug files
%%install
mkdir -p %%{buildroot}
cp -a %(bin)s/. %%{buildroot}/
cp -a %(dbg)s/. %%{buildroot}/
%%files
/usr/bin
/usr/lib/x86_64-linux-gnu
/usr/share/doc/fixture
%%files debuginfo
/usr/lib/debug
"""


def make_rpms(binr, dbgr, top):
    shutil.rmtree(top, ignore_errors=True)
    os.makedirs(os.path.join(top, "SPECS"))
    spec = os.path.join(top, "SPECS", "fixture.spec")
    with open(spec, "w") as f:
        f.write(SPEC % {"bin": binr, "dbg": dbgr})
    rc, out, err = run(["rpmbuild", "-bb", "--nodeps", "--define", "_topdir " + top,
                        "--define", "_binary_payload w19.zstdio", spec])
    if not check(rc == 0, "rpmbuild: %s" % err[-2000:]):
        return []
    found = []
    for d, _, fs in os.walk(os.path.join(top, "RPMS")):
        found += [os.path.join(d, f) for f in fs if f.endswith(".rpm")]
    return sorted(found)


def store_of(*args, env=None, cwd=None):
    store = args[0]
    shutil.rmtree(store, ignore_errors=True)
    rc, out, err = run([DUMPSYMS, "--inlines", "--store"] + list(args), env=env, cwd=cwd)
    return rc, out, err, store_files(store)


def group_packages():
    need("gcc", "g++", "dwz", "dpkg-deb", "ar", DUMPSYMS)
    base = w("pkgtree")
    binr, dbgr = make_trees(base)
    # What a packager gets from the unpacked, installed files.
    # (A copy, with the debuglink'd file where the search finds it on an
    # unpacked tree: .debug/ beside the binary.)
    ref = w("ref-tree")
    shutil.rmtree(ref, ignore_errors=True)
    shutil.copytree(binr, ref, symlinks=True)
    os.makedirs(os.path.join(ref, "usr/bin/.debug"))
    shutil.copy(os.path.join(dbgr, "usr/lib/debug/usr/bin/nobid.debug"), os.path.join(ref, "usr/bin/.debug"))
    rc, out, err, want = store_of(w("want"), "--debug-dir", os.path.join(dbgr, "usr/lib/debug"),
                                  os.path.join(ref, "usr"))
    check("debug info from" in [l for l in out.splitlines() if "nobid" in l][0],
          "the reference dump of nobid used its debug file: %s" % out)
    check(rc == 0 and len(want) == 4, "unpacked: %d %s %s %s" % (rc, sorted(want), out, err))
    check(any(k.startswith("libpkgfix.so.1/") for k in want), "the library is stored under its SONAME")
    check(not any("<name omitted>" in v.decode() for v in want.values()), "unpacked: every name known")

    debs = w("debs")
    shutil.rmtree(debs, ignore_errors=True)
    os.makedirs(debs)
    cases = 0
    for bcomp, dcomp in (("xz", "zstd"), ("zstd", "xz"), ("gzip", "none")):
        bdeb = make_deb(binr, "fixture", os.path.join(debs, "fixture_1.0_%s.deb" % bcomp), bcomp)
        ext = "ddeb" if dcomp == "zstd" else "deb"
        ddeb = make_deb(dbgr, "fixture-dbgsym", os.path.join(debs, "fixture-dbgsym_1.0_%s.%s" % (dcomp, ext)),
                        dcomp)
        empty = w("empty-cwd")
        shutil.rmtree(empty, ignore_errors=True)
        os.makedirs(empty)
        env = dict(os.environ, TMPDIR=empty)
        # The debug package first on the command line: the order must not matter.
        rc, out, err, got = store_of(w("got"), "--debug-dir", w("nowhere"), ddeb, bdeb, env=env, cwd=empty)
        label = "deb data.tar %s + dbgsym %s" % (bcomp, dcomp)
        if check(rc == 0, "%s: exit %d %s %s" % (label, rc, out, err)):
            check(got == want, "%s: store differs from the unpacked files: %s vs %s" %
                  (label, sorted(got), sorted(want)))
            check("warning" not in err, "%s: warnings: %s" % (label, err))
            oks = [l for l in out.splitlines() if l.startswith("ok ")]
            check(len(oks) == 4 and all(":usr/" in l for l in oks), "%s: summary lines name the package "
                  "members: %s" % (label, oks))
            check("4 written, 0 empty, 0 failed" in out, "%s: final count: %s" % (label, out))
            cases += 1
        check(os.listdir(empty) == [], "%s: nothing written outside the store: %s" % (label, os.listdir(empty)))

    # RPM: the package and its -debuginfo package.
    if shutil.which("rpmbuild"):
        rpms = make_rpms(binr, dbgr, w("rpmtop"))
        if check(len(rpms) == 2, "rpmbuild made two packages: %s" % rpms):
            rc, out, err, got = store_of(w("got-rpm"), "--debug-dir", w("nowhere"), *rpms)
            if check(rc == 0, "rpm: exit %d %s %s" % (rc, out, err)):
                check(got == want, "rpm: store differs from the unpacked files: %s" % sorted(got))
                cases += 1
    elif os.environ.get("CI"):
        check(False, "rpmbuild not found")

    # Damaged packages: one line naming the package and the member; the
    # good packages given with them still land.
    good_b = os.path.join(debs, "fixture_1.0_xz.deb")
    good_d = os.path.join(debs, "fixture-dbgsym_1.0_zstd.ddeb")
    bad = w("bad")
    shutil.rmtree(bad, ignore_errors=True)
    os.makedirs(bad)
    data = open(good_d, "rb").read()
    trunc = os.path.join(bad, "trunc-dbgsym_1.0.ddeb")
    open(trunc, "wb").write(data[:len(data) * 2 // 3])
    # An uncompressed data.tar with a broken second header.
    # (A debug package: the same debug files as the good one, so whatever
    # it paired before the damage gives the same records.)
    plain = make_deb(dbgr, "plain-dbgsym", os.path.join(bad, "plain-dbgsym_1.0.deb"), "none")
    raw = bytearray(open(plain, "rb").read())
    start = raw.find(b"data.tar") + 60
    tar = raw[start:]
    # The header of the supplementary file: smash its checksum.
    pos = tar.find(b"./usr/lib/debug/.dwz/x86_64-linux-gnu/fixture.debug")
    check(pos >= 0 and pos % 512 == 0, "found the tar header to damage")
    tar[pos + 148:pos + 156] = b"9999999\0"
    raw[start:] = tar
    brokentar = os.path.join(bad, "brokentar-dbgsym_1.0.deb")
    open(brokentar, "wb").write(bytes(raw))
    # data.tar.xz that holds gzip.
    wrong = os.path.join(bad, "wrongcomp_1.0.deb")
    wd = w("wrongdir")
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    must(["ar", "x", os.path.join(debs, "fixture_1.0_gzip.deb")], cwd=wd)
    gz = [f for f in os.listdir(wd) if f.startswith("data.tar")][0]
    os.rename(os.path.join(wd, gz), os.path.join(wd, "data.tar.xz"))
    ctl = [f for f in os.listdir(wd) if f.startswith("control.tar")][0]
    must(["ar", "rc", wrong, "debian-binary", ctl, "data.tar.xz"], cwd=wd)
    notpkg = os.path.join(bad, "garbage_1.0.deb")
    open(notpkg, "wb").write(b"!<arch>\n" + b"\xff" * 300)
    for label, path, member in (("truncated ar member", trunc, "data.tar.zst"),
                                ("broken tar header", brokentar, "data.tar"),
                                ("wrong compression", wrong, "data.tar.xz"),
                                ("not an ar archive", notpkg, None)):
        rc, out, err, got = store_of(w("got-bad"), "--debug-dir", w("nowhere"), good_b, path, good_d)
        lines = [l for l in out.splitlines() if l.startswith("FAILED")]
        check(rc == 1 and len(lines) == 1 and os.path.basename(path) in lines[0] and
              (member is None or member in lines[0]),
              "%s: one FAILED line naming the package and member: %r (exit %d)" % (label, lines, rc))
        check(got == want, "%s: the good packages still land: %s" % (label, sorted(got)))
        log("ok %s: %s" % (label, lines[0] if lines else ""))
        for mark in SANITIZER_MARKS:
            check(mark not in err, "%s: sanitizer: %s" % (label, err[-2000:]))
    # A .sym whose commit fails (a directory where it must go): that member
    # is one FAILED line, counted, and the others land.
    key = [k for k in want if k.startswith("libpkgfix.so.1/")][0]
    store = w("got-badcommit")
    shutil.rmtree(store, ignore_errors=True)
    os.makedirs(os.path.join(store, key, "keep"))
    for jobs in ("-j1", "-j2"):
        rc, out, err = run([DUMPSYMS, "--inlines", "--store", store, jobs, "--debug-dir", w("nowhere"),
                            good_b, good_d])
        lines = [l for l in out.splitlines() if l.startswith("FAILED")]
        check(rc == 1 and len(lines) == 1 and "fixture_1.0_xz.deb:usr/lib/x86_64-linux-gnu/libpkgfix" in lines[0]
              and "cannot rename into place" in lines[0], "failed commit %s: %r (exit %d)" % (jobs, lines, rc))
        check("3 written, 0 empty, 1 failed" in out, "failed commit %s: final count: %s" % (jobs, out))
        got = store_files(store)
        check(sorted(got) == sorted(k for k in want if k != key) and all(got[k] == want[k] for k in got),
              "failed commit %s: the other members land: %s" % (jobs, sorted(got)))
    log("ok packages: a failed commit is its member's FAILED line, the rest land")
    log("ok packages: %d package sets equal to the unpacked files" % cases)


# ---- pkgjobs -------------------------------------------------------------------

PROG_SRC = r"""
#include <stdio.h>
__attribute__((noinline)) static int prog_helper_%(i)d(int x) { return x * %(i)d + 1; }
int main(int argc, char **argv) { (void)argv; printf("%%d\n", prog_helper_%(i)d(argc)); return 0; }
"""


def make_prog_tree(base, name, i, mixed=False, dbg_root=None):
    """A binary package tree and its debug package tree for one program
    (mixed: one tree holding both, as a package that ships its own
    usr/lib/debug; dbg_root: the debug file goes into that tree)."""
    binr, dbgr = os.path.join(base, name + "-bin"), os.path.join(base, name + "-dbg")
    if mixed:
        dbgr = binr
    shutil.rmtree(binr, ignore_errors=True)
    if dbg_root:
        dbgr = dbg_root
    else:
        shutil.rmtree(dbgr, ignore_errors=True)
    os.makedirs(binr + "/usr/bin")
    exe = os.path.join(binr, "usr/bin", name)
    must(["gcc", "-g", "-O1", "-Wl,--build-id", "-o", exe, write(name + ".c", PROG_SRC % {"i": i})])
    bid = build_id_hex(exe)
    ddir = os.path.join(dbgr, "usr/lib/debug/.build-id", bid[:2])
    os.makedirs(ddir, exist_ok=True)
    split_debug(exe, os.path.join(ddir, bid[2:] + ".debug"))
    return binr, dbgr


def screen_of(raw):
    """What a terminal shows after raw (\\r, \\n, ESC[K only): the lines."""
    lines, cur, col = [], [], 0
    i = 0
    while i < len(raw):
        c = raw[i]
        if raw.startswith("\x1b[K", i):
            del cur[col:]
            i += 3
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = c
            else:
                cur.append(c)
            col += 1
        i += 1
    if cur:
        lines.append("".join(cur))
    return lines


def run_pty(cmd, stdout_too=False):
    """cmd with stderr (and stdout too, when asked) on a pseudo-terminal.
    Returns exit status, the terminal's bytes, stdout when it was a pipe."""
    import pty
    import select
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave if stdout_too else subprocess.PIPE,
                         stderr=slave)
    os.close(slave)
    term = b""
    out = b""
    fds = [master] + ([] if stdout_too else [p.stdout.fileno()])
    while fds:
        ready, _, _ = select.select(fds, [], [], 60)
        if not ready:
            p.kill()
            break
        for fd in ready:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b""
            if not d:
                fds.remove(fd)
            elif fd == master:
                term += d
            else:
                out += d
    rc = p.wait()
    os.close(master)
    return rc, term.decode("utf-8", "replace"), out.decode("utf-8", "replace")


def group_pkgjobs():
    need("gcc", "g++", "dwz", "dpkg-deb", "objcopy", "readelf", DUMPSYMS)
    base = w("jobtrees")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    debs = w("jobdebs")
    shutil.rmtree(debs, ignore_errors=True)
    os.makedirs(debs)
    # The fixture set of group "packages" (dwz -m shared file, a library
    # with a SONAME, a binary paired by .gnu_debuglink only), two programs
    # each with its -dbgsym package, and a package (not named as a debug
    # package) that holds its own debug file and that of a third program in
    # another package: 8 packages, 3 of them debug packages.
    binr, dbgr = make_trees(os.path.join(base, "fixture"))
    pkgs = [make_deb(binr, "fixture", os.path.join(debs, "fixture_1.0_amd64.deb"), "xz"),
            make_deb(dbgr, "fixture-dbgsym", os.path.join(debs, "fixture-dbgsym_1.0_amd64.ddeb"), "zstd")]
    trees = [binr, dbgr]
    for i in range(1, 3):
        pb, pd = make_prog_tree(base, "prog%d" % i, i)
        pkgs.append(make_deb(pb, "prog%d" % i, os.path.join(debs, "prog%d_1.0_amd64.deb" % i), "xz"))
        pkgs.append(make_deb(pd, "prog%d-dbgsym" % i, os.path.join(debs, "prog%d-dbgsym_1.0_amd64.deb" % i),
                             "gzip"))
        trees += [pb, pd]
    mb, _ = make_prog_tree(base, "mixed", 9, mixed=True)
    p3, _ = make_prog_tree(base, "prog3", 3, dbg_root=mb)
    pkgs.append(make_deb(mb, "mixed", os.path.join(debs, "mixed_1.0_amd64.deb"), "zstd"))
    pkgs.append(make_deb(p3, "prog3", os.path.join(debs, "prog3_1.0_amd64.deb"), "xz"))
    trees += [mb, p3]
    check(len(pkgs) == 8, "eight packages")

    # The reference: the same files unpacked into one tree (nobid's
    # debuglink'd file in .debug/ beside it, where a search finds it).
    root = os.path.join(base, "unpacked")
    for t in trees:
        shutil.copytree(t, root, symlinks=True, dirs_exist_ok=True)
    os.makedirs(os.path.join(root, "usr/bin/.debug"))
    shutil.copy(os.path.join(dbgr, "usr/lib/debug/usr/bin/nobid.debug"), os.path.join(root, "usr/bin/.debug"))
    nowhere = w("nowhere")
    rc, out, err, want = store_of(w("job-want"), "--debug-dir", os.path.join(root, "usr/lib/debug"),
                                  os.path.join(root, "usr/bin"), os.path.join(root, "usr/lib/x86_64-linux-gnu"))
    check(rc == 0 and len(want) == 8, "unpacked reference: %d %s %s %s" % (rc, sorted(want), out, err))
    check(all(b"\nFUNC " in v for v in want.values()), "unpacked reference: every module has its FUNCs")

    # Debug packages first, interleaved, reversed: -j1 and -j4 give the
    # same store, equal to the unpacked files'.
    orders = {
        "given": pkgs,
        "debug first": [p for p in pkgs if "dbgsym" in p or "mixed" in p] +
                       [p for p in pkgs if "dbgsym" not in p and "mixed" not in p],
        "reversed": pkgs[::-1],
        "interleaved": pkgs[1::2] + pkgs[0::2],
    }
    want_count = "8 written, 0 empty, 0 failed; 8 packages, 17 ELF members, 8 paired with a debug file"
    for label, order in orders.items():
        for jobs in ("1", "4"):
            rc, out, err, got = store_of(w("job-got"), "-j" + jobs, "--debug-dir", nowhere, *order)
            what = "%s, -j%s" % (label, jobs)
            if check(rc == 0, "%s: exit %d %s %s" % (what, rc, out[-2000:], err[-2000:])):
                check(got == want, "%s: store differs from the unpacked files': %s vs %s" %
                      (what, sorted(got), sorted(want)))
                check(out.splitlines()[-1] == "dumpsyms: " + want_count, "%s: final count: %r" %
                      (what, out.splitlines()[-1]))
                oks = [l for l in out.splitlines() if l.startswith("ok ")]
                check(len(oks) == 8 and all(".deb:usr/" in l for l in oks), "%s: member lines: %s" % (what, oks))
            check("\r" not in err and "packages" not in err, "%s: no progress bar when stderr is not a "
                  "terminal: %r" % (what, err[-500:]))

    # A damaged package among them is named; the good ones all land.
    bad = os.path.join(debs, "broken-dbgsym_1.0_amd64.deb")
    data = open(pkgs[3], "rb").read()
    open(bad, "wb").write(data[:len(data) // 2])
    rc, out, err, got = store_of(w("job-got"), "-j4", "--debug-dir", nowhere, bad, *orders["interleaved"])
    fails = [l for l in out.splitlines() if l.startswith("FAILED")]
    check(rc == 1 and len(fails) == 1 and "broken-dbgsym_1.0_amd64.deb" in fails[0] and "data.tar" in fails[0],
          "damaged package: one FAILED line naming it and its member: %r (exit %d)" % (fails, rc))
    check(got == want, "damaged package: the good packages still land: %s" % sorted(got))
    check(out.splitlines()[-1] == "dumpsyms: 8 written, 0 empty, 1 failed; 9 packages (1 damaged or "
          "unreadable), 17 ELF members, 8 paired with a debug file", "damaged: final count %r" %
          out.splitlines()[-1:])

    # The progress bar: on a terminal stderr, packages done of total and a
    # rate, and nothing of it left on the screen at the end.
    _, plain_out, _, _ = store_of(w("job-got"), "-j1", "--debug-dir", nowhere, *pkgs)
    store = w("job-pty")
    shutil.rmtree(store, ignore_errors=True)
    rc, term, out = run_pty([DUMPSYMS, "--inlines", "-j1", "--store", store, "--debug-dir", nowhere] + pkgs)
    check(rc == 0, "pty: exit %d %r" % (rc, term[-500:]))
    check("dumpsyms: [" in term and "8/8 packages (17 members)" in term and "/s" in term,
          "pty: the bar shows packages done of total and a rate: %r" % term[-300:])
    check(re.search(r"\b[1-7]/8 packages", term) is not None, "pty: the bar moves: %r" % term[:300])
    check([l for l in screen_of(term) if l] == [], "pty: nothing left of the bar: %r" % screen_of(term))
    plain_out = plain_out.replace(w("job-got"), store)
    check(out == plain_out, "pty: stdout is what it is without a terminal: %r" % out[-500:])
    # stdout on the same terminal: the result lines are whole, the bar gone.
    shutil.rmtree(store, ignore_errors=True)
    rc, term, _ = run_pty([DUMPSYMS, "--inlines", "-j2", "--store", store, "--debug-dir", nowhere] + pkgs,
                          stdout_too=True)
    screen = [l for l in screen_of(term) if l]
    check(rc == 0 and sorted(screen) == sorted(plain_out.splitlines()),
          "pty (stdout too): the screen is the result lines and nothing else: %r" % screen)
    # Directory mode: files done of total.
    shutil.rmtree(store, ignore_errors=True)
    rc, term, out = run_pty([DUMPSYMS, "-j2", "--store", store, "--debug-dir",
                             os.path.join(root, "usr/lib/debug"), os.path.join(root, "usr/bin")])
    check(rc == 0 and "/7 files" in term and [l for l in screen_of(term) if l] == [],
          "pty, directory: files done of total, nothing left: %r" % term[-300:])
    check(out.splitlines()[-1:] == ["dumpsyms: 7 written, 0 empty, 0 failed"], "directory: final count %r" %
          out.splitlines()[-1:])
    log("ok pkgjobs: 8 packages, 17 ELF members, %d orders x -j1/-j4 equal to the unpacked files" % len(orders))


GROUPS = {"soname": group_soname, "oddnames": group_oddnames, "nested": group_nested,
          "dwz": group_dwz, "packages": group_packages, "pkgjobs": group_pkgjobs}


def main():
    os.makedirs(WORK, exist_ok=True)
    GROUPS[GROUP]()
    if FAILURES:
        log("%d failure(s)" % len(FAILURES))
        return 1
    log("PASS " + GROUP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
