/* DNS message parsing (RFC 1035 4.1, RFC 6891 for OPT, RFC 7766 for TCP framing), through the
 * bounded cursor. Names are decompressed with every pointer aimed strictly before the last
 * place a pointer led to (RFC 1035 4.1.4: a pointer refers to a *prior* occurrence), so the
 * number of jumps is bounded by the message length and no input can loop. */
#include "kansoku/ks_dns.h"

#include "core/cur.h"

#include <string.h>

/* Reads a name from the linear cursor c (bounded: a question, a record, an RDATA), following
 * compression pointers anywhere in msg[0..len). c ends past the name's bytes in place (past the
 * first pointer). c's offsets are offsets in msg. */
static int read_name_slow(const uint8_t *msg, size_t len, struct ks_cur *c, struct ks_dns_name *out)
{
    struct ks_cur r = *c;
    size_t limit = ks_cur_offset(c);
    bool jumped = false;
    out->len = 0;
    for (;;) {
        uint8_t b = ks_cur_u8(&r);
        if (ks_cur_err(&r))
            goto trunc;
        if ((b & 0xc0u) == 0xc0u) {
            uint8_t lo = ks_cur_u8(&r);
            if (ks_cur_err(&r))
                goto trunc;
            size_t target = (size_t)(b & 0x3fu) << 8 | lo;
            if (!jumped) {
                *c = r;
                jumped = true;
            }
            if (target >= limit || target >= len)
                goto bad;
            limit = target;
            r = ks_cur_make(msg, len);
            ks_cur_skip(&r, target);
            continue;
        }
        if (b & 0xc0u) /* 01 and 10: extended / reserved label types */
            goto bad;
        if ((size_t)out->len + 1 + b > KS_DNS_NAME_MAX)
            goto bad;
        out->wire[out->len++] = b;
        if (b == 0)
            break;
        if (ks_cur_bytes(&r, out->wire + out->len, b) != KS_OK)
            goto trunc;
        out->len = (uint8_t)(out->len + b);
    }
    if (!jumped)
        *c = r;
    return KS_OK;
trunc:
    ks_cur_fail(c, KS_ETRUNC);
    return KS_ETRUNC;
bad:
    ks_cur_fail(c, KS_EFORMAT);
    return KS_EFORMAT;
}

/* memcpy(dst, src, n) for a name's n <= 255 bytes, in fixed 16-byte pieces (a few
 * instructions each; a copy of n bytes is a call): the last piece overlaps the one before. */
static inline void copy_name(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n < 16) {
        memcpy(dst, src, n);
        return;
    }
    for (size_t j = 0; j + 16 < n; j += 16)
        memcpy(dst + j, src + j, 16);
    memcpy(dst + n - 16, src + n - 16, 16);
}

/* read_name for the usual name, one without compression pointers (questions nearly always):
 * its labels are walked in place and copied at once. Anything else (a pointer, a bad label
 * type, a name too long or cut short) goes the general way, which reports it. */
static inline int read_name(const uint8_t *msg, size_t len, struct ks_cur *c,
                            struct ks_dns_name *out)
{
    const uint8_t *s = c->p;
    size_t left = ks_cur_left(c), i = 0;
    for (;;) {
        if (i >= left)
            return read_name_slow(msg, len, c, out);
        uint8_t b = s[i];
        if (b == 0)
            break;
        i += (size_t)b + 1;
        if ((b & 0xc0u) || i >= KS_DNS_NAME_MAX)
            return read_name_slow(msg, len, c, out);
    }
    i++; /* the root label */
    copy_name(out->wire, s, i);
    out->len = (uint8_t)i;
    ks_cur_skip(c, i);
    return KS_OK;
}

static int read_rr(const uint8_t *msg, size_t len, struct ks_cur *c, uint8_t section,
                   struct ks_dns_msg *m)
{
    struct ks_dns_rr tmp;
    struct ks_dns_rr *rr = m->nrr < KS_DNS_MAX_RR ? &m->rr[m->nrr] : &tmp;
    int rc = read_name(msg, len, c, &rr->name);
    if (rc != KS_OK)
        return rc;
    rr->type = ks_cur_u16be(c);
    rr->cls = ks_cur_u16be(c);
    rr->ttl = ks_cur_u32be(c);
    rr->rdlen = ks_cur_u16be(c);
    struct ks_cur rd = ks_cur_sub(c, rr->rdlen);
    if (ks_cur_err(c))
        return KS_ETRUNC;
    rr->section = section;
    rr->rdata = ks_cur_ptr(&rd, 0);
    rr->target.len = 0;
    switch (rr->type) {
    case KS_DNS_TYPE_A:
        if (rr->rdlen != 4)
            return KS_EFORMAT;
        break;
    case KS_DNS_TYPE_AAAA:
        if (rr->rdlen != 16)
            return KS_EFORMAT;
        break;
    case KS_DNS_TYPE_MX:
        ks_cur_skip(&rd, 2);
        /* fall through */
    case KS_DNS_TYPE_NS:
    case KS_DNS_TYPE_CNAME:
    case KS_DNS_TYPE_DNAME:
    case KS_DNS_TYPE_PTR:
        rc = read_name(msg, len, &rd, &rr->target);
        if (rc == KS_OK && ks_cur_err(&rd))
            rc = KS_ETRUNC;
        if (rc != KS_OK)
            return rc;
        if (ks_cur_left(&rd))
            return KS_EFORMAT; /* bytes after the name */
        break;
    case KS_DNS_TYPE_OPT:
        /* RFC 6891 6.1.2: owner is the root; CLASS is the payload size; TTL carries the
         * extended RCODE, the version and the DO bit. Only in the additional section. */
        if (section != KS_DNS_ADDITIONAL || rr->name.len != 1)
            return KS_EFORMAT;
        if (!m->edns) {
            m->edns = true;
            m->edns_udp_size = rr->cls;
            m->edns_version = (uint8_t)(rr->ttl >> 16);
            m->edns_do = (rr->ttl & 0x8000u) != 0;
            m->rcode = (uint16_t)((rr->ttl >> 24) << 4 | KS_DNS_RCODE(m->flags));
        }
        break;
    default:
        break;
    }
    m->rr_seen++;
    if (rr != &tmp)
        m->nrr++;
    return KS_OK;
}

/* ks_dns_parse(KS_DNS_PARSE_QUESTION) of the usual message, straight from the buffer: a whole
 * header and a first question whose name has no compression pointer. False (*m then holds
 * nothing the general path does not set again) for anything else. */
static inline bool parse_question_fast(const uint8_t *buf, size_t len, struct ks_dns_msg *m)
{
    if (len < 12 + 1 + 4)
        return false;
    const uint8_t *s = buf + 12;
    size_t left = len - 12 - 4, i = 0; /* the name must leave room for type and class */
    for (;;) {
        if (i >= left)
            return false;
        uint8_t b = s[i];
        if (b == 0)
            break;
        i += (size_t)b + 1;
        if ((b & 0xc0u) || i >= KS_DNS_NAME_MAX)
            return false;
    }
    if (!(buf[4] | buf[5]))
        return false; /* no question */
    i++;
    copy_name(m->qname.wire, s, i);
    m->qname.len = (uint8_t)i;
    m->id = (uint16_t)(buf[0] << 8 | buf[1]);
    m->flags = (uint16_t)(buf[2] << 8 | buf[3]);
    m->qdcount = (uint16_t)(buf[4] << 8 | buf[5]);
    m->ancount = (uint16_t)(buf[6] << 8 | buf[7]);
    m->nscount = (uint16_t)(buf[8] << 8 | buf[9]);
    m->arcount = (uint16_t)(buf[10] << 8 | buf[11]);
    m->qtype = (uint16_t)(s[i] << 8 | s[i + 1]);
    m->qclass = (uint16_t)(s[i + 2] << 8 | s[i + 3]);
    m->has_question = true;
    m->edns = m->edns_do = false;
    m->edns_version = 0;
    m->edns_udp_size = 0;
    m->rcode = KS_DNS_RCODE(m->flags);
    m->nrr = m->rr_seen = 0;
    return true;
}

int ks_dns_parse(const uint8_t *buf, size_t len, unsigned flags, struct ks_dns_msg *m)
{
    if (!(flags & KS_DNS_PARSE_ALL) && parse_question_fast(buf, len, m))
        return KS_OK;
    struct ks_cur c = ks_cur_make(buf, len);
    if (len >= 12) {
        m->id = (uint16_t)(buf[0] << 8 | buf[1]);
        m->flags = (uint16_t)(buf[2] << 8 | buf[3]);
        m->qdcount = (uint16_t)(buf[4] << 8 | buf[5]);
        m->ancount = (uint16_t)(buf[6] << 8 | buf[7]);
        m->nscount = (uint16_t)(buf[8] << 8 | buf[9]);
        m->arcount = (uint16_t)(buf[10] << 8 | buf[11]);
        ks_cur_skip(&c, 12);
    } else {
        m->id = ks_cur_u16be(&c);
        m->flags = ks_cur_u16be(&c);
        m->qdcount = ks_cur_u16be(&c);
        m->ancount = ks_cur_u16be(&c);
        m->nscount = ks_cur_u16be(&c);
        m->arcount = ks_cur_u16be(&c);
    }
    m->has_question = false;
    m->qname.len = 0;
    m->qtype = m->qclass = 0;
    m->edns = m->edns_do = false;
    m->edns_version = 0;
    m->edns_udp_size = 0;
    m->rcode = KS_DNS_RCODE(m->flags);
    m->nrr = m->rr_seen = 0;
    if (ks_cur_err(&c))
        return KS_ETRUNC;
    for (unsigned i = 0; i < m->qdcount; i++) {
        struct ks_dns_name n;
        int rc = read_name(buf, len, &c, i == 0 ? &m->qname : &n);
        if (rc != KS_OK)
            return rc;
        uint16_t qt = ks_cur_u16be(&c), qc = ks_cur_u16be(&c);
        if (ks_cur_err(&c))
            return KS_ETRUNC;
        if (i == 0) {
            m->qtype = qt;
            m->qclass = qc;
            m->has_question = true;
            if (!(flags & KS_DNS_PARSE_ALL))
                return KS_OK;
        }
    }
    if (!(flags & KS_DNS_PARSE_ALL))
        return KS_OK;
    static const uint8_t sect[3] = {KS_DNS_ANSWER, KS_DNS_AUTHORITY, KS_DNS_ADDITIONAL};
    const uint16_t count[3] = {m->ancount, m->nscount, m->arcount};
    for (int s = 0; s < 3; s++)
        for (unsigned i = 0; i < count[s]; i++) {
            int rc = read_rr(buf, len, &c, sect[s], m);
            if (rc != KS_OK)
                return rc;
        }
    return KS_OK;
}

size_t ks_dns_name_format(const struct ks_dns_name *n, char *buf, size_t size)
{
    size_t o = 0;
    if (size == 0)
        return 0;
    struct ks_cur c = ks_cur_make(n->wire, n->len);
    bool first = true;
    for (;;) {
        uint8_t l = ks_cur_u8(&c);
        if (l == 0 || ks_cur_err(&c))
            break;
        const uint8_t *p = ks_cur_ptr(&c, l);
        if (!p)
            break;
        if (!first && o + 1 < size)
            buf[o++] = '.';
        first = false;
        for (unsigned i = 0; i < l; i++) {
            uint8_t ch = p[i];
            char esc[5];
            size_t w;
            if (ch == '.' || ch == '\\') {
                esc[0] = '\\';
                esc[1] = (char)ch;
                w = 2;
            } else if (ch < 0x21 || ch > 0x7e) {
                esc[0] = '\\';
                esc[1] = (char)('0' + ch / 100);
                esc[2] = (char)('0' + ch / 10 % 10);
                esc[3] = (char)('0' + ch % 10);
                w = 4;
            } else {
                esc[0] = (char)ch;
                w = 1;
            }
            if (o + w >= size)
                goto out;
            memcpy(buf + o, esc, w);
            o += w;
        }
    }
    if (first && o + 1 < size)
        buf[o++] = '.';
out:
    buf[o] = '\0';
    return o;
}

unsigned ks_dns_tcp_split(const uint8_t *payload, size_t len,
                          void (*fn)(void *user, const uint8_t *msg, size_t len), void *user,
                          bool *partial)
{
    struct ks_cur c = ks_cur_make(payload, len);
    unsigned n = 0;
    bool part = false;
    while (ks_cur_left(&c) > 0) {
        if (ks_cur_left(&c) < 2) {
            part = true;
            break;
        }
        uint16_t l = ks_cur_u16be(&c);
        if (l > ks_cur_left(&c)) {
            part = true;
            break;
        }
        const uint8_t *msg = ks_cur_ptr(&c, l);
        fn(user, msg, l);
        n++;
    }
    if (partial)
        *partial = part;
    return n;
}
