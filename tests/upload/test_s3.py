#!/usr/bin/env python3
"""End-to-end tests of symupload --s3 against two real S3 servers on 127.0.0.1.

usage: test_s3.py SYMUPLOAD SCRATCH_DIR SCENARIO

The servers: s3_server.py (ours: checks every request's Signature V4 by
itself and injects faults) and s3rver (npm; a real S3 REST implementation),
found through SYMKIT_S3RVER.  Each scenario checks what the server stored:
every file byte-identical after gzip decoding, exactly once, and the
summary's counts against the server's.  Timings are never asserted.
"""
import base64
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_symupload import Fail, check, clean_env, debug_id, sym_text  # noqa: E402

AKID = 'AKIDSYMKIT7EXAMPLE'
SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecret42'
SESSION = 'FwoGZXIvYXdzEJr//////////session+token/tail=='
REGION = 'eu-test-1'
BUCKET = 'symbols'


def skip(msg):
    print('SKIP: ' + msg)
    if os.environ.get('CI'):
        print('FAIL: CI is set, so a missing tool is a failure')
        sys.exit(1)
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def find_s3rver():
    for cand in os.environ.get('SYMKIT_S3RVER', '').split(os.pathsep):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


class OurServer:
    """s3_server.py with a config of our choosing."""

    def __init__(self, root, faults=(), secret=SECRET, skew=0, session=None, min_part=None):
        self.root = root
        self.log_file = os.path.join(root, 'server-log.jsonl')
        port_file = os.path.join(root, 'port')
        for p in (self.log_file, port_file):
            if os.path.exists(p):
                os.remove(p)
        cfg = {'port_file': port_file, 'log_file': self.log_file, 'access_key': AKID,
               'secret_key': secret, 'region': REGION, 'buckets': [BUCKET],
               'faults': list(faults), 'skew': skew}
        if session is not None:
            cfg['session_token'] = session
        if min_part is not None:
            cfg['min_part'] = min_part
        cfg_path = os.path.join(root, 'server.json')
        with open(cfg_path, 'w') as f:
            json.dump(cfg, f)
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, 's3_server.py'), cfg_path])
        for _ in range(500):
            if os.path.exists(port_file):
                break
            if self.proc.poll() is not None:
                raise Fail('s3_server.py exited early')
            time.sleep(0.02)
        else:
            raise Fail('s3_server.py did not report its port')
        self.port = int(open(port_file).read())
        self.endpoint = 'http://127.0.0.1:%d' % self.port

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def events(self):
        with open(self.log_file) as f:
            return [json.loads(l) for l in f if l.strip()]

    def requests(self):
        return [e for e in self.events() if 'method' in e]

    def stored(self):
        return [e for e in self.events() if e.get('event') == 'stored']


class S3rver:
    def __init__(self, root):
        exe = find_s3rver()
        if not exe:
            skip('s3rver not found (scripts/bootstrap.sh installs it with npm into build/npm)')
        self.dir = os.path.join(root, 's3rver-data')
        os.makedirs(self.dir, exist_ok=True)
        self.out = os.path.join(root, 's3rver.out')
        port = free_port()
        self.proc = subprocess.Popen([exe, '-d', self.dir, '-a', '127.0.0.1', '-p', str(port),
                                      '--configure-bucket', BUCKET, '--no-vhost-buckets'],
                                     stdout=open(self.out, 'w'), stderr=subprocess.STDOUT)
        for _ in range(1000):
            if 'listening' in open(self.out).read():
                break
            if self.proc.poll() is not None:
                raise Fail('s3rver exited early: %s' % open(self.out).read())
            time.sleep(0.02)
        else:
            raise Fail('s3rver did not start')
        self.port = port
        self.endpoint = 'http://127.0.0.1:%d' % port

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def get(self, key):
        """The object as stored (raw bytes, headers), read over plain HTTP."""
        url = '%s/%s/%s' % (self.endpoint, BUCKET, key)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return None, {'status': e.code}


class Env:
    def __init__(self, exe, scratch, name):
        self.exe = exe
        self.root = os.path.join(scratch, 's3-' + name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        self.srcdir = os.path.join(self.root, 'in')
        os.makedirs(self.srcdir)
        self.expected = {}
        self.servers = []

    def add(self, name, seed, nfuncs=20, text=None, sub='build'):
        did = debug_id('%s-%d' % (name, seed))
        if text is None:
            text = sym_text(name, did, nfuncs, seed)
        path = os.path.join(self.srcdir, sub, '%s-%d.sym' % (name, seed))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode() if isinstance(text, str) else text
        with open(path, 'wb') as f:
            f.write(data)
        key = '%s/%s/%s.sym' % (name, did, name)
        self.expected[key] = hashlib.sha256(data).hexdigest()
        return path, key

    def add_many(self, n, prefix='lib', nfuncs=3):
        for i in range(n):
            self.add('%s%d.so' % (prefix, i), i, nfuncs)

    def ours(self, **kw):
        s = OurServer(self.root, **kw)
        self.servers.append(s)
        return s

    def s3rver(self):
        s = S3rver(self.root)
        self.servers.append(s)
        return s

    def stop(self):
        for s in self.servers:
            s.stop()

    def run(self, *args, endpoint=None, creds=(AKID, SECRET), session=None, env_extra=None,
            timeout=600):
        env = clean_env()
        for k in list(env):
            if k.startswith('AWS_'):
                del env[k]
        if creds:
            env['AWS_ACCESS_KEY_ID'], env['AWS_SECRET_ACCESS_KEY'] = creds
        if session:
            env['AWS_SESSION_TOKEN'] = session
        tmp = os.path.join(self.root, 'tmp')
        os.makedirs(tmp, exist_ok=True)
        env['TMPDIR'] = tmp
        if env_extra:
            env.update(env_extra)
        argv = [self.exe]
        if endpoint:
            argv += ['--s3-endpoint', endpoint]
        argv += list(args)
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        self.out = p.stdout.decode('utf-8', 'replace')
        self.err = p.stderr.decode('utf-8', 'replace')
        self.rc = p.returncode
        out, err = self.out, self.err
        if len(out) > 20000:
            out = out[:10000] + '\n[... %d bytes ...]\n' % (len(out) - 20000) + out[-10000:]
        if len(err) > 20000:
            err = err[:10000] + '\n[... %d bytes ...]\n' % (len(err) - 20000) + err[-10000:]
        sys.stdout.write('$ %s\n-- stdout --\n%s-- stderr --\n%s-- exit %d\n' %
                         (' '.join(argv[1:]), out, err, p.returncode))
        for secret in (SECRET, SESSION, AKID):
            check(secret not in self.out and secret not in self.err,
                  'a credential appeared in the output')
        check(os.listdir(tmp) == [], 'temporary files left behind: %s' % os.listdir(tmp))
        return p.returncode

    def summary(self):
        m = re.search(r'^summary:.*$', self.out, re.M)
        check(m, 'no summary line')
        return m.group(0)

    def lines(self, word):
        return [l.split()[1] for l in self.out.splitlines() if l.startswith(word + ' ')]

    def check_stored_once(self, server, prefix='', keys=None, encoding='gzip'):
        """Every expected key stored exactly once, byte-identical after decoding."""
        keys = set(self.expected) if keys is None else set(keys)
        got = {}
        for e in server.stored():
            k = e['key']
            if prefix:
                check(k.startswith(prefix + '/'), 'object %s outside the prefix' % k)
                k = k[len(prefix) + 1:]
            got.setdefault(k, []).append(e)
        check(set(got) == keys, 'stored keys differ: missing %s, extra %s' %
              (sorted(keys - set(got))[:5], sorted(set(got) - keys)[:5]))
        for k, lst in got.items():
            check(len(lst) == 1, '%s stored %d times' % (k, len(lst)))
            e = lst[0]
            check(e['decoded_sha256'] == self.expected[k], '%s stored with different bytes' % k)
            check(e['content_encoding'] == encoding, '%s: Content-Encoding %r' %
                  (k, e['content_encoding']))
            check(e['content_type'] == 'text/plain', '%s: Content-Type %r' % (k, e['content_type']))
            check(e['meta'].get('x-amz-meta-symkit-sha256') == self.expected[k],
                  '%s: metadata sha256 %r' % (k, e['meta']))
        return got

    def check_s3rver_objects(self, srv, prefix):
        for k, sha in self.expected.items():
            body, hdrs = srv.get('%s/%s' % (prefix, k) if prefix else k)
            check(body is not None, '%s missing from s3rver (%r)' % (k, hdrs))
            check(hdrs.get('Content-Encoding') == 'gzip', '%s: Content-Encoding %r' %
                  (k, hdrs.get('Content-Encoding')))
            check(hashlib.sha256(gzip.decompress(body)).hexdigest() == sha,
                  '%s: s3rver holds different bytes' % k)


def fast_sym(path, name, did, size, seed, compressible=True):
    """A valid .sym of about size bytes, written fast (big blocks)."""
    rnd = random.Random(seed)
    with open(path, 'wb') as f:
        f.write(('MODULE Linux x86_64 %s %s\nINFO CODE_ID %s\n' % (did, name, did[:32])).encode())
        addr = 0x1000
        written = 0
        while written < size:
            lines = []
            for _ in range(4096):
                if compressible:
                    lines.append('FUNC %x %x 0 ns::func_%d(int)\n' % (addr, 0x40, addr & 0xffff))
                else:
                    # base64 of random bytes: gzip keeps ~3/4 of it, so the
                    # compressed body still spans several parts.
                    lines.append('FUNC %x %x 0 f_%s\n' %
                                 (addr, 0x40, base64.b64encode(rnd.randbytes(48)).decode()))
                addr += 0x40
            block = ''.join(lines).encode()
            f.write(block)
            written += len(block)
    with open(path, 'rb') as f:
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def add_large(env, name, seed, size, compressible=False):
    did = debug_id('%s-%d' % (name, seed))
    path = os.path.join(env.srcdir, 'large', '%s.sym' % name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    key = '%s/%s/%s.sym' % (name, did, name)
    env.expected[key] = fast_sym(path, name, did, size, seed, compressible)
    return path, key


# ---- scenarios ----------------------------------------------------------------

def sc_basic(env):
    """Many files, --jobs, a prefix; SigV4 checked by our server on every request."""
    env.add_many(40)
    srv = env.ours()
    rc = env.run('--s3', 's3://%s/v1/syms/' % BUCKET, '--s3-region', REGION, '--jobs', '4',
                 env.srcdir, endpoint=srv.endpoint)
    check(rc == 0, 'exit %d' % rc)
    env.check_stored_once(srv, 'v1/syms')
    reqs = srv.requests()
    check(all(r['status'] == 200 for r in reqs), 'a request was refused: %s' %
          [r for r in reqs if r['status'] != 200][:3])
    check(len(reqs) == 40, '%d requests for 40 files' % len(reqs))
    check(all(r['style'] == 'path' for r in reqs), 'custom endpoint not path-style by default')
    check(all(r['user_agent'] == 'symkit/0.1.0' for r in reqs), 'User-Agent')
    check(sorted(env.lines('s3-uploaded')) == sorted(env.expected), 'summary keys')
    check('s3: 40 uploaded, 0 failed' in env.summary(), 'summary line')


def sc_env_config(env):
    """Endpoint, region and session token from the environment; virtual-host addressing."""
    env.add_many(5)
    srv = env.ours(session=SESSION)
    port = srv.port
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-addressing', 'virtual', '-v', env.srcdir,
                 session=SESSION,
                 env_extra={'AWS_ENDPOINT_URL': 'http://localhost:%d' % port,
                            'AWS_DEFAULT_REGION': REGION})
    check(rc == 0, 'exit %d' % rc)
    env.check_stored_once(srv)
    reqs = srv.requests()
    check(all(r['style'] == 'virtual' for r in reqs), 'not virtual-host addressing')
    check('Authorization: <redacted>' in env.err, '-v does not show the redacted Authorization')
    check('x-amz-security-token: <redacted>' in env.err, '-v does not show the redacted token')
    # AWS_REGION wins over AWS_DEFAULT_REGION; a wrong one is refused by the server.
    env.expected = {}
    env.add('late.so', 1)
    rc = env.run('--s3', 's3://%s' % BUCKET, env.srcdir + '/build/late.so-1.sym', session=SESSION,
                 env_extra={'AWS_ENDPOINT_URL': srv.endpoint, 'AWS_REGION': 'us-west-9',
                            'AWS_DEFAULT_REGION': REGION})
    check(rc == 1, 'a wrong region was accepted (exit %d)' % rc)
    check('AuthorizationHeaderMalformed' in env.out and 'check --s3-region' in env.out,
          'the refusal is not explained')
    # A bucket that does not exist stops the run at the first reply.
    env.add_many(6, prefix='nb')
    rc = env.run('--s3', 's3://no-such-bucket', '--s3-region', REGION, '--jobs', '1', env.srcdir,
                 endpoint=srv.endpoint, session=SESSION)
    check(rc == 1 and 'NoSuchBucket' in env.err, 'NoSuchBucket not reported')
    check(env.out.count('not sent: ') >= 5, 'kept sending to a missing bucket')


def sc_no_compress(env):
    env.add_many(4)
    srv = env.ours()
    rc = env.run('--s3', 's3://%s/plain' % BUCKET, '--s3-region', REGION, '--no-compress',
                 env.srcdir, endpoint=srv.endpoint)
    check(rc == 0, 'exit %d' % rc)
    got = env.check_stored_once(srv, 'plain', encoding=None)
    for k, lst in got.items():
        check(lst[0]['sha256'] == env.expected[k], '%s not stored plain' % k)


def sc_multipart(env):
    """Past --s3-part-size: create, parts (each signed with its own hash), complete;
    a dropped connection mid-part and SlowDown on parts are retried."""
    add_large(env, 'libbig.so', 1, 18 << 20)
    add_large(env, 'libmid.so', 2, 10 << 20)
    env.add_many(3)
    srv = env.ours(faults=[{'kind': 'drop', 'count': 1, 'part': True},
                           {'kind': 'slowdown', 'count': 2, 'method': 'PUT', 'part': True},
                           {'kind': 'complete_error', 'count': 1}])
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--s3-part-size', '5M',
                 '--retry-delay', '0.01', '--jobs', '3', env.srcdir, endpoint=srv.endpoint)
    check(rc == 0, 'exit %d' % rc)
    got = env.check_stored_once(srv)
    multi = [k for k, lst in got.items() if lst[0]['multipart']]
    check(len(multi) == 2, 'multipart uploads: %s' % multi)
    parts = [r for r in srv.requests() if r['method'] == 'PUT' and 'partNumber' in r['query']
             and r['status'] == 200]
    check(all(int(r['part_size']) >= 5 << 20 or r['part'] == max(
        p['part'] for p in parts if p['key'] == r['key']) for r in parts), 'a small middle part')
    faults = [r.get('fault') for r in srv.requests() if r.get('fault')]
    check(sorted(faults) == ['complete_error', 'drop', 'slowdown', 'slowdown'],
          'faults injected: %s' % faults)
    ev = srv.events()
    created = [e for e in ev if e.get('event') == 'created']
    completed = [e for e in ev if e.get('event') == 'completed']
    check(len(created) == 2 and len(completed) == 2, 'multipart bookkeeping')


def sc_multipart_abort(env):
    """A part that keeps failing: the upload is aborted, the file reported failed."""
    add_large(env, 'libbig.so', 3, 12 << 20)
    srv = env.ours(faults=[{'kind': 'status', 'status': 500, 'code': 'InternalError',
                            'count': 100, 'method': 'PUT', 'part': True}])
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--s3-part-size', '5M',
                 '--retries', '2', '--retry-delay', '0.01', env.srcdir, endpoint=srv.endpoint)
    check(rc == 1, 'exit %d' % rc)
    ev = srv.events()
    check([e['event'] for e in ev if e.get('event')] == ['created', 'aborted'],
          'not created then aborted: %s' % [e.get('event') for e in ev if e.get('event')])
    check(len(env.lines('s3-failed')) == 1 and 'gave up after 3 attempts' in env.out,
          'failure not reported')
    check('s3: 0 uploaded, 1 failed' in env.summary(), 'summary')


def sc_multipart_200mb(env):
    """A 200 MB generated .sym sent in 16 MiB parts, assembled correctly."""
    add_large(env, 'libhuge.so', 7, 200 << 20, compressible=False)
    srv = env.ours()
    rc = env.run('--s3', 's3://%s/big' % BUCKET, '--s3-region', REGION, '--s3-part-size', '16M',
                 env.srcdir, endpoint=srv.endpoint)
    check(rc == 0, 'exit %d' % rc)
    got = env.check_stored_once(srv, 'big')
    (lst,) = got.values()
    check(lst[0]['multipart'], 'not a multipart upload')
    nparts = [e['parts'] for e in srv.events() if e.get('event') == 'completed']
    check(nparts and nparts[0] >= 4, 'parts: %s' % nparts)


def sc_skip_existing(env):
    env.add_many(12)
    srv = env.ours()
    args = ['--s3', 's3://%s/p' % BUCKET, '--s3-region', REGION, '--skip-existing', env.srcdir]
    check(env.run(*args, endpoint=srv.endpoint) == 0, 'first run')
    first = len(srv.requests())
    check('s3: 12 uploaded, 0 existing, 0 differ, 0 failed' in env.summary(), 'first summary')
    check(env.run(*args, endpoint=srv.endpoint) == 0, 'second run')
    second = srv.requests()[first:]
    check(all(r['method'] == 'HEAD' for r in second), 'the second run sent more than HEADs: %s' %
          sorted(set(r['method'] for r in second)))
    check(len(second) == 12, '%d HEADs' % len(second))
    check('s3: 0 uploaded, 12 existing, 0 differ, 0 failed' in env.summary(), 'second summary')
    env.check_stored_once(srv, 'p')
    # The same key with other contents: reported, not replaced, exit 1.
    key = sorted(env.expected)[0]
    name, did = key.split('/')[0], key.split('/')[1]
    other = os.path.join(env.root, 'other.sym')
    with open(other, 'w') as f:
        f.write(sym_text(name, did, 5, 999))
    rc = env.run('--s3', 's3://%s/p' % BUCKET, '--s3-region', REGION, '--skip-existing', other,
                 endpoint=srv.endpoint)
    check(rc == 1, 'a differing object exits %d' % rc)
    check(('s3-differs  %s' % key) in env.out, 'differs not reported')
    check(len(srv.stored()) == 12, 'the differing object was replaced')


def sc_faults(env):
    """SlowDown N times, 500s, a dropped connection: retried, each file once."""
    env.add_many(30)
    srv = env.ours(faults=[{'kind': 'slowdown', 'count': 5, 'method': 'PUT'},
                           {'kind': 'status', 'status': 500, 'code': 'InternalError', 'count': 2,
                            'method': 'PUT'},
                           {'kind': 'status', 'status': 429, 'code': 'TooManyRequests', 'count': 1,
                            'method': 'PUT'},
                           {'kind': 'drop', 'count': 2, 'method': 'PUT'}])
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--retry-delay', '0.01',
                 '--jobs', '5', env.srcdir, endpoint=srv.endpoint)
    check(rc == 0, 'exit %d' % rc)
    env.check_stored_once(srv)
    check(len([r for r in srv.requests() if r.get('fault')]) == 10, 'faults not all injected')
    check('SlowDown' in env.err and 'retrying' in env.err, 'retries not logged')
    # Retries run out: the file fails, the others still arrive, exit 1.
    env.expected = {}
    env.add('lonely.so', 5)
    srv2 = env.ours(faults=[{'kind': 'slowdown', 'count': 50, 'method': 'PUT'}])
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--retry-delay', '0.01',
                 '--retries', '3', os.path.join(env.srcdir, 'build', 'lonely.so-5.sym'),
                 endpoint=srv2.endpoint)
    check(rc == 1, 'exit %d' % rc)
    check('gave up after 4 attempts' in env.out and 'SlowDown' in env.out, 'give-up reason')
    check(len(srv2.requests()) == 4, '%d attempts' % len(srv2.requests()))


def sc_unreachable(env):
    """Nothing listens: the first file's retries run out, the rest is not tried."""
    env.add_many(20)
    port = free_port()
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--retries', '2',
                 '--retry-delay', '0.01', '--jobs', '2', env.srcdir,
                 endpoint='http://127.0.0.1:%d' % port)
    check(rc == 1, 'exit %d' % rc)
    check(len(env.lines('s3-failed')) == 20, 'not every file failed')
    check(env.out.count('not sent: ') >= 18, 'the rest was still tried')
    check(env.err.count('retrying') <= 4, 'retried every file')


def sc_wrong_secret(env):
    env.add_many(6)
    srv = env.ours(secret='a-different-secret')
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--retry-delay', '0.01',
                 env.srcdir, endpoint=srv.endpoint)
    check(rc == 1, 'exit %d' % rc)
    check('bad credentials' in env.err and 'SignatureDoesNotMatch' in env.err,
          'the 403 is not explained')
    check(env.err.count('bad credentials') == 1, 'the refusal is repeated')
    check(len(env.lines('s3-failed')) == 6, 'not every file listed as failed')
    check(len(srv.stored()) == 0, 'something was stored')
    check(len(srv.requests()) <= 3, 'kept sending after a 403: %d requests' % len(srv.requests()))
    # An unknown access key says so too.
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, env.srcdir,
                 endpoint=srv.endpoint, creds=('AKIDUNKNOWN000', SECRET))
    check(rc == 1 and 'unknown access key' in env.err, 'unknown key not explained')


def sc_clock_skew(env):
    env.add_many(3)
    srv = env.ours(skew=3600)
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, '--retry-delay', '0.01',
                 env.srcdir, endpoint=srv.endpoint)
    check(rc == 1, 'exit %d' % rc)
    check('clock skew' in env.err and 'RequestTimeTooSkewed' in env.err, 'skew not explained')
    check(len(srv.stored()) == 0, 'something was stored')


def sc_usage(env):
    env.add_many(1)
    cases = [
        (['--s3', 'http://bucket/x'], 'wants s3://'),
        (['--s3', 's3:///x'], 'names no bucket'),
        (['--s3', 's3://b/../x'], 'not allowed'),
        (['--s3', 's3://b', '--s3-addressing', 'diagonal'], 'path, virtual or auto'),
        (['--s3', 's3://b', '--s3-part-size', '1M'], 'at least 5M'),
        (['--s3', 's3://b', '--s3-endpoint', 'ftp://h'], 'http:// or https://'),
        (['--s3-endpoint', 'http://h', '--store', env.root + '/st'], 'without --s3'),
    ]
    for args, msg in cases:
        rc = env.run(*(args + [env.srcdir]))
        check(rc == 2, '%s: exit %d' % (args, rc))
        check(msg in env.err, '%s: message lacks %r' % (args, msg))
    rc = env.run('--s3', 's3://b', env.srcdir, creds=None)
    check(rc == 2 and 'AWS_ACCESS_KEY_ID' in env.err, 'missing credentials')
    rc = env.run('--help')
    for flag in ('--s3 ', '--s3-endpoint', '--s3-region', '--s3-addressing', '--s3-part-size',
                 '--no-compress'):
        check(flag in env.out, '--help lacks %s' % flag)
    # Dry run: nothing sent, no credentials needed.
    srv = env.ours()
    rc = env.run('--s3', 's3://%s' % BUCKET, '--dry-run', env.srcdir, endpoint=srv.endpoint,
                 creds=None)
    check(rc == 0 and len(env.lines('s3-would')) == 1, 'dry run')
    check(srv.requests() == [], 'the dry run sent requests')


def sc_all_destinations(env):
    """--url (Tecken), --store and --s3 in one run."""
    sys.path.insert(0, HERE)
    import test_symupload as ts
    env.add_many(7)
    srv = env.ours()
    tecken = ts.Env(env.exe, env.root, 'tecken')
    tecken.start_server()
    store = os.path.join(env.root, 'store')
    try:
        env_extra = {'SYMKIT_UPLOAD_TOKEN': ts.TOKEN}
        rc = env.run('--s3', 's3://%s/x' % BUCKET, '--s3-region', REGION, '--url', tecken.url,
                     '--store', store, '--retry-delay', '0.01', env.srcdir,
                     endpoint=srv.endpoint, env_extra=env_extra)
        check(ts.TOKEN not in env.out + env.err, 'token shown')
    finally:
        tecken.stop()
    check(rc == 0, 'exit %d' % rc)
    env.check_stored_once(srv, 'x')
    arrived = tecken.arrivals()
    check(sorted(a['key'] for a in arrived) == sorted(env.expected), 'Tecken arrivals')
    for k, sha in env.expected.items():
        with open(os.path.join(store, k), 'rb') as f:
            check(hashlib.sha256(f.read()).hexdigest() == sha, 'store %s' % k)
    s = env.summary()
    check('7 uploaded' in s and '7 stored' in s and 's3: 7 uploaded' in s, 'summary %s' % s)


def sc_load(env):
    """10,000 small files and 20 large ones, --jobs 8, random faults: nothing lost or
    duplicated, the summary's counts equal the server's."""
    t0 = time.time()
    for i in range(10000):
        name = 'm%05d.so' % i
        did = '%032X0' % (0x5EED0000 + i * 7919)
        text = ('MODULE Linux x86_64 %s %s\nFUNC %x 10 0 f%d\nPUBLIC %x 0 p%d\n' %
                (did, name, i * 16, i, i * 16 + 8, i)).encode()
        d = os.path.join(env.srcdir, 'small', '%02d' % (i % 100))
        if i < 100:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name + '.sym'), 'wb') as f:
            f.write(text)
        env.expected['%s/%s/%s.sym' % (name, did, name)] = hashlib.sha256(text).hexdigest()
    for i in range(20):
        add_large(env, 'large%02d.so' % i, 100 + i, 9 << 20, compressible=False)
    print('generated in %.1f s' % (time.time() - t0))
    srv = env.ours(faults=[{'kind': 'random', 'seed': 14, 'slowdown': 0.01, 'drop': 0.004,
                            'status500': 0.005, 'method': 'PUT'}])
    rc = env.run('--s3', 's3://%s/load' % BUCKET, '--s3-region', REGION, '--jobs', '8',
                 '--s3-part-size', '5M', '--retry-delay', '0.01', '--retries', '10', '-q',
                 env.srcdir, endpoint=srv.endpoint, timeout=1500)
    check(rc == 0, 'exit %d' % rc)
    got = env.check_stored_once(srv, 'load')
    faults = [r for r in srv.requests() if r.get('fault')]
    check(len(faults) > 50, 'only %d faults injected' % len(faults))
    check(sum(1 for lst in got.values() if lst[0]['multipart']) == 20, 'large files not multipart')
    # -q prints no per-file lines when all is well; a normal run's summary counts:
    check(env.out == '', 'quiet run printed %r' % env.out[:200])
    rc = env.run('--s3', 's3://%s/load' % BUCKET, '--s3-region', REGION, '--jobs', '8',
                 '--skip-existing', '--retry-delay', '0.01', env.srcdir, endpoint=srv.endpoint,
                 timeout=1500)
    check(rc == 0, 'second exit %d' % rc)
    check('s3: 0 uploaded, 10020 existing, 0 differ, 0 failed' in env.summary(), env.summary())
    check(len(srv.stored()) == 10020, 'server stored %d objects' % len(srv.stored()))
    print('faults injected: %d' % len(faults))


def sc_s3rver(env):
    """s3rver: single PUTs, multipart, HEAD with metadata, --skip-existing."""
    env.add_many(25)
    add_large(env, 'libbig.so', 9, 14 << 20)
    srv = env.s3rver()
    args = ['--s3', 's3://%s/rel/1.0' % BUCKET, '--s3-part-size', '5M', '--jobs', '4',
            '--skip-existing', env.srcdir]
    rc = env.run(*args, endpoint=srv.endpoint, creds=('S3RVER', 'S3RVER'))
    check(rc == 0, 'exit %d' % rc)
    check('s3: 26 uploaded, 0 existing, 0 differ, 0 failed' in env.summary(), 'summary')
    env.check_s3rver_objects(srv, 'rel/1.0')
    rc = env.run(*args, endpoint=srv.endpoint, creds=('S3RVER', 'S3RVER'))
    check(rc == 0 and 's3: 0 uploaded, 26 existing' in env.summary(), 'second run')
    # s3rver knows one access key: another is refused, with the reason.
    env.expected = {}
    env.add('late.so', 3)
    rc = env.run('--s3', 's3://%s/rel/1.0' % BUCKET, os.path.join(env.srcdir, 'build', 'late.so-3.sym'),
                 endpoint=srv.endpoint, creds=('NOTS3RVER', 'S3RVER'))
    check(rc == 1 and 'InvalidAccessKeyId' in env.out, 'unknown access key against s3rver')


# ---- reading the bucket back: stackwalk and symverify check -------------------

FIXTURES = os.path.join(os.path.dirname(HERE), 'stackwalk', 'fixtures')
# A crash inside the shared library: both fixture modules are on the stack,
# so both .sym files must come from the bucket.
CHAIN = [('libcrashlib.so', 'lib_crash'), ('libcrashlib.so', 'lib_entry'), ('crashers', 'main')]


def tool(name):
    exe = os.environ.get('SYMKIT_' + name.upper())
    if not exe or not os.access(exe, os.X_OK):
        skip('%s not built' % name)
    return exe


def crash_fixture(env):
    """Builds crashers + libcrashlib.so with -g, dumps them into a local store
    and captures a crash (lib_crash <- lib_entry in the library <- main)."""
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    dumpsyms, symverify = tool('dumpsyms'), tool('symverify')
    d = os.path.join(env.root, 'fixture')
    os.makedirs(d)
    lib = os.path.join(d, 'libcrashlib.so')
    exe = os.path.join(d, 'crashers')
    subprocess.run(['cc', '-g', '-O0', '-shared', '-fPIC', '-o', lib,
                    os.path.join(FIXTURES, 'crashlib.c')], check=True)
    subprocess.run(['cc', '-g', '-O0', '-pthread', '-o', exe, os.path.join(FIXTURES, 'crashers.c'),
                    '-L' + d, '-lcrashlib', '-Wl,-rpath,$ORIGIN'], check=True)
    store = os.path.join(env.root, 'local-store')
    p = subprocess.run([dumpsyms, '--store', store, exe, lib], capture_output=True, text=True)
    check(p.returncode == 0, 'dumpsyms: %s' % p.stderr)
    dump = os.path.join(env.root, 'lib.dmp')
    p = subprocess.run([symverify, 'capture', '-q', '-o', dump, '--', exe, 'lib'],
                       capture_output=True, text=True)
    check(os.path.exists(dump), 'no dump captured: %s' % p.stderr)
    for dp, _, fs in os.walk(store):
        for f in fs:
            rel = os.path.relpath(os.path.join(dp, f), store)
            with open(os.path.join(dp, f), 'rb') as fh:
                env.expected[rel] = hashlib.sha256(fh.read()).hexdigest()
    return store, dump


def walk_env(endpoint=None, creds=(AKID, SECRET), region=REGION):
    env = clean_env()
    for k in list(env):
        if k.startswith('AWS_'):
            del env[k]
    if creds:
        env['AWS_ACCESS_KEY_ID'], env['AWS_SECRET_ACCESS_KEY'] = creds
    if endpoint:
        env['AWS_ENDPOINT_URL'] = endpoint
    if region:
        env['AWS_REGION'] = region
    return env


def stackwalk(dump, *args, env=None):
    p = subprocess.run([tool('stackwalk'), '--json', dump] + list(args), env=env,
                       capture_output=True, text=True, timeout=300)
    sys.stdout.write('$ stackwalk %s\n-- stderr --\n%s-- exit %d\n' %
                     (' '.join(args), p.stderr, p.returncode))
    for secret in (SECRET, AKID):
        check(secret not in p.stdout + p.stderr, 'a credential appeared in stackwalk output')
    check(p.returncode == 0, 'stackwalk exit %d: %s' % (p.returncode, p.stderr))
    return json.loads(p.stdout), p.stderr


def chain_of(report):
    frames = report['crashing_thread']['frames'] if report.get('crashing_thread') else []
    return [(f['module'], f['function'] or '?') for f in frames
            if f['module'] in ('crashers', 'libcrashlib.so')]


def check_walk(report, label):
    got = chain_of(report)
    check(len(got) >= len(CHAIN) and all(wm == gm and wf in gf
                                         for (wm, wf), (gm, gf) in zip(CHAIN, got)),
          '%s: crashing thread %s, want %s' % (label, got, CHAIN))
    mods = {m['filename']: m for m in report['modules']}
    check(mods.get('crashers', {}).get('loaded_symbols'), '%s: crashers has no symbols' % label)
    check(mods.get('libcrashlib.so', {}).get('loaded_symbols'),
          '%s: libcrashlib.so has no symbols' % label)


def check_cache(env, cache):
    for k, sha in env.expected.items():
        p = os.path.join(cache, k)
        check(os.path.exists(p), 'not cached: %s' % k)
        with open(p, 'rb') as f:
            check(hashlib.sha256(f.read()).hexdigest() == sha, 'cached %s differs' % k)


def sc_stackwalk(env):
    """A captured crash walked against the bucket alone (signed GETs of gzip
    objects, checked by our server), the cache filled as for HTTP servers, then
    used with the server gone; wrong credentials are named."""
    store, dump = crash_fixture(env)
    srv = env.ours()
    rc = env.run('--s3', 's3://%s/syms' % BUCKET, '--s3-region', REGION, store,
                 endpoint=srv.endpoint)
    check(rc == 0, 'symupload exit %d' % rc)
    env.check_stored_once(srv, 'syms')
    cache = os.path.join(env.root, 'cache')
    before = len(srv.requests())
    report, _ = stackwalk(dump, '--symbols-url', 's3://%s/syms' % BUCKET, '--symbols-cache', cache,
                          env=walk_env(srv.endpoint))
    check_walk(report, 's3 walk')
    gets = srv.requests()[before:]
    check(gets and all(r['method'] == 'GET' for r in gets), 'not GETs')
    check(all(r['status'] in (200, 404) for r in gets), 'refused GETs: %s' %
          [(r['key'], r['status'], r.get('code')) for r in gets if r['status'] not in (200, 404)])
    check(sum(1 for r in gets if r['status'] == 200) == 2, 'two objects fetched')
    check_cache(env, cache)
    # Flags instead of the environment; virtual-host addressing.
    report, _ = stackwalk(dump, '--symbols-url', 's3://%s/syms' % BUCKET, '--s3-endpoint',
                          'http://localhost:%d' % srv.port, '--s3-region', REGION,
                          '--s3-addressing', 'virtual', env=walk_env(None, region=None))
    check_walk(report, 's3 walk with flags')
    check(srv.requests()[-1]['style'] == 'virtual', 'not virtual-host addressing')
    # Bad credentials: said once per lookup as such, no symbols, still a report.
    # (stackwalk shows download problems with -v)
    report, err = stackwalk(dump, '-v', '--symbols-url', 's3://%s/syms' % BUCKET,
                            env=walk_env(srv.endpoint, creds=(AKID, 'wrong-secret')))
    check('bad credentials' in err and 'SignatureDoesNotMatch' in err, 'bad credentials not named')
    check(all(f == '?' for _, f in chain_of(report)), 'symbolicated without credentials?')
    srv.stop()
    # The server is gone: the cache alone answers.
    report, _ = stackwalk(dump, '--symbols-url', 's3://%s/syms' % BUCKET, '--symbols-cache', cache,
                          env=walk_env(srv.endpoint))
    check_walk(report, 'cache walk')


def sc_stackwalk_s3rver(env):
    """s3rver: the bucket through s3:// (signed) and through its plain http://
    URL, as a public bucket is read (gzip content-encoding decoded)."""
    store, dump = crash_fixture(env)
    srv = env.s3rver()
    rc = env.run('--s3', 's3://%s/pub' % BUCKET, store, endpoint=srv.endpoint,
                 creds=('S3RVER', 'S3RVER'))
    check(rc == 0, 'symupload exit %d' % rc)
    env.check_s3rver_objects(srv, 'pub')
    cache = os.path.join(env.root, 'cache-s3')
    report, _ = stackwalk(dump, '--symbols-url', 's3://%s/pub' % BUCKET, '--symbols-cache', cache,
                          env=walk_env(srv.endpoint, creds=('S3RVER', 'S3RVER'), region=None))
    check_walk(report, 's3rver s3:// walk')
    check_cache(env, cache)
    cache = os.path.join(env.root, 'cache-http')
    report, _ = stackwalk(dump, '--symbols-url', '%s/%s/pub' % (srv.endpoint, BUCKET),
                          '--symbols-cache', cache, env=walk_env(None, creds=None, region=None))
    check_walk(report, 's3rver public http:// walk')
    check_cache(env, cache)


def sc_symverify(env):
    """symverify check --symbols s3://...: the same chain found from the bucket."""
    store, dump = crash_fixture(env)
    srv = env.ours()
    rc = env.run('--s3', 's3://%s' % BUCKET, '--s3-region', REGION, store, endpoint=srv.endpoint)
    check(rc == 0, 'symupload exit %d' % rc)
    expect = os.path.join(env.root, 'expect.txt')
    with open(expect, 'w') as f:
        f.write('dump: lib.dmp\n' + ''.join('%s!%s\n' % mf for mf in CHAIN))
    cache = os.path.join(env.root, 'cache')
    p = subprocess.run([tool('symverify'), 'check', '--symbols', 's3://%s' % BUCKET,
                        '--symbols-cache', cache, '--expect', expect, dump],
                       env=walk_env(srv.endpoint), capture_output=True, text=True, timeout=300)
    sys.stdout.write('$ symverify check\n%s%s-- exit %d\n' % (p.stdout, p.stderr, p.returncode))
    check(p.returncode == 0 and 'result: pass' in p.stdout, 'symverify check against the bucket')
    check_cache(env, cache)
    check(any(r['method'] == 'GET' and r['status'] == 200 for r in srv.requests()), 'no GET')


SCENARIOS = {k[3:]: v for k, v in globals().items() if k.startswith('sc_')}


def main():
    exe, scratch, name = sys.argv[1], sys.argv[2], sys.argv[3]
    env = Env(exe, scratch, name)
    try:
        SCENARIOS[name](env)
    except Fail as e:
        print('FAIL: %s' % e)
        return 1
    finally:
        env.stop()
    shutil.rmtree(env.root, ignore_errors=True)
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
