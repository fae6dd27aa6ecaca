#!/usr/bin/env python3
"""meson install puts exactly the files users expect in place, and they work.

    test_install.py MESON BUILD_DIR SOURCE_DIR SCRATCH

Installs the build tree with DESTDIR=SCRATCH/dest, then checks the install
tree file by file against the expected list (the four tools, their section-1
man pages, bash and zsh completions, the docs), runs each installed tool's
--version, renders each man page with groff's warnings on, syntax-checks the
completions with bash -n and zsh -n, and completes a flag through the bash
completion the way a shell would.
"""
import json
import re
import os
import shutil
import subprocess
import sys

MESON, BUILD, SOURCE, SCRATCH = sys.argv[1:5]
TOOLS = ['dumpsyms', 'stackwalk', 'symupload', 'symverify']
failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL: ' + msg)


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    dest = os.path.join(SCRATCH, 'dest')
    os.makedirs(dest)
    env = dict(os.environ, DESTDIR=dest)
    p = subprocess.run([MESON, 'install', '-C', BUILD, '--no-rebuild', '--quiet'], env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode:
        print(p.stdout, p.stderr)
        fail('meson install exited %d' % p.returncode)
        return 1
    opts = {o['name']: o['value'] for o in json.loads(subprocess.run(
        [MESON, 'introspect', '--buildoptions', BUILD], capture_output=True, text=True,
        check=True).stdout)}
    prefix = opts['prefix'].lstrip('/')
    bindir, mandir, datadir = opts['bindir'], opts['mandir'], opts['datadir']
    root = os.path.join(dest, prefix)
    docs = sorted(f for f in os.listdir(os.path.join(SOURCE, 'docs')) if f != 'meson.build')
    expected = set()
    for t in TOOLS:
        expected.add(os.path.join(bindir, t))
        expected.add(os.path.join(mandir, 'man1', t + '.1'))
        expected.add(os.path.join(datadir, 'bash-completion', 'completions', t))
        expected.add(os.path.join(datadir, 'zsh', 'site-functions', '_' + t))
    for d in docs + ['README.md']:
        expected.add(os.path.join(datadir, 'doc', 'symkit', d))
    found = set()
    for dirpath, _, files in os.walk(root):
        for f in files:
            found.add(os.path.relpath(os.path.join(dirpath, f), root))
    for f in sorted(expected - found):
        fail('not installed: %s' % f)
    for f in sorted(found - expected):
        fail('installed but not expected: %s' % f)
    print('%d files installed under DESTDIR/%s, %d expected' % (len(found), prefix, len(expected)))

    for t in TOOLS:
        exe = os.path.join(root, bindir, t)
        if not os.access(exe, os.X_OK):
            fail('%s is not executable' % exe)
            continue
        v = subprocess.run([exe, '--version'], capture_output=True, text=True, timeout=30)
        if v.returncode or 'symkit' not in v.stdout:
            fail('%s --version: exit %d, %r' % (t, v.returncode, v.stdout))
        man = os.path.join(root, mandir, 'man1', t + '.1')
        if os.path.exists(man):
            g = subprocess.run(['groff', '-man', '-Tutf8', '-ww', '-z', man], capture_output=True,
                               text=True, timeout=30)
            if g.returncode or g.stderr.strip():
                fail('%s: groff warns: %s' % (man, g.stderr.strip()[:300]))
            text = subprocess.run(['groff', '-man', '-Tascii', man], capture_output=True,
                                  text=True, timeout=30).stdout
            text = re.sub('.\b', '', text)  # groff's overstrike bold
            for section in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS'):
                if section not in text:
                    fail('%s has no %s section' % (man, section))
        bash_c = os.path.join(root, datadir, 'bash-completion', 'completions', t)
        if os.path.exists(bash_c):
            b = subprocess.run(['bash', '-n', bash_c], capture_output=True, text=True)
            if b.returncode:
                fail('%s: bash -n: %s' % (bash_c, b.stderr.strip()))
        zsh_c = os.path.join(root, datadir, 'zsh', 'site-functions', '_' + t)
        if shutil.which('zsh'):
            z = subprocess.run(['zsh', '-n', zsh_c], capture_output=True, text=True)
            if z.returncode:
                fail('%s: zsh -n: %s' % (zsh_c, z.stderr.strip()))
        elif os.environ.get('CI'):
            fail('zsh is missing (scripts/packages.txt installs it)')
    # What a user's shell does on "dumpsyms --sto<TAB>".
    script = ('source %s; COMP_WORDS=(dumpsyms --sto); COMP_CWORD=1; _symkit_dumpsyms; '
              'echo "${COMPREPLY[@]}"' %
              os.path.join(root, datadir, 'bash-completion', 'completions', 'dumpsyms'))
    c = subprocess.run(['bash', '-c', script], capture_output=True, text=True, timeout=30)
    if c.stdout.split() != ['--store']:
        fail('bash completion of "dumpsyms --sto" gave %r' % c.stdout.strip())
    print('%d failures' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
