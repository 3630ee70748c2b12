/* fuzz_eio_query: the Engine.IO query string of a request (protocol/eio_query.c).
 * Invariants: a sid is either "" or exactly EIO_QUERY_SID_LEN characters of the
 * sid alphabet; eio is -1 or 0..999; parsing the same bytes twice agrees; a
 * query made of the parsed fields (written back) parses to the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eio_query.h"

static int sid_ok(const char *sid)
{
    size_t n = strlen(sid);
    if (n != 0 && n != EIO_QUERY_SID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = sid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static const char *transport_name(eio_query_transport t)
{
    return t == EIO_QT_POLLING ? "polling" : t == EIO_QT_WEBSOCKET ? "websocket" : "x";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eio_query a, b;
    eio_query_parse((const char *)data, size, &a);
    eio_query_parse((const char *)data, size, &b);
    if (memcmp(&a, &b, sizeof(a)) != 0 || !sid_ok(a.sid) || a.eio < -1 || a.eio > 999 ||
        (a.sid[0] && !a.sid_present))
        abort();
    char q[256];
    int n = snprintf(q, sizeof(q), "%s%d%s%s%s%s", a.eio >= 0 ? "EIO=" : "x=", a.eio,
                     a.transport != EIO_QT_NONE ? "&transport=" : "",
                     a.transport != EIO_QT_NONE ? transport_name(a.transport) : "",
                     a.sid[0] ? "&sid=" : "", a.sid);
    eio_query c;
    eio_query_parse(q, (size_t)n, &c);
    if (c.eio != a.eio || c.transport != a.transport || strcmp(c.sid, a.sid) != 0)
        abort();
    return 0;
}
