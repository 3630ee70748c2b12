/* fuzz_redis_url: REDIS_URL (adapters/redis/redis_url.c).
 *
 * Invariants: a refusal leaves a message and nothing to free; an accepted URL
 * has a non-empty host without brackets, a port in 1..65535, a db >= 0, tls
 * exactly for rediss:// (any case); parsing the same text again gives the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis_conn.h"

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = 0;
    redis_endpoint a, b;
    char err[128] = "";
    if (redis_url_parse(url, &a, err, sizeof(err)) != 0) {
        if (!err[0] || !memchr(err, 0, sizeof(err)))
            abort();
        free(url);
        return 0;
    }
    if (!a.host || !a.host[0] || a.port < 1 || a.port > 65535 || a.db < 0 ||
        a.tls != (strncasecmp(url, "rediss://", 9) == 0))
        abort();
    if (redis_url_parse(url, &b, err, sizeof(err)) != 0 || !same(a.host, b.host) ||
        a.port != b.port || a.db != b.db || !same(a.user, b.user) ||
        !same(a.password, b.password))
        abort();
    redis_endpoint_free(&a);
    redis_endpoint_free(&b);
    free(url);
    return 0;
}
