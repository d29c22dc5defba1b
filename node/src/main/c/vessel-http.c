/* The native clients' shared HTTP-over-unix code; see vessel-http.h. */
#include "vessel-http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int vh_failed_exit = 1;

void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) {
            fputs("out of memory\n", stderr);
            exit(vh_failed_exit);
        }
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

void put_json_string(struct buf *b, const char *s)
{
    puts_(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(b, esc);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    puts_(b, "\"");
}

void put_segment(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
            || c == '_' || c == '~') {
            put(b, (const char *)&c, 1);
        } else {
            char esc[4];
            snprintf(esc, sizeof esc, "%%%02X", c);
            puts_(b, esc);
        }
    }
}

int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static const char *member(const char *json, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\"", name);
    const char *p = strstr(json, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':')
        p++;
    return p;
}

char *json_string(const char *json, const char *name)
{
    const char *p = member(json, name);
    if (!p || *p != '"')
        return NULL;
    struct buf out = { 0 };
    puts_(&out, "");
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
            if (*p == 'u' && strlen(p) >= 5) {
                c = (char)strtol((char[]){ p[1], p[2], p[3], p[4], 0 }, NULL, 16);
                p += 4;
            }
            put(&out, &c, 1);
        } else {
            put(&out, p, 1);
        }
    }
    return out.data;
}

long long json_number(const char *json, const char *name, long long otherwise)
{
    const char *p = member(json, name);
    if (!p)
        return otherwise;
    if (*p == '"')
        p++;
    char *end;
    long long n = strtoll(p, &end, 10);
    return end == p ? otherwise : n;
}

int connect_daemon(const char *socket_path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(socket_path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int request(const char *socket_path, const char *method, const char *path, const char *json, int upgrade,
            int *fd_out, struct buf *body)
{
    int fd = connect_daemon(socket_path);
    if (fd < 0)
        return -1;
    struct buf req = { 0 };
    char line[64];
    puts_(&req, method);
    puts_(&req, " ");
    puts_(&req, path);
    puts_(&req, " HTTP/1.1\r\nHost: vessel\r\n");
    puts_(&req, upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n");
    if (json)
        puts_(&req, "Content-Type: application/json\r\n");
    snprintf(line, sizeof line, "Content-Length: %zu\r\n\r\n", json ? strlen(json) : 0);
    puts_(&req, line);
    if (json)
        puts_(&req, json);
    int rc = write_all(fd, req.data, req.len);
    free(req.data);
    if (rc < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    /* The head, byte by byte: after a 101 the frames follow at once and must stay unread. */
    struct buf head = { 0 };
    puts_(&head, "");
    while (head.len < 4 || strcmp(head.data + head.len - 4, "\r\n\r\n") != 0) {
        char c;
        if (read_full(fd, &c, 1) < 0 || head.len > 16384) {
            free(head.data);
            close(fd);
            errno = EPROTO;
            return -1;
        }
        put(&head, &c, 1);
    }
    int status = 0;
    if (sscanf(head.data, "HTTP/1.1 %d", &status) != 1) {
        free(head.data);
        close(fd);
        errno = EPROTO;
        return -1;
    }
    /* a refused upgrade leaves the connection open: its body is as long as it says */
    long long length = -1;
    for (char *h = strchr(head.data, '\n'); h; h = strchr(h + 1, '\n')) {
        if (strncasecmp(h + 1, "content-length:", 15) == 0)
            length = strtoll(h + 16, NULL, 10);
    }
    free(head.data);
    if (status == 101 && fd_out) {
        *fd_out = fd;
        return status;
    }
    if (body) {
        body->len = 0;
        puts_(body, "");
        char chunk[4096];
        ssize_t r;
        while ((length < 0 || (long long)body->len < length) && body->len < MAX_BODY
               && (r = read(fd, chunk, length < 0 || length - (long long)body->len > (long long)sizeof chunk
                                           ? sizeof chunk : (size_t)(length - (long long)body->len))) > 0)
            put(body, chunk, (size_t)r);
    }
    close(fd);
    return status;
}

void frame_header(unsigned char header[5], int type, uint32_t length)
{
    header[0] = (unsigned char)type;
    header[1] = (unsigned char)(length >> 24);
    header[2] = (unsigned char)(length >> 16);
    header[3] = (unsigned char)(length >> 8);
    header[4] = (unsigned char)length;
}

int32_t frame_i32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}
