/* The peer of the throughput benchmark: a bare libpcap loop that only counts packets and
 * bytes of an offline capture. usage: pcap_count FILE */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct count {
    uint64_t packets, bytes;
};

static void cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct count *c = (struct count *)(void *)user;
    (void)data;
    c->packets++;
    c->bytes += h->len;
}

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 2) {
        fprintf(stderr, "usage: pcap_count FILE\n");
        return 2;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcap_count: %s\n", err);
        return 1;
    }
    struct count c = {0};
    if (pcap_loop(p, -1, cb, (u_char *)&c) == -1) {
        fprintf(stderr, "pcap_count: %s\n", pcap_geterr(p));
        return 1;
    }
    pcap_close(p);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("packets=%llu bytes=%llu seconds=%.3f pps=%.0f\n", (unsigned long long)c.packets,
           (unsigned long long)c.bytes, s, (double)c.packets / s);
    return 0;
}
