#include "redis_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <jansson.h>

#include "hashmap.h"
#include "log.h"
#include "redis_slot.h"

#define REDIRECTS_MAX 5
#define REFRESH_MIN_MS 250    /* between two CLUSTER SLOTS, whatever asks */
#define REFRESH_RETRY_MS 500  /* while a slot has no live owner */
#define REFRESH_ERROR_MAX_MS 5000
#define LOG_EVERY_MS 30000    /* the same trouble is logged at most this often */
#define LOG_KINDS 8

typedef struct rc_node rc_node;

struct rc_node {
    rc_node *next;
    redis_cluster *cl;
    char *host;
    int port;
    redis_conn *cmd, *sub;
    int owns; /* slots in the current map */
    int seed;
};

/* A wanted sharded channel. Unconfirmed ones are listed in the order they
 * were wanted (seq), so that a barrier knows when all before it are active. */
typedef struct rc_channel rc_channel;
struct rc_channel {
    char *name;
    size_t len;
    unsigned slot;
    rc_node *node;     /* SSUBSCRIBE sent there; NULL: not yet */
    int confirmed;
    uint64_t seq;
    rc_channel *prev, *next; /* in the unconfirmed list */
};

typedef struct rc_barrier {
    struct rc_barrier *next;
    uint64_t seq;
    void (*fn)(void *ud);
    void *ud;
} rc_barrier;

/* A routed command, copied so that a redirection can send it again. */
typedef struct rc_request {
    redis_cluster *cl;
    redis_reply_fn fn;
    void *ud;
    int argc, redirects;
    const char **argv;
    size_t *lens;
} rc_request;

struct redis_cluster {
    struct event_base *base;
    redis_cluster_callbacks cb;
    redis_endpoint tmpl; /* credentials and TLS of every node */
    char *seed_name;     /* the first seed's host when it is a name (TLS verification) */
    int cluster_mode;
    uint32_t refresh_ms;
    rc_node *nodes;
    rc_node *slots[REDIS_SLOTS];
    rc_node *next_slots[REDIS_SLOTS]; /* a map being read (apply_slots) */
    hashmap channels;
    rc_channel *unconfirmed, *unconfirmed_tail;
    size_t n_unconfirmed;
    uint64_t seq;
    rc_barrier *barriers;
    struct event *timer;
    uint64_t timer_at, last_refresh_ms;
    struct {
        const char *msg;
        uint64_t at_ms;
    } logged[LOG_KINDS];
    uint32_t error_delay_ms;
    int refreshing, up;
    redis_cluster_stats stats;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Each kind of trouble (its message) is logged at most once per LOG_EVERY_MS. */
static void warn(redis_cluster *cl, const char *msg, const char *detail)
{
    uint64_t now = now_ms();
    size_t i = 0;
    while (i < LOG_KINDS && cl->logged[i].msg && cl->logged[i].msg != msg)
        i++;
    if (i == LOG_KINDS)
        i = 0;
    if (cl->logged[i].msg == msg && now - cl->logged[i].at_ms < LOG_EVERY_MS)
        return;
    cl->logged[i].msg = msg;
    cl->logged[i].at_ms = now;
    log_json(LOG_WARN, msg, json_pack("{ss}", "detail", detail ? detail : ""));
}

/* ---- the refresh timer ---------------------------------------------------------- */

static void schedule(redis_cluster *cl, uint64_t ms)
{
    if (!cl->cluster_mode)
        return;
    uint64_t at = now_ms() + ms;
    if (cl->timer_at && cl->timer_at <= at)
        return; /* sooner already */
    cl->timer_at = at;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(cl->timer, &tv);
}

/* ---- channels --------------------------------------------------------------------- */

static void list_remove(redis_cluster *cl, rc_channel *ch)
{
    if (ch->confirmed)
        return;
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        cl->unconfirmed = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    else
        cl->unconfirmed_tail = ch->prev;
    ch->prev = ch->next = NULL;
    cl->n_unconfirmed--;
}

static void list_append(redis_cluster *cl, rc_channel *ch)
{
    ch->seq = ++cl->seq;
    ch->prev = cl->unconfirmed_tail;
    ch->next = NULL;
    if (cl->unconfirmed_tail)
        cl->unconfirmed_tail->next = ch;
    else
        cl->unconfirmed = ch;
    cl->unconfirmed_tail = ch;
    cl->n_unconfirmed++;
}

static void barriers_check(redis_cluster *cl)
{
    while (cl->barriers && (!cl->unconfirmed || cl->unconfirmed->seq > cl->barriers->seq)) {
        rc_barrier *b = cl->barriers;
        cl->barriers = b->next;
        b->fn(b->ud);
        free(b);
    }
}

static void unconfirm(redis_cluster *cl, rc_channel *ch)
{
    if (!ch->confirmed)
        return;
    ch->confirmed = 0;
    list_append(cl, ch);
}

static void confirm(redis_cluster *cl, rc_channel *ch)
{
    list_remove(cl, ch);
    ch->confirmed = 1;
    barriers_check(cl);
}

static void channel_command(rc_node *n, const char *verb, const rc_channel *ch)
{
    const char *argv[2] = {verb, ch->name};
    size_t lens[2] = {strlen(verb), ch->len};
    redis_conn_command(n->sub, NULL, NULL, 2, argv, lens);
}

static redis_conn *node_sub(rc_node *n);

/* Sends the channel's SSUBSCRIBE to its slot's owner (once its subscriber
 * is up; its on_up sends what it owns). */
static void place(redis_cluster *cl, rc_channel *ch)
{
    rc_node *owner = cl->slots[ch->slot];
    if (ch->node && ch->node != owner && redis_conn_is_up(ch->node->sub))
        channel_command(ch->node, "SUNSUBSCRIBE", ch);
    if (ch->node != owner && ch->node)
        cl->stats.resubscribed++;
    ch->node = owner;
    if (owner && redis_conn_is_up(node_sub(owner)))
        channel_command(owner, "SSUBSCRIBE", ch);
}

static void place_all(redis_cluster *cl, int unconfirmed_too)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&cl->channels, &it, &k, &klen, &v)) {
        rc_channel *ch = v;
        if (ch->node != cl->slots[ch->slot] || (unconfirmed_too && !ch->confirmed)) {
            unconfirm(cl, ch);
            place(cl, ch);
        }
    }
}

static void on_sub_push(redis_conn *c, redisReply *r, void *ctx)
{
    rc_node *n = ctx;
    redis_cluster *cl = n->cl;
    if (r->type == REDIS_REPLY_ERROR) {
        unsigned slot;
        char host[256];
        int port;
        if (redis_parse_redirect(r->str, r->len, &slot, host, sizeof host, &port) == 1) {
            cl->stats.moved++;
            schedule(cl, 0);
        } else {
            cl->stats.errors++;
            warn(cl, "redis cluster: subscription refused", r->str);
        }
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    const redisReply *name = r->element[1];
    if (strcmp(kind, "smessage") == 0) {
        if (r->element[2]->type == REDIS_REPLY_STRING && cl->cb.on_message)
            cl->cb.on_message(name->str, name->len, r->element[2]->str, r->element[2]->len, cl->cb.ctx);
        return;
    }
    rc_channel *ch = hashmap_get(&cl->channels, name->str, name->len);
    if (!ch || ch->node != n)
        return; /* no longer wanted, or moved on: a late confirmation */
    if (strcmp(kind, "ssubscribe") == 0) {
        confirm(cl, ch);
    } else if (strcmp(kind, "sunsubscribe") == 0) { /* its slot moved away */
        unconfirm(cl, ch);
        ch->node = NULL;
        barriers_check(cl);
        schedule(cl, 0);
    }
}

static void on_sub_up(redis_conn *c, void *ctx)
{
    rc_node *n = ctx;
    size_t it = 0, klen;
    const char *k;
    void *v;
    n->cl->stats.connects++;
    while (hashmap_next(&n->cl->channels, &it, &k, &klen, &v)) {
        rc_channel *ch = v;
        if (ch->node == n) {
            unconfirm(n->cl, ch);
            channel_command(n, "SSUBSCRIBE", ch);
        }
    }
}

static void on_sub_down(redis_conn *c, const char *why, void *ctx)
{
    rc_node *n = ctx;
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&n->cl->channels, &it, &k, &klen, &v))
        if (((rc_channel *)v)->node == n)
            unconfirm(n->cl, v);
}

/* ---- nodes ------------------------------------------------------------------------ */

static int all_owned_up(const redis_cluster *cl)
{
    for (unsigned s = 0; s < REDIS_SLOTS; s++)
        if (!cl->slots[s] || !redis_conn_is_up(cl->slots[s]->cmd))
            return 0;
    return 1;
}

static void check_up(redis_cluster *cl)
{
    int up = all_owned_up(cl);
    if (!up && cl->up && cl->cb.on_down)
        cl->cb.on_down(cl->cb.ctx);
    cl->up = up;
    if (up && cl->cb.on_up)
        cl->cb.on_up(cl->cb.ctx);
    if (!up)
        schedule(cl, REFRESH_RETRY_MS);
}

static void refresh(redis_cluster *cl);

static void on_cmd_up(redis_conn *c, void *ctx)
{
    rc_node *n = ctx;
    n->cl->stats.connects++;
    if (n->cl->cluster_mode && !n->cl->last_refresh_ms)
        refresh(n->cl); /* the first map */
    check_up(n->cl);
}

static void on_cmd_down(redis_conn *c, const char *why, void *ctx)
{
    rc_node *n = ctx;
    if (n->owns)
        check_up(n->cl);
}

static int is_ip(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* A node the map names by address is verified (TLS) against the seed's host
 * name unless REDIS_TLS_SNI says otherwise: ElastiCache's certificate is a
 * wildcard over the cluster's names, which an address never matches. */
static redis_endpoint node_endpoint(const redis_cluster *cl, const rc_node *n)
{
    redis_endpoint ep = cl->tmpl;
    ep.host = n->host;
    ep.port = n->port;
    if (ep.tls && !ep.sni && cl->seed_name && is_ip(n->host))
        ep.sni = cl->seed_name;
    return ep;
}

static redis_conn *node_sub(rc_node *n)
{
    if (n->sub)
        return n->sub;
    redis_endpoint ep = node_endpoint(n->cl, n);
    redis_conn_callbacks cb = {on_sub_up, on_sub_down, on_sub_push, n};
    n->sub = redis_conn_new(n->cl->base, &ep, &cb, "ssub", 1000, 3000);
    redis_conn_set_subscriber(n->sub, 1);
    return n->sub;
}

static rc_node *node_find(redis_cluster *cl, const char *host, int port)
{
    for (rc_node *n = cl->nodes; n; n = n->next)
        if (n->port == port && strcmp(n->host, host) == 0)
            return n;
    return NULL;
}

static rc_node *node_get(redis_cluster *cl, const char *host, int port)
{
    rc_node *n = node_find(cl, host, port);
    if (n)
        return n;
    n = calloc(1, sizeof(*n));
    if (!n || !(n->host = strdup(host))) {
        free(n);
        return NULL;
    }
    n->cl = cl;
    n->port = port;
    redis_endpoint ep = node_endpoint(cl, n);
    redis_conn_callbacks cb = {on_cmd_up, on_cmd_down, NULL, n};
    if (!(n->cmd = redis_conn_new(cl->base, &ep, &cb, "shard", 1000, 3000))) {
        free(n->host);
        free(n);
        return NULL;
    }
    n->next = cl->nodes;
    cl->nodes = n;
    return n;
}

static void node_free(rc_node *n)
{
    if (n->sub)
        redis_conn_free(n->sub);
    redis_conn_free(n->cmd);
    free(n->host);
    free(n);
}

/* Nodes that own nothing and are not seeds are closed; channels on them move. */
static void prune(redis_cluster *cl)
{
    for (rc_node **pp = &cl->nodes; *pp;) {
        rc_node *n = *pp;
        if (n->owns || n->seed) {
            pp = &n->next;
            continue;
        }
        *pp = n->next;
        size_t it = 0, klen;
        const char *k;
        void *v;
        while (hashmap_next(&cl->channels, &it, &k, &klen, &v))
            if (((rc_channel *)v)->node == n)
                ((rc_channel *)v)->node = NULL;
        node_free(n);
    }
}

/* ---- the slot map ------------------------------------------------------------------ */

/* The node whose command connection `c` is (NULL: none any more). */
static rc_node *node_of_conn(redis_cluster *cl, const redis_conn *c)
{
    for (rc_node *n = cl->nodes; n; n = n->next)
        if (n->cmd == c)
            return n;
    return NULL;
}

static rc_node *any_up(redis_cluster *cl)
{
    rc_node *fallback = NULL;
    for (rc_node *n = cl->nodes; n; n = n->next)
        if (redis_conn_is_up(n->cmd)) {
            if (n->owns)
                return n;
            fallback = n;
        }
    return fallback;
}

typedef struct slots_walk {
    redis_cluster *cl;
    const rc_node *asked;
    rc_node **slots;
} slots_walk;

static void take_range(void *ud, const redis_slot_range *r)
{
    slots_walk *w = ud;
    rc_node *n = node_get(w->cl, r->host[0] ? r->host : w->asked->host, r->port);
    for (unsigned s = r->lo; n && s <= r->hi; s++)
        w->slots[s] = n;
}

/* The reply's ranges become the slot map (slots it leaves out: no owner). */
static int apply_slots(redis_cluster *cl, const redisReply *r, const rc_node *asked)
{
    rc_node **slots = cl->next_slots;
    memset(cl->next_slots, 0, sizeof(cl->next_slots));
    slots_walk w = {cl, asked, slots};
    if (r->elements == 0 || redis_slots_parse(r, take_range, &w))
        return -1;
    for (rc_node *n = cl->nodes; n; n = n->next)
        n->owns = 0;
    size_t uncovered = 0;
    for (unsigned s = 0; s < REDIS_SLOTS; s++) {
        cl->slots[s] = slots[s];
        if (slots[s])
            slots[s]->owns = 1;
        else
            uncovered++;
    }
    if (uncovered) {
        char d[64];
        snprintf(d, sizeof d, "%zu slots have no primary", uncovered);
        warn(cl, "redis cluster: the slot map is incomplete", d);
    }
    return 0;
}

static void on_slots(redis_conn *c, redisReply *r, void *ud)
{
    redis_cluster *cl = ud;
    cl->refreshing = 0;
    rc_node *asked = node_of_conn(cl, c);
    if (!r || !asked || r->type != REDIS_REPLY_ARRAY || apply_slots(cl, r, asked)) {
        cl->stats.refresh_errors++;
        warn(cl, "redis cluster: CLUSTER SLOTS failed (is REDIS_URL a cluster node?)",
             r && r->type == REDIS_REPLY_ERROR ? r->str : "no usable slot map");
        cl->error_delay_ms = cl->error_delay_ms ? cl->error_delay_ms * 2 : REFRESH_RETRY_MS;
        if (cl->error_delay_ms > REFRESH_ERROR_MAX_MS)
            cl->error_delay_ms = REFRESH_ERROR_MAX_MS;
        schedule(cl, cl->error_delay_ms);
        return;
    }
    cl->error_delay_ms = 0;
    cl->stats.refreshes++;
    prune(cl);
    place_all(cl, 1);
    barriers_check(cl);
    check_up(cl);
    schedule(cl, cl->refresh_ms);
    if (cl->cb.on_map)
        cl->cb.on_map(cl->cb.ctx);
}

static void refresh(redis_cluster *cl)
{
    uint64_t now = now_ms();
    if (cl->refreshing)
        return;
    if (cl->last_refresh_ms && now - cl->last_refresh_ms < REFRESH_MIN_MS) {
        schedule(cl, REFRESH_MIN_MS - (now - cl->last_refresh_ms));
        return;
    }
    rc_node *n = any_up(cl);
    const char *argv[2] = {"CLUSTER", "SLOTS"};
    size_t lens[2] = {7, 5};
    if (!n || redis_conn_command(n->cmd, on_slots, cl, 2, argv, lens)) {
        schedule(cl, REFRESH_RETRY_MS);
        return;
    }
    cl->refreshing = 1;
    cl->last_refresh_ms = now;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    redis_cluster *cl = arg;
    cl->timer_at = 0;
    refresh(cl);
    if (!cl->timer_at)
        schedule(cl, cl->up ? cl->refresh_ms : REFRESH_RETRY_MS);
}

/* ---- routed commands --------------------------------------------------------------- */

static rc_request *request_new(redis_cluster *cl, redis_reply_fn fn, void *ud, int argc,
                               const char **argv, const size_t *lens)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += lens[i];
    rc_request *q = malloc(sizeof(*q) + (size_t)argc * (sizeof(char *) + sizeof(size_t)) + bytes);
    if (!q)
        return NULL;
    *q = (rc_request){cl, fn, ud, argc, 0, (const char **)(q + 1), NULL};
    q->lens = (size_t *)(q->argv + argc);
    char *p = (char *)(q->lens + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        q->argv[i] = p;
        q->lens[i] = lens[i];
        p += lens[i];
    }
    return q;
}

static rc_node *route(redis_cluster *cl, int argc, const char **argv, const size_t *lens)
{
    size_t klen = 0;
    const char *key = redis_command_key(argc, (const char *const *)argv, lens, &klen);
    if (!key)
        return any_up(cl);
    return cl->slots[redis_key_slot(key, klen)];
}

static void on_request_reply(redis_conn *c, redisReply *r, void *ud);

static int send_to(rc_node *n, rc_request *q, int asking)
{
    if (!n || !redis_conn_is_up(n->cmd))
        return -1;
    const char *ask[1] = {"ASKING"};
    size_t ask_len[1] = {6};
    if (asking && redis_conn_command(n->cmd, NULL, NULL, 1, ask, ask_len))
        return -1;
    return redis_conn_command(n->cmd, on_request_reply, q, q->argc, q->argv, q->lens);
}

static void answer(rc_request *q, redis_conn *c, redisReply *r)
{
    if (q->fn)
        q->fn(c, r, q->ud);
    free(q);
}

/* A MOVED or ASK: sent again to the node named (0), else -1. */
static int redirect(rc_request *q, redis_conn *c, const redisReply *r)
{
    redis_cluster *cl = q->cl;
    unsigned slot;
    char host[256];
    int port, kind = redis_parse_redirect(r->str, r->len, &slot, host, sizeof host, &port);
    if (!kind || !cl->cluster_mode || ++q->redirects > REDIRECTS_MAX)
        return -1;
    rc_node *asked = node_of_conn(cl, c);
    rc_node *to = node_get(cl, host[0] || !asked ? host : asked->host, port);
    if (kind == 1) {
        cl->stats.moved++;
        if (to)
            cl->slots[slot] = to, to->owns = 1;
        schedule(cl, 0);
    } else {
        cl->stats.asked++;
    }
    return send_to(to, q, kind == 2);
}

static int error_is(const redisReply *r, const char *prefix)
{
    return strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static void on_request_reply(redis_conn *c, redisReply *r, void *ud)
{
    rc_request *q = ud;
    redis_cluster *cl = q->cl;
    if (r && r->type == REDIS_REPLY_ERROR) {
        if (redirect(q, c, r) == 0)
            return;
        if (error_is(r, "MOVED") || error_is(r, "ASK") || error_is(r, "TRYAGAIN") ||
            error_is(r, "CLUSTERDOWN")) {
            cl->stats.errors++;
            warn(cl, "redis cluster: a command could not be placed", r->str);
            schedule(cl, REFRESH_RETRY_MS);
            answer(q, c, NULL); /* as if lost: the outbox sends it again */
            return;
        }
        cl->stats.errors++;
    }
    answer(q, c, r);
}

int redis_cluster_command(redis_cluster *cl, redis_reply_fn fn, void *ud, int argc,
                          const char **argv, const size_t *lens)
{
    rc_node *n = route(cl, argc, argv, lens);
    if (!n || !redis_conn_is_up(n->cmd))
        return -1;
    rc_request *q = request_new(cl, fn, ud, argc, argv, lens);
    if (!q)
        return -1;
    if (send_to(n, q, 0)) {
        free(q);
        return -1;
    }
    return 0;
}

/* ---- the owner's API ---------------------------------------------------------------- */

int redis_cluster_ssubscribe(redis_cluster *cl, const char *channel)
{
    size_t len = strlen(channel);
    if (hashmap_get(&cl->channels, channel, len))
        return 0;
    rc_channel *ch = calloc(1, sizeof(*ch));
    if (!ch || !(ch->name = strdup(channel)) || hashmap_put(&cl->channels, ch->name, len, ch)) {
        if (ch)
            free(ch->name);
        free(ch);
        return -1;
    }
    ch->len = len;
    ch->slot = redis_key_slot(channel, len);
    ch->confirmed = 1;
    unconfirm(cl, ch);
    place(cl, ch);
    return 0;
}

void redis_cluster_sunsubscribe(redis_cluster *cl, const char *channel)
{
    rc_channel *ch = hashmap_remove(&cl->channels, channel, strlen(channel));
    if (!ch)
        return;
    if (ch->node && redis_conn_is_up(ch->node->sub))
        channel_command(ch->node, "SUNSUBSCRIBE", ch);
    list_remove(cl, ch);
    free(ch->name);
    free(ch);
    barriers_check(cl);
}

int redis_cluster_barrier(redis_cluster *cl, void (*fn)(void *ud), void *ud)
{
    if (!cl->unconfirmed) {
        fn(ud);
        return 0;
    }
    rc_barrier *b = malloc(sizeof(*b));
    if (!b)
        return -1;
    *b = (rc_barrier){NULL, cl->seq, fn, ud};
    rc_barrier **pp = &cl->barriers;
    while (*pp)
        pp = &(*pp)->next;
    *pp = b;
    return 0;
}

size_t redis_cluster_unconfirmed(const redis_cluster *cl)
{
    return cl->n_unconfirmed;
}

int redis_cluster_is_up(const redis_cluster *cl)
{
    return cl->up;
}

int redis_cluster_key_up(const redis_cluster *cl, const char *key, size_t len)
{
    const rc_node *n = cl->slots[redis_key_slot(key, len)];
    return n && redis_conn_is_up(n->cmd);
}

int redis_cluster_owner(const redis_cluster *cl, const char *key, size_t len, const char **host,
                        int *port)
{
    const rc_node *n = cl->slots[redis_key_slot(key, len)];
    if (!n)
        return -1;
    *host = n->host;
    *port = n->port;
    return 0;
}

size_t redis_cluster_inflight(const redis_cluster *cl)
{
    size_t n = 0;
    for (const rc_node *x = cl->nodes; x; x = x->next)
        n += redis_conn_inflight(x->cmd);
    return n;
}

size_t redis_cluster_primaries(const redis_cluster *cl)
{
    size_t n = 0;
    for (const rc_node *x = cl->nodes; x; x = x->next)
        n += x->owns;
    return n;
}

const redis_cluster_stats *redis_cluster_get_stats(const redis_cluster *cl)
{
    return &cl->stats;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

redis_cluster *redis_cluster_new(struct event_base *base, const redis_cluster_config *cfg,
                                 const redis_cluster_callbacks *cb)
{
    if (!base || !cfg || !cfg->n_seeds || !cfg->seeds)
        return NULL;
    redis_cluster *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    cl->base = base;
    if (cb)
        cl->cb = *cb;
    cl->cluster_mode = cfg->cluster_mode;
    cl->refresh_ms = cfg->refresh_ms ? cfg->refresh_ms : 10000;
    const redis_endpoint *s = &cfg->seeds[0];
    cl->tmpl = (redis_endpoint){NULL, 0, dup_or_null(s->user), dup_or_null(s->password), s->db, s->tls,
                                dup_or_null(s->ca_file), dup_or_null(s->sni)};
    hashmap_init(&cl->channels);
    cl->seed_name = is_ip(s->host) ? NULL : strdup(s->host);
    cl->timer = evtimer_new(base, on_timer, cl);
    for (size_t i = 0; cl->timer && i < (cfg->cluster_mode ? cfg->n_seeds : 1); i++) {
        rc_node *n = node_get(cl, cfg->seeds[i].host, cfg->seeds[i].port);
        if (!n) {
            redis_cluster_free(cl);
            return NULL;
        }
        n->seed = 1;
    }
    if (!cl->timer) {
        redis_cluster_free(cl);
        return NULL;
    }
    if (!cl->cluster_mode) { /* one shard: every slot is the seed's */
        for (unsigned i = 0; i < REDIS_SLOTS; i++)
            cl->slots[i] = cl->nodes;
        cl->nodes->owns = 1;
    }
    return cl;
}

void redis_cluster_free(redis_cluster *cl)
{
    if (!cl)
        return;
    while (cl->nodes) {
        rc_node *n = cl->nodes;
        cl->nodes = n->next;
        node_free(n);
    }
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&cl->channels, &it, &k, &klen, &v)) {
        free(((rc_channel *)v)->name);
        free(v);
    }
    hashmap_free(&cl->channels);
    while (cl->barriers) {
        rc_barrier *b = cl->barriers;
        cl->barriers = b->next;
        free(b);
    }
    if (cl->timer)
        event_free(cl->timer);
    redis_endpoint_free(&cl->tmpl);
    free(cl->seed_name);
    free(cl);
}
