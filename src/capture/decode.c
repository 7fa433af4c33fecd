/* Packet decoding: link layer, IPv4/IPv6, TCP/UDP/ICMP into struct ks_pkt. Zero-copy, no
 * allocation; every read goes through the bounded cursor. */
#include "kansoku/ks_capture.h"

#include "capture/fast.h"
#include "core/cur.h"

#include <string.h>

#define ETH_IPV4 0x0800u
#define ETH_IPV6 0x86ddu
#define ETH_VLAN 0x8100u /* IEEE 802.1Q */
#define ETH_QINQ 0x88a8u /* IEEE 802.1ad service tag */
#define ETH_QINQ_OLD 0x9100u
#define ETH_PPPOE_SESSION 0x8864u
#define ETH_MPLS 0x8847u
#define ETH_MPLS_MC 0x8848u
#define MAX_VLAN_TAGS 8 /* also the most MPLS labels */
#define MAX_IP6_EXT 16

const char *ks_pkt_status_name(enum ks_pkt_status st)
{
    static const char *const names[KS_PKT_STATUS_COUNT] = {
        [KS_PKT_OK] = "ok",
        [KS_PKT_NOT_IP] = "not IP",
        [KS_PKT_BAD_LINKTYPE] = "unsupported link type",
        [KS_PKT_TRUNC_LINK] = "truncated link header",
        [KS_PKT_BAD_VLAN] = "too many VLAN tags",
        [KS_PKT_BAD_IP_VERSION] = "bad IP version",
        [KS_PKT_TRUNC_IP] = "truncated IP header",
        [KS_PKT_BAD_IP_HLEN] = "bad IPv4 header length",
        [KS_PKT_BAD_IP_LEN] = "bad IP total length",
        [KS_PKT_BAD_IP6_EXT] = "bad IPv6 extension header chain",
        [KS_PKT_TRUNC_TCP] = "truncated TCP header",
        [KS_PKT_BAD_TCP_OFF] = "bad TCP data offset",
        [KS_PKT_TRUNC_UDP] = "truncated UDP header",
        [KS_PKT_TRUNC_ICMP] = "truncated ICMP header",
    };
    if ((unsigned)st >= KS_PKT_STATUS_COUNT)
        return "unknown";
    return names[st];
}

/* Transport header at c (the IP payload: bytes present and within the IP length). */
static enum ks_pkt_status decode_l4(struct ks_cur *c, uint32_t seg_len, struct ks_pkt *p)
{
    /* A first fragment may be too short to hold the whole transport header (tiny-fragment
     * attacks, RFC 1858): it stays a fragment without ports rather than a malformed packet. */
    bool frag = (p->flags & KS_PKT_FRAG) != 0;
    switch (p->proto) {
    case 6: {
        if (seg_len < 20 || ks_cur_left(c) < 20)
            return frag ? KS_PKT_OK : (seg_len < 20 ? KS_PKT_BAD_TCP_OFF : KS_PKT_TRUNC_TCP);
        p->sport = ks_cur_u16be(c);
        p->dport = ks_cur_u16be(c);
        p->tcp_seq = ks_cur_u32be(c);
        p->tcp_ack = ks_cur_u32be(c);
        unsigned doff = (unsigned)(ks_cur_u8(c) >> 4) * 4;
        p->tcp_flags = ks_cur_u8(c);
        ks_cur_skip(c, 6);
        if (doff < 20 || (!frag && doff > seg_len)) {
            p->tcp_flags = 0;
            p->sport = p->dport = 0;
            return frag ? KS_PKT_OK : KS_PKT_BAD_TCP_OFF;
        }
        p->flags |= KS_PKT_L4;
        if (doff > seg_len || ks_cur_left(c) < doff - 20) {
            if (frag)
                return KS_PKT_OK;
            p->flags &= (uint16_t)~KS_PKT_L4;
            return KS_PKT_TRUNC_TCP;
        }
        ks_cur_skip(c, doff - 20);
        uint32_t plen = seg_len - doff;
        if (plen > ks_cur_left(c))
            plen = (uint32_t)ks_cur_left(c);
        p->payload = ks_cur_ptr(c, plen);
        p->payload_len = plen;
        return KS_PKT_OK;
    }
    case 17:
        if (ks_cur_left(c) < 8 || seg_len < 8)
            return frag ? KS_PKT_OK : KS_PKT_TRUNC_UDP;
        p->sport = ks_cur_u16be(c);
        p->dport = ks_cur_u16be(c);
        ks_cur_skip(c, 4);
        p->flags |= KS_PKT_L4;
        {
            uint32_t plen = seg_len - 8;
            if (plen > ks_cur_left(c))
                plen = (uint32_t)ks_cur_left(c);
            p->payload = ks_cur_ptr(c, plen);
            p->payload_len = plen;
        }
        return KS_PKT_OK;
    case 1:
    case 58:
        if (ks_cur_left(c) < 4 || seg_len < 4)
            return frag ? KS_PKT_OK : KS_PKT_TRUNC_ICMP;
        p->icmp_type = ks_cur_u8(c);
        p->icmp_code = ks_cur_u8(c);
        ks_cur_skip(c, 2); /* checksum */
        p->flags |= KS_PKT_L4;
        {
            /* The payload starts with the 4-byte rest-of-header word; for errors the quoted
             * datagram follows it (RFC 792, RFC 4443 2.1). */
            uint32_t plen = seg_len - 4;
            if (plen > ks_cur_left(c))
                plen = (uint32_t)ks_cur_left(c);
            p->payload = ks_cur_ptr(c, plen);
            p->payload_len = plen;
        }
        return KS_PKT_OK;
    default:
        return KS_PKT_OK;
    }
}

/* RFC 791 3.1. c starts at the IPv4 header. */
static enum ks_pkt_status decode_ipv4(struct ks_cur *c, struct ks_pkt *p)
{
    if (ks_cur_left(c) < 20)
        return KS_PKT_TRUNC_IP;
    uint8_t vhl = ks_cur_u8(c);
    if (vhl >> 4 != 4)
        return KS_PKT_BAD_IP_VERSION;
    unsigned hlen = (unsigned)(vhl & 0x0f) * 4;
    if (hlen < 20)
        return KS_PKT_BAD_IP_HLEN;
    ks_cur_skip(c, 1);
    uint16_t total = ks_cur_u16be(c);
    ks_cur_skip(c, 2);
    uint16_t frag = ks_cur_u16be(c);
    p->ttl = ks_cur_u8(c);
    p->proto = ks_cur_u8(c);
    ks_cur_skip(c, 2);
    uint8_t a[4];
    ks_cur_bytes(c, a, 4);
    p->src.family = 4;
    memcpy(p->src.b, a, 4);
    ks_cur_bytes(c, a, 4);
    p->dst.family = 4;
    memcpy(p->dst.b, a, 4);
    p->ipver = 4;
    if (ks_cur_left(c) < hlen - 20)
        return KS_PKT_TRUNC_IP;
    if (total < hlen)
        return KS_PKT_BAD_IP_LEN;
    if (hlen > 20) {
        p->flags |= KS_PKT_IP_OPTIONS;
        ks_cur_skip(c, hlen - 20);
    }
    p->ip_len = total;
    uint32_t seg_len = total - hlen;
    if (ks_cur_left(c) < seg_len)
        p->flags |= KS_PKT_SNAPPED;
    else if (ks_cur_left(c) > seg_len)
        *c = ks_cur_sub(c, seg_len); /* drop the link layer's padding */
    if (frag & 0x3fffu) {            /* MF set or a fragment offset */
        p->flags |= KS_PKT_FRAG;
        if (frag & 0x1fffu) {
            p->flags |= KS_PKT_FRAG_LATER;
            return KS_PKT_OK;
        }
    }
    return decode_l4(c, seg_len, p);
}

/* The length byte (the second) of the extension header at c, without consuming it; 0 if absent
 * (the caller's length check then fails). */
static uint8_t ext_len_byte(const struct ks_cur *c)
{
    struct ks_cur t = *c;
    ks_cur_skip(&t, 1);
    return ks_cur_u8(&t);
}

/* RFC 8200 3 and 4. c starts at the IPv6 header. */
static enum ks_pkt_status decode_ipv6(struct ks_cur *c, struct ks_pkt *p)
{
    if (ks_cur_left(c) < 40)
        return KS_PKT_TRUNC_IP;
    if (ks_cur_peek_u8(c) >> 4 != 6)
        return KS_PKT_BAD_IP_VERSION;
    ks_cur_skip(c, 4);
    uint16_t plen = ks_cur_u16be(c);
    uint8_t nh = ks_cur_u8(c);
    p->ttl = ks_cur_u8(c);
    p->src.family = 6;
    ks_cur_bytes(c, p->src.b, 16);
    p->dst.family = 6;
    ks_cur_bytes(c, p->dst.b, 16);
    p->ipver = 6;
    p->ip_len = 40u + plen;
    uint32_t seg_len = plen;
    /* A payload length of 0 announces a jumbogram (RFC 2675): take what was captured. */
    if (plen == 0)
        seg_len = (uint32_t)ks_cur_left(c);
    else if (ks_cur_left(c) < seg_len)
        p->flags |= KS_PKT_SNAPPED;
    else if (ks_cur_left(c) > seg_len)
        *c = ks_cur_sub(c, seg_len);
    for (int n = 0;; n++) {
        uint32_t hlen;
        switch (nh) {
        case 0:   /* hop-by-hop options */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
        case 139: /* HIP */
        case 140: /* shim6 */
            hlen = ((uint32_t)ext_len_byte(c) + 1) * 8;
            break;
        case 51: /* AH, RFC 4302 2.2: length in 4-byte units minus 2 */
            hlen = ((uint32_t)ext_len_byte(c) + 2) * 4;
            break;
        case 44: /* fragment, 4.5 */
            hlen = 8;
            break;
        default:
            p->proto = nh;
            return decode_l4(c, seg_len, p);
        }
        if (n >= MAX_IP6_EXT || hlen > seg_len || ks_cur_left(c) < hlen)
            return KS_PKT_BAD_IP6_EXT;
        p->flags |= KS_PKT_IP_OPTIONS;
        struct ks_cur h = ks_cur_sub(c, hlen);
        uint8_t next = ks_cur_u8(&h);
        seg_len -= hlen;
        if (nh == 44) {
            ks_cur_skip(&h, 1);
            uint16_t offlg = ks_cur_u16be(&h);
            p->flags |= KS_PKT_FRAG;
            if (offlg >> 3) {
                p->flags |= KS_PKT_FRAG_LATER;
                p->proto = next;
                return KS_PKT_OK;
            }
        }
        nh = next;
    }
}

static enum ks_pkt_status decode_ip(struct ks_cur *c, struct ks_pkt *p, unsigned want)
{
    if (ks_cur_left(c) < 1)
        return KS_PKT_TRUNC_IP;
    unsigned v = ks_cur_peek_u8(c) >> 4;
    if (want && v != want)
        return KS_PKT_BAD_IP_VERSION;
    if (v == 4)
        return decode_ipv4(c, p);
    if (v == 6)
        return decode_ipv6(c, p);
    return KS_PKT_BAD_IP_VERSION;
}

static enum ks_pkt_status by_ethertype(struct ks_cur *c, uint16_t type, struct ks_pkt *p)
{
    switch (type) {
    case ETH_IPV4:
        return decode_ip(c, p, 4);
    case ETH_IPV6:
        return decode_ip(c, p, 6);
    case ETH_PPPOE_SESSION: { /* RFC 2516 4: ver/type, code, session, length; RFC 1661 PPP */
        if (ks_cur_left(c) < 8)
            return KS_PKT_TRUNC_LINK;
        ks_cur_skip(c, 6);
        uint16_t ppp = ks_cur_u16be(c);
        if (ppp == 0x0021)
            return decode_ip(c, p, 4);
        if (ppp == 0x0057)
            return decode_ip(c, p, 6);
        return KS_PKT_NOT_IP;
    }
    case ETH_MPLS:
    case ETH_MPLS_MC: /* RFC 3032: labels until bottom of stack, then (usually) IP */
        for (int n = 0;; n++) {
            if (ks_cur_left(c) < 4)
                return KS_PKT_TRUNC_LINK;
            if (n >= MAX_VLAN_TAGS)
                return KS_PKT_BAD_VLAN;
            uint32_t lse = ks_cur_u32be(c);
            if (lse & 0x100u)
                break;
        }
        return decode_ip(c, p, 0);
    default:
        return KS_PKT_NOT_IP;
    }
}

/* BSD AF_ values for IPv6 differ between systems (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28,
 * macOS 30); AF_INET is 2 everywhere. */
static unsigned null_family(uint32_t af)
{
    if (af == 2)
        return 4;
    if (af == 10 || af == 24 || af == 28 || af == 30)
        return 6;
    return 0;
}

enum ks_pkt_status ks_pkt_decode(int link, const uint8_t *data, uint32_t cap_len, uint32_t wire_len,
                                 struct ks_pkt *p)
{
    if (link == KS_LINK_ETHERNET && ks_pkt_decode_fast(data, cap_len, wire_len, p))
        return KS_PKT_OK;
    p->src.family = p->dst.family = 0;
    memset(p->src.b, 0, 16);
    memset(p->dst.b, 0, 16);
    p->ipver = p->proto = p->tcp_flags = p->ttl = 0;
    p->flags = 0;
    p->sport = p->dport = 0;
    p->tcp_seq = p->tcp_ack = 0;
    p->icmp_type = p->icmp_code = 0;
    p->vlan = 0;
    p->wire_len = wire_len;
    p->cap_len = cap_len;
    p->ip_len = 0;
    p->payload = NULL;
    p->payload_len = 0;

    struct ks_cur c = ks_cur_make(data, cap_len);
    switch (link) {
    case KS_LINK_ETHERNET: {
        if (ks_cur_left(&c) < 14)
            return KS_PKT_TRUNC_LINK;
        ks_cur_skip(&c, 12);
        uint16_t type = ks_cur_u16be(&c);
        for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD; tags++) {
            if (tags >= MAX_VLAN_TAGS)
                return KS_PKT_BAD_VLAN;
            if (ks_cur_left(&c) < 4)
                return KS_PKT_TRUNC_LINK;
            uint16_t tci = ks_cur_u16be(&c);
            if (tags == 0)
                p->vlan = tci & 0x0fffu;
            p->flags |= KS_PKT_VLAN;
            type = ks_cur_u16be(&c);
        }
        return by_ethertype(&c, type, p);
    }
    case KS_LINK_SLL: /* pkttype, hatype, halen, 8 address bytes, protocol */
        if (ks_cur_left(&c) < 16)
            return KS_PKT_TRUNC_LINK;
        ks_cur_skip(&c, 14);
        return by_ethertype(&c, ks_cur_u16be(&c), p);
    case KS_LINK_SLL2: { /* protocol, reserved, ifindex, hatype, pkttype, halen, address */
        if (ks_cur_left(&c) < 20)
            return KS_PKT_TRUNC_LINK;
        uint16_t type = ks_cur_u16be(&c);
        ks_cur_skip(&c, 18);
        return by_ethertype(&c, type, p);
    }
    case KS_LINK_RAW:
    case 12: /* DLT_RAW on most systems */
    case 14: /* DLT_RAW on OpenBSD */
        return decode_ip(&c, p, 0);
    case KS_LINK_IPV4:
        return decode_ip(&c, p, 4);
    case KS_LINK_IPV6:
        return decode_ip(&c, p, 6);
    case KS_LINK_NULL:
    case KS_LINK_LOOP: {
        if (ks_cur_left(&c) < 4)
            return KS_PKT_TRUNC_LINK;
        struct ks_cur le = c;
        uint32_t af_be = ks_cur_u32be(&c);
        uint32_t af_le = ks_cur_u32le(&le);
        unsigned v = null_family(af_be);
        if (!v)
            v = null_family(af_le);
        if (!v)
            return KS_PKT_NOT_IP;
        return decode_ip(&c, p, v);
    }
    default:
        return KS_PKT_BAD_LINKTYPE;
    }
}

void ks_capture_count(struct ks_capture_stats *st, enum ks_pkt_status status,
                      const struct ks_pkt *p)
{
    ks_capture_count_inline(st, status, p);
}
