/* bench_msgpack: the client's side of socket.io-msgpack-parser (--parser
 * msgpack): every Socket.IO packet is one binary Engine.IO message holding a
 * msgpack map {type, data, nsp, id?}. Encodes the CONNECT and the subscribe
 * requests, decodes what the server sends into the same calls as the text
 * client (bench_conn.c): joined, refused, acked, and bench deliveries. */
#include "bench_worker.h"

#include <stdio.h>
#include <string.h>

#include <msgpack.h>

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_head(msgpack_packer *pk, const char *nsp, int type, uint32_t id)
{
    msgpack_pack_map(pk, id ? 4 : 3);
    pack_str(pk, "type", 4);
    msgpack_pack_int(pk, type);
    pack_str(pk, "nsp", 3);
    pack_str(pk, nsp, strlen(nsp));
    if (id) {
        pack_str(pk, "id", 2);
        msgpack_pack_uint32(pk, id);
    }
    pack_str(pk, "data", 4);
}

static int send_sbuf(bench_conn *c, msgpack_sbuffer *sb)
{
    int r = c->w->ops->send_binary(c, (const uint8_t *)sb->data, sb->size);
    msgpack_sbuffer_destroy(sb);
    if (r)
        conn_fail(c, FAIL_CLOSED, "cannot send to the server (connection lost)");
    return r ? -1 : 0;
}

int mp_send_connect(bench_conn *c)
{
    const bench_config *cfg = c->w->cfg;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_head(&pk, cfg->nsp, 0, 0);
    msgpack_pack_map(&pk, cfg->token ? 1 : 0);
    if (cfg->token) {
        pack_str(&pk, "token", 5);
        pack_str(&pk, cfg->token, strlen(cfg->token));
    }
    return send_sbuf(c, &sb);
}

int mp_send_subscribe(bench_conn *c, uint8_t from, uint8_t to, uint32_t id)
{
    char name[300];
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pack_head(&pk, c->w->cfg->nsp, 2, id);
    msgpack_pack_array(&pk, 2);
    pack_str(&pk, "subscribe", 9);
    msgpack_pack_array(&pk, (size_t)(to - from));
    for (uint8_t i = from; i < to; i++) {
        int n = bench_room_name(c->w->cfg, c->subs[i].room, name, sizeof(name));
        if (n < 0) {
            msgpack_sbuffer_destroy(&sb);
            conn_fail(c, FAIL_PROTOCOL, "room name too long");
            return -1;
        }
        pack_str(&pk, name, (size_t)n);
    }
    return send_sbuf(c, &sb);
}

/* ---- decoding ------------------------------------------------------------ */

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    if (m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && memcmp(k->via.str.ptr, key, kl) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static int as_u64(const msgpack_object *o, uint64_t *out)
{
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = o->via.u64;
    else if (o && o->type == MSGPACK_OBJECT_FLOAT64 && o->via.f64 >= 0)
        *out = (uint64_t)o->via.f64;
    else
        return -1;
    return 0;
}

static int is_str(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* data = ["bench", {t, seq, room, ...}] */
static void on_event(bench_conn *c, const msgpack_object *data)
{
    bench_worker *w = c->w;
    if (!data || data->type != MSGPACK_OBJECT_ARRAY || data->via.array.size < 2 ||
        !is_str(&data->via.array.ptr[0], "bench")) {
        w->st.other_events++;
        return;
    }
    const msgpack_object *ev = &data->via.array.ptr[1];
    const msgpack_object *room = map_get(ev, "room");
    uint64_t t, seq;
    if (as_u64(map_get(ev, "t"), &t) || as_u64(map_get(ev, "seq"), &seq) || !room ||
        room->type != MSGPACK_OBJECT_STR) {
        w->st.protocol_errors++;
        return;
    }
    bench_event be = {t, (uint32_t)seq, room->via.str.ptr, room->via.str.size};
    conn_on_bench(c, &be);
}

/* data = [{ok: true} | {ok: false, error}] */
static void on_ack(bench_conn *c, const msgpack_object *id, const msgpack_object *data)
{
    uint64_t n;
    if (as_u64(id, &n) || !data || data->type != MSGPACK_OBJECT_ARRAY || data->via.array.size < 1)
        return;
    const msgpack_object *ok = map_get(&data->via.array.ptr[0], "ok");
    const msgpack_object *err = map_get(&data->via.array.ptr[0], "error");
    char why[96] = "no reason given";
    if (err && err->type == MSGPACK_OBJECT_STR)
        snprintf(why, sizeof why, "%.*s", (int)err->via.str.size, err->via.str.ptr);
    conn_on_subscribe_ack(c, (uint32_t)n, ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean, why);
}

static void on_packet(bench_conn *c, const msgpack_object *p)
{
    uint64_t type;
    const msgpack_object *data = map_get(p, "data");
    char why[96] = "no message";
    if (as_u64(map_get(p, "type"), &type)) {
        c->w->st.protocol_errors++;
        return;
    }
    switch (type) {
    case 2: on_event(c, data); return;
    case 0: conn_on_joined(c); return;
    case 3: on_ack(c, map_get(p, "id"), data); return;
    case 4: {
        const msgpack_object *m = data ? map_get(data, "message") : NULL;
        if (m && m->type == MSGPACK_OBJECT_STR)
            snprintf(why, sizeof why, "%.*s", (int)m->via.str.size, m->via.str.ptr);
        conn_on_refused(c, why);
        return;
    }
    case 1: conn_fail(c, FAIL_CLOSED, "the server disconnected the client from the namespace"); return;
    default: c->w->st.other_events++; return;
    }
}

void conn_on_msgpack(bench_conn *c, const uint8_t *p, size_t n)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, (const char *)p, n, &off) == MSGPACK_UNPACK_SUCCESS && off == n)
        on_packet(c, &u.data);
    else
        c->w->st.protocol_errors++;
    msgpack_unpacked_destroy(&u);
}
