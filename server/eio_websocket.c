/* eio_websocket: the WebSocket transport on lws, both direct
 * (transport=websocket without sid) and as the target of an upgrade from
 * polling (2probe / 3probe / 5). One queued frame is written per WRITEABLE
 * callback, straight from the shared frame (its headroom takes lws's header). */
#include "eio_internal.h"

#include <stdlib.h>
#include <string.h>

/* What engine.io's verify() and onWebSocket() decide for an upgrade request:
 * WS_OK, WS_HANG_UP (engine.io accepts then closes), or an Engine.IO error code. */
enum { WS_OK = -1, WS_HANG_UP = -2, WS_BUSY = -3 };

static int ws_verdict(eio_server *srv, struct lws *wsi, eio_conn *c, eio_session **session)
{
    char tbuf[32], sbuf[64], ebuf[16];
    const char *transport = lws_get_urlarg_by_name(wsi, "transport=", tbuf, sizeof(tbuf));
    const char *sid = lws_get_urlarg_by_name(wsi, "sid=", sbuf, sizeof(sbuf));
    const char *eio = lws_get_urlarg_by_name(wsi, "EIO=", ebuf, sizeof(ebuf));
    *session = NULL;
    if (!(srv->cfg.transports & EIO_TRANSPORT_WEBSOCKET) || !transport ||
        strcmp(transport, "websocket") != 0)
        return 0;
    if (eio_cors_check(srv, wsi, c))
        return 4;
    if (!sid) {
        if (!eio || strcmp(eio, "4") != 0)
            return 5;
        return eio_admission(srv, wsi) ? WS_BUSY : WS_OK;
    }
    eio_session *s = eio_session_find(srv, sid);
    if (!s)
        return 1;
    /* an upgrade: only from an open polling session not already upgrading */
    if (s->state != SESSION_OPEN || s->transport != EIO_TRANSPORT_POLLING ||
        s->upgrade != UPGRADE_NONE || !srv->cfg.allow_upgrades)
        return WS_HANG_UP;
    *session = s;
    return WS_OK;
}

int eio_ws_confirm_upgrade(eio_server *srv, struct lws *wsi)
{
    eio_conn scratch;
    eio_session *s;
    memset(&scratch, 0, sizeof(scratch));
    int verdict = ws_verdict(srv, wsi, &scratch, &s);
    if (verdict == WS_OK)
        return 0;
    if (verdict == WS_HANG_UP)
        return -1;
    /* engine.io's abortUpgrade(): 400, text/html, the bare message; 503 when busy */
    unsigned status = verdict == WS_BUSY ? 503 : 400;
    const char *msg = verdict == WS_BUSY ? "Service unavailable" : eio_error_message(verdict);
    unsigned char hdr[LWS_PRE + 512];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    unsigned char body[LWS_PRE + 64];
    size_t len = strlen(msg);
    memcpy(body + LWS_PRE, msg, len);
    if (lws_add_http_common_headers(wsi, status | LWSAHH_FLAG_NO_SERVER_NAME, "text/html", len, &p,
                                    end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                    (const unsigned char *)"close", 5, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end) ||
        lws_write(wsi, body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < (int)len)
        return -1;
    return 1;
}

int eio_ws_filter(eio_server *srv, struct lws *wsi, eio_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->srv = srv;
    c->kind = CONN_WS_HANDSHAKE;
    eio_session *s;
    if (ws_verdict(srv, wsi, c, &s) != WS_OK) /* refused at CONFIRM_UPGRADE already */
        return -1;
    if (s) {
        memcpy(c->sid, s->sid, sizeof(c->sid));
        c->ws_upgrade = 1;
        return 0;
    }
    do /* a direct WebSocket handshake */
        eio_generate_sid(c->sid);
    while (eio_session_find(srv, c->sid));
    c->set_cookie = srv->cfg.cookie_name != NULL;
    return 0;
}

int eio_ws_add_headers(eio_conn *c, struct lws *wsi, void *in)
{
    if (!c->set_cookie)
        return 0;
    struct lws_process_html_args *args = in;
    unsigned char *p = (unsigned char *)args->p, *end = p + args->max_len;
    char value[EIO_SID_LEN + 128];
    int n = snprintf(value, sizeof(value), "%s=%s; Path=/; HttpOnly; SameSite=Lax",
                     c->srv->cfg.cookie_name, c->sid);
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                    (const unsigned char *)value, n, &p, end))
        return -1;
    args->max_len -= (int)(p - (unsigned char *)args->p);
    args->p = (char *)p;
    return 0;
}

int eio_ws_established(eio_conn *c, struct lws *wsi)
{
    eio_server *srv = c->srv;
    c->kind = CONN_WS;
    if (c->ws_upgrade) { /* the polling session must still be there */
        eio_session *s = eio_session_find(srv, c->sid);
        if (!s || s->state != SESSION_OPEN || s->transport != EIO_TRANSPORT_POLLING ||
            s->upgrade != UPGRADE_NONE)
            return -1;
        c->session = s;
        eio_session_start_probe(s, wsi);
        return 0;
    }
    c->set_cookie = 0;
    eio_session *s = eio_session_create(srv, EIO_TRANSPORT_WEBSOCKET, c->sid, wsi);
    if (!s)
        return -1;
    s->ws = wsi;
    c->session = s;
    if (eio_session_send_open(s)) {
        eio_session_destroy(s, "transport error");
        return -1;
    }
    if (srv->handler.on_open)
        srv->handler.on_open(srv->handler.ctx, s);
    return 0;
}

static void on_message(eio_conn *c, struct lws *wsi, const uint8_t *data, size_t len,
                       int binary)
{
    eio_session *s = c->session;
    eio_packet p;
    if (binary) {
        eio_decode_binary_frame(data, len, &p);
    } else if (eio_decode_text_frame(data, len, &p) != EIO_OK) {
        eio_session_destroy(s, "parse error");
        return;
    }
    if (s->probe_ws == wsi)
        eio_session_on_probe_packet(s, &p);
    else if (s->ws == wsi)
        eio_session_on_packet(s, &p);
}

int eio_ws_receive(eio_conn *c, struct lws *wsi, const void *in, size_t len)
{
    eio_session *s = c->session;
    if (!s || c->close_sent)
        return 0; /* closing: read and discard until the client's close frame */
    int binary = lws_frame_is_binary(wsi);
    int last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    size_t max = c->srv->cfg.max_payload;
    if (c->rx.len + len > max) {
        bytebuf_free(&c->rx);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        eio_session *owner = c->session;
        c->session = NULL;
        if (owner && owner->ws == wsi) {
            owner->ws = NULL;
            eio_session_destroy(owner, "transport error");
        } else if (owner && owner->probe_ws == wsi) {
            owner->probe_ws = NULL;
            owner->upgrade = UPGRADE_NONE;
            deadline_disarm(&owner->upgrade_timer);
        }
        return -1;
    }
    if (last && c->rx.len == 0) { /* the common case: a whole message in one piece */
        on_message(c, wsi, in, len, binary);
        return 0;
    }
    if (bytebuf_append(&c->rx, in, len))
        return -1;
    if (last) {
        bytebuf msg = c->rx;
        c->rx = (bytebuf)BYTEBUF_INIT;
        on_message(c, wsi, msg.data, msg.len, binary);
        bytebuf_free(&msg);
    }
    return 0;
}

static int write_frame(struct lws *wsi, frame *f)
{
    int n = lws_write(wsi, frame_bytes(f), f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    return n < (int)f->len ? -1 : 0;
}

#define COALESCE_MAX_FRAMES 64
#define COALESCE_MAX_BYTES (64 * 1024)

/* The header of an unmasked, final server frame (RFC 6455 5.2): 2, 4 or 10
 * bytes. lws 4.1 can only write one frame per call, so coalescing several
 * frames into one write means laying out their headers here; everything else
 * about the connection stays with lws. */
static size_t ws_frame_header(uint8_t *out, int binary, size_t len)
{
    out[0] = (uint8_t)(0x80 | (binary ? 0x2 : 0x1));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* Writes the oldest queued frames as one buffer of complete WebSocket frames. */
static int write_coalesced(struct lws *wsi, send_queue *q)
{
    uint32_t n = 0;
    size_t total = 0;
    frame *f;
    while (n < COALESCE_MAX_FRAMES && (f = send_queue_peek(q, n)) &&
           (n < 2 || total + f->len + 10 <= COALESCE_MAX_BYTES)) {
        total += f->len + 10;
        n++;
    }
    if (n == 1) {
        f = send_queue_pop(q);
        int rc = write_frame(wsi, f);
        frame_unref(f);
        return rc;
    }
    uint8_t stack_buf[LWS_PRE + 4096];
    uint8_t *buf = LWS_PRE + total <= sizeof(stack_buf) ? stack_buf : malloc(LWS_PRE + total);
    if (!buf)
        return -1;
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        f = send_queue_pop(q);
        len += ws_frame_header(buf + LWS_PRE + len, f->binary, f->len);
        memcpy(buf + LWS_PRE + len, frame_cbytes(f), f->len);
        len += f->len;
        frame_unref(f);
    }
    int written = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_RAW);
    if (buf != stack_buf)
        free(buf);
    return written < (int)len ? -1 : 0;
}

int eio_ws_write_now(eio_session *s)
{
    struct lws *wsi = s->ws;
    eio_conn *c = wsi ? lws_wsi_user(wsi) : NULL;
    if (!c || c->control || c->close_sent || s->state != SESSION_OPEN || lws_partial_buffered(wsi))
        return 0;
    /* everything queued, in as few writes as the bounds allow */
    while (s->queue.count && !lws_partial_buffered(wsi)) {
        if (write_coalesced(wsi, &s->queue)) {
            /* the connection failed: lws closes it, eio_ws_closed() ends the session */
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            return 1;
        }
    }
    return s->queue.count == 0;
}

void eio_ws_send_control(struct lws *wsi, frame *f)
{
    eio_conn *c = lws_wsi_user(wsi);
    if (!c || c->control)
        return;
    c->control = frame_ref(f);
    lws_callback_on_writable(wsi);
}

void eio_ws_release(struct lws *wsi, uint16_t code)
{
    if (!wsi)
        return;
    eio_conn *c = lws_wsi_user(wsi);
    if (c) {
        c->session = NULL;
        c->kind = CONN_DONE;
        c->close_code = code ? code : LWS_CLOSE_STATUS_NORMAL;
    }
    lws_callback_on_writable(wsi);
}


/* lws 4.1 dropped LWS_WRITE_CLOSE from its public enum but still frames a close
 * for this value (its internal LWS_WRITE_CLOSE). */
#define EIO_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

/* The closing handshake: sends a close frame with `code`, then keeps reading
 * (and discarding) until the client answers with its own close frame, which
 * makes lws close the connection, or until the timeout. Closing at once would
 * make the kernel reset a connection whose client is still sending, and a
 * reset discards what the client had received but not yet read: the last
 * packets and the close frame itself. Debian's lws 4.1 also does not send a
 * frame set with lws_close_reason() when a callback returns -1 (clients see
 * 1006; cf. warmcat/libwebsockets#1159), hence the explicit frame. */
#define EIO_CLOSE_ACK_TIMEOUT_S 3

static int close_with(eio_conn *c, struct lws *wsi, uint16_t code)
{
    if (c->close_sent)
        return 0;
    unsigned char buf[LWS_PRE + 2];
    buf[LWS_PRE] = (unsigned char)(code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(code & 0xff);
    if (lws_write(wsi, buf + LWS_PRE, 2, EIO_LWS_WRITE_CLOSE) < 2)
        return -1;
    c->close_sent = 1;
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, EIO_CLOSE_ACK_TIMEOUT_S);
    return 0;
}

int eio_ws_writable(eio_conn *c, struct lws *wsi)
{
    if (c->close_sent)
        return 0; /* nothing may follow a close frame */
    if (c->control) {
        frame *f = c->control;
        c->control = NULL;
        int rc = write_frame(wsi, f);
        frame_unref(f);
        if (rc)
            return -1;
        lws_callback_on_writable(wsi);
        return 0;
    }
    eio_session *s = c->session;
    if (!s) /* released by the session: close with the status it chose */
        return close_with(c, wsi, c->close_code ? c->close_code : LWS_CLOSE_STATUS_NORMAL);
    if (s->ws != wsi)
        return 0; /* a probe waits for "5" before it carries data */
    frame *f = send_queue_pop(&s->queue);
    if (f) {
        int rc = write_frame(wsi, f);
        frame_unref(f);
        if (rc)
            return -1;
    }
    if (s->queue.count) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (s->state == SESSION_CLOSING) /* eio_ws_closed() then destroys the session */
        return close_with(c, wsi, s->close_ws_code ? s->close_ws_code : LWS_CLOSE_STATUS_NORMAL);
    return 0;
}

void eio_ws_closed(eio_conn *c, struct lws *wsi)
{
    eio_session *s = c->session;
    bytebuf_free(&c->rx);
    if (c->control) {
        frame_unref(c->control);
        c->control = NULL;
    }
    c->session = NULL;
    if (!s)
        return;
    if (s->ws == wsi) {
        s->ws = NULL;
        eio_session_destroy(s, s->state == SESSION_CLOSING ? s->close_reason : "transport close");
    } else if (s->probe_ws == wsi) {
        s->probe_ws = NULL;
        s->upgrade = UPGRADE_NONE;
        deadline_disarm(&s->upgrade_timer);
    }
}
