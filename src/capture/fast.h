/* The capture module's hot path, inline for reader.c as well as decode.c (internal). */
#ifndef KS_CAPTURE_FAST_H
#define KS_CAPTURE_FAST_H

#include "kansoku/ks_capture.h"

#include <string.h>

static inline uint16_t ks_be16(const uint8_t *b)
{
    return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static inline uint32_t ks_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The common case in one pass, without the cursor: Ethernet without tags, IPv4 without
 * options, not a fragment, a whole UDP header or a TCP header with a sane data offset, all
 * captured. Returns false, having written nothing, for anything else, which the general path
 * then decodes; what it accepts it fills exactly as the general path would. */
static inline bool ks_pkt_decode_fast(const uint8_t *data, uint32_t cap_len, uint32_t wire_len,
                                      struct ks_pkt *p)
{
    if (cap_len < 14 + 20 + 8 || ks_be16(data + 12) != 0x0800u || data[14] != 0x45)
        return false;
    const uint8_t *ip = data + 14;
    uint32_t total = ks_be16(ip + 2);
    if (total < 20 || (ks_be16(ip + 6) & 0x3fffu))
        return false;
    uint8_t proto = ip[9];
    uint32_t seg_len = total - 20, left = cap_len - 34;
    uint16_t flags = KS_PKT_L4;
    if (left < seg_len)
        flags |= KS_PKT_SNAPPED;
    else
        left = seg_len; /* drop the link layer's padding */
    const uint8_t *l4 = ip + 20;
    uint32_t hlen;
    uint8_t tcp_flags = 0;
    uint32_t seq = 0, ack = 0;
    if (proto == 17) {
        if (left < 8)
            return false;
        hlen = 8;
    } else if (proto == 6) {
        if (left < 20)
            return false;
        hlen = (uint32_t)(l4[12] >> 4) * 4;
        if (hlen < 20 || hlen > seg_len || left < hlen)
            return false;
        seq = ks_be32(l4 + 4);
        ack = ks_be32(l4 + 8);
        tcp_flags = l4[13];
    } else {
        return false;
    }
    memset(&p->src, 0, sizeof p->src);
    memset(&p->dst, 0, sizeof p->dst);
    p->src.family = p->dst.family = 4;
    memcpy(p->src.b, ip + 12, 4);
    memcpy(p->dst.b, ip + 16, 4);
    p->ipver = 4;
    p->proto = proto;
    p->tcp_flags = tcp_flags;
    p->ttl = ip[8];
    p->flags = flags;
    p->sport = ks_be16(l4);
    p->dport = ks_be16(l4 + 2);
    p->icmp_type = p->icmp_code = 0;
    p->vlan = 0;
    p->wire_len = wire_len;
    p->cap_len = cap_len;
    p->ip_len = total;
    p->payload = l4 + hlen;
    p->payload_len = left - hlen;
    p->tcp_seq = seq;
    p->tcp_ack = ack;
    return true;
}

/* ks_capture_count (ks_capture.h). */
static inline void ks_capture_count_inline(struct ks_capture_stats *st, enum ks_pkt_status status,
                                           const struct ks_pkt *p)
{
    st->packets++;
    st->bytes += p->wire_len;
    if ((unsigned)status < KS_PKT_STATUS_COUNT)
        st->by_status[status]++;
    if (status == KS_PKT_NOT_IP) {
        st->not_ip++;
        return;
    }
    if (status != KS_PKT_OK) {
        st->bad++;
        return;
    }
    st->decoded++;
    if (p->ipver == 4)
        st->ipv4++;
    else
        st->ipv6++;
    if (p->flags & KS_PKT_FRAG) {
        if (p->flags & KS_PKT_FRAG_LATER)
            st->frag_later++;
        else
            st->frag_first++;
    }
    switch (p->proto) {
    case 6:
        st->tcp++;
        break;
    case 17:
        st->udp++;
        break;
    case 1:
        st->icmp++;
        break;
    case 58:
        st->icmp6++;
        break;
    default:
        st->other++;
    }
}

#endif
