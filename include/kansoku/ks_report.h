/* kansoku report: the quarterly report (an Internet Infrastructure Review) from the store.
 *
 * ks_report_write() reads the store for a period and a set of sensors and writes into a
 * directory:
 *   index.html    one self-contained page: text, inline SVG figures, print CSS, no fetches
 *   numbers.json  every headline number of the page, by key (docs/report.md lists them and the
 *                 query each comes from)
 *   figures/      each figure's data as CSV (linked from the page)
 * Every figure is drawn from stored records only (complete inputs); a figure without data
 * keeps its place, number and title and says so. Days, weeks and months are those of the
 * report's time zone. The output is deterministic: the same store and configuration give
 * byte-identical files.
 *
 * ks_report_pdf() prints index.html to a PDF with headless Chromium.
 *
 * Thread safety: one report per store handle at a time. */
#ifndef KS_REPORT_H
#define KS_REPORT_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_store;

struct ks_report_config {
    const char *from, *to;      /* the period, civil dates YYYY-MM-DD, both included */
    const char *lang;           /* "ja" (default) or "en" */
    int32_t tz_offset_s;        /* the report's zone, seconds east of UTC (default JST) */
    const char *const *sensors; /* only these sensors (tables with a sensor column); NULL: all */
    size_t nsensors;
    const char *notes_path;   /* the analyst's notes file (docs/report.md); NULL: none */
    const char *geo_dir;      /* geolocation data for addresses stored without a country;
                                 NULL: the default directory */
    const char *home_country; /* ISO 3166 alpha-2 of "domestic" (default "JP"; notes may set) */
};
KS_API void ks_report_config_default(struct ks_report_config *cfg);

struct ks_report_stats {
    unsigned figures;         /* figures written */
    unsigned figures_no_data; /* of which drawn as "no data for this period" */
    unsigned numbers;         /* headline numbers computed (not "—") */
    unsigned notes_bad;       /* lines of the notes file skipped */
    uint64_t bytes;           /* size of index.html */
};

/* Writes the report into dir (created if missing). KS_EINVAL (bad period, language or zone),
 * KS_EIO (cannot write; errno kept), KS_ENOMEM, KS_EFORMAT (notes file unreadable), or the
 * store's errors (ks_store_errmsg tells more). Problems that do not stop the report (a table
 * missing, a query failing, bad notes lines) go to diag (module "report"), may be NULL. */
KS_API int ks_report_write(struct ks_store *s, const struct ks_report_config *cfg, const char *dir,
                           const struct ks_diag *diag, struct ks_report_stats *st);

/* Prints dir/index.html to dir/report.pdf with headless Chromium (browser: its path, NULL:
 * "chromium" on the PATH), A4, in a fresh temporary profile, with networking disabled. Waits at
 * most timeout_s seconds. KS_ENOTFOUND (no browser), KS_ETIMEOUT, KS_EIO (it failed or wrote no
 * PDF). Not thread-safe (spawns a process). */
KS_API int ks_report_pdf(const char *dir, const char *browser, unsigned timeout_s);

#endif
