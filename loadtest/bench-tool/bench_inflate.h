/* bench_inflate: decompression for the clients (zlib): permessage-deflate
 * messages (RFC 7692: raw deflate, the 00 00 ff ff tail put back) and
 * Content-Encoding gzip / deflate polling responses. The output buffer is the
 * caller's and grows; nothing is kept between calls but the stream itself. */
#ifndef SIO_BENCH_INFLATE_H
#define SIO_BENCH_INFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_inflater bench_inflater;

/* raw: permessage-deflate (raw deflate); else gzip or zlib (detected). NULL when out of memory. */
bench_inflater *bench_inflater_new(int raw);
void bench_inflater_free(bench_inflater *z);
/* Inflates in[0..n) into *out (realloc'd, *cap bytes), *out_len set; at most
 * max bytes. reset: start from an empty window (no context takeover, or a new
 * HTTP body). Returns 0, or -1 (corrupt, too large, out of memory). */
int bench_inflate(bench_inflater *z, int reset, const uint8_t *in, size_t n, uint8_t **out,
                  size_t *cap, size_t *out_len, size_t max);

#endif
