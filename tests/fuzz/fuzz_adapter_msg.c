/* fuzz_adapter_msg: libFuzzer target over the Redis adapter wire codec.
 *
 * The input is decoded as a broadcast, as a request/response and as a single
 * value. Malformed input must return a negative status and leave the output
 * zeroed. Whatever decodes is encoded (broadcast, BROADCAST request, BROADCAST_ACK,
 * value), decoded again to the same content (numbers compared by value,
 * placeholders by the bytes they name, object members by key), and encoded a
 * second time to the very same bytes. It is also decoded as a sharded
 * adapter message (JSON or msgpack), whose broadcast re-encodes as one that
 * decodes the same. A request of a type this node also originates (0-5) is
 * encoded as sio publishes it (adapter_request_encode) and decodes back to the
 * same fields. Any broken invariant aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_msg.h"
#include "sio_packet.h"

/* The defaults of adapter_msg.c (lim NULL). */
static const adapter_limits limits = {1024, 64, 64, 16u * 1024 * 1024};

static void check(int ok)
{
    if (!ok)
        abort();
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ comparison */

typedef struct bins_view {
    const adapter_bin *bins;
    size_t n;
} bins_view;

static int same_value(const json_t *a, bins_view ab, const json_t *b, bins_view bb, int depth);

static const adapter_bin *placeholder_bin(const json_t *v, bins_view bv)
{
    if (!json_is_object(v) || !json_is_true(json_object_get(v, "_placeholder")))
        return NULL;
    json_int_t num = json_integer_value(json_object_get(v, "num"));
    check(json_is_integer(json_object_get(v, "num")) && num >= 0 && (size_t)num < bv.n);
    return &bv.bins[num];
}

static int same_number(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    return json_number_value(a) == json_number_value(b);
}

static int same_members(const json_t *a, bins_view ab, const json_t *b, bins_view bb, int depth)
{
    const char *key;
    size_t key_len;
    json_t *child;
    if (json_object_size(a) != json_object_size(b))
        return 0;
    json_object_keylen_foreach(SIO_UNCONST(json_t *, a), key, key_len, child)
    {
        json_t *other = json_object_getn(b, key, key_len);
        if (!other || !same_value(child, ab, other, bb, depth + 1))
            return 0;
    }
    return 1;
}

static int same_value(const json_t *a, bins_view ab, const json_t *b, bins_view bb, int depth)
{
    if (!a || !b || depth > 2100)
        return a == b;
    const adapter_bin *pa = placeholder_bin(a, ab), *pb = placeholder_bin(b, bb);
    if (pa || pb)
        return pa && pb && pa->len == pb->len && (pa->len == 0 || !memcmp(pa->data, pb->data, pa->len));
    if (json_is_number(a) && json_is_number(b))
        return same_number(a, b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_string(a))
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    if (json_is_object(a))
        return same_members(a, ab, b, bb, depth);
    if (!json_is_array(a))
        return 1; /* true, false, null */
    if (json_array_size(a) != json_array_size(b))
        return 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!same_value(json_array_get(a, i), ab, json_array_get(b, i), bb, depth + 1))
            return 0;
    return 1;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_strv(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static int same_packet(const adapter_packet *a, const adapter_packet *b)
{
    bins_view av = {a->bins, a->n_bins}, bv = {b->bins, b->n_bins};
    return a->type == b->type && a->id == b->id && same_str(a->nsp, b->nsp) &&
           a->n_bins == b->n_bins && same_value(a->data, av, b->data, bv, 0);
}

static int same_flags(const adapter_flags *a, const adapter_flags *b)
{
    return a->is_volatile == b->is_volatile && a->compress == b->compress &&
           a->local == b->local && a->timeout_ms == b->timeout_ms;
}

static int same_broadcast(const adapter_broadcast *a, const adapter_broadcast *b)
{
    return same_str(a->uid, b->uid) && same_packet(&a->packet, &b->packet) &&
           same_strv(a->rooms, a->n_rooms, b->rooms, b->n_rooms) &&
           same_strv(a->except, a->n_except, b->except, b->n_except) &&
           same_flags(&a->flags, &b->flags);
}

/* ------------------------------------------------------------------ invariants */

static void inspect_packet(const adapter_packet *p)
{
    check(p->n_bins <= limits.max_bins);
    if (p->data)
        check(sio_count_placeholders(p->data, (uint32_t)p->n_bins) == (int)p->n_bins);
    else
        check(p->n_bins == 0);
}

static void inspect_broadcast(const adapter_broadcast *b)
{
    check(b->uid && b->packet.nsp && b->packet.type >= 0 && b->packet.type <= 6);
    check(b->n_rooms + b->n_except <= limits.max_rooms);
    inspect_packet(&b->packet);
}

/* ------------------------------------------------------------------ round trips */

static void roundtrip_broadcast(const adapter_broadcast *b)
{
    bytebuf first = BYTEBUF_INIT, second = BYTEBUF_INIT;
    adapter_broadcast again;
    check(adapter_broadcast_encode(b, &first) == 0);
    check(adapter_broadcast_decode(first.data, first.len, NULL, &again) == 0);
    check(same_broadcast(b, &again));
    check(adapter_broadcast_encode(&again, &second) == 0);
    check(first.len == second.len && !memcmp(first.data, second.data, first.len));
    adapter_broadcast_clear(&again);
    bytebuf_free(&first);
    bytebuf_free(&second);
}

/* The broadcast also travels as a BROADCAST (7) request. */
static void roundtrip_as_request(const adapter_broadcast *b)
{
    bytebuf out = BYTEBUF_INIT;
    adapter_request r;
    check(adapter_broadcast_request_encode(b->uid, "rq", b, &out) == 0);
    check(adapter_request_decode(out.data, out.len, NULL, &r) == 0);
    check(r.type == ADAPTER_BROADCAST && same_str(r.uid, b->uid) && same_str(r.request_id, "rq"));
    check(same_packet(&r.packet, &b->packet) && same_flags(&r.flags, &b->flags));
    check(same_strv(r.opts_rooms, r.n_opts_rooms, b->rooms, b->n_rooms));
    check(same_strv(r.opts_except, r.n_opts_except, b->except, b->n_except));
    adapter_request_clear(&r);
    bytebuf_free(&out);
}

static void fuzz_broadcast(const uint8_t *data, size_t size)
{
    adapter_broadcast b;
    int rc = adapter_broadcast_decode(data, size, NULL, &b);
    if (rc != 0) {
        check(rc < 0 && is_zero(&b, sizeof(b)));
        return;
    }
    inspect_broadcast(&b);
    roundtrip_broadcast(&b);
    roundtrip_as_request(&b);
    adapter_broadcast_clear(&b);
}

/* A BROADCAST_ACK argument re-encoded: same value, same bytes the second time. */
static void roundtrip_ack(const char *request_id, const adapter_packet *p)
{
    bytebuf first = BYTEBUF_INIT, second = BYTEBUF_INIT;
    adapter_request r;
    check(adapter_broadcast_ack_encode(request_id, p->data, p->bins, p->n_bins, &first) == 0);
    check(adapter_request_decode(first.data, first.len, NULL, &r) == 0);
    check(r.type == ADAPTER_BROADCAST_ACK && same_str(r.request_id, request_id));
    bins_view pv = {p->bins, p->n_bins}, rv = {r.packet.bins, r.packet.n_bins};
    check(same_value(p->data, pv, r.packet.data, rv, 0) && r.packet.n_bins == p->n_bins);
    check(adapter_broadcast_ack_encode(request_id, r.packet.data, r.packet.bins, r.packet.n_bins,
                                       &second) == 0);
    check(first.len == second.len && !memcmp(first.data, second.data, first.len));
    adapter_request_clear(&r);
    bytebuf_free(&first);
    bytebuf_free(&second);
}

static void roundtrip_request7(const adapter_request *r)
{
    adapter_broadcast b = {
        .uid = r->uid ? r->uid : "u", .packet = r->packet,
        .rooms = r->opts_rooms, .n_rooms = r->n_opts_rooms,
        .except = r->opts_except, .n_except = r->n_opts_except,
        .flags = r->flags,
    };
    inspect_broadcast(&b);
    roundtrip_broadcast(&b);
    roundtrip_as_request(&b);
}

/* A request of type 0-5 as sio originates it (JSON): the same fields again. */
static void roundtrip_originated(const adapter_request *r)
{
    int with_id = r->type == ADAPTER_SOCKETS || r->type == ADAPTER_ALL_ROOMS ||
                  r->type == ADAPTER_REMOTE_FETCH;
    bytebuf out = BYTEBUF_INIT;
    adapter_request again;
    if (with_id && !r->request_id) {
        check(adapter_request_encode(r, &out) == -1 && out.len == 0);
        return;
    }
    check(adapter_request_encode(r, &out) == 0 && out.len > 0 && out.data[0] == '{');
    check(adapter_request_decode(out.data, out.len, NULL, &again) == 0);
    check(again.type == r->type && same_str(again.uid, r->uid ? r->uid : ""));
    check(!with_id || same_str(again.request_id, r->request_id));
    check(r->type == ADAPTER_ALL_ROOMS ||
          (again.has_opts && same_strv(again.opts_rooms, again.n_opts_rooms, r->opts_rooms, r->n_opts_rooms) &&
           same_strv(again.opts_except, again.n_opts_except, r->opts_except, r->n_opts_except)));
    if (r->type == ADAPTER_REMOTE_JOIN || r->type == ADAPTER_REMOTE_LEAVE)
        check(same_strv(again.rooms, again.n_rooms, r->rooms, r->n_rooms));
    check(r->type != ADAPTER_REMOTE_DISCONNECT || again.close == r->close);
    adapter_request_clear(&again);
    bytebuf_free(&out);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    adapter_request r;
    int rc = adapter_request_decode(data, size, NULL, &r);
    if (rc != 0) {
        check(rc < 0 && is_zero(&r, sizeof(r)));
        return;
    }
    check((r.json != NULL) == (data[0] == '{'));
    check(r.n_opts_rooms + r.n_opts_except <= limits.max_rooms && r.n_rooms <= limits.max_rooms);
    if (r.type == ADAPTER_BROADCAST)
        roundtrip_request7(&r);
    if (r.type >= ADAPTER_SOCKETS && r.type <= ADAPTER_REMOTE_FETCH)
        roundtrip_originated(&r);
    if (r.type == ADAPTER_BROADCAST_ACK) {
        inspect_packet(&r.packet);
        roundtrip_ack(r.request_id ? r.request_id : "rq", &r.packet);
    }
    adapter_request_clear(&r);
}

/* A value's own bytes: the ack encoding minus its fixed head (the ack adds one
 * nesting level, which msgpack-c's 32-level bound may not allow a whole value). */
static void roundtrip_value(const adapter_packet *p)
{
    static const char head[] = "\x83\xa4type\x09\xa9requestId\xa2rq\xa6packet";
    const size_t hl = sizeof(head) - 1;
    bytebuf first = BYTEBUF_INIT, second = BYTEBUF_INIT;
    json_t *v = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    check(adapter_broadcast_ack_encode("rq", p->data, p->bins, p->n_bins, &first) == 0);
    check(first.len > hl && !memcmp(first.data, head, hl));
    check(adapter_value_decode(first.data + hl, first.len - hl, NULL, &v, &bins, &n) == 0);
    bins_view pv = {p->bins, p->n_bins}, rv = {bins, n};
    check(n == p->n_bins && same_value(p->data, pv, v, rv, 0));
    check(adapter_broadcast_ack_encode("rq", v, bins, n, &second) == 0);
    check(first.len == second.len && !memcmp(first.data, second.data, first.len));
    json_decref(v);
    for (size_t i = 0; i < n; i++)
        free(bins[i].data);
    free(bins);
    bytebuf_free(&first);
    bytebuf_free(&second);
}

static void fuzz_value(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    int rc = adapter_value_decode(data, size, NULL, &v, &bins, &n);
    if (rc != 0) {
        check(rc < 0 && v == NULL && n == 0 && bins == NULL);
        return;
    }
    adapter_packet p = {-1, NULL, -1, v, bins, n};
    inspect_packet(&p);
    roundtrip_value(&p);
    json_decref(v);
    for (size_t i = 0; i < n; i++)
        free(bins[i].data);
    free(bins);
}

static void free_bins(adapter_bin *bins, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(bins[i].data);
    free(bins);
}

/* Placeholder objects in a value (binaries elsewhere in a message are not
 * the packet's: such a broadcast does not re-encode with them). */
static size_t placeholders(const json_t *v)
{
    size_t n = 0;
    if (json_is_object(v) && json_is_true(json_object_get(v, "_placeholder")))
        return 1;
    if (json_is_array(v))
        for (size_t i = 0; i < json_array_size(v); i++)
            n += placeholders(json_array_get(v, i));
    const char *k;
    json_t *child;
    if (json_is_object(v))
        json_object_foreach(SIO_UNCONST(json_t *, v), k, child)
            n += placeholders(child);
    return n;
}

/* A BROADCAST read from a sharded message, encoded as one again: it decodes
 * to the same broadcast. */
static void roundtrip_sharded(const adapter_broadcast *b)
{
    if (placeholders(b->packet.data) != b->packet.n_bins)
        return;
    bytebuf out = BYTEBUF_INIT;
    if (adapter_cluster_message_broadcast_encode("u", "/n", b, &out) != 0) {
        bytebuf_free(&out);
        return; /* a placeholder naming no binary (JSON input): not encodable */
    }
    json_t *m = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    check(adapter_cluster_message_decode(out.data, out.len, NULL, &m, &bins, &n) == 0);
    check(same_str(json_string_value(json_object_get(m, "uid")), "u"));
    check(json_integer_value(json_object_get(m, "type")) == 3);
    adapter_broadcast again;
    check(adapter_cluster_broadcast_from_json(json_object_get(m, "data"), bins, n, NULL, &again) == 0);
    check(same_broadcast(b, &again));
    adapter_broadcast_clear(&again);
    json_decref(m);
    bytebuf_free(&out);
}

/* A sharded adapter message {uid, nsp, type, data} (JSON or msgpack). */
static void fuzz_sharded(const uint8_t *data, size_t size)
{
    json_t *m = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    int rc = adapter_cluster_message_decode(data, size, NULL, &m, &bins, &n);
    if (rc != 0) {
        check(rc < 0 && !m && !bins && !n);
        return;
    }
    check(json_is_object(m) && n <= limits.max_bins);
    json_t *d = json_object_get(m, "data");
    if (json_integer_value(json_object_get(m, "type")) == 3 && json_is_object(d)) {
        adapter_broadcast b;
        rc = adapter_cluster_broadcast_from_json(d, bins, n, NULL, &b); /* takes the bins */
        bins = NULL, n = 0;
        if (rc == 0) {
            check(b.packet.nsp && b.n_rooms + b.n_except <= limits.max_rooms);
            roundtrip_sharded(&b);
        } else {
            check(rc < 0 && is_zero(&b, sizeof(b)));
        }
        adapter_broadcast_clear(&b);
    }
    free_bins(bins, n);
    json_decref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_broadcast(data, size);
    fuzz_request(data, size);
    fuzz_value(data, size);
    fuzz_sharded(data, size);
    return 0;
}
