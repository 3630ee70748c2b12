/* fuzz_gateway_config: the environment sio-server reads
 * (server/gateway/gateway_config.c). The input is lines NAME=value; the
 * loader's getenv sees exactly those (the last one of a name wins).
 *
 * Invariants: a refusal gives a NUL-terminated, non-empty message and leaves
 * nothing to free (ASan's leak check); an accepted configuration has its
 * documented bounds (ports within 0..65535, positive intervals); loading the
 * same environment twice gives the same answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_config.h"

#define MAX_VARS 32

static char *names[MAX_VARS], *values[MAX_VARS];
static int n_vars;

static const char *fake_getenv(const char *name)
{
    for (int i = n_vars - 1; i >= 0; i--)
        if (strcmp(names[i], name) == 0)
            return values[i];
    return NULL;
}

static void parse_env(char *text)
{
    n_vars = 0;
    for (char *line = strtok(text, "\n"); line && n_vars < MAX_VARS; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = 0;
        names[n_vars] = line;
        values[n_vars++] = eq + 1;
    }
}

static int load(gateway_config *c, char *err, size_t len)
{
    memset(c, 0, sizeof(*c));
    int r = gateway_config_load(c, fake_getenv, err, len);
    if (r != 0 && (!err[0] || !memchr(err, 0, len)))
        abort();
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0; /* an embedded NUL ends the environment there, as in a real one */
    parse_env(text);
    gateway_config a, b;
    char err_a[256] = "", err_b[256] = "";
    int ra = load(&a, err_a, sizeof(err_a)), rb = load(&b, err_b, sizeof(err_b));
    if (ra != rb || strcmp(err_a, err_b) != 0)
        abort();
    if (ra == 0) {
        if (a.port > 65535 || a.api_port > 65535 || a.ping_interval_ms == 0 ||
            a.ping_timeout_ms == 0 || a.max_connections != b.max_connections)
            abort();
        gateway_config_free(&a);
        gateway_config_free(&b);
    }
    free(text);
    return 0;
}
