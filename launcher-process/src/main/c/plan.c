/*
 * Decoding and validation of the binary launch plan (see PROTOCOL.md).
 *
 * The format is deliberately dumb: a fixed header carrying the body length,
 * then tag/length/value records, all little-endian. That keeps the Java
 * encoder a handful of ByteBuffer.put* calls and keeps this decoder small
 * enough to audit. Everything is validated here, before clone(), so that
 * a malformed plan fails as "error plan: ..." and never half-launches.
 */
#include "vessel-launch.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#define PLAN_MAGIC "VSLP"
#define PLAN_HEADER_LEN 12
#define PLAN_MAX_BODY (16u << 20) /* a plan is small; refuse absurd sizes */

enum {
    T_RETIRED_RUN_DIR = 0x01, /* version 1's; its files are named one by one now */
    T_ROOTFS = 0x02, T_ARG = 0x03, T_ENV = 0x04,
    T_CWD = 0x05, T_UID = 0x06, T_GID = 0x07, T_SUPP_GID = 0x08,
    T_HOSTNAME = 0x09, T_NAMESPACES = 0x0a, T_UID_MAP = 0x0b,
    T_GID_MAP = 0x0c, T_NETNS_PATH = 0x0d, T_MOUNT = 0x0e, T_STD_FS = 0x0f,
    T_MASKED_PATH = 0x10, T_RLIMIT = 0x11, T_NO_NEW_PRIVS = 0x12,
    T_CAPS = 0x13, T_LOG_CAP = 0x14, T_CGROUP = 0x15, T_EXIT_FILE = 0x16,
    T_STDOUT_LOG = 0x17, T_STDERR_LOG = 0x18, T_MONITOR_LOG = 0x19,
    T_READONLY_PATH = 0x1a, T_SECCOMP_FILTER = 0x1b,
    T_IDMAP = 0x1c, T_ROOTFS_LOWER = 0x1d, T_ROOTFS_UPPER = 0x1e,
    T_INIT = 0x1f, T_ATTACH_SOCKET = 0x20, T_TERMINAL = 0x21,
    T_OPEN_STDIN = 0x22, T_WINSIZE = 0x23, T_JOIN_NS = 0x24, T_PAUSE = 0x28,
    T_OOM_SCORE_ADJ = 0x29, T_SYSCTL = 0x2a,
    T_MAX = T_SYSCTL
};
_Static_assert(T_MAX < 64, "vl_read_plan's seen is a 64-bit mask of tags");

/* A cursor over a byte range; every getter checks bounds. */
struct cur {
    const unsigned char *p, *end;
};

static char *g_err;
static size_t g_errlen;

__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, g_errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        /* Allocation failure on a plan <= 16 MiB: nothing sane to do. */
        fputs("vessel-launch: out of memory\n", stderr);
        _exit(2);
    }
    return q;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int get_u32(struct cur *c, uint32_t *v)
{
    if (c->end - c->p < 4)
        return -1;
    *v = (uint32_t)le(c->p, 4);
    c->p += 4;
    return 0;
}

static int get_u64(struct cur *c, uint64_t *v)
{
    if (c->end - c->p < 8)
        return -1;
    *v = le(c->p, 8);
    c->p += 8;
    return 0;
}

/* Copies n bytes as a NUL-terminated C string; embedded NULs are refused
 * because they would silently truncate paths/arguments. */
static int get_str(struct cur *c, size_t n, char **out)
{
    if ((size_t)(c->end - c->p) < n)
        return -1;
    if (memchr(c->p, 0, n))
        return -2;
    char *s = xrealloc(NULL, n + 1);
    memcpy(s, c->p, n);
    s[n] = 0;
    c->p += n;
    *out = s;
    return 0;
}

static void strv_push(struct vl_strv *v, char *s)
{
    v->v = xrealloc(v->v, (v->n + 2) * sizeof(char *));
    v->v[v->n++] = s;
    v->v[v->n] = NULL;
}

/* A u32-length-prefixed string inside a compound record (MOUNT). */
static int get_lstr(struct cur *c, char **out, const char *what)
{
    uint32_t n;
    if (get_u32(c, &n) < 0)
        return bad("MOUNT: truncated %s length", what);
    int r = get_str(c, n, out);
    if (r == -1)
        return bad("MOUNT: truncated %s", what);
    if (r == -2)
        return bad("MOUNT: NUL byte in %s", what);
    return 0;
}

static int decode_mount(struct cur *c, struct vl_plan *p)
{
    struct vl_mount m = {0};
    if (get_u64(c, &m.flags) < 0 || get_u32(c, &m.hints) < 0)
        return bad("MOUNT: truncated header");
    if (get_lstr(c, &m.source, "source") || get_lstr(c, &m.target, "target")
        || get_lstr(c, &m.fstype, "fstype") || get_lstr(c, &m.data, "data"))
        return -1;
    if (c->p != c->end)
        return bad("MOUNT: %zu trailing bytes", (size_t)(c->end - c->p));
    if (m.target[0] != '/')
        return bad("MOUNT: target must be absolute: %s", m.target);
    if (m.hints & ~(VL_HINT_MKDIR | VL_HINT_MKFILE | VL_HINT_HOST_NODE))
        return bad("MOUNT %s: unknown hint bits 0x%x", m.target, m.hints);
    if ((m.hints & VL_HINT_HOST_NODE) && !(m.flags & MS_BIND))
        return bad("MOUNT %s: HOST_NODE is for a bind", m.target);
    if ((m.hints & VL_HINT_MKDIR) && (m.hints & VL_HINT_MKFILE))
        return bad("MOUNT %s: MKDIR and MKFILE are exclusive", m.target);
    p->mounts = xrealloc(p->mounts, (p->nmounts + 1) * sizeof m);
    p->mounts[p->nmounts++] = m;
    return 0;
}

uint32_t vl_sysctl_namespace(const char *key)
{
    static const char *const ipc[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
        "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
    };
    if (strncmp(key, "net.", 4) == 0)
        return VL_NS_NET;
    if (strncmp(key, "fs.mqueue.", 10) == 0)
        return VL_NS_IPC;
    for (size_t i = 0; i < sizeof ipc / sizeof ipc[0]; i++)
        if (strcmp(key, ipc[i]) == 0)
            return VL_NS_IPC;
    return 0;
}

/* SYSCTL: "key=value", the key dotted words of [A-Za-z0-9_-] (a dot is a
 * directory of /proc/sys, so nothing can climb out of it), the value one
 * line. */
static int decode_sysctl(struct vl_plan *p, char *s)
{
    char *eq = strchr(s, '=');
    size_t klen = eq ? (size_t)(eq - s) : 0;
    if (!eq || klen == 0 || klen > VL_MAX_SYSCTL_KEY)
        return bad("SYSCTL is not key=value with a key of 1 to %d bytes: %s",
                   VL_MAX_SYSCTL_KEY, s);
    for (size_t i = 0; i < klen; i++) {
        char ch = s[i];
        int word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!word && !(ch == '.' && i > 0 && i + 1 < klen && s[i + 1] != '.'))
            return bad("SYSCTL key is not dotted words: %.*s", (int)klen, s);
    }
    if (strchr(eq + 1, '\n'))
        return bad("SYSCTL %.*s: the value holds a newline", (int)klen, s);
    *eq = 0;
    uint32_t ns = vl_sysctl_namespace(s);
    *eq = '=';
    if (!ns)
        return bad("SYSCTL %.*s: not a parameter of a network or IPC namespace",
                   (int)klen, s);
    strv_push(&p->sysctls, s);
    return 0;
}

/* JOIN_NS: u32 namespace bit, then the path of its nsfs file. */
static int decode_join(struct cur *c, struct vl_plan *p)
{
    struct vl_join j;
    if (get_u32(c, &j.bit) < 0)
        return bad("JOIN_NS: truncated namespace bit");
    if (!j.bit || (j.bit & (j.bit - 1)) || (j.bit & ~VL_NS_ALL))
        return bad("JOIN_NS: 0x%x is not one namespace bit", j.bit);
    for (size_t i = 0; i < p->njoins; i++)
        if (p->joins[i].bit == j.bit)
            return bad("JOIN_NS: the %s namespace joined twice", vl_ns_name(j.bit));
    if (get_str(c, (size_t)(c->end - c->p), &j.path) < 0)
        return bad("JOIN_NS %s: NUL byte in path", vl_ns_name(j.bit));
    if (j.path[0] != '/')
        return bad("JOIN_NS %s: path must be absolute: %s", vl_ns_name(j.bit), j.path);
    p->joins = xrealloc(p->joins, (p->njoins + 1) * sizeof j);
    p->joins[p->njoins++] = j;
    return 0;
}

static int decode_record(uint16_t tag, struct cur *c, struct vl_plan *p,
                         uint64_t *seen)
{
    size_t len = (size_t)(c->end - c->p);
    uint32_t u32 = 0;
    char *s = NULL;

    /* Single-valued tags may appear at most once: a duplicate is far more
     * likely an encoder bug than an intended override. */
    static const unsigned char repeated[T_MAX + 1] = {
        [T_ARG] = 1, [T_ENV] = 1, [T_SUPP_GID] = 1, [T_UID_MAP] = 1,
        [T_GID_MAP] = 1, [T_MOUNT] = 1, [T_MASKED_PATH] = 1, [T_RLIMIT] = 1,
        [T_CGROUP] = 1, [T_READONLY_PATH] = 1, [T_ROOTFS_LOWER] = 1,
        [T_JOIN_NS] = 1, [T_SYSCTL] = 1,
    };
    if (tag == 0 || tag == T_RETIRED_RUN_DIR || tag > T_MAX || (tag > T_JOIN_NS && tag < T_PAUSE))
        return bad("unknown tag 0x%04x", tag);
    if (!repeated[tag] && (*seen & (1ull << tag)))
        return bad("duplicate tag 0x%04x", tag);
    *seen |= 1ull << tag;

    switch (tag) {
    case T_ROOTFS: case T_ARG: case T_ENV: case T_CWD:
    case T_HOSTNAME: case T_UID_MAP: case T_GID_MAP: case T_NETNS_PATH:
    case T_MASKED_PATH: case T_CGROUP: case T_EXIT_FILE: case T_STDOUT_LOG:
    case T_STDERR_LOG: case T_MONITOR_LOG: case T_READONLY_PATH:
    case T_ROOTFS_LOWER: case T_ATTACH_SOCKET: case T_SYSCTL:
        if (get_str(c, len, &s) < 0)
            return bad("tag 0x%04x: NUL byte in string", tag);
        break;
    case T_UID: case T_GID: case T_SUPP_GID: case T_NAMESPACES:
    case T_STD_FS: case T_NO_NEW_PRIVS: case T_IDMAP: case T_INIT:
    case T_TERMINAL: case T_OPEN_STDIN: case T_WINSIZE: case T_PAUSE:
    case T_OOM_SCORE_ADJ:
        if (len != 4)
            return bad("tag 0x%04x: expected 4 bytes, got %zu", tag, len);
        get_u32(c, &u32);
        break;
    }

    switch (tag) {
    case T_EXIT_FILE:   p->exit_file = s; break;
    case T_STDOUT_LOG:  p->stdout_log = s; break;
    case T_STDERR_LOG:  p->stderr_log = s; break;
    case T_MONITOR_LOG: p->monitor_log = s; break;
    case T_ROOTFS:      p->rootfs = s; break;
    case T_CWD:         p->cwd = s; break;
    case T_HOSTNAME:    p->hostname = s; break;
    case T_NETNS_PATH:  p->netns_path = s; break;
    case T_ARG:         strv_push(&p->argv, s); break;
    case T_UID_MAP:     strv_push(&p->uid_map, s); break;
    case T_GID_MAP:     strv_push(&p->gid_map, s); break;
    case T_MASKED_PATH:
        if (s[0] != '/')
            return bad("MASKED_PATH must be absolute: %s", s);
        strv_push(&p->masked, s);
        break;
    case T_READONLY_PATH:
        if (s[0] != '/')
            return bad("READONLY_PATH must be absolute: %s", s);
        strv_push(&p->readonly, s);
        break;
    case T_CGROUP:
        if (s[0] != '/')
            return bad("CGROUP must be absolute: %s", s);
        strv_push(&p->cgroups, s);
        break;
    case T_ENV:
        if (!strchr(s, '=') || s[0] == '=')
            return bad("ENV entry is not K=V: %s", s);
        strv_push(&p->env, s);
        break;
    case T_UID:         p->has_uid = 1; p->uid = u32; break;
    case T_GID:         p->has_gid = 1; p->gid = u32; break;
    case T_SUPP_GID:
        p->groups = xrealloc(p->groups, (p->ngroups + 1) * sizeof(gid_t));
        p->groups[p->ngroups++] = u32;
        break;
    case T_NAMESPACES:
        if (u32 & ~VL_NS_ALL)
            return bad("NAMESPACES: unknown bits 0x%x", u32 & ~VL_NS_ALL);
        p->namespaces = u32;
        break;
    case T_STD_FS:
        if (u32 & ~VL_STD_ALL)
            return bad("STD_FS: unknown bits 0x%x", u32 & ~VL_STD_ALL);
        p->std_fs = u32;
        break;
    case T_NO_NEW_PRIVS:
        if (u32 > 1)
            return bad("NO_NEW_PRIVS must be 0 or 1");
        p->no_new_privs = (int)u32;
        break;
    case T_IDMAP:
        if (u32 > 1)
            return bad("IDMAP must be 0 or 1");
        p->idmap = (int)u32;
        break;
    case T_INIT:
        if (u32 > 1)
            return bad("INIT must be 0 or 1");
        p->init = (int)u32;
        break;
    case T_ATTACH_SOCKET: p->attach_socket = s; break;
    case T_TERMINAL:
        if (u32 > 1)
            return bad("TERMINAL must be 0 or 1");
        p->terminal = (int)u32;
        break;
    case T_OPEN_STDIN:
        if (u32 > 1)
            return bad("OPEN_STDIN must be 0 or 1");
        p->open_stdin = (int)u32;
        break;
    case T_WINSIZE:
        p->has_winsize = 1;
        p->rows = (uint16_t)(u32 >> 16);
        p->cols = (uint16_t)u32;
        break;
    case T_JOIN_NS:
        return decode_join(c, p);
    case T_PAUSE:
        if (u32 > 1)
            return bad("PAUSE must be 0 or 1");
        p->pause = (int)u32;
        break;
    case T_OOM_SCORE_ADJ:
        if ((int32_t)u32 < -1000 || (int32_t)u32 > 1000)
            return bad("OOM_SCORE_ADJ %d is not from -1000 to 1000", (int32_t)u32);
        p->has_oom_score_adj = 1;
        p->oom_score_adj = (int32_t)u32;
        break;
    case T_SYSCTL:
        return decode_sysctl(p, s);
    case T_ROOTFS_LOWER:
        if (s[0] != '/')
            return bad("ROOTFS_LOWER must be absolute: %s", s);
        strv_push(&p->rootfs_lower, s);
        break;
    case T_ROOTFS_UPPER:
        if (get_lstr(c, &p->rootfs_upper, "upper") || get_lstr(c, &p->rootfs_work, "work"))
            return -1;
        if (c->p != c->end)
            return bad("ROOTFS_UPPER: %zu trailing bytes", (size_t)(c->end - c->p));
        if (p->rootfs_upper[0] != '/' || p->rootfs_work[0] != '/')
            return bad("ROOTFS_UPPER: upper and work must be absolute");
        break;
    case T_MOUNT:
        return decode_mount(c, p);
    case T_RLIMIT: {
        struct vl_rlimit r;
        if (len != 20)
            return bad("RLIMIT: expected 20 bytes, got %zu", len);
        get_u32(c, &r.resource);
        get_u64(c, &r.soft);
        get_u64(c, &r.hard);
        if (r.resource >= RLIM_NLIMITS)
            return bad("RLIMIT: unknown resource %u", r.resource);
        if (r.soft > r.hard)
            return bad("RLIMIT %u: soft > hard", r.resource);
        p->rlimits = xrealloc(p->rlimits, (p->nrlimits + 1) * sizeof r);
        p->rlimits[p->nrlimits++] = r;
        break;
    }
    case T_CAPS:
        if (len != 8 * VL_CAP_SETS)
            return bad("CAPS: expected %d bytes, got %zu", 8 * VL_CAP_SETS, len);
        for (int i = 0; i < VL_CAP_SETS; i++)
            get_u64(c, &p->caps[i]);
        p->has_caps = 1;
        break;
    case T_SECCOMP_FILTER: {
        /* u32 flags, then the program: copied out, so it is aligned for
         * the kernel's struct sock_filter. */
        size_t prog = len >= 4 ? len - 4 : 0;
        if (len < 4 + 8 || prog % 8 != 0 || prog / 8 > VL_SECCOMP_MAX_INSNS)
            return bad("SECCOMP_FILTER: expected 4 + 8 × (1 to %u) bytes, got %zu",
                       VL_SECCOMP_MAX_INSNS, len);
        get_u32(c, &p->seccomp_flags);
        if (p->seccomp_flags & ~VL_SECCOMP_FLAGS_ALL)
            return bad("SECCOMP_FILTER: unknown flags 0x%x",
                       p->seccomp_flags & ~VL_SECCOMP_FLAGS_ALL);
        p->seccomp_program = xrealloc(NULL, prog);
        memcpy(p->seccomp_program, c->p, prog);
        p->seccomp_insns = (uint16_t)(prog / 8);
        break;
    }
    case T_LOG_CAP:
        if (len != 8)
            return bad("LOG_CAP: expected 8 bytes, got %zu", len);
        get_u64(c, &p->log_cap);
        break;
    }
    return 0;
}

/* Cross-field rules. These exist mostly to stop a plan from touching the
 * host: e.g. a hostname without a UTS namespace would rename the host, a
 * rootfs without a mount namespace would pivot_root the host. */
static int validate(struct vl_plan *p)
{
    uint32_t ns = p->namespaces;
    if (!p->exit_file || p->exit_file[0] != '/')
        return bad("EXIT_FILE missing or not absolute");
    if (!p->stdout_log || p->stdout_log[0] != '/')
        return bad("STDOUT_LOG missing or not absolute");
    if (!p->stderr_log || p->stderr_log[0] != '/')
        return bad("STDERR_LOG missing or not absolute");
    if (!p->monitor_log || p->monitor_log[0] != '/')
        return bad("MONITOR_LOG missing or not absolute");
    if (p->argv.n == 0 || p->argv.v[0][0] == 0)
        return bad("ARG missing or argv[0] empty");
    if (p->cwd && p->cwd[0] != '/')
        return bad("CWD not absolute: %s", p->cwd);
    if (p->rootfs && p->rootfs[0] != '/')
        return bad("ROOTFS not absolute: %s", p->rootfs);
    if (p->rootfs && !(ns & VL_NS_MOUNT))
        return bad("ROOTFS requires the mount namespace");
    if (!p->rootfs && (p->nmounts || p->std_fs || p->masked.n || p->readonly.n))
        return bad("MOUNT/STD_FS/MASKED_PATH/READONLY_PATH require ROOTFS");
    if (p->hostname && !(ns & VL_NS_UTS))
        return bad("HOSTNAME requires the uts namespace");
    if (p->hostname && strlen(p->hostname) > 64)
        return bad("HOSTNAME longer than 64 bytes");
    if (p->netns_path && (ns & VL_NS_NET))
        return bad("NETNS_PATH and a new net namespace are exclusive");
    if ((p->uid_map.n || p->gid_map.n) && !(ns & VL_NS_USER))
        return bad("UID_MAP/GID_MAP require the user namespace");
    if ((ns & VL_NS_USER) && (!p->uid_map.n || !p->gid_map.n))
        return bad("user namespace requires UID_MAP and GID_MAP");
    if (p->idmap && (!(ns & VL_NS_USER) || !p->rootfs))
        return bad("IDMAP requires the user namespace and ROOTFS");
    if ((p->rootfs_lower.n || p->rootfs_upper) && !p->idmap)
        return bad("ROOTFS_LOWER/ROOTFS_UPPER require IDMAP");
    if (!p->rootfs_lower.n != !p->rootfs_upper)
        return bad("ROOTFS_LOWER and ROOTFS_UPPER come together");
    if (p->idmap && vl_bind_count(p) > VL_MAX_IDMAP_BINDS)
        return bad("IDMAP allows at most %d bind MOUNTs", VL_MAX_IDMAP_BINDS);
    if (p->pause && (p->init || !(ns & VL_NS_PID)))
        return bad("PAUSE requires the pid namespace and excludes INIT");
    if (p->ngroups > NGROUPS_MAX)
        return bad("too many SUPP_GID records");

    uint32_t joined = 0;
    for (size_t i = 0; i < p->njoins; i++)
        joined |= p->joins[i].bit;
    if (joined & ns)
        return bad("the %s namespace is both created (NAMESPACES) and joined (JOIN_NS)",
                   vl_ns_name(joined & ns & -(joined & ns)));
    if ((joined & VL_NS_NET) && p->netns_path)
        return bad("NETNS_PATH and JOIN_NS net are exclusive");
    /* a new namespace belongs to the user namespace of its creator, the
     * helper, which enters a joined one only after the clone */
    if ((joined & VL_NS_USER) && ns)
        return bad("JOIN_NS user cannot be combined with NAMESPACES");

    if (p->attach_socket && p->attach_socket[0] != '/')
        return bad("ATTACH_SOCKET not absolute: %s", p->attach_socket);
    if (p->attach_socket && strlen(p->attach_socket) > VL_MAX_SOCKET_PATH)
        return bad("ATTACH_SOCKET longer than %d bytes: %s", VL_MAX_SOCKET_PATH,
                   p->attach_socket);
    if (p->open_stdin && !p->attach_socket)
        return bad("OPEN_STDIN requires ATTACH_SOCKET");
    /* the pty comes from the container's own devpts, never the host's */
    if (p->terminal && !((p->rootfs && (p->std_fs & VL_STD_DEV)) || (joined & VL_NS_MOUNT)))
        return bad("TERMINAL requires ROOTFS with the /dev of STD_FS, or JOIN_NS mount");
    if (p->has_winsize && !p->terminal)
        return bad("WINSIZE requires TERMINAL");
    return 0;
}

/* read(2) exactly n bytes. Reading exactly (no stdio buffering) matters:
 * the release byte 'G' follows the plan on the same stream and must not
 * be swallowed here. */
static int read_exact(int fd, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, (char *)buf + *got, n - *got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        *got += (size_t)r;
    }
    return 0;
}

int vl_read_plan(int fd, struct vl_plan *p, char *err, size_t errlen)
{
    unsigned char hdr[PLAN_HEADER_LEN];
    size_t got;
    uint64_t seen = 0; /* a bit per tag: room up to 0x3f */

    g_err = err;
    g_errlen = errlen;
    memset(p, 0, sizeof *p);

    if (read_exact(fd, hdr, sizeof hdr, &got) < 0)
        return bad("truncated header (%zu of %d bytes)", got, PLAN_HEADER_LEN);
    if (memcmp(hdr, PLAN_MAGIC, 4) != 0)
        return bad("bad magic (expected \"VSLP\")");
    if (le(hdr + 4, 2) != VL_VERSION)
        return bad("unsupported version %u (expected %d)",
                   (unsigned)le(hdr + 4, 2), VL_VERSION);
    if (le(hdr + 6, 2) != 0)
        return bad("reserved header field must be 0");
    uint32_t body_len = (uint32_t)le(hdr + 8, 4);
    if (body_len > PLAN_MAX_BODY)
        return bad("body of %u bytes exceeds %u", body_len, PLAN_MAX_BODY);

    unsigned char *body = xrealloc(NULL, body_len);
    if (read_exact(fd, body, body_len, &got) < 0)
        return bad("truncated body (%zu of %u bytes)", got, body_len);

    struct cur c = { body, body + body_len };
    while (c.p < c.end) {
        if (c.end - c.p < 6)
            return bad("truncated record header at offset %zu",
                       (size_t)(c.p - body));
        uint16_t tag = (uint16_t)le(c.p, 2);
        uint32_t len = (uint32_t)le(c.p + 2, 4);
        c.p += 6;
        if ((size_t)(c.end - c.p) < len)
            return bad("record 0x%04x: length %u overruns body", tag, len);
        struct cur rc = { c.p, c.p + len };
        if (decode_record(tag, &rc, p, &seen) < 0)
            return -1;
        c.p += len;
    }
    free(body);
    return validate(p);
}
