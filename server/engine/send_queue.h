/* send_queue: one session's outgoing frames, bounded in frames and bytes.
 *
 * A ring of frame references that grows on demand (an idle session holds no
 * memory) up to max_frames. Pushing takes a new reference on the frame; popping
 * hands the queue's reference to the caller. send_queue_push() refuses (returns
 * -1, queue unchanged) when either bound would be exceeded: the caller decides
 * whether that drops a volatile packet or disconnects a slow consumer. */
#ifndef SIO_SEND_QUEUE_H
#define SIO_SEND_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

typedef struct send_queue {
    frame **ring;
    uint32_t cap;   /* power of two, or 0 */
    uint32_t head;  /* index of the oldest frame */
    uint32_t count;
    size_t bytes;   /* sum of queued frame lengths */
} send_queue;

typedef struct send_queue_limits {
    uint32_t max_frames;
    size_t max_bytes;
} send_queue_limits;

int send_queue_push(send_queue *q, frame *f, const send_queue_limits *lim);
frame *send_queue_pop(send_queue *q);            /* NULL when empty; caller owns the ref */
frame *send_queue_peek(const send_queue *q, uint32_t i); /* i-th oldest, borrowed */
void send_queue_clear(send_queue *q);            /* drops every reference, frees the ring */

#endif
