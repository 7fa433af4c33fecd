/* Libraries that few commands use, opened at their first use (dlopen) instead of when the
 * program starts (internal).
 *
 * Every library the program is linked with is mapped and bound before main: libcurl alone
 * brings about twenty more (TLS, Kerberos, LDAP, SSH, RTMP, ...) and took 3 ms of the start of
 * every command, a tenth of `kansoku darknet` on a 5-million-packet capture. The modules that
 * use such a library call it through a table of functions filled at the first call (see
 * lazy_curl.h); when the library cannot be opened the table holds stand-ins that fail as the
 * library would on an allocation failure, and ks_lazy_error() says why. */
#ifndef KS_CORE_LAZY_H
#define KS_CORE_LAZY_H

#include <stdatomic.h>
#include <stddef.h>

struct ks_lazy {
    const char *soname;       /* as the linker recorded it at build time (ks_config.h) */
    const char *const *names; /* the symbols, in the order of fns */
    void (**fns)(void);       /* filled (all, or some when a name is missing) */
    size_t n;
    void (*loaded)(void); /* called once all are resolved, before any caller sees success */
    _Atomic int state;    /* 0 not tried, 1 loaded, 2 failed */
    char why[256];
};

/* Opens the library and resolves every name, once (thread-safe). NULL on success, else the
 * reason (the same text on every later call). */
const char *ks_lazy_load(struct ks_lazy *l);

/* For the tables of a library's functions, typed from the library's own prototypes: given a
 * list macro LIST(X) of function names, `struct t { LIST(KS_LAZY_MEMBER) };` has a member of
 * each name and type, `{LIST(KS_LAZY_NAME)}` is the names' array, and KS_LAZY_TAKE(LIST, table,
 * fns) copies the resolved addresses back to their types (in the list's order). */
#define KS_LAZY_MEMBER(fn) __typeof__(&fn) fn;
#define KS_LAZY_NAME(fn) #fn,
#define KS_LAZY_COPY(fn) ks_lazy_t_->fn = (__typeof__(ks_lazy_t_->fn))ks_lazy_f_[ks_lazy_i_++];
#define KS_LAZY_TAKE(LIST, table, fns)                                                             \
    do {                                                                                           \
        __typeof__(table) ks_lazy_t_ = (table);                                                    \
        void (**ks_lazy_f_)(void) = (fns);                                                         \
        size_t ks_lazy_i_ = 0;                                                                     \
        LIST(KS_LAZY_COPY)                                                                         \
    } while (0)

/* Defines, for the library `soname` and the functions of LIST (members of struct api), the
 * accessor `const struct api *get(void)` (the library's functions, or `stand_ins` while it
 * cannot be opened) and `const char *err(void)` (NULL once open, else why not). */
#define KS_LAZY_DEFINE(api, LIST, soname, stand_ins, get, err)                                     \
    static const char *const get##_names[] = {LIST(KS_LAZY_NAME)};                                 \
    static void (*get##_fns[sizeof get##_names / sizeof get##_names[0]])(void);                    \
    _Static_assert(sizeof get##_fns == sizeof(struct api), "every member of the table in LIST");   \
    static struct api get##_real;                                                                  \
    static void get##_fill(void)                                                                   \
    {                                                                                              \
        KS_LAZY_TAKE(LIST, &get##_real, get##_fns);                                                \
    }                                                                                              \
    static struct ks_lazy get##_lib = {                                                            \
        soname,     get##_names, get##_fns, sizeof get##_names / sizeof get##_names[0],            \
        get##_fill, 0,           ""};                                                              \
    const struct api *get(void)                                                                    \
    {                                                                                              \
        return ks_lazy_load(&get##_lib) ? &(stand_ins) : &get##_real;                              \
    }                                                                                              \
    const char *err(void)                                                                          \
    {                                                                                              \
        return ks_lazy_load(&get##_lib);                                                           \
    }

#endif
