#include "eio_packet.h"

#include <string.h>

#include <openssl/evp.h>

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

static int is_b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Decodes base64 (padding optional, as Node's Buffer accepts) into scratch. */
static eio_status decode_base64(const uint8_t *in, size_t len, bytebuf *scratch)
{
    size_t pad_in = 0;
    while (len > 0 && in[len - 1] == '=' && pad_in < 2) {
        len--;
        pad_in++;
    }
    for (size_t i = 0; i < len; i++)
        if (!is_b64_char(in[i]))
            return EIO_ERR_BASE64;
    if (len % 4 == 1)
        return EIO_ERR_BASE64;
    size_t pad = (4 - len % 4) % 4;
    size_t padded = len + pad;
    if (padded > (size_t)INT32_MAX) /* EVP_DecodeBlock takes an int length */
        return EIO_ERR_BASE64;
    scratch->len = 0;
    /* room for the padded text, then the decoded bytes after it */
    if (bytebuf_reserve(scratch, padded + padded / 4 * 3 + 1))
        return EIO_ERR_NOMEM;
    uint8_t *text = scratch->data;
    memcpy(text, in, len);
    memset(text + len, '=', pad);
    uint8_t *bin = scratch->data + padded;
    int n = padded ? EVP_DecodeBlock(bin, text, (int)padded) : 0;
    if (n < 0)
        return EIO_ERR_BASE64;
    n -= (int)pad; /* EVP_DecodeBlock counts padding as zero bytes */
    memmove(scratch->data, bin, (size_t)n);
    scratch->len = (size_t)n;
    return EIO_OK;
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
    if (binary && len > (size_t)INT32_MAX)
        return -1;
    size_t enc = binary ? 1 + 4 * ((len + 2) / 3) : len;
    if (bytebuf_reserve(out, sep + enc + binary))
        return -1;
    if (sep)
        out->data[out->len++] = EIO_SEPARATOR;
    if (!binary)
        return bytebuf_append(out, data, len);
    out->data[out->len++] = 'b';
    out->len += (size_t)EVP_EncodeBlock(out->data + out->len, data, (int)len);
    return 0;
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
    }
    return "?";
}
