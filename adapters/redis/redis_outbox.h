/* redis_outbox: the publisher's ordered, bounded queue of commands that must
 * not be lost while Redis is unreachable (broadcasts the API accepted).
 *
 * A command is sent at once when the outbox is open and nothing waits before
 * it; it stays queued until Redis has replied to it (each command is answered
 * on its own: over a cluster, replies of different shards come in any order). While the outbox is
 * closed (the publisher is down, or the subscriptions are not renewed yet)
 * commands wait, in order, within the bounds; a push past them fails with
 * -ENOBUFS (the API then answers 503). When the connection is lost, commands
 * sent but not answered are sent again, in their places, once it is open again: at
 * least once (a command Redis ran just before the loss runs twice; after a
 * restart without persistence, nothing of it is left to duplicate).
 *
 * Commands go through a sender (a redis_conn, or a redis_cluster routing each
 * by its key), which must be freed before the outbox: the answers of commands
 * in flight refer to them. Cluster thread only. Commands are copied. */
#ifndef SIO_REDIS_OUTBOX_H
#define SIO_REDIS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "redis_conn.h"

typedef struct redis_outbox redis_outbox;

/* Where commands go: command() as redis_conn_command (0 sent, -1 not now). */
typedef struct redis_sender {
    int (*command)(void *ctx, redis_reply_fn fn, void *ud, int argc, const char **argv,
                   const size_t *lens);
    void *ctx;
} redis_sender;

typedef struct redis_outbox_stats {
    uint64_t sent;       /* commands Redis answered */
    uint64_t resent;     /* sent again after a loss */
    uint64_t refused;    /* pushes past the bounds */
    uint64_t failed;     /* error replies (the command is dropped) */
} redis_outbox_stats;

redis_outbox *redis_outbox_new(const redis_sender *sender, size_t max_commands, size_t max_bytes);
void redis_outbox_free(redis_outbox *o);
/* 0 queued (maybe sent), -ENOBUFS past the bounds, -ENOMEM. */
int redis_outbox_push(redis_outbox *o, int argc, const char **argv, const size_t *lens);
/* 1 when a command of `bytes` would be taken now. */
int redis_outbox_has_room(const redis_outbox *o, size_t bytes);
/* Opens (sends everything waiting, in order) or closes the outbox (commands
 * then wait; those in flight are still answered). */
void redis_outbox_set_open(redis_outbox *o, int open);
/* A fence (classic pub/sub with a subscription per room): a command pushed
 * when `*sent` subscriptions had been asked for waits until `*confirmed`
 * reaches that count, so that a broadcast to a room that just got its first
 * local member comes back to this node too. Both counters are the caller's
 * (they outlive the outbox); after it moved them, it calls fence_moved, and
 * after it reset them (a renewal), fence_reset with what every waiting
 * command now waits for. */
void redis_outbox_set_fence(redis_outbox *o, const uint64_t *sent, const uint64_t *confirmed);
void redis_outbox_fence_moved(redis_outbox *o);
void redis_outbox_fence_reset(redis_outbox *o, uint64_t after);
size_t redis_outbox_depth(const redis_outbox *o);
const redis_outbox_stats *redis_outbox_get_stats(const redis_outbox *o);

#endif
