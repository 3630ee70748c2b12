/* fuzz_ws_inflate: what a client controls of compression
 * (server/net/ws_ext.c, ws_deflate.c, http_compress.c). The first byte picks:
 *   0: a Sec-WebSocket-Extensions header. Invariants: 0 or -EINVAL; an
 *      accepted offer has a window of 8..15 and the designed answer, and that
 *      answer, offered again, is accepted with the same window; parsing is stable.
 *   1: a compressed message; the next two bytes are the bound. Invariants: 0
 *      (at most the bound), -EMSGSIZE (one byte past the bound, no more), or
 *      -EINVAL; what inflates, compressed again with any window (9..15) as a
 *      frame's twin, inflates back to the same bytes, and the twin is made once.
 *   2: an Accept-Encoding header. Invariants: gzip/deflate only when the header
 *      names it or "*"; the choice is stable. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frame.h"
#include "http_compress.h"
#include "ws_deflate.h"
#include "ws_ext.h"

#define PMD "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

static void header(const char *h, size_t n)
{
    ws_pmd p, again;
    int rc = ws_pmd_negotiate(h, n, &p);
    if (rc != 0 && rc != -EINVAL)
        abort();
    if (ws_pmd_negotiate(h, n, &again) != rc || memcmp(&p, &again, sizeof(p)) != 0)
        abort(); /* stable */
    if (!p.accepted)
        return;
    if (p.server_bits < 8 || p.server_bits > 15 || strncmp(p.response, PMD, strlen(PMD)) != 0)
        abort();
    if (ws_pmd_negotiate(p.response, strlen(p.response), &again) || !again.accepted ||
        strcmp(again.response, p.response) != 0)
        abort(); /* our answer is an offer we accept the same way */
}

static void recompress(const bytebuf *plain, int bits)
{
    frame *f = frame_new_binary(plain->data, plain->len);
    if (!f)
        return;
    unsigned long before = ws_deflate_total();
    const frame *t = ws_deflate_frame(f, bits);
    if (t) {
        bytebuf back = BYTEBUF_INIT;
        if (ws_deflate_frame(f, bits) != t || ws_deflate_total() != before + 1)
            abort(); /* made once */
        if (ws_inflate_message(frame_cbytes(t), t->len, plain->len, &back) ||
            back.len != plain->len || (back.len && memcmp(back.data, plain->data, back.len)))
            abort();
        bytebuf_free(&back);
    }
    frame_unref(f);
}

static void message(const uint8_t *p, size_t n)
{
    if (n < 2)
        return;
    size_t max = (size_t)p[0] << 8 | p[1];
    bytebuf out = BYTEBUF_INIT;
    int rc = ws_inflate_message(p + 2, n - 2, max, &out);
    if (rc == 0 && out.len > max)
        abort();
    if (rc == -EMSGSIZE && out.len != max + 1)
        abort();
    if (rc != 0 && rc != -EMSGSIZE && rc != -EINVAL)
        abort();
    if (rc == 0)
        recompress(&out, 9 + (int)(max % 7));
    bytebuf_free(&out);
}

static int names(const char *h, size_t n, const char *what)
{
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= n; i++)
        if (strncasecmp(h + i, what, w) == 0)
            return 1;
    return 0;
}

static void accept_encoding(const char *h, size_t n)
{
    enum http_encoding e = http_pick_encoding(h, n);
    if (e != http_pick_encoding(h, n))
        abort();
    if (e == HTTP_ENC_GZIP && !names(h, n, "gzip") && !names(h, n, "*"))
        abort();
    if (e == HTTP_ENC_DEFLATE && !names(h, n, "deflate") && !names(h, n, "*"))
        abort();
    if (e != HTTP_ENC_NONE && e != HTTP_ENC_GZIP && e != HTTP_ENC_DEFLATE)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16)
        return 0;
    const char *text = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0:
        header(text, size - 1);
        break;
    case 1:
        message(data + 1, size - 1);
        break;
    default:
        accept_encoding(text, size - 1);
        break;
    }
    return 0;
}
