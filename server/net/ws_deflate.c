/* ws_deflate: shared zlib streams for permessage-deflate. See ws_deflate.h.
 * zlib because RFC 7692's raw deflate (and gzip, http_compress.c) is its
 * format, and libwebsockets depends on it already. */
#include "ws_deflate.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include <zlib.h>

#define MIN_BITS 9
#define MAX_BITS 15
#define OUT_CHUNK (16 * 1024)

static z_stream deflaters[MAX_BITS + 1]; /* by window bits, edge thread */
static uint8_t deflater_ready[MAX_BITS + 1];
static z_stream inflater;
static uint8_t inflater_ready;
static atomic_ulong compressed; /* what /metrics shows */

static const uint8_t trailer[4] = {0x00, 0x00, 0xff, 0xff};

unsigned long ws_deflate_total(void)
{
    return atomic_load(&compressed);
}

/* ---- deflate ------------------------------------------------------------------------ */

static z_stream *deflater(int bits)
{
    if (bits < MIN_BITS || bits > MAX_BITS)
        return NULL;
    z_stream *z = &deflaters[bits];
    if (deflater_ready[bits])
        return deflateReset(z) == Z_OK ? z : NULL;
    memset(z, 0, sizeof(*z));
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    deflater_ready[bits] = 1;
    return z;
}

int ws_deflate_message(const uint8_t *in, size_t len, int bits, bytebuf *out)
{
    z_stream *z = deflater(bits);
    if (!z || len > UINT32_MAX)
        return z ? -EINVAL : -ENOMEM;
    size_t start = out->len, bound = deflateBound(z, (uLong)len) + 16;
    if (bytebuf_reserve(out, bound))
        return -ENOMEM;
    z->next_in = SIO_UNCONST(Bytef *, in);
    z->avail_in = (uInt)len;
    z->next_out = out->data + start;
    z->avail_out = (uInt)bound;
    int rc = deflate(z, Z_SYNC_FLUSH); /* the bound leaves room for all of it */
    size_t n = bound - z->avail_out;
    if (rc != Z_OK || z->avail_in || !z->avail_out || n < 4 || memcmp(out->data + start + n - 4, trailer, 4))
        return -ENOMEM;
    out->len = start + n - 4;
    return 0;
}

const frame *ws_deflate_frame(frame *f, int bits)
{
    const frame *twin = frame_twin(f, (uint8_t)bits);
    if (twin)
        return twin;
    bytebuf z = BYTEBUF_INIT;
    frame *made = NULL;
    if (ws_deflate_message(frame_cbytes(f), f->len, bits, &z) == 0)
        made = frame_new_twin(f, (uint8_t)bits, z.data, z.len);
    bytebuf_free(&z);
    if (!made)
        return NULL;
    atomic_fetch_add(&compressed, 1);
    return frame_twin_store(f, made);
}

/* ---- inflate ------------------------------------------------------------------------ */

static z_stream *shared_inflater(void)
{
    if (inflater_ready)
        return inflateReset(&inflater) == Z_OK ? &inflater : NULL;
    memset(&inflater, 0, sizeof(inflater));
    if (inflateInit2(&inflater, -MAX_BITS) != Z_OK)
        return NULL;
    inflater_ready = 1;
    return &inflater;
}

/* Room for the next output: up to OUT_CHUNK, never past max + 1 bytes in all
 * (one byte more than allowed tells that the message is too big). */
static int grow(z_stream *z, bytebuf *out, size_t max)
{
    size_t room = max + 1 - out->len;
    room = room < OUT_CHUNK ? room : OUT_CHUNK;
    if (bytebuf_reserve(out, room))
        return -ENOMEM;
    z->next_out = out->data + out->len;
    z->avail_out = (uInt)room;
    return 0;
}

/* Inflates all of z's input and the output it holds; 1 when the stream
 * ended (a final block). */
static int inflate_input(z_stream *z, bytebuf *out, size_t max)
{
    for (;;) {
        if (out->len > max)
            return -EMSGSIZE; /* stopped here: the rest is never inflated */
        if (grow(z, out, max))
            return -ENOMEM;
        uInt room = z->avail_out;
        int rc = inflate(z, Z_SYNC_FLUSH);
        out->len += room - z->avail_out;
        if (rc == Z_STREAM_END)
            return out->len > max ? -EMSGSIZE : 1;
        if (rc == Z_MEM_ERROR)
            return -ENOMEM;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -EINVAL;
        if (!z->avail_in && z->avail_out)
            return out->len > max ? -EMSGSIZE : 0; /* all in, nothing held back */
    }
}

int ws_inflate_message(const uint8_t *in, size_t len, size_t max, bytebuf *out)
{
    z_stream *z = shared_inflater();
    out->len = 0;
    if (!z)
        return -ENOMEM;
    if (len > UINT32_MAX)
        return -EMSGSIZE;
    z->next_in = SIO_UNCONST(Bytef *, in);
    z->avail_in = (uInt)len;
    int rc = inflate_input(z, out, max);
    if (rc)
        return rc < 0 ? rc : 0; /* a final block ends it; the trailer is not needed */
    z->next_in = SIO_UNCONST(Bytef *, trailer);
    z->avail_in = sizeof(trailer);
    rc = inflate_input(z, out, max);
    return rc < 0 ? rc : 0;
}
