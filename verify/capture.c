/*
 * Runs a command under ptrace and writes a minidump when one of its threads
 * is about to die of a crash signal.
 *
 * The child asks to be traced (PTRACE_TRACEME) before exec, so no ptrace
 * permission (yama) is needed: the tracer is its parent.  Threads are
 * followed with PTRACE_O_TRACECLONE; a new thread's first stop is a SIGSTOP
 * that may reach us before its creator's clone event, so either order is
 * accepted.  Every other signal goes back to the program untouched.
 *
 * At a crash the other threads are stopped with tgkill(SIGSTOP) so that the
 * dump is one consistent moment; after the dump the crash signal is
 * delivered as it would have been, so the program dies (or, when it catches
 * the signal and --first-chance asked for a dump anyway, goes on) exactly as
 * without us.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

typedef struct tracee {
    pid_t tid;
    bool awaiting_first_stop; /* created, its initial SIGSTOP not seen yet */
    bool sent_stop;           /* we queued a SIGSTOP that is not consumed */
    bool stopped;             /* in a ptrace-stop right now (stop-all) */
    int pending_sig;          /* a signal to re-inject when resuming */
} tracee;

typedef struct tracer {
    pid_t pid;
    tracee *v;
    size_t n, cap;
} tracer;

static tracee *find(tracer *t, pid_t tid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].tid == tid)
            return &t->v[i];
    return NULL;
}

static tracee *add(tracer *t, pid_t tid)
{
    tracee *e = find(t, tid);
    if (e)
        return e;
    sk_grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v);
    e = &t->v[t->n++];
    memset(e, 0, sizeof *e);
    e->tid = tid;
    return e;
}

static void drop(tracer *t, pid_t tid)
{
    tracee *e = find(t, tid);
    if (e)
        *e = t->v[--t->n];
}

static bool is_crash_signal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT ||
           sig == SIGTRAP;
}

/* Whether delivering sig now runs a handler or is ignored, from the masks in
 * /proc/PID/task/TID/status. */
static bool signal_is_handled(pid_t pid, pid_t tid, int sig)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
    sk_buf b;
    sk_buf_init(&b);
    bool handled = false;
    if (sv_read_small_file(path, &b, NULL) == SK_OK && b.len) {
        uint64_t bit = 1ull << (sig - 1);
        const char *keys[] = {"\nSigIgn:", "\nSigCgt:"};
        for (size_t i = 0; i < 2; i++) {
            const char *p = strstr(b.data, keys[i]);
            if (!p)
                continue;
            unsigned long long mask = strtoull(p + strlen(keys[i]), NULL, 16);
            if (mask & bit)
                handled = true;
        }
    }
    sk_buf_free(&b);
    return handled;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Threads the kernel knows of but whose creation we have not seen yet:
 * they are traced already (auto-attach) and will stop on their own. */
static void add_task_threads(tracer *t)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)t->pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid_t tid = (pid_t)atoi(de->d_name);
        if (!find(t, tid))
            add(t, tid)->awaiting_first_stop = true;
    }
    closedir(d);
}

/* Brings every thread but the crashing one to a ptrace-stop.  Threads that
 * do not stop within a few seconds (stuck in the kernel) are left out. */
static void stop_all(tracer *t, pid_t crashed)
{
    add_task_threads(t);
    for (size_t i = 0; i < t->n; i++) {
        tracee *e = &t->v[i];
        e->stopped = e->tid == crashed;
        if (e->stopped || e->awaiting_first_stop)
            continue;
        if (syscall(SYS_tgkill, t->pid, e->tid, SIGSTOP) == 0)
            e->sent_stop = true;
    }
    double deadline = now() + 3.0;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < t->n; i++)
            all = all && t->v[i].stopped;
        if (all || now() > deadline)
            break;
        int st;
        pid_t tid = waitpid(-1, &st, __WALL | WNOHANG);
        if (tid == 0) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            drop(t, tid);
            continue;
        }
        if (!WIFSTOPPED(st))
            continue;
        tracee *e = add(t, tid);
        e->stopped = true;
        int sig = WSTOPSIG(st), event = st >> 16;
        if (event == PTRACE_EVENT_CLONE) {
            unsigned long child = 0;
            if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0 && !find(t, (pid_t)child))
                add(t, (pid_t)child)->awaiting_first_stop = true;
        } else if (event) {
            /* other events carry no signal */
        } else if (sig == SIGSTOP && e->awaiting_first_stop) {
            e->awaiting_first_stop = false;
        } else if (sig == SIGSTOP && e->sent_stop) {
            e->sent_stop = false;
        } else if (!e->awaiting_first_stop || sig != SIGSTOP) {
            e->pending_sig = sig;
        }
    }
}

static void snapshot(tracer *t, sv_thread_state *out, size_t *nout)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        tracee *e = &t->v[i];
        if (!e->stopped)
            continue;
        sv_thread_state *s = &out[k];
        memset(s, 0, sizeof *s);
        s->tid = e->tid;
        sv_cpu_read(e->tid, s);
        char path[96];
        snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)t->pid, (int)e->tid);
        sk_buf b;
        sk_buf_init(&b);
        if (sv_read_small_file(path, &b, NULL) == SK_OK && b.len) {
            size_t n = b.len < sizeof s->name - 1 ? b.len : sizeof s->name - 1;
            memcpy(s->name, b.data, n);
            s->name[n] = 0;
            s->name[strcspn(s->name, "\n")] = 0;
        }
        sk_buf_free(&b);
        if (s->regs_ok)
            k++;
    }
    *nout = k;
}

/* Resumes every stopped thread after a dump; the crashing one gets sig. */
static void resume_all(tracer *t, pid_t crashed, int sig)
{
    for (size_t i = 0; i < t->n; i++) {
        tracee *e = &t->v[i];
        if (!e->stopped)
            continue;
        int s = e->tid == crashed ? sig : e->pending_sig;
        e->pending_sig = 0;
        e->stopped = false;
        ptrace(PTRACE_CONT, e->tid, 0, (void *)(long)s);
    }
}

static int do_dump(tracer *t, const sv_capture_options *opt, pid_t tid, int sig,
                   sv_capture_result *res, sk_error *err)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ptrace(PTRACE_GETSIGINFO, tid, 0, &si);
    sv_crash_info crash = {t->pid, tid, sig, si.si_code, 0};
    /* Only kernel-generated faults carry an address; for kill/raise/abort
     * the same bytes are the sender's pid and uid. */
    if (si.si_code > 0 && si.si_code != SI_KERNEL &&
        (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP))
        crash.addr = (uint64_t)(uintptr_t)si.si_addr;

    stop_all(t, tid);
    sv_thread_state *threads = sk_xcalloc(t->n + 1, sizeof *threads);
    size_t n = 0;
    snapshot(t, threads, &n);
    sv_dump_stats st = {0, 0, 0};
    int rc = sv_write_minidump(opt->dump_path, &crash, threads, n, opt->max_stack, &st, err);
    free(threads);
    if (rc == SK_OK) {
        res->dumped = true;
        res->dump_signal = sig;
        res->dump_tid = tid;
        res->threads = st.threads;
        res->modules = st.modules;
        res->dump_bytes = st.bytes;
    }
    resume_all(t, tid, sig);
    return rc;
}

int sv_capture(const sv_capture_options *opt, sv_capture_result *res, sk_error *err)
{
    memset(res, 0, sizeof *res);
    if (!opt->argv || !opt->argv[0])
        return sk_fail(err, SK_EUSAGE, "no command to run");
    if (!opt->dump_path)
        return sk_fail(err, SK_EUSAGE, "no dump path");
    if (!sv_cpu_supported())
        return sk_fail(err, SK_EUNSUPPORTED, "capture is not supported on this CPU yet");

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return sk_fail(err, SK_EIO, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return sk_fail(err, SK_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(pfd[0]);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) == 0)
            execvp(opt->argv[0], opt->argv);
        int e = errno;
        ssize_t wr = write(pfd[1], &e, sizeof e);
        (void)wr;
        _exit(127);
    }
    close(pfd[1]);

    tracer t = {pid, NULL, 0, 0};
    int st;
    pid_t w;
    while ((w = waitpid(pid, &st, __WALL)) < 0 && errno == EINTR)
        ;
    int child_errno = 0;
    ssize_t got = read(pfd[0], &child_errno, sizeof child_errno);
    close(pfd[0]);
    if (w < 0 || !WIFSTOPPED(st)) {
        if (w >= 0 && !WIFSTOPPED(st) && got != (ssize_t)sizeof child_errno)
            child_errno = ECHILD;
        return sk_fail(err, SK_EIO, "%s: cannot run: %s", opt->argv[0],
                       strerror(child_errno ? child_errno : errno));
    }
    /* the exec stop */
    long options = PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SETOPTIONS, pid, 0, (void *)options) != 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, &st, __WALL);
        return sk_fail(err, SK_EIO, "%s: cannot trace: %s", opt->argv[0], strerror(e));
    }
    add(&t, pid);
    ptrace(PTRACE_CONT, pid, 0, 0);

    int rc = SK_OK;
    for (;;) {
        pid_t tid = waitpid(-1, &st, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: everyone is gone */
        }
        if (WIFEXITED(st) || WIFSIGNALED(st)) {
            if (tid == pid) {
                res->exited = true;
                if (WIFEXITED(st)) {
                    res->exit_status = WEXITSTATUS(st);
                } else {
                    res->term_signal = WTERMSIG(st);
                    res->exit_status = 128 + WTERMSIG(st);
                }
                break;
            }
            drop(&t, tid);
            continue;
        }
        if (!WIFSTOPPED(st))
            continue;
        int sig = WSTOPSIG(st), event = st >> 16;
        tracee *e = find(&t, tid);
        if (!e) {
            /* a new thread's first stop before its clone event */
            e = add(&t, tid);
            if (sig == SIGSTOP && !event) {
                ptrace(PTRACE_CONT, tid, 0, 0);
                continue;
            }
        }
        if (event == PTRACE_EVENT_CLONE) {
            unsigned long child = 0;
            if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0 && !find(&t, (pid_t)child))
                add(&t, (pid_t)child)->awaiting_first_stop = true;
            ptrace(PTRACE_CONT, tid, 0, 0);
            continue;
        }
        if (event) {
            ptrace(PTRACE_CONT, tid, 0, 0);
            continue;
        }
        if (sig == SIGSTOP && (e->awaiting_first_stop || e->sent_stop)) {
            e->awaiting_first_stop = false;
            e->sent_stop = false;
            ptrace(PTRACE_CONT, tid, 0, 0);
            continue;
        }
        siginfo_t si;
        if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) != 0 && errno == EINVAL) {
            /* a group-stop: without PTRACE_SEIZE we can only resume it */
            ptrace(PTRACE_CONT, tid, 0, 0);
            continue;
        }
        if (!res->dumped && rc == SK_OK && is_crash_signal(sig) &&
            (opt->first_chance || !signal_is_handled(pid, tid, sig))) {
            rc = do_dump(&t, opt, tid, sig, res, err);
            continue; /* do_dump resumed everyone */
        }
        ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig);
    }
    free(t.v);
    return rc;
}
