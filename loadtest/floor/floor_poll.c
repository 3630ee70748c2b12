/* floor_poll: Engine.IO long-polling sessions. A session is a socket without
 * a fd (K_SESSION, the room member) plus its sid, its pending packets and the
 * GET that waits for them. Packets for the session (replies, broadcasts) are
 * appended to `pending` (\x1e between packets; FLOOR_OUT_MAX at most, then the
 * session ends) and the held GET is answered at the end of the turn with all
 * of them (poll_flush). A GET held for 20 s is answered with a noop (6); a
 * session nobody polled for 45 s ends. A second GET while one is held, an
 * unknown sid, or a bad packet in a POST: 400, and the connection closes. */
#include "floor.h"

#include <stdlib.h>
#include <string.h>

#define HOLD_MS 20000
#define EXPIRE_MS 45000

static const char CTYPE[] = "text/plain; charset=UTF-8";

static floor_session *find(const char *sid, size_t len)
{
    return (floor_session *)map_get(&F.sessions, sid, len);
}

/* Answers c's GET with body (then c may carry the next request). */
static void answer(floor_conn *c, const char *body, size_t len)
{
    struct iovec iov = {(void *)(uintptr_t)body, len};
    c->sess = NULL;
    http_respond(c, 200, CTYPE, &iov, 1, 0);
}

/* The held GET, once its connection is known to be alive (a dead one is let go). */
static floor_conn *held(floor_session *s)
{
    if (s->held && (s->held->flags & F_DEAD)) {
        s->held->sess = NULL;
        s->held = NULL;
        s->seen_ms = F.now_ms;
    }
    return s->held;
}

static void refuse(floor_conn *c)
{
    static const char msg[] = "{\"code\":1,\"message\":\"Session ID unknown\"}";
    struct iovec iov = {(void *)(uintptr_t)msg, sizeof(msg) - 1};
    http_respond(c, 400, "application/json", &iov, 1, 1);
}

void poll_open(floor_conn *c)
{
    floor_session *s = calloc(1, sizeof(*s));
    if (s)
        s->sock = conn_new_session(s);
    if (!s || !s->sock) {
        free(s);
        conn_kill(c);
        return;
    }
    sio_new_id(s->sid);
    s->node.key = s->sid;
    s->node.klen = FLOOR_SID_LEN;
    s->seen_ms = F.now_ms;
    if (map_put(&F.sessions, &s->node)) {
        free(s->sock);
        free(s);
        conn_kill(c);
        return;
    }
    char open[256];
    answer(c, open, sio_open_packet(open, sizeof(open), s->sid));
}

void poll_get(floor_conn *c, const char *sid, size_t sid_len)
{
    floor_session *s = find(sid, sid_len);
    if (!s || (s->sock->flags & F_DEAD) || held(s)) {
        if (s)
            conn_kill(s->sock); /* two GETs at once: the session ends (as engine.io does) */
        refuse(c);
        return;
    }
    s->seen_ms = F.now_ms;
    if (s->pending && s->pending->len) {
        answer(c, s->pending->data, s->pending->len);
        s->pending->len = 0;
        return;
    }
    s->held = c;
    s->held_ms = F.now_ms;
    c->sess = s;
}

void poll_post(floor_conn *c, const char *sid, size_t sid_len, char *body, size_t len)
{
    floor_session *s = find(sid, sid_len);
    if (!s || (s->sock->flags & F_DEAD)) {
        refuse(c);
        return;
    }
    s->seen_ms = F.now_ms;
    for (char *p = body, *end = body + len; p < end;) {
        char *sep = memchr(p, 0x1e, (size_t)(end - p)), *pe = sep ? sep : end;
        if (sio_on_packet(s->sock, p, (size_t)(pe - p))) {
            conn_kill(s->sock);
            refuse(c);
            return;
        }
        p = pe + 1;
    }
    static const char ok[] = "ok";
    struct iovec iov = {(void *)(uintptr_t)ok, 2};
    http_respond(c, 200, CTYPE, &iov, 1, 0);
}

void poll_send(floor_session *s, const struct iovec *parts, int n)
{
    static const char sep = 0x1e;
    floor_conn *c = s->sock;
    if (c->flags & F_DEAD)
        return;
    int fail = s->pending && s->pending->len && buf_put(&s->pending, &sep, 1, FLOOR_OUT_MAX);
    for (int i = 0; i < n && !fail; i++)
        fail = buf_put(&s->pending, parts[i].iov_base, parts[i].iov_len, FLOOR_OUT_MAX);
    if (fail) {
        conn_kill(c); /* a client that does not poll */
        return;
    }
    out_touch(c);
}

void poll_flush(floor_session *s)
{
    if (!held(s) || !s->pending || !s->pending->len)
        return;
    answer(s->held, s->pending->data, s->pending->len);
    s->held = NULL;
    s->pending->len = 0;
    if (s->pending->cap > FLOOR_IN_MAX) { /* keep a small one only */
        free(s->pending);
        s->pending = NULL;
    }
}

void poll_sweep(void)
{
    for (size_t i = 0; i < F.sessions.n_buckets; i++) {
        for (floor_node *n = F.sessions.buckets[i]; n; n = n->next) {
            floor_session *s = (floor_session *)n;
            if (held(s) && F.now_ms - s->held_ms >= HOLD_MS) {
                floor_conn *c = s->held;
                s->held = NULL;
                s->seen_ms = F.now_ms;
                answer(c, "6", 1);
            } else if (!s->held && F.now_ms - s->seen_ms >= EXPIRE_MS) {
                conn_kill(s->sock);
            }
        }
    }
}

void poll_free(floor_session *s)
{
    map_del(&F.sessions, &s->node);
    if (s->held) {
        s->held->sess = NULL;
        conn_kill(s->held);
    }
    free(s->pending);
    free(s);
}
