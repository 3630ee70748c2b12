/* eio_polling: the HTTP long-polling transport.
 *
 * GET  is held until the session has packets (a ping at the latest), then
 *      answered with every queued packet as one payload.
 * POST carries a payload from the client, decoded at once and answered "ok".
 * Requests are checked in engine.io's order: transport, sid, method, protocol
 * version; a held GET whose connection closes ends the session, as engine.io
 * ends it ("poll connection closed prematurely").
 *
 * A v3 session (eio3_payload.h) frames its payloads with length prefixes; an
 * answer holding a binary packet uses the binary framing unless the handshake
 * asked for b64; its POSTs come in either framing, by Content-Type. */
#include "eio_internal.h"

#include <stdlib.h>
#include <string.h>

#include "eio3_payload.h"

static const char text_plain[] = "text/plain; charset=UTF-8";
static const char octet_stream[] = "application/octet-stream";

/* ---- the session's payload framing ----------------------------------------------- */

typedef int (*payload_append_fn)(bytebuf *out, int binary, const uint8_t *data, size_t len);

static int queue_has_binary(const send_queue *q)
{
    for (uint32_t i = 0; i < q->count; i++)
        if (send_queue_peek(q, i)->binary)
            return 1;
    return 0;
}

/* How the packets of an answer are appended (binary_framing: v3 only). */
static payload_append_fn appender(const eio_session *s, int binary_framing)
{
    if (s->protocol != 3)
        return eio_payload_append;
    return binary_framing ? eio3_payload_append_binary : eio3_payload_append_text;
}

/* ---- answering a held GET ------------------------------------------------------ */

/* Answers the held GET with `body` (borrowed) and detaches it. */
static void answer(eio_session *s, const uint8_t *body, size_t len, const char *ctype)
{
    conn *c = s->poll_get;
    const http_request *req = http1_pending(c);
    char cookie[EIO_SID_LEN + 128] = "";
    if (s->set_cookie) { /* the handshake's answer carries the stickiness cookie */
        eio_cookie_header(s->srv, s->sid, cookie, sizeof(cookie));
        s->set_cookie = 0;
    }
    s->poll_get = NULL;
    c->user = NULL;
    if (req)
        eio_respond(s->srv, c, req, 200, ctype, cookie, body, len);
}

/* Answers the held GET with one bodiless packet ('6' noop, '1' close). */
static void answer_packet(eio_session *s, uint8_t type)
{
    bytebuf body = BYTEBUF_INIT;
    if (appender(s, 0)(&body, 0, &type, 1) == 0)
        answer(s, body.data, body.len, text_plain);
    bytebuf_free(&body);
}

static void flush(eio_session *s)
{
    if (!s->poll_get || !s->queue.count)
        return;
    bytebuf payload = BYTEBUF_INIT;
    int closing = 0;
    int binary_framing = s->protocol == 3 && !s->b64 && queue_has_binary(&s->queue);
    payload_append_fn append = appender(s, binary_framing);
    frame *f;
    while ((f = send_queue_pop(&s->queue))) {
        append(&payload, f->binary, frame_cbytes(f), f->len);
        closing |= f == s->srv->close_frame;
        frame_unref(f);
    }
    answer(s, payload.data, payload.len, binary_framing ? octet_stream : text_plain);
    bytebuf_free(&payload);
    if (closing && s->state == SESSION_CLOSING)
        eio_session_destroy(s, s->close_reason);
}

static int ready(const eio_session *s)
{
    return s->poll_get != NULL;
}

/* A poll still held when the session ends gets a noop when the client asked
 * for the close, else a close packet. */
static void release(eio_session *s, const char *reason)
{
    if (s->poll_get)
        answer_packet(s, strcmp(reason, "transport close") == 0 ? '6' : '1');
    if (s->poll_post) {
        s->poll_post->user = NULL;
        s->poll_post = NULL;
    }
}

static void detach(eio_session *s)
{
    if (s->poll_get)
        answer_packet(s, '6');
}

const eio_transport eio_polling_transport = {
    .id = EIO_TRANSPORT_POLLING,
    .upgradable = 1,
    .close_packet = 1,
    .flush = flush,
    .ready = ready,
    .release = release,
    .detach = detach,
};

/* ---- requests -------------------------------------------------------------------- */

static void start_poll(eio_session *s, conn *c)
{
    s->poll_get = c;
    c->user = s;
    /* during an upgrade every poll returns at once (noop), so the client can
     * pause polling and send "5" */
    if (s->upgrade == UPGRADE_PROBED && !s->queue.count)
        eio_session_send(s, s->srv->noop_frame);
    if (s->queue.count || s->state != SESSION_OPEN)
        eio_session_mark_dirty(s);
}

static void handshake(eio_server *srv, conn *c, const http_request *req, const eio_query *q)
{
    static const char busy[] = "{\"code\":503,\"message\":\"Service unavailable\"}";
    char addr[64];
    eio_client_address(req, addr, sizeof(addr));
    if (eio_admission(srv, addr)) { /* draining, or a connection limit */
        eio_respond(srv, c, req, 503, "application/json", NULL, busy, sizeof(busy) - 1);
        return;
    }
    eio_session *s = eio_session_create(srv, &eio_polling_transport, req);
    if (s)
        eio_session_set_protocol(s, q);
    if (!s || eio_session_send_open(s)) {
        if (s)
            eio_session_destroy(s, "transport error");
        eio_respond(srv, c, req, 503, "application/json", NULL, busy, sizeof(busy) - 1);
        return;
    }
    s->set_cookie = srv->cfg.cookie_name != NULL;
    start_poll(s, c);
    if (srv->handler.on_open)
        srv->handler.on_open(srv->handler.ctx, s);
}

static void poll(eio_server *srv, eio_session *s, conn *c, const http_request *req)
{
    if (s->poll_get) { /* overlapping polls: engine.io ends the session */
        eio_session_destroy(s, "transport error");
        eio_respond(srv, c, req, 400, NULL, NULL, NULL, 0);
        return;
    }
    start_poll(s, c);
}

/* A POST body's packets, in the session's framing. */
typedef struct payload_reader {
    eio_payload_iter v4;
    eio3_payload_iter v3;
    int protocol;
} payload_reader;

static void reader_begin(payload_reader *r, const eio_session *s, const http_request *req,
                         int binary_framing)
{
    r->protocol = s->protocol;
    if (s->protocol == 3)
        eio3_payload_begin(&r->v3, req->body, req->body_len, binary_framing);
    else
        eio_payload_begin(&r->v4, req->body, req->body_len);
}

static eio_status reader_next(payload_reader *r, eio_packet *p, bytebuf *scratch)
{
    return r->protocol == 3 ? eio3_payload_next(&r->v3, p, scratch)
                            : eio_payload_next(&r->v4, p, scratch);
}

/* Decodes a payload; 1 when it was malformed (the session is then ended).
 * The session can end inside on_packet: release() then clears c->user,
 * which is what the loop checks before going on. */
static int decode_body(eio_session *s, conn *c, const http_request *req, int octets)
{
    payload_reader it;
    eio_packet p;
    bytebuf scratch = BYTEBUF_INIT;
    eio_status status = EIO_OK;
    s->poll_post = c;
    c->user = s;
    reader_begin(&it, s, req, octets);
    while (c->user && (status = reader_next(&it, &p, &scratch)) == EIO_OK)
        eio_session_on_packet(s, &p);
    int bad = c->user && status < 0;
    if (bad)
        eio_session_destroy(s, "parse error");
    else if (c->user)
        s->poll_post = NULL;
    c->user = NULL;
    bytebuf_free(&scratch);
    return bad;
}

/* A POST: octet-stream only from v3 sessions (their binary framing). */
static void post(eio_server *srv, eio_session *s, conn *c, const http_request *req)
{
    const http_header *ct = http_request_header(req, "content-type");
    int octets = ct && strcmp(ct->value, octet_stream) == 0;
    if (octets && s->protocol != 3) {
        eio_session_destroy(s, "transport error"); /* engine.io: "invalid content" */
        eio_respond(srv, c, req, 400, NULL, NULL, NULL, 0);
        return;
    }
    if (req->body_len && decode_body(s, c, req, octets)) /* no body: no packet, "ok" */
        eio_respond(srv, c, req, 400, NULL, NULL, NULL, 0);
    else
        eio_respond(srv, c, req, 200, "text/html", NULL, "ok", 2);
}

static void with_sid(eio_server *srv, conn *c, const http_request *req, const eio_query *q)
{
    eio_session *s = eio_session_find(srv, q->sid);
    if (!s) {
        eio_respond_error(srv, c, req, 1);
        return;
    }
    if (q->transport != EIO_QT_POLLING || s->tp != &eio_polling_transport ||
        eio_protocol_mismatch(s, q)) {
        eio_respond_error(srv, c, req, 3); /* transport or protocol mismatch */
        return;
    }
    if (req->method == HTTP_GET)
        poll(srv, s, c, req);
    else if (req->method == HTTP_POST)
        post(srv, s, c, req);
    else
        eio_respond_error(srv, c, req, 3); /* engine.io answers 500; 400 is right */
}

void eio_polling_request(eio_server *srv, conn *c, const http_request *req, const eio_query *q)
{
    unsigned t = q->transport == EIO_QT_POLLING     ? EIO_TRANSPORT_POLLING
                 : q->transport == EIO_QT_WEBSOCKET ? EIO_TRANSPORT_WEBSOCKET
                                                    : 0;
    if (!(t & srv->cfg.transports)) {
        eio_respond_error(srv, c, req, 0);
        return;
    }
    if (q->sid_present) {
        with_sid(srv, c, req, q);
        return;
    }
    if (req->method != HTTP_GET)
        eio_respond_error(srv, c, req, 2);
    else if (t == EIO_TRANSPORT_WEBSOCKET)
        eio_respond_error(srv, c, req, 3); /* a WebSocket handshake without Upgrade */
    else if (!eio_protocol_allowed(srv, q->eio))
        eio_respond_error(srv, c, req, 5);
    else if (q->eio == 3 && q->jsonp)
        eio_respond_error(srv, c, req, 3); /* JSONP polling is not offered */
    else
        handshake(srv, c, req, q);
}

void eio_polling_abort(eio_server *srv, conn *c)
{
    eio_session *s = c->user;
    c->user = NULL;
    if (s && s->poll_get == c) {
        s->poll_get = NULL;
        eio_session_destroy(s, "transport error");
    }
}
