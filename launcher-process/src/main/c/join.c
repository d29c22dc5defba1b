/*
 * JOIN_NS: the task enters existing namespaces (an exec into a running
 * container, a container of a pod) instead of new ones.
 *
 * Who enters what matters. A pid namespace only takes the children of the
 * process that enters it, so the parent enters it before the clone (the task
 * is then a member, not its pid 1). The parent also enters the uts, ipc, net
 * and cgroup ones: the task inherits them, and the parent is still host root,
 * which a child cloned into a new user namespace no longer is. The mount and
 * user namespaces would change the monitor's own view of the files it writes
 * and its privileges, so the child enters those itself. Every file is opened
 * first, by the parent: a path under /proc/<pid> resolves in the host's /proc
 * only until the mount namespace is entered, and a bad path fails before
 * "pid".
 */
#include "vessel-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
    uint32_t bit;
    const char *name;
    int type;
} namespaces[] = {
    { VL_NS_MOUNT, "mount", CLONE_NEWNS },   { VL_NS_UTS, "uts", CLONE_NEWUTS },
    { VL_NS_IPC, "ipc", CLONE_NEWIPC },      { VL_NS_PID, "pid", CLONE_NEWPID },
    { VL_NS_NET, "net", CLONE_NEWNET },      { VL_NS_CGROUP, "cgroup", CLONE_NEWCGROUP },
    { VL_NS_USER, "user", CLONE_NEWUSER },
};

static int ns_index(uint32_t bit)
{
    for (size_t i = 0; i < sizeof namespaces / sizeof namespaces[0]; i++)
        if (namespaces[i].bit == bit)
            return (int)i;
    return -1;
}

const char *vl_ns_name(uint32_t bit)
{
    int i = ns_index(bit);
    return i < 0 ? "?" : namespaces[i].name;
}

static int ns_type(uint32_t bit)
{
    return namespaces[ns_index(bit)].type;
}

int vl_join_parent(const struct vl_plan *plan, struct vl_child_ctx *ctx,
                   char *err, size_t errlen)
{
    ctx->join_mount_fd = ctx->join_user_fd = -1;
    int fds[VL_NS_COUNT];
    for (size_t i = 0; i < plan->njoins; i++) {
        const struct vl_join *j = &plan->joins[i];
        fds[i] = open(j->path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            snprintf(err, errlen, "join %s %s: %s", vl_ns_name(j->bit), j->path,
                     strerror(errno));
            return -1;
        }
    }
    for (size_t i = 0; i < plan->njoins; i++) {
        const struct vl_join *j = &plan->joins[i];
        if (j->bit == VL_NS_MOUNT) {
            ctx->join_mount_fd = fds[i];
            continue;
        }
        if (j->bit == VL_NS_USER) {
            ctx->join_user_fd = fds[i];
            continue;
        }
        /* EINVAL: the file is no namespace of this type */
        if (setns(fds[i], ns_type(j->bit)) < 0) {
            snprintf(err, errlen, "setns %s %s: %s", vl_ns_name(j->bit), j->path,
                     strerror(errno));
            return -1;
        }
        close(fds[i]);
    }
    return 0;
}

static const char *join_path(const struct vl_plan *plan, uint32_t bit)
{
    for (size_t i = 0; i < plan->njoins; i++)
        if (plan->joins[i].bit == bit)
            return plan->joins[i].path;
    return "?";
}

int vl_join_child(const struct vl_child_ctx *ctx, char *err, size_t errlen)
{
    const struct vl_plan *p = ctx->plan;
    /* Still host root, the child may enter any mount namespace; a user
     * namespace's root may then need it no more. Only when that first try
     * fails does the mount one wait for the user one (nsenter's two passes). */
    int mount_pending = ctx->join_mount_fd >= 0
        && setns(ctx->join_mount_fd, CLONE_NEWNS) < 0;
    if (ctx->join_user_fd >= 0) {
        if (setns(ctx->join_user_fd, CLONE_NEWUSER) < 0) {
            snprintf(err, errlen, "setns user %s: %s", join_path(p, VL_NS_USER),
                     strerror(errno));
            return -1;
        }
        /* As after creating one: the namespace's root, when it has one, so
         * that what the setup makes (a pty) is owned by a mapped id. */
        if ((setresgid(0, 0, 0) < 0 && errno != EINVAL)
            || (setresuid(0, 0, 0) < 0 && errno != EINVAL)) {
            snprintf(err, errlen, "setuid 0 in user namespace: %s", strerror(errno));
            return -1;
        }
    }
    if (mount_pending && setns(ctx->join_mount_fd, CLONE_NEWNS) < 0) {
        snprintf(err, errlen, "setns mount %s: %s", join_path(p, VL_NS_MOUNT),
                 strerror(errno));
        return -1;
    }
    if (ctx->join_mount_fd >= 0)
        close(ctx->join_mount_fd);
    if (ctx->join_user_fd >= 0)
        close(ctx->join_user_fd);
    return 0;
}
