#!/usr/bin/env bash
# bootstrap.sh — everything a fresh Debian 12 machine needs, in one place.
#
#   scripts/bootstrap.sh demo   install what is missing, build, run the demo
#   scripts/bootstrap.sh test   install what is missing, build, run every test
#                               (once normally, once under ASan/UBSan, plus a
#                               clang -Werror build)
#   scripts/bootstrap.sh build  install what is missing and build
#
# Idempotent: packages already present are not touched, build directories
# are reused.  Must run as root (or with sudo available) when packages are
# missing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
mode=${1:-build}
jobs=$(nproc 2>/dev/null || echo 2)

log() { printf '\n== %s\n' "$*"; }

install_packages() {
    local missing=()
    while read -r pkg; do
        case "$pkg" in ''|'#'*) continue ;; esac
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done < scripts/packages.txt
    if [ ${#missing[@]} -eq 0 ]; then
        log "all $(grep -cv '^\s*\(#\|$\)' scripts/packages.txt) packages present"
        return
    fi
    log "installing ${#missing[@]} missing packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR [meson options...]
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" -Dwerror=true "$@" >/dev/null
    fi
    # Quiet when it works, the compiler's words when it does not.
    if ! ninja -C "$dir" -j "$jobs" > "$dir/ninja.log" 2>&1; then
        grep -v '^\[' "$dir/ninja.log" | tail -40 >&2
        echo "bootstrap: build failed in $dir (full log: $dir/ninja.log)" >&2
        exit 1
    fi
}

# s3rver (a real S3 REST server, from npm) for the S3 tests: installed into
# the build tree, never globally.  Node.js and npm come with this kind of
# machine; where they are missing, Debian's npm package brings both (it is
# not in packages.txt because it conflicts with other Node.js builds).
S3RVER_VERSION=3.7.1
install_npm_tools() {
    local prefix=build/npm
    if [ -x "$prefix/node_modules/.bin/s3rver" ]; then
        return
    fi
    if ! command -v npm >/dev/null; then
        log "installing Debian's npm (for s3rver)"
        local sudo=()
        [ "$(id -u)" -ne 0 ] && sudo=(sudo)
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    log "installing s3rver $S3RVER_VERSION with npm into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >/dev/null
}

install_packages

case "$mode" in
build)
    log "building (build/)"
    build build
    ;;
demo)
    log "building (build/)"
    build build
    log "demo: the pipeline on a bundled fixture program"
    exec bash scripts/demo.sh build
    ;;
test)
    log "building (build/)"
    build build
    install_npm_tools
    log "running the test suite"
    meson test -C build --num-processes "$jobs" --print-errorlogs
    log "building under AddressSanitizer + UBSan (build-asan/)"
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    log "running the test suite under sanitizers"
    # (The Debian package test builds the project once more with dpkg's own
    # flags; once, in the plain pass, is enough.)
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        meson test -C build-asan --num-processes "$jobs" --print-errorlogs --no-suite package
    # Without libdeflate and ISA-L, so the zlib fallbacks for compressed
    # sections (whole and streamed) are compiled, warnings-checked and
    # tested too.
    log "building with clang, warnings as errors, zlib instead of libdeflate and ISA-L (build-clang/)"
    CC=clang build build-clang -Dlibdeflate=disabled -Disal=disabled
    log "compressed-section tests on the zlib fallback"
    meson test -C build-clang --num-processes "$jobs" --print-errorlogs \
        dumpsyms-elf-compress dumpsyms-elf-badinput dumpsyms-elf-debugfile
    # The README's other command, exactly as written there.
    log "the README's demo command: bash scripts/bootstrap.sh demo"
    bash scripts/bootstrap.sh demo
    log "all tests passed"
    ;;
*)
    echo "usage: scripts/bootstrap.sh demo|test|build" >&2
    exit 2
    ;;
esac
