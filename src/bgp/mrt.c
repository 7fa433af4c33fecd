/* MRT reader (RFC 6396) and its bgpdump -m formatter.
 *
 * Records are decoded the way Debian's bgpdump 1.6.2 decodes them, including what it does
 * with damaged records (a read past the end of a field yields zeros; a truncated attribute
 * ends the attribute list; a prefix cut short ends its list), so that `kansoku bgp dump` and
 * `bgpdump -m` can be compared line for line. Where bgpdump would crash or loop (an ADD-PATH
 * RIB entry naming a peer missing from the index table, a zero-length AS_SEQUENCE merged with
 * AS4_PATH) the record is counted as malformed instead. */
#include "kansoku/ks_bgp.h"

#include "bgp/bgp_int.h"
#include "core/cur.h"
#include "core/fmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 6396 2-4: record types and subtypes. */
enum {
    MRT_MRTD_BGP = 5, /* legacy (RFC 6396 appendix B) */
    MRT_TABLE_DUMP = 12,
    MRT_TABLE_DUMP_V2 = 13,
    MRT_BGP4MP = 16,
    MRT_BGP4MP_ET = 17,
};
enum {
    TD2_PEER_INDEX = 1,
    TD2_RIB_IPV4_UNICAST = 2,
    TD2_RIB_IPV6_UNICAST = 4,
    TD2_RIB_IPV4_UNICAST_AP = 8, /* RFC 8050 */
    TD2_RIB_IPV6_UNICAST_AP = 10,
};
enum {
    B4_STATE = 0,
    B4_MESSAGE = 1,
    B4_MESSAGE_AS4 = 4,
    B4_STATE_AS4 = 5,
    B4_MESSAGE_LOCAL = 6,
    B4_MESSAGE_AS4_LOCAL = 7,
    B4_MESSAGE_AP = 8, /* RFC 8050 */
    B4_MESSAGE_AS4_AP = 9,
    B4_MESSAGE_LOCAL_AP = 10,
    B4_MESSAGE_AS4_LOCAL_AP = 11,
};
/* RFC 4271 4.3 / 5.1 path attributes. */
enum {
    A_ORIGIN = 1,
    A_AS_PATH = 2,
    A_NEXT_HOP = 3,
    A_MED = 4,
    A_LOCAL_PREF = 5,
    A_ATOMIC = 6,
    A_AGGREGATOR = 7,
    A_COMMUNITIES = 8,
    A_MP_REACH = 14,   /* RFC 4760 */
    A_MP_UNREACH = 15, /* RFC 4760 */
    A_AS4_PATH = 17,   /* RFC 6793 */
    A_AS4_AGGREGATOR = 18,
};
enum { SEG_SET = 1, SEG_SEQUENCE = 2, SEG_CONFED_SEQUENCE = 3, SEG_CONFED_SET = 4 };
#define AS_TRANS 23456u /* RFC 6793 */
#define FLAG(t) (1u << ((t)-1))
#define PATH_STR_MAX 8000 /* bgpdump cuts AS paths near this length with "..." */
#define COMM_STR_MAX 8191 /* and communities at BUFSIZ - 1 */
#define LINE_RESERVE (PATH_STR_MAX + COMM_STR_MAX + 1024)
#define MERGE_MAX 65536 /* merged AS paths past this size print the same text */

struct mp_nlri {
    bool present;
    uint8_t nh_len;
    uint8_t nh[32];
    struct ks_cur nlri;
};

struct attrs {
    uint32_t flag;
    int origin;
    uint8_t nexthop[4];
    uint32_t med, lp;
    uint32_t aggr_as, new_aggr_as;
    uint8_t aggr_ip[4], new_aggr_ip[4];
    bool has_path, has_new_path;
    const uint8_t *path, *new_path;
    size_t path_len, new_path_len;
    uint8_t asn_len;
    const uint8_t *comm;
    size_t comm_len;
    bool has_comm;
    struct mp_nlri reach[3][4], unreach[3][4]; /* [afi 1..2][safi 1..3] */
    /* derived */
    const uint8_t *fpath; /* the final path (AS_PATH, or merged with AS4_PATH) */
    size_t fpath_len;
    uint8_t fpath_asn;
    const char *path_str; /* NULL: no AS_PATH */
    size_t path_str_len;
    uint8_t origin_kind;
    uint32_t origin_as;
    const char *comm_str;
    size_t comm_str_len;
};

struct buf {
    char *p;
    size_t len, cap;
};

struct peer {
    uint8_t afi6; /* the peer's address is IPv6 */
    uint8_t ip[16];
    uint32_t as;
};

struct ks_mrt {
    struct ks_mrt_config cfg;
    struct ks_diag diag;
    bool has_diag;
    uint32_t reported;
    char *name;
    struct mrt_src *src;
    /* input window: buf[start, end) holds unread bytes; base = stream offset of buf[0] */
    uint8_t *in;
    size_t in_cap, start, end;
    uint64_t base;
    bool eof, mem;
    int err;
    /* the current record */
    struct ks_mrt_record rec;
    uint32_t usec;
    bool et;
    struct ks_bgp_elem *elems;
    size_t n_elems, elems_cap;
    struct buf text;  /* bgpdump lines */
    struct buf arena; /* AS path texts of the elements */
    char path_str[PATH_STR_MAX + 8];
    char comm_str[COMM_STR_MAX + 64];
    uint8_t *merge;
    size_t merge_cap;
    char time_str[40];
    size_t time_len;
    /* TABLE_DUMP_V2 peer index */
    struct peer *peers;
    uint32_t n_peers, peers_cap;
    bool have_peers;
    struct ks_mrt_stats st;
};

/* ---- small helpers ------------------------------------------------------------------------ */

/* bgpdump's stream: a read past the end gives zeros and leaves the stream at its end. */
static void lz_bytes(struct ks_cur *c, void *dst, size_t n)
{
    size_t k = n < c->left ? n : c->left;
    const uint8_t *q = ks_cur_ptr(c, k);
    if (dst) {
        if (k && q)
            memcpy(dst, q, k);
        if (n > k)
            memset((uint8_t *)dst + k, 0, n - k);
    }
}

static uint8_t lz_u8(struct ks_cur *c)
{
    uint8_t b = 0;
    lz_bytes(c, &b, 1);
    return b;
}

static uint16_t lz_u16(struct ks_cur *c)
{
    uint8_t b[2];
    lz_bytes(c, b, 2);
    return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t lz_u32(struct ks_cur *c)
{
    uint8_t b[4];
    lz_bytes(c, b, 4);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static struct ks_cur lz_sub(struct ks_cur *c, size_t n)
{
    return ks_cur_sub(c, n < c->left ? n : c->left);
}

static int buf_reserve(struct buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return KS_OK;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->len < more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return KS_ENOMEM;
    b->p = p;
    b->cap = cap;
    return KS_OK;
}

static inline char *put_str(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

#define PUT_LIT(o, s) put_str((o), (s), sizeof(s) - 1)

static inline char *put_u32(char *o, uint32_t v)
{
    return ks_put_u64(o, v);
}

static inline char *put_i32(char *o, int32_t v)
{
    if (v < 0) {
        *o++ = '-';
        return put_u32(o, (uint32_t)0 - (uint32_t)v);
    }
    return put_u32(o, (uint32_t)v);
}

static inline char *put_ipv4(char *o, const uint8_t *b)
{
    o = put_u32(o, b[0]);
    *o++ = '.';
    o = put_u32(o, b[1]);
    *o++ = '.';
    o = put_u32(o, b[2]);
    *o++ = '.';
    return put_u32(o, b[3]);
}

/* bgpdump's IPv6 text: ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, last word > 1) keep
 * the dotted quad; otherwise the longest run of zero groups (the first of equals, even a single
 * group) becomes "::", groups in lowercase hex without leading zeros. */
static char *put_ipv6(char *o, const uint8_t *b)
{
    static const char hex[] = "0123456789abcdef";
    bool zero10 = true;
    for (int i = 0; i < 10; i++)
        zero10 = zero10 && b[i] == 0;
    if (zero10 && b[10] == 0xff && b[11] == 0xff) {
        o = PUT_LIT(o, "::ffff:");
        return put_ipv4(o, b + 12);
    }
    uint32_t last = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
    if (zero10 && b[10] == 0 && b[11] == 0 && last > 1) {
        o = PUT_LIT(o, "::");
        return put_ipv4(o, b + 12);
    }
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (b[2 * i] == 0 && b[2 * i + 1] == 0) {
            int j = i;
            while (j < 8 && b[2 * j] == 0 && b[2 * j + 1] == 0)
                j++;
            if (j - i > best_len) {
                best = i;
                best_len = j - i;
            }
            i = j;
        } else {
            i++;
        }
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            if (i == 0)
                *o++ = ':';
            *o++ = ':';
            i += best_len - 1;
            continue;
        }
        unsigned g = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
        bool lead = true;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (g >> sh) & 15;
            if (d || !lead || sh == 0) {
                *o++ = hex[d];
                lead = false;
            }
        }
        if (i != 7)
            *o++ = ':';
    }
    return o;
}

size_t ks_bgp_format_ipv6(const uint8_t b[16], char *buf, size_t size)
{
    char tmp[64];
    size_t n = (size_t)(put_ipv6(tmp, b) - tmp);
    if (!buf || size <= n) {
        if (buf && size)
            buf[0] = '\0';
        return 0;
    }
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}

static void report(struct ks_mrt *m, int err, const char *fmt, const char *what)
{
    if (!m->has_diag)
        return;
    struct ks_loc loc = {m->name, m->rec.offset, 0, m->rec.index, 0};
    ks_diag_report(&m->diag, &m->reported, "bgp", &loc, err, fmt, what);
}

/* ---- AS paths and communities ------------------------------------------------------------- */

/* The text of an AS path as bgpdump writes it: sequences space-separated, {sets} and
 * (confed sequences) / [confed sets] delimited, "! Error !" for a malformed path, cut with
 * "..." past PATH_STR_MAX. Also counts its length (sets count 1, RFC 4271 9.1.2.2) and finds
 * the origin. */
static size_t path_text(const uint8_t *p, size_t len, unsigned asn_len, char *str, int *count,
                        uint8_t *okind, uint32_t *oas)
{
    static const char open_c[5] = {' ', '{', ' ', '(', '['};
    static const char close_c[5] = {' ', '}', ' ', ')', ']'};
    size_t pos = 0, at = 0;
    bool space = false;
    unsigned type = SEG_SEQUENCE, last_type = 0;
    int cnt = 0;
    *okind = KS_BGP_ORIGIN_NONE;
    *oas = 0;
    while (at < len) {
        unsigned st = p[at];
        unsigned sl = at + 1 < len ? p[at + 1] : 0;
        if (st < SEG_SET || st > SEG_CONFED_SET || at + 2 + (size_t)sl * asn_len > len) {
            memcpy(str, "! Error !", 9);
            *count = 0;
            *okind = KS_BGP_ORIGIN_NONE;
            return 9;
        }
        if (type != SEG_SEQUENCE)
            str[pos++] = close_c[type];
        if (space)
            str[pos++] = ' ';
        if (st != SEG_SEQUENCE)
            str[pos++] = open_c[st];
        space = false;
        cnt += (st == SEG_SEQUENCE || st == SEG_CONFED_SEQUENCE) ? (int)sl : 1;
        const uint8_t *d = p + at + 2;
        for (unsigned i = 0; i < sl; i++) {
            if (space)
                str[pos++] = (st == SEG_SET || st == SEG_CONFED_SET) ? ',' : ' ';
            else
                space = true;
            uint32_t as = asn_len == 2 ? (uint32_t)d[2 * i] << 8 | d[2 * i + 1]
                                       : (uint32_t)d[4 * i] << 24 | (uint32_t)d[4 * i + 1] << 16 |
                                             (uint32_t)d[4 * i + 2] << 8 | d[4 * i + 3];
            pos = (size_t)(put_u32(str + pos, as) - str);
            if (sl) {
                *oas = as;
                last_type = st;
            }
            if (pos > PATH_STR_MAX - 100) {
                memcpy(str + pos, "...", 3);
                *count = cnt;
                *okind = KS_BGP_ORIGIN_NONE;
                return pos + 3;
            }
        }
        type = st;
        at += 2 + (size_t)sl * asn_len;
    }
    if (len && type != SEG_SEQUENCE)
        str[pos++] = close_c[type];
    *count = cnt;
    if (last_type == SEG_SEQUENCE || last_type == SEG_CONFED_SEQUENCE)
        *okind = KS_BGP_ORIGIN_AS;
    else if (last_type)
        *okind = KS_BGP_ORIGIN_SET;
    return pos;
}

/* RFC 6793 4.2.3: the AS_PATH of a 2-byte session with AS4_PATH: the first
 * (count(AS_PATH) - count(AS4_PATH)) ASes of AS_PATH, then AS4_PATH. Like bgpdump, the
 * leading part is taken from the first segment (repeated if it is too short). */
static bool merge_as4(struct ks_mrt *m, struct attrs *a, int path_count, int new_count)
{
    int need = path_count - new_count;
    size_t len = 0;
    const uint8_t *seg = a->path;
    int got = 0;
    while (got < need) {
        unsigned st = seg[0], sl = seg[1];
        size_t sz = 2 + (size_t)sl * 4;
        if (len + sz > MERGE_MAX)
            break;
        if (st == SEG_SEQUENCE || st == SEG_CONFED_SEQUENCE) {
            if (sl == 0)
                return false; /* bgpdump loops forever here */
        }
        if (m->merge_cap < len + sz) {
            size_t cap = m->merge_cap ? m->merge_cap * 2 : 4096;
            while (cap < len + sz)
                cap *= 2;
            uint8_t *q = realloc(m->merge, cap);
            if (!q)
                return false;
            m->merge = q;
            m->merge_cap = cap;
        }
        uint8_t *o = m->merge + len;
        o[0] = (uint8_t)st;
        o[1] = (uint8_t)sl;
        for (unsigned i = 0; i < sl; i++) {
            o[2 + 4 * i] = 0;
            o[3 + 4 * i] = 0;
            o[4 + 4 * i] = seg[2 + 2 * i];
            o[5 + 4 * i] = seg[3 + 2 * i];
        }
        len += sz;
        if (st == SEG_SET || st == SEG_CONFED_SET) {
            got += 1;
        } else {
            got += (int)sl;
            if (got > need) {
                unsigned cut = (unsigned)(got - need);
                o[1] = (uint8_t)(sl - cut);
                len -= (size_t)cut * 4;
            }
        }
    }
    if (m->merge_cap < len + a->new_path_len) {
        size_t cap = m->merge_cap ? m->merge_cap : 4096;
        while (cap < len + a->new_path_len)
            cap *= 2;
        uint8_t *q = realloc(m->merge, cap);
        if (!q)
            return false;
        m->merge = q;
        m->merge_cap = cap;
    }
    if (a->new_path_len)
        memcpy(m->merge + len, a->new_path, a->new_path_len);
    a->fpath = m->merge;
    a->fpath_len = len + a->new_path_len;
    a->fpath_asn = 4;
    return true;
}

static void derive_path(struct ks_mrt *m, struct attrs *a)
{
    a->path_str = NULL;
    a->path_str_len = 0;
    a->origin_kind = KS_BGP_ORIGIN_NONE;
    a->origin_as = 0;
    if (!a->has_path)
        return;
    int count = 0;
    a->fpath = a->path;
    a->fpath_len = a->path_len;
    a->fpath_asn = a->asn_len;
    a->path_str = m->path_str;
    a->path_str_len = path_text(a->path, a->path_len, a->asn_len, m->path_str, &count,
                                &a->origin_kind, &a->origin_as);
    if (a->asn_len != 2)
        return;
    /* RFC 6793 4.2.3, with bgpdump's order: AS4_AGGREGATOR first; an AGGREGATOR that is not
     * AS_TRANS makes it ignore AS4_PATH too. */
    if ((a->flag & FLAG(A_AGGREGATOR)) && (a->flag & FLAG(A_AS4_AGGREGATOR))) {
        if (a->aggr_as != AS_TRANS)
            return;
        a->aggr_as = a->new_aggr_as;
        memcpy(a->aggr_ip, a->new_aggr_ip, 4);
    }
    if (!(a->flag & FLAG(A_AS4_PATH)) || !a->has_new_path)
        return;
    int new_count = 0;
    uint8_t k;
    uint32_t o;
    char scratch[PATH_STR_MAX + 8];
    path_text(a->new_path, a->new_path_len, 4, scratch, &new_count, &k, &o);
    if (count < new_count)
        return;
    if (!merge_as4(m, a, count, new_count))
        return;
    a->path_str_len =
        path_text(a->fpath, a->fpath_len, 4, m->path_str, &count, &a->origin_kind, &a->origin_as);
}

static void derive_comm(struct ks_mrt *m, struct attrs *a)
{
    char *o = m->comm_str;
    size_t n = 0;
    for (size_t i = 0; i + 4 <= a->comm_len; i += 4) {
        const uint8_t *c = a->comm + i;
        uint32_t v = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        char tmp[16];
        size_t k;
        if (v == 0xFFFFFF01u) {
            k = 10;
            memcpy(tmp, " no-export", k);
        } else if (v == 0xFFFFFF02u) {
            k = 13;
            memcpy(tmp, " no-advertise", k);
        } else if (v == 0xFFFFFF03u) {
            k = 9;
            memcpy(tmp, " local-AS", k);
        } else {
            char *t = tmp;
            *t++ = ' ';
            t = put_u32(t, v >> 16);
            *t++ = ':';
            t = put_u32(t, v & 0xFFFF);
            k = (size_t)(t - tmp);
            if (n + k > COMM_STR_MAX) /* snprintf cuts */
                k = COMM_STR_MAX - n;
        }
        if (n + k > COMM_STR_MAX)
            continue; /* strlcat refuses */
        memcpy(o + n, tmp, k);
        n += k;
    }
    a->comm_str = o;
    a->comm_str_len = n;
}

/* ---- attributes --------------------------------------------------------------------------- */

static void parse_mp_reach(struct ks_cur *s, struct attrs *a)
{
    struct mp_nlri *mp;
    /* RFC 6396 4.3.4: RIB entries carry only the next hop length and address. bgpdump takes
     * any attribute not starting with a zero byte (an AFI's high byte) for that form. */
    if (s->left && s->p[0] != 0) {
        mp = &a->reach[2][1];
        memset(mp, 0, sizeof *mp);
        mp->present = true;
        mp->nh_len = lz_u8(s);
        if (mp->nh_len == 4 || mp->nh_len == 16 || mp->nh_len == 32)
            lz_bytes(s, mp->nh, mp->nh_len);
        mp->nlri = ks_cur_make(NULL, 0);
        return;
    }
    uint16_t afi = lz_u16(s);
    uint8_t safi = lz_u8(s);
    if (afi > 2 || safi > 3)
        return;
    mp = &a->reach[afi][safi];
    if (mp->present)
        return;
    memset(mp, 0, sizeof *mp);
    mp->present = true;
    mp->nh_len = lz_u8(s);
    if (mp->nh_len == 4 || mp->nh_len == 16 || mp->nh_len == 32)
        lz_bytes(s, mp->nh, mp->nh_len);
    unsigned snpa = lz_u8(s); /* RFC 4760 3: reserved (SNPAs of RFC 2858) */
    for (; snpa > 0; snpa--)
        lz_bytes(s, NULL, lz_u8(s));
    mp->nlri = *s;
}

static void parse_mp_unreach(struct ks_cur *s, struct attrs *a)
{
    uint16_t afi = lz_u16(s);
    uint8_t safi = lz_u8(s);
    if (afi > 2 || safi > 3)
        return;
    struct mp_nlri *mp = &a->unreach[afi][safi];
    if (mp->present)
        return;
    memset(mp, 0, sizeof *mp);
    mp->present = true;
    mp->nlri = *s;
}

static void attrs_reset(struct attrs *a)
{
    a->flag = 0;
    a->origin = -1;
    memset(a->nexthop, 0xff, 4);
    a->med = a->lp = 0;
    a->aggr_as = a->new_aggr_as = 0xffffffffu;
    memset(a->aggr_ip, 0xff, 4);
    memset(a->new_aggr_ip, 0xff, 4);
    a->has_path = a->has_new_path = a->has_comm = false;
    a->path_len = a->new_path_len = a->comm_len = 0;
    for (int i = 1; i < 3; i++)
        for (int j = 0; j < 4; j++)
            a->reach[i][j].present = a->unreach[i][j].present = false;
    a->reach[0][0].present = false;
    a->comm_str = NULL;
}

/* RFC 4271 4.3: the attribute list of length total. */
static void parse_attrs(struct ks_mrt *m, struct ks_cur *c, unsigned asn_len, struct attrs *a)
{
    attrs_reset(a);
    a->asn_len = (uint8_t)asn_len;
    uint16_t total = lz_u16(c);
    struct ks_cur s = lz_sub(c, total);
    while (s.left) {
        unsigned flags = lz_u8(&s);
        unsigned type = lz_u8(&s);
        size_t len = (flags & 0x10) ? lz_u16(&s) : lz_u8(&s);
        if (s.left < len) {
            /* bgpdump: "attribute is truncated": it stops here, the flag unset */
            (void)lz_sub(&s, len);
            break;
        }
        struct ks_cur v = ks_cur_sub(&s, len);
        if (type >= 1 && type <= 32)
            a->flag |= FLAG(type);
        switch (type) {
        case A_ORIGIN:
            a->origin = lz_u8(&v);
            break;
        case A_AS_PATH:
            a->has_path = true;
            a->path = v.p;
            a->path_len = len;
            break;
        case A_NEXT_HOP:
            lz_bytes(&v, a->nexthop, 4);
            break;
        case A_MED:
            a->med = lz_u32(&v);
            break;
        case A_LOCAL_PREF:
            a->lp = lz_u32(&v);
            break;
        case A_AGGREGATOR:
            a->aggr_as = asn_len == 2 ? lz_u16(&v) : lz_u32(&v);
            lz_bytes(&v, a->aggr_ip, 4);
            break;
        case A_COMMUNITIES:
            a->has_comm = true;
            a->comm = v.p;
            a->comm_len = len;
            break;
        case A_MP_REACH:
            parse_mp_reach(&v, a);
            break;
        case A_MP_UNREACH:
            parse_mp_unreach(&v, a);
            break;
        case A_AS4_PATH:
            a->has_new_path = true;
            a->new_path = v.p;
            a->new_path_len = len;
            break;
        case A_AS4_AGGREGATOR:
            a->new_aggr_as = lz_u32(&v);
            lz_bytes(&v, a->new_aggr_ip, 4);
            break;
        default:
            break;
        }
    }
    derive_path(m, a);
}

/* ---- prefixes ----------------------------------------------------------------------------- */

/* One NLRI prefix (RFC 4271 4.3, RFC 7911 3 with ADD-PATH). false at the end of the list or
 * when the last prefix is cut short (it is dropped, as bgpdump does). */
struct pfx {
    uint32_t path_id;
    uint8_t len;
    uint8_t addr[16];
    uint32_t text_path_id; /* what bgpdump prints: a prefix longer than 128 bits overwrites */
    uint8_t text_len;      /* the length and path id that follow its address (x86 layout) */
};

static bool next_prefix(struct ks_cur *c, bool addpath, struct pfx *p)
{
    if (!c->left)
        return false;
    p->path_id = addpath ? lz_u32(c) : 0;
    p->len = lz_u8(c);
    size_t nb = ((size_t)p->len + 7) / 8;
    if (c->left < nb)
        return false;
    memset(p->addr, 0, 16);
    const uint8_t *q = ks_cur_ptr(c, nb);
    if (q && nb)
        memcpy(p->addr, q, nb < 16 ? nb : 16);
    p->text_len = p->len;
    p->text_path_id = p->path_id;
    if (q && nb > 16) {
        p->text_len = q[16];
        for (size_t i = 20; i < nb && i < 24; i++) {
            unsigned sh = (unsigned)(i - 20) * 8;
            p->text_path_id = (p->text_path_id & ~(0xffu << sh)) | (uint32_t)q[i] << sh;
        }
    }
    return true;
}

/* ---- output ------------------------------------------------------------------------------- */

static struct ks_bgp_elem *new_elem(struct ks_mrt *m)
{
    if (!m->cfg.elems)
        return NULL;
    if (m->n_elems == m->elems_cap) {
        size_t cap = m->elems_cap ? m->elems_cap * 2 : 256;
        struct ks_bgp_elem *e = realloc(m->elems, cap * sizeof *e);
        if (!e)
            return NULL;
        m->elems = e;
        m->elems_cap = cap;
    }
    struct ks_bgp_elem *e = &m->elems[m->n_elems++];
    memset(e, 0, sizeof *e);
    e->time_us = m->rec.time_us;
    return e;
}

static void elem_prefix(struct ks_bgp_elem *e, bool v6, const uint8_t addr[16], unsigned plen)
{
    struct ks_addr a;
    if (v6)
        ks_addr_from_v6(&a, addr);
    else
        ks_addr_from_v4(&a, (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
                                (uint32_t)addr[2] << 8 | addr[3]);
    if (ks_prefix_make(&e->prefix, &a, plen) != KS_OK) {
        e->type = 0; /* a length past the family's width: not a route */
        return;
    }
    e->host_bits = !ks_addr_eq(&a, &e->prefix.addr);
}

static void elem_route(struct ks_mrt *m, struct ks_bgp_elem *e, const struct attrs *a)
{
    e->origin_kind = a->origin_kind;
    e->origin_as = a->origin_as;
    if (a->path_str && a->path_str_len) {
        /* stored as an offset into the arena until the record is complete */
        if (buf_reserve(&m->arena, a->path_str_len) == KS_OK) {
            memcpy(m->arena.p + m->arena.len, a->path_str, a->path_str_len);
            e->as_path = (const char *)(uintptr_t)m->arena.len;
            e->as_path_len = (uint32_t)a->path_str_len;
            m->arena.len += a->path_str_len;
        }
    }
}

static void elem_peer(struct ks_bgp_elem *e, bool v6, const uint8_t *ip, uint32_t as)
{
    if (v6)
        ks_addr_from_v6(&e->peer, ip);
    else
        ks_addr_from_v4(&e->peer, (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 |
                                      (uint32_t)ip[2] << 8 | ip[3]);
    e->peer_as = as;
}

/* Starts a line: "FMT|TIME|T|". Reserves room for any line. */
static char *line_start(struct ks_mrt *m, const char *fmt, char t)
{
    if (buf_reserve(&m->text, LINE_RESERVE) != KS_OK)
        return NULL;
    char *o = m->text.p + m->text.len;
    o = put_str(o, fmt, strlen(fmt));
    *o++ = '|';
    o = put_str(o, m->time_str, m->time_len);
    *o++ = '|';
    *o++ = t;
    *o++ = '|';
    return o;
}

static void line_end(struct ks_mrt *m, char *o)
{
    *o++ = '\n';
    m->text.len = (size_t)(o - m->text.p);
    m->st.lines++;
}

static const char *origin_name(int origin, size_t *n)
{
    if (origin == 0) {
        *n = 3;
        return "IGP";
    }
    if (origin == 1) {
        *n = 3;
        return "EGP";
    }
    *n = 10;
    return "INCOMPLETE";
}

/* "ASPATH|ORIGIN|" */
/* "PEER|AS|PREFIX/LEN", the start of every legacy line, each address as IPv6 or IPv4 text. */
static char *put_peer_prefix(char *o, bool peer6, const uint8_t *peer, uint32_t as, bool pfx6,
                             const uint8_t *pfx, unsigned len)
{
    o = peer6 ? put_ipv6(o, peer) : put_ipv4(o, peer);
    *o++ = '|';
    o = put_u32(o, as);
    *o++ = '|';
    o = pfx6 ? put_ipv6(o, pfx) : put_ipv4(o, pfx);
    *o++ = '/';
    return put_u32(o, len);
}

static char *put_path_origin(char *o, const struct attrs *a)
{
    if (a->path_str)
        o = put_str(o, a->path_str, a->path_str_len);
    *o++ = '|';
    size_t n;
    const char *s = origin_name(a->origin, &n);
    o = put_str(o, s, n);
    *o++ = '|';
    return o;
}

/* "COMM|AG|AGGREGATOR|" */
static char *put_tail(struct ks_mrt *m, char *o, struct attrs *a)
{
    if (a->flag & FLAG(A_COMMUNITIES)) {
        if (!a->comm_str)
            derive_comm(m, a);
        if (a->comm_str_len > 1)
            o = put_str(o, a->comm_str + 1, a->comm_str_len - 1);
    }
    *o++ = '|';
    if (a->flag & FLAG(A_ATOMIC))
        o = PUT_LIT(o, "AG|");
    else
        o = PUT_LIT(o, "NAG|");
    if (memcmp(a->aggr_ip, "\xff\xff\xff\xff", 4) != 0) {
        o = put_u32(o, a->aggr_as);
        *o++ = ' ';
        o = put_ipv4(o, a->aggr_ip);
    }
    *o++ = '|';
    return o;
}

static inline uint32_t lp_of(const struct attrs *a)
{
    return (a->flag & FLAG(A_LOCAL_PREF)) ? a->lp : 0;
}

static inline uint32_t med_of(const struct attrs *a)
{
    return (a->flag & FLAG(A_MED)) ? a->med : 0;
}

/* ---- TABLE_DUMP (RFC 6396 4.2) ------------------------------------------------------------ */

static int do_table_dump(struct ks_mrt *m, struct ks_cur *c, struct attrs *a)
{
    unsigned sub = m->rec.subtype;
    if (sub < 1 || sub > 4) {
        m->st.unsupported++;
        return KS_EUNSUPP;
    }
    bool v6 = sub == 2 || sub == 4;
    unsigned asn_len = sub >= 3 ? 4 : 2;
    uint8_t prefix[16] = {0}, peer[16] = {0};
    lz_u16(c); /* view */
    lz_u16(c); /* sequence */
    lz_bytes(c, prefix, v6 ? 16 : 4);
    unsigned mask = lz_u8(c);
    lz_u8(c);  /* status */
    lz_u32(c); /* originated */
    lz_bytes(c, peer, v6 ? 16 : 4);
    uint32_t peer_as = asn_len == 2 ? lz_u16(c) : lz_u32(c);
    parse_attrs(m, c, asn_len, a);

    struct ks_bgp_elem *e = new_elem(m);
    if (e) {
        e->type = KS_BGP_ELEM_RIB;
        elem_peer(e, v6, peer, peer_as);
        elem_prefix(e, v6, prefix, mask);
        elem_route(m, e, a);
    }
    if (m->cfg.text) {
        /* bgpdump formats IPv6 only for subtype AFI_IP6 (2), the first 4 bytes otherwise */
        bool t6 = sub == 2;
        char *o = line_start(m, "TABLE_DUMP", 'B');
        if (!o)
            return KS_ENOMEM;
        o = put_peer_prefix(o, t6, peer, peer_as, t6, prefix, mask);
        *o++ = '|';
        o = put_path_origin(o, a);
        if ((a->flag & FLAG(A_MP_REACH)) && a->reach[2][1].present)
            o = put_ipv6(o, a->reach[2][1].nh);
        else
            o = put_ipv4(o, a->nexthop);
        *o++ = '|';
        o = put_u32(o, lp_of(a));
        *o++ = '|';
        o = put_u32(o, med_of(a));
        *o++ = '|';
        o = put_tail(m, o, a);
        line_end(m, o);
    }
    return KS_OK;
}

/* ---- TABLE_DUMP_V2 (RFC 6396 4.3, RFC 8050) ----------------------------------------------- */

static int do_peer_index(struct ks_mrt *m, struct ks_cur *c)
{
    lz_u32(c); /* collector BGP id */
    uint16_t vlen = lz_u16(c);
    if (vlen + 1 <= 255) /* bgpdump skips a longer view name without reading it */
        lz_bytes(c, NULL, vlen);
    uint16_t n = lz_u16(c);
    if (n > m->peers_cap) {
        struct peer *p = realloc(m->peers, (size_t)n * sizeof *p);
        if (!p)
            return KS_ENOMEM;
        m->peers = p;
        m->peers_cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct peer *p = &m->peers[i];
        uint8_t type = lz_u8(c);
        memset(p->ip, 0, 16);
        p->afi6 = type & 1;
        lz_u32(c); /* BGP id */
        lz_bytes(c, p->ip, p->afi6 ? 16 : 4);
        p->as = (type & 2) ? lz_u32(c) : lz_u16(c);
    }
    m->n_peers = n;
    m->have_peers = true;
    return KS_OK;
}

static int do_rib(struct ks_mrt *m, struct ks_cur *c, struct attrs *a)
{
    unsigned sub = m->rec.subtype;
    bool v6 = sub == TD2_RIB_IPV6_UNICAST || sub == TD2_RIB_IPV6_UNICAST_AP;
    bool ap = sub == TD2_RIB_IPV4_UNICAST_AP || sub == TD2_RIB_IPV6_UNICAST_AP;
    uint8_t prefix[16] = {0};
    lz_u32(c); /* sequence */
    unsigned plen = lz_u8(c);
    size_t nb = (plen + 7) / 8;
    struct ks_cur pc = lz_sub(c, nb);
    if (pc.left)
        memcpy(prefix, pc.p, pc.left < 16 ? pc.left : 16);
    uint16_t count = lz_u16(c);
    if (count && !m->have_peers) {
        report(m, KS_EFORMAT, "%s", "RIB entry before any PEER_INDEX_TABLE");
        return KS_EFORMAT;
    }
    for (unsigned i = 0; i < count; i++) {
        uint16_t pi = lz_u16(c);
        uint32_t orig = lz_u32(c);
        (void)orig;
        uint32_t path_id = ap ? lz_u32(c) : 0;
        if (pi >= m->n_peers) {
            report(m, KS_EFORMAT, "%s", "RIB entry names a peer missing from the index");
            return KS_EFORMAT;
        }
        const struct peer *p = &m->peers[pi];
        parse_attrs(m, c, 4, a);
        struct ks_bgp_elem *e = new_elem(m);
        if (e) {
            e->type = KS_BGP_ELEM_RIB;
            e->has_path_id = ap;
            e->path_id = path_id;
            elem_peer(e, p->afi6, p->ip, p->as);
            elem_prefix(e, v6, prefix, plen);
            elem_route(m, e, a);
        }
        if (!m->cfg.text)
            continue;
        char *o = line_start(m, ap ? "TABLE_DUMP2_AP" : "TABLE_DUMP2", 'B');
        if (!o)
            return KS_ENOMEM;
        o = put_peer_prefix(o, p->afi6, p->ip, p->as, v6, prefix, plen);
        *o++ = '|';
        if (ap) {
            o = put_u32(o, path_id);
            *o++ = '|';
        }
        o = put_path_origin(o, a);
        const struct mp_nlri *nh = NULL;
        if ((a->flag & FLAG(A_MP_REACH)) && a->reach[2][1].present)
            nh = &a->reach[2][1];
        else if ((a->flag & FLAG(A_MP_REACH)) && a->reach[1][1].present)
            nh = &a->reach[1][1];
        if (!nh)
            o = put_ipv4(o, a->nexthop);
        else if (nh->nh_len == 4)
            o = put_ipv4(o, nh->nh);
        else if (nh->nh_len == 16 || nh->nh_len == 32)
            o = put_ipv6(o, nh->nh);
        *o++ = '|';
        o = put_u32(o, lp_of(a));
        *o++ = '|';
        o = put_u32(o, med_of(a));
        *o++ = '|';
        o = put_tail(m, o, a);
        line_end(m, o);
    }
    return KS_OK;
}

/* ---- BGP4MP (RFC 6396 4.4) ---------------------------------------------------------------- */

struct b4 {
    bool v6;         /* the session's address family */
    bool addpath;    /* RFC 8050 subtypes */
    bool recv;       /* bgpdump: not a LOCAL subtype (6, 7) */
    const char *fmt; /* BGP4MP, BGP4MP_ET, BGP4MP_LOCAL, ... */
    uint8_t ip1[16]; /* the first address in the record (the peer) */
    uint8_t ip2[16]; /* the second (local) */
    uint32_t as1, as2;
};

static const char *b4_format(bool et, bool local, bool ap)
{
    static const char *const names[8] = {"BGP4MP",          "BGP4MP_AP",         "BGP4MP_LOCAL",
                                         "BGP4MP_LOCAL_AP", "BGP4MP_ET",         "BGP4MP_ET_AP",
                                         "BGP4MP_ET_LOCAL", "BGP4MP_ET_LOCAL_AP"};
    return names[(et ? 4 : 0) + (local ? 2 : 0) + (ap ? 1 : 0)];
}

static void b4_withdraw(struct ks_mrt *m, const struct b4 *b, struct ks_cur nlri, bool v6,
                        const uint8_t *pip, uint32_t pas, bool quirk6)
{
    struct pfx x;
    while (next_prefix(&nlri, b->addpath, &x)) {
        struct ks_bgp_elem *e = new_elem(m);
        if (e) {
            e->type = KS_BGP_ELEM_WITHDRAW;
            e->has_path_id = b->addpath;
            e->path_id = x.path_id;
            elem_peer(e, b->v6, b->ip1, b->as1);
            elem_prefix(e, v6, x.addr, x.len);
        }
        if (!m->cfg.text)
            continue;
        char *o = line_start(m, b->fmt, 'W');
        if (!o)
            return;
        o = put_peer_prefix(o, b->v6 || quirk6, pip, pas, v6, x.addr, x.text_len);
        if (b->addpath) {
            *o++ = '|';
            o = put_u32(o, x.text_path_id);
        }
        line_end(m, o);
    }
}

/* kind: 0 = NLRI (nexthop from NEXT_HOP), 1 = MP IPv4, 2 = MP IPv6 */
static void b4_announce(struct ks_mrt *m, const struct b4 *b, struct ks_cur nlri,
                        const struct mp_nlri *mp, int kind, struct attrs *a, const uint8_t *pip,
                        uint32_t pas)
{
    struct pfx x;
    bool v6 = kind == 2;
    while (next_prefix(&nlri, b->addpath, &x)) {
        struct ks_bgp_elem *e = new_elem(m);
        if (e) {
            e->type = KS_BGP_ELEM_ANNOUNCE;
            e->has_path_id = b->addpath;
            e->path_id = x.path_id;
            elem_peer(e, b->v6, b->ip1, b->as1);
            elem_prefix(e, v6, x.addr, x.len);
            elem_route(m, e, a);
        }
        if (!m->cfg.text)
            continue;
        char *o = line_start(m, b->fmt, 'A');
        if (!o)
            return;
        o = put_peer_prefix(o, b->v6, pip, pas, v6, x.addr, x.text_len);
        *o++ = '|';
        if (b->addpath) {
            o = put_u32(o, x.text_path_id);
            *o++ = '|';
        }
        if (kind == 0) {
            o = put_path_origin(o, a);
            o = put_ipv4(o, a->nexthop);
            *o++ = '|';
            o = put_u32(o, lp_of(a));
            *o++ = '|';
            o = put_u32(o, med_of(a));
            *o++ = '|';
        } else if (kind == 1) {
            /* bgpdump prints these two fields signed here */
            o = put_path_origin(o, a);
            if (mp->nh_len == 4 || mp->nh_len == 16 || mp->nh_len == 32) {
                o = mp->nh_len == 4 ? put_ipv4(o, mp->nh) : put_ipv6(o, mp->nh);
                *o++ = '|';
                o = put_i32(o, (int32_t)lp_of(a));
                *o++ = '|';
                o = put_i32(o, (int32_t)med_of(a));
                *o++ = '|';
            }
        } else if (mp->nh_len == 4 || mp->nh_len == 16 || mp->nh_len == 32) {
            /* and the IPv6 form drops path and origin with an odd next hop length */
            o = put_path_origin(o, a);
            o = mp->nh_len == 4 ? put_ipv4(o, mp->nh) : put_ipv6(o, mp->nh);
            *o++ = '|';
            o = put_u32(o, lp_of(a));
            *o++ = '|';
            o = put_u32(o, med_of(a));
            *o++ = '|';
        }
        o = put_tail(m, o, a);
        line_end(m, o);
    }
}

static int do_bgp4mp_state(struct ks_mrt *m, struct ks_cur *c, unsigned asn_len)
{
    uint8_t src[16] = {0}, dst[16] = {0};
    uint32_t as1 = asn_len == 2 ? lz_u16(c) : lz_u32(c);
    uint32_t as2 = asn_len == 2 ? lz_u16(c) : lz_u32(c);
    (void)as2;
    bool v6 = false;
    uint16_t olds, news;
    if (m->rec.length == 8) {
        /* old Zebra wrote state changes without interface and addresses */
        olds = lz_u16(c);
        news = lz_u16(c);
    } else {
        lz_u16(c); /* interface */
        uint16_t afi = lz_u16(c);
        if (afi == 1) {
            if (m->rec.length != 20 && m->rec.length != 24)
                return KS_EFORMAT;
            lz_bytes(c, src, 4);
            lz_bytes(c, dst, 4);
        } else if (afi == 2) {
            if (m->rec.length != 44 && m->rec.length != 48)
                return KS_EFORMAT;
            v6 = true;
            lz_bytes(c, src, 16);
            lz_bytes(c, dst, 16);
        } else {
            return KS_EFORMAT;
        }
        olds = lz_u16(c);
        news = lz_u16(c);
    }
    struct ks_bgp_elem *e = new_elem(m);
    if (e) {
        e->type = KS_BGP_ELEM_STATE;
        elem_peer(e, v6, src, as1);
        e->old_state = olds;
        e->new_state = news;
    }
    if (m->cfg.text) {
        char *o = line_start(m, m->et ? "BGP4MP_ET" : "BGP4MP", 0);
        if (!o)
            return KS_ENOMEM;
        o -= 2; /* "STATE" instead of one letter */
        o = PUT_LIT(o, "STATE|");
        o = v6 ? put_ipv6(o, src) : put_ipv4(o, src);
        *o++ = '|';
        o = put_u32(o, as1);
        *o++ = '|';
        o = put_u32(o, olds);
        *o++ = '|';
        o = put_u32(o, news);
        line_end(m, o);
    }
    return KS_OK;
}

static int do_bgp4mp_message(struct ks_mrt *m, struct ks_cur *c, unsigned asn_len, struct attrs *a)
{
    unsigned sub = m->rec.subtype;
    struct b4 b;
    memset(&b, 0, sizeof b);
    bool local = sub == B4_MESSAGE_LOCAL || sub == B4_MESSAGE_AS4_LOCAL;
    b.addpath = sub >= B4_MESSAGE_AP && sub <= B4_MESSAGE_AS4_LOCAL_AP;
    b.recv = !local;
    b.fmt = b4_format(m->et, local, b.addpath);
    b.as1 = asn_len == 2 ? lz_u16(c) : lz_u32(c);
    b.as2 = asn_len == 2 ? lz_u16(c) : lz_u32(c);
    uint16_t ifindex = lz_u16(c);
    uint16_t afi = lz_u16(c);
    uint8_t marker[16];
    if (afi == 1) {
        lz_bytes(c, b.ip1, 4);
        lz_bytes(c, b.ip2, 4);
        lz_bytes(c, marker, 16);
    } else if (afi == 2) {
        b.v6 = true;
        lz_bytes(c, b.ip1, 16);
        lz_bytes(c, b.ip2, 16);
        lz_bytes(c, marker, 16);
    } else if (afi == 0xFFFF && ifindex == 0xFFFF) {
        /* old Zebra OPEN records: no interface, no addresses */
        memset(marker, 0xff, 4);
        lz_bytes(c, marker + 4, 12);
    } else {
        return KS_EFORMAT;
    }
    for (int i = 0; i < 16; i++)
        if (marker[i] != 0xff)
            return KS_EFORMAT;
    uint16_t size = lz_u16(c);
    struct ks_cur msg = lz_sub(c, (size_t)(uint32_t)((int)size - 18));
    uint8_t type = lz_u8(&msg);
    if (type == 1 || type == 3 || type == 4 || type == 5 || type == 128)
        return KS_OK; /* OPEN, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH: no routes */
    if (type != 2)
        return KS_EFORMAT;

    /* The address bgpdump prints: the first one, except for LOCAL_ADDPATH (second). */
    bool second = sub == B4_MESSAGE_LOCAL_AP || sub == B4_MESSAGE_AS4_LOCAL_AP;
    const uint8_t *pip = second ? b.ip2 : b.ip1;
    uint32_t pas = second ? b.as2 : b.as1;

    uint16_t wlen = lz_u16(&msg);
    struct ks_cur wd = lz_sub(&msg, wlen);
    parse_attrs(m, &msg, asn_len, a);
    struct ks_cur nlri = msg;

    /* RFC 4271 withdrawn routes, then MP_UNREACH_NLRI by AFI/SAFI; then the announcements. */
    b4_withdraw(m, &b, wd, false, pip, pas, false);
    for (int af = 1; af <= 2; af++)
        for (int sf = 1; sf <= 3; sf++)
            if (a->unreach[af][sf].present)
                b4_withdraw(m, &b, a->unreach[af][sf].nlri, af == 2, pip, pas,
                            af == 2 && !b.recv && !b.v6);
    b4_announce(m, &b, nlri, NULL, 0, a, pip, pas);
    for (int af = 1; af <= 2; af++)
        for (int sf = 1; sf <= 3; sf++)
            if (a->reach[af][sf].present)
                b4_announce(m, &b, a->reach[af][sf].nlri, &a->reach[af][sf], af, a, pip, pas);
    return KS_OK;
}

/* ---- legacy MRTD BGP (RFC 6396 B.2.3) ----------------------------------------------------- */

static int do_mrtd_bgp(struct ks_mrt *m, struct ks_cur *c, struct attrs *a)
{
    unsigned sub = m->rec.subtype;
    uint8_t sip[4], dip[4];
    if (sub == 3) { /* STATE_CHANGE */
        uint32_t das = lz_u16(c);
        lz_bytes(c, dip, 4);
        uint16_t olds = lz_u16(c), news = lz_u16(c);
        struct ks_bgp_elem *e = new_elem(m);
        if (e) {
            e->type = KS_BGP_ELEM_STATE;
            elem_peer(e, false, dip, das);
            e->old_state = olds;
            e->new_state = news;
        }
        if (m->cfg.text) {
            char *o = line_start(m, "BGP", 0);
            if (!o)
                return KS_ENOMEM;
            o -= 2;
            o = PUT_LIT(o, "STATE|");
            o = put_ipv4(o, dip);
            *o++ = '|';
            o = put_u32(o, das);
            *o++ = '|';
            o = put_u32(o, olds);
            *o++ = '|';
            o = put_u32(o, news);
            line_end(m, o);
        }
        return KS_OK;
    }
    if (sub != 1 && sub != 7) {
        m->st.unsupported++;
        return KS_EUNSUPP;
    }
    uint32_t sas = lz_u16(c);
    lz_bytes(c, sip, 4);
    lz_u16(c);
    lz_bytes(c, dip, 4);
    uint16_t wlen = lz_u16(c);
    struct ks_cur wd = lz_sub(c, wlen);
    parse_attrs(m, c, 2, a);
    if (sub != 1)
        return KS_OK;
    struct pfx x;
    while (next_prefix(&wd, false, &x)) {
        struct ks_bgp_elem *e = new_elem(m);
        if (e) {
            e->type = KS_BGP_ELEM_WITHDRAW;
            elem_peer(e, false, sip, sas);
            elem_prefix(e, false, x.addr, x.len);
        }
        if (!m->cfg.text)
            continue;
        char *o = line_start(m, "BGP", 'W');
        if (!o)
            return KS_ENOMEM;
        o = put_peer_prefix(o, false, sip, sas, false, x.addr, x.text_len);
        line_end(m, o);
    }
    while (next_prefix(c, false, &x)) {
        struct ks_bgp_elem *e = new_elem(m);
        if (e) {
            e->type = KS_BGP_ELEM_ANNOUNCE;
            elem_peer(e, false, sip, sas);
            elem_prefix(e, false, x.addr, x.len);
            elem_route(m, e, a);
        }
        if (!m->cfg.text)
            continue;
        /* bgpdump's legacy line has no separator between MED and communities */
        char *o = line_start(m, "BGP", 'A');
        if (!o)
            return KS_ENOMEM;
        o = put_peer_prefix(o, false, sip, sas, false, x.addr, x.text_len);
        *o++ = '|';
        o = put_path_origin(o, a);
        o = put_ipv4(o, a->nexthop);
        *o++ = '|';
        o = put_u32(o, lp_of(a));
        *o++ = '|';
        o = put_u32(o, med_of(a));
        if (a->flag & FLAG(A_COMMUNITIES)) {
            if (!a->comm_str)
                derive_comm(m, a);
            if (a->comm_str_len > 1)
                o = put_str(o, a->comm_str + 1, a->comm_str_len - 1);
            *o++ = '|';
        } else {
            *o++ = '|';
        }
        o = (a->flag & FLAG(A_ATOMIC)) ? PUT_LIT(o, "AG|") : PUT_LIT(o, "NAG|");
        if (memcmp(a->aggr_ip, "\xff\xff\xff\xff", 4) != 0) {
            o = put_u32(o, a->aggr_as);
            *o++ = ' ';
            o = put_ipv4(o, a->aggr_ip);
        }
        *o++ = '|';
        line_end(m, o);
    }
    return KS_OK;
}

/* ---- the reader --------------------------------------------------------------------------- */

void ks_mrt_config_default(struct ks_mrt_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_record = 64u << 20;
    cfg->text = false;
    cfg->elems = true;
}

static int mrt_new(const struct ks_mrt_config *cfg, const struct ks_diag *diag, const char *name,
                   struct ks_mrt **mp)
{
    struct ks_mrt *m = calloc(1, sizeof *m);
    if (!m)
        return KS_ENOMEM;
    if (cfg)
        m->cfg = *cfg;
    else
        ks_mrt_config_default(&m->cfg);
    if (m->cfg.max_record == 0)
        m->cfg.max_record = 64u << 20;
    if (diag) {
        m->diag = *diag;
        m->has_diag = true;
    }
    m->name = strdup(name ? name : "-");
    if (!m->name) {
        free(m);
        return KS_ENOMEM;
    }
    *mp = m;
    return KS_OK;
}

int ks_mrt_open(const char *path, const struct ks_mrt_config *cfg, const struct ks_diag *diag,
                struct ks_mrt **mp)
{
    struct ks_mrt *m = NULL;
    *mp = NULL;
    if (!path)
        return KS_EINVAL;
    int rc = mrt_new(cfg, diag, path, &m);
    if (rc != KS_OK)
        return rc;
    rc = mrt_src_open(path, &m->src);
    if (rc != KS_OK) {
        int e = errno;
        ks_mrt_free(m);
        errno = e;
        return rc;
    }
    m->in_cap = 1u << 20;
    m->in = malloc(m->in_cap);
    if (!m->in) {
        ks_mrt_free(m);
        return KS_ENOMEM;
    }
    *mp = m;
    return KS_OK;
}

int ks_mrt_open_mem(const void *data, size_t len, const char *name, const struct ks_mrt_config *cfg,
                    const struct ks_diag *diag, struct ks_mrt **mp)
{
    struct ks_mrt *m = NULL;
    *mp = NULL;
    int rc = mrt_new(cfg, diag, name ? name : "(memory)", &m);
    if (rc != KS_OK)
        return rc;
    m->mem = true;
    m->in = (uint8_t *)(uintptr_t)(data ? data : "");
    m->in_cap = m->end = data ? len : 0;
    m->eof = true;
    *mp = m;
    return KS_OK;
}

void ks_mrt_free(struct ks_mrt *m)
{
    if (!m)
        return;
    mrt_src_close(m->src);
    if (!m->mem)
        free(m->in);
    free(m->elems);
    free(m->text.p);
    free(m->arena.p);
    free(m->merge);
    free(m->peers);
    free(m->name);
    free(m);
}

/* Makes at least n unread bytes available; false at the end of input (or on error: m->err). */
static bool fill(struct ks_mrt *m, size_t n)
{
    while (m->end - m->start < n) {
        if (m->eof || m->err)
            return false;
        if (m->start && (m->in_cap - m->start < n || m->in_cap - m->end < (64u << 10))) {
            memmove(m->in, m->in + m->start, m->end - m->start);
            m->base += m->start;
            m->end -= m->start;
            m->start = 0;
        }
        if (m->in_cap < n) {
            size_t cap = m->in_cap;
            while (cap < n)
                cap *= 2;
            uint8_t *p = realloc(m->in, cap);
            if (!p) {
                m->err = KS_ENOMEM;
                return false;
            }
            m->in = p;
            m->in_cap = cap;
        }
        ssize_t r = mrt_src_read(m->src, m->in + m->end, m->in_cap - m->end);
        if (r < 0) {
            m->err = (int)r;
            if (r == KS_ETRUNC) { /* the compressed stream is cut short */
                m->st.truncated = true;
                m->st.truncated_at = m->base + m->start;
            }
            return false;
        }
        if (r == 0)
            m->eof = true;
        m->end += (size_t)r;
    }
    return true;
}

/* Skips n bytes of a record too large to hold. */
static bool skip_bytes(struct ks_mrt *m, uint64_t n)
{
    while (n) {
        size_t have = m->end - m->start;
        if (have) {
            size_t k = have < n ? have : (size_t)n;
            m->start += k;
            n -= k;
            continue;
        }
        if (!fill(m, 1))
            return false;
    }
    return true;
}

int ks_mrt_next(struct ks_mrt *m)
{
    if (m->err)
        return m->err;
    m->n_elems = 0;
    m->text.len = 0;
    m->arena.len = 0;
    m->rec.n_elems = 0;
    m->rec.elems = NULL;
    if (!fill(m, 12)) {
        if (m->err)
            return m->err;
        if (m->end == m->start)
            return 0;
        m->st.truncated = true;
        m->st.truncated_at = m->base + m->start;
        m->err = KS_ETRUNC;
        return KS_ETRUNC;
    }
    const uint8_t *h = m->in + m->start;
    uint64_t off = m->base + m->start;
    uint32_t t = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    uint16_t type = (uint16_t)(h[4] << 8 | h[5]);
    uint16_t sub = (uint16_t)(h[6] << 8 | h[7]);
    uint32_t len = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
    size_t hlen = 12;
    m->et = type == MRT_BGP4MP_ET;
    m->usec = 0;
    memset(&m->rec, 0, sizeof m->rec);
    m->rec.type = type;
    m->rec.subtype = sub;
    m->rec.offset = off;
    m->rec.index = m->st.records + 1;
    if (m->et) {
        if (!fill(m, 16)) {
            if (m->err)
                return m->err;
            m->st.truncated = true;
            m->st.truncated_at = off;
            m->err = KS_ETRUNC;
            return KS_ETRUNC;
        }
        h = m->in + m->start;
        m->usec = (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
        hlen = 16;
    }
    /* RFC 6396 3: the microseconds of BGP4MP_ET count in the length */
    uint32_t blen = m->et ? (len >= 4 ? len - 4 : 0) : len;
    m->rec.length = blen;
    m->rec.time_us = (int64_t)t * 1000000 + (m->et ? m->usec : 0);
    bool too_big = blen > m->cfg.max_record || (m->et && len < 4);
    if (too_big) {
        m->start += hlen;
        if (!skip_bytes(m, blen)) {
            if (m->err)
                return m->err;
            m->st.truncated = true;
            m->st.truncated_at = off;
            m->err = KS_ETRUNC;
            return KS_ETRUNC;
        }
        m->st.records++;
        m->st.malformed++;
        m->st.bytes = m->base + m->start;
        report(m, KS_ELIMIT, "%s", "record length out of bounds; skipped");
        return 1;
    }
    if (!fill(m, hlen + (size_t)blen)) {
        if (m->err)
            return m->err;
        m->st.truncated = true;
        m->st.truncated_at = off;
        m->err = KS_ETRUNC;
        return KS_ETRUNC;
    }
    const uint8_t *body = m->in + m->start + hlen;
    m->start += hlen + blen;
    m->st.records++;
    m->st.bytes = m->base + m->start;

    if (m->cfg.text) {
        char *o = put_u32(m->time_str, t);
        if (m->et) {
            /* ".%06ld" */
            char us[12];
            char *u = put_u32(us, m->usec);
            size_t n = (size_t)(u - us);
            *o++ = '.';
            for (size_t i = n; i < 6; i++)
                *o++ = '0';
            o = put_str(o, us, n);
        }
        m->time_len = (size_t)(o - m->time_str);
    }

    struct attrs a;
    struct ks_cur c = ks_cur_make_at(body, blen, (size_t)off + hlen);
    int rc = KS_OK;
    switch (type) {
    case MRT_TABLE_DUMP:
        rc = do_table_dump(m, &c, &a);
        break;
    case MRT_TABLE_DUMP_V2:
        if (sub == TD2_PEER_INDEX)
            rc = do_peer_index(m, &c);
        else if (sub == TD2_RIB_IPV4_UNICAST || sub == TD2_RIB_IPV6_UNICAST ||
                 sub == TD2_RIB_IPV4_UNICAST_AP || sub == TD2_RIB_IPV6_UNICAST_AP)
            rc = do_rib(m, &c, &a);
        else {
            m->st.unsupported++;
            rc = KS_EUNSUPP;
        }
        break;
    case MRT_BGP4MP:
    case MRT_BGP4MP_ET:
        switch (sub) {
        case B4_STATE:
            rc = do_bgp4mp_state(m, &c, 2);
            break;
        case B4_STATE_AS4:
            rc = do_bgp4mp_state(m, &c, 4);
            break;
        case B4_MESSAGE:
        case B4_MESSAGE_LOCAL:
        case B4_MESSAGE_AP:
        case B4_MESSAGE_LOCAL_AP:
            rc = do_bgp4mp_message(m, &c, 2, &a);
            break;
        case B4_MESSAGE_AS4:
        case B4_MESSAGE_AS4_LOCAL:
        case B4_MESSAGE_AS4_AP:
        case B4_MESSAGE_AS4_LOCAL_AP:
            rc = do_bgp4mp_message(m, &c, 4, &a);
            break;
        default:
            m->st.unsupported++;
            rc = KS_EUNSUPP;
        }
        break;
    case MRT_MRTD_BGP:
        rc = do_mrtd_bgp(m, &c, &a);
        break;
    default:
        m->st.unsupported++;
        rc = KS_EUNSUPP;
    }
    if (rc == KS_ENOMEM)
        return KS_ENOMEM;
    if (rc != KS_OK) {
        /* like bgpdump, a record that fails to decode prints nothing at all */
        m->text.len = 0;
        m->n_elems = 0;
        if (rc != KS_EUNSUPP) {
            m->st.malformed++;
            report(m, rc, "%s", "record cannot be decoded; skipped");
        }
    }
    /* Element AS paths were stored as arena offsets: the arena no longer moves now. */
    size_t kept = 0;
    for (size_t i = 0; i < m->n_elems; i++) {
        struct ks_bgp_elem *e = &m->elems[i];
        if (!e->type)
            continue;
        if (e->as_path_len)
            e->as_path = m->arena.p + (uintptr_t)e->as_path;
        else
            e->as_path = "";
        m->elems[kept++] = *e;
    }
    m->n_elems = kept;
    m->rec.n_elems = kept;
    m->rec.elems = m->elems;
    m->st.elems += kept;
    return 1;
}

const struct ks_mrt_record *ks_mrt_record(const struct ks_mrt *m)
{
    return &m->rec;
}

void ks_mrt_text(const struct ks_mrt *m, const char **text, size_t *len)
{
    *text = m->text.p ? m->text.p : "";
    *len = m->text.len;
}

void ks_mrt_stats(const struct ks_mrt *m, struct ks_mrt_stats *st)
{
    *st = m->st;
}
