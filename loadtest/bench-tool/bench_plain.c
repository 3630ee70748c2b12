/* bench_plain: one plain WebSocket client (--plain-path; sio-server's
 * PLAIN_WS_PATH): no Engine.IO open, no namespace CONNECT. Once the upgrade
 * is done it subscribes with {"event":"subscribe","data":["room-1",...],"id":1},
 * is ready when {"id":1,"data":{"ok":true,...}} comes back, and on the hot path
 * hands every {"event":"bench","data":{...}} to the same sequence tracker and
 * latency histogram as a Socket.IO client. The server's keepalive is a
 * WebSocket ping frame, answered by the transport (bench_ws.c). */
#include "bench_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends s percent-encoded (everything but RFC 3986 unreserved characters). */
static int url_encode(char *out, size_t cap, size_t len, const char *s)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (len + 4 > cap)
            return -1;
        if (plain) {
            out[len++] = (char)ch;
        } else {
            out[len++] = '%';
            out[len++] = HEX[ch >> 4];
            out[len++] = HEX[ch & 15];
        }
    }
    out[len] = '\0';
    return (int)len;
}

int plain_target(const bench_config *cfg, char *out, size_t n)
{
    int len = snprintf(out, n, "%s", cfg->plain_path);
    if (len < 0 || (size_t)len >= n)
        return -1;
    if (!cfg->token)
        return 0;
    int w = snprintf(out + len, n - (size_t)len, "%ctoken=", strchr(cfg->plain_path, '?') ? '&' : '?');
    if (w < 0 || (size_t)(len + w) >= n)
        return -1;
    return url_encode(out, n, (size_t)(len + w), cfg->token) < 0 ? -1 : 0;
}

/* {"event":"subscribe","data":["room-1",...],"id":1} */
static void send_subscribe(bench_conn *c)
{
    size_t cap = 64 + (size_t)c->n_subs * (c->w->prefix_len + 16);
    char *buf = malloc(cap);
    if (!buf) {
        conn_fail(c, FAIL_PROTOCOL, "out of memory");
        return;
    }
    c->ack_id = 1;
    size_t len = (size_t)snprintf(buf, cap, "{\"event\":\"subscribe\",\"data\":[");
    if (conn_room_list(c, 0, c->n_subs, buf, &len, cap)) {
        free(buf);
        conn_fail(c, FAIL_PROTOCOL, "room name too long");
        return;
    }
    len += (size_t)snprintf(buf + len, cap - len, "],\"id\":%u}", c->ack_id);
    c->state = CS_WAIT_SUBSCRIBE;
    conn_send(c, buf, len);
    free(buf);
}

void plain_on_open(bench_conn *c)
{
    if (c->state != CS_HANDSHAKE)
        return;
    c->w->st.opened++;
    c->w->st.joined++; /* a plain client is a socket of its namespace from the upgrade on */
    if (c->n_subs)
        send_subscribe(c);
    else
        conn_set_ready(c);
}

/* The reply's "id" (a top-level key of a message without an event); -1 when none. */
static int64_t reply_id(const uint8_t *p, size_t n)
{
    const uint8_t *q = memmem(p, n, "\"id\":", 5), *end = p + n;
    if (!q)
        return -1;
    q += 5;
    while (q < end && *q == ' ')
        q++;
    int64_t id = 0;
    const uint8_t *start = q;
    while (q < end && *q >= '0' && *q <= '9' && q - start < 10)
        id = id * 10 + (*q++ - '0');
    return q == start ? -1 : id;
}

/* {"id":1,"data":{"ok":true,"rooms":[...]}} or {"id":1,"data":{"ok":false,"error":"forbidden"}} */
static void on_reply(bench_conn *c, const uint8_t *p, size_t n)
{
    int64_t id = reply_id(p, n);
    if (id < 0) {
        c->w->st.protocol_errors++;
        return;
    }
    if (c->state != CS_WAIT_SUBSCRIBE || id != (int64_t)c->ack_id) {
        c->w->st.other_events++;
        return;
    }
    if (memmem(p, n, "\"ok\":true", 9)) {
        conn_set_ready(c);
        return;
    }
    char why[96] = "no reason given", msg[BENCH_ERR_LEN];
    scan_string_field(p, n, "error", why, sizeof(why));
    snprintf(msg, sizeof(msg), "subscribe refused: %s", why);
    conn_fail(c, FAIL_SUBSCRIBE, msg);
}

void plain_on_text(bench_conn *c, const uint8_t *p, size_t n)
{
    bench_event ev;
    int r = scan_plain_event(p, n, &ev);
    if (r > 0) {
        conn_on_bench(c, &ev);
        return;
    }
    if (r < 0 || n < 2 || p[0] != '{') {
        c->w->st.protocol_errors++;
        return;
    }
    if (memmem(p, n, "\"event\"", 7)) { /* another event (a welcome message, an error) */
        c->w->st.other_events++;
        return;
    }
    on_reply(c, p, n);
}

void plain_on_close(bench_conn *c, unsigned code, const char *msg)
{
    int refused = code == 1008 && c->state != CS_READY;
    conn_fail(c, refused ? FAIL_NSP : FAIL_CLOSED, msg);
}
