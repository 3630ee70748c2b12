/* redis_slot: where a key lives in a Redis Cluster. Pure, no I/O.
 *
 * The slot is CRC16 (XMODEM) of the key, or of its hash tag (the bytes between
 * the first '{' and the next '}' when there is at least one), modulo 16384, as
 * in the Redis Cluster specification. Sharded pub/sub channels hash alike. */
#ifndef SIO_REDIS_SLOT_H
#define SIO_REDIS_SLOT_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define REDIS_SLOTS 16384

unsigned redis_key_slot(const char *key, size_t len);

/* The key a command is routed by (its first key), or NULL for a command that
 * can go to any node (PING, CLUSTER, PUBSUB, SCRIPT, EVAL[SHA] with no key). */
const char *redis_command_key(int argc, const char *const *argv, const size_t *lens, size_t *key_len);

/* A redirection error reply: "MOVED <slot> <host>:<port>" or "ASK ...".
 * Returns 1 (moved), 2 (ask) or 0 (neither, or malformed); fills slot, host
 * (NUL-terminated, at most host_len - 1 bytes) and port. */
int redis_parse_redirect(const char *err, size_t len, unsigned *slot, char *host, size_t host_len,
                         int *port);

/* One range of a CLUSTER SLOTS reply: its primary's host ("" when the reply
 * gives none: the node asked) and port. */
typedef struct redis_slot_range {
    unsigned lo, hi;
    const char *host;
    int port;
} redis_slot_range;

/* Walks a CLUSTER SLOTS reply [[start, end, [host, port, id, ...], replicas...], ...],
 * calling fn for each range (a primary whose host is "?" is skipped). 0, or -1
 * when the reply is malformed (fn may have seen the ranges before it). */
int redis_slots_parse(const redisReply *r, void (*fn)(void *ud, const redis_slot_range *range),
                      void *ud);

#endif
