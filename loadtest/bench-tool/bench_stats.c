/* bench_stats: histogram percentiles and the aggregation of the counters and
 * histograms that the workers report. */
#include "bench_stats.h"

#include <stdio.h>
#include <string.h>

void hist_init(bench_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void hist_merge(bench_hist *into, const bench_hist *from)
{
    if (from->count == 0)
        return;
    if (into->count == 0 || from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->count += from->count;
    into->sum += from->sum;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
}

/* The largest value that falls in bucket idx. */
static uint64_t bucket_upper(unsigned idx)
{
    if (idx < HIST_SUB)
        return idx;
    unsigned e = (idx - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
    uint64_t sub = (idx - HIST_SUB) % HIST_SUB + HIST_SUB;
    return ((sub + 1) << (e - HIST_SUB_BITS)) - 1;
}

uint64_t hist_percentile(const bench_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p >= 100)
        return h->max;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = bucket_upper(i);
            if (v > h->max)
                v = h->max;
            return v < h->min ? h->min : v;
        }
    }
    return h->max;
}

void errtab_add(bench_errtab *t, const char *msg, uint64_t count)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].msg, msg) == 0) {
            t->e[i].count += count;
            return;
        }
    if (t->n < BENCH_MAX_ERRS - 1) {
        bench_err *e = &t->e[t->n++];
        snprintf(e->msg, sizeof(e->msg), "%s", msg);
        e->count = count;
        return;
    }
    bench_err *rest = &t->e[BENCH_MAX_ERRS - 1];
    if (t->n < BENCH_MAX_ERRS) {
        snprintf(rest->msg, sizeof(rest->msg), "other errors");
        rest->count = 0;
        t->n = BENCH_MAX_ERRS;
    }
    rest->count += count;
}

void errtab_merge(bench_errtab *into, const bench_errtab *from)
{
    for (uint32_t i = 0; i < from->n && i < BENCH_MAX_ERRS; i++)
        errtab_add(into, from->e[i].msg, from->e[i].count);
}

void counters_error(bench_counters *c, const char *msg)
{
    errtab_add(&c->errs, msg, 1);
}

void counters_merge(bench_counters *into, const bench_counters *f)
{
#define ADD(x) into->x += f->x
    ADD(attempted); ADD(opened); ADD(joined); ADD(ready); ADD(connect_errors); ADD(refused);
    ADD(nsp_errors); ADD(subscribe_errors); ADD(timeouts); ADD(protocol_errors); ADD(closes);
    ADD(deliveries); ADD(duplicates); ADD(late); ADD(gaps); ADD(stray); ADD(other_events); ADD(compressed);
    ADD(pings); ADD(bytes_in); ADD(cpu_us); ADD(cpu_ready_us);
#undef ADD
    if (f->ramp_start_us && (!into->ramp_start_us || f->ramp_start_us < into->ramp_start_us))
        into->ramp_start_us = f->ramp_start_us;
    if (f->ramp_end_us > into->ramp_end_us)
        into->ramp_end_us = f->ramp_end_us;
    if (f->first_rx_us && (!into->first_rx_us || f->first_rx_us < into->first_rx_us))
        into->first_rx_us = f->first_rx_us;
    if (f->last_rx_us > into->last_rx_us)
        into->last_rx_us = f->last_rx_us;
    if (f->sent_us > into->sent_us)
        into->sent_us = f->sent_us;
    if (f->last_status)
        into->last_status = f->last_status;
    errtab_merge(&into->errs, &f->errs);
}
