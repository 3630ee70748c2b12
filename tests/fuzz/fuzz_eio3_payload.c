/* fuzz_eio3_payload: libFuzzer target over the Engine.IO v3 payload decoder.
 *
 * The first byte chooses the framing (bit 0: binary, the octet-stream form);
 * the rest is a polling body. Every packet that decodes is appended again in
 * that framing (eio3_payload_append_text/_binary); that payload must decode
 * to the very same packets and then end. The body is also fed to the v3
 * WebSocket frame decoders. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio3_payload.h"

static int same_packet(const eio_packet *a, const eio_packet *b)
{
    return a->type == b->type && a->binary == b->binary && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Appends `pk` to `out` in the framing; returns 0 or -1. */
static int append_packet(bytebuf *out, const eio_packet *pk, int binary_framing)
{
    int (*append)(bytebuf *, int, const uint8_t *, size_t) =
        binary_framing ? eio3_payload_append_binary : eio3_payload_append_text;
    if (pk->binary)
        return append(out, 1, pk->data, pk->len);
    bytebuf text = BYTEBUF_INIT;
    int rc = bytebuf_append_byte(&text, (uint8_t)('0' + pk->type)) ||
             bytebuf_append(&text, pk->data, pk->len) || append(out, 0, text.data, text.len);
    bytebuf_free(&text);
    return rc ? -1 : 0;
}

/* Decodes `body` and re-encodes the packets that decoded, up to the first error. */
static size_t reencode(const uint8_t *body, size_t len, int bf, bytebuf *out)
{
    bytebuf scratch = BYTEBUF_INIT;
    eio3_payload_iter it;
    eio_packet pk;
    size_t count = 0;
    eio3_payload_begin(&it, body, len, bf);
    while (eio3_payload_next(&it, &pk, &scratch) == EIO_OK) {
        if (append_packet(out, &pk, bf))
            abort();
        count++;
    }
    bytebuf_free(&scratch);
    return count;
}

/* The re-encoded payload must decode to the same `count` packets, then end. */
static void compare(const uint8_t *body, size_t len, int bf, const bytebuf *again, size_t count)
{
    bytebuf s1 = BYTEBUF_INIT, s2 = BYTEBUF_INIT;
    eio3_payload_iter a, b;
    eio_packet pa, pb;
    eio3_payload_begin(&a, body, len, bf);
    eio3_payload_begin(&b, again->data, again->len, bf);
    for (size_t i = 0; i < count; i++) {
        if (eio3_payload_next(&a, &pa, &s1) != EIO_OK || eio3_payload_next(&b, &pb, &s2) != EIO_OK)
            abort();
        if (!same_packet(&pa, &pb))
            abort();
    }
    if (eio3_payload_next(&b, &pb, &s2) != EIO_END)
        abort();
    bytebuf_free(&s1);
    bytebuf_free(&s2);
}

static void check_frames(const uint8_t *data, size_t size)
{
    eio_packet pk;
    bytebuf scratch = BYTEBUF_INIT;
    if (eio3_decode_text_frame(data, size, &pk, &scratch) == EIO_OK && (unsigned)pk.type > EIO_NOOP)
        abort();
    if (eio3_decode_binary_frame(data, size, &pk) == EIO_OK &&
        (pk.len != size - 1 || pk.data != data + 1 || !pk.binary))
        abort();
    bytebuf_free(&scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int bf = data[0] & 1;
    data++, size--;
    check_frames(data, size);
    bytebuf again = BYTEBUF_INIT;
    size_t count = reencode(data, size, bf, &again);
    if (count > 0)
        compare(data, size, bf, &again, count);
    bytebuf_free(&again);
    return 0;
}
