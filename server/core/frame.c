#include "frame.h"

#include <assert.h>

#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

static_assert(FRAME_HEADROOM >= WS_MAX_SERVER_HEADER, "the headroom holds a WebSocket header");

static frame *alloc_op(uint8_t opcode, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    frame *f = malloc(sizeof(*f) + FRAME_HEADROOM + len);
    if (!f)
        return NULL;
    refcount_init(&f->refs);
    f->len = (uint32_t)len;
    f->binary = opcode != WS_OP_TEXT;
    uint8_t hdr[WS_MAX_SERVER_HEADER];
    size_t n = ws_frame_header(hdr, opcode, len);
    f->ws_header_len = (uint8_t)n;
    memcpy(f->storage + FRAME_HEADROOM - n, hdr, n);
    return f;
}

frame *frame_alloc(int binary, size_t len)
{
    return alloc_op(binary ? WS_OP_BINARY : WS_OP_TEXT, len);
}

frame *frame_new_ws(uint8_t ws_opcode, const void *data, size_t len)
{
    frame *f = alloc_op(ws_opcode, len);
    if (f && len)
        memcpy(frame_bytes(f), data, len);
    return f;
}

frame *frame_new_text(char type_digit, const void *data, size_t len)
{
    frame *f = frame_alloc(0, len + 1);
    if (!f)
        return NULL;
    uint8_t *p = frame_bytes(f);
    p[0] = (uint8_t)type_digit;
    if (len)
        memcpy(p + 1, data, len);
    return f;
}

frame *frame_new_binary(const void *data, size_t len)
{
    frame *f = frame_alloc(1, len);
    if (f && len)
        memcpy(frame_bytes(f), data, len);
    return f;
}

void frame_unref(frame *f)
{
    if (f && refcount_put(&f->refs))
        free(f);
}
