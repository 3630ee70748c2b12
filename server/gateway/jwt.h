/* jwt: verification of compact JWS tokens (RFC 7515/7519) for socket auth.
 *
 * A verifier holds one key: an HS256 secret or an RS256 public key (PEM).
 * jwt_verify() checks the header's alg against the verifier's (never trusting
 * "none" or a different alg), the signature (constant-time for HMAC), then `exp`
 * and `nbf` against `now` (seconds). On success *claims receives a new reference
 * to the payload object (caller json_decref()s it). Errors return < 0 and set a
 * short static reason. OpenSSL does every crypto operation. */
#ifndef SIO_JWT_H
#define SIO_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct jwt_verifier jwt_verifier;

jwt_verifier *jwt_verifier_hs256(const void *secret, size_t len);
/* Reads a PEM public key (or certificate) file; NULL with *err on failure. */
jwt_verifier *jwt_verifier_rs256_file(const char *pem_path, const char **err);
/* The same from the PEM text itself (e.g. an environment variable filled from
 * a secret), `len` bytes. */
jwt_verifier *jwt_verifier_rs256_pem(const char *pem, size_t len, const char **err);
void jwt_verifier_free(jwt_verifier *v);

int jwt_verify(const jwt_verifier *v, const char *token, size_t len, int64_t now,
               json_t **claims, const char **err);

/* Claim helper: a string array claim as a NULL-terminated list of strings that
 * stay valid while `claims` lives (returns NULL when absent or not all strings;
 * free the array itself with free()). */
const char **jwt_claim_string_list(json_t *claims, const char *name);

#endif
