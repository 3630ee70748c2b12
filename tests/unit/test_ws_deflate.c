/* test_ws_deflate: permessage-deflate and HTTP compression (server/net/ws_ext.c,
 * ws_deflate.c, http_compress.c; the frame twins of server/core/frame.c).
 * The header cases follow npm ws's test/extension.test.js and
 * permessage-deflate.test.js; the Accept-Encoding ones negotiator's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "check.h"
#include "frame.h"
#include "http_compress.h"
#include "ws_deflate.h"
#include "ws_ext.h"
#include "ws_frame.h"

CHECK_STATE;

#define PMD "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

static int negotiate(const char *h, ws_pmd *out)
{
    return ws_pmd_negotiate(h, strlen(h), out);
}

/* ---- the parser, as ws's parse() ---------------------------------------------------- */

typedef struct trace {
    char text[512];
} trace;

static int on_param(void *ctx, const char *ext, size_t el, const char *name, size_t nl,
                    const char *value, size_t vl)
{
    trace *t = ctx;
    size_t n = strlen(t->text);
    snprintf(t->text + n, sizeof(t->text) - n, "%.*s.%.*s=%s%.*s|", (int)el, ext, (int)nl, name,
             value ? "" : "true", value ? (int)vl : 0, value ? value : "");
    return 0;
}

static int on_offer(void *ctx, const char *ext, size_t el)
{
    trace *t = ctx;
    size_t n = strlen(t->text);
    snprintf(t->text + n, sizeof(t->text) - n, "[%.*s]", (int)el, ext);
    return 0;
}

static const char *parsed(const char *h)
{
    static trace t;
    ws_ext_sink sink = {on_param, on_offer, &t};
    t.text[0] = '\0';
    if (ws_ext_parse(h, strlen(h), &sink))
        return "ERROR";
    return t.text;
}

static void test_parser(void)
{
    CHECK(strcmp(parsed("foo"), "[foo]") == 0);
    CHECK(strcmp(parsed("foo, bar"), "[foo][bar]") == 0);
    CHECK(strcmp(parsed("foo; bar; baz=1; bar=2"), "foo.bar=true|foo.baz=1|foo.bar=2|[foo]") == 0);
    CHECK(strcmp(parsed("foo; bar=\"hi\", foo; baz=\"1\\2\""), "foo.bar=hi|[foo]foo.baz=12|[foo]") == 0);
    CHECK(strcmp(parsed("foo;bar=\"\\x\""), "foo.bar=x|[foo]") == 0); /* a leading escape: kept as is */
    CHECK(strcmp(parsed("foo \t; bar\t =1"), "ERROR") == 0);        /* a blank before '=' */
    CHECK(strcmp(parsed("foo \t; bar\t ; baz =1") , "ERROR") == 0);
    CHECK(strcmp(parsed("foo \t; bar\t ; baz=1 "), "ERROR") == 0);  /* ends with a blank */
    CHECK(strcmp(parsed("foo \t; bar\t ; baz=1\t, qux"), "foo.bar=true|foo.baz=1|[foo][qux]") == 0);
    const char *bad[] = {"", " foo", "foo bar", "foo;", "foo,", ",foo", "foo;;bar", "foo; =1",
                         "foo; a=", "foo; a=\"", "foo; a=\"b", "foo; a=\"b c\"", "foo; a=\"\"",
                         "foo; a=b\"", "foo; a=\"b\"c", "foo; a=\"b\\\"", "f\"oo", "foo; a=1=2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = ws_ext_parse(bad[i], strlen(bad[i]), &(ws_ext_sink){on_param, on_offer, &(trace){{0}}});
        CHECK(rc == -EINVAL);
        if (rc != -EINVAL)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
    }
}

/* ---- the negotiation ---------------------------------------------------------------- */

static void test_negotiation(void)
{
    ws_pmd p;
    CHECK(negotiate("permessage-deflate", &p) == 0 && p.accepted && p.server_bits == 15);
    CHECK(strcmp(p.response, PMD) == 0);
    CHECK(negotiate("permessage-deflate; client_max_window_bits", &p) == 0 && p.accepted);
    CHECK(strcmp(p.response, PMD) == 0); /* what Chromium offers */
    CHECK(negotiate("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", &p) == 0);
    CHECK(p.accepted && p.server_bits == 10 && strcmp(p.response, PMD "; server_max_window_bits=10") == 0);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=8", &p) == 0 && p.server_bits == 8);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=\"9\"", &p) == 0 && p.server_bits == 9);
    /* Number() of the value, as ws: hex, exponent, a fraction of .0, a sign */
    CHECK(negotiate("permessage-deflate; server_max_window_bits=0xb", &p) == 0 && p.server_bits == 11);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=1.2e1", &p) == 0 && p.server_bits == 12);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=13.0", &p) == 0 && p.server_bits == 13);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=+14", &p) == 0 && p.server_bits == 14);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=\"1\\5\"", &p) == 0 && p.server_bits == 15);
    /* the first offer is taken; the second is still checked */
    CHECK(negotiate("permessage-deflate; server_max_window_bits=11, permessage-deflate", &p) == 0);
    CHECK(p.server_bits == 11);
    CHECK(negotiate("permessage-deflate, permessage-deflate; foo", &p) == -EINVAL && !p.accepted);
    /* another extension: parsed, its parameters not judged; none of ours: declined */
    CHECK(negotiate("x-webkit-deflate-frame; foo=bar; foo=baz", &p) == 0 && !p.accepted);
    CHECK(negotiate("Permessage-Deflate", &p) == 0 && !p.accepted); /* ws: case-sensitive */
    CHECK(negotiate("foo, permessage-deflate; server_no_context_takeover", &p) == 0 && p.accepted);
    const char *bad[] = {
        "permessage-deflate; server_max_window_bits",       "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",    "permessage-deflate; server_max_window_bits=10.5",
        "permessage-deflate; server_max_window_bits=0x",    "permessage-deflate; server_max_window_bits=1e",
        "permessage-deflate; server_max_window_bits=-0xa",  "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_no_context_takeover=1", "permessage-deflate; server_no_context_takeover=\"x\"",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; unknown",                      "permessage-deflate;",
        "permessage-deflate; server_max_window_bits=Infinity"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = negotiate(bad[i], &p);
        CHECK(rc == -EINVAL && !p.accepted);
        if (rc != -EINVAL)
            fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
    }
}

/* ---- compressing and inflating ----------------------------------------------------- */

static void fill(uint8_t *p, size_t n)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) { /* compressible but not trivially */
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)("abcdefgh"[(x >> 16) & 7]);
    }
}

static void test_roundtrip(void)
{
    enum { N = 200000 };
    uint8_t *in = malloc(N);
    fill(in, N);
    for (int bits = 9; bits <= 15; bits++) {
        bytebuf z = BYTEBUF_INIT, out = BYTEBUF_INIT;
        CHECK(ws_deflate_message(in, N, bits, &z) == 0 && z.len < N / 2);
        CHECK(z.len < 4 || memcmp(z.data + z.len - 4, "\x00\x00\xff\xff", 4) != 0); /* trailer gone */
        CHECK(ws_inflate_message(z.data, z.len, N, &out) == 0 && out.len == N);
        CHECK(out.len == N && memcmp(out.data, in, N) == 0);
        CHECK(ws_inflate_message(z.data, z.len, N - 1, &out) == -EMSGSIZE && out.len <= N);
        bytebuf_free(&z);
        bytebuf_free(&out);
    }
    bytebuf z = BYTEBUF_INIT;
    CHECK(ws_deflate_message(in, 10, 8, &z) < 0); /* zlib has no 256-byte window */
    CHECK(ws_deflate_message(in, 0, 15, &z) == 0);
    bytebuf out = BYTEBUF_INIT;
    CHECK(ws_inflate_message(z.data, z.len, 0, &out) == 0 && out.len == 0);
    CHECK(ws_inflate_message((const uint8_t *)"\xff\xff\xff", 3, 100, &out) == -EINVAL);
    CHECK(ws_inflate_message(NULL, 0, 100, &out) == 0 && out.len == 0);
    bytebuf_free(&z);
    bytebuf_free(&out);
    free(in);
}

/* 64 MB of zeros as a stream of ~64 KB: refused at the bound, with at most
 * twice the bound allocated (a bytebuf doubles). */
static void test_bomb(void)
{
    enum { PIECE = 1 << 20 };
    uint8_t *zeros = calloc(1, PIECE);
    bytebuf one = BYTEBUF_INIT, bomb = BYTEBUF_INIT, out = BYTEBUF_INIT;
    CHECK(ws_deflate_message(zeros, PIECE, 15, &one) == 0);
    CHECK(bytebuf_append(&one, "\x00\x00\xff\xff", 4) == 0); /* pieces that can follow each other */
    for (int i = 0; i < 64; i++)
        bytebuf_append(&bomb, one.data, one.len);
    CHECK(ws_inflate_message(bomb.data, bomb.len, 100000, &out) == -EMSGSIZE);
    CHECK(out.len == 100001 && out.cap <= 2 * 100001); /* a bytebuf doubles */
    CHECK(ws_inflate_message(bomb.data, bomb.len, (size_t)64 * PIECE, &out) == 0);
    CHECK(out.len == (size_t)64 * PIECE);
    bytebuf_free(&one);
    bytebuf_free(&bomb);
    bytebuf_free(&out);
    free(zeros);
}

/* ---- the compressed twin of a frame ------------------------------------------------ */

static void test_twins(void)
{
    uint8_t text[5000];
    fill(text, sizeof(text));
    frame *f = frame_new_text('4', text, sizeof(text));
    unsigned long before = ws_deflate_total();
    const frame *t = ws_deflate_frame(f, 15);
    CHECK(t && ws_deflate_frame(f, 15) == t && frame_twin(f, 15) == t);
    CHECK(ws_deflate_total() - before == 1); /* made once */
    const frame *t10 = ws_deflate_frame(f, 10);
    CHECK(t10 && t10 != t && ws_deflate_total() - before == 2 && frame_twin(f, 15) == t);
    CHECK(ws_deflate_frame(f, 8) == NULL && frame_twin(f, 8) == NULL);
    size_t len;
    const uint8_t *wire = frame_wire(t, &len);
    CHECK(wire[0] == (0x80 | 0x40 | WS_OP_TEXT)); /* FIN, RSV1, text */
    CHECK(frame_ws_opcode(t) == WS_OP_TEXT && !t->binary);
    bytebuf out = BYTEBUF_INIT;
    CHECK(ws_inflate_message(frame_cbytes(t), t->len, 1 << 20, &out) == 0);
    CHECK(out.len == f->len && memcmp(out.data, frame_cbytes(f), f->len) == 0);
    bytebuf_free(&out);
    /* a second twin for a key already there is dropped: the first stays */
    frame *dup = frame_new_twin(f, 15, "x", 1);
    CHECK(frame_twin_store(f, dup) == t);
    frame *b = frame_new_binary(text, sizeof(text));
    const frame *tb = ws_deflate_frame(b, 12);
    CHECK(tb && frame_ws_opcode(tb) == WS_OP_BINARY && tb->binary);
    frame_unref(b);
    frame_unref(f); /* frees the twins (ASan: no leak) */
}

/* ---- Accept-Encoding, as npm accepts(req).encodings(["gzip", "deflate"]) ------------ */

static enum http_encoding pick(const char *h)
{
    return http_pick_encoding(h, strlen(h));
}

static void test_accept_encoding(void)
{
    CHECK(http_pick_encoding(NULL, 0) == HTTP_ENC_NONE);
    CHECK(pick("") == HTTP_ENC_NONE);
    CHECK(pick("gzip") == HTTP_ENC_GZIP);
    CHECK(pick("deflate") == HTTP_ENC_DEFLATE);
    CHECK(pick("gzip, deflate, br") == HTTP_ENC_GZIP);
    CHECK(pick("deflate, gzip") == HTTP_ENC_DEFLATE);       /* the header's order */
    CHECK(pick("br, *") == HTTP_ENC_GZIP);                  /* "*": our order */
    CHECK(pick("*, deflate") == HTTP_ENC_DEFLATE);          /* by name beats "*" */
    CHECK(pick("gzip;q=0.5, deflate") == HTTP_ENC_DEFLATE);
    CHECK(pick("gzip;q=0.5, deflate;q=0.4") == HTTP_ENC_GZIP);
    CHECK(pick("GZIP") == HTTP_ENC_GZIP);
    CHECK(pick("gzip;q=0") == HTTP_ENC_NONE);
    CHECK(pick("gzip;q=0, *") == HTTP_ENC_DEFLATE);         /* the named q=0 wins over "*" */
    CHECK(pick("*;q=0") == HTTP_ENC_NONE);
    CHECK(pick("identity") == HTTP_ENC_NONE);
    CHECK(pick("gzip;q=abc") == HTTP_ENC_NONE);             /* NaN */
    CHECK(pick("gzip;q") == HTTP_ENC_NONE);
    CHECK(pick("gzip;level=1;q=0.1, deflate;q=0.01") == HTTP_ENC_GZIP);
    CHECK(pick("gzip ;q=0.2, deflate; q=0.3") == HTTP_ENC_DEFLATE);
    CHECK(pick("gzip; q = 0.9, deflate;q=0.5") == HTTP_ENC_GZIP); /* "q " is no q: 1 */
    CHECK(pick("gzip x, deflate") == HTTP_ENC_DEFLATE);     /* not an entry: skipped */
    CHECK(pick("gzip;q=1e-1, deflate;q=.05") == HTTP_ENC_GZIP);
    CHECK(pick("gzip, gzip;q=0") == HTTP_ENC_GZIP);         /* the later of equals... */
    CHECK(pick("gzip;q=0, gzip") == HTTP_ENC_GZIP);
    CHECK(strcmp(http_encoding_name(HTTP_ENC_GZIP), "gzip") == 0);
}

static void test_http_compress(void)
{
    uint8_t in[20000];
    fill(in, sizeof(in));
    for (int e = HTTP_ENC_GZIP; e <= HTTP_ENC_DEFLATE; e++) {
        bytebuf z = BYTEBUF_INIT;
        CHECK(http_compress((enum http_encoding)e, in, sizeof(in), &z) == 0 && z.len < sizeof(in) / 2);
        CHECK(e != HTTP_ENC_GZIP || (z.data[0] == 0x1f && z.data[1] == 0x8b));
        CHECK(e != HTTP_ENC_DEFLATE || (z.data[0] & 0x0f) == 8); /* a zlib header */
        z_stream s = {0};
        uint8_t out[sizeof(in) + 1];
        inflateInit2(&s, e == HTTP_ENC_GZIP ? 31 : 15);
        s.next_in = z.data;
        s.avail_in = (uInt)z.len;
        s.next_out = out;
        s.avail_out = sizeof(out);
        CHECK(inflate(&s, Z_FINISH) == Z_STREAM_END && s.total_out == sizeof(in));
        CHECK(memcmp(out, in, sizeof(in)) == 0);
        inflateEnd(&s);
        bytebuf_free(&z);
    }
    bytebuf z = BYTEBUF_INIT;
    CHECK(http_compress(HTTP_ENC_NONE, in, 1, &z) == -EINVAL);
}

int main(void)
{
    test_parser();
    test_negotiation();
    test_roundtrip();
    test_bomb();
    test_twins();
    test_accept_encoding();
    test_http_compress();
    return CHECK_DONE("test_ws_deflate");
}
