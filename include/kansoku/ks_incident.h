/* kansoku incident log: the analysts' dated entries, one category each, as in Table 1 of the
 * Internet Infrastructure Review (vulnerability, political and social events, historical
 * dates, security incidents, other). The report counts them per category (its first figure)
 * and lists them per category in its incident summary.
 *
 * Entries live in the store's `incidents` table (date, category, title, note). Each write is
 * one store input, identified by the SHA-256 of its content, so adding the same entry or
 * importing the same CSV file twice is refused (KS_EEXIST) instead of counted twice.
 *
 * Dates are civil dates "YYYY-MM-DD" as the analyst writes them (the report's time zone is
 * the analyst's: no conversion). Text is UTF-8; titles are 1..KS_INCIDENT_MAX_TITLE bytes,
 * notes 0..KS_INCIDENT_MAX_NOTE bytes; neither may hold control characters (tab aside).
 *
 * Thread safety: functions on a store follow the store's rules (one thread per handle). */
#ifndef KS_INCIDENT_H
#define KS_INCIDENT_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;

#define KS_INCIDENT_MAX_TITLE 512
#define KS_INCIDENT_MAX_NOTE 8192
#define KS_INCIDENT_MAX_LINE 16384 /* longest CSV line accepted */

/* The categories, in Table 1's order (the order of the report's legend and sections). */
enum ks_incident_cat {
    KS_INCIDENT_VULN = 0,     /* vulnerability: 脆弱性 */
    KS_INCIDENT_EVENTS = 1,   /* political and social events: 動静情報 */
    KS_INCIDENT_HISTORY = 2,  /* historical dates: 歴史 */
    KS_INCIDENT_SECURITY = 3, /* security incidents: セキュリティ事件 */
    KS_INCIDENT_OTHER = 4,    /* other: その他 */
    KS_INCIDENT_NCAT = 5
};

/* The stored key ("vulnerability", "events", "history", "security", "other"), the English
 * and the Japanese name of a category; NULL if out of range. */
KS_API const char *ks_incident_cat_key(int cat);
KS_API const char *ks_incident_cat_name(int cat, const char *lang); /* lang "ja" or "en" */

/* Parses a category from (s, len): the key, the English name ("political and social events",
 * case-insensitive, '_' or '-' for spaces), a short form ("vuln", "political", "social",
 * "historical", "incident") or the Japanese name. KS_OK or KS_EFORMAT. */
KS_API int ks_incident_cat_parse(const char *s, size_t len, int *cat);

/* One entry. Strings are borrowed (they need not be NUL-terminated: lengths are given). */
struct ks_incident {
    char date[11]; /* "YYYY-MM-DD", NUL-terminated */
    int cat;       /* enum ks_incident_cat */
    const char *title;
    size_t title_len;
    const char *note; /* NULL or "" when absent */
    size_t note_len;
};

/* Checks and normalises a civil date "YYYY-MM-DD" (a real day of the Gregorian calendar,
 * years 1900..9999) into out[11]. KS_OK or KS_EFORMAT. */
KS_API int ks_incident_date_parse(const char *s, size_t len, char out[11]);

/* Checks an entry (date, category, lengths, no control characters, valid UTF-8). KS_OK or
 * KS_EFORMAT with a reason in why (may be NULL). */
KS_API int ks_incident_check(const struct ks_incident *inc, char *why, size_t whysize);

/* Adds one entry to the store as an input of kind "incident". KS_EEXIST if the same entry
 * (all four fields) is in the log already, KS_EFORMAT if ks_incident_check refuses it, or the
 * store's errors (ks_store_errmsg tells more). */
KS_API int ks_incident_add(struct ks_store *s, const struct ks_incident *inc);

/* CSV of the log: a header line "date,category,title,note", then one entry per line (RFC 4180
 * quoting, "" for a quote, no line breaks inside fields; the note column may be omitted or
 * empty). Lines starting with '#' and blank lines are skipped. */
struct ks_incident_csv_stats {
    uint64_t lines;   /* lines read, header and comments included */
    uint64_t entries; /* valid entries */
    uint64_t bad;     /* lines skipped as invalid (the first ones reported through diag) */
};

/* Parses CSV text (buf, len) and calls fn for each valid entry (strings valid during the call;
 * fn returns nonzero to stop, and that value is returned). Bad lines are counted in st and
 * reported through diag (module "incident", location source:line; diag may be NULL). No
 * store needed: this is what the import and the fuzz target run. */
KS_API int ks_incident_csv_parse(const char *buf, size_t len, const char *source,
                                 const struct ks_diag *diag,
                                 int (*fn)(void *user, const struct ks_incident *inc), void *user,
                                 struct ks_incident_csv_stats *st);

/* Imports a CSV file as one input of kind "incident import" (KS_EEXIST if imported before,
 * unless flags has KS_STORE_FORCE, which replaces it). Bad lines are skipped as above. KS_EIO
 * if unreadable (errno kept), KS_ELIMIT over 64 MiB, or the store's errors. */
KS_API int ks_incident_import_csv(struct ks_store *s, const char *path, unsigned flags,
                                  const struct ks_diag *diag, struct ks_incident_csv_stats *st);

/* Calls fn for each entry of complete inputs with from <= date <= to (either may be NULL:
 * open), ordered by date, category, title. fn returns nonzero to stop (returned). Store
 * errors as ks_store_query. */
KS_API int ks_incident_list(struct ks_store *s, const char *from, const char *to,
                            int (*fn)(void *user, const struct ks_incident *inc), void *user);

/* Writes one entry as a CSV line (with its line break) into buf; returns the length it needs
 * (like snprintf: a result >= size means it was cut). */
KS_API size_t ks_incident_csv_line(const struct ks_incident *inc, char *buf, size_t size);

#endif
