/* deadline_list: timeouts that all share one constant delay (ping interval, ping
 * timeout, upgrade timeout, connect timeout). Because the delay is constant,
 * arming appends at the tail and the list stays sorted by due time: arming,
 * disarming and expiring cost O(1) each, with one event-loop timer for all.
 *
 * Entries are intrusive (embedded in their owner); the list never allocates.
 * deadline_list_expire() unlinks each due entry before calling `on_expire`, which
 * may re-arm or free the entry's owner. */
#ifndef SIO_DEADLINE_LIST_H
#define SIO_DEADLINE_LIST_H

#include <stdint.h>

typedef struct deadline_entry {
    struct deadline_entry *prev, *next; /* NULL when not armed */
    uint64_t due_ms;
} deadline_entry;

typedef struct deadline_list {
    deadline_entry head; /* sentinel */
    uint64_t delay_ms;
    void (*on_expire)(deadline_entry *e, void *ctx);
    void *ctx;
} deadline_list;

void deadline_list_init(deadline_list *l, uint64_t delay_ms,
                        void (*on_expire)(deadline_entry *, void *), void *ctx);
void deadline_arm(deadline_list *l, deadline_entry *e, uint64_t now_ms); /* re-arms if armed */
void deadline_disarm(deadline_entry *e);
static inline int deadline_armed(const deadline_entry *e) { return e->next != 0; }
/* Runs on_expire for every entry due at now_ms; returns the next due time or UINT64_MAX. */
uint64_t deadline_list_expire(deadline_list *l, uint64_t now_ms);
uint64_t deadline_list_next_due(const deadline_list *l);

#endif
