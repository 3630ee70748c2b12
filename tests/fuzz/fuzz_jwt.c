/* fuzz_jwt: JWT verification for socket auth (server/gateway/jwt.c), with an
 * HS256 verifier. The first input byte picks the mode:
 *   even: the rest is a token, verified as it is;
 *   odd:  the rest is "<header>.<payload>" in base64url, which the harness
 *         signs with the verifier's own secret, so the signature is right and
 *         the header, payload and claims checks are what is exercised.
 * The next 8 bytes (big-endian) are `now` when present.
 *
 * Invariants: a refusal gives a reason and no claims; an accepted token has
 * an object of claims, its header says "alg":"HS256" (never "none", never
 * RS256 against an HMAC key), and any change to its signature is refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"

static const char secret[] = "fuzz-secret";

static size_t b64url(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = a[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    return o;
}

/* A decoded header that names HS256 (the harness's own small decoder). */
static int header_is_hs256(const char *tok, size_t len)
{
    const char *dot = memchr(tok, '.', len);
    if (!dot)
        return 0;
    size_t n = (size_t)(dot - tok);
    unsigned char *raw = malloc(n + 4);
    char *padded = malloc(n + 4);
    size_t pl = 0;
    for (size_t i = 0; i < n; i++)
        padded[pl++] = tok[i] == '-' ? '+' : tok[i] == '_' ? '/' : tok[i];
    while (pl % 4)
        padded[pl++] = '=';
    int rl = EVP_DecodeBlock(raw, (const unsigned char *)padded, (int)pl);
    int ok = 0;
    if (rl >= 0) {
        json_error_t e;
        json_t *h = json_loadb((const char *)raw, (size_t)rl - (pl - n), 0, &e);
        const char *alg = json_string_value(json_object_get(h, "alg"));
        ok = alg && strcmp(alg, "HS256") == 0;
        json_decref(h);
    }
    free(raw);
    free(padded);
    return ok;
}

static void check(const jwt_verifier *v, char *tok, size_t len, int64_t now)
{
    json_t *claims = NULL;
    const char *err = NULL;
    if (jwt_verify(v, tok, len, now, &claims, &err) < 0) {
        if (!err || claims)
            abort();
        return;
    }
    if (!json_is_object(claims) || !header_is_hs256(tok, len))
        abort();
    json_decref(claims);
    /* flip one bit of the signature's last character: refused */
    const char *last_dot = NULL;
    for (size_t i = 0; i < len; i++)
        if (tok[i] == '.')
            last_dot = tok + i;
    if (!last_dot || (size_t)(last_dot - tok) + 1 >= len)
        abort();
    tok[len - 1] = tok[len - 1] == 'A' ? 'B' : 'A';
    claims = NULL;
    if (jwt_verify(v, tok, len, now, &claims, &err) == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static jwt_verifier *v;
    if (!v)
        v = jwt_verifier_hs256(secret, sizeof(secret) - 1);
    if (size < 1 || size > 8192)
        return 0;
    int sign = data[0] & 1;
    data++, size--;
    int64_t now = 1700000000;
    if (size >= 8) {
        now = 0;
        for (int i = 0; i < 8; i++)
            now = (int64_t)((uint64_t)now << 8 | data[i]);
        data += 8, size -= 8;
    }
    char *tok = malloc(size + 64);
    memcpy(tok, data, size);
    size_t len = size;
    if (sign) {
        unsigned char mac[32];
        unsigned int mac_len = 0;
        HMAC(EVP_sha256(), secret, sizeof(secret) - 1, data, size, mac, &mac_len);
        tok[len++] = '.';
        len += b64url(mac, mac_len, tok + len);
    }
    check(v, tok, len, now);
    free(tok);
    return 0;
}
