#include "mailbox.h"

int mailbox_init(mailbox *mb, size_t max_count, void (*wake)(void *), void *wake_ctx)
{
    mb->head = mb->tail = NULL;
    mb->count = mb->dropped = 0;
    mb->max_count = max_count;
    mb->wake = wake;
    mb->wake_ctx = wake_ctx;
    return pthread_mutex_init(&mb->lock, NULL) ? -1 : 0;
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

int mailbox_push(mailbox *mb, cluster_msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&mb->lock);
    if (mb->max_count && mb->count >= mb->max_count) {
        mb->dropped++;
        pthread_mutex_unlock(&mb->lock);
        cluster_msg_unref(m);
        return -1;
    }
    int was_empty = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    mb->count++;
    pthread_mutex_unlock(&mb->lock);
    if (was_empty && mb->wake)
        mb->wake(mb->wake_ctx);
    return 0;
}

cluster_msg *mailbox_drain(mailbox *mb)
{
    pthread_mutex_lock(&mb->lock);
    cluster_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    mb->count = 0;
    pthread_mutex_unlock(&mb->lock);
    return m;
}
