/* base64: see base64.h. */
#include "base64.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

static int is_b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Length without its padding (at most two '='), or SIZE_MAX when not base64. */
static size_t unpadded(const uint8_t *in, size_t len)
{
    size_t pad = 0;
    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    for (size_t i = 0; i < len; i++)
        if (!is_b64_char(in[i]))
            return SIZE_MAX;
    return len % 4 == 1 ? SIZE_MAX : len;
}

int base64_decode(const uint8_t *in, size_t len, bytebuf *out)
{
    if ((len = unpadded(in, len)) == SIZE_MAX)
        return -EINVAL;
    size_t pad = (4 - len % 4) % 4, padded = len + pad;
    if (padded > (size_t)INT32_MAX) /* EVP_DecodeBlock takes an int length */
        return -E2BIG;
    /* room for the padded text, then the decoded bytes after it */
    if (bytebuf_reserve(out, padded + padded / 4 * 3 + 1))
        return -ENOMEM;
    uint8_t *text = out->data + out->len, *bin = text + padded;
    memcpy(text, in, len);
    memset(text + len, '=', pad);
    int n = padded ? EVP_DecodeBlock(bin, text, (int)padded) : 0;
    if (n < 0)
        return -EINVAL;
    n -= (int)pad; /* EVP_DecodeBlock counts padding as zero bytes */
    memmove(text, bin, (size_t)n);
    out->len += (size_t)n;
    return 0;
}

int base64_encode(const uint8_t *in, size_t len, bytebuf *out)
{
    if (len > (size_t)INT32_MAX / 4 * 3)
        return -E2BIG;
    if (bytebuf_reserve(out, 4 * ((len + 2) / 3) + 1))
        return -ENOMEM;
    out->len += (size_t)EVP_EncodeBlock(out->data + out->len, in, (int)len);
    return 0;
}
