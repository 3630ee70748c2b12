/* test_eio_packet: unit tests of the Engine.IO v4 codec (protocol/eio_packet.c).
 * Expected bytes come from engine.io-parser 5.2.3 (encodePayload/decodePayload). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eio_packet.h"

CHECK_STATE;

#define SEP "\x1e"

static const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

static void test_text_frames(void)
{
    eio_packet pk;
    CHECK(eio_decode_text_frame(u8("4hello"), 6, &pk) == EIO_OK);
    CHECK(pk.type == EIO_MESSAGE && pk.binary == 0);
    CHECK_MEM(pk.data, pk.len, "hello");

    CHECK(eio_decode_text_frame(u8("2probe"), 6, &pk) == EIO_OK);
    CHECK(pk.type == EIO_PING);
    CHECK_MEM(pk.data, pk.len, "probe");

    const char *types = "0123456";
    for (int t = 0; t < 7; t++) {
        CHECK(eio_decode_text_frame(u8(types + t), 1, &pk) == EIO_OK);
        CHECK(pk.type == (eio_packet_type)t && pk.len == 0);
    }
    /* a message whose text holds a separator byte and NULs is kept whole */
    CHECK(eio_decode_text_frame(u8("4a" SEP "b\0c"), 6, &pk) == EIO_OK);
    CHECK(pk.len == 5 && memcmp(pk.data, "a" SEP "b\0c", 5) == 0);

    CHECK(eio_decode_text_frame(u8(""), 0, &pk) == EIO_ERR_EMPTY);
    CHECK(eio_decode_text_frame(NULL, 0, &pk) == EIO_ERR_EMPTY);
    CHECK(eio_decode_text_frame(u8("7"), 1, &pk) == EIO_ERR_TYPE);
    CHECK(eio_decode_text_frame(u8("b4"), 2, &pk) == EIO_ERR_TYPE);
    CHECK(eio_decode_text_frame(u8(" 4"), 2, &pk) == EIO_ERR_TYPE);
    CHECK(eio_decode_text_frame(u8("/4"), 2, &pk) == EIO_ERR_TYPE);
}

static void test_binary_frames(void)
{
    const uint8_t raw[] = {0x00, 0xff, 0x1e, '4'};
    eio_packet pk;
    eio_decode_binary_frame(raw, sizeof(raw), &pk);
    CHECK(pk.type == EIO_MESSAGE && pk.binary == 1);
    CHECK(pk.data == raw && pk.len == sizeof(raw));
    eio_decode_binary_frame(raw, 0, &pk);
    CHECK(pk.type == EIO_MESSAGE && pk.binary == 1 && pk.len == 0);
}

/* Iterates `body`, checking each packet against `want` ("T:data" text, "B:hex"
 * binary), then expects `last` (EIO_END or an error) at the end. */
typedef struct want_packet {
    eio_packet_type type;
    int binary;
    const char *data;
    size_t len;
} want_packet;

static void check_payload(const char *body, size_t len, const want_packet *want, size_t n,
                          eio_status last)
{
    bytebuf scratch = BYTEBUF_INIT;
    eio_payload_iter it;
    eio_packet pk;
    eio_payload_begin(&it, u8(body), len);
    for (size_t i = 0; i < n; i++) {
        eio_status st = eio_payload_next(&it, &pk, &scratch);
        CHECK(st == EIO_OK);
        if (st != EIO_OK)
            break;
        CHECK(pk.type == want[i].type && pk.binary == want[i].binary);
        CHECK(pk.len == want[i].len && (pk.len == 0 || memcmp(pk.data, want[i].data, pk.len) == 0));
    }
    CHECK(eio_payload_next(&it, &pk, &scratch) == last);
    bytebuf_free(&scratch);
}

static void test_payload_text(void)
{
    const char body[] = "4hello" SEP "2" SEP "4" SEP "6" SEP "3probe" SEP "1";
    want_packet want[] = {
        {EIO_MESSAGE, 0, "hello", 5}, {EIO_PING, 0, "", 0},  {EIO_MESSAGE, 0, "", 0},
        {EIO_NOOP, 0, "", 0},         {EIO_PONG, 0, "probe", 5}, {EIO_CLOSE, 0, "", 0},
    };
    check_payload(body, sizeof(body) - 1, want, 6, EIO_END);

    want_packet one = {EIO_MESSAGE, 0, "x", 1};
    check_payload("4x", 2, &one, 1, EIO_END);
}

static void test_payload_binary(void)
{
    /* the padded and the unpadded forms of the same bytes, and the empty message */
    const char body[] = "bAQID" SEP "bAQI" SEP "bAQI=" SEP "bAQ" SEP "bAQ==" SEP "b" SEP "b/w==" SEP
                        "b+/8=" SEP "4text";
    want_packet want[] = {
        {EIO_MESSAGE, 1, "\x01\x02\x03", 3}, {EIO_MESSAGE, 1, "\x01\x02", 2},
        {EIO_MESSAGE, 1, "\x01\x02", 2},     {EIO_MESSAGE, 1, "\x01", 1},
        {EIO_MESSAGE, 1, "\x01", 1},         {EIO_MESSAGE, 1, "", 0},
        {EIO_MESSAGE, 1, "\xff", 1},         {EIO_MESSAGE, 1, "\xfb\xff", 2},
        {EIO_MESSAGE, 0, "text", 4},
    };
    check_payload(body, sizeof(body) - 1, want, 9, EIO_END);
}

static void test_payload_errors(void)
{
    want_packet a = {EIO_MESSAGE, 0, "a", 1};
    /* engine.io-parser decodes "" and a trailing or doubled separator as an error packet */
    check_payload("", 0, NULL, 0, EIO_ERR_EMPTY);
    check_payload(NULL, 0, NULL, 0, EIO_ERR_EMPTY);
    check_payload(SEP, 1, NULL, 0, EIO_ERR_EMPTY);
    check_payload("4a" SEP, 3, &a, 1, EIO_ERR_EMPTY);
    check_payload("4a" SEP SEP "4b", 6, &a, 1, EIO_ERR_EMPTY);
    check_payload("7" SEP "4b", 4, NULL, 0, EIO_ERR_TYPE);
    check_payload("4a" SEP "x", 4, &a, 1, EIO_ERR_TYPE);
    /* base64: bad characters, impossible length, '=' not at the end, too much padding */
    check_payload("bAQ!D", 5, NULL, 0, EIO_ERR_BASE64);
    check_payload("bAQIDB", 6, NULL, 0, EIO_ERR_BASE64);
    check_payload("bA", 2, NULL, 0, EIO_ERR_BASE64);
    check_payload("bAQ==AQ==", 9, NULL, 0, EIO_ERR_BASE64);
    check_payload("bA===", 5, NULL, 0, EIO_ERR_BASE64);
    check_payload("bAQ I", 5, NULL, 0, EIO_ERR_BASE64);
    check_payload("bAQ\nI", 5, NULL, 0, EIO_ERR_BASE64);
    check_payload("b-_8", 4, NULL, 0, EIO_ERR_BASE64); /* base64url is not base64 */
    check_payload("4a" SEP "b*", 5, &a, 1, EIO_ERR_BASE64);
}

/* A large binary packet round trip through append and iteration. */
static void test_payload_large(void)
{
    const size_t n = 1 << 20;
    uint8_t *raw = malloc(n);
    CHECK(raw != NULL);
    if (!raw)
        return;
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)(i * 131 + 7);
    bytebuf body = BYTEBUF_INIT, scratch = BYTEBUF_INIT;
    CHECK(eio_payload_append(&body, 1, raw, n) == 0);
    CHECK(eio_payload_append(&body, 0, u8("4end"), 4) == 0);
    CHECK(body.len == 1 + 4 * ((n + 2) / 3) + 1 + 4);
    eio_payload_iter it;
    eio_packet pk;
    eio_payload_begin(&it, body.data, body.len);
    CHECK(eio_payload_next(&it, &pk, &scratch) == EIO_OK);
    CHECK(pk.binary == 1 && pk.len == n && memcmp(pk.data, raw, n) == 0);
    CHECK(eio_payload_next(&it, &pk, &scratch) == EIO_OK);
    CHECK_MEM(pk.data, pk.len, "end");
    CHECK(eio_payload_next(&it, &pk, &scratch) == EIO_END);
    bytebuf_free(&body);
    bytebuf_free(&scratch);
    free(raw);
}

static void test_payload_append(void)
{
    /* encodePayload([message "hello", message <01 02 03>, ping, message <ff>,
     *   message <>, message <fb ff>, message "é€", close]) */
    const char expect[] = "4hello" SEP "bAQID" SEP "2" SEP "b/w==" SEP "b" SEP "b+/8=" SEP
                          "4\xc3\xa9\xe2\x82\xac" SEP "1";
    bytebuf out = BYTEBUF_INIT;
    CHECK(eio_payload_append(&out, 0, u8("4hello"), 6) == 0);
    CHECK(eio_payload_append(&out, 1, u8("\x01\x02\x03"), 3) == 0);
    CHECK(eio_payload_append(&out, 0, u8("2"), 1) == 0);
    CHECK(eio_payload_append(&out, 1, u8("\xff"), 1) == 0);
    CHECK(eio_payload_append(&out, 1, u8(""), 0) == 0);
    CHECK(eio_payload_append(&out, 1, u8("\xfb\xff"), 2) == 0);
    CHECK(eio_payload_append(&out, 0, u8("4\xc3\xa9\xe2\x82\xac"), 6) == 0);
    CHECK(eio_payload_append(&out, 0, u8("1"), 1) == 0);
    CHECK_MEM(out.data, out.len, expect);
    bytebuf_free(&out);
}

/* Over the buffer's limit, append fails and leaves the payload as it was. */
static void test_payload_append_limit(void)
{
    bytebuf out = BYTEBUF_INIT;
    out.limit = 8;
    CHECK(eio_payload_append(&out, 0, u8("4abc"), 4) == 0);
    CHECK(eio_payload_append(&out, 0, u8("4abcd"), 5) == -1);
    CHECK_MEM(out.data, out.len, "4abc");
    CHECK(eio_payload_append(&out, 1, u8("\x01\x02"), 2) == -1);
    CHECK_MEM(out.data, out.len, "4abc");
    CHECK(eio_payload_append(&out, 0, u8("2"), 1) == 0);
    CHECK_MEM(out.data, out.len, "4abc" SEP "2");
    bytebuf_free(&out);
}

static void test_status_strings(void)
{
    CHECK(strcmp(eio_status_str(EIO_OK), "ok") == 0);
    CHECK(strcmp(eio_status_str(EIO_ERR_BASE64), "invalid base64") == 0);
    CHECK(strcmp(eio_status_str((eio_status)42), "?") == 0);
}

int main(void)
{
    test_text_frames();
    test_binary_frames();
    test_payload_text();
    test_payload_binary();
    test_payload_errors();
    test_payload_large();
    test_payload_append();
    test_payload_append_limit();
    test_status_strings();
    return CHECK_DONE("test_eio_packet");
}
