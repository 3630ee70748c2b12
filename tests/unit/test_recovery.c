/* test_recovery: what every connection-state-recovery store shares
 * (server/core/offset.h): offsets parsed and compared, and socket.io's
 * shouldIncludePacket. */
#include <stdint.h>

#include "check.h"
#include "offset.h"

CHECK_STATE;

static void test_parse(void)
{
    uint64_t hi = 0, lo = 0;
    CHECK(offset_parse("1796291263132-0", &hi, &lo) == 0 && hi == 1796291263132ull && lo == 0);
    CHECK(offset_parse("0-0", &hi, &lo) == 0 && hi == 0 && lo == 0);
    CHECK(offset_parse("18446744073709551615-7", &hi, &lo) == 0 && hi == UINT64_MAX && lo == 7);
    const char *bad[] = {"", "-", "1-", "-1", "1", "abc", "1-2-3", "1 -2", " 1-2", "1-2 ", "+1-2",
                         "1-a", "18446744073709551616-0", "1-99999999999999999999", "0x1-2",
                         "99999999999999999999999999999999999999999999-0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(offset_parse(bad[i], &hi, &lo) == -1);
}

static void test_cmp(void)
{
    CHECK(offset_cmp("1-0", "1-0") == 0);
    CHECK(offset_cmp("1-0", "1-1") < 0);
    CHECK(offset_cmp("2-0", "1-9") > 0);
    CHECK(offset_cmp("10-0", "9-0") > 0); /* numbers, not text */
    CHECK(offset_cmp("1-10", "1-9") > 0);
    CHECK(offset_cmp("x", "1-0") == 0);   /* not an offset: never "after" */
}

static void test_included(void)
{
    const char *sess[] = {"sidAAAAAAAAAAAAAAAAA", "live", "vip"};
    const char *live[] = {"live"}, *other[] = {"other"}, *vip[] = {"vip"}, *both[] = {"other", "vip"};
    CHECK(session_included(sess, 3, NULL, 0, NULL, 0));         /* everyone */
    CHECK(session_included(sess, 3, live, 1, NULL, 0));         /* one of its rooms */
    CHECK(!session_included(sess, 3, other, 1, NULL, 0));       /* not its room */
    CHECK(session_included(sess, 3, both, 2, NULL, 0));         /* any of the rooms */
    CHECK(!session_included(sess, 3, live, 1, vip, 1));         /* excepted by another room */
    CHECK(!session_included(sess, 3, NULL, 0, vip, 1));
    CHECK(session_included(sess, 3, live, 1, other, 1));
    CHECK(!session_included(NULL, 0, live, 1, NULL, 0));        /* no rooms: only broadcasts to all */
    CHECK(session_included(NULL, 0, NULL, 0, vip, 1));
}

int main(void)
{
    test_parse();
    test_cmp();
    test_included();
    return CHECK_DONE("test_recovery");
}
