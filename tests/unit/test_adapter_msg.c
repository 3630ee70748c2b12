/* test_adapter_msg: unit tests of the Redis adapter wire codec (protocol/adapter_msg.c).
 * The vectors in fixtures/adapter/ were written by fixtures/adapter/generate.js
 * with the real @socket.io/redis-adapter 8.3.0, @socket.io/redis-emitter 5.1.0
 * and notepack.io 3.0.1; the adapter's own messages must re-encode byte for byte.
 * Hand-made inputs cover what notepack never writes and every malformed shape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adapter_msg.h"
#include "check.h"

CHECK_STATE;

/* ------------------------------------------------------------------ helpers */

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

static blob load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/adapter/%s.bin", SIO_FIXTURES_DIR, name);
    blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return b;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(size > 0 ? (size_t)size : 1);
    b.len = b.data && size > 0 ? fread(b.data, 1, (size_t)size, f) : 0;
    fclose(f);
    return b;
}

static int same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int json_is(const json_t *v, const char *text)
{
    json_t *want = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    int eq = v && want && json_equal(v, want);
    if (!eq) {
        char *got = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        fprintf(stderr, "  json: got %s, want %s\n", got ? got : "(null)", text);
        free(got);
    }
    json_decref(want);
    return eq;
}

static int strv_is(char **v, size_t n, const char *const *want, size_t n_want)
{
    if (n != n_want)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], want[i]) != 0)
            return 0;
    return 1;
}

#define STRV_IS(v, n, ...)                                                         \
    strv_is((v), (n), (const char *const[]){__VA_ARGS__},                          \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static int same_strv(char **a, size_t na, char **b, size_t nb)
{
    return strv_is(a, na, (const char *const *)b, nb);
}

static int same_packet(const adapter_packet *a, const adapter_packet *b)
{
    if (a->type != b->type || a->id != b->id || a->n_bins != b->n_bins)
        return 0;
    if ((a->nsp == NULL) != (b->nsp == NULL) || (a->nsp && strcmp(a->nsp, b->nsp)))
        return 0;
    if ((a->data == NULL) != (b->data == NULL) || (a->data && !json_equal(a->data, b->data)))
        return 0;
    for (size_t i = 0; i < a->n_bins; i++)
        if (!same_bytes(a->bins[i].data, a->bins[i].len, b->bins[i].data, b->bins[i].len))
            return 0;
    return 1;
}

static int same_flags(const adapter_flags *a, const adapter_flags *b)
{
    return a->is_volatile == b->is_volatile && a->compress == b->compress &&
           a->local == b->local && a->timeout_ms == b->timeout_ms;
}

static int same_broadcast(const adapter_broadcast *a, const adapter_broadcast *b)
{
    return strcmp(a->uid, b->uid) == 0 && same_packet(&a->packet, &b->packet) &&
           same_strv(a->rooms, a->n_rooms, b->rooms, b->n_rooms) &&
           same_strv(a->except, a->n_except, b->except, b->n_except) &&
           same_flags(&a->flags, &b->flags);
}

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* A broadcast decode that must fail and leave nothing behind. */
static void reject_broadcast(const uint8_t *msg, size_t len, const adapter_limits *lim,
                             const char *what)
{
    adapter_broadcast b;
    int rc = adapter_broadcast_decode(msg, len, lim, &b);
    CHECK(rc < 0);
    CHECK(is_zero(&b, sizeof(b)));
    if (rc >= 0)
        fprintf(stderr, "  accepted: %s\n", what);
    adapter_broadcast_clear(&b);
}

static void reject_request(const uint8_t *msg, size_t len, const adapter_limits *lim,
                           const char *what)
{
    adapter_request r;
    int rc = adapter_request_decode(msg, len, lim, &r);
    CHECK(rc < 0);
    CHECK(is_zero(&r, sizeof(r)));
    if (rc >= 0)
        fprintf(stderr, "  accepted: %s\n", what);
    adapter_request_clear(&r);
}

#define REJECT_B(bytes, lim) \
    reject_broadcast((const uint8_t *)(bytes), sizeof(bytes) - 1, (lim), #bytes)
#define REJECT_R(bytes, lim) \
    reject_request((const uint8_t *)(bytes), sizeof(bytes) - 1, (lim), #bytes)

/* Decodes fixture `name` as a broadcast; 0 on success. */
static int decode_fixture(const char *name, adapter_broadcast *b)
{
    blob f = load(name);
    int rc = adapter_broadcast_decode(f.data, f.len, NULL, b);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "  decoding %s: %d\n", name, rc);
    free(f.data);
    return rc;
}

static int decode_request_fixture(const char *name, adapter_request *r)
{
    blob f = load(name);
    int rc = adapter_request_decode(f.data, f.len, NULL, r);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "  decoding %s: %d\n", name, rc);
    free(f.data);
    return rc;
}

/* ------------------------------------------------------------------ wire example */

/* The bytes of redis-adapter-wire.md for io.to("room1").emit("score", {home: 1, away: 0}). */
static const char wire_example[] =
    "\x93\xa6l_Fu73"
    "\x83\xa4type\x02\xa4" "data\x92\xa5score\x82\xa4home\x01\xa4" "away\x00\xa3nsp\xa1/"
    "\x83\xa5rooms\x91\xa5room1\xa6" "except\x90\xa5" "flags\x80";

static void test_wire_example(void)
{
    blob f = load("bc_room1_score");
    CHECK(same_bytes(f.data, f.len, (const uint8_t *)wire_example, sizeof(wire_example) - 1));
    free(f.data);

    char *rooms[] = {"room1"};
    adapter_broadcast b = {
        .uid = "l_Fu73",
        .packet = {2, "/", -1, json_pack("[s{sisi}]", "score", "home", 1, "away", 0), NULL, 0},
        .rooms = rooms, .n_rooms = 1,
        .flags = {0, -1, 0, -1},
    };
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_encode(&b, &out) == 0);
    CHECK(same_bytes(out.data, out.len, (const uint8_t *)wire_example, sizeof(wire_example) - 1));
    json_decref(b.packet.data);
    bytebuf_free(&out);
}

/* ------------------------------------------------------------------ broadcast vectors */

/* The adapter's own broadcasts: encode(decode(v)) == v, and decode(encode) == decode. */
static void check_reencode(const char *name)
{
    blob f = load(name);
    adapter_broadcast b, again;
    bytebuf out = BYTEBUF_INIT;
    int rc = adapter_broadcast_decode(f.data, f.len, NULL, &b);
    CHECK(rc == 0);
    if (rc == 0) {
        CHECK(adapter_broadcast_encode(&b, &out) == 0);
        CHECK(same_bytes(out.data, out.len, f.data, f.len));
        if (!same_bytes(out.data, out.len, f.data, f.len))
            fprintf(stderr, "  %s: re-encoding differs (%zu vs %zu bytes)\n", name, out.len, f.len);
        CHECK(adapter_broadcast_decode(out.data, out.len, NULL, &again) == 0);
        CHECK(same_broadcast(&b, &again));
        adapter_broadcast_clear(&again);
    } else {
        fprintf(stderr, "  %s: decode %d\n", name, rc);
    }
    adapter_broadcast_clear(&b);
    bytebuf_free(&out);
    free(f.data);
}

static void test_reencode_vectors(void)
{
    static const char *const names[] = {
        "bc_room1_score", "bc_numbers", "bc_strings", "bc_containers", "bc_binary",
        "bc_flags", "bc_timeout_flag", "bc_no_args", "bc_admin_nsp",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        check_reencode(names[i]);
}

static void test_room1_fields(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_room1_score", &b))
        return;
    CHECK(strcmp(b.uid, "l_Fu73") == 0);
    CHECK(b.packet.type == 2 && b.packet.id == -1 && strcmp(b.packet.nsp, "/") == 0);
    CHECK(json_is(b.packet.data, "[\"score\",{\"home\":1,\"away\":0}]"));
    CHECK(b.packet.n_bins == 0);
    CHECK(STRV_IS(b.rooms, b.n_rooms, "room1"));
    CHECK(b.n_except == 0);
    CHECK(b.flags.is_volatile == 0 && b.flags.compress == -1 && b.flags.local == 0 &&
          b.flags.timeout_ms == -1);
    adapter_broadcast_clear(&b);
    adapter_broadcast_clear(&b); /* clearing twice is safe */
}

static void test_numbers(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_numbers", &b))
        return;
    json_t *d = b.packet.data;
    CHECK(json_array_size(d) == 30);
    CHECK(json_integer_value(json_array_get(d, 8)) == 4294967295LL);
    CHECK(json_integer_value(json_array_get(d, 11)) == -1);
    CHECK(json_integer_value(json_array_get(d, 19)) == -2147483649LL);
    CHECK(json_is_real(json_array_get(d, 21)) && json_real_value(json_array_get(d, 21)) == 1.5);
    CHECK(json_real_value(json_array_get(d, 23)) == 5e-324);
    CHECK(json_is_integer(json_array_get(d, 25)) && json_integer_value(json_array_get(d, 25)) == 0);
    /* 2^63 is beyond int64: a real; -2^63 is the smallest int64 */
    CHECK(json_is_real(json_array_get(d, 26)) &&
          json_real_value(json_array_get(d, 26)) == 9223372036854775808.0);
    CHECK(json_integer_value(json_array_get(d, 27)) == INT64_MIN);
    CHECK(json_real_value(json_array_get(d, 29)) == 18446744073709549568.0);
    adapter_broadcast_clear(&b);
}

/* notepack writes integral numbers from 2^64 up modulo 2^64; we read what it wrote
 * (as Node would) but write float64 for such values. */
static void test_big_numbers(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_big_numbers", &b))
        return;
    CHECK(json_is(b.packet.data, "[\"big\",3875820019684212736,0,0,0]"));
    adapter_broadcast_clear(&b);
}

static void test_binary_fields(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_binary", &b))
        return;
    CHECK(json_is(b.packet.data,
                  "[\"file\",{\"_placeholder\":true,\"num\":0},"
                  "{\"nested\":{\"_placeholder\":true,\"num\":1},"
                  "\"list\":[{\"_placeholder\":true,\"num\":2}]},"
                  "{\"_placeholder\":true,\"num\":3}]"));
    CHECK(b.packet.n_bins == 4);
    if (b.packet.n_bins == 4) {
        CHECK(same_bytes(b.packet.bins[0].data, b.packet.bins[0].len, (const uint8_t *)"\1\2\3", 3));
        CHECK(b.packet.bins[1].len == 300 && b.packet.bins[1].data[299] == 7);
        CHECK(b.packet.bins[2].len == 0);
        CHECK(b.packet.bins[3].len == 70000 && b.packet.bins[3].data[0] == 9);
    }
    CHECK(STRV_IS(b.rooms, b.n_rooms, "r1", "r2"));
    CHECK(STRV_IS(b.except, b.n_except, "x"));
    adapter_broadcast_clear(&b);
}

static void test_flag_vectors(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_flags", &b) == 0) {
        CHECK(b.flags.is_volatile == 1 && b.flags.compress == 0 && b.flags.timeout_ms == -1);
        CHECK(STRV_IS(b.except, b.n_except, "s1", "s2"));
        adapter_broadcast_clear(&b);
    }
    if (decode_fixture("bc_timeout_flag", &b) == 0) {
        CHECK(b.flags.is_volatile == 1 && b.flags.compress == -1 && b.flags.timeout_ms == 2500);
        adapter_broadcast_clear(&b);
    }
    if (decode_fixture("bc_admin_nsp", &b) == 0) {
        CHECK(strcmp(b.packet.nsp, "/admin") == 0);
        CHECK(STRV_IS(b.rooms, b.n_rooms, "a", "b"));
        CHECK(STRV_IS(b.except, b.n_except, "c"));
        adapter_broadcast_clear(&b);
    }
    if (decode_fixture("bc_no_args", &b) == 0) {
        CHECK(json_is(b.packet.data, "[\"ping\"]"));
        adapter_broadcast_clear(&b);
    }
}

/* Rooms given as numbers become the strings JavaScript's String() prints. */
static void test_numeric_rooms(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_numeric_rooms", &b))
        return;
    CHECK(STRV_IS(b.rooms, b.n_rooms, "42", "1.5", "-7"));
    CHECK(STRV_IS(b.except, b.n_except, "3875820019684212700", "0.000001"));
    adapter_broadcast_clear(&b);
}

/* Dates travel as msgpack timestamps (ext -1) and become null; an undefined array
 * element is nil; an undefined member is left out by notepack. */
static void test_date_undefined(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_date_undefined", &b))
        return;
    CHECK(json_is(b.packet.data, "[\"d\",null,null,[null],{\"k\":1}]"));
    adapter_broadcast_clear(&b);
}

static void test_strings_containers(void)
{
    adapter_broadcast b;
    if (decode_fixture("bc_strings", &b) == 0) {
        json_t *d = b.packet.data;
        CHECK(json_string_length(json_array_get(d, 7)) == 65536);
        CHECK(json_is(json_array_get(d, 8),
                      "\"h\\u00e9llo w\\u00f6rld \\ud83d\\ude00 \\u2028 \\u0000 \\\"q\\\"\""));
        adapter_broadcast_clear(&b);
    }
    if (decode_fixture("bc_containers", &b) == 0) {
        json_t *o = json_array_get(b.packet.data, 7);
        CHECK(json_is(o, "{\"2\":\"two\",\"10\":\"ten\",\"b\":1,\"a\":{\"deep\":[[[{\"x\":null}]]]}}"));
        CHECK(json_object_size(json_array_get(b.packet.data, 6)) == 16);
        adapter_broadcast_clear(&b);
    }
}

/* The emitter writes opts as {rooms, flags, except}; the decoded message is the
 * adapter's, and our encoding uses the adapter's key order. */
static void test_emitter_vectors(void)
{
    adapter_broadcast em, ad;
    if (decode_fixture("em_room1_score", &em) || decode_fixture("bc_room1_score", &ad))
        return;
    CHECK(strcmp(em.uid, "emitter") == 0);
    free(em.uid);
    em.uid = strdup("l_Fu73");
    CHECK(same_broadcast(&em, &ad));
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_encode(&em, &out) == 0);
    CHECK(same_bytes(out.data, out.len, (const uint8_t *)wire_example, sizeof(wire_example) - 1));
    bytebuf_free(&out);
    adapter_broadcast_clear(&em);
    adapter_broadcast_clear(&ad);

    if (decode_fixture("em_binary_flags", &em) == 0) {
        CHECK(strcmp(em.packet.nsp, "/admin") == 0);
        CHECK(json_is(em.packet.data, "[\"f\",{\"_placeholder\":true,\"num\":0}]"));
        CHECK(em.packet.n_bins == 1 && same_bytes(em.packet.bins[0].data, em.packet.bins[0].len,
                                                  (const uint8_t *)"hi", 2));
        CHECK(em.flags.is_volatile == 1 && em.flags.compress == 1);
        CHECK(STRV_IS(em.rooms, em.n_rooms, "r") && STRV_IS(em.except, em.n_except, "s"));
        adapter_broadcast_clear(&em);
    }
}

/* ------------------------------------------------------------------ request vectors */

static void test_json_requests(void)
{
    adapter_request r;
    if (decode_request_fixture("rq1_all_rooms", &r) == 0) {
        CHECK(r.type == ADAPTER_ALL_ROOMS && strcmp(r.uid, "l_Fu73") == 0);
        CHECK(strcmp(r.request_id, "Rq0001") == 0 && !r.has_opts && r.json);
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq2_join", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_JOIN && r.has_opts && r.request_id == NULL);
        CHECK(STRV_IS(r.opts_rooms, r.n_opts_rooms, "room1"));
        CHECK(STRV_IS(r.opts_except, r.n_opts_except, "room2"));
        CHECK(STRV_IS(r.rooms, r.n_rooms, "a", "b"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq3_leave", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_LEAVE && r.has_opts && r.n_opts_rooms == 0);
        CHECK(STRV_IS(r.rooms, r.n_rooms, "a"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq4_disconnect", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_DISCONNECT && r.close == 1);
        CHECK(STRV_IS(r.opts_rooms, r.n_opts_rooms, "room1"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq5_fetch", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_FETCH && r.request_id && r.has_opts);
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq6_server_side_emit", &r) == 0) {
        CHECK(r.type == ADAPTER_SERVER_SIDE_EMIT && r.request_id == NULL);
        CHECK(json_is(r.data, "[\"hello\",\"world\",1]"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq6_server_side_emit_ack", &r) == 0) {
        CHECK(r.type == ADAPTER_SERVER_SIDE_EMIT && r.request_id && r.uid);
        CHECK(json_is(r.data, "[\"ask\",7]"));
        adapter_request_clear(&r);
    }
}

/* The emitter sends 2/3/4 without uid, 6 with uid "emitter". */
static void test_emitter_requests(void)
{
    adapter_request r;
    if (decode_request_fixture("em_join", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_JOIN && r.uid == NULL);
        CHECK(STRV_IS(r.rooms, r.n_rooms, "a", "b"));
        CHECK(STRV_IS(r.opts_except, r.n_opts_except, "room2"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("em_leave", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_LEAVE && STRV_IS(r.rooms, r.n_rooms, "a"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("em_disconnect", &r) == 0) {
        CHECK(r.type == ADAPTER_REMOTE_DISCONNECT && r.close == 1 && r.uid == NULL);
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("em_server_side_emit", &r) == 0) {
        CHECK(r.type == ADAPTER_SERVER_SIDE_EMIT && strcmp(r.uid, "emitter") == 0);
        CHECK(json_is(r.data, "[\"hello\",{\"n\":1}]"));
        adapter_request_clear(&r);
    }
}

static void test_json_responses(void)
{
    adapter_request r;
    if (decode_request_fixture("rs1_all_rooms", &r) == 0) {
        CHECK(r.type == -1 && strcmp(r.request_id, "Rq0010") == 0);
        CHECK(json_is(json_object_get(r.json, "rooms"), "[\"sid1\",\"room1\"]"));
        CHECK(r.n_rooms == 0 && r.rooms == NULL); /* read only for REMOTE_JOIN/LEAVE */
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rs5_fetch", &r) == 0) {
        json_t *s = json_array_get(json_object_get(r.json, "sockets"), 0);
        CHECK(json_is(json_object_get(s, "data"), "{\"name\":\"alice\"}"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rs6_server_side_emit", &r) == 0) {
        CHECK(r.type == ADAPTER_SERVER_SIDE_EMIT && r.uid == NULL);
        CHECK(json_is(r.data, "{\"ok\":true,\"arg\":5}"));
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rs8_client_count", &r) == 0) {
        CHECK(r.type == ADAPTER_BROADCAST_CLIENT_COUNT && r.client_count == 1);
        CHECK(strcmp(r.request_id, "Rq0013") == 0);
        adapter_request_clear(&r);
    }
}

/* A BROADCAST request as a broadcast (borrowing the request's members). */
static adapter_broadcast request_as_broadcast(const adapter_request *r)
{
    adapter_broadcast b = {
        .uid = r->uid, .packet = r->packet,
        .rooms = r->opts_rooms, .n_rooms = r->n_opts_rooms,
        .except = r->opts_except, .n_except = r->n_opts_except,
        .flags = r->flags,
    };
    return b;
}

static void check_request7(const char *name)
{
    blob f = load(name);
    adapter_request r;
    if (adapter_request_decode(f.data, f.len, NULL, &r) != 0) {
        CHECK(!"decode type 7");
        free(f.data);
        return;
    }
    CHECK(r.type == ADAPTER_BROADCAST && r.json == NULL && r.has_opts);
    adapter_broadcast b = request_as_broadcast(&r);
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_request_encode(r.uid, r.request_id, &b, &out) == 0);
    CHECK(same_bytes(out.data, out.len, f.data, f.len));
    bytebuf_free(&out);
    adapter_request_clear(&r);
    free(f.data);
}

static void test_request7(void)
{
    check_request7("rq7_broadcast_ack");
    check_request7("rq7_broadcast_ack_binary");
    adapter_request r;
    if (decode_request_fixture("rq7_broadcast_ack", &r) == 0) {
        CHECK(strcmp(r.uid, "l_Fu73") == 0 && strcmp(r.request_id, "Rq0004") == 0);
        CHECK(r.packet.type == 2 && strcmp(r.packet.nsp, "/") == 0 && r.packet.id == -1);
        CHECK(json_is(r.packet.data, "[\"ask\",{\"q\":1}]"));
        CHECK(STRV_IS(r.opts_rooms, r.n_opts_rooms, "room1"));
        CHECK(r.flags.timeout_ms == 5000 && r.flags.is_volatile == 0);
        adapter_request_clear(&r);
    }
    if (decode_request_fixture("rq7_broadcast_ack_binary", &r) == 0) {
        CHECK(json_is(r.packet.data, "[\"blob\",{\"_placeholder\":true,\"num\":0}]"));
        CHECK(r.packet.n_bins == 1 && r.packet.bins[0].len == 2 && r.packet.bins[0].data[0] == 0xde);
        CHECK(r.flags.timeout_ms == 1000 && r.flags.is_volatile == 1);
        CHECK(STRV_IS(r.opts_except, r.n_opts_except, "x"));
        adapter_request_clear(&r);
    }
}

static void check_ack(const char *name, const char *want_json, size_t want_bins)
{
    blob f = load(name);
    adapter_request r;
    if (adapter_request_decode(f.data, f.len, NULL, &r) != 0) {
        CHECK(!"decode type 9");
        free(f.data);
        return;
    }
    CHECK(r.type == ADAPTER_BROADCAST_ACK && r.request_id != NULL);
    CHECK(want_json ? json_is(r.packet.data, want_json) : r.packet.data == NULL);
    CHECK(r.packet.n_bins == want_bins);
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_ack_encode(r.request_id, r.packet.data, r.packet.bins,
                                       r.packet.n_bins, &out) == 0);
    CHECK(same_bytes(out.data, out.len, f.data, f.len));
    bytebuf_free(&out);
    adapter_request_clear(&r);
    free(f.data);
}

static void test_acks(void)
{
    check_ack("rs9_ack_string", "\"fine\"", 0);
    check_ack("rs9_ack_object", "{\"score\":3,\"list\":[1.25,null]}", 0);
    check_ack("rs9_ack_binary",
              "{\"img\":{\"_placeholder\":true,\"num\":0},"
              "\"more\":[{\"_placeholder\":true,\"num\":1}]}", 2);
    check_ack("rs9_ack_top_binary", "{\"_placeholder\":true,\"num\":0}", 1);
    check_ack("rs9_ack_undefined", NULL, 0);
}

/* ------------------------------------------------------------------ malformed */

static const char *const all_fixtures[] = {
    "bc_room1_score", "bc_numbers", "bc_strings", "bc_containers", "bc_binary", "bc_flags",
    "bc_timeout_flag", "bc_no_args", "bc_admin_nsp", "bc_big_numbers", "bc_numeric_rooms",
    "bc_date_undefined", "em_room1_score", "em_binary_flags", "em_join", "em_leave",
    "em_disconnect", "em_server_side_emit", "rq1_all_rooms", "rq2_join", "rq3_leave",
    "rq4_disconnect", "rq5_fetch", "rq6_server_side_emit", "rq6_server_side_emit_ack",
    "rq7_broadcast_ack", "rq7_broadcast_ack_binary", "rs1_all_rooms", "rs5_fetch",
    "rs6_server_side_emit", "rs8_client_count", "rs9_ack_string", "rs9_ack_object",
    "rs9_ack_binary", "rs9_ack_top_binary", "rs9_ack_undefined",
};

/* Every proper prefix (sampled for the big vectors) and one trailing byte. */
static void check_truncations(const blob *f, const char *name)
{
    size_t step = f->len > 4096 ? 997 : 1;
    int bad = 0;
    for (size_t n = 0; n < f->len; n += (n + 64 < f->len ? step : 1)) {
        adapter_broadcast b;
        adapter_request r;
        bad |= adapter_broadcast_decode(f->data, n, NULL, &b) >= 0 || !is_zero(&b, sizeof(b));
        bad |= adapter_request_decode(f->data, n, NULL, &r) >= 0 || !is_zero(&r, sizeof(r));
    }
    CHECK(!bad);
    if (bad)
        fprintf(stderr, "  a truncation of %s was accepted\n", name);
}

static void check_trailing(const blob *f, const char *name)
{
    uint8_t *longer = malloc(f->len + 1);
    memcpy(longer, f->data, f->len);
    longer[f->len] = f->data[0] == '{' ? 'x' : 0x00;
    adapter_broadcast b;
    adapter_request r;
    CHECK(adapter_broadcast_decode(longer, f->len + 1, NULL, &b) < 0);
    CHECK(adapter_request_decode(longer, f->len + 1, NULL, &r) < 0);
    if (adapter_request_decode(longer, f->len + 1, NULL, &r) >= 0)
        fprintf(stderr, "  %s with a trailing byte was accepted\n", name);
    free(longer);
}

static void test_truncated_and_trailing(void)
{
    for (size_t i = 0; i < sizeof(all_fixtures) / sizeof(all_fixtures[0]); i++) {
        blob f = load(all_fixtures[i]);
        CHECK(f.len > 0);
        check_truncations(&f, all_fixtures[i]);
        check_trailing(&f, all_fixtures[i]);
        free(f.data);
    }
    /* JSON allows trailing white space, as JSON.parse does */
    adapter_request r;
    const char *ws = "{\"type\":1,\"uid\":\"a\",\"requestId\":\"b\"} \n";
    CHECK(adapter_request_decode((const uint8_t *)ws, strlen(ws), NULL, &r) == 0);
    adapter_request_clear(&r);
}

/* [uid, packet, opts] with a broken part; the packet is {type:2, data:["e"], nsp:"/"}. */
#define PKT "\x83\xa4type\x02\xa4" "data\x91\xa1" "e\xa3nsp\xa1/"
#define OPTS "\x83\xa5rooms\x90\xa6" "except\x90\xa5" "flags\x80"

static void test_wrong_types(void)
{
    static const char ok[] = "\x93\xa1u" PKT OPTS;
    adapter_broadcast b;
    CHECK(adapter_broadcast_decode((const uint8_t *)ok, sizeof(ok) - 1, NULL, &b) == 0);
    adapter_broadcast_clear(&b);

    REJECT_B("", NULL);
    REJECT_B("\xc1", NULL);                                /* never-used byte */
    REJECT_B("\x80", NULL);                                /* a map */
    REJECT_B("\x92\xa1u" PKT, NULL);                       /* 2 elements */
    REJECT_B("\x94\xa1u" PKT OPTS "\xc0", NULL);           /* 4 elements */
    REJECT_B("\x93\x01" PKT OPTS, NULL);                   /* uid an int */
    REJECT_B("\x93\xc4\x01u" PKT OPTS, NULL);              /* uid a bin */
    REJECT_B("\x93\xa3u\x00v" PKT OPTS, NULL);             /* uid holds NUL */
    REJECT_B("\x93\xa1u\x90" OPTS, NULL);                  /* packet an array */
    REJECT_B("\x93\xa1u\x82\xa4" "data\x90\xa3nsp\xa1/" OPTS, NULL);       /* no type */
    REJECT_B("\x93\xa1u\x81\xa4type\xa1\x32" OPTS, NULL);                  /* type "2" */
    REJECT_B("\x93\xa1u\x81\xa4type\x07" OPTS, NULL);                      /* type 7 */
    REJECT_B("\x93\xa1u\x81\xa4type\xff" OPTS, NULL);                      /* type -1 */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa3nsp\x01" OPTS, NULL);           /* nsp an int */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa3nsp\xc0" OPTS, NULL);           /* nsp null */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa2id\xff" OPTS, NULL);            /* id -1 */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa2id\xa1\x31" OPTS, NULL);        /* id "1" */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\x01\x02" OPTS, NULL);              /* int key */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa3nsp\xc4\x01/" OPTS, NULL);      /* nsp a bin */
    REJECT_B("\x93\xa1u" PKT "\x90", NULL);                                /* opts an array */
    REJECT_B("\x93\xa1u" PKT "\xc0", NULL);                                /* opts nil */
    REJECT_B("\x93\xa1u" PKT "\x81\xa5rooms\xa1r", NULL);                  /* rooms a string */
    REJECT_B("\x93\xa1u" PKT "\x81\xa5rooms\x91\xc3", NULL);               /* a room true */
    REJECT_B("\x93\xa1u" PKT "\x81\xa5rooms\x91\xc0", NULL);               /* a room nil */
    REJECT_B("\x93\xa1u" PKT "\x81\xa5rooms\x91\x80", NULL);               /* a room map */
    REJECT_B("\x93\xa1u" PKT "\x81\xa5rooms\x91\xc4\x01r", NULL);          /* a room bin */
    REJECT_B("\x93\xa1u" PKT "\x81\xa6" "except\x91\xa3r\x00s", NULL);     /* NUL in room */
    REJECT_B("\x93\xa1u" PKT "\x81\xa5" "flags\x90", NULL);                /* flags an array */
    REJECT_B("\x93\xa1u" PKT "\x81\x01\x02", NULL);                        /* int key in opts */
    REJECT_B("\x93\xa1u" PKT "\x81\xa1z\xc4\x01z", NULL);                  /* bin in opts */
}

static void test_bad_data(void)
{
    /* data with a non-string key, invalid UTF-8, a literal placeholder */
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\x81\x01\x02" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\x81\xc3\x02" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\xa2\xc3\x28" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\x81\xa2\xff\xfe\x01" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\x82\xac_placeholder\xc3\xa3num\x00" OPTS,
             NULL);
    /* a map with _placeholder other than true is ordinary data */
    static const char ok[] =
        "\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\x81\xac_placeholder\xc2" OPTS;
    adapter_broadcast b;
    CHECK(adapter_broadcast_decode((const uint8_t *)ok, sizeof(ok) - 1, NULL, &b) == 0);
    CHECK(json_is(b.packet.data, "[{\"_placeholder\":false}]"));
    adapter_broadcast_clear(&b);
}

/* Lengths and counts beyond the message: refused before any allocation. */
/* notepack never repeats a key; a repeated one would drop binaries: refused. */
static void test_repeated_keys(void)
{
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\x82\xa1k\xc4\x00\xa1k\x01" OPTS, NULL);
    REJECT_B("\x93\xa1u\x83\xa4type\x02\xa4" "data\x90\xa4" "data\x90" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4type\x02" OPTS, NULL);
    REJECT_B("\x93\xa1u" PKT "\x82\xa5rooms\x90\xa5rooms\x90", NULL);
    REJECT_R("\x82\xa4type\x01\xa4type\x01", NULL);
    REJECT_R("\x84\xa4type\x09\xa9requestId\xa1r\xa6packet\xc4\x00\xa6packet\x01", NULL);
    json_t *v = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    CHECK(adapter_value_decode((const uint8_t *)"\x82\xa1" "a\x01\xa1" "a\x02", 7, NULL, &v,
                               &bins, &n) < 0);
    CHECK(v == NULL && bins == NULL && n == 0);
}

static void test_huge_lengths(void)
{
    REJECT_B("\xdd\xff\xff\xff\xff", NULL);
    REJECT_B("\xdf\xff\xff\xff\xff", NULL);
    REJECT_B("\xdc\xff\xff\xc0\xc0", NULL);
    REJECT_B("\x93\xdb\xff\xff\xff\xff" PKT OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\xdd\x7f\xff\xff\xff" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\xde\xff\xff\xa1k" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\xc6\xff\xff\xff\xff" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\xc9\xff\xff\xff\xff\x01" OPTS, NULL);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\xc7\x05\x01\x00" OPTS, NULL);
    REJECT_R("\xdf\xff\xff\xff\xff", NULL);
    REJECT_R("\x81\xa4type\xdd\xff\xff\xff\xff", NULL);
    /* headers cut inside their length field */
    REJECT_B("\xdd\x00\x00", NULL);
    REJECT_B("\xc5\x00", NULL);
    REJECT_B("\xcb\x00\x00\x00", NULL);
    REJECT_B("\xd8\x01\x00", NULL);
}

static void test_deep_nesting(void)
{
    /* 40 nested arrays: beyond msgpack-c's 32 levels */
    uint8_t deep[64];
    size_t n = 0;
    const char head[] = "\x93\xa1u\x82\xa4type\x02\xa4" "data";
    memcpy(deep, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    uint8_t msg[256];
    memcpy(msg, deep, n);
    for (int i = 0; i < 40; i++)
        msg[n++] = 0x91;
    msg[n++] = 0xc0;
    memcpy(msg + n, OPTS, sizeof(OPTS) - 1);
    n += sizeof(OPTS) - 1;
    reject_broadcast(msg, n, NULL, "40 nested arrays");

    /* max_depth 2: ["e", [1]] is fine, ["e", [[1]]] is not */
    adapter_limits lim = {1024, 64, 2, 1024};
    static const char ok[] = "\x93\xa1u\x82\xa4type\x02\xa4" "data\x92\xa1" "e\x91\x01" OPTS;
    adapter_broadcast b;
    CHECK(adapter_broadcast_decode((const uint8_t *)ok, sizeof(ok) - 1, &lim, &b) == 0);
    adapter_broadcast_clear(&b);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x92\xa1" "e\x91\x91\x01" OPTS, &lim);
    REJECT_R("{\"type\":6,\"data\":[\"e\",[[1]]]}", &lim);
    adapter_request r;
    const char *json_ok = "{\"type\":6,\"data\":[\"e\",[1]]}";
    CHECK(adapter_request_decode((const uint8_t *)json_ok, strlen(json_ok), &lim, &r) == 0);
    adapter_request_clear(&r);
}

static void test_limits(void)
{
    adapter_limits rooms2 = {2, 64, 64, 1024};
    REJECT_B("\x93\xa1u" PKT "\x82\xa5rooms\x92\xa1" "a\xa1" "b\xa6" "except\x91\xa1" "c", &rooms2);
    REJECT_R("{\"type\":2,\"opts\":{\"rooms\":[\"a\"],\"except\":[\"b\",\"c\"]}}", &rooms2);
    REJECT_R("{\"type\":2,\"rooms\":[\"a\",\"b\",\"c\"]}", &rooms2);
    /* an allRooms response may list more rooms than max_rooms */
    adapter_request r;
    const char *all = "{\"requestId\":\"q\",\"rooms\":[\"a\",\"b\",\"c\",1]}";
    CHECK(adapter_request_decode((const uint8_t *)all, strlen(all), &rooms2, &r) == 0);
    CHECK(json_array_size(json_object_get(r.json, "rooms")) == 4);
    adapter_request_clear(&r);
    adapter_limits bins1 = {1024, 1, 64, 1024};
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x92\xc4\x00\xc4\x00" OPTS, &bins1);
    adapter_limits str4 = {1024, 64, 64, 4};
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\xa5score" OPTS, &str4);
    REJECT_B("\x93\xa1u\x82\xa4type\x02\xa4" "data\x91\xc4\x05score" OPTS, &str4);
    REJECT_B("\x93\xa5uuuuu" PKT OPTS, &str4);
    REJECT_R("{\"type\":6,\"data\":[\"score\"]}", &str4);
    /* the defaults apply with lim NULL: 65 binaries are too many */
    uint8_t msg[512];
    const char head[] = "\x93\xa1u\x82\xa4type\x02\xa4" "data\xdc\x00\x41";
    size_t n = sizeof(head) - 1;
    memcpy(msg, head, n);
    for (int i = 0; i < 65; i++) {
        msg[n++] = 0xc4;
        msg[n++] = 0x00;
    }
    memcpy(msg + n, OPTS, sizeof(OPTS) - 1);
    reject_broadcast(msg, n + sizeof(OPTS) - 1, NULL, "65 binaries");
}

static void test_bad_requests(void)
{
    REJECT_R("", NULL);
    REJECT_R("{", NULL);
    REJECT_R("{}x", NULL);
    REJECT_R("{\"type\":\"1\"}", NULL);
    REJECT_R("{\"type\":-1}", NULL);
    REJECT_R("{\"type\":1.5}", NULL);
    REJECT_R("{\"uid\":5}", NULL);
    REJECT_R("{\"requestId\":[]}", NULL);
    REJECT_R("{\"uid\":\"a\\u0000b\"}", NULL);
    REJECT_R("{\"type\":2,\"rooms\":\"a\"}", NULL);
    REJECT_R("{\"type\":2,\"opts\":true}", NULL);
    REJECT_R("{\"type\":2,\"opts\":{\"rooms\":[null]}}", NULL);
    REJECT_R("{\"type\":8,\"clientCount\":-1}", NULL);
    REJECT_R("{\"type\":8,\"clientCount\":\"1\"}", NULL);
    REJECT_R("{\"type\":7,\"uid\":\"a\",\"packet\":{}}", NULL); /* 7 is msgpack only */
    REJECT_R("{\"type\":9,\"requestId\":\"a\"}", NULL);
    REJECT_R("{\"a\":\xff}", NULL);
    REJECT_R("\x91\x01", NULL);                                /* msgpack, not a map */
    REJECT_R("\x81\xa4type\xa1\x37", NULL);                    /* type "7" */
    REJECT_R("\x82\xa4type\x07\xa4opts\x80", NULL);            /* 7 without packet */
    REJECT_R("\x82\xa4type\x07\xa6packet" PKT, NULL);          /* 7 without opts */
    REJECT_R("\x83\xa4type\x07\xa6packet\x90\xa4opts\x80", NULL); /* packet an array */
    REJECT_R("\x82\xa4type\x01\xa3uid\xc4\x01u", NULL);        /* bin outside a packet */
    REJECT_R("\x82\x01\x01\xa4type\x01", NULL);                /* int key */
    adapter_limits bins0 = {1024, 0, 64, 1024};
    REJECT_R("\x83\xa4type\x09\xa9requestId\xa1r\xa6packet\xc4\x00", &bins0);
}

/* What JSON.parse takes and jansson only with help: integers beyond int64. */
static void test_request_leniency(void)
{
    adapter_request r;
    const char *big = "{\"requestId\":\"a\",\"sockets\":[{\"data\":123456789012345678901234}]}";
    CHECK(adapter_request_decode((const uint8_t *)big, strlen(big), NULL, &r) == 0);
    CHECK(r.type == -1 && strcmp(r.request_id, "a") == 0);
    adapter_request_clear(&r);
    /* legacy single-socket form; numeric room; unknown keys */
    const char *legacy = "{\"uid\":\"u\",\"requestId\":\"q\",\"type\":2,\"sid\":\"s1\",\"room\":7,\"x\":{}}";
    CHECK(adapter_request_decode((const uint8_t *)legacy, strlen(legacy), NULL, &r) == 0);
    CHECK(strcmp(r.sid, "s1") == 0 && strcmp(r.room, "7") == 0 && !r.has_opts);
    adapter_request_clear(&r);
    /* an empty key first */
    static const char empty_key[] = "\x82\xa0\x01\xa4type\x01";
    CHECK(adapter_request_decode((const uint8_t *)empty_key, sizeof(empty_key) - 1, NULL, &r) == 0);
    CHECK(r.type == 1);
    adapter_request_clear(&r);
    /* a msgpack request of another type is read like its JSON form */
    static const char mp[] = "\x83\xa4type\x02\xa3uid\xa1u\xa5rooms\x91\xa1r";
    CHECK(adapter_request_decode((const uint8_t *)mp, sizeof(mp) - 1, NULL, &r) == 0);
    CHECK(r.type == 2 && strcmp(r.uid, "u") == 0 && STRV_IS(r.rooms, r.n_rooms, "r"));
    CHECK(r.json == NULL);
    adapter_request_clear(&r);
}

/* ------------------------------------------------------------------ values */

static void check_value(const char *bytes, size_t len, const char *want)
{
    json_t *v = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    CHECK(adapter_value_decode((const uint8_t *)bytes, len, NULL, &v, &bins, &n) == 0);
    CHECK(json_is(v, want));
    json_decref(v);
    for (size_t i = 0; i < n; i++)
        free(bins[i].data);
    free(bins);
}

#define VALUE_IS(bytes, want) check_value((bytes), sizeof(bytes) - 1, (want))

static void test_values(void)
{
    VALUE_IS("\xa0", "\"\"");                         /* msgpack-c gives a NULL pointer */
    VALUE_IS("\x81\xa0\xa0", "{\"\":\"\"}");
    VALUE_IS("\xda\x00\x00", "\"\"");
    VALUE_IS("\xc4\x00", "{\"_placeholder\":true,\"num\":0}");
    VALUE_IS("\xd4\x00\x00", "null");                 /* notepack's undefined */
    VALUE_IS("\xd6\xff\x00\x00\x00\x01", "null");     /* timestamp 32 */
    VALUE_IS("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", "null");
    VALUE_IS("\xd5\x05\x01\x02", "null");             /* another ext */
    VALUE_IS("\xd7\x00\x00\x00\x00\x00\x00\x00\x00\x01", "null");
    VALUE_IS("\xd8\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "null");
    VALUE_IS("\xc8\x00\x01\x05\x00", "null");
    VALUE_IS("\xc9\x00\x00\x00\x01\x05\x00", "null");
    VALUE_IS("\xc7\x00\x05", "null");                  /* ext 8 of 0 bytes */
    VALUE_IS("\xd9\x01" "a", "\"a\"");
    VALUE_IS("\xdb\x00\x00\x00\x01" "a", "\"a\"");
    VALUE_IS("\xc5\x00\x01\x07", "{\"_placeholder\":true,\"num\":0}");
    VALUE_IS("\xdd\x00\x00\x00\x01\x01", "[1]");
    VALUE_IS("\xdf\x00\x00\x00\x01\xa1k\xc0", "{\"k\":null}");
    VALUE_IS("\xde\x00\x00", "{}");
    VALUE_IS("\xc2", "false");
    VALUE_IS("\xca\x3f\xc0\x00\x00", "1.5");          /* float 32 */
    VALUE_IS("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", "null"); /* NaN */
    VALUE_IS("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00", "null"); /* -Infinity */
    VALUE_IS("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "18446744073709551615.0");
    VALUE_IS("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", "9223372036854775807");
    VALUE_IS("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", "-9223372036854775808");
    VALUE_IS("\xd0\x05", "5");                        /* int 8 holding a positive */
    VALUE_IS("\xa3" "a\x00" "b", "\"a\\u0000b\"");
    /* a key holding NUL (json_equal cannot compare those: looked up by length) */
    json_t *v = NULL;
    adapter_bin *bins = NULL;
    size_t n = 0;
    CHECK(adapter_value_decode((const uint8_t *)"\x81\xa3k\x00k\x01", 6, NULL, &v, &bins, &n) == 0);
    CHECK(json_integer_value(json_object_getn(v, "k\0k", 3)) == 1 && json_object_size(v) == 1);
    json_decref(v);

    /* binaries are appended after the caller's */
    adapter_bin first = {malloc(1), 1};
    first.data[0] = 0xaa;
    bins = malloc(sizeof(*bins));
    bins[0] = first;
    n = 1;
    CHECK(adapter_value_decode((const uint8_t *)"\x92\xc4\x01\xbb\xc4\x00", 6, NULL, &v, &bins,
                               &n) == 0);
    CHECK(n == 3 && bins[1].len == 1 && bins[1].data[0] == 0xbb && bins[2].len == 0);
    CHECK(json_is(v, "[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":2}]"));
    json_decref(v);
    /* a failure keeps the caller's binaries and adds none */
    CHECK(adapter_value_decode((const uint8_t *)"\x92\xc4\x01\xbb\xc1", 5, NULL, &v, &bins, &n) < 0);
    CHECK(v == NULL && n == 3);
    CHECK(adapter_value_decode((const uint8_t *)"\x92\xc4\x01\xbb\x81\x01\x01", 7, NULL, &v, &bins,
                               &n) < 0);
    CHECK(v == NULL && n == 3);
    for (size_t i = 0; i < n; i++)
        free(bins[i].data);
    free(bins);
}

/* ------------------------------------------------------------------ encoding */

static void check_encoded_value(json_t *v, const char *want, size_t want_len)
{
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_ack_encode("r", v, NULL, 0, &out) == 0);
    /* {type:9, requestId:"r", packet:<v>} */
    static const char head[] = "\x83\xa4type\x09\xa9requestId\xa1r\xa6packet";
    size_t hl = sizeof(head) - 1;
    CHECK(out.len == hl + want_len && memcmp(out.data, head, hl) == 0 &&
          memcmp(out.data + hl, want, want_len) == 0);
    json_decref(v);
    bytebuf_free(&out);
}

#define ENCODES(v, bytes) check_encoded_value((v), (bytes), sizeof(bytes) - 1)

static void test_encode_numbers(void)
{
    ENCODES(json_real(3.0), "\x03");        /* integral reals take int forms */
    ENCODES(json_real(-0.0), "\x00");       /* as notepack: -0 >= 0 */
    ENCODES(json_real(-33.0), "\xd0\xdf");
    ENCODES(json_real(65536.0), "\xce\x00\x01\x00\x00");
    ENCODES(json_real(9223372036854775808.0), "\xcf\x80\x00\x00\x00\x00\x00\x00\x00");
    ENCODES(json_real(1e21), "\xcb\x44\x4b\x1a\xe4\xd6\xe2\xef\x50"); /* notepack would wrap */
    ENCODES(json_real(0.5), "\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00");
    ENCODES(json_integer(INT64_MIN), "\xd3\x80\x00\x00\x00\x00\x00\x00\x00");
    ENCODES(json_integer(-32), "\xe0");
    ENCODES(json_integer(255), "\xcc\xff");
}

static void test_encode_objects(void)
{
    /* JavaScript key order: array indices ascending first */
    ENCODES(json_pack("{sisisisi}", "b", 1, "2", 2, "1", 3, "01", 4),
            "\x84\xa1" "1\x03\xa1" "2\x02\xa1" "b\x01\xa2" "01\x04");
    ENCODES(json_pack("{si}", "4294967295", 1), "\x81\xaa" "4294967295\x01");
    ENCODES(json_pack("[]"), "\x90");
    ENCODES(json_pack("{}"), "\x80");
    ENCODES(json_stringn("a\0b", 3), "\xa3" "a\x00" "b");
    ENCODES(json_pack("{s:b,s:i}", "_placeholder", 0, "num", 0),
            "\x82\xac_placeholder\xc2\xa3num\x00");
}

static void test_encode_placeholders(void)
{
    uint8_t blob3[3] = {1, 2, 3};
    adapter_bin bins[1] = {{blob3, 3}};
    json_t *arg = json_pack("[{s:b,s:i}]", "_placeholder", 1, "num", 0);
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_ack_encode("r", arg, bins, 1, &out) == 0);
    CHECK(out.len >= 6 && memcmp(out.data + out.len - 6, "\x91\xc4\x03\x01\x02\x03", 6) == 0);
    /* out of range, or not an integer: refused, and the output is left as it was */
    size_t before = out.len;
    CHECK(adapter_broadcast_ack_encode("r", arg, bins, 0, &out) < 0);
    json_t *bad = json_pack("{s:b,s:s}", "_placeholder", 1, "num", "0");
    CHECK(adapter_broadcast_ack_encode("r", bad, bins, 1, &out) < 0);
    CHECK(out.len == before);
    CHECK(adapter_broadcast_ack_encode(NULL, arg, bins, 1, &out) < 0);
    json_decref(bad);
    json_decref(arg);
    bytebuf_free(&out);
}

static void test_encode_refusals(void)
{
    adapter_broadcast b = {.uid = NULL, .packet = {2, NULL, -1, NULL, NULL, 0},
                           .flags = {0, -1, 0, -1}};
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_encode(&b, &out) < 0); /* no uid */
    CHECK(out.len == 0);
    b.uid = "u";
    CHECK(adapter_broadcast_request_encode("u", NULL, &b, &out) < 0);
    char *rooms[] = {NULL};
    b.rooms = rooms;
    b.n_rooms = 1;
    CHECK(adapter_broadcast_encode(&b, &out) < 0); /* a NULL room */
    out.limit = 8;
    b.n_rooms = 0;
    CHECK(adapter_broadcast_encode(&b, &out) < 0); /* over the buffer's limit */
    CHECK(out.len == 0);
    bytebuf_free(&out);
}

/* ------------------------------------------------------------------ round trips */

static void check_roundtrip(const adapter_broadcast *b)
{
    bytebuf out = BYTEBUF_INIT;
    adapter_broadcast again;
    CHECK(adapter_broadcast_encode(b, &out) == 0);
    CHECK(adapter_broadcast_decode(out.data, out.len, NULL, &again) == 0);
    CHECK(same_broadcast(b, &again));
    adapter_broadcast_clear(&again);

    adapter_request r;
    bytebuf req = BYTEBUF_INIT;
    CHECK(adapter_broadcast_request_encode("me", "rq", b, &req) == 0);
    CHECK(adapter_request_decode(req.data, req.len, NULL, &r) == 0);
    adapter_broadcast from_request = request_as_broadcast(&r);
    from_request.uid = b->uid;
    CHECK(r.type == 7 && strcmp(r.uid, "me") == 0 && strcmp(r.request_id, "rq") == 0);
    CHECK(same_broadcast(b, &from_request));
    adapter_request_clear(&r);
    bytebuf_free(&req);
    bytebuf_free(&out);
}

static void test_roundtrips(void)
{
    uint8_t bytes[300];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)i;
    adapter_bin bins[2] = {{bytes, 300}, {bytes, 0}};
    char *rooms[] = {"room1", "with space", "\xc3\xa9t\xc3\xa9"};
    char *except[] = {"sid"};
    adapter_broadcast b = {
        .uid = "abcdef",
        .packet = {2, "/admin", -1,
                   json_pack("[s,{s:o,s:[o,f,I,I,s#,n,b]},{s:i}]", "ev", "bin",
                             json_pack("{s:b,s:i}", "_placeholder", 1, "num", 0), "list",
                             json_pack("{s:b,s:i}", "_placeholder", 1, "num", 1), 1.25,
                             (json_int_t)INT64_MAX, (json_int_t)INT64_MIN, "x\0y", (int)3, 1,
                             "9", 9),
                   bins, 2},
        .rooms = rooms, .n_rooms = 3, .except = except, .n_except = 1,
        .flags = {1, 0, 1, 30000},
    };
    check_roundtrip(&b);
    b.packet.id = 12;
    b.packet.type = 3;
    b.flags = (adapter_flags){0, 1, 0, -1};
    check_roundtrip(&b);
    json_decref(b.packet.data);
    b.packet.data = NULL; /* no data member at all */
    b.packet.n_bins = 0;
    b.n_rooms = b.n_except = 0;
    b.packet.nsp = NULL;  /* "/" */
    bytebuf out = BYTEBUF_INIT;
    adapter_broadcast again;
    CHECK(adapter_broadcast_encode(&b, &out) == 0);
    CHECK(adapter_broadcast_decode(out.data, out.len, NULL, &again) == 0);
    CHECK(again.packet.data == NULL && strcmp(again.packet.nsp, "/") == 0);
    adapter_broadcast_clear(&again);
    bytebuf_free(&out);
}

/* sio's recovery offset: the last value of a classic message, so that one
 * encoded with "" ends with 0xa0 (what the history script replaces). */
static void test_offset_flag(void)
{
    char *rooms[] = {"live"};
    json_t *data = json_pack("[s,i]", "tick", 1);
    adapter_broadcast b = {.uid = "abcdef", .packet = {2, "/", -1, data, NULL, 0},
                           .rooms = rooms, .n_rooms = 1, .flags = {0, -1, 0, -1}, .offset = ""};
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_broadcast_encode(&b, &out) == 0);
    CHECK(out.len > 0 && out.data[out.len - 1] == 0xa0);
    /* what the script does: the empty string becomes the stream id */
    out.len--;
    bytebuf_append(&out, "\xaf" "1796291263132-0", 16);
    adapter_broadcast d;
    CHECK(adapter_broadcast_decode(out.data, out.len, NULL, &d) == 0);
    CHECK(d.offset && strcmp(d.offset, "1796291263132-0") == 0);
    CHECK(d.n_rooms == 1 && strcmp(d.rooms[0], "live") == 0 && json_is(d.packet.data, "[\"tick\",1]"));
    adapter_broadcast_clear(&d);
    /* without the flag: no offset */
    b.offset = NULL;
    out.len = 0;
    CHECK(adapter_broadcast_encode(&b, &out) == 0 && adapter_broadcast_decode(out.data, out.len, NULL, &d) == 0);
    CHECK(d.offset == NULL);
    adapter_broadcast_clear(&d);
    json_decref(data);
    bytebuf_free(&out);
}

/* @socket.io/redis-streams-adapter's BROADCAST data, as JSON text and as
 * msgpack (with binaries), both ways. */
static void test_cluster_form(void)
{
    const char *node = "{\"packet\":{\"type\":2,\"data\":[\"tick\",{\"n\":1}],\"nsp\":\"/\"},"
                       "\"opts\":{\"rooms\":[\"live\"],\"except\":[\"vip\"],\"flags\":{}}}";
    adapter_broadcast b;
    CHECK(adapter_cluster_broadcast_decode_json(node, strlen(node), NULL, &b) == 0);
    CHECK(b.packet.type == 2 && strcmp(b.packet.nsp, "/") == 0 && b.packet.id == -1);
    CHECK(json_is(b.packet.data, "[\"tick\",{\"n\":1}]"));
    CHECK(b.n_rooms == 1 && strcmp(b.rooms[0], "live") == 0 && b.n_except == 1 && !b.flags.is_volatile);
    char *text = adapter_cluster_broadcast_json(&b);
    adapter_broadcast again;
    CHECK(text && adapter_cluster_broadcast_decode_json(text, strlen(text), NULL, &again) == 0);
    CHECK(json_is(again.packet.data, "[\"tick\",{\"n\":1}]") && again.n_except == 1);
    adapter_broadcast_clear(&again);
    free(text);
    adapter_broadcast_clear(&b);
    /* a broadcast with ack never enters the stream */
    const char *ack = "{\"requestId\":\"1\",\"packet\":{\"type\":2,\"data\":[\"x\"],\"nsp\":\"/\"},"
                      "\"opts\":{\"rooms\":[],\"except\":[]}}";
    CHECK(adapter_cluster_broadcast_decode_json(ack, strlen(ack), NULL, &b) < 0);
    const char *bad[] = {"", "{", "[]", "{\"packet\":1}", "{\"packet\":{\"type\":9},\"opts\":{}}",
                         "{\"packet\":{\"type\":2,\"nsp\":3},\"opts\":{}}",
                         "{\"packet\":{\"type\":2},\"opts\":{\"rooms\":{}}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(adapter_cluster_broadcast_decode_json(bad[i], strlen(bad[i]), NULL, &b) < 0);
    /* binaries: msgpack with bin, placeholders in data */
    uint8_t bytes3[3] = {7, 8, 9};
    adapter_bin bins[1] = {{bytes3, 3}};
    json_t *data = json_pack("[s,{s:b,s:i}]", "bin", "_placeholder", 1, "num", 0);
    adapter_broadcast bb = {.packet = {2, "/x", -1, data, bins, 1}, .flags = {1, -1, 0, -1}};
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_cluster_broadcast_json(&bb) == NULL); /* JSON cannot carry them */
    CHECK(adapter_cluster_broadcast_encode(&bb, &out) == 0);
    CHECK(adapter_cluster_broadcast_decode(out.data, out.len, NULL, &b) == 0);
    CHECK(strcmp(b.packet.nsp, "/x") == 0 && b.packet.n_bins == 1 && b.packet.bins[0].len == 3 &&
          memcmp(b.packet.bins[0].data, bytes3, 3) == 0 && b.flags.is_volatile);
    adapter_broadcast_clear(&b);
    CHECK(adapter_cluster_broadcast_decode(out.data, out.len - 1, NULL, &b) < 0);
    json_decref(data);
    bytebuf_free(&out);
}

/* Requests sio originates: JSON exactly as the Node adapter 8.3 writes them. */
static void test_encode_requests(void)
{
    char *rooms[] = {"a", "b"}, *except[] = {"c"}, *targets[] = {"t"};
    adapter_request r = {.type = ADAPTER_REMOTE_FETCH, .uid = "u1", .request_id = "rq1",
                         .opts_rooms = rooms, .n_opts_rooms = 2, .opts_except = except,
                         .n_opts_except = 1};
    bytebuf out = BYTEBUF_INIT;
    CHECK(adapter_request_encode(&r, &out) == 0);
    CHECK(out.len == strlen("{\"uid\":\"u1\",\"requestId\":\"rq1\",\"type\":5,\"opts\":{\"rooms\":[\"a\",\"b\"],\"except\":[\"c\"]}}") &&
          memcmp(out.data, "{\"uid\":\"u1\",\"requestId\":\"rq1\",\"type\":5,\"opts\":{\"rooms\":[\"a\",\"b\"],\"except\":[\"c\"]}}", out.len) == 0);
    bytebuf_free(&out);
    r = (adapter_request){.type = ADAPTER_ALL_ROOMS, .uid = "u1", .request_id = "rq2"};
    CHECK(adapter_request_encode(&r, &out) == 0);
    CHECK(out.len == strlen("{\"uid\":\"u1\",\"requestId\":\"rq2\",\"type\":1}") &&
          memcmp(out.data, "{\"uid\":\"u1\",\"requestId\":\"rq2\",\"type\":1}", out.len) == 0);
    bytebuf_free(&out);
    r = (adapter_request){.type = ADAPTER_REMOTE_JOIN, .uid = "u1", .rooms = targets, .n_rooms = 1};
    CHECK(adapter_request_encode(&r, &out) == 0);
    const char *join = "{\"uid\":\"u1\",\"type\":2,\"opts\":{\"rooms\":[],\"except\":[]},\"rooms\":[\"t\"]}";
    CHECK(out.len == strlen(join) && memcmp(out.data, join, out.len) == 0);
    bytebuf_free(&out);
    r = (adapter_request){.type = ADAPTER_REMOTE_DISCONNECT, .uid = "u1", .close = 1};
    CHECK(adapter_request_encode(&r, &out) == 0);
    const char *disc = "{\"uid\":\"u1\",\"type\":4,\"opts\":{\"rooms\":[],\"except\":[]},\"close\":true}";
    CHECK(out.len == strlen(disc) && memcmp(out.data, disc, out.len) == 0);
    adapter_request back;
    CHECK(adapter_request_decode(out.data, out.len, NULL, &back) == 0 && back.type == 4 &&
          back.close == 1 && back.has_opts && strcmp(back.uid, "u1") == 0);
    adapter_request_clear(&back);
    bytebuf_free(&out);
    /* refused: no requestId for a request that needs one, a type never originated */
    r = (adapter_request){.type = ADAPTER_REMOTE_FETCH, .uid = "u1"};
    CHECK(adapter_request_encode(&r, &out) == -1 && out.len == 0);
    r = (adapter_request){.type = ADAPTER_BROADCAST, .uid = "u1", .request_id = "x"};
    CHECK(adapter_request_encode(&r, &out) == -1 && out.len == 0);
    bytebuf_free(&out);
}

int main(void)
{
    test_wire_example();
    test_reencode_vectors();
    test_room1_fields();
    test_numbers();
    test_big_numbers();
    test_binary_fields();
    test_flag_vectors();
    test_numeric_rooms();
    test_date_undefined();
    test_strings_containers();
    test_emitter_vectors();
    test_json_requests();
    test_emitter_requests();
    test_json_responses();
    test_request7();
    test_acks();
    test_truncated_and_trailing();
    test_wrong_types();
    test_bad_data();
    test_repeated_keys();
    test_huge_lengths();
    test_deep_nesting();
    test_limits();
    test_bad_requests();
    test_request_leniency();
    test_values();
    test_encode_numbers();
    test_encode_objects();
    test_encode_placeholders();
    test_offset_flag();
    test_cluster_form();
    test_encode_refusals();
    test_roundtrips();
    test_encode_requests();
    return CHECK_DONE("test_adapter_msg");
}
