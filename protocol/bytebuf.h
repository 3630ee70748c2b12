/* bytebuf: a growable byte buffer, the output type of every encoder in protocol/.
 *
 * Contract: the buffer owns `data`; bytebuf_free() releases it. Appends either
 * succeed or return -1 (allocation failure / over `limit`, if set), leaving the
 * buffer unchanged. A zeroed struct (BYTEBUF_INIT) is a valid empty buffer.
 * `limit` (0 = none) caps len so that encoders cannot grow without bound. */
#ifndef SIO_BYTEBUF_H
#define SIO_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct bytebuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;
} bytebuf;

#define BYTEBUF_INIT {NULL, 0, 0, 0}

int bytebuf_reserve(bytebuf *b, size_t extra);
int bytebuf_append(bytebuf *b, const void *p, size_t n);
int bytebuf_append_byte(bytebuf *b, uint8_t c);
int bytebuf_append_str(bytebuf *b, const char *s);
int bytebuf_append_u64(bytebuf *b, uint64_t v); /* decimal */
void bytebuf_free(bytebuf *b);

/* A const pointer handed to an API that takes a non-const one but does not
 * write through it (struct iovec, lws_write, jansson's iterators, views built
 * for an encoder): one spelled-out place instead of casts that hide it. */
#define SIO_UNCONST(type, p) ((type)(uintptr_t)(p))

#endif
