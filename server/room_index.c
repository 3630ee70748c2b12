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

int room_join(room_index *ri, void *member, membership **member_rooms, const char *name,
              size_t len)
{
    room *r = room_find(ri, name, len);
    if (r) {
        for (membership *m = *member_rooms; m; m = m->member_next)
            if (m->room == r)
                return 0;
    } else if (!(r = room_create(ri, name, len))) {
        return -1;
    }
    membership *m = malloc(sizeof(*m));
    if (!m) {
        if (!r->count)
            room_delete(ri, r);
        return -1;
    }
    m->room = r;
    m->member = member;
    m->room_prev = NULL;
    m->room_next = r->members;
    if (r->members)
        r->members->room_prev = m;
    r->members = m;
    r->count++;
    m->member_next = *member_rooms;
    *member_rooms = m;
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

int room_leave(room_index *ri, membership **member_rooms, const char *name, size_t len)
{
    room *r = room_find(ri, name, len);
    if (!r)
        return 0;
    for (membership **pm = member_rooms; *pm; pm = &(*pm)->member_next) {
        if ((*pm)->room == r) {
            membership *m = *pm;
            *pm = m->member_next;
            unlink_from_room(ri, m);
            return 1;
        }
    }
    return 0;
}

void room_leave_all(room_index *ri, membership **member_rooms)
{
    while (*member_rooms) {
        membership *m = *member_rooms;
        *member_rooms = m->member_next;
        unlink_from_room(ri, m);
    }
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
