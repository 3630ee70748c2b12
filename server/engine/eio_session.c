/* eio_session: Engine.IO sessions: the sid table, admission, heartbeats, the
 * transport-agnostic send path (queued, flushed once per loop turn) and the
 * dispatch of the client's packets. A session reaches its transport through
 * eio_transport only. See eio_internal.h. */
#include "eio_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random_id.h"
#include "ws_frame.h"

static void on_flush_prepare(uv_prepare_t *h);
static void on_flush_check(uv_check_t *h);
static void unlink_dirty(eio_session *s);

/* ---- timers ---------------------------------------------------------------- */

static void arm(eio_server *srv, deadline_list *l, deadline_entry *e)
{
    deadline_timer_arm(&srv->timer, l, e);
}

#define SESSION_OF(entry, member) \
    ((eio_session *)((char *)(entry) - offsetof(eio_session, member)))

static void on_ping_due(deadline_entry *e, void *ctx)
{
    eio_session *s = SESSION_OF(e, heartbeat);
    if (s->state != SESSION_OPEN) {
        eio_session_destroy(s, s->close_reason);
        return;
    }
    s->awaiting_pong = 1;
    s->refreshed_timeout = 0;
    arm(s->srv, &s->srv->pong_due, &s->heartbeat);
    eio_session_send(s, s->tp->control_ping ? s->srv->ws_ping_frame : s->srv->ping_frame);
}

static void on_pong_due(deadline_entry *e, void *ctx)
{
    eio_session_destroy(SESSION_OF(e, heartbeat), "ping timeout");
}

/* A v3 session sent no ping for an interval and a timeout (engine.io's
 * resetPingTimeout for protocol 3); a closing one is let go. */
static void on_v3_due(deadline_entry *e, void *ctx)
{
    eio_session *s = SESSION_OF(e, heartbeat);
    eio_session_destroy(s, s->state == SESSION_OPEN ? "ping timeout" : s->close_reason);
}

/* Where the heartbeat waits when no pong is awaited. */
static deadline_list *idle_list(eio_session *s)
{
    return s->protocol == 3 ? &s->srv->v3_due : &s->srv->ping_due;
}

static void on_upgrade_due(deadline_entry *e, void *ctx)
{
    eio_session_abort_probe(SESSION_OF(e, upgrade_timer)); /* keep polling */
}

void eio_session_abort_probe(eio_session *s)
{
    conn *probe = s->probe;
    deadline_disarm(&s->upgrade_timer);
    s->upgrade = UPGRADE_NONE;
    s->probe = NULL;
    if (probe) { /* engine.io closes a probe that did not complete */
        probe->user = NULL;
        conn_close(probe, 0);
    }
}

/* ---- the server's sessions ------------------------------------------------------ */

int eio_sessions_init(eio_server *srv)
{
    const eio_config *cfg = &srv->cfg;
    uv_loop_t *loop = srv->loop;
    hashmap_init(&srv->sessions);
    hashmap_init(&srv->per_ip);
    deadline_list_init(&srv->ping_due, cfg->ping_interval_ms, on_ping_due, srv);
    deadline_list_init(&srv->pong_due, cfg->ping_timeout_ms, on_pong_due, srv);
    deadline_list_init(&srv->upgrade_due, cfg->upgrade_timeout_ms, on_upgrade_due, srv);
    deadline_list_init(&srv->v3_due, cfg->ping_interval_ms + cfg->ping_timeout_ms, on_v3_due, srv);
    deadline_timer_init(&srv->timer, loop);
    deadline_timer_add_list(&srv->timer, &srv->ping_due);
    deadline_timer_add_list(&srv->timer, &srv->pong_due);
    deadline_timer_add_list(&srv->timer, &srv->upgrade_due);
    deadline_timer_add_list(&srv->timer, &srv->v3_due);
    uv_timer_init(loop, &srv->reaper);
    srv->reaper.data = srv;
    uv_prepare_init(loop, &srv->flush_prepare);
    uv_check_init(loop, &srv->flush_check);
    srv->flush_prepare.data = srv->flush_check.data = srv;
    uv_prepare_start(&srv->flush_prepare, on_flush_prepare);
    uv_check_start(&srv->flush_check, on_flush_check);
    srv->ping_frame = frame_new_text('2', NULL, 0);
    srv->pong_probe_frame = frame_new_text('3', "probe", 5);
    srv->noop_frame = frame_new_text('6', NULL, 0);
    srv->close_frame = frame_new_text('1', NULL, 0);
    srv->pong_frame = frame_new_text('3', NULL, 0);
    srv->ws_ping_frame = frame_new_ws(WS_OP_PING, NULL, 0);
    snprintf(srv->open_json_tail, sizeof(srv->open_json_tail),
             ",\"pingInterval\":%u,\"pingTimeout\":%u,\"maxPayload\":%zu}",
             cfg->ping_interval_ms, cfg->ping_timeout_ms, cfg->max_payload);
    return srv->ping_frame && srv->pong_probe_frame && srv->noop_frame && srv->close_frame &&
                   srv->pong_frame && srv->ws_ping_frame
               ? 0
               : -1;
}

void eio_sessions_close(eio_server *srv, uv_close_cb on_closed)
{
    const char *k;
    size_t klen;
    void *v;
    size_t it = 0;
    /* destroying mutates the map: restart the scan after each removal */
    while (hashmap_next(&srv->sessions, &it, &k, &klen, &v)) {
        eio_session_destroy(v, "server shutting down");
        it = 0;
    }
    hashmap_free(&srv->sessions);
    hashmap_free(&srv->per_ip); /* empty: every session gave its slot back */
    frame_unref(srv->ping_frame);
    frame_unref(srv->pong_probe_frame);
    frame_unref(srv->noop_frame);
    frame_unref(srv->close_frame);
    frame_unref(srv->pong_frame);
    frame_unref(srv->ws_ping_frame);
    srv->open_handles = 4;
    srv->timer.timer.data = srv;
    deadline_timer_close(&srv->timer, on_closed);
    uv_timer_stop(&srv->reaper);
    uv_close((uv_handle_t *)&srv->reaper, on_closed);
    uv_prepare_stop(&srv->flush_prepare);
    uv_close((uv_handle_t *)&srv->flush_prepare, on_closed);
    uv_check_stop(&srv->flush_check);
    uv_close((uv_handle_t *)&srv->flush_check, on_closed);
}

/* ---- admission -------------------------------------------------------------- */

typedef struct ip_count {
    size_t count;
    char addr[];
} ip_count;

int eio_admission(eio_server *srv, const char *addr)
{
    const eio_config *cfg = &srv->cfg;
    int rc = 0;
    if (srv->draining || (cfg->max_sessions && srv->sessions.count >= cfg->max_sessions))
        rc = -EBUSY;
    else if (cfg->max_sessions_per_ip) {
        ip_count *ic = hashmap_get(&srv->per_ip, addr, strlen(addr));
        if (ic && ic->count >= cfg->max_sessions_per_ip)
            rc = -EMFILE;
    }
    if (rc)
        srv->counters.handshakes_refused++;
    return rc;
}

static void count_ip(eio_session *s, int delta)
{
    eio_server *srv = s->srv;
    const char *addr = s->req.remote_addr;
    size_t len = strlen(addr);
    ip_count *ic = hashmap_get(&srv->per_ip, addr, len);
    if (delta > 0) {
        if (!ic) {
            if (!(ic = malloc(sizeof(*ic) + len + 1)))
                return;
            ic->count = 0;
            memcpy(ic->addr, addr, len + 1);
            if (hashmap_put(&srv->per_ip, ic->addr, len, ic)) {
                free(ic);
                return;
            }
        }
        ic->count++;
        s->counted_ip = 1;
    } else if (ic && s->counted_ip && --ic->count == 0) {
        hashmap_remove(&srv->per_ip, ic->addr, len);
        free(ic);
    }
}

/* ---- sessions --------------------------------------------------------------- */

eio_session *eio_session_find(eio_server *srv, const char *sid)
{
    return hashmap_get(&srv->sessions, sid, strlen(sid));
}

eio_session *eio_session_create(eio_server *srv, const eio_transport *tp,
                                const http_request *req)
{
    eio_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    do
        random_id(s->sid);
    while (eio_session_find(srv, s->sid));
    s->srv = srv;
    s->tp = tp;
    s->state = SESSION_OPEN;
    s->protocol = 4;
    if (eio_fill_request_info(s, req) || hashmap_put(&srv->sessions, s->sid, EIO_SID_LEN, s)) {
        free(s->req_storage);
        free(s);
        return NULL;
    }
    srv->counters.handshakes++;
    if (srv->cfg.max_sessions_per_ip)
        count_ip(s, 1);
    arm(srv, &srv->ping_due, &s->heartbeat);
    return s;
}

void eio_session_set_protocol(eio_session *s, const eio_query *q)
{
    s->protocol = q->eio == 3 ? 3 : 4;
    s->b64 = q->b64 ? 1 : 0;
    if (s->protocol == 3 && deadline_armed(&s->heartbeat))
        arm(s->srv, idle_list(s), &s->heartbeat);
}

int eio_protocol_allowed(const eio_server *srv, int eio)
{
    return eio == 4 || (eio == 3 && srv->cfg.allow_eio3);
}

int eio_protocol_mismatch(const eio_session *s, const eio_query *q)
{
    return s->protocol == 3 ? q->eio != 3 : q->eio == 3;
}

void eio_session_destroy(eio_session *s, const char *reason)
{
    if (s->state == SESSION_CLOSED)
        return;
    s->state = SESSION_CLOSED;
    eio_server *srv = s->srv;
    if (s->dirty)
        unlink_dirty(s);
    if (s->doomed) { /* destroyed before the reaper came: unlink it */
        for (eio_session **p = &srv->reap_list; *p; p = &(*p)->reap_next)
            if (*p == s) {
                *p = s->reap_next;
                break;
            }
    }
    deadline_disarm(&s->heartbeat);
    deadline_disarm(&s->upgrade_timer);
    hashmap_remove(&srv->sessions, s->sid, EIO_SID_LEN);
    if (s->counted_ip)
        count_ip(s, -1);
    const char *why = reason ? reason : "forced close";
    if (srv->handler.on_close)
        srv->handler.on_close(srv->handler.ctx, s, why);
    send_queue_clear(&s->queue);
    eio_session_abort_probe(s);
    s->tp->release(s, why);
    free(s->req_storage);
    free(s->close_ws_text);
    free(s);
}

void eio_session_rearm_heartbeat(eio_session *s)
{
    if (s->state != SESSION_CLOSED && !deadline_armed(&s->heartbeat))
        arm(s->srv, idle_list(s), &s->heartbeat);
}

void eio_session_mark_dirty(eio_session *s)
{
    if (s->dirty || s->state == SESSION_CLOSED)
        return;
    s->dirty = 1;
    s->dirty_next = s->srv->dirty;
    s->srv->dirty = s;
}

/* Reads, before any write, what the flush of each dirty session reads: its
 * WebSocket's state and its oldest queued frame. These loads have nothing
 * between them, so the CPU overlaps their misses; issued between the writes
 * (as prefetches or as loads) each would wait out its own miss behind the
 * previous write's system call. The sessions themselves are in cache: the
 * sends of this turn touched them. */
static uintptr_t warm_dirty(const eio_server *srv)
{
    uintptr_t sum = 0;
    for (const eio_session *s = srv->dirty; s; s = s->dirty_next) {
        if (s->ws)
            sum += (uintptr_t)conn_alive(s->ws);
        if (s->queue.count)
            sum += (uintptr_t)s->queue.ring[s->queue.head & (s->queue.cap - 1)];
    }
    return sum;
}

static void flush_dirty(eio_server *srv)
{
    if (srv->dirty && srv->dirty->dirty_next) {
        uintptr_t warmed = warm_dirty(srv);
        __asm__ volatile("" : : "r"(warmed)); /* keeps the loads */
    }
    while (srv->dirty) {
        eio_session *s = srv->dirty;
        srv->dirty = s->dirty_next;
        s->dirty = 0;
        s->tp->flush(s);
    }
}

static void on_flush_prepare(uv_prepare_t *h)
{
    flush_dirty(h->data);
}

static void on_flush_check(uv_check_t *h)
{
    flush_dirty(h->data);
}

static void unlink_dirty(eio_session *s)
{
    for (eio_session **p = &s->srv->dirty; *p; p = &(*p)->dirty_next)
        if (*p == s) {
            *p = s->dirty_next;
            return;
        }
}

static void on_reap(uv_timer_t *t)
{
    eio_server *srv = t->data;
    while (srv->reap_list) {
        eio_session *s = srv->reap_list;
        srv->reap_list = s->reap_next;
        srv->counters.slow_consumer_closes++;
        eio_session_destroy(s, "slow consumer");
    }
}

/* A session whose queue overflowed is destroyed from the reaper, never inside a
 * send: senders (broadcast loops) must not see rooms change under them. */
static void doom(eio_session *s)
{
    eio_server *srv = s->srv;
    s->doomed = 1;
    s->reap_next = srv->reap_list;
    srv->reap_list = s;
    send_queue_clear(&s->queue);
    uv_timer_start(&srv->reaper, on_reap, 0, 0);
}

int eio_session_send(eio_session *s, frame *f)
{
    if (s->state == SESSION_CLOSED || s->doomed)
        return -1;
    send_queue_limits lim = {s->srv->cfg.max_queue_frames, s->srv->cfg.max_queue_bytes};
    if (send_queue_push(&s->queue, f, &lim)) {
        doom(s);
        return -1;
    }
    s->srv->counters.messages_out++;
    s->srv->counters.bytes_out += f->len;
    eio_session_mark_dirty(s); /* written, coalesced, at the end of this loop turn */
    return 0;
}

int eio_session_send_volatile(eio_session *s, frame *f)
{
    if (s->state != SESSION_OPEN || s->doomed || s->queue.count || !s->tp->ready(s)) {
        s->srv->counters.volatile_dropped++;
        return -1;
    }
    return eio_session_send(s, f);
}

void eio_session_close(eio_session *s, const char *reason)
{
    if (s->state != SESSION_OPEN)
        return;
    s->state = SESSION_CLOSING;
    s->close_reason = reason ? reason : "forced close";
    s->hold_input = 0; /* the client's close frame must be read */
    eio_session_rearm_heartbeat(s); /* a client that never reads is let go */
    if (s->tp->close_packet) {
        send_queue_limits lim = {UINT32_MAX, SIZE_MAX};
        send_queue_push(&s->queue, s->srv->close_frame, &lim);
    }
    eio_session_mark_dirty(s);
    /* a client that never polls again is let go at the next heartbeat */
}

void eio_session_close_ws(eio_session *s, uint16_t ws_code, const char *text, const char *reason)
{
    if (s->state != SESSION_OPEN)
        return;
    s->close_ws_code = ws_code;
    free(s->close_ws_text);
    s->close_ws_text = text ? strdup(text) : NULL;
    eio_session_close(s, reason);
}

int eio_session_send_open(eio_session *s)
{
    bytebuf open = BYTEBUF_INIT;
    frame *f = NULL;
    if (eio_open_packet(s, &open) == 0)
        f = frame_new_text('0', open.data, open.len);
    bytebuf_free(&open);
    if (!f)
        return -1;
    int rc = eio_session_send(s, f);
    frame_unref(f);
    return rc;
}

int eio_open_packet(eio_session *s, bytebuf *out)
{
    const eio_config *cfg = &s->srv->cfg;
    int upgrades = s->tp->upgradable && cfg->allow_upgrades &&
                   (cfg->transports & EIO_TRANSPORT_WEBSOCKET);
    if (bytebuf_append_str(out, "{\"sid\":\"") || bytebuf_append(out, s->sid, EIO_SID_LEN) ||
        bytebuf_append_str(out, upgrades ? "\",\"upgrades\":[\"websocket\"]" : "\",\"upgrades\":[]") ||
        bytebuf_append_str(out, s->srv->open_json_tail))
        return -1;
    return 0;
}

/* v3: the client pings, the server answers and waits for the next one; a
 * pong from the client is the wrong direction (engine.io: transport error). */
static void v3_heartbeat(eio_session *s, const eio_packet *p)
{
    if (p->type == EIO_PONG) {
        eio_session_destroy(s, "transport error");
        return;
    }
    arm(s->srv, &s->srv->v3_due, &s->heartbeat);
    eio_session_send(s, s->srv->pong_frame);
}

void eio_session_on_packet(eio_session *s, const eio_packet *p)
{
    eio_server *srv = s->srv;
    if (s->state != SESSION_OPEN)
        return;
    if (s->protocol == 3 && (p->type == EIO_PING || p->type == EIO_PONG)) {
        v3_heartbeat(s, p);
        return;
    }
    if (s->awaiting_pong && !s->refreshed_timeout && p->type != EIO_PONG) {
        s->refreshed_timeout = 1; /* engine.io extends the ping timeout once per cycle */
        arm(srv, &srv->pong_due, &s->heartbeat);
    }
    switch (p->type) {
    case EIO_PONG:
        s->awaiting_pong = 0;
        arm(srv, &srv->ping_due, &s->heartbeat);
        break;
    case EIO_MESSAGE:
        srv->counters.messages_in++;
        srv->counters.bytes_in += p->len;
        if (srv->handler.on_message)
            srv->handler.on_message(srv->handler.ctx, s, p);
        break;
    case EIO_CLOSE:
        eio_session_destroy(s, "transport close");
        break;
    case EIO_NOOP:
        break;
    default: /* open, ping (wrong direction), upgrade outside a probe */
        eio_session_destroy(s, "transport error");
        break;
    }
}

void eio_session_start_probe(eio_session *s, conn *c)
{
    s->probe = c;
    s->upgrade = UPGRADE_PROBING;
    arm(s->srv, &s->srv->upgrade_due, &s->upgrade_timer);
}

const char *eio_session_id(const eio_session *s) { return s->sid; }
unsigned eio_session_transport(const eio_session *s) { return s->tp->id; }
unsigned eio_session_protocol(const eio_session *s) { return s->protocol; }

void eio_session_prefetch(const eio_session *s)
{
    if (!s)
        return;
    __builtin_prefetch(s, 1);
    __builtin_prefetch((const char *)s + 64, 1);
}

void eio_session_prefetch_queue(const eio_session *s)
{
    if (s && s->queue.cap)
        __builtin_prefetch(&s->queue.ring[(s->queue.head + s->queue.count) & (s->queue.cap - 1)], 1);
}
const eio_request_info *eio_session_request(const eio_session *s) { return &s->req; }
void eio_session_set_user(eio_session *s, void *user) { s->user = user; }
void *eio_session_user(const eio_session *s) { return s->user; }
