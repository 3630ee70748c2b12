/* redis_query: requests this node originates over classic pub/sub, as the
 * Node adapter 8.x makes them (see redis_adapter.h): socketsJoin/Leave and
 * disconnectSockets are published on prefix-request#nsp# (their echo applies
 * them here too); fetchSockets and allRooms count the other nodes with PUBSUB
 * NUMSUB once this node's own subscription is active, publish, and hand each
 * JSON answer on the response channels to the caller's hooks by requestId.
 * Cluster thread only. */
#include "redis_adapter_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A fetch or allRooms on its way: waiting for the subscription barrier, then
 * for the NUMSUB reply. Owned by the adapter's list until that reply. */
struct query_step {
    query_step *next;
    redis_adapter *a;
    char *channel;        /* prefix-request#nsp# */
    bytebuf msg;          /* the request's JSON */
    char id[];            /* its requestId */
};

int redis_adapter_originates(const redis_adapter *a)
{
    if (a->sharded || a->streams)
        return -ENOTSUP;
    return redis_adapter_is_up(a) ? 0 : -EAGAIN;
}

int redis_adapter_publish_request(redis_adapter *a, const char *nsp, adapter_request *r)
{
    nsp_state *ns = a->sharded || a->streams ? NULL : redis_adapter_namespace(a, nsp);
    if (!ns)
        return a->sharded || a->streams ? -ENOTSUP : -ENOMEM;
    bytebuf out = BYTEBUF_INIT;
    r->uid = a->uid;
    int rc = adapter_request_encode(r, &out) ? -ENOMEM
                                             : redis_adapter_publish_kept(a, ns->request_channel, out.data, out.len);
    r->uid = NULL;
    bytebuf_free(&out);
    return rc;
}

static void unlink_step(redis_adapter *a, query_step *q)
{
    for (query_step **pp = &a->query_steps; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    free(q->channel);
    bytebuf_free(&q->msg);
    free(q);
}

/* ["channel", count]: the others are count - 1 (this node is one). */
static long others_of(const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    return reply->element[1]->integer > 0 ? (long)reply->element[1]->integer - 1 : 0;
}

static void on_numsub(redis_conn *c, redisReply *reply, void *ud)
{
    query_step *q = ud;
    redis_adapter *a = q->a;
    long others = others_of(reply);
    const char *argv[3] = {"PUBLISH", q->channel, (const char *)q->msg.data};
    size_t lens[3] = {7, strlen(q->channel), q->msg.len};
    if (others > 0 && redis_conn_command(a->pub, NULL, NULL, 3, argv, lens))
        others = -1;
    if (reply && a->query_hooks.counted) /* NULL: the connection went (or is freed) */
        a->query_hooks.counted(a->query_hooks.ctx, q->id, others);
    unlink_step(a, q);
}

/* This node's subscription to the request channel is active: count. */
static void count_nodes(void *ud)
{
    query_step *q = ud;
    const char *argv[3] = {"PUBSUB", "NUMSUB", q->channel};
    size_t lens[3] = {6, 6, strlen(q->channel)};
    if (redis_conn_command(q->a->pub, on_numsub, q, 3, argv, lens) == 0)
        return;
    if (q->a->query_hooks.counted)
        q->a->query_hooks.counted(q->a->query_hooks.ctx, q->id, -1);
    unlink_step(q->a, q);
}

int redis_adapter_query(redis_adapter *a, const char *nsp, adapter_request *r)
{
    int rc = redis_adapter_originates(a);
    nsp_state *ns = rc ? NULL : redis_adapter_namespace(a, nsp);
    size_t idlen = r->request_id ? strlen(r->request_id) + 1 : 0;
    query_step *q = ns && idlen ? calloc(1, sizeof(*q) + idlen) : NULL;
    if (!q)
        return rc ? rc : -ENOMEM;
    memcpy(q->id, r->request_id, idlen);
    q->a = a;
    r->uid = a->uid;
    rc = (q->channel = strdup(ns->request_channel)) && adapter_request_encode(r, &q->msg) == 0 &&
                 bytebuf_append_byte(&q->msg, 0) == 0 ? 0 : -ENOMEM;
    r->uid = NULL;
    if (rc) {
        free(q->channel);
        bytebuf_free(&q->msg);
        free(q);
        return rc;
    }
    q->msg.len--; /* the NUL only ends the text */
    q->next = a->query_steps;
    a->query_steps = q;
    a->open_queries++;
    redis_adapter_subscribe_then(a, ns, NULL, 0, count_nodes, q);
    return 0;
}

void redis_adapter_query_done(redis_adapter *a)
{
    if (a->open_queries)
        a->open_queries--;
}

void redis_adapter_set_query_hooks(redis_adapter *a, const redis_query_hooks *h)
{
    a->query_hooks = *h;
}

void redis_query_on_response(redis_adapter *a, const uint8_t *msg, size_t len)
{
    if (!a->open_queries || !a->query_hooks.answer || !len || msg[0] != '{')
        return; /* nothing asked; msgpack responses are acks (type 9) */
    adapter_request r;
    if (adapter_request_decode(msg, len, &a->limits, &r)) {
        a->stats.invalid++;
        return;
    }
    if (r.request_id && r.json)
        a->query_hooks.answer(a->query_hooks.ctx, r.request_id, r.json, len);
    adapter_request_clear(&r);
}

void redis_query_free_all(redis_adapter *a)
{
    while (a->query_steps)
        unlink_step(a, a->query_steps);
}
