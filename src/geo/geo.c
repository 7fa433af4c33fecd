/* kansoku geolocation: country through libmaxminddb, AS through kansoku's own table. */
#include "kansoku/ks_geo.h"
#include "geo/asn.h"
#include "ks_config.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct geo_file {
    struct ks_geo_file pub;
    char *path;
    char detail[256];
    char format[48];
    char version[96];
};

/* Country codes by mmdb data offset: a country file has a few hundred distinct records, so
 * this spares MMDB_get_value() on almost every lookup. Entries are (offset + 1) << 16 | code,
 * read and written whole with relaxed atomics: a racing writer can only replace one valid
 * entry with another, so concurrent lookups stay correct without a lock. */
#define CC_CACHE_SIZE 1024u

/* IPv4 country lookups walk the search tree themselves (the MaxMind DB format's tree: a node
 * is two records of 24, 28 or 32 bits; a record below node_count is a node, equal to it "not
 * found", above it a pointer into the data section) and start from the node reached by the
 * address's first 16 bits, remembered per /16 once walked. That is 16 steps instead of 32,
 * and none of MMDB_lookup_sockaddr's sockaddr handling: 3-4x fewer instructions per lookup,
 * measured in the darknet, where every new source is looked up. IPv6 goes through
 * libmaxminddb; test_geo compares both walks on random addresses. */
#define V4_TOP_BITS 16

struct ks_geo {
    struct geo_file files[KS_GEO_NDB];
    bool have_country;
    MMDB_s mmdb;
    bool v4_walk;      /* record size 24, 28 or 32: the IPv4 walk below can read it */
    uint32_t v4_start; /* the record after the 96 zero bits of ::/96 (0 in an IPv4 tree) */
    /* per /16: its record after 16 bits + 1, and in the high half the depth where the walk left
     * the tree (16 when it did not); 0 not walked yet */
    _Atomic uint64_t *v4_top;
    _Atomic uint64_t *cc_cache;
    void *asn_map;
    size_t asn_len;
    struct ks_asn_table *asn;
};

const char *ks_geo_default_dir(void)
{
    return KS_GEO_DIR_DEFAULT;
}

static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    size_t o = dl;
    if (dl == 0 || dir[dl - 1] != '/')
        p[o++] = '/';
    memcpy(p + o, name, nl + 1);
    return p;
}

static int file_fail(struct geo_file *f, int err, const char *detail)
{
    f->pub.status = err;
    snprintf(f->detail, sizeof f->detail, "%s", detail);
    return err;
}

/* stat() first so that "not found" is told apart from every other failure. */
static int check_exists(struct geo_file *f, struct stat *st)
{
    if (stat(f->path, st) != 0)
        return file_fail(f, errno == ENOENT ? KS_ENOTFOUND : KS_EIO,
                         errno == ENOENT ? "not found" : strerror(errno));
    if (!S_ISREG(st->st_mode))
        return file_fail(f, KS_EIO, "not a regular file");
    f->pub.size = (uint64_t)st->st_size;
    return KS_OK;
}

/* Record `bit` (0 left, 1 right) of node `node` (below node_count). */
static inline uint32_t tree_record(const struct ks_geo *g, uint32_t node, unsigned bit)
{
    const uint8_t *p = g->mmdb.file_content + (size_t)node * g->mmdb.full_record_byte_size;
    switch (g->mmdb.metadata.record_size) {
    case 24:
        p += bit * 3;
        return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    case 28:
        if (bit)
            return (uint32_t)(p[3] & 0x0f) << 24 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 |
                   p[6];
        return (uint32_t)(p[3] & 0xf0) << 20 | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    default: /* 32 */
        p += bit * 4;
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
}

/* Follows bits [from, to) of an IPv4 address (bit 0 the highest) from record rec; *depth gets
 * the bits followed up to where the walk left the tree (to, if it did not). */
static inline uint32_t walk_v4(const struct ks_geo *g, uint32_t rec, uint32_t ip, unsigned from,
                               unsigned to, unsigned *depth)
{
    uint32_t nodes = g->mmdb.metadata.node_count;
    unsigned i = from;
    while (i < to && rec < nodes)
        rec = tree_record(g, rec, (ip >> (31 - i++)) & 1);
    *depth = i;
    return rec;
}

/* Sets up the IPv4 walk when the tree's layout is one it can read (else lookups stay with
 * libmaxminddb). MMDB_open has checked that the tree lies within the file. */
static int open_v4_walk(struct ks_geo *g)
{
    const MMDB_metadata_s *m = &g->mmdb.metadata;
    if ((m->record_size != 24 && m->record_size != 28 && m->record_size != 32) ||
        (m->ip_version != 4 && m->ip_version != 6) || m->node_count == 0 ||
        m->node_count >= UINT32_MAX - 16)
        return KS_OK;
    uint32_t rec = 0;
    if (m->ip_version == 6)
        for (int i = 0; i < 96 && rec < m->node_count; i++)
            rec = tree_record(g, rec, 0);
    g->v4_top = calloc((size_t)1 << V4_TOP_BITS, sizeof *g->v4_top);
    if (!g->v4_top)
        return file_fail(&g->files[KS_GEO_COUNTRY], KS_ENOMEM, "out of memory");
    g->v4_start = rec;
    g->v4_walk = true;
    return KS_OK;
}

/* The record after the first V4_TOP_BITS bits of ip, and the depth where the walk left the tree
 * (at most V4_TOP_BITS): remembered, else walked and remembered. */
static inline uint32_t v4_record_top(const struct ks_geo *g, uint32_t ip, unsigned *depth)
{
    _Atomic uint64_t *slot = &g->v4_top[ip >> (32 - V4_TOP_BITS)];
    uint64_t top = atomic_load_explicit(slot, memory_order_relaxed);
    if (top) {
        *depth = (unsigned)(top >> 32);
        return (uint32_t)top - 1;
    }
    uint32_t rec = walk_v4(g, g->v4_start, ip, 0, V4_TOP_BITS, depth);
    if (rec != UINT32_MAX) /* racing walkers store the same value */
        atomic_store_explicit(slot, (uint64_t)*depth << 32 | (rec + 1), memory_order_relaxed);
    return rec;
}

/* The search tree's record for an IPv4 address (host order). */
static uint32_t v4_record(const struct ks_geo *g, uint32_t ip)
{
    unsigned depth;
    return walk_v4(g, v4_record_top(g, ip, &depth), ip, V4_TOP_BITS, 32, &depth);
}

static int open_country(struct ks_geo *g)
{
    struct geo_file *f = &g->files[KS_GEO_COUNTRY];
    struct stat st;
    int err = check_exists(f, &st);
    if (err != KS_OK)
        return err;
    int s = MMDB_open(f->path, MMDB_MODE_MMAP, &g->mmdb);
    switch (s) {
    case MMDB_SUCCESS:
        break;
    case MMDB_OUT_OF_MEMORY_ERROR:
        return file_fail(f, KS_ENOMEM, MMDB_strerror(s));
    case MMDB_FILE_OPEN_ERROR:
    case MMDB_IO_ERROR:
        return file_fail(f, KS_EIO, MMDB_strerror(s));
    default:
        return file_fail(f, KS_ECORRUPT, MMDB_strerror(s));
    }
    const MMDB_metadata_s *m = &g->mmdb.metadata;
    snprintf(f->format, sizeof f->format, "MaxMind DB %u.%u", m->binary_format_major_version,
             m->binary_format_minor_version);
    snprintf(f->version, sizeof f->version, "%s", m->database_type ? m->database_type : "");
    f->pub.build_time = (int64_t)m->build_epoch;
    f->pub.records = m->node_count;
    g->cc_cache = calloc(CC_CACHE_SIZE, sizeof *g->cc_cache);
    if (!g->cc_cache)
        return file_fail(f, KS_ENOMEM, "out of memory");
    g->have_country = true;
    return open_v4_walk(g);
}

static int open_asn(struct ks_geo *g)
{
    struct geo_file *f = &g->files[KS_GEO_ASN];
    struct stat st;
    int err = check_exists(f, &st);
    if (err != KS_OK)
        return err;
    if (st.st_size < (off_t)KS_ASN_HEADER_SIZE || (uint64_t)st.st_size > SIZE_MAX)
        return file_fail(f, KS_ECORRUPT, "too short to be an AS table");
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return file_fail(f, KS_EIO, strerror(errno));
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return file_fail(f, KS_EIO, strerror(e));
    const char *why = "";
    err = ks_asn_table_open(map, len, &g->asn, &why);
    if (err != KS_OK) {
        munmap(map, len);
        return file_fail(f, err, why);
    }
    g->asn_map = map;
    g->asn_len = len;
    struct ks_asn_table_info info;
    ks_asn_table_info(g->asn, &info);
    snprintf(f->format, sizeof f->format, "kansoku AS table 1");
    snprintf(f->version, sizeof f->version, "%s", info.version);
    f->pub.build_time = info.build_time;
    f->pub.records = (uint64_t)info.n4 + info.n6;
    f->pub.records2 = info.nrec;
    return KS_OK;
}

int ks_geo_open(const char *dir, struct ks_geo **gp)
{
    static const char *const names[KS_GEO_NDB] = {"country", "asn"};
    static const char *const files[KS_GEO_NDB] = {KS_GEO_COUNTRY_FILE, KS_GEO_ASN_FILE};
    struct ks_geo *g = NULL;
    int err = KS_OK;

    if (!gp)
        return KS_EINVAL;
    *gp = NULL;
    if (!dir)
        dir = ks_geo_default_dir();
    g = calloc(1, sizeof *g);
    if (!g)
        return KS_ENOMEM;
    for (int i = 0; i < KS_GEO_NDB; i++) {
        struct geo_file *f = &g->files[i];
        f->path = join(dir, files[i]);
        if (!f->path) {
            ks_geo_free(g);
            return KS_ENOMEM;
        }
        f->pub.name = names[i];
        f->pub.path = f->path;
        f->pub.detail = f->detail;
        f->pub.format = f->format;
        f->pub.version = f->version;
    }
    int e1 = open_country(g);
    int e2 = open_asn(g);
    if (e1 == KS_ENOMEM || e2 == KS_ENOMEM) {
        ks_geo_free(g);
        return KS_ENOMEM;
    }
    err = e1 != KS_OK ? e1 : e2;
    *gp = g;
    return err;
}

void ks_geo_free(struct ks_geo *g)
{
    if (!g)
        return;
    if (g->have_country)
        MMDB_close(&g->mmdb);
    free(g->cc_cache);
    free(g->v4_top);
    ks_asn_table_free(g->asn);
    if (g->asn_map)
        munmap(g->asn_map, g->asn_len);
    for (int i = 0; i < KS_GEO_NDB; i++)
        free(g->files[i].path);
    free(g);
}

const struct ks_geo_file *ks_geo_file(const struct ks_geo *g, enum ks_geo_db which)
{
    if (!g || (unsigned)which >= KS_GEO_NDB)
        return NULL;
    return &g->files[which].pub;
}

static bool upper2(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* The country code of a data entry, through the cache of codes by data offset. */
static int cc_of_entry(const struct ks_geo *g, const MMDB_entry_s *entry, char cc[3])
{
    uint64_t key = (uint64_t)entry->offset + 1;
    _Atomic uint64_t *slot = &g->cc_cache[(key * 0x9e3779b97f4a7c15ull) >> 54];
    uint64_t e = atomic_load_explicit(slot, memory_order_relaxed);
    if (e >> 16 == key) {
        cc[0] = (char)(e >> 8);
        cc[1] = (char)e;
        return KS_OK;
    }
    MMDB_entry_data_s d;
    int s = MMDB_get_value((MMDB_entry_s *)entry, &d, "country_code", NULL);
    if (s == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
        return KS_OK;
    if (s != MMDB_SUCCESS)
        return KS_ECORRUPT;
    if (d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2 &&
        upper2(d.utf8_string)) {
        cc[0] = d.utf8_string[0];
        cc[1] = d.utf8_string[1];
    }
    e = key << 16 | (uint64_t)(uint8_t)cc[0] << 8 | (uint8_t)cc[1];
    atomic_store_explicit(slot, e, memory_order_relaxed);
    return KS_OK;
}

/* The country code of the search tree's record for an address (the IPv4 walk's end). */
static int cc_of_record(const struct ks_geo *g, uint32_t rec, char cc[3])
{
    uint32_t nodes = g->mmdb.metadata.node_count;
    if (rec == nodes)
        return KS_OK;
    /* a data pointer: past the 16-byte separator that follows the tree */
    if (rec < nodes + 16 || rec - nodes - 16 >= g->mmdb.data_section_size)
        return KS_ECORRUPT;
    MMDB_entry_s entry = {.mmdb = (MMDB_s *)&g->mmdb, .offset = rec - nodes - 16};
    return cc_of_entry(g, &entry, cc);
}

static int lookup_country(const struct ks_geo *g, const struct ks_addr *a, char cc[3])
{
    if (a->family == 4 && g->v4_walk)
        return cc_of_record(g, v4_record(g, ks_addr_v4(a)), cc);
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    memset(&u, 0, sizeof u);
    if (a->family == 4) {
        u.in4.sin_family = AF_INET;
        memcpy(&u.in4.sin_addr, a->b, 4);
    } else {
        u.in6.sin6_family = AF_INET6;
        memcpy(&u.in6.sin6_addr, a->b, 16);
    }
    int merr = MMDB_SUCCESS;
    /* MMDB_s is only read by lookups (libmaxminddb documents them as thread-safe). */
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr((MMDB_s *)&g->mmdb, &u.sa, &merr);
    if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
        return KS_OK;
    if (merr != MMDB_SUCCESS)
        return KS_ECORRUPT;
    if (!res.found_entry)
        return KS_OK;
    return cc_of_entry(g, &res.entry, cc);
}

/* The first bytes of the IPv4 special-purpose blocks (special_purpose4), a bit each: most addresses
 * are cleared by one test. */
static const uint64_t special_first4[4] = {
    (1ull << 0) | (1ull << 10), (1ull << (100 - 64)) | (1ull << (127 - 64)),
    (1ull << (169 - 128)) | (1ull << (172 - 128)),
    (1ull << (192 - 192)) | (1ull << (198 - 192)) | (1ull << (203 - 192)) |
        ~((1ull << (224 - 192)) - 1)};

/* Special-purpose addresses (RFC 6890 and the IANA registries it set up: private, shared,
 * loopback, link-local, documentation, benchmarking, multicast, reserved) belong to no country
 * or AS, though the whois-derived data place some (192.168.0.0/16, 172.16.0.0/12 in AU,
 * 2001:db8::/32 in JP) where their registry is. */
static inline bool special_purpose4(uint32_t x)
{
    unsigned b0 = x >> 24, b1 = (x >> 16) & 0xff, b2 = (x >> 8) & 0xff;
    if (!(special_first4[b0 >> 6] >> (b0 & 63) & 1))
        return false;
    return b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224 || (b0 == 100 && (b1 & 0xc0) == 64) ||
           (b0 == 169 && b1 == 254) || (b0 == 172 && (b1 & 0xf0) == 16) ||
           (b0 == 192 && b1 == 168) || (b0 == 192 && b1 == 0 && (b2 == 0 || b2 == 2)) ||
           (b0 == 198 && (b1 & 0xfe) == 18) || (b0 == 198 && b1 == 51 && b2 == 100) ||
           (b0 == 203 && b1 == 0 && b2 == 113);
}

static bool special_purpose(const struct ks_addr *a)
{
    const uint8_t *b = a->b;
    if (a->family == 4)
        return special_purpose4(ks_addr_v4(a));
    static const uint8_t zero[15];
    if (memcmp(b, zero, 15) == 0) /* :: and ::1 */
        return b[15] <= 1;
    return (b[0] & 0xfe) == 0xfc ||                   /* fc00::/7 unique local */
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
           b[0] == 0xff ||                            /* ff00::/8 multicast */
           (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) || /* 2001:db8::/32 */
           (memcmp(b, "\x01\x00\0\0\0\0\0\0", 8) == 0);                      /* 100::/64 discard */
}

/* Sets r to "unknown" and a to the address to look up; false when there is nothing to look
 * up (no address: *err = KS_EINVAL; a special-purpose one). */
static bool lookup_start(const struct ks_addr *addr, struct ks_addr *a, struct ks_geo_result *r,
                         int *err)
{
    r->country[0] = '-';
    r->country[1] = '-';
    r->country[2] = '\0';
    r->asn = 0;
    r->org = "";
    *err = KS_OK;
    if (!addr || (addr->family != 4 && addr->family != 6)) {
        *err = KS_EINVAL;
        return false;
    }
    *a = *addr;
    ks_addr_unmap(a);
    return !special_purpose(a);
}

int ks_geo_lookup(const struct ks_geo *g, const struct ks_addr *addr, struct ks_geo_result *r)
{
    struct ks_addr a;
    int err;
    if (!lookup_start(addr, &a, r, &err))
        return err;
    if (g->have_country)
        err = lookup_country(g, &a, r->country);
    if (g->asn)
        ks_asn_table_lookup(g->asn, &a, &r->asn, &r->org);
    return err;
}

/* The country record of IPv4 address x and the network it answers for, [*lo, *hi]: the prefix
 * of the depth where the walk left the tree. */
static uint32_t v4_record_range(const struct ks_geo *g, uint32_t x, uint32_t *lo, uint32_t *hi)
{
    unsigned depth;
    uint32_t rec = v4_record_top(g, x, &depth);
    if (depth == V4_TOP_BITS)
        rec = walk_v4(g, rec, x, V4_TOP_BITS, 32, &depth);
    uint32_t host = depth >= 32 ? 0 : UINT32_MAX >> depth;
    *lo = x & ~host;
    *hi = x | host;
    return rec;
}

/* How far ahead ks_geo_lookup4_sorted asks for the first loads of an address's lookups. */
#define SORTED_AHEAD 8

int ks_geo_lookup4_sorted(const struct ks_geo *g, const uint32_t *ip, size_t n,
                          struct ks_geo_result *r)
{
    int first_err = KS_OK;
    /* the answers of the last lookups and the addresses they hold for: none yet */
    uint64_t c_lo = 1, c_hi = 0, a_lo = 1, a_hi = 0;
    char cc[3] = "--";
    int c_err = KS_OK;
    uint32_t asn = 0;
    const char *org = "";
    bool walk = g->have_country && g->v4_walk;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = ip[i];
        if (i + SORTED_AHEAD < n) {
            uint32_t y = ip[i + SORTED_AHEAD];
            if (walk)
                __builtin_prefetch(&g->v4_top[y >> (32 - V4_TOP_BITS)]);
            if (g->asn)
                ks_asn_table_prefetch4(g->asn, y);
        }
        struct ks_geo_result *o = &r[i];
        memcpy(o->country, "--", 3);
        o->asn = 0;
        o->org = "";
        if (special_purpose4(x))
            continue;
        if (walk) {
            if (x < c_lo || x > c_hi) {
                uint32_t lo, hi;
                memcpy(cc, "--", 3);
                c_err = cc_of_record(g, v4_record_range(g, x, &lo, &hi), cc);
                c_lo = lo;
                c_hi = hi;
            }
            memcpy(o->country, cc, 3);
        } else if (g->have_country) {
            struct ks_addr a;
            ks_addr_from_v4(&a, x);
            c_err = lookup_country(g, &a, o->country);
        }
        if (c_err != KS_OK && first_err == KS_OK)
            first_err = c_err;
        if (g->asn) {
            if (x < a_lo || x > a_hi) {
                uint32_t lo, hi;
                ks_asn_table_lookup4_range(g->asn, x, &asn, &org, &lo, &hi);
                a_lo = lo;
                a_hi = hi;
            }
            o->asn = asn;
            o->org = org;
        }
    }
    return first_err;
}

/* Lookups of many IPv4 addresses are bound by the latency of the tree's nodes (a random
 * address misses the cache at nearly every level): GEO_LANES walks go down the tree side by
 * side, so that their node loads are in flight together. */
#define GEO_LANES 8

int ks_geo_lookup_many(const struct ks_geo *g, const struct ks_addr *const *addrs, size_t n,
                       struct ks_geo_result *r)
{
    int first_err = KS_OK;
    for (size_t base = 0; base < n; base += GEO_LANES) {
        size_t m = n - base < GEO_LANES ? n - base : GEO_LANES;
        uint32_t ip[GEO_LANES], rec[GEO_LANES];
        bool walk[GEO_LANES];
        struct ks_addr a[GEO_LANES];
        for (size_t l = 0; l < m; l++) {
            int err;
            walk[l] = false;
            if (!lookup_start(addrs[base + l], &a[l], &r[base + l], &err)) {
                if (err != KS_OK && first_err == KS_OK)
                    first_err = err;
                continue;
            }
            if (a[l].family == 4 && g->have_country && g->v4_walk) {
                walk[l] = true;
                ip[l] = ks_addr_v4(&a[l]);
                __builtin_prefetch(&g->v4_top[ip[l] >> (32 - V4_TOP_BITS)]);
                if (g->asn)
                    ks_asn_table_prefetch4(g->asn, ip[l]);
            } else { /* IPv6, or no IPv4 walk: one at a time */
                err = ks_geo_lookup(g, &a[l], &r[base + l]);
                if (err != KS_OK && first_err == KS_OK)
                    first_err = err;
            }
        }
        for (size_t l = 0; l < m; l++)
            if (walk[l]) {
                unsigned depth;
                rec[l] = v4_record_top(g, ip[l], &depth);
            }
        uint32_t nodes = g->mmdb.metadata.node_count;
        bool more = true; /* a lane still inside the tree */
        for (unsigned i = V4_TOP_BITS; i < 32 && more; i++) {
            more = false;
            for (size_t l = 0; l < m; l++)
                if (walk[l] && rec[l] < nodes) {
                    rec[l] = tree_record(g, rec[l], (ip[l] >> (31 - i)) & 1);
                    more |= rec[l] < nodes;
                }
        }
        uint32_t aip[GEO_LANES], asn[GEO_LANES];
        const char *org[GEO_LANES];
        size_t na = 0;
        for (size_t l = 0; l < m; l++) {
            if (!walk[l])
                continue;
            int err = cc_of_record(g, rec[l], r[base + l].country);
            if (err != KS_OK && first_err == KS_OK)
                first_err = err;
            aip[na++] = ip[l];
        }
        if (g->asn && na) { /* the walking lanes' AS, their loads side by side */
            ks_asn_table_lookup4_many(g->asn, aip, na, asn, org);
            for (size_t l = 0, k = 0; l < m; l++)
                if (walk[l]) {
                    r[base + l].asn = asn[k];
                    r[base + l].org = org[k++];
                }
        }
    }
    return first_err;
}
