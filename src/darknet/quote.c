/* The datagram quoted in ICMP error messages: RFC 792 (IPv4: the original IP header and the
 * first 64 bits of its data), RFC 4443 2.4 (ICMPv6: as much of the invoking packet as fits). */
#include "core/cur.h"
#include "kansoku/ks_darknet.h"

int ks_darknet_icmp_quoted(const uint8_t *body, size_t len, struct ks_addr *dst, uint8_t *proto,
                           uint16_t *dport)
{
    struct ks_cur c = ks_cur_make(body, len);
    uint8_t pr = 0;
    uint16_t port = 0;
    memset(dst, 0, sizeof *dst);
    if (proto)
        *proto = 0;
    if (dport)
        *dport = 0;
    if (ks_cur_left(&c) < 1)
        return KS_ETRUNC;
    unsigned version = (unsigned)ks_cur_peek_u8(&c) >> 4;
    size_t after; /* bytes of the quoted header before its transport header */
    if (version == 4) {
        unsigned hlen = (unsigned)(ks_cur_u8(&c) & 0x0f) * 4;
        ks_cur_skip(&c, 8);
        pr = ks_cur_u8(&c);
        ks_cur_skip(&c, 6);
        uint8_t b[4];
        ks_cur_bytes(&c, b, 4);
        if (ks_cur_err(&c))
            return KS_ETRUNC;
        if (hlen < 20)
            return KS_EFORMAT;
        ks_addr_from_v4(dst,
                        (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
        after = hlen - 20;
    } else if (version == 6) {
        ks_cur_skip(&c, 6);
        pr = ks_cur_u8(&c);
        ks_cur_skip(&c, 17);
        uint8_t b[16];
        ks_cur_bytes(&c, b, 16);
        if (ks_cur_err(&c))
            return KS_ETRUNC;
        ks_addr_from_v6(dst, b);
        after = 0; /* extension headers are not walked: ports only after a plain header */
    } else {
        return KS_EFORMAT;
    }
    if (pr == 6 || pr == 17) {
        ks_cur_skip(&c, after + 2);
        port = ks_cur_u16be(&c);
        if (ks_cur_err(&c))
            port = 0;
    }
    if (proto)
        *proto = pr;
    if (dport)
        *dport = port;
    return KS_OK;
}
