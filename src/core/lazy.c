/* Opening the libraries of ks_lazy (see lazy.h). */
#include "core/lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lazy_mu = PTHREAD_MUTEX_INITIALIZER;

static int open_all(struct ks_lazy *l)
{
    /* RTLD_LOCAL: its symbols stay out of the global scope, where they could bind others */
    void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(l->why, sizeof l->why, "%s", e ? e : l->soname);
        return 2;
    }
    for (size_t i = 0; i < l->n; i++) {
        void *p = dlsym(h, l->names[i]);
        if (!p) {
            snprintf(l->why, sizeof l->why, "%s: no symbol %s", l->soname, l->names[i]);
            return 2; /* the handle stays open: harmless, and the library may be in use */
        }
        /* POSIX: a function's address from dlsym converts to a function pointer */
        memcpy(&l->fns[i], &p, sizeof p);
    }
    if (l->loaded)
        l->loaded();
    return 1; /* never closed: its functions are called until the program ends */
}

const char *ks_lazy_load(struct ks_lazy *l)
{
    int s = atomic_load_explicit(&l->state, memory_order_acquire);
    if (s == 0) {
        pthread_mutex_lock(&lazy_mu);
        s = atomic_load_explicit(&l->state, memory_order_relaxed);
        if (s == 0) {
            s = open_all(l);
            atomic_store_explicit(&l->state, s, memory_order_release);
        }
        pthread_mutex_unlock(&lazy_mu);
    }
    return s == 1 ? NULL : l->why;
}
