/* kansoku samples: the malware sample registry.
 *
 * A sample is any file or payload handed in by an operator (`kansoku samples add`), the
 * honeypot, the crawler or the mail analyzer. The registry never executes a sample. For each
 * one it computes, in one streaming pass over the bytes:
 *   - cryptographic hashes MD5, SHA-1, SHA-256 and MD6-256 (ks_md6.h), fuzzy hashes ssdeep
 *     and TLSH: all but MD6 hand-written in one fused loop (SHA-1 and SHA-256 by OpenSSL on
 *     CPUs without the SHA extensions and AVX-512 VBMI2), the same digests as OpenSSL,
 *     libfuzzy and libtlsh, which the tests compare;
 *   - the byte entropy of the whole sample and of each PE section;
 * then classifies it from what was read:
 *   - file type and MIME type (libmagic), PE/ELF structure (our own parser on the bounded
 *     cursor), packer hints (the UPX signature, sections of high entropy);
 *   - an antivirus verdict from libclamav with the operator's signature databases;
 *   - type tags (worm, bot, downloader, trojan, adware, dropper, packed) and indicators (C&C
 *     addresses, distribution URLs) from YARA rules (data/yara/README.md says how rules
 *     carry them).
 * Kept samples are stored content-addressed under a directory (DIR/ab/cd/SHA256, mode 0400).
 *
 * The store holds one row per capture (sample_events: time, source, via, sha256) and one per
 * unique sample (samples: hashes, size, type, tags, verdict), plus its indicators
 * (sample_iocs); see src/samples/README.md.
 *
 * Thread safety: a handle is used by one thread at a time. */
#ifndef KS_SAMPLES_H
#define KS_SAMPLES_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;
struct ks_ingest;

#define KS_SAMPLES_MAX_SECTIONS 16 /* PE sections described (more are counted, not kept) */
#define KS_SAMPLES_MAX_IOCS 32     /* indicators kept per sample */

struct ks_samples_config {
    const char *dir;         /* where samples are kept (created if missing); NULL: not kept */
    const char *clamav_db;   /* ClamAV database directory or file; NULL: no AV verdicts */
    const char *yara_dir;    /* folder of *.yar rule files; NULL: no YARA tags */
    uint64_t max_size;       /* larger samples are refused with KS_ELIMIT (default 1 GiB) */
    bool md6;                /* compute MD6-256 (default true) */
    bool fuzzy;              /* compute ssdeep and TLSH (default true) */
    uint32_t scan_timeout_s; /* YARA time limit per sample (default 10 s) */
};
KS_API void ks_samples_config_default(struct ks_samples_config *cfg);

struct ks_sample_section {
    char name[9];      /* as in the section header, NUL-terminated, non-printables as '?' */
    uint32_t raw_off;  /* PointerToRawData */
    uint32_t raw_size; /* SizeOfRawData (what the file holds, clipped to the file) */
    uint32_t flags;    /* Characteristics */
    double entropy;    /* Shannon entropy of the raw bytes, bits per byte (0..8) */
};

struct ks_sample_ioc {
    char kind[8];    /* "cnc" or "url" */
    char value[256]; /* the address (host[:port]) or URL as found, printable ASCII */
    char rule[64];   /* the YARA rule that found it */
};

/* What the registry knows of one sample. Strings are NUL-terminated, "" when absent. */
struct ks_sample_info {
    uint64_t size;
    char md5[33], sha1[41], sha256[65];
    char md6[65];       /* MD6-256, "" when disabled */
    char ssdeep[160];   /* "" when disabled */
    char tlsh[80];      /* "" when disabled, unavailable, or the sample is too short or uniform */
    char type[160];     /* libmagic's description */
    char mime[80];      /* libmagic's MIME type */
    double entropy;     /* bits per byte of the whole sample */
    bool pe, elf;       /* a PE (MZ + PE header) / ELF image at offset 0 */
    bool upx;           /* UPX section names or the UPX! marker */
    unsigned nsections; /* PE sections in the header (may exceed KS_SAMPLES_MAX_SECTIONS) */
    struct ks_sample_section sections[KS_SAMPLES_MAX_SECTIONS];
    double max_section_entropy; /* of the PE sections with raw data (0 if none) */
    char packer[32];            /* "UPX", "high-entropy" (a section >= 7.2 bits/byte) or "" */
    bool av_scanned;            /* a ClamAV engine was loaded and the scan ran */
    char av[128];               /* ClamAV signature name, "" when clean or not scanned */
    char rules[256];            /* YARA rules that matched, comma-separated, in rule order */
    char tags[128]; /* type tags from the rules and the packer hint, sorted, comma-separated */
    unsigned niocs;
    struct ks_sample_ioc iocs[KS_SAMPLES_MAX_IOCS];
    uint32_t pe_anomalies; /* malformed PE fields seen (bad offsets, truncated tables) */
};

struct ks_samples_stats {
    uint64_t analyzed;      /* samples hashed and classified */
    uint64_t bytes;         /* their bytes */
    uint64_t refused;       /* too large, unreadable */
    uint64_t kept;          /* new files written under dir */
    uint64_t already_kept;  /* already there (same SHA-256) */
    uint64_t av_errors;     /* ClamAV scans that failed */
    uint64_t yara_errors;   /* YARA scans that failed (timeout included) */
    uint64_t iocs_dropped;  /* indicators beyond KS_SAMPLES_MAX_IOCS */
    uint32_t yara_rules;    /* rules loaded */
    uint32_t av_signatures; /* ClamAV signatures loaded */
};

struct ks_samples; /* opaque */

/* Loads the type database, the ClamAV database and the YARA rules, and creates dir. Problems
 * (a rule that does not compile, a database that does not load) are reported through diag
 * (module "samples", location = the file) and returned: KS_EFORMAT (rules or signatures),
 * KS_EIO (unreadable, cannot create dir), KS_ENOMEM. diag may be NULL; it is kept. */
KS_API int ks_samples_new(const struct ks_samples_config *cfg, const struct ks_diag *diag,
                          struct ks_samples **sp);
KS_API void ks_samples_free(struct ks_samples *s); /* NULL is fine */

/* Hashes and classifies the file at path (read once for the hashes, then scanned by the
 * engines). KS_EIO (errno kept), KS_EINVAL (not a regular file), KS_ELIMIT (over max_size),
 * KS_EFORMAT (the file changed while read). */
KS_API int ks_samples_analyze_file(struct ks_samples *s, const char *path,
                                   struct ks_sample_info *info);
/* The same for bytes in memory (borrowed for the call). */
KS_API int ks_samples_analyze_mem(struct ks_samples *s, const void *buf, size_t len,
                                  struct ks_sample_info *info);
/* The antivirus verdict alone (no hashes, types or rules) for bytes in memory (borrowed for
 * the call; name labels them in reports): 1 with the signature name in virname (NUL-terminated,
 * truncated to size - 1) when ClamAV detects them, 0 when clean (virname ""), KS_ENOTFOUND
 * when no ClamAV database is loaded, KS_EIO when the scan failed (counted in av_errors),
 * KS_ENOMEM. */
KS_API int ks_samples_av_scan_mem(struct ks_samples *s, const void *buf, size_t len,
                                  const char *name, char *virname, size_t size);

/* Keeps a copy of the analyzed file (path) or bytes under dir as ab/cd/SHA256, mode 0400,
 * through a temporary file renamed into place; the copy is checked against info->sha256.
 * *is_new (may be NULL) says whether it was not there yet. KS_EINVAL without dir,
 * KS_EFORMAT if the content no longer matches, KS_EIO, KS_ENOSPC. */
KS_API int ks_samples_keep_file(struct ks_samples *s, const char *path,
                                const struct ks_sample_info *info, bool *is_new);
KS_API int ks_samples_keep_mem(struct ks_samples *s, const void *buf, size_t len,
                               const struct ks_sample_info *info, bool *is_new);
/* The path a sample with this SHA-256 has under dir (whether or not it is there). Returns
 * the length, 0 if it does not fit or there is no dir. */
KS_API size_t ks_samples_path(const struct ks_samples *s, const char *sha256, char *buf,
                              size_t size);

/* One capture of a sample. */
struct ks_sample_event {
    int64_t ts;            /* when it was captured, µs UTC */
    struct ks_addr source; /* where from (family 0: unknown) */
    const char *country;   /* source country (ISO 3166 alpha-2, "--" unknown); NULL = "--" */
    uint32_t asn;          /* source AS, 0 unknown */
    const char *via;       /* "honeypot", "crawler", "mail" or "manual" */
    const char *name;      /* file name, URL or session, for people; NULL = "" */
};

/* Writes the capture (a sample_events row) and, when the store has no row for this SHA-256
 * yet, the sample (samples row, with path = where it was kept if kept) and its indicators.
 * *is_new (may be NULL) says whether the sample row was written. Errors of the store. */
KS_API int ks_samples_record(struct ks_samples *s, struct ks_store *st, struct ks_ingest *ing,
                             const struct ks_sample_event *ev, const struct ks_sample_info *info,
                             bool kept, bool *is_new);

KS_API void ks_samples_stats(const struct ks_samples *s, struct ks_samples_stats *st);

/* Whether bytes look like (or contain) an executable: an MZ/PE or ELF image, a script with a
 * "#!" line, at offset 0 or later. *offset gets where it starts. Used by the honeypot to
 * decide what to hand to the registry. */
KS_API bool ks_samples_find_executable(const void *buf, size_t len, size_t *offset);

/* The ssdeep (spamsum) digest "BS:H1:H2" of len bytes, exactly as libfuzzy's fuzzy_hash_buf
 * gives it, from the registry's hand-written one-pass code (several times faster; the mail
 * module hashes every message body with it). out holds KS_SAMPLES_SSDEEP_MAX bytes; false
 * (out empty) when len is beyond what ssdeep can hash. */
#define KS_SAMPLES_SSDEEP_MAX 148
KS_API bool ks_samples_ssdeep(const void *buf, size_t len, char out[KS_SAMPLES_SSDEEP_MAX]);

/* Whether the named feature was built in: "tlsh", "md6", "clamav", "yara". */
KS_API bool ks_samples_have(const char *feature);

#endif
