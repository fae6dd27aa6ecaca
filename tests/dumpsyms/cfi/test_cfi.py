#!/usr/bin/env python3
"""STACK CFI tests of dumpsyms against independent decoders.

    test_cfi.py GROUP DUMPSYMS WORKDIR

Groups:
  oracle   fixture programs for every architecture with a cross compiler
           (-O0 and -O2) and libc, each input on its own floor: at the
           oracle's addresses (every FDE's first and last byte, every row
           boundary of `readelf -wF` and the byte before it) the CFA,
           return-address and saved-register rules in effect must equal
           readelf's; every INIT covers exactly its FDE; DWARF expressions
           are evaluated (ours as postfix, readelf's DW_OPs) on synthetic
           register states; no rule for a register readelf does not list.
           (llvm-dwarfdump 14 forgets the CFA on DW_CFA_restore_state, so
           readelf is the oracle.)
  special  -fomit-frame-pointer with a large frame, aarch64 pac-ret
           (negate_ra_state must not truncate), .debug_frame-only, both
           sections (no duplicate INIT), ARM EXIDX-only (vs readelf -u).
  corrupt  damaged .eh_frame copies: a warning naming the file, no crash.
  jobs     byte-identical output for -j1, -j2, -j3.
  beside   whole dumps (DWARF, synthesized CFI, a damaged .eh_frame) with
           CFI collected beside finalize (-j2, -j3) or in turn (-j1): the
           same output and the same warnings.
"""

import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import oracle_util  # noqa: E402

MIN_AGREEMENT = 99.5
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def sanitizer_trouble(stderr):
    return any(s in stderr for s in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                                       "UndefinedBehaviorSanitizer"))


# ---- our side -----------------------------------------------------------

def parse_rules(text):
    """'.cfa: $rsp 16 + .ra: .cfa -8 + ^' -> {'.cfa': '$rsp 16 +', ...}"""
    out = {}
    name = None
    for tok in text.split():
        if tok.endswith(":"):
            name = tok[:-1]
            out[name] = []
        elif name is None:
            raise ValueError("rule text without a name: %r" % text)
        else:
            out[name].append(tok)
    return {k: " ".join(v) for k, v in out.items()}


class OurCFI:
    def __init__(self, sym_text):
        self.entries = []  # (addr, size, init_rules, [(addr, rules)])
        for line in sym_text.splitlines():
            if line.startswith("STACK CFI INIT "):
                f = line.split(" ", 5)
                self.entries.append((int(f[3], 16), int(f[4], 16), parse_rules(f[5]), []))
            elif line.startswith("STACK CFI "):
                f = line.split(" ", 3)
                self.entries[-1][3].append((int(f[2], 16), parse_rules(f[3])))
        self.entries.sort(key=lambda e: e[0])
        self.starts = [e[0] for e in self.entries]

    def rules_at(self, addr):
        import bisect
        i = bisect.bisect_right(self.starts, addr) - 1
        if i < 0:
            return None
        a, size, init, rows = self.entries[i]
        if addr >= a + size:
            return None
        rules = dict(init)
        for ra, r in rows:
            if ra <= addr:
                rules.update(r)
        return rules


# ---- readelf side -------------------------------------------------------

FDE_RE = re.compile(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)")
CIE_RE = re.compile(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE\b")


class ReadelfCFI:
    """readelf -wF tables: per section, a list of FDEs (lo, hi, cols, rows)."""

    def __init__(self, path):
        # -wN: describe this file only, never a debug file found by link.
        text = run(["readelf", "-wNF", path], check=False).stdout
        self.sections = {".eh_frame": [], ".debug_frame": []}
        cur_sec = None
        fde = None
        cies = {}
        for line in text.splitlines():
            m = re.match(r"^Contents of the (\.[\w.]+) section\b", line)
            if m:
                cur_sec = self.sections.setdefault(m.group(1), [])
                fde = None
                continue
            m = FDE_RE.match(line)
            if m and cur_sec is not None:
                fde = {"off": int(m.group(1), 16), "lo": int(m.group(3), 16), "hi": int(m.group(4), 16),
                       "cols": None, "rows": [], "cie": (id(cur_sec), int(m.group(2), 16))}
                cur_sec.append(fde)
                continue
            m = CIE_RE.match(line)
            if m and cur_sec is not None:
                # An FDE without instructions gets no table of its own: it
                # runs on its CIE's initial row.
                fde = {"off": int(m.group(1), 16), "lo": 0, "hi": 0, "cols": None, "rows": []}
                cies[(id(cur_sec), fde["off"])] = fde
                continue
            if fde is None:
                continue
            if line.strip().startswith("LOC"):
                fde["cols"] = line.split()[2:]  # after LOC, CFA
                continue
            if "ZERO terminator" in line:
                fde = None
                continue
            # A register rule prints as "r9 (r9)" or "r1 (rdx)": keep the name.
            parts = re.sub(r"\br\d+ \(([^)\s]+)\)", r"\1", line).split()
            if fde["cols"] is not None and len(parts) >= 2 and re.fullmatch(r"[0-9a-f]+", parts[0]):
                vals = parts[2:]
                fde["rows"].append((int(parts[0], 16), parts[1], dict(zip(fde["cols"], vals))))
        # The raw instructions, to tell "no rule" from DW_CFA_undefined
        # (both print as "u" in the table).
        self.raw = {}
        self._exprs = {}
        sec = None
        raw = run(["readelf", "-wNf", path], check=False).stdout
        for block in re.split(r"\n\s*\n", raw):
            m = re.search(r"^Contents of the (\.[\w.]+) section\b", block, re.M)
            if m:
                sec = m.group(1)
            m = re.search(r"^([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+) (CIE|FDE)(?: cie=([0-9a-f]+))?", block, re.M)
            if m and sec:
                cie = int(m.group(4), 16) if m.group(4) else None
                self.raw[(sec, int(m.group(1), 16))] = (block, cie)
        for fdes in self.sections.values():
            for f in fdes:
                cie = cies.get(f.pop("cie"))
                if not f["rows"] and cie and cie["rows"]:
                    f["cols"] = cie["cols"]
                    f["rows"] = [(f["lo"],) + tuple(cie["rows"][0][1:])]
            fdes.sort(key=lambda f: f["lo"])

    def expressions(self, sec, f):
        """[(location, column, kind, DW_OP text)] of the FDE's (and its
        CIE's) expression rules, in program order; column is readelf's
        register name or ".cfa"."""
        key = (sec, f["off"])
        if key in self._exprs:
            return self._exprs[key]
        block, cie = self.raw.get(key, ("", None))
        cie_block = self.raw.get((sec, cie), ("", None))[0] if cie is not None else ""
        out = []
        for text, start in ((cie_block, -1), (block, f["lo"])):
            loc = start
            for line in text.splitlines():
                m = re.search(r"DW_CFA_(?:advance_loc\d?|set_loc)\b.* to ([0-9a-f]+)$", line)
                if m:
                    loc = int(m.group(1), 16)
                    continue
                m = re.search(r"DW_CFA_def_cfa_expression \((.*)\)$", line)
                if m:
                    out.append((loc, ".cfa", "cfa", m.group(1)))
                    continue
                m = re.search(r"DW_CFA_(val_expression|expression): r\d+ \(([^)\s]+)\) \((.*)\)$", line)
                if m:
                    out.append((loc, m.group(2), m.group(1), m.group(3)))
        self._exprs[key] = out
        return out

    def usable_end(self, sec, f, ra_name):
        """Where the FDE stops being something a STACK CFI record can say:
        the return address made undefined (the end of the stack, _start),
        or a CFA expression Breakpad's postfix has no operator for (the
        PLT's comparison).  The INIT must end exactly there."""
        end = f["hi"]
        for loc, col, kind, ops in self.expressions(sec, f):
            if col in (".cfa", ra_name) and re.search(r"DW_OP_(?:ge|gt|le|lt|eq|ne|shl|shr|and|or|xor|bra|skip)\b",
                                                      ops):
                end = min(end, max(loc, f["lo"]))
        block = self.raw.get((sec, f["off"]), ("", None))[0]
        loc = f["lo"]
        for line in block.splitlines():
            m = re.search(r"DW_CFA_(?:advance_loc\d?|set_loc)\b.* to ([0-9a-f]+)$", line)
            if m:
                loc = int(m.group(1), 16)
            elif re.search(r"DW_CFA_undefined: r\d+ \(%s\)" % re.escape(ra_name), line):
                end = min(end, loc)
                break
        return end

    def outermost(self, sec, off):
        block, cie = self.raw.get((sec, off), ("", None))
        cie_block = self.raw.get((sec, cie), ("", None))[0] if cie is not None else ""
        return "DW_CFA_undefined" in block + cie_block

    def fde_at(self, addr):
        for sec in (".eh_frame", ".debug_frame"):
            for f in self.sections.get(sec, []):
                if f["lo"] <= addr < f["hi"] and f["rows"]:
                    return f
        return None

    @staticmethod
    def row_at(fde, addr):
        best = None
        for r in fde["rows"]:
            if r[0] <= addr:
                best = r
        return best


def load_address(path):
    out = run(["readelf", "-lW", path]).stdout
    addrs = [int(m.group(1), 16) for m in re.finditer(r"^\s+LOAD\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", out, re.M)]
    return min(addrs) if addrs else 0


def exec_ranges(path):
    out = run(["readelf", "-SW", path]).stdout
    ranges = []
    for line in out.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "X" in m.group(4) and "A" in m.group(4):
            lo = int(m.group(2), 16)
            ranges.append((lo, lo + int(m.group(3), 16)))
    return ranges


# ---- rule normalisation -------------------------------------------------

RA_REG = {"x86": "$eip", "x86_64": "$rip", "arm": "lr", "arm64": "x30", "riscv64": "ra",
          "s390x": "r14", "ppc64": "lr"}


def readelf_reg(arch, name):
    if arch in ("x86", "x86_64"):
        return name.lstrip("$")
    if arch == "arm":
        return {"sp": "r13", "lr": "r14", "pc": "r15"}.get(name, name)
    return name


def norm_cfa(arch, rule):
    m = re.fullmatch(r"(\S+) (-?\d+) \+", rule or "")
    if not m:
        return "exp" if rule else None
    return "%s%+d" % (readelf_reg(arch, m.group(1)), int(m.group(2)))


def norm_reg(arch, name, rule):
    """Our rule for a register -> readelf's notation ('u' for same value)."""
    if rule is None or rule == name:
        return "u"
    m = re.fullmatch(r"\.cfa (-?\d+) \+ \^", rule)
    if m:
        return "c%+d" % int(m.group(1))
    m = re.fullmatch(r"\.cfa (-?\d+) \+", rule)
    if m:
        return "v%+d" % int(m.group(1))
    if re.fullmatch(r"[$\w.]+", rule):
        return readelf_reg(arch, rule)
    return "vexp" if not rule.endswith("^") else "exp"


def norm_readelf(v):
    return "u" if v in (None, "u", "s") else v


def our_regs(arch, rules):
    """{readelf column name: normalised rule} for saved registers."""
    out = {}
    for name, rule in rules.items():
        if name in (".cfa", ".ra"):
            continue
        out[readelf_reg(arch, name)] = norm_reg(arch, name, rule)
    return out


# ---- the oracle ---------------------------------------------------------

class Tally:
    """Counts of one input (or a pool, for the special cases)."""

    KEYS = ("total", "agree", "reg_total", "reg_agree", "fdes", "fdes_covered", "ranges", "ranges_exact",
            "expr_total", "expr_agree", "extra_total", "extra")

    def __init__(self):
        for k in self.KEYS:
            setattr(self, k, 0)
        self.bad = []

    def add(self, other):
        for k in self.KEYS:
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.bad += other.bad


# Per FDE at most this many interior row boundaries are sampled (each with
# the byte before it); the FDE's first and last byte always are.  Bounds the
# time on libc's long hand-written functions, never skips a range end.
ROWS_PER_FDE = 24
STATES = (1, 2, 3)  # seeds of the synthetic register states for expressions


def wanted_fdes(oracle, path, arch, load, ours):
    """The oracle's FDEs that must have a STACK CFI INIT: usable, in
    executable code, described once (.eh_frame wins over .debug_frame)."""
    ex = exec_ranges(path)
    seen = set()
    out = []
    for sec in (".eh_frame", ".debug_frame"):
        for f in oracle.sections.get(sec, []):
            if not f["rows"] or f["hi"] <= f["lo"]:
                continue
            if not any(lo <= f["lo"] and f["hi"] <= hi for lo, hi in ex):
                continue
            if f["lo"] in seen:
                continue  # the same code described by both sections
            seen.add(f["lo"])
            first = f["rows"][0]
            ra0 = first[2].get("ra", "u")
            if first[1] in ("exp", "vexp") and not oracle.expressions(sec, f):
                continue  # an expression readelf does not spell out
            if arch in ("x86", "x86_64") and ra0 == "u":
                continue  # outermost frame: no INIT wanted
            if ours.rules_at(f["lo"] - load) is None and oracle.outermost(sec, f["off"]):
                continue  # DW_CFA_undefined return address: the end of the stack
            out.append((sec, f))
    return out


def fde_samples(f):
    """Addresses from the oracle's own view of the FDE: its first and last
    byte, and every row boundary with the byte before it (bounded)."""
    lo, hi = f["lo"], f["hi"]
    starts = sorted({r[0] for r in f["rows"] if lo < r[0] < hi})
    if len(starts) > ROWS_PER_FDE:
        step = len(starts) / float(ROWS_PER_FDE)
        starts = [starts[int(i * step)] for i in range(ROWS_PER_FDE)]
    pts = {lo, hi - 1}
    for a in starts:
        pts.update((a, a - 1))
    return sorted(p for p in pts if lo <= p < hi)


def reg_value(seed, name):
    """A register's value in synthetic state `seed`: distinct per register,
    8-aligned, so any wrong register or offset gives another value."""
    h = seed * 0x100000001B3
    for ch in name:
        h = ((h ^ ord(ch)) * 0x100000001B3) & oracle_util.MASK64
    return 0x7f0000000000 + (h & 0xffffff8)


def check_binary(path, arch, sym_text, label, coverage=True):
    t = Tally()
    ours = OurCFI(sym_text)
    oracle = ReadelfCFI(path)
    load = load_address(path)
    ra_same = RA_REG[arch]
    ra_col = readelf_reg(arch, ra_same)
    wanted = wanted_fdes(oracle, path, arch, load, ours)
    by_start = {e[0]: e for e in ours.entries}
    for sec, f in wanted:
        t.fdes += 1
        lo = f["lo"] - load
        if ours.rules_at(lo) is not None:
            t.fdes_covered += 1
        elif coverage:
            t.bad.append("%s: FDE at %s 0x%x (pc %x) has no STACK CFI" % (label, sec, f["off"], f["lo"]))
        # The INIT must cover exactly the FDE's range (up to where it stops
        # being expressible).
        end = oracle.usable_end(sec, f, ra_col)
        t.ranges += 1
        e = by_start.get(lo)
        if e is not None and e[1] == end - f["lo"]:
            t.ranges_exact += 1
        else:
            t.bad.append("%s: FDE pc %x..%x (usable to %x): INIT %s" %
                         (label, f["lo"], f["hi"], end, "missing" if e is None else
                          "%x size 0x%x" % (e[0], e[1])))
        exprs = oracle.expressions(sec, f)
        for a in fde_samples(dict(f, hi=end)):
            rules = ours.rules_at(a - load)
            row = ReadelfCFI.row_at(f, a)
            t.total += 1
            if rules is None or row is None:
                t.bad.append("%s: %x: ours %s, readelf %s" % (label, a, rules, row))
                continue
            _, r_cfa, r_cols = row
            o_ra = rules.get(".ra")
            o_ra = "u" if o_ra == ra_same else norm_reg(arch, ".ra", o_ra)
            e_ra = norm_readelf(r_cols.get("ra"))
            exp_cols = {c for c, v in r_cols.items() if v in ("exp", "vexp")}
            if r_cfa in ("exp", "vexp"):
                exp_cols.add(".cfa")
            if r_cols.get("ra") in ("exp", "vexp"):
                exp_cols.add("ra")
            cfa_ok = r_cfa in ("exp", "vexp") or norm_cfa(arch, rules.get(".cfa")) == r_cfa
            ra_ok = "ra" in exp_cols or o_ra == e_ra
            if cfa_ok and ra_ok:
                t.agree += 1
            else:
                t.bad.append("%s: %x: ours cfa=%s ra=%s, readelf cfa=%s ra=%s" %
                             (label, a, norm_cfa(arch, rules.get(".cfa")), o_ra, r_cfa, e_ra))
            if exp_cols:
                check_expressions(t, arch, label, a, rules, exprs, exp_cols, ra_col)
            mine = our_regs(arch, rules)
            for col, val in r_cols.items():
                if col == "ra" or col in exp_cols or not re.fullmatch(r"[a-z]+\d*", col):
                    continue
                t.reg_total += 1
                if mine.get(col, "u") == norm_readelf(val):
                    t.reg_agree += 1
                else:
                    t.bad.append("%s: %x: register %s ours %s, readelf %s" %
                                 (label, a, col, mine.get(col, "u"), val))
            # Rules we emit for registers the oracle has no column for.
            t.extra_total += 1
            extra = sorted(c for c, v in mine.items() if v != "u" and c not in r_cols and c != ra_col)
            if extra:
                t.extra += 1
                t.bad.append("%s: %x: rules the oracle does not have: %s" %
                             (label, a, ", ".join("%s=%s" % (c, mine[c]) for c in extra)))
    return t


def check_expressions(t, arch, label, addr, rules, exprs, cols, ra_col):
    """Evaluates our postfix and the oracle's DW_OP expressions in effect at
    addr on a few synthetic register states; the values must be equal."""
    def ours_name(col):
        if col == ".cfa":
            return ".cfa"
        if col == "ra":
            return ".ra"
        for name in rules:
            if name not in (".cfa", ".ra") and readelf_reg(arch, name) == col:
                return name
        return None

    for col in sorted(cols):
        key = ra_col if col == "ra" else col
        have = [(loc, kind, ops) for loc, reg, kind, ops in exprs if reg == key and loc <= addr]
        t.expr_total += 1
        if not have:
            t.bad.append("%s: %x: %s: readelf shows an expression, none found in -wf" % (label, addr, col))
            continue
        _loc, kind, ops = have[-1]
        mine = rules.get(ours_name(col)) if ours_name(col) else None
        cfa_rule = rules.get(".cfa")
        if mine is None or cfa_rule is None:
            t.bad.append("%s: %x: %s: ours has no rule, readelf %s" % (label, addr, col, ops))
            continue
        cfa_ops = [(l, k, o) for l, r, k, o in exprs if r == ".cfa" and l <= addr]
        ok = True
        for seed in STATES:
            mem = oracle_util.synthetic_memory(seed)

            def by_name(tok, seed=seed):
                if tok.startswith(".") or re.fullmatch(r"-?\d+", tok):
                    return None
                return reg_value(seed, readelf_reg(arch, tok))

            def by_num(num, name, seed=seed):
                return reg_value(seed, name if name else "r%d" % num)

            try:
                our_cfa = oracle_util.eval_postfix(cfa_rule, by_name, mem)
                if col == ".cfa":
                    want = oracle_util.eval_dwarf_ops(ops, by_num, mem)
                    got = our_cfa
                else:
                    # The oracle's CFA: its expression, or the plain rule
                    # we already compared as text.
                    if ".cfa" in cols and cfa_ops:
                        their_cfa = oracle_util.eval_dwarf_ops(cfa_ops[-1][2], by_num, mem)
                    else:
                        their_cfa = our_cfa
                    v = oracle_util.eval_dwarf_ops(ops, by_num, mem, push_first=their_cfa)
                    want = mem(v) if kind == "expression" else v
                    got = oracle_util.eval_postfix(mine, by_name, mem, cfa=our_cfa)
            except (oracle_util.EvalError, IndexError, KeyError) as e:
                t.bad.append("%s: %x: %s: cannot evaluate (%s): ours %r, readelf %s" %
                             (label, addr, col, e, mine, ops))
                ok = False
                break
            if got != want:
                t.bad.append("%s: %x: %s: ours %r = 0x%x, readelf %s = 0x%x (state %d)" %
                             (label, addr, col, mine, got, ops, want, seed))
                ok = False
                break
        if ok:
            t.expr_agree += 1


def readelf_to_ours(arch, name):
    if arch in ("x86", "x86_64"):
        return "$" + name
    return name


def dump(dumpsyms, path, extra=("--cfi-only",)):
    # --cfi-only: these tests are about STACK records, and should fail only
    # because of them.
    args = list(extra) if path in extra else list(extra) + [path]
    p = run([dumpsyms] + args, check=False)
    if p.returncode != 0 or sanitizer_trouble(p.stderr):
        raise RuntimeError("dumpsyms %s failed (%d): %s" % (path, p.returncode, p.stderr))
    return p.stdout


def report(t, what):
    """The pooled check of the special cases (each one small, and each with
    its own assertions too)."""
    rate = 100.0 * t.agree / t.total if t.total else 0.0
    reg_rate = 100.0 * t.reg_agree / t.reg_total if t.reg_total else 100.0
    cov = 100.0 * t.fdes_covered / t.fdes if t.fdes else 100.0
    print("%s: CFA/RA agreement %.2f%% (%d/%d sampled addresses), saved registers %.2f%% (%d/%d), "
          "FDE coverage %.2f%% (%d/%d), exact INIT ranges %d/%d, expressions %d/%d, extra rules at %d" %
          (what, rate, t.agree, t.total, reg_rate, t.reg_agree, t.reg_total, cov, t.fdes_covered, t.fdes,
           t.ranges_exact, t.ranges, t.expr_agree, t.expr_total, t.extra))
    for b in t.bad[:40]:
        print("  disagreement: " + b)
    if len(t.bad) > 40:
        print("  ... %d more" % (len(t.bad) - 40))
    if t.total == 0:
        fail("%s: nothing sampled" % what)
    if rate < MIN_AGREEMENT:
        fail("%s: CFA/RA agreement %.2f%% below %.1f%%" % (what, rate, MIN_AGREEMENT))
    if reg_rate < MIN_AGREEMENT:
        fail("%s: register agreement %.2f%% below %.1f%%" % (what, reg_rate, MIN_AGREEMENT))
    if cov < MIN_AGREEMENT:
        fail("%s: FDE coverage %.2f%% below %.1f%%" % (what, cov, MIN_AGREEMENT))
    if t.ranges_exact != t.ranges:
        fail("%s: %d of %d INIT ranges differ from their FDE's" % (what, t.ranges - t.ranges_exact, t.ranges))
    if t.extra or t.expr_agree != t.expr_total:
        fail("%s: %d samples with rules the oracle lacks, %d/%d expressions agree" %
             (what, t.extra, t.expr_agree, t.expr_total))


def floor_rows(floors, label, t):
    floors.add(label, "CFA/RA", t.agree, t.total)
    floors.add(label, "registers", t.reg_agree, t.reg_total)
    floors.add(label, "FDE coverage", t.fdes_covered, t.fdes)
    exact.add(label, "INIT = FDE", t.ranges_exact, t.ranges)
    exact.add(label, "no extra rule", t.extra_total - t.extra, t.extra_total)
    if t.expr_total:
        exact.add(label, "expressions", t.expr_agree, t.expr_total)


floors = oracle_util.Floors(MIN_AGREEMENT)
exact = oracle_util.Floors(100.0)


# ---- groups -------------------------------------------------------------

def group_oracle(dumpsyms, work):
    import build_fixtures
    oracle_util.require("readelf")
    # The DWARF tests' fixture directory: the builder locks and reuses what
    # is already built there, so each binary is compiled once per build.
    shared = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(work))), "dwarf", "fixtures")
    fixtures = build_fixtures.build(shared, jobs=2,
                                    variants=["O0-dwarf5", "O2-dwarf4"], extra=False)
    bad = []
    for fx in fixtures:
        sym = dump(dumpsyms, fx.path)
        label = os.path.basename(fx.path)
        t = check_binary(fx.path, fx.arch, sym, label)
        floor_rows(floors, label, t)
        bad += t.bad
    # The C library: hand-written assembly CFI, signal trampolines, expressions.
    # Its own row: its 50000 samples must not carry a fixture that failed.
    libcs = [p for p in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6")
             if os.path.exists(p)]
    if not libcs:
        oracle_util.partly_missing("the x86_64 C library", "its CFI")
    for libc in libcs[:1]:
        # Only the library itself: readelf -wN sees no separate debug file either.
        nodebug = os.path.join(work, "no-debug-files")
        os.makedirs(nodebug, exist_ok=True)
        sym = dump(dumpsyms, libc, ["--cfi-only", "--debug-dir", nodebug])
        t = check_binary(libc, "x86_64", sym, "libc.so.6")
        floor_rows(floors, "libc.so.6", t)
        bad += t.bad
        if t.expr_total < 10:
            fail("libc.so.6: only %d expression rules evaluated" % t.expr_total)
    problems = floors.report("oracle (%d fixtures + libc)" % len(fixtures), min_samples=1)
    problems += exact.report("oracle, exact (every INIT range, every rule)")
    for b in bad[:60]:
        print("  disagreement: " + b)
    if len(bad) > 60:
        print("  ... %d more" % (len(bad) - 60))
    for p in problems:
        fail(p)


BIG_FRAME_C = r"""
int g(int);
int big(int x) { volatile char buf[200000]; buf[x] = 1; return g(buf[x + 1]) + 1; }
int h(int a, int b) { int s = 0; for (int i = 0; i < a; i++) s += g(i * b); return s + big(a); }
int many(int a, int b, int c, int d, int e, int f, int g2, int h2) {
    int r = g(a) + g(b) * g(c); r += g(d + e); r += g(f) * g(g2) * g(h2); return r + g(r); }
int main(void) { return h(3, 4) + many(1, 2, 3, 4, 5, 6, 7, 8); }
int g(int x) { return x; }
"""


def compile_prog(cc, src_text, out, flags, name="prog.c"):
    src = os.path.join(os.path.dirname(out), os.path.basename(out) + "-" + name)
    with open(src, "w") as f:
        f.write(src_text)
    run([cc] + flags + [src, "-o", out])
    return out


def have(tool):
    """Is the compiler there?  In CI a missing one fails the test (through
    oracle_util); elsewhere its cases are left out with a note."""
    if shutil.which(tool) is not None:
        return True
    return oracle_util.partly_missing(tool, "its cases")


def group_special(dumpsyms, work):
    oracle_util.require("readelf", "gcc", "objcopy")
    os.makedirs(work, exist_ok=True)
    total = Tally()

    # 1. Large frame without frame pointer.
    out = compile_prog("gcc", BIG_FRAME_C, os.path.join(work, "bigframe"),
                       ["-O2", "-fomit-frame-pointer", "-fasynchronous-unwind-tables"])
    sym = dump(dumpsyms, out)
    t = check_binary(out, "x86_64", sym, "bigframe")
    total.add(t)
    if not any(int(x) > 190000 for x in re.findall(r"\.cfa: \$rsp (\d+) \+", sym)):
        fail("bigframe: no CFA of about 200000 bytes:\n" + sym)

    # 2. aarch64 pac-ret: rows after DW_CFA_AARCH64_negate_ra_state.
    if have("aarch64-linux-gnu-gcc"):
        out = compile_prog("aarch64-linux-gnu-gcc", BIG_FRAME_C, os.path.join(work, "pacret"),
                           ["-O2", "-mbranch-protection=pac-ret", "-fasynchronous-unwind-tables"])
        sym = dump(dumpsyms, out)
        t = check_binary(out, "arm64", sym, "pacret")
        total.add(t)
        raw = run(["readelf", "-wf", out]).stdout
        ours = OurCFI(sym)
        oracle = ReadelfCFI(out)
        negated = 0
        for block in re.split(r"\n(?=[0-9a-f]{8} )", raw):
            m = FDE_RE.match(block)
            if not m or "negate_ra_state" not in block and "window_save" not in block:
                continue
            negated += 1
            lo, hi = int(m.group(3), 16), int(m.group(4), 16)
            load = load_address(out)
            e = [x for x in ours.entries if x[0] == lo - load]
            if not e:
                fail("pacret: FDE pc %x with negate_ra_state has no INIT" % lo)
                continue
            if e[0][1] != hi - lo:
                fail("pacret: INIT %x covers 0x%x bytes, FDE 0x%x: truncated" % (lo, e[0][1], hi - lo))
            fde = oracle.fde_at(lo)
            def key(r):
                return (r[1], sorted((k, v) for k, v in r[2].items() if k != "reg34"))
            changes = [b[0] for a, b in zip(fde["rows"], fde["rows"][1:]) if key(a) != key(b)]
            last_change = max(changes)
            if not any(a == last_change - load for a, _ in e[0][3]):
                fail("pacret: FDE pc %x: no row at %x (after negate_ra_state)" % (lo, last_change))
        print("pacret: %d FDEs with negate_ra_state checked" % negated)
        if negated == 0:
            fail("pacret: the compiler emitted no negate_ra_state; the test checks nothing")

    # 3. .debug_frame only.
    out = compile_prog("gcc", BIG_FRAME_C, os.path.join(work, "debugframe"),
                       ["-O2", "-g", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables"])
    sym = dump(dumpsyms, out)
    oracle = ReadelfCFI(out)
    if not oracle.sections.get(".debug_frame"):
        fail("debugframe: compiler made no .debug_frame")
    t = check_binary(out, "x86_64", sym, "debugframe")
    total.add(t)
    if not t.fdes_covered or not any(f["lo"] for f in oracle.sections[".debug_frame"]
                                     if OurCFI(sym).rules_at(f["lo"] - load_address(out))):
        fail("debugframe: no STACK CFI from .debug_frame")

    # 3b. The same with the DWARF in a separate debug file: .debug_frame
    # comes from there, addresses from the stripped binary.
    dbg = out + ".debug"
    stripped = out + ".stripped"
    run(["objcopy", "--only-keep-debug", out, dbg])
    run(["objcopy", "--strip-debug", out, stripped])
    if ".debug_frame" in run(["readelf", "-SW", stripped]).stdout:
        fail("debugframe: strip left .debug_frame in the binary")
    split = dump(dumpsyms, stripped, ["--cfi-only", stripped, dbg])
    stack = lambda text: [l for l in text.splitlines() if l.startswith("STACK ")]
    if not stack(split) or stack(split) != stack(sym):
        fail("debugframe: STACK CFI from the separate debug file differs from the unstripped binary's")
    else:
        print("debugframe: %d STACK lines from the separate debug file, same as unstripped" % len(stack(split)))

    # 4. Both sections describe the same functions: one INIT each.
    out = compile_prog("gcc", '__asm__(".cfi_sections .eh_frame, .debug_frame");\n' + BIG_FRAME_C,
                       os.path.join(work, "bothframes"), ["-O2", "-g", "-fasynchronous-unwind-tables"])
    sym = dump(dumpsyms, out)
    oracle = ReadelfCFI(out)
    if not oracle.sections.get(".debug_frame") or not oracle.sections.get(".eh_frame"):
        fail("bothframes: the binary lacks one of the two sections")
    starts = [e[0] for e in OurCFI(sym).entries]
    if len(starts) != len(set(starts)):
        fail("bothframes: duplicate STACK CFI INIT addresses")
    ents = OurCFI(sym).entries
    for a, b in zip(ents, ents[1:]):
        if a[0] + a[1] > b[0]:
            fail("bothframes: INIT %x (size %x) overlaps INIT %x" % (a[0], a[1], b[0]))
    t = check_binary(out, "x86_64", sym, "bothframes")
    total.add(t)

    # 5. ARM: EXIDX only (no DWARF CFI at all), checked against readelf -u.
    if have("arm-linux-gnueabihf-g++"):
        src = os.path.join(ROOT, "fixtures", "src")
        out = os.path.join(work, "exidx")
        run(["arm-linux-gnueabihf-g++", "-O2", "-funwind-tables", "-I", src, "-x", "c",
             os.path.join(src, "main.c"), os.path.join(src, "chain.c"), "-x", "c++",
             os.path.join(src, "shapes.cpp"), "-x", "none", "-o", out])
        check_exidx(dumpsyms, out, total)
    # Real-world EHABI tables: the Debian armhf cross libraries (stripped).
    for lib in ("/usr/arm-linux-gnueabihf/lib/libstdc++.so.6", "/usr/arm-linux-gnueabihf/lib/libc.so.6"):
        if os.path.exists(lib):
            check_exidx(dumpsyms, lib, total)

    report(total, "special cases")


def exidx_expect(ops_lines):
    """Runs readelf -u's decoded opcodes; returns (cfa_off, ra_rule, regs) or None."""
    vsp, base = 0, "sp"
    saved = {}
    for line in ops_lines:
        text = line.split(None, 1)
        m = re.search(r"(0x[0-9a-f]+\s+)+(.*)$", line.strip())
        text = m.group(2) if m else line.strip()
        if text.startswith("finish"):
            break
        m = re.fullmatch(r"vsp = vsp ([+-]) (\d+)", text)
        if m:
            vsp += int(m.group(2)) * (1 if m.group(1) == "+" else -1)
            continue
        m = re.fullmatch(r"pop \{(.*)\}", text)
        if m:
            regs = []
            for part in m.group(1).split(","):
                part = part.strip()
                r = re.fullmatch(r"r(\d+)(?:-r(\d+))?", part)
                if r:
                    a = int(r.group(1))
                    b = int(r.group(2) or a)
                    regs += list(range(a, b + 1))
                    continue
                return None  # VFP/iWMMXt: leave to the unit of the opcode itself
            for r in sorted(regs):
                if r == 13:
                    return None
                saved[r] = vsp
                vsp += 4
            continue
        return None
    if base != "sp":
        return None
    regs = {}
    for r, off in saved.items():
        regs[r] = ".cfa %d + ^" % (off - vsp)
    ra = regs.get(15) or regs.get(14) or "lr"
    return vsp, ra, regs


def check_exidx(dumpsyms, out, total):
    sym = dump(dumpsyms, out)
    ours = OurCFI(sym)
    load = load_address(out)
    text = run(["readelf", "-u", out]).stdout
    checked = agreed = 0
    for block in re.split(r"\n\s*\n", text):
        m = re.search(r"^(0x[0-9a-f]+)(?: <[^>]*>)?: (.*)$", block, re.M)
        if not m or "cantunwind" in m.group(2):
            continue
        addr = int(m.group(1), 16) - load
        lines = [l for l in block.splitlines()[1:] if l.strip().startswith("0x")]
        if not lines:
            continue  # e.g. a personality routine readelf does not decode
        exp = exidx_expect(lines)
        if exp is None:
            continue
        checked += 1
        rules = ours.rules_at(addr)
        names = {4: "r4", 5: "r5", 6: "r6", 7: "r7", 8: "r8", 9: "r9", 10: "r10", 11: "r11", 14: "lr"}
        want = {".cfa": "sp %d +" % exp[0], ".ra": exp[1]}
        for r, rule in exp[2].items():
            if r in names:
                want[names[r]] = rule
        got = {k: v for k, v in (rules or {}).items() if k in want or k in names.values()}
        if got == want:
            agreed += 1
        else:
            total.bad.append("exidx %x: ours %s, readelf -u %s" % (addr, rules, want))
    print("exidx %s: %d/%d functions agree with readelf -u" % (os.path.basename(out), agreed, checked))
    total.total += checked
    total.agree += agreed
    if checked < 5:
        fail("exidx: only %d EXIDX entries checked" % checked)


def section_offset(path, name):
    out = run(["readelf", "-SW", path]).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and m.group(1) == name:
            return int(m.group(2), 16), int(m.group(3), 16)
    raise RuntimeError("%s: no %s" % (path, name))


def group_corrupt(dumpsyms, work):
    oracle_util.require("readelf", "gcc", "objcopy")
    os.makedirs(work, exist_ok=True)
    base = compile_prog("gcc", BIG_FRAME_C, os.path.join(work, "good"),
                        ["-O2", "-fasynchronous-unwind-tables"])
    off, size = section_offset(base, ".eh_frame")
    with open(base, "rb") as f:
        good = f.read()
    cases = {
        "cie-length": lambda b: b[:off] + b"\xf0\xff\xff\x7f" + b[off + 4:],
        "middle-garbage": lambda b: b[:off + size // 2] + b"\xff" * 48 + b[off + size // 2 + 48:],
        "fde-cie-pointer": lambda b: b[:off + 0x1c] + b"\x00\x00\xff\x7f" + b[off + 0x20:],
        "zeroed": lambda b: b[:off] + b"\x00" * size + b[off + size:],
        "random": lambda b: b[:off] + bytes((i * 131 + 7) & 0xff for i in range(size)) + b[off + size:],
    }
    for name, damage in cases.items():
        path = os.path.join(work, "corrupt-" + name)
        with open(path, "wb") as f:
            f.write(damage(good))
        p = run([dumpsyms, "--cfi-only", path], check=False)
        if p.returncode < 0 or sanitizer_trouble(p.stderr):
            fail("corrupt %s: crashed (%d): %s" % (name, p.returncode, p.stderr[-2000:]))
            continue
        if p.returncode not in (0, 1):
            fail("corrupt %s: exit status %d" % (name, p.returncode))
        if p.returncode == 0 and not p.stdout.startswith("MODULE "):
            fail("corrupt %s: exit 0 without a .sym" % name)
        warned = [l for l in p.stderr.splitlines() if path in l and ("eh_frame" in l or "FDE" in l)]
        print("corrupt %-16s exit %d, %d STACK CFI INIT, %s" % (
            name, p.returncode, p.stdout.count("STACK CFI INIT"), warned[0] if warned else "no warning"))
        if name != "zeroed" and not warned:
            fail("corrupt %s: no warning naming the file and .eh_frame: %s" % (name, p.stderr))
        # One bad entry must not cost the others (read entry by entry).
        if name in ("middle-garbage", "fde-cie-pointer") and p.stdout.count("STACK CFI INIT") < 2:
            fail("corrupt %s: the intact FDEs were lost too" % name)
        # A length that hides the rest of the section: the FDEs past it are
        # found through .eh_frame_hdr (the first CIE's own FDEs are lost).
        if name in ("cie-length", "middle-garbage"):
            if "through .eh_frame_hdr" not in p.stderr:
                fail("corrupt %s: the FDEs past the damage were not looked up in .eh_frame_hdr" % name)
            if name == "cie-length" and p.stdout.count("STACK CFI INIT") < 2:
                fail("corrupt %s: the FDEs of the intact CIE were lost" % name)
        if name != "zeroed" and not any(re.search(r"offset 0x[0-9a-f]+", l) for l in warned):
            fail("corrupt %s: no warning names the entry's offset" % name)
        # Whatever survived must still be well-formed.
        for line in p.stdout.splitlines():
            if line.startswith("STACK CFI INIT") and (".cfa:" not in line or ".ra:" not in line):
                fail("corrupt %s: INIT without .cfa/.ra: %s" % (name, line))
    corrupt_instructions(dumpsyms, work, base, good, off, size)
    corrupt_debug_frame(dumpsyms, work)


def corrupt_instructions(dumpsyms, work, base, good, off, size):
    """An FDE whose program cannot be run costs that FDE only: a warning
    names its offset, every other FDE is written as before."""
    intact = dump(dumpsyms, base)
    inits = {int(l.split()[3], 16): l for l in intact.splitlines() if l.startswith("STACK CFI INIT ")}
    # An FDE (GCC's "zR": length, CIE pointer, pc_begin, range, augmentation
    # length 0, then the program at +17) whose function has an INIT.
    fdes = re.findall(r"^([0-9a-f]{8}) [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.",
                      run(["readelf", "-wf", base]).stdout, re.M)
    pick = [(int(o, 16), int(pc, 16)) for o, pc in fdes if int(pc, 16) in inits]
    if not pick:
        fail("corrupt fde-opcode: no FDE with an INIT in %s" % base)
        return
    fde_off, pc = pick[-1]
    at = off + fde_off + 17
    path = os.path.join(work, "corrupt-fde-opcode")
    with open(path, "wb") as f:
        f.write(good[:at] + b"\x3f" + good[at + 1:])  # 0x3f: no DW_CFA opcode
    p = run([dumpsyms, "--cfi-only", path], check=False)
    if p.returncode != 0 or sanitizer_trouble(p.stderr):
        fail("corrupt fde-opcode: exit %d: %s" % (p.returncode, p.stderr[-2000:]))
        return
    got = {int(l.split()[3], 16): l for l in p.stdout.splitlines() if l.startswith("STACK CFI INIT ")}
    print("corrupt %-16s exit %d, %d STACK CFI INIT (intact: %d)" % ("fde-opcode", p.returncode, len(got),
                                                                      len(inits)))
    want = "FDE at offset 0x%x: bad instructions" % fde_off
    if want not in p.stderr:
        fail("corrupt fde-opcode: no warning %r: %s" % (want, p.stderr))
    # The bad opcode is in the first row: that function has no INIT now.
    if pc in got:
        fail("corrupt fde-opcode: the damaged FDE still has %s" % got[pc])
    for addr, line in inits.items():
        if addr != pc and got.get(addr) != line:
            fail("corrupt fde-opcode: FDE at %x changed: %r, intact %r" % (addr, got.get(addr), line))


def corrupt_debug_frame(dumpsyms, work):
    """Damaged .debug_frame: a warning, the .eh_frame records kept, no crash."""
    base = compile_prog("gcc", '__asm__(".cfi_sections .debug_frame");\n' + BIG_FRAME_C,
                        os.path.join(work, "good-df"), ["-O2", "-g", "-fasynchronous-unwind-tables"])
    off, size = section_offset(base, ".debug_frame")
    with open(base, "rb") as f:
        good = f.read()
    zeroed = os.path.join(work, "corrupt-df-zeroed")
    with open(zeroed, "wb") as f:
        f.write(good[:off] + b"\x00" * size + good[off + size:])
    # --no-synth-cfi: this is about the frame reader; synthesized rows for
    # the functions whose FDEs are gone would blur the counts.
    baseline = dump(dumpsyms, zeroed, ("--cfi-only", "--no-synth-cfi")).count("STACK CFI INIT")  # .eh_frame (crt code) only
    cases = {
        "df-cie-length": lambda b: b[:off] + b"\xf0\xff\xff\x7f" + b[off + 4:],
        "df-middle-garbage": lambda b: b[:off + size // 2] + b"\xff" * 32 + b[off + size // 2 + 32:],
        "df-random": lambda b: b[:off] + bytes((i * 157 + 3) & 0xff for i in range(size)) + b[off + size:],
    }
    for name, damage in cases.items():
        path = os.path.join(work, "corrupt-" + name)
        with open(path, "wb") as f:
            f.write(damage(good))
        p = run([dumpsyms, "--cfi-only", "--no-synth-cfi", path], check=False)
        if p.returncode < 0 or sanitizer_trouble(p.stderr):
            fail("corrupt %s: crashed (%d): %s" % (name, p.returncode, p.stderr[-2000:]))
            continue
        warned = [l for l in p.stderr.splitlines() if path in l and "debug_frame" in l]
        print("corrupt %-18s exit %d, %d STACK CFI INIT, %s" % (
            name, p.returncode, p.stdout.count("STACK CFI INIT"), warned[0] if warned else "no warning"))
        if p.returncode != 0:
            fail("corrupt %s: a bad .debug_frame should not fail the dump" % name)
        if not warned and name != "df-middle-garbage":
            fail("corrupt %s: no warning naming the file and .debug_frame" % name)
        n = p.stdout.count("STACK CFI INIT")
        if n < baseline or baseline < 1:
            fail("corrupt %s: the .eh_frame records were lost too (%d < %d)" % (name, n, baseline))
        if name == "df-middle-garbage":
            # Entry by entry: the FDEs before the damage survive, and the
            # damaged entry is named.
            if n <= baseline:
                fail("corrupt %s: no intact .debug_frame FDE kept" % name)
            if not re.search(r"\.debug_frame: entry at offset 0x[0-9a-f]+", p.stderr):
                fail("corrupt %s: no warning names the bad entry's offset" % name)


def group_jobs(dumpsyms, work):
    oracle_util.require("readelf", "gcc", "objcopy")
    os.makedirs(work, exist_ok=True)
    funcs = []
    for i in range(700):
        funcs.append("int f%d(int x) { volatile char b[%d]; b[x & 7] = x; return g(b[1]) + f%d(x - 1); }"
                     % (i, 16 + (i % 5) * 64, max(i - 1, 0)))
    src = "int g(int);\n" + "\n".join(funcs) + "\nint g(int x) { return x; }\nint main(void) { return f699(3); }\n"
    out = compile_prog("gcc", src, os.path.join(work, "many"), ["-O1", "-fasynchronous-unwind-tables"])
    inputs = [out]
    # Big-endian: .eh_frame goes through the entry-by-entry rewrite.
    if have("s390x-linux-gnu-gcc"):
        inputs.append(compile_prog("s390x-linux-gnu-gcc", src, os.path.join(work, "many-s390x"),
                                   ["-O1", "-fasynchronous-unwind-tables"]))
    for lib in ("/usr/lib/x86_64-linux-gnu/libstdc++.so.6",):
        if os.path.exists(lib):
            inputs.append(lib)
    for path in inputs:
        outs = {}
        for j in ("1", "2", "3"):
            outs[j] = dump(dumpsyms, path, ["--cfi-only", "-j", j])
        n = outs["1"].count("STACK CFI INIT")
        print("jobs %s: %d STACK CFI INIT, -j1/-j2/-j3 %s" % (
            os.path.basename(path), n, "identical" if outs["1"] == outs["2"] == outs["3"] else "DIFFER"))
        if not (outs["1"] == outs["2"] == outs["3"]):
            fail("jobs: %s output depends on the thread count" % path)
        if n < 500:
            fail("jobs: %s: only %d INITs, too few to exercise the workers" % (path, n))


def group_beside(dumpsyms, work):
    """Whole dumps: with -j2 and -j3 STACK CFI is collected on a thread of
    its own beside finalize (dump.c) and added to the module afterwards;
    -j1 does every phase in turn.  The output, synthesized CFI (which reads
    the DWARF FUNCs) included, and the warnings must not depend on it."""
    oracle_util.require("gcc", "objcopy")
    os.makedirs(work, exist_ok=True)
    with_cfi = "\n".join("int w%d(int x) { volatile int b[%d]; b[x & 3] = x; return b[1] + %d; }"
                         % (i, 4 + i % 7, i) for i in range(300))
    # No compiler CFI here: synthesized, from the DWARF FUNCs among others.
    without = "\n".join("int n%d(int x) { return x * %d + 1; }" % (i, i + 3) for i in range(40))
    main_c = ("int w0(int); int n0(int);\n"
              "int main(int argc, char **argv) { (void)argv; return w0(argc) + n0(argc); }\n")
    srcs = []
    for name, text in (("with.c", with_cfi), ("without.c", without), ("main.c", main_c)):
        path = os.path.join(work, "beside-" + name)
        with open(path, "w") as f:
            f.write(text)
        srcs.append(path)
    objs = []
    for src in srcs:
        obj = src[:-2] + ".o"
        unwind = ["-fno-asynchronous-unwind-tables", "-fno-unwind-tables"] if "without" in src \
            else ["-fasynchronous-unwind-tables"]
        run(["gcc", "-g", "-O1", "-c", src, "-o", obj] + unwind)
        objs.append(obj)
    prog = os.path.join(work, "beside")
    run(["gcc", "-g"] + objs + ["-o", prog])
    # A copy whose .eh_frame is damaged midway: its warnings come from the
    # CFI thread and must be said as with -j1.
    off, size = section_offset(prog, ".eh_frame")
    with open(prog, "rb") as f:
        good = f.read()
    damaged = prog + "-damaged"
    with open(damaged, "wb") as f:
        f.write(good[:off + size // 2] + b"\xff" * 48 + good[off + size // 2 + 48:])
    for path in (prog, damaged):
        outs, errs = {}, {}
        for j in ("1", "2", "3"):
            p = run([dumpsyms, "-j", j, "--inlines", path], check=False)
            if p.returncode != 0 or sanitizer_trouble(p.stderr):
                fail("beside: %s -j%s failed (%d): %s" % (path, j, p.returncode, p.stderr[-2000:]))
                return
            outs[j], errs[j] = p.stdout, sorted(p.stderr.splitlines())
        text = outs["1"]
        print("beside %s: %d FUNC, %d STACK CFI INIT, %s synthesized, %d warning(s), -j1/-j2/-j3 %s" % (
            os.path.basename(path), text.count("\nFUNC "), text.count("STACK CFI INIT"),
            "some" if "INFO CFI_SYNTHESIZED" in text else "none", len(errs["1"]),
            "identical" if outs["1"] == outs["2"] == outs["3"] else "DIFFER"))
        if not (outs["1"] == outs["2"] == outs["3"]):
            fail("beside: %s: output depends on the thread count" % path)
        if not (errs["1"] == errs["2"] == errs["3"]):
            fail("beside: %s: warnings depend on the thread count: %r / %r" % (path, errs["1"], errs["2"]))
        if text.count("\nFUNC ") < 300 or text.count("STACK CFI INIT") < 300 or "INFO CFI_SYNTHESIZED" not in text:
            fail("beside: %s: too few FUNC / STACK CFI INIT records or none synthesized" % path)
        # (Compared as sorted lists above: as often with the CFI thread as
        # without it, neither lost nor repeated.)
        if path == damaged and not any(damaged in l and "eh_frame" in l for l in errs["1"]):
            fail("beside: no warning about the damaged .eh_frame: %r" % errs["1"])


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    group, dumpsyms, work = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    os.makedirs(work, exist_ok=True)
    {"oracle": group_oracle, "special": group_special, "corrupt": group_corrupt,
     "jobs": group_jobs, "beside": group_beside}[group](dumpsyms, work)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
