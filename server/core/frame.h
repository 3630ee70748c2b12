/* frame: an immutable, reference-counted Engine.IO frame, shared by every
 * session it is sent to and safe to pass between threads.
 *
 * A text frame holds the Engine.IO text packet ("4..."), a binary frame the raw
 * bytes of a binary MESSAGE; frame_new_ws() makes frames for plain WebSocket
 * clients only (a whole text message, or a control frame such as ping). The header of the WebSocket frame that carries it
 * is laid out once, when the frame is made, in the FRAME_HEADROOM bytes in
 * front of the payload: frame_wire() is then header and payload in one piece,
 * written to every WebSocket recipient without a copy. frame_new*() returns
 * one reference owned by the caller; every holder calls frame_unref() once.
 * Contents never change after the maker has filled frame_bytes().
 *
 * Twins: a frame may carry compressed twins of itself (permessage-deflate,
 * one per key, e.g. the server window bits): frames of the same message,
 * their WebSocket header with RSV1 set, made once and written to every
 * recipient that negotiated that compression. frame_twin_store() publishes
 * one with an atomic compare-and-swap (the first stored for a key wins, a
 * later one is freed); the frame owns its twins and frees them with itself,
 * on whichever thread drops the last reference. */
#ifndef SIO_FRAME_H
#define SIO_FRAME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "refcount.h"

/* Room for the largest unmasked WebSocket frame header (10 bytes). */
#define FRAME_HEADROOM 16

typedef struct frame {
    atomic_uint refs;
    uint32_t len;
    uint8_t binary;
    uint8_t ws_header_len;
    uint8_t twin_key;            /* of a twin: its key (0 in an original) */
    _Atomic(struct frame *) twins; /* of an original: its twins; of a twin: the next one */
    uint8_t storage[];           /* FRAME_HEADROOM + len bytes */
} frame;

/* A frame of `len` bytes, uninitialised: fill frame_bytes() before sharing. */
frame *frame_alloc(int binary, size_t len);
/* Text frame "<type digit><data>". */
frame *frame_new_text(char type_digit, const void *data, size_t len);
/* Binary frame with the raw bytes. */
frame *frame_new_binary(const void *data, size_t len);
/* A frame for WebSocket recipients only (plain WebSocket clients): `data` is
 * the whole message, sent with `ws_opcode` (text, binary, or a control frame
 * such as ping, whose payload must be at most 125 bytes). */
frame *frame_new_ws(uint8_t ws_opcode, const void *data, size_t len);

/* A compressed twin of `orig` (not stored yet): `len` bytes of `data`, sent
 * with orig's opcode and RSV1; one reference, for frame_twin_store(). */
frame *frame_new_twin(const frame *orig, uint8_t key, const void *data, size_t len);
/* The twin of `f` stored for `key`, or NULL. */
const frame *frame_twin(const frame *f, uint8_t key);
/* Stores `twin` (its reference passes to `f`) unless one with its key is
 * there already; returns the one that stays. */
const frame *frame_twin_store(frame *f, frame *twin);
/* The WebSocket opcode of the frame's header. */
uint8_t frame_ws_opcode(const frame *f);

static inline uint8_t *frame_bytes(frame *f) { return f->storage + FRAME_HEADROOM; }
static inline const uint8_t *frame_cbytes(const frame *f) { return f->storage + FRAME_HEADROOM; }
/* The WebSocket frame: its header, then the payload; `*len` is the total. */
static inline const uint8_t *frame_wire(const frame *f, size_t *len)
{
    *len = (size_t)f->ws_header_len + f->len;
    return f->storage + FRAME_HEADROOM - f->ws_header_len;
}

static inline frame *frame_ref(frame *f)
{
    refcount_get(&f->refs);
    return f;
}
void frame_unref(frame *f);

#endif
