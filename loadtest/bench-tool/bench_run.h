/* bench_run.h: one complete run (fork the workers, publish, collect, print). */
#ifndef SIO_BENCH_RUN_H
#define SIO_BENCH_RUN_H

#include "bench.h"

/* Runs the benchmark described by cfg (URLs resolved) and prints the table and
 * the RESULT line on stdout. Returns the process exit code (0 or 1). */
int bench_run(const bench_config *cfg);

/* --self-test: the same run against a built-in frame source in a child process. */
int bench_self_test(bench_config *cfg);

#endif
