/* health: the one answer of GET /health, the same on both ports (the edge's
 * PORT, which the load balancer checks, and the cluster thread's API_PORT),
 * built from edge_stats, which both threads publish:
 *
 *   {"status":"ok"|"draining"|"degraded","timestamp":"2026-12-03T18:27:37.123Z",
 *    "uptime":12.5,"version":"0.1.0","node":"...","connections":N,"sockets":N,
 *    "redis":"none"|"up"|"down","redis_publish_failed":N,"redis_reconnects":N}
 *
 * (the two Redis counters only with REDIS_URL). The status code: 503 while
 * draining; while Redis is down ("degraded") HEALTH_REDIS_DOWN_STATUS (200 by
 * default: a Redis outage must not make the load balancer drop every task);
 * else 200. */
#ifndef SIO_HEALTH_H
#define SIO_HEALTH_H

#include "bytebuf.h"
#include "edge_stats.h"
#include "wall_clock.h"

#ifndef SIO_VERSION
#define SIO_VERSION "0.0.0"
#endif

/* Appends the JSON body; returns the HTTP status, or -ENOMEM. */
int health_answer(const edge_stats *st, const char *node, int redis_down_status, bytebuf *out);

#endif
