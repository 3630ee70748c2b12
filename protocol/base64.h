/* base64: the standard alphabet (RFC 4648 section 4) over OpenSSL's EVP
 * block codec, as Engine.IO's "b" packets and the backend proxy's attachments
 * carry binary. Decoding accepts missing padding, as Node's Buffer does, and
 * nothing else outside the alphabet (no whitespace, no base64url).
 *
 * Both append to `out` (bytebuf.h; the caller owns it) and return 0, -EINVAL
 * (not base64), -E2BIG (longer than an int: EVP's limit) or -ENOMEM; on error
 * `out` keeps its length (its capacity may have grown). */
#ifndef SIO_BASE64_H
#define SIO_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

int base64_decode(const uint8_t *in, size_t len, bytebuf *out);
int base64_encode(const uint8_t *in, size_t len, bytebuf *out);

#endif
