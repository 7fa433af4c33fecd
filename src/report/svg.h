/* The report's chart library: inline SVG figures drawn by kansoku (REPORT_FIGURES.md §3).
 *
 * 1 SVG user unit = 1 pt; width and height are given in mm so that the PDF prints at size.
 * Colours are the Okabe–Ito palette by rank (ranks 8–10 reuse hues 1–3 with a hatch), grey for
 * "other". Every function writes one complete <svg> element with the figure's id, role="img",
 * a <title> and a <desc>; the output depends only on the arguments (no random ids, fixed
 * float formatting), so the same data give byte-identical SVG. */
#ifndef KS_REPORT_SVG_H
#define KS_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "report/rbuf.h"

#define SVG_OTHER (-1)     /* the grey of その他 / other */
#define SVG_TINT_BLUE (-2) /* light tints for the inner ring of a two-ring pie */
#define SVG_TINT_VERMILLION (-3)
#define SVG_NCOLORS 10 /* distinct rank colours (7 hues + 3 hatched) */

/* Full width 170 x 80 mm, half width 82 x 62 mm. */
#define SVG_FULL_W 170.0
#define SVG_FULL_H 80.0
#define SVG_HALF_W 82.0
#define SVG_HALF_H 62.0

struct svg_fig {
    const char *id;     /* "fig-ddos-daily" */
    const char *title;  /* caption for <title>: "図-2 DDoS攻撃の対処件数" */
    const char *desc;   /* generated sentence for <desc> (may be NULL) */
    double w_mm, h_mm;  /* size; 0: full width */
    const char *xtitle; /* axis titles, with units: "（日付）" (may be NULL) */
    const char *ytitle;
    const char *y2title; /* dual axis: the right axis */
    const char *intitle; /* a title drawn inside the chart (may be NULL) */
    int y_decimals;      /* decimals of the value-axis labels (-1: from the step) */
};

/* One series (or slice): v[n] values, NAN = missing (a gap, never a zero). colour is a rank
 * index 0..9 or SVG_OTHER. */
struct svg_series {
    const char *name;
    const double *v;
    int color;
};

/* The category / x axis. Categorical: n slots, point i at the centre of slot i; numeric: point
 * i at x[i] within [xmin, xmax]. Ticks at tick_at[] (slot index or x value) with labels. */
struct svg_xaxis {
    size_t n;
    bool numeric;
    const double *x;
    double xmin, xmax;
    size_t nticks;
    const double *tick_at;
    const char *const *tick_label;
};

/* --- helpers, exposed for the tests -------------------------------------------------------- */

/* A "nice" step (1, 2, 2.5 or 5 times a power of ten) that splits range into about target
 * intervals. */
double svg_nice_step(double range, int target);
/* Axis from 0 (or lo) up to a multiple of the step covering hi: *top and *step. */
void svg_axis_range(double lo, double hi, int target, double *top, double *step);
/* The value-axis cap for stacked bars whose daily totals are t[n] (NAN = missing): when one
 * to a few totals exceed 3x the 95th percentile, returns a round cap above all others (those
 * bars are clipped and labelled); else 0 (no cap). */
double svg_axis_cap(const double *t, size_t n);
/* Shares of v[n] (>= 0) rounded to `decimals` by largest remainder so that they sum to exactly
 * 100 (all zero if the sum is 0); units[i] is the share times 10^decimals. */
void svg_round_shares(const double *v, size_t n, int decimals, long *units);
/* Estimated width in pt of UTF-8 text at a font size (ASCII ~0.56 em, wide characters 1 em). */
double svg_text_width(const char *s, double size);
/* Fill colour of a rank ("#0072B2") and whether it is hatched. */
const char *svg_color(int color, bool *hatched);

/* --- charts --------------------------------------------------------------------------------- */

/* Stacked bars, series[0] at the bottom; the legend lists the top of the stack first. With
 * allow_cap, a few outlying totals are clipped at svg_axis_cap() with a break mark and their
 * true total in parentheses above them. */
void svg_stacked_bars(struct rbuf *b, const struct svg_fig *f, const struct svg_xaxis *x,
                      const struct svg_series *s, size_t ns, bool allow_cap);

/* Lines. dual: series[1] on a right axis (dashed, axis title in its colour). markers: a dot at
 * each point. ymin: the bottom of the value axis (NAN: 0). Missing values break the line. */
void svg_lines(struct rbuf *b, const struct svg_fig *f, const struct svg_xaxis *x,
               const struct svg_series *s, size_t ns, bool dual, bool markers, double ymin);

/* Simple vertical bars with their value above (unit appended, e.g. "%"). */
void svg_bars(struct rbuf *b, const struct svg_fig *f, const char *const *labels, const double *v,
              const int *colors, size_t n, int decimals, const char *unit);

/* A pie of slices in the given order, clockwise from 12 o'clock; labels on slices >= 3%;
 * legend with shares rounded (largest remainder) to `decimals`. */
void svg_pie(struct rbuf *b, const struct svg_fig *f, const struct svg_series *slices, size_t n,
             int decimals);

/* Two rings: inner groups (e.g. domestic / foreign), outer items grouped in the same order
 * (outer[i] belongs to inner group group_of[i]; items of a group are contiguous). */
void svg_pie2(struct rbuf *b, const struct svg_fig *f, const struct svg_series *inner,
              size_t ninner, const struct svg_series *outer, const int *group_of, size_t nouter,
              int decimals);

/* A table: ncols columns of relative widths, the first row a header; cells row-major. */
void svg_table(struct rbuf *b, const struct svg_fig *f, size_t ncols, const double *widths,
               size_t nrows, const char *const *cells);

/* A text exhibit (e.g. a message's headers and body), monospace, one line per entry. */
void svg_exhibit(struct rbuf *b, const struct svg_fig *f, const char *const *lines, size_t n);

/* The frame of a figure with no data: its title kept, a visible note in the plot area. */
void svg_nodata(struct rbuf *b, const struct svg_fig *f, const char *msg);

/* A static SVG (an asset): the root element gets the figure's id, role and title. svg is
 * a complete <svg ...>...</svg> document without an XML declaration. */
void svg_static(struct rbuf *b, const struct svg_fig *f, const char *svg, size_t len);

#endif
