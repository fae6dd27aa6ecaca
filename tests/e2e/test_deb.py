#!/usr/bin/env python3
"""symkit builds as a Debian package, and the package works once installed.

    test_deb.py SOURCE_DIR SCRATCH

Copies the source tree (the files git knows, else the tree without build
directories) to SCRATCH, runs `dpkg-buildpackage -us -uc -b` there (tests
off: DEB_BUILD_OPTIONS=nocheck), installs the .deb with dpkg into an empty
scratch root (its own dpkg database), and checks that the package holds the
four tools, their man pages and completions, that its Depends are packages
this machine has, and that the installed `dumpsyms --version` runs.
"""
import os
import re
import shutil
import subprocess
import sys

SOURCE, SCRATCH = sys.argv[1:3]
TOOLS = ['dumpsyms', 'stackwalk', 'symupload', 'symverify']
failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL: ' + msg)


def source_files():
    if os.path.isdir(os.path.join(SOURCE, '.git')) or os.path.isfile(os.path.join(SOURCE, '.git')):
        out = subprocess.run(['git', '-C', SOURCE, 'ls-files', '-z', '--cached', '--others',
                              '--exclude-standard'], capture_output=True, check=True).stdout
        return [f for f in out.decode().split('\0') if f]
    files = []
    for dirpath, dirnames, names in os.walk(SOURCE):
        dirnames[:] = [d for d in dirnames if not d.startswith('build') and d != '.git']
        files += [os.path.relpath(os.path.join(dirpath, n), SOURCE) for n in names]
    return files


def main():
    for tool in ('dpkg-buildpackage', 'dh', 'dpkg'):
        if not shutil.which(tool):
            if os.environ.get('CI'):
                fail('%s is missing (scripts/packages.txt installs debhelper and dpkg-dev)' % tool)
                return 1
            print('SKIP: %s is not installed' % tool)
            return 77
    shutil.rmtree(SCRATCH, ignore_errors=True)
    src = os.path.join(SCRATCH, 'symkit')
    os.makedirs(src)
    for f in source_files():
        if not os.path.isfile(os.path.join(SOURCE, f)):
            continue
        os.makedirs(os.path.dirname(os.path.join(src, f)) or src, exist_ok=True)
        shutil.copy2(os.path.join(SOURCE, f), os.path.join(src, f))
    env = dict(os.environ, DEB_BUILD_OPTIONS='nocheck parallel=%d' % (os.cpu_count() or 2))
    p = subprocess.run(['dpkg-buildpackage', '-us', '-uc', '-b'], cwd=src, env=env,
                       capture_output=True, text=True, timeout=1200)
    if p.returncode:
        print(p.stdout[-3000:], p.stderr[-3000:])
        fail('dpkg-buildpackage exited %d' % p.returncode)
        return 1
    debs = [f for f in os.listdir(SCRATCH) if re.match(r'symkit_.*\.deb$', f)]
    if len(debs) != 1:
        fail('expected one symkit_*.deb, found %r' % debs)
        return 1
    deb = os.path.join(SCRATCH, debs[0])
    print('built %s (%d bytes)' % (debs[0], os.path.getsize(deb)))
    contents = subprocess.run(['dpkg-deb', '-c', deb], capture_output=True, text=True,
                              check=True).stdout
    paths = {line.split()[-1].lstrip('.') for line in contents.splitlines() if line.split()}
    for t in TOOLS:
        for want in ('/usr/bin/%s' % t, '/usr/share/man/man1/%s.1.gz' % t,
                     '/usr/share/bash-completion/completions/%s' % t,
                     '/usr/share/zsh/site-functions/_%s' % t):
            if want not in paths:
                fail('the package has no %s' % want)
    depends = subprocess.run(['dpkg-deb', '-f', deb, 'Depends'], capture_output=True, text=True,
                             check=True).stdout.strip()
    for dep in depends.split(','):
        name = dep.strip().split()[0] if dep.strip() else ''
        if name and subprocess.run(['dpkg-query', '-W', name], capture_output=True).returncode:
            fail('the package depends on %s, which this machine does not have' % name)
    print('Depends: ' + depends)
    root = os.path.join(SCRATCH, 'root')
    for d in ('var/lib/dpkg/info', 'var/lib/dpkg/updates'):
        os.makedirs(os.path.join(root, d))
    for f in ('var/lib/dpkg/status', 'var/lib/dpkg/available'):
        open(os.path.join(root, f), 'w').close()
    # The scratch root has no libc package, so its dependencies are taken
    # from the host (checked above); the package itself is really installed.
    i = subprocess.run(['dpkg', '--root=' + root, '--force-depends', '--force-not-root',
                        '--force-script-chrootless', '--log=/dev/null', '-i', deb],
                       capture_output=True, text=True, timeout=300)
    if i.returncode:
        fail('dpkg -i into the scratch root exited %d: %s' % (i.returncode, i.stderr[-500:]))
        return 1
    st = subprocess.run(['dpkg', '--root=' + root, '-s', 'symkit'], capture_output=True, text=True)
    if 'Status: install ok installed' not in st.stdout:
        fail('dpkg does not list symkit as installed in the scratch root')
    v = subprocess.run([os.path.join(root, 'usr/bin/dumpsyms'), '--version'], capture_output=True,
                       text=True, timeout=30)
    print('installed dumpsyms --version: ' + v.stdout.strip())
    if v.returncode or not v.stdout.startswith('dumpsyms (symkit) '):
        fail('the installed dumpsyms --version: exit %d, %r' % (v.returncode, v.stdout))
    print('%d failures' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
