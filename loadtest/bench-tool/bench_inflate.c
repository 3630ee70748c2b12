/* bench_inflate: see bench_inflate.h. */
#include "bench_inflate.h"

#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST /* next_in is const */
#include <zlib.h>

struct bench_inflater {
    z_stream zs;
    int raw;
};

bench_inflater *bench_inflater_new(int raw)
{
    bench_inflater *z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    z->raw = raw;
    if (inflateInit2(&z->zs, raw ? -15 : 15 + 32) != Z_OK) {
        free(z);
        return NULL;
    }
    return z;
}

void bench_inflater_free(bench_inflater *z)
{
    if (!z)
        return;
    inflateEnd(&z->zs);
    free(z);
}

static int grow(uint8_t **out, size_t *cap, size_t need, size_t max)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    if (c > max + 1)
        c = max + 1;
    uint8_t *p = c >= need ? realloc(*out, c) : NULL;
    if (!p)
        return -1;
    *out = p;
    *cap = c;
    return 0;
}

/* Feeds n bytes; Z_OK / Z_STREAM_END / Z_BUF_ERROR (input used up) are fine. */
static int feed(bench_inflater *z, const uint8_t *in, size_t n, uint8_t **out, size_t *cap,
                size_t *len, size_t max)
{
    z->zs.next_in = in;
    z->zs.avail_in = (uInt)n;
    for (;;) {
        if (grow(out, cap, *len + 4096 < max + 1 ? *len + 4096 : max + 1, max))
            return -1;
        z->zs.next_out = *out + *len;
        z->zs.avail_out = (uInt)(*cap - *len);
        int r = inflate(&z->zs, Z_SYNC_FLUSH);
        *len = *cap - z->zs.avail_out;
        if (*len > max || (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR))
            return -1;
        if (z->zs.avail_in == 0 && z->zs.avail_out > 0)
            return 0;
        if (r == Z_STREAM_END)
            return z->zs.avail_in == 0 ? 0 : -1;
    }
}

int bench_inflate(bench_inflater *z, int reset, const uint8_t *in, size_t n, uint8_t **out,
                  size_t *cap, size_t *out_len, size_t max)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    if (reset && inflateReset(&z->zs) != Z_OK)
        return -1;
    *out_len = 0;
    if (feed(z, in, n, out, cap, out_len, max))
        return -1;
    return z->raw ? feed(z, tail, sizeof tail, out, cap, out_len, max) : 0;
}
