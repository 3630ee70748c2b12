/* deadline_timer: one libuv timer driving a few deadline_lists (see
 * deadline_list.h). Arm entries through deadline_timer_arm() so the timer is
 * pulled earlier when needed; expiry runs each list's on_expire. */
#ifndef SIO_DEADLINE_TIMER_H
#define SIO_DEADLINE_TIMER_H

#include <uv.h>

#include "deadline_list.h"

#define DEADLINE_TIMER_MAX_LISTS 8

typedef struct deadline_timer {
    uv_timer_t timer;
    uint64_t due; /* UINT64_MAX when idle */
    deadline_list *lists[DEADLINE_TIMER_MAX_LISTS];
    int n_lists;
} deadline_timer;

void deadline_timer_init(deadline_timer *t, uv_loop_t *loop);
void deadline_timer_add_list(deadline_timer *t, deadline_list *l);
void deadline_timer_arm(deadline_timer *t, deadline_list *l, deadline_entry *e);
/* Re-computes the next due time (after disarming, or after expiry). */
void deadline_timer_update(deadline_timer *t);
/* Stops and closes the libuv handle; `on_closed` may free the memory holding t. */
void deadline_timer_close(deadline_timer *t, uv_close_cb on_closed);

#endif
