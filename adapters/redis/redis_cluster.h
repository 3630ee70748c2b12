/* redis_cluster: a Redis Cluster on the cluster thread's libevent loop, or a
 * single Redis seen as a cluster of one shard (cluster_mode 0), so that the
 * sharded adapter has one code path for both.
 *
 * Topology: in cluster mode the slot map is read with CLUSTER SLOTS from any
 * reachable node (the seeds first), at start, after a MOVED, when a primary's
 * connection is lost (every 500 ms until all slots have a live owner) and
 * every refresh_ms. Each primary gets a command connection (redis_conn: plain
 * or TLS, AUTH, the same backoff) and, once it owns a subscribed channel, a
 * subscriber connection. Nodes that left the map are closed. A refresh is
 * never sent more than once per 250 ms (a MOVED storm cannot spin).
 *
 * Commands: routed by their first key (redis_command_key) to the owner of its
 * slot; keyless ones to any live primary. A MOVED reply updates that slot and
 * the command is sent again to the named node; an ASK reply sends ASKING and
 * the command to the named node once; at most 5 redirections, then the error
 * reply is the command's answer. A lost connection answers NULL (as
 * redis_conn does); the caller's outbox sends it again.
 *
 * Sharded subscriptions: redis_cluster_ssubscribe() keeps a channel wanted
 * until redis_cluster_sunsubscribe(); it is SSUBSCRIBEd on its slot's owner
 * and re-established there whenever that changes: a new map, the subscriber
 * reconnecting, or Redis unsubscribing it (a slot that migrated sends
 * `sunsubscribe`; a MOVED reply to SSUBSCRIBE). Messages (`smessage`) go to
 * on_message. redis_cluster_barrier() calls back once every channel wanted
 * when it was called has been confirmed by its owner.
 *
 * Errors: a seed that is not a cluster node, a shard answering errors, a map
 * that leaves slots uncovered are logged (rate-limited) and counted in the
 * stats; the cluster keeps retrying at the refresh pace.
 *
 * Ownership: endpoints are copied; callbacks run on the loop, never inside a
 * call of this API. Cluster thread only. */
#ifndef SIO_REDIS_CLUSTER_H
#define SIO_REDIS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "redis_conn.h"

typedef struct redis_cluster redis_cluster;

typedef struct redis_cluster_callbacks {
    /* a sharded message: channel and payload are borrowed */
    void (*on_message)(const char *channel, size_t channel_len, const char *payload, size_t len,
                       void *ctx);
    /* every slot has a live primary again (also at the first start) */
    void (*on_up)(void *ctx);
    /* a primary owning slots was lost (once per loss) */
    void (*on_down)(void *ctx);
    /* a slot map was read (every refresh) */
    void (*on_map)(void *ctx);
    void *ctx;
} redis_cluster_callbacks;

typedef struct redis_cluster_stats {
    uint64_t refreshes;       /* slot maps read */
    uint64_t refresh_errors;  /* CLUSTER SLOTS refused or unusable */
    uint64_t moved;           /* MOVED replies (commands and subscriptions) */
    uint64_t asked;           /* ASK replies followed */
    uint64_t resubscribed;    /* channels subscribed again on a new owner */
    uint64_t errors;          /* other error replies to routed commands */
    uint64_t connects;        /* (re)connections of all its connections */
} redis_cluster_stats;

typedef struct redis_cluster_config {
    const redis_endpoint *seeds; /* credentials and TLS apply to every node */
    size_t n_seeds;
    int cluster_mode;            /* 0: seeds[0] is the only shard */
    uint32_t refresh_ms;         /* periodic map refresh (0: 10000) */
} redis_cluster_config;

/* NULL on bad arguments or out of memory. Starts connecting at once. */
redis_cluster *redis_cluster_new(struct event_base *base, const redis_cluster_config *cfg,
                                 const redis_cluster_callbacks *cb);
void redis_cluster_free(redis_cluster *cl);

/* 0 sent, -1 when the node it goes to is not up (or no map yet). fn may be
 * NULL; it gets the conn that answered (NULL for a redirection's error). */
int redis_cluster_command(redis_cluster *cl, redis_reply_fn fn, void *ud, int argc,
                          const char **argv, const size_t *lens);
/* 1 when every slot has a primary whose command connection is up. */
int redis_cluster_is_up(const redis_cluster *cl);
/* 1 when the owner of `key`'s slot is up. */
int redis_cluster_key_up(const redis_cluster *cl, const char *key, size_t len);
/* The primary owning `key`'s slot: 0 with its host and port (borrowed until
 * the next map), -1 when none is known. */
int redis_cluster_owner(const redis_cluster *cl, const char *key, size_t len, const char **host,
                        int *port);
/* Commands sent and not answered yet, on every node. */
size_t redis_cluster_inflight(const redis_cluster *cl);

int redis_cluster_ssubscribe(redis_cluster *cl, const char *channel);
void redis_cluster_sunsubscribe(redis_cluster *cl, const char *channel);
/* Wanted channels not confirmed yet by their owner. */
size_t redis_cluster_unconfirmed(const redis_cluster *cl);
/* fn(ud) once the channels wanted now are all confirmed (maybe at once: then
 * called before this returns). -1 out of memory (fn not called). */
int redis_cluster_barrier(redis_cluster *cl, void (*fn)(void *ud), void *ud);

/* Primaries in the current map. */
size_t redis_cluster_primaries(const redis_cluster *cl);
const redis_cluster_stats *redis_cluster_get_stats(const redis_cluster *cl);

#endif
