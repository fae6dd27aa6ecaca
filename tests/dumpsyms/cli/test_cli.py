#!/usr/bin/env python3
"""dumpsyms command line: every flag, usage errors and bad inputs.

usage: test_cli.py DUMPSYMS WORKDIR
"""
import os
import re
import shutil
import subprocess
import sys

DUMPSYMS, WORK = sys.argv[1:3]
FAILURES = []
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")

SOURCE = r"""
#include <stdio.h>
static int __attribute__((noinline)) helper(int x) { return x * 7; }
static inline int twice(int x) { return x + x; }
int __attribute__((noinline)) compute(int a) { return twice(helper(a)) + 1; }
int main(int argc, char **argv) { (void)argv; printf("%d\n", compute(argc)); return 0; }
"""


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        FAILURES.append(msg)
        log("FAIL: " + msg)
    else:
        log("ok " + msg.split(":")[0])
    return cond


def run(args, **kw):
    p = subprocess.run([DUMPSYMS] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, **kw)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        if mark in err:
            FAILURES.append("sanitizer report for %r: %s" % (args, err[-2000:]))
            log("FAIL: sanitizer report for %r" % args)
            break
    return p.returncode, out, err


def kinds(text):
    res = set()
    for l in text.splitlines():
        w = l.split(" ")
        if w[0] == "STACK":
            res.add("STACK")
        elif w[0] in ("MODULE", "INFO", "FILE", "FUNC", "PUBLIC", "INLINE", "INLINE_ORIGIN"):
            res.add(w[0])
        elif re.match(r"^[0-9a-f]+ [0-9a-f]+ \d+ \d+$", l):
            res.add("LINE")
    return res


def one_line_error(label, rc, out, err, want_rc, must_contain=None):
    lines = [l for l in err.splitlines() if l.strip()]
    ok = rc == want_rc and len(lines) == 1 and lines[0].startswith("dumpsyms: ") and out == ""
    if must_contain:
        ok = ok and must_contain in lines[0]
    check(ok, "%s: want exit %d and one line on stderr%s, got exit %d, stderr %r, stdout %r" % (
        label, want_rc, " naming " + must_contain if must_contain else "", rc, err, out[:100]))


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    src = os.path.join(WORK, "prog.c")
    with open(src, "w") as f:
        f.write(SOURCE)
    exe = os.path.join(WORK, "prog")
    subprocess.run(["gcc", "-g", "-O2", "-o", exe, src], check=True)
    nodebug = os.path.join(WORK, "prog-nodebug")
    subprocess.run(["strip", "--strip-debug", "-o", nodebug, exe], check=True)

    rc, full, err = run([exe])
    check(rc == 0 and full.startswith("MODULE Linux x86_64 "), "default dump: %d %s" % (rc, err))
    k = kinds(full)
    check({"MODULE", "INFO"} <= k, "default dump has MODULE and INFO: %r" % k)
    check("INFO GENERATOR symkit " in full, "INFO GENERATOR by default")
    stack_expected = "STACK" in k  # present once the CFI collector is real

    # -c / --no-cfi
    for flag in ["-c", "--no-cfi"]:
        rc, out, err = run([flag, exe])
        check(rc == 0 and "STACK" not in kinds(out), "%s: no STACK records: %r" % (flag, kinds(out)))
        # (INFO CFI_SYNTHESIZED counts STACK records, so it goes with them.)
        check(out == "\n".join(l for l in full.splitlines()
                               if not l.startswith("STACK ") and not l.startswith("INFO CFI_SYNTHESIZED ")) + "\n",
              "%s: the default dump minus STACK records" % flag)
    # -i / --header-only
    for flag in ["-i", "--header-only"]:
        rc, out, err = run([flag, exe])
        check(rc == 0 and kinds(out) == {"MODULE", "INFO"}, "%s: MODULE and INFO only: %r" % (flag, kinds(out)))
    # -n / --name
    rc, out, err = run(["-n", "renamed.so", exe])
    check(rc == 0 and out.splitlines()[0].split()[4] == "renamed.so", "-n: MODULE name: %r" % out[:100])
    rc, out, err = run(["--name=other", "-i", exe])
    check(rc == 0 and out.splitlines()[0].endswith(" other"), "--name=: %r" % out[:100])
    # -v
    rc, out, err = run(["-v", exe])
    check(rc == 0 and out == full and err.strip() != "", "-v: same output, something said on stderr: %r" % err)
    # -d / --inlines: accepted; FUNC, PUBLIC and STACK records as without it
    # (line records may change: they carry the innermost location).
    def stable(t):
        return [l for l in t.splitlines() if l.startswith(("MODULE ", "INFO ", "FUNC ", "PUBLIC ", "STACK "))]
    for flag in ["-d", "--inlines"]:
        rc, out, err = run([flag, exe])
        check(rc == 0 and stable(out) == stable(full), "%s: accepted, FUNC/PUBLIC/STACK unchanged" % flag)
    # --cfi-only
    rc, out, err = run(["--cfi-only", exe])
    check(rc == 0 and kinds(out) <= {"MODULE", "INFO", "STACK"} and ("STACK" in kinds(out)) == stack_expected,
          "--cfi-only: MODULE, INFO, STACK only: %r" % kinds(out))
    # --no-generator
    rc, out, err = run(["--no-generator", exe])
    check(rc == 0 and "INFO GENERATOR" not in out and
          out == "\n".join(l for l in full.splitlines() if not l.startswith("INFO GENERATOR")) + "\n",
          "--no-generator: only the GENERATOR line goes")
    # -o / --output: the same bytes, written atomically (no temporaries left).
    outdir = os.path.join(WORK, "out")
    os.makedirs(outdir)
    for flag in ["-o", "--output"]:
        path = os.path.join(outdir, "p%s.sym" % flag.strip("-"))
        rc, out, err = run([flag, path, exe])
        check(rc == 0 and out == "" and open(path).read() == full, "%s: file equals stdout output" % flag)
    check(sorted(os.listdir(outdir)) == ["po.sym", "poutput.sym"], "-o: no temporary files left: %r" % os.listdir(outdir))
    rc, out, err = run(["-o", os.path.join(WORK, "no-such-dir", "x.sym"), exe])
    one_line_error("-o into a missing directory", rc, out, err, 1)
    # --store (single file): NAME/DEBUGID/NAME.sym
    store = os.path.join(WORK, "store")
    rc, out, err = run(["--store", store, exe])
    mod = full.splitlines()[0].split()
    want = os.path.join(store, "prog", mod[3], "prog.sym")
    check(rc == 0 and os.path.isfile(want) and open(want).read() == full, "--store: %s written: %r %r" % (want, out, err))
    check(out.startswith("ok ") and want in out, "--store: summary line names the file: %r" % out)
    # -j / --jobs: output identical for any thread count.
    for flag in ["-j1", "-j2", "--jobs=3"]:
        rc, out, err = run([flag, exe])
        check(rc == 0 and out == full, "%s: identical output" % flag)
    # --debug-dir (the search itself is tested in tests/dumpsyms/elf)
    rc, out, err = run(["--debug-dir", WORK, "--debug-dir", "/nonexistent", exe])
    check(rc == 0 and out == full, "--debug-dir: accepted, repeatable")
    # --help / --version
    rc, out, err = run(["--help"])
    check(rc == 0 and out.startswith("usage: dumpsyms"), "--help: usage on stdout")
    for flag in ["-o", "--store", "-c", "--cfi-only", "-i", "-d", "--inlines", "-n", "--debug-dir", "-j",
                 "--no-generator", "-v", "--help", "--version"]:
        check(re.search(r"(^|[ ,])" + re.escape(flag) + r"\b", out) is not None, "--help mentions %s" % flag)
    rc, out, err = run(["-h"])
    check(rc == 0 and out.startswith("usage: dumpsyms"), "-h: usage")
    rc, out, err = run(["--version"])
    check(rc == 0 and re.match(r"^dumpsyms \(symkit\) \d+\.\d+\.\d+\n$", out), "--version: %r" % out)

    # Usage errors: exit 2, one line.
    for args, label in [(["--bogus", exe], "unknown long option"), (["-x", exe], "unknown short option"),
                        ([], "no file"), ([exe, exe, exe], "three files"), (["-j", "0", exe], "-j 0"),
                        (["-j", "lots", exe], "-j junk"), (["-o"], "-o without value"),
                        (["-o", "a", "--store", "b", exe], "-o with --store"),
                        (["--cfi-only", "-c", exe], "--cfi-only with -c"), (["--store"], "--store without value"),
                        (["--store", WORK], "--store without files"),
                        (["--store", os.path.join(WORK, "s2"), "-n", "x", exe, exe], "-n with several files")]:
        if label == "--store without files":
            args = ["--store", os.path.join(WORK, "s3")]
        rc, out, err = run(args)
        one_line_error("usage error (%s)" % label, rc, out, err, 2)

    # Bad inputs: exit 1, one line naming the file.
    text = os.path.join(WORK, "notes.txt")
    with open(text, "w") as f:
        f.write("just text\n")
    rc, out, err = run([text])
    one_line_error("non-ELF file", rc, out, err, 1, text)
    data = open(exe, "rb").read()
    for cut in [20, 100, len(data) // 2, len(data) - 10]:
        t = os.path.join(WORK, "trunc-%d" % cut)
        with open(t, "wb") as f:
            f.write(data[:cut])
        rc, out, err = run([t])
        one_line_error("truncated ELF (%d bytes)" % cut, rc, out, err, 1, t)
    missing = os.path.join(WORK, "missing")
    rc, out, err = run([missing])
    one_line_error("missing file", rc, out, err, 1, missing)
    rc, out, err = run([exe, missing])
    one_line_error("missing DEBUGFILE", rc, out, err, 1, missing)
    unreadable = os.path.join(WORK, "unreadable")
    shutil.copy(exe, unreadable)
    os.chmod(unreadable, 0)
    if os.geteuid() != 0:
        rc, out, err = run([unreadable])
        one_line_error("unreadable file", rc, out, err, 1, unreadable)
    else:
        # root reads anything: a FIFO stands in for a file that cannot be read.
        fifo = os.path.join(WORK, "fifo")
        os.mkfifo(fifo)
        rc, out, err = run([fifo])
        one_line_error("unreadable file (FIFO)", rc, out, err, 1, fifo)
    rc, out, err = run([WORK])
    one_line_error("directory", rc, out, err, 1, WORK)
    # No debug info: a warning, PUBLIC (and CFI) records, exit 0.
    rc, out, err = run([nodebug])
    warn = [l for l in err.splitlines() if l.strip()]
    check(rc == 0 and len(warn) == 1 and "warning" in warn[0] and nodebug in warn[0] and "DWARF" in warn[0],
          "no debug info: one warning naming the file: %r" % err)
    check("PUBLIC" in kinds(out) and "FUNC" not in kinds(out), "no debug info: PUBLIC records, no FUNC: %r" % kinds(out))
    check(("STACK" in kinds(out)) == stack_expected, "no debug info: STACK CFI from .eh_frame still written")
    pubs = [l.split(" ", 3)[3] for l in out.splitlines() if l.startswith("PUBLIC ")]
    check({"main", "compute", "helper"} <= set(pubs), "no debug info: PUBLIC names: %r" % pubs)
    # Writing to a closed stdout is an error, not a silent success.
    p = subprocess.run([DUMPSYMS, exe], stdout=open("/dev/full", "w"), stderr=subprocess.PIPE, timeout=60)
    check(p.returncode == 1 and b"dumpsyms: " in p.stderr, "stdout full: exit 1: %r" % p.stderr)

    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        return 1
    print("cli tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
