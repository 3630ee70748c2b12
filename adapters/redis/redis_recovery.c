/* redis_recovery: connection state recovery in Redis, for the classic
 * pub/sub adapter (REDIS_ADAPTER=pubsub).
 *
 * History: one stream per namespace, `prefix-history#nsp#`. A recoverable
 * broadcast is published by one script that XADDs the adapter's message to
 * the stream (trimmed to the window with MINID) and PUBLISHes it with the
 * stream id written into it as its offset (opts.flags.offset, the message's
 * last value): the stream's order is the publish order, and every node, the
 * publisher too, delivers the broadcast when it comes back from Redis.
 * Sessions: `prefix-session#pid` holds {sid,pid,nsp,rooms,data} as JSON. A
 * live socket's key is rewritten when its rooms or data change and its TTL
 * (window + refresh) renewed every refresh, so it outlives a node killed with
 * -9 by at least the window; a socket that left for a recoverable reason
 * keeps it for the window; others delete it. A restore takes the session with
 * a script (GET, checks, DEL), subscribes its rooms, then reads the stream
 * from the offset with XRANGE, holding live broadcasts of the namespace
 * meanwhile so that none falls between the history and the live flow.
 * After the subscriber reconnects, each namespace's history is read from the
 * newest offset delivered (the gap), in order, before what was held.
 *
 * Redis cost of a recoverable broadcast: one EVALSHA running XADD (MINID ~)
 * and PUBLISH, instead of one PUBLISH (loadtest/RESULTS.md measures it); the
 * history key's TTL is renewed with the sessions'. Cluster thread only. */
#include "wall_clock.h"
#include "redis_adapter_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/sha.h>

#include "log.h"
#include "redis_streams.h"

#define XRANGE_COUNT 500
#define RESTORE_MAX_ENTRIES 200000 /* past this, a client gets a new session */
#define PROVISIONAL_GRACE_MS 10000 /* a restored session's rooms, if the edge never joins them */

/* KEYS[1] history; ARGV: channel, message (ending with ""), MINID. The key's
 * TTL (so that a namespace nobody broadcasts to any more goes) is renewed by
 * the refresh, not per broadcast. */
static const char RECORD_LUA[] =
    "local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[3], '*', 'p', ARGV[2])\n"
    "local n = #id\n"
    "local head = n < 32 and string.char(160 + n) or string.char(217, n)\n"
    "redis.call('PUBLISH', ARGV[1], string.sub(ARGV[2], 1, -2) .. head .. id)\n"
    "return id\n";

/* KEYS[1] session, KEYS[2] history; ARGV: offset, namespace */
static const char RESTORE_LUA[] =
    "local s = redis.call('GET', KEYS[1])\n"
    "if not s then return false end\n"
    "local ok, sess = pcall(cjson.decode, s)\n"
    "if not ok or type(sess) ~= 'table' or sess.nsp ~= ARGV[2] then return false end\n"
    "if #redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1]) == 0 then return false end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return s\n";

/* Node's session value (streams mode) is base64 msgpack: decoded in Lua by
 * session_of(), which the streams scripts start with. */
#define B64_SESSION_LUA                                                                           \
    "local function session_of(s)\n"                                                             \
    "  local A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'\n"            \
    "  local out, bits, n = {}, 0, 0\n"                                                          \
    "  for i = 1, #s do\n"                                                                       \
    "    local c = string.sub(s, i, i)\n"                                                        \
    "    if c == '=' then break end\n"                                                           \
    "    local v = string.find(A, c, 1, true)\n"                                                 \
    "    if not v then return nil end\n"                                                         \
    "    bits = bits * 64 + (v - 1); n = n + 6\n"                                                \
    "    if n >= 8 then n = n - 8; local b = math.floor(bits / 2 ^ n);"                          \
    " out[#out + 1] = string.char(b); bits = bits - b * 2 ^ n end\n"                             \
    "  end\n"                                                                                    \
    "  local ok, sess = pcall(cmsgpack.unpack, table.concat(out))\n"                            \
    "  if ok and type(sess) == 'table' then return sess end\n"                                   \
    "end\n"
#define JSON_SESSION_LUA                                                                          \
    "local function session_of(s)\n"                                                             \
    "  local ok, sess = pcall(cjson.decode, s)\n"                                                \
    "  if ok and type(sess) == 'table' then return sess end\n"                                   \
    "end\n"

/* streams mode: a pid presented to another namespace is refused before the
 * session is taken (Node's sessions have no nsp: any namespace). KEYS[1]
 * session, KEYS[2] stream; ARGV: offset, namespace. */
static const char RESTORE_STREAMS_LUA[] = B64_SESSION_LUA
    "local s = redis.call('GET', KEYS[1])\n"
    "if not s then return false end\n"
    "local sess = session_of(s)\n"
    "if not sess or (sess.nsp ~= nil and sess.nsp ~= ARGV[2]) then return false end\n"
    "if #redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1]) == 0 then return false end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return s\n";

/* A node keeps or ends a session only if it is still the one holding it: a
 * client may have recovered on another node (its old connection not seen to
 * end here yet), which now owns the key. KEYS[1] session; ARGV: this node's
 * uid, the value ("" deletes), its TTL in ms. */
#define OWNED_WRITE_LUA                                                                           \
    "local cur = redis.call('GET', KEYS[1])\n"                                                   \
    "if cur then\n"                                                                              \
    "  local sess = session_of(cur)\n"                                                           \
    "  if sess and sess.node and sess.node ~= ARGV[1] then return 0 end\n"                       \
    "end\n"                                                                                      \
    "if ARGV[2] == '' then redis.call('DEL', KEYS[1])\n"                                         \
    "else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end\n"                              \
    "return 1\n"
static const char OWNED_JSON_LUA[] = JSON_SESSION_LUA OWNED_WRITE_LUA;
static const char OWNED_STREAMS_LUA[] = B64_SESSION_LUA OWNED_WRITE_LUA;

struct redis_recovery {
    redis_adapter *a;
    uint64_t window_ms, refresh_ms;
    const char *restore_lua, *owned_lua; /* of the mode */
    char record_sha[41], restore_sha[41], owned_sha[41];
    hashmap live;               /* session key -> the key (owned): sockets alive here */
    struct event *refresh;
    struct pending_expire *pending; /* later_expire()'s timers not run yet (owned) */
};

static void sha1_hex(const char *text, char out[41])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)text, strlen(text), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int command(redis_recovery *r, redis_reply_fn fn, void *ud, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return redis_conn_command(r->a->pub, fn, ud, argc, argv, lens);
}

/* ---- publishing --------------------------------------------------------------- */

/* A history outlives its newest entry by a window at least: 2 windows. */
static void expire_history(redis_recovery *r, const nsp_state *ns)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)(2 * r->window_ms));
    const char *argv[3] = {"PEXPIRE", ns->history, ttl};
    if (redis_conn_is_up(r->a->pub))
        command(r, NULL, NULL, 3, argv);
}

typedef struct pending_expire {
    redis_recovery *r;
    struct event *ev;
    struct pending_expire *next;
    char nsp[];
} pending_expire;

static void pending_free(pending_expire *p)
{
    pending_expire **pp = &p->r->pending;
    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    event_free(p->ev);
    free(p);
}

static void on_later_expire(evutil_socket_t fd, short what, void *arg)
{
    pending_expire *p = arg;
    nsp_state *ns = hashmap_get(&p->r->a->nsps, p->nsp, strlen(p->nsp));
    if (ns)
        expire_history(p->r, ns);
    pending_free(p);
}

/* The first broadcast of a namespace creates its stream once Redis ran it:
 * its TTL is set a second later (the refresh renews it from then on). */
static void later_expire(redis_recovery *r, const nsp_state *ns)
{
    size_t n = strlen(ns->name) + 1;
    pending_expire *p = malloc(sizeof(*p) + n);
    struct timeval tv = {1, 0};
    if (!p)
        return;
    p->r = r;
    memcpy(p->nsp, ns->name, n);
    p->ev = evtimer_new(r->a->base, on_later_expire, p);
    if (!p->ev || evtimer_add(p->ev, &tv)) {
        if (p->ev)
            event_free(p->ev);
        free(p);
        return;
    }
    p->next = r->pending;
    r->pending = p;
}

int redis_recovery_publish(redis_recovery *r, nsp_state *ns, const char *channel,
                           const uint8_t *msg, size_t len)
{
    char minid[32];
    uint64_t now = wall_ms();
    snprintf(minid, sizeof minid, "%llu-0",
             (unsigned long long)(now > r->window_ms ? now - r->window_ms : 0));
    const char *argv[7] = {"EVALSHA", r->record_sha, "1", ns->history, channel, (const char *)msg,
                           minid};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = i == 5 ? len : strlen(argv[i]);
    int rc = redis_outbox_push(r->a->outbox, 7, argv, lens);
    if (rc == 0 && !ns->history_ttl_set) { /* the first one here: soon, then every refresh */
        ns->history_ttl_set = 1;
        later_expire(r, ns);
    }
    return rc;
}

void redis_recovery_on_pub_up(redis_recovery *r)
{
    const char *load1[3] = {"SCRIPT", "LOAD", RECORD_LUA};
    const char *load2[3] = {"SCRIPT", "LOAD", r->restore_lua};
    const char *load3[3] = {"SCRIPT", "LOAD", r->owned_lua};
    command(r, NULL, NULL, 3, load3);
    command(r, NULL, NULL, 3, load1);
    command(r, NULL, NULL, 3, load2);
}

/* ---- sessions ----------------------------------------------------------------- */

static char *session_key(redis_recovery *r, const char *pid)
{
    if (r->a->streams)
        return redis_streams_session_key(pid);
    size_t n = strlen(r->a->key_prefix) + strlen(pid) + 10;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s-session#%s", r->a->key_prefix, pid);
    return k;
}

/* {sid, pid, nsp, rooms, data}: JSON text (pubsub), or Node's base64
 * msgpack (streams). */
static char *session_value(redis_recovery *r, const session_msg *m, size_t *len)
{
    json_t *rooms = json_array();
    for (size_t i = 0; rooms && i < m->n_rooms; i++)
        json_array_append_new(rooms, json_string(m->rooms[i]));
    json_t *doc = json_pack("{sssssssOsOss}", "sid", m->sid, "pid", m->pid, "nsp", m->nsp,
                            "rooms", rooms ? rooms : json_null(), "data",
                            m->data ? m->data : json_object(), "node", r->a->uid);
    json_decref(rooms);
    char *text = NULL;
    if (doc && r->a->streams)
        text = redis_streams_session_value(doc, len);
    else if (doc && (text = json_dumps(doc, JSON_COMPACT)))
        *len = strlen(text);
    json_decref(doc);
    return text;
}

static json_t *session_decode(redis_recovery *r, const char *v, size_t len)
{
    return r->a->streams ? redis_streams_session_decode(v, len) : json_loadb(v, len, 0, NULL);
}

static void forget_live(redis_recovery *r, const char *key)
{
    char *k = hashmap_remove(&r->live, key, strlen(key));
    free(k);
}

static void keep_live(redis_recovery *r, char *key)
{
    if (hashmap_get(&r->live, key, strlen(key)) || hashmap_put(&r->live, key, strlen(key), key))
        free(key);
}

void redis_recovery_on_session(redis_recovery *r, const session_msg *m)
{
    char *key = session_key(r, m->pid);
    if (!key)
        return;
    size_t vlen = 0;
    char *value = m->event == CLUSTER_SESSION_END ? strdup("") : session_value(r, m, &vlen);
    char ttl[24];
    uint64_t ms = m->event == CLUSTER_SESSION_LIVE ? r->window_ms + r->refresh_ms : r->window_ms;
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)ms);
    if (value && m->event == CLUSTER_SESSION_LIVE) { /* this node holds the socket: its key */
        const char *argv[5] = {"SET", key, value, "PX", ttl};
        size_t lens[5] = {3, strlen(key), vlen, 2, strlen(ttl)};
        redis_conn_command(r->a->pub, NULL, NULL, 5, argv, lens);
    } else if (value) { /* kept or ended: only if no other node holds it now */
        const char *argv[7] = {"EVALSHA", r->owned_sha, "1", key, r->a->uid, value, ttl};
        size_t lens[7] = {7, 40, 1, strlen(key), strlen(r->a->uid), vlen, strlen(ttl)};
        redis_conn_command(r->a->pub, NULL, NULL, 7, argv, lens);
    }
    free(value);
    if (m->event == CLUSTER_SESSION_LIVE) {
        keep_live(r, key); /* the map owns it now */
        return;
    }
    forget_live(r, key);
    free(key);
}

/* Every live session's key outlives the window after this node's death. */
static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
    redis_recovery *r = arg;
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)(r->window_ms + r->refresh_ms));
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (redis_conn_is_up(r->a->pub) && hashmap_next(&r->live, &it, &k, &klen, &v)) {
        const char *argv[3] = {"PEXPIRE", k, ttl};
        command(r, NULL, NULL, 3, argv);
    }
    it = 0;
    while (!r->a->streams && hashmap_next(&r->a->nsps, &it, &k, &klen, &v))
        if (((nsp_state *)v)->history_ttl_set)
            expire_history(r, v);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    redis_adapter_sweep_provisional(r->a, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
                                    PROVISIONAL_GRACE_MS);
}

/* ---- reading the history ------------------------------------------------------ */

/* One XRANGE walk over a namespace's stream from an offset (exclusive): a
 * restore (collects what the session missed) or a gap fill (delivers what
 * this node missed). The namespace's live broadcasts are held meanwhile. */
typedef struct walk {
    redis_recovery *r;
    nsp_state *ns;
    char from[OFFSET_MAX];
    size_t seen;
    int restore;
    /* restore: */
    uint64_t token;
    char *pid;
    json_t *session;            /* the decoded session */
    const char **rooms;
    size_t n_rooms;
    sio_outpacket **missed;
    size_t n_missed, cap_missed;
} walk;

static void walk_free(walk *w)
{
    for (size_t i = 0; i < w->n_missed; i++)
        sio_outpacket_unref(w->missed[i]);
    free(w->missed);
    free(w->rooms);
    free(w->pid);
    json_decref(w->session);
    free(w);
}

static void answer_restore(redis_recovery *r, const char *nsp, uint64_t token, walk *w);

static void walk_end(walk *w, int ok)
{
    nsp_state *ns = w->ns;
    redis_adapter *a = w->r->a;
    int gap_filled = !w->restore && ok;
    if (w->restore)
        answer_restore(w->r, ns->name, w->token, ok ? w : NULL);
    else if (!ok)
        redis_adapter_gap_failed(a); /* still held: the next try fills it */
    walk_free(w);
    ns->holds--;
    if (gap_filled)
        redis_adapter_gap_filled(a, ns);
    redis_adapter_release_held(a, ns); /* after the answer: the edge has joined */
}

static int add_missed(walk *w, sio_outpacket *p)
{
    if (w->n_missed == w->cap_missed) {
        size_t cap = w->cap_missed ? w->cap_missed * 2 : 64;
        sio_outpacket **grown = realloc(w->missed, cap * sizeof(*grown));
        if (!grown)
            return -1;
        w->missed = grown;
        w->cap_missed = cap;
    }
    w->missed[w->n_missed++] = p;
    return 0;
}

/* The message of a stream entry [id, [field, value, ...]]: the value of "p". */
static const redisReply *entry_payload(const redisReply *e, const char **id)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    *id = e->element[0]->str;
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "p") == 0 &&
            f->element[i + 1]->type == REDIS_REPLY_STRING)
            return f->element[i + 1];
    return NULL;
}

/* The broadcast of a stream entry of the walk's namespace: 0, or -1 to skip
 * it. *id is the entry's id either way when it has one. */
static int entry_broadcast(walk *w, const redisReply *e, const char **id, adapter_broadcast *b)
{
    redis_adapter *a = w->r->a;
    memset(b, 0, sizeof(*b));
    if (a->streams) {
        const char *nsp = NULL, *type = NULL;
        if (redis_streams_entry(a, e, id, &nsp, &type, b) || strcmp(nsp, w->ns->name) != 0 ||
            strcmp(type, "3") != 0 || !redis_adapter_recoverable(b)) {
            adapter_broadcast_clear(b);
            return -1;
        }
        return 0;
    }
    const redisReply *p = entry_payload(e, id);
    return p && adapter_broadcast_decode((const uint8_t *)p->str, p->len, &a->limits, b) == 0 ? 0 : -1;
}

/* One entry: for a restore, kept when the session would have received it;
 * for a gap fill, delivered when a local member would. -1: out of memory. */
static int walk_entry(walk *w, const redisReply *e, const char **id)
{
    redis_adapter *a = w->r->a;
    adapter_broadcast b;
    if (entry_broadcast(w, e, id, &b))
        return 0;
    int rc = 0;
    if (w->restore && session_included(w->rooms, w->n_rooms, (const char *const *)b.rooms, b.n_rooms,
                                       (const char *const *)b.except, b.n_except)) {
        sio_outpacket *p = redis_adapter_encode(w->ns, &b, *id);
        if (p && add_missed(w, p))
            rc = -1, sio_outpacket_unref(p);
    } else if (!w->restore && redis_adapter_wants(w->ns, &b)) {
        broadcast_msg *m = redis_adapter_edge_msg(a, w->ns, &b, *id);
        if (m)
            redis_adapter_push_ordered(a, w->ns, m);
    }
    adapter_broadcast_clear(&b);
    return rc;
}

static void walk_next(walk *w);

/* Where a namespace's history is: its own stream, or the shared one. */
static const char *stream_of(const redis_recovery *r, const nsp_state *ns)
{
    return r->a->streams ? redis_streams_name(r->a->streams) : ns->history;
}

static void on_range(redis_conn *c, redisReply *reply, void *ud)
{
    walk *w = ud;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        walk_end(w, 0);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const char *id = NULL;
        if (walk_entry(w, reply->element[i], &id)) {
            walk_end(w, 0);
            return;
        }
        if (id)
            snprintf(w->from, sizeof w->from, "%s", id);
    }
    w->seen += reply->elements;
    if (reply->elements < XRANGE_COUNT || w->seen > RESTORE_MAX_ENTRIES)
        walk_end(w, w->seen <= RESTORE_MAX_ENTRIES);
    else
        walk_next(w);
}

static void walk_next(walk *w)
{
    char from[OFFSET_MAX + 1], count[16];
    snprintf(from, sizeof from, "(%s", w->from);
    snprintf(count, sizeof count, "%d", XRANGE_COUNT);
    const char *argv[6] = {"XRANGE", stream_of(w->r, w->ns), from, "+", "COUNT", count};
    if (command(w->r, on_range, w, 6, argv))
        walk_end(w, 0);
}

static void walk_start(walk *w)
{
    w->ns->holds++;
    walk_next(w);
}

/* After the subscriber came back: what this node missed meanwhile. */
void redis_recovery_on_subs_ready(redis_recovery *r)
{
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&r->a->nsps, &it, &k, &klen, &v)) {
        nsp_state *ns = v;
        walk *w = ns->hwm[0] ? calloc(1, sizeof(*w)) : NULL;
        if (!w)
            continue; /* nothing delivered yet: no gap to speak of */
        w->r = r;
        w->ns = ns;
        snprintf(w->from, sizeof w->from, "%s", ns->hwm);
        walk_start(w);
    }
}

/* ---- restores ----------------------------------------------------------------- */

static void answer_restore(redis_recovery *r, const char *nsp, uint64_t token, walk *w)
{
    json_t *s = w ? w->session : NULL;
    session_msg *m = session_msg_new(MSG_RESTORED, nsp, s ? json_string_value(json_object_get(s, "sid")) : "",
                                     w ? w->pid : "", w ? w->from : "",
                                     w ? w->rooms : NULL, w ? w->n_rooms : 0);
    if (!m)
        return; /* the edge's restore waits until its connect timeout */
    m->token = token;
    m->event = w != NULL;
    if (w)
        r->a->stats.restored++;
    else
        r->a->stats.restore_misses++;
    if (w) {
        json_t *data = json_object_get(s, "data");
        session_msg_set_data(m, json_is_object(data) ? json_deep_copy(data) : NULL);
        for (size_t i = 0; i < w->n_missed; i++)
            session_msg_add_packet(m, sio_outpacket_ref(w->missed[i]));
    }
    mailbox_push(r->a->to_edge, &m->hdr);
}

/* The session's rooms, as strings borrowed from w->session. */
static int session_rooms(walk *w)
{
    json_t *rooms = json_object_get(w->session, "rooms");
    const char *sid = json_string_value(json_object_get(w->session, "sid"));
    size_t n = json_array_size(rooms);
    if (!sid || !json_is_array(rooms) || !(w->rooms = calloc(n ? n : 1, sizeof(char *))))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(w->rooms[w->n_rooms++] = json_string_value(json_array_get(rooms, i))))
            return -1;
    return 0;
}

static void after_subscribed(void *ud)
{
    walk_start(ud);
}

static void on_session_taken(redis_conn *c, redisReply *reply, void *ud)
{
    walk *w = ud;
    const json_t *nsp = NULL;
    if (!reply || reply->type != REDIS_REPLY_STRING ||
        !(w->session = session_decode(w->r, reply->str, reply->len)) ||
        ((nsp = json_object_get(w->session, "nsp")) &&
         (!json_is_string(nsp) || strcmp(json_string_value(nsp), w->ns->name) != 0)) ||
        session_rooms(w)) {
        answer_restore(w->r, w->ns->name, w->token, NULL);
        walk_free(w);
        return;
    }
    /* its rooms are subscribed here before the history is read: nothing
     * published after the read can pass this node by */
    redis_adapter_subscribe_then(w->r->a, w->ns, w->rooms, w->n_rooms, after_subscribed, w);
}

void redis_recovery_on_restore(redis_recovery *r, const session_msg *m)
{
    nsp_state *ns = redis_adapter_namespace(r->a, m->nsp);
    walk *w = ns ? calloc(1, sizeof(*w)) : NULL;
    char *key = session_key(r, m->pid);
    if (w) {
        w->r = r;
        w->ns = ns;
        w->restore = 1;
        w->token = m->token;
        w->pid = strdup(m->pid);
        snprintf(w->from, sizeof w->from, "%s", m->offset);
    }
    const char *argv[7] = {"EVALSHA", r->restore_sha, "2", key, ns ? stream_of(r, ns) : "",
                           m->offset, m->nsp};
    if (!w || !w->pid || !key || command(r, on_session_taken, w, 7, argv)) {
        answer_restore(r, m->nsp, m->token, NULL);
        if (w)
            walk_free(w);
    }
    free(key);
}

/* ---- lifecycle ----------------------------------------------------------------- */

redis_recovery *redis_recovery_new(redis_adapter *a, uint32_t window_ms)
{
    redis_recovery *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->a = a;
    r->window_ms = window_ms;
    r->refresh_ms = window_ms / 3 > 1000 ? window_ms / 3 : 1000;
    sha1_hex(RECORD_LUA, r->record_sha);
    r->restore_lua = a->streams ? RESTORE_STREAMS_LUA : RESTORE_LUA;
    sha1_hex(r->restore_lua, r->restore_sha);
    r->owned_lua = a->streams ? OWNED_STREAMS_LUA : OWNED_JSON_LUA;
    sha1_hex(r->owned_lua, r->owned_sha);
    hashmap_init(&r->live);
    struct timeval tv = {(time_t)(r->refresh_ms / 1000), (suseconds_t)(r->refresh_ms % 1000) * 1000};
    r->refresh = event_new(a->base, -1, EV_PERSIST, on_refresh, r);
    if (!r->refresh || event_add(r->refresh, &tv)) {
        redis_recovery_free(r);
        return NULL;
    }
    return r;
}

void redis_recovery_free(redis_recovery *r)
{
    if (!r)
        return;
    if (r->refresh)
        event_free(r->refresh);
    while (r->pending)
        pending_free(r->pending);
    size_t it = 0, klen;
    const char *k;
    void *v;
    while (hashmap_next(&r->live, &it, &k, &klen, &v))
        free(v);
    hashmap_free(&r->live);
    free(r);
}
