/* Fuzz target: TCP reassembly (src/http/tcp.c). The input is a sequence of segments, each a
 * 5-byte header [flags, conn (bits 0-2) and direction (bit 7), seq offset (16 bits LE), length]
 * followed by that many payload bytes. Up to 8 connections share a small budget (so that the
 * table and the buffers fill up and evict). Checks: memory stays within the budget, nothing is
 * delivered twice past what was sent, and everything is released at the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t delivered, sent;

static void on_data(void *user, struct tcp_stream *s, int dir, const uint8_t *p, size_t n)
{
    (void)user;
    (void)s;
    (void)dir;
    (void)p;
    delivered += n;
}

static void on_gap(void *user, struct tcp_stream *s, int dir, uint32_t lost)
{
    (void)user;
    (void)s;
    (void)dir;
    (void)lost;
}

static void on_end(void *user, struct tcp_stream *s, enum tcp_end why)
{
    (void)user;
    (void)s;
    (void)why;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tcp_config cfg = {.memory = 1u << 20,
                             .max_streams = 4,
                             .max_ooo = 8192,
                             .max_window = 1u << 20,
                             .dirs = 3,
                             .seed = 1,
                             .ops = {on_data, on_gap, on_end}};
    struct tcp_reasm *r = NULL;
    if (tcp_new(&cfg, &r))
        abort();
    delivered = sent = 0;
    size_t i = 0;
    uint64_t number = 0;
    while (i + 5 <= size) {
        uint8_t flags = data[i], who = data[i + 1];
        uint32_t off = (uint32_t)data[i + 2] | (uint32_t)data[i + 3] << 8;
        size_t len = data[i + 4];
        i += 5;
        if (len > size - i)
            len = size - i;
        int conn = who & 7, from_client = !(who & 0x80);
        struct ks_pkt k;
        memset(&k, 0, sizeof k);
        ks_addr_from_v4(from_client ? &k.src : &k.dst, 0x0a000001u + (uint32_t)conn);
        ks_addr_from_v4(from_client ? &k.dst : &k.src, 0x0a0000ffu);
        k.ipver = 4;
        k.proto = 6;
        k.flags = KS_PKT_L4;
        k.sport = from_client ? 40000 : 80;
        k.dport = from_client ? 80 : 40000;
        k.tcp_flags = flags;
        /* ISNs near the wrap so that offsets cross it */
        k.tcp_seq = (from_client ? 0xffff8000u : 0x7fff8000u) + off;
        k.tcp_ack = from_client ? 0x7fff8001u : 0xffff8001u;
        k.payload = data + i;
        k.payload_len = (uint32_t)len;
        k.ts_us = (int64_t)++number * 1000000;
        k.number = number;
        sent += len;
        tcp_feed(r, &k);
        i += len;
        struct ks_http_capture_stats st;
        memset(&st, 0, sizeof st);
        tcp_stats(r, &st);
        if (st.mem_used > st.mem_budget || st.mem_budget > cfg.memory)
            abort();
    }
    tcp_flush(r);
    struct ks_http_capture_stats st;
    memset(&st, 0, sizeof st);
    tcp_stats(r, &st);
    if (st.mem_used != 0 || st.active != 0 || delivered > sent) {
        fprintf(stderr, "after flush: mem_used %llu active %llu delivered %llu sent %llu\n",
                (unsigned long long)st.mem_used, (unsigned long long)st.active,
                (unsigned long long)delivered, (unsigned long long)sent);
        abort();
    }
    tcp_free(r);
    return 0;
}
