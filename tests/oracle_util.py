"""Helpers shared by the oracle tests (tests that hold our output against an
independent tool: llvm-symbolizer, llvm-dwarfdump, readelf, cross compilers).

Why a module: the rule for a missing tool must be the same everywhere.
When CI is set, a missing oracle or compiler is a failure (CI machines are
set up from scripts/packages.txt, so a missing tool there is a setup bug that
would otherwise hide every check behind it).  Outside CI a test that cannot
run says so with meson's skip status 77, never with PASS; a test that can
still check part of its inputs notes what it left out.

It also holds the small pieces of DWARF the CFI and DWARF oracles both need:
a postfix evaluator for our rules, a DW_OP evaluator for the oracle's
expressions, and per-input tables with a floor for every input.
"""

import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def in_ci():
    return bool(os.environ.get("CI"))


def missing(what, why=""):
    """A tool this whole test needs is missing: fail in CI, skip elsewhere."""
    msg = "%s is not installed%s" % (what, ": " + why if why else "")
    if in_ci():
        print("FAIL: %s (CI is set: a missing oracle or compiler is a failure)" % msg)
        sys.exit(1)
    print("SKIP: " + msg)
    sys.exit(SKIP)


def require(*tools):
    """Every tool on PATH, or missing() for the first that is not."""
    for t in tools:
        if shutil.which(t) is None:
            missing(t)


def partly_missing(what, left_out):
    """A tool for one part of the test is missing: fail in CI, else a note.
    Returns False so callers can write `if not have(x): partly_missing(...)`."""
    msg = "%s is not installed, %s left out" % (what, left_out)
    if in_ci():
        print("FAIL: %s (CI is set)" % msg)
        sys.exit(1)
    print("note: " + msg)
    return False


# ---- per-input floors ------------------------------------------------------

class Floors:
    """Agreement per input and per measure; every input must reach the
    floor by itself (a pooled rate lets one big input, such as libc, hide a
    small fixture that lost everything)."""

    def __init__(self, floor):
        self.floor = floor
        self.rows = {}  # (input, measure) -> [agree, total]

    def add(self, inp, measure, agree, total):
        r = self.rows.setdefault((inp, measure), [0, 0])
        r[0] += agree
        r[1] += total

    def rate(self, key):
        ok, n = self.rows[key]
        return 100.0 * ok / n if n else 100.0

    def report(self, title, min_samples=1):
        """Prints the table, worst first per measure; returns failure texts."""
        print("%s: per-input agreement (floor %.1f%% for every input)" % (title, self.floor))
        problems = []
        keys = sorted(self.rows, key=lambda k: (k[1], self.rate(k), k[0]))
        width = max([len(k[0]) for k in keys] + [10])
        for k in keys:
            ok, n = self.rows[k]
            flag = ""
            if n < min_samples:
                flag = "  <- too few samples"
                problems.append("%s %s: only %d samples" % (k[0], k[1], n))
            elif self.rate(k) < self.floor:
                flag = "  <- below floor"
                problems.append("%s %s: %.2f%% (%d/%d) below %.1f%%" % (k[0], k[1], self.rate(k), ok, n,
                                                                       self.floor))
            print("  %-*s %-14s %7d/%-7d %7.2f%%%s" % (width, k[0], k[1], ok, n, self.rate(k), flag))
        worst = {}
        for k in keys:
            if k[1] not in worst:
                worst[k[1]] = k
        for m, k in sorted(worst.items()):
            ok, n = self.rows[k]
            print("  worst %-14s %s %.2f%% (%d/%d)" % (m, k[0], self.rate(k), ok, n))
        return problems


def bounded(points, limit, keep=()):
    """At most `limit` of the sorted points, spread evenly, always with
    `keep` (range ends) in: bounded run time, every range end tested."""
    keep = sorted(set(keep))
    rest = sorted(set(points) - set(keep))
    room = max(0, limit - len(keep))
    if len(rest) > room:
        step = len(rest) / float(room) if room else 0
        rest = [rest[int(i * step)] for i in range(room)] if room else []
    return sorted(set(keep) | set(rest))


# ---- expression evaluation -------------------------------------------------

class EvalError(Exception):
    pass


MASK64 = (1 << 64) - 1


def eval_postfix(expr, regs, memory, cfa=None, bits=64):
    """Breakpad postfix (as stackwalk reads STACK CFI rules) on a synthetic
    register state.  regs: function name -> value (None: unknown),
    memory: function addr -> value."""
    mask = (1 << bits) - 1
    stack = []
    for tok in expr.split():
        if re.fullmatch(r"-?\d+", tok) or re.fullmatch(r"0x[0-9a-fA-F]+", tok):
            stack.append(int(tok, 0) & mask)
        elif tok == ".cfa":
            if cfa is None:
                raise EvalError(".cfa used in the CFA rule")
            stack.append(cfa)
        elif tok in ("+", "-", "*", "/", "%", "@", "&", "|", "^^"):
            if len(stack) < 2:
                raise EvalError("stack underflow at %r in %r" % (tok, expr))
            b, a = stack.pop(), stack.pop()
            if tok == "+":
                v = a + b
            elif tok == "-":
                v = a - b
            elif tok == "*":
                v = a * b
            elif tok == "/":
                v = a // b if b else 0
            elif tok == "%":
                v = a % b if b else 0
            elif tok == "@":
                v = a & ~(b - 1) if b else a
            elif tok == "&":
                v = a & b
            else:
                v = a | b
            stack.append(v & mask)
        elif tok == "^":
            if not stack:
                raise EvalError("stack underflow at ^ in %r" % expr)
            stack.append(memory(stack.pop()) & mask)
        elif regs(tok) is not None:
            stack.append(regs(tok) & mask)
        else:
            raise EvalError("unknown token %r in %r" % (tok, expr))
    if len(stack) != 1:
        raise EvalError("%d values left by %r" % (len(stack), expr))
    return stack[0]


def eval_dwarf_ops(ops, reg, memory, push_first=None, bits=64):
    """DW_OP text as readelf prints it ("DW_OP_breg7 (rsp): 8; DW_OP_deref")
    evaluated on a synthetic state.  reg: function (dwarf number, readelf's
    name or None) -> value.
    push_first: the CFA, for DW_CFA_expression / val_expression."""
    mask = (1 << bits) - 1
    stack = [] if push_first is None else [push_first & mask]
    for op in [o.strip() for o in ops.split(";") if o.strip()]:
        m = re.fullmatch(r"DW_OP_breg(\d+)(?: \(([^)]*)\))?: (-?\d+)", op) or \
            re.fullmatch(r"DW_OP_bregx: (\d+)(?: \(([^)]*)\))? (-?\d+)", op)
        if m:
            stack.append((reg(int(m.group(1)), m.group(2)) + int(m.group(3))) & mask)
            continue
        m = re.fullmatch(r"DW_OP_reg(\d+)(?: \(([^)]*)\))?", op)
        if m:
            stack.append(reg(int(m.group(1)), m.group(2)) & mask)
            continue
        m = re.fullmatch(r"DW_OP_(?:const\d[us]|constu|consts|lit\d+|addr): ?(-?(?:0x)?[0-9a-f]*)", op)
        if m or re.fullmatch(r"DW_OP_lit(\d+)", op):
            if op.startswith("DW_OP_lit"):
                v = int(re.fullmatch(r"DW_OP_lit(\d+)", op).group(1))
            else:
                v = int(m.group(1), 0)
            stack.append(v & mask)
            continue
        m = re.fullmatch(r"DW_OP_plus_uconst: (\d+)", op)
        if m:
            stack.append((stack.pop() + int(m.group(1))) & mask)
            continue
        if op == "DW_OP_deref":
            stack.append(memory(stack.pop()) & mask)
            continue
        binops = {"DW_OP_plus": lambda a, b: a + b, "DW_OP_minus": lambda a, b: a - b,
                  "DW_OP_mul": lambda a, b: a * b, "DW_OP_and": lambda a, b: a & b,
                  "DW_OP_or": lambda a, b: a | b, "DW_OP_xor": lambda a, b: a ^ b,
                  "DW_OP_shl": lambda a, b: a << b, "DW_OP_shr": lambda a, b: a >> b,
                  "DW_OP_ge": lambda a, b: int(_signed(a, bits) >= _signed(b, bits)),
                  "DW_OP_gt": lambda a, b: int(_signed(a, bits) > _signed(b, bits)),
                  "DW_OP_le": lambda a, b: int(_signed(a, bits) <= _signed(b, bits)),
                  "DW_OP_lt": lambda a, b: int(_signed(a, bits) < _signed(b, bits)),
                  "DW_OP_eq": lambda a, b: int(a == b), "DW_OP_ne": lambda a, b: int(a != b)}
        if op in binops:
            b, a = stack.pop(), stack.pop()
            stack.append(binops[op](a, b) & mask)
            continue
        if op == "DW_OP_dup":
            stack.append(stack[-1])
            continue
        if op == "DW_OP_drop":
            stack.pop()
            continue
        raise EvalError("DW_OP not modelled: %r" % op)
    if not stack:
        raise EvalError("empty stack after %r" % ops)
    return stack[-1]


def _signed(v, bits):
    return v - (1 << bits) if v >> (bits - 1) else v


def synthetic_memory(seed):
    """A deterministic 'memory': every aligned address reads a value of
    its own, so two different addresses (a rule off by 8) read differently."""
    def mem(addr):
        x = (addr * 0x9E3779B97F4A7C15 + seed) & MASK64
        x ^= x >> 29
        return (x * 0xBF58476D1CE4E5B9) & MASK64
    return mem


# ---- .sym text, llvm-symbolizer and llvm-dwarfdump, for the DWARF oracles --
#
# One reading of a .sym and of llvm-symbolizer's answers, and one sampling
# (every function range end, every line-row start and the byte before the
# next row, as llvm-dwarfdump decodes them), for the ELF oracle
# (tests/dumpsyms/dwarf/test_dwarf.py) and the Mach-O one
# (tests/dumpsyms/macho/test_macho_dwarf.py).  Tool names are parameters
# so that a test can use a versioned LLVM (llvm-symbolizer-14 reads Mach-O).

class SymText:
    """A .sym file's FILE, INLINE_ORIGIN, FUNC (with lines and INLINE),
    PUBLIC and MODULE records."""

    def __init__(self, text):
        if isinstance(text, bytes):
            text = text.decode()
        self.module = None
        self.files = {}
        self.origins = {}
        self.funcs = []  # dicts: addr size name lines inlines
        self.publics = []  # (addr, name)
        for line in text.splitlines():
            parts = line.split(" ")
            kind = parts[0]
            if kind == "MODULE":
                self.module = parts[1:]
            elif kind == "FILE":
                self.files[int(parts[1])] = line.split(" ", 2)[2]
            elif kind == "INLINE_ORIGIN":
                self.origins[int(parts[1])] = line.split(" ", 2)[2]
            elif kind == "FUNC":
                rest = parts[1:]
                if rest[0] == "m":
                    rest = rest[1:]
                self.funcs.append({"addr": int(rest[0], 16), "size": int(rest[1], 16),
                                   "name": " ".join(rest[3:]), "lines": [], "inlines": []})
            elif kind == "INLINE":
                nums = [int(x, 16) if i >= 4 else int(x) for i, x in enumerate(parts[1:])]
                depth, call_line, call_file, origin = nums[:4]
                ranges = [(nums[i], nums[i + 1]) for i in range(4, len(nums) - 1, 2)]
                self.funcs[-1]["inlines"].append((depth, call_line, call_file, origin, ranges))
            elif kind == "PUBLIC":
                rest = parts[1:]
                if rest[0] == "m":
                    rest = rest[1:]
                self.publics.append((int(rest[0], 16), " ".join(rest[2:])))
            elif kind in ("INFO", "STACK"):
                continue
            elif self.funcs and re.match(r"^[0-9a-f]+ [0-9a-f]+ \d+ \d+$", line):
                a, s, ln, fi = parts
                self.funcs[-1]["lines"].append((int(a, 16), int(s, 16), int(ln), int(fi)))

    def line_at(self, func, addr):
        for a, s, ln, fi in func["lines"]:
            if a <= addr < a + s:
                return self.files.get(fi, "??"), ln
        return "??", 0

    def func_finder(self):
        """addr -> the FUNC whose range holds it, or None."""
        import bisect
        order = sorted((f["addr"], -f["size"], i) for i, f in enumerate(self.funcs))
        keys = [a for a, _, _ in order]

        def func_at(addr):
            i = bisect.bisect_right(keys, addr) - 1
            for j in range(i, max(-1, i - 8), -1):
                f = self.funcs[order[j][2]]
                if f["addr"] <= addr < f["addr"] + f["size"]:
                    return f
            return None
        return func_at

    def inline_chain(self, func, addr, normalize=lambda n: n):
        """Frames innermost first, like llvm-symbolizer --inlines."""
        active = []
        for depth, call_line, call_file, origin, ranges in func["inlines"]:
            if any(a <= addr < a + s for a, s in ranges):
                del active[depth:]
                if len(active) == depth:
                    active.append((call_line, call_file, origin))
        f, ln = self.line_at(func, addr)
        names = [func["name"]] + [self.origins.get(o, "??") for _, _, o in active]
        locs = [(self.files.get(cf, "??") if cl else "??", cl) for cl, cf, _ in active] + [(f, ln)]
        return [(normalize(name), lf if ll else "??", ll)
                for name, (lf, ll) in zip(reversed(names), reversed(locs))]


def llvm_symbolize(tool, obj, addrs, inlines):
    """llvm-symbolizer frames per address: [(name, file, line)], innermost
    first (file "??" when the line is 0)."""
    args = [tool, "-C", "--obj=" + obj, "--inlines" if inlines else "--no-inlines"]
    inp = "".join("0x%x\n" % a for a in addrs)
    p = subprocess.run(args, input=inp.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=True)
    blocks = p.stdout.decode().split("\n\n")
    out = []
    for b in blocks[:len(addrs)]:
        lines = [x for x in b.split("\n") if x]
        frames = []
        for i in range(0, len(lines) - 1, 2):
            m = re.match(r"^(.*):(\d+):\d+$", lines[i + 1]) or re.match(r"^(.*):(\d+)$", lines[i + 1])
            f, ln = (m.group(1), int(m.group(2))) if m else (lines[i + 1], 0)
            frames.append((lines[i], f if ln else "??", ln))
        out.append(frames)
    if len(out) != len(addrs):
        raise RuntimeError("%s gave %d answers for %d addresses" % (tool, len(out), len(addrs)))
    return out


def score_lines(sym, addrs, answers, bias, label, disagreements, norm=lambda n: n):
    """How many of addrs get the same outermost (function, file, line) from
    the .sym (at addr - bias) as from llvm-symbolizer's answers; each
    disagreement is appended to `disagreements` as one line."""
    func_at = sym.func_finder()
    ok = 0
    for a, frames in zip(addrs, answers):
        f = func_at(a - bias)
        ours = (norm(f["name"]),) + sym.line_at(f, a - bias) if f else ("(no FUNC)", "??", 0)
        theirs = frames[0] if frames else ("??", "??", 0)
        theirs = (norm(theirs[0]), theirs[1], theirs[2])
        if ours == theirs:
            ok += 1
        else:
            disagreements.append("%s 0x%x: ours %s:%s:%d, llvm-symbolizer %s:%s:%d" %
                                 (label, a, *ours, *theirs))
    return ok


_CLONE = r"(?:cold|hot|isra|part|constprop|lto_priv|localalias|llvm|__uniq|clone|specialized|split|unlikely)"
_LLVM_CLONE_RE = re.compile(r"(?: \((?:\.(?:" + _CLONE + r"|[0-9a-f]+))+\))+$")
_PLAIN_CLONE_RE = re.compile(r"(?:\.(?:" + _CLONE + r"|[0-9a-f]+))*\." + _CLONE + r"(?:\.[0-9a-f]+)*$")


def normalize_function_name(name):
    """Folds compiler clone suffixes and whitespace, nothing else.

    llvm-symbolizer names the outermost frame from the symbol table, so the
    cold part of a split function comes out as "f.cold" (C) or
    "f(int) (.cold)" (C++); dumpsyms names it after the function the user
    wrote.  Parameter lists and qualifiers must still match."""
    name = _LLVM_CLONE_RE.sub("", name)
    if "(" not in name:
        name = _PLAIN_CLONE_RE.sub("", name)
    return " ".join(name.split())


_LINE_ROW_RE = re.compile(r"^0x([0-9a-f]+)\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+(?:\d+\s+)?(.*)$", re.M)
_DIE_RE = re.compile(r"^0x[0-9a-f]+:\s+(DW_TAG_\w+)", re.M)
_RANGE_RE = re.compile(r"\[0x([0-9a-f]+), 0x([0-9a-f]+)\)")
# Where linkers leave the address of code they dropped (besides 0): -1 and
# -2, in 32 and 64 bits.  Not "anything above 4 GiB": Mach-O executables
# live at 0x100000000.
_TOMBSTONES = (0xfffffffe, 0xffffffff, (1 << 64) - 2, (1 << 64) - 1)


def dwarf_line_spans(tool, binary):
    """[(start, end)] of every line-table row, from `tool --debug-line`."""
    p = subprocess.run([tool, "--debug-line", binary], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    spans, seq = [], []
    for m in _LINE_ROW_RE.finditer(p.stdout.decode(errors="replace")):
        seq.append(int(m.group(1), 16))
        if "end_sequence" in m.group(2):
            starts = sorted(set(seq))
            spans += [(lo, hi) for lo, hi in zip(starts, starts[1:]) if hi > lo]
            seq = []
    return spans


def dwarf_code_ranges(tool, binary, tag="DW_TAG_subprogram", named=False):
    """Merged code ranges of every DIE with this tag, from `tool
    --debug-info`; with named, (name, lo, hi).  Dropped code (address 0 or
    -1) is left out."""
    p = subprocess.run([tool, "--debug-info", binary], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    text = p.stdout.decode(errors="replace")
    starts = [(m.start(), m.group(1)) for m in _DIE_RE.finditer(text)]
    out = []
    for i, (pos, t) in enumerate(starts):
        if t != tag:
            continue
        body = text[pos:starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        if "DW_AT_declaration\t(true)" in body:
            continue
        ranges = []
        low = re.search(r"DW_AT_low_pc\t\(0x([0-9a-f]+)\)", body)
        high = re.search(r"DW_AT_high_pc\t\(0x([0-9a-f]+)\)", body)
        if low and high:
            ranges.append((int(low.group(1), 16), int(high.group(1), 16)))
        if "DW_AT_ranges" in body:
            seg = body[body.index("DW_AT_ranges"):]
            seg = seg[:seg.index("))") + 2] if "))" in seg else seg
            ranges += [(int(a, 16), int(b, 16)) for a, b in _RANGE_RE.findall(seg)]
        ranges = sorted(r for r in ranges if r[1] > r[0])
        if any(lo <= 1 or lo in _TOMBSTONES for lo, _ in ranges):
            continue
        merged = []
        for lo, hi in ranges:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        if named:
            nm = re.search(r'DW_AT_(?:abstract_origin|specification|name)\t\((?:0x[0-9a-f]+ )?"([^"]*)"', body)
            out.extend((nm.group(1) if nm else "", lo, hi) for lo, hi in merged)
        else:
            out.extend(merged)
    return out


def dwarf_sample_addrs(tool, binary, funcs, limit):
    """The oracle's own addresses: first and last byte of every function
    range (all of them), and line-row starts and the byte before the next
    row inside functions (thinned evenly to `limit`)."""
    import bisect
    ends = set()
    for lo, hi in funcs:
        ends.update((lo, hi - 1))
    inside = sorted(funcs)
    starts = [lo for lo, _ in inside]

    def in_func(a):
        i = bisect.bisect_right(starts, a) - 1
        return i >= 0 and a < inside[i][1]

    rows = set()
    for lo, hi in dwarf_line_spans(tool, binary):
        for a in (lo, hi - 1):
            if in_func(a):
                rows.add(a)
    return bounded(rows | ends, limit + len(ends), keep=ends)
