/* Every Juju hook tool on a localjuju machine, compiled: the same client as hooktool.py.
 *
 * Juju's hook tools are one small compiled binary that hands its arguments to the unit
 * agent over a socket; this is that client for localjuju's tool server (toolserver.py),
 * speaking hooktool.py's protocol: it sends the tool's name (how it was called), its
 * arguments and the caller's JUJU_* environment to $LOCALJUJU_SOCKET, reads a file or
 * stdin only when the tool asks for it, prints what the tool printed and exits with its
 * code. Messages both ways are lists of byte strings: their count, then each one's length
 * and bytes, every number as 8 hex digits. The agent builds it statically with the host's
 * C compiler when there is one (agent.hook_tool_binary), else the machine runs hooktool.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

struct buf { char *data; size_t len, cap; };

static void grow(struct buf *b, size_t more) {
    if (b->len + more <= b->cap) return;
    b->cap = (b->len + more) * 2 + 64;
    b->data = realloc(b->data, b->cap);
    if (!b->data) { perror("ERROR out of memory"); exit(1); }
}

static void add(struct buf *b, const char *data, size_t len) {
    grow(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void add_field(struct buf *b, const char *data, size_t len) {
    char size[9];
    snprintf(size, sizeof size, "%08zx", len);
    add(b, size, 8);
    add(b, data, len);
}

static void send_all(int fd, const struct buf *b) {
    size_t sent = 0;
    while (sent < b->len) {
        ssize_t n = write(fd, b->data + sent, b->len - sent);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) exit(1);
        sent += (size_t)n;
    }
}

static int read_exactly(int fd, char *into, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, into + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

static long read_size(int fd) {
    char hex[9] = {0};
    if (read_exactly(fd, hex, 8) < 0) return -1;
    char *end;
    long value = strtol(hex, &end, 16);
    return *end ? -1 : value;
}

/* The next message: up to 8 fields (NUL-terminated copies); their count, or -1. */
static long read_message(int fd, struct buf *fields, long most) {
    long count = read_size(fd);
    if (count < 0 || count > most) return -1;
    for (long i = 0; i < count; i++) {
        long len = read_size(fd);
        if (len < 0) return -1;
        fields[i].len = 0;
        grow(&fields[i], (size_t)len + 1);
        if (read_exactly(fd, fields[i].data, (size_t)len) < 0) return -1;
        fields[i].len = (size_t)len;
        fields[i].data[len] = 0;
    }
    return count;
}

static int slurp(int fd, struct buf *into) {
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return 0;
        add(into, chunk, (size_t)n);
    }
}

/* Answer the server's "read <path>": the file's bytes (or stdin's, for "-"), or why not. */
static void answer_read(int fd, const char *path) {
    struct buf data = {0}, reply = {0};
    int source = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    int failed = source < 0 || slurp(source, &data) < 0;
    int error = errno;
    if (source > 0) close(source);
    add(&reply, "00000002", 8);
    if (failed) {
        char reason[512];
        snprintf(reason, sizeof reason, "open %s: %s", path, strerror(error));
        for (char *c = reason; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        add_field(&reply, "error", 5);
        add_field(&reply, reason, strlen(reason));
    } else {
        add_field(&reply, "ok", 2);
        add_field(&reply, data.data ? data.data : "", data.len);
    }
    send_all(fd, &reply);
    free(data.data);
    free(reply.data);
}

static int not_in_hook(const char *name) {
    fprintf(stderr, "ERROR %s: not running in a hook context\n", name);
    return 1;
}

int main(int argc, char **argv) {
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash ? slash + 1 : argv[0];
    const char *address = getenv("LOCALJUJU_SOCKET");
    struct sockaddr_un server = {.sun_family = AF_UNIX};
    if (!address || !*address || strlen(address) >= sizeof server.sun_path) return not_in_hook(name);
    strcpy(server.sun_path, address);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof server) < 0) return not_in_hook(name);

    long count = 2 + (argc - 1);
    for (char **e = environ; *e; e++) count += !strncmp(*e, "JUJU_", 5);
    struct buf request = {0};
    char number[32];
    snprintf(number, sizeof number, "%08lx", count);
    add(&request, number, 8);
    add_field(&request, name, strlen(name));
    snprintf(number, sizeof number, "%d", argc - 1);
    add_field(&request, number, strlen(number));
    for (int i = 1; i < argc; i++) add_field(&request, argv[i], strlen(argv[i]));
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "JUJU_", 5)) add_field(&request, *e, strlen(*e));
    send_all(fd, &request);

    struct buf fields[8] = {{0}};
    for (;;) {
        long got = read_message(fd, fields, 8);
        if (got < 1) return not_in_hook(name);
        if (!strcmp(fields[0].data, "read") && got == 2) {
            answer_read(fd, fields[1].data);
            continue;
        }
        if (strcmp(fields[0].data, "exit") || got != 5) return not_in_hook(name);
        fwrite(fields[2].data, 1, fields[2].len, stdout);
        fflush(stdout);
        fwrite(fields[3].data, 1, fields[3].len, stderr);
        if (fields[4].len) kill(getppid(), SIGTERM); /* juju-reboot --now: Juju kills the hook */
        return atoi(fields[1].data);
    }
}
