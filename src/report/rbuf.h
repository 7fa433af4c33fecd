/* A growable text buffer for the report's HTML, SVG and JSON, with XML escaping and
 * deterministic number formatting (no locale: '.' decimal point, ',' thousands). */
#ifndef KS_REPORT_RBUF_H
#define KS_REPORT_RBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "kansoku/ks_core.h"

struct rbuf {
    char *p;
    size_t len, cap;
    bool oom; /* sticky: an allocation failed, the text is incomplete */
};

void rb_init(struct rbuf *b);
void rb_free(struct rbuf *b);
void rb_reset(struct rbuf *b); /* empties, keeps the memory */
void rb_put(struct rbuf *b, const char *s, size_t n);
void rb_puts(struct rbuf *b, const char *s);
void rb_printf(struct rbuf *b, const char *fmt, ...) KS_PRINTF(2, 3);
/* Text escaped for XML/HTML content and attribute values (& < > " '); bytes that are not
 * valid UTF-8 or are control characters (other than tab and line feed) become U+FFFD. */
void rb_xml(struct rbuf *b, const char *s, size_t n);
void rb_xmls(struct rbuf *b, const char *s);
/* A JSON string literal (with quotes). */
void rb_json(struct rbuf *b, const char *s);
/* A coordinate: at most 2 decimals, trailing zeros dropped ("12.5", "-3", "0"). */
void rb_coord(struct rbuf *b, double v);
/* A number for people: fixed decimals, thousands separators ("8,259", "85.8", "-1,234.50"). */
void rb_num(struct rbuf *b, double v, int decimals);
/* The same into a caller's buffer; returns buf. */
char *fmt_num(char *buf, size_t size, double v, int decimals);
/* NUL-terminated content ("" when empty). */
const char *rb_str(const struct rbuf *b);

#endif
