/*
 * html.c - the report as one HTML file.  See html.h.
 *
 * The page is drawn here: the tree, the table and every plot are HTML and
 * SVG written by this file, readable without the script.  The script
 * (html_page.h) sorts the tables and opens the flipped items, whose
 * prompts and outputs travel once each in a JSON string table.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "decide_int.h"
#include "fidelity.h"
#include "history.h"
#include "html.h"
#include "html_page.h"
#include "json.h"
#include "json_get.h"
#include "record.h"

/* At most this many items of each direction a derivative, task and
 * metric; the rest are counted ("and N more"). */
#define FLIP_MAX 250

/* ---- a string map ------------------------------------------------------- */

/* Open addressing, FNV-1a; keys copied, values the caller's. */
struct map {
    char **k;
    void **v;
    size_t cap, n;
};

static size_t fnv(const char *s)
{
    size_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void **map_slot(struct map *m, const char *k)
{
    size_t i;

    if (2 * (m->n + 1) > m->cap) { /* grow, keeping half free */
        struct map g = {0};

        g.cap = m->cap ? 2 * m->cap : 64;
        g.k = hfe_xcalloc(g.cap, sizeof(*g.k));
        g.v = hfe_xcalloc(g.cap, sizeof(*g.v));
        for (i = 0; i < m->cap; i++)
            if (m->k[i]) {
                size_t j = fnv(m->k[i]) & (g.cap - 1);

                while (g.k[j])
                    j = (j + 1) & (g.cap - 1);
                g.k[j] = m->k[i];
                g.v[j] = m->v[i];
            }
        g.n = m->n;
        free(m->k);
        free(m->v);
        *m = g;
    }
    for (i = fnv(k) & (m->cap - 1); m->k[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->k[i], k))
            return &m->v[i];
    m->k[i] = hfe_xstrdup(k);
    m->n++;
    return &m->v[i];
}

static void *map_get(const struct map *m, const char *k)
{
    size_t i;

    if (!m->cap)
        return NULL;
    for (i = fnv(k) & (m->cap - 1); m->k[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->k[i], k))
            return m->v[i];
    return NULL;
}

static void map_free(struct map *m)
{
    size_t i;

    for (i = 0; i < m->cap; i++)
        free(m->k[i]);
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* ---- the page being written --------------------------------------------- */

struct page {
    struct dec D;
    const struct hfe_html_opts *o;
    struct hfe_record *rec; /* the runs, in order */
    size_t n_rec;
    struct map samples; /* "model\x1fsuite\x1ftask\x1fdoc" -> cJSON */
    struct map items;   /* "suite\x1ftask\x1fdoc" -> cJSON   */
    struct map docs;    /* "suite\x1ftask" -> 1 + the last doc_id */
    cJSON **own;        /* every parsed line, to free */
    size_t n_own, cap_own;
    struct map strs; /* the flips' string table: text -> 1 + index */
    struct hfe_buf s_json;
    size_t n_s;
    struct hfe_buf *b;
};

static void own(struct page *P, cJSON *x)
{
    if (P->n_own == P->cap_own) {
        P->cap_own = P->cap_own ? 2 * P->cap_own : 256;
        P->own = hfe_xrealloc(P->own, P->cap_own * sizeof(*P->own));
    }
    P->own[P->n_own++] = x;
}

static void sample_in(void *ud, cJSON *s)
{
    struct page *P = ud;
    const char *m = hfe_json_get_str(s, "model"),
               *su = hfe_json_get_str(s, "suite"),
               *t = hfe_json_get_str(s, "task");
    double doc = hfe_json_get_num(s, "doc_id");
    char key[1024];
    void **last;

    own(P, s);
    if (!m || !su || !t || !(doc >= 0))
        return;
    snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%.0f", m, su, t, doc);
    *map_slot(&P->samples, key) = s; /* a later run's replaces it */
    snprintf(key, sizeof(key), "%s\x1f%s", su, t);
    last = map_slot(&P->docs, key);
    if ((uintptr_t)*last < (uintptr_t)doc + 1)
        *last = (void *)(uintptr_t)(doc + 1);
}

/* DIR/items.jsonl, when the run wrote it. */
static void items_in(struct page *P, const char *dir)
{
    char *path = hfe_xasprintf("%s/items.jsonl", dir), *text, *line, *nl;
    struct hfe_err err;
    size_t len;

    if (hfe_read_file(path, &text, &len, &err) == 0) {
        for (line = text; line && *line; line = nl) {
            cJSON *it;

            if ((nl = strchr(line, '\n')))
                *nl++ = '\0';
            if ((it = cJSON_Parse(line))) {
                const char *su = hfe_json_get_str(it, "suite"),
                           *t = hfe_json_get_str(it, "task");
                double doc = hfe_json_get_num(it, "doc_id");
                char key[1024];

                own(P, it);
                if (su && t && doc >= 0) {
                    snprintf(key, sizeof(key), "%s\x1f%s\x1f%.0f", su, t, doc);
                    *map_slot(&P->items, key) = it;
                }
            }
        }
        free(text);
    }
    free(path);
}

static int page_load(struct page *P, const char *const *runs, size_t n,
                     struct hfe_err *err)
{
    size_t i;
    int rc;

    if ((rc = hfe_dec_load(&P->D, runs, n, P->o->decide, err)) != 0)
        return rc;
    P->rec = hfe_xcalloc(n + 1, sizeof(*P->rec));
    for (i = 0; i < n; i++, P->n_rec++) {
        if ((rc = hfe_record_load(runs[i], &P->rec[i], err)) != 0 ||
            (rc = hfe_record_samples(&P->rec[i], sample_in, P, err)) != 0)
            return rc;
        items_in(P, P->rec[i].dir);
    }
    return 0;
}

static void page_free(struct page *P)
{
    size_t i;

    hfe_dec_free(&P->D);
    for (i = 0; i < P->n_rec; i++)
        hfe_record_free(&P->rec[i]);
    free(P->rec);
    for (i = 0; i < P->n_own; i++)
        cJSON_Delete(P->own[i]);
    free(P->own);
    map_free(&P->samples);
    map_free(&P->items);
    map_free(&P->docs);
    map_free(&P->strs);
    hfe_buf_free(&P->s_json);
}

/* ---- text --------------------------------------------------------------- */

/* JSON for a <script> element: no "<" can end it early. */
static void script_json(struct hfe_buf *b, const char *json, size_t n)
{
    size_t i, from = 0;

    for (i = 0; i < n; i++)
        if (json[i] == '<') {
            hfe_buf_add(b, json + from, i - from);
            hfe_buf_puts(b, "\\u003c");
            from = i + 1;
        }
    hfe_buf_add(b, json + from, n - from);
}

static const char *model_name(const struct page *P, const struct drow *d)
{
    return P->D.r.m[d->m].name;
}

/* A lineage's colour, by its place. */
static const char *colour(size_t li)
{
    static const char *const c[] = {"#1f6fb5", "#c43c35", "#2d8a4e",
                                    "#7a4fb0", "#d07a12", "#5c6b7a"};

    return c[li % (sizeof(c) / sizeof(*c))];
}

/* A model's colour in the history, by its row. */
static const char *model_colour(size_t row)
{
    static const char *const c[] = {"#1f6fb5", "#c43c35", "#2d8a4e", "#7a4fb0",
                                    "#d07a12", "#5c6b7a", "#b5318f", "#0f8b8d",
                                    "#8a6d1f", "#3b3b98"};

    return c[row % (sizeof(c) / sizeof(*c))];
}

static size_t lineage_of(const struct page *P, size_t row)
{
    size_t li;

    for (li = 0; li + 1 < P->D.n_l; li++)
        if (row < P->D.l[li].b)
            break;
    return li;
}

/* ---- the lineage -------------------------------------------------------- */

static void tree(struct page *P)
{
    struct hfe_buf *b = P->b;
    size_t li, i;
    char t[64];

    hfe_buf_puts(b, "<section id=\"lineage\"><h2>Lineage</h2>\n");
    for (li = 0; li < P->D.n_l; li++) {
        const struct lin *l = &P->D.l[li];
        int depth = -1;

        hfe_buf_printf(b, "<ul class=\"tree\" style=\"--c:%s\">", colour(li));
        for (i = l->a; i < l->b; i++) {
            const struct drow *d = &P->D.d[i];
            const struct rep_model *m = &P->D.r.m[d->m];

            if (d->depth > depth) { /* one level down: a list in the node */
                if (depth >= 0)
                    hfe_buf_puts(b, "<ul>");
            } else {
                for (; depth > d->depth; depth--)
                    hfe_buf_puts(b, "</li></ul>");
                hfe_buf_puts(b, "</li>");
            }
            depth = d->depth;
            hfe_buf_puts(b, "<li><span class=\"node");
            hfe_buf_puts(b, d->pick ? " pick\"" : "\"");
            hfe_buf_puts(b, " data-model=\"");
            hfe_buf_markup(b, m->name);
            hfe_buf_puts(b, "\"><b>");
            hfe_buf_markup(b, m->name);
            hfe_buf_puts(b, "</b> <span class=\"q\">");
            hfe_buf_markup(b, m->quant ? m->quant : "-");
            hfe_buf_printf(b, "</span> <span class=\"sz\">%s MiB</span> ",
                           hfe_dec_num(t, sizeof(t), d->size_mib));
            hfe_buf_printf(b, "<span class=\"cls %s\">",
                           !m->klass                           ? "none"
                           : !strcmp(m->klass, "open source")  ? "os"
                           : !strcmp(m->klass, "open weights") ? "ow"
                                                               : "rs");
            hfe_buf_markup(b, m->klass ? m->klass : "no class");
            hfe_buf_puts(b, "</span>");
            if (d->pick)
                hfe_buf_puts(b, " <span class=\"mark\">pick</span>");
            hfe_buf_puts(b, "</span>");
        }
        for (; depth > 0; depth--)
            hfe_buf_puts(b, "</li></ul>");
        hfe_buf_puts(b, "</li></ul>\n");
    }
    hfe_buf_puts(b, "</section>\n");
}

/* ---- the decision table ------------------------------------------------- */

static void table(struct page *P)
{
    struct hfe_buf *b = P->b, leg = {0};
    char(*lab)[160] = hfe_xcalloc(P->D.n_c + 1, sizeof(*lab));
    size_t li, r, c;

    hfe_buf_puts(b, "<section id=\"decision\"><h2>Decision table</h2>\n");
    for (li = 0; li < P->D.n_l; li++) {
        const struct lin *l = &P->D.l[li];
        struct grid g;

        hfe_dec_grid(&P->D, li, &g, lab, 0);
        hfe_buf_puts(b, "<div class=\"wide\"><table class=\"decide\" "
                        "data-lineage=\"");
        hfe_buf_markup(b, model_name(P, &P->D.d[l->a]));
        hfe_buf_puts(b, "\"><thead><tr>");
        for (c = 0; c < g.n_col; c++) {
            hfe_buf_printf(b, "<th%s title=\"sort by this column\">",
                           g.right[c] ? " class=\"n\"" : "");
            hfe_buf_markup(b, g.head[c]);
            hfe_buf_puts(b, "</th>");
        }
        hfe_buf_puts(b, "</tr></thead><tbody>\n");
        for (r = 0; r < g.n_row; r++) {
            const struct drow *d = &P->D.d[l->a + r];

            hfe_buf_printf(b, "<tr data-i=\"%zu\"%s data-model=\"", r,
                           d->pick ? " class=\"pick\"" : "");
            hfe_buf_markup(b, model_name(P, d));
            hfe_buf_puts(b, "\">");
            for (c = 0; c < g.n_col; c++) {
                double k = c ? g.key[r * g.cap + c] : (double)r;

                hfe_buf_puts(b, "<td");
                if (g.right[c] || c == 0) {
                    if (isnan(k))
                        hfe_buf_puts(b, " data-v=\"\"");
                    else
                        hfe_buf_printf(b, " data-v=\"%.9g\"", k);
                }
                if (c == 0)
                    hfe_buf_printf(b, " style=\"padding-left:%.1fem\"",
                                   0.4 + 1.2 * d->depth);
                hfe_buf_puts(b, g.right[c] ? " class=\"n\">" : ">");
                hfe_buf_markup(b, g.cell[r * g.cap + c]);
                hfe_buf_puts(b, "</td>");
            }
            hfe_buf_puts(b, "</tr>\n");
        }
        hfe_buf_puts(b, "</tbody></table></div>\n<p class=\"pickline\">"
                        "<b>pick: ");
        hfe_buf_markup(b,
                       l->pick >= 0 ? model_name(P, &P->D.d[l->pick]) : "none");
        hfe_buf_puts(b, "</b> — ");
        hfe_buf_markup(b, l->why.s);
        hfe_buf_puts(b, ".");
        if (l->out.len) {
            hfe_buf_puts(b, " Better-scoring members ruled out: ");
            hfe_buf_markup(b, l->out.s);
            hfe_buf_puts(b, ".");
        }
        hfe_buf_puts(b, "</p>\n");
        hfe_dec_grid_free(&g);
    }
    hfe_dec_legend(&P->D, &leg, "");
    hfe_buf_puts(b, "<p class=\"legend\">");
    hfe_buf_markup(b, leg.s);
    hfe_buf_puts(b, "</p></section>\n");
    hfe_buf_free(&leg);
    free(lab);
}

/* ---- plots -------------------------------------------------------------- */

#define PW 480.0 /* a plot's size and margins */
#define PH 300.0
#define ML 58.0
#define MR 18.0
#define MT 14.0
#define MB 42.0

struct axis {
    double lo, hi;
    int log;
    double from, to; /* pixels */
};

static double at(const struct axis *a, double v)
{
    double f = a->log
                   ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo))
                   : (v - a->lo) / (a->hi - a->lo);

    return a->from + f * (a->to - a->from);
}

/* A range around [lo, hi] with some room. */
static void span(struct axis *a, double lo, double hi, int log_ok)
{
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    }
    a->log = log_ok && lo > 0 && hi / lo > 4;
    if (a->log) {
        a->lo = lo / 1.25;
        a->hi = hi * 1.25;
    } else {
        double pad = hi > lo ? (hi - lo) * 0.08 : fabs(hi) * 0.05 + 0.01;

        a->lo = lo - pad;
        a->hi = hi + pad;
    }
}

/* Tick values of an axis: 1-2-5 steps, about five of them. */
static size_t ticks(const struct axis *a, double *t, size_t max)
{
    size_t n = 0;

    if (a->log) {
        double d;
        static const double m[] = {1, 2, 5};

        for (d = pow(10, floor(log10(a->lo))); d <= a->hi && n < max; d *= 10)
            for (size_t k = 0; k < 3 && n < max; k++)
                if (d * m[k] >= a->lo && d * m[k] <= a->hi)
                    t[n++] = d * m[k];
    } else {
        double raw = (a->hi - a->lo) / 5, p = pow(10, floor(log10(raw))),
               step = raw / p < 1.5 ? p
                      : raw / p < 3 ? 2 * p
                      : raw / p < 7 ? 5 * p
                                    : 10 * p,
               v;

        for (v = ceil(a->lo / step) * step; v <= a->hi + step * 1e-9 && n < max;
             v += step)
            t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    }
    return n;
}

/* A tick's label: as short as it is exact (1, 2.5, 0.98, 2200). */
static const char *tick(char *b, size_t n, double v)
{
    snprintf(b, n, "%.6g", fabs(v) < 1e-12 ? 0 : v);
    return b;
}

static void frame(struct hfe_buf *b, const struct axis *x, const struct axis *y,
                  const char *xlab, const char *ylab)
{
    double t[32];
    size_t n, i;
    char s[64];

    hfe_buf_printf(b,
                   "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\"/>",
                   ML, MT, PW - ML - MR, PH - MT - MB);
    n = ticks(x, t, 32);
    for (i = 0; i < n; i++) {
        double px = at(x, t[i]);

        hfe_buf_printf(b,
                       "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" "
                       "y1=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" "
                       "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                       px, px, MT, PH - MB, px, PH - MB + 14,
                       tick(s, sizeof(s), t[i]));
    }
    n = ticks(y, t, 32);
    for (i = 0; i < n; i++) {
        double py = at(y, t[i]);

        hfe_buf_printf(b,
                       "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" "
                       "y1=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" "
                       "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                       ML, PW - MR, py, py, ML - 5, py + 4,
                       tick(s, sizeof(s), t[i]));
    }
    hfe_buf_printf(b,
                   "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\">",
                   (ML + PW - MR) / 2, PH - 8);
    hfe_buf_markup(b, xlab);
    hfe_buf_printf(b,
                   "</text><text class=\"axis\" transform=\"translate(14 "
                   "%.1f) rotate(-90)\" text-anchor=\"middle\">",
                   (MT + PH - MB) / 2);
    hfe_buf_markup(b, ylab);
    hfe_buf_puts(b, "</text>");
}

/* A point of a scatter: a row's value, interval and x. */
struct pt {
    size_t row;
    double x, y, lo, hi;
    int front;
};

static int by_x(const void *a, const void *b)
{
    const struct pt *p = a, *q = b;

    return (p->x > q->x) - (p->x < q->x);
}

/* Where a point's label goes: its box [a, z] x [y - 9, y + 2] and its
 * baseline y. */
struct lbl {
    double a, z, y;
};

/* Label i's place, into l[i]: beside its point, right or left, then
 * further down or up, the first spot that covers no other point and no
 * label placed before it. */
static void place(const struct pt *p, size_t n, size_t i, const struct axis *x,
                  const struct axis *y, size_t len, struct lbl *l)
{
    static const double dy[] = {0, 11, -11, 22, -22, 33, -33};
    double px = at(x, p[i].x), py = at(y, p[i].y), w = 6.0 * (double)len;
    size_t k, j;

    for (k = 0; k < 2 * sizeof(dy) / sizeof(*dy); k++) {
        int left = (int)(k % 2) ^ (px > PW - MR - w - 10), clear = 1;
        struct lbl c = {left ? px - 7 - w : px + 7, 0, py + 4 + dy[k / 2]};

        c.z = c.a + w;
        if (c.a < ML || c.z > PW - MR || c.y - 9 < MT || c.y + 2 > PH - MB)
            continue;
        for (j = 0; j < n && clear; j++) { /* the points */
            double qx = at(x, p[j].x), qy = at(y, p[j].y);

            clear = j == i || qx < c.a - 4 || qx > c.z + 4 || qy < c.y - 13 ||
                    qy > c.y + 6;
        }
        for (j = 0; j < i && clear; j++) /* the labels before */
            clear = fabs(l[j].y - c.y) >= 11 || l[j].a > c.z + 3 ||
                    l[j].z < c.a - 3;
        if (clear) {
            l[i] = c;
            return;
        }
    }
    l[i] = (struct lbl){px + 7, px + 7 + w, py + 4}; /* nowhere clear */
}

/* One scatter: quality (y, with its interval) against x, per lineage its
 * Pareto frontier (up: a bigger x is better), every point labelled. */
static void scatter(struct page *P, const char *what, const char *metric,
                    int col, int lower, const char *xname, int up)
{
    struct hfe_buf *b = P->b;
    struct pt *p = hfe_xcalloc(P->D.n_d + 1, sizeof(*p));
    struct lbl *l = hfe_xcalloc(P->D.n_d + 1, sizeof(*l));
    size_t n = 0, i, j, li;
    struct axis x = {.from = ML, .to = PW - MR},
                y = {.from = PH - MB, .to = MT};
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    char s1[64], s2[64], s3[64], s4[64];

    for (i = 0; i < P->D.n_d; i++) {
        const struct drow *d = &P->D.d[i];
        const struct qcell *q = col >= 0 ? &d->q[col] : NULL;
        double v = q ? (q->v ? q->v->value : NAN) : d->quality,
               xv = up ? d->tg : d->size_mib;

        if (isnan(v) || isnan(xv) || !(xv > 0))
            continue;
        p[n] = (struct pt){i, xv, v, q ? q->lo : NAN, q ? q->hi : NAN, 1};
        xlo = fmin(xlo, xv);
        xhi = fmax(xhi, xv);
        ylo = fmin(ylo, isnan(p[n].lo) ? v : p[n].lo);
        yhi = fmax(yhi, isnan(p[n].hi) ? v : p[n].hi);
        n++;
    }
    for (i = 0; i < n; i++)       /* the frontier: no member of its lineage */
        for (j = 0; j < n; j++) { /* is as good on both, better on one */
            double yi = lower ? -p[i].y : p[i].y, yj = lower ? -p[j].y : p[j].y;
            int ge = up ? p[j].x >= p[i].x : p[j].x <= p[i].x,
                gt = up ? p[j].x > p[i].x : p[j].x < p[i].x;

            if (i != j && lineage_of(P, p[i].row) == lineage_of(P, p[j].row) &&
                yj >= yi && ge && (yj > yi || gt))
                p[i].front = 0;
        }
    qsort(p, n, sizeof(*p), by_x);
    span(&x, xlo, xhi, 1);
    span(&y, ylo, yhi, 0);
    hfe_buf_printf(b,
                   "<figure><svg class=\"scatter\" data-x=\"%s\" "
                   "data-metric=\"",
                   up ? "decode" : "size");
    hfe_buf_markup(b, what);
    hfe_buf_printf(
        b,
        "\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
        "role=\"img\"><title>",
        PW, PH, PW, PH);
    hfe_buf_markup(b, what);
    hfe_buf_printf(b, " against %s</title>", xname);
    frame(b, &x, &y, xname, metric);
    for (li = 0; li < P->D.n_l; li++) { /* the frontiers first, beneath */
        int any = 0;

        for (i = 0; i < n; i++)
            if (p[i].front && lineage_of(P, p[i].row) == li) {
                if (!any)
                    hfe_buf_printf(b,
                                   "<polyline class=\"frontier\" "
                                   "stroke=\"%s\" points=\"",
                                   colour(li));
                hfe_buf_printf(b, "%s%.1f,%.1f", any ? " " : "", at(&x, p[i].x),
                               at(&y, p[i].y));
                any = 1;
            }
        if (any)
            hfe_buf_puts(b, "\"/>");
    }
    for (i = 0; i < n; i++) {
        const struct drow *d = &P->D.d[p[i].row];
        const char *c = colour(lineage_of(P, p[i].row));
        double px = at(&x, p[i].x), py = at(&y, p[i].y);

        if (!isnan(p[i].lo))
            hfe_buf_printf(b,
                           "<line class=\"ci\" stroke=\"%s\" x1=\"%.1f\" "
                           "x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
                           c, px, px, at(&y, p[i].lo), at(&y, p[i].hi));
        hfe_buf_printf(b, "<circle class=\"pt%s\" data-model=\"",
                       p[i].front ? " front" : "");
        hfe_buf_markup(b, model_name(P, d));
        hfe_buf_printf(b, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\">",
                       px, py, c);
        hfe_buf_puts(b, "<title>");
        hfe_buf_markup(b, model_name(P, d));
        hfe_buf_printf(b, ": %s %s", metric,
                       hfe_dec_num(s1, sizeof(s1), p[i].y));
        if (!isnan(p[i].lo))
            hfe_buf_printf(b, " [%s, %s]", hfe_dec_num(s2, sizeof(s2), p[i].lo),
                           hfe_dec_num(s3, sizeof(s3), p[i].hi));
        hfe_buf_printf(b, "; %s %s%s</title></circle>", xname,
                       hfe_dec_num(s4, sizeof(s4), p[i].x),
                       p[i].front ? "; on the frontier" : "");
        place(p, n, i, &x, &y, strlen(model_name(P, d)), l);
        hfe_buf_printf(b, "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\">", l[i].a,
                       l[i].y);
        hfe_buf_markup(b, model_name(P, d));
        hfe_buf_puts(b, "</text>");
    }
    hfe_buf_puts(b, "</svg><figcaption>");
    hfe_buf_markup(b, what);
    hfe_buf_printf(b,
                   " against %s: %zu models; bars are 95%% intervals, the "
                   "line joins each lineage's Pareto frontier.</figcaption>"
                   "</figure>\n",
                   xname, n);
    free(l);
    free(p);
}

static void plots(struct page *P)
{
    size_t k;
    char what[600];

    hfe_buf_puts(P->b, "<section id=\"plots\"><h2>Quality against size and "
                       "speed</h2>\n<div class=\"plots\">\n");
    if (P->D.n_c > 1) {
        scatter(P, "quality", "quality", -1, 0, "size MiB", 0);
        scatter(P, "quality", "quality", -1, 0, "decode tok/s", 1);
    }
    for (k = 0; k < P->D.n_c; k++) {
        const struct col *c = &P->D.c[k];

        snprintf(what, sizeof(what), "%s/%s %s", c->t->suite, c->t->task,
                 c->metric);
        scatter(P, what, c->metric, (int)k, c->lower, "size MiB", 0);
        scatter(P, what, c->metric, (int)k, c->lower, "decode tok/s", 1);
    }
    hfe_buf_puts(P->b, "</div></section>\n");
}

/* ---- fidelity ----------------------------------------------------------- */

static double row_value(const struct page *P, int m, const struct rep_task *t,
                        const char *metric)
{
    char key[1100];
    const struct rep_row *v;

    snprintf(key, sizeof(key), "%s/%s\t%s", t->suite, t->task, metric);
    v = hfe_rep_value(&P->D.r, m, key);
    return v ? v->value : NAN;
}

/* The sum of a model's kld_hist over the task's documents; 0 if none. */
static int kld_hist(const struct page *P, const char *model,
                    const struct rep_task *t, double *h, double *total)
{
    char key[1100];
    uintptr_t n, doc;
    int got = 0;
    size_t k;

    snprintf(key, sizeof(key), "%s\x1f%s", t->suite, t->task);
    n = (uintptr_t)map_get(&P->docs, key);
    memset(h, 0, HFE_FID_HIST_BINS * sizeof(*h));
    *total = 0;
    for (doc = 0; doc < n; doc++) {
        const cJSON *s, *c, *x;

        snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%lu", model, t->suite,
                 t->task, (unsigned long)doc);
        s = map_get(&P->samples, key);
        c = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "kld_hist"), "counts");
        if (cJSON_GetArraySize(c) != HFE_FID_HIST_BINS)
            continue;
        k = 0;
        cJSON_ArrayForEach(x, c)
        {
            h[k] += cJSON_IsNumber(x) ? x->valuedouble : 0;
            *total += cJSON_IsNumber(x) ? x->valuedouble : 0;
            k++;
        }
        got = 1;
    }
    return got;
}

/* Where KLD v falls on the histogram's x: its bin, fractional. */
static double hist_x(double v)
{
    if (!(v >= 1e-6))
        return 0.5;
    return fmin(1 + (log10(v) + 6) * 4, HFE_FID_HIST_BINS - 0.5);
}

static void fidelity(struct page *P)
{
    struct hfe_buf *b = P->b;
    size_t ti, i, k;
    int any = 0;
    char s1[64], s2[64], s3[64];

    hfe_buf_puts(b, "<section id=\"fidelity\"><h2>Fidelity</h2>\n");
    for (ti = 0; ti < P->D.r.n_t; ti++) {
        const struct rep_task *t = &P->D.r.t[ti];

        if (hfe_dec_role(&P->D, t) != 1)
            continue;
        for (i = 0; i < P->D.n_d; i++) {
            const struct drow *d = &P->D.d[i];
            const char *name = model_name(P, d);
            double h[HFE_FID_HIST_BINS], total,
                top = 0, kld = row_value(P, d->m, t, "kld"),
                p99 = row_value(P, d->m, t, "kld_p99"),
                mx = row_value(P, d->m, t, "kld_max"),
                same = row_value(P, d->m, t, "same_top");
            const double w = 400, hh = 90, bw = w / HFE_FID_HIST_BINS, x0 = 40;

            if (d->parent < 0 || isnan(kld))
                continue;
            if (!any++)
                hfe_buf_puts(b, "<p>Per-token KLD of each derivative against "
                                "its parent, by order of magnitude (a bar a "
                                "quarter of a decade, its height the share "
                                "of positions); the marks are the mean and "
                                "the 99th percentile.</p>\n<div "
                                "class=\"plots\">");
            hfe_buf_puts(b, "<figure class=\"fid\"><svg class=\"kld\" "
                            "data-model=\"");
            hfe_buf_markup(b, name);
            hfe_buf_printf(b,
                           "\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                           "height=\"%.0f\" role=\"img\"><title>",
                           x0 + w + 10, hh + 34, x0 + w + 10, hh + 34);
            hfe_buf_markup(b, name);
            hfe_buf_puts(b, ": per-token KLD</title>");
            if (kld_hist(P, name, t, h, &total) && total > 0) {
                for (k = 0; k < HFE_FID_HIST_BINS; k++)
                    top = fmax(top, h[k] / total);
                for (k = 0; k < HFE_FID_HIST_BINS; k++) {
                    double f = h[k] / total, bh = top > 0 ? hh * f / top : 0;

                    if (h[k] <= 0)
                        continue;
                    hfe_buf_printf(b,
                                   "<rect class=\"bin\" x=\"%.1f\" y=\"%.1f\" "
                                   "width=\"%.1f\" height=\"%.1f\"><title>",
                                   x0 + k * bw + 0.5, 10 + hh - bh, bw - 1, bh);
                    if (k == 0)
                        hfe_buf_puts(b, "under 1e-6");
                    else if (k == HFE_FID_HIST_BINS - 1)
                        hfe_buf_puts(b, "100 and more");
                    else
                        hfe_buf_printf(b, "%.3g to %.3g",
                                       pow(10, -6 + (k - 1) / 4.0),
                                       pow(10, -6 + k / 4.0));
                    hfe_buf_printf(b,
                                   " nats: %.0f positions (%.1f%%)</title>"
                                   "</rect>",
                                   h[k], 100 * f);
                }
            } else {
                hfe_buf_printf(b,
                               "<text x=\"%.1f\" y=\"50\" class=\"tick\">no "
                               "per-token record in this run</text>",
                               x0 + 10);
            }
            for (k = 0; k <= 8; k += 2) { /* 1e-6 .. 100, every 2 decades */
                double px = x0 + (1 + 4.0 * k) * bw;

                hfe_buf_printf(b,
                               "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" "
                               "y1=\"10\" y2=\"%.1f\"/><text class=\"tick\" "
                               "x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                               "1e%+d</text>",
                               px, px, 10 + hh, px, 10 + hh + 14, (int)k - 6);
            }
            hfe_buf_printf(b,
                           "<line class=\"mean\" x1=\"%.1f\" x2=\"%.1f\" "
                           "y1=\"6\" y2=\"%.1f\"><title>mean %s</title></line>",
                           x0 + hist_x(kld) * bw, x0 + hist_x(kld) * bw,
                           10 + hh, hfe_dec_num(s1, sizeof(s1), kld));
            if (!isnan(p99))
                hfe_buf_printf(b,
                               "<line class=\"p99\" x1=\"%.1f\" x2=\"%.1f\" "
                               "y1=\"6\" y2=\"%.1f\"><title>99th percentile "
                               "%s</title></line>",
                               x0 + hist_x(p99) * bw, x0 + hist_x(p99) * bw,
                               10 + hh, hfe_dec_num(s1, sizeof(s1), p99));
            hfe_buf_printf(b,
                           "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" "
                           "text-anchor=\"middle\">KLD, nats</text></svg>"
                           "<figcaption><b>",
                           x0 + w / 2, hh + 32);
            hfe_buf_markup(b, name);
            hfe_buf_puts(b, "</b> against ");
            hfe_buf_markup(b, P->D.r.m[d->parent].name);
            hfe_buf_printf(b, ": mean KLD %s, p99 %s, max %s",
                           hfe_dec_num(s1, sizeof(s1), kld),
                           hfe_dec_num(s2, sizeof(s2), p99),
                           hfe_dec_num(s3, sizeof(s3), mx));
            if (!isnan(same))
                hfe_buf_printf(b,
                               "; same top token <span class=\"same\" "
                               "style=\"--f:%.4f\"></span> %.1f%%",
                               same, 100 * same);
            hfe_buf_puts(b, "</figcaption></figure>\n");
        }
    }
    if (any)
        hfe_buf_puts(b, "</div>");
    else
        hfe_buf_puts(b,
                     "<p>No fidelity task in these runs (suites/fidelity.lua "
                     "measures KLD against each derivative's parent).</p>");
    hfe_buf_puts(b, "</section>\n");
}

/* ---- flipped items ------------------------------------------------------ */

/* Index of text in the string table, added once. */
static long str_ix(struct page *P, const char *text)
{
    void **slot;

    if (!text)
        return -1;
    slot = map_slot(&P->strs, text);
    if (!*slot) {
        hfe_buf_puts(&P->s_json, P->n_s ? ",\n" : "\n");
        hfe_json_strz(&P->s_json, text);
        *slot = (void *)(uintptr_t)++P->n_s;
    }
    return (long)(uintptr_t)*slot - 1;
}

/* One model's side of an item: what it answered and how it scored. */
static void side(struct page *P, struct hfe_buf *j, const cJSON *s,
                 const char *metric)
{
    const cJSON *x;

    hfe_buf_printf(j, "{\"v\":");
    hfe_json_num(j,
                 hfe_json_get_num(cJSON_GetObjectItem(s, "metrics"), metric));
    if ((x = cJSON_GetObjectItem(s, "output")) && cJSON_IsString(x))
        hfe_buf_printf(j, ",\"o\":%ld", str_ix(P, x->valuestring));
    if ((x = cJSON_GetObjectItem(s, "outputs")) && cJSON_IsArray(x)) {
        const cJSON *e;
        int first = 1;

        hfe_buf_puts(j, ",\"os\":[");
        cJSON_ArrayForEach(e, x) if (cJSON_IsString(e))
        {
            hfe_buf_printf(j, "%s%ld", first ? "" : ",",
                           str_ix(P, e->valuestring));
            first = 0;
        }
        hfe_buf_puts(j, "]");
    }
    if ((x = cJSON_GetObjectItem(s, "extracted")) && cJSON_IsArray(x)) {
        char *t = cJSON_PrintUnformatted(x);

        hfe_buf_printf(j, ",\"x\":%s", t);
        free(t);
    }
    if ((x = cJSON_GetObjectItem(s, "logprobs")) && cJSON_IsArray(x)) {
        char *t = cJSON_PrintUnformatted(x);

        hfe_buf_printf(j, ",\"l\":%s", t);
        free(t);
    }
    if (cJSON_IsNumber(x = cJSON_GetObjectItem(s, "pick")))
        hfe_buf_printf(j, ",\"k\":%d", x->valueint);
    if ((x = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "exec"), "runs"))) {
        const cJSON *e;
        int first = 1;

        hfe_buf_puts(j, ",\"e\":[");
        cJSON_ArrayForEach(e, x)
        {
            hfe_buf_puts(j, first ? "" : ",");
            hfe_json_strz(j, hfe_json_get_str(e, "status"));
            first = 0;
        }
        hfe_buf_puts(j, "]");
    }
    hfe_buf_puts(j, "}");
}

/* Is x 0 or 1. */
static int binary(double x)
{
    return x == 0 || x == 1;
}

/* The items that flipped between row d and its parent on column k. */
static void flips_of(struct page *P, struct hfe_buf *j, struct hfe_buf *same,
                     const struct drow *d, size_t k, int *first)
{
    const struct col *c = &P->D.c[k];
    const char *me = model_name(P, d), *par = P->D.r.m[d->parent].name;
    struct hfe_buf dn = {0}, up = {0};
    size_t n_dn = 0, n_up = 0, paired = 0;
    char key[1100];
    uintptr_t n, doc;

    snprintf(key, sizeof(key), "%s\x1f%s", c->t->suite, c->t->task);
    n = (uintptr_t)map_get(&P->docs, key);
    hfe_buf_add(&dn, "", 0);
    hfe_buf_add(&up, "", 0);
    for (doc = 0; doc < n; doc++) {
        const cJSON *a, *bb, *it, *x;
        double va, vb;
        struct hfe_buf *into;
        int down;

        snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%lu", par, c->t->suite,
                 c->t->task, (unsigned long)doc);
        a = map_get(&P->samples, key);
        snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%lu", me, c->t->suite,
                 c->t->task, (unsigned long)doc);
        bb = map_get(&P->samples, key);
        va = hfe_json_get_num(cJSON_GetObjectItem(a, "metrics"), c->metric);
        vb = hfe_json_get_num(cJSON_GetObjectItem(bb, "metrics"), c->metric);
        if (!a || !bb || !binary(va) || !binary(vb))
            continue;
        paired++;
        if (va == vb)
            continue;
        down = c->lower ? vb > va : vb < va;
        if ((down ? ++n_dn : ++n_up) > FLIP_MAX)
            continue;
        into = down ? &dn : &up;
        hfe_buf_puts(into, into->len ? ",\n{\"id\":" : "\n{\"id\":");
        x = cJSON_GetObjectItem(bb, "item_id");
        if (cJSON_IsString(x))
            hfe_json_strz(into, x->valuestring);
        else
            hfe_buf_printf(into, "\"%lu\"", (unsigned long)doc);
        hfe_buf_printf(into, ",\"doc\":%lu", (unsigned long)doc);
        snprintf(key, sizeof(key), "%s\x1f%s\x1f%lu", c->t->suite, c->t->task,
                 (unsigned long)doc);
        it = map_get(&P->items, key);
        if ((x = cJSON_GetObjectItem(it, "prompt")) && cJSON_IsString(x))
            hfe_buf_printf(into, ",\"p\":%ld", str_ix(P, x->valuestring));
        else if ((x = cJSON_GetObjectItem(bb, "prompt_sha256")) &&
                 cJSON_IsString(x))
            hfe_buf_printf(into, ",\"ph\":\"%.12s\"", x->valuestring);
        if ((x = cJSON_GetObjectItem(it, "choices")) && cJSON_IsArray(x)) {
            const cJSON *e;
            int f = 1;

            hfe_buf_puts(into, ",\"c\":[");
            cJSON_ArrayForEach(e, x) if (cJSON_IsString(e))
            {
                hfe_buf_printf(into, "%s%ld", f ? "" : ",",
                               str_ix(P, e->valuestring));
                f = 0;
            }
            hfe_buf_puts(into, "]");
        }
        if ((x = cJSON_GetObjectItem(bb, "target")) && cJSON_IsString(x))
            hfe_buf_printf(into, ",\"t\":%ld", str_ix(P, x->valuestring));
        if (cJSON_IsNumber(x = cJSON_GetObjectItem(bb, "gold")))
            hfe_buf_printf(into, ",\"g\":%d", x->valueint);
        hfe_buf_puts(into, ",\"a\":");
        side(P, into, a, c->metric);
        hfe_buf_puts(into, ",\"b\":");
        side(P, into, bb, c->metric);
        hfe_buf_puts(into, "}");
    }
    if (paired && !n_dn && !n_up) { /* none flipped: one line for all */
        hfe_buf_puts(same, same->len ? ",{\"model\":" : "{\"model\":");
        hfe_json_strz(same, me);
        hfe_buf_puts(same, ",\"task\":");
        hfe_json_strz(same, c->t->task);
        hfe_buf_printf(same, ",\"paired\":%zu}", paired);
    } else if (paired) {
        hfe_buf_puts(j, *first ? "\n{\"model\":" : ",\n{\"model\":");
        *first = 0;
        hfe_json_strz(j, me);
        hfe_buf_puts(j, ",\"parent\":");
        hfe_json_strz(j, par);
        hfe_buf_puts(j, ",\"suite\":");
        hfe_json_strz(j, c->t->suite);
        hfe_buf_puts(j, ",\"task\":");
        hfe_json_strz(j, c->t->task);
        hfe_buf_puts(j, ",\"kind\":");
        hfe_json_strz(j, c->t->kind);
        hfe_buf_puts(j, ",\"metric\":");
        hfe_json_strz(j, c->metric);
        hfe_buf_printf(j,
                       ",\"paired\":%zu,\"n_down\":%zu,\"n_up\":%zu,"
                       "\"down\":[%s],\"up\":[%s]}",
                       paired, n_dn, n_up, dn.s, up.s);
    }
    hfe_buf_free(&dn);
    hfe_buf_free(&up);
}

static void flips(struct page *P)
{
    struct hfe_buf j = {0}, same = {0};
    size_t i, k;
    int first = 1;

    hfe_buf_puts(&j, "{\"pairs\":[");
    hfe_buf_add(&same, "", 0);
    for (i = 0; i < P->D.n_d; i++)
        if (P->D.d[i].parent >= 0)
            for (k = 0; k < P->D.n_c; k++)
                flips_of(P, &j, &same, &P->D.d[i], k, &first);
    hfe_buf_printf(&j, "],\n\"same\":[%s],\n\"s\":[", same.s);
    hfe_buf_free(&same);
    if (P->s_json.len)
        hfe_buf_add(&j, P->s_json.s, P->s_json.len);
    hfe_buf_puts(&j, "]}");
    hfe_buf_puts(P->b,
                 "<section id=\"flips\"><h2>Flipped items</h2>\n<p>For each "
                 "derivative and its parent, the items that went from right "
                 "to wrong (↓) and from wrong to right (↑); open one to see "
                 "the prompt, both answers side by side and what was "
                 "expected.</p>\n<div id=\"flips-list\"><noscript>The "
                 "flipped items need the page's script.</noscript></div>\n"
                 "<script type=\"application/json\" id=\"hfe-flips\">");
    script_json(P->b, j.s, j.len);
    hfe_buf_puts(P->b, "</script></section>\n");
    hfe_buf_free(&j);
}

/* ---- history ------------------------------------------------------------ */

struct hrow {
    char *model, *key, *run, *why, *started;
    double t, v, se;
    int first;
};

struct hist {
    struct page *P;
    struct hrow *r;
    size_t n, cap;
};

static void hist_in(void *ud, const struct hfe_history_row *w)
{
    struct hist *h = ud;
    char key[1100];
    struct tm tm = {0};
    size_t k;

    if (hfe_rep_find(&h->P->D.r, w->model) < 0)
        return;
    snprintf(key, sizeof(key), "%s/%s\t%s", w->suite, w->task, w->metric);
    for (k = 0; k < h->P->D.n_c && strcmp(h->P->D.c[k].key, key); k++)
        ;
    if (k == h->P->D.n_c) /* the table's metrics only */
        return;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 64;
        h->r = hfe_xrealloc(h->r, h->cap * sizeof(*h->r));
    }
    if (!strptime(w->started, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return;
    h->r[h->n++] = (struct hrow){hfe_xstrdup(w->model),
                                 hfe_xstrdup(key),
                                 hfe_xstrdup(w->run_id),
                                 hfe_xstrdup(w->why),
                                 hfe_xstrdup(w->started),
                                 (double)timegm(&tm),
                                 w->value,
                                 w->stderr_,
                                 w->first};
}

static void history_chart(struct page *P, const struct hist *h, size_t k)
{
    struct hfe_buf *b = P->b;
    const struct col *c = &P->D.c[k];
    struct axis x = {.from = ML, .to = PW - MR},
                y = {.from = PH - MB, .to = MT};
    double tlo = INFINITY, thi = -INFINITY, vlo = INFINITY, vhi = -INFINITY;
    size_t i, d, n = 0, n_break = 0;
    char what[600], s1[64];

    for (i = 0; i < h->n; i++)
        if (!strcmp(h->r[i].key, c->key)) {
            tlo = fmin(tlo, h->r[i].t);
            thi = fmax(thi, h->r[i].t);
            vlo = fmin(vlo, h->r[i].v);
            vhi = fmax(vhi, h->r[i].v);
            n++;
        }
    if (!n)
        return;
    if (thi - tlo < 60) { /* one moment: a minute either side */
        tlo -= 60;
        thi += 60;
    }
    span(&x, tlo, thi, 0);
    span(&y, vlo, vhi, 0);
    snprintf(what, sizeof(what), "%s/%s %s", c->t->suite, c->t->task,
             c->metric);
    hfe_buf_puts(b, "<figure><svg class=\"series\" data-metric=\"");
    hfe_buf_markup(b, what);
    hfe_buf_printf(b,
                   "\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                   "height=\"%.0f\" role=\"img\"><title>",
                   PW, PH, PW, PH);
    hfe_buf_markup(b, what);
    hfe_buf_puts(b, " over time</title>");
    hfe_buf_printf(b,
                   "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" "
                   "width=\"%.1f\" height=\"%.1f\"/>",
                   ML, MT, PW - ML - MR, PH - MT - MB);
    {
        double t[32];
        size_t nt = ticks(&y, t, 32);

        for (i = 0; i < nt; i++)
            hfe_buf_printf(b,
                           "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" "
                           "y1=\"%.1f\" y2=\"%.1f\"/><text class=\"tick\" "
                           "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s"
                           "</text>",
                           ML, PW - MR, at(&y, t[i]), at(&y, t[i]), ML - 5,
                           at(&y, t[i]) + 4, tick(s1, sizeof(s1), t[i]));
    }
    for (i = 0; i < 2; i++) { /* the first and last dates */
        char day[16];
        time_t tt = (time_t)(i ? thi : tlo);
        struct tm tm;

        gmtime_r(&tt, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        hfe_buf_printf(b,
                       "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
                       "text-anchor=\"%s\">%s</text>",
                       at(&x, i ? thi : tlo), PH - MB + 14, i ? "end" : "start",
                       day);
    }
    hfe_buf_printf(b,
                   "<text class=\"axis\" transform=\"translate(14 %.1f) "
                   "rotate(-90)\" text-anchor=\"middle\">",
                   (MT + PH - MB) / 2);
    hfe_buf_markup(b, c->metric);
    hfe_buf_puts(b, "</text>");
    for (d = 0; d < P->D.n_d; d++) { /* a line a model, cut at each break */
        const char *name = model_name(P, &P->D.d[d]), *col = model_colour(d);
        int open = 0;

        for (i = 0; i < h->n; i++) {
            const struct hrow *r = &h->r[i];

            if (strcmp(r->key, c->key) || strcmp(r->model, name))
                continue;
            if (open && r->why[0]) {
                hfe_buf_puts(b, "\"/>");
                open = 0;
            }
            if (!open) {
                hfe_buf_printf(b,
                               "<polyline class=\"hline\" stroke=\"%s\" "
                               "data-model=\"",
                               col);
                hfe_buf_markup(b, name);
                hfe_buf_puts(b, "\" points=\"");
                open = 1;
            } else {
                hfe_buf_puts(b, " ");
            }
            hfe_buf_printf(b, "%.1f,%.1f", at(&x, r->t), at(&y, r->v));
        }
        if (open)
            hfe_buf_puts(b, "\"/>");
        for (i = 0; i < h->n; i++) {
            const struct hrow *r = &h->r[i];
            double px = at(&x, r->t), py = at(&y, r->v);

            if (strcmp(r->key, c->key) || strcmp(r->model, name))
                continue;
            if (r->why[0]) {
                n_break++;
                hfe_buf_printf(b,
                               "<g class=\"break\"><line x1=\"%.1f\" "
                               "x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/><path "
                               "d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\"/><title>",
                               px, px, MT, PH - MB, px, py - 5);
                hfe_buf_markup(b, name);
                hfe_buf_puts(b, ", run ");
                hfe_buf_markup(b, r->run);
                hfe_buf_puts(b, ": not comparable with the run before: ");
                hfe_buf_markup(b, r->why);
                hfe_buf_puts(b, "</title></g>");
            }
            hfe_buf_printf(b,
                           "<circle class=\"hpt\" cx=\"%.1f\" cy=\"%.1f\" "
                           "r=\"3.5\" fill=\"%s\"><title>",
                           px, py, col);
            hfe_buf_markup(b, name);
            hfe_buf_puts(b, " ");
            hfe_buf_markup(b, r->started);
            hfe_buf_printf(b, " (run ");
            hfe_buf_markup(b, r->run);
            hfe_buf_printf(b, "): %s</title></circle>",
                           hfe_dec_num(s1, sizeof(s1), r->v));
        }
    }
    hfe_buf_puts(b, "</svg><figcaption>");
    hfe_buf_markup(b, what);
    hfe_buf_printf(b,
                   ": %zu results over time, a line a model; %zu "
                   "comparability break%s (◆, hover for the reason).",
                   n, n_break, n_break == 1 ? "" : "s");
    hfe_buf_puts(b, "</figcaption></figure>\n");
}

static int history(struct page *P, struct hfe_err *err)
{
    struct hist h = {P, NULL, 0, 0};
    struct hfe_history_query q = {P->o->db, NULL, NULL, NULL};
    size_t rows, i, k;
    int rc;

    hfe_buf_puts(P->b, "<section id=\"history\"><h2>History</h2>\n");
    if (!P->o->db) {
        hfe_buf_puts(P->b, "<p>No history asked for: <code>hfeval report "
                           "--format html --db PATH</code> draws each "
                           "metric of each model over every run the "
                           "database holds.</p></section>\n");
        return 0;
    }
    if ((rc = hfe_history_walk(&q, hist_in, &h, &rows, err)) != 0)
        return rc;
    hfe_buf_puts(P->b, "<div class=\"plots\">\n");
    for (k = 0; k < P->D.n_c; k++)
        history_chart(P, &h, k);
    hfe_buf_puts(P->b, "</div>");
    if (!h.n)
        hfe_buf_puts(P->b, "<p>The history holds none of these models' "
                           "results.</p>");
    hfe_buf_puts(P->b, "</section>\n");
    for (i = 0; i < h.n; i++) {
        free(h.r[i].model);
        free(h.r[i].key);
        free(h.r[i].run);
        free(h.r[i].why);
        free(h.r[i].started);
    }
    free(h.r);
    return 0;
}

/* ---- provenance --------------------------------------------------------- */

static void dd(struct hfe_buf *b, const char *term, const char *val)
{
    hfe_buf_puts(b, "<dt>");
    hfe_buf_markup(b, term);
    hfe_buf_puts(b, "</dt><dd>");
    hfe_buf_markup(b, val ? val : "-");
    hfe_buf_puts(b, "</dd>");
}

static void provenance(struct page *P)
{
    struct hfe_buf *b = P->b;
    size_t i;

    hfe_buf_puts(b, "<footer id=\"provenance\"><h2>Provenance</h2>\n");
    for (i = 0; i < P->n_rec; i++) {
        const cJSON *run = P->rec[i].json, *x, *y, *m;
        struct hfe_buf t = {0}, bk = {0};

        hfe_buf_puts(b, "<dl>");
        dd(b, "run", hfe_json_get_str(run, "run_id"));
        hfe_buf_add(&t, "", 0);
        hfe_buf_printf(&t, "%s to %s", hfe_json_get_str(run, "started"),
                       hfe_json_get_str(run, "finished"));
        dd(b, "when", t.s);
        t.len = 0;
        t.s[0] = '\0';
        x = cJSON_GetObjectItem(run, "hfeval");
        hfe_buf_printf(&t, "%s (plugin ABI %s)", hfe_json_get_str(x, "version"),
                       hfe_json_get_str(x, "plugin_abi"));
        dd(b, "hfeval", t.s);
        hfe_buf_add(&bk, "", 0);
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(run, "models"))
        { /* each backend build once */
            const cJSON *be = cJSON_GetObjectItem(m, "backend");
            const char *nm = hfe_json_get_str(be, "name"),
                       *v = hfe_json_get_str(be, "version");
            char one[512];

            snprintf(one, sizeof(one), "%s %s", nm ? nm : "?", v ? v : "?");
            if (!strstr(bk.s, one))
                hfe_buf_printf(&bk, "%s%s", bk.len ? "; " : "", one);
        }
        dd(b, "backends", bk.s);
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(run, "suites"))
        {
            const cJSON *f = cJSON_GetObjectItem(x, "file");

            t.len = 0;
            t.s[0] = '\0';
            hfe_buf_printf(
                &t, "%s (version %s) %s sha256 %s", hfe_json_get_str(x, "name"),
                hfe_json_get_str(x, "version"), hfe_json_get_str(f, "path"),
                hfe_json_get_str(f, "sha256"));
            cJSON_ArrayForEach(y, cJSON_GetObjectItem(x, "data"))
                hfe_buf_printf(&t, "; data %s sha256 %s",
                               hfe_json_get_str(y, "path"),
                               hfe_json_get_str(y, "sha256"));
            dd(b, "suite", t.s);
        }
        x = cJSON_GetObjectItem(run, "machine");
        t.len = 0;
        t.s[0] = '\0';
        hfe_buf_printf(&t, "%s, %.0f cores, %s", hfe_json_get_str(x, "cpu"),
                       hfe_json_get_num(x, "cores"), hfe_json_get_str(x, "os"));
        cJSON_ArrayForEach(y, cJSON_GetObjectItem(x, "gpus"))
        {
            const char *g = cJSON_IsString(y) ? y->valuestring
                                              : hfe_json_get_str(y, "name");

            hfe_buf_printf(&t, "; %s", g ? g : "a GPU");
        }
        dd(b, "machine", t.s);
        t.len = 0;
        t.s[0] = '\0';
        cJSON_ArrayForEach(
            y, cJSON_GetObjectItem(run, "command")) if (cJSON_IsString(y))
            hfe_buf_printf(&t, "%s%s", t.len ? " " : "", y->valuestring);
        dd(b, "command", t.s);
        hfe_buf_puts(b, "</dl>\n");
        hfe_buf_free(&t);
        hfe_buf_free(&bk);
    }
    hfe_buf_puts(b, "<p class=\"made\">Made by hfeval; one file, no requests: "
                    "it opens offline.</p></footer>\n");
}

/* ---- the page ----------------------------------------------------------- */

int hfe_html(const char *const *runs, size_t n_runs,
             const struct hfe_html_opts *o, struct hfe_buf *out,
             struct hfe_err *err)
{
    struct page P;
    const char *title = o->title ? o->title : "hfeval report";
    size_t i;
    int rc;

    memset(&P, 0, sizeof(P));
    P.o = o;
    P.b = out;
    hfe_buf_add(out, "", 0);
    if ((rc = page_load(&P, runs, n_runs, err)) != 0) {
        page_free(&P);
        return rc;
    }
    hfe_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
                      "charset=\"utf-8\">\n<meta http-equiv=\"Content-"
                      "Security-Policy\" content=\"default-src 'none'; "
                      "style-src 'unsafe-inline'; script-src "
                      "'unsafe-inline'; img-src data:\">\n<meta "
                      "name=\"viewport\" content=\"width=device-width\">"
                      "\n<title>");
    hfe_buf_markup(out, title);
    hfe_buf_printf(out,
                   "</title>\n<style>%s</style></head>\n<body>\n<header>"
                   "<h1>",
                   hfe_html_css);
    hfe_buf_markup(out, title);
    hfe_buf_printf(out, "</h1><p>%zu model%s in %zu lineage%s, from ", P.D.n_d,
                   P.D.n_d == 1 ? "" : "s", P.D.n_l, P.D.n_l == 1 ? "" : "s");
    for (i = 0; i < P.n_rec; i++) {
        hfe_buf_puts(out, i ? ", " : "");
        hfe_buf_markup(out, hfe_json_get_str(P.rec[i].json, "run_id"));
        hfe_buf_puts(out, " (");
        hfe_buf_markup(out, hfe_json_get_str(P.rec[i].json, "finished"));
        hfe_buf_puts(out, ")");
    }
    hfe_buf_puts(out, ".</p><nav><a href=\"#lineage\">lineage</a> <a "
                      "href=\"#decision\">decision table</a> <a "
                      "href=\"#plots\">plots</a> <a "
                      "href=\"#fidelity\">fidelity</a> <a "
                      "href=\"#flips\">flipped items</a> <a "
                      "href=\"#history\">history</a> <a "
                      "href=\"#provenance\">provenance</a></nav></header>\n"
                      "<main>\n");
    tree(&P);
    table(&P);
    plots(&P);
    fidelity(&P);
    flips(&P);
    if ((rc = history(&P, err)) != 0) {
        page_free(&P);
        return rc;
    }
    hfe_buf_puts(out, "</main>\n");
    provenance(&P);
    hfe_buf_printf(out, "<script>%s</script>\n</body></html>\n", hfe_html_js);
    page_free(&P);
    return 0;
}

int hfe_html_write(const char *path, const char *const *runs, size_t n_runs,
                   const struct hfe_html_opts *o, struct hfe_err *err)
{
    struct hfe_buf b = {0};
    char *tmp = hfe_xasprintf("%s.tmp", path);
    int rc = hfe_html(runs, n_runs, o, &b, err);

    if (!rc && (hfe_write_file(tmp, b.s, b.len) != 0 || rename(tmp, path))) {
        hfe_err_set(err, "%s: cannot write the report: %s", path,
                    strerror(errno));
        unlink(tmp);
        rc = HFE_EXIT_IO;
    }
    free(tmp);
    hfe_buf_free(&b);
    return rc;
}
