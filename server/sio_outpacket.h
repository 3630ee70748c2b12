/* sio_outpacket: one Socket.IO packet encoded once, ready for any number of
 * sessions: the text frame ("4" + packet) followed by its binary attachments.
 *
 * Immutable and reference-counted (safe to hand between threads, like frame).
 * Sending it to a session queues each frame by reference: no per-recipient
 * encoding or copying. */
#ifndef SIO_OUTPACKET_H
#define SIO_OUTPACKET_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "eio_server.h"
#include "frame.h"
#include "sio_packet.h"

typedef struct sio_bin sio_bin;

typedef struct sio_outpacket {
    atomic_uint refs;
    uint32_t n_frames;  /* 1 + attachments */
    frame *frames[];
} sio_outpacket;

/* Encodes `type` for namespace `nsp` with ack `id` (-1: none) and `data`
 * (borrowed; may hold placeholders for `bins`). With bins, EVENT becomes
 * BINARY_EVENT and ACK becomes BINARY_ACK. Returns one reference, or NULL. */
sio_outpacket *sio_outpacket_encode(const char *nsp, sio_packet_type type, int64_t id,
                                    const json_t *data, const sio_bin *bins, size_t n_bins);
/* Same, with attachments that are already frames (references are taken). */
sio_outpacket *sio_outpacket_encode_frames(const char *nsp, sio_packet_type type, int64_t id,
                                           const json_t *data, frame *const *bins,
                                           size_t n_bins);
/* Queues the packet on a session. With `is_volatile`, only when the transport
 * can take it now. 0 sent, 1 dropped (volatile), -1 session gone/slow. */
int sio_outpacket_send(sio_outpacket *p, eio_session *s, int is_volatile);

static inline sio_outpacket *sio_outpacket_ref(sio_outpacket *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}
void sio_outpacket_unref(sio_outpacket *p);

#endif
