/* Writes a scan-heavy darknet capture (classic pcap, Ethernet) for bench/darknet/run.sh:
 * packets to 10.10.0.0/16 over two days, from a skewed population of sources (a few heavy
 * scanners, many one-off ones), mostly TCP SYNs to common ports and vertical scans, some UDP,
 * ICMP echo, and about 5 % backscatter (SYN-ACK, RST). Deterministic for a given count, so
 * that a shorter run is a prefix of a longer one.
 *
 *     gen_darknet OUT.pcap PACKETS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x853c49e6748fea9bull;

static uint32_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 32);
}

static void put16(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static void le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_darknet OUT.pcap PACKETS\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 10);
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    uint8_t hdr[24];
    le32(hdr, 0xa1b2c3d4);
    hdr[4] = 2, hdr[5] = 0, hdr[6] = 4, hdr[7] = 0;
    memset(hdr + 8, 0, 8);
    le32(hdr + 16, 65535);
    le32(hdr + 20, 1);
    fwrite(hdr, 1, sizeof hdr, f);
    static const uint16_t common[] = {445, 23, 22,   80,   1433, 3389, 135, 139, 8080, 443,
                                      25,  53, 5900, 2582, 1025, 3306, 21,  110, 6346, 4899};
    uint32_t t0 = 1212278400; /* 2008-06-01T00:00:00Z */
    uint64_t span_us = 2ull * 86400 * 1000000;
    uint8_t rec[16 + 60];
    for (uint64_t i = 0; i < n; i++) {
        /* fixed 5M-packet time base, so that shorter runs are prefixes */
        uint64_t t = i * (span_us / 5000000);
        memset(rec, 0, sizeof rec);
        le32(rec, t0 + (uint32_t)(t / 1000000));
        le32(rec + 4, (uint32_t)(t % 1000000));
        le32(rec + 8, 60);
        le32(rec + 12, 60);
        uint8_t *eth = rec + 16;
        eth[12] = 0x08;
        uint8_t *ip = eth + 14;
        ip[0] = 0x45;
        ip[8] = (uint8_t)(32 + rnd() % 96);
        uint32_t r = rnd();
        uint32_t src;
        if (r % 100 < 40)
            src = 0x3a000000u + rnd() % 64; /* 64 heavy scanners */
        else if (r % 100 < 75)
            src = 0x70000000u + rnd() % 20000; /* a botnet of 20,000 */
        else
            src = 0x01000000u + rnd() % 0xd0000000u; /* one-off sources */
        uint32_t dst = 0x0a0a0000u | (rnd() & 0xffff);
        put32(ip + 12, src);
        put32(ip + 16, dst);
        uint32_t kind = rnd() % 100;
        uint8_t *l4 = ip + 20;
        if (kind < 80) { /* TCP SYN: common ports, or a vertical scan */
            ip[9] = 6;
            put16(ip + 2, 40);
            put16(l4, 1024 + rnd() % 64000);
            put16(l4 + 2, kind < 60 ? common[rnd() % 20] : (uint16_t)(rnd() % 65536));
            l4[12] = 0x50;
            l4[13] = 0x02;
        } else if (kind < 85) { /* backscatter */
            ip[9] = 6;
            put16(ip + 2, 40);
            put16(l4, kind < 83 ? 80 : 443);
            put16(l4 + 2, 1024 + rnd() % 64000);
            l4[12] = 0x50;
            l4[13] = kind % 2 ? 0x12 : 0x04;
        } else if (kind < 97) { /* UDP */
            ip[9] = 17;
            put16(ip + 2, 28);
            put16(l4, 1024 + rnd() % 64000);
            put16(l4 + 2, kind < 92 ? 1434 : (uint16_t)(rnd() % 65536));
            put16(l4 + 4, 8);
        } else { /* ICMP echo request */
            ip[9] = 1;
            put16(ip + 2, 28);
            l4[0] = 8;
        }
        fwrite(rec, 1, sizeof rec, f);
    }
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    return 0;
}
