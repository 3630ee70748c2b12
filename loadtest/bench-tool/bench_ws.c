/* bench_ws: the WebSocket transport. TCP connect, the HTTP upgrade (written
 * here; Sec-WebSocket-Accept checked with OpenSSL SHA-1 + EVP_EncodeBlock),
 * then frames through wslay's frame API over our own non-blocking socket:
 * wslay reads straight from the socket into its buffer, and a whole text frame
 * is handed to the Socket.IO layer (or, with --plain-path, to the plain
 * client) in place, without a copy. Messages that arrive in pieces are
 * reassembled in a per-connection buffer. Ping frames are answered with a
 * pong carrying the same data (RFC 6455 5.5.3). With --deflate the upgrade
 * offers permessage-deflate (as ws and browsers do) and a message with RSV1
 * is inflated (the context kept unless the server said
 * server_no_context_takeover); the client's own messages go uncompressed. */
#include "bench_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include "bench_inflate.h"
#include "bench_net.h"

#define UPGRADE_MAX 16384           /* largest upgrade response head */
#define MESSAGE_MAX (64u << 20)     /* largest reassembled message */
#define READS_PER_EVENT 16          /* recv() calls per wake-up before yielding */

enum { WS_CONNECTING, WS_UPGRADING, WS_OPEN };

typedef struct ws_state {
    int fd;
    struct event *rev, *wev, *cev; /* readable, writable, connected */
    wslay_frame_context_ptr fr;
    struct evbuffer *out;   /* bytes the socket did not take yet */
    char *in;               /* the upgrade response, then the bytes read past it */
    size_t in_len, in_off;
    uint8_t *msg;           /* a message that did not arrive in one piece */
    size_t msg_len, msg_cap;
    uint64_t frame_got;     /* payload bytes of the current frame seen so far */
    uint8_t msg_opcode;
    uint8_t msg_rsv1;       /* the message in progress is compressed */
    uint8_t pmd, pmd_reset; /* permessage-deflate negotiated; server_no_context_takeover */
    bench_inflater *inflater;
    uint8_t *plain;         /* an inflated message */
    size_t plain_cap;
    uint8_t ctl[128];       /* a control frame that arrived in pieces */
    size_t ctl_len;
    uint8_t phase;
    uint8_t rd_block, rd_eof, reads;
    int rd_errno;
    char accept[32];        /* the Sec-WebSocket-Accept we expect */
} ws_state;

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- wslay callbacks ---------------------------------------------------- */

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *ud)
{
    bench_conn *c = ud;
    ws_state *s = c->tp;
    if (s->in_off < s->in_len) { /* bytes that came with the upgrade response */
        size_t n = s->in_len - s->in_off < len ? s->in_len - s->in_off : len;
        memcpy(buf, s->in + s->in_off, n);
        s->in_off += n;
        return (ssize_t)n;
    }
    if (s->rd_block)
        return -1;
    ssize_t n = recv(s->fd, buf, len, 0);
    if (n > 0) {
        c->w->now_us = bench_now_us();
        c->w->st.bytes_in += (uint64_t)n;
        if ((size_t)n < len || ++s->reads >= READS_PER_EVENT)
            s->rd_block = 1; /* drained (or our share is used): epoll says when there is more */
        return n;
    }
    if (n == 0)
        s->rd_eof = 1;
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        s->rd_errno = errno;
    s->rd_block = 1;
    return -1;
}

static ssize_t send_cb(const uint8_t *data, size_t len, int flags, void *ud)
{
    bench_conn *c = ud;
    ws_state *s = c->tp;
    size_t done = 0;
    if (evbuffer_get_length(s->out) == 0) {
        ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        done = n > 0 ? (size_t)n : 0;
    }
    if (done < len) {
        if (evbuffer_add(s->out, data + done, len - done))
            return -1;
        event_add(s->wev, NULL);
    }
    return (ssize_t)len;
}

static int genmask_cb(uint8_t *buf, size_t len, void *ud)
{
    bench_conn *c = ud;
    uint64_t r = bench_rand(&c->w->rng);
    memcpy(buf, &r, len < sizeof(r) ? len : sizeof(r));
    return 0;
}

static const struct wslay_frame_callbacks CALLBACKS = {send_cb, recv_cb, genmask_cb};

/* ---- sending ------------------------------------------------------------ */

static int send_frame(bench_conn *c, uint8_t opcode, const void *data, size_t len)
{
    ws_state *s = c->tp;
    if (!s || s->phase != WS_OPEN)
        return -1;
    struct wslay_frame_iocb io = {.fin = 1, .opcode = opcode, .mask = 1, .payload_length = len,
                                  .data = data, .data_length = len};
    ssize_t r = wslay_frame_send(s->fr, &io);
    return r < 0 || (size_t)r != len ? -1 : 0;
}

static int ws_send(bench_conn *c, const char *pkt, size_t len)
{
    return send_frame(c, WSLAY_TEXT_FRAME, pkt, len);
}

static int ws_send_binary(bench_conn *c, const uint8_t *p, size_t len)
{
    return send_frame(c, WSLAY_BINARY_FRAME, p, len);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    bench_conn *c = arg;
    ws_state *s = c->tp;
    if (evbuffer_write(s->out, fd) < 0 && errno != EAGAIN && errno != EINTR) {
        conn_fail(c, FAIL_CLOSED, "connection lost while sending");
        return;
    }
    if (evbuffer_get_length(s->out) == 0)
        event_del(s->wev);
}

/* ---- receiving ---------------------------------------------------------- */

static void deliver_plain(bench_conn *c, uint8_t opcode, const uint8_t *p, size_t n)
{
    int plain = c->w->cfg->plain_path != NULL;
    if (opcode == WSLAY_TEXT_FRAME && plain)
        plain_on_text(c, p, n);
    else if (opcode == WSLAY_TEXT_FRAME)
        conn_on_packet(c, p, n);
    else if (plain) /* an event whose only argument is binary: not ours */
        c->w->st.other_events++;
    else
        conn_on_binary(c, p, n);
}

static void deliver(bench_conn *c, uint8_t opcode, uint8_t rsv1, const uint8_t *p, size_t n)
{
    ws_state *s = c->tp;
    size_t len;
    if (!rsv1) {
        deliver_plain(c, opcode, p, n);
        return;
    }
    if (!s->pmd || (!s->inflater && !(s->inflater = bench_inflater_new(1))) ||
        bench_inflate(s->inflater, s->pmd_reset, p, n, &s->plain, &s->plain_cap, &len, MESSAGE_MAX)) {
        conn_fail(c, FAIL_PROTOCOL, "WebSocket: a compressed message that does not inflate");
        return;
    }
    c->w->st.compressed++;
    deliver_plain(c, opcode, s->plain, len);
}

static void on_control(bench_conn *c, ws_state *s, uint8_t opcode)
{
    char msg[BENCH_ERR_LEN];
    switch (opcode) {
    case WSLAY_PING:
        c->w->st.pings++;
        if (send_frame(c, WSLAY_PONG, s->ctl, s->ctl_len))
            conn_fail(c, FAIL_CLOSED, "connection lost while sending");
        return;
    case WSLAY_CONNECTION_CLOSE: {
        unsigned code = s->ctl_len >= 2 ? (unsigned)s->ctl[0] << 8 | s->ctl[1] : 0;
        int reason = s->ctl_len > 2 ? (int)(s->ctl_len - 2) : 0;
        snprintf(msg, sizeof(msg), "the server closed the WebSocket (code %u%s%.*s)", code,
                 reason ? ": " : "", reason > 80 ? 80 : reason, (const char *)s->ctl + 2);
        if (c->w->cfg->plain_path)
            plain_on_close(c, code, msg);
        else
            conn_fail(c, FAIL_CLOSED, msg);
        return;
    }
    default:
        return;
    }
}

/* One piece of a frame. Returns -1 when the connection ended. */
static int on_chunk(bench_conn *c, ws_state *s, const struct wslay_frame_iocb *io)
{
    int first = s->frame_got == 0;
    s->frame_got += io->data_length;
    int frame_done = s->frame_got == io->payload_length;
    if (frame_done)
        s->frame_got = 0;
    if (wslay_is_ctrl_frame(io->opcode)) {
        if (first)
            s->ctl_len = 0;
        memcpy(s->ctl + s->ctl_len, io->data, io->data_length); /* wslay caps these at 125 */
        s->ctl_len += io->data_length;
        if (frame_done)
            on_control(c, s, io->opcode);
        return c->state == CS_CLOSED ? -1 : 0;
    }
    if (first && io->opcode != WSLAY_CONTINUATION_FRAME) {
        if (s->msg_len || s->msg_opcode) {
            conn_fail(c, FAIL_PROTOCOL, "WebSocket: a new message inside a fragmented one");
            return -1;
        }
        s->msg_opcode = io->opcode;
        s->msg_rsv1 = wslay_get_rsv1(io->rsv);
        if (frame_done && io->fin) { /* the common case: a whole frame, read in place */
            s->msg_opcode = 0;
            deliver(c, io->opcode, s->msg_rsv1, io->data, io->data_length);
            return c->state == CS_CLOSED ? -1 : 0;
        }
    } else if (first && !s->msg_opcode) {
        conn_fail(c, FAIL_PROTOCOL, "WebSocket: a continuation frame without a message");
        return -1;
    }
    if (s->msg_len + io->data_length > s->msg_cap) {
        size_t cap = s->msg_cap ? s->msg_cap : 4096;
        while (cap < s->msg_len + io->data_length)
            cap *= 2;
        uint8_t *m = cap <= MESSAGE_MAX ? realloc(s->msg, cap) : NULL;
        if (!m) {
            conn_fail(c, FAIL_PROTOCOL, "WebSocket message too large");
            return -1;
        }
        s->msg = m;
        s->msg_cap = cap;
    }
    memcpy(s->msg + s->msg_len, io->data, io->data_length);
    s->msg_len += io->data_length;
    if (frame_done && io->fin) {
        uint8_t opcode = s->msg_opcode;
        size_t len = s->msg_len;
        s->msg_len = 0;
        s->msg_opcode = 0;
        deliver(c, opcode, s->msg_rsv1, s->msg, len);
        return c->state == CS_CLOSED ? -1 : 0;
    }
    return 0;
}

static void read_frames(bench_conn *c, ws_state *s)
{
    s->rd_block = 0;
    s->reads = 0;
    for (;;) {
        struct wslay_frame_iocb io;
        ssize_t r = wslay_frame_recv(s->fr, &io);
        if (r >= 0) {
            if (on_chunk(c, s, &io))
                return;
            continue;
        }
        if (r != WSLAY_ERR_WANT_READ) {
            conn_fail(c, FAIL_PROTOCOL, "WebSocket protocol error from the server");
        } else if (s->rd_eof) {
            conn_fail(c, FAIL_CLOSED, "connection closed by the server");
        } else if (s->rd_errno) {
            char msg[BENCH_ERR_LEN];
            snprintf(msg, sizeof(msg), "connection lost: %s", strerror(s->rd_errno));
            conn_fail(c, FAIL_CLOSED, msg);
        }
        return;
    }
}

/* ---- the upgrade -------------------------------------------------------- */

static void expected_accept(const char *key, char *out)
{
    char buf[64];
    unsigned char sha[SHA_DIGEST_LENGTH];
    int n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)buf, (size_t)n, sha);
    EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
}

/* Engine.IO: <url path>?EIO=4&transport=websocket; plain: --plain-path (+ token). */
static int request_target(bench_conn *c, char *out, size_t n)
{
    const bench_config *cfg = c->w->cfg;
    if (cfg->plain_path)
        return plain_target(cfg, out, n);
    int len = snprintf(out, n, "%s?EIO=%u&transport=websocket", conn_url(c)->path, cfg->eio);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

static int send_upgrade(bench_conn *c, ws_state *s)
{
    const bench_url *u = conn_url(c);
    uint8_t raw[16];
    char key[32], target[4096], req[4096 + 700];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = bench_rand(&c->w->rng);
        memcpy(raw + i, &r, 8);
    }
    EVP_EncodeBlock((unsigned char *)key, raw, 16);
    expected_accept(key, s->accept);
    if (request_target(c, target, sizeof(target))) {
        errno = E2BIG;
        return -1;
    }
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "User-Agent: sio-bench\r\n%s\r\n",
                     target, u->hostport, key,
                     c->w->cfg->deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                          "client_max_window_bits\r\n" : "");
    s->phase = WS_UPGRADING;
    return send_cb((const uint8_t *)req, (size_t)n, 0, c) < 0 ? -1 : 0;
}

static void read_upgrade(bench_conn *c, ws_state *s)
{
    char msg[BENCH_ERR_LEN];
    const bench_url *u = conn_url(c);
    if (!s->in && !(s->in = malloc(UPGRADE_MAX + 1))) {
        conn_fail(c, FAIL_PROTOCOL, "out of memory");
        return;
    }
    ssize_t n = recv(s->fd, s->in + s->in_len, UPGRADE_MAX - s->in_len, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n == 0)
            snprintf(msg, sizeof(msg), "%.60s: the server closed the connection without "
                     "answering the WebSocket upgrade (wrong path?)", u->text);
        else
            snprintf(msg, sizeof(msg), "%.80s: WebSocket upgrade failed: %.40s", u->text,
                     strerror(errno));
        conn_fail(c, FAIL_CONNECT, msg);
        return;
    }
    s->in_len += (size_t)n;
    size_t head = http_head_len(s->in, s->in_len);
    if (!head) {
        if (s->in_len == UPGRADE_MAX)
            conn_fail(c, FAIL_PROTOCOL, "WebSocket handshake response too large");
        return;
    }
    int status = http_status(s->in, head);
    const char *v;
    size_t vl;
    if (status != 101) {
        char line[80];
        http_status_line(s->in, head, line, sizeof(line));
        snprintf(msg, sizeof(msg), "handshake refused by %.70s: %.60s", u->text, line);
        c->w->st.last_status = status > 0 ? (uint32_t)status : 0;
        conn_fail(c, FAIL_REFUSED, msg);
        return;
    }
    if (http_header(s->in, head, "Sec-WebSocket-Accept", &v, &vl) || vl != strlen(s->accept) ||
        memcmp(v, s->accept, vl) != 0) {
        snprintf(msg, sizeof(msg), "%.80s: bad Sec-WebSocket-Accept in the upgrade response", u->text);
        conn_fail(c, FAIL_PROTOCOL, msg);
        return;
    }
    if (http_header(s->in, head, "Sec-WebSocket-Extensions", &v, &vl) == 0 &&
        memmem(v, vl, "permessage-deflate", 18)) {
        s->pmd = 1;
        s->pmd_reset = memmem(v, vl, "server_no_context_takeover", 26) != NULL;
    }
    s->in_off = head;
    s->phase = WS_OPEN;
    if (c->w->cfg->plain_path) {
        plain_on_open(c); /* the plain client speaks first: its subscribe */
        if (c->state == CS_CLOSED)
            return;
    }
    read_frames(c, s);
}

/* ---- events and lifecycle ----------------------------------------------- */

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    bench_conn *c = arg;
    ws_state *s = c->tp;
    if (s->phase == WS_OPEN)
        read_frames(c, s);
    else
        read_upgrade(c, s);
}

static void fail_connect(bench_conn *c, int err)
{
    char msg[BENCH_ERR_LEN];
    snprintf(msg, sizeof(msg), "connect to %.100s: %s", conn_url(c)->hostport, strerror(err));
    conn_fail(c, FAIL_CONNECT, msg);
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
    bench_conn *c = arg;
    ws_state *s = c->tp;
    int err = net_connect_result(fd);
    if (err) {
        fail_connect(c, err);
        return;
    }
    if (send_upgrade(c, s) || event_add(s->rev, NULL)) {
        fail_connect(c, errno ? errno : EIO);
        return;
    }
}

static void ws_close(bench_conn *c)
{
    ws_state *s = c->tp;
    if (!s)
        return;
    if (s->rev)
        event_free(s->rev);
    if (s->wev)
        event_free(s->wev);
    if (s->cev)
        event_free(s->cev);
    if (s->fd >= 0)
        close(s->fd);
    if (s->fr)
        wslay_frame_context_free(s->fr);
    if (s->out)
        evbuffer_free(s->out);
    free(s->in);
    free(s->msg);
    free(s->plain);
    bench_inflater_free(s->inflater);
    free(s);
    c->tp = NULL;
}

static int ws_start(bench_conn *c)
{
    ws_state *s = calloc(1, sizeof(*s));
    if (!s) {
        conn_fail(c, FAIL_CONNECT, "out of memory");
        return -1;
    }
    s->fd = -1;
    c->tp = s;
    int pending;
    s->fd = net_connect(conn_url(c), &pending);
    if (s->fd < 0) {
        fail_connect(c, errno);
        return -1;
    }
    s->out = evbuffer_new();
    s->rev = event_new(c->w->base, s->fd, EV_READ | EV_PERSIST, on_readable, c);
    s->wev = event_new(c->w->base, s->fd, EV_WRITE | EV_PERSIST, on_writable, c);
    s->cev = event_new(c->w->base, s->fd, EV_WRITE, on_connected, c);
    if (!s->out || !s->rev || !s->wev || !s->cev ||
        wslay_frame_context_init(&s->fr, &CALLBACKS, c) || event_add(s->cev, NULL)) {
        conn_fail(c, FAIL_CONNECT, "out of memory");
        return -1;
    }
    return 0;
}

const bench_transport_ops bench_ws_ops = {ws_start, ws_send, ws_send_binary, ws_close};
