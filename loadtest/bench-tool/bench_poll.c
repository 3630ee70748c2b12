/* bench_poll: the Engine.IO long-polling transport (--transport polling). Two
 * keep-alive HTTP/1.1 connections per client: one carries the GET polls (the
 * first one is the handshake), the other the POSTs; packets waiting for a POST
 * are batched with the \x1e separator while one is in flight. Responses have a
 * Content-Length (sio-server and engine.io send one), or are chunked (engine.io's
 * compressed ones). With
 * --accept-encoding the GETs ask for gzip or deflate and a response with a
 * Content-Encoding is inflated; binary packets ("b" + base64) go to
 * conn_on_binary (--parser msgpack). */
#include "bench_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "bench_inflate.h"
#include "bench_net.h"

#define HEAD_MAX 16384
#define BODY_MAX (64u << 20)

typedef struct poll_chan {
    int fd;
    struct event *rev, *wev, *cev;
    struct evbuffer *in, *out;
    uint8_t connected, busy, is_post;
} poll_chan;

typedef struct poll_state {
    poll_chan get, post;
    char sid[128];
    struct evbuffer *queue; /* packets waiting for the next POST */
    uint8_t opened;
    bench_inflater *inflater; /* --accept-encoding */
    uint8_t *plain;           /* an inflated body, a decoded binary packet */
    size_t plain_cap;
} poll_state;

static void chan_close(poll_chan *ch)
{
    if (ch->rev)
        event_free(ch->rev);
    if (ch->wev)
        event_free(ch->wev);
    if (ch->cev)
        event_free(ch->cev);
    if (ch->fd >= 0)
        close(ch->fd);
    ch->rev = ch->wev = ch->cev = NULL;
    ch->fd = -1;
    ch->connected = 0;
    if (ch->in)
        evbuffer_drain(ch->in, evbuffer_get_length(ch->in));
}

static void flush_chan(bench_conn *c, poll_chan *ch)
{
    if (!ch->connected)
        return;
    if (evbuffer_write(ch->out, ch->fd) < 0 && errno != EAGAIN && errno != EINTR) {
        conn_fail(c, c->state == CS_HANDSHAKE ? FAIL_CONNECT : FAIL_CLOSED,
                  "polling: connection lost while sending");
        return;
    }
    if (evbuffer_get_length(ch->out))
        event_add(ch->wev, NULL);
    else
        event_del(ch->wev);
}

static void on_response(bench_conn *c, poll_chan *ch, int status, const char *head, size_t hlen,
                        const uint8_t *body, size_t blen);

/* A Content-Encoding body: inflated into the state's buffer (-1: the connection failed). */
static int decode_body(bench_conn *c, const uint8_t **body, size_t *blen)
{
    poll_state *s = c->tp;
    size_t len;
    if ((!s->inflater && !(s->inflater = bench_inflater_new(0))) ||
        bench_inflate(s->inflater, 1, *body, *blen, &s->plain, &s->plain_cap, &len, BODY_MAX)) {
        conn_fail(c, FAIL_PROTOCOL, "polling: a compressed response that does not inflate");
        return -1;
    }
    c->w->st.compressed++;
    *body = s->plain;
    *blen = len;
    return 0;
}

/* A chunked body at p[0..n): its bytes appended to out; returns the bytes it
 * took, 0 when incomplete, -1 when malformed. */
static ssize_t dechunk(const char *p, size_t n, struct evbuffer *out)
{
    size_t off = 0;
    for (;;) {
        const char *eol = memchr(p + off, '\n', n - off);
        if (!eol)
            return n - off > 64 ? -1 : 0;
        char *end;
        unsigned long long size = strtoull(p + off, &end, 16);
        if (end == p + off || size > BODY_MAX)
            return -1;
        size_t data = (size_t)(eol - p) + 1;
        if (n < data + size + 2)
            return 0;
        if (size == 0)
            return (ssize_t)(data + 2);
        evbuffer_add(out, p + data, size);
        off = data + size + 2;
    }
}

/* The response in ch->in whose head is hlen bytes, chunked: moved whole into
 * *copy (head + body, malloc'd), *blen its body. 0 when incomplete, -1 failed. */
static int take_chunked(bench_conn *c, poll_chan *ch, size_t hlen, char **copy, size_t *blen)
{
    size_t avail = evbuffer_get_length(ch->in);
    const char *all = (const char *)evbuffer_pullup(ch->in, (ev_ssize_t)avail);
    struct evbuffer *body = evbuffer_new();
    ssize_t used = body ? dechunk(all + hlen, avail - hlen, body) : -1;
    if (used <= 0) {
        if (used < 0 || avail > BODY_MAX)
            conn_fail(c, FAIL_PROTOCOL, "polling: a bad chunked response");
        if (body)
            evbuffer_free(body);
        return used < 0 || avail > BODY_MAX ? -1 : 0;
    }
    *blen = evbuffer_get_length(body);
    *copy = malloc(hlen + *blen + 1);
    if (*copy) {
        memcpy(*copy, all, hlen);
        evbuffer_copyout(body, *copy + hlen, *blen);
    }
    evbuffer_free(body);
    evbuffer_drain(ch->in, hlen + (size_t)used);
    if (!*copy)
        conn_fail(c, FAIL_PROTOCOL, "out of memory");
    return *copy ? 1 : -1;
}

/* Parses every complete response in ch->in. */
static void parse_responses(bench_conn *c, poll_chan *ch)
{
    while (ch->busy) {
        size_t avail = evbuffer_get_length(ch->in);
        struct evbuffer_ptr end = evbuffer_search(ch->in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) {
            if (avail > HEAD_MAX)
                conn_fail(c, FAIL_PROTOCOL, "polling: response head too large");
            return;
        }
        size_t hlen = (size_t)end.pos + 4;
        const char *head = (const char *)evbuffer_pullup(ch->in, (ev_ssize_t)hlen);
        const char *v;
        size_t vl, blen;
        char *copy = NULL;
        int chunked = http_header(head, hlen, "Transfer-Encoding", &v, &vl) == 0 &&
                      memmem(v, vl, "chunked", 7);
        if (chunked) {
            int r = take_chunked(c, ch, hlen, &copy, &blen);
            if (r <= 0)
                return;
        } else if (http_header(head, hlen, "Content-Length", &v, &vl)) {
            conn_fail(c, FAIL_PROTOCOL, "polling: response without Content-Length");
            return;
        } else if ((blen = (size_t)strtoull(v, NULL, 10)) > BODY_MAX) {
            conn_fail(c, FAIL_PROTOCOL, "polling: response body too large");
            return;
        } else if (avail < hlen + blen) {
            return;
        }
        const char *all = copy ? copy : (const char *)evbuffer_pullup(ch->in, (ev_ssize_t)(hlen + blen));
        int closing = http_header(all, hlen, "Connection", &v, &vl) == 0 && vl == 5 &&
                      strncasecmp(v, "close", 5) == 0;
        int encoded = http_header(all, hlen, "Content-Encoding", &v, &vl) == 0 &&
                      !(vl == 8 && strncasecmp(v, "identity", 8) == 0);
        ch->busy = 0;
        c->w->now_us = bench_now_us();
        c->w->st.bytes_in += hlen + blen;
        /* copy out: the handler may queue the next request on this channel */
        if (!copy) {
            if (!(copy = malloc(hlen + blen + 1))) {
                conn_fail(c, FAIL_PROTOCOL, "out of memory");
                return;
            }
            memcpy(copy, all, hlen + blen);
            evbuffer_drain(ch->in, hlen + blen);
        }
        if (closing)
            chan_close(ch);
        const uint8_t *body = (const uint8_t *)copy + hlen;
        if (encoded && decode_body(c, &body, &blen)) {
            free(copy);
            return;
        }
        on_response(c, ch, http_status(copy, hlen), copy, hlen, body, blen);
        free(copy);
        if (c->state == CS_CLOSED)
            return;
    }
}

static void on_readable(evutil_socket_t fd, short what, void *arg);

static void on_chan_readable(bench_conn *c, poll_chan *ch)
{
    int n = evbuffer_read(ch->in, ch->fd, 65536);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (!ch->busy) { /* the server closed an idle keep-alive connection */
            chan_close(ch);
            return;
        }
        char msg[BENCH_ERR_LEN];
        snprintf(msg, sizeof(msg), "polling: %.80s closed the connection%s%s", conn_url(c)->text,
                 n ? ": " : "", n ? strerror(errno) : "");
        conn_fail(c, c->state == CS_HANDSHAKE ? FAIL_CONNECT : FAIL_CLOSED, msg);
        return;
    }
    parse_responses(c, ch);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    bench_conn *c = arg;
    poll_state *s = c->tp;
    on_chan_readable(c, s->get.fd == fd ? &s->get : &s->post);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    bench_conn *c = arg;
    poll_state *s = c->tp;
    flush_chan(c, s->get.fd == fd ? &s->get : &s->post);
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
    bench_conn *c = arg;
    poll_state *s = c->tp;
    poll_chan *ch = s->get.fd == fd ? &s->get : &s->post;
    int err = net_connect_result(fd);
    if (err) {
        char msg[BENCH_ERR_LEN];
        snprintf(msg, sizeof(msg), "connect to %.100s: %s", conn_url(c)->hostport, strerror(err));
        conn_fail(c, c->state == CS_HANDSHAKE ? FAIL_CONNECT : FAIL_CLOSED, msg);
        return;
    }
    ch->connected = 1;
    event_add(ch->rev, NULL);
    flush_chan(c, ch);
}

static int chan_open(bench_conn *c, poll_chan *ch)
{
    int pending;
    ch->fd = net_connect(conn_url(c), &pending);
    if (ch->fd < 0) {
        char msg[BENCH_ERR_LEN];
        snprintf(msg, sizeof(msg), "connect to %.100s: %s", conn_url(c)->hostport, strerror(errno));
        conn_fail(c, c->state == CS_HANDSHAKE ? FAIL_CONNECT : FAIL_CLOSED, msg);
        return -1;
    }
    struct event_base *base = c->w->base;
    ch->rev = event_new(base, ch->fd, EV_READ | EV_PERSIST, on_readable, c);
    ch->wev = event_new(base, ch->fd, EV_WRITE | EV_PERSIST, on_writable, c);
    ch->cev = event_new(base, ch->fd, EV_WRITE, on_connected, c);
    if (!ch->rev || !ch->wev || !ch->cev || event_add(ch->cev, NULL)) {
        conn_fail(c, FAIL_CONNECT, "out of memory");
        return -1;
    }
    return 0;
}

/* Queues a request on a channel (connecting it first when needed). */
static int chan_request(bench_conn *c, poll_chan *ch, const char *method, const void *body, size_t len)
{
    poll_state *s = c->tp;
    const bench_url *u = conn_url(c);
    char sid[160] = "";
    if (s->opened)
        snprintf(sid, sizeof(sid), "&sid=%s", s->sid);
    evbuffer_add_printf(ch->out, "%s %s?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s\r\n"
                        "User-Agent: sio-bench\r\n", method, u->path, sid, u->hostport);
    if (!body && c->w->cfg->accept_encoding)
        evbuffer_add_printf(ch->out, "Accept-Encoding: %s\r\n", c->w->cfg->accept_encoding);
    if (body)
        evbuffer_add_printf(ch->out, "Content-Type: text/plain;charset=UTF-8\r\n"
                            "Content-Length: %zu\r\n", len);
    evbuffer_add(ch->out, "\r\n", 2);
    if (body)
        evbuffer_add(ch->out, body, len);
    ch->busy = 1;
    if (ch->fd < 0)
        return chan_open(c, ch);
    flush_chan(c, ch);
    return c->state == CS_CLOSED ? -1 : 0;
}

static void flush_post(bench_conn *c, poll_state *s)
{
    size_t len = evbuffer_get_length(s->queue);
    if (!len || s->post.busy)
        return;
    const void *body = evbuffer_pullup(s->queue, -1);
    if (chan_request(c, &s->post, "POST", body, len) == 0)
        evbuffer_drain(s->queue, len);
}

/* "b<base64>": decoded into its own buffer (the body being split may be the
 * state's inflate buffer), then handed over. */
static void on_binary_packet(bench_conn *c, const uint8_t *p, size_t n)
{
    uint8_t stack[4096];
    size_t cap = n / 4 * 3 + 3;
    uint8_t *out = cap <= sizeof stack ? stack : malloc(cap);
    int len = out && n % 4 == 0 ? EVP_DecodeBlock(out, p, (int)n) : -1;
    if (len >= 0) {
        len -= n >= 1 && p[n - 1] == '=';
        len -= n >= 2 && p[n - 2] == '=';
        conn_on_binary(c, out, (size_t)len);
    } else {
        c->w->st.protocol_errors++;
    }
    if (out != stack)
        free(out);
}

static void on_get(bench_conn *c, poll_state *s, int status, const char *head, size_t hlen,
                   const uint8_t *body, size_t blen)
{
    char msg[BENCH_ERR_LEN], line[80];
    if (status != 200) {
        http_status_line(head, hlen, line, sizeof(line));
        if (!s->opened) {
            c->w->st.last_status = status > 0 ? (uint32_t)status : 0;
            snprintf(msg, sizeof(msg), "handshake refused by %.70s: %.60s", conn_url(c)->text, line);
            conn_fail(c, FAIL_REFUSED, msg);
        } else {
            snprintf(msg, sizeof(msg), "polling: GET refused: %s", line);
            conn_fail(c, FAIL_CLOSED, msg);
        }
        return;
    }
    if (!s->opened) {
        if (blen == 0 || body[0] != '0' ||
            scan_string_field(body, blen, "sid", s->sid, sizeof(s->sid))) {
            conn_fail(c, FAIL_PROTOCOL, "polling: the handshake did not return an open packet");
            return;
        }
        s->opened = 1;
    }
    const uint8_t *p = body, *end = body + blen;
    while (p < end) {
        const uint8_t *sep = memchr(p, 0x1e, (size_t)(end - p));
        const uint8_t *pe = sep ? sep : end;
        if (pe > p && p[0] == 'b')
            on_binary_packet(c, p + 1, (size_t)(pe - p - 1));
        else
            conn_on_packet(c, p, (size_t)(pe - p));
        if (c->state == CS_CLOSED)
            return;
        p = pe + 1;
    }
    chan_request(c, &s->get, "GET", NULL, 0); /* the next poll */
}

static void on_response(bench_conn *c, poll_chan *ch, int status, const char *head, size_t hlen,
                        const uint8_t *body, size_t blen)
{
    poll_state *s = c->tp;
    if (!ch->is_post) {
        on_get(c, s, status, head, hlen, body, blen);
        return;
    }
    if (status != 200) {
        char msg[BENCH_ERR_LEN], line[80];
        http_status_line(head, hlen, line, sizeof(line));
        snprintf(msg, sizeof(msg), "polling: POST refused: %s", line);
        conn_fail(c, FAIL_CLOSED, msg);
        return;
    }
    flush_post(c, s);
}

static int poll_send(bench_conn *c, const char *pkt, size_t len)
{
    poll_state *s = c->tp;
    if (!s || !s->opened)
        return -1;
    if (evbuffer_get_length(s->queue))
        evbuffer_add(s->queue, "\x1e", 1);
    evbuffer_add(s->queue, pkt, len);
    flush_post(c, s);
    return 0;
}

static int poll_send_binary(bench_conn *c, const uint8_t *p, size_t len)
{
    size_t cap = 2 + (len + 2) / 3 * 4;
    char *pkt = malloc(cap);
    if (!pkt)
        return -1;
    pkt[0] = 'b';
    int n = EVP_EncodeBlock((unsigned char *)pkt + 1, p, (int)len);
    int r = poll_send(c, pkt, (size_t)n + 1);
    free(pkt);
    return r;
}

static void poll_close(bench_conn *c)
{
    poll_state *s = c->tp;
    if (!s)
        return;
    chan_close(&s->get);
    chan_close(&s->post);
    struct evbuffer *bufs[] = {s->get.in, s->get.out, s->post.in, s->post.out, s->queue};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        if (bufs[i])
            evbuffer_free(bufs[i]);
    free(s->plain);
    bench_inflater_free(s->inflater);
    free(s);
    c->tp = NULL;
}

static int poll_start(bench_conn *c)
{
    poll_state *s = calloc(1, sizeof(*s));
    if (!s) {
        conn_fail(c, FAIL_CONNECT, "out of memory");
        return -1;
    }
    c->tp = s;
    s->get.fd = s->post.fd = -1;
    s->post.is_post = 1;
    s->get.in = evbuffer_new();
    s->get.out = evbuffer_new();
    s->post.in = evbuffer_new();
    s->post.out = evbuffer_new();
    s->queue = evbuffer_new();
    if (!s->get.in || !s->get.out || !s->post.in || !s->post.out || !s->queue) {
        conn_fail(c, FAIL_CONNECT, "out of memory");
        return -1;
    }
    return chan_request(c, &s->get, "GET", NULL, 0);
}

const bench_transport_ops bench_poll_ops = {poll_start, poll_send, poll_send_binary, poll_close};
