/* floor_conn: a connection's life. A connection is a fixed struct; it reads
 * into one buffer shared by all (FLOOR_IN_MAX bytes), and only what is left
 * unparsed after a read (a request or frame cut in two) is copied into a
 * buffer of its own, freed again once it is parsed. Input that fills the whole
 * buffer without a complete request or frame closes the connection (the
 * parsers refuse anything that could not fit before that). */
#include "floor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static char rbuf[FLOOR_IN_MAX];

floor_conn *conn_new(int fd)
{
    floor_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    c->kind = K_HTTP;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(F.epfd, EPOLL_CTL_ADD, fd, &ev)) {
        free(c);
        return NULL;
    }
    F.n_conns++;
    return c;
}

floor_conn *conn_new_session(floor_session *s)
{
    floor_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = -1;
    c->kind = K_SESSION;
    c->sess = s;
    return c;
}

/* Keeps rbuf[off, len) as the connection's unparsed input (or frees it). */
static void keep_rest(floor_conn *c, size_t off, size_t len)
{
    size_t rest = len - off;
    if (rest == 0) {
        free(c->in);
        c->in = NULL;
        return;
    }
    if (rest == sizeof(rbuf)) { /* full, and still nothing complete */
        conn_kill(c);
        return;
    }
    if (!c->in || c->in->cap < rest) {
        floor_buf *b = realloc(c->in, sizeof(*b) + rest);
        if (!b) {
            conn_kill(c);
            return;
        }
        b->cap = rest;
        c->in = b;
    }
    memmove(c->in->data, rbuf + off, rest);
    c->in->len = rest;
}

void conn_on_readable(floor_conn *c)
{
    size_t have = c->in ? c->in->len : 0;
    if (have)
        memcpy(rbuf, c->in->data, have);
    ssize_t n = read(c->fd, rbuf + have, sizeof(rbuf) - have);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_kill(c);
        return;
    }
    size_t len = have + (size_t)n, off = 0;
    while (off < len && !(c->flags & (F_DEAD | F_CLOSE_AFTER))) {
        ssize_t used = c->kind == K_WS ? ws_on_input(c, rbuf + off, len - off)
                                       : http_on_input(c, rbuf + off, len - off);
        if (used < 0) {
            conn_kill(c);
            return;
        }
        if (used == 0)
            break;
        off += (size_t)used;
    }
    if (c->flags & (F_DEAD | F_CLOSE_AFTER))
        off = len; /* what a closing connection still sends is not read */
    keep_rest(c, off, len);
}

void conn_free(floor_conn *c)
{
    rooms_leave_all(c);
    if (c->kind == K_SESSION)
        poll_free(c->sess);
    else if (c->sess && c->sess->held == c) /* it held a GET */
        c->sess->held = NULL;
    if (c->fd >= 0)
        close(c->fd); /* leaves the epoll set with it */
    free(c->rooms);
    free(c->in);
    free(c->out);
    free(c);
}
