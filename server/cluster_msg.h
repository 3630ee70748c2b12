/* cluster_msg: the messages the edge and cluster threads exchange. Immutable
 * once pushed (except `next`, owned by the mailbox holding it) and
 * reference-counted, so one message can be read by both threads.
 *
 * MSG_BROADCAST (cluster -> edge, and edge -> cluster for publishing): a
 *   Socket.IO packet already encoded for `nsp`, with its target rooms. The
 *   edge only fans it out; encoding happens once, wherever it was produced. */
#ifndef SIO_CLUSTER_MSG_H
#define SIO_CLUSTER_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sio_outpacket.h"

typedef enum cluster_msg_type {
    MSG_BROADCAST = 1,
} cluster_msg_type;

typedef struct cluster_msg {
    struct cluster_msg *next;
    atomic_uint refs;
    uint16_t type;
} cluster_msg;

typedef struct broadcast_msg {
    cluster_msg hdr;
    sio_outpacket *packet;
    const char *nsp;
    const char *const *rooms;
    size_t n_rooms;
    const char *const *except;
    size_t n_except;
    int is_volatile;
    int64_t publish_us;     /* wall-clock publish time (µs), 0 if unknown */
    /* nsp, room strings and the pointer arrays live in the same allocation */
} broadcast_msg;

/* Builds a broadcast message; copies every string; takes a new reference on
 * `packet`. Returns NULL on allocation failure. */
broadcast_msg *broadcast_msg_new(const char *nsp, const char *const *rooms, size_t n_rooms,
                                 const char *const *except, size_t n_except, int is_volatile,
                                 sio_outpacket *packet);

static inline cluster_msg *cluster_msg_ref(cluster_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}
void cluster_msg_unref(cluster_msg *m);

#endif
