/* redis_streams: REDIS_ADAPTER=streams, wire-compatible with
 * @socket.io/redis-streams-adapter 0.3 (socket.io-adapter's ClusterAdapter).
 *
 * Every node appends its broadcasts to one stream (`prefix`, "socket.io" by
 * default: XADD MAXLEN ~ n * uid <uid> nsp <nsp> type 3 data <json | base64
 * msgpack>) and reads it with XREAD BLOCK on a connection of its own, from
 * the last entry it read: the stream's order is everyone's order, a
 * reconnect resumes where it stopped, and the entry id is the offset of
 * connection state recovery. This node's broadcasts come back like the
 * others' and are delivered then (volatile ones excepted: those were
 * delivered at once). SOCKETS_JOIN, SOCKETS_LEAVE and DISCONNECT_SOCKETS from
 * the stream are applied. Sessions are Node's: `sio:session:<pid>` holding
 * base64 msgpack {sid, pid, rooms, data} (plus sio's `nsp`), so a Node node
 * restores a sio node's client and the reverse; sio also keeps a live
 * socket's session there (refreshed), so its clients recover when it dies.
 * The adapter's ephemeral messages go over pub/sub, msgpack {uid, nsp, type,
 * data} on `prefix#nsp#` (and answers on `prefix#nsp#<requester uid>#`): a
 * sio node subscribes to both (Node counts the nodes of a namespace by
 * NUMSUB), answers FETCH_SOCKETS with its sockets, a SERVER_SIDE_EMIT that
 * wants acks with null (it has no server-side handlers), and a broadcast
 * with ack with its client count and each client's ack. Cluster thread only. */
#include "redis_streams.h"

#include "cluster_adapter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "adapter_wire.h"
#include "log.h"

#define XREAD_COUNT "100"
#define XREAD_BLOCK_MS "1000" /* below the connection's keepalive timeout (3 s) */
#define SESSION_PREFIX "sio:session:"

struct redis_streams {
    redis_adapter *a;
    redis_conn *reader;
    char *stream;
    char maxlen[24];
    char last[OFFSET_MAX];      /* the last entry read ("$" before the first) */
    int reading;
    cluster_adapter messages; /* the ephemeral messages over pub/sub */
};

/* ---- entries ------------------------------------------------------------------ */

static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

static uint8_t *unbase64(const char *s, size_t len, size_t *out_len)
{
    uint8_t *out = malloc(len / 4 * 3 + 3);
    int n = out ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : -1;
    if (n < 0 || len % 4) {
        free(out);
        return NULL;
    }
    size_t pad = len && s[len - 1] == '=' ? (len > 1 && s[len - 2] == '=' ? 2 : 1) : 0;
    *out_len = (size_t)n - pad;
    return out;
}

static char *base64(const uint8_t *data, size_t len, size_t *out_len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        *out_len = (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* A BROADCAST's data: JSON text, or base64 msgpack when it has binaries. */
static int decode_data(const redis_adapter *a, const redisReply *data, adapter_broadcast *b)
{
    if (data->len && data->str[0] == '{')
        return adapter_cluster_broadcast_decode_json(data->str, data->len, &a->limits, b);
    size_t n = 0;
    uint8_t *raw = unbase64(data->str, data->len, &n);
    int rc = raw ? adapter_cluster_broadcast_decode(raw, n, &a->limits, b) : -1;
    free(raw);
    return rc;
}

int redis_streams_entry(const redis_adapter *a, const redisReply *e, const char **id,
                        const char **nsp, const char **type, adapter_broadcast *b)
{
    memset(b, 0, sizeof(*b)); /* cleared by the caller whatever happens */
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    *id = e->element[0]->str;
    const redisReply *f = e->element[1], *n = field(f, "nsp"), *t = field(f, "type"),
                     *uid = field(f, "uid"), *data = field(f, "data");
    if (!n || !t)
        return -1;
    *nsp = n->str;
    *type = t->str;
    if (strcmp(t->str, "3") != 0 || !data)
        return 0; /* not a broadcast: the caller looks at the type */
    if (decode_data(a, data, b))
        return -1;
    b->uid = uid ? strdup(uid->str) : NULL;
    return 0;
}

/* ---- requests from the stream ------------------------------------------------- */

/* ---- reading ------------------------------------------------------------------ */

/* SOCKETS_JOIN (4), SOCKETS_LEAVE (5), DISCONNECT_SOCKETS (6): JSON data. */
static void forward_request(redis_adapter *a, nsp_state *ns, int type, const redisReply *data)
{
    json_t *d = data ? json_loadb(data->str, data->len, 0, NULL) : NULL;
    if (json_is_object(d))
        cluster_adapter_request(a, ns, type, d);
    else
        a->stats.invalid++;
    json_decref(d);
}

static void on_entry(redis_streams *s, const redisReply *e)
{
    redis_adapter *a = s->a;
    const char *id = NULL, *nsp = NULL, *type = NULL;
    adapter_broadcast b;
    int rc = redis_streams_entry(a, e, &id, &nsp, &type, &b);
    if (id)
        snprintf(s->last, sizeof s->last, "%s", id);
    nsp_state *ns = rc == 0 ? hashmap_get(&a->nsps, nsp, strlen(nsp)) : NULL;
    if (rc)
        a->stats.invalid++;
    if (!ns) {
        adapter_broadcast_clear(&b);
        return;
    }
    int own = b.uid && strcmp(b.uid, a->uid) == 0;
    int type_n = atoi(type);
    if (type_n == 3 && own && (!a->recovery || b.flags.is_volatile))
        a->stats.ignored++; /* delivered here when it was made */
    else if (type_n == 3 && redis_adapter_wants(ns, &b))
        redis_adapter_deliver(a, ns, &b, id);
    else if (type_n >= 4 && type_n <= 6 && !own)
        forward_request(a, ns, type_n, field(e->element[1], "data"));
    else
        a->stats.ignored++;
    adapter_broadcast_clear(&b);
}

static void read_next(redis_streams *s);

static void on_read(redis_conn *c, redisReply *reply, void *ud)
{
    redis_streams *s = ud;
    if (!reply) { /* lost: read again from s->last once it is back */
        s->reading = 0;
        return;
    }
    /* [[stream, [entry, ...]]], or nil when BLOCK ran out */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2) {
        const redisReply *entries = reply->element[0]->element[1];
        for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++)
            on_entry(s, entries->element[i]);
    }
    read_next(s);
}

static void read_next(redis_streams *s)
{
    const char *argv[8] = {"XREAD", "COUNT", XREAD_COUNT, "BLOCK", XREAD_BLOCK_MS, "STREAMS",
                           s->stream, s->last};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    s->reading = redis_conn_command(s->reader, on_read, s, 8, argv, lens) == 0;
}

static void on_reader_up(redis_conn *c, void *ctx)
{
    redis_streams *s = ctx;
    if (!s->reading)
        read_next(s);
}

static void on_reader_down(redis_conn *c, const char *why, void *ctx)
{
    ((redis_streams *)ctx)->reading = 0;
}

/* ---- ephemeral messages over pub/sub ------------------------------------------ */

char *redis_streams_private_channel(const redis_streams *s, const nsp_state *ns)
{
    return cluster_adapter_channel(s->a, ns->name, s->a->uid);
}

void redis_streams_on_message(redis_streams *s, nsp_state *ns, const uint8_t *msg, size_t len)
{
    cluster_adapter_on_message(&s->messages, ns, msg, len);
}

void redis_streams_reply(redis_streams *s, const reply_msg *m)
{
    cluster_adapter_reply(&s->messages, m);
}

static void publish_to(void *ctx, const char *channel, const uint8_t *payload, size_t len)
{
    redis_adapter *a = ctx;
    const char *argv[3] = {"PUBLISH", channel, (const char *)payload};
    size_t lens[3] = {7, strlen(channel), len};
    redis_conn_command(a->pub, NULL, NULL, 3, argv, lens);
}

/* ---- publishing --------------------------------------------------------------- */

int redis_streams_publish(redis_streams *s, const char *nsp, const adapter_broadcast *b)
{
    bytebuf raw = BYTEBUF_INIT;
    size_t len = 0;
    char *data = b->packet.n_bins ? NULL : adapter_cluster_broadcast_json(b);
    if (!data && b->packet.n_bins && adapter_cluster_broadcast_encode(b, &raw) == 0)
        data = base64(raw.data, raw.len, &len);
    else if (data)
        len = strlen(data);
    bytebuf_free(&raw);
    if (!data)
        return -EINVAL;
    const char *argv[14] = {"XADD", s->stream, "MAXLEN", "~", s->maxlen, "*", "uid", s->a->uid,
                            "nsp", nsp, "type", "3", "data", data};
    size_t lens[14];
    for (int i = 0; i < 14; i++)
        lens[i] = i == 13 ? len : strlen(argv[i]);
    int rc = redis_outbox_push(s->a->outbox, 14, argv, lens);
    free(data);
    return rc;
}

/* ---- sessions ----------------------------------------------------------------- */

char *redis_streams_session_key(const char *pid)
{
    size_t n = sizeof(SESSION_PREFIX) + strlen(pid);
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s%s", SESSION_PREFIX, pid);
    return k;
}

char *redis_streams_session_value(const json_t *session, size_t *len)
{
    bytebuf raw = BYTEBUF_INIT;
    char *out = adapter_value_encode(session, NULL, 0, &raw) == 0 ? base64(raw.data, raw.len, len) : NULL;
    bytebuf_free(&raw);
    return out;
}

json_t *redis_streams_session_decode(const char *v, size_t len)
{
    size_t n = 0, n_bins = 0;
    uint8_t *raw = unbase64(v, len, &n);
    json_t *out = NULL;
    adapter_bin *bins = NULL;
    if (raw && adapter_value_decode(raw, n, NULL, &out, &bins, &n_bins) == 0 && n_bins) {
        json_decref(out); /* a session holds no binaries */
        out = NULL;
    }
    for (size_t i = 0; i < n_bins; i++)
        free(bins[i].data);
    free(bins);
    free(raw);
    return out;
}

const char *redis_streams_name(const redis_streams *s)
{
    return s->stream;
}

/* ---- lifecycle ---------------------------------------------------------------- */

redis_streams *redis_streams_new(redis_adapter *a, const redis_endpoint *ep, size_t maxlen)
{
    redis_streams *s = calloc(1, sizeof(*s));
    if (!s || !(s->stream = strdup(a->prefix))) {
        free(s);
        return NULL;
    }
    s->a = a;
    cluster_adapter_init(&s->messages, a, publish_to, a);
    snprintf(s->maxlen, sizeof s->maxlen, "%zu", maxlen ? maxlen : 10000);
    strcpy(s->last, "$");
    redis_conn_callbacks cb = {.on_up = on_reader_up, .on_down = on_reader_down, .ctx = s};
    if (!(s->reader = redis_conn_new(a->base, ep, &cb, "xread", 1000, 3000))) {
        redis_streams_free(s);
        return NULL;
    }
    return s;
}

void redis_streams_free(redis_streams *s)
{
    if (!s)
        return;
    if (s->reader)
        redis_conn_free(s->reader);
    cluster_adapter_clear(&s->messages);
    free(s->stream);
    free(s);
}

int redis_streams_is_up(const redis_streams *s)
{
    return redis_conn_is_up(s->reader);
}
