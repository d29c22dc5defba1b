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
#include "vessel-http.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAILED 125
#define DEFAULT_HOST "unix:///run/vessel/vessel.sock"

static const char *socket_path;

static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "vessel: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return FAILED;
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
    vh_failed_exit = FAILED;
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
    int status = request(socket_path, "POST", path.data, json.data, 0, NULL, &body);
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
    status = request(socket_path, "POST", path.data, NULL, 1, &fd, &body);
    if (status < 0)
        return fail("cannot reach vesseld", strerror(errno));
    if (status != 101)
        return refused(status, &body);
    static char payload[1 << 20];
    for (;;) {
        unsigned char hdr[5];
        if (read_full(fd, hdr, sizeof hdr) < 0)
            break;
        uint32_t len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
        if (len > sizeof payload || read_full(fd, payload, len) < 0)
            break;
        if (hdr[0] == FRAME_STDOUT || hdr[0] == FRAME_STDERR) {
            /* a reader that went away drops the output; the status still matters */
            if (write_all(hdr[0] == FRAME_STDOUT ? 1 : 2, payload, len) < 0 && errno != EPIPE)
                break;
        } else if (hdr[0] == FRAME_EXIT && len == 4) {
            return frame_i32((const unsigned char *)payload);
        }
    }
    /* The stream ended without its EXIT: the exec's record says how it ended, if it did. */
    path.len = exec_path_len;
    path.data[path.len] = 0;
    body.len = 0;
    status = request(socket_path, "GET", path.data, NULL, 0, NULL, &body);
    char *state = status == 200 ? json_string(body.data, "state") : NULL;
    if (state && strcmp(state, "EXEC_EXITED") == 0) {
        const char *code = strstr(body.data, "\"exit_code\"");
        return code ? atoi(code + strlen("\"exit_code\"") + 1) : 0;
    }
    return fail("the connection to the exec closed while it ran", exec_id);
}
