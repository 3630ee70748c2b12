#include "redis_slot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint16_t crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint8_t)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned redis_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return crc16(open + 1, (size_t)(close - open - 1)) & (REDIS_SLOTS - 1);
    }
    return crc16(key, len) & (REDIS_SLOTS - 1);
}

static int is(const char *arg, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(arg, name, len) == 0;
}

const char *redis_command_key(int argc, const char *const *argv, const size_t *lens, size_t *key_len)
{
    if (argc < 2 || is(argv[0], lens[0], "PING") || is(argv[0], lens[0], "CLUSTER") ||
        is(argv[0], lens[0], "PUBSUB") || is(argv[0], lens[0], "SCRIPT") ||
        is(argv[0], lens[0], "INFO"))
        return NULL;
    int at = 1;
    if (is(argv[0], lens[0], "EVAL") || is(argv[0], lens[0], "EVALSHA")) {
        if (argc < 4 || lens[2] == 0 || lens[2] > 9 || (lens[2] == 1 && argv[2][0] == '0'))
            return NULL; /* numkeys 0: no key */
        at = 3;
    }
    *key_len = lens[at];
    return argv[at];
}

int redis_parse_redirect(const char *err, size_t len, unsigned *slot, char *host, size_t host_len,
                         int *port)
{
    int kind = len > 6 && memcmp(err, "MOVED ", 6) == 0 ? 1 : len > 4 && memcmp(err, "ASK ", 4) == 0 ? 2 : 0;
    if (!kind)
        return 0;
    char buf[300];
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, err, len);
    buf[len] = 0;
    char *p = buf + (kind == 1 ? 6 : 4), *end;
    unsigned long s = strtoul(p, &end, 10);
    if (end == p || *end != ' ' || s >= REDIS_SLOTS)
        return 0;
    char *addr = end + 1, *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= host_len) /* "" host: the node asked */
        return 0;
    long pt = strtol(colon + 1, &end, 10);
    if (*end || pt < 1 || pt > 65535)
        return 0;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    if (host[0] == '[' && colon[-1] == ']') { /* [::1]:port */
        memmove(host, host + 1, strlen(host) - 2);
        host[colon - addr - 2] = 0;
    }
    *slot = (unsigned)s;
    *port = (int)pt;
    return kind;
}

static int range_of(const redisReply *e, redis_slot_range *out)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
        e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_ARRAY ||
        e->element[2]->elements < 2 || e->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    const redisReply *host = e->element[2]->element[0];
    long long lo = e->element[0]->integer, hi = e->element[1]->integer, port = e->element[2]->element[1]->integer;
    if (lo < 0 || hi >= REDIS_SLOTS || lo > hi || port < 1 || port > 65535)
        return -1;
    if (host->type != REDIS_REPLY_STRING && host->type != REDIS_REPLY_NIL)
        return -1;
    *out = (redis_slot_range){(unsigned)lo, (unsigned)hi, host->type == REDIS_REPLY_STRING ? host->str : "",
                              (int)port};
    return 0;
}

int redis_slots_parse(const redisReply *r, void (*fn)(void *ud, const redis_slot_range *range), void *ud)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < r->elements; i++) {
        redis_slot_range range;
        if (range_of(r->element[i], &range))
            return -1;
        if (strcmp(range.host, "?") != 0)
            fn(ud, &range);
    }
    return 0;
}
