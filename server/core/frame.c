#include "frame.h"

#include <assert.h>

#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

static_assert(FRAME_HEADROOM >= WS_MAX_SERVER_HEADER, "the headroom holds a WebSocket header");

static frame *alloc_op_rsv(uint8_t opcode, uint8_t rsv, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    frame *f = malloc(sizeof(*f) + FRAME_HEADROOM + len);
    if (!f)
        return NULL;
    refcount_init(&f->refs);
    f->len = (uint32_t)len;
    f->binary = opcode != WS_OP_TEXT;
    f->twin_key = 0;
    atomic_init(&f->twins, NULL);
    uint8_t hdr[WS_MAX_SERVER_HEADER];
    size_t n = ws_frame_header_rsv(hdr, opcode, rsv, len);
    f->ws_header_len = (uint8_t)n;
    memcpy(f->storage + FRAME_HEADROOM - n, hdr, n);
    return f;
}

static frame *alloc_op(uint8_t opcode, size_t len)
{
    return alloc_op_rsv(opcode, 0, len);
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

uint8_t frame_ws_opcode(const frame *f)
{
    return f->storage[FRAME_HEADROOM - f->ws_header_len] & 0xf;
}

frame *frame_new_twin(const frame *orig, uint8_t key, const void *data, size_t len)
{
    frame *t = alloc_op_rsv(frame_ws_opcode(orig), WS_RSV1, len);
    if (!t)
        return NULL;
    t->binary = orig->binary;
    t->twin_key = key;
    if (len)
        memcpy(frame_bytes(t), data, len);
    return t;
}

static const frame *find_twin(const frame *t, uint8_t key)
{
    for (; t; t = atomic_load_explicit(&t->twins, memory_order_acquire))
        if (t->twin_key == key)
            return t;
    return NULL;
}

const frame *frame_twin(const frame *f, uint8_t key)
{
    return find_twin(atomic_load_explicit(&f->twins, memory_order_acquire), key);
}

const frame *frame_twin_store(frame *f, frame *twin)
{
    frame *head = atomic_load_explicit(&f->twins, memory_order_acquire);
    for (;;) {
        const frame *there = find_twin(head, twin->twin_key);
        if (there) { /* someone was first */
            free(twin); /* never shared: no reference but ours, no chain of its own */
            return there;
        }
        atomic_store_explicit(&twin->twins, head, memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&f->twins, &head, twin, memory_order_acq_rel,
                                                  memory_order_acquire))
            return twin;
    }
}

void frame_unref(frame *f)
{
    if (!f || !refcount_put(&f->refs))
        return;
    frame *t = atomic_load_explicit(&f->twins, memory_order_acquire);
    while (t) { /* the twins belong to it (a twin's own list is the chain) */
        frame *next = atomic_load_explicit(&t->twins, memory_order_relaxed);
        free(t);
        t = next;
    }
    free(f);
}
