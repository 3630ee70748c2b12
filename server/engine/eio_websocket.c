/* eio_websocket: the WebSocket transport, both direct (transport=websocket
 * without sid) and as the target of an upgrade from polling (2probe, 3probe,
 * 5). Queued frames are written at the end of the loop turn, as many as the
 * bounds allow in one writev, each straight from the shared frame (its
 * WebSocket header laid out once in its headroom): no per-recipient copy.
 *
 * A v3 session's binary message starts with the type byte 4, both ways. Out,
 * the shared frame's payload is still written as it is: a header of len + 1
 * and the 0x04 byte are built per write, on the stack, as one more iovec in
 * front of it (a few bytes per v3 recipient; a cached v3 twin would be a
 * second copy of every attachment and a mutable field on a shared frame). In,
 * "b4<base64>" text messages (forceBase64) are binary messages too. */
#include "eio_internal.h"

#include <string.h>

#include "eio3_payload.h"
#include "ws.h"

#define FLUSH_MAX_FRAMES 64
#define FLUSH_MAX_BYTES (256 * 1024)

static const ws_handler handler;

/* ---- the transport ------------------------------------------------------------- */

void ws_write_frame(conn *c, frame *f)
{
    size_t len;
    const uint8_t *wire = frame_wire(f, &len);
    ws_write(c, wire, len);
}

static int queue_high(const eio_session *s)
{
    const eio_config *cfg = &s->srv->cfg;
    return s->queue.count >= cfg->max_queue_frames / 2 || s->queue.bytes >= cfg->max_queue_bytes / 2;
}

/* A v3 binary message: its own header (payload len + 1) and the type byte
 * in `hdr`, then the shared frame's payload. Returns the iovecs used (2). */
static int v3_binary_iov(const frame *f, uint8_t hdr[FRAME_HEADROOM], struct iovec *iov)
{
    size_t hl = ws_frame_header(hdr, WS_OP_BINARY, (uint64_t)f->len + 1);
    hdr[hl++] = EIO_MESSAGE;
    iov[0] = (struct iovec){hdr, hl};
    iov[1] = (struct iovec){SIO_UNCONST(void *, frame_cbytes(f)), f->len};
    return 2;
}

/* Writes up to FLUSH_MAX_FRAMES queued frames in one system call. */
static int write_batch(conn *c, send_queue *q, int v3)
{
    struct iovec iov[2 * FLUSH_MAX_FRAMES];
    uint8_t v3_hdr[FLUSH_MAX_FRAMES][FRAME_HEADROOM];
    frame *sent[FLUSH_MAX_FRAMES];
    size_t bytes = 0;
    int n = 0, k = 0;
    frame *f;
    while (n < FLUSH_MAX_FRAMES && bytes < FLUSH_MAX_BYTES && (f = send_queue_pop(q))) {
        size_t len;
        if (v3 && f->binary) { /* uncompressed (RSV1 clear): allowed with deflate too */
            k += v3_binary_iov(f, v3_hdr[n], &iov[k]);
            len = f->len;
        } else {
            iov[k].iov_base = SIO_UNCONST(void *, frame_wire(ws_frame_for(c, f), &len)); /* or its deflated twin */
            iov[k++].iov_len = len;
        }
        bytes += len;
        sent[n++] = f;
    }
    int rc = ws_writev(c, iov, k); /* what the socket does not take, lws copies */
    for (int i = 0; i < n; i++)
        frame_unref(sent[i]);
    return rc;
}

void eio_ws_flush(eio_session *s)
{
    conn *c = s->ws;
    if (!c)
        return;
    while (s->queue.count && conn_alive(c) && !ws_closing(c) && !conn_buffered(c))
        if (write_batch(c, &s->queue, s->protocol == 3))
            return; /* the connection failed: on_closed ends the session */
    if (ws_paused(c) && !s->hold_input && !queue_high(s) && !conn_buffered(c))
        ws_resume(c);
    if (s->state == SESSION_CLOSING && !s->queue.count && conn_alive(c) && !conn_buffered(c))
        ws_close_reason(c, s->close_ws_code ? s->close_ws_code : WS_CLOSE_NORMAL, s->close_ws_text);
}

void eio_session_hold_input(eio_session *s, int hold)
{
    s->hold_input = hold ? 1 : 0;
    if (hold) { /* its pongs are not read either: no heartbeat meanwhile */
        deadline_disarm(&s->heartbeat);
        if (s->ws)
            ws_pause(s->ws);
        return;
    }
    eio_session_rearm_heartbeat(s);
    eio_session_mark_dirty(s); /* the flush resumes reading */
}

int eio_ws_ready(const eio_session *s)
{
    return s->ws && conn_alive(s->ws) && !ws_closing(s->ws) && !conn_buffered(s->ws);
}

void eio_ws_release(eio_session *s, const char *reason)
{
    conn *c = s->ws;
    if (!c)
        return;
    s->ws = NULL;
    c->user = NULL;
    ws_close_reason(c, s->close_ws_code ? s->close_ws_code : WS_CLOSE_NORMAL, s->close_ws_text);
}

static void detach(eio_session *s)
{
    (void)s; /* a WebSocket is never upgraded away from */
}

const eio_transport eio_websocket_transport = {
    .id = EIO_TRANSPORT_WEBSOCKET,
    .flush = eio_ws_flush,
    .ready = eio_ws_ready,
    .release = eio_ws_release,
    .detach = detach,
};

/* ---- the upgrade from polling ------------------------------------------------------- */

/* The probe "2probe" was answered: the pending poll must return at once so
 * the client can pause polling and send "5" (engine.io answers with noop). */
static void probe_answered(eio_session *s)
{
    eio_server *srv = s->srv;
    s->upgrade = UPGRADE_PROBED;
    ws_write_frame(s->probe, srv->pong_probe_frame);
    if (s->poll_get && !s->queue.count)
        eio_session_send(s, srv->noop_frame);
}

static void upgraded(eio_session *s)
{
    deadline_disarm(&s->upgrade_timer);
    s->upgrade = UPGRADE_NONE;
    s->tp->detach(s); /* a poll still held is answered with a noop */
    s->tp = &eio_websocket_transport;
    s->ws = s->probe;
    s->probe = NULL;
    eio_session_mark_dirty(s); /* what was queued for polling goes out now */
}

static void on_probe_packet(eio_session *s, const eio_packet *p)
{
    if (s->state != SESSION_OPEN)
        return;
    if (p->type == EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0 &&
        s->upgrade == UPGRADE_PROBING) {
        probe_answered(s);
        return;
    }
    if (p->type == EIO_UPGRADE && s->upgrade == UPGRADE_PROBED) {
        upgraded(s);
        return;
    }
    /* anything else on a probe aborts the upgrade (engine.io closes the probe) */
    eio_session_abort_probe(s);
}

/* ---- the connection's events ------------------------------------------------------- */

static eio_status decode_message(const eio_session *s, int binary, const uint8_t *data,
                                 size_t len, eio_packet *p, bytebuf *scratch)
{
    if (s->protocol == 3)
        return binary ? eio3_decode_binary_frame(data, len, p)
                      : eio3_decode_text_frame(data, len, p, scratch);
    if (!binary)
        return eio_decode_text_frame(data, len, p);
    eio_decode_binary_frame(data, len, p);
    return EIO_OK;
}

static void on_message(void *ctx, conn *c, int binary, uint8_t *data, size_t len)
{
    eio_session *s = c->user;
    eio_packet p;
    bytebuf scratch = BYTEBUF_INIT;
    if (!s)
        return;
    if (decode_message(s, binary, data, len, &p, &scratch) != EIO_OK) {
        bytebuf_free(&scratch);
        eio_session_destroy(s, "parse error");
        return;
    }
    if (s->probe == c)
        on_probe_packet(s, &p);
    else if (s->ws == c)
        eio_session_on_packet(s, &p);
    bytebuf_free(&scratch);
    eio_ws_after_message(s, c);
}

void eio_ws_after_message(eio_session *s, conn *c)
{
    /* the work a client causes is bounded by what it reads: while half its
     * queue waits, the rest of what it sent waits too */
    if (c->user == s && s->ws == c && queue_high(s))
        ws_pause(c);
}

void eio_ws_drained(void *ctx, conn *c)
{
    eio_session *s = c->user;
    if (s && s->ws == c &&
        (s->queue.count || s->state == SESSION_CLOSING || (ws_paused(c) && !s->hold_input)))
        eio_session_mark_dirty(s);
}

static void on_closed(void *ctx, conn *c, uint16_t code)
{
    eio_session *s = c->user;
    c->user = NULL;
    if (!s)
        return;
    if (s->ws == c) {
        s->ws = NULL;
        eio_session_destroy(s, s->state == SESSION_CLOSING ? s->close_reason : "transport close");
    } else if (s->probe == c) {
        s->probe = NULL;
        eio_session_abort_probe(s);
    }
}

static const ws_handler handler = {
    .on_message = on_message,
    .on_drained = eio_ws_drained,
    .on_close = on_closed,
};

/* ---- the upgrade request ----------------------------------------------------------- */

void eio_ws_refuse(conn *c, unsigned status, const char *msg)
{
    http_response r = {status, "Content-Type: text/html\r\n", msg, strlen(msg), 1};
    http1_respond(c, &r);
}

eio_session *eio_ws_admit(eio_server *srv, conn *c, const http_request *req,
                          const eio_transport *tp)
{
    char addr[64];
    eio_client_address(req, addr, sizeof(addr));
    eio_session *s = eio_admission(srv, addr) ? NULL : eio_session_create(srv, tp, req);
    if (!s)
        eio_ws_refuse(c, 503, "Service unavailable");
    return s;
}

static void open_direct(eio_server *srv, conn *c, const http_request *req, const eio_query *q)
{
    eio_session *s = eio_ws_admit(srv, c, req, &eio_websocket_transport);
    char cookie[EIO_SID_LEN + 128];
    if (!s)
        return;
    eio_session_set_protocol(s, q);
    eio_cookie_header(srv, s->sid, cookie, sizeof(cookie));
    if (ws_accept_opts(c, req, cookie, &handler, srv, &(ws_options)EIO_WS_OPTIONS(srv))) {
        eio_session_destroy(s, "transport error");
        return;
    }
    s->ws = c;
    c->user = s;
    if (eio_session_send_open(s)) {
        eio_session_destroy(s, "transport error");
        return;
    }
    if (srv->handler.on_open)
        srv->handler.on_open(srv->handler.ctx, s);
}

static void open_probe(eio_server *srv, eio_session *s, conn *c, const http_request *req)
{
    if (ws_accept_opts(c, req, NULL, &handler, srv, &(ws_options)EIO_WS_OPTIONS(srv)))
        return;
    /* only from an open polling session that is not upgrading already; else
     * engine.io accepts the WebSocket and closes it at once */
    if (s->state != SESSION_OPEN || !s->tp->upgradable || s->upgrade != UPGRADE_NONE ||
        !srv->cfg.allow_upgrades) {
        ws_close(c, WS_CLOSE_NO_STATUS);
        return;
    }
    c->user = s;
    eio_session_start_probe(s, c);
}

void eio_websocket_request(eio_server *srv, conn *c, const http_request *req, const eio_query *q)
{
    if (!(srv->cfg.transports & EIO_TRANSPORT_WEBSOCKET) || q->transport != EIO_QT_WEBSOCKET) {
        eio_ws_refuse(c, 400, eio_error_message(0));
        return;
    }
    unsigned bad = (unsigned)ws_upgrade_check(req);
    if (bad) {
        eio_ws_refuse(c, bad, bad == 405 ? "Method Not Allowed" : "Bad Request");
        return;
    }
    if (!q->sid_present) {
        if (!eio_protocol_allowed(srv, q->eio))
            eio_ws_refuse(c, 400, eio_error_message(5));
        else
            open_direct(srv, c, req, q);
        return;
    }
    eio_session *s = eio_session_find(srv, q->sid);
    if (!s)
        eio_ws_refuse(c, 400, eio_error_message(1));
    else if (eio_protocol_mismatch(s, q))
        eio_ws_refuse(c, 400, eio_error_message(3));
    else
        open_probe(srv, s, c, req);
}
