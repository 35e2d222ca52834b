/*
 * exec.c - a code task's programs in the sandbox (core/score/sandbox.h):
 * each document's reference solution once, for its timeout, then every
 * sample's program.  The programs come from the suite's execute.program
 * and execute.reference (core/suite/call.h).  See score_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "score_int.h"

static void exec_job(const struct hfe_execute *x, struct hfe_sb_job *jb,
                     char *source, double timeout)
{
    memset(jb, 0, sizeof(*jb));
    jb->argv = (const char *const *)x->argv;
    jb->file = x->file;
    jb->source = source;
    jb->source_len = strlen(source);
    jb->lim.timeout_s = timeout;
    jb->lim.mem_bytes = x->memory;
}

void hfe_score_free_jobs(struct hfe_sb_job *jobs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free((char *)jobs[i].source);
        free(jobs[i].output);
    }
    free(jobs);
}

/* Every document's timeout back to the plain one, with no reference
 * status (an earlier try's go). */
static void reset_limits(struct hfe_execute *x, size_t n)
{
    size_t i;

    for (i = 0; x->ref_status && i < n; i++)
        free(x->ref_status[i]);
    free(x->ref_status);
    free(x->limit_s);
    x->limit_s = hfe_xcalloc(n + 1, sizeof(double));
    x->ref_status = hfe_xcalloc(n + 1, sizeof(char *));
    for (i = 0; i < n; i++)
        x->limit_s[i] = x->timeout;
}

/* Each document's program around its reference solution, into jobs. */
static int reference_jobs(struct hfe_job *j, struct hfe_sb_job *jobs)
{
    const struct hfe_task *t = j->t;
    struct hfe_execute *x = t->exec;
    size_t i;
    int rc = 0;

    for (i = 0; i < t->n && rc == 0; i++) {
        char *ref = NULL, *src = NULL;

        if ((rc = hfe_suite_call_exec(j->s, t, &t->items[i], "reference", NULL,
                                      &ref, j->err)) == 0)
            rc = hfe_suite_call_exec(j->s, t, &t->items[i], "program", ref,
                                     &src, j->err);
        free(ref);
        exec_job(x, &jobs[i], src ? src : hfe_xstrdup(""),
                 x->timeout * x->factor * 4);
    }
    return rc;
}

/* How the references ran: each document's status and timeout, logged. */
static void note_references(struct hfe_job *j, const struct hfe_sb_job *jobs)
{
    const struct hfe_task *t = j->t;
    struct hfe_execute *x = t->exec;
    size_t i, bad = 0;
    double lo = 1e300, hi = 0;

    for (i = 0; i < t->n; i++) {
        double lim = x->factor * jobs[i].wall_ms / 1e3;

        x->ref_status[i] = hfe_xstrdup(hfe_sb_status_names[jobs[i].status]);
        if (jobs[i].status != HFE_SB_OK) {
            bad++;
            hfe_log(HFE_LOG_WARN, "sandbox",
                    "task '%s', document %zu: the reference solution fails "
                    "in the sandbox (%s): %.200s",
                    t->name, i, x->ref_status[i], jobs[i].output);
            continue;
        }
        if (lim > x->limit_s[i])
            x->limit_s[i] = lim;
        lo = x->limit_s[i] < lo ? x->limit_s[i] : lo;
        hi = x->limit_s[i] > hi ? x->limit_s[i] : hi;
    }
    hfe_log(HFE_LOG_INFO, "sandbox",
            "task '%s': %zu of %zu reference solutions pass in the "
            "sandbox (%s); timeouts %.1f to %.1f s",
            t->name, t->n - bad, t->n, hfe_sb_isolation(),
            lo < hi ? lo : x->timeout, hi > 0 ? hi : x->timeout);
}

/* Runs each document's reference once, for the timeout rule: max(timeout,
 * factor x the reference's time).  A reference that fails is reported;
 * its document keeps the plain timeout. */
static int measure_references(struct hfe_job *j)
{
    const struct hfe_task *t = j->t;
    struct hfe_execute *x = t->exec;
    struct hfe_sb_job *jobs = hfe_xcalloc(t->n + 1, sizeof(*jobs));
    char why[256];
    int rc = 0;

    reset_limits(x, t->n);
    if (!x->reference) {
        x->measured = 1;
        goto out;
    }
    rc = reference_jobs(j, jobs);
    if (rc == 0 && hfe_sb_run(jobs, t->n, 0, why, sizeof(why)) != 0) {
        hfe_err_set(j->err, "task '%s': the sandbox: %s", t->name, why);
        rc = HFE_EXIT_INTERNAL;
    }
    if (rc == 0)
        note_references(j, jobs);
    x->measured = rc == 0; /* else the next model tries again */
out:
    hfe_score_free_jobs(jobs, t->n);
    return rc;
}

int hfe_score_execute(struct hfe_job *j, const struct hfe_result *res,
                      struct hfe_sb_job **jobs)
{
    const struct hfe_task *t = j->t;
    struct hfe_execute *x = t->exec;
    size_t i, k, ns = t->samples, n = t->n * ns;
    char why[256];
    int rc = 0;

    *jobs = NULL;
    if (!x->measured && (rc = measure_references(j)) != 0)
        return rc;
    *jobs = hfe_xcalloc(n + 1, sizeof(**jobs));
    for (i = 0; i < t->n; i++)
        for (k = 0; k < ns; k++) {
            const char *text = res[i * ns + k].text;
            char *src = NULL;

            if (rc == 0)
                rc = hfe_suite_call_exec(j->s, t, &t->items[i], "program",
                                         text ? text : "", &src, j->err);
            exec_job(x, &(*jobs)[i * ns + k], src ? src : hfe_xstrdup(""),
                     x->limit_s[i]);
        }
    if (rc == 0 && hfe_sb_run(*jobs, n, 0, why, sizeof(why)) != 0) {
        hfe_err_set(j->err, "task '%s': the sandbox: %s", t->name, why);
        rc = HFE_EXIT_INTERNAL;
    }
    if (rc != 0) {
        hfe_score_free_jobs(*jobs, n);
        *jobs = NULL;
    }
    return rc;
}

/* ,"exec":{...} of one document's samples: how each ended, and what the
 * first one that failed wrote (its head). */
void hfe_score_rec_exec(struct hfe_job *j, const struct hfe_sb_job *jb,
                        size_t ns, size_t doc)
{
    const struct hfe_execute *x = j->t->exec;
    size_t k, bad = ns;

    hfe_buf_puts(j->rec, ",\"exec\":{\"sandbox\":");
    hfe_json_str(j->rec, hfe_sb_isolation(), strlen(hfe_sb_isolation()));
    hfe_buf_printf(j->rec,
                   ",\"timeout_s\":%.3f,\"reference\":", x->limit_s[doc]);
    if (x->ref_status && x->ref_status[doc])
        hfe_json_str(j->rec, x->ref_status[doc], strlen(x->ref_status[doc]));
    else
        hfe_buf_puts(j->rec, "null");
    hfe_buf_puts(j->rec, ",\"runs\":[");
    for (k = 0; k < ns; k++) {
        hfe_buf_printf(j->rec, "%s{\"status\":\"%s\",\"code\":%d,\"ms\":%.1f}",
                       k ? "," : "", hfe_sb_status_names[jb[k].status],
                       jb[k].code, jb[k].wall_ms);
        if (bad == ns && jb[k].status != HFE_SB_OK)
            bad = k;
    }
    hfe_buf_puts(j->rec, "]");
    if (bad < ns) {
        size_t len = jb[bad].output_len < 2048 ? jb[bad].output_len : 2048;

        hfe_buf_puts(j->rec, ",\"output\":");
        hfe_json_str(j->rec, jb[bad].output ? jb[bad].output : "", len);
    }
    hfe_buf_puts(j->rec, "}");
}
