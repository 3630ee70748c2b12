/* floor_out: everything written to sockets. The hot path is out_deliver():
 * mode write: one write() of the broadcast's frame; mode writev: a reference to
 * the frame in the socket's queue (a slot of F.slots, taken on its first frame
 * of the turn), written with one writev() by out_end_turn() (or when the queue
 * is full). No allocation and no copy per recipient, except when the socket
 * does not take it all: the rest is copied to its out buffer (FLOOR_OUT_MAX at
 * most, then it is closed), EPOLLOUT is asked for, and until that buffer is
 * written everything else for the socket is appended to it (order kept).
 * Polling members get the packet text appended to their session instead. */
#include "floor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

int buf_put(floor_buf **b, const void *p, size_t n, size_t max)
{
    floor_buf *x = *b;
    size_t len = x ? x->len : 0;
    if (n > max || len > max - n)
        return -1;
    if (!x || x->cap - len < n) {
        size_t cap = x && x->cap ? x->cap : 256;
        while (cap < len + n)
            cap *= 2;
        x = realloc(x, sizeof(*x) + cap);
        if (!x)
            return -1;
        x->cap = cap;
        x->len = len;
        *b = x;
    }
    memcpy(x->data + len, p, n);
    x->len = len + n;
    return 0;
}

void conn_kill(floor_conn *c)
{
    if (c->flags & F_DEAD)
        return;
    c->flags |= F_DEAD;
    c->dead_next = F.dead;
    F.dead = c;
}

void conn_close_after(floor_conn *c)
{
    if (c->out && c->out->len)
        c->flags |= F_CLOSE_AFTER;
    else
        conn_kill(c);
}

static void want_out(floor_conn *c, int on)
{
    if (!(c->flags & F_WANT_OUT) == !on)
        return;
    c->flags ^= F_WANT_OUT;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(F.epfd, EPOLL_CTL_MOD, c->fd, &ev))
        conn_kill(c);
}

/* Keeps iov's bytes from `done` on, in c->out. */
static void keep(floor_conn *c, const struct iovec *iov, int n, size_t done)
{
    for (int i = 0; i < n; i++) {
        size_t len = iov[i].iov_len;
        if (done >= len) {
            done -= len;
            continue;
        }
        if (buf_put(&c->out, (const char *)iov[i].iov_base + done, len - done, FLOOR_OUT_MAX)) {
            conn_kill(c); /* a client that does not read */
            return;
        }
        done = 0;
    }
    want_out(c, 1);
}

static void send_raw(floor_conn *c, const struct iovec *iov, int n)
{
    size_t done = 0;
    if (!c->out) {
        ssize_t w = n == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len) : writev(c->fd, iov, n);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_kill(c);
            return;
        }
        done = w > 0 ? (size_t)w : 0;
        size_t total = 0;
        for (int i = 0; i < n; i++)
            total += iov[i].iov_len;
        if (done == total)
            return;
    }
    keep(c, iov, n, done);
}

/* Writes the socket's queued frames with one writev() and drops their references. */
static void queue_flush(floor_conn *c)
{
    floor_slot *s = &F.slots[c->slot - 1];
    struct iovec iov[FLOOR_QUEUE_MAX];
    for (uint32_t i = 0; i < s->n; i++)
        iov[i] = (struct iovec){s->fr[i]->data + s->fr[i]->ws_off, s->fr[i]->ws_len};
    if (s->n && !(c->flags & F_DEAD))
        send_raw(c, iov, (int)s->n);
    for (uint32_t i = 0; i < s->n; i++)
        frame_unref(s->fr[i]);
    s->n = 0;
}

void conn_sendv(floor_conn *c, const struct iovec *iov, int n)
{
    if (c->flags & F_DEAD)
        return;
    if (c->slot) /* frames queued this turn go first */
        queue_flush(c);
    send_raw(c, iov, n);
}

void conn_on_writable(floor_conn *c)
{
    floor_buf *b = c->out;
    if (!b) {
        want_out(c, 0);
        return;
    }
    ssize_t w = write(c->fd, b->data, b->len);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_kill(c);
        return;
    }
    memmove(b->data, b->data + w, b->len - (size_t)w);
    b->len -= (size_t)w;
    if (b->len)
        return;
    free(b);
    c->out = NULL;
    want_out(c, 0);
    if (c->flags & F_CLOSE_AFTER)
        conn_kill(c);
}

void out_touch(floor_conn *c)
{
    if (c->flags & F_TOUCHED)
        return;
    c->flags |= F_TOUCHED;
    c->touched_next = F.touched;
    F.touched = c;
}

static int slot_take(floor_conn *c)
{
    if (F.n_slots == F.cap_slots) {
        uint32_t cap = F.cap_slots ? F.cap_slots * 2 : 256;
        floor_slot *s = realloc(F.slots, cap * sizeof(*s));
        if (!s)
            return -1;
        F.slots = s;
        F.cap_slots = cap;
    }
    F.slots[F.n_slots].n = 0;
    c->slot = ++F.n_slots;
    out_touch(c);
    return 0;
}

void out_deliver(floor_conn *c, floor_frame *f)
{
    if (c->flags & F_DEAD)
        return;
    F.n_deliveries++;
    if (c->kind == K_SESSION) {
        struct iovec pkt = {f->data + FLOOR_WS_HEAD_MAX, f->pkt_len};
        poll_send(c->sess, &pkt, 1);
        return;
    }
    if (F.mode == MODE_WRITE || c->out) { /* a socket that is behind gets it appended now */
        struct iovec iov = {f->data + f->ws_off, f->ws_len};
        conn_sendv(c, &iov, 1);
        return;
    }
    if (!c->slot && slot_take(c)) {
        conn_kill(c);
        return;
    }
    floor_slot *s = &F.slots[c->slot - 1];
    f->refs++;
    s->fr[s->n++] = f;
    if (s->n == FLOOR_QUEUE_MAX)
        queue_flush(c);
}

floor_frame *frame_new(const char *pkt, size_t len)
{
    floor_frame *f = len <= UINT32_MAX - FLOOR_WS_HEAD_MAX ? malloc(sizeof(*f) + FLOOR_WS_HEAD_MAX + len)
                                                            : NULL;
    if (!f)
        return NULL;
    uint8_t head[FLOOR_WS_HEAD_MAX];
    size_t hl = ws_head(head, len);
    f->refs = 1;
    f->ws_off = (uint32_t)(FLOOR_WS_HEAD_MAX - hl);
    f->ws_len = (uint32_t)(hl + len);
    f->pkt_len = (uint32_t)len;
    memcpy(f->data + f->ws_off, head, hl);
    memcpy(f->data + FLOOR_WS_HEAD_MAX, pkt, len);
    return f;
}

void frame_unref(floor_frame *f)
{
    if (--f->refs == 0)
        free(f);
}

void out_end_turn(void)
{
    while (F.touched) {
        floor_conn *c = F.touched;
        F.touched = c->touched_next;
        c->flags &= (uint8_t)~F_TOUCHED;
        if (c->kind == K_SESSION) {
            if (!(c->flags & F_DEAD))
                poll_flush(c->sess);
        } else if (c->slot) {
            queue_flush(c);
            c->slot = 0;
        }
    }
    F.n_slots = 0;
    while (F.dead) {
        floor_conn *c = F.dead;
        F.dead = c->dead_next;
        conn_free(c);
    }
}
