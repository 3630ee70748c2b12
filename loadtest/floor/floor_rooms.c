/* floor_rooms: a string-keyed hash map (chained, intrusive nodes, FNV-1a,
 * doubling at one entry per bucket), the rooms (name -> growable array of
 * member sockets) and F.all (every socket CONNECTed to "/"). A socket keeps its
 * rooms with its index in each member array, so leaving is a swap-remove (the
 * moved member's index is found among its own <= 64 rooms); an empty room is
 * freed. The delivery loop of a broadcast walks member arrays and gives each
 * socket the frame once: F.bcast is the mark of the broadcast under way. */
#include "floor.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

floor_node *map_get(floor_map *m, const char *key, size_t klen)
{
    if (!m->n_buckets)
        return NULL;
    uint64_t h = fnv1a(key, klen);
    for (floor_node *n = m->buckets[h & (m->n_buckets - 1)]; n; n = n->next)
        if (n->hash == h && n->klen == klen && memcmp(n->key, key, klen) == 0)
            return n;
    return NULL;
}

static int map_grow(floor_map *m)
{
    size_t nb = m->n_buckets ? m->n_buckets * 2 : 64;
    floor_node **b = calloc(nb, sizeof(*b));
    if (!b)
        return -1;
    for (size_t i = 0; i < m->n_buckets; i++) {
        for (floor_node *n = m->buckets[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = nb;
    return 0;
}

/* node->key and klen set by the caller. */
int map_put(floor_map *m, floor_node *node)
{
    if (m->count >= m->n_buckets && map_grow(m))
        return -1;
    node->hash = fnv1a(node->key, node->klen);
    floor_node **b = &m->buckets[node->hash & (m->n_buckets - 1)];
    node->next = *b;
    *b = node;
    m->count++;
    return 0;
}

void map_del(floor_map *m, floor_node *node)
{
    for (floor_node **p = &m->buckets[node->hash & (m->n_buckets - 1)]; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            m->count--;
            return;
        }
    }
}

/* Appends c to r's members; returns its index or -1. */
static int64_t member_add(floor_room *r, floor_conn *c)
{
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 4;
        floor_conn **m = realloc(r->members, cap * sizeof(*m));
        if (!m)
            return -1;
        r->members = m;
        r->cap = cap;
    }
    r->members[r->n] = c;
    return r->n++;
}

static floor_room *room_get(const char *name, size_t len)
{
    floor_room *r = (floor_room *)map_get(&F.rooms, name, len);
    if (r)
        return r;
    r = calloc(1, sizeof(*r) + len + 1);
    if (!r)
        return NULL;
    memcpy(r->name, name, len);
    r->node.key = r->name;
    r->node.klen = len;
    if (map_put(&F.rooms, &r->node)) {
        free(r);
        return NULL;
    }
    return r;
}

static void room_drop_if_empty(floor_room *r)
{
    if (r->n)
        return;
    map_del(&F.rooms, &r->node);
    free(r->members);
    free(r);
}

int rooms_join(floor_conn *c, const char *name, size_t len)
{
    floor_room *r = (floor_room *)map_get(&F.rooms, name, len);
    for (uint8_t i = 0; r && i < c->n_rooms; i++)
        if (c->rooms[i].room == r)
            return 0;
    if (c->n_rooms >= FLOOR_ROOMS_MAX)
        return -1;
    if (c->n_rooms == c->cap_rooms) {
        uint8_t cap = c->cap_rooms ? (uint8_t)(c->cap_rooms * 2) : 1;
        floor_member *m = realloc(c->rooms, cap * sizeof(*m));
        if (!m)
            return -1;
        c->rooms = m;
        c->cap_rooms = cap;
    }
    int64_t idx = (r = room_get(name, len)) ? member_add(r, c) : -1;
    if (idx < 0) {
        if (r)
            room_drop_if_empty(r);
        return -1;
    }
    c->rooms[c->n_rooms++] = (floor_member){r, (uint32_t)idx};
    return 1;
}

int rooms_join_all(floor_conn *c)
{
    int64_t idx = member_add(&F.all, c);
    if (idx < 0)
        return -1;
    c->all_index = (uint32_t)idx;
    c->flags |= F_JOINED;
    return 0;
}

/* Swap-remove of member `index` of r; fixes the index the moved member keeps. */
static void member_remove(floor_room *r, uint32_t index)
{
    floor_conn *last = r->members[--r->n];
    if (index == r->n)
        return;
    r->members[index] = last;
    if (r == &F.all) {
        last->all_index = index;
        return;
    }
    for (uint8_t i = 0; i < last->n_rooms; i++)
        if (last->rooms[i].room == r)
            last->rooms[i].index = index;
}

void rooms_leave_all(floor_conn *c)
{
    for (uint8_t i = 0; i < c->n_rooms; i++) {
        member_remove(c->rooms[i].room, c->rooms[i].index);
        room_drop_if_empty(c->rooms[i].room);
    }
    c->n_rooms = 0;
    if (c->flags & F_JOINED)
        member_remove(&F.all, c->all_index);
    c->flags &= (uint8_t)~F_JOINED;
}

void rooms_begin(void)
{
    F.bcast++;
    F.n_broadcasts++;
}

void rooms_except(const char *name, size_t len)
{
    floor_room *r = (floor_room *)map_get(&F.rooms, name, len);
    for (uint32_t i = 0; r && i < r->n; i++)
        r->members[i]->mark = F.bcast;
}

void rooms_deliver(const char *name, size_t len, floor_frame *f)
{
    floor_room *r = name ? (floor_room *)map_get(&F.rooms, name, len) : &F.all;
    if (!r)
        return;
    const uint32_t mark = F.bcast;
    floor_conn **m = r->members;
    for (uint32_t i = 0, n = r->n; i < n; i++) {
        floor_conn *c = m[i];
        if (c->mark == mark)
            continue;
        c->mark = mark;
        out_deliver(c, f);
    }
}
