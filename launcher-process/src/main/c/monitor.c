/*
 * The monitor: after a successful launch the helper stays behind to pump
 * the task's stdout/stderr into capped log files, reap the task (and, as
 * child subreaper, any orphans), and record the task's exit status in
 * the plan's EXIT_FILE. It must keep working after Java is gone, so it never
 * talks to Java again and treats write errors on logs as non-fatal.
 */
#include "vessel-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536

int vl_log_open(struct vl_log *log, const char *path)
{
    struct stat st;
    log->path = path;
    log->size = 0;
    /* The rotated name is derived here rather than sent: it must stay next
     * to the log (rename(2) within one directory) whatever the plan says. */
    if (asprintf(&log->rotated, "%s.1", path) < 0) {
        log->rotated = NULL;
        errno = ENOMEM;
        log->fd = -1;
        return -1;
    }
    /* O_APPEND: a restarted task (same log files) continues its logs. */
    log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log->fd < 0)
        return -1;
    if (fstat(log->fd, &st) == 0)
        log->size = (uint64_t)st.st_size;
    return 0;
}

/* <log> -> <log>.1 (replacing the older one), then a new empty <log>.
 * Readers following the file by name see a fresh file; nothing is copied. */
static void log_rotate(struct vl_log *log)
{
    if (rename(log->path, log->rotated) < 0)
        fprintf(stderr, "vessel-launch: rotate %s: %s\n", log->path,
                strerror(errno));
    close(log->fd);
    log->fd = open(log->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND
                   | O_CLOEXEC, 0644);
    if (log->fd < 0)
        fprintf(stderr, "vessel-launch: reopen %s: %s\n", log->path,
                strerror(errno));
    log->size = 0;
}

/* Appends, splitting the data exactly at the cap so that no file ever
 * exceeds cap bytes (=> at most 2*cap per stream on disk). */
static void log_append(struct vl_log *log, uint64_t cap,
                       const char *buf, size_t n)
{
    while (n > 0) {
        if (cap && log->size >= cap)
            log_rotate(log);
        size_t chunk = n;
        if (cap && cap - log->size < chunk)
            chunk = (size_t)(cap - log->size);
        /* A full disk must not stop the pump (the task would block on a
         * full pipe); such output is dropped instead. */
        if (log->fd >= 0 && vl_write_all(log->fd, buf, chunk) < 0)
            fprintf(stderr, "vessel-launch: write %s: %s\n", log->path,
                    strerror(errno));
        log->size += chunk;
        buf += chunk;
        n -= chunk;
    }
}

/* Reads what is available on the pipe; returns 0 at EOF (or error), 1
 * otherwise. With drain set (pipe is O_NONBLOCK) it reads until EAGAIN. */
static int log_pump(struct vl_log *log, uint64_t cap, int drain)
{
    static char buf[CHUNK];
    for (;;) {
        ssize_t r = read(log->pipe_fd, buf, sizeof buf);
        if (r > 0) {
            log_append(log, cap, buf, (size_t)r);
            vl_stdio_output(log->frame, buf, (size_t)r);
            if (!drain && (size_t)r < sizeof buf)
                return 1; /* probably drained; let poll tell us */
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 1;
        /* EOF or a hard error: stop watching this pipe. A pty's master
         * reads EIO once no slave is open: its end. */
        return 0;
    }
}

int vl_write_exit_file(const char *path, const char *line)
{
    /* Atomic publish: readers either see no exit file or a complete one,
     * whenever the daemon or this monitor dies. No fsync: the run dir is
     * per boot, and Java does not read an earlier boot's exit files. The
     * temporary is "<path>.tmp", next to the file, so the rename is atomic. */
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (vl_write_all(fd, line, strlen(line)) < 0) {
        close(fd);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0)
        return -1;
    return 0;
}

int vl_monitor(pid_t task, int sigfd, struct vl_log logs[2],
               uint64_t log_cap, char *line, size_t linelen)
{
    int status = 0, task_done = 0;

    while (!task_done) {
        struct pollfd pfd[3 + VL_STDIO_POLLFDS] = {
            { sigfd, POLLIN, 0 },
            { logs[0].pipe_fd, POLLIN, 0 },
            { logs[1].pipe_fd, POLLIN, 0 },
        };
        vl_stdio_pollfds(pfd + 3);
        if (poll(pfd, 3 + VL_STDIO_POLLFDS, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "vessel-launch: poll: %s\n", strerror(errno));
            break;
        }
        vl_stdio_events(pfd + 3);
        for (int i = 0; i < 2; i++)
            if (pfd[i + 1].revents && !log_pump(&logs[i], log_cap, 0)) {
                close(logs[i].pipe_fd);
                logs[i].pipe_fd = -1; /* poll ignores negative fds */
            }
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == sizeof si)
                ;
            /* SIGCHLDs coalesce, so reap everything that is ready: the
             * task, and orphans reparented to us as subreaper. */
            pid_t p;
            int st;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == task) {
                    status = st;
                    task_done = 1;
                }
            if (p < 0 && errno == ECHILD && !task_done) {
                fprintf(stderr, "vessel-launch: task vanished\n");
                break;
            }
        }
    }

    /* Whatever the task wrote before dying is already in the pipes; take
     * it without blocking (a surviving grandchild could hold the pipes
     * open forever), so the logs are complete when the exit file appears. */
    for (int i = 0; i < 2; i++)
        if (logs[i].pipe_fd >= 0) {
            fcntl(logs[i].pipe_fd, F_SETFL, O_NONBLOCK);
            log_pump(&logs[i], log_cap, 1);
            close(logs[i].pipe_fd);
        }

    if (!task_done) {
        snprintf(line, linelen, "failed monitor: lost track of the task\n");
        return -1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(line, linelen, "signaled %d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    snprintf(line, linelen, "exited %d\n", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}
