/* kansoku core: error codes, input locations, diagnostics, logging.
 *
 * Every library function returns KS_OK (0) or a negative enum ks_err. Only the CLI prints and
 * chooses exit codes; the library reports bad input through a diagnostics callback that the
 * caller installs, after counting it. */
#ifndef KS_CORE_H
#define KS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(KS_BUILDING_LIB)
#define KS_API __attribute__((visibility("default")))
#else
#define KS_API
#endif

#define KS_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum ks_err {
    KS_OK = 0,
    KS_ENOMEM = -1,   /* allocation failed */
    KS_EIO = -2,      /* read/write failed (see errno) */
    KS_ETRUNC = -3,   /* input ends before a structure it announces */
    KS_EFORMAT = -4,  /* input is not of the expected format */
    KS_ELIMIT = -5,   /* a configured capacity or limit was reached */
    KS_EINVAL = -6,   /* invalid argument from the caller */
    KS_ENOTFOUND = -7,/* no such item */
    KS_ESTORE = -8,   /* the store refused (SQL error, schema mismatch) */
    KS_ECORRUPT = -9, /* a file of ours (database, data) is damaged */
    KS_ENOSPC = -10,  /* no space left on the device */
    KS_EEXIST = -11,  /* already present (e.g. an input ingested before) */
    KS_EUNSUPP = -12, /* valid but not supported */
    KS_ETIMEOUT = -13,
    KS_EINTR = -14,   /* interrupted by a signal */
};

/* A short, stable name for an error code ("truncated", "no memory", ...). */
KS_API const char *ks_strerror(int err);

/* Where in an input something was found. Unknown fields are 0 (line and packet numbers start
 * at 1, so 0 means "not applicable"). */
struct ks_loc {
    const char *source; /* file name, "-" for stdin, interface name; may be NULL */
    uint64_t offset;    /* byte offset from the start of the source */
    uint64_t packet;    /* packet number, from 1 */
    uint64_t record;    /* record / message number, from 1 */
    uint32_t line;      /* line number, from 1 */
};

/* Formats "SOURCE: packet N (offset O)" / "SOURCE: line L" / "SOURCE: offset O" into buf. */
KS_API size_t ks_loc_format(const struct ks_loc *loc, char *buf, size_t size);

/* Diagnostics: modules count every bad input and pass the first ones here. */
struct ks_diag {
    void (*fn)(void *user, const char *module, const struct ks_loc *loc, int err,
               const char *msg);
    void *user;
    uint32_t limit; /* report at most this many per module handle (0 = unlimited) */
};

/* Reports through d (which may be NULL: then nothing is reported). *reported counts the calls
 * already made by this handle so that the limit can be applied. */
KS_API void ks_diag_report(const struct ks_diag *d, uint32_t *reported, const char *module,
                           const struct ks_loc *loc, int err, const char *fmt, ...)
    KS_PRINTF(6, 7);

/* Logging, process-wide. Levels follow syslog's order. */
enum ks_log_level { KS_LOG_ERROR = 0, KS_LOG_WARN = 1, KS_LOG_INFO = 2, KS_LOG_DEBUG = 3 };
KS_API void ks_log_set_level(enum ks_log_level level);
KS_API enum ks_log_level ks_log_get_level(void);
/* Replaces the default writer (stderr, "kansoku: MODULE: msg"). fn NULL restores it. */
KS_API void ks_log_set_writer(void (*fn)(void *user, enum ks_log_level, const char *module,
                                         const char *msg),
                              void *user);
KS_API void ks_log(enum ks_log_level level, const char *module, const char *fmt, ...)
    KS_PRINTF(3, 4);

KS_API const char *ks_version(void);

/* Hashing for tables and sketches: 64-bit, seeded, every output bit depends on every input bit.
 * Not cryptographic: a secret (random) seed makes collisions hard to aim, nothing more. The
 * output for a given (bytes, seed) is stable across versions and platforms (stored sketches
 * depend on it). Thread-safe. */
KS_API uint64_t ks_hash_bytes(const void *data, size_t len, uint64_t seed);
/* Mixes one 64-bit value (a bijection: distinct inputs give distinct outputs). */
KS_API uint64_t ks_hash_u64(uint64_t x, uint64_t seed);

#endif
