/* test_ws_frame: unit tests of the RFC 6455 framing (protocol/ws_frame.c).
 * The accept key vector is RFC 6455 section 1.3's; UTF-8 cases follow the
 * Autobahn test suite's section 6. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ws_frame.h"

CHECK_STATE;

static int parse(const char *bytes, size_t n, int require_mask, ws_frame_hdr *h)
{
    return ws_frame_parse_header((const uint8_t *)bytes, n, require_mask, 0, h);
}

static void test_headers(void)
{
    ws_frame_hdr h;
    /* masked text "Hello" from RFC 6455 5.7 */
    const char hello[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    CHECK(parse(hello, 11, 1, &h) == 6);
    CHECK(h.fin && h.opcode == WS_OP_TEXT && h.masked && h.len == 5);
    uint8_t payload[5];
    memcpy(payload, hello + 6, 5);
    ws_unmask(payload, 5, h.mask, 0);
    CHECK_MEM(payload, 5, "Hello");
    /* needs more bytes, at each step of a 64-bit masked header */
    const char big[] = "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04";
    for (size_t n = 0; n < 14; n++)
        CHECK(parse(big, n, 1, &h) == 0);
    CHECK(parse(big, 14, 1, &h) == 14 && h.len == 65536 && h.opcode == WS_OP_BINARY);
    /* 16-bit length */
    CHECK(parse("\x81\xfe\x01\x00" "abcd", 8, 1, &h) == 8 && h.len == 256);
    /* the announced length is known before any payload: 2^62 */
    CHECK(parse("\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00" "abcd", 14, 1, &h) == 14);
    CHECK(h.len == (uint64_t)1 << 62);
}

static void test_refusals(void)
{
    ws_frame_hdr h;
    CHECK(parse("\x81\x02\x34\x30", 4, 1, &h) == -WS_CLOSE_PROTOCOL_ERROR); /* unmasked */
    CHECK(parse("\x81\x02\x34\x30", 4, 0, &h) == 2);                      /* a client may read it */
    CHECK(parse("\xc1\x80" "abcd", 6, 1, &h) == -WS_CLOSE_PROTOCOL_ERROR); /* RSV1 */
    CHECK(parse("\x83\x80" "abcd", 6, 1, &h) == -WS_CLOSE_PROTOCOL_ERROR); /* opcode 3 */
    CHECK(parse("\x8b\x80" "abcd", 6, 1, &h) == -WS_CLOSE_PROTOCOL_ERROR); /* opcode 0xB */
    CHECK(parse("\x09\x80" "abcd", 6, 1, &h) == -WS_CLOSE_PROTOCOL_ERROR); /* fragmented ping */
    CHECK(parse("\x89\xfe\x00\x7e" "abcd", 8, 1, &h) == -WS_CLOSE_PROTOCOL_ERROR); /* 126-byte ping */
    CHECK(parse("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" "abcd", 14, 1, &h) ==
          -WS_CLOSE_PROTOCOL_ERROR); /* top bit of the 64-bit length */
    /* a negotiated extension's bit is allowed */
    CHECK(ws_frame_parse_header((const uint8_t *)"\xc1\x80" "abcd", 6, 1, 0x4, &h) == 6 &&
          h.rsv == 0x4);
}

static void test_unmask_in_pieces(void)
{
    const uint8_t mask[4] = {1, 2, 3, 4};
    uint8_t whole[37], pieces[37];
    for (int i = 0; i < 37; i++)
        whole[i] = pieces[i] = (uint8_t)(i * 7);
    ws_unmask(whole, 37, mask, 0);
    size_t cuts[] = {0, 1, 3, 8, 9, 21, 37};
    for (int i = 0; i + 1 < 7; i++)
        ws_unmask(pieces + cuts[i], cuts[i + 1] - cuts[i], mask, cuts[i]);
    CHECK(memcmp(whole, pieces, 37) == 0);
    for (int i = 0; i < 37; i++)
        CHECK(whole[i] == (uint8_t)((i * 7) ^ mask[i & 3]));
}

static int utf8_ok(const char *s, size_t n)
{
    ws_utf8 u = {0};
    return ws_utf8_feed(&u, (const uint8_t *)s, n) == 0 && ws_utf8_complete(&u);
}

static void test_utf8(void)
{
    CHECK(utf8_ok("", 0));
    CHECK(utf8_ok("hello", 5));
    CHECK(utf8_ok("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11)); /* κόσμε */
    CHECK(utf8_ok("\xf4\x8f\xbf\xbf", 4));                              /* U+10FFFF */
    CHECK(utf8_ok("\xef\xbf\xbf", 3));                                  /* U+FFFF */
    CHECK(!utf8_ok("\xf4\x90\x80\x80", 4));                             /* > U+10FFFF */
    CHECK(!utf8_ok("\xed\xa0\x80", 3));                                 /* surrogate */
    CHECK(!utf8_ok("\xc0\xaf", 2));                                     /* overlong '/' */
    CHECK(!utf8_ok("\xe0\x80\xaf", 3));                                 /* overlong */
    CHECK(!utf8_ok("\xf0\x80\x80\xaf", 4));                             /* overlong */
    CHECK(!utf8_ok("\x80", 1));                                         /* lone continuation */
    CHECK(!utf8_ok("\xfe", 1));
    CHECK(!utf8_ok("\xce", 1));                                         /* truncated */
    /* split across pieces, at every position */
    const char *s = "a\xf0\x9f\x98\x80\xe2\x82\xac";
    for (size_t cut = 0; cut <= 8; cut++) {
        ws_utf8 u = {0};
        CHECK(ws_utf8_feed(&u, (const uint8_t *)s, cut) == 0);
        CHECK(ws_utf8_feed(&u, (const uint8_t *)s + cut, 8 - cut) == 0);
        CHECK(ws_utf8_complete(&u));
    }
}

static void test_server_header_and_accept(void)
{
    uint8_t out[WS_MAX_SERVER_HEADER];
    CHECK(ws_frame_header(out, WS_OP_TEXT, 5) == 2 && out[0] == 0x81 && out[1] == 5);
    CHECK(ws_frame_header(out, WS_OP_BINARY, 126) == 4 && out[1] == 126 && out[2] == 0 &&
          out[3] == 126);
    CHECK(ws_frame_header(out, WS_OP_TEXT, 70000) == 10 && out[1] == 127 && out[7] == 1 &&
          out[8] == 0x11 && out[9] == 0x70);
    ws_frame_hdr h; /* what the server writes, a client reads back */
    CHECK(ws_frame_parse_header(out, 10, 0, 0, &h) == 10 && h.len == 70000 && !h.masked);

    char accept[29];
    CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept) == 0);
    CHECK(strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", 23, accept) == -1);
    CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ!=", 24, accept) == -1);
    CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25j*Q==", 24, accept) == -1);
}

int main(void)
{
    test_headers();
    test_refusals();
    test_unmask_in_pieces();
    test_utf8();
    test_server_header_and_accept();
    return CHECK_DONE("test_ws_frame");
}
