/* kansoku geolocation: IP address -> country (ISO 3166 alpha-2) and AS number + organisation.
 *
 * The data live in one directory (the CLI's --geo-dir, $KANSOKU_GEO_DIR, else the install
 * default ks_geo_default_dir()), installed by scripts/install-geo:
 *   geo-whois-asn-country.mmdb   country, IPv4 + IPv6, MaxMind DB format (read by libmaxminddb)
 *   asn.kstab                    AS ranges, kansoku's own table (built from the CSV at install)
 * A handle opens what exists: a missing or damaged file is reported by ks_geo_open() and by
 * ks_geo_file(), and lookups then answer "unknown" for that part (country "--", AS 0).
 *
 * Thread-safety: a handle is read-only after ks_geo_open(); any number of threads may call
 * ks_geo_lookup() on it at once. ks_geo_free() must not race with lookups. */
#ifndef KS_GEO_H
#define KS_GEO_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stddef.h>
#include <stdint.h>

/* File names inside the data directory. */
#define KS_GEO_COUNTRY_FILE "geo-whois-asn-country.mmdb"
#define KS_GEO_ASN_FILE "asn.kstab"

struct ks_geo; /* opaque */

enum ks_geo_db { KS_GEO_COUNTRY = 0, KS_GEO_ASN = 1, KS_GEO_NDB = 2 };

/* What ks_geo_file() says about one data file. Strings are borrowed from the handle. */
struct ks_geo_file {
    const char *name;    /* "country" or "asn" */
    const char *path;    /* the full path that was tried */
    int status;          /* KS_OK, KS_ENOTFOUND, KS_ECORRUPT, KS_EIO, KS_EUNSUPP */
    const char *detail;  /* why it is not usable ("" when status is KS_OK) */
    const char *format;  /* "MaxMind DB 2.0", "kansoku AS table 1" ("" if not open) */
    const char *version; /* the database type (mmdb) or the source package version */
    int64_t build_time;  /* Unix seconds, 0 if unknown */
    uint64_t size;       /* file size in bytes */
    uint64_t records;    /* mmdb: search-tree nodes; AS table: ranges (IPv4 + IPv6) */
    uint64_t records2;   /* AS table: distinct (AS, organisation) records; mmdb: 0 */
};

struct ks_geo_result {
    char country[3]; /* ISO 3166-1 alpha-2 code, "--" when unknown */
    uint32_t asn;    /* 0 when unknown */
    const char *org; /* AS organisation, "" when unknown; valid while the handle lives */
};

/* The data directory compiled in (meson option geo_dir, default DATADIR/kansoku/geo). */
KS_API const char *ks_geo_default_dir(void);

/* Opens the data files in dir (NULL: ks_geo_default_dir()). *gp gets a usable handle whenever
 * the return is KS_OK, KS_ENOTFOUND (some file is missing), KS_ECORRUPT (some file is damaged)
 * or KS_EIO (some file cannot be read): the files that opened are used, and ks_geo_file() says
 * which did not and why. KS_ENOMEM or KS_EINVAL leave *gp NULL. When several files fail, the
 * first one's error is returned. */
KS_API int ks_geo_open(const char *dir, struct ks_geo **gp);
KS_API void ks_geo_free(struct ks_geo *g); /* NULL is fine */

/* Describes one data file (which < KS_GEO_NDB), NULL for another value. Borrowed. */
KS_API const struct ks_geo_file *ks_geo_file(const struct ks_geo *g, enum ks_geo_db which);

/* Looks a up in every open file and fills r (always, "unknown" where nothing matches). An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as IPv4. Special-purpose addresses
 * (RFC 6890: private, loopback, link-local, documentation, multicast, reserved...) are always
 * unknown, whatever the data files say. KS_OK, KS_EINVAL (family is
 * not 4 or 6; r says unknown) or KS_ECORRUPT (the country file's data section is damaged at
 * the record found; r's country says unknown). Thread-safe; no allocation. */
KS_API int ks_geo_lookup(const struct ks_geo *g, const struct ks_addr *a, struct ks_geo_result *r);
/* ks_geo_lookup of n addresses into r[0..n): the same results, faster for many IPv4 addresses
 * (their tree walks overlap in memory). Returns the first error, or KS_OK. */
KS_API int ks_geo_lookup_many(const struct ks_geo *g, const struct ks_addr *const *a, size_t n,
                              struct ks_geo_result *r);
/* ks_geo_lookup of n IPv4 addresses given as numbers (host order) into r[0..n): the same
 * results. An address inside the network (country) or the range (AS) that answered the one
 * before it takes that answer without a lookup, so addresses in ascending order, which mostly
 * share them with their neighbour, are the fast case (any order is correct). Returns the first
 * error, or KS_OK. */
KS_API int ks_geo_lookup4_sorted(const struct ks_geo *g, const uint32_t *ip, size_t n,
                                 struct ks_geo_result *r);

/* Building the AS table from the ip-location-db CSV files ("first,last,asn,org" per line,
 * IPv4 or IPv6 dotted/colon text, org optionally quoted with "" for a quote). */
struct ks_geo_build_stats {
    uint64_t lines;    /* lines read (empty lines included) */
    uint64_t ranges4;  /* valid IPv4 ranges */
    uint64_t ranges6;  /* valid IPv6 ranges */
    uint64_t bad;      /* lines that are not a valid range (reported through diag) */
    uint64_t overlaps; /* ranges that overlap an earlier-starting one: the earlier one wins */
    uint32_t entries;  /* boundaries written (IPv4 + IPv6, gaps included) */
    uint32_t records;  /* distinct (AS, organisation) records written */
};

/* Reads the CSV files csv[0..n-1] and writes the table to out_path (through a temporary file
 * renamed into place, so a reader never sees half a table). version (may be NULL) is stored
 * as the source version, at most 23 bytes. Bad lines are counted in st (may be NULL) and the
 * first ones reported through diag (may be NULL). KS_OK, KS_EIO (a file cannot be read or
 * written: errno is kept), KS_ENOMEM, KS_ELIMIT (more than 2^31 ranges or 2 GiB of names),
 * KS_EINVAL. Not thread-safe with respect to out_path. */
KS_API int ks_geo_build_asn(const char *const *csv, size_t n, const char *out_path,
                            const char *version, const struct ks_diag *diag,
                            struct ks_geo_build_stats *st);

#endif
