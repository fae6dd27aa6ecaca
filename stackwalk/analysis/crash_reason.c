/* crash_reason.c — crash type names per OS, the crash address, Windows
 * error names (see crash_reason.h).  Tables list the values crash
 * pipelines meet; anything else is printed as hex, as rust-minidump does. */
#include "crash_reason.h"

#include <string.h>

typedef struct named {
    uint32_t code;
    const char *name;
} named;

static const char *lookup(const named *t, size_t n, uint32_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    return NULL;
}
#define LOOKUP(t, c) lookup(t, sizeof t / sizeof t[0], c)

/* ---- Windows ----------------------------------------------------------- */

static const named win_exceptions[] = {
    {0x40010005, "DBG_CONTROL_C"},
    {0x40010008, "DBG_CONTROL_BREAK"},
    {0x4000001f, "STATUS_WX86_BREAKPOINT"},
    {0x80000001, "EXCEPTION_GUARD_PAGE"},
    {0x80000002, "EXCEPTION_DATATYPE_MISALIGNMENT"},
    {0x80000003, "EXCEPTION_BREAKPOINT"},
    {0x80000004, "EXCEPTION_SINGLE_STEP"},
    {0xc0000005, "EXCEPTION_ACCESS_VIOLATION"},
    {0xc0000006, "EXCEPTION_IN_PAGE_ERROR"},
    {0xc0000008, "EXCEPTION_INVALID_HANDLE"},
    {0xc0000017, "STATUS_NO_MEMORY"},
    {0xc000001d, "EXCEPTION_ILLEGAL_INSTRUCTION"},
    {0xc0000025, "EXCEPTION_NONCONTINUABLE_EXCEPTION"},
    {0xc0000026, "EXCEPTION_INVALID_DISPOSITION"},
    {0xc000008c, "EXCEPTION_ARRAY_BOUNDS_EXCEEDED"},
    {0xc000008d, "EXCEPTION_FLT_DENORMAL_OPERAND"},
    {0xc000008e, "EXCEPTION_FLT_DIVIDE_BY_ZERO"},
    {0xc000008f, "EXCEPTION_FLT_INEXACT_RESULT"},
    {0xc0000090, "EXCEPTION_FLT_INVALID_OPERATION"},
    {0xc0000091, "EXCEPTION_FLT_OVERFLOW"},
    {0xc0000092, "EXCEPTION_FLT_STACK_CHECK"},
    {0xc0000093, "EXCEPTION_FLT_UNDERFLOW"},
    {0xc0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO"},
    {0xc0000095, "EXCEPTION_INT_OVERFLOW"},
    {0xc0000096, "EXCEPTION_PRIV_INSTRUCTION"},
    {0xc00000fd, "EXCEPTION_STACK_OVERFLOW"},
    {0xc0000135, "STATUS_DLL_NOT_FOUND"},
    {0xc000013a, "STATUS_CONTROL_C_EXIT"},
    {0xc0000142, "STATUS_DLL_INIT_FAILED"},
    {0xc0000194, "EXCEPTION_POSSIBLE_DEADLOCK"},
    {0xc0000374, "STATUS_HEAP_CORRUPTION"},
    {0xc0000409, "STATUS_STACK_BUFFER_OVERRUN"},
    {0xc0000420, "STATUS_ASSERTION_FAILURE"},
    {0xc0000602, "STATUS_FAIL_FAST_EXCEPTION"},
    {0xc06d007e, "EXCEPTION_MODULE_NOT_FOUND"},
    {0xc06d007f, "EXCEPTION_PROCEDURE_NOT_FOUND"},
    {0xe06d7363, "EXCEPTION_CXX"},
};

static const named win_errors[] = {
    {0, "ERROR_SUCCESS"},
    {1, "ERROR_INVALID_FUNCTION"},
    {2, "ERROR_FILE_NOT_FOUND"},
    {3, "ERROR_PATH_NOT_FOUND"},
    {4, "ERROR_TOO_MANY_OPEN_FILES"},
    {5, "ERROR_ACCESS_DENIED"},
    {6, "ERROR_INVALID_HANDLE"},
    {8, "ERROR_NOT_ENOUGH_MEMORY"},
    {14, "ERROR_OUTOFMEMORY"},
    {18, "ERROR_NO_MORE_FILES"},
    {32, "ERROR_SHARING_VIOLATION"},
    {87, "ERROR_INVALID_PARAMETER"},
    {109, "ERROR_BROKEN_PIPE"},
    {122, "ERROR_INSUFFICIENT_BUFFER"},
    {126, "ERROR_MOD_NOT_FOUND"},
    {127, "ERROR_PROC_NOT_FOUND"},
    {183, "ERROR_ALREADY_EXISTS"},
    {203, "ERROR_ENVVAR_NOT_FOUND"},
    {258, "WAIT_TIMEOUT"},
    {259, "ERROR_NO_MORE_ITEMS"},
    {997, "ERROR_IO_PENDING"},
    {1168, "ERROR_NOT_FOUND"},
    {1400, "ERROR_INVALID_WINDOW_HANDLE"},
};

const char *sw_win_error_name(uint32_t code, sk_arena *a)
{
    const char *n = LOOKUP(win_errors, code);
    return n ? n : sk_arena_printf(a, "0x%08x", code);
}

static const char *access_kind(uint64_t p0)
{
    switch (p0) {
    case 0: return "READ";
    case 1: return "WRITE";
    case 8: return "EXEC";
    default: return NULL;
    }
}

static const char *windows_type(const md_exception *x, sk_arena *a)
{
    const char *n = LOOKUP(win_exceptions, x->code);
    if (!n)
        return sk_arena_printf(a, "0x%08x", x->code);
    if ((x->code == 0xc0000005 || x->code == 0xc0000006) && x->nparams >= 1) {
        const char *k = access_kind(x->params[0]);
        if (k)
            return sk_arena_printf(a, "%s_%s", n, k);
    }
    return n;
}

/* ---- macOS / iOS ----------------------------------------------------------- */

static const named mach_exceptions[] = {
    {1, "EXC_BAD_ACCESS"},   {2, "EXC_BAD_INSTRUCTION"}, {3, "EXC_ARITHMETIC"},  {4, "EXC_EMULATION"},
    {5, "EXC_SOFTWARE"},     {6, "EXC_BREAKPOINT"},      {7, "EXC_SYSCALL"},     {8, "EXC_MACH_SYSCALL"},
    {9, "EXC_RPC_ALERT"},    {10, "EXC_CRASH"},          {11, "EXC_RESOURCE"},   {12, "EXC_GUARD"},
    {13, "EXC_CORPSE_NOTIFY"}, {0x43507378, "SIMULATED"},
};

static const named kern_codes[] = {
    {1, "KERN_INVALID_ADDRESS"}, {2, "KERN_PROTECTION_FAILURE"}, {8, "KERN_NO_ACCESS"},
    {9, "KERN_MEMORY_FAILURE"},  {10, "KERN_MEMORY_ERROR"},      {50, "KERN_CODESIGN_ERROR"},
};
static const named bad_access_x86[] = {{13, "EXC_I386_GPFLT"}};
static const named bad_access_arm[] = {{0x101, "EXC_ARM_DA_ALIGN"}, {0x102, "EXC_ARM_DA_DEBUG"},
                                       {0x103, "EXC_ARM_SP_ALIGN"}, {0x104, "EXC_ARM_SWP"},
                                       {0x105, "EXC_ARM_PAC_FAIL"}};
static const named bad_instr_x86[] = {{1, "EXC_I386_INVOP"}};
static const named bad_instr_arm[] = {{1, "EXC_ARM_UNDEFINED"}};
static const named arith_x86[] = {{1, "EXC_I386_DIV"},    {2, "EXC_I386_INTO"},  {3, "EXC_I386_NOEXT"},
                                  {4, "EXC_I386_EXTOVR"}, {5, "EXC_I386_EXTERR"}, {6, "EXC_I386_EMERR"},
                                  {7, "EXC_I386_BOUND"},  {8, "EXC_I386_SSEEXTERR"}};
static const named arith_arm[] = {{1, "EXC_ARM_FP_IO"}, {2, "EXC_ARM_FP_DZ"}, {3, "EXC_ARM_FP_OF"},
                                  {4, "EXC_ARM_FP_UF"}, {5, "EXC_ARM_FP_IX"}, {7, "EXC_ARM_FP_ID"}};
static const named software[] = {{0x10000, "EXC_UNIX_BAD_SYSCALL"}, {0x10001, "EXC_UNIX_BAD_PIPE"},
                                 {0x10002, "EXC_UNIX_ABORT"},       {0x10003, "EXC_SOFT_SIGNAL"}};
static const named breakpoint_x86[] = {{1, "EXC_I386_SGL"}, {2, "EXC_I386_BPT"}};
static const named breakpoint_arm[] = {{1, "EXC_ARM_BREAKPOINT"}};

static const char *mac_type(const md_info *info, sk_arena *a)
{
    const md_exception *x = &info->exception;
    const char *n = LOOKUP(mach_exceptions, x->code);
    if (!n)
        return sk_arena_printf(a, "0x%08x / 0x%08x", x->code, x->flags);
    bool x86 = info->sys.arch == MD_CPU_ARCHITECTURE_X86 || info->sys.arch == MD_CPU_ARCHITECTURE_AMD64;
    const char *c = NULL;
    switch (x->code) {
    case 1:
        c = LOOKUP(kern_codes, x->flags);
        if (!c)
            c = x86 ? LOOKUP(bad_access_x86, x->flags) : LOOKUP(bad_access_arm, x->flags);
        break;
    case 2: c = x86 ? LOOKUP(bad_instr_x86, x->flags) : LOOKUP(bad_instr_arm, x->flags); break;
    case 3: c = x86 ? LOOKUP(arith_x86, x->flags) : LOOKUP(arith_arm, x->flags); break;
    case 5: c = LOOKUP(software, x->flags); break;
    case 6: c = x86 ? LOOKUP(breakpoint_x86, x->flags) : LOOKUP(breakpoint_arm, x->flags); break;
    case 0x43507378: return n;
    default: break;
    }
    return c ? sk_arena_printf(a, "%s / %s", n, c) : sk_arena_printf(a, "%s / 0x%08x", n, x->flags);
}

/* ---- Linux / Android ----------------------------------------------------- */

static const char *const signals[] = {
    NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP",   "SIGABRT", "SIGBUS",
    "SIGFPE",  "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE",   "SIGALRM", "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",  "SIGTTIN",   "SIGTTOU", "SIGURG",
    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",     "SIGPWR",  "SIGSYS"};

static const named segv_codes[] = {{1, "SEGV_MAPERR"}, {2, "SEGV_ACCERR"}, {3, "SEGV_BNDERR"},
                                   {4, "SEGV_PKUERR"}, {5, "SEGV_ACCADI"}, {6, "SEGV_ADIDERR"},
                                   {7, "SEGV_ADIPERR"}, {8, "SEGV_MTEAERR"}, {9, "SEGV_MTESERR"}};
static const named bus_codes[] = {{1, "BUS_ADRALN"}, {2, "BUS_ADRERR"}, {3, "BUS_OBJERR"},
                                  {4, "BUS_MCEERR_AR"}, {5, "BUS_MCEERR_AO"}};
static const named fpe_codes[] = {{1, "FPE_INTDIV"}, {2, "FPE_INTOVF"}, {3, "FPE_FLTDIV"},
                                  {4, "FPE_FLTOVF"}, {5, "FPE_FLTUND"}, {6, "FPE_FLTRES"},
                                  {7, "FPE_FLTINV"}, {8, "FPE_FLTSUB"}};
static const named ill_codes[] = {{1, "ILL_ILLOPC"}, {2, "ILL_ILLOPN"}, {3, "ILL_ILLADR"},
                                  {4, "ILL_ILLTRP"}, {5, "ILL_PRVOPC"}, {6, "ILL_PRVREG"},
                                  {7, "ILL_COPROC"}, {8, "ILL_BADSTK"}};
static const named trap_codes[] = {{1, "TRAP_BRKPT"}, {2, "TRAP_TRACE"}, {3, "TRAP_BRANCH"},
                                   {4, "TRAP_HWBKPT"}};
static const named sys_codes[] = {{1, "SYS_SECCOMP"}};
/* si_code values any signal may carry (sent by a process or the kernel). */
static const named si_codes[] = {{0, "SI_USER"},         {0x80, "SI_KERNEL"},       {(uint32_t)-1, "SI_QUEUE"},
                                 {(uint32_t)-2, "SI_TIMER"}, {(uint32_t)-3, "SI_MESGQ"}, {(uint32_t)-4, "SI_ASYNCIO"},
                                 {(uint32_t)-5, "SI_SIGIO"}, {(uint32_t)-6, "SI_TKILL"}, {(uint32_t)-7, "SI_DETHREAD"},
                                 {(uint32_t)-60, "SI_ASYNCNL"}};

static const char *linux_type(const md_exception *x, sk_arena *a)
{
    if (x->code == MD_EXCEPTION_CODE_LIN_DUMP_REQUESTED)
        return "DUMP_REQUESTED";
    const char *s = x->code < sizeof signals / sizeof signals[0] ? signals[x->code] : NULL;
    if (!s)
        return sk_arena_printf(a, "0x%08x / 0x%08x", x->code, x->flags);
    const char *c = NULL;
    if ((int32_t)x->flags > 0 && x->flags != 0x80) {
        switch (x->code) {
        case 11: c = LOOKUP(segv_codes, x->flags); break;
        case 7: c = LOOKUP(bus_codes, x->flags); break;
        case 8: c = LOOKUP(fpe_codes, x->flags); break;
        case 4: c = LOOKUP(ill_codes, x->flags); break;
        case 5: c = LOOKUP(trap_codes, x->flags); break;
        case 31: c = LOOKUP(sys_codes, x->flags); break;
        default: break;
        }
    } else {
        c = LOOKUP(si_codes, x->flags);
    }
    return c ? sk_arena_printf(a, "%s / %s", s, c) : sk_arena_printf(a, "%s / 0x%08x", s, x->flags);
}

static bool is_windows(const md_info *info)
{
    return info->sys.present && info->sys.platform <= MD_OS_WIN32_CE;
}

const char *sw_crash_type(const md_info *info, sk_arena *a)
{
    const md_exception *x = &info->exception;
    if (is_windows(info))
        return windows_type(x, a);
    if (info->sys.present && (info->sys.platform == MD_OS_MAC_OS_X || info->sys.platform == MD_OS_IOS))
        return mac_type(info, a);
    if (info->sys.present && info->sys.platform < MD_OS_UNIX)
        return sk_arena_printf(a, "0x%08x / 0x%08x", x->code, x->flags);
    /* Linux, Android, other Unix, and dumps without system info */
    if (!info->sys.present && x->code == MD_EXCEPTION_CODE_WIN_ACCESS_VIOLATION)
        return windows_type(x, a);
    return linux_type(x, a);
}

uint64_t sw_crash_address(const md_info *info, unsigned pointer_size)
{
    const md_exception *x = &info->exception;
    uint64_t addr = x->address;
    /* an access violation's interesting address is the one accessed */
    if (is_windows(info) && (x->code == 0xc0000005 || x->code == 0xc0000006) && x->nparams >= 2)
        addr = x->params[1];
    /* some writers sign-extend 32-bit pointers */
    if (pointer_size == 4)
        addr &= 0xffffffffu;
    return addr;
}
