/* sio-bench: a load generator for Socket.IO v5 / Engine.IO v4 servers (see
 * README.md beside this file). main: arguments, name resolution, then one run
 * (bench_run.c) or the self-test (bench_selftest.c). Exit codes: 0 done, 1 the
 * run failed (no client connected, publishing failed), 2 bad arguments. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_run.h"

int main(int argc, char **argv)
{
    bench_config cfg;
    char err[512];
    int rc = bench_parse_args(argc, argv, &cfg, err, sizeof(err));
    if (rc == 1) {
        bench_usage(stdout);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "sio-bench: %s\n\n", err);
        bench_usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (cfg.self_test)
        return bench_self_test(&cfg);
    for (size_t i = 0; i < cfg.n_urls; i++) {
        if (bench_url_resolve(&cfg.urls[i], err, sizeof(err))) {
            fprintf(stderr, "sio-bench: error: %s\n", err);
            return 1;
        }
    }
    return bench_run(&cfg);
}
