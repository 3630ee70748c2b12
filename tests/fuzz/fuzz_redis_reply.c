/* fuzz_redis_reply: libFuzzer target over what a Redis Cluster node says to
 * sio (adapters/redis/redis_slot.c): the input is RESP, read by the reader
 * every connection uses (redis_reader.c, hiredis's parser with a budget of
 * 1 MB per reply here: "*999999990" must be refused, not calloc'd); each reply is walked as a CLUSTER SLOTS map and, when an error, as a
 * MOVED/ASK redirection. Invariants: every range handed over is within the
 * slots, lo <= hi, a port in range and a host that is a string; a redirection
 * parsed is within the slots with a port in range and its host fits; the slot
 * of any key (the input itself) is below 16384 and stable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis_reader.h"
#include "redis_slot.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void take(void *ud, const redis_slot_range *r)
{
    (void)ud;
    check(r->lo <= r->hi && r->hi < REDIS_SLOTS && r->port >= 1 && r->port <= 65535 && r->host);
    check(strcmp(r->host, "?") != 0);
}

static void walk(const redisReply *r)
{
    redis_slots_parse(r, take, NULL);
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS) {
        unsigned slot = 0;
        char host[64];
        int port = 0;
        int kind = redis_parse_redirect(r->str, r->len, &slot, host, sizeof host, &port);
        check(kind >= 0 && kind <= 2);
        if (kind)
            check(slot < REDIS_SLOTS && port >= 1 && port <= 65535 && strlen(host) < sizeof host);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned s = redis_key_slot((const char *)data, size);
    check(s < REDIS_SLOTS && s == redis_key_slot((const char *)data, size));
    redis_reader *rd = redis_reader_new(1u << 20);
    if (!rd)
        return 0;
    int rc = redis_reader_feed(rd, (const char *)data, size);
    for (int i = 0; i < 64 && !rc; i++) {
        redisReply *reply = NULL;
        rc = redis_reader_next(rd, &reply);
        check(rc == 0 || (rc < 0 && redis_reader_error(rd)[0]));
        if (!reply)
            break;
        walk(reply);
        freeReplyObject(reply);
    }
    redis_reader_free(rd);
    return 0;
}
