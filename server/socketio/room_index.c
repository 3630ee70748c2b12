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
    r->count = r->cap = 0;
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
    free(r->members);
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

static int room_reserve(room *r)
{
    if (r->count < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 1; /* most rooms are a socket's own */
    room_slot *a = realloc(r->members, cap * sizeof(*a));
    if (!a)
        return -1;
    r->members = a;
    r->cap = cap;
    return 0;
}

/* A room that lost most of its members gives half its array back. */
static void room_shrink(room *r)
{
    room_slot *a = realloc(r->members, (r->cap / 2) * sizeof(*a));
    if (a) {
        r->members = a;
        r->cap /= 2;
    }
}

static void link_room(room *r, membership *m)
{
    m->slot = r->count++;
    r->members[m->slot] = (room_slot){m->member, m};
}

int room_join(room_index *ri, void *member, member_rooms *mr, const char *name, size_t len)
{
    room *r = room_find(ri, name, len);
    if (r && find_membership(mr, r))
        return 0;
    if (!r && !(r = room_create(ri, name, len)))
        return -1;
    membership *m = room_reserve(r) ? NULL : malloc(sizeof(*m));
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
    room_slot last = r->members[--r->count];
    if (m->slot != r->count) { /* the last slot fills the hole */
        r->members[m->slot] = last;
        last.m->slot = m->slot;
    }
    if (r->count == 0)
        room_delete(ri, r);
    else if (r->cap > 16 && r->count < r->cap / 4)
        room_shrink(r);
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
        for (size_t i = 0; i < r->count; i++)
            free(r->members[i].m);
        free(r->members);
        free(r);
    }
    hashmap_free(&ri->rooms);
}
