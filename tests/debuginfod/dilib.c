/* Fixture for the debuginfod tests: a program crashing inside a shared
 * library whose symbols are on a debuginfod server only.  Built twice: with
 * -DDI_LIB as libdi.so (then stripped, its debug file split off), and
 * without it as the program that calls it.  di_store is inlined, so the
 * library's .sym has INLINE records too. */
#include <stdio.h>

#ifdef DI_LIB
static volatile int *volatile di_null;

static inline __attribute__((always_inline)) void di_store(int value)
{
    *di_null = value; /* SIGSEGV at address 0 */
}

__attribute__((noinline)) void di_crash(int depth)
{
    if (depth > 0)
        di_store(depth);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void di_outer(int depth)
{
    di_crash(depth + 1);
    __asm__ volatile("" ::: "memory");
}
#else
void di_outer(int depth);

int main(void)
{
    di_outer(1);
    __asm__ volatile("" ::: "memory");
    puts("not reached");
    return 0;
}
#endif
