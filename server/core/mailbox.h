/* mailbox: the only channel between the edge thread and the cluster thread.
 *
 * A multi-producer, single-consumer queue of cluster_msg pointers. Senders push
 * from any thread; the receiver drains everything at once on its own loop when
 * woken. `wake` is called by the sender whose push made the queue non-empty:
 * the edge wakes through uv_async_send, the cluster thread through
 * event_active (both thread-safe). A pushed message's reference passes to the
 * mailbox, then to whoever drains it. */
#ifndef SIO_MAILBOX_H
#define SIO_MAILBOX_H

#include <pthread.h>
#include <stddef.h>

#include "cluster_msg.h"

typedef struct mailbox {
    pthread_mutex_t lock;
    cluster_msg *head, *tail;
    size_t count;
    size_t max_count;   /* 0: unbounded; past it pushes fail and are counted */
    size_t dropped;
    void (*wake)(void *ctx);
    void *wake_ctx;
} mailbox;

int mailbox_init(mailbox *mb, size_t max_count, void (*wake)(void *), void *wake_ctx);
/* Frees what is still queued. */
void mailbox_destroy(mailbox *mb);
/* Takes over the caller's reference. Returns 0, or -1 when full (reference dropped). */
int mailbox_push(mailbox *mb, cluster_msg *m);
/* Returns the queued messages in order as a list linked by ->next (caller owns them). */
cluster_msg *mailbox_drain(mailbox *mb);

#endif
