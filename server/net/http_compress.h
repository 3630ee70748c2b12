/* http_compress: Content-Encoding for HTTP responses (long-polling bodies).
 *
 * http_pick_encoding() chooses between gzip and deflate from a request's
 * Accept-Encoding exactly as npm accepts(req).encodings(["gzip", "deflate"])
 * (negotiator 0.6) does for engine.io: q-values, "*", the header's order and
 * then ours breaking ties; q=0, identity only, or no header: none.
 * http_compress() encodes a body: gzip (RFC 1952) or deflate as Node's
 * zlib.createDeflate() makes it (the zlib format, RFC 1950).
 *
 * Two shared zlib streams (one per encoding, reset per body), the edge
 * thread's: no zlib state per request. Errors: 0 or a negative errno. */
#ifndef SIO_NET_HTTP_COMPRESS_H
#define SIO_NET_HTTP_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

enum http_encoding { HTTP_ENC_NONE, HTTP_ENC_GZIP, HTTP_ENC_DEFLATE };

/* `accept`: the Accept-Encoding value (NULL when absent). */
enum http_encoding http_pick_encoding(const char *accept, size_t len);
/* The Content-Encoding token of an encoding ("gzip", "deflate"). */
const char *http_encoding_name(enum http_encoding e);
/* Appends the encoded `in` to `out`. */
int http_compress(enum http_encoding e, const void *in, size_t len, bytebuf *out);

#endif
