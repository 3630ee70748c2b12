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

void cluster_msg_unref(cluster_msg *m)
{
    if (!m || !refcount_put(&m->refs))
        return;
    if (m->type == MSG_BROADCAST)
        sio_outpacket_unref(((broadcast_msg *)m)->packet);
    if (m->type == MSG_REQUEST && ((request_msg *)m)->packet)
        sio_outpacket_unref(((request_msg *)m)->packet);
    free(m);
}
