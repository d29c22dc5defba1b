/*
 * vessel-runtime's native fast path: the OCI runtime calls an engine makes for every container (create,
 * start, state, kill, delete) and for every exec (exec) as the same HTTP calls the Java runtime (dev.vessel.node.runtime) makes to the
 * vesseld serving --root, and the shims: the process an engine watches as the container, which relays the
 * task's stdio between vesseld and the descriptors the engine gave, and exits as the task did.
 *
 * Whatever this does not handle — another command, a flag it does not know, a value it does not take, or no
 * daemon answering on the root's socket (the Java runtime starts one, under its lock) — is handed, argv
 * intact, to the Java runtime: the program named by VESSEL_RUNTIME_JAVA (bin/vessel-runtime sets it), before
 * anything was changed. Errors are reported as the Java runtime reports them: the message on stderr and, with
 * --log, a logrus line or (--log-format json) a JSON object in that file; the exit code is 1.
 *
 * Hidden commands (what the Java runtime runs too; the shims are native only):
 *   shim [--detach] [--start] [--pid-file F] [--console-socket S] [--tty] ID
 *       relays a container's stdio (POST /v1/oci/containers/ID/attach)
 *   exec-shim [--detach] [--pid-file F] [--console-socket S] [--tty] ID EXEC
 *       starts an exec and relays its stdio (POST /v1/containers/ID/exec/EXEC/start)
 * --detach forks the shim into a session of its own and returns once it is attached (the engine's
 * sub-reaper adopts it), its pid in the pid file; without it this process relays. --start starts the
 * container once attached, so nothing it prints is missed. --console-socket: the task has a terminal (in
 * Vessel's monitor); the shim makes a terminal pair of its own, sends the master to S as runc does, and
 * relays between its slave and the task's terminal, resizes included. --tty (in the foreground, without a
 * console socket): the task's terminal is relayed on this process's own stdio, a local terminal made raw and
 * its size sent along, as runc's foreground run and exec use the user's terminal.
 */
#define _GNU_SOURCE
#include "vessel-http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ROOT "/run/vessel-runtime"
/* A shim's status when the task's end cannot be known (runc's engines show 255 as well). */
#define UNKNOWN_EXIT 255
#define LAUNCH_FAILED 127

static int argc0;
static char **argv0;
static char socket_path[PATH_MAX + 32];
static const char *log_file;
static int log_json;
static int debug;
static int vm; /* --vm: a bundle without the isolation annotation runs in a VM of its own */

/* ------------------------------------------------------------------------------------------------ */
/* handing over to the Java runtime, reporting */

/* Runs the Java runtime with this call's argv, when there is one to run; returns when there is none. */
static void fallback(void)
{
    const char *java = getenv("VESSEL_RUNTIME_JAVA");
    if (!java || !*java)
        return;
    char **args = calloc((size_t)argc0 + 1, sizeof *args);
    if (!args)
        exit(1);
    args[0] = (char *)java;
    for (int i = 1; i < argc0; i++)
        args[i] = argv0[i];
    execv(java, args);
    fprintf(stderr, "vessel-runtime: cannot run the Java runtime %s: %s\n", java, strerror(errno));
    exit(1);
}

static void log_line(const char *level, const char *message)
{
    if (!log_file)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[64];
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%09ldZ", now.tv_nsec);
    struct buf line = { 0 };
    if (log_json) {
        puts_(&line, "{\"level\":\"");
        puts_(&line, level);
        puts_(&line, "\",\"msg\":");
        put_json_string(&line, message);
        puts_(&line, ",\"time\":\"");
        puts_(&line, stamp);
        puts_(&line, "\"}\n");
    } else {
        puts_(&line, "time=\"");
        puts_(&line, stamp);
        puts_(&line, "\" level=");
        puts_(&line, level);
        puts_(&line, " msg=");
        put_json_string(&line, message);
        puts_(&line, "\n");
    }
    int fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, line.data, line.len) < 0)
        fprintf(stderr, "vessel-runtime: cannot write the log %s: %s\n", log_file, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(line.data);
}

/* With --debug, the call as the Java runtime logs it: once this program has taken the call as its own. */
static void handled(void)
{
    static int logged;
    if (!debug || logged)
        return;
    logged = 1;
    struct buf line = { 0 };
    puts_(&line, "vessel-runtime");
    for (int a = 1; a < argc0; a++) {
        puts_(&line, " ");
        puts_(&line, argv0[a]);
    }
    log_line("debug", line.data);
    free(line.data);
}

/* An error as the Java runtime reports it; returns the exit code, 1. */
static int fail(const char *format, ...)
{
    char message[4096];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", message);
    log_line("error", message);
    return 1;
}

/* ------------------------------------------------------------------------------------------------ */
/* flags, as the Java runtime's Args takes them; anything else is the Java runtime's to answer */

struct opt {
    const char *name;
    char alias;
    int valued;
    const char *value; /* a valued flag's value, or "true" for a boolean one given */
};

/*
 * Parses `words`; the positional words go to `positional` (with `stop`, every word from the first positional
 * one on, as for exec's command). 0, or -1 for what only Java answers.
 */
static int parse_flags_from(int count, char **words, struct opt *opts, char **positional, int *npositional, int max,
                            int stop)
{
    *npositional = 0;
    for (int i = 0; i < count; i++) {
        const char *word = words[i];
        int rest = strcmp(word, "--") == 0;
        if (rest || word[0] != '-' || strcmp(word, "-") == 0) {
            for (i += rest; i < count; i++) {
                if (*npositional >= max)
                    return -1;
                positional[(*npositional)++] = words[i];
                if (!rest && !stop)
                    break;
            }
            continue;
        }
        const char *name = word + (word[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        struct opt *o = NULL;
        for (struct opt *p = opts; p->name; p++) {
            if ((strlen(p->name) == len && strncmp(p->name, name, len) == 0) || (len == 1 && p->alias == name[0]))
                o = p;
        }
        if (!o)
            return -1;
        if (o->valued) {
            if (eq)
                o->value = eq + 1;
            else if (i + 1 < count)
                o->value = words[++i];
            else
                return -1;
        } else if (!eq || strcmp(eq + 1, "true") == 0) {
            o->value = "true";
        } else if (strcmp(eq + 1, "false") == 0) {
            o->value = NULL;
        } else {
            return -1;
        }
    }
    return 0;
}

static int parse_flags(int count, char **words, struct opt *opts, char **positional, int *npositional, int max)
{
    return parse_flags_from(count, words, opts, positional, npositional, max, 0);
}

static const char *opt(struct opt *opts, const char *name)
{
    for (; opts->name; opts++)
        if (strcmp(opts->name, name) == 0)
            return opts->value;
    return NULL;
}

/* `path` made absolute against the working directory, "." and ".." removed by name (Path.normalize). */
static char *absolute(const char *path)
{
    struct buf joined = { 0 };
    if (path[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return NULL;
        puts_(&joined, cwd);
        puts_(&joined, "/");
    }
    puts_(&joined, path);
    char *out = calloc(1, joined.len + 2);
    size_t n = 0;
    for (char *segment = strtok(joined.data, "/"); segment; segment = strtok(NULL, "/")) {
        if (strcmp(segment, ".") == 0)
            continue;
        if (strcmp(segment, "..") == 0) {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
            continue;
        }
        out[n++] = '/';
        memcpy(out + n, segment, strlen(segment));
        n += strlen(segment);
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = 0;
    free(joined.data);
    return out;
}

/* Signal names as Signals.java takes them; 0 when it is none. */
static int signal_number(const char *text)
{
    static const char *const names[] = { "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
        "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS" };
    const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    if (*name && strspn(name, "0123456789") == strlen(name)) {
        long n = strlen(name) > 3 ? 0 : strtol(name, NULL, 10);
        return n >= 1 && n <= 64 ? (int)n : 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(name, names[i]) == 0)
            return (int)i + 1;
    return 0; /* RTMIN+N and the rest: the Java runtime's */
}

/* ------------------------------------------------------------------------------------------------ */
/* calls */

static int daemon_answers(void)
{
    int fd = connect_daemon(socket_path);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* The daemon's refusal in runc's words where engines read them (DaemonLink.failure). */
static char *refusal(int status, const char *body)
{
    char *code = json_string(body, "code");
    char *message = json_string(body, "message");
    char *field = json_string(body, "field");
    struct buf out = { 0 };
    puts_(&out, "");
    if (code && strcmp(code, "NOT_FOUND") == 0) {
        puts_(&out, "container does not exist");
    } else if (!message) {
        char text[32];
        snprintf(text, sizeof text, "HTTP %d: ", status);
        puts_(&out, text);
        puts_(&out, body);
    } else {
        if (field && *field && !strstr(message, field)) {
            puts_(&out, field);
            puts_(&out, ": ");
        }
        puts_(&out, message);
    }
    free(code);
    free(message);
    free(field);
    return out.data;
}

/*
 * A call whose answer must be 2xx: its body in `answer` (when given), 0; else the error reported as the
 * Java runtime would, and 1. `message_out`, when given, receives the error's text instead of it being reported.
 */
static int call(const char *method, const char *path, const char *json, struct buf *answer, char **message_out)
{
    struct buf body = { 0 };
    int status = request(socket_path, method, path, json, 0, NULL, &body);
    char *message;
    if (status < 0) {
        message = strdup(errno == EPROTO ? "reading vesseld's answer: not HTTP" : strerror(errno));
    } else if (status >= 400) {
        message = refusal(status, body.data);
    } else {
        if (answer)
            *answer = body;
        else
            free(body.data);
        return 0;
    }
    free(body.data);
    if (message_out) {
        *message_out = message;
        return 1;
    }
    fail("%s", message);
    free(message);
    return 1;
}

static void container_path(struct buf *path, const char *prefix, const char *id, const char *suffix)
{
    path->len = 0;
    puts_(path, prefix);
    put_segment(path, id);
    puts_(path, suffix);
}

/* Whether fd 0 is something to forward: open, and not /dev/null (what engines give a container without -i). */
static int stdin_is_open(void)
{
    struct stat in, null;
    if (fstat(0, &in) < 0)
        return 0;
    return !(S_ISCHR(in.st_mode) && stat("/dev/null", &null) == 0 && in.st_rdev == null.st_rdev);
}

/* Written whole, then renamed into place: an engine may read it as soon as it exists. */
static int write_pid_file(const char *file, pid_t pid)
{
    char *path = absolute(file);
    if (!path)
        return fail("pid file %s: %s", file, strerror(errno));
    char *slash = strrchr(path, '/');
    struct buf temporary = { 0 };
    put(&temporary, path, (size_t)(slash - path) + 1);
    puts_(&temporary, ".");
    puts_(&temporary, slash + 1);
    puts_(&temporary, ".tmp");
    char text[32];
    int n = snprintf(text, sizeof text, "%d", (int)pid);
    int fd = open(temporary.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, text, (size_t)n) < 0 || close(fd) < 0 || rename(temporary.data, path) < 0) {
        int rc = fail("writing the pid file %s: %s", path, strerror(errno));
        unlink(temporary.data);
        return rc;
    }
    free(temporary.data);
    free(path);
    return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* the shims */

struct shim {
    const char *id;
    const char *exec_id;        /* an exec-shim's */
    const char *console_socket; /* where the engine takes the terminal's master (runc's protocol) */
    int terminal;               /* the shim's own terminal, once made: its stdio is then that */
    int stdio_terminal;         /* the task has a terminal that the shim's own stdio carries (runc's foreground) */
    int size_fd;                /* the terminal whose size the task's follows, or -1 (set by shim_main) */
    int start;                  /* start the container once attached */
    long task_pid;              /* the container's task, when its create said; 0: asked for */
    int notify;          /* --detach: the pipe its spawner waits on; -1 in the foreground */
};

/* The spawner learns that the shim is attached ('A'), or why it is not ('E' and the message). */
static void shim_ready(struct shim *s)
{
    if (s->notify >= 0) {
        write_all(s->notify, "A", 1);
        close(s->notify);
        s->notify = -1;
    }
}

__attribute__((noreturn)) static void shim_failed(struct shim *s, const char *message)
{
    if (s->notify >= 0) {
        write_all(s->notify, "E", 1);
        write_all(s->notify, message, strlen(message));
        close(s->notify);
        exit(1);
    }
    exit(fail("%s", message));
}

static int winch_pipe[2] = { -1, -1 };

static void on_winch(int signal)
{
    (void)signal;
    int saved = errno;
    if (write(winch_pipe[1], "w", 1) < 0) {
        /* full: a resize is pending already */
    }
    errno = saved;
}

/* SIGWINCH, written to a pipe the relay polls. */
static void watch_resizes(void)
{
    if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
        struct sigaction winch = { .sa_handler = on_winch, .sa_flags = SA_RESTART };
        sigaction(SIGWINCH, &winch, NULL);
    }
}

/* The terminal's size as a RESIZE frame, when it has one. */
static void queue_resize(struct buf *pending, int terminal)
{
    struct winsize size;
    if (ioctl(terminal, TIOCGWINSZ, &size) < 0 || size.ws_row == 0 || size.ws_col == 0)
        return;
    unsigned char frame[9];
    frame_header(frame, FRAME_RESIZE, 4);
    frame[5] = (unsigned char)(size.ws_row >> 8);
    frame[6] = (unsigned char)size.ws_row;
    frame[7] = (unsigned char)(size.ws_col >> 8);
    frame[8] = (unsigned char)size.ws_col;
    put(pending, (char *)frame, sizeof frame);
}

/*
 * Relays one upgraded connection: STDOUT and STDERR frames to fds 1 and 2 (a reader gone drops the output,
 * the status still matters), fd 0 as STDIN frames and STDIN_CLOSE at its end when `forward_stdin`. With a
 * terminal of the shim's own, that is its input and output instead, and its size goes along (first, and on
 * every SIGWINCH: the engine resized the master). The socket is written without blocking, so that its output
 * is always read. The EXIT frame's status, or -1 when the stream ended without one.
 */
static int relay(int sock, int forward_stdin, int terminal, int size_fd)
{
    static unsigned char in[FRAME_MAX + 5];
    size_t inlen = 0;
    struct buf pending = { 0 };
    size_t sent = 0;
    int in_fd = terminal >= 0 ? terminal : forward_stdin ? 0 : -1;
    int out_fd = terminal >= 0 ? terminal : 1, err_fd = terminal >= 0 ? terminal : 2;
    puts_(&pending, "");
    if (size_fd >= 0)
        queue_resize(&pending, size_fd);
    for (;;) {
        struct pollfd fds[3] = { { .fd = sock, .events = POLLIN }, { .fd = -1 }, { .fd = winch_pipe[0], .events = POLLIN } };
        if (sent < pending.len)
            fds[0].events |= POLLOUT;
        else if (in_fd >= 0)
            fds[1] = (struct pollfd){ .fd = in_fd, .events = POLLIN };
        if (poll(fds, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (fds[2].revents) {
            char drained[64];
            if (read(winch_pipe[0], drained, sizeof drained) > 0 && size_fd >= 0)
                queue_resize(&pending, size_fd);
        }
        if (fds[0].revents & POLLOUT) {
            ssize_t w = send(sock, pending.data + sent, pending.len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            sent += w > 0 ? (size_t)w : 0;
            if (sent == pending.len)
                sent = pending.len = 0;
        }
        if (fds[1].revents) {
            static char chunk[65536];
            ssize_t r = read(in_fd, chunk, sizeof chunk);
            unsigned char header[5];
            if (r > 0) {
                frame_header(header, FRAME_STDIN, (uint32_t)r);
                put(&pending, (char *)header, 5);
                put(&pending, chunk, (size_t)r);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                /* a terminal whose master is closed (EIO) ends nothing: the engine may open it again */
                if (terminal < 0) {
                    frame_header(header, FRAME_STDIN_CLOSE, 0);
                    put(&pending, (char *)header, 5);
                }
                in_fd = -1;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(sock, in + inlen, sizeof in - inlen);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            inlen += (size_t)r;
            for (;;) {
                if (inlen < 5)
                    break;
                uint32_t len = (uint32_t)in[1] << 24 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 8 | in[4];
                if (len > FRAME_MAX)
                    return -1;
                if (inlen < 5 + len)
                    break;
                if (in[0] == FRAME_STDOUT || in[0] == FRAME_STDERR) {
                    write_all(in[0] == FRAME_STDOUT ? out_fd : err_fd, (char *)in + 5, len);
                } else if (in[0] == FRAME_EXIT && len == 4) {
                    return frame_i32(in + 5);
                }
                memmove(in, in + 5 + len, inlen - 5 - len);
                inlen -= 5 + len;
            }
        }
    }
}

/*
 * runc's console socket: a terminal pair of the shim's own, its master sent to the engine (SCM_RIGHTS, the
 * slave's name as the message), its slave the shim's controlling terminal, raw (the container's terminal in
 * Vessel's monitor does the line discipline). Needs a session of the shim's own. NULL, or what failed.
 */
static const char *make_terminal(struct shim *s)
{
    static char failure[512];
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        snprintf(failure, sizeof failure, "console: cannot open a pseudo-terminal: %s", strerror(errno));
        return failure;
    }
    char name[64];
    if (ptsname_r(master, name, sizeof name) != 0) {
        snprintf(failure, sizeof failure, "console: ptsname: %s", strerror(errno));
        return failure;
    }
    int slave = open(name, O_RDWR | O_CLOEXEC); /* the first terminal a session leader opens is its own */
    struct termios raw;
    if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || tcgetattr(slave, &raw) < 0) {
        snprintf(failure, sizeof failure, "console: %s: %s", name, strerror(errno));
        return failure;
    }
    cfmakeraw(&raw);
    tcsetattr(slave, TCSANOW, &raw);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (strlen(s->console_socket) >= sizeof addr.sun_path) {
        snprintf(failure, sizeof failure, "console socket %s: path too long", s->console_socket);
        return failure;
    }
    strcpy(addr.sun_path, s->console_socket);
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec data = { .iov_base = name, .iov_len = strlen(name) };
    struct msghdr message = { .msg_iov = &data, .msg_iovlen = 1, .msg_control = control,
        .msg_controllen = sizeof control };
    struct cmsghdr *rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(rights), &master, sizeof(int));
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0 || sendmsg(sock, &message, 0) < 0) {
        snprintf(failure, sizeof failure, "console socket %s: %s", s->console_socket, strerror(errno));
        return failure;
    }
    close(sock);
    close(master);
    s->terminal = slave;
    watch_resizes();
    return NULL;
}

static struct termios saved_terminal;

static void restore_terminal(void)
{
    tcsetattr(0, TCSANOW, &saved_terminal);
}

/*
 * The task's terminal on the shim's own stdio (runc's foreground run and exec on the user's terminal): a local
 * terminal goes raw, restored at exit (the container's terminal does the line discipline), and its size goes
 * along. The fd whose size is sent, or -1 when stdin is no terminal.
 */
static int use_own_terminal(void)
{
    if (!isatty(0) || tcgetattr(0, &saved_terminal) < 0)
        return -1;
    struct termios raw = saved_terminal;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
    atexit(restore_terminal);
    watch_resizes();
    return 0;
}

/* A termination (POST …/wait's answer) as a shell reports it, as the Java runtime's Shim did. */
static int exit_code(const char *termination)
{
    long long code = json_number(termination, "exit_code", -1);
    if (code >= 0)
        return (int)code;
    long long signal = json_number(termination, "signal", 0);
    if (signal > 0)
        return 128 + (int)signal;
    char *reason = json_string(termination, "reason");
    int launch_failed = reason && strcmp(reason, "LAUNCH_FAILED") == 0;
    free(reason);
    return launch_failed ? LAUNCH_FAILED : UNKNOWN_EXIT;
}

static void pause_briefly(void)
{
    struct timespec tenth = { 0, 100 * 1000 * 1000 };
    nanosleep(&tenth, NULL);
}

/*
 * The container's shim: attached before the task's start, it relays until the EXIT frame. A connection
 * that breaks (a daemon killed and started again) is attached again; a task that ended meanwhile, or
 * before the first attach, is asked for its end (POST …/wait).
 */
static int run_shim(struct shim *s)
{
    struct buf path = { 0 }, body = { 0 };
    int forward_stdin = stdin_is_open();
    time_t unreachable_since = 0;
    for (;;) {
        int sock = -1;
        /* the OCI attach: vesseld also moves this process into the task's accounting cgroup, where engines look */
        container_path(&path, "/v1/oci/containers/", s->id, "/attach");
        int status = request(socket_path, "POST", path.data, NULL, 1, &sock, &body);
        if (status == 101) {
            unreachable_since = 0;
            shim_ready(s);
            if (s->start) {
                s->start = 0;
                char *message = NULL;
                container_path(&path, "/v1/oci/containers/", s->id, "/start");
                if (call("POST", path.data, NULL, NULL, &message) != 0) {
                    close(sock);
                    shim_failed(s, message);
                }
            }
            int code = relay(sock, forward_stdin, s->terminal, s->size_fd);
            close(sock);
            if (code < 0)
                continue;
            /* the engine asks for the state as soon as this process is gone: vesseld must have the end first */
            container_path(&path, "/v1/containers/", s->id, "/wait");
            char *ignored = NULL;
            call("POST", path.data, NULL, NULL, &ignored);
            return code;
        }
        if (status < 0) { /* the daemon is away: a new one is started by the engine's next call */
            if (s->notify >= 0)
                shim_failed(s, "cannot reach vesseld to attach to the container");
            if (!unreachable_since)
                unreachable_since = time(NULL);
            if (time(NULL) - unreachable_since > 60)
                return UNKNOWN_EXIT;
            pause_briefly();
            continue;
        }
        /* not attachable: it ended (or is ending); its termination says how */
        container_path(&path, "/v1/containers/", s->id, "/wait");
        char *message = NULL;
        if (call("POST", path.data, NULL, &body, &message) != 0) {
            if (s->notify >= 0)
                shim_failed(s, message);
            return UNKNOWN_EXIT;
        }
        shim_ready(s);
        return exit_code(body.data);
    }
}

/* An exec's shim: its start is the attach; a stream that ends without EXIT falls back to the exec's record. */
static int run_exec_shim(struct shim *s)
{
    struct buf path = { 0 }, body = { 0 };
    container_path(&path, "/v1/containers/", s->id, "/exec/");
    put_segment(&path, s->exec_id);
    size_t exec_path = path.len;
    puts_(&path, "/start");
    int sock = -1;
    int status = request(socket_path, "POST", path.data, NULL, 1, &sock, &body);
    if (status < 0)
        shim_failed(s, "cannot reach vesseld to start the exec");
    if (status != 101)
        shim_failed(s, refusal(status, body.data));
    shim_ready(s);
    int code = relay(sock, stdin_is_open(), s->terminal, s->size_fd);
    close(sock);
    if (code >= 0)
        return code;
    path.len = exec_path;
    path.data[path.len] = 0;
    for (int tries = 0; tries < 100; tries++) { /* 10 s for a daemon to record (or a new one to find) its end */
        char *ignored = NULL;
        if (call("GET", path.data, NULL, &body, &ignored) == 0) {
            char *state = json_string(body.data, "state");
            int exited = state && strcmp(state, "EXEC_EXITED") == 0;
            free(state);
            if (exited)
                return (int)json_number(body.data, "exit_code", UNKNOWN_EXIT);
        }
        pause_briefly();
    }
    return UNKNOWN_EXIT;
}

/*
 * The container's detached shim moves into its task's mount namespace: engines read the processes of a
 * container (podman top) from /proc as seen from the mount namespace of the pid in the pid file, which is the
 * shim's. Only a task with a pid namespace of its own has a /proc of its own (a VM's pid is QEMU's, left alone).
 * vesseld's socket stays reachable: its directory, opened before, is the working directory after.
 */
static void enter_task_mounts(struct shim *s)
{
    if (!s->task_pid) {
        struct buf path = { 0 }, state = { 0 };
        container_path(&path, "/v1/oci/containers/", s->id, "");
        char *ignored = NULL;
        if (call("GET", path.data, NULL, &state, &ignored) != 0)
            return;
        s->task_pid = json_number(state.data, "pid", 0);
    }
    char task_pids[64], task_mounts[64];
    snprintf(task_pids, sizeof task_pids, "/proc/%ld/ns/pid", s->task_pid);
    snprintf(task_mounts, sizeof task_mounts, "/proc/%ld/ns/mnt", s->task_pid);
    struct stat own, task;
    if (s->task_pid <= 0 || stat("/proc/self/ns/pid", &own) < 0 || stat(task_pids, &task) < 0
        || (own.st_dev == task.st_dev && own.st_ino == task.st_ino))
        return;
    char *slash = strrchr(socket_path, '/');
    char directory[sizeof socket_path];
    snprintf(directory, sizeof directory, "%.*s", slash ? (int)(slash - socket_path) : 1, slash ? socket_path : ".");
    int dir = open(directory[0] ? directory : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int mounts = open(task_mounts, O_RDONLY | O_CLOEXEC);
    if (dir >= 0 && mounts >= 0 && setns(mounts, CLONE_NEWNS) == 0) {
        if (fchdir(dir) == 0 && slash)
            memmove(socket_path, slash + 1, strlen(slash + 1) + 1);
    }
    if (dir >= 0)
        close(dir);
    if (mounts >= 0)
        close(mounts);
}

static int shim_main(struct shim *s)
{
    if (s->console_socket) {
        const char *failure = make_terminal(s);
        if (failure)
            shim_failed(s, failure);
    }
    s->size_fd = s->terminal >= 0 ? s->terminal : s->stdio_terminal ? use_own_terminal() : -1;
    if (!s->exec_id && s->notify >= 0)
        enter_task_mounts(s);
    return s->exec_id ? run_exec_shim(s) : run_shim(s);
}

/*
 * Forks the shim into a session of its own (as runc's container process is), keeping only fds 0-2 of what
 * this process holds, and waits until it is attached; its pid goes into the pid file. This process then
 * exits, so the shim is the engine's sub-reaper's child, as runc's container process is.
 */
static int spawn_shim(struct shim *s, const char *pid_file)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0)
        return fail("starting the shim: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return fail("starting the shim: %s", strerror(errno));
    if (pid == 0) {
        close(pipe_fds[0]);
        int notify = pipe_fds[1];
        if (notify > 3)
            close_range(3, (unsigned)notify - 1, 0);
        close_range((unsigned)notify + 1, ~0U, 0);
        setsid();
        if (chdir("/") < 0) {
            /* the working directory only matters for relative paths, and none is used from here on */
        }
        s->notify = notify;
        exit(shim_main(s));
    }
    close(pipe_fds[1]);
    struct buf answer = { 0 };
    puts_(&answer, "");
    char chunk[4096];
    ssize_t r;
    while ((r = read(pipe_fds[0], chunk, sizeof chunk)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        put(&answer, chunk, (size_t)r);
    }
    close(pipe_fds[0]);
    if (answer.len == 0 || answer.data[0] != 'A') {
        waitpid(pid, NULL, 0);
        return fail("%s", answer.len > 1 ? answer.data + 1 : "the shim ended before it attached");
    }
    return pid_file ? write_pid_file(pid_file, pid) : 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* the commands */

#define MAX_POSITIONAL 4

/* `create --bundle DIR [--pid-file F] ID`: the container CREATED, a shim attached to it left in its place. */
static int create(int count, char **words)
{
    struct opt opts[] = { { "bundle", 'b', 1, NULL }, { "pid-file", 0, 1, NULL }, { "console-socket", 0, 1, NULL },
        { "preserve-fds", 0, 1, NULL }, { "no-pivot", 0, 0, NULL }, { "no-new-keyring", 0, 0, NULL },
        { "detach", 'd', 0, NULL }, { "keep", 0, 0, NULL }, { NULL, 0, 0, NULL } };
    char *positional[MAX_POSITIONAL];
    int n;
    if (parse_flags(count, words, opts, positional, &n, MAX_POSITIONAL) < 0 || n != 1 || opt(opts, "no-pivot"))
        return -1;
    const char *preserve = opt(opts, "preserve-fds");
    if ((preserve && strcmp(preserve, "0") != 0) || !daemon_answers())
        return -1;
    handled();
    const char *id = positional[0];
    char *bundle = absolute(opt(opts, "bundle") ? opt(opts, "bundle") : ".");
    if (!bundle)
        return fail("bundle: %s", strerror(errno));
    struct buf json = { 0 };
    puts_(&json, "{\"id\":");
    put_json_string(&json, id);
    puts_(&json, ",\"bundle\":");
    put_json_string(&json, bundle);
    puts_(&json, vm ? ",\"isolation\":\"vm\"" : "");
    const char *console = opt(opts, "console-socket");
    puts_(&json, console ? ",\"console_socket\":true" : stdin_is_open() ? ",\"interactive\":true" : "");
    puts_(&json, "}");
    char *console_path = console ? absolute(console) : NULL;
    if (console && !console_path)
        return fail("console socket: %s", strerror(errno));
    struct buf state = { 0 };
    if (call("POST", "/v1/oci/containers", json.data, &state, NULL) != 0)
        return 1;
    struct shim s = { .id = id, .console_socket = console_path, .terminal = -1, .notify = -1,
        .task_pid = json_number(state.data, "pid", 0) };
    return spawn_shim(&s, opt(opts, "pid-file"));
}

/* One ID and no flag (start, state). */
static const char *one_id(int count, char **words)
{
    struct opt opts[] = { { NULL, 0, 0, NULL } };
    char *positional[MAX_POSITIONAL];
    int n;
    return parse_flags(count, words, opts, positional, &n, MAX_POSITIONAL) == 0 && n == 1 ? positional[0] : NULL;
}

static int start(int count, char **words)
{
    const char *id = one_id(count, words);
    if (!id || !daemon_answers())
        return -1;
    handled();
    struct buf path = { 0 };
    container_path(&path, "/v1/oci/containers/", id, "/start");
    return call("POST", path.data, NULL, NULL, NULL);
}

static int state(int count, char **words)
{
    const char *id = one_id(count, words);
    if (!id || !daemon_answers())
        return -1;
    handled();
    struct buf path = { 0 }, body = { 0 };
    container_path(&path, "/v1/oci/containers/", id, "");
    if (call("GET", path.data, NULL, &body, NULL) != 0)
        return 1;
    puts_(&body, "\n");
    return write_all(1, body.data, body.len) < 0 ? fail("writing the state: %s", strerror(errno)) : 0;
}

/* `kill [--all] ID [SIGNAL]`, SIGTERM by default; a container that ended is "not running", as runc says. */
static int kill_container(int count, char **words)
{
    struct opt opts[] = { { "all", 'a', 0, NULL }, { NULL, 0, 0, NULL } };
    char *positional[MAX_POSITIONAL];
    int n;
    if (parse_flags(count, words, opts, positional, &n, MAX_POSITIONAL) < 0 || n < 1 || n > 2)
        return -1;
    int signal = signal_number(n == 2 ? positional[1] : "TERM");
    if (!signal || !daemon_answers())
        return -1;
    handled();
    struct buf path = { 0 };
    char query[32];
    snprintf(query, sizeof query, "/kill?signal=%d", signal);
    container_path(&path, "/v1/containers/", positional[0], query);
    char *message = NULL;
    if (call("POST", path.data, NULL, NULL, &message) == 0)
        return 0;
    if (strstr(message, "is TERMINATED") || strstr(message, "is DESTROYING"))
        return fail("container not running");
    return fail("%s", message);
}

/* `delete [--force] ID`; as runc, a forced delete of a container that does not exist is done. */
static int delete_container(int count, char **words)
{
    struct opt opts[] = { { "force", 'f', 0, NULL }, { NULL, 0, 0, NULL } };
    char *positional[MAX_POSITIONAL];
    int n;
    if (parse_flags(count, words, opts, positional, &n, MAX_POSITIONAL) < 0 || n != 1 || !daemon_answers())
        return -1;
    handled();
    int force = opt(opts, "force") != NULL;
    struct buf path = { 0 };
    container_path(&path, "/v1/oci/containers/", positional[0], force ? "?force=1" : "");
    char *message = NULL;
    if (call("DELETE", path.data, NULL, NULL, &message) == 0)
        return 0;
    if (force && strcmp(message, "container does not exist") == 0)
        return 0;
    return fail("%s", message);
}

/*
 * `exec [--process FILE] [--detach] [--pid-file F] [--tty] [--console-socket S] ID [COMMAND…]`: the exec
 * created (POST /v1/oci/containers/ID/exec, which reads the process section), then an exec shim starts it
 * and relays it: this process in the foreground, a detached one left in its place with --detach.
 */
static int exec_command(int count, char **words)
{
    struct opt opts[] = { { "process", 'p', 1, NULL }, { "pid-file", 0, 1, NULL }, { "console-socket", 0, 1, NULL },
        { "preserve-fds", 0, 1, NULL }, { "detach", 'd', 0, NULL }, { "tty", 't', 0, NULL }, { NULL, 0, 0, NULL } };
    char **positional = calloc((size_t)count + 1, sizeof *positional);
    int n;
    if (!positional || parse_flags_from(count, words, opts, positional, &n, count, 1) < 0 || n < 1)
        return -1;
    const char *process = opt(opts, "process"), *preserve = opt(opts, "preserve-fds");
    const char *console = opt(opts, "console-socket");
    if ((process ? n != 1 : n < 2) || (preserve && strcmp(preserve, "0") != 0) || !daemon_answers())
        return -1; /* the Java runtime says what is wrong */
    handled();
    struct buf json = { 0 };
    if (process) {
        int fd = open(process, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail("reading the process %s: %s", process, strerror(errno));
        puts_(&json, "{\"process\":");
        char chunk[4096];
        ssize_t r;
        while ((r = read(fd, chunk, sizeof chunk)) > 0 && json.len < MAX_BODY)
            put(&json, chunk, (size_t)r);
        close(fd);
    } else {
        puts_(&json, "{\"args\":[");
        for (int a = 1; a < n; a++) {
            puts_(&json, a > 1 ? "," : "");
            put_json_string(&json, positional[a]);
        }
        puts_(&json, "]");
    }
    puts_(&json, console ? ",\"console_socket\":true" : opt(opts, "detach") ? "" : ",\"terminal_stdio\":true");
    puts_(&json, stdin_is_open() ? ",\"interactive\":true" : "");
    puts_(&json, !process && opt(opts, "tty") ? ",\"tty\":true}" : "}");
    char *console_path = console ? absolute(console) : NULL;
    if (console && !console_path)
        return fail("console socket: %s", strerror(errno));
    struct buf path = { 0 }, answer = { 0 };
    container_path(&path, "/v1/oci/containers/", positional[0], "/exec");
    if (call("POST", path.data, json.data, &answer, NULL) != 0)
        return 1;
    char *exec_id = json_string(answer.data, "id");
    if (!exec_id)
        return fail("vesseld's answer names no exec: %s", answer.data);
    struct shim s = { .id = positional[0], .exec_id = exec_id, .console_socket = console_path, .terminal = -1,
        .notify = -1, .stdio_terminal = !console && strstr(answer.data, "\"tty\":true") != NULL };
    if (opt(opts, "detach"))
        return spawn_shim(&s, opt(opts, "pid-file"));
    if (opt(opts, "pid-file") && write_pid_file(opt(opts, "pid-file"), getpid()) != 0)
        return 1;
    if (console)
        setsid(); /* as the foreground shim command */
    return shim_main(&s);
}

/* `shim …` and `exec-shim …` (see the top); never handed to Java. */
static int shim_command(int count, char **words, int exec)
{
    struct opt opts[] = { { "detach", 0, 0, NULL }, { "start", 0, 0, NULL }, { "pid-file", 0, 1, NULL },
        { "console-socket", 0, 1, NULL }, { "tty", 0, 0, NULL }, { NULL, 0, 0, NULL } };
    char *positional[MAX_POSITIONAL];
    int n;
    handled();
    if (parse_flags(count, words, opts, positional, &n, MAX_POSITIONAL) < 0 || n != (exec ? 2 : 1)
        || (exec && opt(opts, "start")))
        return fail(exec ? "usage: vessel-runtime exec-shim [--detach] [--pid-file F] [--console-socket S] [--tty] ID EXEC"
                         : "usage: vessel-runtime shim [--detach] [--start] [--pid-file F] [--console-socket S] [--tty] ID");
    const char *console = opt(opts, "console-socket");
    struct shim s = { .id = positional[0], .exec_id = exec ? positional[1] : NULL, .start = opt(opts, "start") != NULL,
        .console_socket = console ? absolute(console) : NULL, .terminal = -1, .notify = -1,
        .stdio_terminal = opt(opts, "tty") && !console && !opt(opts, "detach") };
    if (console && !opt(opts, "detach"))
        setsid(); /* a terminal of its own needs a session of its own; fails harmlessly for a group leader */
    if (opt(opts, "detach"))
        return spawn_shim(&s, opt(opts, "pid-file"));
    if (opt(opts, "pid-file") && write_pid_file(opt(opts, "pid-file"), getpid()) != 0)
        return 1;
    return shim_main(&s);
}

int main(int argc, char **argv)
{
    argc0 = argc;
    argv0 = argv;
    signal(SIGPIPE, SIG_IGN); /* a reader gone is an EPIPE to shrug off, not the end */
    const char *root = DEFAULT_ROOT;
    int i = 1;
    /* the global flags, up to the command's name */
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "-") != 0; i++) {
        const char *name = argv[i] + (argv[i][1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
#define IS(n) (len == strlen(n) && strncmp(name, n, len) == 0)
        if (IS("root") || IS("log") || IS("log-format") || IS("rootless") || IS("criu")) {
            if (!value) {
                if (i + 1 >= argc)
                    break;
                value = argv[++i];
            }
            if (IS("root"))
                root = value;
            else if (IS("log"))
                log_file = absolute(value); /* a detached shim works from / */
            else if (IS("log-format") && (strcmp(value, "json") == 0 || strcmp(value, "text") == 0))
                log_json = strcmp(value, "json") == 0;
            else if (!IS("criu") && !(IS("rootless") && strcmp(value, "false") == 0))
                break;
        } else if (IS("debug") && (!value || strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
            debug = !value || strcmp(value, "true") == 0;
        } else if (IS("vm") && (!value || strcmp(value, "true") == 0 || strcmp(value, "false") == 0)) {
            vm = !value || strcmp(value, "true") == 0;
        } else {
            break; /* --help, --version, --systemd-cgroup, "--", unknown: the Java runtime's */
        }
#undef IS
    }
    if (i >= argc || argv[i][0] == '-') {
        fallback();
        handled();
        return fail("usage: vessel-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--vm] COMMAND");
    }
    char *root_path = absolute(root);
    if (!root_path)
        return fail("--root %s: %s", root, strerror(errno));
    snprintf(socket_path, sizeof socket_path, "%s/run/vessel.sock", strcmp(root_path, "/") == 0 ? "" : root_path);
    const char *command = argv[i];
    int count = argc - i - 1;
    char **words = argv + i + 1;
    int rc = -1;
    if (strcmp(command, "shim") == 0 || strcmp(command, "exec-shim") == 0)
        return shim_command(count, words, command[0] == 'e');
    if (strcmp(command, "create") == 0)
        rc = create(count, words);
    else if (strcmp(command, "start") == 0)
        rc = start(count, words);
    else if (strcmp(command, "state") == 0)
        rc = state(count, words);
    else if (strcmp(command, "kill") == 0)
        rc = kill_container(count, words);
    else if (strcmp(command, "delete") == 0)
        rc = delete_container(count, words);
    else if (strcmp(command, "exec") == 0)
        rc = exec_command(count, words);
    if (rc >= 0)
        return rc;
    fallback();
    handled();
    if (!daemon_answers())
        return fail("no vesseld answers on %s (and no Java runtime to start one: VESSEL_RUNTIME_JAVA)", socket_path);
    return fail("\"%s\" with these arguments is the Java runtime's (VESSEL_RUNTIME_JAVA is not set)", command);
}
