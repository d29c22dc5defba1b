/*
 * vessel-exec: the native fast path of `vessel [--host unix:///PATH] exec CONTAINER COMMAND...` with no
 * other option (no -i, -t, -d, -e, -u, -w). The same two calls the Java CLI makes: POST
 * /v1/containers/ID/exec, then its start on an upgraded connection whose stdio frames (core.stdio's
 * StdioFrame: u8 type, u32 big-endian length, payload) go to stdout and stderr until the EXIT frame, whose
 * status is this program's. A JVM's start is most of what `vessel exec` costs; this is what runc and crun
 * cost. bin/vessel chooses it; everything else stays with the Java CLI, which is the reference.
 *
 * Exit codes as the Java CLI's: the command's status, or 125 when the daemon or this client failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FAILED 125
#define DEFAULT_HOST "unix:///run/vessel/vessel.sock"
#define MAX_BODY (1 << 20)

static const char *socket_path;

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "vessel: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return FAILED;
}

static int connect_daemon(void)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(socket_path) >= sizeof addr.sun_path)
        return -1;
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

static int write_all(int fd, const char *buf, size_t n)
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

static int read_full(int fd, void *buf, size_t n)
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

/* A growing string. */
struct buf {
    char *data;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) {
            fputs("vessel: out of memory\n", stderr);
            exit(FAILED);
        }
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes (UTF-8) as they are. */
static void put_json_string(struct buf *b, const char *s)
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

/* A path segment: what is not unreserved is percent-encoded, as the Java CLI's Paths.segment does. */
static void put_segment(struct buf *b, const char *s)
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

/* The value of a top-level string member, unescaped only for the simple strings the daemon's ids and
 * messages are; NULL when absent. */
static char *json_string(const char *json, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\"", name);
    const char *p = strstr(json, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p != '"')
        return NULL;
    struct buf out = { 0 };
    puts_(&out, "");
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            put(&out, &c, 1);
        } else {
            put(&out, p, 1);
        }
    }
    return out.data;
}

/* One request on a new connection; its status, and (with body) the whole answer's body. */
static int request(const char *method, const char *path, const char *json, int upgrade, int *fd_out,
                   struct buf *body)
{
    int fd = connect_daemon();
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
        close(fd);
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
    free(head.data);
    if (body) {
        puts_(body, "");
        char chunk[4096];
        ssize_t r;
        while ((r = read(fd, chunk, sizeof chunk)) > 0 && body->len < MAX_BODY)
            put(body, chunk, (size_t)r);
    }
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return status;
}

/* The daemon's refusal as the Java CLI prints it: "field: message". */
static int refused(int status, struct buf *body)
{
    char *message = json_string(body->data, "message");
    char *field = json_string(body->data, "field");
    if (!message) {
        fprintf(stderr, "vessel: HTTP %d: %s\n", status, body->data);
    } else if (field && *field && !strstr(message, field)) {
        fprintf(stderr, "vessel: %s: %s\n", field, message);
    } else {
        fprintf(stderr, "vessel: %s\n", message);
    }
    free(message);
    free(field);
    return FAILED;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a reader gone is an EPIPE to shrug off, not the end */
    const char *host = getenv("VESSEL_HOST") ? getenv("VESSEL_HOST") : DEFAULT_HOST;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--host") == 0) {
        host = argv[i + 1];
        i += 2;
    }
    if (argc - i < 3 || strcmp(argv[i], "exec") != 0)
        return fail("usage", "vessel-exec [--host unix:///PATH] exec CONTAINER COMMAND...");
    if (strncmp(host, "unix://", 7) != 0)
        return fail("vessel-exec speaks to a unix socket only", host);
    socket_path = host + 7;
    const char *container = argv[i + 1];
    if (container[0] == '-' || argv[i + 2][0] == '-')
        return fail("vessel-exec takes no option (the Java CLI has them)", container[0] == '-' ? container : argv[i + 2]);

    struct buf path = { 0 }, json = { 0 }, body = { 0 };
    puts_(&path, "/v1/containers/");
    put_segment(&path, container);
    puts_(&path, "/exec");
    puts_(&json, "{\"command\":[");
    for (int a = i + 2; a < argc; a++) {
        if (a > i + 2)
            puts_(&json, ",");
        put_json_string(&json, argv[a]);
    }
    puts_(&json, "]}");
    int status = request("POST", path.data, json.data, 0, NULL, &body);
    if (status < 0)
        return fail("cannot reach vesseld", strerror(errno));
    if (status >= 400)
        return refused(status, &body);
    char *exec_id = json_string(body.data, "id");
    if (!exec_id)
        return fail("vesseld's answer names no exec", body.data);
    puts_(&path, "/");
    put_segment(&path, exec_id);
    size_t exec_path_len = path.len;
    puts_(&path, "/start");

    int fd = -1;
    body.len = 0;
    status = request("POST", path.data, NULL, 1, &fd, NULL);
    if (status < 0)
        return fail("cannot reach vesseld", strerror(errno));
    if (status != 101) {
        char chunk[4096];
        ssize_t r;
        puts_(&body, "");
        while ((r = read(fd, chunk, sizeof chunk)) > 0 && body.len < MAX_BODY)
            put(&body, chunk, (size_t)r);
        return refused(status, &body);
    }
    static char payload[1 << 20];
    for (;;) {
        unsigned char hdr[5];
        if (read_full(fd, hdr, sizeof hdr) < 0)
            break;
        uint32_t len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
        if (len > sizeof payload || read_full(fd, payload, len) < 0)
            break;
        if (hdr[0] == 0x11 || hdr[0] == 0x12) {
            /* a reader that went away drops the output; the status still matters */
            if (write_all(hdr[0] == 0x11 ? 1 : 2, payload, len) < 0 && errno != EPIPE)
                break;
        } else if (hdr[0] == 0x13 && len == 4) {
            return (int)((uint32_t)(unsigned char)payload[0] << 24 | (uint32_t)(unsigned char)payload[1] << 16
                         | (uint32_t)(unsigned char)payload[2] << 8 | (unsigned char)payload[3]);
        }
    }
    /* The stream ended without its EXIT: the exec's record says how it ended, if it did. */
    path.len = exec_path_len;
    path.data[path.len] = 0;
    body.len = 0;
    status = request("GET", path.data, NULL, 0, NULL, &body);
    char *state = status == 200 ? json_string(body.data, "state") : NULL;
    if (state && strcmp(state, "EXEC_EXITED") == 0) {
        const char *code = strstr(body.data, "\"exit_code\"");
        return code ? atoi(code + strlen("\"exit_code\"") + 1) : 0;
    }
    return fail("the connection to the exec closed while it ran", exec_id);
}
