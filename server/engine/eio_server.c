/* eio_server: an Engine.IO server object: its configuration, its HTTP
 * handler (eio_request.c), its sessions (eio_session.c), and what the
 * application asks of all of them (census, drain). See eio_server.h. */
#include "eio_internal.h"

#include <stdlib.h>

#include "edge.h"

eio_server *eio_server_new(uv_loop_t *loop, const eio_config *cfg, const eio_handler *h)
{
    eio_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->handler = *h;
    eio_request_handler_init(srv);
    eio_plain_handler_init(srv);
    if (eio_sessions_init(srv)) {
        eio_server_free(srv);
        return NULL;
    }
    return srv;
}

static void free_server_memory(uv_handle_t *h)
{
    eio_server *srv = h->data;
    if (--srv->open_handles == 0)
        free(srv);
}

void eio_server_free(eio_server *srv)
{
    if (srv)
        eio_sessions_close(srv, free_server_memory);
}

const eio_config *eio_server_config(const eio_server *srv)
{
    return &srv->cfg;
}

int eio_server_mount(eio_server *srv, edge *e)
{
    if (srv->cfg.plain_path && edge_mount(e, srv->cfg.plain_path, &srv->plain_http))
        return -1;
    return edge_mount(e, srv->cfg.path, &srv->http);
}

const eio_counters *eio_server_counters(const eio_server *srv)
{
    return &srv->counters;
}

void eio_server_census(const eio_server *srv, eio_census *out)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    *out = (eio_census){0};
    while (hashmap_next(&srv->sessions, &it, &k, &klen, &v)) {
        eio_session *s = v;
        if (s->tp->id == EIO_TRANSPORT_WEBSOCKET)
            out->websocket++;
        else if (s->tp->id == EIO_TRANSPORT_PLAIN)
            out->plain++;
        else
            out->polling++;
        out->queued_bytes += s->queue.bytes;
    }
}

void eio_server_set_draining(eio_server *srv, int draining)
{
    srv->draining = draining;
}

size_t eio_server_close_some(eio_server *srv, size_t n, uint16_t ws_code, const char *reason)
{
    size_t it = 0, klen, done = 0;
    const char *k;
    void *v;
    /* eio_session_close() never destroys synchronously: iterating is safe */
    while (done < n && hashmap_next(&srv->sessions, &it, &k, &klen, &v)) {
        eio_session *s = v;
        if (s->state != SESSION_OPEN)
            continue;
        s->close_ws_code = ws_code;
        eio_session_close(s, reason);
        done++;
    }
    return done;
}

size_t eio_server_session_count(const eio_server *srv)
{
    return srv->sessions.count;
}

