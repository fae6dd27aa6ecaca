#!/usr/bin/env bash
# s3-bench.sh — symupload --s3 throughput (files/s, MB/s) to loopback S3
# servers (our SigV4-checking s3_server.py, and s3rver when installed in
# build/npm), for many small and a few large .sym files, and stackwalk's
# first walk against a bucket.
#
# usage: bench/s3-bench.sh [BUILD_DIR] [--small N] [--large N] [--large-mb MB]
# Inputs are generated once into bench/out/s3/.  Never run by CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
shift || true
ninja -C "$build" >/dev/null
export SYMKIT_S3RVER="$build/npm/node_modules/.bin/s3rver:$root/build/npm/node_modules/.bin/s3rver"
exec python3 "$here/s3_bench.py" "$build" "$here/out/s3" "$@"
