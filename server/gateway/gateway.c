#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway_internal.h"
#include "glob.h"
#include "health.h"
#include "jwt.h"
#include "sio_internal.h"

#define ROOM_NAME_MAX 256
#define ROOMS_PER_REQUEST_MAX 64

struct gateway {
    const gateway_config *cfg;
    sio_server *io;
    jwt_verifier *jwt;
    edge_stats *stats;
    uv_timer_t stats_timer;
    http_handler http; /* GET /health on the edge port */
    gw_backend *backend;        /* the application backend (gateway_backend.c) */
    gateway_barrier_fn barrier; /* NULL: subscriptions are active at once */
    void *barrier_ctx;
};

static const char *const empty_list[] = {NULL};

socket_perms *perms_new(const gateway_config *cfg)
{
    socket_perms *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->subscribe = SIO_UNCONST(const char **, cfg->subscribe_patterns);
    p->publish = cfg->publish_patterns ? SIO_UNCONST(const char **, cfg->publish_patterns)
                                       : SIO_UNCONST(const char **, empty_list);
    return p;
}

void perms_free(socket_perms *p)
{
    if (!p)
        return;
    if (p->own_subscribe)
        free(p->subscribe);
    if (p->own_publish)
        free(p->publish);
    json_decref(p->claims);
    json_decref(p->user);
    json_decref(p->join);
    json_decref(p->emit);
    free(p);
}

int perms_take_lists(socket_perms *p, json_t *src, const char *subscribe_key, const char **why)
{
    const char **rooms = jwt_claim_string_list(src, subscribe_key);
    const char **publish = jwt_claim_string_list(src, "publish");
    int bad_rooms = !rooms && json_object_get(src, subscribe_key);
    int bad_publish = !publish && json_object_get(src, "publish");
    if (bad_rooms || bad_publish) { /* never fall back to wider configured rights */
        free(rooms);
        free(publish);
        *why = bad_rooms ? "rooms claim must be a list of strings"
                         : "publish claim must be a list of strings";
        return -1;
    }
    if (rooms) {
        if (p->own_subscribe)
            free(p->subscribe);
        p->subscribe = rooms;
        p->own_subscribe = 1;
    }
    if (publish) {
        if (p->own_publish)
            free(p->publish);
        p->publish = publish;
        p->own_publish = 1;
    }
    return 0;
}

/* ---- authentication --------------------------------------------------------- */

const char *gateway_bearer_token(sio_socket *s, json_t *auth, size_t *len)
{
    json_t *t = json_object_get(auth, "token");
    if (json_is_string(t)) {
        *len = json_string_length(t);
        return json_string_value(t);
    }
    const char *h = sio_socket_request(s)->authorization;
    if (strncmp(h, "Bearer ", 7) == 0) {
        *len = strlen(h + 7);
        return h + 7;
    }
    return NULL;
}

static int authenticate(sio_socket *s, json_t *auth, const char **message, json_t **data, void *ud)
{
    gateway *g = ud;
    socket_perms *perms = perms_new(g->cfg);
    if (!perms) {
        *message = "server error";
        return -1;
    }
    if (g->jwt) {
        size_t len = 0;
        const char *token = gateway_bearer_token(s, auth, &len);
        const char *why = "missing token";
        if (!token || jwt_verify(g->jwt, token, len, (int64_t)time(NULL), &perms->claims, &why) ||
            perms_take_lists(perms, perms->claims, "rooms", &why)) {
            perms_free(perms);
            *message = "unauthorized";
            *data = json_pack("{ss}", "reason", why);
            return -1;
        }
        gw_backend_set_expiry(perms, perms->claims);
    }
    sio_socket_set_user(s, perms);
    return 0;
}

static void on_connection(sio_socket *s, void *ud)
{
    gateway *g = ud;
    gw_backend_connected(g->backend, s);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    gateway *g = ud;
    gw_backend_disconnected(g->backend, s, reason);
    perms_free(sio_socket_user(s));
}

/* ---- client events ---------------------------------------------------------- */

static void reply(sio_server *io, const sio_ack_handle *ack, json_t *answer)
{
    if (ack) {
        json_t *args = json_pack("[o]", answer);
        sio_args a = {.json = args};
        sio_ack(io, ack, &a);
        json_decref(args);
    } else {
        json_decref(answer);
    }
}

static json_t *error_answer(const char *error)
{
    return json_pack("{sbss}", "ok", 0, "error", error);
}

/* Collects room names from a string or an array of strings into `rooms`. */
static const char *room_list(json_t *v, const char **rooms, size_t *n)
{
    *n = 0;
    if (json_is_string(v)) {
        rooms[(*n)++] = json_string_value(v);
    } else if (json_is_array(v) && json_array_size(v) <= ROOMS_PER_REQUEST_MAX) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *r = json_array_get(v, i);
            if (!json_is_string(r))
                return "invalid room";
            rooms[(*n)++] = json_string_value(r);
        }
    } else {
        return "invalid room";
    }
    for (size_t i = 0; i < *n; i++) {
        size_t len = strlen(rooms[i]);
        if (len == 0 || len > ROOM_NAME_MAX)
            return "invalid room";
    }
    return *n ? NULL : "invalid room";
}

/* Socket ids (sio's and Node's base64id) are 20 characters of the base64url
 * alphabet, and every socket is in the room named by its id: such a name is
 * nobody's to subscribe to, on any node, whatever the patterns say (the id
 * may belong to a socket on another node, which this one cannot see). */
static int is_socket_id_shaped(const char *name)
{
    size_t n = strlen(name);
    if (n != 20)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* A room a client may publish to: allowed by its patterns, and not another
 * socket's private room known here. */
static int may_use_room(sio_socket *s, const char *const *patterns, const char *name)
{
    if (!glob_match_any(patterns, name, strlen(name)))
        return 0;
    sio_socket *other = sio_socket_find(sio_socket_namespace(s), name);
    return !other || other == s;
}

static int may_subscribe(sio_socket *s, const char *const *patterns, const char *name)
{
    return !is_socket_id_shaped(name) && glob_match_any(patterns, name, strlen(name));
}

/* Rooms of the request the socket is not in yet (its own room aside). */
static size_t new_rooms(sio_socket *s, const char **rooms, size_t n)
{
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(rooms[i], rooms[j]) == 0;
        fresh += !dup && !sio_socket_in_room(s, rooms[i]);
    }
    return fresh;
}

/* A subscribe is acknowledged once the cluster's subscriptions are active:
 * nothing published after the ack can miss the client. The ack handle is
 * plain data: the socket may be gone by then (sio_ack then fails). */
typedef struct deferred_ack {
    gateway *g;
    sio_ack_handle ack;
    json_t *answer;
} deferred_ack;

static void deferred_answer(void *ud)
{
    deferred_ack *d = ud;
    reply(d->g->io, &d->ack, d->answer);
    free(d);
}

static void answer_when_active(gateway *g, const sio_ack_handle *ack, json_t *answer)
{
    deferred_ack *d = malloc(sizeof(*d));
    if (!d) {
        reply(g->io, ack, answer);
        return;
    }
    *d = (deferred_ack){g, *ack, answer};
    g->barrier(g->barrier_ctx, deferred_answer, d);
}

void gateway_set_barrier(gateway *g, gateway_barrier_fn fn, void *ctx)
{
    g->barrier = fn;
    g->barrier_ctx = ctx;
}

static void subscription(sio_socket *s, const sio_args *args, const sio_ack_handle *ack,
                         gateway *g, int join)
{
    socket_perms *perms = sio_socket_user(s);
    const char *rooms[ROOMS_PER_REQUEST_MAX];
    size_t n;
    const char *err = room_list(json_array_get(args->json, 0), rooms, &n);
    for (size_t i = 0; !err && i < n; i++)
        if (!may_subscribe(s, perms->subscribe, rooms[i]))
            err = "forbidden";
    if (!err && join &&
        sio_socket_room_count(s) - 1 + new_rooms(s, rooms, n) > g->cfg->max_rooms_per_socket)
        err = "too many rooms";
    if (err) {
        reply(g->io, ack, error_answer(err));
        return;
    }
    json_t *done = json_array();
    for (size_t i = 0; i < n; i++) {
        if (join ? sio_join(s, rooms[i]) : sio_leave(s, rooms[i])) {
            json_decref(done);
            reply(g->io, ack, error_answer("server error"));
            return;
        }
        json_array_append_new(done, json_string(rooms[i]));
    }
    json_t *answer = json_pack("{sbso}", "ok", 1, "rooms", done);
    if (join && ack && g->barrier)
        answer_when_active(g, ack, answer);
    else
        reply(g->io, ack, answer);
}

static void on_subscribe(sio_socket *s, const char *event, const sio_args *args,
                         const sio_ack_handle *ack, void *ud)
{
    subscription(s, args, ack, ud, 1);
}

static void on_unsubscribe(sio_socket *s, const char *event, const sio_args *args,
                           const sio_ack_handle *ack, void *ud)
{
    subscription(s, args, ack, ud, 0);
}

static void on_publish(sio_socket *s, const char *event, const sio_args *args,
                       const sio_ack_handle *ack, void *ud)
{
    gateway *g = ud;
    socket_perms *perms = sio_socket_user(s);
    json_t *req = json_array_get(args->json, 0);
    const char *target = json_string_value(json_object_get(req, "room"));
    const char *name = json_string_value(json_object_get(req, "event"));
    if (!json_is_object(req) || !target || !*target || strlen(target) > ROOM_NAME_MAX || !name ||
        !*name || sio_is_reserved_event(name)) {
        reply(g->io, ack, error_answer("invalid publish"));
        return;
    }
    if (!may_use_room(s, perms->publish, target)) {
        reply(g->io, ack, error_answer("forbidden"));
        return;
    }
    json_t *data = json_object_get(req, "data");
    json_t *out = data ? json_pack("[O]", data) : json_array();
    sio_args a = {.json = out, .bins = args->bins, .n_bins = args->n_bins};
    const char *id = sio_socket_id(s);
    sio_broadcast_opts opts = {.rooms = &target, .n_rooms = 1, .except = &id, .n_except = 1};
    int n = sio_broadcast(sio_socket_namespace(s), &opts, name, &a);
    json_decref(out);
    reply(g->io, ack, n < 0 ? error_answer("server error") : json_pack("{sb}", "ok", 1));
}

static void on_other_event(sio_socket *s, const char *event, const sio_args *args,
                           const sio_ack_handle *ack, void *ud)
{
    gateway *g = ud;
    if (!gw_backend_event(g->backend, s, event, args, ack) && sio_socket_plain(s))
        sio_socket_end(s, 1008, "unknown event"); /* a plain client has no other use for it */
}

static void on_refresh(sio_socket *s, const char *event, const sio_args *args,
                       const sio_ack_handle *ack, void *ud)
{
    gateway *g = ud;
    gw_backend_refresh(g->backend, s, args, ack);
}

void gateway_set_backend_link(gateway *g, int (*send)(void *ctx, struct cluster_msg *m), void *ctx)
{
    gw_backend_set_sender(g->backend, send, ctx);
}

void gateway_on_backend_answer(void *gw, struct backend_msg *m)
{
    gateway *g = gw;
    gw_backend_on_answer(g->backend, m);
}

/* ---- health and stats ------------------------------------------------------- */

static void publish_stats(gateway *g)
{
    eio_server *eng = sio_server_engine(g->io);
    const eio_counters *c = eio_server_counters(eng);
    EDGE_STAT_SET(g->stats, connections, (unsigned long)eio_server_session_count(eng));
    EDGE_STAT_SET(g->stats, sockets, (unsigned long)sio_server_socket_count(g->io));
    EDGE_STAT_SET(g->stats, handshakes, (unsigned long)c->handshakes);
    EDGE_STAT_SET(g->stats, slow_consumer_closes, (unsigned long)c->slow_consumer_closes);
    EDGE_STAT_SET(g->stats, rate_limited, (unsigned long)sio_server_rate_limited(g->io));
}

static void refresh_stats(uv_timer_t *t)
{
    publish_stats(t->data);
}

static void not_found(conn *c)
{
    static const char body[] = "Not Found";
    http_response r = {404, "Content-Type: text/plain\r\n", body, sizeof(body) - 1, 0};
    http1_respond(c, &r);
}

/* The edge's requests outside the Socket.IO path: GET /health. */
static void on_http(void *ctx, conn *c, const http_request *req)
{
    gateway *g = ctx;
    if (strcmp(req->path, "/health") != 0 || (req->method != HTTP_GET && req->method != HTTP_HEAD)) {
        not_found(c);
        return;
    }
    publish_stats(g); /* this thread's figures, fresh */
    bytebuf body = BYTEBUF_INIT;
    int status = health_answer(g->stats, g->cfg->node_id, g->cfg->health_redis_down_status, &body);
    int oom = status < 0;
    http_response r = {oom ? 500 : (unsigned)status, "Content-Type: application/json\r\n",
                       oom ? "{}" : (const char *)body.data, oom ? 2 : body.len, 0};
    http1_respond(c, &r);
    bytebuf_free(&body);
}

const http_handler *gateway_http(gateway *g)
{
    return &g->http;
}

/* ---- lifecycle -------------------------------------------------------------- */

static unsigned transports_of(const char *list)
{
    unsigned t = 0;
    if (strstr(list, "polling"))
        t |= EIO_TRANSPORT_POLLING;
    if (strstr(list, "websocket"))
        t |= EIO_TRANSPORT_WEBSOCKET;
    return t;
}

gateway *gateway_new(uv_loop_t *loop, const gateway_config *cfg, edge_stats *stats,
                     const char **err, const char **config_error)
{
    gateway *g = calloc(1, sizeof(*g));
    if (!g) {
        *err = "out of memory";
        return NULL;
    }
    g->cfg = cfg;
    g->stats = stats;
    g->http = (http_handler){.ctx = g, .on_request = on_http};
    if (cfg->jwt_secret)
        g->jwt = jwt_verifier_hs256(cfg->jwt_secret, strlen(cfg->jwt_secret));
    else if (cfg->jwt_public_key_file)
        g->jwt = jwt_verifier_rs256_file(cfg->jwt_public_key_file, err);
    else if (cfg->jwt_public_key)
        g->jwt = jwt_verifier_rs256_pem(cfg->jwt_public_key, strlen(cfg->jwt_public_key), err);
    if ((cfg->jwt_secret || cfg->jwt_public_key_file || cfg->jwt_public_key) && !g->jwt) {
        if (!*err)
            *err = "the key could not be loaded";
        *config_error = cfg->jwt_secret            ? "JWT_SECRET"
                        : cfg->jwt_public_key_file ? "JWT_PUBLIC_KEY_FILE"
                                                   : "JWT_PUBLIC_KEY";
        free(g);
        return NULL;
    }

    sio_config sc;
    sio_config_defaults(&sc);
    sc.engine.path = cfg->sio_path;
    sc.engine.ping_interval_ms = cfg->ping_interval_ms;
    sc.engine.ping_timeout_ms = cfg->ping_timeout_ms;
    sc.engine.upgrade_timeout_ms = cfg->upgrade_timeout_ms;
    sc.engine.max_payload = cfg->max_payload;
    sc.engine.transports = transports_of(cfg->transports);
    sc.engine.cors_origins = cfg->cors_origins;
    sc.engine.cookie_name = cfg->cookie ? "io" : NULL;
    sc.engine.max_queue_frames = cfg->max_queue_frames;
    sc.engine.max_queue_bytes = cfg->max_queue_bytes;
    sc.connect_timeout_ms = cfg->connect_timeout_ms;
    sc.engine.max_sessions = cfg->max_connections;
    sc.engine.max_sessions_per_ip = cfg->max_connections_per_ip;
    sc.engine.keep_headers = cfg->connect_proxy_url != NULL; /* PROXY_HEADERS are sent to it */
    sc.event_rate = cfg->event_rate;
    sc.event_burst = cfg->event_burst;
    sc.recovery_window_ms = cfg->recovery_window_ms;
    sc.recovery_max_packets = cfg->recovery_max_packets;
    sc.recovery_max_bytes = cfg->recovery_max_bytes;
    sc.engine.plain_path = cfg->plain_ws_path;
    sc.engine.per_message_deflate = cfg->per_message_deflate;
    sc.engine.deflate_threshold = cfg->per_message_deflate_threshold;
    sc.engine.http_compression = cfg->http_compression;
    sc.engine.http_compression_threshold = cfg->http_compression_threshold;
    sc.engine.allow_eio3 = cfg->allow_eio3;
    sc.parser = strcmp(cfg->parser, "msgpack") == 0 ? SIO_PARSER_MSGPACK
                : strcmp(cfg->parser, "auto") == 0  ? SIO_PARSER_AUTO
                                                    : SIO_PARSER_DEFAULT;
    sc.plain_namespace = cfg->plain_ws_namespace;
    sc.plain_event_field = cfg->plain_ws_event_field;
    sc.plain_data_field = cfg->plain_ws_data_field;
    sc.plain_id_field = cfg->plain_ws_id_field;
    sc.plain_binary_event = cfg->plain_ws_binary_event;
    g->io = sio_server_new(loop, &sc);
    if (!g->io) {
        *err = "cannot create the Socket.IO server";
        jwt_verifier_free(g->jwt);
        free(g);
        return NULL;
    }
    g->backend = gw_backend_new(loop, g->io, cfg, g->jwt);
    for (char **name = cfg->namespaces; name && *name; name++) {
        sio_namespace *nsp = sio_of(g->io, *name);
        if (cfg->connect_proxy_url)
            sio_use_async(nsp, gw_backend_connect, g->backend);
        else
            sio_use(nsp, authenticate, g);
        sio_on_connection(nsp, on_connection, g);
        sio_on_disconnect(nsp, on_disconnect, g);
        sio_on_any(nsp, on_other_event, g);
        if (cfg->connect_proxy_url || g->jwt)
            sio_on(nsp, "refresh", on_refresh, g);
        sio_on(nsp, "subscribe", on_subscribe, g);
        sio_on(nsp, "unsubscribe", on_unsubscribe, g);
        sio_on(nsp, "publish", on_publish, g);
    }
    uv_timer_init(loop, &g->stats_timer);
    g->stats_timer.data = g;
    uv_timer_start(&g->stats_timer, refresh_stats, 0, 200);
    return g;
}

sio_server *gateway_io(gateway *g)
{
    return g->io;
}

static void free_gateway(uv_handle_t *h)
{
    free(h->data);
}

void gateway_free(gateway *g)
{
    if (!g)
        return;
    sio_server_free(g->io);
    gw_backend_free(g->backend);
    jwt_verifier_free(g->jwt);
    uv_timer_stop(&g->stats_timer);
    uv_close((uv_handle_t *)&g->stats_timer, free_gateway);
}
