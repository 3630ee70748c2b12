/* test_plain_msg: unit tests of the plain WebSocket message codec
 * (protocol/plain_msg.c): decoding a client's text message into Socket.IO
 * arguments, encoding Socket.IO events and acks as plain text, the single
 * binary frame rule and the query string as the socket's auth object. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plain_msg.h"

CHECK_STATE;

static const plain_fields action_fields = {"action", "data", "id"};

/* The compact JSON text of v, as the tests compare it (caller frees). */
static char *text_of(const json_t *v)
{
    bytebuf out = BYTEBUF_INIT;
    if (!v || sio_json_append(&out, v) || bytebuf_append_byte(&out, '\0')) {
        bytebuf_free(&out);
        return strdup("(none)");
    }
    return (char *)out.data;
}

/* Decodes `text` with `f`; checks kind, id and the args as JSON text. */
static void check_decode(const char *text, const plain_fields *f, plain_kind kind, int64_t id,
                         const char *args)
{
    plain_in in;
    plain_status st = plain_decode(text, strlen(text), f, &in);
    CHECK(st == PLAIN_OK);
    if (st != PLAIN_OK) {
        fprintf(stderr, "  decoding %s: status %d\n", text, st);
        return;
    }
    CHECK(in.kind == kind && in.id == id);
    char *got = text_of(in.args);
    CHECK_MEM(got, strlen(got), args);
    free(got);
    plain_in_clear(&in);
    CHECK(in.args == NULL);
}

static void check_reject_n(const char *text, size_t len, const plain_fields *f, plain_status want)
{
    plain_in in;
    plain_status st = plain_decode(text, len, f, &in);
    CHECK(st == want);
    if (st != want)
        fprintf(stderr, "  decoding \"%.*s\": got %d, want %d\n", (int)(len > 80 ? 80 : len),
                text, st, want);
    CHECK(in.args == NULL && in.id == -1); /* nothing owned behind */
    plain_in_clear(&in);
}

static void check_reject(const char *text, plain_status want)
{
    check_reject_n(text, strlen(text), NULL, want);
}

static void test_decode_events(void)
{
    check_decode("{\"event\":\"score\",\"data\":{\"home\":1}}", NULL, PLAIN_EVENT, -1,
                 "[\"score\",{\"home\":1}]");
    check_decode("{\"event\":\"chat\",\"data\":\"hi\",\"id\":3}", NULL, PLAIN_EVENT, 3,
                 "[\"chat\",\"hi\"]");
    check_decode("{\"id\":0,\"event\":\"a\",\"data\":null}", NULL, PLAIN_EVENT, 0, "[\"a\",null]");
    check_decode("{\"event\":\"m\",\"data\":[1,2]}", NULL, PLAIN_EVENT, -1, "[\"m\",[1,2]]");
    /* without a data field the whole object is the data */
    check_decode("{\"action\":\"ping\",\"seq\":1}", &action_fields, PLAIN_EVENT, -1,
                 "[\"ping\",{\"action\":\"ping\",\"seq\":1}]");
    check_decode("{\"action\":\"ping\",\"id\":9}", &action_fields, PLAIN_EVENT, 9,
                 "[\"ping\",{\"action\":\"ping\",\"id\":9}]");
    check_decode("{\"event\":\"tick\"}", NULL, PLAIN_EVENT, -1, "[\"tick\",{\"event\":\"tick\"}]");
    /* other field names: "event" is then only data */
    const plain_fields custom = {"type", "payload", "rid"};
    check_decode("{\"type\":\"t\",\"payload\":5,\"rid\":2,\"event\":\"x\",\"id\":\"s\"}", &custom,
                 PLAIN_EVENT, 2, "[\"t\",5]");
    /* JSON whitespace; UTF-8 names; big integers read as doubles, as JSON.parse does */
    check_decode(" {\n\"event\" : \"\xc3\xa9t\xc3\xa9\" , \"data\" : [ ] }\t", NULL, PLAIN_EVENT,
                 -1, "[\"\xc3\xa9t\xc3\xa9\",[]]");
    check_decode("{\"event\":\"n\",\"data\":100000000000000000000}", NULL, PLAIN_EVENT, -1,
                 "[\"n\",100000000000000000000]");
    /* NUL inside data is kept (as the Socket.IO codec does) */
    check_decode("{\"event\":\"z\",\"data\":\"a\\u0000b\"}", NULL, PLAIN_EVENT, -1,
                 "[\"z\",\"a\\u0000b\"]");
    /* "_placeholder" that is not true is ordinary data */
    check_decode("{\"event\":\"p\",\"data\":{\"_placeholder\":1,\"num\":0}}", NULL, PLAIN_EVENT, -1,
                 "[\"p\",{\"_placeholder\":1,\"num\":0}]");
}

static void test_decode_replies(void)
{
    check_decode("{\"id\":7,\"data\":{\"ok\":true}}", NULL, PLAIN_REPLY, 7, "[{\"ok\":true}]");
    check_decode("{\"id\":7}", NULL, PLAIN_REPLY, 7, "[]");
    check_decode("{\"id\":1,\"data\":null,\"x\":2}", NULL, PLAIN_REPLY, 1, "[null]");
    check_decode("{\"data\":[1],\"id\":0}", &action_fields, PLAIN_REPLY, 0, "[[1]]");
}

static void test_decode_ids(void)
{
    check_decode("{\"id\":9007199254740991}", NULL, PLAIN_REPLY, 9007199254740991LL, "[]");
    check_reject("{\"id\":9007199254740992}", PLAIN_ERR_SHAPE); /* 2^53 */
    check_reject("{\"event\":\"a\",\"id\":9007199254740992}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":99999999999999999999}", PLAIN_ERR_SHAPE); /* beyond int64: a real */
    check_reject("{\"id\":-1}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":1.5}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":1.0}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":1e3}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":\"1\"}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":null}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":true}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":\"a\",\"id\":-5}", PLAIN_ERR_SHAPE);
}

static void test_decode_names(void)
{
    char text[400];
    char name[PLAIN_EVENT_MAX + 2];
    memset(name, 'e', sizeof(name) - 1);
    name[PLAIN_EVENT_MAX] = '\0';
    snprintf(text, sizeof(text), "{\"event\":\"%s\",\"data\":1}", name); /* 256 bytes */
    plain_in in;
    CHECK(plain_decode(text, strlen(text), NULL, &in) == PLAIN_OK);
    CHECK(json_string_length(json_array_get(in.args, 0)) == PLAIN_EVENT_MAX);
    plain_in_clear(&in);
    name[PLAIN_EVENT_MAX] = 'e';
    name[PLAIN_EVENT_MAX + 1] = '\0';
    snprintf(text, sizeof(text), "{\"event\":\"%s\",\"data\":1}", name); /* 257 bytes */
    check_reject(text, PLAIN_ERR_SHAPE);
    /* 128 two-byte characters are 256 bytes; 129 are too many */
    char wide[300] = "{\"event\":\"";
    for (int i = 0; i < 128; i++)
        strcat(wide, "\xc3\xa9");
    strcat(wide, "\"}");
    CHECK(plain_decode(wide, strlen(wide), NULL, &in) == PLAIN_OK);
    plain_in_clear(&in);
    memcpy(wide + strlen(wide) - 2, "\xc3\xa9\"}", 5);
    check_reject(wide, PLAIN_ERR_SHAPE);

    check_reject("{\"event\":\"\"}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":1,\"data\":2}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":null,\"id\":1}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":[\"a\"]}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":{}}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":\"a\\u0000b\"}", PLAIN_ERR_SHAPE); /* no C string form */
}

static void test_decode_errors(void)
{
    /* not JSON */
    check_reject_n(NULL, 0, NULL, PLAIN_ERR_JSON);
    check_reject_n("", 0, NULL, PLAIN_ERR_JSON);
    check_reject("   ", PLAIN_ERR_JSON);
    check_reject("{", PLAIN_ERR_JSON);
    check_reject("{\"event\":\"a\"", PLAIN_ERR_JSON);
    check_reject("{\"event\":\"a\",}", PLAIN_ERR_JSON);
    check_reject("{'event':'a'}", PLAIN_ERR_JSON);
    check_reject("{\"event\":\"a\"}{}", PLAIN_ERR_JSON);
    check_reject("{\"event\":\"a\"} x", PLAIN_ERR_JSON);
    check_reject("hello", PLAIN_ERR_JSON);
    check_reject("{\"event\":NaN}", PLAIN_ERR_JSON);
    /* truncated: every proper prefix of a valid message */
    const char *whole = "{\"event\":\"score\",\"data\":{\"home\":[1,2.5,\"x\"]},\"id\":12}";
    for (size_t n = 0; n < strlen(whole); n++)
        check_reject_n(whole, n, NULL, PLAIN_ERR_JSON);
    /* the length is honoured: what follows is not read */
    plain_in in;
    CHECK(plain_decode("{\"id\":1}garbage", 8, NULL, &in) == PLAIN_OK && in.id == 1);
    plain_in_clear(&in);

    /* JSON, not an object */
    check_reject("[]", PLAIN_ERR_SHAPE);
    check_reject("[{\"event\":\"a\"}]", PLAIN_ERR_SHAPE);
    check_reject("\"event\"", PLAIN_ERR_SHAPE);
    check_reject("42", PLAIN_ERR_SHAPE);
    check_reject("null", PLAIN_ERR_SHAPE);
    check_reject("true", PLAIN_ERR_SHAPE);
    /* an object with neither event nor id */
    check_reject("{}", PLAIN_ERR_SHAPE);
    check_reject("{\"data\":1}", PLAIN_ERR_SHAPE);
    check_reject_n("{\"event\":\"ping\"}", 16, &(plain_fields){"action", "data", "id"},
                   PLAIN_ERR_SHAPE);
}

/* A placeholder at `depth` levels inside the data. */
static void check_forged_at(int depth)
{
    bytebuf text = BYTEBUF_INIT;
    CHECK(bytebuf_append_str(&text, "{\"event\":\"up\",\"data\":") == 0);
    for (int i = 0; i < depth; i++)
        CHECK(bytebuf_append_str(&text, i % 2 ? "[0," : "{\"k\":") == 0);
    CHECK(bytebuf_append_str(&text, "{\"_placeholder\":true,\"num\":0}") == 0);
    for (int i = depth - 1; i >= 0; i--)
        CHECK(bytebuf_append_byte(&text, i % 2 ? ']' : '}') == 0);
    CHECK(bytebuf_append_byte(&text, '}') == 0);
    check_reject_n((const char *)text.data, text.len, NULL, PLAIN_ERR_SHAPE);
    bytebuf_free(&text);
}

static void test_decode_placeholders(void)
{
    check_reject("{\"event\":\"up\",\"data\":{\"_placeholder\":true,\"num\":0}}", PLAIN_ERR_SHAPE);
    check_reject("{\"event\":\"up\",\"data\":[{\"_placeholder\":true}]}", PLAIN_ERR_SHAPE);
    check_reject("{\"id\":1,\"data\":{\"_placeholder\":true,\"num\":99}}", PLAIN_ERR_SHAPE);
    /* the whole object as data */
    check_reject("{\"event\":\"up\",\"_placeholder\":true,\"num\":0}", PLAIN_ERR_SHAPE);
    /* anywhere in the message, also in a field that is not forwarded */
    check_reject("{\"event\":\"up\",\"data\":1,\"x\":{\"_placeholder\":true}}", PLAIN_ERR_SHAPE);
    check_forged_at(1);
    check_forged_at(10);
    check_forged_at(500);
}

/* n nested arrays around a 1 in an event: as its data field
 * ({"event":"d","data":[[..1..]]}: the 1 at level n + 2, in args too) or in
 * the whole object as data ({"event":"d","x":[[..1..]]}: the 1 at level
 * n + 2, in args ["d",{..}] at n + 3). jansson parses levels up to
 * JSON_PARSER_MAX_DEPTH (scalars count). */
static plain_status decode_nested(int n, const char *field, plain_in *in)
{
    bytebuf text = BYTEBUF_INIT;
    bytebuf_append_str(&text, "{\"event\":\"d\",\"");
    bytebuf_append_str(&text, field);
    bytebuf_append_str(&text, "\":");
    for (int i = 0; i < n; i++)
        bytebuf_append_byte(&text, '[');
    bytebuf_append_byte(&text, '1');
    for (int i = 0; i < n; i++)
        bytebuf_append_byte(&text, ']');
    bytebuf_append_byte(&text, '}');
    plain_status st = plain_decode((const char *)text.data, text.len, NULL, in);
    bytebuf_free(&text);
    return st;
}

/* The deepest event accepted encodes (as Socket.IO and as plain text), and
 * its plain text decodes again to the same arguments. */
static void check_deepest(int n, const char *field)
{
    plain_in in, again;
    CHECK(decode_nested(n, field, &in) == PLAIN_OK);
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_json_append(&out, in.args) == 0);
    CHECK(sio_count_placeholders(in.args, 0) == 0);
    out.len = 0;
    CHECK(plain_encode(SIO_EVENT, -1, in.args, 0, 0, NULL, &out) == 0);
    CHECK(plain_decode((const char *)out.data, out.len, NULL, &again) == PLAIN_OK);
    CHECK(json_equal(in.args, again.args));
    plain_in_clear(&in);
    plain_in_clear(&again);
    bytebuf_free(&out);
}

static void test_decode_depth(void)
{
    plain_in in;
    check_deepest(JSON_PARSER_MAX_DEPTH - 2, "data");
    CHECK(decode_nested(JSON_PARSER_MAX_DEPTH - 1, "data", &in) == PLAIN_ERR_JSON); /* jansson */
    check_deepest(JSON_PARSER_MAX_DEPTH - 3, "x");
    CHECK(decode_nested(JSON_PARSER_MAX_DEPTH - 2, "x", &in) == PLAIN_ERR_SHAPE); /* ours */
    CHECK(in.args == NULL);
    CHECK(decode_nested(JSON_PARSER_MAX_DEPTH - 1, "x", &in) == PLAIN_ERR_JSON);
    CHECK(decode_nested(5000, "x", &in) == PLAIN_ERR_JSON);
}

/* Encodes data (JSON text) and checks the text. */
static void check_encode(sio_packet_type type, int64_t id, const char *data, uint32_t n_att,
                         int drop_last, const plain_fields *f, const char *want)
{
    json_t *v = json_loads(data, 0, NULL);
    CHECK(v != NULL);
    bytebuf out = BYTEBUF_INIT;
    int rc = plain_encode(type, id, v, n_att, drop_last, f, &out);
    CHECK(rc == 0);
    if (rc == 0)
        CHECK_MEM(out.data, out.len, want);
    bytebuf_free(&out);
    json_decref(v);
}

static void check_encode_fails(sio_packet_type type, int64_t id, const char *data, int drop_last)
{
    json_t *v = json_loads(data, JSON_DECODE_ANY, NULL);
    bytebuf out = BYTEBUF_INIT;
    CHECK(bytebuf_append_str(&out, "kept") == 0);
    CHECK(plain_encode(type, id, v, 0, drop_last, NULL, &out) == -1);
    CHECK_MEM(out.data, out.len, "kept"); /* unchanged */
    bytebuf_free(&out);
    json_decref(v);
}

static void test_encode(void)
{
    check_encode(SIO_EVENT, -1, "[\"score\",{\"home\":1}]", 0, 0, NULL,
                 "{\"event\":\"score\",\"data\":{\"home\":1}}");
    check_encode(SIO_EVENT, -1, "[\"tick\"]", 0, 0, NULL, "{\"event\":\"tick\"}");
    check_encode(SIO_EVENT, -1, "[\"m\",1,2]", 0, 0, NULL, "{\"event\":\"m\",\"data\":[1,2]}");
    check_encode(SIO_EVENT, -1, "[\"m\",[1,2]]", 0, 0, NULL, "{\"event\":\"m\",\"data\":[1,2]}");
    check_encode(SIO_EVENT, -1, "[\"n\",null]", 0, 0, NULL, "{\"event\":\"n\",\"data\":null}");
    check_encode(SIO_EVENT, 4, "[\"q\",\"x\"]", 0, 0, NULL,
                 "{\"event\":\"q\",\"data\":\"x\",\"id\":4}");
    check_encode(SIO_EVENT, 0, "[\"q\"]", 0, 0, NULL, "{\"event\":\"q\",\"id\":0}");
    check_encode(SIO_ACK, 7, "[{\"ok\":true}]", 0, 0, NULL, "{\"id\":7,\"data\":{\"ok\":true}}");
    check_encode(SIO_ACK, 7, "[]", 0, 0, NULL, "{\"id\":7}");
    check_encode(SIO_ACK, 8, "[1,\"a\"]", 0, 0, NULL, "{\"id\":8,\"data\":[1,\"a\"]}");
    /* JSON.stringify's text: key order kept, '/' and UTF-8 verbatim, controls escaped */
    check_encode(SIO_EVENT, -1, "[\"a/\\u00e9\",{\"z\":1,\"2\":0,\"s\":\"\\n\"}]", 0, 0, NULL,
                 "{\"event\":\"a/\xc3\xa9\",\"data\":{\"2\":0,\"z\":1,\"s\":\"\\n\"}}");
    /* configured field names, written as JSON strings */
    check_encode(SIO_EVENT, 2, "[\"go\",1]", 0, 0, &(plain_fields){"action", "payload", "rid"},
                 "{\"action\":\"go\",\"payload\":1,\"rid\":2}");
    check_encode(SIO_ACK, 2, "[1]", 0, 0, &(plain_fields){"a\"b", "d\\", "i\n"},
                 "{\"i\\n\":2,\"d\\\\\":1}");
}

static void test_encode_drop_last_and_attachments(void)
{
    /* drop_last: the recovery offset is never shown */
    check_encode(SIO_EVENT, -1, "[\"e\",1,\"off-1\"]", 0, 1, NULL, "{\"event\":\"e\",\"data\":1}");
    check_encode(SIO_EVENT, -1, "[\"e\",\"off-1\"]", 0, 1, NULL, "{\"event\":\"e\"}");
    check_encode(SIO_EVENT, -1, "[\"e\",1,2,\"off\"]", 0, 1, NULL,
                 "{\"event\":\"e\",\"data\":[1,2]}");
    check_encode(SIO_ACK, 1, "[1,2]", 0, 1, NULL, "{\"id\":1,\"data\":1}");
    /* attachments: placeholders stay, the count follows */
    check_encode(SIO_BINARY_EVENT, -1, "[\"f\",{\"_placeholder\":true,\"num\":0},\"name\"]", 1, 0,
                 NULL,
                 "{\"event\":\"f\",\"data\":[{\"_placeholder\":true,\"num\":0},\"name\"],"
                 "\"attachments\":1}");
    check_encode(SIO_BINARY_EVENT, 3,
                 "[\"f\",{\"a\":{\"_placeholder\":true,\"num\":0},\"b\":{\"_placeholder\":true,"
                 "\"num\":1}},\"off\"]",
                 2, 1, NULL,
                 "{\"event\":\"f\",\"data\":{\"a\":{\"_placeholder\":true,\"num\":0},\"b\":{"
                 "\"_placeholder\":true,\"num\":1}},\"id\":3,\"attachments\":2}");
    check_encode(SIO_BINARY_ACK, 5, "[{\"_placeholder\":true,\"num\":0}]", 1, 0, NULL,
                 "{\"id\":5,\"data\":{\"_placeholder\":true,\"num\":0},\"attachments\":1}");
}

static void test_encode_refusals(void)
{
    check_encode_fails(SIO_EVENT, -1, "{\"a\":1}", 0);        /* not an array */
    check_encode_fails(SIO_EVENT, -1, "[]", 0);               /* no name */
    check_encode_fails(SIO_EVENT, -1, "[1,2]", 0);            /* not a string name */
    check_encode_fails(SIO_EVENT, -1, "[\"e\"]", 1);          /* nothing to drop */
    check_encode_fails(SIO_ACK, -1, "[1]", 0);                /* an ack without id */
    check_encode_fails(SIO_ACK, 1, "[]", 1);                  /* nothing to drop */
    check_encode_fails(SIO_ACK, 1, "\"x\"", 0);               /* not an array */
    check_encode_fails(SIO_CONNECT, -1, "[\"e\"]", 0);        /* other types */
    check_encode_fails(SIO_DISCONNECT, -1, "[\"e\"]", 0);
    check_encode_fails(SIO_CONNECT_ERROR, -1, "[\"e\"]", 0);
    check_encode_fails((sio_packet_type)9, 1, "[\"e\"]", 0);
    bytebuf out = BYTEBUF_INIT;
    CHECK(plain_encode(SIO_EVENT, -1, NULL, 0, 0, NULL, &out) == -1);
    json_t *v = json_pack("[ss]", "e", "x");
    const plain_fields bad = {"\xff", "data", "id"}; /* a field name that is not UTF-8 */
    CHECK(plain_encode(SIO_EVENT, -1, v, 0, 0, &bad, &out) == -1 && out.len == 0);
    /* over the buffer's limit: refused, nothing left behind */
    out.limit = 10;
    CHECK(plain_encode(SIO_EVENT, -1, v, 0, 0, NULL, &out) == -1 && out.len == 0);
    json_decref(v);
    bytebuf_free(&out);
}

/* What the server reads back is what it sent: decode(encode(args)) == args. */
static void check_roundtrip(const char *msg, const plain_fields *f)
{
    plain_in in, again;
    CHECK(plain_decode(msg, strlen(msg), f, &in) == PLAIN_OK && in.kind == PLAIN_EVENT);
    bytebuf out = BYTEBUF_INIT;
    CHECK(plain_encode(SIO_EVENT, in.id, in.args, 0, 0, f, &out) == 0);
    CHECK(plain_decode((const char *)out.data, out.len, f, &again) == PLAIN_OK);
    CHECK(again.kind == PLAIN_EVENT && in.id == again.id && json_equal(in.args, again.args));
    plain_in_clear(&in);
    plain_in_clear(&again);
    bytebuf_free(&out);
}

static void test_roundtrip(void)
{
    check_roundtrip("{\"event\":\"a\",\"data\":{\"x\":[1,2,{\"y\":null}]}}", NULL);
    check_roundtrip("{\"event\":\"b\",\"data\":\"s\",\"id\":42}", NULL);
    check_roundtrip("{\"event\":\"c\",\"data\":[1,2]}", NULL);
    check_roundtrip("{\"action\":\"ping\",\"seq\":1}", &action_fields);
    check_roundtrip("{\"action\":\"ping\",\"id\":3}", &action_fields);
}

static int single_binary(sio_packet_type type, const char *data, uint32_t n, int drop_last)
{
    json_t *v = json_loads(data, JSON_DECODE_ANY, NULL);
    int r = plain_single_binary(type, v, n, drop_last);
    json_decref(v);
    return r;
}

static void test_single_binary(void)
{
    const char *one = "[\"bin\",{\"_placeholder\":true,\"num\":0}]";
    const char *one_off = "[\"bin\",{\"_placeholder\":true,\"num\":0},\"off\"]";
    CHECK(single_binary(SIO_BINARY_EVENT, one, 1, 0) == 1);
    CHECK(single_binary(SIO_EVENT, one, 1, 0) == 1);
    CHECK(single_binary(SIO_BINARY_EVENT, one_off, 1, 1) == 1);
    CHECK(single_binary(SIO_BINARY_EVENT, one_off, 1, 0) == 0); /* two arguments */
    CHECK(single_binary(SIO_BINARY_EVENT, one, 1, 1) == 0);     /* none left */
    CHECK(single_binary(SIO_BINARY_EVENT, one, 2, 0) == 0);     /* n_attachments != 1 */
    CHECK(single_binary(SIO_BINARY_EVENT, one, 0, 0) == 0);
    CHECK(single_binary(SIO_BINARY_ACK, "[{\"_placeholder\":true,\"num\":0}]", 1, 0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "[\"b\",{\"_placeholder\":true,\"num\":1}]", 1, 0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "[\"b\",{\"_placeholder\":false,\"num\":0}]", 1, 0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "[\"b\",{\"_placeholder\":true}]", 1, 0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "[\"b\",[{\"_placeholder\":true,\"num\":0}]]", 1, 0) ==
          0); /* nested: not the only argument itself */
    CHECK(single_binary(SIO_BINARY_EVENT, "[\"b\",{\"x\":{\"_placeholder\":true,\"num\":0}}]", 1,
                        0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "[\"b\"]", 1, 0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "[1,{\"_placeholder\":true,\"num\":0}]", 1, 0) == 0);
    CHECK(single_binary(SIO_BINARY_EVENT, "{}", 1, 0) == 0);
    CHECK(plain_single_binary(SIO_BINARY_EVENT, NULL, 1, 0) == 0);
}

/* The query object's JSON text. */
static void check_query(const char *q, size_t max, const char *want)
{
    json_t *obj = plain_query_object(q, strlen(q), max);
    CHECK(json_is_object(obj));
    char *got = text_of(obj);
    CHECK_MEM(got, strlen(got), want);
    free(got);
    json_decref(obj);
}

static void test_query(void)
{
    check_query("token=abc&room=x", 64, "{\"token\":\"abc\",\"room\":\"x\"}");
    check_query("", 64, "{}");
    check_query("a=b+c%20d%2B", 64, "{\"a\":\"b c d+\"}");
    check_query("%74oken=%C3%A9", 64, "{\"token\":\"\xc3\xa9\"}");
    check_query("a=%zz&b=%4&c=%&d=100%", 64, "{\"a\":\"%zz\",\"b\":\"%4\",\"c\":\"%\",\"d\":\"100%\"}");
    check_query("flag&e=", 64, "{\"flag\":\"\",\"e\":\"\"}");
    check_query("a=1=2", 64, "{\"a\":\"1=2\"}");
    check_query("=x&%3D=y", 64, "{\"=\":\"y\"}");        /* empty key skipped */
    check_query("a=%ff&b=1&%c3=2", 64, "{\"b\":\"1\"}"); /* not UTF-8: skipped */
    check_query("a=%ed%a0%80&b=%c0%af", 64, "{}");       /* a surrogate, an overlong */
    check_query("a=x%00y&b%00=1&c=2", 64, "{\"c\":\"2\"}"); /* NUL: skipped */
    check_query("a=1&b=2&a=3", 64, "{\"a\":\"3\",\"b\":\"2\"}"); /* the last wins */
    check_query("&&a=1&&&b=2&", 64, "{\"a\":\"1\",\"b\":\"2\"}");
    check_query("json=%7B%22x%22%3A1%7D", 64, "{\"json\":\"{\\\"x\\\":1}\"}");
    /* max_params: the rest is ignored; skipped parameters count */
    check_query("a=1&b=2&c=3", 2, "{\"a\":\"1\",\"b\":\"2\"}");
    check_query("a=1&b=2&c=3", 0, "{}");
    check_query("=1&b=2&c=3", 2, "{\"b\":\"2\"}");
    check_query("&&&a=1", 1, "{\"a\":\"1\"}"); /* empty parts are not parameters */

    bytebuf big = BYTEBUF_INIT;
    for (int i = 0; i < 200; i++) {
        char part[32];
        snprintf(part, sizeof(part), "%sk%d=%d", i ? "&" : "", i, i);
        CHECK(bytebuf_append_str(&big, part) == 0);
    }
    json_t *obj = plain_query_object((const char *)big.data, big.len, 64);
    CHECK(json_object_size(obj) == 64);
    CHECK(json_object_get(obj, "k63") && !json_object_get(obj, "k64"));
    json_decref(obj);
    bytebuf_free(&big);

    obj = plain_query_object(NULL, 0, 64);
    CHECK(json_is_object(obj) && json_object_size(obj) == 0);
    json_decref(obj);
    obj = plain_query_object("a=1&b=2", 3, 64); /* the length is honoured */
    CHECK(json_object_size(obj) == 1 && json_is_string(json_object_get(obj, "a")));
    json_decref(obj);
}

static void test_clear(void)
{
    plain_in zero = {0};
    plain_in_clear(&zero);
    CHECK(zero.args == NULL);
    plain_in in;
    CHECK(plain_decode("{\"id\":1}", 8, NULL, &in) == PLAIN_OK);
    plain_in_clear(&in);
    plain_in_clear(&in); /* twice is harmless */
    CHECK(in.args == NULL && in.id == -1);
}

int main(void)
{
    test_decode_events();
    test_decode_replies();
    test_decode_ids();
    test_decode_names();
    test_decode_errors();
    test_decode_placeholders();
    test_decode_depth();
    test_encode();
    test_encode_drop_last_and_attachments();
    test_encode_refusals();
    test_roundtrip();
    test_single_binary();
    test_query();
    test_clear();
    return CHECK_DONE("test_plain_msg");
}
