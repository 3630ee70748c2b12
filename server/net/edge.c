/* edge: routing, deferred calls and the deadlines of the edge's connections;
 * the lws context itself is edge_lws.c's. See edge.h. */
#include "edge_internal.h"

#include <stdlib.h>
#include <string.h>

const http_handler *edge_route(void *ctx, const char *path, size_t len)
{
    edge *e = ctx;
    for (int i = 0; i < e->n_mounts; i++)
        if (len >= e->mounts[i].len && memcmp(path, e->mounts[i].prefix, e->mounts[i].len) == 0)
            return e->mounts[i].h;
    return e->fallback;
}

static void run_deferred(uv_check_t *h)
{
    edge *e = h->data;
    if (!e->n_deferred)
        return;
    /* a deferred call may defer again: run the batch taken now */
    size_t n = e->n_deferred;
    for (size_t i = 0; i < n && i < e->n_deferred; i++) {
        conn *c = e->deferred[i];
        if (!c)
            continue; /* closed meanwhile */
        e->deferred[i] = NULL;
        conn_run_deferred(c);
    }
    memmove(e->deferred, e->deferred + n, (e->n_deferred - n) * sizeof(conn *));
    e->n_deferred -= n;
}

static void init_deadlines(edge *e)
{
    const edge_config *cfg = &e->cfg;
    uint64_t delay[CONN_DL_COUNT] = {
        [CONN_DL_HEAD] = cfg->header_timeout_ms, [CONN_DL_BODY] = cfg->body_timeout_ms,
        [CONN_DL_IDLE] = cfg->idle_timeout_ms,   [CONN_DL_CLOSE] = 3000,
        [CONN_DL_LINGER] = 2000,
    };
    deadline_timer_init(&e->timer, e->loop);
    for (int i = CONN_DL_HEAD; i < CONN_DL_COUNT; i++) {
        deadline_list_init(&e->deadlines[i], delay[i], conn_expire, e);
        deadline_timer_add_list(&e->timer, &e->deadlines[i]);
    }
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
    e->loop = loop;
    e->cfg = *cfg;
    apply_defaults(&e->cfg);
    hashmap_init(&e->peers);
    init_deadlines(e);
    uv_check_init(loop, &e->defer_check);
    e->defer_check.data = e;
    uv_check_start(&e->defer_check, run_deferred);
    e->lws = edge_lws_new(e, loop, e->cfg.bind_addr, e->cfg.port, e->cfg.max_connections,
                          sizeof(conn));
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
    return e->n_conns;
}

static void free_peers(edge *e)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&e->peers, &it, &k, &klen, &v))
        free(v); /* only if a connection outlived the context */
    hashmap_free(&e->peers);
}

static void free_edge(uv_handle_t *h)
{
    edge *e = h->data;
    if (--e->closing_handles)
        return;
    free_peers(e);
    free(e->deferred);
    free(e);
}

void edge_destroy(edge *e)
{
    if (!e)
        return;
    edge_lws_destroy(e->lws); /* closes every connection */
    e->lws = NULL;
    e->closing_handles = 2;
    e->timer.timer.data = e;
    deadline_timer_close(&e->timer, free_edge);
    uv_check_stop(&e->defer_check);
    uv_close((uv_handle_t *)&e->defer_check, free_edge);
}
