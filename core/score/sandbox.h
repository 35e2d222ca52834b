/*
 * sandbox.h - running programs a model wrote, contained by the kernel's
 * own means: no Docker, no confirmation flag.
 *
 * Each program runs in a process of its own (the "keeper" stays outside,
 * the program inside):
 *
 *   - new PID, network, mount and IPC namespaces (and a user namespace
 *     when hfeval is not root): the program runs under an init of its
 *     own, PID 1 of the namespace, so when it ends or times out everything
 *     it started dies with the namespace; it has no network but a
 *     loopback that is down; every mount is read-only, /tmp (its working
 *     directory, gone with the namespace), /var/tmp and /dev/shm are
 *     private tmpfs, and /run, /var/run, /home, /root, /mnt, /media, /srv
 *     and $HOME are hidden under empty ones (daemons' sockets, users'
 *     keys); /proc shows only the namespace.  The keeper and init clear
 *     their environment and are not dumpable: nothing of the harness's
 *     is readable through /proc/1.
 *   - as root, an unprivileged user id of its own (one per parallel slot,
 *     HFE_SB_UID_BASE + slot), so RLIMIT_NPROC holds and it can signal
 *     nothing of ours; as another user, its own user id mapped to itself,
 *     in a user namespace where RLIMIT_NPROC counts its processes only.
 *   - rlimits: CPU time, address space, file size, open files, processes,
 *     no core files; an OOM score that makes it the first to go; stdin
 *     from /dev/null; a scrubbed environment; stdout and stderr into one
 *     pipe, capped (past the cap the program is killed); a wall-clock
 *     timeout after which its namespace is killed.
 *
 * Where the kernel refuses namespaces (a container without the
 * privilege): as root, the program still runs with the rlimits, its own
 * session and user id, and after it the slot's user has every process
 * killed and its directory removed; hfe_sb_isolation() says what is
 * missing and results carry it.  As another user hfe_sb_run() refuses,
 * since the code would run as that user, unless HFEVAL_SANDBOX_WEAK=1.
 *
 * Not thread-safe: call from one thread; it forks.
 */
#ifndef HFEVAL_SANDBOX_H
#define HFEVAL_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#define HFE_SB_UID_BASE 0x6ffe0000u

struct hfe_sb_limits {
    double timeout_s;    /* wall clock; 0: 10 s                        */
    uint64_t mem_bytes;  /* address space; 0: 2 GiB                    */
    uint64_t file_bytes; /* largest file it may write; 0: 16 MiB       */
    uint32_t nofile;     /* open files; 0: 64                          */
    uint32_t nproc;      /* processes; 0: 32                           */
    size_t out_bytes;    /* output kept; more kills it; 0: 1 MiB       */
};

enum hfe_sb_status {
    HFE_SB_OK = 0,  /* exited 0                                   */
    HFE_SB_EXIT,    /* exited with another status                 */
    HFE_SB_TIMEOUT, /* ran past its wall-clock timeout            */
    HFE_SB_SIGNAL,  /* killed by a signal (a crash, CPU limit)    */
    HFE_SB_MEMORY,  /* ran out of its address space               */
    HFE_SB_OUTPUT,  /* wrote more than out_bytes                  */
    HFE_SB_ERROR    /* could not be started                       */
};

extern const char *const hfe_sb_status_names[7];

struct hfe_sb_job {
    /* in */
    const char *const *argv; /* argv[0] found on PATH=/usr/bin:/bin; the
                                program file's name is appended          */
    const char *file;        /* the program's file name, in its dir      */
    const char *source;      /* the program                              */
    size_t source_len;
    struct hfe_sb_limits lim;
    /* out */
    enum hfe_sb_status status;
    int code;       /* exit status, or the signal                      */
    double wall_ms; /* from start to exit                              */
    char *output;   /* stdout and stderr, NUL-terminated; caller frees */
    size_t output_len;
};

/* Runs the jobs, at most `parallel` at a time (0: the number of CPUs).
 * Fills each job's out fields; returns 0, or -1 with why when the
 * sandbox itself could not work (fork failed). */
int hfe_sb_run(struct hfe_sb_job *jobs, size_t n, unsigned parallel, char *why,
               size_t why_size);

/* "pid,net,mount,ipc,uid" or what this machine allows of it, probed once
 * (a fork). */
const char *hfe_sb_isolation(void);

#endif /* HFEVAL_SANDBOX_H */
