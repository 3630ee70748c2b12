#include "cluster_bridge.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter_msg.h"
#include "prom.h"
#include "sio_internal.h"

struct cluster_bridge {
    uv_async_t async;
    sio_server *io;
    edge_stats *stats;
    mailbox inbox;
    mailbox *to_cluster; /* NULL until attached */
    /* publish-to-delivery latency of stamped broadcasts, at fan-out */
    uint64_t latency_buckets[16];
    uint64_t latency_count;
    double latency_sum_s;
};

static const double latency_bounds_s[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,   1,     2.5,  5,     10};
#define N_BOUNDS (sizeof(latency_bounds_s) / sizeof(latency_bounds_s[0]))

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
    b->latency_buckets[i]++;
    b->latency_count++;
    b->latency_sum_s += s;
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

static json_t *query_object(const char *query)
{
    json_t *obj = json_object();
    const char *p = query;
    while (obj && p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        json_t *v = eq ? json_stringn(eq + 1, len - klen - 1) : json_string("");
        json_object_setn_new(obj, p, klen, v ? v : json_null());
        p = amp ? amp + 1 : NULL;
    }
    return obj;
}

/* socket.io's socket.handshake, as fetchSockets reports it. */
static json_t *handshake_json(sio_socket *s)
{
    const eio_request_info *r = sio_socket_request(s);
    char when[96];
    time_t t = (time_t)(r->issued_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    json_t *headers = json_object();
    if (*r->user_agent)
        json_object_set_new(headers, "user-agent", json_string(r->user_agent));
    if (*r->origin)
        json_object_set_new(headers, "origin", json_string(r->origin));
    return json_pack("{sosssssbsbsIsssoso}", "headers", headers, "time", when, "address",
                     r->remote_addr, "xdomain", *r->origin != 0, "secure", 0, "issued",
                     (json_int_t)r->issued_ms, "url", r->url, "query", query_object(r->query),
                     "auth", json_incref(sio_socket_auth(s)));
}

static json_t *rooms_json(sio_socket *s)
{
    json_t *rooms = json_array();
    const char *name;
    for (const void *it = NULL; (name = sio_socket_room_next(s, &it));)
        json_array_append_new(rooms, json_string(name));
    return rooms;
}

static void respond(cluster_bridge *b, const char *nsp, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    response_msg *m = text ? response_msg_new(nsp, text, strlen(text)) : NULL;
    if (m)
        mailbox_push(b->to_cluster, &m->hdr);
    free(text);
    json_decref(body);
}

/* One client's ack of a broadcast with ack, published as {type:9, requestId, packet}. */
typedef struct remote_ack {
    cluster_bridge *bridge;
    char *nsp;
    char request_id[];
} remote_ack;

static void on_remote_ack(sio_socket *s, int timed_out, const sio_args *args, void *ud)
{
    remote_ack *ra = ud;
    if (!timed_out && args && ra->bridge->to_cluster) {
        bytebuf out = BYTEBUF_INIT;
        adapter_bin bins[64];
        size_t n = args->n_bins < 64 ? args->n_bins : 64;
        for (size_t i = 0; i < n; i++)
            bins[i] = (adapter_bin){SIO_UNCONST(uint8_t *, args->bins[i].data), args->bins[i].len};
        json_t *first = json_array_get(args->json, 0); /* the Node adapter forwards one */
        json_t *null_arg = first ? NULL : json_null();
        if (adapter_broadcast_ack_encode(ra->request_id, first ? first : null_arg, bins, n, &out) == 0) {
            response_msg *r = response_msg_new(ra->nsp, out.data, out.len);
            if (r)
                mailbox_push(ra->bridge->to_cluster, &r->hdr);
        }
        json_decref(null_arg);
        bytebuf_free(&out);
    }
    free(ra->nsp);
    free(ra);
}

static size_t broadcast_with_ack(cluster_bridge *b, sio_namespace *nsp, request_msg *m,
                                 sio_socket **sel, size_t n)
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
    (void)nsp;
    return count;
}

static void apply_request(cluster_bridge *b, request_msg *m)
{
    sio_namespace *nsp = sio_find_namespace(b->io, m->nsp);
    int has_id = m->request_id[0] != 0;
    if (m->sid[0]) { /* legacy form: one socket by id */
        sio_socket *s = nsp ? sio_socket_find(nsp, m->sid) : NULL;
        if (!s)
            return;
        if (m->request_type == ADAPTER_REMOTE_JOIN && m->n_targets)
            sio_join(s, m->targets[0]);
        else if (m->request_type == ADAPTER_REMOTE_LEAVE && m->n_targets)
            sio_leave(s, m->targets[0]);
        else if (m->request_type == ADAPTER_REMOTE_DISCONNECT)
            sio_disconnect(s, m->close);
        if (has_id)
            respond(b, m->nsp, json_pack("{ss}", "requestId", m->request_id));
        return;
    }
    size_t n = 0;
    sio_socket **sel = nsp ? select_sockets(nsp, m, &n) : NULL;
    json_t *list = NULL;
    if (m->request_type == ADAPTER_REMOTE_FETCH || m->request_type == ADAPTER_SOCKETS)
        list = json_array();
    for (size_t i = 0; i < n; i++) {
        sio_socket *s = sel[i];
        switch (m->request_type) {
        case ADAPTER_REMOTE_JOIN:
            for (size_t j = 0; j < m->n_targets; j++)
                sio_join(s, m->targets[j]);
            break;
        case ADAPTER_REMOTE_LEAVE:
            for (size_t j = 0; j < m->n_targets; j++)
                sio_leave(s, m->targets[j]);
            break;
        case ADAPTER_REMOTE_DISCONNECT:
            sio_disconnect(s, m->close); /* may free s: nothing below touches it */
            break;
        case ADAPTER_SOCKETS:
            json_array_append_new(list, json_string(sio_socket_id(s)));
            break;
        case ADAPTER_REMOTE_FETCH:
            json_array_append_new(list, json_pack("{sssososo}", "id", sio_socket_id(s), "handshake",
                                                  handshake_json(s), "rooms", rooms_json(s),
                                                  "data", json_object()));
            break;
        }
    }
    if (m->request_type == ADAPTER_BROADCAST && m->packet) {
        size_t count = nsp ? broadcast_with_ack(b, nsp, m, sel, n) : 0;
        respond(b, m->nsp, json_pack("{sisssI}", "type", ADAPTER_BROADCAST_CLIENT_COUNT,
                                     "requestId", m->request_id, "clientCount", (json_int_t)count));
    }
    free(sel);
    if (list)
        respond(b, m->nsp, json_pack("{ssso}", "requestId", m->request_id, "sockets", list));
    else if (m->request_type == ADAPTER_ALL_ROOMS) {
        json_t *rooms = json_array();
        size_t it = 0, klen;
        const char *k;
        void *v;
        while (nsp && hashmap_next(&nsp->rooms.rooms, &it, &k, &klen, &v))
            json_array_append_new(rooms, json_stringn(k, klen));
        respond(b, m->nsp, json_pack("{ssso}", "requestId", m->request_id, "rooms", rooms));
    }
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

static void report_broadcast(void *ctx, sio_namespace *nsp, const sio_broadcast_opts *opts,
                             sio_outpacket *packet)
{
    cluster_bridge *b = ctx;
    broadcast_msg *m = broadcast_msg_new(sio_namespace_name(nsp), opts ? opts->rooms : NULL,
                                         opts ? opts->n_rooms : 0, opts ? opts->except : NULL,
                                         opts ? opts->n_except : 0, opts && opts->is_volatile,
                                         packet);
    if (m)
        mailbox_push(b->to_cluster, &m->hdr);
}

void cluster_bridge_attach(cluster_bridge *b, mailbox *to_cluster, int as_adapter)
{
    b->to_cluster = to_cluster;
    if (!as_adapter)
        return;
    sio_adapter a = {
        .ctx = b,
        .namespace_created = report_namespace,
        .namespace_deleted = report_namespace_gone,
        .room_changed = report_room,
        .broadcast = report_broadcast,
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
    int n = sio_namespace_deliver(nsp, &opts, m->packet);
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
    size_t polling, websocket, queued;
    eio_server_census(eng, &polling, &websocket, &queued);
    prom_header(out, "sio_connections", "gauge", "Engine.IO sessions by transport");
    sample(out, "sio_connections", node, "transport", "polling", (double)polling);
    sample(out, "sio_connections", node, "transport", "websocket", (double)websocket);
    /* one series per task: what an autoscaling average over tasks needs */
    prom_header(out, "sio_clients", "gauge", "Engine.IO sessions of this node, all transports");
    sample(out, "sio_clients", node, NULL, NULL, (double)(polling + websocket));
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
        {"sio_send_queue_bytes", "gauge", "bytes waiting in send queues", (double)queued},
        {"sio_broadcasts_total", "counter", "broadcasts received from the cluster thread", (double)EDGE_STAT_GET(b->stats, broadcasts_in)},
        {"sio_broadcast_deliveries_total", "counter", "sockets reached by those broadcasts (fan-out)", (double)EDGE_STAT_GET(b->stats, deliveries)},
        {"sio_slow_consumer_disconnects_total", "counter", "sessions closed for a full send queue", (double)c->slow_consumer_closes},
        {"sio_rate_limit_disconnects_total", "counter", "sockets disconnected for exceeding EVENT_RATE", (double)sio_server_rate_limited(b->io)},
        {"sio_volatile_dropped_total", "counter", "volatile packets dropped", (double)c->volatile_dropped},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        prom_header(out, rows[i].name, rows[i].type, rows[i].text);
        sample(out, rows[i].name, node, NULL, NULL, rows[i].v);
    }
    prom_header(out, "sio_delivery_latency_seconds", "histogram",
                "publish (API or Redis receipt) to fan-out, for stamped broadcasts");
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BOUNDS; i++) {
        cum += b->latency_buckets[i];
        char le[32] = "+Inf";
        if (i < N_BOUNDS)
            snprintf(le, sizeof(le), "%g", latency_bounds_s[i]);
        sample(out, "sio_delivery_latency_seconds_bucket", node, "le", le, (double)cum);
    }
    sample(out, "sio_delivery_latency_seconds_sum", node, NULL, NULL, b->latency_sum_s);
    sample(out, "sio_delivery_latency_seconds_count", node, NULL, NULL, (double)b->latency_count);
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
    b->to_cluster = NULL;
}

mailbox *cluster_bridge_inbox(cluster_bridge *b)
{
    return &b->inbox;
}

static void free_bridge(uv_handle_t *h)
{
    cluster_bridge *b = h->data;
    mailbox_destroy(&b->inbox);
    free(b);
}

void cluster_bridge_close(cluster_bridge *b)
{
    if (b)
        uv_close((uv_handle_t *)&b->async, free_bridge);
}
