/* bench_run: the parent process of a run. Forks the workers (N/W connections
 * each, one socketpair per worker), waits until every connection is ready or
 * failed (bounded by the ramp-up timeout), publishes for --duration (or holds
 * the connections that long), sends FINISH with the confirmed broadcasts per
 * room, collects the reports (bounded by --drain plus a margin), aggregates
 * and prints them. */
#include "bench_run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bench_ipc.h"
#include "bench_report.h"
#include "bench_worker.h"

#define GUARD_MARGIN_S 10 /* beyond a worker's own deadlines */

typedef struct slot {
    pid_t pid;
    int fd;
    struct bufferevent *bev;
    int ready, reported, gone;
    bench_counters last; /* the latest READY/PROGRESS counters */
} slot;

typedef struct run {
    const bench_config *cfg;
    struct event_base *base;
    slot *slots;
    uint32_t n, n_ready, n_done;
    bench_publisher *pub;
    struct event *ramp_guard, *hold_ev, *collect_guard, *progress_ev, *sigint_ev, *sigterm_ev;
    int phase; /* 0 ramp-up, 1 publishing/holding, 2 collecting */
    bench_result res;
} run;

static void send_finish(run *r);

/* ---- progress on stderr ------------------------------------------------- */

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    bench_counters sum;
    memset(&sum, 0, sizeof(sum));
    for (uint32_t i = 0; i < r->n; i++)
        counters_merge(&sum, &r->slots[i].last);
    static uint64_t prev_deliveries, prev_us; /* as of the workers' latest counters */
    uint64_t now = bench_now_us();
    double rate = prev_us && sum.sent_us > prev_us
                      ? (double)(sum.deliveries - prev_deliveries) / ((double)(sum.sent_us - prev_us) / 1e6)
                      : 0;
    if (sum.sent_us > prev_us) {
        prev_deliveries = sum.deliveries;
        prev_us = sum.sent_us;
    }
    fprintf(stderr, "sio-bench: %6.1fs  ready %llu/%u  deliveries %llu (%.0f/s)  errors %llu\n",
            (double)(now - r->res.run_start_us) / 1e6, (unsigned long long)sum.ready,
            r->cfg->connections, (unsigned long long)sum.deliveries, rate,
            (unsigned long long)(sum.connect_errors + sum.refused + sum.nsp_errors +
                                 sum.subscribe_errors + sum.timeouts + sum.protocol_errors +
                                 sum.closes));
}

/* ---- phases ------------------------------------------------------------- */

static void on_published(void *arg)
{
    send_finish(arg);
}

static void on_hold_done(evutil_socket_t fd, short what, void *arg)
{
    send_finish(arg);
}

/* Every worker is ready (or the ramp-up guard fired): publish or hold. */
static void begin_main_phase(run *r)
{
    if (r->phase != 0)
        return;
    r->phase = 1;
    event_del(r->ramp_guard);
    uint64_t ready = 0;
    for (uint32_t i = 0; i < r->n; i++)
        ready += r->slots[i].last.ready;
    if (ready == 0) {
        bench_counters sum;
        memset(&sum, 0, sizeof(sum));
        for (uint32_t i = 0; i < r->n; i++)
            counters_merge(&sum, &r->slots[i].last);
        snprintf(r->res.fatal, sizeof(r->res.fatal), "no client could connect%s%s",
                 sum.errs.n ? ": " : "", sum.errs.n ? sum.errs.e[0].msg : "");
        send_finish(r);
        return;
    }
    if (!r->cfg->quiet)
        fprintf(stderr, "sio-bench: %llu/%u clients ready; %s for %gs\n", (unsigned long long)ready,
                r->cfg->connections, r->pub ? "publishing" : "holding", r->cfg->duration);
    if (r->pub) {
        r->res.published = publisher_per_room(r->pub);
        r->res.pub = publisher_stats(r->pub);
        if (publisher_start(r->pub, on_published, r) == 0)
            return;
        snprintf(r->res.fatal, sizeof(r->res.fatal), "cannot start publishing");
        send_finish(r);
        return;
    }
    struct timeval hold = {(time_t)r->cfg->duration,
                           (suseconds_t)((r->cfg->duration - (double)(time_t)r->cfg->duration) * 1e6)};
    event_add(r->hold_ev, &hold);
}

static void on_ramp_guard(evutil_socket_t fd, short what, void *arg)
{
    fprintf(stderr, "sio-bench: warning: a worker did not finish its ramp-up in time\n");
    begin_main_phase(arg);
}

static void on_collect_guard(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    for (uint32_t i = 0; i < r->n; i++)
        if (!r->slots[i].reported && !r->slots[i].gone)
            kill(r->slots[i].pid, SIGKILL);
    event_base_loopexit(r->base, NULL);
}

static void send_finish(run *r)
{
    if (r->phase == 2)
        return;
    r->phase = 2;
    event_del(r->hold_ev);
    double drain = r->cfg->drain;
    size_t rooms = r->cfg->rooms;
    uint64_t *zeros = calloc(rooms ? rooms : 1, sizeof(uint64_t));
    const uint64_t *published = r->res.published ? r->res.published : zeros;
    const void *parts[] = {&drain, published};
    size_t lens[] = {sizeof(drain), rooms * sizeof(uint64_t)};
    for (uint32_t i = 0; i < r->n; i++)
        if (!r->slots[i].gone && ipc_send(r->slots[i].fd, MSG_FINISH, parts, lens, 2))
            r->slots[i].gone = 1;
    free(zeros);
    struct timeval guard = {(time_t)drain + GUARD_MARGIN_S, 0};
    event_add(r->collect_guard, &guard);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    run *r = arg;
    fprintf(stderr, "sio-bench: interrupted: finishing\n");
    if (r->phase == 2) { /* a second interrupt: stop now */
        on_collect_guard(-1, 0, r);
        return;
    }
    if (r->phase == 0)
        r->phase = 1;
    if (r->pub)
        publisher_stop(r->pub);
    send_finish(r);
}

/* ---- worker messages ---------------------------------------------------- */

static void slot_done(run *r, slot *s)
{
    if (s->reported || s->gone)
        return;
    s->gone = 1;
    if (++r->n_done == r->n)
        event_base_loopexit(r->base, NULL);
}

static void on_report(run *r, slot *s, const uint8_t *p, size_t len)
{
    size_t rooms = r->cfg->rooms;
    size_t want = sizeof(bench_counters) + sizeof(bench_hist) + 2 * rooms * sizeof(uint64_t);
    if (len != want)
        return;
    bench_counters c;
    memcpy(&c, p, sizeof(c));
    counters_merge(&r->res.c, &c);
    s->last = c;
    bench_hist *h = malloc(sizeof(*h));
    if (h) {
        memcpy(h, p + sizeof(c), sizeof(*h));
        hist_merge(&r->res.lat, h);
        free(h);
    }
    const uint8_t *arr = p + sizeof(c) + sizeof(bench_hist);
    for (size_t i = 0; i < rooms; i++) {
        uint64_t v, u;
        memcpy(&v, arr + i * 8, 8);
        memcpy(&u, arr + (rooms + i) * 8, 8);
        r->res.room_subs[i] += v;
        r->res.room_unique[i] += u;
    }
    r->res.workers_reported++;
    slot_done(r, s);
    s->reported = 1;
}

static void on_message(run *r, slot *s, uint32_t type, const uint8_t *p, size_t len)
{
    switch (type) {
    case MSG_READY:
    case MSG_PROGRESS:
        if (len == sizeof(bench_counters))
            memcpy(&s->last, p, len);
        if (type == MSG_READY && !s->ready) {
            s->ready = 1;
            if (++r->n_ready == r->n)
                begin_main_phase(r);
        }
        return;
    case MSG_REPORT:
        on_report(r, s, p, len);
        return;
    default:
        return;
    }
}

typedef struct slot_ref {
    run *r;
    slot *s;
} slot_ref;

static void on_ipc(struct bufferevent *bev, void *arg)
{
    slot_ref *ref = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        ipc_hdr h;
        if (evbuffer_copyout(in, &h, sizeof(h)) < (ev_ssize_t)sizeof(h) ||
            evbuffer_get_length(in) < sizeof(h) + h.len)
            return;
        evbuffer_drain(in, sizeof(h));
        const uint8_t *p = evbuffer_pullup(in, h.len);
        on_message(ref->r, ref->s, h.type, p, h.len);
        evbuffer_drain(in, h.len);
    }
}

static void on_ipc_event(struct bufferevent *bev, short what, void *arg)
{
    slot_ref *ref = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (!ref->s->reported)
            fprintf(stderr, "sio-bench: warning: worker %ld exited without a report\n",
                    (long)(ref->s - ref->r->slots));
        if (!ref->s->ready) { /* count it as ready so the run goes on */
            ref->s->ready = 1;
            if (++ref->r->n_ready == ref->r->n)
                begin_main_phase(ref->r);
        }
        slot_done(ref->r, ref->s);
    }
}

/* ---- set-up ------------------------------------------------------------- */

static int fork_workers(run *r)
{
    const bench_config *cfg = r->cfg;
    fflush(stdout);
    fflush(stderr);
    for (uint32_t i = 0; i < r->n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
            perror("sio-bench: socketpair");
            return -1;
        }
        uint32_t first = (uint32_t)((uint64_t)cfg->connections * i / r->n);
        uint32_t last = (uint32_t)((uint64_t)cfg->connections * (i + 1) / r->n);
        pid_t pid = fork();
        if (pid < 0) {
            perror("sio-bench: fork");
            return -1;
        }
        if (pid == 0) {
            close(sv[0]);
            for (uint32_t k = 0; k < i; k++)
                close(r->slots[k].fd);
            signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
            _exit(worker_run(cfg, i, first, last - first, sv[1]));
        }
        close(sv[1]);
        r->slots[i].pid = pid;
        r->slots[i].fd = sv[0];
    }
    return 0;
}

int bench_run(const bench_config *cfg)
{
    run r;
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.n = cfg->workers;
    r.slots = calloc(r.n, sizeof(slot));
    slot_ref *refs = calloc(r.n, sizeof(slot_ref));
    r.res.cfg = cfg;
    r.res.workers = r.n;
    r.res.room_subs = calloc(cfg->rooms ? cfg->rooms : 1, sizeof(uint64_t));
    r.res.room_unique = calloc(cfg->rooms ? cfg->rooms : 1, sizeof(uint64_t));
    hist_init(&r.res.lat);
    if (!r.slots || !refs || !r.res.room_subs || !r.res.room_unique) {
        fprintf(stderr, "sio-bench: out of memory\n");
        return 1;
    }
    r.res.run_start_us = bench_now_us();
    if (fork_workers(&r))
        return 1;
    r.base = event_base_new();
    if (!r.base) {
        fprintf(stderr, "sio-bench: cannot create an event loop\n");
        return 1;
    }
    if (cfg->rate > 0) {
        char err[256];
        r.pub = publisher_new(r.base, cfg, err, sizeof(err));
        if (!r.pub) {
            snprintf(r.res.fatal, sizeof(r.res.fatal), "%s", err);
            r.phase = 1;
        }
    }
    for (uint32_t i = 0; i < r.n; i++) {
        refs[i] = (slot_ref){&r, &r.slots[i]};
        evutil_make_socket_nonblocking(r.slots[i].fd);
        r.slots[i].bev = bufferevent_socket_new(r.base, r.slots[i].fd, BEV_OPT_CLOSE_ON_FREE);
        bufferevent_setcb(r.slots[i].bev, on_ipc, NULL, on_ipc_event, &refs[i]);
        bufferevent_enable(r.slots[i].bev, EV_READ);
    }
    r.ramp_guard = evtimer_new(r.base, on_ramp_guard, &r);
    r.hold_ev = evtimer_new(r.base, on_hold_done, &r);
    r.collect_guard = evtimer_new(r.base, on_collect_guard, &r);
    r.sigint_ev = evsignal_new(r.base, SIGINT, on_signal, &r);
    r.sigterm_ev = evsignal_new(r.base, SIGTERM, on_signal, &r);
    event_add(r.sigint_ev, NULL);
    event_add(r.sigterm_ev, NULL);
    struct timeval ramp = {(time_t)cfg->ramp_timeout + GUARD_MARGIN_S, 0}, second = {1, 0};
    if (r.phase == 1) /* the publisher could not be set up: stop the workers at once */
        send_finish(&r);
    else
        event_add(r.ramp_guard, &ramp);
    if (!cfg->quiet) {
        r.progress_ev = event_new(r.base, -1, EV_PERSIST, on_progress, &r);
        event_add(r.progress_ev, &second);
    }
    event_base_dispatch(r.base);
    r.res.run_end_us = bench_now_us();
    for (uint32_t i = 0; i < r.n; i++) {
        if (!r.slots[i].reported && !r.slots[i].gone)
            kill(r.slots[i].pid, SIGKILL);
        waitpid(r.slots[i].pid, NULL, 0);
    }
    report_compute(&r.res);
    report_print_table(&r.res, stdout);
    report_print_json(&r.res, stdout);
    int code = report_exit_code(&r.res, stderr);
    publisher_free(r.pub);
    struct event *evs[] = {r.ramp_guard, r.hold_ev, r.collect_guard, r.progress_ev, r.sigint_ev,
                           r.sigterm_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    for (uint32_t i = 0; i < r.n; i++)
        if (r.slots[i].bev)
            bufferevent_free(r.slots[i].bev);
    event_base_free(r.base);
    free(r.res.room_subs);
    free(r.res.room_unique);
    free(r.slots);
    free(refs);
    return code;
}
