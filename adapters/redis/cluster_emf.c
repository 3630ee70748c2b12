/* cluster_emf: see cluster_emf.h. */
#include "cluster_emf.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "wall_clock.h"

typedef struct counters {
    unsigned long handshakes, deliveries, slow, rate_limited;
    uint64_t latency[EDGE_LATENCY_N + 1];
} counters;

struct cluster_emf {
    struct event *timer;
    emf_dims dims;
    const edge_stats *st;
    counters last;
};

static const double bounds_s[EDGE_LATENCY_N] = EDGE_LATENCY_BOUNDS_S;

static void snapshot(const edge_stats *st, counters *c)
{
    c->handshakes = EDGE_STAT_GET(st, handshakes);
    c->deliveries = EDGE_STAT_GET(st, deliveries);
    c->slow = EDGE_STAT_GET(st, slow_consumer_closes);
    c->rate_limited = EDGE_STAT_GET(st, rate_limited);
    for (size_t i = 0; i <= EDGE_LATENCY_N; i++)
        c->latency[i] = EDGE_STAT_GET(st, latency_buckets[i]);
}

static void latency_of(const counters *now, const counters *then, emf_sample *s)
{
    uint64_t d[EDGE_LATENCY_N + 1];
    for (size_t i = 0; i <= EDGE_LATENCY_N; i++)
        d[i] = now->latency[i] - then->latency[i];
    s->p50_ms = emf_quantile_ms(d, bounds_s, EDGE_LATENCY_N, 0.50);
    s->p95_ms = emf_quantile_ms(d, bounds_s, EDGE_LATENCY_N, 0.95);
    s->p99_ms = emf_quantile_ms(d, bounds_s, EDGE_LATENCY_N, 0.99);
    s->has_latency = s->p50_ms >= 0;
}

static void sample_of(cluster_emf *e, const counters *now, emf_sample *s)
{
    const edge_stats *st = e->st;
    int redis = EDGE_STAT_GET(st, redis_state);
    *s = (emf_sample){
        .timestamp_ms = wall_ms(),
        .connections = (double)EDGE_STAT_GET(st, connections),
        .sockets = (double)EDGE_STAT_GET(st, sockets),
        .handshakes = (double)(now->handshakes - e->last.handshakes),
        .deliveries = (double)(now->deliveries - e->last.deliveries),
        .slow_consumer = (double)(now->slow - e->last.slow),
        .rate_limited = (double)(now->rate_limited - e->last.rate_limited),
        .draining = EDGE_STAT_GET(st, draining),
        .redis_up = redis == STATS_REDIS_NONE ? -1 : redis == STATS_REDIS_UP,
    };
    latency_of(now, &e->last, s);
}

/* Through stdout's own stream, as the log lines go (log.c): the stream's
 * lock keeps each line whole, whatever the buffering splits. */
static void write_line(const bytebuf *line)
{
    flockfile(stdout);
    fwrite(line->data, 1, line->len, stdout);
    fflush(stdout);
    funlockfile(stdout);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    cluster_emf *e = arg;
    counters now;
    emf_sample s;
    snapshot(e->st, &now);
    sample_of(e, &now, &s);
    e->last = now;
    bytebuf line = BYTEBUF_INIT;
    if (emf_line(&line, &e->dims, &s) == 0)
        write_line(&line);
    bytebuf_free(&line);
}

cluster_emf *cluster_emf_new(struct event_base *base, const emf_dims *d, uint32_t interval_ms,
                             const edge_stats *st)
{
    cluster_emf *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->dims = *d;
    e->st = st;
    snapshot(st, &e->last);
    struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
    e->timer = event_new(base, -1, EV_PERSIST, on_tick, e);
    if (!e->timer || event_add(e->timer, &tv)) {
        cluster_emf_free(e);
        return NULL;
    }
    return e;
}

void cluster_emf_free(cluster_emf *e)
{
    if (!e)
        return;
    if (e->timer)
        event_free(e->timer);
    free(e);
}
