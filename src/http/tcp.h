/* TCP reassembly for the http module (private to src/http).
 *
 * A table of connections keyed by their two endpoints, each with two directions (0: client to
 * server, 1: server to client) that hand their bytes to a consumer in sequence order. All
 * memory comes from one budget allocated by tcp_new: the connection table (each entry carries
 * `user_size` bytes of the consumer's state, zeroed when the connection is made) and a pool of
 * fixed-size buffers that hold out-of-order segments and, through tcp_buf_get, the consumer's
 * own partial data. Nothing is allocated per packet.
 *
 * Rules (RFC 9293): sequence numbers compare modulo 2^32 (3.4); a SYN sets a direction's
 * initial sequence number, its payload (TCP Fast Open) follows it; a connection seen without
 * its handshake starts at the first sequence number seen (or the other side's ACK); bytes
 * before the next expected one are retransmissions; a byte received twice keeps its first
 * value and a different second value is counted as a conflict; a FIN ends a direction once
 * every byte before it arrived; a RST ends the connection. Out-of-order bytes are held up to
 * max_ooo per direction; beyond, or at the end of a connection, the hole is given up (a gap:
 * the consumer is told how many bytes are missing) and the bytes after it are delivered.
 *
 * Eviction: a new connection in a full table evicts the least recently active one; a buffer
 * request with an empty pool evicts the least recently active connections that hold buffers
 * (never the one being fed). Connections idle longer than idle_s (packet time) are closed.
 * Not thread-safe. */
#ifndef KS_HTTP_TCP_H
#define KS_HTTP_TCP_H

#include "kansoku/ks_capture.h"
#include "kansoku/ks_http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_NIL UINT32_MAX
#define TCP_BUF 2048u /* bytes per pool buffer */

struct tcp_reasm;
struct tcp_stream;

enum tcp_end {
    TCP_END_CLOSED,  /* FIN both ways or RST */
    TCP_END_EXPIRED, /* idle */
    TCP_END_EVICTED, /* table or buffers full */
    TCP_END_FLUSH,   /* end of input */
};

struct tcp_ops {
    /* In-order bytes of direction dir. */
    void (*data)(void *user, struct tcp_stream *s, int dir, const uint8_t *p, size_t n);
    /* lost bytes of direction dir were given up: what follows is not contiguous. */
    void (*gap)(void *user, struct tcp_stream *s, int dir, uint32_t lost);
    /* The connection ends: release the buffers held in the user state. */
    void (*end)(void *user, struct tcp_stream *s, enum tcp_end why);
};

struct tcp_config {
    uint64_t memory;      /* the whole budget, including `reserve` */
    uint64_t reserve;     /* bytes of the budget the consumer keeps for itself */
    uint32_t max_streams; /* 0: memory / 2048 */
    uint32_t idle_s;
    uint32_t max_ooo;
    uint32_t max_window; /* segments further ahead than this are dropped (default 64 MiB) */
    uint32_t user_size;
    uint8_t dirs; /* directions whose bytes are wanted: 1 client, 2 server, 3 both */
    uint64_t seed;
    const struct ks_diag *diag;
    struct tcp_ops ops;
    void *user;
};

/* A buffer of the pool: `len` bytes used, `next` links a chain, `seq` is free for the owner. */
struct tcp_buf {
    uint32_t next, seq, len;
};

int tcp_new(const struct tcp_config *cfg, struct tcp_reasm **rp);
void tcp_free(struct tcp_reasm *r);
int tcp_feed(struct tcp_reasm *r, const struct ks_pkt *p);
void tcp_tick(struct tcp_reasm *r, int64_t now_us);
void tcp_flush(struct tcp_reasm *r);
/* Fills the reassembly fields of st (packets .. mem_peak). */
void tcp_stats(const struct tcp_reasm *r, struct ks_http_capture_stats *st);

void *tcp_user(struct tcp_stream *s);
const struct ks_http_conn *tcp_conn(const struct tcp_stream *s);
uint32_t tcp_conflicts(const struct tcp_stream *s, int dir);
/* No more bytes of dir are wanted: its buffers are released, its segments ignored. */
void tcp_ignore(struct tcp_reasm *r, struct tcp_stream *s, int dir);
/* Time and location of the packet being fed (outside tcp_feed: s's last packet time). */
void tcp_where(const struct tcp_reasm *r, const struct tcp_stream *s, int64_t *ts_us,
               struct ks_loc *loc);
/* Names the source in diagnostics (borrowed). */
void tcp_source(struct tcp_reasm *r, const char *name);

/* A buffer charged to s (evicting other connections if the pool is empty), or TCP_NIL. */
uint32_t tcp_buf_get(struct tcp_reasm *r, struct tcp_stream *s);
void tcp_buf_put(struct tcp_reasm *r, struct tcp_stream *s, uint32_t b);
struct tcp_buf *tcp_buf_meta(struct tcp_reasm *r, uint32_t b);
uint8_t *tcp_buf_data(struct tcp_reasm *r, uint32_t b);

#endif
