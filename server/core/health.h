/* health: the one body of GET /health, on both ports (the edge's PORT and the
 * cluster thread's API_PORT), from what the answering thread knows:
 *
 *   {"status":"ok"|"draining","connections":N,"sockets":N,"node":"...",
 *    "redis":"none"|"up"|"down","redis_publish_failed":N,"redis_reconnects":N}
 *
 * Members a port does not know are left out (the edge port knows nothing of
 * Redis; the Redis counters exist only with REDIS_URL). The HTTP status is the
 * caller's: 503 while draining on both, and HEALTH_REDIS_DOWN_STATUS on the
 * API port while Redis is down. */
#ifndef SIO_HEALTH_H
#define SIO_HEALTH_H

#include "bytebuf.h"

typedef struct health_view {
    int draining;
    unsigned long connections, sockets;
    const char *node;               /* "" when unset */
    const char *redis;              /* "none" | "up" | "down"; NULL: left out */
    long long redis_publish_failed; /* < 0: left out */
    long long redis_reconnects;     /* < 0: left out */
} health_view;

/* Appends the JSON text; 0, or -ENOMEM. */
int health_body(bytebuf *out, const health_view *v);

#endif
