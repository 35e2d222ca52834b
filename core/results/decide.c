/*
 * decide.c - the decision table, the Pareto marks, the pick and the
 * ranking across lineages.  See decide.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "compare.h"
#include "decide.h"
#include "json.h"
#include "json_get.h"
#include "decide_int.h"
#include "report_int.h"

static double num_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItem(o, a);

    if (b)
        x = cJSON_GetObjectItem(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const struct rep_row *get(const struct dec *D, int m,
                                 const struct rep_task *t, const char *metric)
{
    char key[512];

    snprintf(key, sizeof(key), "%s/%s\t%s", t->suite, t->task, metric);
    return hfe_rep_value(&D->r, m, key);
}

/* A task's kind of column: quality (0), fidelity (1), speed (2), none
 * (3); found once a task (build). */
static int role_of(const struct dec *D, const struct rep_task *t)
{
    size_t i;

    if (!strcmp(t->kind, "compliance"))
        return 3;
    if (t->fidelity || t->timing)
        return t->fidelity ? 1 : 2;
    for (i = 0; i < D->r.n_r; i++) { /* a record older than those flags */
        const struct rep_row *v = &D->r.r[i];

        if (!strcmp(v->suite, t->suite) && !strcmp(v->task, t->task)) {
            if (!strcmp(v->metric, "kld"))
                return 1;
            if (!strcmp(v->metric, "decode_tok_s"))
                return 2;
        }
    }
    return 0;
}

int hfe_dec_role(const struct dec *D, const struct rep_task *t)
{
    return D->role[t - D->r.t];
}

/* The quality columns: each quality task's chosen metric. */
static int columns(struct dec *D, struct hfe_err *err)
{
    size_t i, k, s;

    D->c = hfe_xcalloc(D->r.n_t + 1, sizeof(*D->c));
    for (s = 0; s < D->o->n_metrics; s++) { /* each --metric names a task */
        const struct hfe_metric_sel *ms = &D->o->metrics[s];

        for (i = 0; i < D->r.n_t; i++) {
            char st[512];

            snprintf(st, sizeof(st), "%s/%s", D->r.t[i].suite, D->r.t[i].task);
            if (!strcmp(ms->task, D->r.t[i].task) || !strcmp(ms->task, st))
                break;
        }
        if (i == D->r.n_t) {
            hfe_err_set(err, "--metric %s=%s: the runs have no task '%s'",
                        ms->task, ms->metric, ms->task);
            return HFE_EXIT_USAGE;
        }
    }
    for (i = 0; i < D->r.n_t; i++) {
        const struct rep_task *t = &D->r.t[i];
        struct col *c = &D->c[D->n_c];
        char st[512];

        snprintf(st, sizeof(st), "%s/%s", t->suite, t->task);
        c->t = t;
        c->metric = t->primary;
        for (s = 0; s < D->o->n_metrics; s++)
            if (!strcmp(D->o->metrics[s].task, t->task) ||
                !strcmp(D->o->metrics[s].task, st))
                break;
        if (s < D->o->n_metrics) /* --metric: a column whatever the task */
            c->metric = D->o->metrics[s].metric;
        else if (hfe_dec_role(D, t) != 0 || t->grouped)
            continue; /* a group's member: the group's column stands */
        for (k = 0; !c->metric && k < D->r.n_r; k++) /* the first computed */
            if (!strcmp(D->r.r[k].suite, t->suite) &&
                !strcmp(D->r.r[k].task, t->task))
                c->metric = D->r.r[k].metric;
        if (!c->metric)
            continue;
        snprintf(c->key, sizeof(c->key), "%s\t%s", st, c->metric);
        snprintf(c->field, sizeof(c->field), "%s:%s", st, c->metric);
        c->lower = hfe_cmp_lower_better(c->metric);
        for (k = 0; k < D->r.n_m && !hfe_rep_value(&D->r, (int)k, c->key); k++)
            ;
        if (k < D->r.n_m)
            D->n_c++;
        else if (D->o->n_metrics) {
            for (s = 0; s < D->o->n_metrics; s++)
                if (D->o->metrics[s].metric == c->metric) {
                    hfe_err_set(err, "--metric: no model has %s of task '%s'",
                                c->metric, st);
                    return HFE_EXIT_USAGE;
                }
        }
    }
    return 0;
}

/* The speed and memory of model m: speed.lua's where it ran (prompt
 * speed at its longest prompt, decode speed its mean), else the run's. */
static void speed(struct dec *D, struct drow *d)
{
    const cJSON *ms = D->r.m[d->m].measure;
    double best_pt = -1, tg = 0;
    size_t i, n_tg = 0;

    d->pp = d->tg = NAN;
    for (i = 0; i < D->r.n_t; i++) {
        const struct rep_task *t = &D->r.t[i];
        const struct rep_row *pt, *pp, *dt;

        if (hfe_dec_role(D, t) != 2)
            continue;
        pt = get(D, d->m, t, "prompt_tokens");
        pp = get(D, d->m, t, "prompt_tok_s");
        dt = get(D, d->m, t, "decode_tok_s");
        if (pp && pt && pt->value > best_pt) {
            best_pt = pt->value;
            d->pp = pp->value;
        }
        if (dt) {
            tg += dt->value;
            n_tg++;
        }
    }
    if (n_tg)
        d->tg = tg / n_tg;
    if (!isnan(d->pp) || !isnan(d->tg)) {
        d->speed = "speed.lua";
    } else if (ms) {
        d->pp = num_at(ms, "prompt_tok_s", NULL);
        d->tg = num_at(ms, "decode_tok_s", NULL);
        d->speed = "batched";
    }
    d->ttft = num_at(ms, "ttft_ms", "p50");
    d->lat90 = num_at(ms, "latency_ms", "p90");
    d->load_ms = num_at(ms, "load_ms", NULL);
    d->peak = num_at(ms, "device_peak_mib", NULL);
    if (isnan(d->peak))
        d->peak = num_at(ms, "peak_rss_mib", NULL);
}

/* Fidelity (the first fidelity task's) and degeneration (over every
 * generation task, by its items). */
static void fidelity(struct dec *D, struct drow *d)
{
    double tr = 0, lo = 0, n = 0;
    size_t i;
    int got = 0;

    d->kld = d->kld_p99 = d->same_top = NAN;
    for (i = 0; i < D->r.n_t; i++) {
        const struct rep_task *t = &D->r.t[i];
        const struct rep_row *v;
        int role = hfe_dec_role(D, t);

        if (role == 1 && !got && (v = get(D, d->m, t, "kld"))) {
            got = 1;
            d->kld = v->value;
            v = get(D, d->m, t, "kld_p99");
            d->kld_p99 = v ? v->value : NAN;
            v = get(D, d->m, t, "same_top");
            d->same_top = v ? v->value : NAN;
        }
        if (role == 0 && (v = get(D, d->m, t, "truncated"))) {
            const struct rep_row *w = get(D, d->m, t, "looped");

            tr += v->value * v->n;
            lo += w ? w->value * w->n : 0;
            n += v->n;
        }
    }
    d->trunc = n > 0 ? tr / n : NAN;
    d->loop = n > 0 ? lo / n : NAN;
}

static void cell(struct dec *D, struct drow *d, size_t k)
{
    const struct col *c = &D->c[k];
    struct qcell *q = &d->q[k];
    const struct rep_row *v = hfe_rep_value(&D->r, d->m, c->key),
                         *vp = hfe_rep_value(&D->r, d->parent, c->key),
                         *vr = hfe_rep_value(&D->r, d->root, c->key);

    q->v = v;
    q->lo = q->hi = q->dp = q->rec = NAN;
    q->pt.p = -1;
    if (!v)
        return;
    if (v->has_se) {
        q->lo = v->value - 1.96 * v->se;
        q->hi = v->value + 1.96 * v->se;
        if (hfe_rep_proportion(c->metric)) { /* a share stays in [0, 1] */
            q->lo = q->lo < 0 ? 0 : q->lo;
            q->hi = q->hi > 1 ? 1 : q->hi;
        }
    }
    if (vp && d->parent >= 0) {
        q->dp = v->value - vp->value;
        hfe_rep_paired(&D->r, v, d->parent, &q->pt);
    }
    if (vr && vr->value != 0)
        q->rec = v->value / vr->value;
}

static int class_rank(const char *k)
{
    return !k                           ? -1
           : !strcmp(k, "open source")  ? 2
           : !strcmp(k, "open weights") ? 1
                                        : 0;
}

/* Does a dominate b: at least as good on quality and on x (bigger
 * better when up), better on one. */
static int dominates(double qa, double xa, double qb, double xb, int up)
{
    int ge = up ? xa >= xb : xa <= xb, gt = up ? xa > xb : xa < xb;

    return qa >= qb && ge && (qa > qb || gt);
}

static void pareto(struct dec *D, const struct lin *l)
{
    size_t i, j;

    for (i = l->a; i < l->b; i++) {
        struct drow *x = &D->d[i];

        if (isnan(x->quality))
            continue;
        x->par_size = !isnan(x->size_mib);
        x->par_dec = !isnan(x->tg);
        for (j = l->a; j < l->b; j++) {
            const struct drow *y = &D->d[j];

            if (j == i || isnan(y->quality))
                continue;
            if (x->par_size && !isnan(y->size_mib) &&
                dominates(y->quality, y->size_mib, x->quality, x->size_mib, 0))
                x->par_size = 0;
            if (x->par_dec && !isnan(y->tg) &&
                dominates(y->quality, y->tg, x->quality, x->tg, 1))
                x->par_dec = 0;
        }
    }
}

/* Why row d cannot be the pick, into why; 0 when it fits. */
static int ruled_out(const struct dec *D, const struct drow *d, char *why,
                     size_t n)
{
    const struct hfe_pick *p = &D->o->pick;
    const struct rep_model *m = &D->r.m[d->m];
    static const char *const cls[] = {"restricted", "open weights",
                                      "open source"};

    if (isnan(d->recovery))
        snprintf(why, n, "no quality to compare");
    else if (d->recovery < p->min_recovery)
        snprintf(why, n, "keeps %.1f%% of %s's quality, under %.4g%%",
                 100 * d->recovery, D->r.m[d->root].name,
                 100 * p->min_recovery);
    else if (class_rank(m->klass) < p->min_class)
        snprintf(why, n, "%s, under %s%s%s", m->klass ? m->klass : "no class",
                 cls[p->min_class], m->failed ? "; failed: " : "",
                 m->failed ? m->failed : "");
    else if (p->max_memory_mib > 0 && !(d->peak <= p->max_memory_mib))
        snprintf(why, n, "peak memory %.1f MiB, over %.4g", d->peak,
                 p->max_memory_mib);
    else if (p->max_size_mib > 0 && !(d->size_mib <= p->max_size_mib))
        snprintf(why, n, "%.1f MiB, over %.4g", d->size_mib, p->max_size_mib);
    else if (p->min_decode_tok_s > 0 && !(d->tg >= p->min_decode_tok_s))
        snprintf(why, n, "decodes %.4g tokens/s, under %.4g", d->tg,
                 p->min_decode_tok_s);
    else
        return 0;
    return 1;
}

/* Is a better than b by the pick's preference. */
static int preferred(const struct hfe_pick *p, const struct drow *a,
                     const struct drow *b)
{
    double x = p->by == HFE_PICK_SIZE     ? -a->size_mib
               : p->by == HFE_PICK_DECODE ? a->tg
                                          : a->quality,
           y = p->by == HFE_PICK_SIZE     ? -b->size_mib
               : p->by == HFE_PICK_DECODE ? b->tg
                                          : b->quality;

    if (isnan(y))
        return !isnan(x);
    return x > y || (x == y && a->quality > b->quality);
}

static void pick(struct dec *D, struct lin *l)
{
    static const char *const by[] = {
        "smallest member", "member fastest at decoding", "best-scoring member"};
    const struct hfe_pick *p = &D->o->pick;
    char why[512];
    size_t i;
    int best = -1;

    l->pick = -1;
    for (i = l->a; i < l->b; i++)
        if (!ruled_out(D, &D->d[i], why, sizeof(why)) &&
            (best < 0 || preferred(p, &D->d[i], &D->d[best])))
            best = (int)i;
    if (best < 0) {
        hfe_buf_printf(&l->why, "no member fits");
    } else {
        l->pick = best;
        D->d[best].pick = 1;
        hfe_buf_printf(&l->why,
                       "the %s that keeps at least %.4g%% of "
                       "%s's quality",
                       by[p->by], 100 * p->min_recovery,
                       D->r.m[D->d[best].root].name);
        if (p->min_class)
            hfe_buf_printf(&l->why, ", %s",
                           p->min_class == 2 ? "open source"
                                             : "not restricted");
        if (p->max_memory_mib > 0)
            hfe_buf_printf(&l->why, ", within %.4g MiB", p->max_memory_mib);
        if (p->max_size_mib > 0)
            hfe_buf_printf(&l->why, ", at most %.4g MiB on disk",
                           p->max_size_mib);
        if (p->min_decode_tok_s > 0)
            hfe_buf_printf(&l->why, ", at least %.4g tokens/s",
                           p->min_decode_tok_s);
    }
    /* every member that scores better than the pick, and why not it */
    for (i = l->a; i < l->b; i++) {
        const struct drow *d = &D->d[i], *b = best >= 0 ? &D->d[best] : NULL;

        if ((int)i == best || isnan(d->quality) ||
            (b && !(d->quality > b->quality)))
            continue;
        if (!ruled_out(D, d, why, sizeof(why)))
            snprintf(why, sizeof(why), "%s",
                     p->by == HFE_PICK_SIZE     ? "larger"
                     : p->by == HFE_PICK_DECODE ? "slower"
                                                : "scores lower");
        hfe_buf_printf(&l->out, "%s%s (%s)", l->out.len ? "; " : "",
                       D->r.m[d->m].name, why);
        hfe_buf_puts(&l->json, l->json.len ? ",{\"model\":" : "{\"model\":");
        hfe_json_strz(&l->json, D->r.m[d->m].name);
        hfe_buf_puts(&l->json, ",\"reason\":");
        hfe_json_strz(&l->json, why);
        hfe_buf_puts(&l->json, "}");
    }
}

/* Every row, each lineage's marks and pick. */
static int build(struct dec *D, struct hfe_err *err)
{
    int *order = hfe_xcalloc(D->r.n_m + 1, sizeof(int)),
        *depth = hfe_xcalloc(D->r.n_m + 1, sizeof(int));
    size_t n = 0, i, k;
    int rc;

    D->role = hfe_xcalloc(D->r.n_t + 1, sizeof(*D->role));
    for (i = 0; i < D->r.n_t; i++)
        D->role[i] = role_of(D, &D->r.t[i]);
    if ((rc = columns(D, err)) != 0) {
        free(order);
        free(depth);
        return rc;
    }
    hfe_rep_walk(&D->r, -1, order, &n, depth, 0);
    D->d = hfe_xcalloc(n + 1, sizeof(*D->d));
    D->l = hfe_xcalloc(n + 1, sizeof(*D->l));
    for (i = 0; i < n; i++) {
        struct drow *d = &D->d[D->n_d++];
        const struct rep_model *m = &D->r.m[order[i]];
        double sum = 0;
        size_t nq = 0;

        if (depth[i] == 0) {
            D->l[D->n_l].a = i;
            D->l[D->n_l++].pick = -1;
        }
        D->l[D->n_l - 1].b = i + 1;
        d->m = order[i];
        d->depth = depth[i];
        d->parent = hfe_rep_find(&D->r, m->base);
        d->root = order[D->l[D->n_l - 1].a];
        d->size_mib = isnan(m->bytes) ? NAN : m->bytes / 1048576.0;
        d->params = m->params > 0 ? m->params : NAN;
        d->q = hfe_xcalloc(D->n_c + 1, sizeof(*d->q));
        for (k = 0; k < D->n_c; k++) {
            cell(D, d, k);
            if (!D->c[k].lower) {
                sum += d->q[k].v ? d->q[k].v->value : NAN;
                nq++;
            }
        }
        d->quality = nq ? sum / nq : NAN;
        speed(D, d);
        fidelity(D, d);
    }
    for (i = 0; i < D->n_d; i++) { /* the root's quality is known now */
        const struct drow *r = NULL;

        for (k = 0; k < D->n_d && !r; k++)
            r = D->d[k].m == D->d[i].root ? &D->d[k] : NULL;
        D->d[i].recovery =
            r && r->quality != 0 ? D->d[i].quality / r->quality : NAN;
    }
    for (i = 0; i < D->n_l; i++) {
        pareto(D, &D->l[i]);
        pick(D, &D->l[i]);
    }
    free(order);
    free(depth);
    return 0;
}

void hfe_dec_free(struct dec *D)
{
    size_t i;

    for (i = 0; i < D->n_d; i++) {
        free(D->d[i].q);
        free(D->d[i].tree);
    }
    for (i = 0; i < D->n_l; i++) {
        hfe_buf_free(&D->l[i].why);
        hfe_buf_free(&D->l[i].out);
        hfe_buf_free(&D->l[i].json);
    }
    free(D->d);
    free(D->l);
    free(D->c);
    free(D->role);
    hfe_rep_free(&D->r);
}

/* ---- numbers as people read them ---------------------------------------- */

const char *hfe_dec_num(char *b, size_t n, double v)
{
    double a = fabs(v);
    int d;

    if (isnan(v))
        snprintf(b, n, "-");
    else if (v == 0)
        snprintf(b, n, "0");
    else if (a >= 1e6 || a < 1e-3)
        snprintf(b, n, "%.2e", v);
    else {
        d = 3 - (int)floor(log10(a));
        snprintf(b, n, "%.*f", d < 0 ? 0 : d > 4 ? 4 : d, v);
    }
    return b;
}

/* A value the way its metric reads: a share with four decimals. */
static const char *val(char *b, size_t n, double v, int share)
{
    if (!isnan(v) && share && v >= 0 && v <= 1) {
        snprintf(b, n, "%.4f", v);
        return b;
    }
    return hfe_dec_num(b, n, v);
}

static const char *pct(char *b, size_t n, double v)
{
    if (isnan(v))
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.1f%%", 100 * v);
    return b;
}

static const char *signed_num(char *b, size_t n, double v)
{
    char t[48];

    if (isnan(v))
        return hfe_dec_num(b, n, v);
    hfe_dec_num(t, sizeof(t), v);
    snprintf(b, n, "%s%s", v > 0 ? "+" : "", t);
    return b;
}

/* ---- the grid: one header and rows of cells ----------------------------- */

/* A grid of at most cap columns and n_row rows. */
static void g_init(struct grid *g, size_t cap, size_t n_row)
{
    memset(g, 0, sizeof(*g));
    g->cap = cap;
    g->head = hfe_xcalloc(cap + 1, sizeof(*g->head));
    g->right = hfe_xcalloc(cap + 1, 1);
    g->n_row = n_row;
    g->cell = hfe_xcalloc(n_row * cap + 1, sizeof(char *));
    g->key = hfe_xcalloc(n_row * cap + 1, sizeof(double));
}

static void g_col(struct grid *g, const char *head, int right)
{
    if (g->n_col < g->cap) {
        g->head[g->n_col] = head;
        g->right[g->n_col++] = (char)right;
    }
}

/* The display width of UTF-8 s: its code points. */
static size_t width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* The human cells of row d, one per column heads() names. */
static void human(const struct dec *D, const struct drow *d, char **out,
                  double *key, int text)
{
    const struct rep_model *m = &D->r.m[d->m];
    size_t k, c = 0;
    char b[320], t[128], u[64];

#define PUTK(s, k) (key[c] = (k), out[c++] = hfe_xstrdup(s))
#define PUT(s)     PUTK(s, NAN)
    PUT(text ? d->tree : m->name);
    PUT(m->quant ? m->quant : "-");
    PUTK(hfe_dec_num(b, sizeof(b), d->size_mib), d->size_mib);
    PUTK(hfe_dec_num(b, sizeof(b), d->params / 1e6), d->params);
    for (k = 0; k < D->n_c; k++) {
        const struct qcell *q = &d->q[k];
        int me = hfe_rep_proportion(D->c[k].metric);

        if (q->v && !isnan(q->lo)) {
            val(t, sizeof(t), q->v->value, me);
            snprintf(b, sizeof(b), "%s ±%s", t,
                     val(u, sizeof(u), (q->hi - q->lo) / 2, me));
        } else {
            val(b, sizeof(b), q->v ? q->v->value : NAN, me);
        }
        PUTK(b, q->v ? q->v->value : NAN);
        PUTK(signed_num(b, sizeof(b), q->dp), q->dp);
        PUTK(pct(b, sizeof(b), q->rec), q->rec);
        if (q->pt.p >= 0 && q->pt.binary)
            snprintf(b, sizeof(b), "%u/%u p=%.2g", q->pt.worse, q->pt.better,
                     q->pt.p);
        else if (q->pt.p >= 0)
            snprintf(b, sizeof(b), "p=%.2g", q->pt.p);
        else
            snprintf(b, sizeof(b), "-");
        PUTK(b, q->pt.p >= 0 ? q->pt.p : NAN);
    }
    PUTK(val(b, sizeof(b), d->quality, 1), d->quality);
    PUTK(pct(b, sizeof(b), d->recovery), d->recovery);
    PUTK(hfe_dec_num(b, sizeof(b), d->kld), d->kld);
    PUTK(hfe_dec_num(b, sizeof(b), d->kld_p99), d->kld_p99);
    PUTK(pct(b, sizeof(b), d->same_top), d->same_top);
    PUTK(pct(b, sizeof(b), d->trunc), d->trunc);
    PUTK(pct(b, sizeof(b), d->loop), d->loop);
    snprintf(t, sizeof(t), "%s%s", hfe_dec_num(b, sizeof(b), d->pp),
             d->speed && !strcmp(d->speed, "speed.lua") ? "*" : "");
    PUTK(t, d->pp);
    snprintf(t, sizeof(t), "%s%s", hfe_dec_num(b, sizeof(b), d->tg),
             d->speed && !strcmp(d->speed, "speed.lua") ? "*" : "");
    PUTK(t, d->tg);
    PUTK(hfe_dec_num(b, sizeof(b), d->ttft), d->ttft);
    PUTK(hfe_dec_num(b, sizeof(b), d->lat90), d->lat90);
    PUTK(hfe_dec_num(b, sizeof(b), d->peak), d->peak);
    PUT(m->klass ? m->klass : "-");
    PUT(m->failed ? m->failed : "-");
    snprintf(b, sizeof(b), "%s%s%s", d->par_size ? "S" : "",
             d->par_dec ? (d->par_size ? " D" : "D") : "",
             d->pick ? (d->par_size || d->par_dec ? " pick" : "pick") : "");
    PUT(*b ? b : "-");
#undef PUT
#undef PUTK
}

static void heads(const struct dec *D, struct grid *g, char (*lab)[160])
{
    size_t k;

    g_col(g, "model", 0);
    g_col(g, "quant", 0);
    g_col(g, "size MiB", 1);
    g_col(g, "params M", 1);
    for (k = 0; k < D->n_c; k++) {
        snprintf(lab[k], 160, "%s %s ±95%%", D->c[k].t->task, D->c[k].metric);
        g_col(g, lab[k], 1);
        g_col(g, "Δ parent", 1);
        g_col(g, "recovery", 1);
        g_col(g, "↓/↑ p", 1);
    }
    g_col(g, "quality", 1);
    g_col(g, "recovery", 1);
    g_col(g, "KLD", 1);
    g_col(g, "KLD p99", 1);
    g_col(g, "same top", 1);
    g_col(g, "truncated", 1);
    g_col(g, "looped", 1);
    g_col(g, "prompt tok/s", 1);
    g_col(g, "decode tok/s", 1);
    g_col(g, "TTFT p50 ms", 1);
    g_col(g, "latency p90 ms", 1);
    g_col(g, "peak MiB", 1);
    g_col(g, "class", 0);
    g_col(g, "failed checks", 0);
    g_col(g, "marks", 0);
}

static void trees(struct dec *D);

void hfe_dec_grid(struct dec *D, size_t li, struct grid *g, char (*lab)[160],
                  int text)
{
    const struct lin *l = &D->l[li];
    size_t i;

    if (text && !D->d[l->a].tree)
        trees(D);
    g_init(g, 23 + 4 * D->n_c, l->b - l->a);
    heads(D, g, lab);
    for (i = l->a; i < l->b; i++)
        human(D, &D->d[i], &g->cell[(i - l->a) * g->cap],
              &g->key[(i - l->a) * g->cap], text);
}

/* The lineage drawn: "├─ " and "└─ " under a parent, "│  " past it. */
static void trees(struct dec *D)
{
    size_t i, j;

    for (i = 0; i < D->n_d; i++) {
        struct hfe_buf b = {0};
        int lv;

        hfe_buf_add(&b, "", 0);
        for (lv = 1; lv <= D->d[i].depth; lv++) {
            int more = 0; /* another model at level lv below, same branch */

            for (j = i + 1; j < D->n_d && D->d[j].depth >= lv; j++)
                if (D->d[j].depth == lv) {
                    more = 1;
                    break;
                }
            if (lv < D->d[i].depth)
                hfe_buf_puts(&b, more ? "│  " : "   ");
            else
                hfe_buf_puts(&b, more ? "├─ " : "└─ ");
        }
        hfe_buf_puts(&b, D->r.m[D->d[i].m].name);
        D->d[i].tree = b.s;
    }
}

static void pad(struct hfe_buf *b, const char *s, size_t w, int right)
{
    size_t n = width(s);

    if (right)
        hfe_buf_printf(b, "%*s", (int)(w - n), "");
    hfe_buf_puts(b, s);
    if (!right)
        hfe_buf_printf(b, "%*s", (int)(w - n), "");
}

/* Aligned columns, two spaces apart; past the width, the table goes on
 * below, the model column repeated. */
static void g_text(struct hfe_buf *b, const struct grid *g, int tw)
{
    size_t *w = hfe_xcalloc(g->n_col + 1, sizeof(*w)), c, r, from = 1, to, used;

    for (c = 0; c < g->n_col; c++) {
        w[c] = width(g->head[c]);
        for (r = 0; r < g->n_row; r++)
            if (width(g->cell[r * g->cap + c]) > w[c])
                w[c] = width(g->cell[r * g->cap + c]);
    }
    while (from < g->n_col) {
        used = w[0];
        for (to = from;
             to < g->n_col && (to == from || used + 2 + w[to] <= (size_t)tw);
             to++)
            used += 2 + w[to];
        for (r = 0; r <= g->n_row; r++) {
            for (c = 0; c < to; c = c ? c + 1 : from) {
                const char *s = r ? g->cell[(r - 1) * g->cap + c] : g->head[c];
                if (c)
                    hfe_buf_puts(b, "  ");
                pad(b, s, w[c], g->right[c]);
            }
            /* no trailing blanks */
            while (b->len && b->s[b->len - 1] == ' ')
                b->s[--b->len] = '\0';
            hfe_buf_puts(b, "\n");
        }
        from = to;
        if (from < g->n_col)
            hfe_buf_puts(b, "\n");
    }
    free(w);
}

static void g_md(struct hfe_buf *b, const struct grid *g)
{
    size_t c, r;

    for (c = 0; c < g->n_col; c++)
        hfe_buf_printf(b, "| %s ", g->head[c]);
    hfe_buf_puts(b, "|\n");
    for (c = 0; c < g->n_col; c++)
        hfe_buf_puts(b, g->right[c] ? "| ---: " : "| --- ");
    hfe_buf_puts(b, "|\n");
    for (r = 0; r < g->n_row; r++) {
        for (c = 0; c < g->n_col; c++)
            hfe_buf_printf(b, "| %s ", g->cell[r * g->cap + c]);
        hfe_buf_puts(b, "|\n");
    }
}

void hfe_dec_grid_free(struct grid *g)
{
    size_t i;

    for (i = 0; g->cell && i < g->n_row * g->cap; i++)
        free(g->cell[i]);
    free(g->cell);
    free(g->key);
    free(g->head);
    free(g->right);
}

/* ---- the fields of CSV and JSON ----------------------------------------- */

/* A row's fields in order; name NULL ends them.  s: a string (NULL:
 * null), else the number x (NaN: null); b: a boolean. */
struct fld {
    char name[1200];
    const char *s;
    double x;
    int kind; /* 0 number, 1 string, 2 boolean, 3 integer */
};

static size_t fields(const struct dec *D, size_t li, const struct drow *d,
                     struct fld *f)
{
    const struct rep_model *m = &D->r.m[d->m];
    size_t n = 0, k;

#define F(nm, k_, str, num_)                                                   \
    do {                                                                       \
        snprintf(f[n].name, sizeof(f[n].name), "%s", nm);                      \
        f[n].kind = k_;                                                        \
        f[n].s = str;                                                          \
        f[n++].x = num_;                                                       \
    } while (0)
    F("lineage", 1, D->r.m[D->d[D->l[li].a].m].name, 0);
    F("model", 1, m->name, 0);
    F("parent", 1, m->base, 0);
    F("depth", 3, NULL, d->depth);
    F("quantization", 1, m->quant, 0);
    F("size_mib", 0, NULL, d->size_mib);
    F("params", 3, NULL, d->params);
    for (k = 0; k < D->n_c; k++) {
        const struct qcell *q = &d->q[k];
        char nm[1200];

#define T(suffix, k_, num_)                                                    \
    do {                                                                       \
        snprintf(nm, sizeof(nm), "%s.%s", D->c[k].field, suffix);              \
        F(nm, k_, NULL, num_);                                                 \
    } while (0)
        T("value", 0, q->v ? q->v->value : NAN);
        T("ci_low", 0, q->lo);
        T("ci_high", 0, q->hi);
        T("n", 3, q->v ? q->v->n : NAN);
        T("delta_parent", 0, q->dp);
        T("recovery", 0, q->rec);
        T("down", 3, q->pt.p >= 0 && q->pt.binary ? q->pt.worse : NAN);
        T("up", 3, q->pt.p >= 0 && q->pt.binary ? q->pt.better : NAN);
        T("p", 0, q->pt.p >= 0 ? q->pt.p : NAN);
#undef T
    }
    F("quality", 0, NULL, d->quality);
    F("recovery", 0, NULL, d->recovery);
    F("kld", 0, NULL, d->kld);
    F("kld_p99", 0, NULL, d->kld_p99);
    F("same_top", 0, NULL, d->same_top);
    F("truncated", 0, NULL, d->trunc);
    F("looped", 0, NULL, d->loop);
    F("prompt_tok_s", 0, NULL, d->pp);
    F("decode_tok_s", 0, NULL, d->tg);
    F("speed", 1, d->speed, 0);
    F("ttft_p50_ms", 0, NULL, d->ttft);
    F("latency_p90_ms", 0, NULL, d->lat90);
    F("peak_mib", 0, NULL, d->peak);
    F("load_ms", 0, NULL, d->load_ms);
    F("class", 1, m->klass, 0);
    F("license", 1, m->license, 0);
    F("failed", 1, m->failed, 0);
    F("pareto_size", 2, NULL, d->par_size);
    F("pareto_decode", 2, NULL, d->par_dec);
    F("pick", 2, NULL, d->pick);
#undef F
    return n;
}

/* The most fields a row has: 9 a column, the rest fixed. */
#define MAX_FIELDS(D) (40 + 9 * (D)->n_c)

static void csv_str(struct hfe_buf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n")) {
        hfe_buf_puts(b, s);
        return;
    }
    hfe_buf_puts(b, "\"");
    for (; *s; s++)
        hfe_buf_printf(b, *s == '"' ? "\"\"" : "%c", *s);
    hfe_buf_puts(b, "\"");
}

static void fld_val(struct hfe_buf *b, const struct fld *f, int json)
{
    if (f->kind == 1) {
        if (json && f->s)
            hfe_json_strz(b, f->s);
        else if (json)
            hfe_buf_puts(b, "null");
        else
            csv_str(b, f->s);
    } else if (f->kind == 2) {
        hfe_buf_puts(b, f->x ? "true" : "false");
    } else if (isnan(f->x)) {
        hfe_buf_puts(b, json ? "null" : "");
    } else if (f->kind == 3) {
        hfe_buf_printf(b, "%.0f", f->x);
    } else {
        hfe_buf_printf(b, "%.9g", f->x);
    }
}

/* ---- the ranking across lineages ---------------------------------------- */

static int by_quality(const void *a, const void *b, void *ud)
{
    const struct drow *d = ud;
    double x = d[*(const size_t *)a].quality, y = d[*(const size_t *)b].quality;

    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

/* The rows in order of quality, best first (NaN last; list order kept
 * between equals: an insertion sort, the lists are small). */
static size_t *ranking(const struct dec *D)
{
    size_t *o = hfe_xcalloc(D->n_d + 1, sizeof(*o)), i, j;

    for (i = 0; i < D->n_d; i++) {
        o[i] = i;
        for (j = i; j > 0 && by_quality(&o[j], &o[j - 1], D->d) < 0; j--) {
            size_t t = o[j];

            o[j] = o[j - 1];
            o[j - 1] = t;
        }
    }
    return o;
}

/* ---- the formats -------------------------------------------------------- */

static int term_width(int asked)
{
    struct winsize ws;
    const char *c = getenv("COLUMNS");

    if (asked > 0)
        return asked;
    if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (c && atoi(c) > 20)
        return atoi(c);
    return 120;
}

/* s folded to lines of at most w columns, at spaces. */
static void fold(struct hfe_buf *b, const char *s, size_t w)
{
    size_t col = 0;

    while (*s) {
        size_t n = strcspn(s, " "), sp = strspn(s + n, " ");
        char word[512];

        snprintf(word, sizeof(word), "%.*s", (int)n, s);
        if (col && col + 1 + width(word) > w) {
            hfe_buf_puts(b, "\n");
            col = 0;
        }
        hfe_buf_printf(b, "%s%s", col ? " " : "", word);
        col += (col ? 1 : 0) + width(word);
        s += n + sp;
    }
    hfe_buf_puts(b, "\n");
}

void hfe_dec_legend(const struct dec *D, struct hfe_buf *t, const char *it)
{
    int lua = 0;
    size_t i;

    for (i = 0; i < D->n_d; i++)
        lua |= D->d[i].speed && !strcmp(D->d[i].speed, "speed.lua");
    hfe_buf_printf(
        t,
        "%squality: the mean of the tasks' metrics (lower-is-better ones "
        "left out); recovery: of the lineage root's. Δ, ↓/↑ (items right "
        "to wrong, wrong to right) and p (McNemar's exact test; a paired "
        "bootstrap for non-binary metrics) and KLD are against the parent. "
        "truncated: generations cut at max_tokens; looped: caught in a "
        "repeating n-gram. tok/s, TTFT and latency: %s; peak: the model "
        "process's resident set (a GPU's own peak where one ran). marks: S "
        "no member beats it on both quality and size, D on both quality and "
        "decode speed, pick: the pick.%s",
        it,
        lua ? "* from speed.lua (one request at a time), the rest under the "
              "run's batched load"
            : "under the run's batched load (speed.lua measures one request "
              "at a time)",
        it);
}

static void legend(struct hfe_buf *b, const struct dec *D, int md, int tw)
{
    struct hfe_buf t = {0};

    hfe_dec_legend(D, &t, md ? "_" : "");
    hfe_buf_puts(b, "\n");
    if (md)
        hfe_buf_printf(b, "%s\n", t.s);
    else
        fold(b, t.s, (size_t)tw);
    hfe_buf_free(&t);
}

/* A lineage's pick and the better-scoring members it passed over. */
static void pick_lines(struct hfe_buf *b, const struct dec *D,
                       const struct lin *l, int md, int tw)
{
    struct hfe_buf p = {0}, q = {0};

    hfe_buf_printf(&p, "%spick: %s%s — %s.", md ? "**" : "",
                   l->pick >= 0 ? D->r.m[D->d[l->pick].m].name : "none",
                   md ? "**" : "", l->why.s);
    if (l->out.len)
        hfe_buf_printf(&q, "better-scoring members ruled out: %s.", l->out.s);
    hfe_buf_puts(b, "\n");
    if (md) {
        hfe_buf_printf(b, "%s\n", p.s);
        if (q.len)
            hfe_buf_printf(b, "%s\n", q.s);
    } else { /* folded to the width */
        fold(b, p.s, (size_t)tw);
        if (q.len)
            fold(b, q.s, (size_t)tw);
    }
    hfe_buf_free(&p);
    hfe_buf_free(&q);
}

static void text_or_md(struct hfe_buf *b, struct dec *D, int md)
{
    char(*lab)[160] = hfe_xcalloc(D->n_c + 1, sizeof(*lab));
    size_t li, i, *o;
    int tw = term_width(D->o->width), multi = D->n_l > 1;

    for (li = 0; li < D->n_l; li++) {
        const struct lin *l = &D->l[li];
        struct grid g;

        hfe_dec_grid(D, li, &g, lab, !md);
        hfe_buf_printf(b, md ? "## Lineage: %s\n\n" : "LINEAGE %s\n\n",
                       D->r.m[D->d[l->a].m].name);
        if (md)
            g_md(b, &g);
        else
            g_text(b, &g, tw);
        pick_lines(b, D, l, md, tw);
        if (li + 1 < D->n_l || multi)
            hfe_buf_puts(b, "\n");
        hfe_dec_grid_free(&g);
    }
    if (multi) {
        struct grid g;

        g_init(&g, 7, D->n_d);
        g_col(&g, "rank", 1);
        g_col(&g, "model", 0);
        g_col(&g, "lineage", 0);
        g_col(&g, "quality", 1);
        g_col(&g, "size MiB", 1);
        g_col(&g, "decode tok/s", 1);
        g_col(&g, "class", 0);
        o = ranking(D);
        for (i = 0; i < D->n_d; i++) {
            const struct drow *d = &D->d[o[i]];
            char **c = &g.cell[i * g.cap], nb[64];

            c[0] = hfe_xasprintf("%zu", i + 1);
            c[1] = hfe_xstrdup(D->r.m[d->m].name);
            c[2] = hfe_xstrdup(D->r.m[d->root].name);
            c[3] = hfe_xstrdup(val(nb, sizeof(nb), d->quality, 1));
            c[4] = hfe_xstrdup(hfe_dec_num(nb, sizeof(nb), d->size_mib));
            c[5] = hfe_xstrdup(hfe_dec_num(nb, sizeof(nb), d->tg));
            c[6] = hfe_xstrdup(D->r.m[d->m].klass ? D->r.m[d->m].klass : "-");
        }
        free(o);
        hfe_buf_puts(b, md ? "## Every lineage, by quality\n\n"
                           : "EVERY LINEAGE, BY QUALITY\n\n");
        if (md)
            g_md(b, &g);
        else
            g_text(b, &g, tw);
        hfe_dec_grid_free(&g);
    }
    legend(b, D, md, tw);
    free(lab);
}

static void csv(struct hfe_buf *b, const struct dec *D)
{
    struct fld *f = hfe_xcalloc(MAX_FIELDS(D), sizeof(*f));
    size_t li, i, k, n;

    for (li = 0; li < D->n_l; li++)
        for (i = D->l[li].a; i < D->l[li].b; i++) {
            n = fields(D, li, &D->d[i], f);
            if (b->len <= 1) /* the header, once */
                for (k = 0; k < n; k++) {
                    hfe_buf_puts(b, k ? "," : "");
                    csv_str(b, f[k].name);
                }
            hfe_buf_puts(b, b->len > 1 ? "\n" : "");
            for (k = 0; k < n; k++) {
                hfe_buf_puts(b, k ? "," : "");
                fld_val(b, &f[k], 0);
            }
        }
    hfe_buf_puts(b, "\n");
    free(f);
}

/* "model":...,"why":...,"ruled_out":[...]: a lineage's pick. */
static void pick_json(struct hfe_buf *b, const struct dec *D,
                      const struct lin *l)
{
    hfe_buf_puts(b, "\"model\":");
    if (l->pick >= 0)
        hfe_json_strz(b, D->r.m[D->d[l->pick].m].name);
    else
        hfe_buf_puts(b, "null");
    hfe_buf_puts(b, ",\"why\":");
    hfe_json_strz(b, l->why.s);
    hfe_buf_printf(b, ",\"ruled_out\":[%s]", l->json.len ? l->json.s : "");
}

static void json(struct hfe_buf *b, const struct dec *D)
{
    struct fld *f = hfe_xcalloc(MAX_FIELDS(D), sizeof(*f));
    size_t li, i, k, n, *o;

    hfe_buf_puts(b, "{\"schema\":\"hfeval.report/1\",\"lineages\":[");
    for (li = 0; li < D->n_l; li++) {
        const struct lin *l = &D->l[li];

        hfe_buf_puts(b, li ? ",\n{\"root\":" : "\n{\"root\":");
        hfe_json_strz(b, D->r.m[D->d[l->a].m].name);
        hfe_buf_puts(b, ",\"models\":[");
        for (i = l->a; i < l->b; i++) {
            n = fields(D, li, &D->d[i], f);
            hfe_buf_puts(b, i > l->a ? ",\n{" : "\n{");
            for (k = 0; k < n; k++) {
                hfe_buf_puts(b, k ? "," : "");
                hfe_json_strz(b, f[k].name);
                hfe_buf_puts(b, ":");
                fld_val(b, &f[k], 1);
            }
            hfe_buf_puts(b, "}");
        }
        hfe_buf_puts(b, "],\n\"pick\":{");
        pick_json(b, D, l);
        hfe_buf_puts(b, "}}");
    }
    hfe_buf_puts(b, "],\n\"ranking\":[");
    o = ranking(D);
    for (i = 0; i < D->n_d; i++) {
        const struct drow *d = &D->d[o[i]];

        hfe_buf_puts(b, i ? ",{\"model\":" : "{\"model\":");
        hfe_json_strz(b, D->r.m[d->m].name);
        hfe_buf_puts(b, ",\"lineage\":");
        hfe_json_strz(b, D->r.m[d->root].name);
        hfe_buf_puts(b, ",\"quality\":");
        if (isnan(d->quality))
            hfe_buf_puts(b, "null");
        else
            hfe_buf_printf(b, "%.9g", d->quality);
        hfe_buf_puts(b, "}");
    }
    free(o);
    hfe_buf_puts(b, "]}\n");
    free(f);
}

int hfe_dec_load(struct dec *D, const char *const *runs, size_t n,
                 const struct hfe_decide_opts *o, struct hfe_err *err)
{
    size_t i;
    int rc = 0;

    memset(D, 0, sizeof(*D));
    D->o = o;
    for (i = 0; i < n && !rc; i++)
        rc = hfe_rep_load(&D->r, runs[i], err);
    return rc ? rc : build(D, err);
}

int hfe_decide(const char *const *runs, size_t n_runs,
               const struct hfe_decide_opts *o, struct hfe_buf *out,
               struct hfe_err *err)
{
    struct dec D;
    int rc = hfe_dec_load(&D, runs, n_runs, o, err);

    hfe_buf_add(out, "", 0);
    if (!rc && o->format == HFE_DECIDE_CSV)
        csv(out, &D);
    else if (!rc && o->format == HFE_DECIDE_JSON)
        json(out, &D);
    else if (!rc)
        text_or_md(out, &D, o->format == HFE_DECIDE_MD);
    hfe_dec_free(&D);
    return rc;
}

int hfe_pick(const char *const *runs, size_t n_runs,
             const struct hfe_decide_opts *o, struct hfe_buf *out,
             struct hfe_err *err)
{
    struct dec D;
    int rc = hfe_dec_load(&D, runs, n_runs, o, err);
    size_t li;
    int none = 0;

    hfe_buf_add(out, "", 0);
    if (!rc && o->format == HFE_DECIDE_JSON)
        hfe_buf_puts(out, "[");
    for (li = 0; !rc && li < D.n_l; li++) {
        const struct lin *l = &D.l[li];
        const char *root = D.r.m[D.d[l->a].m].name,
                   *name = l->pick >= 0 ? D.r.m[D.d[l->pick].m].name : NULL;

        if (o->format == HFE_DECIDE_JSON) {
            hfe_buf_puts(out, li ? ",\n{\"lineage\":" : "{\"lineage\":");
            hfe_json_strz(out, root);
            hfe_buf_puts(out, ",");
            pick_json(out, &D, l);
            hfe_buf_puts(out, "}");
        } else {
            hfe_buf_printf(out, "%s\t%s\t%s\n", root, name ? name : "-",
                           l->why.s);
            if (l->out.len)
                hfe_buf_printf(out, "%s\truled out\t%s\n", root, l->out.s);
        }
        none |= !name;
    }
    if (!rc && o->format == HFE_DECIDE_JSON)
        hfe_buf_puts(out, "]\n");
    hfe_dec_free(&D);
    return rc ? rc : none ? HFE_EXIT_FAIL : 0;
}

int hfe_decide_print(const char *run)
{
    struct hfe_decide_opts o = {.format = HFE_DECIDE_TEXT,
                                .pick = HFE_PICK_DEFAULT};
    struct hfe_buf b = {0};
    struct hfe_err err;
    int rc = hfe_decide(&run, 1, &o, &b, &err);

    if (rc)
        fprintf(stderr, "hfeval: %s\n", err.msg);
    else
        fputs(b.s, stdout);
    hfe_buf_free(&b);
    return rc;
}
