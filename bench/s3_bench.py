#!/usr/bin/env python3
"""S3 benchmarks on loopback: symupload --s3 throughput (many small files, a
few large ones) against tests/upload/s3_server.py (SigV4 checked on every
request) and s3rver when installed, and stackwalk's first walk against a
bucket (empty cache: every module's .sym fetched with signed GETs).

usage: s3_bench.py BUILD_DIR OUT_DIR [--small N] [--large N] [--large-mb MB]

Prints wall time, files/s and MB/s (of .sym text) per run.  Never run by CI.
"""
import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'upload'))
import test_s3 as t  # noqa: E402


def gen_small(d, n):
    total = 0
    for i in range(n):
        name = 'b%06d.so' % i
        did = '%032X0' % (0xBE0000 + i * 7919)
        lines = ['MODULE Linux x86_64 %s %s' % (did, name)]
        for k in range(60):
            lines.append('FUNC %x 40 0 ns::function_%d_%d(int, char const*)' % (0x1000 + k * 64, i, k))
            lines.append('%x 10 %d 0' % (0x1000 + k * 64, k + 1))
        text = ('\n'.join(lines) + '\n').encode()
        sub = os.path.join(d, '%03d' % (i % 1000))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, name + '.sym'), 'wb') as f:
            f.write(text)
        total += len(text)
    return total


def gen_large(d, n, mb):
    os.makedirs(d, exist_ok=True)
    total = 0
    rnd = random.Random(3)
    for i in range(n):
        path = os.path.join(d, 'big%d.sym' % i)
        did = '%032X0' % (0xB16000 + i)
        with open(path, 'wb') as f:
            f.write(('MODULE Linux x86_64 %s big%d.so\n' % (did, i)).encode())
            addr = 0x1000
            written = 0
            while written < mb << 20:
                lines = []
                for _ in range(4096):
                    # Half repetitive names, half random: compresses ~3:1 like real .sym files.
                    lines.append('FUNC %x 40 0 mozilla::dom::Element::%s(int)\n' %
                                 (addr, base64.b32encode(rnd.randbytes(10)).decode()))
                    addr += 0x40
                block = ''.join(lines).encode()
                f.write(block)
                written += len(block)
        total += os.path.getsize(path)
    return total


class FakeEnv:
    def __init__(self, root):
        self.root = root
        self.servers = []


def run_upload(exe, srcdir, endpoint, creds, label, nfiles, nbytes, extra=()):
    env = t.clean_env()
    for k in list(env):
        if k.startswith('AWS_'):
            del env[k]
    env['AWS_ACCESS_KEY_ID'], env['AWS_SECRET_ACCESS_KEY'] = creds
    argv = [exe, '--s3', 's3://%s/bench' % t.BUCKET, '--s3-endpoint', endpoint,
            '--s3-region', t.REGION, '--jobs', '8', '-q'] + list(extra) + [srcdir]
    t0 = time.time()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.time() - t0
    ok = 'ok' if p.returncode == 0 else 'FAILED (exit %d): %s' % (p.returncode, p.stderr[-300:])
    print('%-44s %7.2f s  %8.1f files/s  %7.1f MB/s  %s' %
          (label, dt, nfiles / dt, nbytes / 1e6 / dt, ok))
    return p.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('out')
    ap.add_argument('--small', type=int, default=5000)
    ap.add_argument('--large', type=int, default=4)
    ap.add_argument('--large-mb', type=int, default=100)
    a = ap.parse_args()
    exe = os.path.join(a.build, 'upload', 'symupload')
    stackwalk = os.path.join(a.build, 'stackwalk', 'stackwalk')
    os.makedirs(a.out, exist_ok=True)
    small_dir = os.path.join(a.out, 'small')
    large_dir = os.path.join(a.out, 'large')
    if not os.path.isdir(small_dir):
        gen_small(small_dir, a.small)
    if not os.path.isdir(large_dir):
        gen_large(large_dir, a.large, a.large_mb)
    small_bytes = sum(os.path.getsize(os.path.join(dp, f))
                      for dp, _, fs in os.walk(small_dir) for f in fs)
    large_bytes = sum(os.path.getsize(os.path.join(large_dir, f)) for f in os.listdir(large_dir))
    nsmall = sum(len(fs) for _, _, fs in os.walk(small_dir))
    nlarge = len(os.listdir(large_dir))
    print('inputs: %d small files (%.1f MB), %d large (%.0f MB)' %
          (nsmall, small_bytes / 1e6, nlarge, large_bytes / 1e6))

    srvroot = os.path.join(a.out, 'srv')
    shutil.rmtree(srvroot, ignore_errors=True)
    os.makedirs(srvroot)
    ours = t.OurServer(srvroot)
    try:
        creds = (t.AKID, t.SECRET)
        run_upload(exe, small_dir, ours.endpoint, creds, 's3_server.py: small, gzip', nsmall,
                   small_bytes)
        run_upload(exe, large_dir, ours.endpoint, creds, 's3_server.py: large, gzip, 64M parts',
                   nlarge, large_bytes)
        run_upload(exe, large_dir, ours.endpoint, creds, 's3_server.py: large, plain, 64M parts',
                   nlarge, large_bytes, ['--no-compress'])
        run_upload(exe, small_dir, ours.endpoint, creds, 's3_server.py: small, --skip-existing',
                   nsmall, small_bytes, ['--skip-existing'])
    finally:
        ours.stop()
    if t.find_s3rver():
        d = os.path.join(a.out, 's3rver')
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        srv = t.S3rver(d)
        try:
            creds = ('S3RVER', 'S3RVER')
            run_upload(exe, small_dir, srv.endpoint, creds, 's3rver: small, gzip', nsmall,
                       small_bytes)
            run_upload(exe, large_dir, srv.endpoint, creds, 's3rver: large, gzip, 64M parts',
                       nlarge, large_bytes)
        finally:
            srv.stop()
    else:
        print('s3rver not installed (scripts/bootstrap.sh test installs it): skipped')

    if os.path.exists(stackwalk) and os.path.exists(os.path.join(HERE, 's3_walk_bench.py')):
        subprocess.run([sys.executable, os.path.join(HERE, 's3_walk_bench.py'), a.build,
                        os.path.join(a.out, 'walk')])


if __name__ == '__main__':
    main()
