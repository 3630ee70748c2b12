/* api_query: GET /v1/sockets (fetchSockets) and GET /v1/rooms (allRooms)
 * across the cluster, on the cluster thread. A query asks its own edge
 * (MSG_REQUEST, answered by MSG_REPLY) and, with Redis, the other nodes
 * (redis_adapter_query: REMOTE_FETCH / ALL_ROOMS with a fresh requestId,
 * as many answers expected as PUBSUB NUMSUB counts other nodes). It answers
 * once every node has, or after API_REQUEST_TIMEOUT_MS with what arrived:
 * 200 {"sockets"|"rooms", "nodes": answers in, "complete": false}.
 *
 * Bounds: API_MAX_QUERIES in flight (503 past them), API_QUERY_MAX_ITEMS
 * sockets or rooms and API_QUERY_MAX_BYTES of answers per query (an answer
 * past them is left out: complete false). Queries are found by id only, so
 * an answer for one that ended finds nothing. */
#include "cluster_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_wire.h"
#include "api_sockets.h"
#include "random_id.h"

#define API_MAX_QUERIES 64
#define API_QUERY_MAX_ITEMS 100000
#define API_QUERY_MAX_BYTES (64u << 20)
#define API_QUERY_TIMEOUT_DEFAULT_MS 5000

typedef struct api_query {
    struct api_query *next;
    cluster *c;
    struct evhttp_request *req;
    struct event *timer;
    int kind;               /* CLUSTER_REQ_FETCH or CLUSTER_REQ_ALL_ROOMS */
    int remote;             /* redis_adapter_query() opened it */
    int local_done;
    long expected;          /* other nodes' answers awaited; -1 until counted */
    long answered;
    int incomplete;         /* an answer was left out, or Redis failed */
    size_t items, bytes;
    json_t *found;          /* fetch: an array of sockets; rooms: an object (a set) */
    char id[RANDOM_ID_LEN + 1];
} api_query;

static api_query *find(cluster *c, const char *id)
{
    for (api_query *q = c->queries; q; q = q->next)
        if (strcmp(q->id, id) == 0)
            return q;
    return NULL;
}

static void query_free(api_query *q)
{
    cluster *c = q->c;
    for (api_query **pp = &c->queries; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            c->n_queries--;
            break;
        }
    if (q->remote && c->redis)
        redis_adapter_query_done(c->redis);
    if (q->timer)
        event_free(q->timer);
    json_decref(q->found);
    free(q);
}

static json_t *room_list(const json_t *set)
{
    json_t *list = json_array();
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(SIO_UNCONST(json_t *, set), k, klen, v)
        json_array_append_new(list, json_stringn(k, klen));
    return list;
}

/* Answers with what arrived (complete or not) and ends the query. */
static void finish(api_query *q, int complete)
{
    if (q->req) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(q->req), NULL, NULL);
        json_t *found = q->kind == CLUSTER_REQ_FETCH ? json_incref(q->found) : room_list(q->found);
        api_reply_json(q->req, 200, "OK",
                       json_pack("{sosIsb}", q->kind == CLUSTER_REQ_FETCH ? "sockets" : "rooms",
                                 found, "nodes", (json_int_t)(q->local_done + q->answered),
                                 "complete", complete && !q->incomplete));
    }
    query_free(q);
}

static void maybe_finish(api_query *q)
{
    if (q->local_done && q->expected >= 0 && q->answered >= q->expected)
        finish(q, 1);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    finish(arg, 0);
}

static void conn_closed(struct evhttp_connection *conn, void *arg)
{
    api_query *q = arg;
    q->req = NULL; /* nobody to answer: end it now (answers find it no more) */
    query_free(q);
}

/* One node's list (sockets, or room names), within the query's bounds. */
static void add_items(api_query *q, const json_t *list, size_t bytes)
{
    size_t n = json_array_size(list);
    if (q->items + n > API_QUERY_MAX_ITEMS || q->bytes + bytes > API_QUERY_MAX_BYTES) {
        q->incomplete = 1;
        return;
    }
    q->items += n;
    q->bytes += bytes;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        if (q->kind == CLUSTER_REQ_FETCH && json_is_object(v))
            json_array_append(q->found, v);
        else if (q->kind == CLUSTER_REQ_ALL_ROOMS && json_is_string(v))
            json_object_setn_new(q->found, json_string_value(v), json_string_length(v), json_true());
    }
}

/* ---- the other nodes, through the adapter ------------------------------- */

static void on_counted(void *ctx, const char *id, long others)
{
    api_query *q = find(ctx, id);
    if (!q)
        return;
    q->incomplete |= others < 0;
    q->expected = others < 0 ? 0 : others;
    maybe_finish(q);
}

/* As the Node adapter: every answer counts, one without its list adds nothing. */
static void on_answer(void *ctx, const char *id, const json_t *answer, size_t bytes)
{
    api_query *q = find(ctx, id);
    if (!q || q->expected < 0 || q->answered >= q->expected)
        return; /* not ours, or more answers than nodes counted */
    q->answered++;
    json_t *list = json_object_get(answer, q->kind == CLUSTER_REQ_FETCH ? "sockets" : "rooms");
    if (json_is_array(list))
        add_items(q, list, bytes);
    maybe_finish(q);
}

void api_query_hooks(cluster *c, redis_query_hooks *h)
{
    *h = (redis_query_hooks){on_counted, on_answer, c};
}

/* ---- this node, through its edge ----------------------------------------- */

static json_t *local_list(const reply_msg *m, size_t *bytes)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < m->n_sockets; i++)
        json_array_append_new(list, adapter_wire_socket_json(m->sockets[i]));
    for (size_t i = 0; list && i < m->n_names; i++)
        json_array_append_new(list, json_string(m->names[i]));
    *bytes = m->hdr.bytes;
    return list;
}

int api_query_local_reply(cluster *c, const reply_msg *m)
{
    api_query *q = m->request_id[0] ? find(c, m->request_id) : NULL;
    if (!q || q->local_done)
        return 0;
    size_t bytes = 0;
    json_t *list = local_list(m, &bytes);
    q->incomplete |= !list;
    if (list)
        add_items(q, list, bytes);
    json_decref(list);
    q->local_done = 1;
    maybe_finish(q);
    return 1;
}

static int ask_edge(cluster *c, const api_query *q, const api_selection *s)
{
    request_msg *m = request_msg_new(q->kind, s->nsp, q->id, s->rooms, s->n_rooms, s->except,
                                     s->n_except, NULL, 0, "", 0);
    return m ? mailbox_push(c->to_edge, &m->hdr) : -ENOMEM;
}

static int ask_others(cluster *c, api_query *q, const api_selection *s)
{
    adapter_request r = {
        .type = q->kind == CLUSTER_REQ_FETCH ? ADAPTER_REMOTE_FETCH : ADAPTER_ALL_ROOMS,
        .request_id = q->id,
        .opts_rooms = SIO_UNCONST(char **, s->rooms), .n_opts_rooms = s->n_rooms,
        .opts_except = SIO_UNCONST(char **, s->except), .n_opts_except = s->n_except,
    };
    int rc = redis_adapter_query(c->redis, s->nsp, &r);
    q->remote = rc == 0;
    return rc;
}

/* ---- start and stop --------------------------------------------------------- */

static api_query *query_new(cluster *c, struct evhttp_request *req, int kind)
{
    api_query *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    *q = (api_query){.c = c, .req = req, .kind = kind, .expected = c->redis ? -1 : 0};
    random_id(q->id);
    q->found = kind == CLUSTER_REQ_FETCH ? json_array() : json_object();
    q->timer = evtimer_new(c->base, on_timeout, q);
    if (!q->found || !q->timer) {
        json_decref(q->found);
        if (q->timer)
            event_free(q->timer);
        free(q);
        return NULL;
    }
    q->next = c->queries;
    c->queries = q;
    c->n_queries++;
    return q;
}

void api_reply_refused(cluster *c, struct evhttp_request *req, int rc)
{
    if (rc == -ENOTSUP) {
        char why[96];
        snprintf(why, sizeof why, "not supported with REDIS_ADAPTER=%s",
                 c->cfg.redis_sharded ? "sharded" : "streams");
        return api_reply_error(c, req, 501, "Not Implemented", why);
    }
    if (rc == -ENOMEM)
        return api_reply_error(c, req, 500, "Internal Server Error", "out of memory");
    api_reply_overloaded(c, req, 0, rc == -EAGAIN ? "redis unavailable"
                                    : rc == -EBUSY ? "too many requests in flight"
                                                   : "edge overloaded");
}

void api_query_start(cluster *c, struct evhttp_request *req, int kind, const api_selection *s)
{
    int rc = c->redis ? redis_adapter_originates(c->redis) : 0;
    if (!rc && c->n_queries >= API_MAX_QUERIES)
        rc = -EBUSY;
    if (!rc && mailbox_full(c->to_edge, 0))
        rc = -ENOBUFS;
    api_query *q = rc ? NULL : query_new(c, req, kind);
    if (!rc && !q)
        rc = -ENOMEM;
    if (!rc && (rc = ask_edge(c, q, s)) != 0)
        query_free(q);
    if (rc)
        return api_reply_refused(c, req, rc);
    if (c->redis && ask_others(c, q, s)) {
        q->incomplete = 1; /* this node's answer only */
        q->expected = 0;
    }
    uint32_t ms = c->cfg.api_request_timeout_ms ? c->cfg.api_request_timeout_ms
                                                : API_QUERY_TIMEOUT_DEFAULT_MS;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(q->timer, &tv);
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), conn_closed, q);
}

void api_query_stop(cluster *c)
{
    while (c->queries) {
        api_query *q = c->queries;
        if (q->req)
            evhttp_connection_set_closecb(evhttp_request_get_connection(q->req), NULL, NULL);
        q->req = NULL;
        query_free(q);
    }
}
