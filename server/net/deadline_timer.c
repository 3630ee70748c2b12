#include "deadline_timer.h"

static void on_timer(uv_timer_t *h)
{
    deadline_timer *t = (deadline_timer *)h;
    uint64_t now = uv_now(h->loop);
    t->due = UINT64_MAX;
    for (int i = 0; i < t->n_lists; i++)
        deadline_list_expire(t->lists[i], now);
    deadline_timer_update(t);
}

void deadline_timer_init(deadline_timer *t, uv_loop_t *loop)
{
    uv_timer_init(loop, &t->timer);
    t->due = UINT64_MAX;
    t->n_lists = 0;
}

void deadline_timer_add_list(deadline_timer *t, deadline_list *l)
{
    if (t->n_lists < DEADLINE_TIMER_MAX_LISTS)
        t->lists[t->n_lists++] = l;
}

void deadline_timer_update(deadline_timer *t)
{
    uint64_t due = UINT64_MAX;
    for (int i = 0; i < t->n_lists; i++) {
        uint64_t d = deadline_list_next_due(t->lists[i]);
        if (d < due)
            due = d;
    }
    if (due == t->due)
        return;
    t->due = due;
    if (due == UINT64_MAX) {
        uv_timer_stop(&t->timer);
        return;
    }
    uint64_t now = uv_now(t->timer.loop);
    uv_timer_start(&t->timer, on_timer, due > now ? due - now : 0, 0);
}

void deadline_timer_arm(deadline_timer *t, deadline_list *l, deadline_entry *e)
{
    deadline_arm(l, e, uv_now(t->timer.loop));
    if (e->due_ms < t->due)
        deadline_timer_update(t);
}

void deadline_timer_close(deadline_timer *t, uv_close_cb on_closed)
{
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, on_closed);
}
