/*
 * Idmapped mounts for a task in a user namespace (plan record IDMAP).
 *
 * The task's root is an unprivileged host id, so it can neither reach the
 * rootfs (under 0700 directories of host root) nor see the image's files,
 * owned by host root, as its own. The parent, still host root, therefore
 * builds the task's mounts as detached trees idmapped to the task's user
 * namespace: on-disk uid 0 appears as the namespace's root and what the task
 * writes as its root lands on disk as uid 0, so images and volumes stay
 * unshifted and shared. The trees travel to the child over the sync socket
 * (SCM_RIGHTS) with the release; the child attaches them with move_mount()
 * in its own mount namespace, so nothing is ever mounted on the host and
 * nothing is left to clean up when the task's namespace goes.
 *
 * overlayfs cannot be idmapped itself, but its layers can: with
 * ROOTFS_LOWER the parent mounts a new overlay of idmapped layers (the
 * provisioner mounts none for such a container).
 */
#include "vessel-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int vl_idmapped_bind(const struct vl_mount *m)
{
    return (m->flags & MS_BIND) && !(m->hints & VL_HINT_HOST_NODE);
}

size_t vl_bind_count(const struct vl_plan *plan)
{
    size_t n = 0;
    for (size_t i = 0; i < plan->nmounts; i++)
        if (vl_idmapped_bind(&plan->mounts[i]))
            n++;
    return n;
}

/* A detached copy of path (with its submounts if recursive), idmapped to
 * the user namespace userns. -1/errno on failure. */
static int idmapped_tree(const char *path, int userns, int recursive)
{
    unsigned rec = recursive ? AT_RECURSIVE : 0;
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
    if (fd < 0)
        return -1;
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP,
                               .userns_fd = (uint64_t)userns };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | rec, &attr,
                sizeof attr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The host id that "0 <host> <count>" of a map line gives the namespace's
 * root, or -1 if no line maps 0. */
static long host_root(const struct vl_strv *map)
{
    for (size_t i = 0; i < map->n; i++) {
        unsigned long inside, outside, count;
        if (sscanf(map->v[i], "%lu %lu %lu", &inside, &outside, &count) == 3
            && inside == 0 && count > 0)
            return (long)outside;
    }
    return -1;
}

/* Effective = permitted: setfsuid() away from 0 drops the file-system
 * capabilities from the effective set, and overlay keeps the creds it is
 * created with for its own work (copy-up, whiteouts) on the layers. */
static int raise_effective(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -1;
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    return (int)syscall(SYS_capset, &hdr, data);
}

/* A new overlay of the plan's layers, each idmapped, as a detached mount.
 * It is created with the fsuid and fsgid of the namespace's root: overlay
 * creates its work directories with its creator's ids, which must be
 * mapped through the idmapped upper layer (host root is not). */
static int idmapped_overlay(const struct vl_plan *p, int userns, char *err,
                            size_t errlen)
{
    int fs = -1, upper_tree = -1, upper = -1, work = -1, mnt = -1, e;
    const char *step = "fsopen overlay";
    long uid = host_root(&p->uid_map), gid = host_root(&p->gid_map);
    if (uid < 0 || gid < 0) {
        snprintf(err, errlen, "idmap rootfs: the user namespace maps no root");
        return -1;
    }
    /* upper and work must lie on one mount: idmap their common parent. */
    const char *us = strrchr(p->rootfs_upper, '/'), *ws = strrchr(p->rootfs_work, '/');
    size_t dl = (size_t)(us - p->rootfs_upper);
    if (dl != (size_t)(ws - p->rootfs_work)
        || strncmp(p->rootfs_upper, p->rootfs_work, dl) != 0 || dl == 0) {
        snprintf(err, errlen, "idmap rootfs: upper %s and work %s must share a parent directory",
                 p->rootfs_upper, p->rootfs_work);
        return -1;
    }
    char parent[4096];
    snprintf(parent, sizeof parent, "%.*s", (int)dl, p->rootfs_upper);

    /* Each layer's detached mount must stay open until the overlay is
     * created: closing the last fd of a detached mount dissolves it. */
    size_t nlayers = 0;
    int *layers = calloc(p->rootfs_lower.n, sizeof(int));
    if (!layers)
        goto fail;
    fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        goto fail;
    for (size_t i = 0; i < p->rootfs_lower.n; i++) {
        step = p->rootfs_lower.v[i];
        if ((layers[nlayers] = idmapped_tree(step, userns, 0)) < 0)
            goto fail;
        if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, layers[nlayers++]) < 0)
            goto fail;
    }
    step = parent;
    if ((upper_tree = idmapped_tree(parent, userns, 0)) < 0)
        goto fail;
    step = p->rootfs_upper;
    if ((upper = openat(upper_tree, us + 1, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0
        || syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "upperdir", NULL, upper) < 0)
        goto fail;
    step = p->rootfs_work;
    if ((work = openat(upper_tree, ws + 1, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0
        || syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "workdir", NULL, work) < 0)
        goto fail;

    step = "create overlay";
    setfsgid((gid_t)gid);
    setfsuid((uid_t)uid);
    int r = raise_effective();
    if (r == 0)
        r = (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    e = errno;
    setfsuid(0); /* back to 0: the file-system capabilities return too */
    setfsgid(0);
    errno = e;
    if (r < 0)
        goto fail;
    /* nodev, as the provisioner's own overlay mounts are */
    step = "fsmount overlay";
    mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
    if (mnt < 0)
        goto fail;
    close(fs);
    close(upper_tree);
    close(upper);
    close(work);
    while (nlayers > 0)
        close(layers[--nlayers]);
    free(layers);
    return mnt;
fail:
    e = errno;
    snprintf(err, errlen, "idmap rootfs %s: %s", step, strerror(e));
    while (nlayers > 0)
        close(layers[--nlayers]);
    free(layers);
    if (fs >= 0) close(fs);
    if (upper_tree >= 0) close(upper_tree);
    if (upper >= 0) close(upper);
    if (work >= 0) close(work);
    return -1;
}

int vl_idmap_trees(const struct vl_plan *p, pid_t pid, int *trees, char *err,
                   size_t errlen)
{
    char path[64];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    int userns = open(path, O_RDONLY | O_CLOEXEC);
    if (userns < 0) {
        snprintf(err, errlen, "idmap: open %s: %s", path, strerror(errno));
        return -1;
    }
    if (p->rootfs_lower.n) {
        trees[n] = idmapped_overlay(p, userns, err, errlen);
    } else {
        trees[n] = idmapped_tree(p->rootfs, userns, 1);
        if (trees[n] < 0)
            snprintf(err, errlen, "idmap rootfs %s: %s", p->rootfs, strerror(errno));
    }
    if (trees[n] < 0)
        goto fail;
    n++;
    for (size_t i = 0; i < p->nmounts; i++) {
        const struct vl_mount *m = &p->mounts[i];
        if (!vl_idmapped_bind(m))
            continue;
        trees[n] = idmapped_tree(m->source, userns, (m->flags & MS_REC) != 0);
        if (trees[n] < 0) {
            /* EINVAL: the source's file system cannot be idmapped */
            snprintf(err, errlen, "idmap mount %s (source %s): %s", m->target,
                     m->source, strerror(errno));
            goto fail;
        }
        n++;
    }
    close(userns);
    return (int)n;
fail:
    close(userns);
    while (n > 0)
        close(trees[--n]);
    return -1;
}

int vl_send_fds(int sock, char byte, const int *fds, size_t n)
{
    struct iovec io = { &byte, 1 };
    struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1 };
    char cbuf[CMSG_SPACE(sizeof(int) * (VL_MAX_IDMAP_BINDS + 1))];
    if (n > VL_MAX_IDMAP_BINDS + 1) {
        errno = EINVAL;
        return -1;
    }
    if (n > 0) {
        memset(cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    ssize_t r;
    while ((r = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return r == 1 ? 0 : -1;
}

int vl_recv_fds(int sock, char *byte, int *fds, size_t max, size_t *n)
{
    struct iovec io = { byte, 1 };
    char cbuf[CMSG_SPACE(sizeof(int) * (VL_MAX_IDMAP_BINDS + 1))];
    struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1,
                         .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t r;
    *n = 0;
    while ((r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (r != 1)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (*n < max)
                fds[(*n)++] = fd;
            else
                close(fd);
        }
    }
    return 0;
}
