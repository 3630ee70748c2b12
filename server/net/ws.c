/* ws: RFC 6455 on a connection after the upgrade: frames in (checked,
 * unmasked, reassembled), frames out, the closing handshake. See ws.h. */
#include "ws.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "http1.h"
#include "ws_deflate.h"
#include "ws_ext.h"

static const conn_ops ws_ops;

/* Bytes kept while paused: lws stops reading at once, so this is about one
 * read of its buffer; far more means something is wrong. */
#define WS_MAX_STASH (1u << 20)

static ws_state *ws(conn *c)
{
    return &c->proto.ws;
}

/* ---- the handshake ------------------------------------------------------------ */

static int header_is(const struct http_request *req, const char *name, const char *value)
{
    const http_header *h = http_request_header(req, name);
    return h && strcasecmp(h->value, value) == 0;
}

int ws_upgrade_check(const struct http_request *req)
{
    if (req->method != HTTP_GET)
        return 405;
    const http_header *key = http_request_header(req, "sec-websocket-key");
    char accept[29];
    if (!req->upgrade || !header_is(req, "upgrade", "websocket") ||
        !header_is(req, "sec-websocket-version", "13") || !key ||
        ws_accept_key(key->value, key->value_len, accept))
        return 400;
    return 0;
}

/* Every Sec-WebSocket-Extensions line as one list (Node joins them with
 * ", "); 1 when there is one, 0 none, -1 out of memory. */
static int extensions_value(const struct http_request *req, bytebuf *out)
{
    int found = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        const http_header *h = &req->headers[i];
        if (strcmp(h->name, "sec-websocket-extensions") != 0)
            continue;
        if ((found++ && bytebuf_append(out, ", ", 2)) || bytebuf_append(out, h->value, h->value_len))
            return -1;
    }
    return found > 0;
}

/* The answer to the client's offers: 0 (pmd->accepted or not), or -EINVAL
 * for a header ws refuses. Out of memory: declined. */
static int negotiate(const struct http_request *req, const ws_options *o, ws_pmd *pmd)
{
    bytebuf v = BYTEBUF_INIT;
    memset(pmd, 0, sizeof(*pmd));
    int rc = o->per_message_deflate ? extensions_value(req, &v) : 0;
    if (rc > 0)
        rc = ws_pmd_negotiate((const char *)v.data, v.len, pmd);
    bytebuf_free(&v);
    return rc == -EINVAL ? rc : 0;
}

static int refuse_extensions(conn *c)
{
    static const char msg[] = "Invalid or unacceptable Sec-WebSocket-Extensions header";
    http_response r = {400, "Content-Type: text/html\r\n", msg, sizeof(msg) - 1, 1};
    http1_respond(c, &r);
    return -1;
}

static int write_101(conn *c, const char *accept, const ws_pmd *pmd, const char *extra_headers)
{
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s%s\r\n",
                     accept, pmd->accepted ? "Sec-WebSocket-Extensions: " : "",
                     pmd->accepted ? pmd->response : "", pmd->accepted ? "\r\n" : "",
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    return conn_write(c, head, (size_t)n);
}

int ws_accept_opts(conn *c, const struct http_request *req, const char *extra_headers,
                   const ws_handler *h, void *ctx, const ws_options *o)
{
    const http_header *key = http_request_header(req, "sec-websocket-key");
    char accept[29];
    ws_pmd pmd;
    if (!key || ws_accept_key(key->value, key->value_len, accept))
        return -1;
    if (negotiate(req, o, &pmd))
        return refuse_extensions(c);
    http1_end(c); /* `req` is gone from here on */
    ws_state *w = ws(c);
    memset(w, 0, sizeof(*w));
    w->h = h;
    w->ctx = ctx;
    w->max_message = o->max_message;
    w->deflate_bits = pmd.accepted ? pmd.server_bits : 0;
    w->deflate_threshold = o->deflate_threshold > UINT32_MAX ? UINT32_MAX : (uint32_t)o->deflate_threshold;
    c->ops = &ws_ops;
    conn_set_deadline(c, CONN_DL_NONE);
    return write_101(c, accept, &pmd, extra_headers);
}

int ws_accept(conn *c, const struct http_request *req, const char *extra_headers,
              const ws_handler *h, void *ctx, uint64_t max_message)
{
    ws_options o = {.max_message = max_message};
    return ws_accept_opts(c, req, extra_headers, h, ctx, &o);
}

/* ---- writing ------------------------------------------------------------------- */

int ws_write(conn *c, const void *frames, size_t len)
{
    return ws(c)->close_sent ? -1 : conn_write(c, frames, len);
}

int ws_writev(conn *c, const struct iovec *iov, int n)
{
    return ws(c)->close_sent ? -1 : conn_writev(c, iov, n);
}

const frame *ws_frame_for(conn *c, frame *f)
{
    ws_state *w = ws(c);
    if (w->deflate_bits < 9 || f->len < w->deflate_threshold || frame_ws_opcode(f) >= WS_OP_CLOSE)
        return f; /* not negotiated, a window zlib cannot make, small, or control */
    const frame *twin = ws_deflate_frame(f, w->deflate_bits);
    return twin ? twin : f;
}

int ws_send(conn *c, uint8_t opcode, const void *data, size_t len)
{
    uint8_t hdr[WS_MAX_SERVER_HEADER];
    struct iovec iov[2] = {{hdr, ws_frame_header(hdr, opcode, len)}, {SIO_UNCONST(void *, data), len}};
    return ws_writev(c, iov, len ? 2 : 1);
}

/* The reason's length that fits a close frame (123 bytes), not cutting a
 * UTF-8 sequence. */
static size_t reason_fit(const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;
    if (n <= 123)
        return n;
    n = 123;
    while (n && ((uint8_t)reason[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void send_close_frame_reason(conn *c, uint16_t code, const char *reason)
{
    ws_state *w = ws(c);
    uint8_t body[125] = {(uint8_t)(code >> 8), (uint8_t)code};
    size_t n = code == WS_CLOSE_NO_STATUS ? 0 : reason_fit(reason);
    if (n)
        memcpy(body + 2, reason, n);
    ws_send(c, WS_OP_CLOSE, body, code == WS_CLOSE_NO_STATUS ? 0 : 2 + n);
    w->close_sent = 1;
}

static void send_close_frame(conn *c, uint16_t code)
{
    send_close_frame_reason(c, code, NULL);
}

static void report_close(conn *c, uint16_t code)
{
    ws_state *w = ws(c);
    if (w->closed_reported)
        return;
    w->closed_reported = 1;
    if (w->h->on_close)
        w->h->on_close(w->ctx, c, code);
}

void ws_close_reason(conn *c, uint16_t code, const char *reason)
{
    ws_state *w = ws(c);
    if (w->close_sent || !conn_alive(c))
        return;
    send_close_frame_reason(c, code, reason);
    ws_resume(c); /* the client's close must be read; nothing else it sent is delivered now */
    conn_set_deadline(c, CONN_DL_CLOSE); /* the client's close frame, or we drop it */
}

void ws_close(conn *c, uint16_t code)
{
    ws_close_reason(c, code, NULL);
}

int ws_closing(const conn *c)
{
    return c->proto.ws.close_sent || c->proto.ws.close_received;
}

/* The protocol failed: one close frame with the status, then the TCP close. */
static void fail(conn *c, uint16_t code)
{
    ws_state *w = ws(c);
    if (!w->close_sent)
        send_close_frame(c, code);
    w->close_received = 1; /* nothing more is read */
    report_close(c, code);
    conn_close(c, 1);
}

/* ---- reading ------------------------------------------------------------------- */

static int valid_close_code(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

static void on_close_frame(conn *c)
{
    ws_state *w = ws(c);
    unsigned code = WS_CLOSE_NO_STATUS;
    ws_utf8 u = {0};
    if (w->ctl_len == 1) {
        fail(c, WS_CLOSE_PROTOCOL_ERROR);
        return;
    }
    if (w->ctl_len >= 2) {
        code = (unsigned)w->ctl[0] << 8 | w->ctl[1];
        if (!valid_close_code(code)) {
            fail(c, WS_CLOSE_PROTOCOL_ERROR);
            return;
        }
        if (ws_utf8_feed(&u, w->ctl + 2, w->ctl_len - 2u) || !ws_utf8_complete(&u)) {
            fail(c, WS_CLOSE_INVALID_DATA);
            return;
        }
    }
    w->close_received = 1;
    if (!w->close_sent) /* answer with the same status */
        send_close_frame(c, (uint16_t)(code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code));
    report_close(c, (uint16_t)code);
    conn_close(c, 1);
}

static void on_control_frame(conn *c)
{
    ws_state *w = ws(c);
    switch (w->frame.opcode) {
    case WS_OP_PING:
        if (!w->close_sent)
            ws_send(c, WS_OP_PONG, w->ctl, w->ctl_len);
        break;
    case WS_OP_CLOSE:
        on_close_frame(c);
        break;
    default: /* pong */
        if (!w->close_sent && w->h->on_pong)
            w->h->on_pong(w->ctx, c);
        break;
    }
}

/* `utf8`: the text's validation state (the wire's, or the inflated text's). */
static void deliver(conn *c, uint8_t *data, size_t len, const ws_utf8 *utf8)
{
    ws_state *w = ws(c);
    int binary = w->msg_opcode == WS_OP_BINARY;
    w->msg_opcode = 0;
    if (!binary && !ws_utf8_complete(utf8)) {
        fail(c, WS_CLOSE_INVALID_DATA);
        return;
    }
    if (!w->close_sent && w->h->on_message)
        w->h->on_message(w->ctx, c, binary, data, len);
}

/* A compressed message: inflated (bounded by the limit) by the shared
 * inflater, checked as text, delivered. ws's statuses: over the limit 1009,
 * a corrupt stream 1007 (its inflate errors), invalid UTF-8 1007. */
static void deliver_deflated(conn *c, const uint8_t *data, size_t len)
{
    ws_state *w = ws(c);
    static uint8_t empty[1];
    bytebuf out = BYTEBUF_INIT;
    ws_utf8 u = {0};
    w->msg_deflated = 0;
    int rc = ws_inflate_message(data, len, w->max_message, &out);
    if (rc == 0 && w->msg_opcode == WS_OP_TEXT && ws_utf8_feed(&u, out.data, out.len))
        rc = -EILSEQ;
    if (rc)
        fail(c, rc == -EMSGSIZE ? WS_CLOSE_TOO_BIG : rc == -ENOMEM ? WS_CLOSE_INTERNAL
                                                                  : WS_CLOSE_INVALID_DATA);
    else
        deliver(c, out.data ? out.data : empty, out.len, &u);
    bytebuf_free(&out);
}

static void end_of_frame(conn *c)
{
    ws_state *w = ws(c);
    w->in_frame = 0;
    if (w->frame.opcode >= WS_OP_CLOSE) {
        on_control_frame(c);
        return;
    }
    if (!w->frame.fin || w->msg_opcode == 0)
        return; /* more fragments to come, or delivered in place already */
    bytebuf msg = w->msg;
    w->msg = (bytebuf)BYTEBUF_INIT;
    if (w->msg_deflated)
        deliver_deflated(c, msg.data, msg.len);
    else
        deliver(c, msg.data, msg.len, &w->utf8);
    bytebuf_free(&msg);
}

/* Message-level checks once a frame header is known. */
static int start_frame(conn *c)
{
    ws_state *w = ws(c);
    ws_frame_hdr *f = &w->frame;
    w->frame_got = 0;
    w->in_frame = 1;
    int continuation = f->opcode == WS_OP_CONTINUATION;
    if ((f->rsv & WS_RSV1) && (f->opcode >= WS_OP_CLOSE || continuation)) {
        fail(c, WS_CLOSE_PROTOCOL_ERROR); /* RFC 7692 6.1: the first frame of a message only */
        return -1;
    }
    if (f->opcode >= WS_OP_CLOSE) {
        w->ctl_len = 0;
        return 0;
    }
    if (continuation != (w->msg_opcode != 0)) { /* a lone continuation, or interleaved */
        fail(c, WS_CLOSE_PROTOCOL_ERROR);
        return -1;
    }
    if (w->msg.len + f->len > w->max_message) { /* refused from the header */
        fail(c, WS_CLOSE_TOO_BIG);
        return -1;
    }
    if (!continuation) {
        w->msg_opcode = f->opcode;
        w->msg_deflated = (f->rsv & WS_RSV1) != 0;
        memset(&w->utf8, 0, sizeof(w->utf8));
    }
    return 0;
}

static int payload(conn *c, uint8_t *p, size_t n)
{
    ws_state *w = ws(c);
    ws_frame_hdr *f = &w->frame;
    ws_unmask(p, n, f->mask, w->frame_got);
    if (f->opcode >= WS_OP_CLOSE) {
        if (!w->ctl && !(w->ctl = malloc(WS_MAX_CONTROL)))
            return -1;
        memcpy(w->ctl + w->ctl_len, p, n); /* control payloads are <= 125 bytes */
        w->ctl_len = (uint8_t)(w->ctl_len + n);
        return 0;
    }
    if (w->msg_opcode == WS_OP_TEXT && !w->msg_deflated && ws_utf8_feed(&w->utf8, p, n)) {
        fail(c, WS_CLOSE_INVALID_DATA);
        return -1;
    }
    if (f->fin && w->frame_got == 0 && n == f->len && w->msg.len == 0) {
        if (w->msg_deflated) /* whole in this read: inflated from there */
            deliver_deflated(c, p, n);
        else
            deliver(c, p, n, &w->utf8); /* whole in this read: handed over in place */
        return 0;
    }
    return bytebuf_append(&w->msg, p, n);
}

/* Parses a frame header from the bytes gathered so far plus `p`; returns the
 * bytes of `p` it used, 0 when more are needed (all of `p` kept), -1 failed. */
static long read_header(conn *c, const uint8_t *p, size_t n)
{
    ws_state *w = ws(c);
    size_t have = w->hdr_len, take = n < WS_MAX_HEADER - have ? n : WS_MAX_HEADER - have;
    memcpy(w->hdr + have, p, take);
    uint8_t rsv = w->deflate_bits ? WS_RSV1 : 0; /* RSV1 only with permessage-deflate */
    int rc = ws_frame_parse_header(w->hdr, have + take, 1, rsv, &w->frame);
    if (rc < 0) {
        fail(c, (uint16_t)-rc);
        return -1;
    }
    if (rc == 0) {
        w->hdr_len = (uint8_t)(have + take);
        return (long)take;
    }
    w->hdr_len = 0;
    if (start_frame(c))
        return -1;
    return (long)((size_t)rc - have);
}

/* Parses frames from `p` until done, closed, or paused (the rest is kept). */
static int parse(conn *c, uint8_t *p, size_t n)
{
    ws_state *w = ws(c);
    while (n && !w->close_received && conn_alive(c)) {
        if (w->paused) /* a message handler asked for it: keep the rest */
            return bytebuf_append(&w->stash, p, n);
        if (!w->in_frame) {
            long used = read_header(c, p, n);
            if (used < 0)
                return 0;
            p += used;
            n -= (size_t)used;
            if (!w->in_frame)
                continue; /* header still incomplete: everything was taken */
        }
        uint64_t left = w->frame.len - w->frame_got;
        size_t take = left < n ? (size_t)left : n;
        if (take && payload(c, p, take))
            return ws(c)->close_received ? 0 : -1;
        w->frame_got += take;
        p += take;
        n -= take;
        if (w->frame_got == w->frame.len)
            end_of_frame(c);
    }
    return 0;
}

void ws_pause(conn *c)
{
    ws_state *w = ws(c);
    if (w->paused || !conn_alive(c))
        return;
    w->paused = 1;
    conn_read_enable(c, 0);
}

void ws_resume(conn *c)
{
    ws_state *w = ws(c);
    if (!w->paused)
        return;
    w->paused = 0;
    conn_read_enable(c, 1);
    if (w->stash.len)
        conn_defer(c); /* parsed from the loop, not inside the caller */
}

int ws_paused(const conn *c)
{
    return c->proto.ws.paused;
}

static void ws_deferred(conn *c)
{
    ws_state *w = ws(c);
    if (w->paused || !w->stash.len)
        return;
    bytebuf in = w->stash;
    w->stash = (bytebuf)BYTEBUF_INIT;
    if (parse(c, in.data, in.len)) /* a pause keeps the rest in the (new) stash */
        conn_kill(c);
    bytebuf_free(&in);
}

static int ws_data(conn *c, uint8_t *p, size_t n)
{
    ws_state *w = ws(c);
    if (w->paused || w->stash.len) { /* behind what is kept: in order, later */
        if (w->stash.len + n > WS_MAX_STASH)
            return -1; /* reading stopped long ago: a client that ignores it */
        if (!w->paused)
            conn_defer(c);
        return bytebuf_append(&w->stash, p, n);
    }
    return parse(c, p, n);
}

static void ws_drained(conn *c)
{
    ws_state *w = ws(c);
    if (w->h->on_drained)
        w->h->on_drained(w->ctx, c);
}

static void ws_gone(conn *c)
{
    report_close(c, 1006);
    bytebuf_free(&ws(c)->msg);
    bytebuf_free(&ws(c)->stash);
    free(ws(c)->ctl);
    ws(c)->ctl = NULL;
}

static const conn_ops ws_ops = {
    .on_data = ws_data,
    .on_drained = ws_drained,
    .on_close = ws_gone,
    .on_deferred = ws_deferred,
};
