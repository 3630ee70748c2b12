/* bench_publish: the publishing schedule. A 1 ms tick sends what is due at the
 * configured rate (rooms round-robin, one sequence per room) as far as the
 * backend has capacity; what it cannot take stays due (the backlog is
 * reported). After the duration it waits for outstanding answers. */
#include "bench_publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_WAIT_US 5000000u

struct bench_publisher {
    const bench_config *cfg;
    struct event_base *base;
    pub_backend be;
    struct event *tick;
    uint32_t *seq;       /* last seq issued, per room */
    uint64_t *ok;        /* confirmed, per room */
    pub_stats st;
    uint64_t stop_us;    /* end of publishing */
    int stopping;
    void (*done)(void *);
    void *done_arg;
};

/* What the delivered packet holds besides the data object: Socket.IO
 * 42[nsp,]["bench",DATA] or the plain {"event":"bench","data":DATA}. */
static size_t packet_overhead(const bench_config *cfg)
{
    if (cfg->plain_path)
        return sizeof("{\"event\":\"bench\",\"data\":") - 1 + 1;
    size_t nsp = strcmp(cfg->nsp, "/") ? strlen(cfg->nsp) + 1 : 0;
    return 2 + nsp + sizeof("[\"bench\",") - 1 + 1;
}

size_t publisher_pad_len(const bench_config *cfg, size_t data_len)
{
    const size_t key = sizeof(",\"pad\":\"\"") - 1;
    size_t base = packet_overhead(cfg) + data_len + key;
    return cfg->size > base ? cfg->size - base : 0;
}

const char *publisher_pad_chars(size_t n)
{
    static char pad[BENCH_MAX_SIZE];
    static size_t filled;
    if (n > sizeof(pad))
        return NULL;
    if (n > filled) {
        memset(pad + filled, 'x', n - filled);
        filled = n;
    }
    return pad;
}

int publisher_data_json(const bench_config *cfg, uint32_t room, uint32_t seq, uint64_t t_us,
                        char *out, size_t n)
{
    char name[320];
    if (bench_room_name(cfg, room, name, sizeof(name)) < 0)
        return -1;
    int w = snprintf(out, n, "{\"t\":%llu,\"room\":\"%s\",\"seq\":%u}", (unsigned long long)t_us,
                     name, seq);
    if (w < 0 || (size_t)w >= n)
        return -1;
    size_t pad = publisher_pad_len(cfg, (size_t)w);
    if (!pad)
        return w;
    const char *x = publisher_pad_chars(pad);
    int w2 = x ? snprintf(out + w - 1, n - (size_t)w + 1, ",\"pad\":\"%.*s\"}", (int)pad, x) : -1;
    if (w2 < 0 || (size_t)(w - 1 + w2) >= n)
        return -1;
    return w - 1 + w2;
}

bench_publisher *publisher_new(struct event_base *base, const bench_config *cfg, char *err,
                               size_t errlen)
{
    bench_publisher *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->base = base;
    p->seq = calloc(cfg->rooms, sizeof(uint32_t));
    p->ok = calloc(cfg->rooms, sizeof(uint64_t));
    int rc = !p->seq || !p->ok ? (snprintf(err, errlen, "out of memory"), -1)
             : cfg->redis_url  ? pub_redis_new(p, base, cfg, &p->be, err, errlen)
                               : pub_http_new(p, base, cfg, &p->be, err, errlen);
    if (rc) {
        free(p->seq);
        free(p->ok);
        free(p);
        return NULL;
    }
    return p;
}

void publisher_done_one(bench_publisher *p, uint32_t room, int ok, const char *err)
{
    if (ok) {
        p->st.ok++;
        p->ok[room]++;
    } else {
        p->st.failed++;
    }
    if (err)
        errtab_add(&p->st.errs, err, 1);
}

static void finish(bench_publisher *p)
{
    event_del(p->tick);
    p->done(p->done_arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    bench_publisher *p = arg;
    uint64_t now = bench_now_us();
    const char *fatal = p->be.fatal(p->be.ctx);
    if (fatal && !p->stopping) {
        errtab_add(&p->st.errs, fatal, 1);
        p->stopping = 1;
        p->stop_us = now;
    }
    if (p->stopping) {
        if (p->be.in_flight(p->be.ctx) == 0 || now > p->stop_us + ANSWER_WAIT_US || fatal)
            finish(p);
        return;
    }
    uint64_t due = (uint64_t)((double)(now - p->st.start_us) * p->cfg->rate / 1e6) + 1;
    if (due > p->st.planned || now >= p->stop_us)
        due = p->st.planned; /* at the end, what the last tick missed still goes */
    if (now >= p->stop_us)
        p->stopping = 1;
    while (p->st.issued < due && p->be.ready(p->be.ctx)) {
        uint32_t room = (uint32_t)(p->st.issued % p->cfg->rooms);
        uint64_t t = bench_now_us();
        if (p->be.send(p->be.ctx, room, p->seq[room] + 1, t))
            break;
        p->seq[room]++;
        p->st.issued++;
        p->st.end_us = t;
    }
    if (due - p->st.issued > p->st.max_backlog)
        p->st.max_backlog = due - p->st.issued;
}

int publisher_start(bench_publisher *p, void (*done)(void *arg), void *arg)
{
    p->done = done;
    p->done_arg = arg;
    p->st.planned = (uint64_t)(p->cfg->rate * p->cfg->duration + 0.5);
    p->st.start_us = bench_now_us();
    p->stop_us = p->st.start_us + (uint64_t)(p->cfg->duration * 1e6);
    p->tick = event_new(p->base, -1, EV_PERSIST, on_tick, p);
    struct timeval ms = {0, 1000};
    if (!p->tick || event_add(p->tick, &ms))
        return -1;
    on_tick(-1, 0, p);
    return 0;
}

void publisher_stop(bench_publisher *p)
{
    if (p->tick)
        event_del(p->tick);
}

const uint64_t *publisher_per_room(const bench_publisher *p)
{
    return p->ok;
}

const pub_stats *publisher_stats(const bench_publisher *p)
{
    return &p->st;
}

void publisher_free(bench_publisher *p)
{
    if (!p)
        return;
    if (p->tick)
        event_free(p->tick);
    p->be.free(p->be.ctx);
    free(p->seq);
    free(p->ok);
    free(p);
}
