/* Unit tests for disasm/: known byte sequences per architecture, checked
 * field by field (size, text, branch kind and target, operands in DWARF
 * numbers, registers read and written), plus bad and truncated bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "disasm.h"

static da_decoder *open_arch(da_arch arch)
{
    da_decoder *d = NULL;
    sk_error err;
    assert_int_equal(da_open(arch, &d, &err), SK_OK);
    assert_non_null(d);
    return d;
}

/* Decodes `n` bytes at `addr` and checks it is one instruction of `size`
 * bytes printed as `text`. */
static void decode_ok(da_decoder *d, const uint8_t *b, size_t n, uint64_t addr, unsigned size,
                      const char *text, da_insn *in)
{
    assert_true(da_decode(d, b, n, addr, in));
    assert_int_equal(in->size, size);
    assert_string_equal(in->text, text);
    assert_int_equal(in->address, addr);
}

static void test_amd64(void **state)
{
    (void)state;
    da_decoder *d = open_arch(DA_ARCH_AMD64);
    da_insn in;

    decode_ok(d, (const uint8_t[]){0x55}, 1, 0x1000, 1, "push rbp", &in);
    assert_int_equal(in.kind, DA_I_PUSH);
    assert_int_equal(in.branch, DA_BR_NONE);
    assert_int_equal(in.op_count, 1);
    assert_int_equal(in.ops[0].type, DA_OP_REG);
    assert_int_equal(in.ops[0].reg.num, 6);
    assert_int_equal(in.ops[0].reg.width, 8);
    assert_true(da_reads(&in, 6));
    assert_true(da_reads(&in, 7));
    assert_true(da_writes(&in, 7));
    assert_false(da_writes(&in, 6));

    decode_ok(d, (const uint8_t[]){0x48, 0x89, 0xe5}, 3, 0x1001, 3, "mov rbp, rsp", &in);
    assert_int_equal(in.kind, DA_I_MOV);
    assert_int_equal(in.ops[0].reg.num, 6);
    assert_int_equal(in.ops[0].access, DA_ACCESS_WRITE);
    assert_int_equal(in.ops[1].reg.num, 7);
    assert_true(da_writes(&in, 6));

    decode_ok(d, (const uint8_t[]){0x48, 0x83, 0xec, 0x20}, 4, 0x1004, 4, "sub rsp, 0x20", &in);
    assert_int_equal(in.kind, DA_I_SUB);
    assert_int_equal(in.ops[1].type, DA_OP_IMM);
    assert_int_equal(in.ops[1].imm, 0x20);
    assert_true(da_writes(&in, 7));

    /* mov [rbp-8], rdi: memory write with base rbp. */
    decode_ok(d, (const uint8_t[]){0x48, 0x89, 0x7d, 0xf8}, 4, 0x1008, 4,
              "mov qword ptr [rbp - 8], rdi", &in);
    assert_int_equal(in.ops[0].type, DA_OP_MEM);
    assert_int_equal(in.ops[0].access, DA_ACCESS_WRITE);
    assert_int_equal(in.ops[0].mem.base.num, 6);
    assert_int_equal(in.ops[0].mem.index.num, DA_REG_NONE);
    assert_int_equal(in.ops[0].mem.disp, -8);
    assert_int_equal(in.ops[1].reg.num, 5);

    /* mov eax, [rbx + r12*4 + 0x10]: index and scale, 32-bit width. */
    decode_ok(d, (const uint8_t[]){0x42, 0x8b, 0x44, 0xa3, 0x10}, 5, 0x100c, 5,
              "mov eax, dword ptr [rbx + r12*4 + 0x10]", &in);
    assert_int_equal(in.ops[0].reg.num, 0);
    assert_int_equal(in.ops[0].reg.width, 4);
    assert_int_equal(in.ops[1].mem.base.num, 3);
    assert_int_equal(in.ops[1].mem.index.num, 12);
    assert_int_equal(in.ops[1].mem.scale, 4);
    assert_int_equal(in.ops[1].mem.disp, 0x10);
    assert_int_equal(in.ops[1].access, DA_ACCESS_READ);

    /* call rel32: direct target, writes rsp. */
    decode_ok(d, (const uint8_t[]){0xe8, 0x10, 0x00, 0x00, 0x00}, 5, 0x2000, 5, "call 0x2015", &in);
    assert_int_equal(in.branch, DA_BR_CALL);
    assert_true(in.has_target);
    assert_false(in.indirect);
    assert_int_equal(in.target, 0x2015);
    assert_true(da_writes(&in, 7));

    /* call [rip + 0x100]: indirect through memory. */
    decode_ok(d, (const uint8_t[]){0xff, 0x15, 0x00, 0x01, 0x00, 0x00}, 6, 0x2000, 6,
              "call qword ptr [rip + 0x100]", &in);
    assert_int_equal(in.branch, DA_BR_CALL);
    assert_true(in.indirect);
    assert_false(in.has_target);
    assert_int_equal(in.ops[0].mem.base.num, 16);

    decode_ok(d, (const uint8_t[]){0xc9}, 1, 0x3000, 1, "leave", &in);
    assert_int_equal(in.kind, DA_I_LEAVE);
    assert_true(da_writes(&in, 6));
    assert_true(da_writes(&in, 7));

    decode_ok(d, (const uint8_t[]){0xc3}, 1, 0x3001, 1, "ret", &in);
    assert_int_equal(in.branch, DA_BR_RET);

    decode_ok(d, (const uint8_t[]){0xff, 0xe0}, 2, 0x3002, 2, "jmp rax", &in);
    assert_int_equal(in.branch, DA_BR_JUMP);
    assert_true(in.indirect);

    decode_ok(d, (const uint8_t[]){0x74, 0x02}, 2, 0x3004, 2, "je 0x3008", &in);
    assert_int_equal(in.branch, DA_BR_COND_JUMP);
    assert_int_equal(in.target, 0x3008);

    decode_ok(d, (const uint8_t[]){0xeb, 0xfe}, 2, 0x3006, 2, "jmp 0x3006", &in);
    assert_int_equal(in.branch, DA_BR_JUMP);
    assert_int_equal(in.target, 0x3006);

    /* lea computes, it does not access memory. */
    decode_ok(d, (const uint8_t[]){0x48, 0x8d, 0x65, 0xf0}, 4, 0x3008, 4, "lea rsp, [rbp - 0x10]", &in);
    assert_int_equal(in.kind, DA_I_LEA);
    assert_int_equal(in.ops[1].access, 0);
    assert_int_equal(in.ops[1].mem.disp, -16);
    assert_true(da_writes(&in, 7));

    /* fs: is thread-local, not an absolute address. */
    decode_ok(d, (const uint8_t[]){0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0}, 9, 0x300c, 9,
              "mov rax, qword ptr fs:[0x28]", &in);
    assert_true(in.ops[1].mem.segment);

    decode_ok(d, (const uint8_t[]){0x0f, 0x0b}, 2, 0x4000, 2, "ud2", &in);
    assert_int_equal(in.branch, DA_BR_INTERRUPT);
    decode_ok(d, (const uint8_t[]){0x0f, 0x05}, 2, 0x4000, 2, "syscall", &in);
    assert_int_equal(in.branch, DA_BR_INTERRUPT);
    decode_ok(d, (const uint8_t[]){0xf3, 0x0f, 0x1e, 0xfa}, 4, 0x4000, 4, "endbr64", &in);
    assert_int_equal(in.kind, DA_I_BTI);

    /* ah is bits 8..15 of rax. */
    decode_ok(d, (const uint8_t[]){0x88, 0xe0}, 2, 0x4000, 2, "mov al, ah", &in);
    assert_int_equal(in.ops[1].reg.num, 0);
    assert_true(in.ops[1].reg.high8);
    assert_int_equal(in.ops[0].reg.width, 1);

    /* xmm registers have DWARF numbers 17.. */
    decode_ok(d, (const uint8_t[]){0x0f, 0x28, 0xc1}, 3, 0x4000, 3, "movaps xmm0, xmm1", &in);
    assert_int_equal(in.ops[0].reg.num, 17);
    assert_int_equal(in.ops[1].reg.num, 18);
    assert_int_equal(in.ops[0].reg.width, 16);
    da_close(d);
}

static void test_x86(void **state)
{
    (void)state;
    da_decoder *d = open_arch(DA_ARCH_X86);
    da_insn in;
    decode_ok(d, (const uint8_t[]){0x55}, 1, 0x1000, 1, "push ebp", &in);
    assert_int_equal(in.ops[0].reg.num, 5);
    assert_int_equal(in.ops[0].reg.width, 4);
    assert_true(da_writes(&in, 4));
    decode_ok(d, (const uint8_t[]){0x89, 0xe5}, 2, 0x1001, 2, "mov ebp, esp", &in);
    assert_int_equal(in.ops[0].reg.num, 5);
    assert_int_equal(in.ops[1].reg.num, 4);
    decode_ok(d, (const uint8_t[]){0x8b, 0x4c, 0x24, 0x04}, 4, 0x1003, 4,
              "mov ecx, dword ptr [esp + 4]", &in);
    assert_int_equal(in.ops[0].reg.num, 1);
    assert_int_equal(in.ops[1].mem.base.num, 4);
    assert_int_equal(in.ops[1].mem.disp, 4);
    /* A call near the top of the address space wraps to 32 bits. */
    decode_ok(d, (const uint8_t[]){0xe8, 0x00, 0x00, 0x00, 0x00}, 5, 0xfffffff0u, 5,
              "call 0xfffffff5", &in);
    assert_int_equal(in.target, 0xfffffff5u);
    decode_ok(d, (const uint8_t[]){0xcd, 0x80}, 2, 0x1000, 2, "int 0x80", &in);
    assert_int_equal(in.branch, DA_BR_INTERRUPT);
    assert_string_equal(da_reg_name(DA_ARCH_X86, 4), "esp");
    assert_string_equal(da_reg_name(DA_ARCH_X86, 8), "eip");
    da_close(d);
}

static void test_arm64(void **state)
{
    (void)state;
    da_decoder *d = open_arch(DA_ARCH_ARM64);
    da_insn in;

    decode_ok(d, (const uint8_t[]){0xfd, 0x7b, 0xbf, 0xa9}, 4, 0x1000, 4,
              "stp x29, x30, [sp, #-0x10]!", &in);
    assert_int_equal(in.kind, DA_I_STORE_PAIR);
    assert_int_equal(in.op_count, 3);
    assert_int_equal(in.ops[0].reg.num, 29);
    assert_int_equal(in.ops[1].reg.num, 30);
    assert_int_equal(in.ops[2].type, DA_OP_MEM);
    assert_int_equal(in.ops[2].access, DA_ACCESS_WRITE);
    assert_int_equal(in.ops[2].mem.base.num, 31);
    assert_int_equal(in.ops[2].mem.disp, -16);
    assert_int_equal(in.ops[2].mem.writeback, DA_WB_PRE);
    assert_int_equal(in.ops[2].mem.wb_offset, -16);
    assert_true(da_writes(&in, 31));
    assert_true(da_reads(&in, 30));

    decode_ok(d, (const uint8_t[]){0xfd, 0x03, 0x00, 0x91}, 4, 0x1004, 4, "mov x29, sp", &in);
    assert_int_equal(in.kind, DA_I_MOV);
    assert_int_equal(in.ops[0].reg.num, 29);
    assert_int_equal(in.ops[1].reg.num, 31);
    assert_true(da_writes(&in, 29));

    decode_ok(d, (const uint8_t[]){0xff, 0x83, 0x00, 0xd1}, 4, 0x1008, 4, "sub sp, sp, #0x20", &in);
    assert_int_equal(in.kind, DA_I_SUB);
    assert_int_equal(in.ops[2].imm, 0x20);
    /* The shifted form carries the shifted value. */
    decode_ok(d, (const uint8_t[]){0xff, 0x07, 0x40, 0xd1}, 4, 0x100c, 4, "sub sp, sp, #1, lsl #12", &in);
    assert_int_equal(in.ops[2].imm, 0x1000);

    /* Post-index: one memory operand, the increment folded in. */
    decode_ok(d, (const uint8_t[]){0xfd, 0x7b, 0xc1, 0xa8}, 4, 0x1010, 4,
              "ldp x29, x30, [sp], #0x10", &in);
    assert_int_equal(in.kind, DA_I_LOAD_PAIR);
    assert_int_equal(in.op_count, 3);
    assert_int_equal(in.ops[2].mem.writeback, DA_WB_POST);
    assert_int_equal(in.ops[2].mem.disp, 0);
    assert_int_equal(in.ops[2].mem.wb_offset, 16);
    assert_int_equal(in.ops[2].access, DA_ACCESS_READ);
    assert_true(da_writes(&in, 29));
    assert_true(da_writes(&in, 30));
    assert_true(da_writes(&in, 31));

    decode_ok(d, (const uint8_t[]){0xf3, 0x0b, 0x00, 0xf9}, 4, 0x1014, 4, "str x19, [sp, #0x10]", &in);
    assert_int_equal(in.kind, DA_I_STORE);
    assert_int_equal(in.ops[1].mem.disp, 16);
    assert_int_equal(in.ops[1].mem.writeback, DA_WB_NONE);
    assert_false(da_writes(&in, 31));

    decode_ok(d, (const uint8_t[]){0xc0, 0x03, 0x5f, 0xd6}, 4, 0x1018, 4, "ret", &in);
    assert_int_equal(in.branch, DA_BR_RET);
    assert_true(da_reads(&in, 30));

    decode_ok(d, (const uint8_t[]){0x02, 0x00, 0x00, 0x94}, 4, 0x101c, 4, "bl #0x1024", &in);
    assert_int_equal(in.branch, DA_BR_CALL);
    assert_int_equal(in.target, 0x1024);
    assert_true(da_writes(&in, 30));

    decode_ok(d, (const uint8_t[]){0x40, 0x00, 0x00, 0x54}, 4, 0x1020, 4, "b.eq #0x1028", &in);
    assert_int_equal(in.branch, DA_BR_COND_JUMP);
    assert_int_equal(in.target, 0x1028);
    decode_ok(d, (const uint8_t[]){0x00, 0x00, 0x00, 0x14}, 4, 0x1024, 4, "b #0x1024", &in);
    assert_int_equal(in.branch, DA_BR_JUMP);
    assert_int_equal(in.target, 0x1024);
    /* tbz x0, #3, .+8: the target is the last operand. */
    decode_ok(d, (const uint8_t[]){0x40, 0x00, 0x18, 0x36}, 4, 0x1028, 4, "tbz w0, #3, #0x1030", &in);
    assert_int_equal(in.branch, DA_BR_COND_JUMP);
    assert_int_equal(in.target, 0x1030);

    decode_ok(d, (const uint8_t[]){0x00, 0x02, 0x1f, 0xd6}, 4, 0x102c, 4, "br x16", &in);
    assert_int_equal(in.branch, DA_BR_JUMP);
    assert_true(in.indirect);
    decode_ok(d, (const uint8_t[]){0x00, 0x02, 0x3f, 0xd6}, 4, 0x102c, 4, "blr x16", &in);
    assert_int_equal(in.branch, DA_BR_CALL);
    assert_true(in.indirect);

    /* paciasp is "hint #0x19" to Capstone 4. */
    decode_ok(d, (const uint8_t[]){0x3f, 0x23, 0x03, 0xd5}, 4, 0x1030, 4, "hint #0x19", &in);
    assert_int_equal(in.kind, DA_I_PAC);
    decode_ok(d, (const uint8_t[]){0x01, 0x00, 0x00, 0xd4}, 4, 0x1034, 4, "svc #0", &in);
    assert_int_equal(in.branch, DA_BR_INTERRUPT);
    decode_ok(d, (const uint8_t[]){0xe0, 0x07, 0x41, 0xf8}, 4, 0x1038, 4, "ldr x0, [sp], #0x10", &in);
    assert_int_equal(in.ops[1].mem.writeback, DA_WB_POST);
    assert_int_equal(in.ops[1].mem.wb_offset, 16);
    /* w registers are the low half of the x registers. */
    decode_ok(d, (const uint8_t[]){0x20, 0x00, 0x80, 0x52}, 4, 0x103c, 4, "movz w0, #0x1", &in);
    assert_int_equal(in.ops[0].reg.num, 0);
    assert_int_equal(in.ops[0].reg.width, 4);
    assert_int_equal(in.ops[1].imm, 1);
    /* Floating point: d8 is v8. */
    decode_ok(d, (const uint8_t[]){0xe8, 0x07, 0x00, 0xfd}, 4, 0x1040, 4, "str d8, [sp, #8]", &in);
    assert_int_equal(in.ops[0].reg.num, 72);
    assert_int_equal(in.ops[0].reg.width, 8);
    assert_string_equal(da_reg_name(DA_ARCH_ARM64, 31), "sp");
    assert_string_equal(da_reg_name(DA_ARCH_ARM64, 29), "x29");
    da_close(d);
}

static void test_arm_thumb(void **state)
{
    (void)state;
    da_decoder *d = open_arch(DA_ARCH_ARM);
    da_insn in;
    decode_ok(d, (const uint8_t[]){0x10, 0x40, 0x2d, 0xe9}, 4, 0x1000, 4, "push {r4, lr}", &in);
    assert_int_equal(in.kind, DA_I_PUSH);
    assert_int_equal(in.op_count, 2);
    assert_int_equal(in.ops[0].reg.num, 4);
    assert_int_equal(in.ops[1].reg.num, 14);
    assert_true(da_writes(&in, 13));
    decode_ok(d, (const uint8_t[]){0x04, 0xd0, 0x4d, 0xe2}, 4, 0x1004, 4, "sub sp, sp, #4", &in);
    assert_int_equal(in.kind, DA_I_SUB);
    assert_int_equal(in.ops[2].imm, 4);
    decode_ok(d, (const uint8_t[]){0x10, 0x80, 0xbd, 0xe8}, 4, 0x1008, 4, "pop {r4, pc}", &in);
    assert_int_equal(in.branch, DA_BR_RET);
    assert_true(da_writes(&in, 15));
    decode_ok(d, (const uint8_t[]){0x1e, 0xff, 0x2f, 0xe1}, 4, 0x100c, 4, "bx lr", &in);
    assert_int_equal(in.branch, DA_BR_RET);
    decode_ok(d, (const uint8_t[]){0x13, 0xff, 0x2f, 0xe1}, 4, 0x100c, 4, "bx r3", &in);
    assert_int_equal(in.branch, DA_BR_JUMP);
    assert_true(in.indirect);
    decode_ok(d, (const uint8_t[]){0x04, 0xe0, 0x2d, 0xe5}, 4, 0x1010, 4, "str lr, [sp, #-4]!", &in);
    assert_int_equal(in.ops[1].mem.writeback, DA_WB_PRE);
    assert_int_equal(in.ops[1].mem.wb_offset, -4);
    assert_int_equal(in.ops[1].access, DA_ACCESS_WRITE);
    decode_ok(d, (const uint8_t[]){0xfe, 0xff, 0xff, 0xea}, 4, 0x1014, 4, "b #0x1014", &in);
    assert_int_equal(in.branch, DA_BR_JUMP);
    assert_int_equal(in.target, 0x1014);
    /* Conditional execution: blt is a conditional jump, moveq conditional. */
    decode_ok(d, (const uint8_t[]){0xfe, 0xff, 0xff, 0xba}, 4, 0x1018, 4, "blt #0x1018", &in);
    assert_int_equal(in.branch, DA_BR_COND_JUMP);
    decode_ok(d, (const uint8_t[]){0x01, 0x00, 0xa0, 0x03}, 4, 0x101c, 4, "moveq r0, #1", &in);
    assert_true(in.conditional);
    decode_ok(d, (const uint8_t[]){0x00, 0x00, 0x00, 0xeb}, 4, 0x1020, 4, "bl #0x1028", &in);
    assert_int_equal(in.branch, DA_BR_CALL);
    assert_int_equal(in.target, 0x1028);
    da_close(d);

    d = open_arch(DA_ARCH_THUMB);
    decode_ok(d, (const uint8_t[]){0x10, 0xb5}, 2, 0x2000, 2, "push {r4, lr}", &in);
    assert_int_equal(in.kind, DA_I_PUSH);
    decode_ok(d, (const uint8_t[]){0x82, 0xb0}, 2, 0x2002, 2, "sub sp, #8", &in);
    assert_int_equal(in.kind, DA_I_SUB);
    assert_true(da_writes(&in, 13));
    decode_ok(d, (const uint8_t[]){0x10, 0xbd}, 2, 0x2004, 2, "pop {r4, pc}", &in);
    assert_int_equal(in.branch, DA_BR_RET);
    decode_ok(d, (const uint8_t[]){0xfe, 0xe7}, 2, 0x2006, 2, "b #0x2006", &in);
    assert_int_equal(in.target, 0x2006);
    /* A 32-bit Thumb-2 bl. */
    decode_ok(d, (const uint8_t[]){0x00, 0xf0, 0x00, 0xf8}, 4, 0x2008, 4, "bl #0x200c", &in);
    assert_int_equal(in.branch, DA_BR_CALL);
    assert_int_equal(in.target, 0x200c);
    da_close(d);
}

static void test_bad_bytes(void **state)
{
    (void)state;
    da_insn in;
    da_decoder *d = open_arch(DA_ARCH_AMD64);
    /* Truncated: the first byte of a 3-byte mov, and a REX prefix alone. */
    assert_false(da_decode(d, (const uint8_t[]){0x48, 0x89, 0xe5}, 2, 0x1000, &in));
    assert_int_equal(in.size, 0);
    assert_false(da_decode(d, (const uint8_t[]){0x48}, 1, 0x1000, &in));
    assert_false(da_decode(d, NULL, 0, 0x1000, &in));
    assert_false(da_decode(d, (const uint8_t[]){0x06}, 1, 0x1000, &in)); /* push es: invalid in 64-bit */
    da_close(d);

    d = open_arch(DA_ARCH_ARM64);
    assert_false(da_decode(d, (const uint8_t[]){0xfd, 0x7b, 0xbf}, 3, 0x1000, &in));
    assert_false(da_decode(d, (const uint8_t[]){0, 0, 0, 0}, 4, 0x1000, &in)); /* udf */
    da_close(d);

    d = open_arch(DA_ARCH_THUMB);
    /* The first half of a 32-bit Thumb-2 instruction at the end. */
    assert_false(da_decode(d, (const uint8_t[]){0x00, 0xf0}, 2, 0x1000, &in));
    da_close(d);

    /* Every byte pattern at every length decodes or is refused, never
     * more bytes than given. */
    for (int arch = DA_ARCH_X86; arch <= DA_ARCH_ARM64; arch++) {
        d = open_arch((da_arch)arch);
        uint32_t seed = 12345u + (uint32_t)arch;
        uint8_t buf[16];
        for (int round = 0; round < 20000; round++) {
            for (size_t i = 0; i < sizeof buf; i++) {
                seed = seed * 1103515245u + 12345u;
                buf[i] = (uint8_t)(seed >> 16);
            }
            size_t n = 1 + (size_t)(seed % sizeof buf);
            if (da_decode(d, buf, n, 0x400000, &in)) {
                assert_true(in.size >= 1 && in.size <= n);
                assert_true(in.op_count <= DA_MAX_OPERANDS);
                assert_true(in.n_read <= DA_MAX_REGS && in.n_written <= DA_MAX_REGS);
            } else {
                assert_int_equal(in.size, 0);
            }
        }
        da_close(d);
    }
}

static void test_arch_names(void **state)
{
    (void)state;
    da_arch a;
    assert_true(da_arch_from_name("x86_64", &a));
    assert_int_equal(a, DA_ARCH_AMD64);
    assert_true(da_arch_from_name("aarch64", &a));
    assert_int_equal(a, DA_ARCH_ARM64);
    assert_false(da_arch_from_name("mips", &a));
    assert_int_equal(da_arch_sp(DA_ARCH_AMD64), 7);
    assert_int_equal(da_arch_sp(DA_ARCH_ARM64), 31);
    assert_int_equal(da_arch_fp(DA_ARCH_X86), 5);
    assert_int_equal(da_arch_lr(DA_ARCH_ARM64), 30);
    assert_int_equal(da_arch_lr(DA_ARCH_AMD64), -1);
    assert_string_equal(da_reg_name(DA_ARCH_AMD64, 16), "rip");
    assert_null(da_reg_name(DA_ARCH_AMD64, 99));
    sk_error err;
    da_decoder *d = NULL;
    assert_int_equal(da_open((da_arch)42, &d, &err), SK_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amd64),
        cmocka_unit_test(test_x86),
        cmocka_unit_test(test_arm64),
        cmocka_unit_test(test_arm_thumb),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_arch_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
