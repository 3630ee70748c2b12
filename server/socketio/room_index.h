/* room_index: a namespace's rooms and their members, built for fan-out.
 *
 * A room is created by its first join and freed with its last leave. Each
 * (room, member) pair is one `membership`, in the room's member array (a
 * contiguous slot, swap-removed in O(1): fan-out walks memory in order and can
 * prefetch the members ahead) and in the member's own list (doubly linked:
 * O(1) unlink). The order of a room's members is not kept. A member's
 * rooms (member_rooms) are a plain list while they are few and gain a hash
 * index by room name past MEMBER_ROOMS_INDEXED, so joining or leaving costs
 * O(1) however many rooms the member is in. Iterating a room costs
 * O(members). Members are opaque pointers; the index owns rooms and
 * memberships, never members. `on_room` hooks (optional) hear of each room's
 * creation and deletion: the cluster side subscribes per room through them. */
#ifndef SIO_ROOM_INDEX_H
#define SIO_ROOM_INDEX_H

#include <stddef.h>

#include "hashmap.h"

typedef struct room room;

typedef struct membership {
    room *room;
    void *member;
    size_t slot;                                  /* index in room->members */
    struct membership *member_prev, *member_next; /* in the member's list */
} membership;

#define MEMBER_ROOMS_INDEXED 8

/* One member's rooms; zeroed = none. */
typedef struct member_rooms {
    membership *head;
    hashmap *index; /* room name -> membership, once count > MEMBER_ROOMS_INDEXED */
    size_t count;
} member_rooms;

/* One member of a room: the member itself beside its membership, so that
 * walking a room reads one array. */
typedef struct room_slot {
    void *member;
    membership *m;
} room_slot;

struct room {
    room_slot *members;                       /* count used of cap */
    size_t count, cap;
    size_t name_len;
    char name[];                              /* NUL-terminated */
};

typedef struct room_index {
    hashmap rooms;                            /* name -> room */
    void (*on_room)(void *ctx, const room *r, int created); /* created 1 / deleted 0 */
    void *ctx;
} room_index;

void room_index_init(room_index *ri);
/* Frees every room and membership; members' lists must not be used afterwards. */
void room_index_free(room_index *ri);
room *room_find(const room_index *ri, const char *name, size_t len);
/* While iterating r->members[0..count), nothing may join or leave `r`. */
/* Adds `member` (whose rooms are *mr) to the room. 1: joined, 0: was
 * already a member, -1: out of memory. */
int room_join(room_index *ri, void *member, member_rooms *mr, const char *name, size_t len);
/* 1: left, 0: was not a member. */
int room_leave(room_index *ri, member_rooms *mr, const char *name, size_t len);
/* Leaves every room of the member (and frees its index). */
void room_leave_all(room_index *ri, member_rooms *mr);
int room_is_member(const member_rooms *mr, const char *name, size_t len);

#endif
