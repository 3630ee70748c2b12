/* test_sio_packet: unit tests of the Socket.IO v5 packet codec (protocol/sio_packet.c).
 * Expected encodings and accept/reject decisions were taken from socket.io-parser
 * 4.2.7 (Decoder.decodeString + reconstructPacket, Encoder.encodeAsString); the
 * deliberate deviations are grouped in test_deviations(). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio_packet.h"

CHECK_STATE;

static const sio_limits limits = {10, 256};

/* Decodes `text`, re-encodes it, and checks the encoding is `want`; then checks
 * that decoding the encoding gives the same encoding again. */
static void check_roundtrip(const char *text, const char *want)
{
    sio_packet p;
    sio_status st = sio_packet_decode(text, strlen(text), &limits, &p);
    CHECK(st == SIO_OK);
    if (st != SIO_OK) {
        fprintf(stderr, "  decoding %s: %s\n", text, sio_status_str(st));
        return;
    }
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_packet_encode(&p, &out) == 0);
    CHECK_MEM(out.data, out.len, want);
    sio_packet again;
    CHECK(sio_packet_decode((const char *)out.data, out.len, &limits, &again) == SIO_OK);
    bytebuf out2 = BYTEBUF_INIT;
    CHECK(sio_packet_encode(&again, &out2) == 0);
    CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    sio_packet_clear(&again);
    sio_packet_clear(&p);
    bytebuf_free(&out);
    bytebuf_free(&out2);
}

static void check_reject_n(const char *text, size_t len, const sio_limits *lim, sio_status want)
{
    sio_packet p;
    sio_status st = sio_packet_decode(text, len, lim, &p);
    CHECK(st == want);
    if (st != want)
        fprintf(stderr, "  decoding \"%.*s\": got %s, want %s\n", (int)len, text,
                sio_status_str(st), sio_status_str(want));
    /* a failed decode leaves nothing owned behind */
    CHECK(p.nsp == NULL && p.data == NULL);
    sio_packet_clear(&p);
}

static void check_reject(const char *text, sio_status want)
{
    check_reject_n(text, strlen(text), &limits, want);
}

typedef struct roundtrip_case {
    const char *text;
    const char *encoded;
} roundtrip_case;

/* Every packet type, with and without namespace, ack id, data; normalisations
 * the reference also makes (empty or missing ',' namespace, leading zeros, JSON
 * whitespace, number formatting, key order). */
static const roundtrip_case roundtrips[] = {
    {"0",
     "0"},
    {"0{}",
     "0{}"},
    {"0/admin,",
     "0/admin,"},
    {"0/admin,{\"token\":\"abc\"}",
     "0/admin,{\"token\":\"abc\"}"},
    {"0/chat,5{}",
     "0/chat,5{}"},
    {"0/chat",
     "0/chat,"},
    {"1",
     "1"},
    {"1/admin,",
     "1/admin,"},
    {"2",
     "2"},
    {"2[\"hello\",1]",
     "2[\"hello\",1]"},
    {"2/admin,[\"hello\"]",
     "2/admin,[\"hello\"]"},
    {"21[\"a\"]",
     "21[\"a\"]"},
    {"2/admin,456[\"a\",{\"b\":[1,2]}]",
     "2/admin,456[\"a\",{\"b\":[1,2]}]"},
    {"2[1]",
     "2[1]"},
    {"2[-2.5,\"x\"]",
     "2[-2.5,\"x\"]"},
    {"3",
     "3"},
    {"31",
     "31"},
    {"31[]",
     "31[]"},
    {"3/admin,456[\"b\",null]",
     "3/admin,456[\"b\",null]"},
    {"4",
     "4"},
    {"4\"error\"",
     "4\"error\""},
    {"4{\"message\":\"not authorized\"}",
     "4{\"message\":\"not authorized\"}"},
    {"4/admin,{\"message\":\"x\",\"data\":{\"a\":1}}",
     "4/admin,{\"message\":\"x\",\"data\":{\"a\":1}}"},
    {"51-",
     "51-"},
    {"51-[\"a\",{\"_placeholder\":true,\"num\":0}]",
     "51-[\"a\",{\"_placeholder\":true,\"num\":0}]"},
    {"52-/admin,7[\"a\",{\"x\":[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]}]",
     "52-/admin,7[\"a\",{\"x\":[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]}]"},
    {"61-[{\"_placeholder\":true,\"num\":0}]",
     "61-[{\"_placeholder\":true,\"num\":0}]"},
    {"61-/admin,9[]",
     "61-/admin,9[]"},
    {"510-[\"a\",{\"_placeholder\":true,\"num\":9}]",
     "510-[\"a\",{\"_placeholder\":true,\"num\":9}]"},
    {"2/,[\"a\"]",
     "2[\"a\"]"},
    {"2007[\"a\"]",
     "27[\"a\"]"},
    {"2000000000000000000000001[\"a\"]",
     "21[\"a\"]"},
    {"29007199254740991[\"a\"]",
     "29007199254740991[\"a\"]"},
    {"2[\"a\"] \n",
     "2[\"a\"]"},
    {"2[ \"a\" , 1.0 ]",
     "2[\"a\",1]"},
    {"2/chat",
     "2/chat,"},
    {"2/chat[\"a\"]",
     "2/chat[\"a\"],"},
    {"2/a b?c=d&e,[\"x\"]",
     "2/a b?c=d&e,[\"x\"]"},
    {"2/\303\251,[\"\303\251\"]",
     "2/\303\251,[\"\303\251\"]"},
    {"2[\"Connect\"]",
     "2[\"Connect\"]"},
    {"2[\"connect\\u0000\"]",
     "2[\"connect\\u0000\"]"},
    {"2[\"a\",100000000000000000000,1]",
     "2[\"a\",100000000000000000000,1]"},
    {"2[\"a\",9223372036854775807,-9223372036854775808]",
     "2[\"a\",9223372036854776000,-9223372036854776000]"},
    /* the fuzzer's reproducers: beyond 2^53 the double, as in Node */
    {"2[\"a\",331,-333333333333333330,1e-7,1e21,-333333333333333330.0]",
     "2[\"a\",331,-333333333333333300,1e-7,1e+21,-333333333333333300]"},
    {"2[\"a\",1e21,-0.1e21,-1e-7,-59007199254740992,9007199254740993,9007199254740992]",
     "2[\"a\",1e+21,-100000000000000000000,-1e-7,-59007199254740990,9007199254740992,9007199254740992]"},
    {"2[\"a\",0.1,1e21,1e-7,1.0,-0.0,123e18,5e-324,1.7976931348623157e308,0.000001,1.5e-7,1e2,-1e-7,4.35,0.5e-6]",
     "2[\"a\",0.1,1e+21,1e-7,1,0,123000000000000000000,5e-324,1.7976931348623157e+308,0.000001,1.5e-7,100,-1e-7,4.35,5e-7]"},
    {"2[\"a\",\"\\u0000\\u001f\\u007f\\u2028\\/\\\"\\\\\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"]",
     "2[\"a\",\"\\u0000\\u001f\177\342\200\250/\\\"\\\\\\b\\f\\n\\r\\t\303\251\360\237\230\200\"]"},
    {"2[\"a\",{\"b\":1,\"1\":2,\"0\":3,\"a\":4,\"01\":5,\"4294967294\":6,\"4294967295\":7,\"b\":8,\"-1\":9,\"10\":10,\"2\":11}]",
     "2[\"a\",{\"0\":3,\"1\":2,\"2\":11,\"10\":10,\"4294967294\":6,\"b\":8,\"a\":4,\"01\":5,\"4294967295\":7,\"-1\":9}]"},
    {"51-[\"a\",{\"_placeholder\":true,\"num\":0.0}]",
     "51-[\"a\",{\"_placeholder\":true,\"num\":0}]"},
    {"51-[\"a\",{\"_placeholder\":false,\"num\":7}]",
     "51-[\"a\",{\"_placeholder\":false,\"num\":7}]"},
    {"51-[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":{\"_placeholder\":true,\"num\":7}}]",
     "51-[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":{\"_placeholder\":true,\"num\":7}}]"},
    {"52-[\"a\"]",
     "52-[\"a\"]"},
    {"2[\"a\",true,false,null,[],{},[[]],{\"\":\"\"}]",
     "2[\"a\",true,false,null,[],{},[[]],{\"\":\"\"}]"},
};

static void test_roundtrips(void)
{
    for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++)
        check_roundtrip(roundtrips[i].text, roundtrips[i].encoded);
}

typedef struct reject_case {
    const char *text;
    sio_status status;
} reject_case;

/* Inputs socket.io-parser rejects too. */
static const reject_case rejects[] = {
    /* type */
    {"", SIO_ERR_EMPTY},
    {"7", SIO_ERR_TYPE},
    {"9", SIO_ERR_TYPE},
    {"a", SIO_ERR_TYPE},
    {"-", SIO_ERR_TYPE},
    {"/", SIO_ERR_TYPE},
    /* attachments: missing, zero, non-digit, no '-', too many */
    {"50-[\"a\"]", SIO_ERR_ATTACHMENTS},
    {"5-[\"a\"]", SIO_ERR_ATTACHMENTS},
    {"5a-[\"a\"]", SIO_ERR_ATTACHMENTS},
    {"51", SIO_ERR_ATTACHMENTS},
    {"5", SIO_ERR_ATTACHMENTS},
    {"61", SIO_ERR_ATTACHMENTS},
    {"511-[\"a\"]", SIO_ERR_ATTACHMENTS},
    {"5999999999999999999999999-[\"a\"]", SIO_ERR_ATTACHMENTS},
    {"51x-[\"a\"]", SIO_ERR_ATTACHMENTS},
    {"5-1-[\"a\"]", SIO_ERR_ATTACHMENTS},
    /* placeholders: num out of range, negative, not a number, missing */
    {"51-[\"a\",{\"_placeholder\":true,\"num\":1}]", SIO_ERR_ATTACHMENTS},
    {"51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", SIO_ERR_ATTACHMENTS},
    {"51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]", SIO_ERR_ATTACHMENTS},
    {"51-[\"a\",{\"_placeholder\":true}]", SIO_ERR_ATTACHMENTS},
    {"51-[\"a\",{\"_placeholder\":true,\"num\":null}]", SIO_ERR_ATTACHMENTS},
    {"51-[\"a\",[[{\"_placeholder\":true,\"num\":3}]]]", SIO_ERR_ATTACHMENTS},
    {"61-[{\"b\":{\"_placeholder\":true,\"num\":1}}]", SIO_ERR_ATTACHMENTS},
    /* invalid JSON */
    {"2[\"a\"", SIO_ERR_JSON},
    {"2x", SIO_ERR_JSON},
    {"2[\"a\"]x", SIO_ERR_JSON},
    {"2[\"a\"],", SIO_ERR_JSON},
    {"0{", SIO_ERR_JSON},
    {"2'a'", SIO_ERR_JSON},
    {"2[\"a\",]", SIO_ERR_JSON},
    {"2[\"a\",NaN]", SIO_ERR_JSON},
    {"2[\"a\",01]", SIO_ERR_JSON},
    {"2[\"\377\"]", SIO_ERR_JSON},
    {"41-", SIO_ERR_JSON},
    {"2/chat,x[\"a\"]", SIO_ERR_JSON},
    {"2abc,[\"a\"]", SIO_ERR_JSON},
    /* valid JSON of the wrong shape */
    {"0[]", SIO_ERR_PAYLOAD},
    {"0\"x\"", SIO_ERR_PAYLOAD},
    {"0null", SIO_ERR_PAYLOAD},
    {"1{}", SIO_ERR_PAYLOAD},
    {"1[]", SIO_ERR_PAYLOAD},
    {"1\"x\"", SIO_ERR_PAYLOAD},
    {"1/chat,{}", SIO_ERR_PAYLOAD},
    {"1/chat,1[]", SIO_ERR_PAYLOAD},
    {"2[]", SIO_ERR_PAYLOAD},
    {"2{}", SIO_ERR_PAYLOAD},
    {"2\"a\"", SIO_ERR_PAYLOAD},
    {"2[null]", SIO_ERR_PAYLOAD},
    {"2[true]", SIO_ERR_PAYLOAD},
    {"2[[\"a\"]]", SIO_ERR_PAYLOAD},
    {"2[{}]", SIO_ERR_PAYLOAD},
    {"3{}", SIO_ERR_PAYLOAD},
    {"3\"x\"", SIO_ERR_PAYLOAD},
    {"3null", SIO_ERR_PAYLOAD},
    {"4[]", SIO_ERR_PAYLOAD},
    {"4null", SIO_ERR_PAYLOAD},
    {"41[]", SIO_ERR_PAYLOAD},
    {"61-{}", SIO_ERR_PAYLOAD},
    {"61-\"x\"", SIO_ERR_PAYLOAD},
    {"51-[{\"_placeholder\":true,\"num\":0}]", SIO_ERR_PAYLOAD},
    /* reserved event names */
    {"2[\"connect\"]", SIO_ERR_PAYLOAD},
    {"2[\"connect_error\"]", SIO_ERR_PAYLOAD},
    {"2[\"disconnect\"]", SIO_ERR_PAYLOAD},
    {"2[\"disconnecting\"]", SIO_ERR_PAYLOAD},
    {"2[\"newListener\"]", SIO_ERR_PAYLOAD},
    {"2[\"removeListener\",1]", SIO_ERR_PAYLOAD},
    {"2/chat,1[\"disconnect\"]", SIO_ERR_PAYLOAD},
    {"51-[\"connect\"]", SIO_ERR_PAYLOAD},
    {"51-[\"newListener\",{\"_placeholder\":true,\"num\":0}]", SIO_ERR_PAYLOAD},
};

static void test_rejects(void)
{
    for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++)
        check_reject(rejects[i].text, rejects[i].status);
    check_reject_n(NULL, 0, &limits, SIO_ERR_EMPTY);
    /* every proper prefix of a valid packet is rejected or decodes cleanly */
    const char *full = "52-/admin,7[\"a\",{\"_placeholder\":true,\"num\":1}]";
    for (size_t n = 0; n < strlen(full); n++) {
        sio_packet p;
        sio_status st = sio_packet_decode(full, n, &limits, &p);
        CHECK(st <= SIO_OK);
        sio_packet_clear(&p);
    }
}

/* Where this codec knowingly differs from socket.io-parser 4.2.7. */
static void test_deviations(void)
{
    /* The reference reads the type, the attachment count and the ack id through
     * Number(), so "" and whitespace read as 0, and "0x1", "1e0", "+1" as 1. */
    check_reject(" 0", SIO_ERR_TYPE);
    check_reject("\t2[\"a\"]", SIO_ERR_TYPE);
    check_reject("5 1-[\"a\"]", SIO_ERR_ATTACHMENTS);
    check_reject("50x1-[\"a\"]", SIO_ERR_ATTACHMENTS);
    check_reject("51e0-[\"a\"]", SIO_ERR_ATTACHMENTS);
    check_reject("5+1-[\"a\"]", SIO_ERR_ATTACHMENTS);
    check_reject("2 1[\"a\"]", SIO_ERR_JSON);
    /* ... and so the whitespace is JSON whitespace here, not an ack id 0 */
    check_roundtrip("2\n[\"a\"]", "2[\"a\"]");
    check_roundtrip("0 {}", "0{}");
    /* ack ids above Number.MAX_SAFE_INTEGER */
    check_reject("29007199254740992[\"a\"]", SIO_ERR_ID);
    check_reject("299999999999999999999[\"a\"]", SIO_ERR_ID);
    check_reject("3/chat,18446744073709551616[]", SIO_ERR_ID);
    /* a placeholder num must be an integer (the reference substitutes undefined) */
    check_reject("51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]", SIO_ERR_ATTACHMENTS);
    /* JSON that JSON.parse takes and jansson does not */
    check_reject("2[\"a\",1e400]", SIO_ERR_JSON);
    check_reject("2[\"a\",\"\\ud800\"]", SIO_ERR_JSON);
    check_reject("2[\"a\",{\"a\\u0000b\":1}]", SIO_ERR_JSON);
    /* a NUL in the namespace would truncate the C string */
    check_reject_n("2/a\0b,[\"x\"]", 11, &limits, SIO_ERR_NSP);
}

static void check_fields(const char *text, sio_packet_type type, const char *nsp, int64_t id,
                         uint32_t attachments, int has_data)
{
    sio_packet p;
    CHECK(sio_packet_decode(text, strlen(text), &limits, &p) == SIO_OK);
    CHECK(p.type == type);
    CHECK(p.nsp != NULL && strcmp(p.nsp, nsp) == 0);
    CHECK(p.id == id);
    CHECK(p.attachments == attachments);
    CHECK((p.data != NULL) == has_data);
    sio_packet_clear(&p);
}

static void test_fields(void)
{
    check_fields("0", SIO_CONNECT, "/", -1, 0, 0);
    check_fields("0/admin,{\"token\":1}", SIO_CONNECT, "/admin", -1, 0, 1);
    check_fields("1/admin,", SIO_DISCONNECT, "/admin", -1, 0, 0);
    check_fields("2[\"a\"]", SIO_EVENT, "/", -1, 0, 1);
    check_fields("20[\"a\"]", SIO_EVENT, "/", 0, 0, 1);
    check_fields("2/x,12[\"a\"]", SIO_EVENT, "/x", 12, 0, 1);
    check_fields("2/x", SIO_EVENT, "/x", -1, 0, 0);
    check_fields("2/,5[\"a\"]", SIO_EVENT, "/", 5, 0, 1);
    check_fields("29007199254740991[\"a\"]", SIO_EVENT, "/", 9007199254740991LL, 0, 1);
    check_fields("3/x,7[]", SIO_ACK, "/x", 7, 0, 1);
    check_fields("31", SIO_ACK, "/", 1, 0, 0);
    check_fields("4{\"message\":\"m\"}", SIO_CONNECT_ERROR, "/", -1, 0, 1);
    check_fields("53-/x,4[\"a\"]", SIO_BINARY_EVENT, "/x", 4, 3, 1);
    check_fields("610-1[]", SIO_BINARY_ACK, "/", 1, 10, 1);
    check_fields("601-[]", SIO_BINARY_ACK, "/", -1, 1, 1);

    /* Big integers, which jansson cannot hold as int64, are read as reals. */
    sio_packet p;
    const char *big = "2[\"a\",100000000000000000000]";
    CHECK(sio_packet_decode(big, strlen(big), &limits, &p) == SIO_OK);
    CHECK(json_is_real(json_array_get(p.data, 1)));
    CHECK(json_real_value(json_array_get(p.data, 1)) == 1e20);
    sio_packet_clear(&p);
    sio_packet_clear(&p); /* clearing twice is harmless */
    CHECK(p.nsp == NULL && p.data == NULL && p.id == -1);
}

static void test_limits(void)
{
    char text[300] = "2/";
    memset(text + 2, 'n', 255);
    strcpy(text + 257, ",[\"a\"]");
    sio_packet p;
    CHECK(sio_packet_decode(text, strlen(text), &limits, &p) == SIO_OK); /* 256 bytes */
    CHECK(p.nsp && strlen(p.nsp) == 256);
    sio_packet_clear(&p);
    strcpy(text + 257, "n,[\"a\"]");
    check_reject_n(text, strlen(text), &limits, SIO_ERR_NSP); /* 257 bytes */
    check_reject_n(text, 258, &limits, SIO_ERR_NSP);           /* up to the end, no ',' */

    const sio_limits tight = {2, 4};
    check_reject_n("53-[\"a\"]", 8, &tight, SIO_ERR_ATTACHMENTS);
    check_reject_n("2/abcd,[\"a\"]", 12, &tight, SIO_ERR_NSP);
    CHECK(sio_packet_decode("52-/abc,[\"a\"]", 13, &tight, &p) == SIO_OK);
    sio_packet_clear(&p);

    /* NULL limits are the defaults: 10 attachments, 256 bytes of namespace */
    CHECK(sio_packet_decode("510-[\"a\"]", 9, NULL, &p) == SIO_OK);
    sio_packet_clear(&p);
    check_reject_n("511-[\"a\"]", 9, NULL, SIO_ERR_ATTACHMENTS);
}

/* A 1 MiB string argument and nesting beyond jansson's depth limit. */
static void test_oversized(void)
{
    const size_t n = 1 << 20;
    bytebuf text = BYTEBUF_INIT;
    CHECK(bytebuf_append_str(&text, "2[\"big\",\"") == 0);
    CHECK(bytebuf_reserve(&text, n) == 0);
    memset(text.data + text.len, 'x', n);
    text.len += n;
    CHECK(bytebuf_append_str(&text, "\"]") == 0);
    sio_packet p;
    CHECK(sio_packet_decode((const char *)text.data, text.len, &limits, &p) == SIO_OK);
    CHECK(json_string_length(json_array_get(p.data, 1)) == n);
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_packet_encode(&p, &out) == 0);
    CHECK(out.len == text.len && memcmp(out.data, text.data, text.len) == 0);
    sio_packet_clear(&p);
    bytebuf_free(&out);

    text.len = 0;
    CHECK(bytebuf_append_str(&text, "2[\"deep\",") == 0);
    for (int i = 0; i < 5000; i++)
        CHECK(bytebuf_append_byte(&text, '[') == 0);
    for (int i = 0; i < 5000; i++)
        CHECK(bytebuf_append_byte(&text, ']') == 0);
    CHECK(bytebuf_append_byte(&text, ']') == 0);
    check_reject_n((const char *)text.data, text.len, &limits, SIO_ERR_JSON);
    bytebuf_free(&text);
}

static sio_packet make_packet(sio_packet_type type, char *nsp, int64_t id, uint32_t attachments,
                              json_t *data)
{
    sio_packet p = {type, nsp, id, attachments, data};
    return p;
}

static void check_encode(const sio_packet *p, const char *want)
{
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_packet_encode(p, &out) == 0);
    CHECK_MEM(out.data, out.len, want);
    bytebuf_free(&out);
}

static void test_encode(void)
{
    char root[] = "/", empty[] = "", admin[] = "/admin";
    json_t *args = json_pack("[s,i,{s:b}]", "hi", 1, "ok", 1);
    json_t *bin = json_pack("[s,{s:b,s:i}]", "file", "_placeholder", 1, "num", 0);
    sio_packet p = make_packet(SIO_EVENT, NULL, -1, 0, args);
    check_encode(&p, "2[\"hi\",1,{\"ok\":true}]");
    p = make_packet(SIO_EVENT, root, 3, 0, args);
    check_encode(&p, "23[\"hi\",1,{\"ok\":true}]");
    p = make_packet(SIO_EVENT, empty, -1, 0, args);
    check_encode(&p, "2[\"hi\",1,{\"ok\":true}]");
    p = make_packet(SIO_ACK, admin, 0, 0, args);
    check_encode(&p, "3/admin,0[\"hi\",1,{\"ok\":true}]");
    p = make_packet(SIO_BINARY_EVENT, admin, 9, 1, bin);
    check_encode(&p, "51-/admin,9[\"file\",{\"_placeholder\":true,\"num\":0}]");
    p = make_packet(SIO_BINARY_ACK, NULL, 9007199254740991LL, 12, bin);
    check_encode(&p, "612-9007199254740991[\"file\",{\"_placeholder\":true,\"num\":0}]");
    p = make_packet(SIO_CONNECT, admin, -1, 0, NULL);
    check_encode(&p, "0/admin,");
    p = make_packet(SIO_DISCONNECT, NULL, -1, 0, NULL);
    check_encode(&p, "1");
    json_t *err = json_string("not authorized");
    p = make_packet(SIO_CONNECT_ERROR, admin, -1, 0, err);
    check_encode(&p, "4/admin,\"not authorized\"");

    /* appends after what the buffer holds; on failure leaves it unchanged */
    bytebuf out = BYTEBUF_INIT;
    CHECK(bytebuf_append_str(&out, "4") == 0);
    p = make_packet(SIO_EVENT, NULL, -1, 0, args);
    CHECK(sio_packet_encode(&p, &out) == 0);
    CHECK_MEM(out.data, out.len, "42[\"hi\",1,{\"ok\":true}]");
    out.limit = out.len + 10;
    CHECK(sio_packet_encode(&p, &out) == -1);
    CHECK_MEM(out.data, out.len, "42[\"hi\",1,{\"ok\":true}]");
    p = make_packet((sio_packet_type)7, NULL, -1, 0, NULL);
    CHECK(sio_packet_encode(&p, &out) == -1);
    bytebuf_free(&out);

    json_decref(args);
    json_decref(bin);
    json_decref(err);
}

static void check_json(json_t *v, const char *want)
{
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_json_append(&out, v) == 0);
    CHECK_MEM(out.data, out.len, want);
    bytebuf_free(&out);
    json_decref(v);
}

/* Values built in C rather than parsed, against JSON.stringify's output. */
static void test_json_writer(void)
{
    check_json(json_real(0.1), "0.1");
    check_json(json_real(0.1 + 0.2), "0.30000000000000004");
    check_json(json_real(1.0), "1");
    check_json(json_real(-0.0), "0");
    check_json(json_real(1e21), "1e+21");
    check_json(json_real(1e20), "100000000000000000000");
    check_json(json_real(123456789012345680000.0), "123456789012345680000");
    check_json(json_real(1e-6), "0.000001");
    check_json(json_real(1e-7), "1e-7");
    check_json(json_real(-1.5e-10), "-1.5e-10");
    check_json(json_real(2.5e300), "2.5e+300");
    check_json(json_real(4.9406564584124654e-324), "5e-324");
    check_json(json_integer(-42), "-42");
    check_json(json_integer(INT64_MIN), "-9223372036854776000"); /* the double JS reads */
    check_json(json_integer(9007199254740992), "9007199254740992");
    check_json(json_stringn("a\0b", 3), "\"a\\u0000b\"");
    check_json(json_string("\x01\x1f\x7f</script>\xe2\x80\xa8"),
               "\"\\u0001\\u001f\x7f</script>\xe2\x80\xa8\"");
    check_json(json_pack("{s:i,s:i,s:i}", "z", 1, "7", 2, "3", 3), "{\"3\":3,\"7\":2,\"z\":1}");
    check_json(json_pack("[n,b,b,[],{}]", 1, 0), "[null,true,false,[],{}]");

    /* too deep to write: fails and leaves the buffer as it was */
    json_t *deep = json_array();
    json_t *leaf = deep;
    for (int i = 0; i < 3000; i++) {
        json_t *child = json_array();
        json_array_append_new(leaf, child);
        leaf = child;
    }
    bytebuf out = BYTEBUF_INIT;
    CHECK(bytebuf_append_str(&out, "x") == 0);
    CHECK(sio_json_append(&out, deep) == -1);
    CHECK_MEM(out.data, out.len, "x");
    CHECK(sio_json_append(&out, NULL) == -1);
    bytebuf_free(&out);
    json_decref(deep);
}

static void test_event_name(void)
{
    const char *texts[] = {"2[\"hello\",1]", "51-[\"up\",{\"_placeholder\":true,\"num\":0}]",
                           "2[7]", "31[\"hello\"]", "2[\"a\\u0000b\"]", "2"};
    const char *names[] = {"hello", "up", NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        sio_packet p;
        CHECK(sio_packet_decode(texts[i], strlen(texts[i]), &limits, &p) == SIO_OK);
        const char *name = sio_packet_event_name(&p);
        CHECK(names[i] ? name && strcmp(name, names[i]) == 0 : name == NULL);
        sio_packet_clear(&p);
    }
}

static void test_reserved_events(void)
{
    const char *reserved[] = {"connect",       "connect_error",  "disconnect",
                              "disconnecting", "newListener",    "removeListener"};
    for (size_t i = 0; i < 6; i++)
        CHECK(sio_is_reserved_event(reserved[i]) == 1);
    CHECK(sio_is_reserved_event("connectx") == 0);
    CHECK(sio_is_reserved_event("Connect") == 0);
    CHECK(sio_is_reserved_event("") == 0);
    CHECK(sio_is_reserved_event(NULL) == 0);
}

static void test_count_placeholders(void)
{
    json_t *v = json_loads("[\"a\",{\"_placeholder\":true,\"num\":0},{\"k\":[{\"_placeholder\":"
                           "true,\"num\":1}]},{\"_placeholder\":false,\"num\":9}]",
                           0, NULL);
    CHECK(sio_count_placeholders(v, 2) == 2);
    CHECK(sio_count_placeholders(v, 1) == -1);
    CHECK(sio_count_placeholders(v, 0) == -1);
    json_decref(v);
    CHECK(sio_count_placeholders(NULL, 0) == 0);
    json_t *s = json_string("_placeholder");
    CHECK(sio_count_placeholders(s, 0) == 0);
    json_decref(s);
    json_t *real = json_pack("{s:b,s:f}", "_placeholder", 1, "num", 2.0);
    CHECK(sio_count_placeholders(real, 3) == 1);
    CHECK(sio_count_placeholders(real, 2) == -1);
    json_decref(real);
}

static void test_status_strings(void)
{
    for (int st = SIO_ERR_NOMEM; st <= SIO_OK; st++)
        CHECK(strcmp(sio_status_str((sio_status)st), "?") != 0);
    CHECK(strcmp(sio_status_str((sio_status)1), "?") == 0);
}

int main(void)
{
    test_roundtrips();
    test_rejects();
    test_deviations();
    test_fields();
    test_limits();
    test_oversized();
    test_encode();
    test_json_writer();
    test_event_name();
    test_reserved_events();
    test_count_placeholders();
    test_status_strings();
    return CHECK_DONE("test_sio_packet");
}
