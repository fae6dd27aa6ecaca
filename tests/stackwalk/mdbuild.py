"""mdbuild — a small minidump writer for stackwalk's tests.

Builds dumps stream by stream: system info, threads with contexts for x86,
amd64, arm, arm64 (new and old Breakpad layouts) and stack memory, modules
with ELF build-id CodeView records, memory lists, exception, misc/Breakpad
info, thread names, Linux text streams.  Also writes matching .sym files
into a store.  Layouts follow stackwalk/minidump_format.h.
"""
import os
import struct

SIG = 0x504D444D
VERSION = 0xA793

THREAD_LIST, MODULE_LIST, MEMORY_LIST, EXCEPTION, SYSTEM_INFO = 3, 4, 5, 6, 7
MEMORY64_LIST, UNLOADED_MODULES, MISC_INFO, THREAD_NAMES = 9, 14, 15, 24
BREAKPAD_INFO, LINUX_CPU_INFO, LINUX_PROC_STATUS = 0x47670001, 0x47670003, 0x47670004
LINUX_LSB_RELEASE, LINUX_CMD_LINE, LINUX_MAPS = 0x47670005, 0x47670006, 0x47670009

ARCH = {"x86": 0, "arm": 5, "amd64": 9, "arm64": 12, "arm64_old": 0x8003}
OS_LINUX = 0x8201


def debug_id(build_id: bytes) -> str:
    g = bytearray(build_id[:16].ljust(16, b"\0"))
    g[0:4] = g[0:4][::-1]
    g[4:6] = g[4:6][::-1]
    g[6:8] = g[6:8][::-1]
    return g.hex().upper() + "0"


def context(arch: str, regs: dict) -> bytes:
    """A context record with the named registers set."""
    if arch == "amd64":
        b = bytearray(1232)
        struct.pack_into("<I", b, 48, 0x10000B)
        order = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + ["r%d" % i for i in range(8, 16)]
        for i, n in enumerate(order):
            struct.pack_into("<Q", b, 120 + 8 * i, regs.get(n, 0))
        struct.pack_into("<Q", b, 248, regs.get("rip", 0))
        return bytes(b)
    if arch == "x86":
        b = bytearray(716)
        struct.pack_into("<I", b, 0, 0x1003F)
        offs = {"edi": 156, "esi": 160, "ebx": 164, "edx": 168, "ecx": 172, "eax": 176, "ebp": 180,
                "eip": 184, "esp": 196}
        for n, o in offs.items():
            struct.pack_into("<I", b, o, regs.get(n, 0))
        return bytes(b)
    if arch == "arm":
        b = bytearray(368)
        struct.pack_into("<I", b, 0, 0x40000006)
        names = ["r%d" % i for i in range(13)] + ["sp", "lr", "pc"]
        for i, n in enumerate(names):
            struct.pack_into("<I", b, 4 + 4 * i, regs.get(n, 0))
        return bytes(b)
    if arch in ("arm64", "arm64_old"):
        names = ["x%d" % i for i in range(29)] + ["fp", "lr", "sp", "pc"]
        if arch == "arm64":
            b = bytearray(912)
            struct.pack_into("<I", b, 0, 0x400006)
        else:
            b = bytearray(796)
            struct.pack_into("<Q", b, 0, 0x80000006)
        for i, n in enumerate(names):
            struct.pack_into("<Q", b, 8 + 8 * i, regs.get(n, 0))
        return bytes(b)
    raise ValueError(arch)


class Module:
    """build_id None: no CodeView record (a Windows module is then found by
    its code id, TIMESTAMP + size)."""

    def __init__(self, name, base, size, build_id, timestamp=0, rsds=None, version=None):
        self.name, self.base, self.size, self.build_id = name, base, size, build_id
        self.timestamp = timestamp
        # rsds: (16-byte GUID as stored, age, pdb name) for a PDB 7.0 record
        # (Windows PDBs; Crashpad writes Mach-O LC_UUIDs this way with age 0)
        self.rsds = rsds
        self.version = version  # (a, b, c, d) file version, or None

    @property
    def debug_id(self):
        return debug_id(self.build_id)


class Thread:
    def __init__(self, tid, arch, regs, stack_base, stack: bytes, name=None, teb=0):
        self.tid, self.arch, self.regs = tid, arch, regs
        self.stack_base, self.stack, self.name = stack_base, stack, name
        self.teb = teb


class Dump:
    def __init__(self, arch, os_id=OS_LINUX):
        self.arch, self.os_id = arch, os_id
        self.threads, self.modules, self.memory = [], [], []
        self.exception = None  # (tid, signal, code, address, regs or None)
        self.extra = []        # (type, bytes) raw streams
        self.pid = None
        self.requesting = None
        self.annotations = {}         # Crashpad process-wide simple annotations
        self.module_annotations = {}  # module index -> {key: value}
        self.exception_params = []    # ExceptionInformation[] words
        self.csd = "Linux 6.1.0 #1 SMP test"
        self.os_version = (0, 0, 0)
        self.time = 0                 # header time_date_stamp
        self.create_time = None       # misc info process_create_time
        self.dump_thread = None       # Breakpad info dump_thread_id
        # callables (add, mdstring) -> (stream type, bytes), for streams that
        # point at strings elsewhere in the file
        self.builders = []

    def build(self) -> bytes:
        out = bytearray(32)
        streams = []

        def add(data: bytes) -> int:
            while len(out) % 8:
                out.append(0)
            rva = len(out)
            out.extend(data)
            return rva

        def mdstring(s: str) -> int:
            u = s.encode("utf-16-le")
            return add(struct.pack("<I", len(u)) + u + b"\0\0")

        csd = mdstring(self.csd)
        arch_id = ARCH[self.arch]
        si = struct.pack("<HHHBBIIIII HH", arch_id, 6, 0x9e0a, 4, 0, *self.os_version, self.os_id, csd, 0, 0)
        si = si.ljust(32, b"\0")
        if self.arch in ("x86", "amd64"):
            si += b"GenuineIntel" + struct.pack("<III", 0x906EA, 0, 0)
        else:
            si += b"\0" * 24
        streams.append((SYSTEM_INFO, si))

        # threads: stack memory and context first
        trecs = []
        for t in self.threads:
            srva = add(t.stack)
            ctx = context(t.arch or self.arch, t.regs)
            crva = add(ctx)
            trecs.append(struct.pack("<IIIIQQII II", t.tid, 0, 0, 0, t.teb, t.stack_base, len(t.stack), srva,
                                     len(ctx), crva))
        if trecs:
            streams.append((THREAD_LIST, struct.pack("<I", len(trecs)) + b"".join(trecs)))
        names = [(t.tid, mdstring(t.name)) for t in self.threads if t.name]
        if names:
            streams.append((THREAD_NAMES, struct.pack("<I", len(names)) +
                            b"".join(struct.pack("<IQ", tid, rva) for tid, rva in names)))

        mrecs = []
        for m in self.modules:
            nrva = mdstring(m.name)
            cv = struct.pack("<I", 0x4270454C) + m.build_id if m.build_id is not None else b""
            if m.rsds:
                guid, age, pdb = m.rsds
                cv = struct.pack("<I", 0x53445352) + guid + struct.pack("<I", age) + pdb.encode() + b"\0"
            cvrva = add(cv) if cv else 0
            vi = b"\0" * 52
            if m.version:
                a, b_, c, d_ = m.version
                vi = struct.pack("<IIII", 0xFEEF04BD, 0x10000, a << 16 | b_, c << 16 | d_).ljust(52, b"\0")
            rec = struct.pack("<QIIII", m.base, m.size, 0, m.timestamp, nrva) + vi + \
                struct.pack("<IIII", len(cv), cvrva, 0, 0) + b"\0" * 16
            assert len(rec) == 108
            mrecs.append(rec)
        if mrecs:
            streams.append((MODULE_LIST, struct.pack("<I", len(mrecs)) + b"".join(mrecs)))

        if self.memory:
            recs = []
            for start, data in self.memory:
                recs.append(struct.pack("<QII", start, len(data), add(data)))
            streams.append((MEMORY_LIST, struct.pack("<I", len(recs)) + b"".join(recs)))

        if self.exception:
            tid, sig, code, addr, regs = self.exception
            t = [t for t in self.threads if t.tid == tid]
            ctx = context(self.arch, regs if regs is not None else (t[0].regs if t else {}))
            crva = add(ctx)
            params = list(self.exception_params)[:15]
            rec = struct.pack("<IIIIQQII", tid, 0, sig, code, 0, addr, len(params), 0) + \
                b"".join(struct.pack("<Q", v) for v in params).ljust(120, b"\0") + \
                struct.pack("<II", len(ctx), crva)
            assert len(rec) == 168
            streams.append((EXCEPTION, rec))
        if self.pid is not None or self.create_time is not None:
            flags = (1 if self.pid is not None else 0) | (2 if self.create_time is not None else 0)
            streams.append((MISC_INFO, struct.pack("<IIIIII", 24, flags, self.pid or 0, self.create_time or 0,
                                                   0, 0)))
        if self.requesting is not None or self.dump_thread is not None:
            valid = (1 if self.dump_thread is not None else 0) | (2 if self.requesting is not None else 0)
            streams.append((BREAKPAD_INFO, struct.pack("<III", valid, self.dump_thread or 0,
                                                       self.requesting or 0)))
        if self.annotations or self.module_annotations:
            def utf8(text):
                b = text.encode()
                return add(struct.pack("<I", len(b)) + b + b"\0")

            def dictionary(d):
                entries = b"".join(struct.pack("<II", utf8(k), utf8(v)) for k, v in d.items())
                data = struct.pack("<I", len(d)) + entries
                return len(data), add(data)

            simple = dictionary(self.annotations) if self.annotations else (0, 0)
            links = []
            for idx, d in self.module_annotations.items():
                ds, dr = dictionary(d)
                info = struct.pack("<I", 1) + struct.pack("<II", 0, 0) + struct.pack("<II", ds, dr) + \
                    struct.pack("<II", 0, 0)
                links.append(struct.pack("<III", idx, len(info), add(info)))
            mlist = struct.pack("<I", len(links)) + b"".join(links)
            ml = (len(mlist), add(mlist))
            cp = struct.pack("<I", 1) + b"\0" * 32 + struct.pack("<IIII", simple[0], simple[1], ml[0], ml[1])
            assert len(cp) == 52
            streams.append((0x43500001, cp))
        streams.extend(self.extra)
        for b in self.builders:
            streams.append(b(add, mdstring))

        # stream data, then the directory
        placed = [(t, len(d), add(d)) for t, d in streams]
        dir_rva = add(b"".join(struct.pack("<III", t, n, rva) for t, n, rva in placed))
        struct.pack_into("<IIIIIIQ", out, 0, SIG, VERSION, len(placed), dir_rva, 0, self.time, 0)
        return bytes(out)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.build())


def write_sym(store, module: Module, arch: str, body: str):
    """Writes store/NAME/DEBUGID/NAME.sym with a MODULE line and body."""
    d = os.path.join(store, module.name, module.debug_id)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, module.name + ".sym")
    with open(path, "w") as f:
        f.write("MODULE Linux %s %s %s\n" % (arch, module.debug_id, module.name))
        f.write(body)
    return path


class Stack:
    """Little-endian stack memory under construction."""

    def __init__(self, base, size, word):
        self.base, self.data, self.word = base, bytearray(size), word

    def put(self, addr, value):
        fmt = "<Q" if self.word == 8 else "<I"
        struct.pack_into(fmt, self.data, addr - self.base, value)

    def bytes(self):
        return bytes(self.data)
