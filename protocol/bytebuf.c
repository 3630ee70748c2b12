#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

int bytebuf_reserve(bytebuf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (b->limit && need > b->limit)
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int bytebuf_append(bytebuf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (bytebuf_reserve(b, n))
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int bytebuf_append_byte(bytebuf *b, uint8_t c)
{
    return bytebuf_append(b, &c, 1);
}

int bytebuf_append_str(bytebuf *b, const char *s)
{
    return bytebuf_append(b, s, strlen(s));
}

int bytebuf_append_u64(bytebuf *b, uint64_t v)
{
    char tmp[24];
    int i = (int)sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return bytebuf_append(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void bytebuf_free(bytebuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
