/* kansoku honeypot: a low-interaction listener for unsolicited traffic.
 *
 * It accepts TCP connections and UDP datagrams on many ports, answers nothing (or a fixed
 * banner on TCP ports that have one), and records every session: start and end time, source,
 * port, bytes received, the first record_bytes of the payload and the SHA-256 of the whole
 * payload. A payload that is, or contains, an executable (PE, ELF, a "#!" script) is handed
 * to the sample registry (ks_samples.h) as a capture "via honeypot". It never executes what it
 * receives, never opens a connection, and never answers UDP (a reply to a spoofed source
 * would make it a reflector).
 *
 * Safe under attack: a cap on concurrent sessions and on sessions per source address (the
 * table of sources has max_sessions entries, so it is bounded too), an idle read timeout and a
 * session lifetime, a byte cap per session, a global budget for buffered payloads; every
 * refusal, timeout and cap is counted. One thread, epoll, non-blocking sockets: an idle
 * session costs about 150 bytes of process memory (the kernel's socket buffers aside).
 * Errors (accept, read, store, registry) are logged through the diagnostics callback and
 * counted, and the loop goes on.
 *
 * Thread safety: one thread runs the loop; ks_honeypot_stop may be called from a signal
 * handler or another thread. */
#ifndef KS_HONEYPOT_H
#define KS_HONEYPOT_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct ks_samples;
struct ks_geo;

struct ks_honeypot_banner {
    uint16_t port;    /* TCP port */
    const char *text; /* sent once on accept; borrowed for the handle's life */
    size_t len;
};

/* One finished session (a TCP connection or a UDP datagram), as recorded. */
struct ks_honeypot_session {
    int64_t start, end; /* µs UTC */
    const char *proto;  /* "tcp" or "udp" */
    struct ks_addr source;
    uint16_t sport, port;   /* source port, honeypot port */
    uint64_t bytes;         /* received (up to max_bytes) */
    const char *reason;     /* "eof", "read-timeout", "session-timeout", "max-bytes",
                             * "error", "shutdown", "datagram" */
    char sha256[65];        /* of the bytes received; "" when none */
    const uint8_t *payload; /* the first payload_len bytes (<= record_bytes) */
    size_t payload_len;
    char sample[65]; /* SHA-256 of the executable handed to the registry, or "" */
};

struct ks_honeypot_config {
    const char *listen;        /* address to bind (default "0.0.0.0"; "::" is dual-stack) */
    const uint16_t *tcp_ports; /* borrowed */
    size_t ntcp;
    const uint16_t *udp_ports;
    size_t nudp;
    const struct ks_honeypot_banner *banners; /* borrowed */
    size_t nbanners;
    const char *sensor;         /* name in the records (default "honeypot") */
    uint32_t max_sessions;      /* concurrent TCP sessions (default 16384) */
    uint32_t max_per_source;    /* concurrent TCP sessions per source address (default 32) */
    uint32_t read_timeout_s;    /* close a session silent this long (default 30) */
    uint32_t session_timeout_s; /* close a session this old, however active (default 300) */
    uint64_t max_bytes;         /* bytes read per session, then it is closed (default 1 MiB) */
    uint32_t record_bytes;      /* payload kept in the record (default 4096) */
    uint64_t buffer_budget;     /* payload bytes buffered over all sessions (default 64 MiB) */
    uint32_t rotate_s;          /* store: a new input every this many seconds (default 3600) */
    const char *run_as;         /* when root, the user to become once the sockets and the
                                 * store input are open (NULL: "nobody") */
    bool keep_privileges;       /* never switch user (tests; a caller that does it itself) */
    struct ks_store *store;     /* where sessions go (NULL: nowhere); borrowed */
    struct ks_samples *samples; /* registry for executables (NULL: none); borrowed */
    struct ks_geo *geo;         /* country/AS of sample sources (NULL: "--"); borrowed */
    void (*on_session)(void *user, const struct ks_honeypot_session *s); /* may be NULL */
    void *user;
};
KS_API void ks_honeypot_config_default(struct ks_honeypot_config *cfg);

struct ks_honeypot_stats {
    uint64_t tcp_sessions;         /* TCP sessions recorded */
    uint64_t udp_datagrams;        /* UDP datagrams recorded */
    uint64_t bytes;                /* payload bytes received */
    uint64_t active;               /* TCP sessions open now */
    uint64_t peak_active;          /* most open at once */
    uint64_t refused_max_sessions; /* connections closed at once: max_sessions reached */
    uint64_t refused_per_source;   /* connections closed at once: max_per_source reached */
    uint64_t read_timeouts;        /* sessions closed by read_timeout_s */
    uint64_t session_timeouts;     /* sessions closed by session_timeout_s */
    uint64_t max_bytes_closed;     /* sessions closed by max_bytes */
    uint64_t unbuffered;           /* sessions whose payload outgrew the buffer budget */
    uint64_t samples;              /* executables handed to the registry */
    uint64_t sample_errors;        /* registry failures (analysis, keeping, recording) */
    uint64_t accept_errors;        /* accept(2) failures (EMFILE included) */
    uint64_t io_errors;            /* recv/send failures other than resets */
    uint64_t store_errors;         /* rows or inputs the store refused */
    uint64_t inputs;               /* store inputs completed */
};

struct ks_honeypot; /* opaque */

/* Creates the sockets and binds them (needs privileges for ports < 1024). Errors: KS_EINVAL
 * (no ports, bad address), KS_EIO (bind/listen failed: errno kept, the port reported through
 * diag), KS_ENOMEM. diag may be NULL; it is kept. */
KS_API int ks_honeypot_new(const struct ks_honeypot_config *cfg, const struct ks_diag *diag,
                           struct ks_honeypot **hp);
KS_API void ks_honeypot_free(struct ks_honeypot *h); /* NULL is fine; closes every socket */

/* The port listener i listens on (TCP listeners first, in the order of the config; a port 0
 * in the config was given an ephemeral one by the kernel), 0 if i is out of range. */
KS_API uint16_t ks_honeypot_port(const struct ks_honeypot *h, size_t i);

/* Begins the store input, then, when running as root, becomes cfg->run_as (its group, no
 * supplementary groups, no_new_privs; the store's files are already open), then runs the
 * event loop until ks_honeypot_stop or, when duration_s > 0, that many seconds; then closes
 * every session (reason "shutdown"), records them and completes the store input.
 * Returns KS_OK; KS_ENOTFOUND (no such user) or KS_EIO (a set*id call failed, errno kept)
 * before the loop; KS_EIO if epoll itself failed. */
KS_API int ks_honeypot_run(struct ks_honeypot *h, uint32_t duration_s);
/* Asks the loop to stop. Async-signal-safe. */
KS_API void ks_honeypot_stop(struct ks_honeypot *h);

KS_API void ks_honeypot_stats(const struct ks_honeypot *h, struct ks_honeypot_stats *st);

/* Parses a port list "22,23,80-89" into ports[0..max); KS_EINVAL for a bad list, KS_ELIMIT
 * if it holds more than max ports. */
KS_API int ks_honeypot_parse_ports(const char *spec, uint16_t *ports, size_t max, size_t *n);

#endif
