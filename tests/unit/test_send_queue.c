/* test_send_queue: a session's bounded queue of outgoing frames
 * (server/engine/send_queue.c, compiled in directly) with the refcounted
 * frames it holds (server/core/frame.c).
 *
 * Covers what send_queue.h and frame.h promise:
 *   - frames: frame_new_text/binary lay out "<digit><data>" / the raw bytes,
 *     the WebSocket header in front (frame_wire: 2, 4 or 10 header bytes),
 *     one reference from the maker; frame_unref(NULL) is harmless;
 *   - an empty (zeroed) queue: pop/peek give NULL, clear is harmless;
 *   - FIFO order through push/pop and peek(i) (the i-th oldest, borrowed),
 *     including a ring that wraps and then grows with its head mid-ring;
 *   - push takes a reference, pop hands the queue's reference to the caller,
 *     `bytes` is the sum of the queued frame lengths;
 *   - the bounds: max_frames (also when not a power of two, and 0) and
 *     max_bytes (a push reaching it exactly is accepted, one byte over is
 *     refused); a refused push returns -1 and leaves the queue AND the
 *     frame's refcount unchanged, which is what lets the caller (eio_session)
 *     drop a volatile packet or disconnect the slow consumer. The queue has
 *     no notion of volatility itself: that policy lives in eio_session.c;
 *   - after a burst the ring is given back (an idle session holds no memory)
 *     and the queue keeps working;
 *   - clear drops exactly one reference per queued entry (the same frame may
 *     be queued several times) and leaves a reusable empty queue; the frames
 *     nobody else holds are freed (the ASan build's leak check sees any miss).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"
#include "send_queue.h"

CHECK_STATE;

static unsigned refs(frame *f) { return atomic_load(&f->refs); }

static frame *text(const char *s) { return frame_new_text('4', s, strlen(s)); }

static void test_frames(void)
{
    frame *t = frame_new_text('4', "hello", 5);
    CHECK(t && refs(t) == 1 && !t->binary && t->len == 6);
    CHECK_MEM(frame_cbytes(t), t->len, "4hello");
    size_t wl = 0;
    const uint8_t *w = frame_wire(t, &wl);
    CHECK(wl == 2 + 6 && w[0] == 0x81 && w[1] == 6); /* FIN|text, unmasked length 6 */
    CHECK(memcmp(w + 2, "4hello", 6) == 0);

    frame *e = frame_new_text('3', NULL, 0); /* a bare pong: the digit alone */
    CHECK(e && e->len == 1 && frame_cbytes(e)[0] == '3');

    uint8_t bin[300];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (uint8_t)i;
    frame *b = frame_new_binary(bin, sizeof(bin));
    bin[0] = 0xff; /* the frame holds its own copy */
    CHECK(b && b->binary && b->len == 300 && frame_cbytes(b)[0] == 0 && frame_cbytes(b)[299] == 43);
    w = frame_wire(b, &wl);
    CHECK(wl == 4 + 300 && w[0] == 0x82 && w[1] == 126 && w[2] == 1 && w[3] == 44);

    frame *big = frame_alloc(1, 70000); /* 64-bit length form */
    CHECK(big && big->len == 70000);
    w = frame_wire(big, &wl);
    CHECK(wl == 10 + 70000 && w[1] == 127 && w[7] == 0x01 && w[8] == 0x11 && w[9] == 0x70);

    frame *z = frame_new_binary(NULL, 0);
    CHECK(z && z->len == 0);
    w = frame_wire(z, &wl);
    CHECK(wl == 2 && w[1] == 0);

    CHECK(frame_ref(t) == t && refs(t) == 2);
    frame_unref(t);
    CHECK(refs(t) == 1);
    frame_unref(NULL);
    frame_unref(t);
    frame_unref(e);
    frame_unref(b);
    frame_unref(big);
    frame_unref(z);
}

static void test_empty(void)
{
    send_queue q = {0};
    CHECK(send_queue_pop(&q) == NULL);
    CHECK(send_queue_peek(&q, 0) == NULL);
    send_queue_clear(&q);
    CHECK(q.count == 0 && q.bytes == 0 && q.ring == NULL && q.cap == 0);
    send_queue_clear(&q); /* twice */
    CHECK(send_queue_pop(&q) == NULL);
}

static void test_order(void)
{
    send_queue_limits lim = {1000, 1 << 20};
    send_queue q = {0};
    frame *f[100];
    size_t sum = 0;
    int pushed = 0;
    for (int i = 0; i < 100; i++) {
        char s[16];
        snprintf(s, sizeof(s), "m%d", i);
        f[i] = text(s);
        sum += f[i]->len;
        pushed += send_queue_push(&q, f[i], &lim) == 0;
    }
    CHECK(pushed == 100 && q.count == 100 && q.bytes == sum);
    CHECK(refs(f[0]) == 2 && refs(f[99]) == 2); /* ours and the queue's */
    int peek_ok = 1;
    for (uint32_t i = 0; i < 100; i++)
        if (send_queue_peek(&q, i) != f[i])
            peek_ok = 0;
    CHECK(peek_ok);
    CHECK(send_queue_peek(&q, 100) == NULL && send_queue_peek(&q, UINT32_MAX) == NULL);
    CHECK(refs(f[5]) == 2); /* peek borrows */

    int order_ok = 1;
    for (int i = 0; i < 100; i++) {
        frame *p = send_queue_pop(&q);
        if (p != f[i] || refs(p) != 2) /* the queue's ref is now the caller's */
            order_ok = 0;
        sum -= f[i]->len;
        if (q.bytes != sum || q.count != (uint32_t)(99 - i))
            order_ok = 0;
        frame_unref(p);
        if (refs(f[i]) != 1)
            order_ok = 0;
    }
    CHECK(order_ok);
    CHECK(q.count == 0 && q.bytes == 0 && send_queue_pop(&q) == NULL);
    /* the burst grew the ring past 16: popping the last gave it back */
    CHECK(q.ring == NULL && q.cap == 0);
    /* and the queue works again */
    CHECK(send_queue_push(&q, f[7], &lim) == 0 && send_queue_peek(&q, 0) == f[7]);
    send_queue_clear(&q);
    CHECK(refs(f[7]) == 1);
    for (int i = 0; i < 100; i++)
        frame_unref(f[i]);
}

/* A ring that wraps (head mid-ring, tail before it) and then grows must keep
 * the order: the copy has to unroll the wrap. */
static void test_wrap_and_grow(void)
{
    send_queue_limits lim = {64, 1 << 20};
    send_queue q = {0};
    frame *f[12];
    for (int i = 0; i < 12; i++) {
        char s[8];
        snprintf(s, sizeof(s), "%d", i);
        f[i] = text(s);
    }
    /* cap 4: push 0,1,2, pop 0,1 -> head 2; push 3,4,5 -> 2,3,4,5 wrapped, full */
    for (int i = 0; i < 3; i++)
        send_queue_push(&q, f[i], &lim);
    CHECK(q.cap == 4);
    frame *p;
    CHECK((p = send_queue_pop(&q)) == f[0]);
    frame_unref(p);
    CHECK((p = send_queue_pop(&q)) == f[1]);
    frame_unref(p);
    for (int i = 3; i < 6; i++)
        send_queue_push(&q, f[i], &lim);
    CHECK(q.count == 4 && q.cap == 4 && q.head != 0);
    CHECK(send_queue_peek(&q, 0) == f[2] && send_queue_peek(&q, 3) == f[5]);
    /* grow while wrapped */
    for (int i = 6; i < 12; i++)
        send_queue_push(&q, f[i], &lim);
    CHECK(q.count == 10 && q.cap >= 10);
    int ok = 1;
    for (int i = 2; i < 12; i++) {
        p = send_queue_pop(&q);
        if (p != f[i])
            ok = 0;
        frame_unref(p);
    }
    CHECK(ok && q.count == 0);
    /* a long interleaving through a small ring: order and accounting hold */
    int next_in = 0, next_out = 0;
    ok = 1;
    for (int step = 0; step < 1000; step++) {
        if (step % 3 != 2 || q.count == 0) {
            if (send_queue_push(&q, f[next_in % 12], &lim) == 0)
                next_in++;
        } else {
            p = send_queue_pop(&q);
            if (p != f[next_out % 12])
                ok = 0;
            next_out++;
            frame_unref(p);
        }
    }
    CHECK(ok && q.count == (uint32_t)(next_in - next_out));
    send_queue_clear(&q);
    int all_one = 1;
    for (int i = 0; i < 12; i++) {
        if (refs(f[i]) != 1)
            all_one = 0;
        frame_unref(f[i]);
    }
    CHECK(all_one);
}

static void test_frame_bound(void)
{
    send_queue q = {0};
    frame *f = text("x"); /* 2 bytes */
    send_queue_limits lim = {3, 1 << 20};
    CHECK(send_queue_push(&q, f, &lim) == 0);
    CHECK(send_queue_push(&q, f, &lim) == 0);
    CHECK(send_queue_push(&q, f, &lim) == 0);
    CHECK(refs(f) == 4);
    /* refused: -1, queue and refcount unchanged */
    CHECK(send_queue_push(&q, f, &lim) == -1);
    CHECK(q.count == 3 && q.bytes == 6 && refs(f) == 4);
    /* after a pop there is room for one more */
    frame *p = send_queue_pop(&q);
    frame_unref(p);
    CHECK(send_queue_push(&q, f, &lim) == 0 && send_queue_push(&q, f, &lim) == -1);
    send_queue_clear(&q);
    CHECK(refs(f) == 1);

    /* a bound that is not a power of two: exactly 5 fit (the ring is 8) */
    lim.max_frames = 5;
    int ok = 0;
    for (int i = 0; i < 7; i++)
        ok += send_queue_push(&q, f, &lim) == 0;
    CHECK(ok == 5 && q.count == 5 && refs(f) == 6);
    send_queue_clear(&q);

    /* a bound of 1, and of 0 (nothing fits) */
    lim.max_frames = 1;
    CHECK(send_queue_push(&q, f, &lim) == 0 && send_queue_push(&q, f, &lim) == -1);
    send_queue_clear(&q);
    lim.max_frames = 0;
    CHECK(send_queue_push(&q, f, &lim) == -1 && q.count == 0 && q.ring == NULL);

    /* the bypass eio_session uses for its close frame: no effective bound */
    send_queue_limits none = {UINT32_MAX, SIZE_MAX};
    lim.max_frames = 2;
    CHECK(send_queue_push(&q, f, &lim) == 0 && send_queue_push(&q, f, &lim) == 0);
    CHECK(send_queue_push(&q, f, &lim) == -1 && send_queue_push(&q, f, &none) == 0);
    CHECK(q.count == 3);
    send_queue_clear(&q);
    CHECK(refs(f) == 1 && q.count == 0 && q.bytes == 0);
    frame_unref(f);
}

static void test_byte_bound(void)
{
    send_queue q = {0};
    frame *four = frame_new_binary("abcd", 4);
    frame *two = frame_new_binary("ef", 2);
    frame *three = frame_new_binary("ghi", 3);
    send_queue_limits lim = {100, 10};
    CHECK(send_queue_push(&q, four, &lim) == 0);
    CHECK(send_queue_push(&q, four, &lim) == 0);  /* 8 */
    CHECK(send_queue_push(&q, three, &lim) == -1); /* 11 > 10: refused */
    CHECK(q.bytes == 8 && q.count == 2 && refs(three) == 1);
    CHECK(send_queue_push(&q, two, &lim) == 0);   /* exactly 10: accepted */
    CHECK(q.bytes == 10);
    frame *one = frame_new_binary("j", 1);
    CHECK(send_queue_push(&q, one, &lim) == -1 && refs(one) == 1);
    /* popping frees bytes for a later push */
    frame *p = send_queue_pop(&q);
    CHECK(p == four && q.bytes == 6);
    frame_unref(p);
    CHECK(send_queue_push(&q, three, &lim) == 0 && q.bytes == 9);
    CHECK(send_queue_peek(&q, 0) == four && send_queue_peek(&q, 1) == two &&
          send_queue_peek(&q, 2) == three);
    send_queue_clear(&q);
    CHECK(refs(four) == 1 && refs(two) == 1 && refs(three) == 1);

    /* a single frame larger than the whole bound never fits */
    frame *huge = frame_alloc(1, 11);
    CHECK(send_queue_push(&q, huge, &lim) == -1 && q.count == 0 && refs(huge) == 1);
    /* an empty frame still counts against max_frames only */
    frame *empty = frame_new_binary(NULL, 0);
    send_queue_limits tight = {2, 0};
    CHECK(send_queue_push(&q, empty, &tight) == 0 && send_queue_push(&q, empty, &tight) == 0);
    CHECK(send_queue_push(&q, empty, &tight) == -1 && q.bytes == 0);
    send_queue_clear(&q);
    tight.max_bytes = 0; /* and a zero byte bound refuses any payload */
    CHECK(send_queue_push(&q, one, &tight) == -1 && q.count == 0 && refs(one) == 1);
    frame_unref(huge);
    frame_unref(empty);
    frame_unref(one);
    frame_unref(four);
    frame_unref(two);
    frame_unref(three);
}

/* clear releases every reference: frames only the queue holds are freed
 * (ASan's leak check would report them), ours are back to one. */
static void test_clear(void)
{
    send_queue_limits lim = {10000, 1 << 24};
    send_queue q = {0};
    frame *kept = text("kept");
    for (int i = 0; i < 1000; i++) {
        frame *f = text("only-in-queue");
        send_queue_push(&q, f, &lim);
        frame_unref(f); /* the queue holds the only reference now */
        if (i % 10 == 0)
            send_queue_push(&q, kept, &lim);
    }
    CHECK(q.count == 1100 && refs(kept) == 101);
    /* pop a few so head is mid-ring when clearing */
    for (int i = 0; i < 3; i++)
        frame_unref(send_queue_pop(&q));
    send_queue_clear(&q);
    CHECK(refs(kept) == 1);
    CHECK(q.count == 0 && q.bytes == 0 && q.ring == NULL && q.cap == 0 && q.head == 0);
    CHECK(send_queue_push(&q, kept, &lim) == 0 && q.count == 1 && refs(kept) == 2);
    send_queue_clear(&q);
    CHECK(refs(kept) == 1);
    frame_unref(kept);
}

int main(void)
{
    test_frames();
    test_empty();
    test_order();
    test_wrap_and_grow();
    test_frame_bound();
    test_byte_bound();
    test_clear();
    return CHECK_DONE("test_send_queue");
}
