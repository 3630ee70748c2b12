/* redis_probe: test driver of redis_conn (adapters/redis/redis_conn.c) for
 * tests/integration/redis-conn.test.js. Runs a subscriber on channel "probe"
 * and a publisher that publishes "n=<i>" every 50 ms while it is up, and
 * prints one JSON line per event on stdout:
 *   {"ev":"up","conn":"sub"}           {"ev":"down","conn":"pub","why":"..."}
 *   {"ev":"subscribed","channel":"probe"}
 *   {"ev":"msg","data":"n=5"}          {"ev":"publish_failed","n":7}
 *   {"ev":"push","kind":"..."}         (any other push: kind is its first string)
 *   {"ev":"stats","conn":"sub","connects":1,...}  (each connection, at exit)
 * Usage: sio-redis-probe URL [--ca FILE] [--sni NAME]
 *                            [--ping-interval MS] [--ping-timeout MS]
 * Exits 0 on SIGTERM or SIGINT after freeing everything; 2 on bad arguments. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "redis_conn.h"

#define CHANNEL "probe"
#define PUBLISH_EVERY_MS 50

typedef struct probe probe;

typedef struct role {
    probe *p;
    const char *name;
} role;

struct probe {
    struct event_base *base;
    redis_conn *sub, *pub;
    role sub_role, pub_role;
    struct event *tick, *sigterm, *sigint;
    long n;
};

typedef struct options {
    const char *url, *ca, *sni;
    uint32_t ping_interval, ping_timeout;
} options;

/* ---- JSON output ------------------------------------------------------- */

static void json_string(const char *s, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void emit_conn_event(const char *ev, const char *conn, const char *why)
{
    printf("{\"ev\":\"%s\",\"conn\":\"%s\"", ev, conn);
    if (why) {
        printf(",\"why\":");
        json_string(why, strlen(why));
    }
    printf("}\n");
    fflush(stdout);
}

static void emit_publish_failed(long n)
{
    printf("{\"ev\":\"publish_failed\",\"n\":%ld}\n", n);
    fflush(stdout);
}

/* ---- redis_conn callbacks ------------------------------------------------ */

static void on_up(redis_conn *c, void *ctx)
{
    role *r = ctx;
    emit_conn_event("up", r->name, NULL);
    if (c == r->p->sub) {
        const char *argv[] = {"SUBSCRIBE", CHANNEL};
        if (redis_conn_command(c, NULL, NULL, 2, argv, NULL))
            fprintf(stderr, "sio-redis-probe: SUBSCRIBE could not be queued\n");
    }
}

static void on_down(redis_conn *c, const char *why, void *ctx)
{
    role *r = ctx;
    emit_conn_event("down", r->name, why);
}

static int elem_is(const redisReply *r, size_t i, const char *s)
{
    const redisReply *e = i < r->elements ? r->element[i] : NULL;
    return e && e->type == REDIS_REPLY_STRING && e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* Pushes other than messages and subscribe confirmations (e.g. a pong that
 * redis_conn should have consumed). */
static void emit_push_kind(const redisReply *msg)
{
    const redisReply *first = msg;
    if (msg->type == REDIS_REPLY_ARRAY)
        first = msg->elements ? msg->element[0] : NULL;
    printf("{\"ev\":\"push\",\"kind\":");
    if (first && first->str)
        json_string(first->str, first->len);
    else
        printf("\"type %d\"", first ? first->type : -1);
    printf("}\n");
}

static void on_push(redis_conn *c, redisReply *msg, void *ctx)
{
    if (msg->type != REDIS_REPLY_ARRAY || msg->elements != 3) {
        emit_push_kind(msg);
        fflush(stdout);
        return;
    }
    const redisReply *payload = msg->element[2];
    if (elem_is(msg, 0, "message") && payload->type == REDIS_REPLY_STRING) {
        printf("{\"ev\":\"msg\",\"data\":");
        json_string(payload->str, payload->len);
        printf("}\n");
    } else if (elem_is(msg, 0, "subscribe") && msg->element[1]->type == REDIS_REPLY_STRING) {
        printf("{\"ev\":\"subscribed\",\"channel\":");
        json_string(msg->element[1]->str, msg->element[1]->len);
        printf("}\n");
    } else {
        emit_push_kind(msg);
    }
    fflush(stdout);
}

static void on_published(redis_conn *c, redisReply *reply, void *ud)
{
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        emit_publish_failed((long)(intptr_t)ud);
}

/* ---- events of the probe ----------------------------------------------- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    probe *p = arg;
    if (!redis_conn_is_up(p->pub))
        return;
    char data[32];
    long n = ++p->n;
    snprintf(data, sizeof data, "n=%ld", n);
    const char *argv[] = {"PUBLISH", CHANNEL, data};
    if (redis_conn_command(p->pub, on_published, (void *)(intptr_t)n, 3, argv, NULL))
        emit_publish_failed(n);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    probe *p = arg;
    event_base_loopbreak(p->base);
}

/* ---- setup ------------------------------------------------------------- */

static int parse_ms(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > 600000)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--ca") == 0 && has_value)
            o->ca = argv[++i];
        else if (strcmp(a, "--sni") == 0 && has_value)
            o->sni = argv[++i];
        else if (strcmp(a, "--ping-interval") == 0 && has_value) {
            if (parse_ms(argv[++i], &o->ping_interval))
                return -1;
        } else if (strcmp(a, "--ping-timeout") == 0 && has_value) {
            if (parse_ms(argv[++i], &o->ping_timeout))
                return -1;
        } else if (a[0] != '-' && !o->url)
            o->url = a;
        else
            return -1;
    }
    return o->url ? 0 : -1;
}

static int make_endpoint(const options *o, redis_endpoint *ep)
{
    char err[256];
    if (redis_url_parse(o->url, ep, err, sizeof err)) {
        fprintf(stderr, "sio-redis-probe: %s\n", err);
        return -1;
    }
    ep->ca_file = o->ca ? strdup(o->ca) : NULL;
    ep->sni = o->sni ? strdup(o->sni) : NULL;
    if ((o->ca && !ep->ca_file) || (o->sni && !ep->sni)) {
        redis_endpoint_free(ep);
        return -1;
    }
    return 0;
}

static int start_probe(probe *p, const options *o, const redis_endpoint *ep)
{
    redis_conn_callbacks cb = {on_up, on_down, on_push, NULL};
    p->sub_role = (role){p, "sub"};
    p->pub_role = (role){p, "pub"};
    p->base = event_base_new();
    if (!p->base)
        return -1;
    cb.ctx = &p->sub_role;
    p->sub = redis_conn_new(p->base, ep, &cb, "sub", o->ping_interval, o->ping_timeout);
    if (p->sub)
        redis_conn_set_subscriber(p->sub, 1);
    cb.ctx = &p->pub_role;
    p->pub = redis_conn_new(p->base, ep, &cb, "pub", o->ping_interval, o->ping_timeout);
    p->tick = event_new(p->base, -1, EV_PERSIST, on_tick, p);
    p->sigterm = evsignal_new(p->base, SIGTERM, on_signal, p);
    p->sigint = evsignal_new(p->base, SIGINT, on_signal, p);
    struct timeval every = {0, PUBLISH_EVERY_MS * 1000};
    if (!p->sub || !p->pub || !p->tick || !p->sigterm || !p->sigint || event_add(p->tick, &every) ||
        event_add(p->sigterm, NULL) || event_add(p->sigint, NULL))
        return -1;
    return 0;
}

static void emit_stats(const char *name, const redis_conn *c)
{
    const redis_conn_stats *st = redis_conn_get_stats(c);
    printf("{\"ev\":\"stats\",\"conn\":\"%s\",\"connects\":%llu,\"disconnects\":%llu,"
           "\"commands\":%llu,\"replies\":%llu,\"protocol_errors\":%llu}\n",
           name, (unsigned long long)st->connects, (unsigned long long)st->disconnects,
           (unsigned long long)st->commands, (unsigned long long)st->replies,
           (unsigned long long)st->protocol_errors);
}

static void stop_probe(probe *p)
{
    if (p->sub && p->pub) {
        emit_stats("sub", p->sub);
        emit_stats("pub", p->pub);
        fflush(stdout);
    }
    redis_conn_free(p->sub);
    redis_conn_free(p->pub);
    if (p->tick)
        event_free(p->tick);
    if (p->sigterm)
        event_free(p->sigterm);
    if (p->sigint)
        event_free(p->sigint);
    if (p->base)
        event_base_free(p->base);
}

int main(int argc, char **argv)
{
    options o;
    redis_endpoint ep;
    probe p = {0};
    if (parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: sio-redis-probe URL [--ca FILE] [--sni NAME] "
                        "[--ping-interval MS] [--ping-timeout MS]\n");
        return 2;
    }
    if (make_endpoint(&o, &ep))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    int rc = start_probe(&p, &o, &ep);
    redis_endpoint_free(&ep); /* redis_conn_new copied it */
    if (rc == 0)
        event_base_dispatch(p.base);
    else
        fprintf(stderr, "sio-redis-probe: cannot start\n");
    stop_probe(&p);
    libevent_global_shutdown();
    return rc ? 1 : 0;
}
