"""Compare synthesized STACK CFI with the compiler's, instruction by instruction.

Used by test_synth.py and bench/synth_cfi.sh.  The compiler's rules come from
`dumpsyms --cfi-only --no-synth-cfi` (our CFI reader, itself checked against
readelf by the dumpsyms-cfi tests); the synthesized ones from `dumpsyms
--cfi-only --synth-cfi-everywhere`, which analyses every function as if it had
no CFI.  Instruction boundaries come from llvm-objdump, an independent decoder.
"""
import bisect
import re
import subprocess


def parse_cfi(text):
    """{init_addr: (size, [(addr, {reg: rule})...])} from STACK CFI lines."""
    inits = []
    cur = None
    for line in text.splitlines():
        if line.startswith('STACK CFI INIT '):
            parts = line.split(' ', 5)
            addr, size = int(parts[3], 16), int(parts[4], 16)
            cur = [addr, size, [(addr, rules_of(parts[5]))]]
            inits.append(cur)
        elif line.startswith('STACK CFI ') and cur is not None:
            parts = line.split(' ', 3)
            cur[2].append((int(parts[2], 16), rules_of(parts[3])))
    inits.sort(key=lambda x: x[0])
    return inits


def rules_of(text):
    out = {}
    for m in re.finditer(r'(\S+): ((?:(?!\S+: ).)*)', text):
        out[m.group(1)] = m.group(2).strip()
    return out


class RuleTable:
    """Looks up the full rule set at an address."""

    def __init__(self, inits):
        self.inits = inits
        self.starts = [i[0] for i in inits]

    def at(self, addr):
        k = bisect.bisect_right(self.starts, addr) - 1
        if k < 0:
            return None
        start, size, rows = self.inits[k]
        if addr >= start + size:
            return None
        rules = {}
        for a, r in rows:
            if a > addr:
                break
            rules.update(r)
        return rules


def instructions(objdump, path, load):
    """Addresses (relative to load) of every instruction llvm-objdump decodes."""
    out = subprocess.run([objdump, '-d', '--no-show-raw-insn', path], check=True,
                         capture_output=True, text=True).stdout
    addrs = []
    for line in out.splitlines():
        m = re.match(r'^\s*([0-9a-f]+):\s+(\S+)', line)
        if m and not m.group(2).startswith('<') and m.group(2) not in ('...',):
            # skip data llvm-objdump shows as .word / .byte / (bad)
            if m.group(2).startswith('.') or m.group(2) == '(bad)':
                continue
            addrs.append(int(m.group(1), 16) - load)
    return sorted(set(addrs))


def load_address(path):
    out = subprocess.run(['readelf', '-lW', path], check=True, capture_output=True, text=True).stdout
    lo = None
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == 'LOAD':
            v = int(f[2], 16)
            lo = v if lo is None else min(lo, v)
    return lo or 0


def compare(compiler_sym, synth_sym, insns, max_listed=20):
    ref = RuleTable(parse_cfi(compiler_sym))
    syn = RuleTable(parse_cfi(synth_sym))
    total = given = agree = 0
    bad = []
    for a in insns:
        r = ref.at(a)
        if r is None or '.cfa' not in r or '.ra' not in r:
            continue
        total += 1
        s = syn.at(a)
        if s is None:
            continue
        given += 1
        if (s.get('.cfa') == r['.cfa'] or s.get('.cfa_alt') == r['.cfa']) and s.get('.ra') == r['.ra']:
            agree += 1
        else:
            bad.append((a, r.get('.cfa'), r.get('.ra'), s.get('.cfa'), s.get('.ra')))
    return {'instructions': total, 'given': given, 'agree': agree, 'wrong': len(bad),
            'disagreements': bad[:max_listed]}
