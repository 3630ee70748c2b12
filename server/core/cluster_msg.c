#include "cluster_msg.h"

#include <stdlib.h>
#include <string.h>

static size_t strings_size(const char *const *v, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(v[i]) + 1;
    return total;
}

static char *copy_strings(const char **dst, const char *const *src, size_t n, char *p)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(src[i]) + 1;
        memcpy(p, src[i], len);
        dst[i] = p;
        p += len;
    }
    return p;
}

static cluster_msg *msg_alloc(cluster_msg_type type, size_t size);

static uint32_t clamp_bytes(size_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static size_t outpacket_bytes(const sio_outpacket *p)
{
    size_t n = 0;
    for (uint32_t i = 0; p && i < p->n_frames; i++)
        n += sizeof(frame) + FRAME_HEADROOM + p->frames[i]->len;
    return n;
}

broadcast_msg *broadcast_msg_new(const char *nsp, const char *const *rooms, size_t n_rooms,
                                 const char *const *except, size_t n_except, int is_volatile,
                                 sio_outpacket *packet)
{
    size_t ptrs = (n_rooms + n_except) * sizeof(char *);
    size_t size = sizeof(broadcast_msg) + ptrs + strlen(nsp) + 1 + strings_size(rooms, n_rooms) +
                  strings_size(except, n_except);
    broadcast_msg *m = (broadcast_msg *)msg_alloc(MSG_BROADCAST, size);
    if (!m)
        return NULL;
    const char **room_ptrs = (const char **)(m + 1);
    const char **except_ptrs = room_ptrs + n_rooms;
    char *p = (char *)(except_ptrs + n_except);
    size_t nlen = strlen(nsp) + 1;
    memcpy(p, nsp, nlen);
    m->nsp = p;
    p = copy_strings(room_ptrs, rooms, n_rooms, p + nlen);
    copy_strings(except_ptrs, except, n_except, p);
    m->rooms = room_ptrs;
    m->n_rooms = n_rooms;
    m->except = except_ptrs;
    m->n_except = n_except;
    m->is_volatile = is_volatile;
    m->packet = sio_outpacket_ref(packet);
    m->hdr.bytes = clamp_bytes(size + outpacket_bytes(packet));
    return m;
}

static cluster_msg *msg_alloc(cluster_msg_type type, size_t size)
{
    cluster_msg *m = calloc(1, size);
    if (m) {
        refcount_init(&m->refs);
        m->type = (uint16_t)type;
        m->bytes = clamp_bytes(size);
    }
    return m;
}

static char *copy_string(const char **dst, const char *src, char *p)
{
    size_t len = strlen(src) + 1;
    memcpy(p, src, len);
    *dst = p;
    return p + len;
}

room_msg *room_msg_new(cluster_msg_type type, const char *nsp, const char *room, int created)
{
    size_t size = sizeof(room_msg) + strlen(nsp) + 1 + (room ? strlen(room) + 1 : 0);
    room_msg *m = (room_msg *)msg_alloc(type, size);
    if (!m)
        return NULL;
    char *p = copy_string(&m->nsp, nsp, (char *)(m + 1));
    if (room)
        copy_string(&m->room, room, p);
    m->created = created;
    return m;
}

request_msg *request_msg_new(int request_type, const char *nsp, const char *request_id,
                             const char *const *rooms, size_t n_rooms, const char *const *except,
                             size_t n_except, const char *const *targets, size_t n_targets,
                             const char *sid, int close)
{
    size_t n_ptrs = n_rooms + n_except + n_targets;
    size_t size = sizeof(request_msg) + n_ptrs * sizeof(char *) + strlen(nsp) + 1 +
                  strlen(request_id) + 1 + strlen(sid) + 1 + strings_size(rooms, n_rooms) +
                  strings_size(except, n_except) + strings_size(targets, n_targets);
    request_msg *m = (request_msg *)msg_alloc(MSG_REQUEST, size);
    if (!m)
        return NULL;
    const char **ptrs = (const char **)(m + 1);
    char *p = (char *)(ptrs + n_ptrs);
    p = copy_string(&m->nsp, nsp, p);
    p = copy_string(&m->request_id, request_id, p);
    p = copy_string(&m->sid, sid, p);
    p = copy_strings(ptrs, rooms, n_rooms, p);
    p = copy_strings(ptrs + n_rooms, except, n_except, p);
    copy_strings(ptrs + n_rooms + n_except, targets, n_targets, p);
    m->request_type = request_type;
    m->rooms = ptrs;
    m->n_rooms = n_rooms;
    m->except = ptrs + n_rooms;
    m->n_except = n_except;
    m->targets = ptrs + n_rooms + n_except;
    m->n_targets = n_targets;
    m->close = close;
    return m;
}

void broadcast_msg_set_data(broadcast_msg *m, json_t *data)
{
    m->data = data;
    /* about the size of its text, which the packet's first frame holds */
    if (data && m->packet && m->packet->n_frames)
        m->hdr.bytes = clamp_bytes((size_t)m->hdr.bytes + m->packet->frames[0]->len);
}

void request_msg_set_packet(request_msg *m, sio_outpacket *packet)
{
    m->packet = packet;
    m->hdr.bytes = clamp_bytes((size_t)m->hdr.bytes + outpacket_bytes(packet));
}

response_msg *response_msg_new(const char *nsp, const void *payload, size_t len)
{
    response_msg *m = (response_msg *)msg_alloc(MSG_RESPONSE, sizeof(response_msg) + strlen(nsp) + 1 + len);
    if (!m)
        return NULL;
    char *p = copy_string(&m->nsp, nsp, (char *)(m + 1));
    if (len) /* a metrics request has no payload, maybe NULL */
        memcpy(p, payload, len);
    m->payload = (const uint8_t *)p;
    m->len = len;
    return m;
}

response_msg *metrics_msg_new(uint64_t token, const void *text, size_t len)
{
    response_msg *m = response_msg_new("", text, len);
    if (m) {
        m->hdr.type = MSG_METRICS;
        m->token = token;
    }
    return m;
}

/* ---- replies ---------------------------------------------------------------- */

reply_msg *reply_msg_new(cluster_reply_kind kind, const char *nsp, const char *request_id)
{
    size_t size = sizeof(reply_msg) + strlen(nsp) + 1 + strlen(request_id) + 1;
    reply_msg *m = (reply_msg *)msg_alloc(MSG_REPLY, size);
    if (!m)
        return NULL;
    char *p = copy_string(&m->nsp, nsp, (char *)(m + 1));
    copy_string(&m->request_id, request_id, p);
    m->kind = kind;
    return m;
}

/* The next capacity of a list that holds `n` and must take one more; 0 when
 * it already can. */
static size_t next_cap(size_t n, size_t cap)
{
    return n < cap ? 0 : cap ? cap * 2 : 16;
}

/* Makes room for one more element in the array *items of n (capacity *cap). */
static int grow_array(void **items, size_t n, size_t *cap, size_t elem)
{
    size_t next = next_cap(n, *cap);
    if (!next)
        return 0;
    void *grown = realloc(*items, next * elem);
    if (!grown)
        return -1;
    *items = grown;
    *cap = next;
    return 0;
}

static int grow_names(reply_msg *m)
{
    void *items = m->names;
    int rc = grow_array(&items, m->n_names, &m->cap_names, sizeof(*m->names));
    m->names = items;
    return rc;
}

static int grow_sockets(reply_msg *m)
{
    void *items = m->sockets;
    int rc = grow_array(&items, m->n_sockets, &m->cap_sockets, sizeof(*m->sockets));
    m->sockets = items;
    return rc;
}

static void add_bytes(cluster_msg *m, size_t n)
{
    m->bytes = clamp_bytes((size_t)m->bytes + n);
}

int reply_msg_add_name(reply_msg *m, const char *name, size_t len)
{
    char *copy = grow_names(m) ? NULL : malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, name, len);
    copy[len] = 0;
    m->names[m->n_names++] = copy;
    add_bytes(&m->hdr, sizeof(char *) + len + 1);
    return 0;
}

static size_t handshake_size(const socket_handshake *hs)
{
    return strlen(hs->remote_addr) + strlen(hs->query) + strlen(hs->user_agent) +
           strlen(hs->origin) + strlen(hs->url) + 5;
}

/* One allocation: the struct, the room pointers, then every string. */
static socket_snapshot *snapshot_new(const char *id, const char *const *rooms, size_t n_rooms,
                                     const socket_handshake *hs, size_t *size)
{
    *size = sizeof(socket_snapshot) + n_rooms * sizeof(char *) + strlen(id) + 1 +
            strings_size(rooms, n_rooms) + handshake_size(hs);
    socket_snapshot *s = calloc(1, *size);
    if (!s)
        return NULL;
    const char **room_ptrs = (const char **)(s + 1);
    char *p = copy_string(&s->id, id, (char *)(room_ptrs + n_rooms));
    p = copy_strings(room_ptrs, rooms, n_rooms, p);
    p = copy_string(&s->remote_addr, hs->remote_addr, p);
    p = copy_string(&s->query, hs->query, p);
    p = copy_string(&s->user_agent, hs->user_agent, p);
    p = copy_string(&s->origin, hs->origin, p);
    copy_string(&s->url, hs->url, p);
    s->rooms = room_ptrs;
    s->n_rooms = n_rooms;
    s->issued_ms = hs->issued_ms;
    return s;
}

/* About the memory a JSON value holds: the length of its text. */
static size_t json_size(const json_t *v)
{
    return v ? json_dumpb(v, NULL, 0, JSON_COMPACT) : 0;
}

int reply_msg_add_socket(reply_msg *m, const char *id, const char *const *rooms, size_t n_rooms,
                         const socket_handshake *hs, json_t *auth, json_t *data)
{
    size_t size = 0;
    socket_snapshot *s = grow_sockets(m) ? NULL : snapshot_new(id, rooms, n_rooms, hs, &size);
    if (!s) {
        json_decref(auth);
        json_decref(data);
        return -1;
    }
    s->auth = auth;
    s->data = data;
    m->sockets[m->n_sockets++] = s;
    add_bytes(&m->hdr, sizeof(socket_snapshot *) + size + json_size(auth) + json_size(data));
    return 0;
}

/* Copies of the attachments in one allocation (NULL: out of memory); *bytes its size. */
static sio_bin *bins_copy(const sio_bin *bins, size_t n_bins, size_t *bytes)
{
    size_t total = 0;
    for (size_t i = 0; i < n_bins; i++)
        total += bins[i].len;
    uint8_t *p = malloc(n_bins * sizeof(sio_bin) + total + 1);
    if (!p)
        return NULL;
    sio_bin *out = (sio_bin *)(void *)p;
    p += n_bins * sizeof(sio_bin);
    for (size_t i = 0; i < n_bins; i++) {
        if (bins[i].len)
            memcpy(p, bins[i].data, bins[i].len);
        out[i] = (sio_bin){p, bins[i].len};
        p += bins[i].len;
    }
    *bytes = n_bins * sizeof(sio_bin) + total;
    return out;
}

int reply_msg_set_ack(reply_msg *m, json_t *args, const sio_bin *bins, size_t n_bins)
{
    size_t bytes = 0;
    if (!(m->bins = bins_copy(bins, n_bins, &bytes))) {
        json_decref(args);
        return -1;
    }
    m->n_bins = n_bins;
    m->args = args;
    add_bytes(&m->hdr, bytes + json_size(args));
    return 0;
}

backend_msg *backend_msg_new(cluster_msg_type type, int backend_type, uint64_t token,
                             const char *nsp, const char *sid)
{
    size_t size = sizeof(backend_msg) + strlen(nsp) + 1 + strlen(sid) + 1;
    backend_msg *m = (backend_msg *)msg_alloc(type, size);
    if (!m)
        return NULL;
    char *p = copy_string(&m->nsp, nsp, (char *)(m + 1));
    copy_string(&m->sid, sid, p);
    m->type = backend_type;
    m->token = token;
    return m;
}

int backend_msg_set(backend_msg *m, json_t *json, const sio_bin *bins, size_t n_bins)
{
    size_t bytes = 0;
    if (n_bins && !(m->bins = bins_copy(bins, n_bins, &bytes))) {
        json_decref(json);
        return -1;
    }
    m->n_bins = n_bins;
    m->json = json;
    add_bytes(&m->hdr, bytes + json_size(json));
    return 0;
}

static void reply_free(reply_msg *m)
{
    for (size_t i = 0; i < m->n_names; i++)
        free(m->names[i]);
    free(m->names);
    for (size_t i = 0; i < m->n_sockets; i++) {
        json_decref(m->sockets[i]->auth);
        json_decref(m->sockets[i]->data);
        free(m->sockets[i]);
    }
    free(m->sockets);
    json_decref(m->args);
    free(m->bins);
}

/* ---- sessions ----------------------------------------------------------------- */

session_msg *session_msg_new(cluster_msg_type type, const char *nsp, const char *sid,
                             const char *pid, const char *offset, const char *const *rooms,
                             size_t n_rooms)
{
    size_t size = sizeof(session_msg) + n_rooms * sizeof(char *) + strlen(nsp) + strlen(sid) +
                  strlen(pid) + strlen(offset) + 4 + strings_size(rooms, n_rooms);
    session_msg *m = (session_msg *)msg_alloc(type, size);
    if (!m)
        return NULL;
    const char **room_ptrs = (const char **)(m + 1);
    char *p = copy_string(&m->nsp, nsp, (char *)(room_ptrs + n_rooms));
    p = copy_string(&m->sid, sid, p);
    p = copy_string(&m->pid, pid, p);
    p = copy_string(&m->offset, offset, p);
    copy_strings(room_ptrs, rooms, n_rooms, p);
    m->rooms = room_ptrs;
    m->n_rooms = n_rooms;
    return m;
}

void session_msg_set_data(session_msg *m, json_t *data)
{
    m->data = data;
    add_bytes(&m->hdr, json_size(data));
}

int session_msg_add_packet(session_msg *m, sio_outpacket *p)
{
    void *items = m->packets;
    int rc = grow_array(&items, m->n_packets, &m->cap_packets, sizeof(*m->packets));
    m->packets = items;
    if (rc) {
        sio_outpacket_unref(p);
        return -1;
    }
    m->packets[m->n_packets++] = p;
    add_bytes(&m->hdr, sizeof(p) + outpacket_bytes(p));
    return 0;
}

static void session_free(session_msg *m)
{
    json_decref(m->data);
    for (size_t i = 0; i < m->n_packets; i++)
        sio_outpacket_unref(m->packets[i]);
    free(m->packets);
}

typedef struct token_msg {
    cluster_msg hdr;
    uint64_t token;
} token_msg;

cluster_msg *token_msg_new(cluster_msg_type type, uint64_t token)
{
    token_msg *m = (token_msg *)msg_alloc(type, sizeof(token_msg));
    if (m)
        m->token = token;
    return m ? &m->hdr : NULL;
}

uint64_t token_msg_token(const cluster_msg *m)
{
    return ((const token_msg *)m)->token;
}

void cluster_msg_unref(cluster_msg *m)
{
    if (!m || !refcount_put(&m->refs))
        return;
    if (m->type == MSG_BROADCAST) {
        sio_outpacket_unref(((broadcast_msg *)m)->packet);
        json_decref(((broadcast_msg *)m)->data);
    }
    if (m->type == MSG_REPLY)
        reply_free((reply_msg *)m);
    if (m->type == MSG_SESSION || m->type == MSG_RESTORE || m->type == MSG_RESTORED)
        session_free((session_msg *)m);
    if (m->type == MSG_BACKEND || m->type == MSG_BACKEND_DONE) {
        json_decref(((backend_msg *)m)->json);
        free(((backend_msg *)m)->bins);
    }
    if (m->type == MSG_REQUEST && ((request_msg *)m)->packet)
        sio_outpacket_unref(((request_msg *)m)->packet);
    free(m);
}
