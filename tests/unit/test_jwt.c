/* test_jwt: unit tests of JWT verification (server/jwt.c). Tokens are signed
 * here with OpenSSL (HMAC, EVP_DigestSign with the fixture private key) so
 * that exp/nbf are relative to now; fixtures signed by node's crypto check
 * interoperability with an independent implementation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "check.h"
#include "jwt.h"

CHECK_STATE;

#define FIXTURE(name) SIO_FIXTURES_DIR "/" name
#define SECRET "correct horse battery staple"

/* ---- token construction ----------------------------------------------------- */

static char *b64url(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* "b64(header).b64(payload)" */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    char *out = malloc(strlen(h) + strlen(p) + 2);
    sprintf(out, "%s.%s", h, p);
    free(h);
    free(p);
    return out;
}

static char *append_sig(char *data, const unsigned char *sig, size_t sig_len)
{
    char *s = b64url(sig, sig_len);
    char *out = malloc(strlen(data) + strlen(s) + 2);
    sprintf(out, "%s.%s", data, s);
    free(s);
    free(data);
    return out;
}

static char *make_hs256(const char *header, const char *payload, const char *secret)
{
    char *data = signing_input(header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)data, strlen(data), mac,
         &mac_len);
    return append_sig(data, mac, mac_len);
}

static EVP_PKEY *load_private_key(void)
{
    FILE *f = fopen(FIXTURE("rsa_private.pem"), "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static char *make_rs256(const char *header, const char *payload, EVP_PKEY *key)
{
    char *data = signing_input(header, payload);
    unsigned char sig[1024];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, sig, &sig_len, (unsigned char *)data, strlen(data)) != 1)
        sig_len = 0;
    EVP_MD_CTX_free(ctx);
    return append_sig(data, sig, sig_len);
}

/* The whole file, without trailing line breaks ("" when unreadable). */
static char *read_fixture(const char *path)
{
    enum { CAP = 8192 };
    char *buf = calloc(1, CAP);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, CAP - 1, f) : 0;
    if (f)
        fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

static char *fmt(const char *format, long long a)
{
    char *out = malloc(512);
    snprintf(out, 512, format, a);
    return out;
}

/* ---- verification helpers ----------------------------------------------------- */

static const char *HS = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char *RS = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";

/* Verifies token; returns the error ("" on success) and drops the claims. */
static const char *verify_err(const jwt_verifier *v, const char *token, int64_t now)
{
    json_t *claims = (json_t *)1;
    const char *err = "unset";
    int rc = jwt_verify(v, token, strlen(token), now, &claims, &err);
    if (rc == 0) {
        CHECK(claims != NULL && json_is_object(claims));
        json_decref(claims);
        return "";
    }
    CHECK(rc < 0 && claims == NULL && err != NULL && err[0] != '\0');
    return err ? err : "(null)";
}

#define CHECK_VERIFY(v, token, now, want)                                          \
    do {                                                                           \
        const char *got_ = verify_err((v), (token), (now));                        \
        CHECK(strcmp(got_, (want)) == 0);                                          \
        if (strcmp(got_, (want)) != 0)                                             \
            fprintf(stderr, "  got \"%s\", want \"%s\"\n", got_, (want));          \
    } while (0)

/* Like CHECK_VERIFY but owns (frees) the token. */
#define CHECK_VERIFY_FREE(v, token, now, want)                                     \
    do {                                                                           \
        char *tok_ = (token);                                                      \
        CHECK_VERIFY((v), tok_, (now), (want));                                    \
        free(tok_);                                                                \
    } while (0)

/* ---- HS256 ---------------------------------------------------------------------- */

static void test_hs256_valid(const jwt_verifier *v, int64_t now)
{
    char *payload = fmt("{\"sub\":\"u1\",\"exp\":%lld,\"rooms\":[\"news\",\"chat:*\"],"
                        "\"mixed\":[\"a\",1],\"none\":[]}",
                        (long long)now + 3600);
    char *token = make_hs256(HS, payload, SECRET);
    json_t *claims = NULL;
    const char *err = "unset";
    CHECK(jwt_verify(v, token, strlen(token), now, &claims, &err) == 0);
    CHECK(err == NULL);
    CHECK(claims && strcmp(json_string_value(json_object_get(claims, "sub")), "u1") == 0);

    const char **rooms = jwt_claim_string_list(claims, "rooms");
    CHECK(rooms && rooms[0] && strcmp(rooms[0], "news") == 0 && rooms[1] &&
          strcmp(rooms[1], "chat:*") == 0 && rooms[2] == NULL);
    free(rooms);
    const char **none = jwt_claim_string_list(claims, "none");
    CHECK(none && none[0] == NULL);
    free(none);
    CHECK(jwt_claim_string_list(claims, "mixed") == NULL);
    CHECK(jwt_claim_string_list(claims, "sub") == NULL);
    CHECK(jwt_claim_string_list(claims, "absent") == NULL);
    CHECK(jwt_claim_string_list(NULL, "rooms") == NULL);
    json_decref(claims);

    /* claims and err may be NULL */
    CHECK(jwt_verify(v, token, strlen(token), now, NULL, NULL) == 0);
    /* a prefix of the token is not a token */
    CHECK(jwt_verify(v, token, strlen(token) - 3, now, NULL, NULL) < 0);
    free(token);
    free(payload);

    CHECK_VERIFY_FREE(v, make_hs256(HS, "{}", SECRET), now, "");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"HS256\"}", "{\"a\":1}", SECRET), now, "");
}

static void test_hs256_signature(const jwt_verifier *v, int64_t now)
{
    char *good = make_hs256(HS, "{\"sub\":\"u1\"}", SECRET);
    char *evil = make_hs256(HS, "{\"sub\":\"admin\"}", SECRET);

    /* evil payload with good's signature */
    char *mix = malloc(strlen(good) + strlen(evil) + 1);
    size_t e_sig = (size_t)(strrchr(evil, '.') - evil);
    size_t g_sig = (size_t)(strrchr(good, '.') - good);
    sprintf(mix, "%.*s%s", (int)e_sig, evil, good + g_sig);
    CHECK_VERIFY(v, mix, now, "bad signature");

    /* one signature character changed (the first: stays canonical) */
    char *flip = strdup(good);
    flip[g_sig + 1] = flip[g_sig + 1] == 'A' ? 'B' : 'A';
    CHECK_VERIFY(v, flip, now, "bad signature");

    /* signature of the wrong length */
    char *shortsig = strdup(good);
    shortsig[g_sig + 1 + 40] = '\0';
    CHECK_VERIFY(v, shortsig, now, "bad signature");

    CHECK_VERIFY_FREE(v, make_hs256(HS, "{\"sub\":\"u1\"}", "wrong secret"), now, "bad signature");
    CHECK_VERIFY_FREE(v, make_hs256(HS, "{\"sub\":\"u1\"}", SECRET "x"), now, "bad signature");

    jwt_verifier *other = jwt_verifier_hs256("wrong secret", 12);
    CHECK(other != NULL);
    CHECK_VERIFY(other, good, now, "bad signature");
    jwt_verifier_free(other);

    free(good);
    free(evil);
    free(mix);
    free(flip);
    free(shortsig);
}

static void test_hs256_header(const jwt_verifier *v, int64_t now)
{
    /* alg none, with and without a signature */
    char *none = signing_input("{\"alg\":\"none\"}", "{\"sub\":\"admin\"}");
    size_t n = strlen(none);
    char *none_dot = malloc(n + 2);
    sprintf(none_dot, "%s.", none);
    CHECK_VERIFY(v, none_dot, now, "malformed token");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"none\"}", "{}", SECRET), now, "algorithm mismatch");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"None\"}", "{}", SECRET), now, "algorithm mismatch");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"hs256\"}", "{}", SECRET), now, "algorithm mismatch");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"HS512\"}", "{}", SECRET), now, "algorithm mismatch");
    CHECK_VERIFY_FREE(v, make_hs256(RS, "{}", SECRET), now, "algorithm mismatch");
    free(none);
    free(none_dot);

    CHECK_VERIFY_FREE(v, make_hs256("{\"typ\":\"JWT\"}", "{}", SECRET), now, "malformed header");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":256}", "{}", SECRET), now, "malformed header");
    CHECK_VERIFY_FREE(v, make_hs256("[\"HS256\"]", "{}", SECRET), now, "malformed header");
    CHECK_VERIFY_FREE(v, make_hs256("alg=HS256", "{}", SECRET), now, "malformed header");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", "{}", SECRET), now,
                      "malformed header");
    CHECK_VERIFY_FREE(v, make_hs256("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{}", SECRET), now,
                      "unsupported critical header");
}

static void test_hs256_times(const jwt_verifier *v, int64_t now)
{
    static const struct {
        const char *payload;
        long long offset;
        const char *want;
    } cases[] = {
        {"{\"exp\":%lld}", 3600, ""},
        {"{\"exp\":%lld}", 1, ""},
        {"{\"exp\":%lld}", 0, "token expired"}, /* exp must be > now */
        {"{\"exp\":%lld}", -1, "token expired"},
        {"{\"exp\":%lld.5}", 0, ""},
        {"{\"exp\":%lld.5}", -1, "token expired"},
        {"{\"nbf\":%lld}", 0, ""},
        {"{\"nbf\":%lld}", -60, ""},
        {"{\"nbf\":%lld}", 1, "token not yet valid"},
        {"{\"nbf\":%lld}", 60, "token not yet valid"},
        {"{\"nbf\":%lld,\"exp\":1}", -60, "token expired"},
        {"{\"exp\":\"%lld\"}", 3600, "bad exp claim"},
        {"{\"nbf\":\"%lld\"}", -60, "bad nbf claim"},
        {"{\"exp\":null,\"x\":%lld}", 0, "bad exp claim"},
        {"{\"exp\":true,\"x\":%lld}", 0, "bad exp claim"},
        {"{\"nbf\":[%lld]}", 0, "bad nbf claim"},
        {"{\"exp\":%lld,\"exp\":1}", 3600, "payload is not a JSON object"}, /* duplicate key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *payload = fmt(cases[i].payload, (long long)now + cases[i].offset);
        char *token = make_hs256(HS, payload, SECRET);
        const char *got = verify_err(v, token, now);
        CHECK(strcmp(got, cases[i].want) == 0);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "  payload %s: got \"%s\", want \"%s\"\n", payload, got, cases[i].want);
        free(token);
        free(payload);
    }
}

static void test_hs256_payload(const jwt_verifier *v, int64_t now)
{
    static const char *const bad[] = {"[1,2]", "\"str\"", "42", "null", "not json", "{\"a\":1}x",
                                      "{\"a\":\"\\u0000\"}", "", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *token = make_hs256(HS, bad[i], SECRET);
        const char *got = verify_err(v, token, now);
        /* "" encodes to an empty segment: malformed before anything else */
        const char *want = bad[i][0] ? "payload is not a JSON object" : "malformed token";
        CHECK(strcmp(got, want) == 0);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "  payload '%s': got \"%s\"\n", bad[i], got);
        free(token);
    }
}

static void test_malformed(const jwt_verifier *v, int64_t now)
{
    char *good = make_hs256(HS, "{\"sub\":\"u1\"}", SECRET);
    char *buf = malloc(strlen(good) + 16);
    CHECK_VERIFY(v, good, now, "");

    static const char *const literal[] = {
        "", ".", "..", "...", "a", "a.b", "a.b.c.d", "eyJ.eyJ.", ".eyJ.abcd", "eyJ..abcd",
    };
    for (size_t i = 0; i < sizeof literal / sizeof literal[0]; i++)
        CHECK_VERIFY(v, literal[i], now, "malformed token");

    size_t dot1 = (size_t)(strchr(good, '.') - good), dot2 = (size_t)(strrchr(good, '.') - good);
    /* a fourth segment */
    sprintf(buf, "%s.AAAA", good);
    CHECK_VERIFY(v, buf, now, "malformed token");
    /* padding, standard-alphabet and foreign characters in each segment */
    static const char bad_chars[] = {'=', '+', '/', ' ', '\n', '\x80', '!'};
    const size_t where[] = {1, dot1 + 1, dot2 + 1};
    for (size_t w = 0; w < 3; w++) {
        for (size_t c = 0; c < sizeof bad_chars; c++) {
            strcpy(buf, good);
            buf[where[w]] = bad_chars[c];
            CHECK_VERIFY(v, buf, now, "malformed token");
        }
    }
    /* "=" padding appended to the signature (43 chars -> 44) */
    sprintf(buf, "%s=", good);
    CHECK_VERIFY(v, buf, now, "malformed token");
    /* a segment whose length is 1 mod 4 cannot be base64 */
    CHECK_VERIFY(v, "eyJhbGciOiJIUzI1NiJ9.A.AAAA", now, "malformed token");
    CHECK_VERIFY(v, "eyJhb.e30.AAAA", now, "malformed token");
    sprintf(buf, "%.*sA%s", (int)dot2, good, good + dot2); /* signature 43 -> ok, payload +1 */
    CHECK(strcmp(verify_err(v, buf, now), "") != 0);
    /* non-canonical base64url: a 32-byte HMAC is 43 characters whose last one
     * has 2 spare low bits; setting one keeps the decoded bytes identical */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    strcpy(buf, good);
    size_t last = strlen(buf) - 1;
    size_t idx = (size_t)(strchr(alphabet, buf[last]) - alphabet);
    CHECK(strlen(good) - dot2 - 1 == 43 && idx % 4 == 0);
    buf[last] = alphabet[idx | 1];
    CHECK_VERIFY(v, buf, now, "malformed token");

    /* an embedded NUL is not skipped */
    size_t n = strlen(good);
    memcpy(buf, good, n + 1);
    buf[dot1 + 2] = '\0';
    json_t *claims = NULL;
    const char *err = NULL;
    CHECK(jwt_verify(v, buf, n, now, &claims, &err) < 0 && claims == NULL);
    CHECK(err && strcmp(err, "malformed token") == 0);
    CHECK(jwt_verify(v, NULL, 0, now, &claims, &err) < 0);
    CHECK(jwt_verify(NULL, good, n, now, &claims, &err) < 0 && err != NULL);

    free(buf);
    free(good);
}

/* A validly signed HS256 token of exactly `len` bytes, or NULL. */
static char *token_of_length(size_t len)
{
    for (size_t extra = len * 3 / 4 - 200; extra < len; extra++) {
        char *pad = malloc(extra + 32);
        sprintf(pad, "{\"p\":\"%0*d\"}", (int)extra, 0);
        char *token = make_hs256(HS, pad, SECRET);
        free(pad);
        if (strlen(token) == len)
            return token;
        free(token);
    }
    return NULL;
}

static void test_too_long(const jwt_verifier *v, int64_t now)
{
    /* 8192 bytes is the limit, inclusive */
    char *max = token_of_length(8192), *over = token_of_length(8193);
    CHECK(max != NULL && over != NULL);
    if (max)
        CHECK_VERIFY(v, max, now, "");
    if (over)
        CHECK_VERIFY(v, over, now, "token too long");
    free(max);
    free(over);

    char *big = malloc(20000);
    memset(big, 'A', 19999);
    big[19999] = '\0';
    big[100] = big[200] = '.';
    CHECK_VERIFY(v, big, now, "token too long");
    free(big);
}

static void test_node_fixtures_hs256(int64_t now)
{
    jwt_verifier *v = jwt_verifier_hs256("node-secret", 11);
    char *tok = read_fixture(FIXTURE("node_hs256.jwt"));
    json_t *claims = NULL;
    CHECK(jwt_verify(v, tok, strlen(tok), now, &claims, NULL) == 0);
    const char **rooms = jwt_claim_string_list(claims, "rooms");
    CHECK(rooms && rooms[0] && strcmp(rooms[0], "news") == 0 && rooms[1] &&
          strcmp(rooms[1], "chat:*") == 0 && !rooms[2]);
    free(rooms);
    json_decref(claims);
    free(tok);

    tok = read_fixture(FIXTURE("node_hs256_expired.jwt"));
    CHECK_VERIFY(v, tok, now, "token expired");
    CHECK_VERIFY(v, tok, 999999999, "");
    free(tok);
    jwt_verifier_free(v);
}

static void test_hs256(int64_t now)
{
    CHECK(jwt_verifier_hs256("", 0) == NULL);
    CHECK(jwt_verifier_hs256(NULL, 4) == NULL);
    jwt_verifier_free(NULL);
    jwt_verifier *v = jwt_verifier_hs256(SECRET, strlen(SECRET));
    CHECK(v != NULL);
    if (!v)
        return;
    test_hs256_valid(v, now);
    test_hs256_signature(v, now);
    test_hs256_header(v, now);
    test_hs256_times(v, now);
    test_hs256_payload(v, now);
    test_malformed(v, now);
    test_too_long(v, now);
    jwt_verifier_free(v);
    test_node_fixtures_hs256(now);
}

/* ---- RS256 ---------------------------------------------------------------------- */

static jwt_verifier *rs_verifier(const char *path, const char **err)
{
    const char *e = NULL;
    jwt_verifier *v = jwt_verifier_rs256_file(path, &e);
    if (err)
        *err = e;
    CHECK(v || e != NULL); /* a failure always has a reason */
    return v;
}

static void test_rs256_files(void)
{
    const char *err = NULL;
    CHECK(rs_verifier(FIXTURE("does-not-exist.pem"), &err) == NULL);
    CHECK(err && strcmp(err, "cannot open key file") == 0);
    CHECK(rs_verifier(FIXTURE("ec_public.pem"), &err) == NULL);
    CHECK(err && strcmp(err, "not an RSA key") == 0);
    CHECK(rs_verifier(FIXTURE("rsa1024_public.pem"), &err) == NULL);
    CHECK(err && strstr(err, "2048") != NULL);
    CHECK(rs_verifier(FIXTURE("node_hs256.jwt"), &err) == NULL);
    CHECK(err && strstr(err, "PEM") != NULL);
    CHECK(rs_verifier(SIO_FIXTURES_DIR, &err) == NULL); /* a directory */
    CHECK(err != NULL);
    CHECK(jwt_verifier_rs256_file(NULL, NULL) == NULL);
}

static void test_rs256_with(jwt_verifier *v, EVP_PKEY *priv, int64_t now)
{
    char *payload = fmt("{\"sub\":\"rs\",\"exp\":%lld,\"rooms\":[\"x\"]}", (long long)now + 3600);
    char *token = make_rs256(RS, payload, priv);
    json_t *claims = NULL;
    const char *err = "unset";
    CHECK(jwt_verify(v, token, strlen(token), now, &claims, &err) == 0 && err == NULL);
    CHECK(claims && strcmp(json_string_value(json_object_get(claims, "sub")), "rs") == 0);
    json_decref(claims);

    /* tampered payload, tampered and truncated signature */
    char *other = make_rs256(RS, "{\"sub\":\"admin\"}", priv);
    char *mix = malloc(strlen(token) + strlen(other) + 1);
    sprintf(mix, "%.*s%s", (int)(strrchr(other, '.') - other), other, strrchr(token, '.'));
    CHECK_VERIFY(v, mix, now, "bad signature");
    char *flip = strdup(token);
    char *sig = strrchr(flip, '.') + 1;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    CHECK_VERIFY(v, flip, now, "bad signature");
    sig[40] = '\0';
    CHECK_VERIFY(v, flip, now, "bad signature");

    /* expiry still applies */
    char *old = fmt("{\"exp\":%lld}", (long long)now - 10);
    CHECK_VERIFY_FREE(v, make_rs256(RS, old, priv), now, "token expired");

    /* alg confusion: HS256 with the public key as the HMAC secret, alg none */
    char *pem = read_fixture(FIXTURE("rsa_public.pem"));
    CHECK_VERIFY_FREE(v, make_hs256(HS, "{}", pem), now, "algorithm mismatch");
    CHECK_VERIFY_FREE(v, make_rs256("{\"alg\":\"none\"}", "{}", priv), now, "algorithm mismatch");
    CHECK_VERIFY_FREE(v, make_rs256("{\"alg\":\"PS256\"}", "{}", priv), now, "algorithm mismatch");

    free(pem);
    free(old);
    free(flip);
    free(mix);
    free(other);
    free(token);
    free(payload);
}

static void test_rs256(int64_t now)
{
    test_rs256_files();
    EVP_PKEY *priv = load_private_key();
    CHECK(priv != NULL);
    jwt_verifier *pub = rs_verifier(FIXTURE("rsa_public.pem"), NULL);
    jwt_verifier *cert = rs_verifier(FIXTURE("rsa_cert.pem"), NULL);
    jwt_verifier *wrong = rs_verifier(FIXTURE("rsa_other_public.pem"), NULL);
    CHECK(pub && cert && wrong);
    if (!priv || !pub || !cert || !wrong)
        goto out;
    test_rs256_with(pub, priv, now);
    test_rs256_with(cert, priv, now);

    char *token = make_rs256(RS, "{\"sub\":\"rs\"}", priv);
    CHECK_VERIFY(wrong, token, now, "bad signature");
    jwt_verifier *hs = jwt_verifier_hs256(SECRET, strlen(SECRET));
    CHECK_VERIFY(hs, token, now, "algorithm mismatch");
    jwt_verifier_free(hs);
    free(token);

    char *node = read_fixture(FIXTURE("node_rs256.jwt"));
    CHECK_VERIFY(pub, node, now, "");
    CHECK_VERIFY(cert, node, now, "");
    CHECK_VERIFY(wrong, node, now, "bad signature");
    free(node);
out:
    jwt_verifier_free(pub);
    jwt_verifier_free(cert);
    jwt_verifier_free(wrong);
    EVP_PKEY_free(priv);
}

int main(void)
{
    int64_t now = (int64_t)time(NULL);
    test_hs256(now);
    test_rs256(now);
    return CHECK_DONE("test_jwt");
}
