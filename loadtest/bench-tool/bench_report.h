/* bench_report.h: the outcome of a run, as aggregated by the parent from its
 * workers and its publisher, and its two renderings: a table for people and
 * one `RESULT {json}` line for scripts. */
#ifndef SIO_BENCH_REPORT_H
#define SIO_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "bench_publish.h"
#include "bench_stats.h"

typedef struct bench_result {
    const bench_config *cfg;
    bench_counters c;
    bench_hist lat;
    uint64_t *room_subs;         /* subscriptions per room */
    uint64_t *room_unique;       /* distinct seqs they saw, summed */
    const uint64_t *published;   /* confirmed broadcasts per room; NULL when not publishing */
    const pub_stats *pub;        /* NULL when not publishing */
    uint32_t workers, workers_reported;
    uint64_t run_start_us, run_end_us;
    char fatal[256];             /* why the run could not be done, if so */
    /* computed by report_compute() */
    uint64_t subscriptions, expected, unique, losses, extra;
    uint32_t rooms_lossy;
} bench_result;

void report_compute(bench_result *r);
void report_print_table(const bench_result *r, FILE *out);
void report_print_json(const bench_result *r, FILE *out);
/* 0 when the run was done; 1 (with a clear message on err) when no client
 * connected, publishing failed entirely, or a worker did not report. */
int report_exit_code(const bench_result *r, FILE *err);

#endif
