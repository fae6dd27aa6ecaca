/* Fixture for symverify tests: a crash inside a shared library, two frames
 * below the executable's main.  Built twice: with -DSV_LIB as
 * libsvcrash.so, and without it as the program linking it. */
#include <stdio.h>

#ifdef SV_LIB
static volatile int *volatile lib_null;

__attribute__((noinline)) void sv_lib_crash(int depth)
{
    if (depth > 0)
        *lib_null = depth; /* SIGSEGV at address 0 */
}

__attribute__((noinline)) void sv_lib_outer(int depth)
{
    sv_lib_crash(depth + 1);
    __asm__ volatile("" ::: "memory");
}
#else
void sv_lib_outer(int depth);

int main(void)
{
    sv_lib_outer(1);
    __asm__ volatile("" ::: "memory");
    puts("not reached");
    return 0;
}
#endif
