/* Fuzz target: HTTP/1.x requests from a TCP client stream (ks_http_capture). Byte 0 sets the
 * segment size (1..128) and whether neighbouring segments are swapped (bit 7); the rest is the
 * client's byte stream, sent after a handshake and followed by a FIN. Every request handed out
 * is checked for sane bounds and then decomposed into its parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ks_http_params *params;

static int check_param(void *user, const struct ks_http_param *p)
{
    (void)user;
    if (p->value.len > 4096 || p->name.len > 256)
        abort();
    return 0;
}

static void on_req(void *user, const struct ks_http_request *req, const struct ks_http_conn *conn)
{
    (void)user;
    (void)conn;
    if (req->method.len == 0 || req->method.len > 24 || req->body.len > 4096 ||
        req->target.len > 4096 || req->path.len > req->target.len)
        abort();
    ks_http_params_each(params, req, check_param, NULL);
}

static struct ks_pkt seg(uint8_t flags, int from_client, uint32_t seq, const uint8_t *p, size_t n)
{
    struct ks_pkt k;
    memset(&k, 0, sizeof k);
    ks_addr_from_v4(from_client ? &k.src : &k.dst, 0x0a000001u);
    ks_addr_from_v4(from_client ? &k.dst : &k.src, 0x0a000002u);
    k.ipver = 4;
    k.proto = 6;
    k.flags = KS_PKT_L4;
    k.sport = from_client ? 40000 : 80;
    k.dport = from_client ? 80 : 40000;
    k.tcp_flags = flags;
    k.tcp_seq = seq;
    k.payload = p;
    k.payload_len = (uint32_t)n;
    k.ts_us = 1;
    k.number = 1;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] & 0x7f) + 1;
    int swap = data[0] & 0x80;
    data++;
    size--;
    struct ks_http_capture_config cfg;
    ks_http_capture_config_default(&cfg);
    cfg.memory = 2u << 20;
    cfg.max_header = 4096;
    cfg.max_body = 4096;
    cfg.seed = 1;
    cfg.on_request = on_req;
    struct ks_http_capture *c = NULL;
    if (ks_http_capture_new(&cfg, &c) || (!params && ks_http_params_new(4096, 64, &params)))
        abort();
    const uint32_t isn = 0xfffff000u;
    struct ks_pkt k = seg(KS_TCP_SYN, 1, isn, NULL, 0);
    ks_http_capture_feed(c, &k);
    k = seg(KS_TCP_SYN | KS_TCP_ACK, 0, 7, NULL, 0);
    ks_http_capture_feed(c, &k);
    for (size_t off = 0; off < size; off += 2 * step) {
        size_t a = size - off < step ? size - off : step;
        size_t b = off + a < size ? (size - off - a < step ? size - off - a : step) : 0;
        struct ks_pkt first = seg(KS_TCP_ACK, 1, isn + 1 + (uint32_t)off, data + off, a);
        struct ks_pkt second = seg(KS_TCP_ACK, 1, isn + 1 + (uint32_t)(off + a), data + off + a, b);
        ks_http_capture_feed(c, swap && b ? &second : &first);
        if (b)
            ks_http_capture_feed(c, swap ? &first : &second);
    }
    k = seg(KS_TCP_ACK | KS_TCP_FIN, 1, isn + 1 + (uint32_t)size, NULL, 0);
    ks_http_capture_feed(c, &k);
    ks_http_capture_flush(c);
    struct ks_http_capture_stats st;
    ks_http_capture_stats(c, &st);
    if (st.mem_used != 0 || st.mem_peak > st.mem_budget)
        abort();
    ks_http_capture_free(c);
    return 0;
}
