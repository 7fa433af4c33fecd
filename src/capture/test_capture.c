/* Unit tests of the packet decoder (hand-built packets, every link type and header path, cut
 * at each layer) and of the file reader (testdata captures, sniffed formats, truncated files,
 * file order, filters). */
#include "kansoku/ks_capture.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* --- a packet builder ---------------------------------------------------------------------- */

struct b {
    uint8_t d[2048];
    size_t n;
};

static void put8(struct b *b, unsigned v)
{
    b->d[b->n++] = (uint8_t)v;
}

static void put16(struct b *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v);
}

static void put32(struct b *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

static void zeros(struct b *b, size_t n)
{
    memset(b->d + b->n, 0, n);
    b->n += n;
}

static void eth(struct b *b, unsigned type)
{
    zeros(b, 12);
    put16(b, type);
}

/* IPv4 header: 20 + opt bytes; total = header + l4len. */
static void ipv4(struct b *b, unsigned proto, unsigned opt, unsigned frag, size_t l4len)
{
    put8(b, 0x40 | (unsigned)((20 + opt) / 4));
    put8(b, 0);
    put16(b, (unsigned)(20 + opt + l4len));
    put16(b, 0x1234);
    put16(b, frag);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    put32(b, 0xc0000201); /* 192.0.2.1 */
    put32(b, 0xc6336402); /* 198.51.100.2 */
    for (unsigned i = 0; i < opt; i++)
        put8(b, 1); /* NOP options */
}

static void ipv6(struct b *b, unsigned nh, size_t plen)
{
    put32(b, 0x60000000);
    put16(b, (unsigned)plen);
    put8(b, nh);
    put8(b, 64);
    put32(b, 0x20010db8);
    zeros(b, 11);
    put8(b, 1);
    put32(b, 0x20010db8);
    zeros(b, 11);
    put8(b, 2);
}

static void tcp(struct b *b, unsigned sport, unsigned dport, unsigned flags, unsigned optlen)
{
    put16(b, sport);
    put16(b, dport);
    put32(b, 1);
    put32(b, 0);
    put8(b, (unsigned)((20 + optlen) / 4) << 4);
    put8(b, flags);
    put16(b, 1024);
    put32(b, 0);
    for (unsigned i = 0; i < optlen; i++)
        put8(b, 1);
}

static void udp(struct b *b, unsigned sport, unsigned dport, size_t plen)
{
    put16(b, sport);
    put16(b, dport);
    put16(b, (unsigned)(8 + plen));
    put16(b, 0);
}

static enum ks_pkt_status dec(int link, const struct b *b, struct ks_pkt *p)
{
    memset(p, 0, sizeof *p);
    return ks_pkt_decode(link, b->d, (uint32_t)b->n, (uint32_t)b->n, p);
}

static enum ks_pkt_status dec_cut(int link, const struct b *b, size_t n, struct ks_pkt *p)
{
    memset(p, 0, sizeof *p);
    return ks_pkt_decode(link, b->d, (uint32_t)n, (uint32_t)b->n, p);
}

/* --- link layers --------------------------------------------------------------------------- */

static void ethernet_ipv4_tcp_syn_gives_addresses_ports_flags(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    eth(&b, 0x0800);
    ipv4(&b, 6, 0, 0, 20);
    tcp(&b, 40000, 80, 0x02, 0);
    assert_int_equal(dec(KS_LINK_ETHERNET, &b, &p), KS_PKT_OK);
    assert_int_equal(p.ipver, 4);
    assert_int_equal(p.proto, 6);
    assert_int_equal(ks_addr_v4(&p.src), 0xc0000201);
    assert_int_equal(ks_addr_v4(&p.dst), 0xc6336402);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 80);
    assert_int_equal(p.tcp_flags, KS_TCP_SYN);
    assert_true(p.flags & KS_PKT_L4);
    assert_int_equal(p.payload_len, 0);
    assert_int_equal(p.ip_len, 40);
}

static void vlan_8021q_tag_is_skipped(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    zeros(&b, 12);
    put16(&b, 0x8100);
    put16(&b, 0x2064); /* PCP 1, VLAN 100 */
    put16(&b, 0x0800);
    ipv4(&b, 17, 0, 0, 8);
    udp(&b, 53, 5353, 0);
    assert_int_equal(dec(KS_LINK_ETHERNET, &b, &p), KS_PKT_OK);
    assert_int_equal(p.vlan, 100);
    assert_true(p.flags & KS_PKT_VLAN);
    assert_int_equal(p.sport, 53);
}

static void qinq_8021ad_double_tag_is_skipped(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    zeros(&b, 12);
    put16(&b, 0x88a8);
    put16(&b, 200);
    put16(&b, 0x8100);
    put16(&b, 300);
    put16(&b, 0x86dd);
    ipv6(&b, 17, 8);
    udp(&b, 123, 40000, 0);
    assert_int_equal(dec(KS_LINK_ETHERNET, &b, &p), KS_PKT_OK);
    assert_int_equal(p.vlan, 200);
    assert_int_equal(p.ipver, 6);
    assert_int_equal(p.sport, 123);
}

static void nine_vlan_tags_are_malformed(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    zeros(&b, 12);
    for (int i = 0; i < 9; i++) {
        put16(&b, 0x8100);
        put16(&b, 1);
    }
    put16(&b, 0x0800);
    ipv4(&b, 17, 0, 0, 8);
    udp(&b, 1, 2, 0);
    assert_int_equal(dec(KS_LINK_ETHERNET, &b, &p), KS_PKT_BAD_VLAN);
}

static void arp_is_not_ip(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    eth(&b, 0x0806);
    zeros(&b, 28);
    assert_int_equal(dec(KS_LINK_ETHERNET, &b, &p), KS_PKT_NOT_IP);
}

static void linux_cooked_v1_ipv4(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    put16(&b, 0); /* to us */
    put16(&b, 1); /* ARPHRD_ETHER */
    put16(&b, 6); /* address length */
    zeros(&b, 8); /* address */
    put16(&b, 0x0800);
    ipv4(&b, 17, 0, 0, 12);
    udp(&b, 1900, 1234, 4);
    zeros(&b, 4);
    assert_int_equal(dec(KS_LINK_SLL, &b, &p), KS_PKT_OK);
    assert_int_equal(p.sport, 1900);
    assert_int_equal(p.payload_len, 4);
}

static void linux_cooked_v2_ipv6(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    put16(&b, 0x86dd); /* protocol */
    put16(&b, 0);      /* reserved */
    put32(&b, 2);      /* ifindex */
    put16(&b, 1);      /* ARPHRD_ETHER */
    put8(&b, 0);       /* packet type */
    put8(&b, 6);       /* address length */
    zeros(&b, 8);
    ipv6(&b, 6, 20);
    tcp(&b, 443, 50000, 0x12, 0);
    assert_int_equal(dec(KS_LINK_SLL2, &b, &p), KS_PKT_OK);
    assert_int_equal(p.ipver, 6);
    assert_int_equal(p.tcp_flags, KS_TCP_SYN | KS_TCP_ACK);
}

static void raw_ip_by_version_nibble(void **state)
{
    struct b b4 = {0}, b6 = {0};
    struct ks_pkt p;
    ipv4(&b4, 1, 0, 0, 8);
    put8(&b4, 8);
    zeros(&b4, 7);
    ipv6(&b6, 58, 8);
    put8(&b6, 128);
    zeros(&b6, 7);
    assert_int_equal(dec(KS_LINK_RAW, &b4, &p), KS_PKT_OK);
    assert_int_equal(p.icmp_type, 8);
    /* The payload is what follows type, code and checksum: the 4-byte rest of the header. */
    assert_int_equal(p.payload_len, 4);
    assert_non_null(p.payload);
    assert_int_equal(dec(12, &b6, &p), KS_PKT_OK); /* DLT_RAW */
    assert_int_equal(p.proto, 58);
    assert_int_equal(p.icmp_type, 128);
    assert_int_equal(dec(KS_LINK_IPV4, &b6, &p), KS_PKT_BAD_IP_VERSION);
    assert_int_equal(dec(KS_LINK_IPV6, &b6, &p), KS_PKT_OK);
}

static void bsd_null_in_either_byte_order_and_loop(void **state)
{
    struct b le = {0}, be = {0};
    struct ks_pkt p;
    put8(&le, 2); /* AF_INET, little-endian host */
    zeros(&le, 3);
    ipv4(&le, 17, 0, 0, 8);
    udp(&le, 7, 7, 0);
    put32(&be, 30); /* AF_INET6 on macOS, big-endian (DLT_LOOP) */
    ipv6(&be, 17, 8);
    udp(&be, 7, 7, 0);
    assert_int_equal(dec(KS_LINK_NULL, &le, &p), KS_PKT_OK);
    assert_int_equal(p.ipver, 4);
    assert_int_equal(dec(KS_LINK_LOOP, &be, &p), KS_PKT_OK);
    assert_int_equal(p.ipver, 6);
    struct b other = {0};
    put32(&other, 99);
    zeros(&other, 20);
    assert_int_equal(dec(KS_LINK_NULL, &other, &p), KS_PKT_NOT_IP);
}

static void unknown_link_type_is_counted(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    zeros(&b, 40);
    assert_int_equal(dec(147, &b, &p), KS_PKT_BAD_LINKTYPE);
}

/* --- IPv4 ---------------------------------------------------------------------------------- */

static void ipv4_options_are_skipped_and_flagged(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 6, 12, 0, 20);
    tcp(&b, 1000, 22, 0x02, 0);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_true(p.flags & KS_PKT_IP_OPTIONS);
    assert_int_equal(p.dport, 22);
}

static void ipv4_first_fragment_keeps_ports(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 17, 0, 0x2000, 16); /* MF, offset 0 */
    udp(&b, 53, 4000, 100);
    zeros(&b, 8);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_true(p.flags & KS_PKT_FRAG);
    assert_false(p.flags & KS_PKT_FRAG_LATER);
    assert_int_equal(p.sport, 53);
    assert_int_equal(p.payload_len, 8);
}

static void ipv4_later_fragment_has_no_ports(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 6, 0, 0x2000 | 98, 16); /* MF, offset 98 * 8 */
    put16(&b, 1111);
    zeros(&b, 14);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_true(p.flags & KS_PKT_FRAG_LATER);
    assert_false(p.flags & KS_PKT_L4);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.proto, 6);
}

static void tiny_first_fragment_is_not_malformed(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 6, 0, 0x2000, 8); /* 8 bytes of TCP: RFC 1858 tiny fragment */
    put16(&b, 1);
    put16(&b, 2);
    zeros(&b, 4);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_true(p.flags & KS_PKT_FRAG);
    assert_false(p.flags & KS_PKT_L4);
}

static void ethernet_padding_is_not_payload(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    eth(&b, 0x0800);
    ipv4(&b, 6, 0, 0, 20);
    tcp(&b, 1, 2, 0x10, 0);
    zeros(&b, 6); /* 60-byte minimum frame */
    assert_int_equal(dec(KS_LINK_ETHERNET, &b, &p), KS_PKT_OK);
    assert_int_equal(p.payload_len, 0);
}

static void tcp_payload_follows_options(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 6, 0, 0, 32 + 4);
    tcp(&b, 5555, 80, 0x18, 12);
    memcpy(b.d + b.n, "GET ", 4);
    b.n += 4;
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_int_equal(p.payload_len, 4);
    assert_memory_equal(p.payload, "GET ", 4);
}

static void gre_is_other_protocol(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 47, 0, 0, 4);
    zeros(&b, 4);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_int_equal(p.proto, 47);
    struct ks_capture_stats st = {0};
    ks_capture_count(&st, KS_PKT_OK, &p);
    assert_int_equal(st.other, 1);
}

static void ipv4_bad_header_and_total_length(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 6, 0, 0, 20);
    tcp(&b, 1, 2, 2, 0);
    b.d[0] = 0x44; /* IHL 4 */
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_BAD_IP_HLEN);
    b.d[0] = 0x45;
    b.d[2] = 0;
    b.d[3] = 10; /* total 10 < 20 */
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_BAD_IP_LEN);
    b.d[0] = 0x55; /* version 5 */
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_BAD_IP_VERSION);
}

static void bad_tcp_data_offset(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv4(&b, 6, 0, 0, 20);
    tcp(&b, 1, 2, 2, 0);
    b.d[20 + 12] = 0x30; /* offset 3 words */
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_BAD_TCP_OFF);
    b.d[20 + 12] = 0xf0; /* 60 bytes, past the 20-byte segment */
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_BAD_TCP_OFF);
}

/* Cut one packet at every length: each layer's header reports its own truncation. */
static void truncated_at_each_layer(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    eth(&b, 0x0800);
    ipv4(&b, 6, 0, 0, 20);
    tcp(&b, 1, 2, 2, 0);
    assert_int_equal(dec_cut(KS_LINK_ETHERNET, &b, 10, &p), KS_PKT_TRUNC_LINK);
    assert_int_equal(dec_cut(KS_LINK_ETHERNET, &b, 14, &p), KS_PKT_TRUNC_IP);
    assert_int_equal(dec_cut(KS_LINK_ETHERNET, &b, 30, &p), KS_PKT_TRUNC_IP);
    assert_int_equal(dec_cut(KS_LINK_ETHERNET, &b, 40, &p), KS_PKT_TRUNC_TCP);
    assert_true(p.flags & KS_PKT_SNAPPED);
    assert_int_equal(dec_cut(KS_LINK_ETHERNET, &b, 54, &p), KS_PKT_OK);

    struct b u = {0};
    ipv4(&u, 17, 0, 0, 8);
    udp(&u, 1, 2, 0);
    assert_int_equal(dec_cut(KS_LINK_RAW, &u, 24, &p), KS_PKT_TRUNC_UDP);
    struct b i = {0};
    ipv4(&i, 1, 0, 0, 8);
    zeros(&i, 8);
    assert_int_equal(dec_cut(KS_LINK_RAW, &i, 21, &p), KS_PKT_TRUNC_ICMP);
    struct b s = {0};
    zeros(&s, 10);
    assert_int_equal(dec_cut(KS_LINK_SLL, &s, 10, &p), KS_PKT_TRUNC_LINK);
    assert_int_equal(dec_cut(KS_LINK_SLL2, &s, 10, &p), KS_PKT_TRUNC_LINK);
    assert_int_equal(dec_cut(KS_LINK_NULL, &s, 3, &p), KS_PKT_TRUNC_LINK);
    struct b v6 = {0};
    ipv6(&v6, 17, 8);
    udp(&v6, 1, 2, 0);
    assert_int_equal(dec_cut(KS_LINK_RAW, &v6, 39, &p), KS_PKT_TRUNC_IP);
    assert_int_equal(dec_cut(KS_LINK_RAW, &v6, 44, &p), KS_PKT_TRUNC_UDP);
    /* Every shorter cut of every packet is rejected or decoded without reading past it
     * (ASan checks the reads). */
    for (size_t n = 0; n < b.n; n++)
        (void)dec_cut(KS_LINK_ETHERNET, &b, n, &p);
}

/* --- IPv6 ---------------------------------------------------------------------------------- */

static void ipv6_extension_chain_is_walked(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv6(&b, 0, 8 + 16 + 20);
    put8(&b, 60); /* hop-by-hop -> destination options */
    put8(&b, 0);
    zeros(&b, 6);
    put8(&b, 6); /* destination options (16 bytes) -> TCP */
    put8(&b, 1);
    zeros(&b, 14);
    tcp(&b, 1234, 443, 0x02, 0);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.dport, 443);
    assert_true(p.flags & KS_PKT_IP_OPTIONS);
}

static void ipv6_first_fragment_keeps_ports(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv6(&b, 44, 8 + 8 + 16);
    put8(&b, 17);
    put8(&b, 0);
    put16(&b, 0x0001); /* offset 0, M */
    put32(&b, 77);
    udp(&b, 123, 6000, 400);
    zeros(&b, 16);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_true(p.flags & KS_PKT_FRAG);
    assert_false(p.flags & KS_PKT_FRAG_LATER);
    assert_int_equal(p.sport, 123);
}

static void ipv6_later_fragment_has_no_ports(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv6(&b, 44, 8 + 16);
    put8(&b, 17);
    put8(&b, 0);
    put16(&b, 185 << 3); /* offset 185 * 8, last */
    put32(&b, 77);
    zeros(&b, 16);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_true(p.flags & KS_PKT_FRAG_LATER);
    assert_int_equal(p.proto, 17);
    assert_false(p.flags & KS_PKT_L4);
}

static void ipv6_ext_chain_cut_or_too_long_is_malformed(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv6(&b, 60, 8);
    put8(&b, 60);
    put8(&b, 3); /* announces 32 bytes, 8 present */
    zeros(&b, 6);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_BAD_IP6_EXT);

    struct b l = {0};
    ipv6(&l, 60, 17 * 8 + 8);
    for (int i = 0; i < 17; i++) {
        put8(&l, i == 16 ? 17 : 60);
        put8(&l, 0);
        zeros(&l, 6);
    }
    udp(&l, 1, 2, 0);
    assert_int_equal(dec(KS_LINK_RAW, &l, &p), KS_PKT_BAD_IP6_EXT);
}

static void ipv6_ah_length_in_words(void **state)
{
    struct b b = {0};
    struct ks_pkt p;
    ipv6(&b, 51, 24 + 8);
    put8(&b, 17);
    put8(&b, 4); /* (4 + 2) * 4 = 24 bytes */
    zeros(&b, 22);
    udp(&b, 500, 500, 0);
    assert_int_equal(dec(KS_LINK_RAW, &b, &p), KS_PKT_OK);
    assert_int_equal(p.sport, 500);
}

/* --- files --------------------------------------------------------------------------------- */

static const char *testdata(char *buf, size_t size, const char *name)
{
    const char *dir = getenv("KS_TESTDATA");
    if (!dir)
        return NULL;
    snprintf(buf, size, "%s/pcap/%s", dir, name);
    if (access(buf, R_OK) != 0)
        return NULL;
    return buf;
}

#define NEED(var, name)                                                                            \
    char var##_buf[1024];                                                                          \
    const char *var = testdata(var##_buf, sizeof var##_buf, name);                                 \
    if (!var) {                                                                                    \
        print_message("testdata %s not found (KS_TESTDATA): skipped\n", name);                     \
        skip();                                                                                    \
    }

static uint64_t count_file(const char *path, const struct ks_capture_config *cfg, int *last,
                           uint64_t *syn)
{
    struct ks_capture *c;
    const char *paths[] = {path};
    assert_int_equal(ks_capture_open_files(paths, 1, cfg, &c), KS_OK);
    struct ks_pkt p;
    uint64_t n = 0;
    int r;
    while ((r = ks_capture_next(c, &p)) == 1) {
        n++;
        if (syn && (p.tcp_flags & (KS_TCP_SYN | KS_TCP_ACK)) == KS_TCP_SYN)
            (*syn)++;
    }
    *last = r;
    ks_capture_free(c);
    return n;
}

static void classic_pcap_file_is_read(void **state)
{
    NEED(path, "pkt.TCP.synflood.spoofed.first10000.pcap");
    int r;
    uint64_t syn = 0;
    assert_int_equal(count_file(path, NULL, &r, &syn), 10000);
    assert_int_equal(r, 0);
    assert_int_equal(syn, 10000);
}

static void format_is_sniffed_not_taken_from_suffix(void **state)
{
    NEED(a, "pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng"); /* classic pcap inside */
    NEED(b, "ndpi_dns.pcap");                       /* pcapng inside */
    int r;
    assert_int_equal(count_file(a, NULL, &r, NULL), 9878);
    assert_int_equal(r, 0);
    assert_int_equal(count_file(b, NULL, &r, NULL), 5);
    assert_int_equal(r, 0);
}

static void fragments_of_a_capture_are_counted(void **state)
{
    NEED(path, "ndpi_ip_fragmented_garbage.pcap");
    struct ks_capture *c;
    const char *paths[] = {path};
    assert_int_equal(ks_capture_open_files(paths, 1, NULL, &c), KS_OK);
    struct ks_pkt p;
    while (ks_capture_next(c, &p) == 1)
        ;
    struct ks_capture_stats st;
    ks_capture_stats(c, &st);
    assert_int_equal(st.frag_first + st.frag_later, 1252);
    ks_capture_free(c);
}

static char *copy_cut(const char *src, const char *name, long cut_from_end, long cut_at)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/ks-capture-%d-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid(), name);
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    rewind(in);
    long keep = cut_at ? cut_at : size - cut_from_end;
    char *buf = malloc((size_t)keep);
    assert_int_equal(fread(buf, 1, (size_t)keep, in), (size_t)keep);
    fclose(in);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    fwrite(buf, 1, (size_t)keep, out);
    fclose(out);
    free(buf);
    return path;
}

static void truncated_pcap_names_packet_and_offset(void **state)
{
    NEED(src, "pkt.TCP.synflood.spoofed.first10000.pcap");
    /* 24-byte header, then records of 16 + 60 bytes: cut 30 bytes into record 5001. */
    long at = 24 + 5000L * 76 + 30;
    char *path = copy_cut(src, "trunc.pcap", 0, at);
    struct ks_capture *c;
    const char *paths[] = {path};
    assert_int_equal(ks_capture_open_files(paths, 1, NULL, &c), KS_OK);
    struct ks_pkt p;
    uint64_t n = 0;
    int r;
    while ((r = ks_capture_next(c, &p)) == 1)
        n++;
    assert_int_equal(r, KS_ETRUNC);
    assert_int_equal(n, 5000);
    struct ks_loc loc;
    ks_capture_errloc(c, &loc);
    assert_int_equal(loc.packet, 5001);
    assert_int_equal(loc.offset, 24 + 5000 * 76);
    assert_non_null(strstr(ks_capture_errmsg(c), "packet 5001"));
    assert_int_equal(ks_capture_next(c, &p), 0);
    ks_capture_free(c);
    unlink(path);
}

static void truncated_pcapng_names_packet(void **state)
{
    NEED(src, "ndpi_bittorrent_utp.pcap"); /* pcapng inside */
    char *path = copy_cut(src, "trunc.pcapng", 100, 0);
    struct ks_capture *c;
    const char *paths[] = {path};
    assert_int_equal(ks_capture_open_files(paths, 1, NULL, &c), KS_OK);
    struct ks_pkt p;
    uint64_t n = 0;
    int r;
    while ((r = ks_capture_next(c, &p)) == 1)
        n++;
    assert_int_equal(r, KS_ETRUNC);
    assert_true(n >= 88 && n <= 91);
    struct ks_loc loc;
    ks_capture_errloc(c, &loc);
    assert_int_equal(loc.packet, n + 1);
    assert_true(loc.offset > 0 && loc.offset < 45104);
    ks_capture_free(c);
    unlink(path);
}

static void several_files_are_read_in_time_order(void **state)
{
    NEED(late, "pkt.TCP.synflood.spoofed.first10000.pcap"); /* 2021 */
    NEED(early, "ndpi_http_auth.pcap");                     /* 2013 */
    const char *paths[] = {late, early};
    struct ks_capture *c;
    assert_int_equal(ks_capture_open_files(paths, 2, NULL, &c), KS_OK);
    struct ks_pkt p;
    int64_t prev = 0;
    uint64_t n = 0, back = 0;
    while (ks_capture_next(c, &p) == 1) {
        if (p.ts_us + 1000000 < prev)
            back++;
        prev = p.ts_us;
        n++;
    }
    assert_int_equal(n, 10033);
    assert_int_equal(back, 0);
    ks_capture_free(c);
}

static void bpf_filter_and_sample_rate_apply_offline(void **state)
{
    NEED(path, "ndpi_dns.pcap");
    struct ks_capture_config cfg;
    ks_capture_config_default(&cfg);
    cfg.filter = "udp dst port 53";
    cfg.sample_rate = 100;
    struct ks_capture *c;
    const char *paths[] = {path};
    assert_int_equal(ks_capture_open_files(paths, 1, &cfg, &c), KS_OK);
    struct ks_pkt p;
    uint64_t n = 0;
    while (ks_capture_next(c, &p) == 1) {
        assert_int_equal(p.dport, 53);
        assert_int_equal(p.weight, 100);
        n++;
    }
    assert_true(n >= 1 && n < 5);
    ks_capture_free(c);
    cfg.filter = "this is not a filter";
    assert_int_equal(ks_capture_open_files(paths, 1, &cfg, &c), KS_EFORMAT);
}

static void not_a_capture_is_refused_with_its_name(void **state)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/ks-capture-%d-junk", (int)getpid());
    FILE *f = fopen(path, "wb");
    fputs("this is a text file, not a capture\n", f);
    fclose(f);
    struct ks_capture *c;
    const char *paths[] = {path};
    assert_int_equal(ks_capture_open_files(paths, 1, NULL, &c), KS_EFORMAT);
    assert_non_null(strstr(ks_capture_errmsg(NULL), "ks-capture"));
    const char *missing[] = {"/nonexistent/x.pcap"};
    assert_int_equal(ks_capture_open_files(missing, 1, NULL, &c), KS_EIO);
    unlink(path);
}

static void live_capture_on_missing_interface_fails_cleanly(void **state)
{
    struct ks_capture *c = NULL;
    int rc = ks_capture_open_live("ks-no-such-if0", NULL, &c);
    assert_int_equal(rc, KS_EIO);
    assert_null(c);
    assert_true(strlen(ks_capture_errmsg(NULL)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ethernet_ipv4_tcp_syn_gives_addresses_ports_flags),
        cmocka_unit_test(vlan_8021q_tag_is_skipped),
        cmocka_unit_test(qinq_8021ad_double_tag_is_skipped),
        cmocka_unit_test(nine_vlan_tags_are_malformed),
        cmocka_unit_test(arp_is_not_ip),
        cmocka_unit_test(linux_cooked_v1_ipv4),
        cmocka_unit_test(linux_cooked_v2_ipv6),
        cmocka_unit_test(raw_ip_by_version_nibble),
        cmocka_unit_test(bsd_null_in_either_byte_order_and_loop),
        cmocka_unit_test(unknown_link_type_is_counted),
        cmocka_unit_test(ipv4_options_are_skipped_and_flagged),
        cmocka_unit_test(ipv4_first_fragment_keeps_ports),
        cmocka_unit_test(ipv4_later_fragment_has_no_ports),
        cmocka_unit_test(tiny_first_fragment_is_not_malformed),
        cmocka_unit_test(ethernet_padding_is_not_payload),
        cmocka_unit_test(tcp_payload_follows_options),
        cmocka_unit_test(gre_is_other_protocol),
        cmocka_unit_test(ipv4_bad_header_and_total_length),
        cmocka_unit_test(bad_tcp_data_offset),
        cmocka_unit_test(truncated_at_each_layer),
        cmocka_unit_test(ipv6_extension_chain_is_walked),
        cmocka_unit_test(ipv6_first_fragment_keeps_ports),
        cmocka_unit_test(ipv6_later_fragment_has_no_ports),
        cmocka_unit_test(ipv6_ext_chain_cut_or_too_long_is_malformed),
        cmocka_unit_test(ipv6_ah_length_in_words),
        cmocka_unit_test(classic_pcap_file_is_read),
        cmocka_unit_test(format_is_sniffed_not_taken_from_suffix),
        cmocka_unit_test(fragments_of_a_capture_are_counted),
        cmocka_unit_test(truncated_pcap_names_packet_and_offset),
        cmocka_unit_test(truncated_pcapng_names_packet),
        cmocka_unit_test(several_files_are_read_in_time_order),
        cmocka_unit_test(bpf_filter_and_sample_rate_apply_offline),
        cmocka_unit_test(not_a_capture_is_refused_with_its_name),
        cmocka_unit_test(live_capture_on_missing_interface_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
