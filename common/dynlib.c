/* dynlib.c — shared libraries loaded on first use (see common.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static _Noreturn void cannot(const sk_dynlib *lib, const char *what, const char *why)
{
    /* Not through sk_log: a library user may have installed no sink, and
     * this is the last thing the process says. */
    fprintf(stderr, "%s: cannot load %s%s, needed for %s: %s\n", program_invocation_short_name,
            lib->soname, what, lib->purpose, why ? why : "unknown error");
    exit(1);
}

void *sk_dynlib_sym(sk_dynlib *lib, const char *name)
{
    pthread_mutex_lock(&lib->lock);
    if (!lib->handle) {
        lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (!lib->handle)
            cannot(lib, "", dlerror());
    }
    dlerror();
    void *fn = dlsym(lib->handle, name);
    const char *why = dlerror();
    pthread_mutex_unlock(&lib->lock);
    if (!fn) {
        char what[160];
        snprintf(what, sizeof what, " (function %s)", name);
        cannot(lib, what, why);
    }
    return fn;
}

void *sk_dynlib_fn(sk_dynlib *lib, void **slot, const char *name)
{
    void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!fn) {
        fn = sk_dynlib_sym(lib, name);
        __atomic_store_n(slot, fn, __ATOMIC_RELEASE);
    }
    return fn;
}
