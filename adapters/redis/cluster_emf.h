/* cluster_emf: METRICS_EMF on the cluster thread. Every interval it samples
 * edge_stats (both threads' numbers), turns counters into the interval's
 * counts and the latency histogram into that interval's p50 / p95 / p99, and
 * writes one Embedded Metric Format line (server/core/emf.h) to stdout
 * through the stdio stream the log lines use, under its lock, so that the two
 * never interleave (the awslogs driver ships stdout; CloudWatch extracts the
 * metrics). Cluster thread only. */
#ifndef SIO_CLUSTER_EMF_H
#define SIO_CLUSTER_EMF_H

#include <stdint.h>

#include "edge_stats.h"
#include "emf.h"

struct event_base;
typedef struct cluster_emf cluster_emf;

/* `d`'s strings and `st` must outlive it. NULL on failure. */
cluster_emf *cluster_emf_new(struct event_base *base, const emf_dims *d, uint32_t interval_ms,
                             const edge_stats *st);
void cluster_emf_free(cluster_emf *e);

#endif
