/*
 * The task side: code that runs in the cloned process, between clone() and
 * execve(). Order of operations matters and follows PROTOCOL.md:
 *
 *   enter cgroups -> wait for release -> setns(net) -> sethostname
 *   -> sysctls -> mounts -> pivot_root -> chdir -> rlimits -> groups/gid/uid
 *   -> capabilities -> no_new_privs -> (INIT: fork off the init) -> execve
 *
 * Any failure is written as one "step: strerror" message to the CLOEXEC
 * error pipe and the process exits; a successful execve closes the pipe,
 * which is how the parent tells success from failure.
 */
#include "vessel-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define MS_PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int g_err_fd = -1;
static int g_slave = -1; /* TERMINAL: the pty's slave, the task's stdio */

/* With IDMAP: the mounts the parent idmapped, received with the release:
 * [0] the rootfs, then one per bind MOUNT in plan order. */
static int g_trees[VL_MAX_IDMAP_BINDS + 1];
static size_t g_ntrees;

/* Report "<step>: <strerror(errno)>" to the parent and die. errno is
 * captured first because formatting may clobber it. */
__attribute__((noreturn, format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
    int e = errno;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof msg)
        n = sizeof msg - 1;
    snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(e));
    vl_write_all(g_err_fd, msg, strlen(msg));
    _exit(127);
}

static int openat2_in_root(int rootfd, const char *path)
{
    /* RESOLVE_IN_ROOT makes "..", absolute symlinks etc. resolve as if
     * rootfd were "/", so a hostile image cannot point a mount target
     * (e.g. a symlink /etc -> /../../host/etc) outside its rootfs. */
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Resolves path (absolute, inside the rootfs) to an O_PATH fd, creating
 * missing components when hints ask for it. Returns -1/errno on error. */
static int resolve_in_root(int rootfd, const char *path, uint32_t hints)
{
    int fd = openat2_in_root(rootfd, path);
    if (fd >= 0 || errno != ENOENT || !(hints & (VL_HINT_MKDIR | VL_HINT_MKFILE)))
        return fd;

    /* Walk the path prefix by prefix; create what is missing relative to
     * the already safely resolved parent fd. mkdirat/openat(O_EXCL) never
     * follow a symlink in the last component, so creation stays inside. */
    char buf[4096];
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(buf, path);
    int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
    if (cur < 0)
        return -1;
    char *p = buf;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        char *name = p;
        while (*p && *p != '/')
            p++;
        char saved = *p;
        *p = 0;
        int last = 1;
        for (char *q = p + (saved ? 1 : 0); saved && *q; q++)
            if (*q != '/') { last = 0; break; }
        int next = openat2_in_root(rootfd, buf);
        if (next < 0 && errno == ENOENT) {
            int r;
            if (last && (hints & VL_HINT_MKFILE)) {
                r = openat(cur, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                           | O_CLOEXEC, 0644);
                if (r >= 0)
                    close(r);
            } else {
                r = mkdirat(cur, name, 0755);
            }
            if (r < 0 && errno != EEXIST) {
                close(cur);
                return -1;
            }
            next = openat2_in_root(rootfd, buf);
        }
        close(cur);
        if (next < 0)
            return -1;
        cur = next;
        *p = saved;
    }
    return cur;
}

static void fd_path(char *buf, size_t len, int fd)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Changes per-mount flags (ro, nosuid, ...) of a bind mount. A bind mount
 * ignores those flags at creation, hence the separate remount. In a user
 * namespace flags inherited from a more privileged mount are "locked" and
 * a remount that would clear them fails with EPERM; retry keeping them. */
static int remount_bind(const char *path, unsigned long flags)
{
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        return -1;
    static const struct { unsigned long st, ms; } keep[] = {
        { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
        { ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME },
        { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (sv.f_flag & keep[i].st)
            flags |= keep[i].ms;
    errno = EPERM;
    return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

/* Performs one mount record; a bind comes from tree, an idmapped detached
 * mount, when tree >= 0. Returns -1/errno (caller reports). */
static int do_mount_from(int rootfd, const struct vl_mount *m, int tree)
{
    char path[64];
    unsigned long flags = (unsigned long)m->flags;
    unsigned long prop = flags & MS_PROPAGATION;
    int r, fd = resolve_in_root(rootfd, m->target, m->hints);
    if (fd < 0)
        return -1;
    fd_path(path, sizeof path, fd);
    if ((flags & MS_BIND) && tree >= 0)
        r = (int)syscall(SYS_move_mount, tree, "", fd, "",
                         MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    else if (flags & MS_BIND)
        r = mount(m->source, path, NULL, MS_BIND | (flags & MS_REC), NULL);
    else
        r = mount(nz(m->source), path, nz(m->fstype),
                  flags & ~(MS_PROPAGATION | MS_REC), nz(m->data));
    close(fd);
    if (r < 0)
        return -1;

    unsigned long extra = flags & ~(MS_BIND | MS_REC | MS_PROPAGATION);
    if (!((flags & MS_BIND) && extra) && !prop)
        return 0;
    /* The fd above names the directory *under* the new mount; re-resolve
     * to get the mount itself for the follow-up remount/propagation. */
    if ((fd = resolve_in_root(rootfd, m->target, 0)) < 0)
        return -1;
    fd_path(path, sizeof path, fd);
    r = 0;
    if ((flags & MS_BIND) && extra)
        r = remount_bind(path, extra);
    if (r == 0 && prop)
        r = mount(NULL, path, NULL, prop | (flags & MS_REC), NULL);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static int do_mount(int rootfd, const struct vl_mount *m)
{
    return do_mount_from(rootfd, m, -1);
}

static void mount_or_fail(int rootfd, const char *src, const char *target,
                          const char *fstype, unsigned long flags,
                          const char *data, uint32_t hints)
{
    struct vl_mount m = { (char *)src, (char *)target, (char *)fstype,
                          (char *)data, flags, hints };
    if (do_mount(rootfd, &m) < 0)
        fail("mount %s", target);
}

/* The standard /dev: a small tmpfs with bind mounts of host nodes. Bind
 * mounts (not mknod) so this also works inside a user namespace, where
 * mknod is not permitted. */
static void setup_dev(int rootfd)
{
    static const char *nodes[] = { "null", "zero", "full", "random",
                                   "urandom", "tty" };
    static const char *links[][2] = {
        { "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" },
        { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
        { "/proc/self/fd/2", "stderr" },
    };
    char host[64], target[64];

    mount_or_fail(rootfd, "tmpfs", "/dev", "tmpfs",
                  MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
                  VL_HINT_MKDIR);
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        snprintf(host, sizeof host, "/dev/%s", nodes[i]);
        snprintf(target, sizeof target, "/dev/%s", nodes[i]);
        mount_or_fail(rootfd, host, target, "", MS_BIND, "", VL_HINT_MKFILE);
    }
    mount_or_fail(rootfd, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620", VL_HINT_MKDIR);
    mount_or_fail(rootfd, "shm", "/dev/shm", "tmpfs",
                  MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
                  VL_HINT_MKDIR);
    int devfd = resolve_in_root(rootfd, "/dev", 0);
    if (devfd < 0)
        fail("open /dev");
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlinkat(links[i][0], devfd, links[i][1]) < 0)
            fail("symlink /dev/%s", links[i][1]);
    close(devfd);
}

/* Masking: an empty read-only tmpfs over directories, /dev/null over
 * files. Paths absent from the image are simply skipped. */
static void mask_path(int rootfd, const char *target)
{
    char path[64];
    struct stat st;
    int fd = resolve_in_root(rootfd, target, 0);
    if (fd < 0 && errno == ENOENT)
        return;
    if (fd < 0 || fstat(fd, &st) < 0)
        fail("mask %s", target);
    fd_path(path, sizeof path, fd);
    int r = S_ISDIR(st.st_mode)
        ? mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV
                | MS_NOEXEC, NULL)
        : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (r < 0)
        fail("mask %s", target);
    close(fd);
}

/* A read-only path: bound onto itself and remounted read-only, nosuid,
 * nodev and noexec, so the task may read it but not change the host through
 * it (/proc/sys, /proc/sysrq-trigger). Paths absent from the image are
 * skipped, as for masking. */
static void readonly_path(int rootfd, const char *target)
{
    char path[64];
    int fd = resolve_in_root(rootfd, target, 0);
    if (fd < 0 && errno == ENOENT)
        return;
    if (fd < 0)
        fail("read-only %s", target);
    fd_path(path, sizeof path, fd);
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail("read-only %s", target);
    close(fd);
    /* The fd names what lies under the new bind: re-resolve for the mount. */
    if ((fd = resolve_in_root(rootfd, target, 0)) < 0)
        fail("read-only %s", target);
    fd_path(path, sizeof path, fd);
    if (remount_bind(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC) < 0)
        fail("read-only %s", target);
    close(fd);
}

static void setup_rootfs(const struct vl_plan *p)
{
    const char *rootfs = p->rootfs;
    char path[64];

    int rootfd;
    if (p->idmap) {
        /* The idmapped rootfs is attached on top of "/": the only place this
         * task, root of its namespace only, surely reaches (the rootfs path
         * lies under host root's 0700 directories). pivot_root below then
         * swaps the two. */
        rootfd = g_trees[0];
        if (syscall(SYS_move_mount, rootfd, "", AT_FDCWD, "/",
                    MOVE_MOUNT_F_EMPTY_PATH) < 0)
            fail("attach idmapped rootfs");
    } else {
        /* pivot_root needs the new root to be a mount point, hence the bind
         * of the rootfs onto itself (MS_REC keeps mounts already inside it). */
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
            fail("bind rootfs %s", rootfs);
        rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
            fail("open rootfs %s", rootfs);
    }

    if (p->std_fs & VL_STD_PROC)
        mount_or_fail(rootfd, "proc", "/proc", "proc",
                      MS_NOSUID | MS_NODEV | MS_NOEXEC, "", VL_HINT_MKDIR);
    if (p->std_fs & VL_STD_SYS) {
        struct vl_mount sys = { "sysfs", "/sys", "sysfs", "",
                                MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                VL_HINT_MKDIR };
        if (do_mount(rootfd, &sys) < 0) {
            /* sysfs may only be mounted by the owner of the current net
             * namespace: in a user namespace without its own netns we get
             * EPERM, so fall back to a read-only recursive bind of /sys. */
            if (errno != EPERM || !(p->namespaces & VL_NS_USER))
                fail("mount /sys");
            sys.source = "/sys";
            sys.flags |= MS_BIND | MS_REC;
            if (do_mount(rootfd, &sys) < 0)
                fail("mount /sys (bind)");
        }
    }
    if (p->std_fs & VL_STD_DEV)
        setup_dev(rootfd);

    /* The plan's own mounts come after the standard ones so they can
     * override or extend them (e.g. a bigger /dev/shm, /sys/fs/cgroup). */
    size_t bind = 0;
    for (size_t i = 0; i < p->nmounts; i++) {
        int tree = p->idmap && vl_idmapped_bind(&p->mounts[i]) ? g_trees[1 + bind++] : -1;
        if (do_mount_from(rootfd, &p->mounts[i], tree) < 0)
            fail("mount %s", p->mounts[i].target);
        if (tree >= 0)
            close(tree);
    }

    /* Read-only before masked, as runc does: a masked path inside a
     * read-only one still gets its tmpfs or /dev/null on top. */
    for (size_t i = 0; i < p->readonly.n; i++)
        readonly_path(rootfd, p->readonly.v[i]);
    for (size_t i = 0; i < p->masked.n; i++)
        mask_path(rootfd, p->masked.v[i]);

    if (p->std_fs & VL_STD_RO_ROOTFS) {
        fd_path(path, sizeof path, rootfd);
        /* A bind remount sets every per-mount flag: keep those the rootfs
         * has (an overlay rootfs is nodev), adding only read-only. */
        unsigned long keep = 0;
        struct statvfs sv;
        if (statvfs(path, &sv) < 0)
            fail("statvfs rootfs");
        if (sv.f_flag & ST_NOSUID)
            keep |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
            keep |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
            keep |= MS_NOEXEC;
        if (remount_bind(path, MS_RDONLY | keep) < 0)
            fail("remount rootfs read-only");
    }

    /* pivot_root(".", ".") stacks the old root on top of the new one;
     * detaching "." then drops the old root without needing a directory
     * for it inside the image (which may be read-only). */
    if (fchdir(rootfd) < 0)
        fail("chdir %s", rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        fail("umount old root");
    if (chdir("/") < 0)
        fail("chdir /");
    close(rootfd);
}

/* SYSCTL: each through /proc/sys (the host's proc still: a parameter is
 * the writer's namespace's), only in a namespace of the task's own. */
static void write_sysctls(const struct vl_child_ctx *ctx)
{
    const struct vl_plan *p = ctx->plan;
    for (size_t i = 0; i < p->sysctls.n; i++) {
        const char *entry = p->sysctls.v[i];
        const char *value = strchr(entry, '=') + 1;
        char key[VL_MAX_SYSCTL_KEY + 1], path[sizeof "/proc/sys/" + VL_MAX_SYSCTL_KEY];
        snprintf(key, sizeof key, "%.*s", (int)(value - 1 - entry), entry);
        uint32_t ns = vl_sysctl_namespace(key);
        const struct stat *helper = ns == VL_NS_NET ? &ctx->helper_net : &ctx->helper_ipc;
        struct stat own;
        if (stat(ns == VL_NS_NET ? "/proc/self/ns/net" : "/proc/self/ns/ipc", &own) < 0)
            fail("sysctl %s: its namespace", key);
        if (own.st_dev == helper->st_dev && own.st_ino == helper->st_ino) {
            errno = EPERM;
            fail("sysctl %s: the task has no %s namespace of its own", key, vl_ns_name(ns));
        }
        snprintf(path, sizeof path, "/proc/sys/%s", key);
        for (char *c = path + sizeof "/proc/sys/" - 1; *c; c++)
            if (*c == '.')
                *c = '/';
        int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            fail("sysctl %s", key);
        size_t len = strlen(value);
        if (write(fd, value, len) != (ssize_t)len)
            fail("sysctl %s=%s", key, value);
        close(fd);
    }
}

static void set_caps(const struct vl_plan *p, int cap_last)
{
    uint64_t valid = cap_last >= 63 ? ~0ULL : (1ULL << (cap_last + 1)) - 1;
    uint64_t eff = p->caps[VL_CAP_EFFECTIVE] & valid;
    uint64_t prm = p->caps[VL_CAP_PERMITTED] & valid;
    uint64_t inh = p->caps[VL_CAP_INHERITABLE] & valid;
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = {
        { (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
        { (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
    };
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail("capset");
    /* Ambient caps must be in permitted and inheritable, so after capset. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        fail("clear ambient capabilities");
    for (int c = 0; c <= cap_last; c++)
        if ((p->caps[VL_CAP_AMBIENT] >> c) & 1)
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
                fail("raise ambient capability %d", c);
}

static void set_identity(const struct vl_child_ctx *ctx)
{
    const struct vl_plan *p = ctx->plan;

    if (p->has_caps) {
        /* Dropping from the bounding set needs CAP_SETPCAP, which we still
         * hold before the uid switch. */
        for (int c = 0; c <= ctx->cap_last; c++)
            if (!((p->caps[VL_CAP_BOUNDING] >> c) & 1))
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
                    fail("drop bounding capability %d", c);
        /* Keep the permitted set across setuid(non-zero); capset below
         * then trims it to exactly what the plan asks for. */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            fail("prctl(PR_SET_KEEPCAPS)");
    }
    /* Supplementary groups are always reset when the identity changes, so
     * a task never silently keeps the helper's (root's) groups. With
     * setgroups denied (unprivileged user namespace) only an empty list
     * is possible, and the kernel already gave us none. */
    if ((p->has_uid || p->has_gid || p->ngroups)
        && !(ctx->deny_setgroups && p->ngroups == 0))
        if (setgroups(p->ngroups, p->groups) < 0)
            fail("setgroups");
    if (p->has_gid && setresgid(p->gid, p->gid, p->gid) < 0)
        fail("setgid %u", (unsigned)p->gid);
    if (p->has_uid && setresuid(p->uid, p->uid, p->uid) < 0)
        fail("setuid %u", (unsigned)p->uid);
    if (p->has_caps) {
        set_caps(p, ctx->cap_last);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
            fail("prctl(PR_SET_KEEPCAPS)");
    }
}

/* Installs the plan's seccomp filter. With no_new_privs it comes last,
 * just before execve, so the filter need allow nothing of the helper's own
 * setup but execve; without, the kernel wants CAP_SYS_ADMIN for it, so it
 * comes before the identity change (as runc does) and must allow that too. */
static void install_seccomp(const struct vl_plan *p)
{
    if (!p->seccomp_insns)
        return;
    struct sock_fprog prog = {
        .len = p->seccomp_insns,
        .filter = (struct sock_filter *)p->seccomp_program,
    };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog) < 0)
        fail("seccomp");
}

/* execvpe() semantics with the *plan's* PATH (not the helper's), looked up
 * inside the new root. Like execvp, EACCES on one candidate does not stop
 * the search but is what gets reported if nothing else is found. */
__attribute__((noreturn))
static void exec_task(const struct vl_plan *p)
{
    const char *file = p->argv.v[0];
    if (strchr(file, '/')) {
        execve(file, p->argv.v, p->env.v ? p->env.v : (char *[]){ NULL });
        fail("execve %s", file);
    }
    const char *path = DEFAULT_PATH;
    for (size_t i = 0; i < p->env.n; i++)
        if (strncmp(p->env.v[i], "PATH=", 5) == 0)
            path = p->env.v[i] + 5;
    int saw_eacces = 0;
    char full[4096];
    for (const char *d = path;; d++) {
        const char *e = strchrnul(d, ':');
        int dl = (int)(e - d);
        if (snprintf(full, sizeof full, "%.*s/%s", dl, dl ? d : ".", file)
            < (int)sizeof full) {
            execve(full, p->argv.v, p->env.v ? p->env.v : (char *[]){ NULL });
            if (errno == EACCES)
                saw_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR)
                fail("execve %s", full);
        }
        if (!*e)
            break;
        d = e;
    }
    errno = saw_eacces ? EACCES : ENOENT;
    fail("execve %s (searched PATH=%s)", file, path);
}

/* Into the task's cgroups before anything else, so all it does is
 * accounted there; then its cgroup namespace, rooted there. Writing "0"
 * to a v1 "tasks" file moves only the calling thread (here the whole
 * process) and so spares the global threadgroup lock, which a move of a
 * pid takes and which costs an RCU grace period: milliseconds. Tells the
 * helper when done, so whoever learns the pid finds it placed. */
static void enter_cgroups(const struct vl_child_ctx *ctx)
{
    const struct vl_plan *p = ctx->plan;
    for (size_t i = 0; i < p->cgroups.n; i++) {
        int fd = ctx->v1_tasks_fds[i];
        if (fd < 0)
            continue; /* the v2 one: clone3 started us there */
        if (write(fd, "0", 1) != 1)
            fail("cgroup %s", p->cgroups.v[i]);
        close(fd);
    }
    if ((p->namespaces & VL_NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
        fail("unshare cgroup namespace");
    /* Whoever learns the pid finds the task in its joined namespaces too. */
    char err[1024];
    if (vl_join_child(ctx, err, sizeof err) < 0) {
        vl_write_all(g_err_fd, err, strlen(err));
        _exit(127);
    }
    if (write(ctx->sync_fd, "P", 1) != 1)
        _exit(1); /* helper gone */
}

/* Blocks until Java has isolated the child and released it. With IDMAP
 * the release carries the idmapped mounts. */
static void await_release(const struct vl_child_ctx *ctx)
{
    const struct vl_plan *p = ctx->plan;
    char go;
    size_t want = p->idmap ? 1 + vl_bind_count(p) : 0;
    if (vl_recv_fds(ctx->sync_fd, &go, g_trees, VL_MAX_IDMAP_BINDS + 1, &g_ntrees) < 0
        || go != 'G')
        _exit(1); /* helper aborted or died: never run the task */
    if (g_ntrees != want) {
        errno = EPROTO;
        fail("release carried %zu idmapped mounts, not %zu", g_ntrees, want);
    }
}

/* TERMINAL: a pty of the container's own devpts (the /dev made above, or
 * the joined mount namespace's), its master to the helper, its slave kept
 * for the task's stdio. As runc does, the slave belongs to the task's user. */
static void make_pty(const struct vl_child_ctx *ctx)
{
    const struct vl_plan *p = ctx->plan;
    /* "/" is the container's root now; no magic link may lead out of it */
    struct open_how how = {
        .flags = O_RDWR | O_NOCTTY | O_CLOEXEC,
        .resolve = RESOLVE_NO_MAGICLINKS,
    };
    int master = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/ptmx", &how, sizeof how);
    if (master < 0)
        fail("terminal: open /dev/ptmx");
    struct statfs fs;
    if (fstatfs(master, &fs) < 0)
        fail("terminal: statfs /dev/ptmx");
    if (fs.f_type != DEVPTS_SUPER_MAGIC) {
        errno = EINVAL;
        fail("terminal: /dev/ptmx is not on a devpts");
    }
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        fail("terminal: unlock the pty");
    /* the peer of this very master, whatever the container's /dev/pts holds */
    g_slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (g_slave < 0)
        fail("terminal: open the pty's slave");
    struct winsize ws = { .ws_row = p->rows, .ws_col = p->cols };
    if (p->has_winsize && ioctl(master, TIOCSWINSZ, &ws) < 0)
        fail("terminal: window size");
    if ((p->has_uid || p->has_gid)
        && fchown(g_slave, p->has_uid ? p->uid : (uid_t)-1, p->has_gid ? p->gid : (gid_t)-1) < 0)
        fail("terminal: chown the pty");
    if (vl_send_fds(ctx->sync_fd, 'T', &master, 1) < 0)
        _exit(1); /* helper gone */
    close(master);
}

void vl_child_main(const struct vl_child_ctx *ctx)
{
    const struct vl_plan *p = ctx->plan;

    g_err_fd = ctx->err_fd;
    close(ctx->parent_fds[0]);
    close(ctx->parent_fds[1]);
    /* If the helper dies before release, die with it; the setting is
     * cleared by credential changes, so it is armed again before exec. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    enter_cgroups(ctx);

    /* Without a user namespace the setup below needs nothing from Java, so
     * it runs while Java runs the isolators' isolate(pid), and the child
     * waits for the release only before it takes the task's
     * identity. With one, the uid/gid maps the helper writes before the
     * release are needed first. A setup failure before the release reaches
     * Java as the release's answer. */
    bool early_release = p->namespaces & VL_NS_USER;
    if (early_release)
        await_release(ctx);

    if (p->namespaces & VL_NS_USER) {
        /* We still carry the helper's host ids, which are not mapped into
         * the new namespace: files we create (mount points, /dev nodes in
         * our tmpfs) would fail with EOVERFLOW. Become the namespace's
         * root when it is mapped; the capabilities survive because this
         * is a transition *to* root. If 0 is unmapped, stay as we are. */
        if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
            fail("setgid 0 in user namespace");
        if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
            fail("setuid 0 in user namespace");
    }

    if (p->netns_path && !ctx->netns_joined) {
        int fd = open(p->netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fail("open netns %s", p->netns_path);
        if (setns(fd, CLONE_NEWNET) < 0)
            fail("setns %s", p->netns_path);
        close(fd);
    }
    if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
        fail("sethostname");
    write_sysctls(ctx);

    if (p->namespaces & VL_NS_MOUNT) {
        /* Without this, mounts below would propagate back to the host's
         * shared mounts (systemd makes / shared by default). */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            fail("make / rprivate");
        if (p->rootfs)
            setup_rootfs(p);
    }

    const char *cwd = p->cwd ? p->cwd : "/";
    if (chdir(cwd) < 0)
        fail("chdir %s", cwd);
    if (p->terminal)
        make_pty(ctx);

    for (size_t i = 0; i < p->nrlimits; i++) {
        struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
        if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
            fail("setrlimit %u", p->rlimits[i].resource);
    }

    if (!early_release)
        await_release(ctx);

    if (!p->no_new_privs)
        install_seccomp(p);
    set_identity(ctx);
    if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("prctl(PR_SET_NO_NEW_PRIVS)");

    /* stdio: /dev/null or the stdin pipe in, log pipes out; or the pty,
     * the controlling terminal of a session of the task's own. dup2 clears
     * CLOEXEC on 0-2. */
    if (p->terminal) {
        if (setsid() < 0)
            fail("setsid");
        if (dup2(g_slave, 0) < 0 || dup2(g_slave, 1) < 0 || dup2(g_slave, 2) < 0)
            fail("dup2 stdio");
        if (ioctl(0, TIOCSCTTY, 0) < 0)
            fail("terminal: make it the controlling terminal");
    } else if (dup2(ctx->stdin_fd, 0) < 0 || dup2(ctx->stdout_fd, 1) < 0
               || dup2(ctx->stderr_fd, 2) < 0) {
        fail("dup2 stdio");
    }
    /* Nothing else of the helper's (Java's pipes, log files) may
     * leak into the task; CLOEXEC rather than close keeps err_fd usable. */
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        fail("close_range");

    /* The helper ignores SIGPIPE/SIGHUP and blocks SIGCHLD; ignored
     * dispositions and the mask survive execve, so undo them. */
    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        fail("prctl(PR_SET_PDEATHSIG)");
    /* Close the race where the monitor died before PDEATHSIG was re-armed:
     * a pipe whose reader is gone polls POLLERR on the write end. */
    struct pollfd pfd = { ctx->err_fd, POLLOUT, 0 };
    if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR))
        _exit(1);

    if (p->no_new_privs)
        install_seccomp(p);
    /* Last, so the init has exactly the task's confinement and the task
     * nothing of the helper's but its error pipe. */
    if (p->init && vl_init_fork() < 0)
        fail("init: fork");
    if (p->pause)
        vl_pause();
    exec_task(p);
}
