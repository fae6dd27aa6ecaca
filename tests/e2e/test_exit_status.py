#!/usr/bin/env python3
"""Every exit status in the docs' tables happens, and nothing else does.

    test_exit_status.py DOCS_DIR SCRATCH DUMPSYMS STACKWALK SYMUPLOAD SYMVERIFY

Reads the "Exit status" table of docs/<tool>.md for each tool, runs one or
more cases for each documented status (built at test time: a small program
compiled with gcc -g, a minidump captured from it, .sym files made from it),
and checks that each case exits with the status the table gives for it, and
that every row of every table is exercised.  symverify's "N" row (capture
mirrors the command) is checked with a clean exit 3, SIGSEGV (139) and a
command that cannot be started (127).
"""
import os
import re
import shutil
import subprocess
import sys

DOCS, SCRATCH, DUMPSYMS, STACKWALK, SYMUPLOAD, SYMVERIFY = map(os.path.abspath, sys.argv[1:7])
TOOLS = {'dumpsyms': DUMPSYMS, 'stackwalk': STACKWALK, 'symupload': SYMUPLOAD,
         'symverify': SYMVERIFY}
failures = []

PROGRAM = r'''
#include <stdlib.h>
#include <string.h>
static int __attribute__((noinline)) poke(int *p) { return *p; }
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "crash") == 0) return poke(NULL);
    if (argc > 1) return atoi(argv[1]);
    return 0;
}
'''


def documented(tool):
    """{status: meaning} from the first table under an 'Exit status' heading."""
    text = open(os.path.join(DOCS, tool + '.md')).read()
    m = re.search(r'^#+ Exit status\s*\n(.*?)(?=^#|\Z)', text, re.M | re.S)
    if not m:
        failures.append('docs/%s.md has no "Exit status" section' % tool)
        return {}
    rows = {}
    for line in m.group(1).split('\n'):
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) >= 2 and cells[0] not in ('status', '') and not set(cells[0]) <= set('-:'):
            rows[cells[0].strip('*')] = cells[1]
    if not rows:
        failures.append('docs/%s.md: the Exit status section has no table' % tool)
    return rows


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
    return p.returncode, p.stderr, p.stdout


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    src = os.path.join(SCRATCH, 'prog.c')
    open(src, 'w').write(PROGRAM)
    prog = os.path.join(SCRATCH, 'prog')
    subprocess.run(['gcc', '-g', '-O1', '-o', prog, src], check=True)
    text = os.path.join(SCRATCH, 'notes.txt')
    open(text, 'w').write('not an object file, not a minidump, not a .sym\n')
    sym = os.path.join(SCRATCH, 'prog.sym')
    subprocess.run([DUMPSYMS, '-o', sym, prog], check=True)
    lost = os.path.join(SCRATCH, 'lost.sym')
    open(lost, 'w').write(''.join(l for l in open(sym) if not l.startswith('FUNC') or 'main' not in l))
    broken = os.path.join(SCRATCH, 'broken.sym')
    open(broken, 'w').write(open(sym).read().replace('FUNC ', 'FUNC zz ', 1))
    dump = os.path.join(SCRATCH, 'prog.dmp')
    run([SYMVERIFY, 'capture', '-q', '-o', dump, '--', prog, 'crash'])
    if not os.path.exists(dump):
        failures.append('symverify capture wrote no dump for the crashing program')
    store = os.path.join(SCRATCH, 'store')
    subprocess.run([DUMPSYMS, '--store', store, prog], check=True, capture_output=True)
    chain = os.path.join(SCRATCH, 'chain.txt')
    open(chain, 'w').write('prog!poke\nprog!main\n')
    wrong_chain = os.path.join(SCRATCH, 'wrong.txt')
    open(wrong_chain, 'w').write('prog!no_such_function\n')

    cases = {
        'dumpsyms': [
            ('0', [DUMPSYMS, '-o', os.path.join(SCRATCH, 'out.sym'), prog]),
            ('0', [DUMPSYMS, '--store', os.path.join(SCRATCH, 'store2'), prog]),
            ('1', [DUMPSYMS, text]),
            ('1', [DUMPSYMS, os.path.join(SCRATCH, 'no-such-file')]),
            ('1', [DUMPSYMS, '--store', os.path.join(SCRATCH, 'store3'), prog, text]),
            ('2', [DUMPSYMS, '--no-such-flag', prog]),
            ('2', [DUMPSYMS]),
        ],
        'stackwalk': [
            ('0', [STACKWALK, dump, store]),
            ('0', [STACKWALK, '--json', dump]),  # no symbols at all: still a report
            ('1', [STACKWALK, text]),
            ('1', [STACKWALK, os.path.join(SCRATCH, 'no-such.dmp')]),
            ('2', [STACKWALK, '--no-such-flag', dump]),
            ('2', [STACKWALK, '-o', os.path.join(SCRATCH, 'no-dir', 'out.txt'), dump, store]),
        ],
        'symupload': [
            ('0', [SYMUPLOAD, '-q', '--store', os.path.join(SCRATCH, 'up'), sym]),
            ('1', [SYMUPLOAD, '-q', '--store', os.path.join(SCRATCH, 'up'), broken]),
            ('1', [SYMUPLOAD, '-q', '--store', os.path.join(SCRATCH, 'up'),
                   os.path.join(SCRATCH, 'no-such-dir')]),
            ('2', [SYMUPLOAD, sym]),  # no destination
            ('2', [SYMUPLOAD, '--no-such-flag', '--store', os.path.join(SCRATCH, 'up'), sym]),
        ],
        'symverify': [
            ('0', [SYMVERIFY, 'lint', sym]),
            ('0', [SYMVERIFY, 'diff', sym, sym]),
            ('0', [SYMVERIFY, 'check', '--symbols', store, '--expect', chain, dump]),
            ('1', [SYMVERIFY, 'lint', broken]),
            ('1', [SYMVERIFY, 'diff', sym, lost]),
            ('1', [SYMVERIFY, 'check', '--symbols', store, '--expect', wrong_chain, dump]),
            ('2', [SYMVERIFY, 'lint', '--no-such-flag', sym]),
            ('2', [SYMVERIFY, 'lint', os.path.join(SCRATCH, 'no-such.sym')]),
            ('2', [SYMVERIFY, 'check', '--symbols', store, os.path.join(SCRATCH, 'no-such.dmp')]),
            ('N', [SYMVERIFY, 'capture', '-q', '-o', os.path.join(SCRATCH, 'c3.dmp'), '--', prog, '3'], 3),
            ('N', [SYMVERIFY, 'capture', '-q', '-o', os.path.join(SCRATCH, 'c139.dmp'), '--', prog,
                   'crash'], 139),
            ('N', [SYMVERIFY, 'capture', '-q', '--', os.path.join(SCRATCH, 'no-such-program')], 127),
        ],
    }
    total = 0
    for tool, tool_cases in cases.items():
        table = documented(tool)
        exercised = set()
        for case in tool_cases:
            status, argv = case[0], case[1]
            want = case[2] if len(case) > 2 else int(status)
            total += 1
            if status not in table:
                failures.append('%s: the test expects status %s, which docs/%s.md does not list' %
                                (tool, status, tool))
            got, err, out = run(argv, cwd=SCRATCH)
            exercised.add(status)
            line = err.strip().split('\n')[-1] if err.strip() else ''
            ok = got == want
            print('%-4s %-9s exit %3d (want %3d) %s%s' % ('ok' if ok else 'FAIL', tool, got, want,
                  ' '.join(os.path.basename(a) if os.path.isabs(a) else a for a in argv[1:]),
                  ('  [' + line[:100] + ']') if line and not ok else ''))
            if not ok:
                failures.append('%s %s: exit %d, docs say %d' % (tool, ' '.join(argv[1:]), got, want))
            # A failure always says why: on stderr, or in the report on stdout
            # (packager summaries, lint findings, check results).
            if got != 0 and want in (1, 2) and not line and not out.strip():
                failures.append('%s %s: failed without saying why' % (tool, ' '.join(argv[1:])))
        for status in table:
            if status not in exercised:
                failures.append('%s: docs/%s.md lists exit status %s, which no case here produces' %
                                (tool, tool, status))
    print('%d cases, %d failures' % (total, len(failures)))
    for f in failures:
        print('FAIL: ' + f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
