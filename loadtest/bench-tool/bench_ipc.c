/* bench_ipc: blocking send of a framed message over a worker's socketpair. */
#include "bench_ipc.h"

#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

/* The socket may be non-blocking (libevent owns it on the parent side). */
static int wait_fd(int fd, short what)
{
    struct pollfd p = {.fd = fd, .events = what};
    return poll(&p, 1, 1000) < 0 && errno != EINTR ? -1 : 0;
}

int ipc_send(int fd, uint32_t type, const void *const *parts, const size_t *lens, size_t n_parts)
{
    struct iovec iov[IPC_MAX_PARTS + 1];
    size_t total = 0;
    for (size_t i = 0; i < n_parts; i++)
        total += lens[i];
    if (n_parts > IPC_MAX_PARTS || total > UINT32_MAX)
        return -1;
    ipc_hdr h = {type, (uint32_t)total};
    iov[0].iov_base = &h;
    iov[0].iov_len = sizeof(h);
    for (size_t i = 0; i < n_parts; i++) {
        iov[i + 1].iov_base = (void *)(uintptr_t)parts[i]; /* writev does not write through it */
        iov[i + 1].iov_len = lens[i];
    }
    struct iovec *v = iov;
    int cnt = (int)n_parts + 1;
    while (cnt > 0) {
        ssize_t w = writev(fd, v, cnt);
        if (w < 0) {
            if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !wait_fd(fd, POLLOUT))
                continue;
            return -1;
        }
        size_t done = (size_t)w;
        while (cnt > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            cnt--;
        }
        if (cnt > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
    return 0;
}

int ipc_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t r = read(fd, p, len);
        if (r == 0)
            return -1;
        if (r < 0) {
            if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !wait_fd(fd, POLLIN))
                continue;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}
