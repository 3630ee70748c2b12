/* edge: the listening socket (edge_lws.c), the pool of its connections
 * (conn.c), and the routing of their HTTP requests. See edge.h. */
#include "edge.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "edge_lws.h"

#define EDGE_MAX_MOUNTS 4

typedef struct edge_mount_point {
    const char *prefix;
    size_t len;
    const http_handler *h;
} edge_mount_point;

struct edge {
    edge_config cfg;
    edge_lws *lws;
    conn_pool pool;
    edge_mount_point mounts[EDGE_MAX_MOUNTS];
    int n_mounts;
    const http_handler *fallback;
};

static const http_handler *route(void *ctx, const char *path, size_t len)
{
    edge *e = ctx;
    for (int i = 0; i < e->n_mounts; i++)
        if (len >= e->mounts[i].len && memcmp(path, e->mounts[i].prefix, e->mounts[i].len) == 0)
            return e->mounts[i].h;
    return e->fallback;
}

/* Every connection starts with HTTP/1.1. */
static void on_open(void *ctx, conn *c)
{
    edge *e = ctx;
    http1_start(c, route, e, e->cfg.max_header_bytes);
}

/* ---- lws events, to the connection (lws's per-connection storage) ---------- */

static void ev_adopt(void *ctx, void *storage, struct lws *wsi)
{
    edge *e = ctx;
    conn_on_adopt(&e->pool, storage, wsi);
}

static int ev_readable(void *storage, uint8_t *p, size_t n)
{
    return conn_on_readable(storage, p, n);
}

static void ev_writable(void *storage)
{
    conn_on_writable(storage);
}

static void ev_closed(void *storage)
{
    conn_on_closed(storage);
}

static void apply_defaults(edge_config *c)
{
    if (!c->max_header_bytes)
        c->max_header_bytes = 16384;
    if (!c->header_timeout_ms)
        c->header_timeout_ms = 10000;
    if (!c->body_timeout_ms)
        c->body_timeout_ms = 60000;
    if (!c->idle_timeout_ms)
        c->idle_timeout_ms = 65000;
    if (!c->max_pending_per_peer)
        c->max_pending_per_peer = 64;
}

edge *edge_new(uv_loop_t *loop, const edge_config *cfg)
{
    edge *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->cfg = *cfg;
    apply_defaults(&e->cfg);
    conn_pool_config pc = {
        .header_timeout_ms = e->cfg.header_timeout_ms,
        .body_timeout_ms = e->cfg.body_timeout_ms,
        .idle_timeout_ms = e->cfg.idle_timeout_ms,
        .max_pending_per_peer = e->cfg.max_pending_per_peer,
        .on_open = on_open,
        .ctx = e,
    };
    conn_pool_init(&e->pool, loop, &pc);
    edge_lws_events ev = {e, ev_adopt, ev_readable, ev_writable, ev_closed};
    e->lws = edge_lws_new(loop, e->cfg.bind_addr, e->cfg.port, e->cfg.max_connections,
                          sizeof(conn), &ev);
    if (!e->lws) {
        edge_destroy(e);
        return NULL;
    }
    return e;
}

int edge_mount(edge *e, const char *prefix, const http_handler *h)
{
    if (e->n_mounts == EDGE_MAX_MOUNTS)
        return -1;
    e->mounts[e->n_mounts++] = (edge_mount_point){prefix, strlen(prefix), h};
    return 0;
}

void edge_set_fallback(edge *e, const http_handler *h)
{
    e->fallback = h;
}

int edge_port(const edge *e)
{
    return e->lws ? edge_lws_port(e->lws) : -1;
}

size_t edge_connection_count(const edge *e)
{
    return e->pool.count;
}

void edge_destroy(edge *e)
{
    if (!e)
        return;
    edge_lws_destroy(e->lws); /* closes every connection */
    e->lws = NULL;
    conn_pool_close(&e->pool, free);
}
