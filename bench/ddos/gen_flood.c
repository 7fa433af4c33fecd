/* Writes a classic pcap of a DDoS mix for the benchmarks: 64-byte TCP SYN frames from spoofed
 * sources and large UDP packets from amplifier ports, aimed at a few victims inside background
 * traffic to many targets. Deterministic for given arguments.
 *
 * usage: gen_flood OUT PACKETS [SOURCES TARGETS VICTIMS VICTIM_PCT UDP_PCT UDP_BYTES PPS]
 *   SOURCES   distinct source addresses (each used in turn; default 10000000)
 *   TARGETS   distinct background destinations (default 100000)
 *   VICTIMS   attacked destinations (default 4), receiving VICTIM_PCT % of the packets (80)
 *   UDP_PCT   share of UDP packets (default 10), each UDP_BYTES long on the wire (1024)
 *   PPS       packets per second of capture time (default 500000) */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bijection of 32-bit integers (so distinct i give distinct addresses). */
static uint32_t perm32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static uint64_t rng = 0x853c49e6748fea9bULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gen_flood OUT PACKETS [SOURCES TARGETS VICTIMS VICTIM_PCT "
                        "UDP_PCT UDP_BYTES PPS]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 10);
    uint32_t sources = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 10000000;
    uint32_t targets = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 100000;
    uint32_t victims = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 10) : 4;
    uint32_t victim_pct = argc > 6 ? (uint32_t)strtoul(argv[6], NULL, 10) : 80;
    uint32_t udp_pct = argc > 7 ? (uint32_t)strtoul(argv[7], NULL, 10) : 10;
    uint32_t udp_bytes = argc > 8 ? (uint32_t)strtoul(argv[8], NULL, 10) : 1024;
    uint64_t pps = argc > 9 ? strtoull(argv[9], NULL, 10) : 500000;
    if (!sources || !targets || targets > (1u << 24) || !pps || udp_bytes < 64 ||
        udp_bytes > 1514) {
        fprintf(stderr, "gen_flood: bad arguments\n");
        return 2;
    }
    FILE *f = strcmp(argv[1], "-") ? fopen(argv[1], "wb") : stdout;
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    uint8_t gh[24] = {0};
    le32(gh, 0xa1b2c3d4);
    gh[4] = 2;
    gh[6] = 4;
    le32(gh + 16, 65535);
    le32(gh + 20, 1); /* Ethernet */
    fwrite(gh, 1, sizeof gh, f);
    static const uint16_t amp[] = {53, 123, 1900, 11211, 389};
    uint8_t pkt[16 + 1514];
    memset(pkt, 0, sizeof pkt);
    uint64_t t0 = UINT64_C(1700000000) * 1000000;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = t0 + i * 1000000 / pps;
        uint32_t src = perm32((uint32_t)(i % sources));
        uint32_t dst;
        if (victims && rnd() % 100 < victim_pct)
            dst = 0xcb007100u + rnd() % victims; /* 203.0.113.0/24 */
        else
            /* an odd multiplier is a bijection mod 2^24: TARGETS distinct hosts of 10/8 */
            dst = 0x0a000000u + ((uint32_t)(i % targets) * 2654435761u & 0x00ffffffu);
        bool udp = rnd() % 100 < udp_pct;
        uint32_t len = udp ? udp_bytes : 64;
        uint8_t *h = pkt, *e = pkt + 16, *ip = e + 14, *l4 = ip + 20;
        le32(h, (uint32_t)(t / 1000000));
        le32(h + 4, (uint32_t)(t % 1000000));
        le32(h + 8, len);
        le32(h + 12, len);
        put16(e + 12, 0x0800);
        ip[0] = 0x45;
        put16(ip + 2, len - 14 - 4);
        put16(ip + 4, (unsigned)i);
        ip[8] = 64;
        ip[9] = udp ? 17 : 6;
        put32(ip + 12, src);
        put32(ip + 16, dst);
        if (udp) {
            put16(l4, amp[rnd() % 5]);
            put16(l4 + 2, 1024 + rnd() % 60000);
            put16(l4 + 4, len - 14 - 4 - 20);
        } else {
            put16(l4, 1024 + rnd() % 60000);
            put16(l4 + 2, 80);
            put32(l4 + 4, rnd());
            put32(l4 + 8, 0);
            l4[12] = 0x50;
            l4[13] = 0x02;
            put16(l4 + 14, 1024);
        }
        fwrite(pkt, 1, 16 + len, f);
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
