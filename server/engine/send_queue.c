#include "send_queue.h"

#include <stdlib.h>

static int grow(send_queue *q, uint32_t max_frames)
{
    uint32_t cap = q->cap ? q->cap * 2 : 4;
    if (cap > max_frames && q->cap >= max_frames)
        return -1;
    frame **ring = malloc(sizeof(*ring) * cap);
    if (!ring)
        return -1;
    for (uint32_t i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int send_queue_push(send_queue *q, frame *f, const send_queue_limits *lim)
{
    if (q->count >= lim->max_frames || q->bytes + f->len > lim->max_bytes)
        return -1;
    if (q->count == q->cap && grow(q, lim->max_frames))
        return -1;
    q->ring[(q->head + q->count) & (q->cap - 1)] = frame_ref(f);
    q->count++;
    q->bytes += f->len;
    return 0;
}

frame *send_queue_pop(send_queue *q)
{
    if (!q->count)
        return NULL;
    frame *f = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    q->bytes -= f->len;
    if (!q->count && q->cap > 16) { /* a burst is over: give the memory back */
        free(q->ring);
        q->ring = NULL;
        q->cap = q->head = 0;
    }
    return f;
}

frame *send_queue_peek(const send_queue *q, uint32_t i)
{
    return i < q->count ? q->ring[(q->head + i) & (q->cap - 1)] : NULL;
}

void send_queue_clear(send_queue *q)
{
    frame *f;
    while ((f = send_queue_pop(q)))
        frame_unref(f);
    free(q->ring);
    q->ring = NULL;
    q->cap = q->head = 0;
}
