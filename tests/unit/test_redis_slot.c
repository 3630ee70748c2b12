/* test_redis_slot: unit tests of adapters/redis/redis_slot.c: key slots (the
 * values are what a real Redis 7 answered to CLUSTER KEYSLOT), hash tags, the
 * key a command is routed by, MOVED/ASK parsing, and CLUSTER SLOTS replies
 * read through hiredis's own reader (well-formed and malformed). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "redis_slot.h"

CHECK_STATE;

static unsigned slot(const char *k)
{
    return redis_key_slot(k, strlen(k));
}

static void test_slots(void)
{
    CHECK(slot("foo") == 12182);
    CHECK(slot("bar") == 5061);
    CHECK(slot("123456789") == 12739);
    CHECK(slot("socket.io#/#") == 13868);
    CHECK(slot("socket.io#/#room-1#") == 665);
    CHECK(slot("{user1000}.following") == 3443);
    CHECK(slot("{user1000}.followers") == 3443);
    CHECK(slot("foo{}{bar}") == 8363);     /* empty tag: the whole key */
    CHECK(slot("foo{{bar}}zap") == 4015);  /* the tag is "{bar" */
    CHECK(slot("foo{bar}{zap}") == 5061);  /* the first tag: "bar" */
    CHECK(slot("") == 0);
    CHECK(slot("{") == redis_key_slot("{", 1));
}

static const char *key_of(int argc, const char **argv, size_t *klen)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return redis_command_key(argc, argv, lens, klen);
}

static void test_command_key(void)
{
    size_t n = 0;
    const char *spub[3] = {"SPUBLISH", "socket.io#/#", "x"};
    const char *k = key_of(3, spub, &n);
    CHECK(k && n == 12 && memcmp(k, "socket.io#/#", 12) == 0);
    const char *eval[5] = {"EVALSHA", "abc", "1", "thekey", "arg"};
    k = key_of(5, eval, &n);
    CHECK(k && n == 6 && memcmp(k, "thekey", 6) == 0);
    const char *eval0[4] = {"EVALSHA", "abc", "0", "arg"};
    CHECK(key_of(4, eval0, &n) == NULL);
    const char *ping[1] = {"PING"};
    CHECK(key_of(1, ping, &n) == NULL);
    const char *numsub[3] = {"PUBSUB", "SHARDNUMSUB", "socket.io#/#"};
    CHECK(key_of(3, numsub, &n) == NULL);
    const char *slots[2] = {"cluster", "slots"};
    CHECK(key_of(2, slots, &n) == NULL);
}

static int redirect(const char *e, unsigned *s, char *host, int *port)
{
    return redis_parse_redirect(e, strlen(e), s, host, 64, port);
}

static void test_redirects(void)
{
    unsigned s = 0;
    char host[64];
    int port = 0;
    CHECK(redirect("MOVED 3999 127.0.0.1:6381", &s, host, &port) == 1);
    CHECK(s == 3999 && strcmp(host, "127.0.0.1") == 0 && port == 6381);
    CHECK(redirect("ASK 12182 redis-2.example:7000", &s, host, &port) == 2);
    CHECK(s == 12182 && strcmp(host, "redis-2.example") == 0 && port == 7000);
    CHECK(redirect("MOVED 1 [::1]:7001", &s, host, &port) == 1);
    CHECK(strcmp(host, "::1") == 0 && port == 7001);
    CHECK(redirect("MOVED 5 :7002", &s, host, &port) == 1); /* the node asked */
    CHECK(host[0] == 0 && port == 7002);
    CHECK(redirect("MOVED 16384 h:1", &s, host, &port) == 0);
    CHECK(redirect("MOVED 1 h:0", &s, host, &port) == 0);
    CHECK(redirect("MOVED 1 h:70000", &s, host, &port) == 0);
    CHECK(redirect("MOVED x h:1", &s, host, &port) == 0);
    CHECK(redirect("MOVED 1 nohostport", &s, host, &port) == 0);
    CHECK(redirect("ERR wrong", &s, host, &port) == 0);
    char longhost[400] = "MOVED 1 ";
    memset(longhost + 8, 'a', 300);
    strcpy(longhost + 308, ":1");
    CHECK(redirect(longhost, &s, host, &port) == 0);
}

typedef struct seen {
    int n;
    redis_slot_range r[8];
    char hosts[8][32];
} seen;

static void take(void *ud, const redis_slot_range *r)
{
    seen *s = ud;
    if (s->n < 8) {
        s->r[s->n] = *r;
        snprintf(s->hosts[s->n], 32, "%s", r->host);
        s->n++;
    }
}

/* Parses RESP bytes with hiredis's reader, then the slot map. */
static int parse(const char *resp, seen *s)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    redisReaderFeed(rd, resp, strlen(resp));
    int ok = redisReaderGetReply(rd, &reply) == REDIS_OK && reply;
    memset(s, 0, sizeof(*s));
    int rc = ok ? redis_slots_parse(reply, take, s) : -2;
    if (reply)
        freeReplyObject(reply);
    redisReaderFree(rd);
    return rc;
}

static void test_slots_reply(void)
{
    seen s;
    CHECK(parse("*2\r\n"
                "*4\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nid\r\n*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$2\r\nr1\r\n"
                "*3\r\n:8192\r\n:16383\r\n*2\r\n$0\r\n\r\n:7002\r\n",
                &s) == 0);
    CHECK(s.n == 2);
    CHECK(s.r[0].lo == 0 && s.r[0].hi == 8191 && s.r[0].port == 7001 && strcmp(s.hosts[0], "127.0.0.1") == 0);
    CHECK(s.r[1].lo == 8192 && s.r[1].hi == 16383 && s.r[1].port == 7002 && s.hosts[1][0] == 0);
    CHECK(parse("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$1\r\n?\r\n:7001\r\n", &s) == 0 && s.n == 0);
    CHECK(parse("*0\r\n", &s) == 0 && s.n == 0);
    CHECK(parse("-ERR This instance has cluster support disabled\r\n", &s) == -1);
    CHECK(parse("*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", &s) == -1);     /* lo > hi */
    CHECK(parse("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n", &s) == -1);  /* past the last slot */
    CHECK(parse("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n", &s) == -1);      /* port 0 */
    CHECK(parse("*1\r\n*2\r\n:0\r\n:1\r\n", &s) == -1);                             /* no node */
    CHECK(parse("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:5\r\n:1\r\n", &s) == -1);           /* host not a string */
    CHECK(parse("*1\r\n$3\r\nfoo\r\n", &s) == -1);
}

int main(void)
{
    test_slots();
    test_command_key();
    test_redirects();
    test_slots_reply();
    return CHECK_DONE("test_redis_slot");
}
