/* bench_conn: one client's Engine.IO v4 / Socket.IO v5 state machine, above
 * whichever transport carries its packets: open -> namespace CONNECT (with the
 * auth token) -> subscribe with an ack -> receive. Answers pings, and on the
 * hot path hands every bench event to the sequence tracker and the latency
 * histogram. */
#include "bench_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const bench_url *conn_url(const bench_conn *c)
{
    return &c->w->cfg->urls[c->url];
}

int conn_start(bench_conn *c)
{
    c->state = CS_HANDSHAKE;
    c->w->st.attempted++;
    return c->w->ops->start(c);
}

int conn_send(bench_conn *c, const char *pkt, size_t len)
{
    if (c->w->ops->send(c, pkt, len)) {
        conn_fail(c, FAIL_CLOSED, "cannot send to the server (connection lost)");
        return -1;
    }
    return 0;
}

/* Appends the JSON string form of s (quotes, escapes) to out; returns the new length or -1. */
static int json_quote(char *out, size_t cap, size_t len, const char *s)
{
    if (len + 2 > cap)
        return -1;
    out[len++] = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (len + 8 > cap)
            return -1;
        if (ch == '"' || ch == '\\') {
            out[len++] = '\\';
            out[len++] = (char)ch;
        } else if (ch < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", ch);
        } else {
            out[len++] = (char)ch;
        }
    }
    out[len++] = '"';
    return (int)len;
}

/* "40" [nsp ","] [{"token":...}] */
static void send_connect(bench_conn *c)
{
    const bench_config *cfg = c->w->cfg;
    size_t cap = 64 + strlen(cfg->nsp) + (cfg->token ? strlen(cfg->token) * 6 : 0);
    char *buf = malloc(cap);
    if (!buf) {
        conn_fail(c, FAIL_PROTOCOL, "out of memory");
        return;
    }
    int len = snprintf(buf, cap, "40%s%s", strcmp(cfg->nsp, "/") ? cfg->nsp : "",
                       strcmp(cfg->nsp, "/") ? "," : "");
    if (cfg->token) {
        len += snprintf(buf + len, cap - (size_t)len, "{\"token\":");
        len = json_quote(buf, cap, (size_t)len, cfg->token);
        if (len >= 0)
            buf[len++] = '}';
    }
    c->state = CS_WAIT_CONNECT;
    if (cfg->msgpack)
        mp_send_connect(c);
    else if (len < 0)
        conn_fail(c, FAIL_PROTOCOL, "CONNECT payload too long");
    else
        conn_send(c, buf, (size_t)len);
    free(buf);
}

void conn_set_ready(bench_conn *c)
{
    c->state = CS_READY;
    c->subscribed = 1;
    c->w->st.ready++;
    worker_conn_settled(c->w, c, 1);
}

int conn_room_list(const bench_conn *c, uint8_t from, uint8_t to, char *buf, size_t *len, size_t cap)
{
    const bench_config *cfg = c->w->cfg;
    size_t n = *len;
    for (uint8_t i = from; i < to; i++) {
        if (i > from)
            buf[n++] = ',';
        buf[n++] = '"';
        int w = bench_room_name(cfg, c->subs[i].room, buf + n, cap - n);
        if (w < 0)
            return -1;
        n += (size_t)w;
        buf[n++] = '"';
    }
    *len = n;
    return 0;
}

/* "42" [nsp ","] <id> ["subscribe",["room-1",...]] for subs [from, to). */
static int send_subscribe_part(bench_conn *c, uint8_t from, uint8_t to, uint32_t id)
{
    const bench_config *cfg = c->w->cfg;
    if (cfg->msgpack)
        return mp_send_subscribe(c, from, to, id);
    size_t cap = 64 + strlen(cfg->nsp) + (size_t)(to - from) * (c->w->prefix_len + 16);
    char *buf = malloc(cap);
    if (!buf) {
        conn_fail(c, FAIL_PROTOCOL, "out of memory");
        return -1;
    }
    int nsp = strcmp(cfg->nsp, "/") != 0;
    size_t len = (size_t)snprintf(buf, cap, "42%s%s%u[\"subscribe\",[", nsp ? cfg->nsp : "",
                                  nsp ? "," : "", id);
    if (conn_room_list(c, from, to, buf, &len, cap)) {
        free(buf);
        conn_fail(c, FAIL_PROTOCOL, "room name too long");
        return -1;
    }
    len += (size_t)snprintf(buf + len, cap - len, "]]");
    conn_send(c, buf, len);
    free(buf);
    return 0;
}

/* The rooms in requests of at most BENCH_ROOMS_PER_REQUEST, ids 1, 2, ...;
 * ready once every one is acknowledged. */
static void send_subscribe(bench_conn *c)
{
    c->ack_id = 0;
    c->acks_due = 0;
    c->state = CS_WAIT_SUBSCRIBE;
    for (unsigned from = 0; from < c->n_subs; from += BENCH_ROOMS_PER_REQUEST) {
        unsigned to = from + BENCH_ROOMS_PER_REQUEST < c->n_subs ? from + BENCH_ROOMS_PER_REQUEST : c->n_subs;
        c->acks_due++;
        if (send_subscribe_part(c, (uint8_t)from, (uint8_t)to, ++c->ack_id))
            return;
    }
}

/* Skips "/nsp," when present; returns how many bytes it took. */
static size_t skip_nsp(const uint8_t *p, size_t n)
{
    if (n == 0 || p[0] != '/')
        return 0;
    const uint8_t *comma = memchr(p, ',', n);
    return comma ? (size_t)(comma - p) + 1 : n;
}

/* The hot path: 42[nsp,][id]["bench",{...}] */
static void on_event(bench_conn *c, const uint8_t *p, size_t n)
{
    bench_worker *w = c->w;
    size_t off = skip_nsp(p, n);
    while (off < n && p[off] >= '0' && p[off] <= '9')
        off++;
    bench_event ev;
    int r = scan_bench_event(p + off, n - off, &ev);
    if (r <= 0) {
        if (r == 0)
            w->st.other_events++;
        else
            w->st.protocol_errors++;
        return;
    }
    conn_on_bench(c, &ev);
}

void conn_on_bench(bench_conn *c, const bench_event *ev)
{
    bench_worker *w = c->w;
    int64_t room = bench_room_index(w->cfg, ev->room, ev->room_len);
    for (uint8_t i = 0; i < c->n_subs; i++) {
        if ((int64_t)c->subs[i].room != room)
            continue;
        if (ev->seq == 0) {
            w->st.protocol_errors++;
            return;
        }
        sub_record(&c->subs[i], ev->seq, &w->st);
        if (!w->st.first_rx_us)
            w->st.first_rx_us = w->now_us;
        w->st.last_rx_us = w->now_us;
        hist_record(&w->lat, w->now_us > ev->t ? w->now_us - ev->t : 0);
        return;
    }
    w->st.stray++;
}

void conn_on_subscribe_ack(bench_conn *c, uint32_t id, int ok, const char *why)
{
    char msg[BENCH_ERR_LEN];
    if (c->state != CS_WAIT_SUBSCRIBE || id == 0 || id > c->ack_id)
        return;
    if (ok) {
        if (--c->acks_due == 0)
            conn_set_ready(c);
        return;
    }
    snprintf(msg, sizeof(msg), "subscribe refused: %s", why);
    conn_fail(c, FAIL_SUBSCRIBE, msg);
}

static void on_ack(bench_conn *c, const uint8_t *p, size_t n)
{
    size_t off = skip_nsp(p, n);
    uint32_t id = 0;
    while (off < n && p[off] >= '0' && p[off] <= '9')
        id = id * 10 + (uint32_t)(p[off++] - '0');
    char why[96] = "no reason given";
    int ok = memmem(p + off, n - off, "\"ok\":true", 9) != NULL;
    if (!ok)
        scan_string_field(p + off, n - off, "error", why, sizeof(why));
    conn_on_subscribe_ack(c, id, ok, why);
}

void conn_on_joined(bench_conn *c)
{
    if (c->state != CS_WAIT_CONNECT)
        return;
    c->w->st.joined++;
    if (c->n_subs)
        send_subscribe(c);
    else
        conn_set_ready(c);
}

void conn_on_refused(bench_conn *c, const char *why)
{
    char msg[BENCH_ERR_LEN];
    snprintf(msg, sizeof(msg), "namespace CONNECT refused: %s", why);
    conn_fail(c, FAIL_NSP, msg);
}

static void on_message(bench_conn *c, const uint8_t *p, size_t n)
{
    char why[96] = "no message";
    switch (n ? p[0] : 0) {
    case '0': /* CONNECT */
        conn_on_joined(c);
        return;
    case '4': /* CONNECT_ERROR */
        scan_string_field(p + 1, n - 1, "message", why, sizeof(why));
        conn_on_refused(c, why);
        return;
    case '3':
        on_ack(c, p + 1, n - 1);
        return;
    case '1':
        conn_fail(c, FAIL_CLOSED, "the server disconnected the client from the namespace");
        return;
    default: /* binary events and others are not ours */
        c->w->st.other_events++;
        return;
    }
}

void conn_on_packet(bench_conn *c, const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == '4' && p[1] == '2') {
        on_event(c, p + 2, n - 2);
        return;
    }
    switch (n ? p[0] : 0) {
    case '4':
        on_message(c, p + 1, n - 1);
        return;
    case '2': { /* ping: answer with a pong carrying the same data */
        char pong[64] = "3";
        size_t len = n <= sizeof(pong) ? n : 1;
        memcpy(pong + 1, p + 1, len - 1);
        c->w->st.pings++;
        conn_send(c, pong, len);
        return;
    }
    case '0':
        if (c->state != CS_HANDSHAKE)
            return;
        c->w->st.opened++;
        if (c->w->cfg->eio == 3) /* Socket.IO v4 protocol: the server connects "/" itself */
            c->state = CS_WAIT_CONNECT;
        else
            send_connect(c);
        return;
    case '1':
        conn_fail(c, FAIL_CLOSED, "the server closed the Engine.IO session");
        return;
    default: /* noop (6), binary, upgrade packets */
        return;
    }
}

void conn_fail(bench_conn *c, conn_fail_kind kind, const char *msg)
{
    if (c->state == CS_CLOSED || c->state == CS_IDLE)
        return;
    bench_worker *w = c->w;
    int was_ready = c->state == CS_READY;
    if (was_ready) {
        w->st.closes++;
    } else {
        switch (kind) {
        case FAIL_CONNECT: w->st.connect_errors++; break;
        case FAIL_REFUSED: w->st.refused++; break;
        case FAIL_PROTOCOL: w->st.protocol_errors++; break;
        case FAIL_NSP: w->st.nsp_errors++; break;
        case FAIL_SUBSCRIBE: w->st.subscribe_errors++; break;
        case FAIL_TIMEOUT: w->st.timeouts++; break;
        case FAIL_CLOSED: w->st.connect_errors++; break;
        }
    }
    counters_error(&w->st, msg);
    w->ops->close(c);
    c->state = CS_CLOSED;
    if (!was_ready)
        worker_conn_settled(w, c, 0);
}

void conn_on_binary(bench_conn *c, const uint8_t *p, size_t n)
{
    if (c->w->cfg->msgpack)
        conn_on_msgpack(c, p, n);
    else /* an attachment: not ours */
        c->w->st.other_events++;
}
