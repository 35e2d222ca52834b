/*
 * sandbox.c - programs run contained: namespaces, an unprivileged user id,
 * rlimits, a timeout and an output cap.  See sandbox.h.
 *
 * Three processes a program: the harness; the keeper, which enters the
 * new namespaces, starts the program, enforces its timeout and reports
 * how it ended on a status pipe; the program, PID 1 of its namespace.
 * The keeper dies with the harness and the program with the keeper
 * (PR_SET_PDEATHSIG), and a program's namespace dies with the program, so
 * nothing it starts outlives it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hfeval.h"
#include "sandbox.h"

extern char **environ;

const char *const hfe_sb_status_names[7] = {
    "ok", "exit", "timeout", "signal", "memory", "output", "error"};

/* How a program ended, as the keeper tells it. */
struct report {
    int status, code;
    double wall_ms;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The namespaces a keeper enters: all of them, or none. */
static int enter_namespaces(void)
{
    int flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];
    int fd;

    if (uid == 0)
        return unshare(flags) == 0;
    if (unshare(flags | CLONE_NEWUSER) != 0)
        return 0;
    /* ourselves, mapped to ourselves: no root inside either */
    if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
        (void)!write(fd, "deny", 4);
        close(fd);
    }
    snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
    if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 ||
        write(fd, map, strlen(map)) < 0)
        return 0;
    close(fd);
    snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
    if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 ||
        write(fd, map, strlen(map)) < 0)
        return 0;
    close(fd);
    return 1;
}

/* Every mount read-only, keeping the flags a user namespace may not
 * clear.  Mount points come from mountinfo, octal escapes undone. */
static void readonly_mounts(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char mp[4096], *p = line, *q = mp;
        struct statvfs sv;
        unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY;
        int field;

        for (field = 0; field < 4 && p; field++) /* the 5th is the point */
            if ((p = strchr(p, ' ')))
                p++;
        if (!p)
            continue;
        while (*p && *p != ' ' && q < mp + sizeof(mp) - 1) {
            if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
                *q++ =
                    (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                p += 4;
            } else {
                *q++ = *p++;
            }
        }
        *q = '\0';
        if (statvfs(mp, &sv) != 0)
            continue;
        fl |= (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
              (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
              (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) |
              (sv.f_flag & ST_NOATIME ? MS_NOATIME : 0) |
              (sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0) |
              (sv.f_flag & ST_RELATIME ? MS_RELATIME : 0);
        (void)mount(NULL, mp, NULL, fl, NULL);
    }
    fclose(f);
}

/* Processes the user runs now: RLIMIT_NPROC counts them all. */
static unsigned count_procs(uid_t uid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    unsigned n = 0;

    while (d && (e = readdir(d))) {
        char path[300];
        struct stat st;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s", e->d_name);
        if (stat(path, &st) == 0 && st.st_uid == uid)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static void die_child(const char *what)
{
    dprintf(2, "hfeval sandbox: %s: %s\n", what, strerror(errno));
    _exit(127);
}

/* The namespace's side, before the program: private mounts, every one
 * read-only but a tmpfs on /tmp (and /var/tmp, /dev/shm), a /proc of
 * this PID namespace, and the program's directory.  0 or -1. */
static int prepare_namespace(const char *home)
{
    static const char *const hidden[] = {"/run", "/var/run", "/home", "/root",
                                         "/mnt", "/media",   "/srv",  NULL};
    int i;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    readonly_mounts();
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
              "size=64m,mode=1777") != 0)
        return -1;
    (void)mount("tmpfs", "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
                "size=1m,mode=1777");
    (void)mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                "size=1m,mode=1777");
    /* sockets and secrets of the machine's users: /run holds the
     * sockets of daemons (docker, dbus, systemd), homes hold keys */
    for (i = 0; hidden[i]; i++)
        (void)mount("tmpfs", hidden[i], "tmpfs",
                    MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                    "size=4k,mode=755");
    if (home && *home && home[0] == '/' && strcmp(home, "/"))
        (void)mount("tmpfs", home, "tmpfs",
                    MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                    "size=4k,mode=755");
    /* this namespace's processes only: without it, ours would show */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) != 0)
        return -1;
    return mkdir("/tmp/run", 0700);
}

/* The program: its file, limits, user id, then exec.  Never returns. */
static void program(const struct hfe_sb_job *j, unsigned slot, int ns,
                    const char *dir, unsigned nproc_base)
{
    const struct hfe_sb_limits *l = &j->lim;
    uid_t uid = geteuid() == 0 ? HFE_SB_UID_BASE + slot : geteuid();
    gid_t gid = geteuid() == 0 ? HFE_SB_UID_BASE + slot : getegid();
    char *env[8], path[4096], *argv[34];
    struct rlimit rl;
    int fd, i;

    setsid();
    snprintf(path, sizeof(path), "%s/%s", dir, j->file);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
        write(fd, j->source, j->source_len) != (ssize_t)j->source_len ||
        close(fd) != 0)
        die_child(path);
    if (geteuid() == 0 && (chown(dir, uid, gid) != 0 || chown(path, uid, gid)))
        die_child("chown");
    if (chdir(dir) != 0)
        die_child(dir);

    rl.rlim_cur = (rlim_t)(l->timeout_s + 1); /* SIGXCPU, then SIGKILL */
    rl.rlim_max = rl.rlim_cur + 1;
    setrlimit(RLIMIT_CPU, &rl);
    rl.rlim_cur = rl.rlim_max = l->mem_bytes;
    setrlimit(RLIMIT_AS, &rl);
    rl.rlim_cur = rl.rlim_max = l->file_bytes;
    setrlimit(RLIMIT_FSIZE, &rl);
    rl.rlim_cur = rl.rlim_max = l->nofile;
    setrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max = nproc_base + l->nproc;
    setrlimit(RLIMIT_NPROC, &rl);
    rl.rlim_cur = rl.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &rl);
    /* if memory runs out, this goes first, not the harness */
    if ((fd = open("/proc/self/oom_score_adj", O_WRONLY)) >= 0) {
        (void)!write(fd, "1000", 4);
        close(fd);
    }
    if (geteuid() == 0 &&
        (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
        die_child("dropping to an unprivileged user");
    /* after the id change, which clears it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

    env[0] = "PATH=/usr/bin:/bin";
    env[1] = "LANG=C.UTF-8";
    env[2] = "PYTHONDONTWRITEBYTECODE=1";
    env[3] = "PYTHONHASHSEED=0";
    env[4] = "PYTHONIOENCODING=utf-8";
    env[5] = ns ? "HOME=/tmp/run" : "HOME=/nonexistent";
    env[6] = ns ? "TMPDIR=/tmp/run" : "TMPDIR=.";
    env[7] = NULL;
    for (i = 0; j->argv[i] && i < 32; i++)
        argv[i] = (char *)j->argv[i];
    argv[i++] = (char *)j->file;
    argv[i] = NULL;
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, env);
    } else {
        snprintf(path, sizeof(path), "/usr/bin/%s", argv[0]);
        execve(path, argv, env);
        snprintf(path, sizeof(path), "/bin/%s", argv[0]);
        execve(path, argv, env);
    }
    die_child(argv[0]);
}

/* PID 1 of the namespace: prepares it, starts the program, reaps every
 * orphan until the program ends, and writes its wait status to stfd.  A
 * namespace's init ignores the signals its members send it, so the
 * program cannot kill it; when it exits, the kernel kills the rest.
 * Never returns. */
static void init(const struct hfe_sb_job *j, unsigned slot, int stfd,
                 unsigned nproc_base, const char *home)
{
    pid_t pid, w;
    int st = 0;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* nothing of ours to read through /proc/1: no environment, no
     * dump, no open files */
    prctl(PR_SET_DUMPABLE, 0);
    if (prepare_namespace(home) != 0)
        die_child("preparing the namespace");
    if ((pid = fork()) < 0)
        die_child("fork");
    if (pid == 0)
        program(j, slot, 1, "/tmp/run", nproc_base);
    while ((w = wait(&st)) != pid)
        if (w < 0 && errno != EINTR)
            _exit(127);
    (void)!write(stfd, &st, sizeof(st));
    _exit(0);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

/* The keeper: namespaces, the program, its timeout.  Never returns. */
static void keeper(const struct hfe_sb_job *j, unsigned slot, int outfd,
                   int stfd, const char *dir, int want_ns, pid_t harness)
{
    char home[1024], **ev;

    struct report rep = {HFE_SB_ERROR, 0, 0};
    /* RLIMIT_NPROC counts a user's processes in its user namespace
     * (Linux 5.14+); without one, all of them */
    unsigned nproc_base =
        geteuid() == 0 || want_ns ? 0 : count_procs(geteuid());
    double t0, left;
    sigset_t set;
    pid_t pid;
    int ns, st = 0, ip[2] = {-1, -1}, fd, stop = 0;
    long maxfd;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != harness) /* it died before the line above */
        _exit(1);
    snprintf(home, sizeof(home), "%s", getenv("HOME") ? getenv("HOME") : "");
    /* the harness's secrets stay with the harness: wipe the strings too,
     * which /proc/PID/environ would still show */
    for (ev = environ; ev && *ev; ev++)
        memset(*ev, 0, strlen(*ev));
    clearenv();
    setpgid(0, 0);
    /* the program's stdio: /dev/null in, the pipe out; nothing else */
    if (dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0 ||
        (fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) < 0)
        _exit(1);
    maxfd = sysconf(_SC_OPEN_MAX);
    for (fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); fd++)
        if (fd != stfd)
            close(fd);
    ns = enter_namespaces();
    /* not before: a process that is not dumpable cannot write its own
     * uid_map */
    prctl(PR_SET_DUMPABLE, 0);
    if (ns != want_ns) { /* the probe said otherwise: refuse, not degrade */
        struct report bad = {HFE_SB_ERROR, 0, 0};

        (void)!write(stfd, &bad, sizeof(bad));
        _exit(0);
    }
    if (ns && pipe2(ip, O_CLOEXEC) != 0)
        _exit(1);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM); /* the harness: stop it now */
    sigprocmask(SIG_BLOCK, &set, NULL);
    t0 = now_ms();
    if ((pid = fork()) < 0)
        _exit(1);
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        close(stfd);
        if (ns) {
            close(ip[0]);
            init(j, slot, ip[1], nproc_base, home);
        }
        program(j, slot, 0, dir, nproc_base);
    }
    /* the keeper keeps no end of the output pipe: EOF means done */
    fd = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    if (ns)
        close(ip[1]);
    for (;;) {
        struct timespec ts;

        int sig = 0;

        if (waitpid(pid, &st, WNOHANG) == pid)
            break;
        left = j->lim.timeout_s * 1e3 - (now_ms() - t0);
        if (left <= 0 || stop) {
            /* init: its namespace goes with it, and init is reaped only
             * once every process in it is gone */
            kill(pid, SIGKILL);
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            rep.status = HFE_SB_TIMEOUT;
            break;
        }
        ts.tv_sec = (time_t)(left / 1e3);
        ts.tv_nsec = (long)((left - ts.tv_sec * 1e3) * 1e6);
        sig = sigtimedwait(&set, NULL, &ts);
        stop = sig == SIGTERM;
    }
    rep.wall_ms = now_ms() - t0;
    if (!ns && geteuid() == 0) {
        /* no namespace to take everything down: as the slot's user, kill
         * every process it has (one that left its group too) and remove
         * its directory, so no link it planted can steer a root delete */
        pid_t r = fork();

        if (r == 0) {
            if (setgid(HFE_SB_UID_BASE + slot) != 0 ||
                setuid(HFE_SB_UID_BASE + slot) != 0)
                _exit(1);
            kill(-1, SIGKILL);
            nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
            _exit(0);
        }
        if (r > 0)
            waitpid(r, NULL, 0);
    } else if (!ns) {
        kill(-pid, SIGKILL); /* what it left in its group */
    }
    if (ns && rep.status != HFE_SB_TIMEOUT &&
        read(ip[0], &st, sizeof(st)) != (ssize_t)sizeof(st))
        st = -1; /* init died without a word */
    if (rep.status != HFE_SB_TIMEOUT) {
        if (st == -1) {
            rep.status = HFE_SB_ERROR;
        } else if (WIFEXITED(st)) {
            rep.code = WEXITSTATUS(st);
            rep.status = rep.code ? HFE_SB_EXIT : HFE_SB_OK;
        } else if (WIFSIGNALED(st)) {
            rep.code = WTERMSIG(st);
            rep.status = rep.code == SIGXCPU ? HFE_SB_TIMEOUT : HFE_SB_SIGNAL;
        }
    }
    (void)!write(stfd, &rep, sizeof(rep));
    _exit(0);
}

/* ---- the harness's side ------------------------------------------------- */

static int namespaced(void)
{
    return strstr(hfe_sb_isolation(), "pid,net,mount") != NULL;
}

struct slot {
    pid_t pid; /* the keeper, 0: free */
    int out, st;
    size_t job;
    double deadline;
    int over; /* wrote past its cap */
    char dir[64];
    size_t cap;
};

static void defaults(struct hfe_sb_limits *l)
{
    if (l->timeout_s <= 0)
        l->timeout_s = 10;
    if (!l->mem_bytes)
        l->mem_bytes = 2ull << 30;
    if (!l->file_bytes)
        l->file_bytes = 16u << 20;
    if (!l->nofile)
        l->nofile = 64;
    if (!l->nproc)
        l->nproc = 32;
    if (!l->out_bytes)
        l->out_bytes = 1u << 20;
}

/* A slot with nothing in it. */
static void clear(struct slot *s)
{
    memset(s, 0, sizeof(*s));
    s->out = s->st = -1;
}

static int start(struct slot *s, unsigned idx, struct hfe_sb_job *j, size_t ji)
{
    int out[2] = {-1, -1}, st[2] = {-1, -1}, ns = namespaced();
    pid_t me = getpid();

    clear(s);
    j->output = hfe_xmalloc(1);
    j->output[0] = '\0';
    j->output_len = 0;
    /* without namespaces the program's directory is ours to make */
    if (!ns) {
        snprintf(s->dir, sizeof(s->dir), "/tmp/hfeval-sb-XXXXXX");
        if (!mkdtemp(s->dir)) {
            s->dir[0] = '\0';
            return -1;
        }
    }
    fflush(NULL);
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0 ||
        (s->pid = fork()) < 0) {
        int e = errno;

        close(out[0]), close(out[1]), close(st[0]), close(st[1]);
        if (s->dir[0])
            rmdir(s->dir);
        clear(s);
        errno = e;
        return -1;
    }
    if (s->pid == 0) {
        close(out[0]);
        close(st[0]);
        keeper(j, idx, out[1], st[1], s->dir, ns, me);
    }
    close(out[1]);
    close(st[1]);
    s->out = out[0];
    s->st = st[0];
    fcntl(s->out, F_SETFL, O_NONBLOCK);
    s->job = ji;
    /* the keeper enforces the timeout; this is the backstop */
    s->deadline = now_ms() + j->lim.timeout_s * 1e3 + 2000;
    return 0;
}

/* Reads what the program wrote; past the cap, kills it. */
static void drain(struct slot *s, struct hfe_sb_job *j)
{
    char buf[65536];
    ssize_t n;

    while (s->out >= 0 && (n = read(s->out, buf, sizeof(buf))) != 0) {
        size_t keep;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                close(s->out), s->out = -1;
            return;
        }
        keep = j->output_len + (size_t)n > j->lim.out_bytes
                   ? j->lim.out_bytes - j->output_len
                   : (size_t)n;
        if (keep) {
            j->output = hfe_xrealloc(j->output, j->output_len + keep + 1);
            memcpy(j->output + j->output_len, buf, keep);
            j->output_len += keep;
            j->output[j->output_len] = '\0';
        }
        if (keep < (size_t)n && !s->over) {
            s->over = 1;
            kill(s->pid, SIGTERM); /* the keeper stops it and waits */
        }
    }
    if (s->out >= 0 && n == 0)
        close(s->out), s->out = -1;
}

static void finish(struct slot *s, struct hfe_sb_job *j, int wst)
{
    struct report rep = {HFE_SB_ERROR, 0, 0};
    int got;

    drain(s, j);
    if (s->out >= 0)
        close(s->out);
    if (!(got = read(s->st, &rep, sizeof(rep)) == (ssize_t)sizeof(rep)))
        rep.code = WIFSIGNALED(wst) ? WTERMSIG(wst) : 0;
    close(s->st);
    if (!got)
        rep.status = s->deadline < now_ms() ? HFE_SB_TIMEOUT : HFE_SB_ERROR;
    j->status = rep.status;
    j->code = rep.code;
    j->wall_ms = rep.wall_ms;
    if (s->over) {
        j->status = HFE_SB_OUTPUT;
    } else if ((j->status == HFE_SB_EXIT || j->status == HFE_SB_SIGNAL) &&
               (strstr(j->output, "MemoryError") ||
                strstr(j->output, "Cannot allocate memory") ||
                strstr(j->output, "std::bad_alloc"))) {
        j->status = HFE_SB_MEMORY;
    } else if (j->status == HFE_SB_EXIT && j->code == 127 &&
               strstr(j->output, "hfeval sandbox: ")) {
        j->status = HFE_SB_ERROR;
    }
    /* as root the keeper removed it as the program's user; here only
     * an empty directory is left, or a user's own files */
    if (s->dir[0] && geteuid() != 0)
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (s->dir[0])
        rmdir(s->dir);
    clear(s);
}

int hfe_sb_run(struct hfe_sb_job *jobs, size_t n, unsigned parallel, char *why,
               size_t why_size)
{
    struct slot *slots;
    struct pollfd *pf;
    size_t next = 0, done = 0, i;
    int rc = 0;

    if (!parallel) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);

        parallel = c > 0 ? (unsigned)c : 1;
    }
    if (parallel > n)
        parallel = n ? (unsigned)n : 1;
    /* probed before the first fork of ours */
    if (!namespaced() && geteuid() != 0 && !getenv("HFEVAL_SANDBOX_WEAK")) {
        snprintf(why, why_size,
                 "the kernel refuses namespaces to this user, so model code "
                 "would run as you, with your files and network: run as "
                 "root, allow unprivileged user namespaces, or set "
                 "HFEVAL_SANDBOX_WEAK=1 to accept rlimits alone");
        return -1;
    }
    slots = hfe_xcalloc(parallel, sizeof(*slots));
    pf = hfe_xcalloc(parallel, sizeof(*pf));
    for (i = 0; i < parallel; i++)
        clear(&slots[i]);
    for (i = 0; i < n; i++)
        defaults(&jobs[i].lim);
    while (done < n) {
        unsigned k, np = 0;

        for (k = 0; k < parallel && next < n; k++)
            if (!slots[k].pid) {
                if (start(&slots[k], k, &jobs[next], next) != 0) {
                    snprintf(why, why_size, "cannot start a program: %s",
                             strerror(errno));
                    rc = -1;
                    goto out;
                }
                next++;
            }
        for (k = 0; k < parallel; k++)
            if (slots[k].pid && slots[k].out >= 0) {
                pf[np].fd = slots[k].out;
                pf[np].events = POLLIN;
                np++;
            }
        (void)poll(pf, np, 20);
        for (k = 0; k < parallel; k++) {
            struct slot *s = &slots[k];
            int wst = 0;

            if (!s->pid)
                continue;
            drain(s, &jobs[s->job]);
            if (now_ms() > s->deadline)
                kill(-s->pid, SIGKILL);
            if (waitpid(s->pid, &wst, WNOHANG) == s->pid) {
                finish(s, &jobs[s->job], wst);
                done++;
            }
        }
    }
out:
    for (i = 0; i < parallel; i++)
        if (slots[i].pid) {
            kill(-slots[i].pid, SIGKILL);
            waitpid(slots[i].pid, NULL, 0);
            finish(&slots[i], &jobs[slots[i].job], 0);
        }
    free(slots);
    free(pf);
    return rc;
}

const char *hfe_sb_isolation(void)
{
    static char what[96];
    int p[2], ok = 0, st;
    pid_t pid;

    if (what[0])
        return what;
    if (pipe(p) != 0)
        return "none (cannot probe: no pipe)"; /* not cached: try again */
    if ((pid = fork()) < 0) {
        close(p[0]);
        close(p[1]);
        return "none (cannot probe: no fork)";
    }
    if (pid == 0) {
        char r = (char)enter_namespaces();

        (void)!write(p[1], &r, 1);
        _exit(0);
    }
    close(p[1]);
    {
        char r = 0;

        if (read(p[0], &r, 1) == 1)
            ok = r;
    }
    close(p[0]);
    waitpid(pid, &st, 0);
    snprintf(what, sizeof(what), "%s%s",
             ok ? "pid,net,mount,ipc" : "none (namespaces refused)",
             geteuid() == 0 ? ",uid"
             : ok           ? ",user"
                            : "");
    return what;
}
