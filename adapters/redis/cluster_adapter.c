#include "cluster_adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter_wire.h"

#define REQUEST_TTL_MS 120000 /* how long an answer may still go to a requester */

/* A request of another node being answered here: where the answers go. */
struct requester {
    struct requester *next;
    uint64_t until_ms;
    char *request_id, *channel;
};

static const char **string_list(const json_t *v, size_t *n)
{
    size_t count = json_array_size(v);
    const char **out = calloc(count ? count : 1, sizeof(*out));
    for (size_t i = 0; out && i < count; i++)
        if (!(out[i] = json_string_value(json_array_get(v, i)))) {
            free(out);
            return NULL;
        }
    *n = out ? count : 0;
    return out;
}

void cluster_adapter_request(redis_adapter *a, nsp_state *ns, int type, const json_t *d)
{
    const json_t *opts = json_object_get(d, "opts");
    size_t nr = 0, ne = 0, nt = 0;
    const char **rooms = string_list(json_object_get(opts, "rooms"), &nr);
    const char **except = string_list(json_object_get(opts, "except"), &ne);
    const char **targets = string_list(json_object_get(d, "rooms"), &nt);
    int kind = type == 4 ? CLUSTER_REQ_JOIN : type == 5 ? CLUSTER_REQ_LEAVE : CLUSTER_REQ_DISCONNECT;
    request_msg *m = d && rooms && except && targets
                         ? request_msg_new(kind, ns->name, "", rooms, nr, except, ne, targets, nt, "",
                                           json_is_true(json_object_get(d, "close")))
                         : NULL;
    if (m) {
        mailbox_push(a->to_edge, &m->hdr);
        a->stats.requests++;
    } else {
        a->stats.invalid++;
    }
    free(rooms), free(except), free(targets);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void requester_free(requester *r)
{
    free(r->request_id);
    free(r->channel);
    free(r);
}

static void expire_requesters(cluster_adapter *s, uint64_t now)
{
    for (requester **pp = &s->requesters; *pp;) {
        requester *r = *pp;
        if (now < r->until_ms) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        requester_free(r);
    }
}

static void remember(cluster_adapter *s, const char *request_id, const char *uid, const char *nsp)
{
    uint64_t now = now_ms();
    expire_requesters(s, now);
    requester *r = calloc(1, sizeof(*r));
    if (!r || !(r->request_id = strdup(request_id)) ||
        !(r->channel = cluster_adapter_channel(s->a, nsp, uid))) {
        if (r)
            free(r->request_id);
        free(r);
        return;
    }
    r->until_ms = now + REQUEST_TTL_MS;
    r->next = s->requesters;
    s->requesters = r;
}

static const requester *requester_of(const cluster_adapter *s, const char *request_id)
{
    for (const requester *r = s->requesters; r; r = r->next)
        if (strcmp(r->request_id, request_id) == 0)
            return r;
    return NULL;
}

static void publish_to(cluster_adapter *s, const char *channel, const bytebuf *payload)
{
    s->publish(s->ctx, channel, payload->data, payload->len);
}

void cluster_adapter_reply(cluster_adapter *s, const reply_msg *m)
{
    const requester *r = requester_of(s, m->request_id);
    bytebuf out = BYTEBUF_INIT;
    if (r && adapter_wire_cluster_reply(m, s->a->uid, &out) == 0)
        publish_to(s, r->channel, &out);
    bytebuf_free(&out);
}

static const char **opts_list(const json_t *opts, const char *key, size_t *n)
{
    return string_list(json_object_get(opts, key), n);
}

/* FETCH_SOCKETS, or a BROADCAST with ack: for the edge, answered later. */
static void forward_ephemeral(cluster_adapter *s, nsp_state *ns, int type, const char *uid,
                              json_t *data, adapter_bin *bins, size_t n_bins)
{
    redis_adapter *a = s->a;
    const char *request_id = json_string_value(json_object_get(data, "requestId"));
    const json_t *opts = json_object_get(data, "opts");
    size_t nr = 0, ne = 0;
    const char **rooms = opts_list(opts, "rooms", &nr), **except = opts_list(opts, "except", &ne);
    const json_t *packet = json_object_get(data, "packet");
    int with_ack = type == CLUSTER_BROADCAST;
    int64_t id = with_ack ? a->next_ack_id++ : -1;
    sio_bin sb[64];
    size_t n = n_bins < 64 ? n_bins : 64;
    for (size_t i = 0; i < n; i++)
        sb[i] = (sio_bin){bins[i].data, bins[i].len};
    sio_outpacket *p = with_ack && json_is_array(json_object_get(packet, "data"))
                           ? sio_outpacket_encode(ns->name, SIO_EVENT, id, json_object_get(packet, "data"), sb, n)
                           : NULL;
    request_msg *m = request_id && rooms && except && (!with_ack || p)
                         ? request_msg_new(with_ack ? CLUSTER_REQ_BROADCAST_ACK : CLUSTER_REQ_FETCH, ns->name,
                                           request_id, rooms, nr, except, ne, NULL, 0, "", 0)
                         : NULL;
    free(rooms), free(except);
    if (!m) {
        sio_outpacket_unref(p);
        a->stats.invalid++;
        return;
    }
    if (with_ack) {
        const json_t *timeout = json_object_get(json_object_get(opts, "flags"), "timeout");
        request_msg_set_packet(m, p);
        m->ack_id = id;
        m->timeout_ms = json_is_integer(timeout) ? json_integer_value(timeout) : -1;
    }
    remember(s, request_id, uid, ns->name);
    mailbox_push(a->to_edge, &m->hdr);
    a->stats.requests++;
}

/* A SERVER_SIDE_EMIT that wants acks: null from this node, which has no handler. */
static void answer_server_side_emit(cluster_adapter *s, nsp_state *ns, const char *uid, const json_t *data)
{
    const char *request_id = json_string_value(json_object_get(data, "requestId"));
    if (!request_id)
        return;
    bytebuf out = BYTEBUF_INIT;
    char *channel = cluster_adapter_channel(s->a, ns->name, uid); /* not cut short: any uid */
    json_t *answer = json_pack("{ssso}", "requestId", request_id, "packet", json_null());
    if (channel && adapter_wire_cluster_message(s->a->uid, ns->name, CLUSTER_SERVER_SIDE_EMIT_RESPONSE,
                                                answer, NULL, 0, &out) == 0)
        publish_to(s, channel, &out);
    else if (!channel)
        json_decref(answer);
    free(channel);
    bytebuf_free(&out);
}

/* A BROADCAST without ack (the sharded adapter's; the streams adapter's are
 * in the stream): for the edge when it has members of its rooms here. */
static void on_broadcast(cluster_adapter *s, nsp_state *ns, const char *uid, const json_t *data,
                         adapter_bin **bins, size_t *n_bins)
{
    redis_adapter *a = s->a;
    adapter_broadcast b;
    int rc = adapter_cluster_broadcast_from_json(data, *bins, *n_bins, &a->limits, &b);
    *bins = NULL; /* taken */
    *n_bins = 0;
    if (rc)
        a->stats.invalid++;
    else if (redis_adapter_wants(ns, &b))
        redis_adapter_deliver(a, ns, &b, NULL);
    else
        a->stats.ignored++;
    adapter_broadcast_clear(&b);
}

static void dispatch(cluster_adapter *s, nsp_state *ns, const char *uid, int type, json_t *data,
                     adapter_bin **bins, size_t *n_bins)
{
    int with_id = json_object_get(data, "requestId") != NULL;
    if (type == CLUSTER_BROADCAST && !with_id)
        on_broadcast(s, ns, uid, data, bins, n_bins);
    else if (type == CLUSTER_FETCH_SOCKETS || type == CLUSTER_BROADCAST)
        forward_ephemeral(s, ns, type, uid, data, *bins, *n_bins);
    else if (type >= CLUSTER_SOCKETS_JOIN && type <= CLUSTER_DISCONNECT_SOCKETS)
        cluster_adapter_request(s->a, ns, type, data);
    else if (type == CLUSTER_SERVER_SIDE_EMIT)
        answer_server_side_emit(s, ns, uid, data);
    else
        s->a->stats.ignored++; /* responses to requests this node never makes */
}

void cluster_adapter_on_message(cluster_adapter *s, nsp_state *ns, const uint8_t *msg, size_t len)
{
    redis_adapter *a = s->a;
    json_t *m = NULL;
    adapter_bin *bins = NULL;
    size_t n_bins = 0;
    if (adapter_cluster_message_decode(msg, len, &a->limits, &m, &bins, &n_bins)) {
        a->stats.invalid++;
    } else {
        const char *uid = json_string_value(json_object_get(m, "uid"));
        const char *nsp = json_string_value(json_object_get(m, "nsp"));
        json_t *data = json_object_get(m, "data");
        int type = (int)json_integer_value(json_object_get(m, "type"));
        int mine = !uid || strcmp(uid, a->uid) == 0 || !nsp || strcmp(nsp, ns->name) != 0;
        if (mine || !json_is_object(data))
            a->stats.ignored++;
        else
            dispatch(s, ns, uid, type, data, &bins, &n_bins);
    }
    json_decref(m);
    for (size_t i = 0; i < n_bins; i++)
        free(bins[i].data);
    free(bins);
}

char *cluster_adapter_channel(const redis_adapter *a, const char *nsp, const char *uid)
{
    size_t n = strlen(a->prefix) + strlen(nsp) + strlen(uid) + 4;
    char *c = malloc(n);
    if (c)
        snprintf(c, n, "%s#%s#%s#", a->prefix, nsp, uid);
    return c;
}

void cluster_adapter_init(cluster_adapter *s, redis_adapter *a,
                          void (*publish)(void *ctx, const char *channel, const uint8_t *payload,
                                          size_t len),
                          void *ctx)
{
    *s = (cluster_adapter){a, publish, ctx, NULL};
}

void cluster_adapter_clear(cluster_adapter *s)
{
    while (s->requesters) {
        requester *r = s->requesters;
        s->requesters = r->next;
        requester_free(r);
    }
}
