/*
 * ATTACH_SOCKET: the monitor serves the task's stdio on a unix socket, in
 * the stdio frames of every hop (Vessel's StdioFrame): u8 type, u32
 * big-endian payload length, payload of at most 1 MiB.
 *
 *   to the task:   STDIN 0x01, STDIN_CLOSE 0x02, RESIZE 0x03 (u16 rows, cols)
 *   from the task: STDOUT 0x11, STDERR 0x12, EXIT 0x13 (i32 status), last
 *
 * The monitor never waits for a client: the sockets are non-blocking, what
 * a client has not taken yet is queued up to a cap (over it the client is
 * dropped), a client that sends anything but a well-formed frame for the
 * task is dropped, and input for the task is queued up to a cap, over which
 * the clients are simply not read until the task takes some. One monitor
 * serves one task, so the state is this file's.
 */
#include "vessel-launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MAX_PENDING (4u << 20) /* output queued for one client */
#define STDIN_MAX_PENDING (1u << 20)  /* input queued for the task */
#define FRAME_MAX_PAYLOAD (1u << 20)
#define FRAME_HEADER 5
#define READ_CHUNK 65536
#define FINAL_FLUSH_MS 5000 /* how long clients get to take their last output */

enum { F_STDIN = 0x01, F_STDIN_CLOSE = 0x02, F_RESIZE = 0x03,
       F_EXIT = 0x13 };

/* Bytes data[off, len) are queued. */
struct buf {
    char *data;
    size_t off, len, cap;
};

struct client {
    int fd;            /* -1: a free slot */
    int eof;           /* sent all its input (shut down its side): only written to */
    unsigned char hdr[FRAME_HEADER]; /* the header of the frame being read */
    size_t hdr_got;
    uint32_t left;     /* payload bytes of that frame still to come */
    unsigned char size[4]; /* a RESIZE's payload */
    size_t size_got;
    struct buf out;    /* frames it has not taken yet */
};

static struct {
    int listen_fd;
    const char *path;
    int in_fd;      /* the task's stdin: a pipe's write end, or the pty; -1: none */
    int in_closing; /* STDIN_CLOSE came: close once the queue is written */
    int pty;        /* the pty's master (for RESIZE), -1 without a terminal */
    struct buf in;
    struct client clients[VL_STDIO_MAX_CLIENTS];
} S = { .listen_fd = -1, .in_fd = -1, .pty = -1 };

static size_t buf_used(const struct buf *b)
{
    return b->len - b->off;
}

static int buf_append(struct buf *b, const void *p, size_t n, size_t max)
{
    size_t used = buf_used(b);
    if (used + n > max)
        return -1;
    if (b->len + n > b->cap && b->off) {
        memmove(b->data, b->data + b->off, used);
        b->off = 0;
        b->len = used;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void buf_consume(struct buf *b, size_t n)
{
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
}

static void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void vl_stdio_remove(void)
{
    if (S.path)
        unlink(S.path);
    S.path = NULL;
}

int vl_stdio_listen(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    /* A socket is what a killed monitor of this task's leaves: replaced.
     * Anything else at the path is not ours to remove. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errno = EEXIST;
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* 0600 from the start: no moment in which another user may connect */
    mode_t mask = umask(0177);
    int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(mask);
    if (r < 0 || listen(fd, VL_STDIO_MAX_CLIENTS) < 0) {
        int e = errno;
        if (r == 0)
            unlink(path);
        close(fd);
        errno = e;
        return -1;
    }
    S.listen_fd = fd;
    S.path = path;
    return fd;
}

void vl_stdio_start(int in_fd, int pty)
{
    S.in_fd = in_fd;
    S.pty = pty;
    if (in_fd >= 0)
        fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
    for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++)
        S.clients[i].fd = -1;
}

static void drop_client(struct client *c, const char *why)
{
    if (why)
        fprintf(stderr, "vessel-launch: attach: dropped a client: %s\n", why);
    close(c->fd);
    buf_free(&c->out);
    c->fd = -1;
}

/* Writes what the client takes now; a client that is gone is dropped. */
static void flush_client(struct client *c)
{
    while (buf_used(&c->out) > 0) {
        ssize_t n = send(c->fd, c->out.data + c->out.off, buf_used(&c->out),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            buf_consume(&c->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        drop_client(c, NULL); /* it closed its end: a detach */
        return;
    }
}

static void send_frame(struct client *c, int type, const void *payload, size_t n)
{
    unsigned char hdr[FRAME_HEADER] = {
        (unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
        (unsigned char)(n >> 8), (unsigned char)n,
    };
    if (buf_used(&c->out) + sizeof hdr + n > CLIENT_MAX_PENDING
        || buf_append(&c->out, hdr, sizeof hdr, CLIENT_MAX_PENDING) < 0
        || buf_append(&c->out, payload, n, CLIENT_MAX_PENDING) < 0) {
        drop_client(c, "it left more than 4 MiB of output untaken");
        return;
    }
    flush_client(c);
}

void vl_stdio_output(int type, const char *data, size_t n)
{
    for (size_t done = 0; done < n;) {
        size_t k = n - done < FRAME_MAX_PAYLOAD ? n - done : FRAME_MAX_PAYLOAD;
        for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++)
            if (S.clients[i].fd >= 0)
                send_frame(&S.clients[i], type, data + done, k);
        done += k;
    }
}

/* The task's stdin is gone (it closed it, or ended): input is dropped. */
static void stdin_stop(void)
{
    buf_free(&S.in);
    if (S.in_fd >= 0 && S.in_fd != S.pty)
        close(S.in_fd);
    S.in_fd = -1;
    S.in_closing = 0;
}

static void flush_stdin(void)
{
    while (buf_used(&S.in) > 0) {
        ssize_t n = write(S.in_fd, S.in.data + S.in.off, buf_used(&S.in));
        if (n > 0) {
            buf_consume(&S.in, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        stdin_stop();
        return;
    }
    if (S.in_closing)
        stdin_stop(); /* EOF for the task */
}

static void stdin_write(const unsigned char *p, size_t n)
{
    if (S.in_fd < 0 || S.in_closing || n == 0)
        return; /* no stdin (not OPEN_STDIN, or closed): dropped */
    /* the clients are read only below the cap, in chunks of READ_CHUNK */
    if (buf_append(&S.in, p, n, STDIN_MAX_PENDING + READ_CHUNK) < 0) {
        fprintf(stderr, "vessel-launch: attach: stdin: out of memory\n");
        return;
    }
    flush_stdin();
}

/* STDIN_CLOSE: a pipe is closed once what came before is written; a
 * terminal stays open (it is the task's output too) and reads its
 * end-of-file character, which ends a read at the start of a line. */
static void stdin_close(void)
{
    if (S.in_fd < 0 || S.in_closing)
        return;
    if (S.in_fd == S.pty) {
        struct termios t;
        unsigned char eof = tcgetattr(S.pty, &t) == 0 ? t.c_cc[VEOF] : 4;
        stdin_write(&eof, 1);
        return;
    }
    S.in_closing = 1;
    flush_stdin();
}

static void resize(const unsigned char *p)
{
    struct winsize ws = {
        .ws_row = (unsigned short)(p[0] << 8 | p[1]),
        .ws_col = (unsigned short)(p[2] << 8 | p[3]),
    };
    /* the kernel sends SIGWINCH to the terminal's foreground group */
    if (S.pty >= 0 && ioctl(S.pty, TIOCSWINSZ, &ws) < 0)
        fprintf(stderr, "vessel-launch: attach: resize: %s\n", strerror(errno));
}

/* Takes the bytes a client sent: whole frames towards the task, or the
 * client is dropped. */
static void parse(struct client *c, const unsigned char *p, size_t n)
{
    char why[96];
    while (c->fd >= 0 && (n > 0 || (c->hdr_got == FRAME_HEADER && c->left == 0))) {
        if (c->hdr_got < FRAME_HEADER) {
            size_t k = FRAME_HEADER - c->hdr_got < n ? FRAME_HEADER - c->hdr_got : n;
            memcpy(c->hdr + c->hdr_got, p, k);
            c->hdr_got += k;
            p += k;
            n -= k;
            if (c->hdr_got < FRAME_HEADER)
                return;
            uint32_t len = (uint32_t)c->hdr[1] << 24 | (uint32_t)c->hdr[2] << 16
                | (uint32_t)c->hdr[3] << 8 | c->hdr[4];
            int ok = c->hdr[0] == F_STDIN ? len <= FRAME_MAX_PAYLOAD
                : c->hdr[0] == F_STDIN_CLOSE ? len == 0
                : c->hdr[0] == F_RESIZE ? len == 4 : 0;
            if (!ok) {
                snprintf(why, sizeof why, "it sent a frame of type 0x%02x and %u bytes",
                         c->hdr[0], len);
                drop_client(c, why);
                return;
            }
            c->left = len;
            c->size_got = 0;
        }
        size_t k = c->left < n ? c->left : n;
        if (c->hdr[0] == F_STDIN)
            stdin_write(p, k);
        else if (c->hdr[0] == F_RESIZE) {
            memcpy(c->size + c->size_got, p, k);
            c->size_got += k;
        }
        p += k;
        n -= k;
        c->left -= (uint32_t)k;
        if (c->left > 0)
            continue;
        if (c->hdr[0] == F_STDIN_CLOSE)
            stdin_close();
        else if (c->hdr[0] == F_RESIZE)
            resize(c->size);
        c->hdr_got = 0;
    }
}

static void read_client(struct client *c)
{
    static unsigned char data[READ_CHUNK];
    ssize_t n;
    while ((n = recv(c->fd, data, sizeof data, MSG_DONTWAIT)) < 0 && errno == EINTR)
        ;
    if (n > 0)
        parse(c, data, (size_t)n);
    else if (n == 0)
        c->eof = 1; /* it sends no more; it may still read */
    else if (errno != EAGAIN)
        drop_client(c, NULL);
}

static void accept_clients(void)
{
    for (;;) {
        int fd = accept4(S.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && errno == EINTR)
            continue;
        if (fd < 0)
            return; /* EAGAIN: no more waiting */
        struct client *c = NULL;
        for (int i = 0; i < VL_STDIO_MAX_CLIENTS && !c; i++)
            if (S.clients[i].fd < 0)
                c = &S.clients[i];
        if (!c) {
            fprintf(stderr, "vessel-launch: attach: refused a client: %d are attached\n",
                    VL_STDIO_MAX_CLIENTS);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof *c);
        c->fd = fd;
    }
}

/* Input is read only while the task's queue has room (or is dropped). */
static int reading(void)
{
    return S.in_fd < 0 || S.in_closing || buf_used(&S.in) < STDIN_MAX_PENDING;
}

void vl_stdio_pollfds(struct pollfd *pfd)
{
    int r = reading();
    pfd[0] = (struct pollfd){ S.listen_fd, POLLIN, 0 };
    pfd[1] = (struct pollfd){ buf_used(&S.in) ? S.in_fd : -1, POLLOUT, 0 };
    for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++) {
        struct client *c = &S.clients[i];
        short ev = (short)((r && !c->eof ? POLLIN : 0) | (buf_used(&c->out) ? POLLOUT : 0));
        /* one that sent all it had stays polled, to learn when it is gone
         * (POLLHUP needs asking for nothing); one not read for now is not */
        int fd = c->fd >= 0 && (ev || c->eof) ? c->fd : -1;
        pfd[2 + i] = (struct pollfd){ fd, ev, 0 };
    }
}

void vl_stdio_events(const struct pollfd *pfd)
{
    /* new clients first: attached before the output that woke us */
    if (pfd[0].revents)
        accept_clients();
    if (pfd[1].fd >= 0 && pfd[1].fd == S.in_fd) {
        if (pfd[1].revents & POLLOUT)
            flush_stdin();
        else if (pfd[1].revents)
            stdin_stop(); /* the task closed its stdin */
    }
    int r = reading();
    for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++) {
        struct client *c = &S.clients[i];
        short ev = pfd[2 + i].revents;
        if (!ev || c->fd < 0 || c->fd != pfd[2 + i].fd)
            continue;
        if (ev & POLLOUT)
            flush_client(c);
        if (c->fd >= 0 && !c->eof && r && (ev & (POLLIN | POLLHUP | POLLERR)))
            read_client(c);
        if (c->fd >= 0 && c->eof && (ev & (POLLHUP | POLLERR)))
            drop_client(c, NULL);
    }
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

void vl_stdio_finish(int status)
{
    /* nobody new: a late client finds no socket and reads the exit file */
    vl_stdio_remove();
    if (S.listen_fd >= 0)
        close(S.listen_fd);
    S.listen_fd = -1;
    stdin_stop();

    unsigned char exit[4] = {
        (unsigned char)(status >> 24), (unsigned char)(status >> 16),
        (unsigned char)(status >> 8), (unsigned char)status,
    };
    for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++)
        if (S.clients[i].fd >= 0 && status >= 0)
            send_frame(&S.clients[i], F_EXIT, exit, sizeof exit);

    /* A little while for the clients to take the rest, never longer. */
    long deadline = now_ms() + FINAL_FLUSH_MS;
    for (;;) {
        struct pollfd pfd[VL_STDIO_MAX_CLIENTS];
        int waiting = 0;
        for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++) {
            struct client *c = &S.clients[i];
            int pending = c->fd >= 0 && buf_used(&c->out) > 0;
            pfd[i] = (struct pollfd){ pending ? c->fd : -1, POLLOUT, 0 };
            waiting |= pending;
        }
        long left = deadline - now_ms();
        if (!waiting || left <= 0)
            break;
        if (poll(pfd, VL_STDIO_MAX_CLIENTS, (int)left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++)
            if (pfd[i].revents && S.clients[i].fd >= 0)
                flush_client(&S.clients[i]);
    }
    for (int i = 0; i < VL_STDIO_MAX_CLIENTS; i++)
        if (S.clients[i].fd >= 0)
            drop_client(&S.clients[i],
                        buf_used(&S.clients[i].out) ? "it did not take its last output" : NULL);
}
