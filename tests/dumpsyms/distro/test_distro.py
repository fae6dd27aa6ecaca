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


GROUPS = {"soname": group_soname, "oddnames": group_oddnames, "nested": group_nested}


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
