#include "room_index.h"

#include <stdlib.h>
#include <string.h>

void room_index_init(room_index *ri)
{
    memset(ri, 0, sizeof(*ri));
    hashmap_init(&ri->rooms);
}

room *room_find(const room_index *ri, const char *name, size_t len)
{
    return hashmap_get(&ri->rooms, name, len);
}

static room *room_create(room_index *ri, const char *name, size_t len)
{
    room *r = malloc(sizeof(*r) + len + 1);
    if (!r)
        return NULL;
    r->members = NULL;
    r->count = 0;
    r->name_len = len;
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    if (hashmap_put(&ri->rooms, r->name, len, r)) {
        free(r);
        return NULL;
    }
    if (ri->on_room)
        ri->on_room(ri->ctx, r, 1);
    return r;
}

static void room_delete(room_index *ri, room *r)
{
    hashmap_remove(&ri->rooms, r->name, r->name_len);
    if (ri->on_room)
        ri->on_room(ri->ctx, r, 0);
    free(r);
}

/* The member's membership of room `r`, or NULL. */
static membership *find_membership(const member_rooms *mr, const room *r)
{
    if (mr->index)
        return hashmap_get(mr->index, r->name, r->name_len);
    for (membership *m = mr->head; m; m = m->member_next)
        if (m->room == r)
            return m;
    return NULL;
}

/* Builds the index once the member has many rooms; without memory, the list
 * still works (linearly). */
static void index_rooms(member_rooms *mr)
{
    hashmap *h = malloc(sizeof(*h));
    if (!h || hashmap_init(h)) {
        free(h);
        return;
    }
    for (membership *m = mr->head; m; m = m->member_next)
        if (hashmap_put(h, m->room->name, m->room->name_len, m)) {
            hashmap_free(h);
            free(h);
            return;
        }
    mr->index = h;
}

static int link_member(member_rooms *mr, membership *m)
{
    if (mr->index && hashmap_put(mr->index, m->room->name, m->room->name_len, m))
        return -1;
    m->member_prev = NULL;
    m->member_next = mr->head;
    if (mr->head)
        mr->head->member_prev = m;
    mr->head = m;
    if (++mr->count > MEMBER_ROOMS_INDEXED && !mr->index)
        index_rooms(mr);
    return 0;
}

static void unlink_member(member_rooms *mr, membership *m)
{
    if (mr->index)
        hashmap_remove(mr->index, m->room->name, m->room->name_len);
    if (m->member_prev)
        m->member_prev->member_next = m->member_next;
    else
        mr->head = m->member_next;
    if (m->member_next)
        m->member_next->member_prev = m->member_prev;
    mr->count--;
}

static void link_room(room *r, membership *m)
{
    m->room_prev = NULL;
    m->room_next = r->members;
    if (r->members)
        r->members->room_prev = m;
    r->members = m;
    r->count++;
}

int room_join(room_index *ri, void *member, member_rooms *mr, const char *name, size_t len)
{
    room *r = room_find(ri, name, len);
    if (r && find_membership(mr, r))
        return 0;
    if (!r && !(r = room_create(ri, name, len)))
        return -1;
    membership *m = malloc(sizeof(*m));
    if (m) {
        m->room = r;
        m->member = member;
    }
    if (!m || link_member(mr, m)) {
        free(m);
        if (!r->count)
            room_delete(ri, r);
        return -1;
    }
    link_room(r, m);
    return 1;
}

static void unlink_from_room(room_index *ri, membership *m)
{
    room *r = m->room;
    if (m->room_prev)
        m->room_prev->room_next = m->room_next;
    else
        r->members = m->room_next;
    if (m->room_next)
        m->room_next->room_prev = m->room_prev;
    if (--r->count == 0)
        room_delete(ri, r);
    free(m);
}

int room_is_member(const member_rooms *mr, const char *name, size_t len)
{
    if (mr->index)
        return hashmap_get(mr->index, name, len) != NULL;
    for (membership *m = mr->head; m; m = m->member_next)
        if (m->room->name_len == len && memcmp(m->room->name, name, len) == 0)
            return 1;
    return 0;
}

int room_leave(room_index *ri, member_rooms *mr, const char *name, size_t len)
{
    room *r = room_find(ri, name, len);
    membership *m = r ? find_membership(mr, r) : NULL;
    if (!m)
        return 0;
    unlink_member(mr, m);
    unlink_from_room(ri, m);
    return 1;
}

void room_leave_all(room_index *ri, member_rooms *mr)
{
    if (mr->index) {
        hashmap_free(mr->index);
        free(mr->index);
        mr->index = NULL;
    }
    while (mr->head) {
        membership *m = mr->head;
        mr->head = m->member_next;
        unlink_from_room(ri, m);
    }
    mr->count = 0;
}

void room_index_free(room_index *ri)
{
    size_t it = 0;
    const char *k;
    size_t klen;
    void *v;
    while (hashmap_next(&ri->rooms, &it, &k, &klen, &v)) {
        room *r = v;
        for (membership *m = r->members, *next; m; m = next) {
            next = m->room_next;
            free(m);
        }
        free(r);
    }
    hashmap_free(&ri->rooms);
}
