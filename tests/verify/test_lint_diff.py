#!/usr/bin/env python3
"""Tests of `symverify lint` and `symverify diff` on hand-written .sym texts.

Each lint case is a small .sym with one defect and the exact set of finding
codes it must produce (no more, no fewer); the good file must produce none.
Diff cases remove CFI, lines, a function or an inline from a good file and
check that exactly that loss is named and the exit status is 1.

usage: test_lint_diff.py SYMVERIFY SCRATCH_DIR
"""
import json
import os
import subprocess
import sys

SYMVERIFY, SCRATCH = sys.argv[1:3]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


GOOD = """MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 libfoo.so
INFO CODE_ID B060AD20C6B47781552708AA192E7739FAC7C84A
FILE 0 /src/foo.c
FILE 1 /src/foo.h
INLINE_ORIGIN 0 helper
INLINE_ORIGIN 1 inner
FUNC 1000 40 0 foo
INLINE 0 12 0 0 1010 10
INLINE 1 5 1 1 1014 4
1000 10 10 0
1010 10 5 1
1020 20 14 0
PUBLIC 1040 0 foo_tail
FUNC 1050 30 0 bar
1050 30 20 0
FUNC 1080 20 0 baz
1080 20 30 0
STACK CFI INIT 1000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI 1001 .cfa: $rsp 16 +
STACK CFI INIT 1050 30 .cfa: $rsp 8 + .ra: .cfa -8 + ^
STACK CFI INIT 1080 20 .cfa: $rsp 8 + .ra: .cfa -8 + ^
"""


def edit(old, new, text=GOOD):
    assert old in text, old
    return text.replace(old, new, 1)


MODULE = GOOD.splitlines()[0] + "\n"
STACK = "STACK CFI INIT 1000 40 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"

LINT_CASES = [
    ("good", GOOD, set()),
    ("debug-id", edit("20AD60B0B4C68177552708AA192E77390", "20ad60b0b4c68177552708aa192e77390"),
     {"debug-id"}),
    ("unknown-arch", edit("x86_64", "vax"), {"unknown-arch"}),
    ("order", edit("FUNC 1080 20 0 baz\n", "FUNC 1080 20 0 baz\nFILE 2 /late.c\n"), {"order"}),
    ("stack-before-func", edit("FUNC 1050 30 0 bar\n", STACK + "FUNC 1050 30 0 bar\n"), {"order"}),
    ("overlapping-func", edit("FUNC 1000 40 0 foo", "FUNC 1000 58 0 foo"), {"overlapping-func"}),
    ("same-address", edit("FUNC 1050 30 0 bar\n1050 30 20 0\n",
                          "FUNC 1050 30 0 bar\n1050 30 20 0\nFUNC 1050 30 0 bar2\n"),
     {"overlapping-func"}),
    ("folded-ok", edit("FUNC 1050 30 0 bar\n1050 30 20 0\n",
                       "FUNC 1050 30 0 bar\n1050 30 20 0\nFUNC m 1050 30 0 bar2\n"), set()),
    ("line-outside-func", edit("1020 20 14 0", "1020 28 14 0"), {"line-outside-func"}),
    ("overlapping-lines", edit("1010 10 5 1", "1008 12 5 1"), {"overlapping-lines"}),
    ("inline-depth", edit("INLINE 0 12 0 0 1010 10\n", ""), {"inline-depth"}),
    ("inline-outside-parent", edit("INLINE 1 5 1 1 1014 4", "INLINE 1 5 1 1 1018 10"),
     {"inline-outside-parent"}),
    ("inline-outside-func", edit("INLINE 0 12 0 0 1010 10", "INLINE 0 12 0 0 1030 20"),
     {"inline-outside-parent"}),
    ("dangling-file", edit("1020 20 14 0", "1020 20 14 9"), {"dangling-file"}),
    ("dangling-call-file", edit("INLINE 0 12 0 0", "INLINE 0 12 5 0"), {"dangling-file"}),
    ("dangling-origin", edit("INLINE 1 5 1 1", "INLINE 1 5 1 4"), {"dangling-origin"}),
    ("duplicate-id", edit("FILE 1 /src/foo.h", "FILE 1 /src/foo.h\nFILE 1 /src/other.h"),
     {"duplicate-id"}),
    ("name-newline", edit("FUNC 1050 30 0 bar\n", "FUNC 1050 30 0 bar\nbaz\n"), {"name-newline"}),
    ("name-control", edit("FUNC 1050 30 0 bar", "FUNC 1050 30 0 b\x01ar"), {"name-control"}),
    ("cfi-incomplete", edit("STACK CFI INIT 1050 30 .cfa: $rsp 8 + .ra: .cfa -8 + ^",
                            "STACK CFI INIT 1050 30 .cfa: $rsp 8 +"), {"cfi-incomplete"}),
    ("cfi-outside-init", edit("STACK CFI 1001", "STACK CFI 1041"), {"cfi-outside-init"}),
    ("syntax", edit("PUBLIC 1040 0 foo_tail", "PUBLIC zz 0 foo_tail"), {"syntax"}),
    ("line-before-func", edit("FUNC 1000 40 0 foo\n", "0fff 1 1 0\nFUNC 1000 40 0 foo\n"), {"syntax"}),
    ("unsorted", edit("PUBLIC 1040 0 foo_tail", "PUBLIC 10 0 foo_tail"), {"unsorted"}),
    ("empty-func", edit("FUNC 1080 20 0 baz\n1080 20 30 0\n", "FUNC 1080 0 0 baz\n"), {"empty-func"}),
    ("no-cfi", "".join(l + "\n" for l in GOOD.splitlines() if not l.startswith("STACK")),
     {"no-cfi"}),
    ("public-only", MODULE + "PUBLIC 1000 0 foo\nPUBLIC 1050 0 bar\n", {"public-only"}),
]

WARNINGS = {"unknown-arch", "unsorted", "empty-func", "no-cfi", "public-only", "huge-id"}


def write(name, text):
    path = os.path.join(SCRATCH, name + ".sym")
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


def lint(*args):
    return subprocess.run([SYMVERIFY, "lint"] + list(args), capture_output=True, text=True)


def test_lint():
    for name, text, want in LINT_CASES:
        path = write("lint-" + name, text)
        p = lint("--json", path)
        try:
            rep = json.loads(p.stdout)["files"][0]
        except (ValueError, KeyError, IndexError) as e:
            check(False, "lint %s: JSON output (%s): %r" % (name, e, p.stdout[:200]))
            continue
        codes = {f["code"] for f in rep["findings"]}
        check(codes == want, "lint %s: codes %s, expected %s" % (name, sorted(codes), sorted(want)))
        errors = want - WARNINGS
        check(p.returncode == (1 if errors else 0),
              "lint %s: exit %d with errors %s" % (name, p.returncode, sorted(errors)))
        for f in rep["findings"]:
            if f["code"] in ("public-only", "no-cfi"):
                continue
            check(f["line"] > 0, "lint %s: finding %s has a line number" % (name, f["code"]))
        # the human output names the same codes
        t = lint(path)
        for c in want:
            check("[%s]" % c in t.stdout, "lint %s: text output names [%s]" % (name, c))
        check(t.returncode == p.returncode, "lint %s: same exit status in text mode" % name)

    # figures of the good file, computed by hand
    rep = json.loads(lint("--json", os.path.join(SCRATCH, "lint-good.sym")).stdout)["files"][0]
    s = rep["stats"]
    check((s["funcs"], s["publics"], s["line_records"], s["inlines"], s["cfi_inits"]) == (3, 1, 5, 2, 3),
          "lint good: counts %s" % s)
    check(abs(s["cfi_coverage"] - 1.0) < 1e-6 and abs(s["line_coverage"] - 1.0) < 1e-6,
          "lint good: full coverage %s" % s)
    half = edit("STACK CFI INIT 1050 30 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n", "")
    half = edit("1080 20 30 0\n", "", half)
    rep = json.loads(lint("--json", write("lint-half", half)).stdout)["files"][0]
    s = rep["stats"]
    # FUNC bytes 0x40 + 0x30 + 0x20 = 0x90; CFI covers 0x40 + 0x20; lines 0x40 + 0x30
    check(abs(s["cfi_coverage"] - 0x60 / 0x90) < 1e-3, "lint half: cfi_coverage %s" % s["cfi_coverage"])
    check(abs(s["line_coverage"] - 0x70 / 0x90) < 1e-3, "lint half: line_coverage %s" % s["line_coverage"])
    check(s["funcs_without_lines"] == 1, "lint half: one FUNC without lines")

    # --strict fails on warnings; several files at once
    p = lint("--strict", os.path.join(SCRATCH, "lint-public-only.sym"))
    check(p.returncode == 1, "lint --strict fails on warnings (%d)" % p.returncode)
    p = lint(os.path.join(SCRATCH, "lint-good.sym"), os.path.join(SCRATCH, "lint-syntax.sym"))
    check(p.returncode == 1 and "lint-good.sym: 0 errors" in p.stdout, "lint of two files")

    # bad input: exit 2, one line on stderr
    bad = [("not-a-sym", "hello world\n"), ("empty", ""), ("binary", "\x7fELF\x02\x01\x01\0\0\0")]
    for name, text in bad:
        p = lint(write("bad-" + name, text))
        check(p.returncode == 2, "lint %s: exit 2, got %d" % (name, p.returncode))
        check(p.stderr.startswith("symverify: ") and p.stderr.count("\n") == 1,
              "lint %s: one-line error %r" % (name, p.stderr))
    for args in (["--bogus", "x.sym"], [], [os.path.join(SCRATCH, "missing.sym")]):
        p = lint(*args)
        check(p.returncode == 2, "lint %s: exit 2, got %d" % (args, p.returncode))
        check(p.stderr.startswith("symverify: ") and p.stderr.count("\n") == 1,
              "lint %s: one-line error %r" % (args, p.stderr))


def diff(*args):
    return subprocess.run([SYMVERIFY, "diff"] + list(args), capture_output=True, text=True)


DIFF_CASES = [
    # name, new text, {category: names}
    ("same", GOOD, {}),
    ("no-cfi", "".join(l + "\n" for l in GOOD.splitlines() if not l.startswith("STACK")),
     {"cfi_lost": ["bar", "baz", "foo"]}),
    ("no-lines", "".join(l + "\n" for l in GOOD.splitlines()
                         if len(l.split()) != 4 or not l[0].isdigit()),
     {"lines_lost": ["bar", "baz", "foo"]}),
    ("lost-func", edit("FUNC 1080 20 0 baz\n1080 20 30 0\n", ""), {"funcs_lost": ["baz"]}),
    ("renamed", edit("FUNC 1080 20 0 baz", "FUNC 1080 20 0 qux"),
     {"funcs_lost": ["baz"], "funcs_gained": ["qux"]}),
    ("lost-inline", edit("INLINE 1 5 1 1 1014 4\n", ""), {"inlines_lost": ["inner"]}),
    ("lost-public", edit("PUBLIC 1040 0 foo_tail\n", ""), {"publics_lost": ["foo_tail"]}),
    # a PUBLIC that became a FUNC is no loss (it gained debug info)
    ("public-to-func", edit("STACK CFI INIT 1050", "STACK CFI INIT 1040 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
                            "STACK CFI INIT 1050",
                            edit("PUBLIC 1040 0 foo_tail\n", "FUNC 1040 10 0 foo_tail\n1040 10 11 0\n")),
     {"funcs_gained": ["foo_tail"]}),
    ("one-cfi", edit("STACK CFI INIT 1050 30 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n", ""),
     {"cfi_lost": ["bar"]}),
]

CATEGORIES = ["funcs_lost", "funcs_gained", "lines_lost", "lines_gained", "cfi_lost", "cfi_gained",
              "inlines_lost", "inlines_gained", "publics_lost", "publics_gained"]


def test_diff():
    old = write("diff-old", GOOD)
    for name, text, want in DIFF_CASES:
        new = write("diff-" + name, text)
        p = diff("--json", old, new)
        try:
            rep = json.loads(p.stdout)
        except ValueError as e:
            check(False, "diff %s: JSON (%s) %r" % (name, e, p.stdout[:200]))
            continue
        for c in CATEGORIES:
            check(rep[c] == want.get(c, []), "diff %s: %s is %s, expected %s" %
                  (name, c, rep[c], want.get(c, [])))
        lost = any(k.endswith("_lost") for k in want)
        check(rep["loss"] == lost, "diff %s: loss %s" % (name, rep["loss"]))
        check(p.returncode == (1 if lost else 0), "diff %s: exit %d" % (name, p.returncode))
        t = diff(old, new)
        check(t.returncode == p.returncode, "diff %s: same status in text mode" % name)
        for c, names in want.items():
            check(("%s (%d):" % (c, len(names))) in t.stdout, "diff %s: text names %s" % (name, c))
        # the reverse direction gains what was lost
        r = json.loads(diff("--json", new, old).stdout)
        for c, names in want.items():
            if c.endswith("_lost"):
                back = c.replace("_lost", "_gained")
                check(r[back] == names, "diff %s reversed: %s" % (name, back))
    new = write("diff-no-cfi2", DIFF_CASES[1][1])
    t = diff(old, new)
    check("cfi_coverage" in t.stdout and "LOWER" in t.stdout, "diff names the lower cfi_coverage")

    for args in ([old], [old, old, old], ["--bogus", old, old], [old, os.path.join(SCRATCH, "nope.sym")],
                 [old, write("diff-bad", "garbage\n")]):
        p = diff(*args)
        check(p.returncode == 2, "diff %s: exit 2, got %d" % (args, p.returncode))
        check(p.stderr.startswith("symverify: ") and p.stderr.count("\n") == 1,
              "diff %s: one-line error %r" % (args, p.stderr))


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    test_lint()
    test_diff()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all lint/diff checks passed (%d lint cases, %d diff cases)" % (len(LINT_CASES), len(DIFF_CASES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
