/* test_mailbox: the bounded MPSC queue between the edge and cluster threads
 * (server/core/mailbox.c), carrying cluster_msg (server/core/cluster_msg.c).
 *
 * Covers what mailbox.h promises:
 *   - init with NULL limits is unbounded; an empty mailbox drains to NULL;
 *   - push/drain is FIFO, drain returns everything queued as a ->next list
 *     and leaves the mailbox empty; stats count queued messages and bytes
 *     (the sum of cluster_msg.bytes) and are zero after a drain;
 *   - wake: called exactly by the push that made the queue non-empty (not by
 *     later pushes before a drain, not by a refused push), with its ctx;
 *   - bounds: past max_messages or max_bytes a push returns -ENOBUFS, the
 *     message's reference is released (checked with an extra reference held
 *     by the test, and by ASan's leak check) and `dropped` counts it; a push
 *     reaching max_bytes exactly is accepted; one message larger than the
 *     byte bound is always refused; mailbox_full(mb, bytes) predicts the
 *     next push; the bounds are on what is queued now, not cumulative;
 *   - destroy frees what is still queued;
 *   - the wake-up, batch by batch: a producer pushes a burst and waits until
 *     the consumer, which drains only when woken, has it all (a lost wake-up
 *     is a 10 s timeout, counted, not a hang); at least one wake per burst;
 *   - two threads (pthreads): one producer pushes N messages while the
 *     consumer drains only when woken (a condition variable set by `wake`):
 *     every message arrives exactly once, in order, and the consumer never
 *     stalls (a lost wake-up would show as a timeout, not a hang);
 *   - four producers at once: per-producer order and exactly-once delivery;
 *   - bounded, two threads: a producer that checks mailbox_full() first (as
 *     the HTTP API does) is never refused; producers that do not are refused
 *     (and counted) but what was accepted arrives once, in order. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cluster_msg.h"
#include "mailbox.h"

CHECK_STATE;

/* cluster_msg.h no longer declares a ref function (only cluster_msg_unref):
 * take an extra reference on the public counter, as the mailbox's holders do. */
static cluster_msg *msg_ref(cluster_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

/* A message carrying (producer, sequence number). */
typedef struct tag {
    uint32_t producer;
    uint32_t seq;
} tag;

static cluster_msg *make(uint32_t producer, uint32_t seq)
{
    tag t = {producer, seq};
    response_msg *m = response_msg_new("/", &t, sizeof(t));
    return m ? &m->hdr : NULL;
}

static tag tag_of(const cluster_msg *m)
{
    tag t;
    memcpy(&t, ((const response_msg *)m)->payload, sizeof(t));
    return t;
}

static unsigned refs(cluster_msg *m) { return atomic_load(&m->refs); }

static void free_list(cluster_msg *m)
{
    while (m) {
        cluster_msg *next = m->next;
        cluster_msg_unref(m);
        m = next;
    }
}

static int wakes;
static void count_wake(void *ctx) { (*(int *)ctx)++; }

static void test_fifo_and_wake(void)
{
    mailbox mb;
    CHECK(mailbox_init(&mb, NULL, count_wake, &wakes) == 0);
    CHECK(mb.lim.max_messages == 0 && mb.lim.max_bytes == 0);
    CHECK(mailbox_drain(&mb) == NULL);
    mailbox_stats st;
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 0 && st.bytes == 0 && st.dropped == 0);
    CHECK(!mailbox_full(&mb, (size_t)1 << 40)); /* unbounded */

    wakes = 0;
    size_t bytes = 0;
    for (uint32_t i = 0; i < 10; i++) {
        cluster_msg *m = make(0, i);
        bytes += m->bytes;
        CHECK(mailbox_push(&mb, m) == 0);
    }
    CHECK(wakes == 1); /* only the push onto the empty queue wakes */
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 10 && st.bytes == bytes && st.dropped == 0);
    CHECK(bytes >= 10 * (sizeof(response_msg) + sizeof(tag))); /* bytes covers the allocation */

    cluster_msg *list = mailbox_drain(&mb);
    int ordered = 1;
    uint32_t n = 0;
    for (cluster_msg *m = list; m; m = m->next, n++)
        if (tag_of(m).seq != n || m->type != MSG_RESPONSE || refs(m) != 1)
            ordered = 0;
    CHECK(ordered && n == 10);
    free_list(list);
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 0 && st.bytes == 0);
    CHECK(mailbox_drain(&mb) == NULL);

    /* after a drain, the next push wakes again */
    CHECK(mailbox_push(&mb, make(0, 99)) == 0 && wakes == 2);
    CHECK(mailbox_push(&mb, make(0, 100)) == 0 && wakes == 2);
    list = mailbox_drain(&mb);
    CHECK(list && tag_of(list).seq == 99 && list->next && tag_of(list->next).seq == 100 &&
          list->next->next == NULL);
    free_list(list);

    /* a pushed message's stale ->next is reset: it ends the list */
    cluster_msg *a = make(0, 1), *b = make(0, 2);
    a->next = b; /* garbage from a previous life */
    CHECK(mailbox_push(&mb, a) == 0);
    list = mailbox_drain(&mb);
    CHECK(list == a && a->next == NULL);
    free_list(list);
    cluster_msg_unref(b);

    /* destroy frees what is still queued (the leak check would say otherwise) */
    for (uint32_t i = 0; i < 5; i++)
        mailbox_push(&mb, make(0, i));
    mailbox_destroy(&mb);

    /* no wake callback at all */
    CHECK(mailbox_init(&mb, NULL, NULL, NULL) == 0);
    CHECK(mailbox_push(&mb, make(0, 0)) == 0);
    mailbox_destroy(&mb);
}

static void test_bounds(void)
{
    mailbox mb;
    mailbox_limits lim = {3, 0}; /* three messages, any size */
    wakes = 0;
    CHECK(mailbox_init(&mb, &lim, count_wake, &wakes) == 0);
    CHECK(mb.lim.max_messages == 3 && mb.lim.max_bytes == 0);
    lim.max_messages = 1000; /* init copied the limits */
    CHECK(mb.lim.max_messages == 3);
    for (uint32_t i = 0; i < 3; i++)
        CHECK(mailbox_push(&mb, make(0, i)) == 0);
    CHECK(mailbox_full(&mb, 0) == 1);
    cluster_msg *extra = make(0, 3);
    msg_ref(extra); /* hold one so the release can be seen */
    CHECK(refs(extra) == 2);
    CHECK(mailbox_push(&mb, extra) == -ENOBUFS);
    CHECK(refs(extra) == 1); /* the mailbox dropped the pushed reference */
    mailbox_stats st;
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 3 && st.dropped == 1);
    CHECK(wakes == 1); /* the refusal did not wake */
    /* a refused push is not queued */
    cluster_msg *list = mailbox_drain(&mb);
    int n = 0, last = -1;
    for (cluster_msg *m = list; m; m = m->next, n++)
        last = (int)tag_of(m).seq;
    CHECK(n == 3 && last == 2);
    free_list(list);
    /* the bound is on what is queued now: room again after the drain */
    CHECK(mailbox_full(&mb, 0) == 0);
    CHECK(mailbox_push(&mb, extra) == 0); /* our reference passes now */
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 1 && st.dropped == 1); /* dropped is since init */
    mailbox_destroy(&mb);

    /* a byte bound: exactly two messages' worth */
    cluster_msg *m1 = make(1, 0), *m2 = make(1, 1), *m3 = make(1, 2);
    size_t one = m1->bytes;
    CHECK(m2->bytes == one && m3->bytes == one && one > 0);
    lim = (mailbox_limits){0, 2 * one};
    CHECK(mailbox_init(&mb, &lim, NULL, NULL) == 0);
    CHECK(!mailbox_full(&mb, one) && !mailbox_full(&mb, 2 * one) && mailbox_full(&mb, 2 * one + 1));
    CHECK(mailbox_push(&mb, m1) == 0);
    CHECK(!mailbox_full(&mb, one) && mailbox_full(&mb, one + 1));
    CHECK(mailbox_push(&mb, m2) == 0); /* reaches the bound exactly: accepted */
    CHECK(mailbox_full(&mb, 1) && !mailbox_full(&mb, 0));
    CHECK(mailbox_push(&mb, m3) == -ENOBUFS);
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 2 && st.bytes == 2 * one && st.dropped == 1);
    free_list(mailbox_drain(&mb));
    /* one message bigger than the whole bound never fits */
    char big[4096];
    memset(big, 'x', sizeof(big));
    response_msg *huge = response_msg_new("/", big, sizeof(big));
    CHECK(huge->hdr.bytes > 2 * one);
    CHECK(mailbox_full(&mb, huge->hdr.bytes));
    CHECK(mailbox_push(&mb, &huge->hdr) == -ENOBUFS);
    mailbox_get_stats(&mb, &st);
    CHECK(st.messages == 0 && st.bytes == 0 && st.dropped == 2);
    mailbox_destroy(&mb);

    /* both bounds: whichever is hit first refuses */
    lim = (mailbox_limits){2, 100 * one};
    CHECK(mailbox_init(&mb, &lim, NULL, NULL) == 0);
    CHECK(mailbox_push(&mb, make(0, 0)) == 0 && mailbox_push(&mb, make(0, 1)) == 0);
    CHECK(mailbox_push(&mb, make(0, 2)) == -ENOBUFS);
    mailbox_destroy(&mb);
}

/* ----------------------------------------------------- two threads */

typedef struct waker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending; /* set by wake, cleared by the consumer before it drains */
    int wakes;
} waker;

static void cond_wake(void *ctx)
{
    waker *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->pending = 1;
    w->wakes++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

typedef struct producer_arg {
    mailbox *mb;
    uint32_t id;
    uint32_t n;
    int check_full;   /* ask mailbox_full() first and wait while full */
    uint32_t accepted;
    uint32_t refused;
    uint32_t refused_after_full_check;
} producer_arg;

static void *producer(void *p)
{
    producer_arg *a = p;
    for (uint32_t i = 0; i < a->n; i++) {
        cluster_msg *m = make(a->id, i);
        if (a->check_full) {
            while (mailbox_full(a->mb, m->bytes))
                sched_yield();
        }
        int rc = mailbox_push(a->mb, m);
        if (rc == 0)
            a->accepted++;
        else {
            a->refused++;
            if (a->check_full)
                a->refused_after_full_check++;
        }
    }
    return NULL;
}

#define MAX_PRODUCERS 4

typedef struct consumer_result {
    uint64_t received[MAX_PRODUCERS];
    uint32_t next_seq[MAX_PRODUCERS]; /* strict order (unbounded runs) */
    int64_t last_seq[MAX_PRODUCERS];  /* increasing order (bounded runs) */
    int out_of_order;
    int gaps;
    int bad;
    int stalled;
    int drains;
} consumer_result;

/* Drains only when woken, until `expect` messages have arrived or the
 * producers are done and the mailbox is empty. A wake-up that does not come
 * within 10 s while messages are still expected counts as a stall (a lost
 * wake-up): the consumer then falls back to polling so that the producers
 * (which may be waiting for room) finish and the test reports instead of
 * hanging. */
static void consume(mailbox *mb, waker *w, uint64_t expect, atomic_int *producers_done,
                    int strict, consumer_result *r)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < MAX_PRODUCERS; i++)
        r->last_seq[i] = -1;
    uint64_t total = 0;
    while (total < expect) {
        if (!r->stalled) {
            pthread_mutex_lock(&w->mu);
            while (!w->pending && !atomic_load(producers_done)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 10;
                if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT &&
                    !w->pending) {
                    r->stalled = 1;
                    break;
                }
            }
            w->pending = 0; /* cleared before draining: a push after this wakes again */
            pthread_mutex_unlock(&w->mu);
        } else {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
        /* `done` is read before draining: when set, every push is visible */
        int finished = atomic_load(producers_done);
        cluster_msg *list = mailbox_drain(mb);
        r->drains++;
        for (cluster_msg *m = list; m; m = m->next) {
            tag t = tag_of(m);
            total++;
            if (t.producer >= MAX_PRODUCERS) {
                r->bad++;
                continue;
            }
            r->received[t.producer]++;
            if (strict) {
                if (t.seq != r->next_seq[t.producer])
                    r->gaps++;
                r->next_seq[t.producer] = t.seq + 1;
            }
            if ((int64_t)t.seq <= r->last_seq[t.producer])
                r->out_of_order++;
            r->last_seq[t.producer] = t.seq;
        }
        free_list(list);
        if (finished && !list)
            break; /* nothing left and nothing coming */
    }
}

typedef struct run {
    mailbox mb;
    waker w;
    producer_arg args[MAX_PRODUCERS];
    pthread_t th[MAX_PRODUCERS];
    atomic_int done;
} run;

static void run_start(run *r, const mailbox_limits *lim, int n_producers, uint32_t n_each,
                      int check_full)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->w.mu, NULL);
    pthread_cond_init(&r->w.cv, NULL);
    atomic_init(&r->done, 0);
    mailbox_init(&r->mb, lim, cond_wake, &r->w);
    for (int i = 0; i < n_producers; i++) {
        r->args[i] = (producer_arg){.mb = &r->mb, .id = (uint32_t)i, .n = n_each,
                                    .check_full = check_full};
        pthread_create(&r->th[i], NULL, producer, &r->args[i]);
    }
}

/* Joins the producers from a helper thread so the consumer can keep going. */
typedef struct joiner {
    run *r;
    int n;
} joiner;

static void *join_all(void *p)
{
    joiner *j = p;
    for (int i = 0; i < j->n; i++)
        pthread_join(j->r->th[i], NULL);
    atomic_store(&j->r->done, 1);
    cond_wake(&j->r->w); /* let the consumer see `done` */
    return NULL;
}

static void run_finish(run *r)
{
    mailbox_destroy(&r->mb);
    pthread_cond_destroy(&r->w.cv);
    pthread_mutex_destroy(&r->w.mu);
}

/* The wake-up contract, checked batch by batch: the producer pushes a burst,
 * then waits until the consumer (which drains only when woken) has received
 * all of it. A push that should have woken the consumer and did not leaves
 * the producer waiting: after 10 s that is counted as a lost wake-up (and the
 * producer stops waiting, so the test still ends). */
typedef struct handshake {
    mailbox mb;
    waker w;
    pthread_mutex_t ack_mu;
    pthread_cond_t ack_cv;
    uint64_t delivered; /* under ack_mu */
    int stop;           /* under w.mu */
    int gaps;
} handshake;

static void *handshake_consumer(void *p)
{
    handshake *h = p;
    uint32_t next = 0;
    for (;;) {
        pthread_mutex_lock(&h->w.mu);
        while (!h->w.pending && !h->stop)
            pthread_cond_wait(&h->w.cv, &h->w.mu);
        int stop = h->stop;
        h->w.pending = 0;
        pthread_mutex_unlock(&h->w.mu);
        cluster_msg *list = mailbox_drain(&h->mb);
        uint64_t n = 0;
        for (cluster_msg *m = list; m; m = m->next, n++) {
            if (tag_of(m).seq != next)
                h->gaps++;
            next = tag_of(m).seq + 1;
        }
        free_list(list);
        pthread_mutex_lock(&h->ack_mu);
        h->delivered += n;
        pthread_cond_signal(&h->ack_cv);
        pthread_mutex_unlock(&h->ack_mu);
        if (stop)
            return NULL;
    }
}

static void test_wake_handshake(void)
{
    static handshake h;
    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.w.mu, NULL);
    pthread_cond_init(&h.w.cv, NULL);
    pthread_mutex_init(&h.ack_mu, NULL);
    pthread_cond_init(&h.ack_cv, NULL);
    mailbox_init(&h.mb, NULL, cond_wake, &h.w);
    pthread_t c;
    pthread_create(&c, NULL, handshake_consumer, &h);
    uint32_t seq = 0;
    int lost = 0, refused = 0;
    for (int batch = 0; batch < 3000; batch++) {
        int k = 1 + batch % 37;
        for (int i = 0; i < k; i++)
            refused += mailbox_push(&h.mb, make(0, seq++)) != 0;
        if (lost)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        pthread_mutex_lock(&h.ack_mu);
        while (h.delivered < seq && !lost)
            if (pthread_cond_timedwait(&h.ack_cv, &h.ack_mu, &ts) == ETIMEDOUT &&
                h.delivered < seq)
                lost = 1;
        pthread_mutex_unlock(&h.ack_mu);
    }
    pthread_mutex_lock(&h.w.mu);
    h.stop = 1;
    pthread_cond_signal(&h.w.cv);
    pthread_mutex_unlock(&h.w.mu);
    pthread_join(c, NULL);
    CHECK(refused == 0);
    CHECK(lost == 0);                             /* every burst woke the consumer */
    CHECK(h.delivered == seq && h.gaps == 0);     /* once each, in order */
    CHECK(h.w.wakes >= 3000 && h.w.wakes <= (int)seq); /* at least one per burst, at most one per push */
    mailbox_destroy(&h.mb);
    pthread_cond_destroy(&h.ack_cv);
    pthread_mutex_destroy(&h.ack_mu);
    pthread_cond_destroy(&h.w.cv);
    pthread_mutex_destroy(&h.w.mu);
}

/* Starts `producers` producer threads of n messages each on r (bounded by
 * lim; with check_full they test mailbox_full() before pushing), consumes
 * until every producer is done, and joins them. */
static void run_and_consume(run *r, const mailbox_limits *lim, int producers, uint32_t n,
                            int check_full, int wait_all, consumer_result *res)
{
    run_start(r, lim, producers, n, check_full);
    joiner j = {r, producers};
    pthread_t jt;
    pthread_create(&jt, NULL, join_all, &j);
    consume(&r->mb, &r->w, n * (uint64_t)producers, &r->done, wait_all, res);
    pthread_join(jt, NULL);
}

static void test_one_producer(void)
{
    enum { N = 200000 };
    static run r;
    consumer_result res;
    run_and_consume(&r, NULL, 1, N, 0, 1, &res);
    CHECK(!res.stalled);
    CHECK(res.received[0] == N && res.bad == 0);
    CHECK(res.gaps == 0 && res.out_of_order == 0); /* every one once, in order */
    CHECK(r.args[0].accepted == N && r.args[0].refused == 0);
    CHECK(res.drains >= 1 && r.w.wakes >= 1);
    mailbox_stats st;
    mailbox_get_stats(&r.mb, &st);
    CHECK(st.messages == 0 && st.bytes == 0 && st.dropped == 0);
    CHECK(mailbox_drain(&r.mb) == NULL);
    run_finish(&r);
}

static void test_many_producers(void)
{
    enum { N = 50000 };
    static run r;
    consumer_result res;
    run_and_consume(&r, NULL, MAX_PRODUCERS, N, 0, 1, &res);
    CHECK(!res.stalled && res.bad == 0);
    int all = 1;
    for (int i = 0; i < MAX_PRODUCERS; i++)
        if (res.received[i] != N || r.args[i].accepted != N)
            all = 0;
    CHECK(all);
    CHECK(res.gaps == 0 && res.out_of_order == 0); /* each producer's order kept */
    run_finish(&r);
}

static void test_bounded_threads(void)
{
    enum { N = 100000 };
    mailbox_limits lim = {64, 0};
    static run r;

    /* one producer that checks mailbox_full() first: never refused, all arrive */
    consumer_result res;
    run_and_consume(&r, &lim, 1, N, 1, 1, &res);
    CHECK(!res.stalled);
    CHECK(r.args[0].refused_after_full_check == 0);
    CHECK(res.received[0] == N && res.gaps == 0);
    mailbox_stats st;
    mailbox_get_stats(&r.mb, &st);
    CHECK(st.dropped == 0);
    run_finish(&r);

    /* producers that just push: refusals are counted, the accepted ones
     * arrive exactly once and in each producer's order, none leaks */
    lim = (mailbox_limits){16, 0};
    run_and_consume(&r, &lim, 2, N, 0, 0, &res);
    /* settle what was pushed after the consumer's last look */
    cluster_msg *rest = mailbox_drain(&r.mb);
    for (cluster_msg *m = rest; m; m = m->next) {
        tag t = tag_of(m);
        if (t.producer < 2) {
            res.received[t.producer]++;
            if ((int64_t)t.seq <= res.last_seq[t.producer])
                res.out_of_order++;
            res.last_seq[t.producer] = t.seq;
        }
    }
    free_list(rest);
    CHECK(!res.stalled);
    mailbox_get_stats(&r.mb, &st);
    uint64_t accepted = r.args[0].accepted + r.args[1].accepted;
    uint64_t refused = r.args[0].refused + r.args[1].refused;
    CHECK(accepted + refused == 2 * (uint64_t)N);
    CHECK(st.dropped == refused);
    CHECK(res.received[0] == r.args[0].accepted && res.received[1] == r.args[1].accepted);
    CHECK(res.out_of_order == 0);
    run_finish(&r);
}

int main(void)
{
    test_fifo_and_wake();
    test_bounds();
    test_wake_handshake();
    test_one_producer();
    test_many_producers();
    test_bounded_threads();
    return CHECK_DONE("test_mailbox");
}
