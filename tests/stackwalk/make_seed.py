#!/usr/bin/env python3
"""Writes the mutation test's seed dump and symbol store, then runs it.
usage: make_seed.py TEST_MUTATION_EXE SCRATCH_DIR"""
import os
import struct
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
dump.memory = [(0x401000, bytes([0x48, 0x8B, 0x41, 0x08]) + bytes(60))]
dump.exception = (1, 11, 1, 0, None)
dump.pid = 7
dump.requesting = 1
dump.extra = [(mdbuild.LINUX_LSB_RELEASE, b"DISTRIB_ID=Debian\n"), (mdbuild.LINUX_CMD_LINE, b"./app\0-x\0"),
              (mdbuild.LINUX_PROC_STATUS, b"Name:\tapp\nPid:\t7\n"),
              (mdbuild.LINUX_CPU_INFO, b"microcode\t: 0x12\n"),
              (mdbuild.LINUX_MAPS, b"00400000-00410000 r-xp 0 0:0 0 app\n"),
              (0x4D7A0003, b"Limit  Soft Limit  Hard Limit  Units\nMax open files  1024  4096  files\n")]
# the streams added for the rust-minidump schema, so mutations reach their
# parsers too: exception parameters, process times, the dump thread,
# unloaded modules, handles, Mozilla's macOS crash info and boot args
dump.exception_params = [0, 8]
dump.create_time = 100
dump.time = 200
dump.dump_thread = 2


def strings_streams(add, mdstring):
    return (14, struct.pack("<III", 12, 24, 1) + struct.pack("<QIIII", 0x500000, 0x1000, 0, 0, mdstring("old.so")))


def handles(add, mdstring):
    return (12, struct.pack("<IIII", 16, 32, 1, 0) + struct.pack("<QIIIIII", 4, mdstring("File"), mdstring("x"),
                                                                 0, 0, 1, 1))


def mac_info(add, mdstring):
    rec = struct.pack("<IIQQQQ", 0x4D7A0001, 0, 5, 1, 2, 3) + b"m\0msg\0sig\0bt\0m2\0"
    rva = add(rec)
    return (0x4D7A0001, struct.pack("<III", 0x4D7A0001, 1, 40) + struct.pack("<II", len(rec), rva) + bytes(152))


dump.builders = [strings_streams, handles, mac_info,
                 lambda add, mdstring: (0x4D7A0002, struct.pack("<II", 0x4D7A0002, mdstring("-v")))]
seed = os.path.join(d, "seed.dmp")
dump.write(seed)
sys.exit(subprocess.run([exe, seed, store], timeout=1200).returncode)
