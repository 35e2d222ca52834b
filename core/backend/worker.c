/*
 * worker.c - a model evaluated in a child process; see worker.h.
 *
 * The wire (wire.h) carries these messages:
 *   child -> parent   'O' info            the model is open
 *                     'E' status, text    it is not
 *                     'R' index, result   one request is answered
 *                     'D' status          the batch is over
 *                     'M' measure         measurements
 *   parent -> child   'S' requests        a batch
 *                     'm'                 measurements, please
 *                     'Q'                 close the model and exit
 *
 * The child's stdout and stderr go into a pipe that the parent copies to
 * its own stderr line by line, keeping the last lines for the message
 * when the child dies.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hfeval.h"
#include "plugin.h"
#include "wire.h"
#include "worker.h"

double hfe_worker_watchdog_s = 300;

#define N_TAIL 12

/* --- the child ----------------------------------------------------------- */

struct child {
    int fd;
    const struct hfe_batch *b;
    unsigned char *sent;
    struct hfe_wb out;
    int dead; /* the parent is gone */
};

static void child_done(void *ud, size_t i)
{
    struct child *c = ud;

    if (c->dead || c->sent[i])
        return;
    c->sent[i] = 1;
    c->out.n = 0;
    hfe_wb_u32(&c->out, (uint32_t)i);
    hfe_wire_put_res(&c->out, c->b->res[i]);
    if (hfe_wire_send(c->fd, 'R', &c->out))
        c->dead = 1;
}

static void child_batch(struct child *c, const struct hfe_backend *be,
                        struct hfe_model *m, struct hfe_rb *r)
{
    uint32_t n = hfe_rb_u32(r), i;
    struct hfe_request *req, **rp;
    struct hfe_result *res, **sp;
    struct hfe_batch b;
    int rc;

    if (n > r->n / 8)
        r->bad = 1;
    if (r->bad)
        n = 0;
    req = hfe_xcalloc(n + 1, sizeof(*req));
    res = hfe_xcalloc(n + 1, sizeof(*res));
    rp = hfe_xcalloc(n + 1, sizeof(*rp));
    sp = hfe_xcalloc(n + 1, sizeof(*sp));
    c->sent = hfe_xcalloc(n + 1, 1);
    for (i = 0; i < n; i++) {
        hfe_wire_get_req(r, &req[i]);
        HFE_INIT(&res[i]);
        rp[i] = &req[i];
        sp[i] = &res[i];
    }
    memset(&b, 0, sizeof(b));
    HFE_INIT(&b);
    b.n = r->bad ? 0 : n;
    b.req = (const struct hfe_request *const *)rp;
    b.res = sp;
    b.done = child_done;
    b.ud = c;
    c->b = &b;
    rc = r->bad ? HFE_EINVAL : be->submit(m, &b);
    for (i = 0; i < b.n; i++) /* answers the backend did not announce */
        child_done(c, i);
    c->out.n = 0;
    hfe_wb_u32(&c->out, (uint32_t)rc);
    if (!c->dead && hfe_wire_send(c->fd, 'D', &c->out))
        c->dead = 1;
    for (i = 0; i < n; i++) {
        hfe_wire_free_req(&req[i]);
        free(res[i].error);
        free(res[i].text);
        free(res[i].token_logprobs);
        free(res[i].topk_ids);
        free(res[i].topk_logprobs);
    }
    free(req);
    free(res);
    free(rp);
    free(sp);
    free(c->sent);
    c->sent = NULL;
}

static void __attribute__((noreturn))
child_main(int fd, const struct hfe_backend *be, const char *uri,
           const struct hfe_option *opts, size_t n_opts)
{
    struct child c = {.fd = fd};
    struct hfe_model *m = NULL;
    struct hfe_model_info info;
    char err[1024] = "";
    struct hfe_wb in = {0};
    uint32_t type;
    int rc;

    rc = be->open(uri, opts, n_opts, &m, err, sizeof(err));
    if (rc != HFE_OK || !m) {
        hfe_wb_u32(&c.out, (uint32_t)(rc != HFE_OK ? rc : HFE_EBACKEND));
        hfe_wb_str(&c.out, err[0] ? err : "the backend opened nothing");
        hfe_wire_send(fd, 'E', &c.out);
        _exit(0);
    }
    memset(&info, 0, sizeof(info));
    HFE_INIT(&info);
    if (be->info(m, &info) != HFE_OK) {
        memset(&info, 0, sizeof(info));
        HFE_INIT(&info);
    }
    hfe_wire_put_info(&c.out, &info);
    if (hfe_wire_send(fd, 'O', &c.out))
        _exit(1);
    while (!c.dead && hfe_wire_recv(fd, &type, &in) == 0) {
        struct hfe_rb r = {in.s, in.n, 0};

        if (type == 'S') {
            child_batch(&c, be, m, &r);
        } else if (type == 'm') {
            struct hfe_measure ms;

            memset(&ms, 0, sizeof(ms));
            HFE_INIT(&ms);
            c.out.n = 0;
            if (!be->measure || be->measure(m, &ms) != HFE_OK) {
                memset(&ms, 0, sizeof(ms));
                HFE_INIT(&ms);
            }
            hfe_wire_put_measure(&c.out, &ms);
            if (hfe_wire_send(fd, 'M', &c.out))
                break;
        } else {
            break; /* 'Q', or anything else */
        }
    }
    be->close(m);
    _exit(0);
}

/* --- the parent ---------------------------------------------------------- */

struct hfe_worker {
    pid_t pid;
    int fd;     /* the socket                        */
    int log_fd; /* the child's stdout and stderr     */
    char *why;  /* why it failed; NULL while alive   */
    struct hfe_wb in;
    /* the child's last log lines */
    char tail[N_TAIL][256];
    size_t n_tail;
    char partial[1024];
    size_t n_partial;
    /* what it told us */
    struct hfe_model_info info;
    struct hfe_kv *kv;
    struct hfe_measure ms;
    struct hfe_mem *mem;
    struct hfe_kv *stats;
    char **strs; /* strings the above point into   */
    size_t n_strs, cap_strs;
    /* decode rate, for the watchdog */
    double gen_tokens, gen_ms;
    double watchdog_s; /* the floor; 0: hfe_worker_watchdog_s */
};

static const char *keep(struct hfe_worker *w, char *s)
{
    if (!s)
        return NULL;
    if (w->n_strs == w->cap_strs) {
        w->cap_strs = w->cap_strs ? 2 * w->cap_strs : 64;
        w->strs = hfe_xrealloc(w->strs, w->cap_strs * sizeof(*w->strs));
    }
    return w->strs[w->n_strs++] = s;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copies what the child logged to our stderr, whole lines at a time, and
 * keeps the last ones. */
static void pump_log(struct hfe_worker *w)
{
    char buf[4096];
    ssize_t k;

    while ((k = read(w->log_fd, buf, sizeof(buf))) > 0) {
        ssize_t i;

        for (i = 0; i < k; i++) {
            char ch = buf[i];

            if (ch != '\n' && w->n_partial < sizeof(w->partial) - 1) {
                w->partial[w->n_partial++] = ch;
                continue;
            }
            if (ch != '\n')
                continue; /* an endless line: its end is dropped */
            w->partial[w->n_partial] = '\0';
            fprintf(stderr, "%s\n", w->partial);
            snprintf(w->tail[w->n_tail % N_TAIL], sizeof(w->tail[0]), "%.255s",
                     w->partial);
            w->n_tail++;
            w->n_partial = 0;
        }
    }
}

static int telling(const char *line)
{
    static const char *const words[] = {"assert", "error",     "abort",
                                        "fatal",  "terminate", "exception",
                                        "what()"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (strcasestr(line, words[i]))
            return 1;
    return 0;
}

/* The child is gone or must go: reap it and say why. */
static void bury(struct hfe_worker *w, const char *what)
{
    struct hfe_buf b = {0};
    int st = 0;
    size_t i, first;

    if (w->why)
        return;
    if (w->pid > 0) {
        if (what) /* a hang, or the user: it does not get to finish */
            kill(w->pid, SIGKILL);
        while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
            ;
        w->pid = -1;
    }
    pump_log(w);
    if (what)
        hfe_buf_puts(&b, what);
    else if (WIFSIGNALED(st))
        hfe_buf_printf(&b, "the worker was killed by signal %d (%s%s)",
                       WTERMSIG(st), strsignal(WTERMSIG(st)),
                       WTERMSIG(st) == SIGKILL ? "; out of memory?" : "");
    else if (WIFEXITED(st))
        hfe_buf_printf(&b, "the worker exited with status %d", WEXITSTATUS(st));
    else
        hfe_buf_puts(&b, "the worker stopped answering");
    /* its last words: the last line that says what failed, or else the
     * last three */
    for (i = w->n_tail; i > (w->n_tail > N_TAIL ? w->n_tail - N_TAIL : 0); i--)
        if (telling(w->tail[(i - 1) % N_TAIL]))
            break;
    if (i > 0 && i > (w->n_tail > N_TAIL ? w->n_tail - N_TAIL : 0)) {
        hfe_buf_printf(&b, "; it said: %s", w->tail[(i - 1) % N_TAIL]);
    } else {
        first = w->n_tail > 3 ? w->n_tail - 3 : 0;
        if (w->n_tail > first)
            hfe_buf_puts(&b, "; its last words:");
        for (i = first; i < w->n_tail; i++)
            hfe_buf_printf(&b, " | %s", w->tail[i % N_TAIL]);
    }
    w->why = b.s;
}

/* Waits until a message is in, the deadline passes, or the run is
 * cancelled.  Returns 0 with the message in w->in, or -1 (w->why set). */
static int wait_msg(struct hfe_worker *w, uint32_t *type, double timeout_s)
{
    double deadline = now_s() + timeout_s;

    for (;;) {
        struct pollfd pf[2] = {{w->fd, POLLIN, 0}, {w->log_fd, POLLIN, 0}};
        double left = deadline - now_s();
        int k;

        if (hfe_plug_cancel) {
            bury(w, "cancelled: the run was interrupted");
            return -1;
        }
        if (left <= 0) {
            char msg[160];

            snprintf(msg, sizeof(msg),
                     "the worker hung: no answer in %.0f s (the watchdog "
                     "killed it)",
                     timeout_s);
            bury(w, msg);
            return -1;
        }
        k = poll(pf, 2, left > 0.25 ? 250 : (int)(left * 1e3) + 1);
        if (k < 0 && errno != EINTR) {
            bury(w, "poll failed");
            return -1;
        }
        if (k <= 0)
            continue;
        if (pf[1].revents)
            pump_log(w);
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            /* a message is arriving: read it whole (the child writes
             * each at once) */
            if (hfe_wire_recv(w->fd, type, &w->in) == 0)
                return 0;
            bury(w, NULL);
            return -1;
        }
    }
}

static void decode_info(struct hfe_worker *w, struct hfe_rb *r)
{
    struct hfe_model_info *in = &w->info;
    uint64_t i, n;

    memset(in, 0, sizeof(*in));
    HFE_INIT(in);
    in->name = keep(w, hfe_rb_str(r));
    in->architecture = keep(w, hfe_rb_str(r));
    in->quantization = keep(w, hfe_rb_str(r));
    in->chat_template = keep(w, hfe_rb_str(r));
    in->n_params = hfe_rb_u64(r);
    in->file_size = hfe_rb_u64(r);
    in->n_ctx_train = hfe_rb_u32(r);
    in->n_ctx = hfe_rb_u32(r);
    in->n_vocab = hfe_rb_u32(r);
    n = hfe_rb_u64(r);
    if (n > r->n / 12)
        n = 0, r->bad = 1;
    w->kv = hfe_xcalloc(n + 1, sizeof(*w->kv));
    for (i = 0; i < n && !r->bad; i++) {
        w->kv[i].key = keep(w, hfe_rb_str(r));
        w->kv[i].type = keep(w, hfe_rb_str(r));
        w->kv[i].value = keep(w, hfe_rb_str(r));
    }
    in->kv = w->kv;
    in->n_kv = r->bad ? 0 : n;
}

int hfe_worker_open(const struct hfe_backend *be, const char *uri,
                    const struct hfe_option *opts, size_t n_opts,
                    struct hfe_worker **out, char *err, size_t err_size)
{
    struct hfe_worker *w = hfe_xcalloc(1, sizeof(*w));
    int sv[2], lg[2];
    uint32_t type;
    pid_t parent = getpid();

    *out = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, err_size, "socketpair: %s", strerror(errno));
        free(w);
        return HFE_EIO;
    }
    if (pipe2(lg, O_CLOEXEC) != 0) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        free(w);
        return HFE_EIO;
    }
    fflush(NULL);
    w->pid = fork();
    if (w->pid < 0) {
        snprintf(err, err_size, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        close(lg[0]);
        close(lg[1]);
        free(w);
        return HFE_EIO;
    }
    if (w->pid == 0) { /* the child: dies with us, leaves SIGINT to us */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        signal(SIGINT, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        close(sv[0]);
        close(lg[0]);
        dup2(lg[1], 1);
        dup2(lg[1], 2);
        close(lg[1]);
        setvbuf(stderr, NULL, _IOLBF, 0);
        /* ggml's abort attaches gdb for a backtrace: slow, and its lines
         * would crowd out the assertion in the message */
        setenv("GGML_NO_BACKTRACE", "1", 0);
        child_main(sv[1], be, uri, opts, n_opts);
    }
    close(sv[1]);
    close(lg[1]);
    w->fd = sv[0];
    w->log_fd = lg[0];
    fcntl(w->log_fd, F_SETFL, fcntl(w->log_fd, F_GETFL) | O_NONBLOCK);
    if (wait_msg(w, &type,
                 hfe_worker_watchdog_s > 900 ? hfe_worker_watchdog_s : 900) !=
        0) {
        snprintf(err, err_size, "%s", w->why);
        hfe_worker_backend.close((struct hfe_model *)w);
        return HFE_EBACKEND;
    }
    if (type == 'E') {
        struct hfe_rb r = {w->in.s, w->in.n, 0};
        int st = (int)hfe_rb_u32(&r);
        char *msg = hfe_rb_str(&r);

        snprintf(err, err_size, "%s", msg ? msg : "could not open the model");
        free(msg);
        hfe_worker_backend.close((struct hfe_model *)w);
        return st < 0 ? st : HFE_EBACKEND;
    }
    if (type != 'O') {
        snprintf(err, err_size, "the worker answered '%c' to open", type);
        hfe_worker_backend.close((struct hfe_model *)w);
        return HFE_EBACKEND;
    }
    {
        struct hfe_rb r = {w->in.s, w->in.n, 0};

        decode_info(w, &r);
    }
    *out = w;
    return HFE_OK;
}

const char *hfe_worker_why(const struct hfe_worker *w)
{
    return w ? w->why : NULL;
}

/* Every request not answered gets the reason. */
static void fail_rest(struct hfe_worker *w, const struct hfe_batch *b,
                      const unsigned char *got, int status)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (got && got[i])
            continue;
        b->res[i]->status = status;
        free(b->res[i]->error);
        b->res[i]->error = hfe_xstrdup(w->why ? w->why : "the worker failed");
    }
}

void hfe_worker_set_watchdog(struct hfe_worker *w, double seconds)
{
    w->watchdog_s = seconds;
}

static double watchdog(const struct hfe_worker *w, const struct hfe_batch *b)
{
    double t = w->watchdog_s > 0 ? w->watchdog_s : hfe_worker_watchdog_s, rate;
    uint32_t longest = 0;
    size_t i;

    for (i = 0; i < b->n; i++)
        if (b->req[i]->kind == HFE_REQ_GENERATE) {
            uint32_t mt = b->req[i]->max_tokens ? b->req[i]->max_tokens : 256;

            longest = mt > longest ? mt : longest;
        }
    rate = w->gen_ms > 0 ? w->gen_tokens / (w->gen_ms / 1e3) : 0;
    if (longest && rate > 0 && 4.0 * longest / rate + 60 > t)
        t = 4.0 * longest / rate + 60;
    return t;
}

static int w_submit(struct hfe_model *m, const struct hfe_batch *b)
{
    struct hfe_worker *w = (struct hfe_worker *)m;
    struct hfe_wb out = {0};
    unsigned char *got;
    size_t i;
    uint32_t type;
    int rc = HFE_OK;
    double t_wd;

    if (w->why) {
        fail_rest(w, b, NULL, HFE_EBACKEND);
        return HFE_EBACKEND;
    }
    hfe_wb_u32(&out, (uint32_t)b->n);
    for (i = 0; i < b->n; i++)
        hfe_wire_put_req(&out, b->req[i]);
    if (hfe_wire_send(w->fd, 'S', &out) != 0) {
        free(out.s);
        bury(w, NULL);
        fail_rest(w, b, NULL, HFE_EBACKEND);
        return HFE_EBACKEND;
    }
    free(out.s);
    got = hfe_xcalloc(b->n + 1, 1);
    t_wd = watchdog(w, b);
    for (;;) {
        struct hfe_rb r;
        uint32_t idx;

        if (wait_msg(w, &type, t_wd) != 0) {
            rc = hfe_plug_cancel ? HFE_ECANCELED : HFE_EBACKEND;
            fail_rest(w, b, got, rc);
            break;
        }
        r = (struct hfe_rb){w->in.s, w->in.n, 0};
        if (type == 'D') {
            rc = (int)hfe_rb_u32(&r);
            break;
        }
        if (type != 'R' || (idx = hfe_rb_u32(&r)) >= b->n || got[idx]) {
            bury(w, "the worker sent a message out of turn");
            rc = HFE_EBACKEND;
            fail_rest(w, b, got, rc);
            break;
        }
        hfe_wire_get_res(&r, b->res[idx]);
        got[idx] = 1;
        if (r.bad) {
            bury(w, "the worker sent a short result");
            rc = HFE_EBACKEND;
            fail_rest(w, b, got, rc);
            break;
        }
        if (b->req[idx]->kind == HFE_REQ_GENERATE &&
            b->res[idx]->status == HFE_OK) {
            w->gen_tokens += b->res[idx]->n_gen_tokens;
            w->gen_ms +=
                b->res[idx]->t_total_ms - b->res[idx]->t_first_token_ms;
        }
        if (b->done)
            b->done(b->ud, idx);
        t_wd = watchdog(w, b);
    }
    free(got);
    return rc;
}

static int w_measure(struct hfe_model *m, struct hfe_measure *ms)
{
    struct hfe_worker *w = (struct hfe_worker *)m;
    uint32_t type;
    struct hfe_rb r;
    uint64_t i, n;

    if (w->why || hfe_wire_send(w->fd, 'm', NULL) != 0 ||
        wait_msg(w, &type, 60) != 0 || type != 'M')
        return HFE_EBACKEND;
    r = (struct hfe_rb){w->in.s, w->in.n, 0};
    free(w->mem);
    free(w->stats);
    w->mem = NULL;
    w->stats = NULL;
    w->ms.load_ms = hfe_rb_f64(&r);
    w->ms.n_prompt_tokens = hfe_rb_u64(&r);
    w->ms.prompt_ms = hfe_rb_f64(&r);
    w->ms.n_decode_tokens = hfe_rb_u64(&r);
    w->ms.decode_ms = hfe_rb_f64(&r);
    n = hfe_rb_u64(&r);
    if (n > r.n / 16)
        return HFE_EBACKEND;
    w->mem = hfe_xcalloc(n + 1, sizeof(*w->mem));
    for (i = 0; i < n; i++) {
        w->mem[i].kind = keep(w, hfe_rb_str(&r));
        w->mem[i].device = keep(w, hfe_rb_str(&r));
        w->mem[i].bytes = hfe_rb_u64(&r);
    }
    w->ms.n_mem = n;
    n = hfe_rb_u64(&r);
    if (r.bad || n > r.n / 12)
        return HFE_EBACKEND;
    w->stats = hfe_xcalloc(n + 1, sizeof(*w->stats));
    for (i = 0; i < n; i++) {
        w->stats[i].key = keep(w, hfe_rb_str(&r));
        w->stats[i].type = keep(w, hfe_rb_str(&r));
        w->stats[i].value = keep(w, hfe_rb_str(&r));
    }
    if (r.bad)
        return HFE_EBACKEND;
    ms->load_ms = w->ms.load_ms;
    ms->n_prompt_tokens = w->ms.n_prompt_tokens;
    ms->prompt_ms = w->ms.prompt_ms;
    ms->n_decode_tokens = w->ms.n_decode_tokens;
    ms->decode_ms = w->ms.decode_ms;
    ms->n_mem = w->ms.n_mem;
    ms->mem = w->mem;
    if (HFE_HAS_FIELD(ms, struct hfe_measure, stats)) {
        ms->n_stats = n;
        ms->stats = w->stats;
    }
    return HFE_OK;
}

static int w_info(struct hfe_model *m, struct hfe_model_info *info)
{
    struct hfe_worker *w = (struct hfe_worker *)m;
    uint32_t sz = info->struct_size;

    *info = w->info;
    info->struct_size = sz < w->info.struct_size ? sz : w->info.struct_size;
    return HFE_OK;
}

static void w_close(struct hfe_model *m)
{
    struct hfe_worker *w = (struct hfe_worker *)m;
    size_t i;

    if (!w)
        return;
    if (w->pid > 0) {
        double until = now_s() + 30;
        int st;

        hfe_wire_send(w->fd, 'Q', NULL);
        while (waitpid(w->pid, &st, WNOHANG) == 0) {
            if (now_s() > until) {
                kill(w->pid, SIGKILL);
                waitpid(w->pid, &st, 0);
                break;
            }
            pump_log(w);
            usleep(10000);
        }
        pump_log(w);
    }
    close(w->fd);
    close(w->log_fd);
    for (i = 0; i < w->n_strs; i++)
        free(w->strs[i]);
    free(w->strs);
    free(w->kv);
    free(w->mem);
    free(w->stats);
    free(w->in.s);
    free(w->why);
    free(w);
}

static int w_open(const char *uri, const struct hfe_option *opts, size_t n_opts,
                  struct hfe_model **out, char *err, size_t err_size)
{
    (void)uri;
    (void)opts;
    (void)n_opts;
    *out = NULL;
    snprintf(err, err_size, "open a worker with hfe_worker_open");
    return HFE_ENOTSUP;
}

static const char *const no_handles[] = {NULL};

const struct hfe_backend hfe_worker_backend = {
    .abi_major = HFE_ABI_MAJOR,
    .abi_minor = HFE_ABI_MINOR,
    .struct_size = sizeof(struct hfe_backend),
    .name = "worker",
    .version = HFEVAL_VERSION,
    .description = "a backend's model in a child process",
    .handles = no_handles,
    .options = no_handles,
    .open = w_open,
    .close = w_close,
    .info = w_info,
    .submit = w_submit,
    .measure = w_measure,
};
