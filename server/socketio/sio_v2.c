/* sio_v2: what differs for Socket.IO v2 clients (socket.io-client 2.x over an
 * Engine.IO v3 session), as socket.io 4 does in its `conn.protocol === 3`
 * branches. The client never sends CONNECT for "/": it is connected when the
 * session opens, with the handshake's query parameters as its auth (sio's
 * choice: Node gives {}; so a token in `io(url, {query})` reaches the
 * middlewares). A CONNECT for another namespace names it as "/nsp?query": the
 * query (URL-decoded) is the auth. CONNECT_ERROR carries a bare JSON string.
 * See sio_internal.h for who calls what. */
#include "sio_internal.h"

#include <stdlib.h>
#include <string.h>

#include "eio_query.h"

/* Handshake parameters that belong to Engine.IO, not to the auth. */
static int engine_param(const char *name)
{
    static const char *const names[] = {"EIO", "transport", "t", "sid", "b64"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Percent-decodes [p, end) into a new NUL-terminated string, or NULL. */
static char *decoded(const char *p, const char *end)
{
    size_t cap = (size_t)(end - p);
    char *out = malloc(cap + 1);
    if (!out)
        return NULL;
    out[eio_query_decode(p, end, out, cap)] = 0;
    return out;
}

/* One "name=value" into obj (a later one wins, as URLSearchParams entries). */
static int add_pair(json_t *obj, const char *p, const char *end, int skip_engine)
{
    const char *eq = memchr(p, '=', (size_t)(end - p));
    char *name = decoded(p, eq ? eq : end), *value = decoded(eq ? eq + 1 : end, end);
    int rc = name && value ? 0 : -1;
    json_t *v = rc == 0 ? json_string(value) : NULL; /* NULL for bytes that are not UTF-8 */
    if (v && !(skip_engine && engine_param(name)))
        rc = json_object_set_new(obj, name, v);
    else
        json_decref(v);
    free(name);
    free(value);
    return rc;
}

json_t *sio_v2_query_object(const char *q, size_t len, int skip_engine)
{
    json_t *obj = json_object();
    const char *p = q, *end = q + len;
    while (obj && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p && add_pair(obj, p, e, skip_engine)) {
            json_decref(obj);
            return NULL;
        }
        p = e + (amp ? 1 : 0);
    }
    return obj;
}

void sio_v2_open(sio_client *c)
{
    const eio_request_info *req = eio_session_request(c->conn);
    const char *q = req->query ? req->query : "";
    char nsp[] = "/";
    sio_packet p = {SIO_CONNECT, nsp, -1, 0, sio_v2_query_object(q, strlen(q), 1)};
    if (!p.data) {
        eio_session_close(c->conn, "transport error");
        return;
    }
    sio_client_connect(c, &p);
    json_decref(p.data);
}

int sio_v2_packet(sio_packet *p)
{
    char *query = strchr(p->nsp, '?');
    if (!query)
        return 0;
    *query++ = '\0';
    if (p->type != SIO_CONNECT)
        return 0;
    json_t *auth = sio_v2_query_object(query, strlen(query), 0);
    if (!auth)
        return -1;
    json_decref(p->data);
    p->data = auth;
    return 0;
}

json_t *sio_v2_connect_error(const char *message, json_t *data)
{
    return data ? json_incref(data) : json_string(message);
}
