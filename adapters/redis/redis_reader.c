/* redis_reader: hiredis's redisReader with reply objects built here so that
 * one reply's memory is bounded (the contract is in redis_reader.h). */
#include "redis_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct redis_reader {
    redisReader *rd;
    redisReplyObjectFunctions fns;
    size_t max;     /* bytes one reply may take */
    size_t used;    /* objects of the reply being parsed */
    int too_big;
    char err[160];
};

/* Layout and allocator match hiredis 0.14, so freeReplyObject frees them. */
static redisReply *reply_new(const redisReadTask *t, size_t extra)
{
    redis_reader *r = t->privdata;
    size_t need = sizeof(redisReply) + extra;
    if (extra > r->max || need > r->max - r->used) {
        r->too_big = 1;
        return NULL;
    }
    r->used += need;
    redisReply *o = calloc(1, sizeof(*o));
    if (o)
        o->type = t->type;
    return o;
}

static void *reply_attach(const redisReadTask *t, redisReply *o)
{
    if (t->parent) {
        redisReply *parent = t->parent->obj;
        parent->element[t->idx] = o;
    }
    return o;
}

static void *make_string(const redisReadTask *t, char *s, size_t len)
{
    redisReply *o = reply_new(t, len + 1);
    if (!o)
        return NULL;
    if (!(o->str = malloc(len + 1))) {
        free(o);
        return NULL;
    }
    memcpy(o->str, s, len);
    o->str[len] = '\0';
    o->len = len;
    return reply_attach(t, o);
}

static void *make_array(const redisReadTask *t, int elements)
{
    size_t n = elements > 0 ? (size_t)elements : 0;
    redisReply *o = reply_new(t, n * sizeof(redisReply *));
    if (!o)
        return NULL;
    if (n && !(o->element = calloc(n, sizeof(redisReply *)))) {
        free(o);
        return NULL;
    }
    o->elements = n;
    return reply_attach(t, o);
}

static void *make_integer(const redisReadTask *t, long long v)
{
    redisReply *o = reply_new(t, 0);
    if (!o)
        return NULL;
    o->integer = v;
    return reply_attach(t, o);
}

static void *make_nil(const redisReadTask *t)
{
    redisReply *o = reply_new(t, 0);
    return o ? reply_attach(t, o) : NULL;
}

redis_reader *redis_reader_new(size_t max_reply_bytes)
{
    redis_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->fns = (redisReplyObjectFunctions){make_string, make_array, make_integer, make_nil,
                                         freeReplyObject};
    r->max = max_reply_bytes;
    if (!(r->rd = redisReaderCreateWithFunctions(&r->fns))) {
        free(r);
        return NULL;
    }
    redisReaderSetPrivdata(r->rd, r);
    return r;
}

void redis_reader_free(redis_reader *r)
{
    if (!r)
        return;
    redisReaderFree(r->rd);
    free(r);
}

/* The reader's error as ours: a refused object reads as OOM to hiredis. */
static int fail(redis_reader *r)
{
    if (r->too_big) {
        snprintf(r->err, sizeof r->err, "reply larger than %zu bytes", r->max);
        return -E2BIG;
    }
    snprintf(r->err, sizeof r->err, "%s", r->rd->errstr);
    return r->rd->err == REDIS_ERR_OOM ? -ENOMEM : -EPROTO;
}

int redis_reader_feed(redis_reader *r, const char *buf, size_t len)
{
    if (redisReaderFeed(r->rd, buf, len) != REDIS_OK)
        return fail(r);
    if (r->rd->len - r->rd->pos > r->max) {
        r->too_big = 1;
        return fail(r);
    }
    return 0;
}

int redis_reader_next(redis_reader *r, redisReply **out)
{
    void *obj = NULL;
    *out = NULL;
    if (redisReaderGetReply(r->rd, &obj) != REDIS_OK)
        return fail(r);
    if (obj)
        r->used = 0;
    *out = obj;
    return 0;
}

const char *redis_reader_error(const redis_reader *r)
{
    return r->err;
}
