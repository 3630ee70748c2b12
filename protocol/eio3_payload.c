/* eio3_payload: the Engine.IO v3 codec. See eio3_payload.h. */
#include "eio3_payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"

/* ---- one character of UTF-8 ------------------------------------------------- */

/* Bytes of the sequence led by `c`; any other byte (a stray continuation
 * byte, 0xF8-0xFF) stands alone, as one unit. */
static size_t utf8_seq_len(uint8_t c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 1;
}

size_t eio3_utf16_len(const uint8_t *s, size_t len)
{
    size_t units = 0;
    for (size_t i = 0; i < len;) { /* the walk utf16_span() makes */
        size_t n = utf8_seq_len(s[i]);
        units += n == 4 ? 2 : 1;
        i += n < len - i ? n : len - i;
    }
    return units;
}

/* The bytes that hold `units` UTF-16 units from p, or -1 when the input ends
 * first or a surrogate pair would be split. */
static long utf16_span(const uint8_t *p, const uint8_t *end, size_t units)
{
    const uint8_t *q = p;
    while (units > 0) {
        if (q >= end)
            return -1;
        size_t n = utf8_seq_len(*q), u = n == 4 ? 2 : 1;
        if (u > units || n > (size_t)(end - q))
            return -1;
        q += n;
        units -= u;
    }
    return (long)(q - p);
}

/* ---- packets ---------------------------------------------------------------- */

eio_status eio3_decode_text_frame(const uint8_t *frame, size_t len, eio_packet *out,
                                  bytebuf *scratch)
{
    if (len == 0 || frame[0] != 'b')
        return eio_decode_text_frame(frame, len, out);
    if (len < 2 || frame[1] != '0' + EIO_MESSAGE)
        return EIO_ERR_TYPE;
    scratch->len = 0;
    int rc = base64_decode(frame + 2, len - 2, scratch);
    if (rc)
        return rc == -ENOMEM ? EIO_ERR_NOMEM : EIO_ERR_BASE64;
    *out = (eio_packet){EIO_MESSAGE, 1, scratch->data, scratch->len};
    return EIO_OK;
}

eio_status eio3_decode_binary_frame(const uint8_t *frame, size_t len, eio_packet *out)
{
    if (len == 0)
        return EIO_ERR_EMPTY;
    if (frame[0] != EIO_MESSAGE)
        return EIO_ERR_TYPE;
    *out = (eio_packet){EIO_MESSAGE, 1, frame + 1, len - 1};
    return EIO_OK;
}

/* ---- the payload iterator ------------------------------------------------------ */

void eio3_payload_begin(eio3_payload_iter *it, const uint8_t *body, size_t len,
                        int binary_framing)
{
    it->p = body;
    it->end = len ? body + len : body;
    it->binary_framing = binary_framing ? 1 : 0;
    it->started = 0;
}

/* Reads the digits of a length up to `stop`; `ascii` 1: '0'-'9', 0: bytes 0-9. */
static eio_status read_length(eio3_payload_iter *it, uint8_t stop, int ascii, size_t *n)
{
    size_t v = 0, digits = 0;
    const uint8_t *p = it->p;
    for (; p < it->end && *p != stop; p++, digits++) {
        unsigned d = ascii ? (unsigned)(*p - '0') : *p;
        if (d > 9 || digits == EIO3_MAX_LENGTH_DIGITS)
            return EIO_ERR_FRAMING;
        v = v * 10 + d;
    }
    if (p == it->end || digits == 0)
        return EIO_ERR_FRAMING;
    it->p = p + 1;
    *n = v;
    return v ? EIO_OK : EIO_ERR_EMPTY;
}

static eio_status next_text(eio3_payload_iter *it, eio_packet *out, bytebuf *scratch)
{
    size_t units;
    eio_status st = read_length(it, ':', 1, &units);
    if (st != EIO_OK)
        return st;
    long bytes = utf16_span(it->p, it->end, units);
    if (bytes < 0)
        return EIO_ERR_FRAMING;
    const uint8_t *packet = it->p;
    it->p += bytes;
    return eio3_decode_text_frame(packet, (size_t)bytes, out, scratch);
}

static eio_status next_binary(eio3_payload_iter *it, eio_packet *out, bytebuf *scratch)
{
    uint8_t kind = *it->p++;
    size_t n;
    if (kind > 1)
        return EIO_ERR_FRAMING;
    eio_status st = read_length(it, 0xFF, 0, &n);
    if (st != EIO_OK)
        return st;
    if (n > (size_t)(it->end - it->p))
        return EIO_ERR_FRAMING;
    const uint8_t *packet = it->p;
    it->p += n;
    return kind ? eio3_decode_binary_frame(packet, n, out)
                : eio3_decode_text_frame(packet, n, out, scratch);
}

eio_status eio3_payload_next(eio3_payload_iter *it, eio_packet *out, bytebuf *scratch)
{
    if (it->p >= it->end)
        return it->started ? EIO_END : EIO_ERR_EMPTY;
    it->started = 1;
    eio_status st = it->binary_framing ? next_binary(it, out, scratch) : next_text(it, out, scratch);
    if (st < 0)
        it->p = it->end; /* nothing after an error is read */
    return st;
}

/* ---- encoders ------------------------------------------------------------------- */

static size_t base64_len(size_t len)
{
    return 4 * ((len + 2) / 3);
}

int eio3_payload_append_text(bytebuf *out, int binary, const uint8_t *data, size_t len)
{
    if (binary && len > (size_t)INT32_MAX / 4 * 3) /* base64_encode's bound */
        return -1;
    size_t units = binary ? 2 + base64_len(len) : eio3_utf16_len(data, len);
    char prefix[24];
    int pl = snprintf(prefix, sizeof prefix, "%zu:", units);
    size_t body = binary ? 2 + base64_len(len) : len;
    if (bytebuf_reserve(out, (size_t)pl + body) || bytebuf_append(out, prefix, (size_t)pl))
        return -1;
    if (!binary)
        return bytebuf_append(out, data, len);
    return bytebuf_append(out, "b4", 2) || base64_encode(data, len, out) ? -1 : 0;
}

int eio3_payload_append_binary(bytebuf *out, int binary, const uint8_t *data, size_t len)
{
    char digits[24];
    size_t total = len + (binary ? 1 : 0);
    int nd = snprintf(digits, sizeof digits, "%zu", total);
    if (bytebuf_reserve(out, 2 + (size_t)nd + total))
        return -1;
    out->data[out->len++] = binary ? 1 : 0;
    for (int i = 0; i < nd; i++)
        out->data[out->len++] = (uint8_t)(digits[i] - '0');
    out->data[out->len++] = 0xFF;
    if (binary)
        out->data[out->len++] = EIO_MESSAGE;
    return bytebuf_append(out, data, len);
}
