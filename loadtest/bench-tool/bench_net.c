/* bench_net: non-blocking TCP connect, and just enough HTTP/1.1 response-head
 * parsing for the WebSocket upgrade and the long-polling transport. */
#include "bench_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int net_connect(const bench_url *u, int *pending)
{
    int fd = socket(u->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *pending = 0;
    if (connect(fd, (const struct sockaddr *)&u->addr, u->addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        *pending = 1;
        return fd;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int net_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
        return errno;
    return err;
}

size_t http_head_len(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    return end ? (size_t)(end - buf) + 4 : 0;
}

int http_status(const char *head, size_t len)
{
    if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
        return -1;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return -1;
        status = status * 10 + (head[i] - '0');
    }
    return status;
}

int http_header(const char *head, size_t len, const char *name, const char **val, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', len), *end = head + len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        p = memchr(line, '\n', (size_t)(end - line));
        if (!p)
            break;
        if ((size_t)(p - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = p;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *val = v;
            *vlen = (size_t)(ve - v);
            return 0;
        }
    }
    return -1;
}

void http_status_line(const char *head, size_t len, char *out, size_t outlen)
{
    size_t l = 0;
    while (l < len && head[l] != '\r' && head[l] != '\n')
        l++;
    if (l > 9 && memcmp(head, "HTTP/1.", 7) == 0) {
        head += 9; /* "HTTP/1.1 " */
        l -= 9;
    }
    snprintf(out, outlen, "HTTP %.*s", (int)(l > 60 ? 60 : l), head);
}
