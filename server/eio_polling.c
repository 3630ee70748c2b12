/* eio_polling: the HTTP long-polling transport on lws HTTP callbacks.
 *
 * GET  holds the request until the session has frames (or a ping is due), then
 *      answers with every queued packet as one payload.
 * POST carries a payload from the client; answered "ok" once decoded.
 * Requests are checked in engine.io's order: transport, origin, sid, method,
 * protocol version. A held GET gives its header table back to lws at once. */
#include "eio_internal.h"

#include <stdlib.h>
#include <string.h>

static const char cookie_attrs[] = "; Path=/; HttpOnly; SameSite=Lax";

static void conn_reset(eio_conn *c, eio_server *srv)
{
    bytebuf_free(&c->rx);
    c->kind = CONN_NEW;
    c->srv = srv;
    c->session = NULL;
    c->body_too_large = 0;
    c->set_cookie = 0;
    c->respond_with = 0;
}

static const char *urlarg(struct lws *wsi, const char *name, char *buf, int len)
{
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, len);
    return v;
}

static int respond_preflight(struct lws *wsi, eio_conn *c)
{
    char req_headers[512] = "";
    char extra[768];
    size_t n = 0;
#define EXTRA(s) (memcpy(extra + n, s, sizeof(s)), n += sizeof(s))
    EXTRA("access-control-allow-methods:");
    EXTRA("GET,HEAD,PUT,PATCH,POST,DELETE");
    if (lws_hdr_copy(wsi, req_headers, sizeof(req_headers),
                     WSI_TOKEN_HTTP_AC_REQUEST_HEADERS) > 0) {
        EXTRA("access-control-allow-headers:");
        size_t l = strlen(req_headers) + 1;
        memcpy(extra + n, req_headers, l);
        n += l;
    }
    EXTRA("vary:");
    EXTRA("Access-Control-Request-Headers");
#undef EXTRA
    extra[n] = '\0';
    return eio_http_respond(wsi, c, 204, NULL, extra, NULL, 0);
}

static int start_poll(eio_session *s, struct lws *wsi, eio_conn *c)
{
    c->kind = CONN_POLL_GET;
    c->session = s;
    s->poll_get = wsi;
    lws_http_headers_detach(wsi); /* don't pin a header table while held */
    /* during an upgrade the client needs every poll to return at once, so it
     * can pause polling and send "5" (engine.io answers such polls with noop) */
    if (s->upgrade == UPGRADE_PROBED && !s->queue.count)
        eio_session_send(s, s->srv->noop_frame);
    if (s->queue.count || s->state != SESSION_OPEN)
        lws_callback_on_writable(wsi);
    return 0;
}

static int handshake(eio_server *srv, struct lws *wsi, eio_conn *c)
{
    static const char busy[] = "{\"code\":503,\"message\":\"Service unavailable\"}";
    if (eio_admission(srv, wsi)) /* draining, or a connection limit */
        return eio_http_respond(wsi, c, 503, "application/json", NULL, busy, sizeof(busy) - 1);
    char sid[EIO_SID_LEN + 1];
    do
        eio_generate_sid(sid);
    while (eio_session_find(srv, sid));
    eio_session *s = eio_session_create(srv, EIO_TRANSPORT_POLLING, sid, wsi);
    if (!s)
        return eio_http_respond(wsi, c, 503, "text/plain", NULL, NULL, 0);
    if (eio_session_send_open(s)) {
        eio_session_destroy(s, "transport error");
        return -1;
    }
    c->set_cookie = srv->cfg.cookie_name != NULL;
    memcpy(c->sid, sid, sizeof(sid));
    start_poll(s, wsi, c);
    if (srv->handler.on_open)
        srv->handler.on_open(srv->handler.ctx, s);
    return 0;
}

int eio_polling_http(eio_server *srv, struct lws *wsi, eio_conn *c, const char *uri)
{
    conn_reset(c, srv);
    char *method_uri;
    int method_len;
    int method = lws_http_get_uri_and_method(wsi, &method_uri, &method_len);

    if (eio_cors_check(srv, wsi, c))
        return eio_http_error(wsi, c, 4);
    if (method == LWSHUMETH_OPTIONS)
        return respond_preflight(wsi, c);

    char tbuf[64], sbuf[64], ebuf[16];
    const char *transport = urlarg(wsi, "transport=", tbuf, sizeof(tbuf));
    const char *sid = urlarg(wsi, "sid=", sbuf, sizeof(sbuf));
    const char *eio = urlarg(wsi, "EIO=", ebuf, sizeof(ebuf));
    unsigned t = !transport ? 0
                 : strcmp(transport, "polling") == 0   ? EIO_TRANSPORT_POLLING
                 : strcmp(transport, "websocket") == 0 ? EIO_TRANSPORT_WEBSOCKET
                                                       : 0;
    if (!(t & srv->cfg.transports))
        return eio_http_error(wsi, c, 0);

    if (sid) {
        eio_session *s = eio_session_find(srv, sid);
        if (!s)
            return eio_http_error(wsi, c, 1);
        if (t != EIO_TRANSPORT_POLLING || s->transport != EIO_TRANSPORT_POLLING)
            return eio_http_error(wsi, c, 3); /* transport mismatch without upgrade */
        if (method == LWSHUMETH_GET) {
            if (s->poll_get) { /* overlapping polls: engine.io ends the session */
                eio_session_destroy(s, "transport error");
                return eio_http_respond(wsi, c, 400, NULL, NULL, NULL, 0);
            }
            return start_poll(s, wsi, c);
        }
        if (method == LWSHUMETH_POST) {
            char ctype[64] = "";
            lws_hdr_copy(wsi, ctype, sizeof(ctype), WSI_TOKEN_HTTP_CONTENT_TYPE);
            if (s->poll_post || strcmp(ctype, "application/octet-stream") == 0) {
                eio_session_destroy(s, "transport error");
                return eio_http_respond(wsi, c, 400, NULL, NULL, NULL, 0);
            }
            c->kind = CONN_POLL_POST;
            c->session = s;
            s->poll_post = wsi;
            return 0;
        }
        return eio_http_respond(wsi, c, 500, NULL, NULL, NULL, 0);
    }

    if (method != LWSHUMETH_GET)
        return eio_http_error(wsi, c, 2);
    if (t == EIO_TRANSPORT_WEBSOCKET)
        return eio_http_error(wsi, c, 3); /* a WebSocket handshake without Upgrade */
    if (!eio || strcmp(eio, "4") != 0)
        return eio_http_error(wsi, c, 5);
    return handshake(srv, wsi, c);
}

int eio_polling_body(eio_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->kind != CONN_POLL_POST || c->body_too_large)
        return 0; /* discard: the answer is decided */
    if (c->rx.len + len > c->srv->cfg.max_payload) {
        c->body_too_large = 1;
        bytebuf_free(&c->rx);
        return 0;
    }
    return bytebuf_append(&c->rx, in, len);
}

int eio_polling_body_done(eio_conn *c, struct lws *wsi)
{
    if (c->kind != CONN_POLL_POST) /* the session ended while the body was arriving */
        return eio_http_respond(wsi, c, 400, NULL, NULL, NULL, 0);
    if (c->body_too_large) {
        if (c->session)
            eio_session_destroy(c->session, "transport error");
        c->kind = CONN_DONE;
        eio_http_respond(wsi, c, 413, NULL, NULL, NULL, 0);
        return -1;
    }
    eio_payload_iter it;
    eio_packet p;
    bytebuf scratch = BYTEBUF_INIT;
    eio_status st = EIO_OK;
    eio_payload_begin(&it, c->rx.data, c->rx.len);
    /* The session can end inside on_packet: eio_session_destroy() then clears
     * c->session, which is what this loop checks before touching it again. */
    while (c->session && (st = eio_payload_next(&it, &p, &scratch)) == EIO_OK)
        eio_session_on_packet(c->session, &p);
    if (c->session && st < 0)
        eio_session_destroy(c->session, "parse error");
    if (c->session)
        c->session->poll_post = NULL;
    c->session = NULL;
    c->kind = CONN_DONE;
    bytebuf_free(&scratch);
    bytebuf_free(&c->rx);
    return eio_http_respond(wsi, c, 200, "text/html", NULL, "ok", 2);
}

void eio_polling_release(struct lws *wsi, char packet_type)
{
    eio_conn *c = lws_wsi_user(wsi);
    if (c) {
        c->session = NULL;
        c->respond_with = packet_type;
    }
    lws_callback_on_writable(wsi);
}

int eio_polling_writable(eio_conn *c, struct lws *wsi)
{
    if (c->respond_with) {
        char body = c->respond_with;
        c->respond_with = 0;
        c->kind = CONN_DONE;
        return eio_http_respond(wsi, c, 200, "text/plain; charset=UTF-8", NULL, &body, 1);
    }
    eio_session *s = c->session;
    if (c->kind != CONN_POLL_GET || !s)
        return 0; /* a stale wake-up */
    if (!s->queue.count && s->state == SESSION_OPEN)
        return 0;

    bytebuf payload = BYTEBUF_INIT;
    frame *f;
    int closing = 0;
    while ((f = send_queue_pop(&s->queue))) {
        eio_payload_append(&payload, f->binary, frame_cbytes(f), f->len);
        if (!f->binary && f->len == 1 && frame_cbytes(f)[0] == '1')
            closing = 1;
        frame_unref(f);
    }
    s->poll_get = NULL;
    c->session = NULL;
    c->kind = CONN_DONE;

    char extra[EIO_SID_LEN + 64 + sizeof(cookie_attrs)];
    const char *hdrs = NULL;
    if (c->set_cookie) {
        size_t n = (size_t)snprintf(extra, sizeof(extra), "set-cookie:%c%s=%s%s%c", '\0',
                                    c->srv->cfg.cookie_name, c->sid, cookie_attrs, '\0');
        extra[n] = '\0';
        hdrs = extra;
        c->set_cookie = 0;
    }
    if (s->state == SESSION_CLOSING && closing)
        eio_session_destroy(s, s->close_reason);
    int rc = eio_http_respond(wsi, c, 200, "text/plain; charset=UTF-8", hdrs, payload.data,
                              payload.len);
    bytebuf_free(&payload);
    return rc;
}

void eio_polling_closed(eio_conn *c, struct lws *wsi)
{
    eio_session *s = c->session;
    bytebuf_free(&c->rx);
    c->session = NULL;
    if (!s)
        return;
    if (s->poll_get == wsi)
        s->poll_get = NULL;
    if (s->poll_post == wsi)
        s->poll_post = NULL;
    /* engine.io: "poll connection closed prematurely" ends the session */
    if (c->kind == CONN_POLL_GET || c->kind == CONN_POLL_POST)
        eio_session_destroy(s, "transport error");
}
