/* jwt: verification of compact JWS tokens (HS256 or RS256) for socket auth.
 * Strict parsing: exactly three non-empty canonical base64url segments (no
 * padding), a header whose "alg" equals the verifier's, no "crit", a payload
 * that is a JSON object without duplicate keys, numeric exp/nbf. OpenSSL does
 * the base64 decoding, the HMAC, the RSA verification and the constant-time
 * comparison; jansson parses the JSON. */
#include "jwt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bytebuf.h" /* SIO_UNCONST */

#define JWT_MAX_TOKEN 8192
/* Decoded size bound of one segment: 3 bytes per 4 characters, padding included. */
#define JWT_MAX_DECODED (JWT_MAX_TOKEN / 4 * 3 + 3)
#define JWT_MIN_RSA_BITS 2048 /* RFC 7518 3.3 */

enum jwt_alg { JWT_HS256, JWT_RS256 };

struct jwt_verifier {
    enum jwt_alg alg;
    unsigned char *secret; /* HS256 */
    size_t secret_len;
    EVP_PKEY *pkey; /* RS256 */
};

typedef struct span {
    const char *p;
    size_t n;
} span;

/* ---- verifiers ---------------------------------------------------------- */

jwt_verifier *jwt_verifier_hs256(const void *secret, size_t len)
{
    if (!secret || len == 0 || len > INT_MAX)
        return NULL;
    jwt_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->secret = malloc(len);
    if (!v->secret) {
        free(v);
        return NULL;
    }
    memcpy(v->secret, secret, len);
    v->secret_len = len;
    v->alg = JWT_HS256;
    return v;
}

/* A "PUBLIC KEY" PEM block, else the key of a "CERTIFICATE" block. */
static EVP_PKEY *read_pubkey(FILE *f)
{
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (k)
        return k;
    rewind(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    if (!x)
        return NULL;
    k = X509_get_pubkey(x);
    X509_free(x);
    return k;
}

static const char *check_rsa_key(EVP_PKEY *k)
{
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
        return "not an RSA key";
    if (EVP_PKEY_get_bits(k) < JWT_MIN_RSA_BITS)
        return "RSA key shorter than 2048 bits";
    return NULL;
}

/* The verifier of the key read from `f` (closed here). */
static jwt_verifier *rs256_from(FILE *f, const char *missing, const char **err)
{
    EVP_PKEY *k = read_pubkey(f);
    fclose(f);
    ERR_clear_error(); /* leave no failed PEM attempt in the thread's queue */
    if (!k) {
        *err = missing;
        return NULL;
    }
    const char *why = check_rsa_key(k);
    jwt_verifier *v = why ? NULL : calloc(1, sizeof *v);
    if (!v) {
        EVP_PKEY_free(k);
        *err = why ? why : "out of memory";
        return NULL;
    }
    v->alg = JWT_RS256;
    v->pkey = k;
    return v;
}

jwt_verifier *jwt_verifier_rs256_file(const char *pem_path, const char **err)
{
    const char *unused;
    if (!err)
        err = &unused;
    FILE *f = pem_path ? fopen(pem_path, "r") : NULL;
    if (!f) {
        *err = "cannot open key file";
        return NULL;
    }
    return rs256_from(f, "no PEM public key or certificate in key file", err);
}

jwt_verifier *jwt_verifier_rs256_pem(const char *pem, size_t len, const char **err)
{
    const char *unused;
    if (!err)
        err = &unused;
    FILE *f = pem && len ? fmemopen(SIO_UNCONST(char *, pem), len, "r") : NULL;
    if (!f) {
        *err = "no PEM text";
        return NULL;
    }
    return rs256_from(f, "no PEM public key or certificate in the text", err);
}

void jwt_verifier_free(jwt_verifier *v)
{
    if (!v)
        return;
    if (v->secret) {
        OPENSSL_cleanse(v->secret, v->secret_len);
        free(v->secret);
    }
    EVP_PKEY_free(v->pkey);
    free(v);
}

/* ---- base64url ------------------------------------------------------------ */

static int is_b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Non-empty, base64url alphabet only (so no '=' padding), a possible length. */
static int valid_segment(span s)
{
    if (s.n == 0 || s.n % 4 == 1)
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (!is_b64url_char((unsigned char)s.p[i]))
            return 0;
    return 1;
}

/* Decodes a valid_segment() (n <= JWT_MAX_TOKEN) into out[JWT_MAX_DECODED]:
 * translate to standard base64, re-pad, EVP_DecodeBlock, drop the pad bytes.
 * Non-canonical encodings (non-zero trailing bits) are rejected by re-encoding. */
static int b64url_decode(span s, unsigned char *out, size_t *out_len)
{
    unsigned char b64[JWT_MAX_TOKEN + 4];
    unsigned char again[JWT_MAX_TOKEN + 5];
    size_t pad = (4 - s.n % 4) % 4;
    for (size_t i = 0; i < s.n; i++)
        b64[i] = s.p[i] == '-' ? '+' : s.p[i] == '_' ? '/' : (unsigned char)s.p[i];
    memset(b64 + s.n, '=', pad);
    int total = (int)(s.n + pad);
    int n = EVP_DecodeBlock(out, b64, total);
    if (n < 0 || (size_t)n < pad)
        return -1;
    *out_len = (size_t)n - pad;
    if (EVP_EncodeBlock(again, out, (int)*out_len) != total || memcmp(again, b64, (size_t)total))
        return -1;
    return 0;
}

static json_t *decode_json(span s, unsigned char *buf)
{
    size_t n;
    if (b64url_decode(s, buf, &n) < 0)
        return NULL;
    return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

/* header "." payload "." signature, each a valid_segment(). */
static int split_token(const char *t, size_t len, span seg[3])
{
    size_t start = 0, k = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && t[i] != '.')
            continue;
        if (k == 3)
            return -1;
        seg[k].p = t + start;
        seg[k].n = i - start;
        if (!valid_segment(seg[k++]))
            return -1;
        start = i + 1;
    }
    return k == 3 ? 0 : -1;
}

/* ---- checks --------------------------------------------------------------- */

static const char *alg_name(enum jwt_alg a)
{
    return a == JWT_HS256 ? "HS256" : "RS256";
}

static const char *check_header(span s, enum jwt_alg want, unsigned char *buf)
{
    json_t *h = decode_json(s, buf);
    const char *why = NULL;
    const char *alg = json_is_object(h) ? json_string_value(json_object_get(h, "alg")) : NULL;
    if (!alg)
        why = "malformed header";
    else if (strcmp(alg, alg_name(want)) != 0)
        why = "algorithm mismatch";
    else if (json_object_get(h, "crit"))
        why = "unsupported critical header";
    json_decref(h);
    return why;
}

static int hs256_ok(const jwt_verifier *v, span data, const unsigned char *sig, size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), v->secret, (int)v->secret_len, (const unsigned char *)data.p,
              data.n, mac, &mac_len))
        return 0;
    int ok = sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    return ok;
}

static int rs256_ok(const jwt_verifier *v, span data, const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, v->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)data.p, data.n) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static const char *check_signature(const jwt_verifier *v, const span seg[3], unsigned char *buf)
{
    size_t sig_len;
    if (b64url_decode(seg[2], buf, &sig_len) < 0)
        return "malformed token";
    span data = {seg[0].p, (size_t)(seg[1].p + seg[1].n - seg[0].p)}; /* "header.payload" */
    int ok = v->alg == JWT_HS256 ? hs256_ok(v, data, buf, sig_len) : rs256_ok(v, data, buf, sig_len);
    return ok ? NULL : "bad signature";
}

/* Sign of (claim - now); the claim is a JSON number. */
static int time_cmp(const json_t *t, int64_t now)
{
    if (json_is_integer(t)) {
        json_int_t x = json_integer_value(t);
        return (x > now) - (x < now);
    }
    double x = json_real_value(t);
    return (x > (double)now) - (x < (double)now);
}

static const char *check_times(const json_t *claims, int64_t now)
{
    const json_t *exp = json_object_get(claims, "exp");
    const json_t *nbf = json_object_get(claims, "nbf");
    if (exp && !json_is_number(exp))
        return "bad exp claim";
    if (nbf && !json_is_number(nbf))
        return "bad nbf claim";
    if (exp && time_cmp(exp, now) <= 0)
        return "token expired";
    if (nbf && time_cmp(nbf, now) > 0)
        return "token not yet valid";
    return NULL;
}

/* ---- entry points --------------------------------------------------------- */

static const char *verify(const jwt_verifier *v, const char *token, size_t len, int64_t now,
                          json_t **claims)
{
    unsigned char buf[JWT_MAX_DECODED];
    span seg[3];
    if (!token || len > JWT_MAX_TOKEN)
        return len > JWT_MAX_TOKEN ? "token too long" : "malformed token";
    if (split_token(token, len, seg) < 0)
        return "malformed token";
    const char *why = check_header(seg[0], v->alg, buf);
    if (!why)
        why = check_signature(v, seg, buf);
    if (why)
        return why;
    json_t *payload = decode_json(seg[1], buf);
    if (!json_is_object(payload))
        why = "payload is not a JSON object";
    else
        why = check_times(payload, now);
    if (why)
        json_decref(payload);
    else
        *claims = payload;
    return why;
}

int jwt_verify(const jwt_verifier *v, const char *token, size_t len, int64_t now,
               json_t **claims, const char **err)
{
    json_t *got = NULL;
    if (claims)
        *claims = NULL;
    const char *why = v ? verify(v, token, len, now, &got) : "no verifier";
    if (err)
        *err = why;
    if (why)
        return -1;
    if (claims)
        *claims = got;
    else
        json_decref(got);
    return 0;
}

const char **jwt_claim_string_list(json_t *claims, const char *name)
{
    json_t *a = json_object_get(claims, name);
    if (!json_is_array(a))
        return NULL;
    size_t n = json_array_size(a);
    const char **list = calloc(n + 1, sizeof *list);
    if (!list)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        list[i] = json_string_value(json_array_get(a, i));
        if (!list[i]) {
            free(list);
            return NULL;
        }
    }
    return list;
}
