/* gen_flow: writes a pcap of NetFlow v5, v9 or IPFIX export datagrams (Ethernet/IPv4/UDP from
 * 192.0.2.1 to 127.0.0.1:2055), or sends them to a UDP collector, for the flow benchmark and
 * the CLI tests. Deterministic for a given seed. Prints "records N packets N bytes N" (the
 * totals of the flows as exported) on stdout.
 *
 *   gen_flow -v 5|9|10 -n RECORDS [-o FILE.pcap | -s HOST:PORT [-r DGRAMS_PER_S]]
 *            [--flood ADDR] [--seed N] [--sampling N] [--t0 UNIX_SECONDS] [--bad 1]
 *
 * --flood ADDR: every flow goes to ADDR from UDP port 53 (a DNS amplification), 200 packets of
 * 1400 bytes each, so that a few thousand records over a minute make an attack. --sampling N
 * announces 1:N (v5 header; v9/IPFIX options template). --bad: bad export on purpose (the first
 * templates come one datagram late, every 10th datagram is cut to 40 bytes, and every 10th
 * after it is not sent: a sequence gap). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct buf {
    uint8_t b[2048];
    size_t n;
};
static void p8(struct buf *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}
static void p16(struct buf *b, unsigned v)
{
    p8(b, (v >> 8) & 0xff);
    p8(b, v & 0xff);
}
static void p32(struct buf *b, uint32_t v)
{
    p16(b, v >> 16);
    p16(b, v & 0xffff);
}
static void at16(struct buf *b, size_t pos, unsigned v)
{
    b->b[pos] = (uint8_t)(v >> 8);
    b->b[pos + 1] = (uint8_t)v;
}

static FILE *out;
static int sock = -1;
static struct sockaddr_in dest;
static uint64_t rate, sent;
static struct timespec t_start;

static void emit(const struct buf *d, int64_t ts_us)
{
    if (sock >= 0) {
        if (rate) { /* pace: datagram k leaves at k / rate seconds */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double el = (double)(now.tv_sec - t_start.tv_sec) +
                        (double)(now.tv_nsec - t_start.tv_nsec) / 1e9;
            double due = (double)sent / (double)rate;
            if (due > el)
                usleep((useconds_t)((due - el) * 1e6));
        }
        while (sendto(sock, d->b, d->n, 0, (struct sockaddr *)&dest, sizeof dest) < 0)
            usleep(100);
        sent++;
        return;
    }
    uint8_t h[16 + 42];
    uint32_t caplen = (uint32_t)d->n + 42;
    uint32_t sec = (uint32_t)(ts_us / 1000000), usec = (uint32_t)(ts_us % 1000000);
    memcpy(h, &sec, 4);
    memcpy(h + 4, &usec, 4);
    memcpy(h + 8, &caplen, 4);
    memcpy(h + 12, &caplen, 4);
    uint8_t *e = h + 16;
    memset(e, 0, 12);
    e[5] = 1;
    e[11] = 2;
    e[12] = 0x08;
    e[13] = 0x00;
    uint8_t *ip = e + 14;
    unsigned tot = (unsigned)d->n + 28;
    uint8_t iph[20] = {0x45,
                       0,
                       (uint8_t)(tot >> 8),
                       (uint8_t)tot,
                       0,
                       0,
                       0x40,
                       0,
                       64,
                       17,
                       0,
                       0,
                       192,
                       0,
                       2,
                       1,
                       127,
                       0,
                       0,
                       1};
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)iph[i] << 8 | iph[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    iph[10] = (uint8_t)(~sum >> 8);
    iph[11] = (uint8_t)~sum;
    memcpy(ip, iph, 20);
    uint8_t *u = ip + 20;
    unsigned ul = (unsigned)d->n + 8;
    uint8_t udph[8] = {0x9c, 0x40, 0x08, 0x07, (uint8_t)(ul >> 8), (uint8_t)ul, 0, 0};
    memcpy(u, udph, 8);
    fwrite(h, 1, sizeof h, out);
    fwrite(d->b, 1, d->n, out);
}

struct flowgen {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto, flags;
    uint32_t pkts, bytes;
};

static uint32_t flood_dst;
static int bad;
static uint64_t tot_pkts, tot_bytes;

static void next_flow(struct flowgen *f)
{
    uint64_t r = rnd();
    if (flood_dst) {
        f->src = 0x0a000000u | (uint32_t)(r & 0xffffff);
        f->dst = flood_dst;
        f->sport = 53;
        f->dport = (uint16_t)(1024 + (r >> 24) % 60000);
        f->proto = 17;
        f->flags = 0;
        f->pkts = 200;
        f->bytes = 200 * 1400;
    } else {
        f->src = 0x0a000000u | (uint32_t)(r & 0xffffff);
        f->dst = 0xc6336400u | (uint32_t)((r >> 24) & 0xff);
        f->sport = (uint16_t)(1024 + (r >> 32) % 60000);
        unsigned k = (unsigned)(r >> 48) % 10;
        f->proto = k < 6 ? 6 : k < 9 ? 17 : 1;
        f->dport = f->proto == 1 ? 0x0800 : (uint16_t)(k % 2 ? 443 : 53);
        f->flags = f->proto == 6 ? 0x1b : 0;
        f->pkts = 1 + (uint32_t)(rnd() % 100);
        f->bytes = f->pkts * (40 + (uint32_t)(rnd() % 1400));
    }
    tot_pkts += f->pkts;
    tot_bytes += f->bytes;
}

int main(int argc, char **argv)
{
    int version = 9;
    uint64_t nrec = 1000, sampling = 1;
    const char *ofile = NULL, *send_to = NULL;
    int64_t t0 = 1700000000;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "gen_flow: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "-v"))
            version = atoi(v);
        else if (!strcmp(a, "-n"))
            nrec = strtoull(v, NULL, 10);
        else if (!strcmp(a, "-o"))
            ofile = v;
        else if (!strcmp(a, "-s"))
            send_to = v;
        else if (!strcmp(a, "-r"))
            rate = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed"))
            rng_state ^= strtoull(v, NULL, 10) * 0x2545f4914f6cdd1dull;
        else if (!strcmp(a, "--sampling"))
            sampling = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--t0"))
            t0 = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--bad"))
            bad = atoi(v);
        else if (!strcmp(a, "--flood")) {
            struct in_addr in;
            if (inet_pton(AF_INET, v, &in) != 1)
                return 2;
            flood_dst = ntohl(in.s_addr);
        } else {
            fprintf(stderr, "gen_flow: unknown option %s\n", a);
            return 2;
        }
    }
    if (version != 5 && version != 9 && version != 10)
        return 2;
    if (send_to) {
        char host[64];
        const char *c = strrchr(send_to, ':');
        if (!c || (size_t)(c - send_to) >= sizeof host)
            return 2;
        memcpy(host, send_to, (size_t)(c - send_to));
        host[c - send_to] = '\0';
        dest.sin_family = AF_INET;
        dest.sin_port = htons((uint16_t)atoi(c + 1));
        if (inet_pton(AF_INET, host, &dest.sin_addr) != 1)
            return 2;
        sock = socket(AF_INET, SOCK_DGRAM, 0);
        int sb = 4 << 20;
        setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
        clock_gettime(CLOCK_MONOTONIC, &t_start);
    } else {
        if (!ofile) {
            fprintf(stderr, "gen_flow: give -o FILE.pcap or -s HOST:PORT\n");
            return 2;
        }
        out = fopen(ofile, "wb");
        if (!out)
            return 1;
        uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
        fwrite(gh, 1, sizeof gh, out);
    }
    /* Flows of a flood last 60 s in all, spread evenly; others end at their datagram's time. */
    uint64_t per = version == 5 ? 30 : 30;
    uint64_t ndg = (nrec + per - 1) / per;
    int64_t span_us = flood_dst ? 60000000 : (int64_t)ndg * 1000;
    uint32_t seq = 0;
    uint64_t done = 0;
    for (uint64_t d = 0; done < nrec; d++) {
        int64_t ts = t0 * 1000000 + (int64_t)((double)span_us * (double)d / (double)ndg);
        uint32_t secs = (uint32_t)(ts / 1000000);
        uint32_t uptime = (uint32_t)((ts - (t0 - 3600) * 1000000) / 1000); /* booted 1 h before */
        unsigned n = (unsigned)(nrec - done < per ? nrec - done : per);
        struct buf b = {.n = 0};
        struct flowgen f;
        if (version == 5) {
            p16(&b, 5);
            p16(&b, n);
            p32(&b, uptime);
            p32(&b, secs);
            p32(&b, (uint32_t)(ts % 1000000) * 1000);
            p32(&b, seq);
            p8(&b, 0);
            p8(&b, 0);
            p16(&b, sampling > 1 ? (unsigned)(0x4000 | (sampling & 0x3fff)) : 0);
            for (unsigned i = 0; i < n; i++) {
                next_flow(&f);
                p32(&b, f.src);
                p32(&b, f.dst);
                p32(&b, 0);
                p16(&b, 1);
                p16(&b, 2);
                p32(&b, f.pkts);
                p32(&b, f.bytes);
                p32(&b, uptime - 900);
                p32(&b, uptime - 100);
                p16(&b, f.sport);
                p16(&b, f.dport);
                p8(&b, 0);
                p8(&b, f.flags);
                p8(&b, f.proto);
                p8(&b, 0);
                p16(&b, 0);
                p16(&b, 0);
                p8(&b, 0);
                p8(&b, 0);
                p16(&b, 0);
            }
            seq += n;
            emit(&b, ts);
            done += n;
            continue;
        }
        size_t h = b.n;
        bool ipfix = version == 10;
        if (ipfix) {
            p16(&b, 10);
            p16(&b, 0);
            p32(&b, secs);
            p32(&b, seq);
            p32(&b, 1);
        } else {
            p16(&b, 9);
            p16(&b, 0);
            p32(&b, uptime);
            p32(&b, secs);
            p32(&b, seq);
            p32(&b, 1);
        }
        /* Templates (and the sampling options) in the first datagram and every 20th. */
        if (d % 20 == (bad ? 1u : 0u)) {
            static const uint16_t fl[][2] = {{8, 4},  {12, 4}, {7, 2}, {11, 2}, {4, 1},
                                             {6, 1},  {5, 1},  {2, 4}, {1, 4},  {10, 2},
                                             {14, 2}, {22, 4}, {21, 4}};
            size_t s = b.n;
            p16(&b, ipfix ? 2 : 0);
            p16(&b, 0);
            p16(&b, 256);
            p16(&b, 13);
            for (unsigned i = 0; i < 13; i++) {
                /* IPFIX: absolute milliseconds instead of sysUptime. */
                if (ipfix && fl[i][0] == 22) {
                    p16(&b, 152);
                    p16(&b, 8);
                } else if (ipfix && fl[i][0] == 21) {
                    p16(&b, 153);
                    p16(&b, 8);
                } else {
                    p16(&b, fl[i][0]);
                    p16(&b, fl[i][1]);
                }
            }
            at16(&b, s + 2, (unsigned)(b.n - s));
            if (sampling > 1) {
                s = b.n;
                if (ipfix) {
                    p16(&b, 3);
                    p16(&b, 0);
                    p16(&b, 257);
                    p16(&b, 2);
                    p16(&b, 1);
                    p16(&b, 149);
                    p16(&b, 4);
                    p16(&b, 34);
                    p16(&b, 4);
                } else {
                    p16(&b, 1);
                    p16(&b, 0);
                    p16(&b, 257);
                    p16(&b, 4);
                    p16(&b, 4);
                    p16(&b, 1);
                    p16(&b, 4);
                    p16(&b, 34);
                    p16(&b, 4);
                }
                while ((b.n - s) % 4)
                    p8(&b, 0);
                at16(&b, s + 2, (unsigned)(b.n - s));
                s = b.n;
                p16(&b, 257);
                p16(&b, 0);
                p32(&b, 1);
                p32(&b, (uint32_t)sampling);
                at16(&b, s + 2, (unsigned)(b.n - s));
            }
        }
        size_t s = b.n;
        p16(&b, 256);
        p16(&b, 0);
        for (unsigned i = 0; i < n; i++) {
            next_flow(&f);
            p32(&b, f.src);
            p32(&b, f.dst);
            p16(&b, f.sport);
            p16(&b, f.dport);
            p8(&b, f.proto);
            p8(&b, f.flags);
            p8(&b, 0);
            p32(&b, f.pkts);
            p32(&b, f.bytes);
            p16(&b, 1);
            p16(&b, 2);
            if (ipfix) {
                uint64_t ms = (uint64_t)(ts / 1000);
                p32(&b, (uint32_t)((ms - 900) >> 32));
                p32(&b, (uint32_t)(ms - 900));
                p32(&b, (uint32_t)((ms - 100) >> 32));
                p32(&b, (uint32_t)(ms - 100));
            } else {
                p32(&b, uptime - 900);
                p32(&b, uptime - 100);
            }
        }
        while ((b.n - s) % 4)
            p8(&b, 0);
        at16(&b, s + 2, (unsigned)(b.n - s));
        if (ipfix) {
            at16(&b, h + 2, (unsigned)b.n);
            seq += n;
        } else {
            at16(&b, h + 2, n);
            seq++;
        }
        if (bad && d % 10 == 5)
            b.n = 40;
        if (!(bad && d % 10 == 7))
            emit(&b, ts);
        done += n;
    }
    if (out)
        fclose(out);
    if (sock >= 0)
        close(sock);
    printf("records %llu packets %llu bytes %llu\n", (unsigned long long)nrec,
           (unsigned long long)tot_pkts, (unsigned long long)tot_bytes);
    return 0;
}
