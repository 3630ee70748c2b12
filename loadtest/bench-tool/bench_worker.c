/* bench_worker: one worker process. Opens its share of the connections (at the
 * connect rate, with a bound on handshakes in flight), times out the slow ones
 * at the ramp-up deadline, tells the parent when all are settled, sends
 * progress once a second, and on FINISH waits for the last deliveries (up to
 * the drain time) and sends its report: counters, latency histogram, and per
 * room the subscriptions and the distinct seqs they saw. */
#include "bench_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_ipc.h"

typedef struct worker_ctx {
    bench_worker w; /* first: worker_conn_settled() casts back */
    int ipc_fd;
    struct event *ipc_ev, *kick_ev, *tick_ev, *timeout_ev, *progress_ev, *drain_ev;
    uint64_t ramp_start_us;
    int ramp_over, ready_sent, finishing;
    uint64_t *published;     /* per room, from FINISH */
    uint64_t drain_deadline_us;
    bench_sub *pool;
    int exit_code;
} worker_ctx;

static void send_counters(worker_ctx *x, uint32_t type)
{
    x->w.st.cpu_us = bench_cpu_us();
    x->w.st.sent_us = bench_now_us();
    const void *parts[] = {&x->w.st};
    size_t lens[] = {sizeof(x->w.st)};
    if (ipc_send(x->ipc_fd, type, parts, lens, 1))
        event_base_loopbreak(x->w.base); /* the parent is gone */
}

static void maybe_ready(worker_ctx *x)
{
    if (x->ready_sent || x->w.settled < x->w.n_conns)
        return;
    x->ready_sent = 1;
    if (x->tick_ev)
        event_del(x->tick_ev);
    event_del(x->timeout_ev);
    x->w.st.cpu_ready_us = bench_cpu_us();
    send_counters(x, MSG_READY);
}

static void start_more(worker_ctx *x)
{
    bench_worker *w = &x->w;
    const bench_config *cfg = w->cfg;
    uint64_t allowed = w->n_conns;
    if (cfg->connect_rate > 0) {
        double elapsed = (double)(bench_now_us() - x->ramp_start_us) / 1e6;
        double due = elapsed * cfg->connect_rate / cfg->workers + 1;
        if (due < (double)allowed)
            allowed = (uint64_t)due;
    }
    while (!x->ramp_over && w->next_start < allowed && w->in_progress < cfg->inflight) {
        bench_conn *c = &w->conns[w->next_start++];
        w->in_progress++;
        conn_start(c); /* a failure settles it at once */
    }
    maybe_ready(x);
}

void worker_conn_settled(bench_worker *w, bench_conn *c, int ok)
{
    worker_ctx *x = (worker_ctx *)w;
    w->in_progress--;
    w->settled++;
    if (ok)
        w->st.ramp_end_us = bench_now_us();
    event_active(x->kick_ev, EV_TIMEOUT, 0); /* start the next ones from the loop, not from here */
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    start_more(arg);
}

static const char *stage_name(uint8_t state)
{
    switch (state) {
    case CS_HANDSHAKE: return "the TCP connect, HTTP handshake or Engine.IO open";
    case CS_WAIT_CONNECT: return "the namespace CONNECT answer";
    case CS_WAIT_SUBSCRIBE: return "the subscribe ack";
    default: return "its turn to start (raise --ramp-timeout or --connect-rate)";
    }
}

static void on_ramp_timeout(evutil_socket_t fd, short what, void *arg)
{
    worker_ctx *x = arg;
    bench_worker *w = &x->w;
    char msg[BENCH_ERR_LEN];
    x->ramp_over = 1;
    for (uint32_t i = 0; i < w->n_conns; i++) {
        bench_conn *c = &w->conns[i];
        snprintf(msg, sizeof(msg), "ramp-up timeout (%gs) waiting for %s", w->cfg->ramp_timeout,
                 stage_name(c->state));
        if (c->state == CS_IDLE) {
            c->state = CS_CLOSED;
            w->st.timeouts++;
            counters_error(&w->st, msg);
            w->settled++;
        } else if (c->state != CS_READY && c->state != CS_CLOSED) {
            conn_fail(c, FAIL_TIMEOUT, msg);
        }
    }
    maybe_ready(x);
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
    send_counters(arg, MSG_PROGRESS);
}

/* ---- the end ------------------------------------------------------------ */

static void send_report(worker_ctx *x)
{
    bench_worker *w = &x->w;
    uint32_t rooms = w->cfg->rooms;
    uint64_t *subs = calloc(rooms ? rooms : 1, sizeof(uint64_t));
    uint64_t *unique = calloc(rooms ? rooms : 1, sizeof(uint64_t));
    if (!subs || !unique) {
        x->exit_code = 1;
        free(subs);
        free(unique);
        return;
    }
    for (uint32_t i = 0; i < w->n_conns; i++) {
        bench_conn *c = &w->conns[i];
        for (uint8_t k = 0; c->subscribed && k < c->n_subs; k++) {
            subs[c->subs[k].room]++;
            unique[c->subs[k].room] += c->subs[k].unique;
        }
    }
    w->st.cpu_us = bench_cpu_us();
    const void *parts[] = {&w->st, &w->lat, subs, unique};
    size_t lens[] = {sizeof(w->st), sizeof(w->lat), rooms * sizeof(uint64_t), rooms * sizeof(uint64_t)};
    if (ipc_send(x->ipc_fd, MSG_REPORT, parts, lens, 4))
        x->exit_code = 1;
    free(subs);
    free(unique);
}

/* Every expected seq seen (extra ones from failed-but-delivered publishes not counted). */
static int all_delivered(worker_ctx *x)
{
    bench_worker *w = &x->w;
    for (uint32_t i = 0; i < w->n_conns; i++) {
        bench_conn *c = &w->conns[i];
        if (!c->subscribed || c->state != CS_READY)
            continue; /* a closed connection will not catch up */
        for (uint8_t k = 0; k < c->n_subs; k++)
            if (c->subs[k].unique < x->published[c->subs[k].room])
                return 0;
    }
    return 1;
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    worker_ctx *x = arg;
    if (!all_delivered(x) && bench_now_us() < x->drain_deadline_us)
        return;
    event_del(x->drain_ev);
    send_report(x);
    event_base_loopbreak(x->w.base);
}

static void on_ipc(evutil_socket_t fd, short what, void *arg)
{
    worker_ctx *x = arg;
    ipc_hdr h;
    double drain;
    size_t rooms = x->w.cfg->rooms;
    if (ipc_read_full(fd, &h, sizeof(h)) || h.type != MSG_FINISH ||
        h.len != sizeof(drain) + rooms * sizeof(uint64_t) || ipc_read_full(fd, &drain, sizeof(drain)) ||
        ipc_read_full(fd, x->published, rooms * sizeof(uint64_t))) {
        event_base_loopbreak(x->w.base); /* the parent is gone or confused: stop quietly */
        x->exit_code = 1;
        return;
    }
    event_del(x->ipc_ev);
    x->finishing = 1;
    x->ramp_over = 1; /* an early FINISH (interrupt): start nothing more */
    x->drain_deadline_us = bench_now_us() + (uint64_t)(drain * 1e6);
    struct timeval every = {0, 20000};
    event_add(x->drain_ev, &every);
    on_drain(-1, 0, x);
}

/* ---- set-up ------------------------------------------------------------- */

static int setup_conns(worker_ctx *x, uint32_t first, uint32_t n)
{
    bench_worker *w = &x->w;
    const bench_config *cfg = w->cfg;
    uint32_t rooms[BENCH_MAX_ROOMS_PER_CLIENT];
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += bench_rooms_of(cfg, first + i, rooms, BENCH_MAX_ROOMS_PER_CLIENT);
    w->conns = calloc(n ? n : 1, sizeof(bench_conn));
    x->pool = calloc(total ? total : 1, sizeof(bench_sub));
    x->published = calloc(cfg->rooms ? cfg->rooms : 1, sizeof(uint64_t));
    if (!w->conns || !x->pool || !x->published)
        return -1;
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        bench_conn *c = &w->conns[i];
        c->w = w;
        c->client = first + i;
        c->url = (uint8_t)(c->client % cfg->n_urls);
        c->subs = x->pool + off;
        size_t k = bench_rooms_of(cfg, c->client, rooms, BENCH_MAX_ROOMS_PER_CLIENT);
        for (size_t j = 0; j < k; j++)
            c->subs[j].room = rooms[j];
        c->n_subs = (uint8_t)k;
        off += k;
    }
    w->n_conns = n;
    w->first_client = first;
    return 0;
}

int worker_run(const bench_config *cfg, uint32_t index, uint32_t first, uint32_t n, int ipc_fd)
{
    worker_ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return 1;
    bench_worker *w = &x->w;
    w->cfg = cfg;
    w->ops = cfg->transport == TRANSPORT_POLLING ? &bench_poll_ops : &bench_ws_ops;
    w->prefix_len = strlen(cfg->room_prefix);
    w->rng = cfg->seed ^ ((uint64_t)index + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32;
    x->ipc_fd = ipc_fd;
    hist_init(&w->lat);
    w->base = event_base_new();
    if (!w->base || setup_conns(x, first, n)) {
        fprintf(stderr, "sio-bench: worker %u: out of memory\n", index);
        return 1;
    }
    x->ipc_ev = event_new(w->base, ipc_fd, EV_READ | EV_PERSIST, on_ipc, x);
    x->kick_ev = event_new(w->base, -1, 0, on_kick, x);
    x->timeout_ev = evtimer_new(w->base, on_ramp_timeout, x);
    x->progress_ev = event_new(w->base, -1, EV_PERSIST, on_progress, x);
    x->drain_ev = event_new(w->base, -1, EV_PERSIST, on_drain, x);
    if (cfg->connect_rate > 0)
        x->tick_ev = event_new(w->base, -1, EV_PERSIST, on_kick, x);
    struct timeval ramp = {(time_t)cfg->ramp_timeout,
                           (suseconds_t)((cfg->ramp_timeout - (double)(time_t)cfg->ramp_timeout) * 1e6)};
    struct timeval second = {1, 0}, tick = {0, 2000};
    event_add(x->ipc_ev, NULL);
    event_add(x->timeout_ev, &ramp);
    event_add(x->progress_ev, &second);
    if (x->tick_ev)
        event_add(x->tick_ev, &tick);
    x->ramp_start_us = w->st.ramp_start_us = bench_now_us();
    start_more(x);
    event_base_dispatch(w->base);
    /* The process exits next: the kernel closes the sockets. */
    return x->exit_code;
}
