#!/usr/bin/env python3
"""dumpsyms loads libarchive, libdebuginfod and libcrypto only for the runs
that need them (common/dynlib.c, dumpsyms/search/lazy_*.c,
dumpsyms/lazy_crypto.c; the Mach-O tests cover the MD5 libcrypto gives):

  * none is a NEEDED entry of the dumpsyms binary;
  * dumping a plain ELF file maps none (the dynamic loader's own
    account, LD_DEBUG=files);
  * a .deb input loads libarchive and is dumped; a debuginfod URL loads
    libdebuginfod (the server, on 127.0.0.1, refuses the connection).

usage: test_lazy_libs.py DUMPSYMS SCRATCH_DIR
"""
import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import oracle_util  # noqa: E402

DUMPSYMS, SCRATCH = sys.argv[1:3]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def loaded(args, **env_extra):
    """The run's result and the libraries the dynamic loader opened."""
    env = dict(os.environ, LD_DEBUG="files", LD_DEBUG_OUTPUT=os.path.join(SCRATCH, "ld"), **env_extra)
    env.pop("DEBUGINFOD_URLS", None)
    for f in os.listdir(SCRATCH):
        if f.startswith("ld."):
            os.unlink(os.path.join(SCRATCH, f))
    r = subprocess.run([DUMPSYMS] + args, capture_output=True, text=True, env=env)
    libs = set()
    for f in os.listdir(SCRATCH):
        if f.startswith("ld."):
            for line in open(os.path.join(SCRATCH, f), errors="replace"):
                if "file=" in line and ("[0];" in line or "generating link map" in line or "needed by" in line
                                        or "dynamically loaded" in line):
                    libs.add(line.split("file=", 1)[1].split()[0].split("/")[-1].rstrip(";"))
    return r, libs


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    oracle_util.require("readelf", "dpkg-deb", "cc", "objcopy")

    dyn = subprocess.run(["readelf", "-d", DUMPSYMS], capture_output=True, text=True, check=True).stdout
    needed = [l.split("[")[1].rstrip("]") for l in dyn.splitlines() if "(NEEDED)" in l]
    check(needed, "readelf shows no NEEDED entries at all: %s" % dyn[:200])
    for lib in ("libarchive", "libdebuginfod", "libcrypto"):
        check(not any(n.startswith(lib + ".") for n in needed), "%s is linked: %s" % (lib, needed))

    # A plain ELF dump: neither is mapped.
    elf = os.path.join(SCRATCH, "prog")
    src = os.path.join(SCRATCH, "prog.c")
    with open(src, "w") as f:
        f.write("int helper(int x) { return x * 3; }\nint main(void) { return helper(1); }\n")
    subprocess.run(["cc", "-g", "-O1", src, "-o", elf], check=True)
    r, libs = loaded([elf])
    plain = len(libs)
    check(r.returncode == 0 and "FUNC" in r.stdout, "plain dump failed: %s" % r.stderr)
    check("libz.so.1" in libs, "LD_DEBUG shows no libraries (did the loader write its account?): %s" % libs)
    for lib in ("libarchive.so", "libdebuginfod.so", "libcrypto.so", "libxml2.so", "libcurl-gnutls.so"):
        check(not any(l.startswith(lib) for l in libs), "a plain ELF dump loaded %s: %s" % (lib, sorted(libs)))

    # A .deb: libarchive is loaded on demand and the member dumped.
    root = os.path.join(SCRATCH, "pkg")
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(os.path.join(root, "usr", "bin"))
    shutil.copy(elf, os.path.join(root, "usr", "bin", "prog"))
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write("Package: lazy-prog\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@localhost>\n"
                "Description: test\n")
    deb = os.path.join(SCRATCH, "lazy-prog_1.0_amd64.deb")
    subprocess.run(["dpkg-deb", "-Zxz", "--root-owner-group", "-b", root, deb], check=True,
                   stdout=subprocess.DEVNULL)
    r, libs = loaded(["--store", os.path.join(SCRATCH, "store"), deb])
    check(r.returncode == 0, "dumping the .deb failed: %s" % r.stderr)
    check(any(l.startswith("libarchive.so") for l in libs), "the .deb run did not load libarchive: %s" % sorted(libs))
    check(any(n == "prog.sym" for _, _, fs in os.walk(os.path.join(SCRATCH, "store")) for n in fs),
          "the .deb member was not dumped: %s" % r.stdout)

    # A debuginfod URL: libdebuginfod is loaded; a refused connection is a
    # warning, the dump goes on from what the file has.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    stripped = os.path.join(SCRATCH, "prog.stripped")
    subprocess.run(["objcopy", "--strip-debug", elf, stripped], check=True)
    r, libs = loaded(["--debuginfod", "http://127.0.0.1:%d" % port, stripped],
                     DEBUGINFOD_CACHE_PATH=os.path.join(SCRATCH, "dicache"))
    check(r.returncode == 0, "the debuginfod run failed: %s" % r.stderr)
    check(any(l.startswith("libdebuginfod.so") for l in libs),
          "the debuginfod run did not load libdebuginfod: %s" % sorted(libs))

    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("PASS: dumpsyms links %d libraries; a plain dump maps %d, libarchive and libdebuginfod only when asked"
          % (len(needed), plain))


if __name__ == "__main__":
    main()
