/* Fixture for symverify tests: crashes in a chosen way, a few frames deep,
 * so that a walked stack has a known chain. */
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int *volatile null_ptr;

__attribute__((noinline)) static void crash_null(void)
{
    *null_ptr = 42; /* SIGSEGV at address 0 */
}

__attribute__((noinline)) static void crash_abort(void)
{
    abort();
}

static volatile int zero, sink, seven = 7;

__attribute__((noinline)) static void crash_fpe(void)
{
    sink = seven / zero; /* SIGFPE, FPE_INTDIV */
}

static void on_segv(int sig)
{
    (void)sig;
    _exit(5);
}

__attribute__((noinline)) void sv_leaf(const char *how)
{
    if (strcmp(how, "abort") == 0)
        crash_abort();
    else if (strcmp(how, "fpe") == 0)
        crash_fpe();
    else if (strcmp(how, "trap") == 0)
        __builtin_trap(); /* ud2: SIGILL */
#if defined(__x86_64__) || defined(__i386__)
    else if (strcmp(how, "int3") == 0)
        __asm__ volatile("int3"); /* SIGTRAP */
#endif
#if defined(__x86_64__)
    else if (strcmp(how, "badsp") == 0)
        /* a wrecked stack pointer: the dump has no stack for this thread */
        __asm__ volatile("xor %%esp, %%esp\n\tmovq $0, (%%rsp)" ::: "memory");
#endif
    else
        crash_null();
}

__attribute__((noinline)) void sv_middle(const char *how)
{
    sv_leaf(how);
    __asm__ volatile("" ::: "memory"); /* keep the call a call, not a jump */
}

static void *thread_main(void *arg)
{
    sv_middle(arg);
    return NULL;
}

static void *idle_main(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "null";
    if (strcmp(how, "exit") == 0)
        return 3;
    if (strcmp(how, "handled") == 0) {
        /* a program with its own crash handler: it exits 5 from it */
        signal(SIGSEGV, on_segv);
        sv_middle("null");
        return 0;
    }
    if (strcmp(how, "caught") == 0) {
        signal(SIGSEGV, SIG_IGN);
        raise(SIGUSR1 == 0 ? 0 : SIGSEGV);
        return 4;
    }
    pthread_t idle;
    pthread_create(&idle, NULL, idle_main, NULL);
    if (strcmp(how, "thread") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, thread_main, "null");
        pthread_join(t, NULL);
        return 0;
    }
    sv_middle(how);
    __asm__ volatile("" ::: "memory");
    return 0;
}
