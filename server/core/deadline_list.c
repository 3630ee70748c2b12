#include "deadline_list.h"

void deadline_list_init(deadline_list *l, uint64_t delay_ms,
                        void (*on_expire)(deadline_entry *, void *), void *ctx)
{
    l->head.prev = l->head.next = &l->head;
    l->delay_ms = delay_ms;
    l->on_expire = on_expire;
    l->ctx = ctx;
}

void deadline_disarm(deadline_entry *e)
{
    if (!e->next)
        return;
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = 0;
}

void deadline_arm(deadline_list *l, deadline_entry *e, uint64_t now_ms)
{
    deadline_disarm(e);
    e->due_ms = now_ms + l->delay_ms;
    e->prev = l->head.prev;
    e->next = &l->head;
    l->head.prev->next = e;
    l->head.prev = e;
}

uint64_t deadline_list_next_due(const deadline_list *l)
{
    return l->head.next == &l->head ? UINT64_MAX : l->head.next->due_ms;
}

uint64_t deadline_list_expire(deadline_list *l, uint64_t now_ms)
{
    while (l->head.next != &l->head && l->head.next->due_ms <= now_ms) {
        deadline_entry *e = l->head.next;
        deadline_disarm(e);
        l->on_expire(e, l->ctx);
    }
    return deadline_list_next_due(l);
}
