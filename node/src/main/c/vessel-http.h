/*
 * What the native clients (vessel-exec, vessel-runtime) share: HTTP/1.1 requests to vesseld over its unix
 * socket, one connection each (an upgraded one then carries stdio frames), a growing string, JSON strings
 * and path segments as the Java CLI writes them, and the few fields read from the daemon's flat answers.
 */
#ifndef VESSEL_HTTP_H
#define VESSEL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define MAX_BODY (1 << 20)

/* The exit status of a client that runs out of memory (each client's own "failed" code). */
extern int vh_failed_exit;

struct buf {
    char *data;
    size_t len, cap;
};

void put(struct buf *b, const char *s, size_t n);
void puts_(struct buf *b, const char *s);
/* A JSON string: quotes, backslashes and control characters escaped; other bytes (UTF-8) as they are. */
void put_json_string(struct buf *b, const char *s);
/* A path segment: what is not unreserved is percent-encoded, as the Java CLI's Paths.segment does. */
void put_segment(struct buf *b, const char *s);

int write_all(int fd, const char *buf, size_t n);
int read_full(int fd, void *buf, size_t n);

/* The value of a top-level string member, unescaped (\uXXXX below 0x80 only); NULL when absent. */
char *json_string(const char *json, const char *name);
/* The first integer member (protobuf JSON may quote it); `otherwise` when absent. */
long long json_number(const char *json, const char *name, long long otherwise);

/* A connected socket to the daemon at `socket_path`, or -1 with errno. */
int connect_daemon(const char *socket_path);

/*
 * One request on a new connection; its HTTP status, or -1 with errno when the daemon cannot be reached or
 * answers no HTTP. With `body`, the answer's body is read into it; after a 101 the connection is left open
 * in `fd_out` (the frames follow at once, unread), else closed.
 */
int request(const char *socket_path, const char *method, const char *path, const char *json, int upgrade,
            int *fd_out, struct buf *body);

/* A stdio frame (core.stdio.StdioFrame): u8 type, u32 big-endian length, payload. */
enum {
    FRAME_STDIN = 0x01,
    FRAME_STDIN_CLOSE = 0x02,
    FRAME_RESIZE = 0x03,
    FRAME_STDOUT = 0x11,
    FRAME_STDERR = 0x12,
    FRAME_EXIT = 0x13,
    FRAME_MAX = 1 << 20,
};

void frame_header(unsigned char header[5], int type, uint32_t length);
int32_t frame_i32(const unsigned char *payload);

#endif
