/* fuzz_ws_frame: RFC 6455 frame headers, unmasking and UTF-8 validation
 * (protocol/ws_frame.c). Invariants: a parsed header's length is 2..14 and
 * within the input, a server header written for the parsed opcode and length
 * parses back to them; a refusal is a close status; unmasking twice restores
 * the bytes and unmasking in two pieces equals unmasking whole; the UTF-8
 * validator agrees with a plain reference decoder, also when fed in pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

/* Reference: decodes code points one by one (RFC 3629). */
static int utf8_ref(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = p[i], cp, need, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            need = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            need = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (i + need >= n) /* truncated */
            return 0;
        for (uint32_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

static void check_header(const uint8_t *data, size_t size)
{
    ws_frame_hdr h;
    int rc = ws_frame_parse_header(data, size, data[0] & 1, (uint8_t)(size > 1 ? data[1] & 7 : 0), &h);
    if (rc < 0) {
        if (rc != -WS_CLOSE_PROTOCOL_ERROR)
            abort();
        return;
    }
    if (rc == 0)
        return;
    if (rc < 2 || rc > WS_MAX_HEADER || (size_t)rc > size || (size_t)rc != h.header_len ||
        (h.len >> 63))
        abort();
    uint8_t out[WS_MAX_SERVER_HEADER];
    size_t n = ws_frame_header(out, h.opcode, h.len);
    ws_frame_hdr back;
    if (ws_frame_parse_header(out, n, 0, 0, &back) != (int)n || back.len != h.len ||
        back.opcode != h.opcode || !back.fin || back.masked)
        abort();
}

static void check_unmask(const uint8_t *data, size_t size)
{
    if (size < 5)
        return;
    const uint8_t *mask = data;
    size_t n = size - 4, cut = data[4] % (n + 1);
    uint8_t *a = malloc(n), *b = malloc(n);
    memcpy(a, data + 4, n);
    memcpy(b, data + 4, n);
    ws_unmask(a, n, mask, 0);
    ws_unmask(b, cut, mask, 0);
    ws_unmask(b + cut, n - cut, mask, cut);
    if (memcmp(a, b, n) != 0)
        abort();
    ws_unmask(a, n, mask, 0);
    if (memcmp(a, data + 4, n) != 0)
        abort();
    free(a);
    free(b);
}

static void check_utf8(const uint8_t *data, size_t size)
{
    ws_utf8 whole = {0}, parts = {0};
    int ok = ws_utf8_feed(&whole, data, size) == 0 && ws_utf8_complete(&whole);
    if (ok != utf8_ref(data, size))
        abort();
    size_t cut = size ? data[0] % (size + 1) : 0;
    int ok2 = ws_utf8_feed(&parts, data, cut) == 0 && ws_utf8_feed(&parts, data + cut, size - cut) == 0 &&
              ws_utf8_complete(&parts);
    if (ok2 != ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    check_header(data, size);
    check_unmask(data, size);
    check_utf8(data, size);
    return 0;
}
