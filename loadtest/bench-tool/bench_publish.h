/* bench_publish.h: the publisher. Broadcasts at a fixed rate for a fixed time,
 * round-robin over the rooms, each stamped with its publish time (us) and a
 * per-room sequence number, through a backend: the broadcast API (HTTP) or
 * Redis in @socket.io/redis-emitter's format. */
#ifndef SIO_BENCH_PUBLISH_H
#define SIO_BENCH_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "bench.h"
#include "bench_stats.h"

typedef struct bench_publisher bench_publisher;

typedef struct pub_stats {
    uint64_t planned;   /* rate x duration */
    uint64_t issued;
    uint64_t ok;        /* accepted by the API / Redis */
    uint64_t failed;
    uint64_t start_us, end_us; /* first and last issue */
    uint64_t max_backlog;      /* most broadcasts that were due but not yet sent */
    bench_errtab errs;
} pub_stats;

/* A way to send one broadcast; it reports back with publisher_done_one(). */
typedef struct pub_backend {
    void *ctx;
    int (*ready)(void *ctx);                 /* can take one more now */
    int (*send)(void *ctx, uint32_t room, uint32_t seq, uint64_t t_us);
    size_t (*in_flight)(void *ctx);
    const char *(*fatal)(void *ctx);         /* non-NULL once it can send nothing more */
    void (*free)(void *ctx);
} pub_backend;

bench_publisher *publisher_new(struct event_base *base, const bench_config *cfg, char *err,
                               size_t errlen);
/* Publishes for cfg->duration, waits for the answers (5 s at most), then calls done. */
int publisher_start(bench_publisher *p, void (*done)(void *arg), void *arg);
/* Stops at once (an interrupt): no more sends, no done callback. */
void publisher_stop(bench_publisher *p);
/* Broadcasts the backend confirmed, per room. */
const uint64_t *publisher_per_room(const bench_publisher *p);
const pub_stats *publisher_stats(const bench_publisher *p);
void publisher_free(bench_publisher *p);

/* For the backends. */
void publisher_done_one(bench_publisher *p, uint32_t room, int ok, const char *err);
/* {"t":T,"room":"NAME","seq":S} (+ ,"pad":"xx..." with --size) */
int publisher_data_json(const bench_config *cfg, uint32_t room, uint32_t seq, uint64_t t_us,
                        char *out, size_t n);

/* --size: how many pad characters make the delivered packet cfg->size bytes, for
 * an unpadded data object of data_len bytes (0: no pad); a string of at least n
 * 'x' (NULL when n > BENCH_MAX_SIZE). */
size_t publisher_pad_len(const bench_config *cfg, size_t data_len);
const char *publisher_pad_chars(size_t n);

int pub_http_new(bench_publisher *p, struct event_base *base, const bench_config *cfg,
                 pub_backend *out, char *err, size_t errlen);
int pub_redis_new(bench_publisher *p, struct event_base *base, const bench_config *cfg,
                  pub_backend *out, char *err, size_t errlen);

#endif
