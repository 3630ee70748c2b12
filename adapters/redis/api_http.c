/* api_http: the internal HTTP API on the cluster thread (libevent evhttp):
 *   POST /v1/broadcast  {"namespace","rooms","except","event","data"|"args","volatile"}
 *                       or an array of those -> 202 {"ok":true}
 *   GET  /health        -> 200 {"status","connections",...}
 *   GET  /metrics       -> the edge's and this thread's Prometheus text
 *   /v1/sockets/..., /v1/sockets, /v1/rooms: api_sockets_http.c
 * Requests are validated and encoded here, once; the edge only fans out. */
#include "cluster_internal.h"
#include "http_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>

#include "api_broadcast.h"
#include "health.h"
#include "log.h"
#include "prom.h"
#include "sio_packet.h"


void api_reply_json(struct evhttp_request *req, int status, const char *reason, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = json_dumps(body, JSON_COMPACT);
    if (out && text)
        evbuffer_add(out, text, strlen(text));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, reason, out);
    free(text);
    if (out)
        evbuffer_free(out);
    json_decref(body);
}

void api_reply_error(cluster *c, struct evhttp_request *req, int status, const char *reason,
                        const char *message)
{
    c->api_errors++;
    api_reply_json(req, status, reason, json_pack("{sbss}", "ok", 0, "error", message));
}

/* 503 with Retry-After: the edge's mailbox is full ("edge overloaded"), or
 * the broadcasts waiting for Redis fill their buffer ("redis unavailable").
 * `accepted` items of a batch went out before (0 for a single broadcast). */
void api_reply_overloaded(cluster *c, struct evhttp_request *req, size_t accepted,
                             const char *why)
{
    c->api_overloaded++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    api_reply_json(req, 503, "Service Unavailable",
               json_pack("{sbsssI}", "ok", 0, "error", why, "accepted", (json_int_t)accepted));
}

int api_authorized(cluster *c, struct evhttp_request *req)
{
    if (!c->cfg.api_token)
        return 1;
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    size_t tlen = strlen(c->cfg.api_token);
    return h && strncmp(h, "Bearer ", 7) == 0 && strlen(h + 7) == tlen &&
           CRYPTO_memcmp(h + 7, c->cfg.api_token, tlen) == 0;
}

/* Encodes a parsed broadcast once: to Redis, and to the edge. 0, -ENOMEM,
 * -ENOBUFS when the edge's mailbox is full, or -EAGAIN when the broadcasts
 * waiting for Redis fill their buffer. With recovery in Redis, a broadcast
 * that is not volatile reaches this node's edge from Redis, with its offset. */
static int forward_broadcast(cluster *c, const api_broadcast *b)
{
    json_t *packet_data = api_broadcast_packet_data(b);
    if (!packet_data)
        return -ENOMEM;
    int rc = c->redis ? redis_adapter_publish_json(c->redis, b->nsp, b->rooms, b->n_rooms, b->except,
                                                   b->n_except, b->is_volatile, packet_data)
                      : 0;
    if (rc || (c->redis && redis_adapter_echoes(c->redis) && !b->is_volatile)) {
        json_decref(packet_data);
        if (rc == 0)
            c->api_broadcasts++;
        return rc == -ENOBUFS ? -EAGAIN : rc ? -ENOMEM : 0;
    }
    sio_outpacket *p = sio_outpacket_encode(b->nsp, SIO_EVENT, -1, packet_data, NULL, 0);
    broadcast_msg *m = p ? broadcast_msg_new(b->nsp, b->rooms, b->n_rooms, b->except, b->n_except,
                                             b->is_volatile, p)
                         : NULL;
    sio_outpacket_unref(p);
    if (m && !c->redis) /* standalone: the edge's history records it with its data */
        broadcast_msg_set_data(m, json_deep_copy(packet_data)); /* shares nothing with the body */
    json_decref(packet_data);
    if (!m)
        return -ENOMEM;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->publish_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    rc = mailbox_push(c->to_edge, &m->hdr);
    if (rc == 0)
        c->api_broadcasts++;
    return rc;
}

static void on_broadcast(struct evhttp_request *req, void *arg)
{
    cluster *c = arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
        return api_reply_error(c, req, 405, "Method Not Allowed", "use POST");
    if (!api_authorized(c, req))
        return api_reply_error(c, req, 401, "Unauthorized", "unauthorized");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    json_error_t jerr;
    json_t *body = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
    if (!body)
        return api_reply_error(c, req, 400, "Bad Request", "malformed JSON");
    /* a batch is all or nothing: validate every item before forwarding any */
    int batch = json_is_array(body);
    size_t n = batch ? json_array_size(body) : 1;
    const char *err = batch && n == 0 ? "empty batch" : NULL;
    api_broadcast *b = err ? NULL : malloc(sizeof(*b));
    if (!err && !b)
        err = "out of memory";
    for (size_t i = 0; !err && i < n; i++)
        err = api_broadcast_parse(batch ? json_array_get(body, i) : body, c->cfg.namespaces, b);
    if (err) {
        free(b);
        json_decref(body);
        return api_reply_error(c, req, 400, "Bad Request", err);
    }
    /* the edge is not keeping up (its mailbox is full): refuse before publishing */
    size_t accepted = 0;
    int rc = mailbox_full(c->to_edge, 0) ? -ENOBUFS : 0;
    while (rc == 0 && accepted < n) {
        api_broadcast_parse(batch ? json_array_get(body, accepted) : body, c->cfg.namespaces, b);
        if ((rc = forward_broadcast(c, b)) == 0)
            accepted++;
    }
    free(b);
    json_decref(body);
    if (rc == -ENOBUFS || rc == -EAGAIN)
        return api_reply_overloaded(c, req, accepted, rc == -EAGAIN ? "redis unavailable" : "edge overloaded");
    if (rc)
        return api_reply_error(c, req, 500, "Internal Server Error", "out of memory");
    api_reply_json(req, 202, "Accepted", json_pack("{sb}", "ok", 1));
}

static void on_health(struct evhttp_request *req, void *arg)
{
    cluster *c = arg;
    cluster_publish_stats(c); /* what the edge's /health reads too, fresh */
    bytebuf body = BYTEBUF_INIT;
    int status = health_answer(c->stats, c->cfg.node_id, c->cfg.health_redis_down_status, &body);
    if (status < 0) {
        bytebuf_free(&body);
        return api_reply_error(c, req, 500, "Internal Server Error", "out of memory");
    }
    struct evbuffer *out = evbuffer_new();
    if (out)
        evbuffer_add(out, body.data, body.len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Health", out);
    if (out)
        evbuffer_free(out);
    bytebuf_free(&body);
}

/* ---- /metrics: the edge's live state (asked through its mailbox) plus this
 * thread's own counters and the process's RSS and CPU -------------------- */

struct pending_scrape {
    struct pending_scrape *next;
    uint64_t token;
    struct evhttp_request *req;  /* NULL once the client went away */
    cluster *c;
};

static void scrape_conn_closed(struct evhttp_connection *conn, void *arg)
{
    struct pending_scrape *p = arg;
    p->req = NULL;
}

static void append_line(bytebuf *out, const char *name, const char *type, const char *help,
                        const char *node, double v)
{
    prom_label l = {"node", node};
    prom_header(out, name, type, help);
    prom_sample(out, name, &l, 1, v);
}

static void process_usage(double *rss_bytes, double *cpu_s)
{
    *rss_bytes = *cpu_s = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f && fscanf(f, "%ld %ld", &pages, &resident) == 2)
        *rss_bytes = (double)resident * (double)sysconf(_SC_PAGESIZE);
    if (f)
        fclose(f);
    f = fopen("/proc/self/stat", "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long utime = 0, stime = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
        *cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Depth and refusals of both mailboxes: "edge" is the edge thread's inbox
 * (broadcasts and requests from the API and Redis), "cluster" this thread's. */
static void mailbox_metrics(cluster *c, bytebuf *out, const char *node)
{
    mailbox_stats st[2];
    mailbox_get_stats(c->to_edge, &st[0]);
    mailbox_get_stats(&c->inbox, &st[1]);
    static const char *const names[2] = {"edge", "cluster"};
    prom_header(out, "sio_mailbox_messages", "gauge", "messages waiting in a thread's mailbox");
    for (int i = 0; i < 2; i++)
        prom_sample(out, "sio_mailbox_messages", (prom_label[]){{"node", node}, {"mailbox", names[i]}}, 2, (double)st[i].messages);
    prom_header(out, "sio_mailbox_bytes", "gauge", "bytes waiting in a thread's mailbox");
    for (int i = 0; i < 2; i++)
        prom_sample(out, "sio_mailbox_bytes", (prom_label[]){{"node", node}, {"mailbox", names[i]}}, 2, (double)st[i].bytes);
    prom_header(out, "sio_mailbox_dropped_total", "counter", "messages refused by a full mailbox");
    for (int i = 0; i < 2; i++)
        prom_sample(out, "sio_mailbox_dropped_total", (prom_label[]){{"node", node}, {"mailbox", names[i]}}, 2, (double)st[i].dropped);
}

/* The application backend (README "Backends"), when one is configured. */
static void backend_metrics(cluster *c, bytebuf *out, const char *node)
{
    if (!c->backend)
        return;
    const backend_proxy_stats *b = backend_proxy_get_stats(c->backend);
    const http_client_stats *h = backend_proxy_http_stats(c->backend);
    append_line(out, "sio_backend_requests_total", "counter", "requests for the backend (connects, events, lifecycle)", node, (double)b->requests);
    append_line(out, "sio_backend_answered_total", "counter", "backend answers that passed the checks", node, (double)b->answered);
    append_line(out, "sio_backend_failed_total", "counter", "backend requests that failed (timeout, refused, non-2xx, bad answer, busy)", node, (double)b->failed);
    append_line(out, "sio_backend_streamed_total", "counter", "events appended to EVENT_STREAM", node, (double)b->streamed);
    if (!h)
        return;
    append_line(out, "sio_backend_http_inflight", "gauge", "backend HTTP requests on the wire (PROXY_MAX_INFLIGHT bounds it)", node, (double)h->inflight);
    append_line(out, "sio_backend_http_queued", "gauge", "backend HTTP requests waiting (PROXY_MAX_QUEUED bounds it)", node, (double)h->queued);
    append_line(out, "sio_backend_http_timeouts_total", "counter", "backend HTTP requests past PROXY_TIMEOUT_MS", node, (double)h->timeouts);
}

static void cluster_metrics(cluster *c, bytebuf *out)
{
    const char *node = c->cfg.node_id ? c->cfg.node_id : "";
    double rss, cpu;
    process_usage(&rss, &cpu);
    append_line(out, "process_resident_memory_bytes", "gauge", "resident memory of the process", node, rss);
    append_line(out, "process_cpu_seconds_total", "counter", "user and system CPU time of the process", node, cpu);
    append_line(out, "sio_draining", "gauge", "1 while the node drains (SIGTERM)", node, EDGE_STAT_GET(c->stats, draining));
    append_line(out, "sio_api_broadcasts_total", "counter", "broadcasts accepted by the HTTP API", node, (double)c->api_broadcasts);
    append_line(out, "sio_api_errors_total", "counter", "HTTP API requests refused", node, (double)c->api_errors);
    append_line(out, "sio_api_overloaded_total", "counter", "broadcast requests answered 503 (edge mailbox full)", node, (double)c->api_overloaded);
    mailbox_metrics(c, out, node);
    backend_metrics(c, out, node);
    if (!c->redis)
        return;
    const redis_adapter_stats *rs = redis_adapter_get_stats(c->redis);
    size_t primaries = 0, unconfirmed = 0;
    append_line(out, "sio_redis_up", "gauge", "1 while both Redis connections are up", node, redis_adapter_is_up(c->redis));
    append_line(out, "sio_redis_reconnects_total", "counter", "Redis reconnections", node, (double)redis_adapter_reconnects(c->redis));
    append_line(out, "sio_redis_published_total", "counter", "messages published to Redis", node, (double)rs->published);
    append_line(out, "sio_redis_publish_failed_total", "counter", "broadcasts that could not be published (the buffer for Redis was full)", node, (double)rs->publish_failed);
    append_line(out, "sio_redis_received_total", "counter", "messages received from Redis", node, (double)rs->received);
    append_line(out, "sio_redis_ignored_total", "counter", "messages from Redis with nothing to do here (own, other rooms)", node, (double)rs->ignored);
    append_line(out, "sio_redis_invalid_total", "counter", "messages from Redis that could not be decoded", node, (double)rs->invalid);
    append_line(out, "sio_redis_requests_total", "counter", "requests from other nodes answered", node, (double)rs->requests);
    append_line(out, "sio_redis_buffered", "gauge", "broadcasts waiting for Redis (REDIS_BUFFER_MAX_MESSAGES bounds it)", node, (double)redis_adapter_buffered(c->redis));
    append_line(out, "sio_recovery_restores_total", "counter", "sessions restored from Redis", node, (double)rs->restored);
    append_line(out, "sio_recovery_restore_misses_total", "counter", "restores that found no usable session (new session instead)", node, (double)rs->restore_misses);
    const redis_cluster_stats *cs = redis_adapter_cluster_stats(c->redis, &primaries, &unconfirmed);
    if (!cs)
        return;
    append_line(out, "sio_redis_primaries", "gauge", "primaries in the slot map (REDIS_ADAPTER=sharded)", node, (double)primaries);
    append_line(out, "sio_redis_subscriptions_pending", "gauge", "sharded channels not yet confirmed by their shard", node, (double)unconfirmed);
    append_line(out, "sio_redis_slot_map_refreshes_total", "counter", "slot maps read (CLUSTER SLOTS)", node, (double)cs->refreshes);
    append_line(out, "sio_redis_slot_map_errors_total", "counter", "CLUSTER SLOTS refused or unusable (not a cluster node?)", node, (double)cs->refresh_errors);
    append_line(out, "sio_redis_moved_total", "counter", "MOVED redirections (commands and subscriptions)", node, (double)cs->moved);
    append_line(out, "sio_redis_ask_total", "counter", "ASK redirections followed", node, (double)cs->asked);
    append_line(out, "sio_redis_resubscribed_total", "counter", "sharded channels subscribed again on a new owner", node, (double)cs->resubscribed);
    append_line(out, "sio_redis_command_errors_total", "counter", "error replies of a shard to routed commands", node, (double)cs->errors);
}

void api_metrics_reply(cluster *c, uint64_t token, const uint8_t *text, size_t len)
{
    for (struct pending_scrape **pp = &c->scrapes; *pp; pp = &(*pp)->next) {
        struct pending_scrape *p = *pp;
        if (p->token != token)
            continue;
        *pp = p->next;
        if (p->req) {
            evhttp_connection_set_closecb(evhttp_request_get_connection(p->req), NULL, NULL);
            struct evbuffer *out = evbuffer_new();
            bytebuf mine = BYTEBUF_INIT;
            cluster_metrics(c, &mine);
            evbuffer_add(out, text, len);
            evbuffer_add(out, mine.data, mine.len);
            bytebuf_free(&mine);
            evhttp_add_header(evhttp_request_get_output_headers(p->req), "Content-Type",
                              "text/plain; version=0.0.4");
            evhttp_send_reply(p->req, 200, "OK", out);
            evbuffer_free(out);
        }
        free(p);
        return;
    }
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
    cluster *c = arg;
    const char *node = c->cfg.node_id ? c->cfg.node_id : "";
    struct pending_scrape *p = calloc(1, sizeof(*p));
    response_msg *m = p ? metrics_msg_new(++c->next_token, node, strlen(node) + 1) : NULL;
    if (!m) {
        free(p);
        return api_reply_error(c, req, 500, "Internal Server Error", "out of memory");
    }
    p->token = c->next_token;
    p->req = req;
    p->c = c;
    p->next = c->scrapes;
    c->scrapes = p;
    if (mailbox_push(c->to_edge, &m->hdr)) { /* the edge cannot take it: answer now */
        c->scrapes = p->next;
        free(p);
        return api_reply_overloaded(c, req, 0, "edge overloaded");
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), scrape_conn_closed, p);
}

#define API_MAX_HEADERS 16384
#define API_TIMEOUT_S 30

static void on_other(struct evhttp_request *req, void *arg)
{
    api_reply_error(arg, req, 404, "Not Found", "not found");
}

int api_http_start(cluster *c)
{
    c->http = evhttp_new(c->base);
    if (!c->http)
        return -1;
    evhttp_set_max_body_size(c->http, (ev_ssize_t)c->cfg.api_max_body);
    /* headers arrive before the bearer token is checked: bound them (as Node's
     * 16 KB), and the time a client may take to send a request */
    evhttp_set_max_headers_size(c->http, API_MAX_HEADERS);
    evhttp_set_timeout(c->http, API_TIMEOUT_S);
    evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_cb(c->http, "/v1/broadcast", on_broadcast, c);
    evhttp_set_cb(c->http, "/health", on_health, c);
    evhttp_set_cb(c->http, "/metrics", on_metrics, c);
    api_sockets_register(c);
    evhttp_set_gencb(c->http, on_other, c);
    struct evhttp_bound_socket *sock =
        evhttp_bind_socket_with_handle(c->http, c->cfg.api_bind ? c->cfg.api_bind : "0.0.0.0",
                                       (ev_uint16_t)c->cfg.api_port);
    if (!sock) {
        char f[32];
        snprintf(f, sizeof(f), "\"api_port\":%d", c->cfg.api_port);
        log_write(LOG_ERROR, "cannot listen on API_PORT", f);
        return -1;
    }
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
        c->api_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

void api_http_stop(cluster *c)
{
    api_query_stop(c);
    while (c->scrapes) { /* the edge will not answer any more */
        struct pending_scrape *p = c->scrapes;
        c->scrapes = p->next;
        free(p);
    }
    if (c->http)
        evhttp_free(c->http);
    c->http = NULL;
}
