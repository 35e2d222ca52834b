/*
 * cmd_run.c - `hfeval run`: the options parsed once into struct
 * hfe_run_opts, then the runner (core/run/run.h).  `run --resume DIR`
 * alone takes the command the run's journal was started with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "journal.h"
#include "run.h"

static int usage(const char *msg, const char *arg)
{
    return hfe_cli_misuse(
        "run",
        "SUITE.lua [SUITE.lua ...] --models LIST [--set "
        "key=value ...] [--limit N] [--shard K/N|slurm|k8s/N] [--out "
        "DIR] [--db PATH] [--html FILE] [--cache DIR | --no-cache] "
        "[--cache-max SIZE] [--gate BASELINE "
        "[--baseline-model NAME] [--max-drop [TASK:]METRIC=D] [--detect E] "
        "[--alpha A] [--beta B] [--block N] [--gate-seed S]]",
        msg, arg);
}

/* The parsed command and what holds its strings. */
struct args {
    struct hfe_run_opts o;
    const char **suites, **keys, **vals;
    char **set; /* the --set arguments, split at '=' */
    size_t n_set;
    char *shard;  /* --shard slurm|k8s/N resolved to K/N, or NULL      */
    char **argv;  /* argv with that K/N in its place, for the journal */
    int shard_at; /* its index there */
    struct hfe_gate_opts gate;
    char *drop;        /* --max-drop's value, split   */
    const char *gated; /* a gate option without --gate */
};

enum opt {
    O_MODELS,
    O_OUT,
    O_DB,
    O_SHARD,
    O_LIMIT,
    O_SKIP_BAD,
    O_RESUME,
    O_WATCHDOG,
    O_SET,
    O_HTML,
    O_CACHE,
    O_NO_CACHE,
    O_CACHE_MAX,
    O_GATE,
    O_BASE_MODEL,
    O_MAX_DROP,
    O_DETECT,
    O_ALPHA,
    O_BETA,
    O_BLOCK,
    O_GATE_SEED
};

static const struct {
    const char *name;
    int has_value;
    enum opt id;
} options[] = {
    {"--models", 1, O_MODELS},
    {"--out", 1, O_OUT},
    {"--db", 1, O_DB},
    {"--shard", 1, O_SHARD},
    {"--limit", 1, O_LIMIT},
    {"--skip-bad-lines", 0, O_SKIP_BAD},
    {"--resume", 1, O_RESUME},
    {"--watchdog", 1, O_WATCHDOG},
    {"--set", 1, O_SET},
    {"--html", 1, O_HTML},
    {"--cache", 1, O_CACHE},
    {"--no-cache", 0, O_NO_CACHE},
    {"--cache-max", 1, O_CACHE_MAX},
    {"--gate", 1, O_GATE},
    {"--baseline-model", 1, O_BASE_MODEL},
    {"--max-drop", 1, O_MAX_DROP},
    {"--detect", 1, O_DETECT},
    {"--alpha", 1, O_ALPHA},
    {"--beta", 1, O_BETA},
    {"--block", 1, O_BLOCK},
    {"--gate-seed", 1, O_GATE_SEED},
};

/* An environment variable's count: 0, or -1 when unset or not one. */
static int env_count(const char *name, unsigned long *out)
{
    const char *v = getenv(name);
    char *end;

    if (!v || *v < '0' || *v > '9')
        return -1;
    *out = strtoul(v, &end, 10);
    return *end ? -1 : 0;
}

/* --shard slurm: this task's place in a job array of consecutive
 * indices, SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 of
 * SLURM_ARRAY_TASK_COUNT; --shard k8s/N: a Kubernetes Indexed Job's
 * JOB_COMPLETION_INDEX (from 0) + 1 of N.  The journal keeps the K/N
 * found, so a resumed shard is the same shard wherever it runs. */
static int shard_env(const char *v, unsigned *k, unsigned *n)
{
    unsigned long id, lo, hi, count;
    char *end;

    if (!strcmp(v, "slurm")) {
        if (env_count("SLURM_ARRAY_TASK_ID", &id) ||
            env_count("SLURM_ARRAY_TASK_MIN", &lo) ||
            env_count("SLURM_ARRAY_TASK_MAX", &hi) ||
            env_count("SLURM_ARRAY_TASK_COUNT", &count))
            return usage("--shard %s: SLURM_ARRAY_TASK_ID, _MIN, _MAX and "
                         "_COUNT are not all set (is this a task of a job "
                         "array, sbatch --array=1-N?)",
                         v);
        if (hi < lo || hi - lo + 1 != count || id < lo || id > hi ||
            count > 1000000)
            return usage("--shard %s needs an array of consecutive indices "
                         "(sbatch --array=1-N); part of one resubmitted is "
                         "not: resume its shard's directory (run --resume "
                         "DIR) or give --shard K/N",
                         v);
        *k = (unsigned)(id - lo + 1);
        *n = (unsigned)count;
        return 0;
    }
    count = strtoul(v + 4, &end, 10);
    if (*end || v[4] < '1' || v[4] > '9' || count > 1000000)
        return usage("--shard k8s/N needs the Job's completions as N, got "
                     "'%s'",
                     v);
    if (env_count("JOB_COMPLETION_INDEX", &id) || id >= count)
        return usage("--shard %s: JOB_COMPLETION_INDEX is not set or not "
                     "below N (is this a pod of an Indexed Job with that "
                     "many completions?)",
                     v);
    *k = (unsigned)(id + 1);
    *n = (unsigned)count;
    return 0;
}

/* A number in (lo, hi) into *x, or the usage error. */
static int number(const char *opt, const char *v, double lo, double hi,
                  double *x)
{
    char *end, msg[256];

    *x = strtod(v, &end);
    if (!*end && end != v && *x > lo && *x < hi)
        return 0;
    snprintf(msg, sizeof(msg),
             "%s needs a number %s %g and below %g, got '%.64s'", opt,
             lo < 0 ? "from" : "above", lo < 0 ? 0 : lo, hi, v);
    return usage("%s", msg);
}

/* A gate's option with its value v. */
static int gate_opt(struct args *a, enum opt id, const char *opt, const char *v)
{
    struct hfe_gate_opts *g = &a->gate;
    unsigned long long u;
    char *end, *eq, *colon;
    double x;

    if (id == O_GATE) {
        g->baseline = v;
        return 0;
    }
    a->gated = opt;
    switch (id) {
    case O_BASE_MODEL:
        g->model = v;
        return 0;
    case O_MAX_DROP:
        free(a->drop);
        a->drop = hfe_xstrdup(v);
        if (!(eq = strrchr(a->drop, '=')) || eq == a->drop)
            return usage("--max-drop needs [TASK:]METRIC=D, got '%s'", v);
        *eq = '\0';
        if ((colon = strchr(a->drop, ':')) != NULL && colon != a->drop) {
            *colon = '\0';
            g->task = a->drop;
            g->metric = colon + 1;
        } else {
            g->task = NULL;
            g->metric = a->drop;
        }
        return number(opt, eq + 1, -1e-300, 1, &g->tol);
    case O_DETECT:
        return number(opt, v, 0, 1, &g->detect);
    case O_ALPHA:
        return number(opt, v, 0, 1, &g->alpha);
    case O_BETA:
        return number(opt, v, 0, 1, &g->beta);
    case O_BLOCK:
        if (number(opt, v, 0, 1e9, &x) || x != (double)(size_t)x)
            return usage("--block needs a count of items, got '%s'", v);
        g->block = (size_t)x;
        return 0;
    default: /* O_GATE_SEED */
        u = strtoull(v, &end, 10);
        if (*end || end == v || *v == '-')
            return usage("--gate-seed needs a whole number, got '%s'", v);
        g->seed = u;
        return 0;
    }
}

/* One option with its value v (NULL for a flag). */
static int set_opt(struct args *a, enum opt id, const char *opt, const char *v)
{
    struct hfe_run_opts *o = &a->o;
    unsigned k, n;
    char tail, *end, *eq;

    switch (id) {
    case O_MODELS:
        o->list_file = v;
        break;
    case O_OUT:
        o->out_dir = v;
        break;
    case O_DB:
        o->db = v;
        break;
    case O_HTML:
        o->html = v;
        break;
    case O_SHARD:
        free(a->shard);
        a->shard = NULL;
        if (!strcmp(v, "slurm") || !strncmp(v, "k8s/", 4)) {
            int rc = shard_env(v, &k, &n);

            if (rc)
                return rc;
            a->shard = hfe_xasprintf("%u/%u", k, n);
            v = a->shard;
        }
        if (sscanf(v, "%u/%u%c", &k, &n, &tail) != 2 || !n || !k || k > n)
            return usage("--shard needs K/N with 1 <= K <= N, slurm or "
                         "k8s/N, got '%s'",
                         v);
        o->sel.shard = k - 1;
        o->sel.shards = n;
        break;
    case O_LIMIT:
        o->sel.limit = strtol(v, &end, 10);
        if (*end || o->sel.limit < 0)
            return usage("--limit needs a count, got '%s'", v);
        break;
    case O_SKIP_BAD:
        o->lo.skip_bad_lines = 1;
        break;
    case O_CACHE:
        o->cache_dir = v;
        break;
    case O_NO_CACHE:
        o->no_cache = 1;
        break;
    case O_CACHE_MAX: {
        double x = strtod(v, &end);
        const char *units = "KMGT", *u = *end ? strchr(units, *end) : NULL;

        if (u && (end[1] == '\0' || !strcmp(end + 1, "iB")))
            x *= (double)(1ull << (10 * (u - units + 1)));
        else if (*end)
            x = -1;
        if (!(x >= 1) || x > 9.2e18)
            return usage("--cache-max needs a size (bytes, or 500M, 10G, "
                         "1TiB), got '%s'",
                         v);
        o->cache_max = (uint64_t)x;
        break;
    }
    case O_RESUME:
        o->resume = v;
        break;
    case O_WATCHDOG:
        o->watchdog = strtod(v, &end);
        if (*end || !(o->watchdog > 0))
            return usage("--watchdog needs seconds, got '%s'", v);
        break;
    case O_SET:
        a->set[a->n_set] = hfe_xstrdup(v);
        eq = strchr(a->set[a->n_set], '=');
        if (!eq || eq == a->set[a->n_set]) {
            free(a->set[a->n_set]);
            a->set[a->n_set] = NULL;
            return usage("--set needs key=value, got '%s'", v);
        }
        *eq = '\0';
        a->keys[a->n_set] = a->set[a->n_set];
        a->vals[a->n_set++] = eq + 1;
        break;
    default:
        return gate_opt(a, id, opt, v);
    }
    return 0;
}

static void args_free(struct args *a)
{
    size_t i;

    for (i = 0; i < a->n_set; i++)
        free(a->set[i]);
    free(a->set);
    free(a->keys);
    free(a->vals);
    free(a->suites);
    free(a->shard);
    free(a->argv);
    free(a->drop);
    memset(a, 0, sizeof(*a));
}

/* argv ("run" first) into a; the strings stay argv's. */
static int parse_args(int argc, char **argv, struct args *a)
{
    size_t n = (size_t)argc, k;
    int i, rc;

    memset(a, 0, sizeof(*a));
    a->suites = hfe_xcalloc(n, sizeof(char *));
    a->keys = hfe_xcalloc(n, sizeof(char *));
    a->vals = hfe_xcalloc(n, sizeof(char *));
    a->set = hfe_xcalloc(n, sizeof(char *));
    a->o.sel = (struct hfe_select){-1, 0, 1};
    a->gate = (struct hfe_gate_opts){
        .detect = 0.05, .alpha = 0.05, .beta = 0.10, .block = 32, .seed = 1};
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];

        for (k = 0; k < sizeof(options) / sizeof(options[0]); k++)
            if (!strcmp(arg, options[k].name) &&
                (!options[k].has_value || i + 1 < argc))
                break;
        if (k < sizeof(options) / sizeof(options[0])) {
            if (options[k].id == O_SHARD && a->shard_at) /* a second */
                a->argv[a->shard_at] = argv[a->shard_at];
            rc = set_opt(a, options[k].id, arg,
                         options[k].has_value ? argv[++i] : NULL);
            if (rc)
                return rc;
            if (options[k].id == O_SHARD && a->shard) {
                if (!a->argv) {
                    a->argv = hfe_xcalloc(n + 1, sizeof(char *));
                    memcpy(a->argv, argv, n * sizeof(char *));
                }
                a->argv[i] = a->shard;
                a->shard_at = i;
            }
        } else if (arg[0] == '-') {
            return usage("unknown option '%s' (or it needs a value)", arg);
        } else {
            a->suites[a->o.n_suites++] = arg;
        }
    }
    a->o.suites = a->suites;
    a->o.lo.set_keys = a->keys;
    a->o.lo.set_values = a->vals;
    a->o.lo.n_set = a->n_set;
    a->o.argc = argc;
    a->o.argv = a->argv ? a->argv : argv;
    if (a->gate.baseline)
        a->o.gate = &a->gate;
    else if (a->gated)
        return usage("%s is an option of the gate: give --gate BASELINE",
                     a->gated);
    if (a->gate.baseline && a->gate.tol + a->gate.detect >= 1)
        return usage("%s", "--max-drop's D and --detect add up to 1 or more: "
                           "no drop of a 0-1 metric is that large");
    return 0;
}

/* `run --resume DIR`: the journal's command, with --resume DIR at its
 * end (where the command had a --resume of its own, ours wins). */
static int resume_argv(const char *dir, int *argc, char ***argv)
{
    struct hfe_err err;
    int jc = 0, rc, i;
    char **jv = NULL;

    if ((rc = hfe_journal_argv(dir, &jc, &jv, &err)) != 0) {
        fprintf(stderr, "hfeval: %s\n", err.msg);
        return rc;
    }
    jv = hfe_xrealloc(jv, ((size_t)jc + 3) * sizeof(*jv));
    jv[jc] = hfe_xstrdup("--resume");
    jv[jc + 1] = hfe_xstrdup(dir);
    jv[jc + 2] = NULL;
    for (i = 1; i < jc; i++)
        if (!strcmp(jv[i], "--resume")) {
            free(jv[i]);
            jv[i] = hfe_xstrdup("--out");
        }
    *argc = jc + 2;
    *argv = jv;
    return 0;
}

int hfe_cmd_run(int argc, char **argv)
{
    struct args a;
    char **jv = NULL;
    int jc = 0, rc;

    rc = parse_args(argc, argv, &a);
    if (!rc && a.o.resume && !a.o.n_suites && !a.o.list_file) {
        char *dir = hfe_xstrdup(a.o.resume);

        args_free(&a);
        rc = resume_argv(dir, &jc, &jv);
        free(dir);
        if (!rc)
            rc = parse_args(jc, jv, &a);
    }
    if (!rc && (!a.o.n_suites || !a.o.list_file))
        rc = usage("%s",
                   !a.o.n_suites ? "name a suite" : "--models LIST is needed");
    if (!rc && a.o.cache_dir && a.o.no_cache)
        rc = usage("%s", "--cache DIR and --no-cache say opposite things");
    if (!rc && !a.o.cache_dir && getenv("HFEVAL_NO_CACHE") &&
        strcmp(getenv("HFEVAL_NO_CACHE"), "") &&
        strcmp(getenv("HFEVAL_NO_CACHE"), "0"))
        a.o.no_cache = 1; /* HFEVAL_NO_CACHE=1: as --no-cache */
    if (!rc)
        rc = hfe_run(&a.o);
    args_free(&a);
    if (jv)
        hfe_journal_argv_free(jc, jv);
    return rc;
}
