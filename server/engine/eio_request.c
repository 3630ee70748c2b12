/* eio_request: the HTTP handler of an eio_server. Checks a request in
 * engine.io's order (origin, preflight, then the query: transport, sid,
 * method, protocol version) and hands it to a transport. */
#include "eio_internal.h"

/* ---- the handler ------------------------------------------------------------------ */

static void on_request(void *ctx, conn *c, const http_request *req)
{
    eio_server *srv = ctx;
    int refused;
    eio_cors_origin(srv, req, &refused);
    if (refused) {
        eio_respond_error(srv, c, req, 4);
        return;
    }
    if (req->method == HTTP_OPTIONS && !req->upgrade) {
        eio_respond_preflight(srv, c, req);
        return;
    }
    eio_query q;
    eio_query_parse(req->query, req->query_len, &q);
    if (req->upgrade)
        eio_websocket_request(srv, c, req, &q);
    else
        eio_polling_request(srv, c, req, &q);
}

static void on_abort(void *ctx, conn *c)
{
    eio_polling_abort(ctx, c);
}

/* A POST over maxPayload: its session ends (engine.io keeps it; a client that
 * sends such a payload is broken or hostile). */
static void on_too_large(void *ctx, const http_request *req)
{
    eio_query q;
    eio_query_parse(req->query, req->query_len, &q);
    eio_session *s = q.sid[0] ? eio_session_find(ctx, q.sid) : NULL;
    if (s)
        eio_session_destroy(s, "transport error");
}

void eio_request_handler_init(eio_server *srv)
{
    srv->http = (http_handler){
        .ctx = srv,
        .max_body = srv->cfg.max_payload,
        .on_request = on_request,
        .on_abort = on_abort,
        .on_too_large = on_too_large,
    };
}
