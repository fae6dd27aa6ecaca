#!/usr/bin/env python3
"""stackwalk's first walk against an S3 bucket: a captured fixture crash
(plus libc's and the loader's symbols) is walked with an empty cache against
s3_server.py on loopback (signed GETs, SigV4 checked by the server, gzip
objects), then again with the cache warm, and against the local store.

usage: s3_walk_bench.py BUILD_DIR OUT_DIR [--repeat N]
Prints the median wall time of each.  Never run by CI.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'upload'))
import test_s3 as t  # noqa: E402


def timed(argv, env):
    t0 = time.time()
    p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.time() - t0
    if p.returncode != 0:
        raise SystemExit('%s failed: %s' % (argv, p.stderr.decode()[-500:]))
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('out')
    ap.add_argument('--repeat', type=int, default=5)
    a = ap.parse_args()
    os.environ['SYMKIT_DUMPSYMS'] = os.path.join(a.build, 'dumpsyms', 'dumpsyms')
    os.environ['SYMKIT_SYMVERIFY'] = os.path.join(a.build, 'verify', 'symverify')
    os.environ['SYMKIT_STACKWALK'] = os.path.join(a.build, 'stackwalk', 'stackwalk')
    env = t.Env(os.path.join(a.build, 'upload', 'symupload'), a.out, 'walk')
    store, dump = t.crash_fixture(env)
    libs = [p for p in ('/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2')
            if os.path.exists(p)]
    subprocess.run([os.environ['SYMKIT_DUMPSYMS'], '--store', store] + libs,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nbytes = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(store) for f in fs)
    nfiles = sum(len(fs) for _, _, fs in os.walk(store))
    srv = env.ours()
    try:
        env.run('--s3', 's3://%s/w' % t.BUCKET, '--s3-region', t.REGION, '-q', store,
                endpoint=srv.endpoint)
        wenv = t.walk_env(srv.endpoint)
        sw = os.environ['SYMKIT_STACKWALK']
        url = ['--symbols-url', 's3://%s/w' % t.BUCKET]
        first, warm, local = [], [], []
        for i in range(a.repeat):
            cache = os.path.join(env.root, 'cache%d' % i)
            shutil.rmtree(cache, ignore_errors=True)
            first.append(timed([sw, '--json', dump] + url + ['--symbols-cache', cache], wenv))
            warm.append(timed([sw, '--json', dump] + url + ['--symbols-cache', cache], wenv))
            local.append(timed([sw, '--json', dump, '--symbols-path', store], wenv))
    finally:
        srv.stop()
        env.stop()
    print('store: %d .sym files, %.1f MB (gzip objects in the bucket)' % (nfiles, nbytes / 1e6))
    print('stackwalk first walk, bucket, empty cache  %7.3f s (median of %d)' %
          (statistics.median(first), a.repeat))
    print('stackwalk walk, bucket, warm cache         %7.3f s' % statistics.median(warm))
    print('stackwalk walk, local store                %7.3f s' % statistics.median(local))


if __name__ == '__main__':
    main()
