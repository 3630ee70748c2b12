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

broadcast_msg *broadcast_msg_new(const char *nsp, const char *const *rooms, size_t n_rooms,
                                 const char *const *except, size_t n_except, int is_volatile,
                                 sio_outpacket *packet)
{
    size_t ptrs = (n_rooms + n_except) * sizeof(char *);
    size_t size = sizeof(broadcast_msg) + ptrs + strlen(nsp) + 1 + strings_size(rooms, n_rooms) +
                  strings_size(except, n_except);
    broadcast_msg *m = calloc(1, size);
    if (!m)
        return NULL;
    atomic_init(&m->hdr.refs, 1);
    m->hdr.type = MSG_BROADCAST;
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
    return m;
}

void cluster_msg_unref(cluster_msg *m)
{
    if (!m || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (m->type == MSG_BROADCAST)
        sio_outpacket_unref(((broadcast_msg *)m)->packet);
    free(m);
}
