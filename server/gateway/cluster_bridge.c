#include "cluster_bridge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_recovery.h"
#include "hashmap.h"
#include "prom.h"
#include "sio_internal.h"
#include "ws_deflate.h"

struct cluster_bridge {
    uv_async_t async;
    sio_server *io;
    edge_stats *stats;
    mailbox inbox;
    mailbox *to_cluster; /* NULL until attached */
    int as_adapter;
    cluster_recovery *recovery; /* NULL: recovery off, or in memory */
    hashmap barriers;           /* token -> pending_barrier */
    void (*on_backend)(void *ctx, backend_msg *m); /* MSG_BACKEND_DONE, NULL: dropped */
    void (*on_drain)(void *ctx);                   /* MSG_DRAIN, NULL: ignored */
    void *drain_ctx;
    void *backend_ctx;
    uint64_t next_barrier;
};

/* publish-to-delivery latency of stamped broadcasts, at fan-out: in b->stats */
static const double latency_bounds_s[EDGE_LATENCY_N] = EDGE_LATENCY_BOUNDS_S;
#define N_BOUNDS EDGE_LATENCY_N

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void observe_latency(cluster_bridge *b, int64_t publish_us)
{
    double s = (double)(wall_us() - publish_us) / 1e6;
    if (s < 0)
        s = 0;
    size_t i = 0;
    while (i < N_BOUNDS && s > latency_bounds_s[i])
        i++;
    EDGE_STAT_ADD(b->stats, latency_buckets[i], 1);
    EDGE_STAT_ADD(b->stats, latency_count, 1);
    EDGE_STAT_ADD(b->stats, latency_sum_us, (unsigned long)(s * 1e6));
}

/* ---- requests from other nodes ------------------------------------------- */

/* The sockets a request's opts select, as socket.io-adapter's apply(): the
 * union of `rooms` (all sockets when none) minus those in any `except` room.
 * Collected first, because acting on them may change rooms. */
typedef struct selection {
    sio_socket **sockets;
    size_t n, cap;
    int failed;
} selection;

static int collect(void *ctx, sio_socket *s)
{
    selection *sel = ctx;
    if (sel->n == sel->cap) {
        size_t cap = sel->cap ? sel->cap * 2 : 16;
        sio_socket **grown = realloc(sel->sockets, cap * sizeof(*grown));
        if (!grown) {
            sel->failed = 1;
            return 0;
        }
        sel->sockets = grown;
        sel->cap = cap;
    }
    sel->sockets[sel->n++] = s;
    return 1;
}

/* The sockets a request names (sio_namespace_select), collected before the
 * request acts on them (a disconnect changes the rooms); NULL when none (or
 * out of memory: then none is acted on). */
static sio_socket **select_sockets(sio_namespace *nsp, const request_msg *m, size_t *n)
{
    sio_broadcast_opts opts = {m->rooms, m->n_rooms, m->except, m->n_except, 0};
    selection sel = {NULL, 0, 0, 0};
    sio_namespace_select(nsp, &opts, collect, &sel);
    if (sel.failed) {
        free(sel.sockets);
        sel.sockets = NULL;
        sel.n = 0;
    }
    *n = sel.n;
    return sel.sockets;
}

static void push_reply(cluster_bridge *b, reply_msg *r)
{
    if (r && b->to_cluster)
        mailbox_push(b->to_cluster, &r->hdr);
    else if (r)
        cluster_msg_unref(&r->hdr);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* fetchSockets: the socket's id, rooms, handshake and data, as plain data. */
static void add_snapshot(reply_msg *r, const sio_socket *s)
{
    const eio_request_info *q = sio_socket_request(s);
    socket_handshake hs = {or_empty(q->remote_addr), or_empty(q->query), or_empty(q->user_agent),
                           or_empty(q->origin),      or_empty(q->url),   q->issued_ms};
    size_t n = 0;
    const char **rooms = sio_socket_room_names(s, &n);
    /* copies of its own: the message may outlive the socket */
    reply_msg_add_socket(r, sio_socket_id(s), rooms, n, &hs, json_deep_copy(sio_socket_auth(s)),
                         json_deep_copy(sio_socket_data(s)));
    free(rooms);
}

/* One client's ack of a broadcast with ack: relayed with its request id. */
typedef struct remote_ack {
    cluster_bridge *bridge;
    char *nsp;
    char request_id[];
} remote_ack;

static void on_remote_ack(sio_socket *s, int timed_out, const sio_args *args, void *ud)
{
    remote_ack *ra = ud;
    if (!timed_out && args && ra->bridge->to_cluster) {
        reply_msg *r = reply_msg_new(CLUSTER_REPLY_ACK, ra->nsp, ra->request_id);
        json_t *copy = json_deep_copy(args->json); /* the message's own (NULL: no arguments) */
        if (r && reply_msg_set_ack(r, copy, args->bins, args->n_bins) == 0)
            push_reply(ra->bridge, r);
        else if (r) /* set_ack released the copy */
            cluster_msg_unref(&r->hdr);
        else
            json_decref(copy);
    }
    free(ra->nsp);
    free(ra);
}

static size_t broadcast_with_ack(cluster_bridge *b, const request_msg *m, sio_socket **sel,
                                 size_t n)
{
    size_t count = 0;
    uint32_t timeout = m->timeout_ms > 0 && m->timeout_ms < UINT32_MAX ? (uint32_t)m->timeout_ms : 5000;
    for (size_t i = 0; i < n; i++) {
        size_t idlen = strlen(m->request_id) + 1;
        remote_ack *ra = malloc(sizeof(*ra) + idlen);
        if (!ra || !(ra->nsp = strdup(m->nsp))) {
            free(ra);
            continue;
        }
        ra->bridge = b;
        memcpy(ra->request_id, m->request_id, idlen);
        if (sio_socket_expect_ack(sel[i], m->ack_id, timeout, on_remote_ack, ra)) {
            free(ra->nsp);
            free(ra);
            continue;
        }
        if (sio_outpacket_send(m->packet, sel[i]->client->conn, 0) == 0)
            count++;
    }
    return count;
}

/* The legacy form of join, leave and disconnect: one socket, by id. */
static void apply_to_one(cluster_bridge *b, sio_namespace *nsp, const request_msg *m)
{
    sio_socket *s = nsp ? sio_socket_find(nsp, m->sid) : NULL;
    if (!s)
        return;
    if (m->request_type == CLUSTER_REQ_JOIN && m->n_targets)
        sio_join(s, m->targets[0]);
    else if (m->request_type == CLUSTER_REQ_LEAVE && m->n_targets)
        sio_leave(s, m->targets[0]);
    else if (m->request_type == CLUSTER_REQ_DISCONNECT)
        sio_disconnect(s, m->close);
    if (m->request_id[0])
        push_reply(b, reply_msg_new(CLUSTER_REPLY_DONE, m->nsp, m->request_id));
}

/* Joins, leaves or disconnects the selected sockets. */
static void act_on(const request_msg *m, sio_socket **sel, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; m->request_type == CLUSTER_REQ_JOIN && j < m->n_targets; j++)
            sio_join(sel[i], m->targets[j]);
        for (size_t j = 0; m->request_type == CLUSTER_REQ_LEAVE && j < m->n_targets; j++)
            sio_leave(sel[i], m->targets[j]);
        if (m->request_type == CLUSTER_REQ_DISCONNECT)
            sio_disconnect(sel[i], m->close); /* may free it: nothing below touches it */
    }
}

/* The data answering a request about the selected sockets; NULL when the
 * request has no answer. */
static reply_msg *describe(cluster_bridge *b, const request_msg *m, sio_socket **sel, size_t n)
{
    reply_msg *r = NULL;
    if (m->request_type == CLUSTER_REQ_SOCKETS &&
        (r = reply_msg_new(CLUSTER_REPLY_SOCKET_IDS, m->nsp, m->request_id)))
        for (size_t i = 0; i < n; i++)
            reply_msg_add_name(r, sio_socket_id(sel[i]), strlen(sio_socket_id(sel[i])));
    if (m->request_type == CLUSTER_REQ_FETCH &&
        (r = reply_msg_new(CLUSTER_REPLY_SOCKETS, m->nsp, m->request_id)))
        for (size_t i = 0; i < n; i++)
            add_snapshot(r, sel[i]);
    if (m->request_type == CLUSTER_REQ_BROADCAST_ACK && m->packet &&
        (r = reply_msg_new(CLUSTER_REPLY_CLIENT_COUNT, m->nsp, m->request_id)))
        r->client_count = (int64_t)broadcast_with_ack(b, m, sel, n);
    return r;
}

/* allRooms: every room with a local member. */
static reply_msg *all_rooms(sio_namespace *nsp, const request_msg *m)
{
    reply_msg *r = reply_msg_new(CLUSTER_REPLY_ROOMS, m->nsp, m->request_id);
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (r && nsp && hashmap_next(&nsp->rooms.rooms, &it, &k, &klen, &v))
        reply_msg_add_name(r, k, klen);
    return r;
}

/* Another node's request, applied here; the answer (plain data) goes to the
 * cluster thread, which alone knows the adapter's wire format. */
static void apply_request(cluster_bridge *b, request_msg *m)
{
    sio_namespace *nsp = sio_find_namespace(b->io, m->nsp);
    if (m->sid[0]) {
        apply_to_one(b, nsp, m);
        return;
    }
    if (m->request_type == CLUSTER_REQ_ALL_ROOMS) {
        push_reply(b, all_rooms(nsp, m));
        return;
    }
    size_t n = 0;
    sio_socket **sel = nsp ? select_sockets(nsp, m, &n) : NULL;
    act_on(m, sel, n);
    reply_msg *r = describe(b, m, sel, n);
    free(sel);
    push_reply(b, r);
}

/* ---- the sio_adapter side: what the cluster needs to know ----------------- */

static void report_namespace(void *ctx, sio_namespace *nsp)
{
    cluster_bridge *b = ctx;
    room_msg *m = room_msg_new(MSG_NAMESPACE, sio_namespace_name(nsp), NULL, 1);
    if (m)
        mailbox_push(b->to_cluster, &m->hdr);
}

static void report_namespace_gone(void *ctx, sio_namespace *nsp)
{
    cluster_bridge *b = ctx;
    room_msg *m = room_msg_new(MSG_NAMESPACE, sio_namespace_name(nsp), NULL, 0);
    if (m)
        mailbox_push(b->to_cluster, &m->hdr);
}

static void report_room(void *ctx, sio_namespace *nsp, const char *room_name, int created)
{
    cluster_bridge *b = ctx;
    room_msg *m = room_msg_new(MSG_ROOM, sio_namespace_name(nsp), room_name, created);
    if (m)
        mailbox_push(b->to_cluster, &m->hdr);
}

/* A broadcast made here, for the other nodes: its frames and its data (a copy
 * of its own, the message's only reference), which the cluster thread encodes
 * into the adapter's msgpack without decoding the frames. */
static void report_broadcast(void *ctx, sio_namespace *nsp, const sio_broadcast_opts *opts,
                             const json_t *data, sio_outpacket *packet)
{
    cluster_bridge *b = ctx;
    broadcast_msg *m = broadcast_msg_new(sio_namespace_name(nsp), opts ? opts->rooms : NULL,
                                         opts ? opts->n_rooms : 0, opts ? opts->except : NULL,
                                         opts ? opts->n_except : 0, opts && opts->is_volatile,
                                         packet);
    if (!m)
        return;
    broadcast_msg_set_data(m, data ? json_deep_copy(data) : NULL);
    mailbox_push(b->to_cluster, &m->hdr);
}

/* ---- barriers: subscriptions active on Redis ------------------------------- */

typedef struct pending_barrier {
    uint64_t token;             /* the map's key */
    void (*done)(void *ud);
    void *ud;
} pending_barrier;

void cluster_bridge_barrier(void *bridge, void (*done)(void *ud), void *ud)
{
    cluster_bridge *b = bridge;
    pending_barrier *pb = b->as_adapter && b->to_cluster ? malloc(sizeof(*pb)) : NULL;
    if (pb)
        *pb = (pending_barrier){++b->next_barrier, done, ud};
    cluster_msg *m = pb ? token_msg_new(MSG_BARRIER, pb->token) : NULL;
    if (!m || hashmap_put(&b->barriers, (const char *)&pb->token, sizeof(pb->token), pb)) {
        if (m)
            cluster_msg_unref(m);
        free(pb);
        done(ud);
        return;
    }
    if (mailbox_push(b->to_cluster, m)) {
        hashmap_remove(&b->barriers, (const char *)&pb->token, sizeof(pb->token));
        free(pb);
        done(ud);
    }
}

static void barrier_done(cluster_bridge *b, uint64_t token)
{
    pending_barrier *pb = hashmap_remove(&b->barriers, (const char *)&token, sizeof(token));
    if (pb)
        pb->done(pb->ud);
    free(pb);
}

static void release_barriers(cluster_bridge *b)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&b->barriers, &it, &k, &klen, &v)) {
        ((pending_barrier *)v)->done(((pending_barrier *)v)->ud);
        free(v);
    }
    hashmap_free(&b->barriers);
    hashmap_init(&b->barriers);
}

void cluster_bridge_recover_in_cluster(cluster_bridge *b)
{
    if (b->as_adapter && b->to_cluster)
        b->recovery = cluster_recovery_install(b->io, b->to_cluster);
}

void cluster_bridge_attach(cluster_bridge *b, mailbox *to_cluster, int as_adapter)
{
    b->to_cluster = to_cluster;
    b->as_adapter = as_adapter;
    if (!as_adapter)
        return;
    sio_adapter a = {
        .ctx = b,
        .namespace_created = report_namespace,
        .namespace_deleted = report_namespace_gone,
        .room_changed = report_room,
        .broadcast_data = report_broadcast,
    };
    sio_server_set_adapter(b->io, &a);
}

static void apply_broadcast(cluster_bridge *b, broadcast_msg *m)
{
    EDGE_STAT_ADD(b->stats, broadcasts_in, 1);
    sio_namespace *nsp = sio_find_namespace(b->io, m->nsp);
    if (!nsp) /* nobody ever connected to it here */
        return;
    sio_broadcast_opts opts = {m->rooms, m->n_rooms, m->except, m->n_except, m->is_volatile};
    int n;
    if (m->data && !m->offset[0] && !m->is_volatile && b->io->store.record) /* standalone: recorded */
        n = sio_namespace_emit_local(nsp, &opts, m->data);
    else
        n = sio_namespace_deliver_offset(nsp, &opts, m->packet, m->offset);
    if (n > 0)
        EDGE_STAT_ADD(b->stats, deliveries, (unsigned long)n);
    if (m->publish_us)
        observe_latency(b, m->publish_us);
}

/* ---- metrics: the edge's part of a /metrics scrape, from live state ------- */

/* The node label, and one more (or none). */
static void sample(bytebuf *out, const char *name, const char *node, const char *label,
                   const char *value, double v)
{
    prom_label l[2] = {{"node", node}, {label, value}};
    prom_sample(out, name, l, label ? 2 : 1, v);
}

static void render_metrics(cluster_bridge *b, const char *node, bytebuf *out)
{
    eio_server *eng = sio_server_engine(b->io);
    const eio_counters *c = eio_server_counters(eng);
    eio_census n;
    eio_server_census(eng, &n);
    prom_header(out, "sio_connections", "gauge", "client connections by transport (plain: plain WebSocket)");
    sample(out, "sio_connections", node, "transport", "polling", (double)n.polling);
    sample(out, "sio_connections", node, "transport", "websocket", (double)n.websocket);
    sample(out, "sio_connections", node, "transport", "plain", (double)n.plain);
    /* one series per task: what an autoscaling average over tasks needs */
    prom_header(out, "sio_clients", "gauge", "client connections of this node, all transports");
    sample(out, "sio_clients", node, NULL, NULL, (double)(n.polling + n.websocket + n.plain));
    prom_header(out, "sio_sockets", "gauge", "Socket.IO sockets by namespace");
    size_t it = 0;
    sio_namespace *nsp;
    while ((nsp = sio_namespace_next(b->io, &it)))
        sample(out, "sio_sockets", node, "namespace", sio_namespace_name(nsp),
               (double)sio_namespace_socket_count(nsp));
    prom_header(out, "sio_rooms", "gauge", "rooms with a local member, by namespace");
    for (it = 0; (nsp = sio_namespace_next(b->io, &it));)
        sample(out, "sio_rooms", node, "namespace", sio_namespace_name(nsp),
               (double)nsp->rooms.rooms.count);
    struct { const char *name, *type, *text; double v; } rows[] = {
        {"sio_handshakes_total", "counter", "Engine.IO handshakes accepted", (double)c->handshakes},
        {"sio_handshakes_refused_total", "counter", "handshakes refused (draining, limits)", (double)c->handshakes_refused},
        {"sio_messages_received_total", "counter", "Engine.IO messages received", (double)c->messages_in},
        {"sio_messages_sent_total", "counter", "Engine.IO packets queued to clients", (double)c->messages_out},
        {"sio_bytes_received_total", "counter", "message bytes received", (double)c->bytes_in},
        {"sio_bytes_sent_total", "counter", "packet bytes queued to clients", (double)c->bytes_out},
        {"sio_send_queue_bytes", "gauge", "bytes waiting in send queues", (double)n.queued_bytes},
        {"sio_broadcasts_total", "counter", "broadcasts received from the cluster thread", (double)EDGE_STAT_GET(b->stats, broadcasts_in)},
        {"sio_broadcast_deliveries_total", "counter", "sockets reached by those broadcasts (fan-out)", (double)EDGE_STAT_GET(b->stats, deliveries)},
        {"sio_slow_consumer_disconnects_total", "counter", "sessions closed for a full send queue", (double)c->slow_consumer_closes},
        {"sio_rate_limit_disconnects_total", "counter", "sockets disconnected for exceeding EVENT_RATE", (double)sio_server_rate_limited(b->io)},
        {"sio_volatile_dropped_total", "counter", "volatile packets dropped", (double)c->volatile_dropped},
        {"sio_plain_encodes_total", "counter", "packets encoded for plain WebSocket clients (once per packet, not per client)", (double)sio_outpacket_plain_renders()},
        {"sio_msgpack_encodes_total", "counter", "packets encoded for socket.io-msgpack-parser clients (once per packet, not per client)", (double)sio_outpacket_msgpack_renders()},
        {"sio_ws_deflate_total", "counter", "messages compressed for permessage-deflate (once per message and window size, not per client)", (double)ws_deflate_total()},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        prom_header(out, rows[i].name, rows[i].type, rows[i].text);
        sample(out, rows[i].name, node, NULL, NULL, rows[i].v);
    }
    prom_header(out, "sio_delivery_latency_seconds", "histogram",
                "publish (API or Redis receipt) to fan-out, for stamped broadcasts");
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BOUNDS; i++) {
        cum += EDGE_STAT_GET(b->stats, latency_buckets[i]);
        char le[32] = "+Inf";
        if (i < N_BOUNDS)
            snprintf(le, sizeof(le), "%g", latency_bounds_s[i]);
        sample(out, "sio_delivery_latency_seconds_bucket", node, "le", le, (double)cum);
    }
    sample(out, "sio_delivery_latency_seconds_sum", node, NULL, NULL,
           (double)EDGE_STAT_GET(b->stats, latency_sum_us) / 1e6);
    sample(out, "sio_delivery_latency_seconds_count", node, NULL, NULL,
           (double)EDGE_STAT_GET(b->stats, latency_count));
}

static void answer_metrics(cluster_bridge *b, response_msg *req)
{
    bytebuf out = BYTEBUF_INIT;
    render_metrics(b, (const char *)req->payload, &out);
    response_msg *m = metrics_msg_new(req->token, out.data, out.len);
    if (m && b->to_cluster)
        mailbox_push(b->to_cluster, &m->hdr);
    else if (m)
        cluster_msg_unref(&m->hdr);
    bytebuf_free(&out);
}

static void on_async(uv_async_t *h)
{
    cluster_bridge *b = h->data;
    cluster_msg *m = mailbox_drain(&b->inbox);
    while (m) {
        cluster_msg *next = m->next;
        if (m->type == MSG_BROADCAST)
            apply_broadcast(b, (broadcast_msg *)m);
        else if (m->type == MSG_REQUEST && b->to_cluster)
            apply_request(b, (request_msg *)m);
        else if (m->type == MSG_METRICS)
            answer_metrics(b, (response_msg *)m);
        else if (m->type == MSG_BARRIER_DONE)
            barrier_done(b, token_msg_token(m));
        else if ((m->type == MSG_RESTORED || m->type == MSG_RESYNC) && b->recovery)
            cluster_recovery_on_msg(b->recovery, m);
        else if (m->type == MSG_BACKEND_DONE && b->on_backend)
            b->on_backend(b->backend_ctx, (backend_msg *)m);
        else if (m->type == MSG_DRAIN && b->on_drain)
            b->on_drain(b->drain_ctx);
        cluster_msg_unref(m);
        m = next;
    }
}

static void wake_edge(void *ctx)
{
    uv_async_send(ctx);
}

cluster_bridge *cluster_bridge_new(uv_loop_t *loop, sio_server *io, edge_stats *stats,
                                   const mailbox_limits *inbox)
{
    cluster_bridge *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->io = io;
    b->stats = stats;
    hashmap_init(&b->barriers);
    if (mailbox_init(&b->inbox, inbox, wake_edge, &b->async) || uv_async_init(loop, &b->async, on_async)) {
        free(b);
        return NULL;
    }
    b->async.data = b;
    return b;
}

void cluster_bridge_detach(cluster_bridge *b)
{
    if (!b)
        return;
    sio_server_set_adapter(b->io, NULL);
    if (b->recovery) /* answers the restores still waiting: new sessions */
        sio_server_set_recovery_store(b->io, NULL);
    b->recovery = NULL;
    b->to_cluster = NULL;
    b->as_adapter = 0;
    release_barriers(b);
}

void cluster_bridge_on_backend(cluster_bridge *b, void (*fn)(void *ctx, backend_msg *m), void *ctx)
{
    b->on_backend = fn;
    b->backend_ctx = ctx;
}

void cluster_bridge_on_drain(cluster_bridge *b, void (*fn)(void *ctx), void *ctx)
{
    b->on_drain = fn;
    b->drain_ctx = ctx;
}

int cluster_bridge_send(void *bridge, cluster_msg *m)
{
    cluster_bridge *b = bridge;
    if (!b->to_cluster) {
        cluster_msg_unref(m);
        return -ENOTCONN;
    }
    return mailbox_push(b->to_cluster, m);
}

mailbox *cluster_bridge_inbox(cluster_bridge *b)
{
    return &b->inbox;
}

static void free_bridge(uv_handle_t *h)
{
    cluster_bridge *b = h->data;
    mailbox_destroy(&b->inbox);
    hashmap_free(&b->barriers);
    free(b);
}

void cluster_bridge_close(cluster_bridge *b)
{
    if (b)
        uv_close((uv_handle_t *)&b->async, free_bridge);
}
