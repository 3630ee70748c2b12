/* test_eio3_payload: unit tests of the Engine.IO v3 codec (protocol/eio3_payload.c).
 * Expected bytes come from engine.io 6's parser-v3 (encodePayload with
 * supportsBinary false and true). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eio3_payload.h"

CHECK_STATE;

static const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

#define EMOJI "\xf0\x9f\x98\x80" /* U+1F600: 4 UTF-8 bytes, 2 UTF-16 units */

static void test_utf16_len(void)
{
    CHECK(eio3_utf16_len(u8(""), 0) == 0);
    CHECK(eio3_utf16_len(u8("abc"), 3) == 3);
    CHECK(eio3_utf16_len(u8("h\xc3\xa9"), 3) == 2);            /* é: 2 bytes, 1 unit */
    CHECK(eio3_utf16_len(u8("\xe2\x82\xac"), 3) == 1);         /* €: 3 bytes, 1 unit */
    CHECK(eio3_utf16_len(u8(EMOJI), 4) == 2);
    CHECK(eio3_utf16_len(u8("\x80\x80"), 2) == 2);             /* stray bytes: 1 each */
    CHECK(eio3_utf16_len(u8("\xf0\x9f"), 2) == 2);             /* truncated: 2 units */
}

static void test_encode_text(void)
{
    bytebuf out = BYTEBUF_INIT;
    const char *msg = "4h\xc3\xa9llo " EMOJI;
    CHECK(eio3_payload_append_text(&out, 0, u8(msg), strlen(msg)) == 0);
    CHECK(eio3_payload_append_text(&out, 0, u8("2"), 1) == 0);
    CHECK_MEM(out.data, out.len, "9:4h\xc3\xa9llo " EMOJI "1:2");
    out.len = 0;
    const uint8_t bin[] = {1, 2, 3};
    CHECK(eio3_payload_append_text(&out, 1, bin, 3) == 0);
    CHECK(eio3_payload_append_text(&out, 0, u8("4a"), 2) == 0);
    CHECK_MEM(out.data, out.len, "6:b4AQID2:4a");
    bytebuf_free(&out);
}

static void test_encode_binary(void)
{
    bytebuf out = BYTEBUF_INIT;
    const uint8_t bin[] = {1, 2, 3};
    static const uint8_t expect[] = {0, 3, 0xff, '4', 0xc3, 0xa9, 1, 4, 0xff, 4, 1, 2, 3};
    CHECK(eio3_payload_append_binary(&out, 0, u8("4\xc3\xa9"), 3) == 0);
    CHECK(eio3_payload_append_binary(&out, 1, bin, 3) == 0);
    CHECK(out.len == sizeof expect && memcmp(out.data, expect, sizeof expect) == 0);
    out.len = 0;
    uint8_t big[1234] = {0};
    CHECK(eio3_payload_append_binary(&out, 1, big, sizeof big) == 0);
    CHECK(out.len == 6 + 1235 && out.data[1] == 1 && out.data[2] == 2 && out.data[4] == 5 &&
          out.data[5] == 0xff && out.data[6] == 4);
    bytebuf_free(&out);
}

/* Decodes `body` (text framing) expecting `n` packets then EIO_END. */
static void decode_text_ok(const char *body, size_t len, int n)
{
    eio3_payload_iter it;
    eio_packet pk;
    bytebuf scratch = BYTEBUF_INIT;
    eio3_payload_begin(&it, u8(body), len, 0);
    for (int i = 0; i < n; i++)
        CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_OK);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_END);
    bytebuf_free(&scratch);
}

static void test_decode_text(void)
{
    eio3_payload_iter it;
    eio_packet pk;
    bytebuf scratch = BYTEBUF_INIT;
    const char *body = "9:4h\xc3\xa9llo " EMOJI "1:26:b4AQID";
    eio3_payload_begin(&it, u8(body), strlen(body), 0);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_OK);
    CHECK(pk.type == EIO_MESSAGE && !pk.binary);
    CHECK_MEM(pk.data, pk.len, "h\xc3\xa9llo " EMOJI);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_OK && pk.type == EIO_PING && pk.len == 0);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_OK);
    CHECK(pk.binary && pk.len == 3 && pk.data[0] == 1 && pk.data[2] == 3);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_END);
    decode_text_ok("6:2probe", 8, 1);
    decode_text_ok("1:1", 3, 1);
    bytebuf_free(&scratch);
}

static eio_status first_status(const char *body, size_t len, int binary_framing)
{
    eio3_payload_iter it;
    eio_packet pk;
    bytebuf scratch = BYTEBUF_INIT;
    eio3_payload_begin(&it, u8(body), len, binary_framing);
    eio_status st;
    while ((st = eio3_payload_next(&it, &pk, &scratch)) == EIO_OK)
        ;
    bytebuf_free(&scratch);
    return st;
}

static void test_decode_text_errors(void)
{
    CHECK(first_status("", 0, 0) == EIO_ERR_EMPTY);
    CHECK(first_status("x:4a", 4, 0) == EIO_ERR_FRAMING);     /* non-digit length */
    CHECK(first_status("9:4a", 4, 0) == EIO_ERR_FRAMING);     /* past the body */
    CHECK(first_status("24a", 3, 0) == EIO_ERR_FRAMING);      /* no ':' */
    CHECK(first_status(":4a", 3, 0) == EIO_ERR_FRAMING);      /* no digits */
    CHECK(first_status("0:", 2, 0) == EIO_ERR_EMPTY);         /* zero length */
    CHECK(first_status("00000000001:4", 13, 0) == EIO_ERR_FRAMING); /* 11 digits */
    CHECK(first_status("2:4a1:", 6, 0) == EIO_ERR_FRAMING);   /* a second, cut short */
    CHECK(first_status("1:9", 3, 0) == EIO_ERR_TYPE);
    CHECK(first_status("3:b2A", 5, 0) == EIO_ERR_TYPE);       /* base64 of a non-message */
    CHECK(first_status("4:b4!!", 6, 0) == EIO_ERR_BASE64);
    /* a length that would split the emoji's surrogate pair */
    CHECK(first_status("2:4" EMOJI, 7, 0) == EIO_ERR_FRAMING);
    CHECK(first_status("3:4" EMOJI, 7, 0) == EIO_END);
}

static void test_decode_binary(void)
{
    static const uint8_t body[] = {0, 3, 0xff, '4', 0xc3, 0xa9, 1, 4, 0xff, 4, 1, 2, 3};
    eio3_payload_iter it;
    eio_packet pk;
    bytebuf scratch = BYTEBUF_INIT;
    eio3_payload_begin(&it, body, sizeof body, 1);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_OK && !pk.binary);
    CHECK_MEM(pk.data, pk.len, "\xc3\xa9");
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_OK && pk.binary && pk.len == 3);
    CHECK(pk.data[0] == 1 && pk.data[2] == 3);
    CHECK(eio3_payload_next(&it, &pk, &scratch) == EIO_END);
    bytebuf_free(&scratch);
}

static void test_decode_binary_errors(void)
{
    CHECK(first_status("\x00\x01" "4", 3, 1) == EIO_ERR_FRAMING);         /* no 0xFF */
    CHECK(first_status("\x02\x01\xff" "4", 4, 1) == EIO_ERR_FRAMING);     /* kind 2 */
    CHECK(first_status("\x00\x0a\xff" "4", 4, 1) == EIO_ERR_FRAMING);     /* digit 10 */
    CHECK(first_status("\x00\x09\xff" "4", 4, 1) == EIO_ERR_FRAMING);     /* past the body */
    CHECK(first_status("\x00\x00\xff", 3, 1) == EIO_ERR_EMPTY);           /* zero length */
    CHECK(first_status("\x00\xff" "4", 3, 1) == EIO_ERR_FRAMING);         /* no digits */
    CHECK(first_status("\x01\x01\xff\x02", 4, 1) == EIO_ERR_TYPE);        /* binary ping */
    CHECK(first_status("\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xff", 13, 1) ==
          EIO_ERR_FRAMING); /* 11 digits */
}

static void test_frames(void)
{
    eio_packet pk;
    bytebuf scratch = BYTEBUF_INIT;
    CHECK(eio3_decode_text_frame(u8("4hi"), 3, &pk, &scratch) == EIO_OK && !pk.binary);
    CHECK(eio3_decode_text_frame(u8("b4AQID"), 6, &pk, &scratch) == EIO_OK && pk.binary &&
          pk.len == 3);
    CHECK(eio3_decode_text_frame(u8("b"), 1, &pk, &scratch) == EIO_ERR_TYPE);
    CHECK(eio3_decode_binary_frame(u8("\x04\x01"), 2, &pk) == EIO_OK && pk.len == 1 &&
          pk.data[0] == 1);
    CHECK(eio3_decode_binary_frame(u8("\x04"), 1, &pk) == EIO_OK && pk.len == 0);
    CHECK(eio3_decode_binary_frame(u8(""), 0, &pk) == EIO_ERR_EMPTY);
    CHECK(eio3_decode_binary_frame(u8("\x02x"), 2, &pk) == EIO_ERR_TYPE);
    bytebuf_free(&scratch);
}

int main(void)
{
    test_utf16_len();
    test_encode_text();
    test_encode_binary();
    test_decode_text();
    test_decode_text_errors();
    test_decode_binary();
    test_decode_binary_errors();
    test_frames();
    return CHECK_DONE("test_eio3_payload");
}
