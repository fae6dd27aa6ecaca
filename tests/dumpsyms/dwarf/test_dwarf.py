#!/usr/bin/env python3
"""DWARF side of dumpsyms, checked against independent oracles.

usage: test_dwarf.py GROUP DUMPSYMS FIXTURES_SRC_DIR WORK_DIR

Groups:
  lines        FUNC names and file:line at sampled addresses agree with
               llvm-symbolizer --no-inlines (>= 99.5% overall, every
               disagreement listed)
  funcset      every function with code in DWARF (as llvm-dwarfdump decodes
               its low_pc/high_pc or DW_AT_ranges) is a FUNC, and no FUNC
               comes from nowhere
  inlines      --inlines chains agree with llvm-symbolizer --inlines on the
               -O2 fixtures (>= 99% of sampled addresses, whole chain)
  determinism  byte-identical output across runs and -j 1/2/4
  badinput     corrupt .debug_info gives a warning or error naming the file
               and the problem, no crash
"""

import os
import random
import re
import shutil
import struct
import subprocess
import sys

GROUP, DUMPSYMS, FIXTURES_DIR, WORK = sys.argv[1:5]
sys.path.insert(0, FIXTURES_DIR)
import build_fixtures  # noqa: E402

LINES_MIN = 99.5
INLINES_MIN = 99.0
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def fixtures():
    # Shared by every group: the builder locks and reuses outputs.
    out = os.path.join(os.path.dirname(os.path.abspath(WORK)), "fixtures")
    fx = build_fixtures.build(out, jobs=2)
    if not fx:
        fail("no fixture could be built (no compiler at all?)")
    return fx


def run_dumpsyms(args, check=True):
    p = subprocess.run([DUMPSYMS] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = p.stderr.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        if mark in err:
            fail("sanitizer report from dumpsyms %s:\n%s" % (" ".join(args), err))
    if check and p.returncode != 0:
        fail("dumpsyms %s exited %d:\n%s" % (" ".join(args), p.returncode, err))
    return p.returncode, p.stdout, err


# ---- ELF and .sym helpers -------------------------------------------------

def elf_info(path):
    """(load address, {section name: (offset, size)}) parsed by hand."""
    with open(path, "rb") as f:
        data = f.read()
    cls, enc = data[4], data[5]
    e = "<" if enc == 1 else ">"
    if cls == 2:
        phoff, shoff = struct.unpack_from(e + "QQ", data, 0x20)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", data, 0x36)
    else:
        phoff, shoff = struct.unpack_from(e + "II", data, 0x1C)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", data, 0x2A)
    load = None
    for i in range(phnum):
        off = phoff + i * phentsize
        ptype = struct.unpack_from(e + "I", data, off)[0]
        if ptype != 1:
            continue
        vaddr = struct.unpack_from(e + "Q", data, off + 16)[0] if cls == 2 else \
            struct.unpack_from(e + "I", data, off + 8)[0]
        load = vaddr if load is None else min(load, vaddr)
    secs = []
    for i in range(shnum):
        off = shoff + i * shentsize
        if cls == 2:
            name, _t, _fl, _a, soff, size = struct.unpack_from(e + "IIQQQQ", data, off)
        else:
            name, _t, _fl, _a, soff, size = struct.unpack_from(e + "IIIIII", data, off)
        secs.append((name, soff, size))
    strtab_off = secs[shstrndx][1]
    sections = {}
    for name, soff, size in secs:
        end = data.index(b"\0", strtab_off + name)
        sections[data[strtab_off + name:end].decode()] = (soff, size)
    return load or 0, sections


class Sym:
    def __init__(self, text):
        self.files = {}
        self.origins = {}
        self.funcs = []  # dicts: addr size name lines inlines
        for line in text.decode().splitlines():
            parts = line.split(" ")
            kind = parts[0]
            if kind == "FILE":
                self.files[int(parts[1])] = line.split(" ", 2)[2]
            elif kind == "INLINE_ORIGIN":
                self.origins[int(parts[1])] = line.split(" ", 2)[2]
            elif kind == "FUNC":
                rest = parts[1:]
                if rest[0] == "m":
                    rest = rest[1:]
                name = " ".join(rest[3:])
                self.funcs.append({"addr": int(rest[0], 16), "size": int(rest[1], 16), "name": name,
                                   "lines": [], "inlines": []})
            elif kind == "INLINE":
                nums = [int(x, 16) if i >= 4 else int(x) for i, x in enumerate(parts[1:])]
                depth, call_line, call_file, origin = nums[:4]
                ranges = [(nums[i], nums[i + 1]) for i in range(4, len(nums) - 1, 2)]
                self.funcs[-1]["inlines"].append((depth, call_line, call_file, origin, ranges))
            elif kind in ("MODULE", "INFO", "PUBLIC", "STACK", "INLINE_ORIGIN"):
                continue
            elif self.funcs and re.match(r"^[0-9a-f]+ [0-9a-f]+ \d+ \d+$", line):
                a, s, ln, fi = parts
                self.funcs[-1]["lines"].append((int(a, 16), int(s, 16), int(ln), int(fi)))

    def line_at(self, func, addr):
        for a, s, ln, fi in func["lines"]:
            if a <= addr < a + s:
                return self.files.get(fi, "??"), ln
        return "??", 0


def samples(func):
    addrs = {func["addr"], func["addr"] + func["size"] // 2}
    addrs.update(a for a, _s, _l, _f in func["lines"])
    return sorted(addrs)


def symbolize(binary, addrs, inlines):
    """llvm-symbolizer frames per address: [(name, file, line)], innermost first."""
    args = ["llvm-symbolizer", "-C", "--obj=" + binary, "--inlines" if inlines else "--no-inlines"]
    inp = "".join("0x%x\n" % a for a in addrs)
    p = subprocess.run(args, input=inp.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=True)
    blocks = p.stdout.decode().split("\n\n")
    out = []
    for b in blocks[:len(addrs)]:
        lines = [x for x in b.split("\n") if x]
        frames = []
        for i in range(0, len(lines) - 1, 2):
            name = lines[i]
            loc = lines[i + 1]
            m = re.match(r"^(.*):(\d+):\d+$", loc) or re.match(r"^(.*):(\d+)$", loc)
            f, ln = (m.group(1), int(m.group(2))) if m else (loc, 0)
            if ln == 0:
                f = "??"
            frames.append((name, f, ln))
        out.append(frames)
    if len(out) != len(addrs):
        fail("llvm-symbolizer gave %d answers for %d addresses" % (len(out), len(addrs)))
    return out


CLONE = r"(?:cold|hot|isra|part|constprop|lto_priv|localalias|llvm|__uniq|clone|specialized|split|unlikely)"
LLVM_CLONE_RE = re.compile(r"(?: \((?:\.(?:" + CLONE + r"|[0-9a-f]+))+\))+$")
PLAIN_CLONE_RE = re.compile(r"(?:\.(?:" + CLONE + r"|[0-9a-f]+))*\." + CLONE + r"(?:\.[0-9a-f]+)*$")


def normalize_name(name):
    # llvm-symbolizer names the outermost frame from the symbol table, so
    # the cold part of a split function comes out as "f.cold" (C) or
    # "f(int) (.cold)" (C++); we name it after the function the user wrote,
    # as the issue asks.  Fold exactly those compiler suffixes, and
    # whitespace, nothing else: parameter lists and qualifiers must match.
    name = LLVM_CLONE_RE.sub("", name)
    if "(" not in name:
        name = PLAIN_CLONE_RE.sub("", name)
    return " ".join(name.split())


# ---- groups ----------------------------------------------------------------

def group_lines():
    total = agree = 0
    per_target = {}
    disagreements = []
    for fx in fixtures():
        load, _ = elf_info(fx.path)
        _, out, _ = run_dumpsyms(["-c", fx.path])
        sym = Sym(out)
        if not sym.funcs:
            fail("%s: no FUNC records" % fx.path)
        queries = []
        for f in sym.funcs:
            for a in samples(f):
                queries.append((f, a))
        answers = symbolize(fx.path, [a + load for _, a in queries], inlines=False)
        t = per_target.setdefault(fx.target, [0, 0])
        for (f, a), frames in zip(queries, answers):
            ours = (normalize_name(f["name"]),) + sym.line_at(f, a)
            theirs = frames[0] if frames else ("??", "??", 0)
            theirs = (normalize_name(theirs[0]), theirs[1], theirs[2])
            total += 1
            t[1] += 1
            if ours == theirs:
                agree += 1
                t[0] += 1
            else:
                disagreements.append("%s 0x%x: ours %s:%s:%d, llvm-symbolizer %s:%s:%d" %
                                     (os.path.basename(fx.path), a + load, *ours, *theirs))
    for target, (ok, n) in sorted(per_target.items()):
        print("%-14s %6d/%-6d %.2f%%" % (target, ok, n, 100.0 * ok / n))
    rate = 100.0 * agree / total
    print("overall        %6d/%-6d %.2f%% (need %.1f%%)" % (agree, total, rate, LINES_MIN))
    for d in disagreements[:200]:
        print("  " + d)
    if len(disagreements) > 200:
        print("  ... and %d more" % (len(disagreements) - 200))
    if rate < LINES_MIN:
        fail("agreement %.2f%% is below %.1f%%" % (rate, LINES_MIN))


DIE_RE = re.compile(r"^0x[0-9a-f]+:\s+(DW_TAG_\w+)", re.M)
RANGE_RE = re.compile(r"\[0x([0-9a-f]+), 0x([0-9a-f]+)\)")


def dwarf_function_ranges(binary):
    """Merged code ranges of every subprogram, as llvm-dwarfdump decodes them."""
    p = subprocess.run(["llvm-dwarfdump", "--debug-info", binary], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    text = p.stdout.decode(errors="replace")
    starts = [(m.start(), m.group(1)) for m in DIE_RE.finditer(text)]
    funcs = []
    for i, (pos, tag) in enumerate(starts):
        if tag != "DW_TAG_subprogram":
            continue
        body = text[pos:starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        if "DW_AT_declaration\t(true)" in body:
            continue
        ranges = []
        low = re.search(r"DW_AT_low_pc\t\(0x([0-9a-f]+)\)", body)
        high = re.search(r"DW_AT_high_pc\t\(0x([0-9a-f]+)\)", body)
        if low and high:
            ranges.append((int(low.group(1), 16), int(high.group(1), 16)))
        m = re.search(r"DW_AT_ranges\t\(([^)]*\)\s*)*\)", body)
        if "DW_AT_ranges" in body:
            seg = body[body.index("DW_AT_ranges"):]
            seg = seg[:seg.index("))") + 2] if "))" in seg else seg
            ranges += [(int(a, 16), int(b, 16)) for a, b in RANGE_RE.findall(seg)]
        del m
        ranges = sorted(r for r in ranges if r[1] > r[0])
        # Code the linker dropped keeps address 0 (ld) or -1 (lld): when
        # one range of a function is dropped, all of it is.
        if any(lo <= 1 or lo >= 0xfffffffe for lo, _ in ranges):
            continue
        merged = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        funcs.extend(merged)
    return funcs


def group_funcset():
    problems = []
    checked = 0
    split_fixtures = 0
    for fx in fixtures():
        load, _ = elf_info(fx.path)
        _, out, _ = run_dumpsyms(["-c", fx.path])
        sym = Sym(out)
        ours = {(f["addr"] + load, f["addr"] + load + f["size"]) for f in sym.funcs}
        ours_starts = {lo for lo, _ in ours}
        theirs = set(dwarf_function_ranges(fx.path))
        theirs_starts = {lo for lo, _ in theirs}
        lost = sorted(theirs_starts - ours_starts)
        extra = sorted(ours_starts - theirs_starts)
        checked += len(theirs)
        for lo in lost:
            problems.append("%s: DWARF function at 0x%x has no FUNC" % (fx.path, lo))
        for lo in extra:
            problems.append("%s: FUNC at 0x%x is no DWARF function" % (fx.path, lo))
        # Hot/cold split: gcc -O2 fixtures have a discontiguous fx_hot_cold;
        # each part must be a FUNC under the same name.
        syms = subprocess.run(["readelf", "-sW", fx.path], stdout=subprocess.PIPE,
                              check=True).stdout.decode()
        if "fx_hot_cold.cold" in syms:
            split_fixtures += 1
            parts = [f for f in sym.funcs if f["name"] == "fx_hot_cold"]
            if len(parts) < 2:
                problems.append("%s: fx_hot_cold has %d FUNC (want hot and cold parts)" %
                                (fx.path, len(parts)))
        if fx.variant.endswith("-gc"):
            if any(f["name"] == "fx_unused" for f in sym.funcs):
                problems.append("%s: garbage-collected fx_unused has a FUNC" % fx.path)
    print("checked %d DWARF function ranges; %d fixtures with a hot/cold split function" %
          (checked, split_fixtures))
    if split_fixtures == 0:
        problems.append("no fixture has a hot/cold split: the fixture build lost its point")
    for p in problems:
        print("  " + p)
    if problems:
        fail("%d function set differences" % len(problems))


def our_chain(sym, func, addr):
    """Frames innermost first, like llvm-symbolizer --inlines."""
    active = []
    for depth, call_line, call_file, origin, ranges in func["inlines"]:
        if any(a <= addr < a + s for a, s in ranges):
            # depth-first order: an active node at this depth replaces
            # whatever was deeper
            del active[depth:]
            if len(active) == depth:
                active.append((call_line, call_file, origin))
    frames = []
    f, ln = sym.line_at(func, addr)
    names = [func["name"]] + [sym.origins.get(o, "??") for _, _, o in active]
    locs = [(sym.files.get(cf, "??") if cl else "??", cl) for cl, cf, _ in active] + [(f, ln)]
    for name, (lf, ll) in zip(reversed(names), reversed(locs)):
        frames.append((normalize_name(name), lf if ll else "??", ll))
    return frames


def group_inlines():
    total = agree = 0
    with_inline = 0
    disagreements = []
    for fx in fixtures():
        if not fx.optimized:
            continue
        load, _ = elf_info(fx.path)
        _, out, _ = run_dumpsyms(["-c", "--inlines", fx.path])
        sym = Sym(out)
        queries = [(f, a) for f in sym.funcs for a in samples(f)]
        answers = symbolize(fx.path, [a + load for _, a in queries], inlines=True)
        for (f, a), frames in zip(queries, answers):
            ours = our_chain(sym, f, a)
            theirs = [(normalize_name(n), fl, ln) for n, fl, ln in frames]
            total += 1
            if len(theirs) > 1:
                with_inline += 1
            if ours == theirs:
                agree += 1
            else:
                disagreements.append("%s 0x%x:\n      ours %s\n      llvm %s" %
                                     (os.path.basename(fx.path), a + load, ours, theirs))
    rate = 100.0 * agree / total
    print("inline chains: %d/%d agree (%.2f%%, need %.1f%%); %d addresses inside inlined code" %
          (agree, total, rate, INLINES_MIN, with_inline))
    for d in disagreements[:100]:
        print("  " + d)
    if with_inline < 50:
        fail("only %d sampled addresses lie in inlined code: the check proves little" % with_inline)
    if rate < INLINES_MIN:
        fail("inline agreement %.2f%% is below %.1f%%" % (rate, INLINES_MIN))


def group_determinism():
    fx = [f for f in fixtures() if f.optimized]
    for f in fx[:6]:
        ref = None
        for args in (["-j", "1"], ["-j", "2"], ["-j", "4"], ["-j", "4"], []):
            for extra in ([], ["--inlines"]):
                _, out, _ = run_dumpsyms(args + extra + [f.path])
                key = tuple(extra)
                if ref is None:
                    ref = {}
                if key not in ref:
                    ref[key] = out
                elif ref[key] != out:
                    fail("%s: output differs with %s" % (f.path, " ".join(args + extra)))
    print("identical output for %d fixtures across runs and -j 1/2/4" % min(6, len(fx)))


def group_badinput():
    os.makedirs(WORK, exist_ok=True)
    src = [f for f in fixtures() if f.target == "x86_64-gcc" and f.variant == "O2-dwarf5"]
    src += [f for f in fixtures() if f.target == "x86_64-clang" and f.variant == "O0-dwarf4"]
    rng = random.Random(1234)
    cases = 0
    for f in src:
        _, secs = elf_info(f.path)
        off, size = secs[".debug_info"]
        with open(f.path, "rb") as fh:
            orig = fh.read()
        variants = []
        # The first unit's header: its length becomes absurd.
        variants.append(("header", [(off, b"\xff\xff\xff\x7f")]))
        # The second half of .debug_info: some unit other than the first.
        for k in range(12):
            pos = off + size // 2 + rng.randrange(size // 2 - 8)
            variants.append(("bytes%d" % k, [(pos, bytes(rng.randrange(256) for _ in range(6)))]))
        # Everything zero: no unit at all.
        variants.append(("zeroed", [(off, b"\0" * size)]))
        # The line tables, which we decode ourselves: an absurd length, a
        # header cut short, random bytes in the programs.
        loff, lsize = secs[".debug_line"]
        variants.append(("line-length", [(loff, b"\xf0\xff\xff\x7f")]))
        variants.append(("line-header", [(loff + 4, b"\x05\x00\x08\x00\xff\xff\xff\x7f")]))
        for k in range(8):
            pos = loff + rng.randrange(lsize - 8)
            variants.append(("line%d" % k, [(pos, bytes(rng.randrange(256) for _ in range(8)))]))
        for name, patches in variants:
            data = bytearray(orig)
            for pos, b in patches:
                data[pos:pos + len(b)] = b
            bad = os.path.join(WORK, "%s-%s" % (os.path.basename(f.path), name))
            with open(bad, "wb") as fh:
                fh.write(data)
            for extra in ([], ["--inlines", "-j", "2"]):
                rc, out, err = run_dumpsyms(extra + [bad], check=False)
                cases += 1
                if rc not in (0, 1):
                    fail("%s: exit status %d (want 0 with a warning or 1 with an error):\n%s" %
                         (bad, rc, err))
                if rc == 1 and bad not in err:
                    fail("%s: error does not name the file:\n%s" % (bad, err))
                if rc == 0:
                    if not out.startswith(b"MODULE "):
                        fail("%s: exit 0 but no .sym written" % bad)
                    if err and bad not in err:
                        fail("%s: warning does not name the file:\n%s" % (bad, err))
                if name.startswith("line-") and "compilation unit at offset 0x" not in err:
                    fail("%s: corrupt line table gave no warning:\n%s" % (bad, err))
                if name == "header" and not (rc == 1 or "compilation unit at offset 0x" in err):
                    fail("%s: corrupt first unit header gave neither error nor warning:\n%s" %
                         (bad, err))
                for line in err.splitlines():
                    print("  %s -> exit %d: %s" % (name, rc, line[:200]))
    print("%d corrupt inputs handled" % cases)


def group_splitdwarf():
    """Split DWARF is not read yet: it must be said, not silently dropped."""
    if shutil.which("gcc") is None:
        print("note: gcc missing, nothing to check")
        return
    src = os.path.join(os.path.abspath(FIXTURES_DIR), "src")
    objs = []
    for name in ("main.c", "chain.c"):
        obj = os.path.join(WORK, name + ".o")
        subprocess.run(["gcc", "-O2", "-g", "-gsplit-dwarf", "-I", src, "-c", os.path.join(src, name),
                        "-o", obj], check=True, cwd=WORK)
        objs.append(obj)
    shapes = os.path.join(WORK, "shapes.o")
    subprocess.run(["g++", "-O2", "-g", "-I", src, "-c", os.path.join(src, "shapes.cpp"), "-o", shapes],
                   check=True, cwd=WORK)
    binary = os.path.join(WORK, "split")
    subprocess.run(["g++"] + objs + [shapes, "-o", binary], check=True, cwd=WORK)
    rc, out, err = run_dumpsyms(["-c", binary], check=False)
    print(err.strip())
    if rc != 0:
        fail("exit status %d for a split-DWARF binary" % rc)
    for dwo in ("main.c.dwo", "chain.c.dwo"):
        lines = [l for l in err.splitlines() if "split DWARF (" in l and dwo in l and binary in l]
        if not lines or "is not supported" not in lines[0]:
            fail("no warning naming %s and the binary" % dwo)
    sym = Sym(out)
    # The unit that is not split still gives its functions.
    if not any(f["name"] == "fx_cpp_entry" for f in sym.funcs):
        fail("functions of the ordinary unit are missing")


GROUPS = {
    "splitdwarf": group_splitdwarf,
    "lines": group_lines,
    "funcset": group_funcset,
    "inlines": group_inlines,
    "determinism": group_determinism,
    "badinput": group_badinput,
}

if __name__ == "__main__":
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK, exist_ok=True)
    GROUPS[GROUP]()
    print("PASS")
