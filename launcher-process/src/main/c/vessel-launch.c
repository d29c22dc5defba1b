/*
 * vessel-launch: entry point and the Java-facing side of the protocol.
 *
 *   stdin  <- plan (binary), then one release byte 'G'
 *   stdout -> "pid <n>" ... "ok" | "error <step>: <message>"  (lines)
 *   stderr -> free-form diagnostics
 *
 * Then the process turns into the task's monitor (monitor.c). See
 * PROTOCOL.md for the full contract.
 */
#include "vessel-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define VL_CLONE_INTO_CGROUP 0x200000000ULL

/* clone3's argument, as far as CLONE_INTO_CGROUP needs it (version 2). */
struct vl_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
             stack_size, tls, set_tid, set_tid_size, cgroup;
};

int vl_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* One control line to Java. Embedded newlines would break the line
 * protocol, so they are flattened. Write errors are ignored on purpose:
 * Java may be gone, and the monitor must carry on regardless. */
__attribute__((format(printf, 1, 2)))
static void reply(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    (void)vl_write_all(1, line, (size_t)n);
}

static int have_effective_cap(int cap)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        return 0;
    return (data[cap / 32].effective >> (cap % 32)) & 1;
}

static int read_cap_last(void)
{
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r > 0)
            return atoi(buf);
    }
    return CAP_LAST_CAP; /* what this binary was compiled against */
}

/* The kernel wants the whole map in a single write(). */
static int write_proc_file(pid_t pid, const char *file, const char *content)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = write(fd, content, strlen(content));
    int e = errno;
    close(fd);
    errno = e;
    return r == (ssize_t)strlen(content) ? 0 : -1;
}

static int write_map(pid_t pid, const char *file, const struct vl_strv *lines)
{
    size_t len = 1;
    for (size_t i = 0; i < lines->n; i++)
        len += strlen(lines->v[i]) + 1;
    char *buf = malloc(len);
    if (!buf)
        return -1;
    buf[0] = 0;
    for (size_t i = 0; i < lines->n; i++) {
        strcat(buf, lines->v[i]);
        strcat(buf, "\n");
    }
    int r = write_proc_file(pid, file, buf);
    free(buf);
    return r;
}

/* Failure after "pid" was sent: the task never ran. Record that in the
 * exit file too, since Java may have died and will look there later. */
static int launch_failed(const char *exit_file, pid_t pid, const char *msg)
{
    char line[2048];
    reply("error %s", msg);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    snprintf(line, sizeof line, "failed %s\n", msg);
    if (vl_write_exit_file(exit_file, line) < 0)
        fprintf(stderr, "vessel-launch: write exit file: %s\n", strerror(errno));
    return 1;
}

/* Opens what placing the child in plan->cgroups takes: for each v1
 * directory its "tasks" file, which the child writes itself into (see
 * child.c); the one v2 directory, if any, for clone3's CLONE_INTO_CGROUP.
 * Fills tasks_fds (-1 for the v2 entry) and *v2_fd (-1 if none). */
static int open_cgroups(const struct vl_plan *plan, int *tasks_fds, int *v2_fd,
                        char *err, size_t errlen)
{
    *v2_fd = -1;
    for (size_t i = 0; i < plan->cgroups.n; i++) {
        const char *dir = plan->cgroups.v[i];
        struct statfs fs;
        tasks_fds[i] = -1;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstatfs(fd, &fs) < 0) {
            snprintf(err, errlen, "cgroup %s: %s", dir, strerror(errno));
            return -1;
        }
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
            if (*v2_fd >= 0) {
                snprintf(err, errlen, "cgroup %s: a second cgroup v2 directory", dir);
                return -1;
            }
            *v2_fd = fd;
            continue;
        }
        if (fs.f_type != CGROUP_SUPER_MAGIC) {
            snprintf(err, errlen, "cgroup %s: not on a cgroup filesystem", dir);
            return -1;
        }
        tasks_fds[i] = openat(fd, "tasks", O_WRONLY | O_CLOEXEC);
        if (tasks_fds[i] < 0) {
            snprintf(err, errlen, "cgroup %s/tasks: %s", dir, strerror(errno));
            return -1;
        }
        close(fd);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct vl_plan plan;
    char err[1024];

    /* A caller may leave us descriptors without close-on-exec (a JVM holds
     * most of its own so: pipes, sockets and files of other containers),
     * which we would keep open as long as the task runs. Only stdin, stdout
     * and stderr are ours. */
    if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {
        fprintf(stderr, "vessel-launch: close_range: %s\n", strerror(errno));
        return 1;
    }
    /* Nor need it start us with clean signals: an empty mask (JVM threads
     * block some) and every disposition at its default, whatever was
     * ignored. SIGKILL and SIGSTOP refuse harmlessly. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);

    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("vessel-launch protocol %d\n", VL_VERSION);
        return 0;
    }
    if (argc != 1) {
        fputs("usage: vessel-launch   (plan on stdin; see PROTOCOL.md)\n", stderr);
        return 2;
    }

    /* Java may die at any time: its pipes going away must not kill us, and
     * a signal to the JVM's process group / session must not reach us. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (setsid() < 0)
        fprintf(stderr, "vessel-launch: setsid: %s (continuing)\n", strerror(errno));
    /* Orphans of the task get reparented to us (not to init), so they
     * are reaped and stay accountable to this task. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        fprintf(stderr, "vessel-launch: subreaper: %s\n", strerror(errno));

    if (vl_read_plan(0, &plan, err, sizeof err) < 0) {
        reply("error plan: %s", err);
        return 2;
    }
    /* Diagnostics from here on are the container's, in its monitor log: a
     * helper may start before its container exists (a spare, waiting for
     * this plan), its stderr /dev/null until now. */
    int early_log = open(plan.monitor_log, O_WRONLY | O_CREAT | O_APPEND
                         | O_CLOEXEC, 0644);
    if (early_log >= 0) {
        dup2(early_log, 2);
        close(early_log);
    }

    /* Checked here (not only in the child) so the common mistake fails
     * before "pid", with a precise message. */
    struct stat st;
    if (plan.rootfs) {
        int e = stat(plan.rootfs, &st) < 0 ? errno
              : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
        if (e) {
            reply("error rootfs %s: %s", plan.rootfs, strerror(e));
            return 1;
        }
    }
    struct vl_log logs[2];
    if (vl_log_open(&logs[0], plan.stdout_log) < 0) {
        reply("error log file %s: %s", plan.stdout_log, strerror(errno));
        return 1;
    }
    if (vl_log_open(&logs[1], plan.stderr_log) < 0) {
        reply("error log file %s: %s", plan.stderr_log, strerror(errno));
        return 1;
    }
    /* Before "pid": whoever learns the pid may attach at once. */
    if (plan.attach_socket) {
        if (vl_stdio_listen(plan.attach_socket) < 0) {
            reply("error attach socket %s: %s", plan.attach_socket, strerror(errno));
            return 1;
        }
        atexit(vl_stdio_remove);
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* sync is a socket pair: the child says "placed" on it, the parent
     * answers with the release (and with TERMINAL the child sends the pty's
     * master back on it). With a terminal the pty is the task's stdio;
     * otherwise its output goes through pipes, and its stdin is /dev/null
     * or, with OPEN_STDIN, a pipe the monitor writes. */
    int sync_p[2], err_p[2], out_p[2] = { -1, -1 }, errout_p[2] = { -1, -1 };
    int in_p[2] = { -1, -1 };
    if (devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_p) < 0
        || pipe2(err_p, O_CLOEXEC) < 0
        || (!plan.terminal && (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(errout_p, O_CLOEXEC) < 0))
        || (plan.open_stdin && !plan.terminal && pipe2(in_p, O_CLOEXEC) < 0)) {
        reply("error setup: %s", strerror(errno));
        return 1;
    }

    struct vl_child_ctx ctx = {
        .plan = &plan, .sync_fd = sync_p[0], .err_fd = err_p[1],
        .stdin_fd = in_p[0] >= 0 ? in_p[0] : devnull,
        .stdout_fd = out_p[1], .stderr_fd = errout_p[1],
        .cap_last = read_cap_last(),
        .parent_fds = { sync_p[1], err_p[0] },
    };
    /* Before any namespace is joined: the ones the task must not share
     * for its SYSCTLs. */
    if (plan.sysctls.n && (stat("/proc/self/ns/net", &ctx.helper_net) < 0
                           || stat("/proc/self/ns/ipc", &ctx.helper_ipc) < 0)) {
        reply("error sysctl: the helper's own namespaces: %s", strerror(errno));
        return 1;
    }
    int v2_cgroup = -1;
    ctx.v1_tasks_fds = calloc(plan.cgroups.n + 1, sizeof(int));
    if (!ctx.v1_tasks_fds
        || open_cgroups(&plan, ctx.v1_tasks_fds, &v2_cgroup, err, sizeof err) < 0) {
        reply("error %s", ctx.v1_tasks_fds ? err : "out of memory");
        return 1;
    }
    /* JOIN_NS: the pid namespace now, so that the clone lands in it; the
     * mount and user ones are the child's (join.c). */
    if (vl_join_parent(&plan, &ctx, err, sizeof err) < 0) {
        reply("error %s", err);
        return 1;
    }
    uint32_t ns = plan.namespaces;
    /* Without CAP_SETGID an unprivileged gid_map write requires setgroups
     * to be denied first (see user_namespaces(7)). */
    ctx.deny_setgroups = (ns & VL_NS_USER) && !have_effective_cap(CAP_SETGID);

    /* A netns owned by the initial user namespace cannot be joined from
     * inside a new user namespace, so in that case join it here, before
     * clone; the child then inherits it. Otherwise the child joins. */
    if (plan.netns_path && (ns & VL_NS_USER)) {
        int fd = open(plan.netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
            reply("error setns %s: %s", plan.netns_path, strerror(errno));
            return 1;
        }
        close(fd);
        ctx.netns_joined = 1;
    }

    /* SIGCHLD is blocked before clone so none can be lost before the
     * signalfd exists; the child unblocks it before exec. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) {
        reply("error signalfd: %s", strerror(errno));
        return 1;
    }

    /* The cgroup namespace is not made here: the child unshares it once it
     * is in its cgroups, so that the namespace is rooted there. */
    uint64_t flags = 0;
    if (ns & VL_NS_MOUNT)  flags |= CLONE_NEWNS;
    if (ns & VL_NS_UTS)    flags |= CLONE_NEWUTS;
    if (ns & VL_NS_IPC)    flags |= CLONE_NEWIPC;
    if (ns & VL_NS_PID)    flags |= CLONE_NEWPID;
    if (ns & VL_NS_NET)    flags |= CLONE_NEWNET;
    if (ns & VL_NS_USER)   flags |= CLONE_NEWUSER;
    /* Raw clone with no new stack behaves like fork() (copy-on-write),
     * which glibc's clone() wrapper cannot do; no threads exist here.
     * clone3 starts the child in a v2 cgroup (CLONE_INTO_CGROUP). */
    pid_t pid;
    if (v2_cgroup >= 0) {
        struct vl_clone_args args = {
            .flags = flags | VL_CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
            .cgroup = (uint64_t)v2_cgroup,
        };
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    } else {
        pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
    }
    if (pid < 0) {
        /* a pid namespace whose first process has ended takes no one more */
        reply("error clone: %s%s", strerror(errno), errno == ENOMEM && plan.njoins
              ? " (has the joined pid namespace ended?)" : "");
        return 1;
    }
    if (pid == 0)
        vl_child_main(&ctx);

    if (v2_cgroup >= 0)
        close(v2_cgroup);
    for (size_t i = 0; i < plan.cgroups.n; i++)
        if (ctx.v1_tasks_fds[i] >= 0)
            close(ctx.v1_tasks_fds[i]);
    if (ctx.join_mount_fd >= 0)
        close(ctx.join_mount_fd);
    if (ctx.join_user_fd >= 0)
        close(ctx.join_user_fd);
    close(sync_p[0]);
    close(err_p[1]);
    if (!plan.terminal) {
        close(out_p[1]);
        close(errout_p[1]);
    }
    if (in_p[0] >= 0)
        close(in_p[0]); /* the task's alone: its end is EPIPE for the monitor */

    if (ns & VL_NS_USER) {
        const char *what = "uid_map";
        int r = write_map(pid, what, &plan.uid_map);
        if (r == 0 && ctx.deny_setgroups)
            r = write_proc_file(pid, what = "setgroups", "deny");
        if (r == 0)
            r = write_map(pid, what = "gid_map", &plan.gid_map);
        if (r < 0) {
            reply("error %s: %s", what, strerror(errno));
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 1;
        }
    }

    /* The task's OOM score, from here: lowering it takes CAP_SYS_RESOURCE in
     * the host's user namespace, which a task in one of its own lacks. Its
     * program and children inherit it; this monitor keeps its own. */
    if (plan.has_oom_score_adj) {
        char score[16];
        snprintf(score, sizeof score, "%d", plan.oom_score_adj);
        if (write_proc_file(pid, "oom_score_adj", score) < 0) {
            reply("error oom_score_adj %d: %s%s", plan.oom_score_adj, strerror(errno), errno == EACCES
                  ? " (lowering it takes CAP_SYS_RESOURCE, which this daemon lacks)" : "");
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 1;
        }
    }

    /* With IDMAP the task's mounts are built now, from its namespace with
     * the maps in place, and travel to it with the release (idmap.c). */
    int *trees = NULL, ntrees = 0;
    if (plan.idmap) {
        trees = calloc(vl_bind_count(&plan) + 1, sizeof(int));
        ntrees = trees ? vl_idmap_trees(&plan, pid, trees, err, sizeof err) : -1;
        if (ntrees < 0) {
            reply("error %s", trees ? err : "out of memory");
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 1;
        }
    }

    /* The child places itself in its v1 cgroups at once and says so:
     * whoever sees "pid" finds it there. EOF means it failed. */
    char placed;
    ssize_t r;
    while ((r = read(sync_p[1], &placed, 1)) < 0 && errno == EINTR)
        ;
    if (r != 1) {
        size_t n = 0;
        while (n < sizeof err - 1 && (r = read(err_p[0], err + n, sizeof err - 1 - n)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                break;
            n += (size_t)r;
        }
        err[n] = 0;
        reply("error %s", n > 0 ? err : "the task died before it was placed in its cgroups");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
    }

    reply("pid %d", (int)pid);

    /* Java now runs the isolators' isolate(pid), then releases us. */
    char go;
    while ((r = read(0, &go, 1)) < 0 && errno == EINTR)
        ;
    if (r != 1 || go != 'G') {
        if (r == 0)
            snprintf(err, sizeof err, "abort: stdin closed before release");
        else if (r < 0)
            snprintf(err, sizeof err, "abort: reading release byte: %s",
                     strerror(errno));
        else
            snprintf(err, sizeof err, "abort: unexpected byte 0x%02x before release",
                     (unsigned char)go);
        return launch_failed(plan.exit_file, pid, err);
    }
    /* Fails when the child already failed its setup (it sets up while Java
     * isolates it): its message is then on the error pipe. */
    bool released = vl_send_fds(sync_p[1], 'G', trees, (size_t)ntrees) == 0;
    /* With TERMINAL the child sends the pty's master once it made it (before
     * or after the release); without it, it fails first (the error pipe
     * says why). */
    int master = -1;
    if (released && plan.terminal) {
        char t = 0;
        size_t nfds = 0;
        if (vl_recv_fds(sync_p[1], &t, &master, 1, &nfds) < 0 || t != 'T' || nfds != 1)
            master = -1;
    }
    close(sync_p[1]);
    for (int i = 0; i < ntrees; i++)
        close(trees[i]); /* the task holds its own copies now */
    free(trees);

    /* The error pipe is CLOEXEC in the child: EOF without data means the
     * execve succeeded (or the task was killed before it; the monitor
     * then records that as the exit status). */
    size_t n = 0;
    while (n < sizeof err - 1) {
        r = read(err_p[0], err + n, sizeof err - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    err[n] = 0;
    close(err_p[0]);
    if (n > 0)
        return launch_failed(plan.exit_file, pid, err);
    if (!released)
        return launch_failed(plan.exit_file, pid, "release: task is gone");
    if (plan.terminal && master < 0)
        return launch_failed(plan.exit_file, pid, "terminal: the task sent no pty");
    reply("ok");

    /* Detach from Java for good: nothing more is said on stdout, stdin is
     * not read again, and late diagnostics go to the plan's MONITOR_LOG so
     * a full or dead stderr pipe can never block the monitor. */
    dup2(devnull, 0);
    dup2(devnull, 1);
    int mlog = open(plan.monitor_log, O_WRONLY | O_CREAT | O_APPEND
                    | O_CLOEXEC, 0644);
    dup2(mlog >= 0 ? mlog : devnull, 2);
    if (mlog >= 0)
        close(mlog);
    close(devnull);

    char line[256];
    /* With a terminal everything the task prints comes from the master. */
    logs[0].pipe_fd = plan.terminal ? master : out_p[0];
    logs[0].frame = VL_FRAME_STDOUT;
    logs[1].pipe_fd = errout_p[0];
    logs[1].frame = VL_FRAME_STDERR;
    int pty = plan.terminal ? dup(master) : -1; /* the log pump closes its own */
    vl_stdio_start(!plan.open_stdin ? -1 : plan.terminal ? pty : in_p[1], pty);
    int status = vl_monitor(pid, sigfd, logs, plan.log_cap, line, sizeof line);
    /* The exit file first: a client that has EXIT finds it. */
    int rc = 0;
    if (vl_write_exit_file(plan.exit_file, line) < 0) {
        fprintf(stderr, "vessel-launch: write exit file: %s\n", strerror(errno));
        rc = 1;
    }
    vl_stdio_finish(status);
    return rc;
}
