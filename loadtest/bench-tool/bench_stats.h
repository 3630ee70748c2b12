/* bench_stats.h: what a run measures. A log-linear latency histogram (64
 * sub-buckets per power of two: under 1.6 % error, HdrHistogram-like), the
 * per-subscription sequence tracker (losses, duplicates, order), counters with
 * a small table of distinct error messages, and their aggregation. The record
 * functions are inline: they run once per received message. */
#ifndef SIO_BENCH_STATS_H
#define SIO_BENCH_STATS_H

#include <stdint.h>

#include "bench.h"

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP 40 /* values up to 2^41 us (25 days) */
#define HIST_BUCKETS (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

typedef struct bench_hist {
    uint64_t count, sum, min, max;
    uint64_t buckets[HIST_BUCKETS];
} bench_hist;

static inline void hist_record(bench_hist *h, uint64_t v)
{
    unsigned idx;
    if (v < HIST_SUB) {
        idx = (unsigned)v;
    } else {
        unsigned e = 63u - (unsigned)__builtin_clzll(v);
        if (e > HIST_MAX_EXP) {
            e = HIST_MAX_EXP;
            v = (2ull << HIST_MAX_EXP) - 1;
        }
        idx = HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
              (unsigned)((v >> (e - HIST_SUB_BITS)) - HIST_SUB);
    }
    h->buckets[idx]++;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
}

void hist_init(bench_hist *h);
void hist_merge(bench_hist *into, const bench_hist *from);
/* The value at percentile p (0..100): the upper edge of its bucket, capped by max. */
uint64_t hist_percentile(const bench_hist *h, double p);

#define BENCH_MAX_ERRS 8

typedef struct bench_err {
    char msg[BENCH_ERR_LEN];
    uint64_t count;
} bench_err;

/* Distinct error messages with counts; the last slot collects the rest. */
typedef struct bench_errtab {
    uint32_t n;
    bench_err e[BENCH_MAX_ERRS];
} bench_errtab;

void errtab_add(bench_errtab *t, const char *msg, uint64_t count);
void errtab_merge(bench_errtab *into, const bench_errtab *from);

typedef struct bench_counters {
    uint64_t attempted;        /* connections started */
    uint64_t opened;           /* Engine.IO open received */
    uint64_t joined;           /* namespace CONNECT accepted */
    uint64_t ready;            /* joined and subscribed: counted as a subscriber */
    uint64_t connect_errors;   /* TCP: refused, unreachable, reset during the handshake */
    uint64_t refused;          /* HTTP handshake answered with another status */
    uint64_t nsp_errors;       /* CONNECT_ERROR (44) */
    uint64_t subscribe_errors; /* subscribe acked with ok:false, or not acked */
    uint64_t timeouts;         /* not ready when the ramp-up timed out */
    uint64_t protocol_errors;  /* unexpected bytes from the server */
    uint64_t closes;           /* ready connections that closed before the end */
    uint64_t deliveries;       /* bench events received (duplicates included) */
    uint64_t duplicates;
    uint64_t late;             /* arrived after a higher seq of the same room: out of order */
    uint64_t gaps;             /* a seq jumped ahead (lost, or reordered when `late` follows) */
    uint64_t stray;            /* bench events for a room the client is not in */
    uint64_t other_events;
    uint64_t compressed;       /* permessage-deflate messages / Content-Encoding responses inflated */
    uint64_t pings;
    uint64_t bytes_in;
    uint64_t ramp_start_us, ramp_end_us; /* first connection started, last one ready */
    uint64_t first_rx_us, last_rx_us;    /* first and last bench delivery */
    uint64_t cpu_us;           /* CPU time of the worker */
    uint64_t cpu_ready_us;     /* ... of that, spent until every connection was settled */
    uint64_t sent_us;          /* when the worker sent these counters */
    uint32_t last_status;      /* the HTTP status of the last refused handshake */
    bench_errtab errs;
} bench_counters;

void counters_error(bench_counters *c, const char *msg);
void counters_merge(bench_counters *into, const bench_counters *from);

/* One client's subscription to one room: the highest seq seen and a 64-seq
 * window behind it tell duplicates from late arrivals. Seqs start at 1. */
typedef struct bench_sub {
    uint32_t room;
    uint32_t max_seen;
    uint64_t window;  /* bit i: seq max_seen - i was seen */
    uint64_t unique;
} bench_sub;

static inline void sub_record(bench_sub *s, uint32_t seq, bench_counters *c)
{
    c->deliveries++;
    if (seq > s->max_seen) {
        uint32_t d = seq - s->max_seen;
        if (d != 1)
            c->gaps++;
        s->window = d >= 64 ? 1 : (s->window << d) | 1;
        s->max_seen = seq;
        s->unique++;
        return;
    }
    uint32_t d = s->max_seen - seq;
    if (d < 64 && (s->window >> d) & 1) {
        c->duplicates++;
        return;
    }
    if (d < 64)
        s->window |= 1ull << d;
    s->unique++;
    c->late++;
}

#endif
