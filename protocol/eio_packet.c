#include "eio_packet.h"

#include <errno.h>
#include <string.h>

#include "base64.h"

#define EIO_SEPARATOR 0x1e

eio_status eio_decode_text_frame(const uint8_t *frame, size_t len, eio_packet *out)
{
    if (len == 0)
        return EIO_ERR_EMPTY;
    if (frame[0] < '0' || frame[0] > '6')
        return EIO_ERR_TYPE;
    out->type = (eio_packet_type)(frame[0] - '0');
    out->binary = 0;
    out->data = frame + 1;
    out->len = len - 1;
    return EIO_OK;
}

void eio_decode_binary_frame(const uint8_t *frame, size_t len, eio_packet *out)
{
    out->type = EIO_MESSAGE;
    out->binary = 1;
    out->data = frame;
    out->len = len;
}

void eio_payload_begin(eio_payload_iter *it, const uint8_t *body, size_t len)
{
    it->p = body;
    it->end = len ? body + len : body; /* body may be NULL when empty */
    it->started = 0;
}

/* Decodes base64 (padding optional, as Node's Buffer accepts) into scratch. */
static eio_status decode_base64(const uint8_t *in, size_t len, bytebuf *scratch)
{
    scratch->len = 0;
    int rc = base64_decode(in, len, scratch);
    return rc == 0 ? EIO_OK : rc == -ENOMEM ? EIO_ERR_NOMEM : EIO_ERR_BASE64;
}

eio_status eio_payload_next(eio_payload_iter *it, eio_packet *out, bytebuf *scratch)
{
    if (it->started && it->p >= it->end)
        return EIO_END;
    if (it->started)
        it->p++; /* skip the separator that ended the previous packet */
    it->started = 1;
    const uint8_t *start = it->p;
    size_t left = (size_t)(it->end - start);
    const uint8_t *sep = left ? memchr(start, EIO_SEPARATOR, left) : NULL;
    const uint8_t *stop = sep ? sep : it->end;
    size_t len = (size_t)(stop - start);
    it->p = stop;
    if (len == 0)
        return EIO_ERR_EMPTY;
    if (start[0] == 'b') {
        eio_status st = decode_base64(start + 1, len - 1, scratch);
        if (st != EIO_OK)
            return st;
        out->type = EIO_MESSAGE;
        out->binary = 1;
        out->data = scratch->data;
        out->len = scratch->len;
        return EIO_OK;
    }
    return eio_decode_text_frame(start, len, out);
}

int eio_payload_append(bytebuf *out, int binary, const uint8_t *data, size_t len)
{
    /* Reserve the whole packet before writing the separator, so that a failure
     * (no memory, over the limit) leaves the payload unchanged. */
    size_t sep = out->len > 0 ? 1 : 0;
    if (binary && len > (size_t)INT32_MAX / 4 * 3) /* base64_encode's bound */
        return -1;
    size_t enc = binary ? 1 + 4 * ((len + 2) / 3) : len;
    if (bytebuf_reserve(out, sep + enc + binary))
        return -1;
    if (sep)
        out->data[out->len++] = EIO_SEPARATOR;
    if (!binary)
        return bytebuf_append(out, data, len);
    out->data[out->len++] = 'b';
    return base64_encode(data, len, out) ? -1 : 0;
}

const char *eio_status_str(eio_status st)
{
    switch (st) {
    case EIO_OK: return "ok";
    case EIO_END: return "end";
    case EIO_ERR_EMPTY: return "empty packet";
    case EIO_ERR_TYPE: return "unknown packet type";
    case EIO_ERR_BASE64: return "invalid base64";
    case EIO_ERR_NOMEM: return "out of memory";
    case EIO_ERR_FRAMING: return "bad payload framing";
    }
    return "?";
}
