/* frame: an immutable, reference-counted Engine.IO frame, shared by every
 * session it is sent to and safe to pass between threads.
 *
 * Bytes are stored with FRAME_HEADROOM (= LWS_PRE) free bytes in front so that
 * libwebsockets can write its WebSocket header in place: no per-recipient copy.
 * A text frame holds the Engine.IO text packet ("4..."), a binary frame the raw
 * bytes of a binary MESSAGE. frame_new*() returns one reference owned by the
 * caller; every holder calls frame_unref() once. Contents never change. */
#ifndef SIO_FRAME_H
#define SIO_FRAME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#define FRAME_HEADROOM LWS_PRE

typedef struct frame {
    atomic_uint refs;
    uint32_t len;
    uint8_t binary;
    uint8_t storage[]; /* FRAME_HEADROOM + len bytes */
} frame;

/* A frame of `len` bytes, uninitialised: fill frame_bytes() before sharing. */
frame *frame_alloc(int binary, size_t len);
/* Text frame "<type digit><data>". */
frame *frame_new_text(char type_digit, const void *data, size_t len);
/* Binary frame with the raw bytes. */
frame *frame_new_binary(const void *data, size_t len);

static inline uint8_t *frame_bytes(frame *f) { return f->storage + FRAME_HEADROOM; }
static inline const uint8_t *frame_cbytes(const frame *f) { return f->storage + FRAME_HEADROOM; }

static inline frame *frame_ref(frame *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}
void frame_unref(frame *f);

#endif
