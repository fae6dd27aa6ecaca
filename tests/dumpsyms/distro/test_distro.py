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
    rc, out, err = run([DUMPSYMS, "--inlines", "--store", store] + files)
    check(rc == 0 and "warning" not in err, "packager over 3 dwz files: %d %s" % (rc, err))
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


GROUPS = {"soname": group_soname, "oddnames": group_oddnames, "nested": group_nested,
          "dwz": group_dwz}


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
