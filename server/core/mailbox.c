/* mailbox: see mailbox.h. */
#include "mailbox.h"

#include <errno.h>

int mailbox_init(mailbox *mb, const mailbox_limits *lim, void (*wake)(void *), void *wake_ctx)
{
    mb->head = mb->tail = NULL;
    mb->lim = lim ? *lim : (mailbox_limits){0, 0};
    mb->st = (mailbox_stats){0, 0, 0};
    mb->wake = wake;
    mb->wake_ctx = wake_ctx;
    int rc = pthread_mutex_init(&mb->lock, NULL);
    return rc ? -rc : 0;
}

void mailbox_destroy(mailbox *mb)
{
    cluster_msg *m = mailbox_drain(mb);
    while (m) {
        cluster_msg *next = m->next;
        cluster_msg_unref(m);
        m = next;
    }
    pthread_mutex_destroy(&mb->lock);
}

/* Caller holds the lock. */
static int over(const mailbox *mb, size_t bytes)
{
    return (mb->lim.max_messages && mb->st.messages >= mb->lim.max_messages) ||
           (mb->lim.max_bytes && mb->st.bytes + bytes > mb->lim.max_bytes);
}

int mailbox_push(mailbox *mb, cluster_msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&mb->lock);
    if (over(mb, m->bytes)) {
        mb->st.dropped++;
        pthread_mutex_unlock(&mb->lock);
        cluster_msg_unref(m);
        return -ENOBUFS;
    }
    int was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    mb->st.messages++;
    mb->st.bytes += m->bytes;
    pthread_mutex_unlock(&mb->lock);
    if (was_empty && mb->wake)
        mb->wake(mb->wake_ctx);
    return 0;
}

int mailbox_full(mailbox *mb, size_t bytes)
{
    pthread_mutex_lock(&mb->lock);
    int full = over(mb, bytes);
    pthread_mutex_unlock(&mb->lock);
    return full;
}

cluster_msg *mailbox_drain(mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    cluster_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    mb->st.messages = 0;
    mb->st.bytes = 0;
    pthread_mutex_unlock(&mb->lock);
    return m;
}

void mailbox_get_stats(mailbox *mb, mailbox_stats *out)
{
    pthread_mutex_lock(&mb->lock);
    *out = mb->st;
    pthread_mutex_unlock(&mb->lock);
}
