#include "redis_adapter_internal.h"
#include "redis_sharded.h"
#include "redis_streams.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter_msg.h"
#include "adapter_wire.h"
#include "hashmap.h"
#include "log.h"
#include "random_id.h"
#include "sio_packet.h"

/* The edge numbers its own acks from 0 per namespace; ids of broadcasts with
 * ack start far above (and stay below 2^53, JavaScript's exact integers). */
#define CLUSTER_ACK_ID_BASE ((int64_t)1 << 40)

static char *joined(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s%s", a, b, c, d);
    return s;
}

char *redis_adapter_room_channel(const nsp_state *ns, const char *room)
{
    return joined(ns->channel, room, "#", "");
}

/* ---- subscriptions ---------------------------------------------------------- */

/* A (P)(UN)SUBSCRIBE on the subscriber: Redis confirms each channel, in
 * order, which is how barriers know a subscription is active. */
static void command(redis_adapter *a, int argc, const char **argv)
{
    size_t lens[SUBSCRIBE_BATCH + 2];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if (redis_conn_command(a->sub, NULL, NULL, argc, argv, lens) == 0)
        a->subs_sent += (uint64_t)(argc - 1);
}

static void subscribe_one(redis_adapter *a, const char *verb, const char *channel)
{
    const char *argv[2] = {verb, channel};
    if (redis_conn_is_up(a->sub))
        command(a, 2, argv);
}

static void subscribe_namespace(redis_adapter *a, nsp_state *ns)
{
    const char *argv[5] = {"SUBSCRIBE", ns->request_channel, ns->response_channel,
                           ns->own_response, ns->channel};
    if (a->sharded) {
        redis_sharded_namespace(a->sharded, ns, 1);
        return;
    }
    if (!redis_conn_is_up(a->sub))
        return;
    if (a->streams) { /* broadcasts are in the stream; ephemeral messages on these */
        char *own = redis_streams_private_channel(a->streams, ns);
        const char *both[3] = {"SUBSCRIBE", ns->channel, own};
        if (own)
            command(a, 3, both);
        free(own);
        return;
    }
    if (a->pattern_mode) {
        command(a, 4, argv);
        char *pattern = joined(ns->channel, "*", "", "");
        if (pattern)
            subscribe_one(a, "PSUBSCRIBE", pattern);
        free(pattern);
        return;
    }
    command(a, 5, argv);
    /* every room with a local member, in batches */
    const char *batch[SUBSCRIBE_BATCH + 1];
    char *owned[SUBSCRIBE_BATCH];
    int n = 0;
    size_t it = 0, klen;
    const char *k;
    void *v;
    batch[0] = "SUBSCRIBE";
    for (int more = 1; more;) {
        more = hashmap_next(&ns->rooms, &it, &k, &klen, &v);
        if (more && (owned[n] = redis_adapter_room_channel(ns, k)))
            batch[1 + n] = owned[n], n++;
        if (n && (n == SUBSCRIBE_BATCH || !more)) {
            command(a, 1 + n, batch);
            while (n)
                free(owned[--n]);
        }
    }
}

/* ---- barriers: subscriptions confirmed ------------------------------------- */

#define HELD_MAX 100000 /* past this a gap is given up: what waits goes on */

/* The subscriber is away: once it is back, what it receives waits for the
 * history to give what it missed first, so that nothing overtakes the gap. */
static void hold_for_gap(redis_adapter *a)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (a->recovery && !a->streams && hashmap_next(&a->nsps, &it, &k, &klen, &v)) {
        nsp_state *ns = v;
        if (ns->hwm[0] && !ns->gap_hold) { /* nothing delivered yet: no gap to fill */
            ns->gap_hold = 1;
            ns->holds++;
        }
    }
}

void redis_adapter_gap_filled(redis_adapter *a, nsp_state *ns)
{
    if (!ns->gap_hold)
        return;
    ns->gap_hold = 0;
    ns->holds--;
    redis_adapter_release_held(a, ns);
}

/* After the subscriber was away, the history gives what it missed: once the
 * subscriptions are renewed and the publisher (which reads it) is up. */
static void fill_gap(redis_adapter *a)
{
    if (!a->recovery || a->streams || !a->gap_pending || !a->subs_ready || !redis_conn_is_up(a->pub))
        return; /* streams: the reader resumes from its last entry by itself */
    a->gap_pending = 0;
    redis_recovery_on_subs_ready(a->recovery);
}

void redis_adapter_gap_failed(redis_adapter *a)
{
    a->gap_pending = 1; /* read again at the next renewal or publisher reconnect */
}

static void barrier_reply(redis_adapter *a, uint64_t token)
{
    cluster_msg *m = token_msg_new(MSG_BARRIER_DONE, token);
    if (m)
        mailbox_push(a->to_edge, m);
}

static void subs_confirmed(redis_adapter *a)
{
    while (a->barriers && a->barriers->target <= a->subs_acked) {
        barrier *b = a->barriers;
        a->barriers = b->next;
        if (!a->barriers)
            a->barriers_tail = NULL;
        if (b->fn)
            b->fn(b->ud);
        else
            barrier_reply(a, b->token);
        free(b);
    }
    if (a->outbox)
        redis_outbox_fence_moved(a->outbox);
    if (!a->subs_ready && a->subs_acked >= a->ready_target && redis_conn_is_up(a->sub)) {
        a->subs_ready = 1;
        fill_gap(a);
    }
}

/* Everything subscribed so far must be confirmed before the edge hears back. */
typedef struct token_barrier {
    redis_adapter *a;
    uint64_t token;
} token_barrier;

static void token_barrier_done(void *ud)
{
    token_barrier *t = ud;
    barrier_reply(t->a, t->token);
    free(t);
}

static void add_barrier(redis_adapter *a, uint64_t token, void (*fn)(void *ud), void *ud)
{
    if (a->sharded) {
        token_barrier *t = fn ? NULL : malloc(sizeof(*t));
        if (t)
            *t = (token_barrier){a, token};
        if (fn || t)
            redis_sharded_barrier(a->sharded, fn ? fn : token_barrier_done, fn ? ud : t);
        else
            barrier_reply(a, token);
        return;
    }
    barrier *b = malloc(sizeof(*b));
    if (!b) {
        if (fn)
            fn(ud);
        else
            barrier_reply(a, token);
        return;
    }
    *b = (barrier){NULL, token, a->subs_sent, fn, ud};
    if (a->barriers_tail)
        a->barriers_tail->next = b;
    else
        a->barriers = b;
    a->barriers_tail = b;
    if (redis_conn_is_up(a->sub))
        subs_confirmed(a);
}

static void on_sub_up(redis_conn *c, void *ctx)
{
    redis_adapter *a = ctx;
    size_t it = 0, klen;
    const char *k;
    void *v;
    a->subs_sent = a->subs_acked = 0;
    a->subs_ready = 0;
    while (hashmap_next(&a->nsps, &it, &k, &klen, &v))
        subscribe_namespace(a, v);
    a->ready_target = a->subs_sent;
    for (barrier *b = a->barriers; b; b = b->next) /* waiting: now on the renewal */
        b->target = a->subs_sent;
    if (a->outbox)
        redis_outbox_fence_reset(a->outbox, a->subs_sent);
    subs_confirmed(a);
    char fields[64];
    snprintf(fields, sizeof(fields), "\"namespaces\":%zu", a->nsps.count);
    log_write(LOG_INFO, "redis subscriber up, subscriptions renewed", fields);
}

static void on_down(redis_conn *c, const char *why, void *ctx)
{
    /* deliveries from other nodes stop until on_sub_up resubscribes (and the
     * history fills the gap); publishes wait in the outbox (redis_conn logs
     * the loss itself) */
    redis_adapter *a = ctx;
    if (c == a->sub) {
        a->subs_ready = 0;
        a->gap_pending = 1;
        hold_for_gap(a);
    } else
        redis_outbox_set_open(a->outbox, 0);
}

static void on_pub_up(redis_conn *c, void *ctx)
{
    redis_adapter *a = ctx;
    if (a->recovery)
        redis_recovery_on_pub_up(a->recovery); /* its scripts first, then what waited */
    redis_outbox_set_open(a->outbox, 1);
    fill_gap(a);
    cluster_msg *m = a->recovery ? token_msg_new(MSG_RESYNC, 0) : NULL;
    if (m) /* Redis may have restarted empty: the edge reports its sessions again */
        mailbox_push(a->to_edge, m);
}

static nsp_state *namespace_state(redis_adapter *a, const char *name)
{
    nsp_state *ns = hashmap_get(&a->nsps, name, strlen(name));
    if (ns)
        return ns;
    ns = calloc(1, sizeof(*ns));
    if (!ns)
        return NULL;
    ns->name = strdup(name);
    ns->channel = joined(a->prefix, "#", name, "#");
    ns->request_channel = joined(a->prefix, "-request#", name, "#");
    ns->response_channel = joined(a->prefix, "-response#", name, "#");
    ns->own_response = ns->response_channel ? joined(ns->response_channel, a->uid, "#", "") : NULL;
    ns->history = joined(a->key_prefix, "-history#", name, "#");
    hashmap_init(&ns->rooms);
    if (!ns->name || !ns->channel || !ns->request_channel || !ns->response_channel ||
        !ns->own_response || !ns->history || hashmap_put(&a->nsps, ns->name, strlen(ns->name), ns)) {
        free(ns->name), free(ns->channel), free(ns->request_channel), free(ns->history);
        free(ns->response_channel), free(ns->own_response), free(ns);
        return NULL;
    }
    ns->channel_len = strlen(ns->channel);
    subscribe_namespace(a, ns);
    return ns;
}

/* ---- held broadcasts (recovery reads the history meanwhile) ---------------- */

struct held_msg {
    held_msg *next;
    broadcast_msg *msg;
};

static void drop_held(nsp_state *ns)
{
    while (ns->held) {
        held_msg *h = ns->held;
        ns->held = h->next;
        cluster_msg_unref(&h->msg->hdr);
        free(h);
    }
    ns->held_tail = NULL;
    ns->n_held = 0;
}

/* In the history's order, once: what is at or before the newest offset
 * delivered (a gap fill got there first) is not sent again. */
void redis_adapter_push_ordered(redis_adapter *a, nsp_state *ns, broadcast_msg *m)
{
    if (m->offset[0] && ns->hwm[0] && offset_cmp(m->offset, ns->hwm) <= 0) {
        a->stats.ignored++;
        cluster_msg_unref(&m->hdr);
        return;
    }
    if (m->offset[0])
        strcpy(ns->hwm, m->offset);
    mailbox_push(a->to_edge, &m->hdr);
    a->stats.received++;
}

void redis_adapter_forward(redis_adapter *a, nsp_state *ns, broadcast_msg *m)
{
    if (!ns->holds || !m->offset[0]) {
        redis_adapter_push_ordered(a, ns, m);
        return;
    }
    held_msg *h = malloc(sizeof(*h));
    if (!h) {
        redis_adapter_push_ordered(a, ns, m);
        return;
    }
    *h = (held_msg){NULL, m};
    if (ns->held_tail)
        ns->held_tail->next = h;
    else
        ns->held = h;
    ns->held_tail = h;
    if (++ns->n_held > HELD_MAX) /* the history is not coming: the gap stays one */
        redis_adapter_gap_filled(a, ns);
}

void redis_adapter_release_held(redis_adapter *a, nsp_state *ns)
{
    while (!ns->holds && ns->held) {
        held_msg *h = ns->held;
        ns->held = h->next;
        if (!ns->held)
            ns->held_tail = NULL;
        ns->n_held--;
        redis_adapter_push_ordered(a, ns, h->msg);
        free(h);
    }
}

static void free_nsp_state(nsp_state *ns)
{
    size_t rit = 0, rlen;
    const char *rk;
    void *rv;
    while (hashmap_next(&ns->rooms, &rit, &rk, &rlen, &rv))
        free(rv);
    hashmap_free(&ns->rooms);
    drop_held(ns);
    free(ns->history);
    free(ns->channel), free(ns->request_channel), free(ns->response_channel);
    free(ns->own_response), free(ns->name), free(ns);
}

/* An empty dynamic namespace was freed on the edge: leave its channels. */
static void namespace_gone(redis_adapter *a, const char *name)
{
    nsp_state *ns = hashmap_get(&a->nsps, name, strlen(name));
    if (!ns || ns->holds) /* a walk of its history still refers to it: kept */
        return;
    hashmap_remove(&a->nsps, name, strlen(name));
    if (a->sharded)
        redis_sharded_namespace(a->sharded, ns, 0);
    if (redis_conn_is_up(a->sub)) {
        const char *argv[5] = {"UNSUBSCRIBE", ns->request_channel, ns->response_channel,
                               ns->own_response, ns->channel};
        command(a, 5, argv);
        if (a->pattern_mode) {
            char *pattern = joined(ns->channel, "*", "", "");
            if (pattern)
                subscribe_one(a, "PUNSUBSCRIBE", pattern);
            free(pattern);
        }
    }
    free_nsp_state(ns);
}

/* Adds a room with a local member (its key owned by the map); 1 when new. */
static int add_room(nsp_state *ns, const char *room)
{
    if (hashmap_get(&ns->rooms, room, strlen(room)))
        return 0;
    char *name = strdup(room);
    if (!name || hashmap_put(&ns->rooms, name, strlen(name), name)) {
        free(name);
        return 0;
    }
    return 1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void add_provisional(redis_adapter *a, const nsp_state *ns, const char *room)
{
    provisional_room *p = calloc(1, sizeof(*p));
    if (!p || !(p->nsp = strdup(ns->name)) || !(p->room = strdup(room))) {
        if (p)
            free(p->nsp);
        free(p);
        return;
    }
    p->since_ms = mono_ms();
    p->next = a->provisional;
    a->provisional = p;
}

static void free_provisional(provisional_room *p)
{
    free(p->nsp);
    free(p->room);
    free(p);
}

/* The edge has a member of the room now (or it went): no longer provisional. */
static void confirm_room(redis_adapter *a, const char *nsp, const char *room)
{
    for (provisional_room **pp = &a->provisional; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->nsp, nsp) == 0 && strcmp((*pp)->room, room) == 0) {
            provisional_room *p = *pp;
            *pp = p->next;
            free_provisional(p);
            return;
        }
}

static void room_gone(redis_adapter *a, nsp_state *ns, const char *room);

void redis_adapter_sweep_provisional(redis_adapter *a, uint64_t now_ms, uint64_t grace_ms)
{
    for (provisional_room **pp = &a->provisional; *pp;) {
        provisional_room *p = *pp;
        if (now_ms < p->since_ms + grace_ms) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        nsp_state *ns = hashmap_get(&a->nsps, p->nsp, strlen(p->nsp));
        if (ns)
            room_gone(a, ns, p->room);
        free_provisional(p);
    }
}

void redis_adapter_subscribe_then(redis_adapter *a, nsp_state *ns, const char *const *rooms,
                                  size_t n, void (*fn)(void *ud), void *ud)
{
    for (size_t i = 0; i < n; i++) {
        if (!add_room(ns, rooms[i]))
            continue;
        add_provisional(a, ns, rooms[i]);
        if (a->sharded)
            redis_sharded_room(a->sharded, ns, rooms[i], 1);
        if (a->pattern_mode || a->streams || a->sharded)
            continue;
        char *channel = redis_adapter_room_channel(ns, rooms[i]);
        if (channel)
            subscribe_one(a, "SUBSCRIBE", channel);
        free(channel);
    }
    add_barrier(a, 0, fn, ud);
}

/* The room has no local member any more: leave its channel. */
static void room_gone(redis_adapter *a, nsp_state *ns, const char *room)
{
    char *name = hashmap_remove(&ns->rooms, room, strlen(room));
    if (!name)
        return;
    if (a->sharded)
        redis_sharded_room(a->sharded, ns, room, 0);
    free(name);
    char *channel = a->pattern_mode || a->streams || a->sharded ? NULL : redis_adapter_room_channel(ns, room);
    if (channel)
        subscribe_one(a, "UNSUBSCRIBE", channel);
    free(channel);
}

static void room_changed(redis_adapter *a, const room_msg *m)
{
    nsp_state *ns = namespace_state(a, m->nsp);
    if (!ns)
        return;
    if (a->provisional)
        confirm_room(a, m->nsp, m->room);
    if (!m->created) {
        room_gone(a, ns, m->room);
        return;
    }
    if (!add_room(ns, m->room) || a->pattern_mode || a->streams)
        return;
    if (a->sharded) {
        redis_sharded_room(a->sharded, ns, m->room, 1);
        return;
    }
    char *channel = redis_adapter_room_channel(ns, m->room);
    if (channel)
        subscribe_one(a, "SUBSCRIBE", channel);
    free(channel);
}

/* ---- receiving -------------------------------------------------------------- */

/* A broadcast is an event (binary or not: the attachments decide); Node's
 * adapter and the emitter publish nothing else, so other packet types are
 * counted invalid rather than forwarded to clients. */
sio_outpacket *redis_adapter_encode(const nsp_state *ns, const adapter_broadcast *b,
                                   const char *offset)
{
    if (b->packet.type != SIO_EVENT && b->packet.type != SIO_BINARY_EVENT)
        return NULL;
    sio_bin bins[64];
    size_t n_bins = b->packet.n_bins < 64 ? b->packet.n_bins : 64;
    for (size_t i = 0; i < n_bins; i++)
        bins[i] = (sio_bin){b->packet.bins[i].data, b->packet.bins[i].len};
    json_t *with = NULL; /* the offset as the last argument, as socket.io adds it */
    if (offset && json_is_array(b->packet.data) && (with = json_copy(b->packet.data)))
        json_array_append_new(with, json_string(offset));
    if (offset && !with)
        return NULL;
    sio_outpacket *p = sio_outpacket_encode(ns->name, SIO_EVENT, b->packet.id,
                                            with ? with : b->packet.data, bins, n_bins);
    if (p && with)
        p->offset_last = 1; /* not shown to plain clients */
    json_decref(with);
    return p;
}

broadcast_msg *redis_adapter_edge_msg(redis_adapter *a, nsp_state *ns, const adapter_broadcast *b,
                                      const char *offset)
{
    sio_outpacket *p = redis_adapter_encode(ns, b, offset);
    broadcast_msg *m = p ? broadcast_msg_new(ns->name, (const char *const *)b->rooms, b->n_rooms,
                                             (const char *const *)b->except, b->n_except,
                                             b->flags.is_volatile, p)
                         : NULL;
    sio_outpacket_unref(p);
    if (!m)
        return NULL;
    if (offset)
        snprintf(m->offset, sizeof(m->offset), "%s", offset);
    struct timespec ts; /* latency is measured from the receipt here */
    clock_gettime(CLOCK_REALTIME, &ts);
    m->publish_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    return m;
}

int redis_adapter_wants(const nsp_state *ns, const adapter_broadcast *b)
{
    for (size_t i = 0; i < b->n_rooms; i++)
        if (hashmap_get(&ns->rooms, b->rooms[i], strlen(b->rooms[i])))
            return 1;
    return b->n_rooms == 0;
}

int redis_adapter_recoverable(const adapter_broadcast *b)
{
    return b->packet.id < 0 && !b->flags.is_volatile &&
           (b->packet.type == SIO_EVENT || b->packet.type == SIO_BINARY_EVENT);
}

void redis_adapter_deliver(redis_adapter *a, nsp_state *ns, const adapter_broadcast *b,
                           const char *offset)
{
    uint64_t hi, lo;
    if (!a->recovery || !offset || offset_parse(offset, &hi, &lo) || !redis_adapter_recoverable(b))
        offset = NULL;
    broadcast_msg *m = redis_adapter_edge_msg(a, ns, b, offset);
    if (!m) {
        a->stats.invalid++;
        return;
    }
    redis_adapter_forward(a, ns, m);
}

static void deliver(redis_adapter *a, nsp_state *ns, adapter_broadcast *b)
{
    redis_adapter_deliver(a, ns, b, b->offset);
}

static void on_broadcast(redis_adapter *a, nsp_state *ns, const char *room, size_t room_len,
                         const uint8_t *msg, size_t len)
{
    if (room_len && !hashmap_get(&ns->rooms, room, room_len)) {
        a->stats.ignored++; /* a room this node has no member of (pattern mode) */
        return;
    }
    adapter_broadcast b;
    memset(&b, 0, sizeof(b));
    if (adapter_broadcast_decode(msg, len, &a->limits, &b)) {
        a->stats.invalid++;
        return;
    }
    /* our own broadcasts come back to be delivered here when recovery gave
     * them an offset (every node delivers them in the history's order) */
    int own = b.uid && strcmp(b.uid, a->uid) == 0 && !(a->recovery && b.offset);
    if (own || strcmp(b.packet.nsp, ns->name) != 0 ||
        (b.packet.type != SIO_EVENT && b.packet.type != SIO_BINARY_EVENT))
        a->stats.ignored++;
    else
        deliver(a, ns, &b);
    adapter_broadcast_clear(&b);
}

static void publish(redis_adapter *a, const char *channel, const void *payload, size_t len)
{
    const char *argv[3] = {"PUBLISH", channel, payload};
    size_t lens[3] = {7, strlen(channel), len};
    if (redis_conn_command(a->pub, NULL, NULL, 3, argv, lens))
        a->stats.publish_failed++;
    else
        a->stats.published++;
}

static void forward_request(redis_adapter *a, nsp_state *ns, adapter_request *r)
{
    const char *targets[1];
    const char *const *t = (const char *const *)r->rooms;
    size_t n_t = r->n_rooms;
    if (r->room) { /* legacy single room */
        targets[0] = r->room;
        t = targets;
        n_t = 1;
    }
    request_msg *m = request_msg_new(adapter_wire_request_kind(r->type), ns->name, r->request_id ? r->request_id : "",
                                     (const char *const *)r->opts_rooms, r->n_opts_rooms,
                                     (const char *const *)r->opts_except, r->n_opts_except, t, n_t,
                                     r->sid ? r->sid : "", r->close);
    if (m) {
        mailbox_push(a->to_edge, &m->hdr);
        a->stats.requests++;
    }
}

/* Broadcast with ack (type 7): encoded here once, with an ack id; the edge sends
 * it, answers the client count (8) and publishes each client's ack (9). */
static void forward_broadcast_with_ack(redis_adapter *a, nsp_state *ns, adapter_request *r)
{
    sio_bin bins[64];
    size_t n_bins = r->packet.n_bins < 64 ? r->packet.n_bins : 64;
    for (size_t i = 0; i < n_bins; i++)
        bins[i] = (sio_bin){r->packet.bins[i].data, r->packet.bins[i].len};
    int64_t id = a->next_ack_id++;
    sio_outpacket *p = sio_outpacket_encode(ns->name, SIO_EVENT, id, r->packet.data, bins, n_bins);
    request_msg *m = p ? request_msg_new(CLUSTER_REQ_BROADCAST_ACK, ns->name, r->request_id,
                                         (const char *const *)r->opts_rooms, r->n_opts_rooms,
                                         (const char *const *)r->opts_except, r->n_opts_except,
                                         NULL, 0, "", 0)
                       : NULL;
    if (!m) {
        sio_outpacket_unref(p);
        a->stats.invalid++;
        return;
    }
    request_msg_set_packet(m, p); /* the message takes this reference */
    m->ack_id = id;
    m->timeout_ms = r->flags.timeout_ms;
    mailbox_push(a->to_edge, &m->hdr);
    a->stats.requests++;
}

/* The answer to a serverSideEmit with ack: {type:6, requestId, data: the
 * first argument of the ack} (null when none), as the Node adapter's callback. */
typedef struct sse_reply {
    redis_adapter *a;
    char *channel, *request_id;
} sse_reply;

static void sse_publish(redis_adapter *a, const char *channel, const char *request_id, json_t *arg)
{
    json_t *resp = json_pack("{sissso}", "type", ADAPTER_SERVER_SIDE_EMIT, "requestId", request_id,
                             "data", arg ? json_incref(arg) : json_null());
    char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
    if (text)
        publish(a, channel, text, strlen(text));
    free(text);
    json_decref(resp);
}

static void sse_answered(void *ud, json_t *ack)
{
    sse_reply *r = ud;
    if (r->request_id)
        sse_publish(r->a, r->channel, r->request_id, json_array_get(ack, 0));
    free(r->channel), free(r->request_id), free(r);
}

/* Handed to the backend when there is one (its ack answers); else, with a
 * requestId, answered null at once, so that a Node serverSideEmitWithAck does
 * not time out on this node. */
static void server_side_emit(redis_adapter *a, nsp_state *ns, adapter_request *r)
{
    sse_reply *rep = a->sse_fn ? calloc(1, sizeof(*rep)) : NULL;
    if (rep) {
        *rep = (sse_reply){a, strdup(ns->response_channel), r->request_id ? strdup(r->request_id) : NULL};
        if (rep->channel && (!r->request_id || rep->request_id) &&
            a->sse_fn(a->sse_ctx, ns->name, r->data, sse_answered, rep) == 0)
            return;
        free(rep->channel), free(rep->request_id), free(rep);
    }
    if (r->request_id)
        sse_publish(a, ns->response_channel, r->request_id, NULL);
}

void redis_adapter_on_server_side_emit(redis_adapter *a, redis_adapter_sse_fn fn, void *ctx)
{
    a->sse_fn = fn;
    a->sse_ctx = ctx;
}

static void on_request(redis_adapter *a, nsp_state *ns, const uint8_t *msg, size_t len)
{
    adapter_request r;
    memset(&r, 0, sizeof(r));
    if (adapter_request_decode(msg, len, &a->limits, &r)) {
        a->stats.invalid++;
        return;
    }
    int own = r.uid && strcmp(r.uid, a->uid) == 0;
    switch (r.type) {
    case ADAPTER_SOCKETS:
    case ADAPTER_ALL_ROOMS:
    case ADAPTER_REMOTE_FETCH:
        if (!own && r.request_id)
            forward_request(a, ns, &r);
        break;
    case ADAPTER_REMOTE_JOIN:
    case ADAPTER_REMOTE_LEAVE:
    case ADAPTER_REMOTE_DISCONNECT:
        forward_request(a, ns, &r); /* our own echo included, as the Node adapter does */
        break;
    case ADAPTER_SERVER_SIDE_EMIT:
        if (!own)
            server_side_emit(a, ns, &r);
        break;
    case ADAPTER_BROADCAST:
        if (!own && r.request_id)
            forward_broadcast_with_ack(a, ns, &r);
        break;
    default:
        a->stats.ignored++;
    }
    adapter_request_clear(&r);
}

/* message: ["message", channel, payload] or ["pmessage", pattern, channel, payload] */
static void on_push(redis_conn *c, redisReply *msg, void *ctx)
{
    redis_adapter *a = ctx;
    if (msg->type != REDIS_REPLY_ARRAY || msg->elements < 3 ||
        msg->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = msg->element[0]->str;
    if (strcmp(kind, "subscribe") == 0 || strcmp(kind, "unsubscribe") == 0 ||
        strcmp(kind, "psubscribe") == 0 || strcmp(kind, "punsubscribe") == 0) {
        a->subs_acked++;
        subs_confirmed(a);
        return;
    }
    size_t first = strcmp(kind, "message") == 0 ? 1 : strcmp(kind, "pmessage") == 0 ? 2 : 0;
    if (!first || msg->elements < first + 2)
        return;
    redisReply *ch = msg->element[first], *payload = msg->element[first + 1];
    if (ch->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING)
        return;
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&a->nsps, &it, &k, &klen, &v)) {
        nsp_state *ns = v;
        const uint8_t *data = (const uint8_t *)payload->str;
        if (strcmp(ch->str, ns->request_channel) == 0) {
            on_request(a, ns, data, payload->len);
            return;
        }
        if (strncmp(ch->str, ns->response_channel, strlen(ns->response_channel)) == 0) {
            redis_query_on_response(a, data, payload->len); /* maybe to one of ours */
            return;
        }
        if (a->streams && (size_t)ch->len >= ns->channel_len &&
            memcmp(ch->str, ns->channel, ns->channel_len) == 0) {
            redis_streams_on_message(a->streams, ns, data, payload->len);
            return;
        }
        if ((size_t)ch->len >= ns->channel_len && memcmp(ch->str, ns->channel, ns->channel_len) == 0) {
            size_t rest = (size_t)ch->len - ns->channel_len;
            on_broadcast(a, ns, ch->str + ns->channel_len, rest ? rest - 1 : 0, data, payload->len);
            return;
        }
    }
}

/* ---- publishing ------------------------------------------------------------- */

int redis_adapter_publish_kept(redis_adapter *a, const char *channel, const void *payload, size_t len)
{
    const char *argv[3] = {"PUBLISH", channel, payload};
    size_t lens[3] = {7, strlen(channel), len};
    return redis_outbox_push(a->outbox, 3, argv, lens);
}

/* A broadcast for the other nodes; with recovery (and not volatile) it also
 * goes into the history, its offset the last value of the message (every
 * node, this one included, delivers it when it comes back). 0, -ENOBUFS
 * (the outbox is full: Redis has been away too long), or -EINVAL. */
static int publish_broadcast(redis_adapter *a, nsp_state *ns, adapter_broadcast *b)
{
    bytebuf out = BYTEBUF_INIT;
    int recoverable = a->recovery && !b->flags.is_volatile;
    b->uid = a->uid;
    b->offset = recoverable ? SIO_UNCONST(char *, "") : NULL;
    int rc = -EINVAL;
    if (a->streams || a->sharded) {
        b->offset = NULL;
        rc = a->streams ? redis_streams_publish(a->streams, ns->name, b)
                        : redis_sharded_publish(a->sharded, ns, b);
    } else if (adapter_broadcast_encode(b, &out) == 0) {
        char *channel = b->n_rooms == 1 ? redis_adapter_room_channel(ns, b->rooms[0]) : NULL;
        const char *ch = channel ? channel : ns->channel;
        rc = recoverable ? redis_recovery_publish(a->recovery, ns, ch, out.data, out.len)
                         : redis_adapter_publish_kept(a, ch, out.data, out.len);
        free(channel);
    } else {
        a->stats.invalid++;
    }
    b->offset = NULL;
    if (rc == 0)
        a->stats.published++;
    else if (rc != -EINVAL)
        a->stats.publish_failed++;
    bytebuf_free(&out);
    return rc;
}

/* The data of the edge's own broadcast: as the edge handed it, else (a packet
 * that came with frames only) decoded back from its text frame. Sets *owned
 * to what the caller must release. */
static json_t *edge_packet_data(const broadcast_msg *m, sio_packet *owned)
{
    if (m->data)
        return m->data;
    const frame *text = m->packet->frames[0];
    if (sio_packet_decode((const char *)frame_cbytes(text) + 1, text->len - 1, NULL, owned))
        return NULL;
    return owned->data;
}

/* The edge's own broadcast, encoded once into the adapter's msgpack; its
 * binary attachments are the packet's binary frames. */
static void publish_from_edge(redis_adapter *a, broadcast_msg *m)
{
    nsp_state *ns = namespace_state(a, m->nsp);
    sio_outpacket *p = m->packet;
    sio_packet pkt;
    memset(&pkt, 0, sizeof(pkt));
    json_t *data = ns ? edge_packet_data(m, &pkt) : NULL;
    if (!data) {
        sio_packet_clear(&pkt);
        return;
    }
    adapter_bin bins[64];
    size_t n_bins = p->n_frames - 1 < 64 ? p->n_frames - 1 : 64;
    for (size_t i = 0; i < n_bins; i++)
        bins[i] = (adapter_bin){frame_bytes(p->frames[1 + i]), p->frames[1 + i]->len};
    adapter_broadcast b = {
        .packet = {.type = SIO_EVENT, .nsp = SIO_UNCONST(char *, m->nsp), .id = -1, .data = data,
                   .bins = bins, .n_bins = n_bins},
        .rooms = SIO_UNCONST(char **, m->rooms), .n_rooms = m->n_rooms,
        .except = SIO_UNCONST(char **, m->except), .n_except = m->n_except,
        .flags = {.is_volatile = m->is_volatile, .compress = -1, .timeout_ms = -1},
    };
    publish_broadcast(a, ns, &b);
    sio_packet_clear(&pkt);
}

int redis_adapter_publish_json(redis_adapter *a, const char *nsp, const char *const *rooms,
                               size_t n_rooms, const char *const *except, size_t n_except,
                               int is_volatile, json_t *data)
{
    nsp_state *ns = namespace_state(a, nsp);
    if (!ns)
        return -ENOMEM;
    adapter_broadcast b = {
        .packet = {.type = SIO_EVENT, .nsp = SIO_UNCONST(char *, nsp), .id = -1, .data = data},
        .rooms = SIO_UNCONST(char **, rooms), .n_rooms = n_rooms,
        .except = SIO_UNCONST(char **, except), .n_except = n_except,
        .flags = {.is_volatile = is_volatile, .compress = -1, .timeout_ms = -1},
    };
    return publish_broadcast(a, ns, &b);
}

/* The edge's answer to another node's request, in the Node adapter's form. */
static void publish_reply(redis_adapter *a, const reply_msg *m)
{
    if (a->streams || a->sharded) {
        if (a->streams)
            redis_streams_reply(a->streams, m);
        else
            redis_sharded_reply(a->sharded, m);
        return;
    }
    nsp_state *ns = namespace_state(a, m->nsp);
    bytebuf out = BYTEBUF_INIT;
    if (ns && adapter_wire_reply(m, &out) == 0)
        publish(a, ns->response_channel, out.data, out.len);
    else if (ns)
        a->stats.invalid++;
    bytebuf_free(&out);
}

void redis_adapter_on_edge(redis_adapter *a, cluster_msg *m)
{
    switch (m->type) {
    case MSG_NAMESPACE:
        if (((room_msg *)m)->created)
            namespace_state(a, ((room_msg *)m)->nsp);
        else
            namespace_gone(a, ((room_msg *)m)->nsp);
        break;
    case MSG_ROOM:
        room_changed(a, (room_msg *)m);
        break;
    case MSG_BROADCAST:
        publish_from_edge(a, (broadcast_msg *)m);
        break;
    case MSG_REPLY:
        publish_reply(a, (reply_msg *)m);
        break;
    case MSG_BARRIER:
        add_barrier(a, token_msg_token(m), NULL, NULL);
        break;
    case MSG_SESSION:
        if (a->recovery)
            redis_recovery_on_session(a->recovery, (session_msg *)m);
        break;
    case MSG_RESTORE:
        if (a->recovery)
            redis_recovery_on_restore(a->recovery, (session_msg *)m);
        break;
    default:
        break;
    }
}

/* ---- lifecycle -------------------------------------------------------------- */

static int conn_send(void *ctx, redis_reply_fn fn, void *ud, int argc, const char **argv,
                     const size_t *lens)
{
    return redis_conn_command(ctx, fn, ud, argc, argv, lens);
}

static int cluster_send(void *ctx, redis_reply_fn fn, void *ud, int argc, const char **argv,
                        const size_t *lens)
{
    return redis_cluster_command(ctx, fn, ud, argc, argv, lens);
}

int redis_adapter_command(redis_adapter *a, redis_reply_fn fn, void *ud, int argc,
                          const char **argv, const size_t *lens)
{
    if (a->sharded)
        return redis_cluster_command(redis_sharded_cluster(a->sharded), fn, ud, argc, argv, lens);
    return a->pub ? redis_conn_command(a->pub, fn, ud, argc, argv, lens) : -1;
}

/* REDIS_URL's endpoint, then each "host:port" of `seeds` with its
 * credentials and TLS. The count, or 0 (with err) on a bad seed. */
static size_t seed_list(const redis_endpoint *ep, const char *seeds, redis_endpoint *out, size_t max,
                        char *err, size_t err_len)
{
    size_t n = 0;
    out[n++] = *ep;
    for (const char *p = seeds; p && *p && n < max;) {
        size_t len = strcspn(p, ",");
        char item[300];
        const char *colon = NULL;
        for (size_t i = 0; i < len; i++)
            colon = p[i] == ':' ? p + i : colon;
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || colon == p || port < 1 || port > 65535 || (size_t)(colon - p) >= sizeof item) {
            snprintf(err, err_len, "REDIS_CLUSTER_SEEDS: \"%.*s\" is not host:port", (int)len, p);
            return 0;
        }
        memcpy(item, p, (size_t)(colon - p));
        item[colon - p] = 0;
        out[n] = *ep;
        out[n].host = strdup(item);
        out[n++].port = (int)port;
        p += len + (p[len] == ',');
    }
    return n;
}

/* pubsub on a cluster: every key is in the slot of "{prefix}", so the
 * subscriber and the publisher talk to that slot's primary (classic pub/sub
 * reaches every node from any of them) and move with it (a failover, a
 * migration of that slot), told by a slot map kept up to date. */
static void owner_changed(void *ctx)
{
    redis_adapter *a = ctx;
    const char *host;
    int port;
    if (redis_cluster_owner(a->owner_map, a->prefix, strlen(a->prefix), &host, &port))
        return;
    redis_conn_retarget(a->sub, host, port);
    redis_conn_retarget(a->pub, host, port);
}

/* A slot-map router over REDIS_URL and REDIS_CLUSTER_SEEDS. NULL with *err. */
static redis_cluster *new_router(redis_adapter *a, const redis_adapter_config *cfg, const redis_endpoint *ep,
                                 int cluster_mode, const redis_cluster_callbacks *cb, const char **err)
{
    static char why[256];
    redis_endpoint seeds[64];
    size_t n = seed_list(ep, cfg->cluster_seeds, seeds, 64, why, sizeof why);
    redis_cluster_config cc = {seeds, n, cluster_mode, 0};
    redis_cluster *cl = n ? redis_cluster_new(a->base, &cc, cb) : NULL;
    for (size_t i = 1; i < n; i++)
        free(seeds[i].host);
    *err = !n ? why : cl ? NULL : "cannot create Redis connections";
    return cl;
}

static const char *follow_owner(redis_adapter *a, const redis_adapter_config *cfg, const redis_endpoint *ep)
{
    const char *err;
    redis_cluster_callbacks cb = {NULL, NULL, NULL, owner_changed, a};
    a->owner_map = new_router(a, cfg, ep, 1, &cb, &err);
    return err;
}

/* REDIS_ADAPTER=sharded: no subscriber or publisher of its own; the router
 * (one Redis, or a cluster's primaries) carries everything. */
static const char *start_sharded(redis_adapter *a, const redis_adapter_config *cfg, const redis_endpoint *ep,
                                 size_t max_messages, size_t max_bytes)
{
    const char *err = NULL;
    a->sharded = redis_sharded_new(a, (sharded_mode)cfg->sharded_mode);
    redis_cluster *cl = a->sharded ? new_router(a, cfg, ep, cfg->cluster_mode,
                                                redis_sharded_callbacks(a->sharded), &err)
                                   : NULL;
    if (!cl)
        return err ? err : "cannot create Redis connections";
    redis_sharded_attach(a->sharded, cl);
    redis_sender to_cluster = {cluster_send, cl};
    a->outbox = redis_outbox_new(&to_cluster, max_messages, max_bytes);
    return a->outbox ? NULL : "cannot create Redis connections";
}

redis_adapter *redis_adapter_new(struct event_base *base, const redis_adapter_config *cfg,
                                 mailbox *to_edge, const char **err)
{
    static char url_err[256];
    redis_adapter *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    redis_endpoint ep;
    memset(&ep, 0, sizeof(ep));
    if (redis_url_parse(cfg->url, &ep, url_err, sizeof(url_err))) {
        *err = url_err;
        free(a);
        return NULL;
    }
    if (cfg->ca_file)
        ep.ca_file = strdup(cfg->ca_file);
    if (cfg->sni)
        ep.sni = strdup(cfg->sni);
    char id[RANDOM_ID_LEN + 1];
    random_id(id);
    memcpy(a->uid, id, UID_LEN);
    a->base = base;
    a->to_edge = to_edge;
    a->prefix = strdup(cfg->prefix ? cfg->prefix : "socket.io");
    a->key_prefix = a->prefix ? (cfg->cluster_mode ? joined("{", a->prefix, "}", "") : strdup(a->prefix)) : NULL;
    a->pattern_mode = cfg->pattern_mode && !cfg->sharded;
    a->limits = (adapter_limits){1024, 64, 64, 16u << 20};
    a->next_ack_id = CLUSTER_ACK_ID_BASE;
    hashmap_init(&a->nsps);
    size_t max_messages = cfg->buffer_max_messages ? cfg->buffer_max_messages : 10000;
    size_t max_bytes = cfg->buffer_max_bytes ? cfg->buffer_max_bytes : (16u << 20);
    if (cfg->sharded || (cfg->cluster_mode && cfg->streams)) {
        const char *e = cfg->sharded ? start_sharded(a, cfg, &ep, max_messages, max_bytes)
                                     : "REDIS_CLUSTER=true does not work with REDIS_ADAPTER=streams";
        redis_endpoint_free(&ep);
        if (e) {
            redis_adapter_free(a);
            *err = e;
            return NULL;
        }
        return a;
    }
    redis_conn_callbacks sub_cb = {.on_up = on_sub_up, .on_down = on_down, .on_push = on_push, .ctx = a};
    redis_conn_callbacks pub_cb = {.on_up = on_pub_up, .on_down = on_down, .ctx = a};
    a->sub = redis_conn_new(base, &ep, &sub_cb, "sub", 1000, 3000);
    a->pub = redis_conn_new(base, &ep, &pub_cb, "pub", 1000, 3000);
    a->streams = cfg->streams && a->pub ? redis_streams_new(a, &ep, cfg->stream_maxlen) : NULL;
    const char *map_err = cfg->cluster_mode && a->pub ? follow_owner(a, cfg, &ep) : NULL;
    redis_endpoint_free(&ep);
    redis_sender to_pub = {conn_send, a->pub};
    a->outbox = a->pub ? redis_outbox_new(&to_pub, max_messages, max_bytes) : NULL;
    /* a channel per room, and this node's own broadcasts come back through it
     * (recovery): a publish waits for the subscriptions asked before it */
    if (a->outbox && cfg->recovery_window_ms && !cfg->streams && !a->pattern_mode)
        redis_outbox_set_fence(a->outbox, &a->subs_sent, &a->subs_acked);
    if (cfg->recovery_window_ms && a->pub)
        a->recovery = redis_recovery_new(a, cfg->recovery_window_ms);
    if (!a->sub || !a->pub || !a->prefix || !a->key_prefix || !a->outbox || map_err ||
        (cfg->recovery_window_ms && !a->recovery) || (cfg->streams && !a->streams)) {
        redis_adapter_free(a);
        *err = map_err ? map_err : "cannot create Redis connections";
        return NULL;
    }
    redis_conn_set_subscriber(a->sub, 1);
    return a;
}

void redis_adapter_free(redis_adapter *a)
{
    if (!a)
        return;
    if (a->sub)
        redis_conn_free(a->sub);
    if (a->pub)
        redis_conn_free(a->pub);
    redis_recovery_free(a->recovery);
    redis_streams_free(a->streams);
    redis_sharded_free(a->sharded); /* before the outbox: its answers refer to it */
    redis_cluster_free(a->owner_map);
    redis_outbox_free(a->outbox);
    while (a->barriers) {
        barrier *b = a->barriers;
        a->barriers = b->next;
        free(b);
    }
    redis_query_free_all(a); /* after the barriers, which referred to some */
    while (a->provisional) {
        provisional_room *p = a->provisional;
        a->provisional = p->next;
        free_provisional(p);
    }
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&a->nsps, &it, &k, &klen, &v))
        free_nsp_state(v);
    hashmap_free(&a->nsps);
    free(a->prefix);
    free(a->key_prefix);
    free(a);
}

int redis_adapter_is_up(const redis_adapter *a)
{
    if (a->sharded)
        return redis_sharded_is_up(a->sharded);
    return redis_conn_is_up(a->sub) && redis_conn_is_up(a->pub) &&
           (!a->streams || redis_streams_is_up(a->streams));
}

const redis_adapter_stats *redis_adapter_get_stats(const redis_adapter *a)
{
    return &a->stats;
}

uint64_t redis_adapter_reconnects(const redis_adapter *a)
{
    if (a->sharded) {
        const redis_cluster_stats *st = redis_cluster_get_stats(redis_sharded_cluster(a->sharded));
        size_t conns = redis_cluster_primaries(redis_sharded_cluster(a->sharded));
        return st->connects > conns ? st->connects - conns : 0;
    }
    uint64_t n = redis_conn_get_stats(a->sub)->connects + redis_conn_get_stats(a->pub)->connects;
    return n > 2 ? n - 2 : 0;
}

int redis_adapter_echoes(const redis_adapter *a)
{
    return a->recovery != NULL;
}

size_t redis_adapter_buffered(const redis_adapter *a)
{
    return redis_outbox_depth(a->outbox);
}

nsp_state *redis_adapter_namespace(redis_adapter *a, const char *name)
{
    return namespace_state(a, name);
}

int redis_adapter_settled(const redis_adapter *a)
{
    if (a->sharded)
        return !redis_sharded_is_up(a->sharded) ||
               (redis_outbox_depth(a->outbox) == 0 &&
                redis_cluster_inflight(redis_sharded_cluster(a->sharded)) == 0);
    return !redis_conn_is_up(a->pub) ||
           (redis_outbox_depth(a->outbox) == 0 && redis_conn_inflight(a->pub) == 0);
}

const redis_cluster_stats *redis_adapter_cluster_stats(const redis_adapter *a, size_t *primaries,
                                                       size_t *unconfirmed)
{
    if (!a->sharded)
        return NULL;
    const redis_cluster *cl = redis_sharded_cluster(a->sharded);
    *primaries = redis_cluster_primaries(cl);
    *unconfirmed = redis_cluster_unconfirmed(cl);
    return redis_cluster_get_stats(cl);
}
