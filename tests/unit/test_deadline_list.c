/* test_deadline_list: constant-delay timeout lists (server/core/deadline_list.c).
 *
 * Covers what deadline_list.h promises:
 *   - an empty list: next due is UINT64_MAX, expiring runs nothing;
 *   - arm: due = now + delay, appended at the tail, so expiry runs in arming
 *     order; an entry due exactly at now_ms expires (<=), one due a
 *     millisecond later does not; expire returns the next due time;
 *   - disarm: of the head, a middle and the tail entry; of an unarmed
 *     (zeroed) entry, and twice: no-ops;
 *   - re-arm of an armed entry moves it to the tail with the new due time,
 *     once (never queued twice); arming on another list moves it there;
 *   - on_expire sees the entry already unlinked, and may re-arm it (it then
 *     waits a full delay more, not run again in the same expire), free its
 *     owner (ASan sees a use after free), disarm other due entries (they do
 *     not run), arm new ones, or move the entry to another list (the
 *     ping -> pong pattern of eio_session.c);
 *   - lists are independent, the list itself never allocates.
 * Time here is a plain counter: the functions take now_ms from the caller. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deadline_list.h"

CHECK_STATE;

/* What the callbacks did, in order. */
#define MAX_LOG 64
static deadline_entry *fired[MAX_LOG];
static int n_fired;
static int armed_in_callback; /* deadline_armed(e) seen inside on_expire */

static void reset_log(void)
{
    n_fired = 0;
    armed_in_callback = 0;
}

static void record(deadline_entry *e, void *ctx)
{
    (void)ctx;
    if (deadline_armed(e))
        armed_in_callback++;
    if (n_fired < MAX_LOG)
        fired[n_fired] = e;
    n_fired++;
}

static int list_len(const deadline_list *l)
{
    int n = 0;
    for (const deadline_entry *e = l->head.next; e != &l->head; e = e->next)
        n++;
    return n;
}

static void test_empty(void)
{
    deadline_list l;
    deadline_list_init(&l, 100, record, NULL);
    reset_log();
    CHECK(deadline_list_next_due(&l) == UINT64_MAX);
    CHECK(deadline_list_expire(&l, 0) == UINT64_MAX);
    CHECK(deadline_list_expire(&l, UINT64_MAX - 1) == UINT64_MAX);
    CHECK(n_fired == 0 && list_len(&l) == 0);
    deadline_entry e = {0};
    CHECK(!deadline_armed(&e));
    deadline_disarm(&e); /* never armed: a no-op */
    CHECK(!deadline_armed(&e) && list_len(&l) == 0);
}

static void test_order_and_bounds(void)
{
    deadline_list l;
    int ctx_tag;
    deadline_list_init(&l, 100, record, &ctx_tag);
    CHECK(l.ctx == &ctx_tag && l.delay_ms == 100);
    deadline_entry a = {0}, b = {0}, c = {0};
    reset_log();
    deadline_arm(&l, &a, 0);
    deadline_arm(&l, &b, 10);
    deadline_arm(&l, &c, 20);
    CHECK(deadline_armed(&a) && deadline_armed(&b) && deadline_armed(&c));
    CHECK(a.due_ms == 100 && b.due_ms == 110 && c.due_ms == 120);
    CHECK(deadline_list_next_due(&l) == 100); /* the earliest is the head */
    CHECK(list_len(&l) == 3);

    CHECK(deadline_list_expire(&l, 99) == 100 && n_fired == 0); /* not yet */
    CHECK(deadline_list_expire(&l, 100) == 110);                /* due == now */
    CHECK(n_fired == 1 && fired[0] == &a && !deadline_armed(&a));
    CHECK(deadline_list_expire(&l, 119) == 120 && n_fired == 2 && fired[1] == &b);
    CHECK(deadline_list_expire(&l, 1000) == UINT64_MAX && n_fired == 3 && fired[2] == &c);
    CHECK(armed_in_callback == 0); /* each was unlinked before its callback */
    CHECK(list_len(&l) == 0 && deadline_list_next_due(&l) == UINT64_MAX);

    /* many entries armed at the same time expire together, in arming order */
    deadline_entry many[20];
    memset(many, 0, sizeof(many));
    reset_log();
    for (int i = 0; i < 20; i++)
        deadline_arm(&l, &many[i], 500 + (uint64_t)(i / 5)); /* 4 groups of 5 */
    CHECK(deadline_list_expire(&l, 601) == 602 && n_fired == 10);
    int ordered = 1;
    for (int i = 0; i < 10; i++)
        if (fired[i] != &many[i])
            ordered = 0;
    CHECK(ordered);
    CHECK(deadline_list_expire(&l, 700) == UINT64_MAX && n_fired == 20);
    ordered = 1;
    for (int i = 10; i < 20; i++)
        if (fired[i] != &many[i])
            ordered = 0;
    CHECK(ordered);
}

static void test_disarm_and_rearm(void)
{
    deadline_list l;
    deadline_list_init(&l, 50, record, NULL);
    deadline_entry e[5];
    memset(e, 0, sizeof(e));
    for (int i = 0; i < 5; i++)
        deadline_arm(&l, &e[i], (uint64_t)i);
    deadline_disarm(&e[0]); /* head */
    deadline_disarm(&e[2]); /* middle */
    deadline_disarm(&e[4]); /* tail */
    deadline_disarm(&e[2]); /* twice */
    CHECK(!deadline_armed(&e[0]) && !deadline_armed(&e[2]) && !deadline_armed(&e[4]));
    CHECK(e[2].prev == NULL && e[2].next == NULL);
    CHECK(list_len(&l) == 2 && deadline_list_next_due(&l) == 51);
    reset_log();
    CHECK(deadline_list_expire(&l, 1000) == UINT64_MAX);
    CHECK(n_fired == 2 && fired[0] == &e[1] && fired[1] == &e[3]);

    /* re-arm moves an armed entry to the tail with its new due time */
    deadline_entry a = {0}, b = {0};
    deadline_arm(&l, &a, 0);  /* due 50 */
    deadline_arm(&l, &b, 5);  /* due 55 */
    deadline_arm(&l, &a, 10); /* due 60, after b */
    CHECK(a.due_ms == 60 && list_len(&l) == 2);
    CHECK(deadline_list_next_due(&l) == 55);
    reset_log();
    CHECK(deadline_list_expire(&l, 55) == 60 && n_fired == 1 && fired[0] == &b);
    CHECK(deadline_list_expire(&l, 60) == UINT64_MAX && n_fired == 2 && fired[1] == &a);
    /* re-arming the only entry, repeatedly: still one entry */
    for (uint64_t t = 100; t < 110; t++)
        deadline_arm(&l, &a, t);
    CHECK(list_len(&l) == 1 && a.due_ms == 159);
    reset_log();
    CHECK(deadline_list_expire(&l, 200) == UINT64_MAX && n_fired == 1);
    /* re-arm after disarm */
    deadline_arm(&l, &a, 0);
    deadline_disarm(&a);
    deadline_arm(&l, &a, 1);
    CHECK(list_len(&l) == 1 && a.due_ms == 51);
    deadline_disarm(&a);
    CHECK(list_len(&l) == 0);
}

/* Two lists with different delays (a ping and a pong timeout). */
static void test_two_lists(void)
{
    deadline_list ping, pong;
    deadline_list_init(&ping, 1000, record, NULL);
    deadline_list_init(&pong, 200, record, NULL);
    deadline_entry a = {0}, b = {0};
    deadline_arm(&ping, &a, 0);
    deadline_arm(&pong, &b, 0);
    CHECK(deadline_list_next_due(&ping) == 1000 && deadline_list_next_due(&pong) == 200);
    /* arming on another list moves the entry there */
    deadline_arm(&pong, &a, 10);
    CHECK(list_len(&ping) == 0 && list_len(&pong) == 2);
    CHECK(deadline_list_next_due(&ping) == UINT64_MAX);
    reset_log();
    CHECK(deadline_list_expire(&ping, 5000) == UINT64_MAX && n_fired == 0);
    CHECK(deadline_list_expire(&pong, 210) == UINT64_MAX && n_fired == 2);
    CHECK(fired[0] == &b && fired[1] == &a);
}

/* --------------------------------------------- what on_expire may do */

typedef struct owner {
    deadline_entry e;
    deadline_list *other; /* where to move, or NULL */
    deadline_entry *victim; /* disarm this one, or NULL */
    deadline_entry *spawn;  /* arm this one, or NULL */
    int rearm;              /* re-arm self on the same list */
    int free_me;
    int runs;
    uint64_t now;
} owner;

static deadline_list *cb_list;
static int cb_runs;

static void act(deadline_entry *e, void *ctx)
{
    owner *o = (owner *)e; /* e is the first member */
    (void)ctx;
    cb_runs++;
    o->runs++;
    if (deadline_armed(e))
        armed_in_callback++;
    if (o->victim)
        deadline_disarm(o->victim);
    if (o->spawn)
        deadline_arm(cb_list, o->spawn, o->now);
    if (o->rearm)
        deadline_arm(cb_list, e, o->now);
    if (o->other)
        deadline_arm(o->other, e, o->now);
    if (o->free_me)
        free(o);
}

static void test_callbacks(void)
{
    deadline_list l, moved_to;
    deadline_list_init(&l, 100, act, NULL);
    deadline_list_init(&moved_to, 30, act, NULL);
    cb_list = &l;
    cb_runs = 0;
    armed_in_callback = 0;

    /* re-arming inside the callback: waits a full delay, runs once now */
    owner r = {.rearm = 1, .now = 100};
    deadline_arm(&l, &r.e, 0);
    CHECK(deadline_list_expire(&l, 100) == 200);
    CHECK(r.runs == 1 && deadline_armed(&r.e) && r.e.due_ms == 200);
    r.rearm = 0;
    CHECK(deadline_list_expire(&l, 200) == UINT64_MAX && r.runs == 2);

    /* freeing the owner in the callback, with more due entries after it */
    cb_runs = 0;
    owner *heap[10];
    for (int i = 0; i < 10; i++) {
        heap[i] = calloc(1, sizeof(owner));
        heap[i]->free_me = 1;
        deadline_arm(&l, &heap[i]->e, (uint64_t)i);
    }
    owner keep = {0};
    deadline_arm(&l, &keep.e, 50);
    CHECK(deadline_list_expire(&l, 109) == 150 && cb_runs == 10); /* all freed, ASan-clean */
    CHECK(list_len(&l) == 1 && keep.runs == 0);
    deadline_disarm(&keep.e);

    /* disarming a later due entry from a callback: it does not run */
    owner x = {0}, y = {0}, z = {0};
    x.victim = &y.e;
    deadline_arm(&l, &x.e, 0);
    deadline_arm(&l, &y.e, 0);
    deadline_arm(&l, &z.e, 0);
    cb_runs = 0;
    CHECK(deadline_list_expire(&l, 100) == UINT64_MAX);
    CHECK(x.runs == 1 && y.runs == 0 && z.runs == 1 && cb_runs == 2);
    CHECK(!deadline_armed(&y.e));

    /* a callback that disarms the only remaining entry, which is itself not due */
    owner p = {0}, q = {0};
    p.victim = &q.e;
    deadline_arm(&l, &p.e, 0);
    deadline_arm(&l, &q.e, 50);
    CHECK(deadline_list_expire(&l, 100) == UINT64_MAX && p.runs == 1 && q.runs == 0);
    CHECK(list_len(&l) == 0);

    /* arming a new entry from a callback: appended, due one delay later */
    owner s = {0}, t = {0};
    s.spawn = &t.e;
    s.now = 100;
    deadline_arm(&l, &s.e, 0);
    CHECK(deadline_list_expire(&l, 100) == 200 && s.runs == 1 && t.runs == 0);
    CHECK(deadline_armed(&t.e) && deadline_list_expire(&l, 200) == UINT64_MAX && t.runs == 1);

    /* moving the entry to another list (ping due -> await the pong) */
    owner m = {0};
    m.other = &moved_to;
    m.now = 100;
    deadline_arm(&l, &m.e, 0);
    CHECK(deadline_list_expire(&l, 100) == UINT64_MAX && m.runs == 1);
    CHECK(list_len(&l) == 0 && list_len(&moved_to) == 1 && m.e.due_ms == 130);
    m.other = NULL;
    CHECK(deadline_list_expire(&moved_to, 130) == UINT64_MAX && m.runs == 2);

    CHECK(armed_in_callback == 0);
}

int main(void)
{
    test_empty();
    test_order_and_bounds();
    test_disarm_and_rearm();
    test_two_lists();
    test_callbacks();
    return CHECK_DONE("test_deadline_list");
}
