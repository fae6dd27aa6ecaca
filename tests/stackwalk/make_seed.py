#!/usr/bin/env python3
"""Writes the mutation test's seed dump and symbol store, then runs it.
usage: make_seed.py TEST_MUTATION_EXE SCRATCH_DIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mdbuild  # noqa: E402

exe, d = sys.argv[1], sys.argv[2]
shutil.rmtree(d, ignore_errors=True)
os.makedirs(d)
app = mdbuild.Module("app", 0x400000, 0x10000, bytes(range(1, 21)))
store = os.path.join(d, "store")
mdbuild.write_sym(store, app, "x86_64", "\n".join([
    "FILE 0 /src/app.c", "INLINE_ORIGIN 0 helper",
    "FUNC 1000 100 0 main", "1000 100 10 0",
    "FUNC 1100 100 0 outer", "INLINE 0 5 0 0 1140 20", "1100 100 20 0",
    "FUNC 1300 100 0 leaf", "1300 100 40 0",
    "STACK CFI INIT 1300 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^", ""]))
S = 0x7FFF0000
st = mdbuild.Stack(S, 0x400, 8)
st.put(S + 0x100, 0x401150)   # leaf -> outer (cfi)
st.put(S + 0x200, S + 0x300)  # outer's frame record
st.put(S + 0x208, 0x401080)   # -> main
dump = mdbuild.Dump("amd64")
dump.modules = [app]
dump.threads = [mdbuild.Thread(1, "amd64", {"rip": 0x401310, "rsp": S + 0x100, "rbp": S + 0x200}, S, st.bytes(),
                               name="main")]
dump.memory = [(0x401000, bytes(64))]
dump.exception = (1, 11, 1, 0, None)
dump.pid = 7
dump.requesting = 1
dump.extra = [(mdbuild.LINUX_LSB_RELEASE, b"DISTRIB_ID=Debian\n"), (mdbuild.LINUX_CMD_LINE, b"./app\0-x\0"),
              (mdbuild.LINUX_PROC_STATUS, b"Name:\tapp\nPid:\t7\n")]
seed = os.path.join(d, "seed.dmp")
dump.write(seed)
sys.exit(subprocess.run([exe, seed, store], timeout=1200).returncode)
