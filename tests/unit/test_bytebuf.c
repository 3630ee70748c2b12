/* test_bytebuf: unit tests of the growable byte buffer (protocol/bytebuf.c). */
#include <stdint.h>
#include <string.h>

#include "bytebuf.h"
#include "check.h"

CHECK_STATE;

static void test_append(void)
{
    bytebuf b = BYTEBUF_INIT;
    CHECK(b.len == 0 && b.data == NULL);
    CHECK(bytebuf_append(&b, NULL, 0) == 0 && b.len == 0);
    CHECK(bytebuf_append_str(&b, "ab") == 0);
    CHECK(bytebuf_append_byte(&b, 'c') == 0);
    CHECK(bytebuf_append(&b, "d\0e", 3) == 0);
    CHECK(b.len == 6 && memcmp(b.data, "abcd\0e", 6) == 0);
    for (int i = 0; i < 1000; i++)
        CHECK(bytebuf_append_byte(&b, (uint8_t)i) == 0);
    CHECK(b.len == 1006 && b.cap >= b.len && b.data[1005] == (uint8_t)999);
    bytebuf_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
    bytebuf_free(&b); /* twice is harmless */
}

static void test_u64(void)
{
    bytebuf b = BYTEBUF_INIT;
    CHECK(bytebuf_append_u64(&b, 0) == 0);
    CHECK(bytebuf_append_byte(&b, ' ') == 0);
    CHECK(bytebuf_append_u64(&b, 42) == 0);
    CHECK(bytebuf_append_byte(&b, ' ') == 0);
    CHECK(bytebuf_append_u64(&b, UINT64_MAX) == 0);
    CHECK_MEM(b.data, b.len, "0 42 18446744073709551615");
    bytebuf_free(&b);
}

static void test_limit(void)
{
    bytebuf b = BYTEBUF_INIT;
    b.limit = 4;
    CHECK(bytebuf_append_str(&b, "abc") == 0);
    CHECK(bytebuf_append_str(&b, "de") == -1);
    CHECK_MEM(b.data, b.len, "abc");
    CHECK(bytebuf_append_u64(&b, 12) == -1);
    CHECK(bytebuf_append_byte(&b, 'd') == 0);
    CHECK_MEM(b.data, b.len, "abcd");
    CHECK(bytebuf_append_byte(&b, 'e') == -1);
    CHECK(bytebuf_reserve(&b, SIZE_MAX) == -1);
    b.limit = 0;
    CHECK(bytebuf_reserve(&b, SIZE_MAX) == -1); /* overflows len + extra */
    CHECK_MEM(b.data, b.len, "abcd");
    bytebuf_free(&b);
}

int main(void)
{
    test_append();
    test_u64();
    test_limit();
    return CHECK_DONE("test_bytebuf");
}
