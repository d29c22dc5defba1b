/*
 * vessel-launch: native launch helper of the Vessel container runtime.
 *
 * Java computes a complete launch plan; this helper only executes it:
 * it clones the task into namespaces, waits to be released (so Java can
 * place the pid into cgroups first), sets up the root filesystem and the
 * credentials, execs the task and then stays behind as its monitor
 * (log pump + exit-status recorder). See PROTOCOL.md for the wire format.
 *
 * Shared declarations of the helper's translation units.
 */
#ifndef VESSEL_LAUNCH_H
#define VESSEL_LAUNCH_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>

#define VL_VERSION 2

/* Namespace bits of the NAMESPACES record (our own numbering, so the Java
 * side does not need to know the kernel's CLONE_* constants). */
#define VL_NS_MOUNT  0x01u
#define VL_NS_UTS    0x02u
#define VL_NS_IPC    0x04u
#define VL_NS_PID    0x08u
#define VL_NS_NET    0x10u
#define VL_NS_CGROUP 0x20u
#define VL_NS_USER   0x40u
#define VL_NS_ALL    0x7fu
#define VL_NS_COUNT  7

/* The namespaces a JOIN_NS may name: one bit each, and their setns types
 * and /proc/<pid>/ns names (join.c). */
struct vl_join {
    uint32_t bit;  /* one VL_NS_* bit */
    char *path;    /* an nsfs file: /proc/<pid>/ns/<name>, or a bind mount of one */
};
const char *vl_ns_name(uint32_t bit);

/* Bits of the STD_FS record. */
#define VL_STD_PROC        0x01u
#define VL_STD_SYS         0x02u
#define VL_STD_DEV         0x04u
#define VL_STD_RO_ROOTFS   0x08u
#define VL_STD_ALL         0x0fu

/* Bits of a MOUNT record's "hints" field. */
#define VL_HINT_MKDIR  0x01u /* create target (and parents) as directory */
#define VL_HINT_MKFILE 0x02u /* create parents and an empty file target */
/* The bind's source is a host device node: bound as it is, never idmapped
 * (devtmpfs cannot be), as the standard /dev nodes are. */
#define VL_HINT_HOST_NODE 0x04u

/* SECCOMP_FILTER: the flags the helper passes on, and the kernel's limit on
 * a classic BPF program (BPF_MAXINSNS). */
#define VL_SECCOMP_FLAGS_ALL 0x7u /* TSYNC | LOG | SPEC_ALLOW */
#define VL_SECCOMP_MAX_INSNS 4096u

/* Indexes into vl_plan.caps (order on the wire). */
enum { VL_CAP_BOUNDING, VL_CAP_EFFECTIVE, VL_CAP_PERMITTED,
       VL_CAP_INHERITABLE, VL_CAP_AMBIENT, VL_CAP_SETS };

/* A growable NULL-terminated string vector (usable directly as argv). */
struct vl_strv {
    char **v;
    size_t n;
};

struct vl_mount {
    char *source, *target, *fstype, *data; /* "" means NULL for mount(2) */
    uint64_t flags;                         /* MS_* bitmask */
    uint32_t hints;                         /* VL_HINT_* */
};

struct vl_rlimit {
    uint32_t resource;
    uint64_t soft, hard;
};

struct vl_plan {
    char *exit_file;   /* required, absolute: where the monitor records the end */
    char *stdout_log;  /* required, absolute: the task's stdout, rotated to "<path>.1" */
    char *stderr_log;  /* required, absolute: the task's stderr, rotated to "<path>.1" */
    char *monitor_log; /* required, absolute: the monitor's stderr once it is detached */
    char *rootfs;      /* optional, absolute; requires VL_NS_MOUNT */
    char *cwd;         /* optional, default "/" */
    char *hostname;    /* optional; requires VL_NS_UTS */
    char *netns_path;  /* optional: join this netns instead of creating */
    struct vl_strv argv, env, uid_map, gid_map, masked, readonly;
    struct vl_strv cgroups; /* directories the task starts in */
    int has_uid, has_gid;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups;
    uint32_t namespaces; /* VL_NS_* */
    uint32_t std_fs;     /* VL_STD_* */
    struct vl_mount *mounts;
    size_t nmounts;
    struct vl_rlimit *rlimits;
    size_t nrlimits;
    int no_new_privs;
    int has_caps;
    uint64_t caps[VL_CAP_SETS];
    uint64_t log_cap; /* 0 = unlimited */
    /* IDMAP: the rootfs and the bind MOUNTs reach the task as mounts the
     * parent idmapped to the task's user namespace (see idmap.c). */
    int idmap;
    struct vl_strv rootfs_lower; /* ROOTFS_LOWER: overlay layers, top first */
    char *rootfs_upper, *rootfs_work; /* ROOTFS_UPPER: the overlay's upper and work dirs */
    /* SECCOMP_FILTER: a struct sock_filter array (8 bytes an instruction,
     * host byte order) and SECCOMP_FILTER_FLAG_* bits; no filter if 0 long */
    void *seccomp_program;
    uint16_t seccomp_insns;
    uint32_t seccomp_flags;
    int init; /* INIT: a tiny init stays pid 1 and execs the task (init.c) */
    /* ATTACH_SOCKET: where the monitor serves the task's stdio (stdio.c) */
    char *attach_socket;
    int open_stdin; /* OPEN_STDIN: stdin is a pipe the monitor writes */
    int terminal;   /* TERMINAL: stdio is a pty of the container's devpts */
    int has_winsize; /* WINSIZE: the pty's first size */
    uint16_t rows, cols;
    /* JOIN_NS: existing namespaces the task enters instead of new ones */
    struct vl_join *joins;
    size_t njoins;
    int pause; /* PAUSE: the task is a pause holding a pod's namespaces (pause.c) */
    /* OOM_SCORE_ADJ: the task's, written by the parent before the release */
    int has_oom_score_adj;
    int oom_score_adj;
    /* SYSCTL: "key=value" entries, written by the child in the task's own
     * network or IPC namespace (child.c) */
    struct vl_strv sysctls;
};

/* Longest SYSCTL key: net.ipv4.conf.<15-byte interface>.<name> fits. */
#define VL_MAX_SYSCTL_KEY 128

/* plan.c: the namespace a SYSCTL key belongs to (VL_NS_NET or VL_NS_IPC),
 * or 0 for one of no namespace the task may own, as runc allows them. */
uint32_t vl_sysctl_namespace(const char *key);

/* sun_path holds 108 bytes with its NUL. */
#define VL_MAX_SOCKET_PATH 107

/* At most this many bind MOUNTs with IDMAP: their mounts travel to the
 * child in one SCM_RIGHTS message (the kernel's SCM_MAX_FD is 253). */
#define VL_MAX_IDMAP_BINDS 250

/* plan.c: read the plan from fd; on failure fill err and return -1. */
int vl_read_plan(int fd, struct vl_plan *plan, char *err, size_t errlen);

/* Everything the task-side code (child.c) needs besides the plan. */
struct vl_child_ctx {
    const struct vl_plan *plan;
    int sync_fd;        /* read end: one byte 'G' = go, EOF = abort */
    int err_fd;         /* CLOEXEC write end: failure message, EOF = exec'd */
    int stdin_fd;       /* host /dev/null, or OPEN_STDIN's pipe */
    int stdout_fd, stderr_fd; /* write ends of the log pipes (-1 with TERMINAL) */
    int deny_setgroups; /* parent wrote "deny" to /proc/<pid>/setgroups */
    int netns_joined;   /* parent already joined netns_path before clone */
    struct stat helper_net, helper_ipc; /* the helper's own namespaces, as it
                           started: a SYSCTL is never written in them */
    int join_mount_fd;  /* JOIN_NS mount and user: the child enters these */
    int join_user_fd;   /* itself (-1 if not joined), see join.c */
    int cap_last;       /* /proc/sys/kernel/cap_last_cap */
    int *v1_tasks_fds;  /* "tasks" of each v1 cgroup in plan->cgroups (-1 for
                           the v2 one, which clone3 placed the child in) */
    int parent_fds[2];  /* parent's pipe ends (sync write, error read): the
                           child must drop its copies, or EOF/POLLERR on
                           them could never signal the parent's death */
};

/* idmap.c. The parent's side: builds the task's idmapped mounts once its
 * user namespace has its maps: trees[0] the rootfs, then one per bind MOUNT
 * in plan order. Returns how many, or -1 with err filled. */
int vl_idmap_trees(const struct vl_plan *plan, pid_t pid, int *trees,
                   char *err, size_t errlen);
/* Sends byte with the n descriptors over a Unix socket (n may be 0). */
int vl_send_fds(int sock, char byte, const int *fds, size_t n);
/* Receives one byte and up to max descriptors; *n says how many came. */
int vl_recv_fds(int sock, char *byte, int *fds, size_t max, size_t *n);
/* Whether a MOUNT gets an idmapped tree with IDMAP: a bind, not of a host
 * device node. */
int vl_idmapped_bind(const struct vl_mount *m);
/* How many of the plan's MOUNTs get an idmapped tree. */
size_t vl_bind_count(const struct vl_plan *plan);

/* join.c. The parent's side, before clone: opens every JOIN_NS file and
 * enters all but the mount and user namespaces (the pid one then holds the
 * task, the others it inherits); the mount and user ones are left open in
 * ctx for the child. Returns -1 with err filled. */
int vl_join_parent(const struct vl_plan *plan, struct vl_child_ctx *ctx,
                   char *err, size_t errlen);
/* The child's side: enters the mount and user namespaces, as nsenter does:
 * the mount one first, then the user one, then the mount one again if it
 * needed the user one. Returns -1 with err filled. */
int vl_join_child(const struct vl_child_ctx *ctx, char *err, size_t errlen);

/* init.c: forks the task off a tiny init, after the task's setup. Returns
 * 0 in the task (which then execs), -1 with errno if the fork failed; the
 * init itself never returns. */
int vl_init_fork(void);

/* pause.c: a pod's task, in place of execve: waits for a signal that ends
 * it, reaping whatever joined its namespaces and ended; never returns. */
void vl_pause(void) __attribute__((noreturn));

/* child.c: runs in the cloned task process; never returns. */
void vl_child_main(const struct vl_child_ctx *ctx) __attribute__((noreturn));

/* stdio.c: the attach socket's server, in the monitor. */
#define VL_STDIO_MAX_CLIENTS 16
#define VL_STDIO_POLLFDS (2 + VL_STDIO_MAX_CLIENTS)
#define VL_FRAME_STDOUT 0x11
#define VL_FRAME_STDERR 0x12
struct pollfd;
/* Listens on path (mode 0600), replacing a socket a killed monitor left;
 * returns the socket, or -1 with errno. */
int vl_stdio_listen(const char *path);
/* Unlinks the socket, if there is one (on every way out of the helper). */
void vl_stdio_remove(void);
/* in_fd: where STDIN frames go (the stdin pipe's write end, or the pty),
 * -1 without OPEN_STDIN; pty: the pty's master for RESIZE, or -1. */
void vl_stdio_start(int in_fd, int pty);
/* Fills VL_STDIO_POLLFDS entries; then hands their revents back. */
void vl_stdio_pollfds(struct pollfd *pfd);
void vl_stdio_events(const struct pollfd *pfd);
/* One chunk of the task's output to every client, as STDOUT or STDERR. */
void vl_stdio_output(int type, const char *data, size_t n);
/* The task has ended (status as a shell says it, -1: unknown): EXIT to
 * every client, a bounded wait for them to take it, then all closed and
 * the socket removed. */
void vl_stdio_finish(int status);

/* monitor.c */
struct vl_log {
    int pipe_fd;        /* read end of the task's stdout/stderr pipe, or the pty */
    int frame;          /* VL_FRAME_STDOUT or VL_FRAME_STDERR, for attached clients */
    int fd;             /* current log file, -1 if it could not be opened */
    uint64_t size;      /* bytes in the current log file */
    const char *path;   /* the plan's STDOUT_LOG or STDERR_LOG */
    char *rotated;      /* path + ".1" */
};
int vl_log_open(struct vl_log *log, const char *path);
int vl_write_exit_file(const char *path, const char *line);
/* Pumps logs (and serves attached clients), reaps children; returns once
 * the task has ended, with the exit-file line for it written to line, and
 * its status as a shell says it (-1 if unknown). */
int vl_monitor(pid_t task, int sigfd, struct vl_log logs[2],
               uint64_t log_cap, char *line, size_t linelen);

/* Small helpers shared by the units (vessel-launch.c). */
int vl_write_all(int fd, const void *buf, size_t len);

#endif
