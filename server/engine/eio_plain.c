/* eio_plain: the plain WebSocket transport (eio_config.plain_path): a client
 * that opens `new WebSocket(url)` and speaks no Engine.IO. Each WebSocket
 * message is one MESSAGE of its session (text or binary, as it came); what
 * the session sends goes out as the frames were made (frame_new_ws()), with
 * the WebSocket transport's writer; heartbeats are ping control frames and
 * the client's pong is the heartbeat's answer. The session, its limits, its
 * queue and the drain are the Engine.IO server's, unchanged. */
#include "eio_internal.h"

#include <string.h>

#include "ws.h"

static void detach(eio_session *s)
{
    (void)s; /* never upgraded */
}

const eio_transport eio_plain_transport = {
    .id = EIO_TRANSPORT_PLAIN,
    .control_ping = 1,
    .flush = eio_ws_flush,
    .ready = eio_ws_ready,
    .release = eio_ws_release,
    .detach = detach,
};

/* ---- the connection's events ------------------------------------------------------- */

static void on_message(void *ctx, conn *c, int binary, uint8_t *data, size_t len)
{
    eio_session *s = c->user;
    if (!s || s->ws != c)
        return;
    eio_packet p = {.type = EIO_MESSAGE, .binary = binary, .data = data, .len = len};
    eio_session_on_packet(s, &p);
    eio_ws_after_message(s, c);
}

static void on_pong(void *ctx, conn *c)
{
    eio_session *s = c->user;
    eio_packet p = {.type = EIO_PONG};
    if (s && s->ws == c && s->awaiting_pong)
        eio_session_on_packet(s, &p);
}

static void on_closed(void *ctx, conn *c, uint16_t code)
{
    eio_session *s = c->user;
    c->user = NULL;
    if (!s || s->ws != c)
        return;
    s->ws = NULL;
    eio_session_destroy(s, s->state == SESSION_CLOSING ? s->close_reason : "transport close");
}

static const ws_handler handler = {
    .on_message = on_message,
    .on_drained = eio_ws_drained,
    .on_pong = on_pong,
    .on_close = on_closed,
};

/* ---- the upgrade ---------------------------------------------------------------- */

static void open_plain(eio_server *srv, conn *c, const http_request *req)
{
    eio_session *s = eio_ws_admit(srv, c, req, &eio_plain_transport);
    if (!s)
        return;
    if (ws_accept_opts(c, req, NULL, &handler, srv, &(ws_options)EIO_WS_OPTIONS(srv))) {
        eio_session_destroy(s, "transport error");
        return;
    }
    s->ws = c;
    c->user = s;
    if (srv->handler.on_open)
        srv->handler.on_open(srv->handler.ctx, s);
}

/* The plain path is mounted as a prefix: only the exact path is ours. The
 * Origin is checked as for Engine.IO (a browser sends cookies with a
 * WebSocket from any page: CORS_ORIGINS keeps other sites out). */
static void on_request(void *ctx, conn *c, const http_request *req)
{
    eio_server *srv = ctx;
    int refused;
    if (strcmp(req->path, srv->cfg.plain_path) != 0) {
        eio_ws_refuse(c, 404, "Not Found");
        return;
    }
    eio_cors_origin(srv, req, &refused);
    unsigned bad = refused ? 403 : (unsigned)ws_upgrade_check(req);
    if (bad)
        eio_ws_refuse(c, bad, bad == 403 ? "Forbidden" : bad == 405 ? "Method Not Allowed" : "Bad Request");
    else
        open_plain(srv, c, req);
}

static void on_abort(void *ctx, conn *c)
{
    (void)ctx;
    (void)c; /* a request here is answered at once: nothing is held */
}

void eio_plain_handler_init(eio_server *srv)
{
    srv->plain_http = (http_handler){
        .ctx = srv,
        .max_body = 0,
        .on_request = on_request,
        .on_abort = on_abort,
    };
}
