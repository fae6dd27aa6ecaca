/*
 * The CPU-specific half of the capture: reading a stopped thread's
 * registers through ptrace and writing them as a minidump CPU context, plus
 * the CPU part of the system info.  x86-64 hosts (64-bit children, and
 * 32-bit children as x86 contexts) and arm64 hosts (64-bit children).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "capture.h"
#include "minidump_format.h"

bool sv_cpu_supported(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    return true;
#else
    return false;
#endif
}

bool sv_cpu_read(pid_t tid, sv_thread_state *s)
{
#if defined(__x86_64__)
    s->regs_ok = ptrace(PTRACE_GETREGS, tid, 0, &s->regs) == 0;
    s->fp_ok = ptrace(PTRACE_GETFPREGS, tid, 0, &s->fp) == 0;
#elif defined(__aarch64__)
    struct iovec io = {&s->regs, sizeof s->regs};
    /* a 32-bit (AArch32) child answers with its shorter register set:
     * not supported, leave the thread out */
    s->regs_ok = ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &io) == 0 &&
                 io.iov_len == sizeof s->regs;
    struct iovec fio = {&s->fp, sizeof s->fp};
    s->fp_ok = ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRFPREG, &fio) == 0 &&
               fio.iov_len == sizeof s->fp;
#else
    (void)tid;
    s->regs_ok = s->fp_ok = false;
#endif
    return s->regs_ok;
}

bool sv_cpu_is_32bit(const sv_thread_state *t)
{
#if defined(__x86_64__)
    return t->regs.cs == 0x23; /* the compatibility-mode code segment */
#else
    (void)t;
    return false;
#endif
}

uint64_t sv_cpu_sp(const sv_thread_state *t)
{
#if defined(__x86_64__)
    return t->regs.rsp;
#elif defined(__aarch64__)
    return t->regs.sp;
#else
    (void)t;
    return 0;
#endif
}

uint64_t sv_cpu_pc(const sv_thread_state *t)
{
#if defined(__x86_64__)
    return t->regs.rip;
#elif defined(__aarch64__)
    return t->regs.pc;
#else
    (void)t;
    return 0;
#endif
}

uint64_t sv_cpu_red_zone(const sv_thread_state *t)
{
#if defined(__x86_64__)
    /* leaf functions keep data in the 128 bytes below rsp (SysV x86-64) */
    return sv_cpu_is_32bit(t) ? 0 : 128;
#else
    (void)t;
    return 0;
#endif
}

size_t sv_cpu_context(const sv_thread_state *t, void *out, size_t cap)
{
#if defined(__x86_64__)
    const struct user_regs_struct *r = &t->regs;
    if (sv_cpu_is_32bit(t)) {
        MDRawContextX86 c;
        if (cap < sizeof c)
            return 0;
        memset(&c, 0, sizeof c);
        c.context_flags = MD_CONTEXT_X86_FULL;
        c.gs = (uint32_t)r->gs, c.fs = (uint32_t)r->fs, c.es = (uint32_t)r->es;
        c.ds = (uint32_t)r->ds;
        c.edi = (uint32_t)r->rdi, c.esi = (uint32_t)r->rsi, c.ebx = (uint32_t)r->rbx;
        c.edx = (uint32_t)r->rdx, c.ecx = (uint32_t)r->rcx, c.eax = (uint32_t)r->rax;
        c.ebp = (uint32_t)r->rbp, c.eip = (uint32_t)r->rip, c.cs = (uint32_t)r->cs;
        c.eflags = (uint32_t)r->eflags, c.esp = (uint32_t)r->rsp, c.ss = (uint32_t)r->ss;
        if (t->fp_ok) {
            /* the fxsave image is what extended_registers holds */
            c.context_flags |= MD_CONTEXT_X86_EXTENDED_REGISTERS;
            memcpy(c.extended_registers, &t->fp, sizeof c.extended_registers);
        }
        memcpy(out, &c, sizeof c);
        return sizeof c;
    }
    MDRawContextAMD64 c;
    if (cap < sizeof c)
        return 0;
    memset(&c, 0, sizeof c);
    c.context_flags = MD_CONTEXT_AMD64_CONTROL | MD_CONTEXT_AMD64_INTEGER | MD_CONTEXT_AMD64_SEGMENTS;
    c.cs = (uint16_t)r->cs, c.ds = (uint16_t)r->ds, c.es = (uint16_t)r->es;
    c.fs = (uint16_t)r->fs, c.gs = (uint16_t)r->gs, c.ss = (uint16_t)r->ss;
    c.eflags = (uint32_t)r->eflags;
    c.rax = r->rax, c.rcx = r->rcx, c.rdx = r->rdx, c.rbx = r->rbx;
    c.rsp = r->rsp, c.rbp = r->rbp, c.rsi = r->rsi, c.rdi = r->rdi;
    c.r8 = r->r8, c.r9 = r->r9, c.r10 = r->r10, c.r11 = r->r11;
    c.r12 = r->r12, c.r13 = r->r13, c.r14 = r->r14, c.r15 = r->r15;
    c.rip = r->rip;
    if (t->fp_ok) {
        c.context_flags |= MD_CONTEXT_AMD64_FLOATING_POINT;
        _Static_assert(sizeof t->fp == sizeof c.u.flt_save, "fxsave layout");
        memcpy(&c.u.flt_save, &t->fp, sizeof c.u.flt_save);
        c.mx_csr = t->fp.mxcsr;
    }
    memcpy(out, &c, sizeof c);
    return sizeof c;
#elif defined(__aarch64__)
    MDRawContextARM64 c;
    if (cap < sizeof c)
        return 0;
    memset(&c, 0, sizeof c);
    c.context_flags = MD_CONTEXT_ARM64_CONTROL | MD_CONTEXT_ARM64_INTEGER;
    c.cpsr = (uint32_t)t->regs.pstate;
    for (int i = 0; i < 31; i++)
        c.iregs[i] = t->regs.regs[i];
    c.iregs[MD_CONTEXT_ARM64_REG_SP] = t->regs.sp;
    c.iregs[MD_CONTEXT_ARM64_REG_PC] = t->regs.pc;
    if (t->fp_ok) {
        c.context_flags |= MD_CONTEXT_ARM64_FLOATING_POINT;
        for (int i = 0; i < 32; i++) {
            c.float_save.regs[i].low = (uint64_t)t->fp.vregs[i];
            c.float_save.regs[i].high = (uint64_t)(t->fp.vregs[i] >> 64);
        }
        c.float_save.fpsr = t->fp.fpsr;
        c.float_save.fpcr = t->fp.fpcr;
    }
    memcpy(out, &c, sizeof c);
    return sizeof c;
#else
    (void)t, (void)out, (void)cap;
    return 0;
#endif
}

void sv_cpu_system_info(MDRawSystemInfo *si, bool x86_32)
{
#if defined(__x86_64__)
    si->processor_architecture = x86_32 ? MD_CPU_ARCHITECTURE_X86 : MD_CPU_ARCHITECTURE_AMD64;
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        si->cpu.x86_cpu_info.vendor_id[0] = b;
        si->cpu.x86_cpu_info.vendor_id[1] = d;
        si->cpu.x86_cpu_info.vendor_id[2] = c;
    }
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        si->cpu.x86_cpu_info.version_information = a;
        si->cpu.x86_cpu_info.feature_information = d;
        unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
        if (family == 0xf)
            family += (a >> 20) & 0xff;
        if (family >= 6)
            model += ((a >> 16) & 0xf) << 4;
        si->processor_level = (uint16_t)family;
        si->processor_revision = (uint16_t)((model << 8) | (a & 0xf));
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d))
        si->cpu.x86_cpu_info.amd_extended_cpu_features = b;
#elif defined(__aarch64__)
    (void)x86_32;
    /* Microsoft's arm64 value goes with Microsoft's context layout */
    si->processor_architecture = MD_CPU_ARCHITECTURE_ARM64;
    si->cpu.arm_cpu_info.elf_hwcaps = (uint32_t)getauxval(AT_HWCAP);
#else
    (void)x86_32;
    si->processor_architecture = MD_CPU_ARCHITECTURE_UNKNOWN;
#endif
}
