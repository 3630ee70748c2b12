/* room_index: a namespace's rooms and their members, built for fan-out.
 *
 * A room is created by its first join and freed with its last leave. Each
 * (room, member) pair is one `membership`, linked both into the room's member
 * list (doubly: O(1) leave) and into the member's own list (singly: a member is
 * in few rooms). Iterating a room costs O(members); joining/leaving O(1) plus
 * the member's room count. Members are opaque pointers; the index owns rooms and
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
    struct membership *room_prev, *room_next; /* in room->members */
    struct membership *member_next;           /* in the member's list */
} membership;

struct room {
    membership *members;
    size_t count;
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
/* Adds `member` (whose list head is *member_rooms) to the room. 1: joined,
 * 0: was already a member, -1: out of memory. */
int room_join(room_index *ri, void *member, membership **member_rooms, const char *name,
              size_t len);
/* 1: left, 0: was not a member. */
int room_leave(room_index *ri, membership **member_rooms, const char *name, size_t len);
/* Leaves every room of the member. */
void room_leave_all(room_index *ri, membership **member_rooms);

#endif
