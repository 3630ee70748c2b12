/* redis_adapter_internal: the adapter's state, shared by its modules
 * (redis_adapter.c: subscriptions, receiving, publishing; redis_recovery.c:
 * the history and sessions of connection state recovery). Cluster thread only. */
#ifndef SIO_REDIS_ADAPTER_INTERNAL_H
#define SIO_REDIS_ADAPTER_INTERNAL_H

#include "adapter_msg.h"
#include "hashmap.h"
#include "offset.h"
#include "redis_adapter.h"
#include "redis_cluster.h"
#include "redis_outbox.h"

#define UID_LEN 6
#define SUBSCRIBE_BATCH 512
#define OFFSET_MAX OFFSET_TEXT_MAX

typedef struct held_msg held_msg;
typedef struct redis_recovery redis_recovery;
typedef struct redis_streams redis_streams;
typedef struct redis_sharded redis_sharded;
typedef struct query_step query_step;

typedef struct nsp_state {
    char *name;
    char *channel;          /* prefix#nsp# */
    size_t channel_len;
    char *request_channel;  /* prefix-request#nsp# */
    char *response_channel; /* prefix-response#nsp# */
    char *own_response;     /* prefix-response#nsp#uid# */
    char *history;          /* prefix-history#nsp#: the recovery stream */
    int history_ttl_set;    /* broadcasts went into it: its TTL is renewed */
    hashmap rooms;          /* rooms with a local member; keys owned (the value) */
    /* recovery: the newest offset delivered to the edge ("" none yet); while
     * `holds` > 0 (a restore or a gap fill reads the history), broadcasts from
     * Redis wait in `held`, in order */
    char hwm[OFFSET_MAX];
    unsigned holds;
    held_msg *held, *held_tail;
    size_t n_held;
    /* the subscriber was away: what it receives once back waits until the
     * history has given what it missed (one of `holds`) */
    int gap_hold;
} nsp_state;

/* A room subscribed for a restore before the edge has a member in it; if
 * none comes (the restore was not used), it is left again by the sweep. */
typedef struct provisional_room {
    struct provisional_room *next;
    uint64_t since_ms;
    char *nsp, *room;
} provisional_room;

/* A subscribe barrier: done once `target` subscription replies came; then
 * fn(ud) is called, or (fn NULL) the edge is told `token`. */
typedef struct barrier {
    struct barrier *next;
    uint64_t token;
    uint64_t target;
    void (*fn)(void *ud);
    void *ud;
} barrier;

struct redis_adapter {
    struct event_base *base;
    redis_conn *sub, *pub;
    mailbox *to_edge;
    char uid[UID_LEN + 1];
    char *prefix;
    char *key_prefix;       /* of its keys: the prefix, "{prefix}" on a cluster (one slot) */
    int pattern_mode;
    hashmap nsps;           /* name -> nsp_state */
    adapter_limits limits;
    redis_adapter_stats stats;
    int64_t next_ack_id;    /* broadcast-with-ack ids: a range the edge never uses */
    redis_outbox *outbox;   /* the broadcasts to publish, kept while Redis is down */
    /* subscription replies: channels asked for and confirmed since the
     * subscriber's last (re)connect; `ready` once those of the renewal came */
    uint64_t subs_sent, subs_acked, ready_target;
    int subs_ready;
    int gap_pending;          /* recovery: the history must fill what the subscriber missed */
    barrier *barriers, *barriers_tail;
    provisional_room *provisional;
    redis_recovery *recovery; /* NULL: recovery off */
    redis_streams *streams;   /* REDIS_ADAPTER=streams; NULL: classic pub/sub */
    redis_sharded *sharded;   /* REDIS_ADAPTER=sharded: no sub/pub, its own router */
    redis_adapter_sse_fn sse_fn; /* serverSideEmits to the backend, NULL: none */
    void *sse_ctx;
    redis_cluster *owner_map; /* pubsub on a cluster: sub and pub follow the owner of
                               * the keys' slot (classic pub/sub reaches every node) */
    /* requests this node originates (redis_query.c) */
    redis_query_hooks query_hooks;
    query_step *query_steps;  /* fetches and allRooms before their NUMSUB reply */
    unsigned open_queries;    /* 0: answers on the response channels are not decoded */
};

/* redis_adapter.c */
/* `prefix#nsp#room#` (malloc'd): a room's channel, classic or sharded. */
char *redis_adapter_room_channel(const nsp_state *ns, const char *room);
/* Pushes a broadcast from Redis to the edge, or holds it (recovery). */
void redis_adapter_forward(redis_adapter *a, nsp_state *ns, broadcast_msg *m);
/* Encodes a decoded broadcast into Socket.IO frames for `ns`, with `offset`
 * as its last argument when not NULL; NULL when not an event or out of memory. */
sio_outpacket *redis_adapter_encode(const nsp_state *ns, const adapter_broadcast *b,
                                   const char *offset);
/* The same wrapped in a message for the edge (rooms, except, receipt time). */
broadcast_msg *redis_adapter_edge_msg(redis_adapter *a, nsp_state *ns, const adapter_broadcast *b,
                                      const char *offset);
/* Delivers a decoded broadcast from Redis; `offset` (NULL: none) becomes its
 * last argument when recovery is on and it is recoverable. */
void redis_adapter_deliver(redis_adapter *a, nsp_state *ns, const adapter_broadcast *b,
                           const char *offset);
/* 1 when a broadcast is recoverable: an event without ack id, not volatile. */
int redis_adapter_recoverable(const adapter_broadcast *b);
/* 1 when the broadcast targets a room with a local member (or no room). */
int redis_adapter_wants(const nsp_state *ns, const adapter_broadcast *b);
nsp_state *redis_adapter_namespace(redis_adapter *a, const char *name);
void redis_adapter_release_held(redis_adapter *a, nsp_state *ns);
/* Pushes in the history's order (skips what is at or before ns->hwm). */
void redis_adapter_push_ordered(redis_adapter *a, nsp_state *ns, broadcast_msg *m);
/* Subscribes the rooms that have no local member yet (a restored session's,
 * before its history is read), then calls fn(ud) once every subscription is
 * active (at once when nothing is pending). */
void redis_adapter_subscribe_then(redis_adapter *a, nsp_state *ns, const char *const *rooms,
                                  size_t n, void (*fn)(void *ud), void *ud);

/* Leaves the rooms subscribed for restores that no local member joined
 * within `grace_ms`. */
void redis_adapter_sweep_provisional(redis_adapter *a, uint64_t now_ms, uint64_t grace_ms);

/* A gap fill failed (the publisher went away): it runs again later. */
void redis_adapter_gap_failed(redis_adapter *a);
/* A namespace's gap is filled: what waited for it goes to the edge. */
void redis_adapter_gap_filled(redis_adapter *a, nsp_state *ns);

/* PUBLISH through the outbox: kept, in order, while Redis is down. 0 or -ENOBUFS. */
int redis_adapter_publish_kept(redis_adapter *a, const char *channel, const void *payload, size_t len);

/* redis_query.c */
/* A message on a response channel: an answer to one of this node's queries? */
void redis_query_on_response(redis_adapter *a, const uint8_t *msg, size_t len);
/* Frees the queries still waiting for their count (the adapter is freed). */
void redis_query_free_all(redis_adapter *a);

/* redis_recovery.c */
redis_recovery *redis_recovery_new(redis_adapter *a, uint32_t window_ms);
void redis_recovery_free(redis_recovery *r);
/* Publishes a recoverable broadcast: XADD to the namespace's history and
 * PUBLISH on `channel` in one script, the message ending with its offset.
 * `msg` ends with the empty string the script replaces. 0 or -ENOBUFS. */
int redis_recovery_publish(redis_recovery *r, nsp_state *ns, const char *channel,
                           const uint8_t *msg, size_t len);
void redis_recovery_on_session(redis_recovery *r, const session_msg *m);
void redis_recovery_on_restore(redis_recovery *r, const session_msg *m);
/* The publisher is up: load the scripts (before the outbox opens). */
void redis_recovery_on_pub_up(redis_recovery *r);
/* The subscriptions are renewed: fill what was missed meanwhile. */
void redis_recovery_on_subs_ready(redis_recovery *r);

#endif
