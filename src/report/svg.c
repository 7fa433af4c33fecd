/* The report's chart library (svg.h). Layout is in pt (1 user unit = 1 pt = 1/72 in). */
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_PER_MM (72.0 / 25.4)
#define FS_TICK 7.5
#define FS_AXIS 8.0
#define FS_TITLE 9.0
#define INK "#000000"
#define GRID "#c8c8c8"

/* Okabe–Ito (Wong, Nature Methods 8:441, 2011), in the order of REPORT_FIGURES.md §3. */
static const char *const palette[7] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                       "#56B4E9", "#CC79A7", "#F0E442"};

const char *svg_color(int color, bool *hatched)
{
    if (hatched)
        *hatched = color >= 7 && color < SVG_NCOLORS;
    if (color == SVG_TINT_BLUE)
        return "#BFD9EC";
    if (color == SVG_TINT_VERMILLION)
        return "#F4CDB6";
    if (color < 0 || color >= SVG_NCOLORS)
        return "#999999";
    return palette[color % 7];
}

/* fill="..." of a colour: hatched ranks use the figure's pattern. */
static void fill_attr(struct rbuf *b, const struct svg_fig *f, int color)
{
    bool h;
    const char *c = svg_color(color, &h);
    if (h)
        rb_printf(b, " fill=\"url(#%s-h%d)\"", f->id, color - 7);
    else
        rb_printf(b, " fill=\"%s\"", c);
}

/* --- numbers ------------------------------------------------------------------------------ */

double svg_nice_step(double range, int target)
{
    if (!(range > 0) || !isfinite(range))
        return 1;
    if (target < 1)
        target = 1;
    double raw = range / target;
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    double nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
    return nice * p;
}

void svg_axis_range(double lo, double hi, int target, double *top, double *step)
{
    if (!(hi > lo) || !isfinite(hi))
        hi = lo + 1;
    double s = svg_nice_step(hi - lo, target);
    double t = lo + ceil((hi - lo) / s - 1e-9) * s;
    if (t < hi)
        t += s;
    *top = t;
    *step = s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double svg_axis_cap(const double *t, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t m = 0, over = 0;
    double cap = 0, rest = 0;
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(t[i]))
            v[m++] = t[i];
    if (m < 10)
        goto out;
    qsort(v, m, sizeof *v, cmp_double);
    double p95 = v[(size_t)floor(0.95 * (double)(m - 1))];
    if (!(p95 > 0))
        goto out;
    for (size_t i = 0; i < m; i++) {
        if (v[i] > 3 * p95)
            over++;
        else if (v[i] > rest)
            rest = v[i];
    }
    /* A few outliers only: more would mean the axis is simply wrong for the period. */
    if (over == 0 || over > 3 + m / 30)
        goto out;
    double step;
    svg_axis_range(0, rest * 1.05, 5, &cap, &step);
out:
    free(v);
    return cap;
}

void svg_round_shares(const double *v, size_t n, int decimals, long *units)
{
    double sum = 0;
    long total = 100;
    for (int i = 0; i < decimals; i++)
        total *= 10;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > 0)
            sum += v[i];
    if (!(sum > 0)) {
        for (size_t i = 0; i < n; i++)
            units[i] = 0;
        return;
    }
    long given = 0;
    double *rem = malloc((n ? n : 1) * sizeof *rem);
    for (size_t i = 0; i < n; i++) {
        double x = isfinite(v[i]) && v[i] > 0 ? v[i] / sum * (double)total : 0;
        units[i] = (long)floor(x);
        if (rem)
            rem[i] = x - floor(x);
        given += units[i];
    }
    /* Largest remainder (Hamilton): the units left go to the largest fractions, ties to the
     * earlier (higher-ranked) item. */
    while (given < total && rem) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        units[best]++;
        rem[best] = -1;
        given++;
    }
    free(rem);
}

double svg_text_width(const char *s, double size)
{
    double w = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        if (*u < 0x80) {
            w += (*u == ' ' ? 0.3 : (*u >= 'A' && *u <= 'Z') ? 0.64 : 0.54) * size;
            u++;
        } else {
            /* Lead bytes of 3- and 4-byte sequences: CJK and other wide characters. */
            w += (*u >= 0xe0 ? 1.0 : 0.6) * size;
            u++;
            while ((*u & 0xc0) == 0x80)
                u++;
        }
    }
    return w;
}

/* --- frame ---------------------------------------------------------------------------------- */

struct frame {
    double W, H;               /* pt */
    double px0, px1, py0, py1; /* plot area: x from px0 to px1, y from py0 (top) to py1 */
};

static void open_svg(struct rbuf *b, const struct svg_fig *f, struct frame *fr)
{
    double wmm = f->w_mm > 0 ? f->w_mm : SVG_FULL_W, hmm = f->h_mm > 0 ? f->h_mm : SVG_FULL_H;
    fr->W = wmm * PT_PER_MM;
    fr->H = hmm * PT_PER_MM;
    rb_printf(b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"fig\" role=\"img\""
              " aria-labelledby=\"%s-t %s-d\" width=\"%gmm\" height=\"%gmm\" viewBox=\"0 0 ",
              f->id, f->id, f->id, wmm, hmm);
    rb_coord(b, fr->W);
    rb_puts(b, " ");
    rb_coord(b, fr->H);
    rb_puts(b, "\" font-family=\"'Noto Sans CJK JP','Source Han Sans JP',IPAexGothic,"
               "'Hiragino Kaku Gothic ProN','Yu Gothic',Meiryo,sans-serif\""
               " style=\"font-variant-numeric:tabular-nums\">");
    rb_printf(b, "<title id=\"%s-t\">", f->id);
    rb_xmls(b, f->title ? f->title : f->id);
    rb_printf(b, "</title><desc id=\"%s-d\">", f->id);
    rb_xmls(b, f->desc ? f->desc : "");
    rb_puts(b, "</desc>");
    /* Hatches for ranks 8-10: the hue with white diagonal lines. */
    rb_puts(b, "<defs>");
    for (int i = 0; i < 3; i++)
        rb_printf(b,
                  "<pattern id=\"%s-h%d\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\""
                  " patternTransform=\"rotate(45)\"><rect width=\"4\" height=\"4\" fill=\"%s\"/>"
                  "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#ffffff\" "
                  "stroke-width=\"1.4\"/></pattern>",
                  f->id, i, palette[i]);
    rb_puts(b, "</defs><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
}

static void close_svg(struct rbuf *b)
{
    rb_puts(b, "</svg>");
}

static void text_at(struct rbuf *b, double x, double y, double size, const char *anchor,
                    const char *extra, const char *s)
{
    rb_puts(b, "<text x=\"");
    rb_coord(b, x);
    rb_puts(b, "\" y=\"");
    rb_coord(b, y);
    rb_printf(b, "\" font-size=\"%g\"", size);
    if (anchor)
        rb_printf(b, " text-anchor=\"%s\"", anchor);
    if (extra)
        rb_puts(b, extra);
    rb_puts(b, ">");
    rb_xmls(b, s);
    rb_puts(b, "</text>");
}

static void line_at(struct rbuf *b, double x1, double y1, double x2, double y2, const char *color,
                    double width, const char *extra)
{
    rb_puts(b, "<line x1=\"");
    rb_coord(b, x1);
    rb_puts(b, "\" y1=\"");
    rb_coord(b, y1);
    rb_puts(b, "\" x2=\"");
    rb_coord(b, x2);
    rb_puts(b, "\" y2=\"");
    rb_coord(b, y2);
    rb_printf(b, "\" stroke=\"%s\" stroke-width=\"%g\"%s/>", color, width, extra ? extra : "");
}

static void rect_at(struct rbuf *b, double x, double y, double w, double h)
{
    rb_puts(b, "<rect x=\"");
    rb_coord(b, x);
    rb_puts(b, "\" y=\"");
    rb_coord(b, y);
    rb_puts(b, "\" width=\"");
    rb_coord(b, w);
    rb_puts(b, "\" height=\"");
    rb_coord(b, h);
    rb_puts(b, "\"");
}

/* Width of the widest legend entry (swatch included). */
static double legend_width(const struct svg_series *s, size_t ns)
{
    double w = 0;
    for (size_t i = 0; i < ns; i++) {
        double t = svg_text_width(s[i].name ? s[i].name : "", FS_AXIS);
        if (t > w)
            w = t;
    }
    return ns ? w + 14 : 0;
}

/* A legend at (x, y) going down; reverse lists the series last first (top of a stack first).
 * kind 0 = swatch, 1 = line (dashed for the second series of a dual chart). */
static void legend(struct rbuf *b, const struct svg_fig *f, double x, double y, double maxh,
                   const struct svg_series *s, size_t ns, bool reverse, int kind, bool dual)
{
    double step = ns > 0 && ns * 11.0 > maxh ? maxh / (double)ns : 11.0;
    if (step < 8.5)
        step = 8.5;
    rb_printf(b, "<g class=\"legend\">");
    for (size_t k = 0; k < ns; k++) {
        size_t i = reverse ? ns - 1 - k : k;
        double yy = y + (double)k * step;
        if (kind == 0) {
            rect_at(b, x, yy - 7, 8, 8);
            fill_attr(b, f, s[i].color);
            rb_puts(b, " stroke=\"#555555\" stroke-width=\"0.3\"/>");
        } else {
            bool h;
            line_at(b, x - 2, yy - 3, x + 10, yy - 3, svg_color(s[i].color, &h), 1.25,
                    dual && i == 1 ? " stroke-dasharray=\"3 2\"" : NULL);
        }
        text_at(b, x + 13, yy, FS_AXIS, NULL, NULL, s[i].name ? s[i].name : "");
    }
    rb_puts(b, "</g>");
}

/* Tick label format: enough decimals for the step. */
static int step_decimals(double step)
{
    int d = 0;
    while (d < 4 && fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-6)
        d++;
    return d;
}

/* The value axis on the left (or the right with right=true): gridlines (left only), ticks,
 * labels, title. */
static void value_axis(struct rbuf *b, const struct frame *fr, double lo, double top, double step,
                       int decimals, bool right, const char *title, const char *title_color)
{
    char t[64];
    if (decimals < 0)
        decimals = step_decimals(step);
    double x = right ? fr->px1 : fr->px0;
    for (int k = 0;; k++) {
        double v = lo + k * step;
        if (v > top + step * 1e-6)
            break;
        double y = fr->py1 - (v - lo) / (top - lo) * (fr->py1 - fr->py0);
        if (!right && k > 0)
            line_at(b, fr->px0, y, fr->px1, y, GRID, 0.3, NULL);
        line_at(b, x, y, right ? x + 3 : x - 3, y, INK, 0.5, NULL);
        text_at(b, right ? x + 5 : x - 5, y + 2.6, FS_TICK, right ? "start" : "end", NULL,
                fmt_num(t, sizeof t, v, decimals));
    }
    line_at(b, x, fr->py0, x, fr->py1, INK, 0.5, NULL);
    if (title && *title) {
        double tx = right ? fr->W - 4 : 9;
        double ty = (fr->py0 + fr->py1) / 2;
        rb_puts(
            b,
            "<text x=\"0\" y=\"0\" font-size=\"8\" text-anchor=\"middle\" transform=\"translate(");
        rb_coord(b, tx);
        rb_puts(b, " ");
        rb_coord(b, ty);
        rb_printf(b, ") rotate(%d)\"", right ? 90 : -90);
        if (title_color)
            rb_printf(b, " fill=\"%s\"", title_color);
        rb_puts(b, ">");
        rb_xmls(b, title);
        rb_puts(b, "</text>");
    }
}

static double x_of(const struct frame *fr, const struct svg_xaxis *x, double at)
{
    if (x->numeric) {
        double span = x->xmax - x->xmin;
        return fr->px0 + (span > 0 ? (at - x->xmin) / span : 0) * (fr->px1 - fr->px0);
    }
    double slot = (fr->px1 - fr->px0) / (double)(x->n ? x->n : 1);
    return fr->px0 + (at + 0.5) * slot;
}

/* The category / x axis: baseline, ticks and labels (rotated when they do not fit), title. */
static void category_axis(struct rbuf *b, const struct frame *fr, const struct svg_xaxis *x,
                          const char *title)
{
    line_at(b, fr->px0, fr->py1, fr->px1, fr->py1, INK, 0.5, NULL);
    double widest = 0, room = fr->px1 - fr->px0;
    for (size_t i = 0; i < x->nticks; i++) {
        double w = svg_text_width(x->tick_label[i] ? x->tick_label[i] : "", FS_TICK);
        if (w > widest)
            widest = w;
    }
    bool rotate = x->nticks > 1 && widest + 3 > room / (double)x->nticks;
    for (size_t i = 0; i < x->nticks; i++) {
        double xx = x_of(fr, x, x->tick_at[i]);
        line_at(b, xx, fr->py1, xx, fr->py1 + 3, INK, 0.5, NULL);
        const char *lab = x->tick_label[i] ? x->tick_label[i] : "";
        if (rotate) {
            rb_puts(b, "<text x=\"0\" y=\"0\" font-size=\"7.5\" text-anchor=\"end\" "
                       "transform=\"translate(");
            rb_coord(b, xx + 2);
            rb_puts(b, " ");
            rb_coord(b, fr->py1 + 6);
            rb_puts(b, ") rotate(-40)\">");
            rb_xmls(b, lab);
            rb_puts(b, "</text>");
        } else {
            text_at(b, xx, fr->py1 + 11, FS_TICK, "middle", NULL, lab);
        }
    }
    if (title && *title)
        text_at(b, (fr->px0 + fr->px1) / 2, fr->H - 4, FS_AXIS, "middle", NULL, title);
}

/* Plot area for an axis chart with a legend of width lw on the right. */
static void plot_area(struct frame *fr, const struct svg_fig *f, const struct svg_xaxis *x,
                      double lw, bool right_axis)
{
    double bottom = 30;
    if (x && x->nticks > 1) {
        double widest = 0;
        for (size_t i = 0; i < x->nticks; i++) {
            double w = svg_text_width(x->tick_label[i] ? x->tick_label[i] : "", FS_TICK);
            if (w > widest)
                widest = w;
        }
        double room = (fr->W - 52 - lw - (right_axis ? 40 : 10)) / (double)x->nticks;
        if (widest + 3 > room)
            bottom = 24 + widest * 0.65;
    }
    fr->px0 = 50;
    fr->px1 = fr->W - (lw > 0 ? lw + 12 : 10) - (right_axis ? 40 : 0);
    fr->py0 = f->intitle ? 26 : 14;
    fr->py1 = fr->H - bottom;
    if (fr->px1 < fr->px0 + 40)
        fr->px1 = fr->px0 + 40;
}

static void in_title(struct rbuf *b, const struct svg_fig *f, const struct frame *fr)
{
    if (f->intitle)
        text_at(b, (fr->px0 + fr->px1) / 2, 12, FS_TITLE, "middle", NULL, f->intitle);
}

/* --- stacked bars --------------------------------------------------------------------------- */

void svg_stacked_bars(struct rbuf *b, const struct svg_fig *f, const struct svg_xaxis *x,
                      const struct svg_series *s, size_t ns, bool allow_cap)
{
    struct frame fr;
    char t[64];
    double *tot = calloc(x->n ? x->n : 1, sizeof *tot);
    if (!tot) {
        b->oom = true;
        return;
    }
    double maxt = 0;
    for (size_t i = 0; i < x->n; i++) {
        bool any = false;
        for (size_t k = 0; k < ns; k++)
            if (isfinite(s[k].v[i])) {
                tot[i] += s[k].v[i];
                any = true;
            }
        if (!any)
            tot[i] = NAN;
        else if (tot[i] > maxt)
            maxt = tot[i];
    }
    double cap = allow_cap ? svg_axis_cap(tot, x->n) : 0, top, step;
    if (cap > 0) {
        top = cap;
        step = svg_nice_step(cap, 5);
    } else {
        svg_axis_range(0, maxt > 0 ? maxt : 1, 5, &top, &step);
    }
    /* Counts: no fractional ticks. */
    if (f->y_decimals == 0 && step < 1) {
        step = 1;
        top = ceil(top);
    }
    open_svg(b, f, &fr);
    plot_area(&fr, f, x, legend_width(s, ns), false);
    in_title(b, f, &fr);
    value_axis(b, &fr, 0, top, step, f->y_decimals, false, f->ytitle, NULL);
    double slot = (fr.px1 - fr.px0) / (double)(x->n ? x->n : 1);
    double bw = slot * 0.8 > 0.6 ? slot * 0.8 : 0.6;
    double scale = (fr.py1 - fr.py0) / top;
    rb_puts(b, "<g class=\"bars\">");
    for (size_t k = 0; k < ns; k++) {
        rb_printf(b, "<g class=\"series\" data-name=\"");
        rb_xmls(b, s[k].name ? s[k].name : "");
        rb_puts(b, "\"");
        fill_attr(b, f, s[k].color);
        rb_puts(b, ">");
        for (size_t i = 0; i < x->n; i++) {
            double v = s[k].v[i];
            if (!isfinite(v) || v <= 0)
                continue;
            double below = 0;
            for (size_t j = 0; j < k; j++)
                if (isfinite(s[j].v[i]))
                    below += s[j].v[i];
            double y0 = below, y1 = below + v;
            if (y0 >= top)
                continue;
            if (y1 > top)
                y1 = top;
            double xx = fr.px0 + (double)i * slot + (slot - bw) / 2;
            rect_at(b, xx, fr.py1 - y1 * scale, bw, (y1 - y0) * scale);
            rb_puts(b, "><title>");
            rb_xmls(b, s[k].name ? s[k].name : "");
            rb_printf(b, ": %s</title></rect>", fmt_num(t, sizeof t, v, 0));
        }
        rb_puts(b, "</g>");
    }
    /* Clipped bars: a break mark and the true total above. */
    for (size_t i = 0; cap > 0 && i < x->n; i++) {
        if (!(tot[i] > top))
            continue;
        double xc = fr.px0 + ((double)i + 0.5) * slot;
        double yb = fr.py0 + 10;
        for (int j = 0; j < 2; j++) {
            double dy = j * 3.0;
            line_at(b, xc - slot * 0.6, yb + dy + 1.5, xc + slot * 0.6, yb + dy - 1.5, "#ffffff",
                    1.6, NULL);
        }
        char lab[80];
        snprintf(lab, sizeof lab, "(%s)", fmt_num(t, sizeof t, tot[i], 0));
        text_at(b, xc, fr.py0 - 2, FS_TICK, "middle", " class=\"clipped\"", lab);
    }
    rb_puts(b, "</g>");
    category_axis(b, &fr, x, f->xtitle);
    legend(b, f, fr.px1 + 12, fr.py0 + 8, fr.py1 - fr.py0, s, ns, true, 0, false);
    close_svg(b);
    free(tot);
}

/* --- lines ---------------------------------------------------------------------------------- */

static void series_range(const struct svg_series *s, size_t n, double *mx)
{
    *mx = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(s->v[i]) && s->v[i] > *mx)
            *mx = s->v[i];
}

void svg_lines(struct rbuf *b, const struct svg_fig *f, const struct svg_xaxis *x,
               const struct svg_series *s, size_t ns, bool dual, bool markers, double ymin)
{
    struct frame fr;
    double lo = isfinite(ymin) ? ymin : 0;
    double top[2] = {1, 1}, step[2] = {1, 1}, mx;
    dual = dual && ns >= 2;
    open_svg(b, f, &fr);
    plot_area(&fr, f, x, dual ? 0 : legend_width(s, ns), dual);
    if (dual)
        fr.px1 = fr.W - 48;
    in_title(b, f, &fr);
    for (int a = 0; a < (dual ? 2 : 1); a++) {
        double m = 0;
        for (size_t k = 0; k < ns; k++) {
            if (dual && (int)(k > 0) != a)
                continue;
            series_range(&s[k], x->n, &mx);
            if (mx > m)
                m = mx;
        }
        svg_axis_range(lo, m > lo ? m : lo + 1, 5, &top[a], &step[a]);
    }
    bool h;
    value_axis(b, &fr, lo, top[0], step[0], f->y_decimals, false, f->ytitle,
               dual ? svg_color(s[0].color, &h) : NULL);
    if (dual)
        value_axis(b, &fr, 0, top[1], step[1], f->y_decimals, true, f->y2title,
                   svg_color(s[1].color, &h));
    category_axis(b, &fr, x, f->xtitle);
    for (size_t k = 0; k < ns; k++) {
        int a = dual && k > 0 ? 1 : 0;
        double base = a ? 0 : lo;
        const char *col = svg_color(s[k].color, &h);
        const char *dash = (k % 2 == 1) ? " stroke-dasharray=\"3 2\"" : "";
        bool open = false;
        rb_puts(b, "<g class=\"series\" data-name=\"");
        rb_xmls(b, s[k].name ? s[k].name : "");
        rb_puts(b, "\">");
        for (size_t i = 0; i < x->n; i++) {
            double v = s[k].v[i];
            if (!isfinite(v)) {
                if (open)
                    rb_puts(b, "\"/>");
                open = false;
                continue;
            }
            if (v < base)
                v = base;
            double xx = x_of(&fr, x, x->numeric ? x->x[i] : (double)i);
            double yy = fr.py1 - (v - base) / (top[a] - base) * (fr.py1 - fr.py0);
            if (!open) {
                rb_printf(b,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.25\""
                          " stroke-linejoin=\"round\"%s points=\"",
                          col, dash);
                open = true;
            } else {
                rb_puts(b, " ");
            }
            rb_coord(b, xx);
            rb_puts(b, ",");
            rb_coord(b, yy);
        }
        if (open)
            rb_puts(b, "\"/>");
        for (size_t i = 0; markers && i < x->n; i++) {
            double v = s[k].v[i];
            if (!isfinite(v))
                continue;
            double xx = x_of(&fr, x, x->numeric ? x->x[i] : (double)i);
            double yy =
                fr.py1 - ((v < base ? base : v) - base) / (top[a] - base) * (fr.py1 - fr.py0);
            rb_puts(b, "<circle cx=\"");
            rb_coord(b, xx);
            rb_puts(b, "\" cy=\"");
            rb_coord(b, yy);
            rb_printf(b, "\" r=\"2\" fill=\"%s\"/>", col);
        }
        rb_puts(b, "</g>");
    }
    if (dual) {
        /* Legend in the top left corner of the plot. */
        legend(b, f, fr.px0 + 10, fr.py0 + 10, fr.py1 - fr.py0, s, ns, false, 1, true);
    } else {
        legend(b, f, fr.px1 + 14, fr.py0 + 8, fr.py1 - fr.py0, s, ns, false, 1, false);
    }
    close_svg(b);
}

/* --- simple bars ---------------------------------------------------------------------------- */

void svg_bars(struct rbuf *b, const struct svg_fig *f, const char *const *labels, const double *v,
              const int *colors, size_t n, int decimals, const char *unit)
{
    struct frame fr;
    double mx = 0, top, step;
    char t[64], lab[80];
    double *at = calloc(n ? n : 1, sizeof *at);
    if (!at) {
        b->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        at[i] = (double)i;
        if (isfinite(v[i]) && v[i] > mx)
            mx = v[i];
    }
    struct svg_xaxis x = {.n = n, .nticks = n, .tick_at = at, .tick_label = labels};
    svg_axis_range(0, mx > 0 ? mx * 1.08 : 1, 5, &top, &step);
    open_svg(b, f, &fr);
    plot_area(&fr, f, &x, 0, false);
    in_title(b, f, &fr);
    value_axis(b, &fr, 0, top, step, f->y_decimals, false, f->ytitle, NULL);
    double slot = (fr.px1 - fr.px0) / (double)(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        double h = v[i] / top * (fr.py1 - fr.py0);
        double bw = slot * 0.45 < 60 ? slot * 0.45 : 60;
        double xx = fr.px0 + ((double)i + 0.5) * slot - bw / 2;
        rect_at(b, xx, fr.py1 - h, bw, h);
        fill_attr(b, f, colors ? colors[i] : (int)i);
        rb_puts(b, "/>");
        snprintf(lab, sizeof lab, "%s%s", fmt_num(t, sizeof t, v[i], decimals), unit ? unit : "");
        text_at(b, xx + bw / 2, fr.py1 - h - 3, FS_AXIS, "middle", NULL, lab);
    }
    category_axis(b, &fr, &x, f->xtitle);
    close_svg(b);
    free(at);
}

/* --- pies ----------------------------------------------------------------------------------- */

static void pt_on(double cx, double cy, double r, double a, double *x, double *y)
{
    *x = cx + r * sin(a);
    *y = cy - r * cos(a);
}

/* An annular sector from angle a0 to a1 (radians clockwise from 12 o'clock), radii r0 < r1
 * (r0 = 0: a pie slice). */
static void sector(struct rbuf *b, const struct svg_fig *f, double cx, double cy, double r0,
                   double r1, double a0, double a1, int color, const char *tip)
{
    double x, y;
    if (a1 - a0 >= 2 * M_PI - 1e-9) {
        /* A full ring: two half arcs (an arc cannot start and end at the same point). */
        rb_puts(b, "<path fill-rule=\"evenodd\" d=\"");
        for (int k = 0; k < (r0 > 0 ? 2 : 1); k++) {
            double r = k ? r0 : r1;
            rb_puts(b, "M");
            rb_coord(b, cx);
            rb_puts(b, " ");
            rb_coord(b, cy - r);
            rb_puts(b, "A");
            rb_coord(b, r);
            rb_puts(b, " ");
            rb_coord(b, r);
            rb_puts(b, " 0 1 1 ");
            rb_coord(b, cx);
            rb_puts(b, " ");
            rb_coord(b, cy + r);
            rb_puts(b, "A");
            rb_coord(b, r);
            rb_puts(b, " ");
            rb_coord(b, r);
            rb_puts(b, " 0 1 1 ");
            rb_coord(b, cx);
            rb_puts(b, " ");
            rb_coord(b, cy - r);
            rb_puts(b, "Z");
        }
    } else {
        int large = a1 - a0 > M_PI ? 1 : 0;
        rb_puts(b, "<path d=\"M");
        if (r0 > 0) {
            pt_on(cx, cy, r0, a0, &x, &y);
        } else {
            x = cx;
            y = cy;
        }
        rb_coord(b, x);
        rb_puts(b, " ");
        rb_coord(b, y);
        pt_on(cx, cy, r1, a0, &x, &y);
        rb_puts(b, "L");
        rb_coord(b, x);
        rb_puts(b, " ");
        rb_coord(b, y);
        pt_on(cx, cy, r1, a1, &x, &y);
        rb_puts(b, "A");
        rb_coord(b, r1);
        rb_puts(b, " ");
        rb_coord(b, r1);
        rb_printf(b, " 0 %d 1 ", large);
        rb_coord(b, x);
        rb_puts(b, " ");
        rb_coord(b, y);
        if (r0 > 0) {
            pt_on(cx, cy, r0, a1, &x, &y);
            rb_puts(b, "L");
            rb_coord(b, x);
            rb_puts(b, " ");
            rb_coord(b, y);
            pt_on(cx, cy, r0, a0, &x, &y);
            rb_puts(b, "A");
            rb_coord(b, r0);
            rb_puts(b, " ");
            rb_coord(b, r0);
            rb_printf(b, " 0 %d 0 ", large);
            rb_coord(b, x);
            rb_puts(b, " ");
            rb_coord(b, y);
        }
        rb_puts(b, "Z");
    }
    rb_puts(b, "\"");
    fill_attr(b, f, color);
    rb_puts(b, " stroke=\"#ffffff\" stroke-width=\"0.6\"><title>");
    rb_xmls(b, tip);
    rb_puts(b, "</title></path>");
}

static const char *share_text(char *buf, size_t size, long units, int decimals)
{
    char t[64];
    double d = (double)units;
    for (int i = 0; i < decimals; i++)
        d /= 10;
    snprintf(buf, size, "%s%%", fmt_num(t, sizeof t, d, decimals));
    return buf;
}

/* Label colour readable on a fill. */
static const char *ink_on(int color)
{
    return color == 1 || color == 4 || color == 6 || color == 2 || color == SVG_TINT_BLUE ||
                   color == SVG_TINT_VERMILLION
               ? "#000000"
               : "#ffffff";
}

void svg_pie(struct rbuf *b, const struct svg_fig *f, const struct svg_series *sl, size_t n,
             int decimals)
{
    struct frame fr;
    char pct[32], lab[600];
    long *u = calloc(n ? n : 1, sizeof *u);
    double *v = calloc(n ? n : 1, sizeof *v);
    if (!u || !v) {
        b->oom = true;
        free(u);
        free(v);
        return;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = isfinite(sl[i].v[0]) && sl[i].v[0] > 0 ? sl[i].v[0] : 0;
        sum += v[i];
    }
    svg_round_shares(v, n, decimals, u);
    open_svg(b, f, &fr);
    in_title(b, f, &(struct frame){.px0 = 0, .px1 = fr.W});
    double top = f->intitle ? 20 : 8;
    double r = (fr.H - top - 8) / 2;
    double lw = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(lab, sizeof lab, "%s %s", sl[i].name ? sl[i].name : "",
                 share_text(pct, sizeof pct, u[i], decimals));
        double w = svg_text_width(lab, FS_AXIS) + 14;
        if (w > lw)
            lw = w;
    }
    if (r > (fr.W - lw - 24) / 2)
        r = (fr.W - lw - 24) / 2;
    if (r < 20)
        r = 20;
    double cx = 8 + r, cy = top + r + (fr.H - top - 8 - 2 * r) / 2;
    double a = 0;
    for (size_t i = 0; i < n && sum > 0; i++) {
        if (v[i] <= 0)
            continue;
        double da = v[i] / sum * 2 * M_PI;
        snprintf(lab, sizeof lab, "%s %s", sl[i].name ? sl[i].name : "",
                 share_text(pct, sizeof pct, u[i], decimals));
        sector(b, f, cx, cy, 0, r, a, a + da, sl[i].color, lab);
        a += da;
    }
    /* Direct labels on slices of 3% and more. */
    a = 0;
    for (size_t i = 0; i < n && sum > 0; i++) {
        if (v[i] <= 0)
            continue;
        double da = v[i] / sum * 2 * M_PI, x, y;
        if (v[i] / sum >= 0.03) {
            pt_on(cx, cy, r * 0.68, a + da / 2, &x, &y);
            char extra[48];
            snprintf(extra, sizeof extra, " fill=\"%s\"", ink_on(sl[i].color));
            text_at(b, x, y + 2.6, FS_TICK, "middle", extra,
                    share_text(pct, sizeof pct, u[i], decimals));
        }
        a += da;
    }
    /* Legend: rank order, other last, with shares. */
    double lx = cx + r + 16, ly = cy - (double)n * 11.0 / 2 + 8;
    if (ly < top + 8)
        ly = top + 8;
    double step = (double)n * 11.0 > fr.H - 12 ? (fr.H - 12) / (double)n : 11.0;
    for (size_t i = 0; i < n; i++) {
        double yy = ly + (double)i * step;
        rect_at(b, lx, yy - 7, 8, 8);
        fill_attr(b, f, sl[i].color);
        rb_puts(b, " stroke=\"#555555\" stroke-width=\"0.3\"/>");
        snprintf(lab, sizeof lab, "%s %s", sl[i].name ? sl[i].name : "",
                 share_text(pct, sizeof pct, u[i], decimals));
        text_at(b, lx + 13, yy, FS_AXIS, NULL, NULL, lab);
    }
    close_svg(b);
    free(u);
    free(v);
}

void svg_pie2(struct rbuf *b, const struct svg_fig *f, const struct svg_series *inner,
              size_t ninner, const struct svg_series *outer, const int *group_of, size_t nouter,
              int decimals)
{
    struct frame fr;
    char pct[32], lab[600];
    long *ui = calloc(ninner ? ninner : 1, sizeof *ui),
         *uo = calloc(nouter ? nouter : 1, sizeof *uo);
    double *vi = calloc(ninner ? ninner : 1, sizeof *vi),
           *vo = calloc(nouter ? nouter : 1, sizeof *vo);
    if (!ui || !uo || !vi || !vo) {
        b->oom = true;
        goto out;
    }
    double sum = 0;
    for (size_t i = 0; i < ninner; i++)
        vi[i] = isfinite(inner[i].v[0]) && inner[i].v[0] > 0 ? inner[i].v[0] : 0;
    for (size_t i = 0; i < nouter; i++) {
        vo[i] = isfinite(outer[i].v[0]) && outer[i].v[0] > 0 ? outer[i].v[0] : 0;
        sum += vo[i];
    }
    svg_round_shares(vi, ninner, decimals, ui);
    svg_round_shares(vo, nouter, decimals, uo);
    open_svg(b, f, &fr);
    double r2 = (fr.H - 16) / 2, r1 = r2 * 0.55;
    double cx = 8 + r2, cy = fr.H / 2;
    double a = 0;
    /* Outer ring, then the inner pie over its centre. */
    for (size_t i = 0; i < nouter && sum > 0; i++) {
        if (vo[i] <= 0)
            continue;
        double da = vo[i] / sum * 2 * M_PI;
        snprintf(lab, sizeof lab, "%s %s", outer[i].name ? outer[i].name : "",
                 share_text(pct, sizeof pct, uo[i], decimals));
        sector(b, f, cx, cy, r1, r2, a, a + da, outer[i].color, lab);
        a += da;
    }
    double isum = 0;
    for (size_t i = 0; i < ninner; i++)
        isum += vi[i];
    a = 0;
    for (size_t i = 0; i < ninner && isum > 0; i++) {
        if (vi[i] <= 0)
            continue;
        double da = vi[i] / isum * 2 * M_PI;
        snprintf(lab, sizeof lab, "%s %s", inner[i].name ? inner[i].name : "",
                 share_text(pct, sizeof pct, ui[i], decimals));
        sector(b, f, cx, cy, 0, r1, a, a + da, inner[i].color, lab);
        double x, y;
        pt_on(cx, cy, r1 * 0.55, a + da / 2, &x, &y);
        char extra[48];
        snprintf(extra, sizeof extra, " fill=\"%s\"", ink_on(inner[i].color));
        if (vi[i] / isum >= 0.05) {
            text_at(b, x, y - 1, FS_AXIS, "middle", extra, inner[i].name ? inner[i].name : "");
            text_at(b, x, y + 8, FS_AXIS, "middle", extra,
                    share_text(pct, sizeof pct, ui[i], decimals));
        }
        a += da;
    }
    a = 0;
    for (size_t i = 0; i < nouter && sum > 0; i++) {
        double da = vo[i] / sum * 2 * M_PI, x, y;
        if (vo[i] / sum >= 0.03) {
            pt_on(cx, cy, (r1 + r2) / 2, a + da / 2, &x, &y);
            char extra[48];
            snprintf(extra, sizeof extra, " fill=\"%s\"", ink_on(outer[i].color));
            text_at(b, x, y + 2.6, 7.0, "middle", extra,
                    share_text(pct, sizeof pct, uo[i], decimals));
        }
        a += da;
    }
    /* Legend: one column per inner group, headed by the group and its share. */
    double colx = cx + r2 + 16, colw = (fr.W - colx - 4) / (double)(ninner ? ninner : 1);
    for (size_t g = 0; g < ninner; g++) {
        double x0 = colx + (double)g * colw, yy = 16;
        snprintf(lab, sizeof lab, "%s %s", inner[g].name ? inner[g].name : "",
                 share_text(pct, sizeof pct, ui[g], decimals));
        rect_at(b, x0, yy - 7, 8, 8);
        fill_attr(b, f, inner[g].color);
        rb_puts(b, "/>");
        text_at(b, x0 + 13, yy, FS_AXIS, NULL, " font-weight=\"bold\"", lab);
        yy += 13;
        for (size_t i = 0; i < nouter; i++) {
            if (group_of[i] != (int)g)
                continue;
            rect_at(b, x0 + 6, yy - 7, 8, 8);
            fill_attr(b, f, outer[i].color);
            rb_puts(b, " stroke=\"#555555\" stroke-width=\"0.3\"/>");
            snprintf(lab, sizeof lab, "%s %s", outer[i].name ? outer[i].name : "",
                     share_text(pct, sizeof pct, uo[i], decimals));
            text_at(b, x0 + 19, yy, FS_AXIS, NULL, NULL, lab);
            yy += 10.5;
        }
    }
    close_svg(b);
out:
    free(ui);
    free(uo);
    free(vi);
    free(vo);
}

/* --- text figures --------------------------------------------------------------------------- */

/* Splits s into lines of at most width pt; returns the number of lines and writes them (each
 * NUL-terminated, in out, at most maxl). */
static size_t wrap(const char *s, double width, double size, char out[][256], size_t maxl)
{
    size_t nl = 0, len = 0;
    double w = 0;
    const unsigned char *u = (const unsigned char *)s;
    if (maxl == 0)
        return 0;
    out[0][0] = '\0';
    while (*u) {
        size_t k = 1;
        if (*u >= 0x80)
            while ((u[k] & 0xc0) == 0x80)
                k++;
        char ch[8] = {0};
        memcpy(ch, u, k < 7 ? k : 7);
        double cw = svg_text_width(ch, size);
        if ((w + cw > width && len > 0) || len + k >= 255 || *u == '\n') {
            if (nl + 1 >= maxl)
                break;
            nl++;
            len = 0;
            w = 0;
            out[nl][0] = '\0';
            if (*u == '\n' || *u == ' ') {
                u += k;
                continue;
            }
        }
        memcpy(out[nl] + len, u, k);
        len += k;
        out[nl][len] = '\0';
        w += cw;
        u += k;
    }
    return nl + 1;
}

void svg_table(struct rbuf *b, const struct svg_fig *f, size_t ncols, const double *widths,
               size_t nrows, const char *const *cells)
{
    struct frame fr;
    char lines[8][256];
    double tw = 0, total = 8;
    for (size_t c = 0; c < ncols; c++)
        tw += widths[c];
    /* The height follows the wrapped rows. */
    double Wpt = (f->w_mm > 0 ? f->w_mm : SVG_FULL_W) * PT_PER_MM - 8;
    for (size_t r = 0; r < nrows; r++) {
        size_t maxl = 1;
        for (size_t c = 0; c < ncols; c++) {
            size_t k = wrap(cells[r * ncols + c] ? cells[r * ncols + c] : "",
                            widths[c] / tw * Wpt - 8, FS_AXIS, lines, 8);
            if (k > maxl)
                maxl = k;
        }
        total += 6 + 10.5 * (double)maxl;
    }
    struct svg_fig f2 = *f;
    f2.h_mm = total / PT_PER_MM;
    f = &f2;
    open_svg(b, f, &fr);
    double x0 = 4, y = 4, W = fr.W - 8;
    for (size_t r = 0; r < nrows; r++) {
        size_t maxl = 1;
        for (size_t c = 0; c < ncols; c++) {
            double cw = widths[c] / tw * W - 8;
            size_t k =
                wrap(cells[r * ncols + c] ? cells[r * ncols + c] : "", cw, FS_AXIS, lines, 8);
            if (k > maxl)
                maxl = k;
        }
        double rh = 6 + 10.5 * (double)maxl;
        double x = x0;
        for (size_t c = 0; c < ncols; c++) {
            double cw = widths[c] / tw * W;
            rect_at(b, x, y, cw, rh);
            rb_printf(b, " fill=\"%s\" stroke=\"#000000\" stroke-width=\"0.5\"/>",
                      r == 0   ? "#e6e6e6"
                      : c == 0 ? "#f4f4f4"
                               : "#ffffff");
            size_t k =
                wrap(cells[r * ncols + c] ? cells[r * ncols + c] : "", cw - 8, FS_AXIS, lines, 8);
            for (size_t l = 0; l < k; l++)
                text_at(b, x + 4, y + 11 + 10.5 * (double)l, FS_AXIS, NULL,
                        r == 0 ? " font-weight=\"bold\"" : NULL, lines[l]);
            x += cw;
        }
        y += rh;
    }
    close_svg(b);
}

void svg_exhibit(struct rbuf *b, const struct svg_fig *f, const char *const *ls, size_t n)
{
    struct frame fr;
    open_svg(b, f, &fr);
    rect_at(b, 4, 4, fr.W - 8, fr.H - 8);
    rb_puts(b, " fill=\"#fafafa\" stroke=\"#888888\" stroke-width=\"0.5\"/>");
    double y = 16;
    for (size_t i = 0; i < n && y < fr.H - 6; i++, y += 10)
        text_at(b, 10, y, 7.5, NULL, " font-family=\"'Noto Sans Mono CJK JP',monospace\"",
                ls[i] ? ls[i] : "");
    close_svg(b);
}

void svg_nodata(struct rbuf *b, const struct svg_fig *f, const char *msg)
{
    struct frame fr;
    char lines[6][256];
    open_svg(b, f, &fr);
    rect_at(b, 2, 2, fr.W - 4, fr.H - 4);
    rb_puts(b, " fill=\"#f7f7f7\" stroke=\"#999999\" stroke-width=\"0.75\" "
               "stroke-dasharray=\"4 3\"/>");
    if (f->intitle)
        text_at(b, fr.W / 2, 14, FS_TITLE, "middle", NULL, f->intitle);
    size_t k = wrap(msg ? msg : "", fr.W - 40, FS_TITLE, lines, 6);
    double y = fr.H / 2 - 6.0 * (double)(k - 1);
    for (size_t l = 0; l < k; l++)
        text_at(b, fr.W / 2, y + 12.0 * (double)l, FS_TITLE, "middle",
                l == 0 ? " class=\"nodata\" fill=\"#333333\"" : " fill=\"#333333\"", lines[l]);
    close_svg(b);
}

void svg_static(struct rbuf *b, const struct svg_fig *f, const char *svg, size_t len)
{
    /* Our assets start with "<svg " and carry no id, role or title of their own. */
    const char *p = memchr(svg, '<', len);
    if (!p || (size_t)(svg + len - p) < 5 || memcmp(p, "<svg", 4) != 0) {
        svg_nodata(b, f, "(asset missing)");
        return;
    }
    const char *gt = memchr(p, '>', (size_t)(svg + len - p));
    if (!gt) {
        svg_nodata(b, f, "(asset missing)");
        return;
    }
    rb_printf(b, "<svg id=\"%s\" class=\"fig\" role=\"img\" aria-labelledby=\"%s-t %s-d\"", f->id,
              f->id, f->id);
    rb_put(b, p + 4, (size_t)(gt - (p + 4)));
    rb_printf(b, "><title id=\"%s-t\">", f->id);
    rb_xmls(b, f->title ? f->title : f->id);
    rb_printf(b, "</title><desc id=\"%s-d\">", f->id);
    rb_xmls(b, f->desc ? f->desc : "");
    rb_puts(b, "</desc>");
    rb_put(b, gt + 1, (size_t)(svg + len - (gt + 1)));
    /* Drop a trailing newline after </svg>, keep the rest as is. */
    while (b->len > 0 && (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == ' '))
        b->p[--b->len] = '\0';
}
