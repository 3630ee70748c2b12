/* test_sio_msgpack: unit tests of the socket.io-msgpack-parser codec
 * (protocol/sio_msgpack.c). The hex fixtures were written once by the real
 * socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0) in node: packets as
 * socket.io-client 4.8 builds them (decoded here), and packets as sio sends
 * them (encoded here byte for byte, and decoded back). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio_msgpack.h"

CHECK_STATE;

/* ---- helpers -------------------------------------------------------------------- */

typedef struct bytes {
    uint8_t b[4096];
    size_t len;
} bytes;

static int nibble(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Hex text (spaces allowed) as bytes. */
static bytes hex(const char *h)
{
    bytes out = {{0}, 0};
    for (; *h; h++) {
        if (*h == ' ')
            continue;
        out.b[out.len++] = (uint8_t)(nibble(h[0]) << 4 | nibble(h[1]));
        h++;
    }
    return out;
}

static char *text_of(const json_t *v)
{
    bytebuf out = BYTEBUF_INIT;
    if (!v || sio_json_append(&out, v) || bytebuf_append_byte(&out, '\0')) {
        bytebuf_free(&out);
        return strdup("(none)");
    }
    return (char *)out.data;
}

static sio_status decode_hex(const char *h, const sio_limits *lim, sio_packet *p, sio_span **bins)
{
    bytes m = hex(h);
    return sio_msgpack_decode(m.b, m.len, lim, p, bins);
}

/* Decodes `h`; checks the header, the data as JSON text and the first bin. */
static void check_decode(const char *h, sio_packet_type type, const char *nsp, int64_t id,
                         uint32_t attachments, const char *data, const char *bin0)
{
    bytes m = hex(h);
    sio_packet p;
    sio_span *bins;
    sio_status st = sio_msgpack_decode(m.b, m.len, NULL, &p, &bins);
    CHECK(st == SIO_OK);
    if (st != SIO_OK) {
        fprintf(stderr, "  decoding %s: %s\n", h, sio_status_str(st));
        return;
    }
    CHECK(p.type == type && p.id == id && p.attachments == attachments && strcmp(p.nsp, nsp) == 0);
    char *got = text_of(p.data);
    CHECK_MEM(got, strlen(got), data);
    free(got);
    CHECK((bins != NULL) == (attachments > 0));
    if (bin0 && bins) {
        bytes b = hex(bin0);
        CHECK(bins[0].len == b.len && memcmp(bins[0].data, b.b, b.len) == 0);
        CHECK(bins[0].data >= m.b && bins[0].data + bins[0].len <= m.b + m.len); /* a view */
    }
    sio_packet_clear(&p);
    free(bins);
}

static void check_refused(const char *h, sio_status want)
{
    sio_packet p;
    sio_span *bins;
    sio_status st = decode_hex(h, NULL, &p, &bins);
    CHECK(st == want);
    if (st != want)
        fprintf(stderr, "  %s: got %d (%s), want %d\n", h, st, sio_status_str(st), want);
    CHECK(p.nsp == NULL && p.data == NULL && bins == NULL);
}

/* Encodes the packet; compares with the fixture's hex. */
static void check_encode(sio_packet_type type, const char *nsp, int64_t id, const char *data,
                         const char *bin0_hex, const char *want_hex)
{
    json_t *d = data ? json_loads(data, JSON_DECODE_ANY, NULL) : NULL;
    bytes b = hex(bin0_hex ? bin0_hex : "");
    sio_span bin = {b.b, b.len};
    sio_packet p = {type, SIO_UNCONST(char *, nsp), id, bin0_hex ? 1 : 0, d};
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_msgpack_encode(&p, bin0_hex ? &bin : NULL, bin0_hex ? 1 : 0, &out) == 0);
    bytes want = hex(want_hex);
    CHECK(out.len == want.len && memcmp(out.data, want.b, want.len) == 0);
    if (out.len != want.len || memcmp(out.data, want.b, want.len)) {
        fprintf(stderr, "  got  ");
        for (size_t i = 0; i < out.len; i++)
            fprintf(stderr, "%02x", out.data[i]);
        fprintf(stderr, "\n  want %s\n", want_hex);
    }
    bytebuf_free(&out);
    json_decref(d);
}

/* Decoding then encoding gives the bytes back (what sio writes is a fixed point). */
static void check_roundtrip(const char *h)
{
    bytes m = hex(h);
    sio_packet p;
    sio_span *bins;
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_msgpack_decode(m.b, m.len, NULL, &p, &bins) == SIO_OK);
    CHECK(sio_msgpack_encode(&p, bins, p.attachments, &out) == 0);
    CHECK(out.len == m.len && memcmp(out.data, m.b, m.len) == 0);
    bytebuf_free(&out);
    sio_packet_clear(&p);
    free(bins);
}

/* ---- fixtures (socket.io-msgpack-parser 3.0.2) ---------------------------------- */

/* socket.io-client: {type, data, nsp} with auth; without (data undefined) */
#define CONNECT_AUTH "83a47479706500a46461746181a5746f6b656ea3616263a36e7370a12f"
#define CONNECT_NONE "83a47479706500a464617461d40000a36e7370a12f"
/* emit('hello', 1, 2.5, null, true, {a:'x'}, ack): type, data, options, id, nsp */
#define EVENT_ACK "85a47479706502a46461746196a568656c6c6f01cb4004000000000000c0c381a161a178" \
                  "a76f7074696f6e7381a8636f6d7072657373c3a2696403a36e7370a12f"
/* emit('bin', {file: Buffer[1,2,3], name: 'x'}, Buffer('hi')) on /chat */
#define EVENT_BINS "84a47479706502a46461746193a362696e82a466696c65c403010203a46e616d65a178c402" \
                   "6869a76f7074696f6e7381a8636f6d7072657373c3a36e7370a52f63686174"
/* ['ev', undefined, {u: undefined, k: 1}] */
#define EVENT_UNDEF "83a47479706502a46461746193a26576d4000082a175d40000a16b01a36e7370a12f"
/* ['ev', new Date(1700000000123), new Date(0)] */
#define EVENT_DATE "83a47479706502a46461746193a26576d7000000018bcfe5687bd7000000000000000000a36e7370a12f"
/* ['d', new Date(-1), new Date(-62198755200000), new Date(253402300800000)] */
#define EVENT_DATES "83a47479706502a46461746194a164d700ffffffffffffffffd700ffffc76e394a7400d700" \
                    "0000e677d21fdc00a36e7370a12f"
/* ['n', 2^40, -2^40, 255, -33, 65536, 2^53-1, -1.5] */
#define EVENT_INTS "83a47479706502a46461746198a16ecf0000010000000000d3ffffff0000000000ccffd0dfce" \
                   "00010000cf001fffffffffffffcbbff8000000000000a36e7370a12f"
/* ['ab', new Uint8Array([7, 8]).buffer]: an ArrayBuffer is ext type 0 */
#define EVENT_ARRAYBUFFER "83a47479706502a46461746192a26162c702000708a36e7370a12f"

/* what sio sends */
#define SERVER_CONNECT "83a47479706500a46461746181a3736964b44141414141414141414141414141414141414141a36e7370a12f"
#define SERVER_ACK "84a47479706503a46461746192a26f6b81a16e01a36e7370a12fa2696407"
#define SERVER_BIN_EVENT "83a47479706502a46461746193a466696c6581a162c40200ffa178a36e7370a12f"
#define SERVER_DISCONNECT "82a47479706501a36e7370a12f"
#define SERVER_CONNECT_ERROR "83a47479706504a46461746181a76d657373616765b1496e76616c6964206e616d657370616365a36e7370a22f78"
#define SERVER_KEYS "83a47479706502a46461746192a16b84a131a36f6e65a132a374776fa16201a16102a36e7370a12f"

/* pieces of hand-made packets */
#define T(n) "a474797065" n   /* type: n */
#define NSP "a36e7370a12f"    /* nsp: "/" */
#define DATA "a464617461"     /* data: */
#define ID "a26964"           /* id: */

static void test_decode_client(void)
{
    check_decode(CONNECT_AUTH, SIO_CONNECT, "/", -1, 0, "{\"token\":\"abc\"}", NULL);
    check_decode(CONNECT_NONE, SIO_CONNECT, "/", -1, 0, "(none)", NULL);
    check_decode(EVENT_ACK, SIO_EVENT, "/", 3, 0, "[\"hello\",1,2.5,null,true,{\"a\":\"x\"}]", NULL);
    check_decode(EVENT_BINS, SIO_BINARY_EVENT, "/chat", -1, 2,
                 "[\"bin\",{\"file\":{\"_placeholder\":true,\"num\":0},\"name\":\"x\"},"
                 "{\"_placeholder\":true,\"num\":1}]", "010203");
    check_decode(EVENT_UNDEF, SIO_EVENT, "/", -1, 0, "[\"ev\",null,{\"k\":1}]", NULL);
    check_decode(EVENT_DATE, SIO_EVENT, "/", -1, 0,
                 "[\"ev\",\"2023-11-14T22:13:20.123Z\",\"1970-01-01T00:00:00.000Z\"]", NULL);
    check_decode(EVENT_DATES, SIO_EVENT, "/", -1, 0,
                 "[\"d\",\"1969-12-31T23:59:59.999Z\",\"-000001-01-01T00:00:00.000Z\","
                 "\"+010000-01-01T00:00:00.000Z\"]", NULL);
    check_decode(EVENT_INTS, SIO_EVENT, "/", -1, 0,
                 "[\"n\",1099511627776,-1099511627776,255,-33,65536,9007199254740991,-1.5]", NULL);
    check_decode(EVENT_ARRAYBUFFER, SIO_BINARY_EVENT, "/", -1, 1,
                 "[\"ab\",{\"_placeholder\":true,\"num\":0}]", "0708");
}

static void test_decode_forms(void)
{
    /* ack with a bin: BINARY_ACK */
    check_decode("84" T("03") DATA "91c40199" NSP ID "05", SIO_BINARY_ACK, "/", 5, 1,
                 "[{\"_placeholder\":true,\"num\":0}]", "99");
    /* other ext types: [type, Buffer], as notepack decodes them */
    check_decode("83" T("02") DATA "92a162d405aa" NSP, SIO_BINARY_EVENT, "/", -1, 1,
                 "[\"b\",[5,{\"_placeholder\":true,\"num\":0}]]", "aa");
    /* timestamp extension (-1), 32-bit form; float32; uint64 beyond int64; NaN */
    check_decode("83" T("02") DATA "95a174d6ff00000000ca3fc00000cfffffffffffffffffcb7ff8000000000000" NSP,
                 SIO_EVENT, "/", -1, 0, "[\"t\",\"1970-01-01T00:00:00.000Z\",1.5,18446744073709552000,null]", NULL);
    /* integral float64 type and id (Number.isInteger); unknown keys ignored */
    check_decode("85a474797065cb4000000000000000" DATA "91a178" NSP ID "cb4000000000000000 a178c0",
                 SIO_EVENT, "/", 2, 0, "[\"x\"]", NULL);
    /* CONNECT_ERROR: a string or an object; ACK: any array; id undefined */
    check_decode("83" T("04") DATA "a26e6f" NSP, SIO_CONNECT_ERROR, "/", -1, 0, "\"no\"", NULL);
    check_decode("84" T("03") DATA "90" NSP ID "d40000", SIO_ACK, "/", -1, 0, "[]", NULL);
    check_decode("82" T("01") NSP, SIO_DISCONNECT, "/", -1, 0, "(none)", NULL);
}

static void test_refused_shapes(void)
{
    check_refused("", SIO_ERR_EMPTY);
    check_refused("93010203", SIO_ERR_PAYLOAD);                       /* not a map */
    check_refused("83" T("02") DATA "91a178" NSP "00", SIO_ERR_JSON); /* a trailing byte */
    check_refused("c1", SIO_ERR_JSON);                                /* never used */
    check_refused("83" T("05") DATA "91a178" NSP, SIO_ERR_TYPE);      /* BINARY_EVENT: not in this format */
    check_refused("83" T("a132") DATA "91a178" NSP, SIO_ERR_TYPE);    /* "2" */
    check_refused("83" T("cb4004000000000000") DATA "91a178" NSP, SIO_ERR_TYPE); /* 2.5 */
    check_refused("82" DATA "91a178" NSP, SIO_ERR_TYPE);              /* no type */
    check_refused("82" T("02") DATA "91a178", SIO_ERR_NSP);           /* no nsp */
    check_refused("83" T("02") DATA "91a178 a36e737005", SIO_ERR_NSP);
    check_refused("83" T("02") DATA "91a178 a36e7370a463686174", SIO_ERR_NSP); /* "chat" */
    check_refused("83" T("02") DATA "91a178 a36e7370a32f0078", SIO_ERR_NSP);   /* NUL */
    check_refused("83" T("02") DATA "91a178 a36e7370a32f2c78", SIO_ERR_NSP);   /* "/,x" */
    check_refused("84" T("02") DATA "91a178" NSP ID "ff", SIO_ERR_ID); /* -1 */
    check_refused("84" T("02") DATA "91a178" NSP ID "cb3ff8000000000000", SIO_ERR_ID); /* 1.5 */
    check_refused("84" T("02") DATA "91a178" NSP ID "c0", SIO_ERR_ID); /* null is not undefined */
    check_refused("84" T("02") DATA "91a178" NSP ID "cf0020000000000000", SIO_ERR_ID); /* 2^53 */
    check_refused("82" T("02") NSP, SIO_ERR_PAYLOAD);                 /* EVENT without data */
    check_refused("83" T("02") DATA "90" NSP, SIO_ERR_PAYLOAD);       /* EVENT [] */
    check_refused("83" T("02") DATA "9101" NSP, SIO_ERR_PAYLOAD);     /* EVENT [1] */
    check_refused("83" T("02") DATA "91aa646973636f6e6e656374" NSP, SIO_ERR_PAYLOAD); /* reserved */
    check_refused("83" T("01") DATA "90" NSP, SIO_ERR_PAYLOAD);       /* DISCONNECT with data */
    check_refused("83" T("00") DATA "a178" NSP, SIO_ERR_PAYLOAD);     /* CONNECT "x" */
    check_refused("83" T("00") DATA "c0" NSP, SIO_ERR_PAYLOAD);       /* CONNECT null */
    check_refused("83" T("03") DATA "80" NSP, SIO_ERR_PAYLOAD);       /* ACK {} */
    check_refused("84" T("02") T("02") DATA "91a178" NSP, SIO_ERR_PAYLOAD); /* type twice */
    check_refused("83" T("02") DATA "92a17882a16101a16102" NSP, SIO_ERR_PAYLOAD); /* a key twice */
    check_refused("83" T("02") DATA "92a1788101c3" NSP, SIO_ERR_PAYLOAD); /* a key that is a number */
    check_refused("83" T("02") DATA "92a17881a2610001" NSP, SIO_ERR_PAYLOAD); /* a key holding NUL */
    check_refused("83" T("02") DATA "92a178a2c328" NSP, SIO_ERR_PAYLOAD); /* invalid UTF-8 */
    check_refused("83" T("02") DATA "92a17881ac5f706c616365686f6c646572c3" NSP, SIO_ERR_PAYLOAD);
}

static void test_refused_bins(void)
{
    check_refused("83" T("00") DATA "81a162c40101" NSP, SIO_ERR_ATTACHMENTS); /* in CONNECT */
    check_refused("84" T("02") DATA "91a178" NSP "a1 6f c40101", SIO_ERR_ATTACHMENTS); /* outside data */
    char h[512] = "83" T("02") DATA "9c a178";
    for (int i = 0; i < 11; i++)
        strcat(h, "c40101");
    strcat(h, NSP);
    check_refused(h, SIO_ERR_ATTACHMENTS); /* 11 > max_attachments 10 */
    sio_limits lim = {11, 256};
    sio_packet p;
    sio_span *bins;
    CHECK(decode_hex(h, &lim, &p, &bins) == SIO_OK && p.attachments == 11);
    sio_packet_clear(&p);
    free(bins);
}

/* Truncation anywhere, and declared lengths far beyond the message. */
static void test_refused_framing(void)
{
    bytes m = hex(EVENT_BINS);
    for (size_t n = 0; n < m.len; n++) {
        sio_packet p;
        sio_span *bins;
        CHECK(sio_msgpack_decode(m.b, n, NULL, &p, &bins) < 0 && !p.nsp && !p.data && !bins);
    }
    check_refused("83" T("02") DATA "92a178 ddffffffff01" NSP, SIO_ERR_JSON);      /* array */
    check_refused("83" T("02") DATA "92a178 dfffffffff01" NSP, SIO_ERR_JSON);      /* map */
    check_refused("83" T("02") DATA "92a178 c6ffffffff01" NSP, SIO_ERR_JSON);      /* bin */
    check_refused("83" T("02") DATA "92a178 dbffffffff01" NSP, SIO_ERR_JSON);      /* str */
    check_refused("83" T("02") DATA "92a178 c9ffffffff0001" NSP, SIO_ERR_JSON);    /* ext */
    check_refused("dfffffffff", SIO_ERR_JSON);                                     /* the packet */
}

static void test_depth(void)
{
    static uint8_t deep[20100];
    bytes head = hex("83" T("02") NSP DATA "92a178");
    for (int levels = SIO_MSGPACK_MAX_DEPTH - 1; levels <= 10000; levels += 10000 - SIO_MSGPACK_MAX_DEPTH + 1) {
        size_t len = head.len;
        memcpy(deep, head.b, head.len);
        for (int i = 0; i < levels; i++)
            deep[len++] = 0x91;
        deep[len++] = 0x01;
        sio_packet p;
        sio_span *bins;
        sio_status st = sio_msgpack_decode(deep, len, NULL, &p, &bins);
        CHECK(levels < 10000 ? st == SIO_OK : st == SIO_ERR_PAYLOAD);
        sio_packet_clear(&p);
    }
}

static void test_encode(void)
{
    check_encode(SIO_CONNECT, "/", -1, "{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\"}", NULL, SERVER_CONNECT);
    check_encode(SIO_ACK, "/", 7, "[\"ok\",{\"n\":1}]", NULL, SERVER_ACK);
    check_encode(SIO_BINARY_EVENT, "/", -1, "[\"file\",{\"b\":{\"_placeholder\":true,\"num\":0}},\"x\"]",
                 "00ff", SERVER_BIN_EVENT);
    check_encode(SIO_DISCONNECT, "/", -1, NULL, NULL, SERVER_DISCONNECT);
    check_encode(SIO_DISCONNECT, NULL, -1, NULL, NULL, SERVER_DISCONNECT);
    check_encode(SIO_CONNECT_ERROR, "/x", -1, "{\"message\":\"Invalid namespace\"}", NULL,
                 SERVER_CONNECT_ERROR);
    /* keys in JavaScript's order: array indices first */
    check_encode(SIO_EVENT, "/", -1, "[\"k\",{\"b\":1,\"2\":\"two\",\"a\":2,\"1\":\"one\"}]", NULL, SERVER_KEYS);
    /* integral reals as ints, others float64; big ints */
    check_encode(SIO_EVENT, "/", -1, "[\"n\",1099511627776,-1099511627776,255,-33,65536,9007199254740991,-1.5]",
                 NULL, EVENT_INTS);
    check_encode(SIO_EVENT, "/", -1, "[\"n\",2.0,-0.0]", NULL, "83" T("02") DATA "93a16e0200" NSP);
}

static void test_encode_refusals(void)
{
    json_t *d = json_loads("[\"x\",{\"_placeholder\":true,\"num\":1}]", 0, NULL);
    sio_packet p = {SIO_BINARY_EVENT, "/", -1, 1, d};
    sio_span bin = {(const uint8_t *)"a", 1};
    bytebuf out = BYTEBUF_INIT;
    CHECK(sio_msgpack_encode(&p, &bin, 1, &out) == -1 && out.len == 0); /* names no bin */
    p.type = (sio_packet_type)7;
    CHECK(sio_msgpack_encode(&p, &bin, 1, &out) == -1);
    json_decref(d);
    bytebuf_free(&out);
}

static void test_roundtrip(void)
{
    check_roundtrip(SERVER_CONNECT);
    check_roundtrip(SERVER_ACK);
    check_roundtrip(SERVER_BIN_EVENT);
    check_roundtrip(SERVER_DISCONNECT);
    check_roundtrip(SERVER_CONNECT_ERROR);
    check_roundtrip(SERVER_KEYS);
    check_roundtrip(EVENT_INTS);
}

int main(void)
{
    test_decode_client();
    test_decode_forms();
    test_refused_shapes();
    test_refused_bins();
    test_refused_framing();
    test_depth();
    test_encode();
    test_encode_refusals();
    test_roundtrip();
    return CHECK_DONE("test_sio_msgpack");
}
