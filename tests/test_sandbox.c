/*
 * test_sandbox.c - the code sandbox against hostile programs.  Each runs
 * as a model's completion would, with a 2 s timeout, and must end as a
 * failure within twice that, leaving the harness and the machine as they
 * were: no process left behind, no file written outside, no connection
 * made, no signal received.  Needs python3.  TAP on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hfeval.h"
#include "sandbox.h"
#include "tap.h"

static const char *const python[] = {"python3", "-I", NULL};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs one program with a 2 s timeout; *ms is the harness's own clock. */
static struct hfe_sb_job run1(const char *src, double *ms)
{
    struct hfe_sb_job j;
    char why[256];
    double t0 = now_ms();

    memset(&j, 0, sizeof(j));
    j.argv = python;
    j.file = "main.py";
    j.source = src;
    j.source_len = strlen(src);
    j.lim.timeout_s = 2;
    if (hfe_sb_run(&j, 1, 1, why, sizeof(why)) != 0)
        printf("# hfe_sb_run: %s\n", why);
    *ms = now_ms() - t0;
    return j;
}

/* Processes still running under a sandbox user id. */
static int leftovers(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        char path[300];
        struct stat st;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s", e->d_name);
        if (stat(path, &st) == 0 && st.st_uid >= HFE_SB_UID_BASE &&
            st.st_uid < HFE_SB_UID_BASE + 4096)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
    signalled = sig;
}

/* A hostile program: a failure, not ours to suffer, within 2 x 2 s. */
static void hostile(const char *what, const char *src, enum hfe_sb_status want)
{
    double ms;
    struct hfe_sb_job j = run1(src, &ms);

    ok(j.status == want, "%s: ends as '%s'", what, hfe_sb_status_names[want]);
    if (j.status != want)
        printf("#   got '%s' (code %d): %.300s\n",
               hfe_sb_status_names[j.status], j.code, j.output ? j.output : "");
    ok(ms < 4000, "%s: within twice its timeout (%.0f ms)", what, ms);
    is_int(leftovers(), 0, "%s: leaves no process behind", what);
    free(j.output);
}

/* What a program can learn of us: our environment through /proc, the
 * sockets under /run, the files of our home. */
static void secrets(void)
{
    double ms;
    struct hfe_sb_job j;
    char src[2048];

    setenv("HFEVAL_TEST_SECRET", "s3cr3t-value", 1);
    snprintf(
        src, sizeof(src),
        "import os, glob\n"
        "seen = []\n"
        "for p in glob.glob('/proc/*/environ'):\n"
        "    try:\n"
        "        if b's3cr3t' in open(p, 'rb').read(): seen.append(p)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('environ', seen)\n"
        "print('run', sorted(os.listdir('/run')))\n"
        "h = '%s'\n"
        "print('home', sorted(os.listdir(h)) if os.path.isdir(h) else [])\n"
        "print('pids', sorted(int(p) for p in os.listdir('/proc') if "
        "p.isdigit()))\n",
        getenv("HOME") ? getenv("HOME") : "/root");
    j = run1(src, &ms);
    like(j.output, "environ []", "no process it sees holds our environment");
    like(j.output, "run []", "/run (daemons' sockets) is empty to it");
    like(j.output, "home []", "our home is empty to it");
    like(j.output, "pids [1, 2]",
         "it sees its init and itself, no other process");
    if (!strstr(j.output, "pids [1, 2]"))
        printf("# %s\n", j.output);
    free(j.output);
}

/* As a user other than root: the same containment through a user
 * namespace, or a refusal where the kernel gives none. */
static int user_mode(void)
{
    struct hfe_sb_job j;
    double ms;
    char why[256];

    printf("# as uid %d: isolation %s\n", (int)geteuid(), hfe_sb_isolation());
    if (!strstr(hfe_sb_isolation(), "pid,net,mount")) {
        memset(&j, 0, sizeof(j));
        j.argv = python;
        j.file = "main.py";
        j.source = "pass\n";
        j.source_len = 5;
        ok(hfe_sb_run(&j, 1, 1, why, sizeof(why)) != 0,
           "no namespaces for this user: the sandbox refuses to run code");
        like(why, "HFEVAL_SANDBOX_WEAK", "and says how to accept less");
        free(j.output);
        return tap_done();
    }
    j = run1("print('hello')\n", &ms);
    ok(j.status == HFE_SB_OK, "in a user namespace: a program runs");
    free(j.output);
    hostile("in a user namespace, a fork bomb",
            "import os\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass\n",
            HFE_SB_TIMEOUT);
    {
        char dir[] = "/tmp/hfeval-um-XXXXXX", src[256], path[300];
        struct stat st;

        if (!mkdtemp(dir))
            printf("# mkdtemp: %s\n", strerror(errno));
        snprintf(src, sizeof(src), "open('%s/escaped', 'w').write('x')\n", dir);
        j = run1(src, &ms);
        ok(j.status == HFE_SB_EXIT,
           "in a user namespace: a write to a directory of ours fails");
        snprintf(path, sizeof(path), "%s/escaped", dir);
        ok(stat(path, &st) != 0, "and nothing is there");
        unlink(path);
        rmdir(dir);
        free(j.output);
    }
    secrets();
    return tap_done();
}

int main(int argc, char **argv)
{
    char src[4096], *tmp = getenv("TMPDIR");
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    struct hfe_sb_job j;
    struct stat st;
    double ms;
    int lfd, cfd;

    if (argc > 1 && !strcmp(argv[1], "user"))
        return user_mode();
    printf("# isolation: %s\n", hfe_sb_isolation());
    ok(strstr(hfe_sb_isolation(), "pid,net,mount") != NULL,
       "the kernel gives PID, network and mount namespaces");
    signal(SIGUSR1, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    /* what a right program does */
    j = run1("print('hello'); import sys; sys.exit(0)\n", &ms);
    ok(j.status == HFE_SB_OK, "a program that exits 0 passes");
    is_str(j.output, "hello\n", "its output is kept");
    free(j.output);
    j = run1("import sys; sys.exit(3)\n", &ms);
    ok(j.status == HFE_SB_EXIT && j.code == 3, "a failing one: exit 3");
    free(j.output);
    j = run1("assert 1 == 2\n", &ms);
    ok(j.status == HFE_SB_EXIT && strstr(j.output, "AssertionError"),
       "a failed assertion, with its traceback");
    free(j.output);
    j = run1("import os; print(sorted(os.environ)); print(os.getcwd());"
             " print(open('main.py').read()[:6])\n",
             &ms);
    like(j.output,
         "['HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', "
         "'PYTHONHASHSEED', 'PYTHONIOENCODING', 'TMPDIR']",
         "a scrubbed environment");
    like(j.output, "import", "it runs in its own directory, beside its file");
    free(j.output);
    j = run1("import sys; print(repr(sys.stdin.read()))\n", &ms);
    is_str(j.output, "''\n", "stdin is /dev/null");
    free(j.output);

    hostile("a fork bomb",
            "import os\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass\n",
            HFE_SB_TIMEOUT);
    hostile("an endless loop", "while True:\n    pass\n", HFE_SB_TIMEOUT);
    hostile("a 10 GB allocation", "x = bytearray(10 * 1024 ** 3)\n",
            HFE_SB_MEMORY);

    /* writes outside its directory: /tmp (its own, private), TMPDIR,
     * $HOME, ours */
    {
        char cwd[256], paths[4][512];
        int k, seen = 0;

        snprintf(paths[0], sizeof(paths[0]), "/tmp/escaped-%d", (int)getpid());
        snprintf(paths[1], sizeof(paths[1]), "%s/escaped-%d",
                 tmp && *tmp ? tmp : "/var/tmp", (int)getpid());
        snprintf(paths[2], sizeof(paths[2]), "%s/escaped-%d",
                 getenv("HOME") ? getenv("HOME") : "/root", (int)getpid());
        snprintf(paths[3], sizeof(paths[3]), "%s/escaped-%d",
                 getcwd(cwd, sizeof(cwd)) ? cwd : ".", (int)getpid());
        snprintf(src, sizeof(src),
                 "import sys\n"
                 "for p in ['%s', '%s', '%s', '%s']:\n"
                 "    try:\n        open(p, 'w').write('x')\n"
                 "    except OSError as e:\n        print(p, e)\n"
                 "sys.exit(1)\n",
                 paths[0], paths[1], paths[2], paths[3]);
        hostile("a write outside its directory", src, HFE_SB_EXIT);
        for (k = 0; k < 4; k++)
            if (stat(paths[k], &st) == 0) {
                printf("#   %s was written\n", paths[k]);
                unlink(paths[k]);
                seen++;
            }
        is_int(seen, 0,
               "a write outside its directory: nothing in /tmp, TMPDIR, "
               "HOME or the working directory");
    }

    /* a connection to a port we listen on */
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        printf("# cannot listen: %s\n", strerror(errno));
    snprintf(src, sizeof(src),
             "import socket\n"
             "socket.create_connection(('127.0.0.1', %d), timeout=1)\n",
             ntohs(a.sin_port));
    hostile("a network connection", src, HFE_SB_EXIT);
    cfd = accept(lfd, NULL, NULL);
    ok(cfd < 0 && errno == EAGAIN, "a network connection: none arrived");
    if (cfd >= 0)
        close(cfd);
    close(lfd);

    /* signals at its parent, at us by our pid, at everything it can */
    snprintf(
        src, sizeof(src),
        "import os, signal\n"
        "for pid in (os.getppid(), %d, -1):\n"
        "    for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL):\n"
        "        try:\n            os.kill(pid, sig)\n"
        "        except OSError:\n            pass\n"
        "raise SystemExit(1)\n",
        (int)getpid());
    hostile("a signal sent to its parent", src, HFE_SB_EXIT);
    is_int(signalled, 0, "a signal sent to its parent: none reached us");

    hostile("1 GB written to stdout",
            "import sys\nchunk = 'x' * 1048576\n"
            "for _ in range(1024):\n    sys.stdout.write(chunk)\n",
            HFE_SB_OUTPUT);

    secrets();

    /* and several at once, up to the cores */
    {
        struct hfe_sb_job v[6];
        char why[256];
        int i, good = 0;

        memset(v, 0, sizeof(v));
        for (i = 0; i < 6; i++) {
            v[i].argv = python;
            v[i].file = "main.py";
            v[i].source = i % 2 ? "import sys; sys.exit(1)\n" : "pass\n";
            v[i].source_len = strlen(v[i].source);
        }
        ok(hfe_sb_run(v, 6, 2, why, sizeof(why)) == 0,
           "six programs, two at a time");
        for (i = 0; i < 6; i++) {
            good += v[i].status == (i % 2 ? HFE_SB_EXIT : HFE_SB_OK);
            free(v[i].output);
        }
        is_int(good, 6, "each one's own result");
    }
    return tap_done();
}
