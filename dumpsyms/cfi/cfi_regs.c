/*
 * cfi_regs.c — DWARF register numbers to STACK CFI register names.
 *
 * x86, x86_64, arm, arm64 and riscv use the names Breakpad's dump_syms
 * writes, because stackwalkers (Breakpad, rust-minidump) look registers up
 * by exactly these names.  Breakpad writes no CFI for s390x and ppc64; for
 * those we use the assembler's register names without a '$' prefix (r0..r15
 * and the f registers in ABI DWARF order for s390x; r0..r31, f0..f31, lr,
 * ctr, cr0..cr7, xer, v0..v31 for ppc64), see docs/cfi.md.
 *
 * table_size is the number of rule columns the CFA interpreter
 * (cfi_frame.c) keeps: it covers every register that has a name here, and
 * the return-address column of every ABI; a rule for a column beyond it
 * names a register no walker knows and is ignored.
 */
#include <string.h>

#include "cfi_int.h"

static const char *const x86_names[] = {
    "$eax", "$ecx", "$edx", "$ebx", "$esp", "$ebp", "$esi", "$edi", "$eip",
    "$eflags", NULL, "$st0", "$st1", "$st2", "$st3", "$st4", "$st5", "$st6", "$st7",
    NULL, NULL, "$xmm0", "$xmm1", "$xmm2", "$xmm3", "$xmm4", "$xmm5", "$xmm6", "$xmm7",
    "$mm0", "$mm1", "$mm2", "$mm3", "$mm4", "$mm5", "$mm6", "$mm7",
};

static const char *const x86_64_names[] = {
    "$rax", "$rdx", "$rcx", "$rbx", "$rsi", "$rdi", "$rbp", "$rsp",
    "$r8", "$r9", "$r10", "$r11", "$r12", "$r13", "$r14", "$r15", "$rip",
    "$xmm0", "$xmm1", "$xmm2", "$xmm3", "$xmm4", "$xmm5", "$xmm6", "$xmm7",
    "$xmm8", "$xmm9", "$xmm10", "$xmm11", "$xmm12", "$xmm13", "$xmm14", "$xmm15",
    "$st0", "$st1", "$st2", "$st3", "$st4", "$st5", "$st6", "$st7",
    "$mm0", "$mm1", "$mm2", "$mm3", "$mm4", "$mm5", "$mm6", "$mm7",
};

/* ARM IHI 0040: r0-r15, then VFP d0-d31 at 256-287 (filled in below). */
static const char *arm_names[288] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
    "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc",
};

/* ARM IHI 0057: x0-x30, sp; v0-v31 at 64-95 (filled in below). */
static const char *arm64_names[96] = {
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7",
    "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
    "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23",
    "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp",
};

/* Register 0 is the hard-wired zero, which Breakpad names "pc" so that
 * the program counter has a name; we do the same for compatibility. */
static const char *riscv_names[64] = {
    "pc", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
    "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
    "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static const char *const s390x_names[] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "f0", "f2", "f4", "f6", "f1", "f3", "f5", "f7",
    "f8", "f10", "f12", "f14", "f9", "f11", "f13", "f15",
};

static const char *ppc64_names[109] = {
    "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23",
    "r24", "r25", "r26", "r27", "r28", "r29", "r30", "r31",
};

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

static ds_cfi_arch arch_x86 = {x86_names, N(x86_names), 64};
/* Apple's i386 __eh_frame numbers esp 5 and ebp 4, the other way round
 * from the SysV ABI (and from Apple's own __debug_frame). */
static const char *const x86_darwin_eh_names[] = {
    "$eax", "$ecx", "$edx", "$ebx", "$ebp", "$esp", "$esi", "$edi", "$eip",
    "$eflags", NULL, "$st0", "$st1", "$st2", "$st3", "$st4", "$st5", "$st6", "$st7",
    NULL, NULL, "$xmm0", "$xmm1", "$xmm2", "$xmm3", "$xmm4", "$xmm5", "$xmm6", "$xmm7",
    "$mm0", "$mm1", "$mm2", "$mm3", "$mm4", "$mm5", "$mm6", "$mm7",
};
static ds_cfi_arch arch_x86_darwin_eh = {x86_darwin_eh_names, N(x86_darwin_eh_names), 64};

const ds_cfi_arch *ds_cfi_arch_darwin_x86_eh(void)
{
    return &arch_x86_darwin_eh;
}
static ds_cfi_arch arch_x86_64 = {x86_64_names, N(x86_64_names), 67};
static ds_cfi_arch arch_arm = {arm_names, N(arm_names), 288};
static ds_cfi_arch arch_arm64 = {arm64_names, N(arm64_names), 96};
static ds_cfi_arch arch_riscv = {riscv_names, N(riscv_names), 128};
static ds_cfi_arch arch_s390x = {s390x_names, N(s390x_names), 66};
static ds_cfi_arch arch_ppc64 = {ppc64_names, N(ppc64_names), 1024};

/* Names that follow a pattern are spelled out once, at first use. */
static char generated[2][32][8];
static char ppc_extra[76][8];

static void fill_tables(void)
{
    for (int i = 0; i < 32; i++) {
        snprintf(generated[0][i], sizeof generated[0][i], "d%d", i);
        arm_names[256 + i] = generated[0][i];
        snprintf(generated[1][i], sizeof generated[1][i], "v%d", i);
        arm64_names[64 + i] = generated[1][i];
    }
    static char riscv_f[32][8];
    for (int i = 0; i < 32; i++) {
        snprintf(riscv_f[i], sizeof riscv_f[i], "f%d", i);
        riscv_names[32 + i] = riscv_f[i];
    }
    /* ppc64 (GCC's .eh_frame numbering): f0-f31 at 32-63, lr 65, ctr 66,
     * cr0-cr7 68-75, xer 76, v0-v31 77-108. */
    int k = 0;
    for (int i = 0; i < 32; i++, k++) {
        snprintf(ppc_extra[k], sizeof ppc_extra[k], "f%d", i);
        ppc64_names[32 + i] = ppc_extra[k];
    }
    ppc64_names[65] = "lr";
    ppc64_names[66] = "ctr";
    for (int i = 0; i < 8; i++, k++) {
        snprintf(ppc_extra[k], sizeof ppc_extra[k], "cr%d", i);
        ppc64_names[68 + i] = ppc_extra[k];
    }
    ppc64_names[76] = "xer";
    for (int i = 0; i < 32; i++, k++) {
        snprintf(ppc_extra[k], sizeof ppc_extra[k], "v%d", i);
        ppc64_names[77 + i] = ppc_extra[k];
    }
}

const ds_cfi_arch *ds_cfi_arch_for(ds_cpu cpu)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_tables);
    switch (cpu) {
    case DS_CPU_X86: return &arch_x86;
    case DS_CPU_X86_64: return &arch_x86_64;
    case DS_CPU_ARM: return &arch_arm;
    case DS_CPU_ARM64: return &arch_arm64;
    case DS_CPU_RISCV: return &arch_riscv;
    case DS_CPU_S390: return &arch_s390x;
    case DS_CPU_PPC64: return &arch_ppc64;
    default: return NULL;
    }
}

const char *ds_cfi_reg_name(const ds_cfi_arch *a, unsigned reg)
{
    if (reg >= a->nnames || !a->names[reg] || !a->names[reg][0])
        return NULL;
    return a->names[reg];
}
