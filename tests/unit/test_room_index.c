/* test_room_index: rooms and memberships (server/room_index.c): joins and
 * leaves from both sides, the member's index past MEMBER_ROOMS_INDEXED rooms,
 * and room creation/deletion hooks. (How join costs grow with a member's rooms
 * is measured in loadtest/, not timed here.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "room_index.h"

CHECK_STATE;

static int created, deleted;

static void on_room(void *ctx, const room *r, int is_new)
{
    (void)ctx;
    (void)r;
    if (is_new)
        created++;
    else
        deleted++;
}

static int join(room_index *ri, void *member, member_rooms *mr, const char *name)
{
    return room_join(ri, member, mr, name, strlen(name));
}

static void test_basics(void)
{
    room_index ri;
    room_index_init(&ri);
    ri.on_room = on_room;
    member_rooms a = {0}, b = {0};
    int ma, mb;
    CHECK(join(&ri, &ma, &a, "x") == 1);
    CHECK(join(&ri, &ma, &a, "x") == 0);
    CHECK(join(&ri, &mb, &b, "x") == 1);
    CHECK(created == 1 && room_find(&ri, "x", 1)->count == 2);
    CHECK(room_is_member(&a, "x", 1) && !room_is_member(&a, "y", 1));
    CHECK(room_leave(&ri, &a, "x", 1) == 1 && room_leave(&ri, &a, "x", 1) == 0);
    CHECK(deleted == 0 && room_find(&ri, "x", 1)->count == 1);
    CHECK(room_find(&ri, "x", 1)->members[0].member == &mb);
    room_leave_all(&ri, &b);
    CHECK(deleted == 1 && !room_find(&ri, "x", 1) && b.count == 0 && !b.head);
    room_index_free(&ri);
}

static void test_indexed_member(void)
{
    room_index ri;
    room_index_init(&ri);
    member_rooms mr = {0};
    int m;
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        CHECK(join(&ri, &m, &mr, name) == 1);
    }
    CHECK(mr.count == 100 && mr.index != NULL);
    for (int i = 0; i < 100; i += 2) { /* leave from the index, rejoin */
        snprintf(name, sizeof(name), "r%d", i);
        CHECK(room_leave(&ri, &mr, name, strlen(name)) == 1);
        CHECK(!room_is_member(&mr, name, strlen(name)));
    }
    CHECK(mr.count == 50);
    size_t listed = 0;
    for (membership *x = mr.head; x; x = x->member_next)
        listed++;
    CHECK(listed == 50);
    CHECK(join(&ri, &m, &mr, "r1") == 0 && join(&ri, &m, &mr, "r0") == 1);
    room_leave_all(&ri, &mr);
    CHECK(ri.rooms.count == 0 && mr.index == NULL && mr.count == 0);
    room_index_free(&ri);
}

/* Every slot's membership points back at its slot, and the room holds exactly
 * the members still in it (each once). */
static int room_consistent(const room *r, const int *in, size_t n, int *members)
{
    size_t count = 0;
    for (size_t i = 0; i < r->count; i++) {
        const membership *m = r->members[i].m;
        int k = (int)((int *)r->members[i].member - members);
        if (m->slot != i || m->member != r->members[i].member || m->room != r || k < 0 || (size_t)k >= n || !in[k])
            return 0;
        count++;
    }
    size_t want = 0;
    for (size_t k = 0; k < n; k++)
        want += in[k] ? 1 : 0;
    return count == want && r->count <= r->cap;
}

/* The member array: swap-removal in any order, growth and shrinking. */
static void test_member_array(void)
{
    enum { N = 1000 };
    static int members[N], in[N];
    static member_rooms mr[N];
    room_index ri;
    room_index_init(&ri);
    for (int k = 0; k < N; k++) {
        CHECK(join(&ri, &members[k], &mr[k], "big") == 1);
        in[k] = 1;
    }
    room *r = room_find(&ri, "big", 3);
    CHECK(r && r->count == N && room_consistent(r, in, N, members));
    unsigned x = 12345;
    for (int left = N; left > 1; left--) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % N);
        while (!in[k])
            k = (k + 1) % N;
        CHECK(room_leave(&ri, &mr[k], "big", 3) == 1);
        in[k] = 0;
        if (left % 97 == 0)
            CHECK(room_consistent(r, in, N, members));
    }
    CHECK(room_consistent(r, in, N, members) && r->count == 1 && r->cap <= 16);
    for (int k = 0; k < N; k++)
        if (in[k])
            room_leave_all(&ri, &mr[k]);
    CHECK(room_find(&ri, "big", 3) == NULL);
    room_index_free(&ri);
}

int main(void)
{
    test_basics();
    test_indexed_member();
    test_member_array();
    return CHECK_DONE("test_room_index");
}
