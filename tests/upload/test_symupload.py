#!/usr/bin/env python3
"""End-to-end tests of symupload against tecken_server.py on 127.0.0.1.

usage: test_symupload.py SYMUPLOAD SCRATCH_DIR SCENARIO

Each scenario writes .sym files, starts a fresh server with its own faults,
runs the real symupload binary and checks what the server recorded: every
file byte-identical exactly once, request counts, the exit status, and that
the token never shows in the output.  Timings are never asserted.
"""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = 'tok-5ecret-a8f3c1d9e7b2'


def clean_env(**extra):
    """The environment for symupload: no proxy may capture loopback traffic."""
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy',
                         'symkit_upload_token'):
            del env[k]
    env['NO_PROXY'] = '127.0.0.1,localhost'
    env.update(extra)
    return env


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def debug_id(seed):
    rnd = random.Random(seed)
    return ''.join(rnd.choice('0123456789ABCDEF') for _ in range(32)) + '0'


def sym_text(name, did, nfuncs=20, seed=0, os_name='Linux', arch='x86_64'):
    """A small valid .sym file; seed varies its contents and size."""
    rnd = random.Random(seed)
    lines = ['MODULE %s %s %s %s' % (os_name, arch, did, name),
             'INFO CODE_ID %s %s' % (did[:32], name),
             'INFO GENERATOR symkit-test 0',
             'FILE 0 /src/%s/main.c' % name,
             'FILE 1 /src/%s/util.h' % name]
    addr = 0x1000
    for i in range(nfuncs):
        size = rnd.randrange(0x10, 0x200)
        lines.append('FUNC %x %x 0 func_%d_%d(int, char const*)' % (addr, size, seed, i))
        a = addr
        while a < addr + size:
            n = min(rnd.randrange(2, 0x20), addr + size - a)
            lines.append('%x %x %d %d' % (a, n, rnd.randrange(1, 3000), rnd.randrange(2)))
            a += n
        addr += size + rnd.randrange(0, 0x40)
    lines.append('PUBLIC %x 0 _start' % (addr + 0x10))
    lines.append('STACK CFI INIT 1000 20 .cfa: $rsp 8 + .ra: .cfa -8 + ^')
    lines.append('STACK CFI 1004 .cfa: $rsp 16 +')
    return '\n'.join(lines) + '\n'


class Env:
    def __init__(self, exe, scratch, name):
        self.exe = exe
        self.root = os.path.join(scratch, name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        self.srcdir = os.path.join(self.root, 'in')
        os.makedirs(self.srcdir)
        self.server = None
        self.expected = {}  # key -> bytes

    def add_sym(self, relpath, name, seed, nfuncs=20, expect=True, text=None):
        did = debug_id('%s-%d' % (name, seed))
        if text is None:
            text = sym_text(name, did, nfuncs, seed)
        else:
            # The key comes from the file's own MODULE line, as symupload does.
            first = text.split('\n', 1)[0].split()
            if len(first) == 5:
                name, did = first[4], first[3]
        path = os.path.join(self.srcdir, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        key = '%s/%s/%s.sym' % (name, did, name[:-4] if name.lower().endswith('.pdb') else name)
        if expect:
            self.expected[key] = text.encode()
        return path, key

    def start_server(self, faults=(), existing=None, max_zip=None, token=TOKEN, delay=None):
        self.server_store = os.path.join(self.root, 'server-store')
        self.log_file = os.path.join(self.root, 'server-log.jsonl')
        port_file = os.path.join(self.root, 'port')
        cfg = {'token': token, 'port_file': port_file, 'log_file': self.log_file,
               'store_dir': self.server_store, 'faults': list(faults),
               'existing': existing or {}}
        if max_zip:
            cfg['max_zip'] = max_zip
        if delay:
            cfg['delay'] = delay
        cfg_path = os.path.join(self.root, 'server.json')
        with open(cfg_path, 'w') as f:
            json.dump(cfg, f)
        self.server = subprocess.Popen([sys.executable, os.path.join(HERE, 'tecken_server.py'),
                                        cfg_path])
        for _ in range(500):
            if os.path.exists(port_file):
                break
            if self.server.poll() is not None:
                raise Fail('server exited early')
            time.sleep(0.02)
        else:
            raise Fail('server did not report its port')
        self.url = 'http://127.0.0.1:%s' % open(port_file).read().strip()

    def stop(self):
        if self.server:
            self.server.terminate()
            self.server.wait(timeout=10)
            self.server = None

    def run(self, *args, token=TOKEN, token_via='env', env_extra=None):
        env = clean_env()
        argv = [self.exe]
        if token is not None and token_via == 'env':
            env['SYMKIT_UPLOAD_TOKEN'] = token
        elif token is not None and token_via == 'file':
            tf = os.path.join(self.root, 'token')
            with open(tf, 'w') as f:
                f.write(token + '\n')
            argv += ['--token-file', tf]
        # Archives go under TMPDIR: give each run its own, to prove cleanup.
        tmp = os.path.join(self.root, 'tmp')
        os.makedirs(tmp, exist_ok=True)
        env['TMPDIR'] = tmp
        if env_extra:
            env.update(env_extra)
        argv += list(args)
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        self.out = p.stdout.decode('utf-8', 'replace')
        self.err = p.stderr.decode('utf-8', 'replace')
        self.rc = p.returncode
        sys.stdout.write('$ %s\n-- stdout --\n%s-- stderr --\n%s-- exit %d\n' %
                         (' '.join(argv[1:]), self.out, self.err, p.returncode))
        check(TOKEN not in self.out and TOKEN not in self.err, 'the token appeared in the output')
        check(os.listdir(tmp) == [], 'temporary archives left behind: %s' % os.listdir(tmp))
        return p.returncode

    def events(self):
        if not os.path.exists(self.log_file):
            return []
        with open(self.log_file) as f:
            return [json.loads(l) for l in f if l.strip()]

    def posts(self):
        return [e for e in self.events() if e['method'] == 'POST']

    def arrivals(self):
        out = []
        for e in self.posts():
            out += e.get('arrived', [])
        return out

    def check_arrived_once(self, keys=None):
        """Every expected key arrived byte-identical exactly once, nothing else."""
        keys = set(self.expected) if keys is None else set(keys)
        got = {}
        for a in self.arrivals():
            got.setdefault(a['key'], []).append(a)
        check(set(got) == keys, 'arrived keys differ: missing %s, extra %s' %
              (sorted(keys - set(got)), sorted(set(got) - keys)))
        for k, lst in got.items():
            check(len(lst) == 1, '%s arrived %d times' % (k, len(lst)))
            want = self.expected[k]
            check(lst[0]['sha256'] == hashlib.sha256(want).hexdigest(),
                  '%s arrived with different bytes' % k)
            with open(os.path.join(self.server_store, k), 'rb') as f:
                check(f.read() == want, '%s stored bytes differ' % k)


def make_tree(env, n=6, nfuncs=20):
    """n valid files: nested directories, a store-shaped tree and a .pdb name."""
    paths = []
    for i in range(n):
        if i % 3 == 0:
            rel = 'build/lib%d/libmod%d.so.sym' % (i, i)
            name = 'libmod%d.so' % i
        elif i % 3 == 1:
            name = 'prog%d' % i
            did = debug_id('%s-%d' % (name, i))
            rel = 'store/%s/%s/%s.sym' % (name, did, name)
        else:
            name = 'win%d.pdb' % i
            rel = 'deep/a/b/c/win%d.sym' % i
        paths.append(env.add_sym(rel, name, i, nfuncs)[0])
    return paths


def common_post_checks(env, expect_try=False):
    for e in env.posts():
        check(e['user_agent'] == 'symkit/0.1.0', 'User-Agent is %r' % e['user_agent'])
        check(e['content_length'] is not None and not e['transfer_encoding'],
              'request without Content-Length or chunked')
        if e['status'] == 201:
            check(e['archive'].startswith('symbols-') and e['archive'].endswith('.zip'),
                  'field name %r' % e['archive'])
            check(e['compression'] == [8], 'members not deflated: %r' % e['compression'])
            check(e['try'] == expect_try, 'try field presence %r' % e['try'])


# ---- scenarios --------------------------------------------------------------

def sc_basic(env):
    make_tree(env, 9)
    # One file also given directly: it must still be sent once.
    extra = os.path.join(env.srcdir, 'build/lib0/libmod0.so.sym')
    env.start_server()
    rc = env.run('--url', env.url, '--zip-size', '6K', '--jobs', '3', '--retry-delay', '0.05',
                 env.srcdir, extra)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    posts = env.posts()
    check(len(posts) >= 3, 'expected several archives at --zip-size 6K, got %d' % len(posts))
    check(all(e['status'] == 201 for e in posts), 'a post was refused')
    common_post_checks(env)
    for k in env.expected:
        check(('uploaded    %s' % k) in env.out, 'summary lacks %s' % k)
    check('summary: 9 uploaded, 0 skipped, 0 failed' in env.out, 'summary line')


def sc_token_file_try_listing(env):
    make_tree(env, 3)
    env.start_server()
    rc = env.run('--url', env.url + '/', '--try', '--symbols-txt', 'app-1.0-Linux',
                 env.srcdir, token_via='file')
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    common_post_checks(env, expect_try=True)
    for e in env.posts():
        check('app-1.0-Linux-symbols.txt' in e['members'], 'no symbols.txt member')


def sc_invalid(env):
    make_tree(env, 3)
    bad = {
        'bad/lower.sym': 'MODULE Linux x86_64 %s libl.so\nFUNC 0 1 0 f\n' % debug_id('x').lower(),
        'bad/four.sym': 'MODULE Linux x86_64 %s\n' % debug_id('y'),
        'bad/six.sym': 'MODULE Linux x86_64 %s lib with space.so\n' % debug_id('z'),
        'bad/notmodule.sym': 'INFO CODE_ID 1234\nMODULE Linux x86_64 %s a.so\n' % debug_id('w'),
        'bad/empty.sym': '',
        'bad/slash.sym': 'MODULE Linux x86_64 %s ..\n' % debug_id('v'),
        'bad/shortid.sym': 'MODULE Linux x86_64 ABCDEF0 libs.so\n',
    }
    for rel, text in bad.items():
        env.add_sym(rel, 'ignored', 0, expect=False, text=text)
    env.start_server()
    rc = env.run('--url', env.url, env.srcdir)
    check(rc == 1, 'exit %d, want 1 for invalid files' % rc)
    env.check_arrived_once()
    for rel in bad:
        line = [l for l in env.out.splitlines() if l.startswith('invalid') and rel in l]
        check(len(line) == 1, 'no invalid line for %s' % rel)
    check('7 invalid' in env.out, 'summary does not count 7 invalid')


def sc_collision(env):
    make_tree(env, 2)
    did = debug_id('coll')
    a = sym_text('libc1.so', did, 5, 1)
    b = sym_text('libc1.so', did, 5, 2)
    env.add_sym('x/one.sym', 'libc1.so', 0, expect=False, text=a)
    env.add_sym('y/two.sym', 'libc1.so', 0, expect=False, text=b)
    # An identical copy under another path is the same file: sent once.
    same = sym_text('libsame.so', debug_id('same'), 5, 3)
    env.add_sym('p/same.sym', 'libsame.so', 0, text=same)
    env.add_sym('q/same-copy.sym', 'libsame.so', 0, expect=False, text=same)
    env.start_server()
    rc = env.run('--url', env.url, env.srcdir)
    check(rc == 1, 'exit %d, want 1 for a collision' % rc)
    env.check_arrived_once()
    lines = env.out.splitlines()
    check(sum(l.startswith('collision ') for l in lines) == 2,
          'both colliding files must be reported')
    check(sum(l.startswith('duplicate ') for l in lines) == 1,
          'identical copy not reported as duplicate')


def sc_wrong_token(env):
    make_tree(env, 6)
    env.start_server()
    rc = env.run('--url', env.url, '--zip-size', '2K', '--jobs', '1', '--retry-delay', '0.05',
                 env.srcdir, token='wrong-token-value')
    check(rc == 1, 'exit %d' % rc)
    posts = env.posts()
    check(len(posts) == 1, 'a refused token must not be retried: %d POSTs' % len(posts))
    check(env.err.count('API Token not matched') == 1,
          'the server error should be shown once on stderr')
    check('wrong-token-value' not in env.out + env.err, 'token printed')
    check(env.arrivals() == [], 'something arrived')
    check('summary: 0 uploaded, 0 skipped, 6 failed' in env.out, 'summary')
    # Concurrent posts may all meet the refusal; it is still said once, and
    # nothing is retried.
    before = len(env.posts())
    rc = env.run('--url', env.url, '--zip-size', '2K', '--jobs', '3', '--retry-delay', '0.05',
                 env.srcdir, token='wrong-token-value')
    check(rc == 1, 'exit %d' % rc)
    n = len(env.posts()) - before
    check(1 <= n <= 3, '--jobs 3 with a refused token: %d POSTs' % n)
    check(env.err.count('API Token not matched') == 1, 'the refusal should be shown once')


def sc_retry_503(env):
    make_tree(env, 4)
    env.start_server(faults=[{'status': 503}, {'status': 502}, {'status': 500}])
    rc = env.run('--url', env.url, '--zip-size', '4K', '--jobs', '2', '--retry-delay', '0.05',
                 env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    ok = [e for e in env.posts() if e['status'] == 201]
    check(len(env.posts()) == len(ok) + 3, 'expected exactly 3 extra attempts')
    check(env.err.count('retrying') == 3, 'each retry should be logged')


def sc_retry_after(env):
    make_tree(env, 2)
    env.start_server(faults=[{'status': 429, 'retry_after': '1'}])
    rc = env.run('--url', env.url, '--retry-delay', '30', env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    # The 30 s backoff would have been used without Retry-After; the log
    # shows the chosen delay (a value, not a measured time).
    check('retrying in 1 s' in env.err, 'Retry-After not honoured')


def sc_drop(env):
    make_tree(env, 3)
    env.start_server(faults=[{'drop': True}])
    rc = env.run('--url', env.url, '--retry-delay', '0.05', env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    check(len(env.posts()) == 2, 'expected one retry after the dropped connection')


def sc_slow(env):
    make_tree(env, 3)
    env.start_server(faults=[{'slow': 4}])
    rc = env.run('--url', env.url, '--retry-delay', '0.05', '--timeout', '1', env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    check('timed out' in env.err.lower() or 'timeout' in env.err.lower(),
          'the timeout should be logged')


def sc_give_up(env):
    make_tree(env, 3)
    env.start_server(faults=[{'status': 503}] * 10)
    rc = env.run('--url', env.url, '--retries', '2', '--retry-delay', '0.02', env.srcdir)
    check(rc == 1, 'exit %d' % rc)
    check(len(env.posts()) == 3, '--retries 2 means 3 attempts, saw %d' % len(env.posts()))
    check(env.arrivals() == [], 'nothing should arrive')
    for k in env.expected:
        check(('failed      %s' % k) in env.out, 'no failed line for %s' % k)


def sc_bad_request(env):
    make_tree(env, 3)
    env.start_server(faults=[{'status': 400, 'error': 'Broken zip somewhere'}])
    rc = env.run('--url', env.url, '--retry-delay', '0.02', env.srcdir)
    check(rc == 1, 'exit %d' % rc)
    check(len(env.posts()) == 1, '400 must not be retried')
    check('Broken zip somewhere' in env.err, 'server message not shown')


def sc_not_tecken(env):
    """A 200 that is not an upload record (a proxy's page) is no success."""
    make_tree(env, 3)
    env.start_server(faults=[{'status': 200, 'html': '<html>Please log in</html>'}])
    rc = env.run('--url', env.url, '--retry-delay', '0.02', env.srcdir)
    check(rc == 1, 'exit %d' % rc)
    check('not a Tecken upload record' in env.err, 'no clear error')
    for k in env.expected:
        check(('failed      %s' % k) in env.out, '%s not reported failed' % k)


def sc_too_large(env):
    paths = make_tree(env, 6, nfuncs=40)
    sizes = sorted(os.path.getsize(p) for p in paths)
    # Deflate shrinks these about 3x: a limit near one file's size lets a
    # single file through but refuses archives of several.
    env.start_server(max_zip=sizes[-1] // 2)
    rc = env.run('--url', env.url, '--retry-delay', '0.02', env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    check(any(e['status'] == 413 for e in env.posts()), 'no 413 seen')
    check('splitting' in env.err, 'split not logged')


def sc_too_large_single(env):
    make_tree(env, 2, nfuncs=40)
    env.start_server(max_zip=50)
    rc = env.run('--url', env.url, '--retry-delay', '0.02', env.srcdir)
    check(rc == 1, 'exit %d' % rc)
    check('Upload too large' in env.err + env.out, 'server message not shown')
    check(len(env.posts()) == 3, 'one post, then one per half: %d' % len(env.posts()))


def sc_skipped_keys(env):
    make_tree(env, 5)
    have = sorted(env.expected)[:2]
    existing = {k: env.expected[k].decode() for k in have}
    env.start_server(existing=existing)
    rc = env.run('--url', env.url, env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once(set(env.expected) - set(have))
    for k in have:
        check(('skipped     %s' % k) in env.out, 'skipped key %s not reported' % k)
    check('summary: 3 uploaded, 2 skipped' in env.out, 'summary')


def sc_skip_existing(env):
    make_tree(env, 5)
    have = sorted(env.expected)[1:3]
    existing = {k: env.expected[k].decode() for k in have}
    env.start_server(existing=existing)
    rc = env.run('--url', env.url, '--skip-existing', '--symbols-url', env.url, env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once(set(env.expected) - set(have))
    heads = [e for e in env.events() if e['method'] == 'HEAD' and not e['storage']]
    check(len(heads) == 5, 'one HEAD per key, saw %d' % len(heads))
    followed = [e for e in env.events() if e['method'] == 'HEAD' and e['storage']]
    check(len(followed) == 2, 'the 302 to storage should be followed for the 2 present keys')
    sent = [m for e in env.posts() for m in e.get('members', [])]
    for k in have:
        check(k not in sent, '%s was sent although the server has it' % k)
        check(('existing    %s' % k) in env.out, '%s not reported as existing' % k)


def sc_dry_run(env):
    make_tree(env, 4)
    store = os.path.join(env.root, 'store')
    env.start_server()
    rc = env.run('--url', env.url, '--dry-run', '--store', store, env.srcdir, token=None)
    check(rc == 0, 'exit %d' % rc)
    check(env.events() == [], 'dry run talked to the server')
    check(not os.path.exists(store) or not os.listdir(store), 'dry run wrote the store')
    for k in env.expected:
        check(('would-send  %s' % k) in env.out, 'dry run does not list %s' % k)
        check(('would-store %s' % k) in env.out, 'dry run does not list store %s' % k)


def walk_files(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            out[os.path.relpath(p, root)] = open(p, 'rb').read()
    return out


def sc_store(env):
    make_tree(env, 6)
    store = os.path.join(env.root, 'store')
    rc = env.run('--store', store, env.srcdir, token=None)
    check(rc == 0, 'exit %d' % rc)
    got = walk_files(store)
    check(set(got) == set(env.expected), 'store layout differs: %s' % sorted(got))
    for k, data in env.expected.items():
        check(got[k] == data, '%s differs' % k)
        name, did, fn = k.split('/')
        check(fn == (name[:-4] if name.endswith('.pdb') else name) + '.sym', 'bad file name')
    # Again: identical files are left alone.
    rc = env.run('--store', store, env.srcdir, token=None)
    check(rc == 0, 'second run exit %d' % rc)
    check(sum(l.startswith('unchanged ') for l in env.out.splitlines()) == 6, 'second run should leave all 6 unchanged')
    # A different file under the same key is reported, never overwritten.
    victim = sorted(env.expected)[0]
    with open(os.path.join(store, victim), 'wb') as f:
        f.write(b'MODULE Linux x86_64 OTHER\n')
    rc = env.run('--store', store, env.srcdir, token=None)
    check(rc == 1, 'a differing store file must fail the run, exit %d' % rc)
    check(('differs     %s' % victim) in env.out, 'difference not reported')
    check(open(os.path.join(store, victim), 'rb').read() == b'MODULE Linux x86_64 OTHER\n',
          'the differing file was overwritten')
    check(set(walk_files(store)) == set(env.expected), 'temporary files left behind')


def sc_odd_names(env):
    """Names a local store takes but Tecken refuses (coreutils' "[", '#', '%'):
    the store gets every file, the upload sends the others and names these
    as not uploadable."""
    make_tree(env, 3)
    odd = {}
    for i, name in enumerate(['[', 'lib#1.so', 'a%b']):
        path, key = env.add_sym('odd/%d.sym' % i, name, i, expect=False)
        odd[key] = open(path, 'rb').read()
    store = os.path.join(env.root, 'store')
    env.start_server()
    rc = env.run('--url', env.url, '--store', store, env.srcdir)
    check(rc == 1, 'exit %d, want 1: some files could not be uploaded' % rc)
    env.check_arrived_once()
    want_store = dict(env.expected)
    want_store.update(odd)
    check(walk_files(store) == want_store, 'the store must hold every file, odd names too: %s' %
          sorted(walk_files(store)))
    for key in odd:
        lines = [l for l in env.out.splitlines() if l.startswith('not-uploadable %s:' % key)]
        check(len(lines) == 1, 'no not-uploadable line for %s' % key)
    check('3 uploaded, 0 skipped, 0 failed, 3 not uploadable' in env.out, 'summary line')
    # Store only: nothing is refused.
    rc = env.run('--store', os.path.join(env.root, 'store2'), env.srcdir, token=None)
    check(rc == 0, 'store only: exit %d' % rc)


def sc_store_and_upload(env):
    make_tree(env, 3)
    store = os.path.join(env.root, 'store')
    env.start_server()
    rc = env.run('--url', env.url, '--store', store, env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    check(walk_files(store) == env.expected, 'store differs')


def sc_secrecy(env):
    make_tree(env, 3)
    env.start_server(faults=[{'status': 503, 'echo_token': True},
                             {'status': 400, 'echo_token': True, 'error': 'echoed'}])
    for via in ('env', 'file'):
        rc = env.run('-v', '--url', env.url, '--retry-delay', '0.02', env.srcdir, token_via=via)
        check('Auth-Token: <redacted>' in env.err, 'verbose header log missing (%s)' % via)
        check('User-Agent: symkit/0.1.0' in env.err, 'verbose header log missing User-Agent')
        if via == 'env':
            # The faults (a server quoting the token back) hit the first run.
            check(rc == 1, 'first run exit %d' % rc)
            check('X-Seen-Token: <redacted>' in env.err, 'echoed header not redacted')
            check('echoed (token <redacted>)' in env.out, 'echoed error not redacted')
    check(rc == 0, 'second run exit %d' % rc)


def sc_usage(env):
    make_tree(env, 1)
    env.start_server()
    rc = env.run('--url', env.url, env.srcdir, token=None)
    check(rc == 2, 'missing token: exit %d' % rc)
    check('SYMKIT_UPLOAD_TOKEN' in env.err, 'missing-token message')
    rc = env.run('--url', env.url, '--token', TOKEN, env.srcdir, token=None)
    check(rc == 2, '--token must be refused, exit %d' % rc)
    rc = env.run('--url', env.url, '--jobs', '0', env.srcdir)
    check(rc == 2, '--jobs 0 exit %d' % rc)
    rc = env.run(env.srcdir)
    check(rc == 2, 'no destination exit %d' % rc)
    rc = env.run('--url', env.url, '--symbols-txt', 'bad/prefix', env.srcdir)
    check(rc == 2, 'unsafe --symbols-txt prefix exit %d' % rc)
    rc = env.run('--url', env.url, '--skip-existing', env.srcdir)
    check(rc == 2, '--skip-existing without --symbols-url exit %d' % rc)
    rc = env.run('--url', env.url, '--zip-size', '0', env.srcdir)
    check(rc == 2, '--zip-size 0 exit %d' % rc)
    rc = env.run('--url', env.url, env.srcdir, token='', token_via='file')
    check(rc == 2 and 'token file' in env.err, 'an empty token file must be refused, exit %d' % rc)
    rc = env.run('--help', token=None)
    check(rc == 0 and '--token-file' in env.out and '--zip-size' in env.out, '--help')
    check(env.posts() == [], 'usage errors must not post')
    empty = os.path.join(env.root, 'empty')
    os.makedirs(empty)
    rc = env.run('--url', env.url, empty)
    check(rc == 1 and 'no .sym files found' in env.err, 'an empty input must fail, exit %d' % rc)
    rc = env.run('--url', env.url, os.path.join(env.root, 'does-not-exist'), env.srcdir)
    check(rc == 1, 'a missing path must fail the run, exit %d' % rc)
    env.check_arrived_once()


def sc_mixed_faults(env):
    """Many archives, concurrent posts, a mix of faults: still exactly once."""
    make_tree(env, 40, nfuncs=10)
    faults = [{'status': 503}, {'drop': True}, {'status': 502}, {'status': 429, 'retry_after': '0'},
              {'status': 504}, {'status': 500}, {'drop': True}, {'status': 408}]
    env.start_server(faults=faults)
    rc = env.run('--url', env.url, '--zip-size', '8K', '--jobs', '4', '--retry-delay', '0.02',
                 env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    common_post_checks(env)
    ok = [e for e in env.posts() if e['status'] == 201]
    check(len(env.posts()) == len(ok) + len(faults), 'each fault costs exactly one extra post')
    check(len(ok) >= 10, 'expected many archives, got %d' % len(ok))


def sc_large(env):
    """Multi-megabyte files stream through zip and the request body intact."""
    env.add_sym('big/libbig.so.sym', 'libbig.so', 1, nfuncs=11000)
    env.add_sym('big/libbig2.so.sym', 'libbig2.so', 2, nfuncs=11000)
    make_tree(env, 3)
    check(os.path.getsize(os.path.join(env.srcdir, 'big/libbig.so.sym')) > 3 << 20,
          'the large fixture is not large')
    env.start_server(faults=[{'drop': True}])
    rc = env.run('--url', env.url, '--zip-size', '1M', '--retry-delay', '0.02', env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    env.check_arrived_once()
    common_post_checks(env)


def sc_interrupt(env):
    """SIGINT mid-upload: a summary, exit 1, no temporary archives left."""
    import signal
    make_tree(env, 3)
    env.start_server(faults=[{'slow': 60}])
    tmp = os.path.join(env.root, 'tmp')
    os.makedirs(tmp)
    envv = clean_env(SYMKIT_UPLOAD_TOKEN=TOKEN, TMPDIR=tmp)
    p = subprocess.Popen([env.exe, '--url', env.url, '--timeout', '100', env.srcdir],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=envv)
    # Wait until an archive exists (the post is starting), then interrupt.
    def archive_exists():
        try:
            return any(os.listdir(os.path.join(tmp, d)) for d in os.listdir(tmp))
        except OSError:
            return False
    for _ in range(3000):
        if archive_exists():
            break
        if p.poll() is not None:
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    out, err = out.decode(), err.decode()
    sys.stdout.write('-- stdout --\n%s-- stderr --\n%s' % (out, err))
    check(p.returncode == 1, 'exit %d' % p.returncode)
    check('interrupted' in out, 'summary does not say interrupted')
    check(os.listdir(tmp) == [], 'temporary archives left: %s' % os.listdir(tmp))
    check(env.arrivals() == [], 'nothing should have arrived')


def sc_server_selftest(env):
    """The test server refuses what Tecken refuses, so the other scenarios
    would notice a client that sends a wrong layout, field or framing."""
    import http.client
    import io
    import zipfile
    env.start_server()
    port = int(env.url.rsplit(':', 1)[1])

    def zip_of(names):
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
            for n in names:
                z.writestr(n, 'MODULE Linux x86_64 %s a\n' % debug_id(n))
        return b.getvalue()

    def post(field, data, token=TOKEN, chunked=False):
        body = (b'--BND\r\nContent-Disposition: form-data; name="' + field.encode() +
                b'"; filename="' + field.encode() + b'"\r\n\r\n' + data + b'\r\n--BND--\r\n')
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        hdrs = {'Auth-Token': token, 'Content-Type': 'multipart/form-data; boundary=BND'}
        if chunked:
            c.request('POST', '/upload/', body=iter([body]), headers=hdrs, encode_chunked=True)
        else:
            c.request('POST', '/upload/', body=body, headers=hdrs)
        r = c.getresponse()
        reply = json.loads(r.read() or b'{}')
        c.close()
        return r.status, reply

    good = 'liba.so/%s/liba.so.sym' % debug_id('a')
    cases = [
        (post('symbols.zip', zip_of([good]), token='nope'), 403),
        (post('symbols.tar', zip_of([good])), 400),
        (post('symbols.zip', b'not a zip'), 400),
        (post('symbols.zip', zip_of(['liba.so/liba.so.sym'])), 400),
        (post('symbols.zip', zip_of(['a/b/c/d.sym'])), 400),
        (post('symbols.zip', zip_of(['lib#a.so/X/lib#a.so.sym'])), 400),
        (post('symbols.zip', zip_of([good]), chunked=True), 411),
        (post('symbols.zip', zip_of([good, 'app-symbols.txt'])), 201),
    ]
    for (status, reply), want in cases:
        check(status == want, 'server answered %d, want %d (%r)' % (status, want, reply))
        if want != 201:
            check('error' in reply, 'refusal without an error message')
    status, reply = post('again.zip', zip_of([good]))
    check(status == 201 and reply['upload']['skipped_keys'] == ['v1/' + good],
          'a known key must come back in skipped_keys: %r' % reply)


def sc_jobs_limit(env):
    """--jobs bounds the posts in flight at the server."""
    make_tree(env, 8)
    env.start_server(delay=0.3)
    before = 0
    for jobs in (1, 3):
        rc = env.run('--url', env.url, '--zip-size', '6K', '--jobs', str(jobs), env.srcdir)
        check(rc == 0, 'exit %d' % rc)
        posts = env.posts()[before:]
        before += len(posts)
        seen = max(e['inflight'] for e in posts)
        sys.stdout.write('--jobs %d: at most %d posts in flight\n' % (jobs, seen))
        check(seen <= jobs, '--jobs %d but %d posts in flight' % (jobs, seen))
    # The second run found everything there: all of it comes back skipped.
    check('summary: 0 uploaded, 8 skipped' in env.out, 'second run should be all skipped_keys')
    env.check_arrived_once()


def sc_progress_tty(env):
    import pty
    make_tree(env, 4)
    env.start_server()
    master, slave = pty.openpty()
    envv = clean_env(SYMKIT_UPLOAD_TOKEN=TOKEN)
    p = subprocess.Popen([env.exe, '--url', env.url, '--zip-size', '4K', '--jobs', '1',
                          env.srcdir], stdout=subprocess.PIPE, stderr=slave, env=envv)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    out = p.communicate(timeout=120)[0].decode()
    os.close(master)
    tty = b''.join(chunks).decode('utf-8', 'replace')
    sys.stdout.write('-- tty --\n%r\n' % tty)
    check(p.returncode == 0, 'exit %d' % p.returncode)
    env.check_arrived_once()
    check('\r' in tty and '] 4/4 files' in tty, 'no progress bar on the terminal')
    check(TOKEN not in tty and TOKEN not in out, 'token shown')
    # Not a terminal: plain lines, no bar, no escape sequences.
    rc = env.run('--url', env.url, env.srcdir)
    check(rc == 0, 'exit %d' % rc)
    check('\r' not in env.err and '\033' not in env.err, 'bar drawn on a pipe')


def sc_quiet(env):
    make_tree(env, 3)
    env.add_sym('bad/x.sym', 'x', 0, expect=False, text='not a sym file\n')
    env.start_server()
    rc = env.run('-q', '--url', env.url, env.srcdir)
    check(rc == 1, 'exit %d' % rc)
    env.check_arrived_once()
    check(not [l for l in env.out.splitlines() if l.startswith('uploaded ')],
          '--quiet should list only problems')
    check([l for l in env.out.splitlines() if l.startswith('invalid ')], 'invalid file not shown')
    check('accepted' not in env.err, '--quiet should not log progress lines')


def sc_agrees_with_dumpsyms(env):
    """dumpsyms --store and symupload --store lay a store out the same way."""
    dumpsyms = os.environ.get('SYMKIT_DUMPSYMS')
    cc = shutil.which('cc') or shutil.which('gcc')
    check(dumpsyms and os.path.exists(dumpsyms), 'SYMKIT_DUMPSYMS not set')
    check(cc, 'no C compiler')
    bindir = os.path.join(env.root, 'bin')
    os.makedirs(bindir)
    src = os.path.join(env.root, 'f.c')
    with open(src, 'w') as f:
        f.write('int helper(int x) { return x * 3; }\nint main(void) { return helper(1) - 3; }\n')
    subprocess.run([cc, '-g', '-O1', '-o', os.path.join(bindir, 'fixprog'), src], check=True)
    subprocess.run([cc, '-g', '-O1', '-shared', '-fPIC', '-o', os.path.join(bindir, 'libfix.so'),
                    src], check=True)
    store_a = os.path.join(env.root, 'store-dumpsyms')
    subprocess.run([dumpsyms, '--store', store_a, bindir], check=True)
    syms = os.path.join(env.root, 'syms')
    os.makedirs(syms)
    for b in ('fixprog', 'libfix.so'):
        subprocess.run([dumpsyms, '-o', os.path.join(syms, b + '.sym'),
                        os.path.join(bindir, b)], check=True)
    store_b = os.path.join(env.root, 'store-symupload')
    rc = env.run('--store', store_b, syms, token=None)
    check(rc == 0, 'exit %d' % rc)
    a, b = walk_files(store_a), walk_files(store_b)
    check(len(a) == 2 and set(a) == set(b), 'layouts differ: %s vs %s' % (sorted(a), sorted(b)))
    check(a == b, 'contents differ')
    # A store tree is valid input too, and re-storing it changes nothing.
    rc = env.run('--store', store_b, store_a, token=None)
    check(rc == 0, 'exit %d' % rc)
    check(sum(l.startswith('unchanged ') for l in env.out.splitlines()) == 2, 'store tree input')


SCENARIOS = {name[3:]: fn for name, fn in globals().items() if name.startswith('sc_')}


def main():
    exe, scratch, name = sys.argv[1], sys.argv[2], sys.argv[3]
    if name not in SCENARIOS:
        print('unknown scenario %s; known: %s' % (name, ' '.join(SCENARIOS)))
        return 2
    env = Env(os.path.abspath(exe), scratch, name)
    try:
        SCENARIOS[name](env)
    except Fail as e:
        print('FAIL %s: %s' % (name, e))
        return 1
    finally:
        env.stop()
    print('PASS %s' % name)
    return 0


if __name__ == '__main__':
    sys.exit(main())
