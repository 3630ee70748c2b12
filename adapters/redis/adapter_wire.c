#include "adapter_wire.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "adapter_msg.h"

int adapter_wire_request_kind(int adapter_type)
{
    switch (adapter_type) {
    case ADAPTER_SOCKETS:
        return CLUSTER_REQ_SOCKETS;
    case ADAPTER_ALL_ROOMS:
        return CLUSTER_REQ_ALL_ROOMS;
    case ADAPTER_REMOTE_JOIN:
        return CLUSTER_REQ_JOIN;
    case ADAPTER_REMOTE_LEAVE:
        return CLUSTER_REQ_LEAVE;
    case ADAPTER_REMOTE_DISCONNECT:
        return CLUSTER_REQ_DISCONNECT;
    case ADAPTER_REMOTE_FETCH:
        return CLUSTER_REQ_FETCH;
    case ADAPTER_BROADCAST:
        return CLUSTER_REQ_BROADCAST_ACK;
    default:
        return 0;
    }
}

/* ---- fetchSockets: socket.io's socket.handshake ------------------------------ */

/* The query string as an object of strings ("a=1&b" -> {"a":"1","b":""}). */
static json_t *query_object(const char *query)
{
    json_t *obj = json_object();
    const char *p = query;
    while (obj && p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        json_t *v = eq ? json_stringn(eq + 1, len - klen - 1) : json_string("");
        json_object_setn_new(obj, p, klen, v ? v : json_null());
        p = amp ? amp + 1 : NULL;
    }
    return obj;
}

static json_t *handshake_json(const socket_snapshot *s)
{
    char when[96]; /* as JavaScript's Date.prototype.toString() in UTC */
    time_t t = (time_t)(s->issued_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    json_t *headers = json_object();
    if (*s->user_agent)
        json_object_set_new(headers, "user-agent", json_string(s->user_agent));
    if (*s->origin)
        json_object_set_new(headers, "origin", json_string(s->origin));
    json_t *auth = s->auth ? json_incref(s->auth) : json_object();
    return json_pack("{sosssssbsbsIsssoso}", "headers", headers, "time", when, "address",
                     s->remote_addr, "xdomain", *s->origin != 0, "secure", 0, "issued",
                     (json_int_t)s->issued_ms, "url", s->url, "query", query_object(s->query),
                     "auth", auth);
}

static json_t *strings_json(char *const *v, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list, json_string(v[i]));
    return list;
}

json_t *adapter_wire_socket_json(const socket_snapshot *s)
{
    json_t *rooms = json_array();
    for (size_t i = 0; rooms && i < s->n_rooms; i++)
        json_array_append_new(rooms, json_string(s->rooms[i]));
    json_t *data = s->data ? json_incref(s->data) : json_object();
    return json_pack("{sssososo}", "id", s->id, "handshake", handshake_json(s), "rooms", rooms,
                     "data", data);
}

static json_t *sockets_json(const reply_msg *m)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < m->n_sockets; i++)
        json_array_append_new(list, adapter_wire_socket_json(m->sockets[i]));
    return list;
}

/* ---- responses ---------------------------------------------------------------- */

/* The JSON object of a reply, NULL for an ack (msgpack) or an unknown kind. */
static json_t *reply_json(const reply_msg *m)
{
    const char *id = m->request_id;
    switch (m->kind) {
    case CLUSTER_REPLY_DONE:
        return json_pack("{ss}", "requestId", id);
    case CLUSTER_REPLY_SOCKET_IDS:
        return json_pack("{ssso}", "requestId", id, "sockets", strings_json(m->names, m->n_names));
    case CLUSTER_REPLY_ROOMS:
        return json_pack("{ssso}", "requestId", id, "rooms", strings_json(m->names, m->n_names));
    case CLUSTER_REPLY_SOCKETS:
        return json_pack("{ssso}", "requestId", id, "sockets", sockets_json(m));
    case CLUSTER_REPLY_CLIENT_COUNT:
        return json_pack("{sisssI}", "type", ADAPTER_BROADCAST_CLIENT_COUNT, "requestId", id,
                         "clientCount", (json_int_t)m->client_count);
    default:
        return NULL;
    }
}

/* {type:9, requestId, packet}: the Node adapter forwards one argument (null
 * when the client acked with none), binary values as msgpack bin. */
static int ack_encode(const reply_msg *m, bytebuf *out)
{
    adapter_bin bins[64];
    size_t n = m->n_bins < 64 ? m->n_bins : 64;
    for (size_t i = 0; i < n; i++)
        bins[i] = (adapter_bin){SIO_UNCONST(uint8_t *, m->bins[i].data), m->bins[i].len};
    json_t *first = json_array_get(m->args, 0);
    json_t *null_arg = first ? NULL : json_null();
    int rc = adapter_broadcast_ack_encode(m->request_id, first ? first : null_arg, bins, n, out);
    json_decref(null_arg);
    return rc;
}

int adapter_wire_reply(const reply_msg *m, bytebuf *out)
{
    if (m->kind == CLUSTER_REPLY_ACK)
        return ack_encode(m, out);
    json_t *body = reply_json(m);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return -1;
    int rc = bytebuf_append(out, text, strlen(text));
    free(text);
    return rc ? -1 : 0;
}

/* ---- socket.io-adapter's ClusterAdapter (REDIS_ADAPTER=streams) --------------- */

int adapter_wire_cluster_message(const char *uid, const char *nsp, int type, json_t *data,
                                 const sio_bin *bins, size_t n_bins, bytebuf *out)
{
    adapter_bin ab[64];
    size_t n = n_bins < 64 ? n_bins : 64;
    for (size_t i = 0; i < n; i++)
        ab[i] = (adapter_bin){SIO_UNCONST(uint8_t *, bins[i].data), bins[i].len};
    json_t *msg = data ? json_pack("{sssssiso}", "uid", uid, "nsp", nsp, "type", type, "data", data)
                       : NULL;
    int rc = msg ? adapter_value_encode(msg, ab, n, out) : -1;
    json_decref(msg);
    return rc;
}

int adapter_wire_cluster_reply(const reply_msg *m, const char *uid, bytebuf *out)
{
    const char *id = m->request_id;
    json_t *data = NULL;
    int type = 0;
    if (m->kind == CLUSTER_REPLY_SOCKETS) {
        type = CLUSTER_FETCH_SOCKETS_RESPONSE;
        data = json_pack("{ssso}", "requestId", id, "sockets", sockets_json(m));
    } else if (m->kind == CLUSTER_REPLY_CLIENT_COUNT) {
        type = CLUSTER_BROADCAST_CLIENT_COUNT;
        data = json_pack("{sssI}", "requestId", id, "clientCount", (json_int_t)m->client_count);
    } else if (m->kind == CLUSTER_REPLY_ACK) {
        json_t *first = json_array_get(m->args, 0);
        type = CLUSTER_BROADCAST_ACK;
        data = json_pack("{ssso}", "requestId", id, "packet", first ? json_incref(first) : json_null());
    }
    return adapter_wire_cluster_message(uid, m->nsp, type, data, m->bins, m->n_bins, out);
}
