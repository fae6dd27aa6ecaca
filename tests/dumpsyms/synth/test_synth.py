#!/usr/bin/env python3
"""Synthesized STACK CFI (dumpsyms/cfi/synth.c) against real compilers and walks.

usage: test_synth.py GROUP DUMPSYMS SYMVERIFY STACKWALK FIXTURE_SOURCE SCRATCH

oracle  every function of fixtures (x86_64 gcc/clang, aarch64 gcc; -O0/-O2;
        with and without frame pointers) and of this machine's libc.so.6 and
        libstdc++.so.6 analysed as if it had no CFI (--synth-cfi-everywhere);
        at every instruction llvm-objdump decodes inside the compiler's CFI,
        the synthesized CFA and return-address rules must equal the compiler's
        (the CFA through either sp or the frame pointer): wrong rules < 0.5%
        of those given, per input.  Coverage and disagreements are printed.
e2e     musl-gcc programs (dynamic and static) and a glibc program built with
        -fno-asynchronous-unwind-tables -fomit-frame-pointer crash inside a
        qsort comparator; with our .sym files (musl's libc.so has CFI for 4
        functions) the crashing thread walks leaf, mid, cmp, the C library's
        sort code, main, all by CFI.  With --no-synth-cfi it does not.
bad     garbage, self-loops, functions jumping into each other and into the
        middle of instructions, truncated instructions at a section end:
        dumpsyms exits 0, writes valid records, no rule where unsure.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

GROUP, DUMPSYMS, SYMVERIFY, STACKWALK, SOURCE, SCRATCH = sys.argv[1:7]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def skip(why):
    if os.environ.get("CI"):
        print("FAIL (CI): cannot run:", why)
        sys.exit(1)
    print("SKIP:", why)
    sys.exit(77)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def tool(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def oracle():
    objdump = tool("llvm-objdump-14", "llvm-objdump")
    if not objdump:
        skip("llvm-objdump not found")
    inputs = []
    # The project's fixture program (fixtures/src: C and C++ linked
    # together, as fixtures/build_fixtures.py builds it) and the qsort one.
    src = os.path.dirname(os.path.abspath(SOURCE))
    fixture = ["-x", "c", os.path.join(src, "main.c"), "-x", "c", os.path.join(src, "chain.c"),
               "-x", "c++", os.path.join(src, "shapes.cpp")]
    compilers = [("gcc", "g++"), ("clang", "clang++"), ("a64", "aarch64-linux-gnu-g++")]
    for tag, cc in compilers:
        if not tool(cc):
            skip("%s not found" % cc)
        for opt in ("-O0", "-O2"):
            for fp in ("-fomit-frame-pointer", "-fno-omit-frame-pointer"):
                for prog, srcs in (("fixture", fixture), ("qsort", ["-x", "c", SOURCE])):
                    out = os.path.join(SCRATCH, "%s-%s%s%s" % (prog, tag, opt, fp))
                    p = run([cc, opt, fp, "-g", "-I", src] + srcs + ["-o", out])
                    if not check(p.returncode == 0, "build %s: %s" % (out, p.stderr)):
                        continue
                    inputs.append(out)
    for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"):
        if os.path.exists(lib):
            inputs.append(lib)
        else:
            skip("%s not found" % lib)
    print("%-48s %9s %9s %7s %6s" % ("input", "insns", "covered", "wrong", "wrong%"))
    for path in inputs:
        ref = run([DUMPSYMS, "--cfi-only", "--no-synth-cfi", path])
        syn = run([DUMPSYMS, "--cfi-only", "--synth-cfi-everywhere", path])
        if not check(ref.returncode == 0 and syn.returncode == 0, "dumpsyms on %s" % path):
            continue
        ins = compare.instructions(objdump, path, compare.load_address(path))
        r = compare.compare(ref.stdout, syn.stdout, ins)
        given = max(1, r["given"])
        print("%-48s %9d %8.1f%% %7d %5.3f%%" % (os.path.basename(path), r["instructions"],
                                                 100.0 * r["given"] / max(1, r["instructions"]),
                                                 r["wrong"], 100.0 * r["wrong"] / given))
        for d in r["disagreements"]:
            print("    %x compiler: .cfa: %s .ra: %s  synthesized: .cfa: %s .ra: %s" % d)
        check(r["given"] > 0.5 * r["instructions"], "%s: coverage below 50%%" % path)
        check(r["wrong"] < 0.005 * r["given"], "%s: %d of %d synthesized rules disagree" %
              (path, r["wrong"], r["given"]))
        # The real mode adds nothing where the compiler wrote CFI.
        if path.startswith(SCRATCH):
            normal = run([DUMPSYMS, "--cfi-only", path]).stdout
            check(normal == ref.stdout or "INFO CFI_SYNTHESIZED" in normal,
                  "%s: default output differs only by synthesized records" % path)


def frames_of(dump, store):
    p = run([STACKWALK, "--json", dump, store])
    if not check(p.returncode == 0, "stackwalk %s: %s" % (dump, p.stderr)):
        return []
    j = json.loads(p.stdout)
    t = j.get("crashing_thread") or j["threads"][0]
    return [(f.get("module"), f.get("function"), f.get("trust")) for f in t["frames"]]


def walks_to_main(frames, libname, what):
    names = [f[1] for f in frames]
    ok = check(names[:3] == ["leaf", "mid", "cmp"], "%s: starts leaf, mid, cmp: %s" % (what, frames))
    if not ok:
        return
    if not check("main" in names, "%s: reaches main: %s" % (what, frames)):
        return
    k = names.index("main")
    sort = frames[3:k]
    check(len(sort) >= 1 and all(f[0] == libname for f in sort),
          "%s: through %s's sort code: %s" % (what, libname, sort))
    check(all(f[2] == "cfi" for f in frames[1:k + 1]), "%s: every frame to main by CFI: %s" % (what, frames))


def e2e():
    musl_gcc = tool("musl-gcc")
    musl_libc = "/lib/x86_64-linux-musl/libc.so"
    if not musl_gcc or not os.path.exists(musl_libc):
        skip("musl-gcc or %s missing (Debian musl-tools)" % musl_libc)
    progs = {
        "musl-dynamic": ([musl_gcc, "-O2", "-g"], [musl_libc], "libc.so"),
        "musl-static": ([musl_gcc, "-static", "-O2", "-g"], [], None),
        # -g alone would put the CFI into .debug_frame: no -g here.
        "glibc-nounwind": (["gcc", "-O2", "-fno-asynchronous-unwind-tables", "-fomit-frame-pointer"],
                           ["/lib/x86_64-linux-gnu/libc.so.6"], "libc.so.6"),
    }
    for name, (cc, libs, libname) in progs.items():
        exe = os.path.join(SCRATCH, name)
        p = run(cc + [SOURCE, "-o", exe])
        if not check(p.returncode == 0, "build %s: %s" % (name, p.stderr)):
            continue
        dump = exe + ".dmp"
        p = run([SYMVERIFY, "capture", "-q", "-o", dump, "--", exe])
        if not check(p.returncode == 139, "capture %s: status %d %s" % (name, p.returncode, p.stderr)):
            continue
        for synth in (True, False):
            store = os.path.join(SCRATCH, "store-%s-%s" % (name, "synth" if synth else "nosynth"))
            shutil.rmtree(store, ignore_errors=True)
            p = run([DUMPSYMS, "--store", store] + ([] if synth else ["--no-synth-cfi"]) + [exe] + libs)
            if not check(p.returncode == 0, "dumpsyms --store %s: %s" % (name, p.stdout + p.stderr)):
                continue
            if synth:
                check("synthesized for" in p.stdout, "%s: the summary counts synthesized functions: %s" %
                      (name, p.stdout))
            frames = frames_of(dump, store)
            print(name, "synth" if synth else "no-synth", frames)
            if synth:
                walks_to_main(frames, libname or os.path.basename(exe), name)
            else:
                names = [f[1] for f in frames]
                k = names.index("main") if "main" in names else len(frames)
                check(not all(f[2] == "cfi" for f in frames[1:k + 1]) or "main" not in names,
                      "%s: without synthesized CFI the walk is not all CFI (the test can fail)" % name)
        # symverify lint reports the synthesized share.
        sym = None
        for root, _, files in os.walk(os.path.join(SCRATCH, "store-%s-synth" % name)):
            for f in files:
                # the module without compiler CFI: musl's libc, else the program
                want = "libc.so.sym" if name == "musl-dynamic" else name + ".sym"
                if f == want:
                    sym = os.path.join(root, f)
        if sym:
            p = run([SYMVERIFY, "lint", "--json", sym])
            try:
                j = json.loads(p.stdout)
                files = j.get("files") or [j]
                share = files[0]["stats"].get("cfi_synthesized_share")
                check(share is not None and share > 0, "%s: lint reports cfi_synthesized_share: %s" %
                      (name, p.stdout[:300]))
            except (ValueError, IndexError, KeyError):
                check(False, "lint --json %s: %s" % (sym, p.stdout[:300]))


BAD_ASM = r"""
    .text
    .globl selfloop, garbage, into_middle, jumps_into_other, other, tail, truncated
    .type selfloop, @function
selfloop:
    push %rbx
1:  jmp 1b
    .size selfloop, .-selfloop
    .type garbage, @function
garbage:
    push %rbp
    .byte 0x06, 0x07, 0x0f, 0xff, 0xc4, 0xc4, 0xc4
    pop %rbp
    ret
    .size garbage, .-garbage
    .type into_middle, @function
into_middle:
    sub $8, %rsp
    test %rdi, %rdi
    je 2f+1
2:  movabs $0x00c3c35d5d5d5d5d, %rax
    add $8, %rsp
    ret
    .size into_middle, .-into_middle
    .type jumps_into_other, @function
jumps_into_other:
    push %r12
    jmp other_inside
    .size jumps_into_other, .-jumps_into_other
    .type other, @function
other:
    push %r13
other_inside:
    pop %r13
    ret
    .size other, .-other
    .type tail, @function
tail:
    sub $24, %rsp
    test %rdi, %rdi
    je 3f
    add $16, %rsp
3:  add $8, %rsp
    ret
    .size tail, .-tail
    .type truncated, @function
truncated:
    push %rbx
    .byte 0x48, 0x8b
    .size truncated, .-truncated
"""


def bad():
    src = os.path.join(SCRATCH, "bad.s")
    open(src, "w").write(BAD_ASM)
    obj = os.path.join(SCRATCH, "bad.so")
    p = run(["gcc", "-shared", "-nostdlib", "-Wl,--no-eh-frame-hdr", "-o", obj, src])
    if not check(p.returncode == 0, "assemble bad.s: %s" % p.stderr):
        return
    p = run([DUMPSYMS, "--cfi-only", obj], timeout=60)
    check(p.returncode == 0, "dumpsyms on bad code: %d %s" % (p.returncode, p.stderr))
    syms = {}
    for line in run(["nm", obj]).stdout.splitlines():
        f = line.split()
        if len(f) == 3:
            syms[f[2]] = int(f[0], 16)
    inits = compare.parse_cfi(p.stdout)
    table = compare.RuleTable(inits)

    def rule(name, off):
        r = table.at(syms[name] + off)
        return r and r.get(".cfa")

    check(rule("selfloop", 0) == "$rsp 8 +", "selfloop entry: %s" % rule("selfloop", 0))
    check(rule("selfloop", 1) == "$rsp 16 +", "selfloop loop: %s" % rule("selfloop", 1))
    check(rule("garbage", 0) == "$rsp 8 +", "garbage entry")
    check(rule("garbage", 2) is None, "nothing after undecodable bytes: %s" % rule("garbage", 2))
    check(all(not (syms["into_middle"] <= i[0] < syms["jumps_into_other"]) for i in inits),
          "a jump into the middle of an instruction: no rules for that function")
    check(rule("jumps_into_other", 0) == "$rsp 8 +", "jumps_into_other entry")
    # 'other' analysed from its own entry; the jump from outside is not followed into it
    check(rule("other", 2) == "$rsp 16 +", "other after its push: %s" % rule("other", 2))
    # both paths of tail reach "3:" with different heights: no rule there
    t3 = syms["tail"] + 4 + 3 + 2 + 4
    check(table.at(t3) is None, "tail: conflicting heights at the join give no rule: %s" % table.at(t3))
    check(rule("truncated", 0) == "$rsp 8 +" and rule("truncated", 1) is None,
          "truncated instruction at the end: entry only")
    for line in p.stdout.splitlines():
        if line.startswith("STACK CFI INIT"):
            check(".cfa:" in line and ".ra:" in line, "INIT with .cfa and .ra: " + line)
    # Random bytes as a whole .text: no crash, no hang (the fuzz corpus test
    # does this at scale).
    import random
    rnd = random.Random(17)
    blob = os.path.join(SCRATCH, "noise.s")
    with open(blob, "w") as f:
        f.write("    .text\n")
        for i in range(200):
            f.write("    .globl n%d\n    .type n%d, @function\nn%d:\n    .byte %s\n    .size n%d, .-n%d\n" %
                    (i, i, i, ",".join(str(rnd.randrange(256)) for _ in range(rnd.randrange(1, 200))), i, i))
    nso = os.path.join(SCRATCH, "noise.so")
    if check(run(["gcc", "-shared", "-nostdlib", "-o", nso, blob]).returncode == 0, "assemble noise"):
        p = run([DUMPSYMS, "--cfi-only", nso], timeout=60)
        check(p.returncode == 0, "dumpsyms on noise: %s" % p.stderr)


def main():
    os.makedirs(SCRATCH, exist_ok=True)
    {"oracle": oracle, "e2e": e2e, "bad": bad}[GROUP]()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("PASS")


main()
