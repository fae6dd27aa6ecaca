/* log.c — the libraries' only voice.  Silent until a tool installs a sink. */
#include "common.h"

#include <pthread.h>

static sk_log_sink g_sink;
static void *g_ctx;
static sk_log_level g_max = SK_LOG_WARN;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

void sk_log_set_sink(sk_log_sink sink, void *ctx, sk_log_level max_level)
{
    pthread_mutex_lock(&g_lock);
    g_sink = sink;
    g_ctx = ctx;
    g_max = max_level;
    pthread_mutex_unlock(&g_lock);
}

void sk_log(sk_log_level level, const char *fmt, ...)
{
    if (!g_sink || level > g_max)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One lock so lines from worker threads never interleave. */
    pthread_mutex_lock(&g_lock);
    if (g_sink)
        g_sink(level, msg, g_ctx);
    pthread_mutex_unlock(&g_lock);
}

void sk_log_stderr_sink(sk_log_level level, const char *msg, void *ctx)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    const char *tool = ctx ? (const char *)ctx : "symkit";
    if (level == SK_LOG_INFO)
        fprintf(stderr, "%s: %s\n", tool, msg);
    else
        fprintf(stderr, "%s: %s: %s\n", tool, names[level], msg);
}
