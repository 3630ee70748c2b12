/* mailbox: the only channel between the edge thread and the cluster thread.
 *
 * A multi-producer, single-consumer queue of cluster_msg pointers, bounded in
 * messages and in bytes (cluster_msg.bytes). Senders push from any thread; the
 * receiver drains everything at once on its own loop when woken. `wake` is
 * called by the sender whose push made the queue non-empty: the edge wakes
 * through uv_async_send, the cluster thread through event_active (both
 * thread-safe). A pushed message's reference passes to the mailbox, then to
 * whoever drains it.
 *
 * Overload: a push past either bound is refused (-ENOBUFS), the message is
 * released and counted in `dropped`; a receiver that stopped draining thus
 * holds at most the bounds in memory. Producers that can tell their own
 * client (the HTTP API) check mailbox_full() first and answer 503. */
#ifndef SIO_MAILBOX_H
#define SIO_MAILBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_msg.h"

#define MAILBOX_DEFAULT_MAX_MESSAGES 65536
#define MAILBOX_DEFAULT_MAX_BYTES ((size_t)64 << 20)

typedef struct mailbox_limits {
    size_t max_messages; /* 0: unbounded */
    size_t max_bytes;    /* 0: unbounded */
} mailbox_limits;

typedef struct mailbox_stats {
    size_t messages;  /* queued now */
    size_t bytes;     /* queued now */
    uint64_t dropped; /* refused pushes since init */
} mailbox_stats;

typedef struct mailbox {
    pthread_mutex_t lock;
    cluster_msg *head, *tail;
    mailbox_limits lim;
    mailbox_stats st;
    void (*wake)(void *ctx);
    void *wake_ctx;
} mailbox;

/* `lim` NULL: unbounded. 0, or -errno. */
int mailbox_init(mailbox *mb, const mailbox_limits *lim, void (*wake)(void *), void *wake_ctx);
/* Frees what is still queued. */
void mailbox_destroy(mailbox *mb);
/* Takes over the caller's reference. Returns 0, or -ENOBUFS when full (the
 * reference is dropped and the refusal counted). */
int mailbox_push(mailbox *mb, cluster_msg *m);
/* 1 when a push of `bytes` more would be refused now. */
int mailbox_full(mailbox *mb, size_t bytes);
/* Returns the queued messages in order as a list linked by ->next (caller owns them). */
cluster_msg *mailbox_drain(mailbox *mb);
/* A consistent snapshot; any thread. */
void mailbox_get_stats(mailbox *mb, mailbox_stats *out);

#endif
