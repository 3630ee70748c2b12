/* ws_deflate: permessage-deflate's compression (RFC 7692), with no zlib
 * state per connection.
 *
 * Every connection that negotiated the extension has both
 * no_context_takeover parameters (ws_ext.h), so each message is compressed
 * and inflated on its own, and one zlib stream serves them all: a shared
 * deflater per server window size (9..15 bits, made when first needed,
 * reset per message) and one shared inflater (a 15-bit window inflates any
 * smaller one). A server window of 8 bits cannot be made (zlib's deflate has
 * none below 512 bytes): such connections get their messages uncompressed,
 * which RFC 7692 allows.
 *
 * ws_deflate_frame() makes a frame's compressed twin once per window size
 * and stores it on the frame (frame_twin_store, core/frame.h): a broadcast to
 * any number of deflate recipients is compressed once, and
 * ws_deflate_total() counts those compressions (sio_ws_deflate_total on
 * /metrics).
 *
 * Inflating is bounded: the moment the output would pass `max` bytes it
 * stops (-EMSGSIZE, close 1009), without inflating the rest, so a small
 * message that would inflate to gigabytes costs at most `max` bytes and the
 * time to produce them.
 *
 * The streams are the edge thread's (one thread calls everything here but
 * ws_deflate_total(), which any thread may read). Errors: 0 or a negative
 * errno (-ENOMEM, -EINVAL for a corrupt stream, -EMSGSIZE over the bound). */
#ifndef SIO_NET_WS_DEFLATE_H
#define SIO_NET_WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "frame.h"

/* Appends the raw deflate of `in` (a sync flush, its trailing 00 00 ff ff
 * removed, as RFC 7692 7.2.1 sends it) to `out`, with a 2^bits window
 * (9..15). */
int ws_deflate_message(const uint8_t *in, size_t len, int bits, bytebuf *out);

/* Inflates a message (`in` as received, the 00 00 ff ff trailer added here)
 * into `out` (emptied first), at most `max` bytes. */
int ws_inflate_message(const uint8_t *in, size_t len, size_t max, bytebuf *out);

/* The compressed twin of `f` for a 2^bits window (made and stored once), or
 * NULL when it cannot be made (no memory, bits outside 9..15). */
const frame *ws_deflate_frame(frame *f, int bits);

/* Messages compressed since the start (any thread). */
unsigned long ws_deflate_total(void);

#endif
