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
