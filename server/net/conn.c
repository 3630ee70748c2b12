/* conn: writes, closing, deadlines and per-peer accounting of the edge's
 * connections, the pool they share, and the events edge_lws.c delivers. See
 * conn.h. */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "edge_lws.h"

#define CONN_OF(entry) ((conn *)((char *)(entry) - offsetof(conn, deadline)))

/* ---- writing ---------------------------------------------------------------- */

int conn_alive(const conn *c)
{
    return c->state == CONN_OPEN;
}

/* Only what went through lws_write() can be held by lws: until then, and
 * once lws says it holds nothing, lws is not asked (its wsi is cold). */
int conn_buffered(conn *c)
{
    if (c->lws_may_hold && !edge_lws_buffered(c->wsi))
        c->lws_may_hold = 0;
    return c->lws_may_hold;
}

static int write_failed(conn *c)
{
    conn_kill(c);
    return -1;
}

int conn_write(conn *c, const void *p, size_t n)
{
    if (!conn_alive(c))
        return -1;
    if (!n)
        return 0;
    /* lws writes what the socket takes and keeps the rest, asking for POLLOUT */
    c->lws_may_hold = 1;
    if (edge_lws_write(c->wsi, p, n))
        return write_failed(c);
    return 0;
}

/* The part of `iov` from byte `skip` on, handed to lws (which copies it). */
static int write_rest(conn *c, const struct iovec *iov, int n, size_t skip)
{
    for (int i = 0; i < n; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        if (conn_write(c, (const uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip))
            return -1;
        skip = 0;
    }
    return 0;
}

int conn_writev(conn *c, const struct iovec *iov, int n)
{
    if (!conn_alive(c))
        return -1;
    if (conn_buffered(c)) /* behind what lws holds: append, in order */
        return write_rest(c, iov, n, 0);
    ssize_t w;
    do
        w = writev(c->fd, iov, n);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return write_failed(c);
    return write_rest(c, iov, n, w < 0 ? 0 : (size_t)w);
}

/* ---- closing ---------------------------------------------------------------- */

static void defer(conn *c);

/* Dead at once; closed by lws from the next check of the loop (outside any
 * callback of the connection: lws_set_timeout()'s own asynchronous kill waits
 * for lws's next service, which on an idle loop can be seconds away). */
void conn_kill(conn *c)
{
    if (c->state == CONN_DEAD)
        return;
    c->state = CONN_DEAD;
    conn_set_deadline(c, CONN_DL_NONE);
    conn_leave_head(c);
    defer(c);
}

/* FIN now, then read (and discard) until the client's FIN or the deadline. */
static void start_linger(conn *c)
{
    c->state = CONN_LINGER;
    if (shutdown(edge_lws_fd(c->wsi), SHUT_WR)) {
        conn_kill(c);
        return;
    }
    conn_set_deadline(c, CONN_DL_LINGER);
}

void conn_close(conn *c, int graceful)
{
    if (c->state != CONN_OPEN)
        return;
    conn_leave_head(c);
    if (!graceful) {
        conn_kill(c);
        return;
    }
    if (conn_buffered(c)) {
        c->state = CONN_FLUSHING; /* conn_on_writable() goes on once drained */
        return;
    }
    start_linger(c);
}

/* ---- deadlines ---------------------------------------------------------------- */

void conn_set_deadline(conn *c, enum conn_deadline which)
{
    c->dl = (uint8_t)which;
    if (which == CONN_DL_NONE) {
        deadline_disarm(&c->deadline);
        return;
    }
    deadline_timer_arm(&c->pool->timer, &c->pool->deadlines[which], &c->deadline);
}

static void conn_expire(deadline_entry *entry, void *ctx)
{
    conn *c = CONN_OF(entry);
    c->dl = CONN_DL_NONE;
    conn_leave_head(c);
    conn_kill(c);
}

/* ---- connections in their headers, per peer ----------------------------------- */

/* One peer's connections that are still sending request headers. */
typedef struct conn_peer {
    size_t count;
    conn *first, *last;
    char addr[];
} conn_peer;

static conn_peer *peer_entry(conn_pool *e, const char *addr)
{
    size_t len = strlen(addr);
    conn_peer *p = hashmap_get(&e->peers, addr, len);
    if (p)
        return p;
    p = calloc(1, sizeof(*p) + len + 1);
    if (!p)
        return NULL;
    memcpy(p->addr, addr, len + 1);
    if (hashmap_put(&e->peers, p->addr, len, p)) {
        free(p);
        return NULL;
    }
    return p;
}

void conn_enter_head(conn *c)
{
    conn_pool *e = c->pool;
    if (c->peer || !conn_alive(c))
        return;
    conn_peer *p = peer_entry(e, c->peer_addr);
    if (!p)
        return;
    uint64_t now = uv_now(e->loop);
    if (p->count >= e->cfg.max_pending_per_peer && now - p->first->head_since_ms >= 1000) {
        conn *oldest = p->first; /* the slowest makes room */
        conn_leave_head(oldest);
        conn_kill(oldest);
        if (!(p = peer_entry(e, c->peer_addr)))
            return;
    }
    c->head_since_ms = now;
    c->peer = p;
    c->peer_prev = p->last;
    c->peer_next = NULL;
    if (p->last)
        p->last->peer_next = c;
    else
        p->first = c;
    p->last = c;
    p->count++;
}

void conn_leave_head(conn *c)
{
    conn_peer *p = c->peer;
    if (!p)
        return;
    if (c->peer_prev)
        c->peer_prev->peer_next = c->peer_next;
    else
        p->first = c->peer_next;
    if (c->peer_next)
        c->peer_next->peer_prev = c->peer_prev;
    else
        p->last = c->peer_prev;
    c->peer = NULL;
    c->peer_prev = c->peer_next = NULL;
    if (--p->count == 0) {
        hashmap_remove(&c->pool->peers, p->addr, strlen(p->addr));
        free(p);
    }
}

void conn_read_enable(conn *c, int on)
{
    if (conn_alive(c))
        edge_lws_read_enable(c->wsi, on);
}

/* ---- deferred calls ------------------------------------------------------------ */

void conn_defer(conn *c)
{
    if (conn_alive(c))
        defer(c);
}

static void defer(conn *c)
{
    conn_pool *e = c->pool;
    if (c->deferred)
        return;
    if (e->n_deferred == e->cap_deferred) {
        size_t cap = e->cap_deferred ? e->cap_deferred * 2 : 64;
        conn **d = realloc(e->deferred, cap * sizeof(*d));
        if (!d)
            return;
        e->deferred = d;
        e->cap_deferred = cap;
    }
    e->deferred[e->n_deferred++] = c;
    c->deferred = 1;
}

static void run_one_deferred(conn *c)
{
    c->deferred = 0;
    if (c->state == CONN_DEAD)
        edge_lws_kill_now(c->wsi); /* its close event runs inside this call */
    else if (c->ops && c->ops->on_deferred && conn_alive(c))
        c->ops->on_deferred(c);
}

static void drop_deferred(conn *c)
{
    conn_pool *e = c->pool;
    for (size_t i = 0; i < e->n_deferred; i++)
        if (e->deferred[i] == c)
            e->deferred[i] = NULL;
    c->deferred = 0;
}

static void run_deferred(uv_check_t *h)
{
    conn_pool *p = h->data;
    if (!p->n_deferred)
        return;
    /* a deferred call may defer again: run the batch taken now */
    size_t n = p->n_deferred;
    for (size_t i = 0; i < n && i < p->n_deferred; i++) {
        conn *c = p->deferred[i];
        if (!c)
            continue; /* closed meanwhile */
        p->deferred[i] = NULL;
        run_one_deferred(c);
    }
    memmove(p->deferred, p->deferred + n, (p->n_deferred - n) * sizeof(conn *));
    p->n_deferred -= n;
}

/* ---- the pool ------------------------------------------------------------------ */

void conn_pool_init(conn_pool *p, uv_loop_t *loop, const conn_pool_config *cfg)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
    p->loop = loop;
    uint64_t delay[CONN_DL_COUNT] = {
        [CONN_DL_HEAD] = cfg->header_timeout_ms, [CONN_DL_BODY] = cfg->body_timeout_ms,
        [CONN_DL_IDLE] = cfg->idle_timeout_ms,   [CONN_DL_CLOSE] = 3000,
        [CONN_DL_LINGER] = 2000,
    };
    deadline_timer_init(&p->timer, loop);
    for (int i = CONN_DL_HEAD; i < CONN_DL_COUNT; i++) {
        deadline_list_init(&p->deadlines[i], delay[i], conn_expire, p);
        deadline_timer_add_list(&p->timer, &p->deadlines[i]);
    }
    hashmap_init(&p->peers);
    uv_check_init(loop, &p->defer_check);
    p->defer_check.data = p;
    uv_check_start(&p->defer_check, run_deferred);
}

static void pool_handle_closed(uv_handle_t *h)
{
    conn_pool *p = h->data;
    if (--p->closing_handles)
        return;
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&p->peers, &it, &k, &klen, &v))
        free(v); /* only if a connection outlived its pool */
    hashmap_free(&p->peers);
    free(p->deferred);
    if (p->on_freed)
        p->on_freed(p->cfg.ctx);
}

void conn_pool_close(conn_pool *p, void (*on_freed)(void *ctx))
{
    p->on_freed = on_freed;
    p->closing_handles = 2;
    p->timer.timer.data = p;
    deadline_timer_close(&p->timer, pool_handle_closed);
    uv_check_stop(&p->defer_check);
    uv_close((uv_handle_t *)&p->defer_check, pool_handle_closed);
}

/* ---- lws events (edge_lws.c) ---------------------------------------------------- */

static void set_peer_addr(conn *c)
{
    char *a = c->peer_addr;
    edge_lws_peer(c->wsi, a, sizeof(c->peer_addr));
    /* an IPv4 peer on a dual-stack socket: report it as plain IPv4 */
    if (strncmp(a, "::ffff:", 7) == 0 && strchr(a + 7, '.'))
        memmove(a, a + 7, strlen(a + 7) + 1);
}

void conn_on_adopt(conn_pool *pool, conn *c, struct lws *wsi)
{
    c->wsi = wsi;
    c->fd = edge_lws_fd(wsi);
    c->pool = pool;
    c->state = CONN_OPEN;
    set_peer_addr(c);
    pool->count++;
    pool->cfg.on_open(pool->cfg.ctx, c);
}

int conn_on_readable(conn *c, uint8_t *p, size_t n)
{
    if (c->state == CONN_LINGER || c->state == CONN_FLUSHING)
        return 0; /* closing: what the client still sends is discarded */
    if (c->state == CONN_DEAD || !c->ops)
        return 0;
    if (c->ops->on_data(c, p, n)) {
        conn_kill(c);
        return 0;
    }
    return 0;
}

void conn_on_writable(conn *c)
{
    if (conn_buffered(c))
        return;
    if (c->state == CONN_FLUSHING) {
        start_linger(c);
        return;
    }
    if (conn_alive(c) && c->ops && c->ops->on_drained)
        c->ops->on_drained(c);
}

void conn_on_closed(conn *c)
{
    if (!c || !c->wsi)
        return; /* closed before it was adopted */
    conn_leave_head(c);
    deadline_disarm(&c->deadline);
    if (c->deferred)
        drop_deferred(c);
    c->state = CONN_DEAD;
    if (c->ops && c->ops->on_close)
        c->ops->on_close(c);
    c->ops = NULL;
    c->wsi = NULL;
    c->pool->count--;
}
