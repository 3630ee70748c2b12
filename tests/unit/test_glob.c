/* test_glob: unit tests of the room/namespace glob matcher (server/glob.c),
 * including a randomized comparison with a naive recursive reference. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "glob.h"

CHECK_STATE;

static int m(const char *pattern, const char *s)
{
    return glob_match(pattern, s, strlen(s));
}

#define CHECK_GLOB(pattern, s, want)                                                   \
    do {                                                                               \
        int got_ = m((pattern), (s));                                                  \
        CHECK(got_ == (want));                                                         \
        if (got_ != (want))                                                            \
            fprintf(stderr, "  glob_match(\"%s\", \"%s\") = %d\n", (pattern), (s), got_); \
    } while (0)

static void test_basics(void)
{
    CHECK_GLOB("", "", 1);
    CHECK_GLOB("", "a", 0);
    CHECK_GLOB("a", "", 0);
    CHECK_GLOB("abc", "abc", 1);
    CHECK_GLOB("abc", "abd", 0);
    CHECK_GLOB("abc", "ab", 0);
    CHECK_GLOB("ab", "abc", 0);
    CHECK_GLOB("Abc", "abc", 0); /* case-sensitive */
}

static void test_star(void)
{
    CHECK_GLOB("*", "", 1);
    CHECK_GLOB("*", "anything at all", 1);
    CHECK_GLOB("**", "", 1);
    CHECK_GLOB("***", "xyz", 1);
    CHECK_GLOB("a*", "a", 1);
    CHECK_GLOB("a*", "abc", 1);
    CHECK_GLOB("a*", "ba", 0);
    CHECK_GLOB("*a", "ba", 1);
    CHECK_GLOB("*a", "ab", 0);
    CHECK_GLOB("a*b", "ab", 1);
    CHECK_GLOB("a*b", "acccb", 1);
    CHECK_GLOB("a*b", "acbd", 0);
    CHECK_GLOB("*b", "bbb", 1);
    CHECK_GLOB("*ab*cd", "xxabyycd", 1);
    CHECK_GLOB("*ab*cd", "xxabyycdx", 0);
    CHECK_GLOB("*ab*cd", "xxcdyyab", 0);
    CHECK_GLOB("a*a*a", "aa", 0);
    CHECK_GLOB("a*a*a", "aaa", 1);
    CHECK_GLOB("chat:*", "chat:room1", 1);
    CHECK_GLOB("chat:*", "chat:", 1);
    CHECK_GLOB("chat:*", "chat", 0);
    CHECK_GLOB("user:*:inbox", "user:42:inbox", 1);
    CHECK_GLOB("user:*:inbox", "user:42:outbox", 0);
    CHECK_GLOB("/*", "/", 1);
    CHECK_GLOB("/*", "/admin", 1);
    CHECK_GLOB("/*", "admin", 0);
}

static void test_question(void)
{
    CHECK_GLOB("?", "", 0);
    CHECK_GLOB("?", "a", 1);
    CHECK_GLOB("?", "ab", 0);
    CHECK_GLOB("??", "ab", 1);
    CHECK_GLOB("a?c", "abc", 1);
    CHECK_GLOB("a?c", "ac", 0);
    CHECK_GLOB("*?", "", 0);
    CHECK_GLOB("*?", "a", 1);
    CHECK_GLOB("?*?", "a", 0);
    CHECK_GLOB("?*?", "ab", 1);
    CHECK_GLOB("?", "\xff", 1);               /* one byte, not one character */
    CHECK_GLOB("?", "\xc3\xa9", 0);
    CHECK_GLOB("??", "\xc3\xa9", 1);
}

static void test_escape(void)
{
    CHECK_GLOB("a\\*", "a*", 1);
    CHECK_GLOB("a\\*", "ab", 0);
    CHECK_GLOB("a\\*", "a*b", 0);
    CHECK_GLOB("\\?", "?", 1);
    CHECK_GLOB("\\?", "x", 0);
    CHECK_GLOB("\\\\", "\\", 1);
    CHECK_GLOB("\\\\", "\\\\", 0);
    CHECK_GLOB("\\a", "a", 1);
    CHECK_GLOB("*\\*", "abc*", 1);
    CHECK_GLOB("*\\*", "abc", 0);
    CHECK_GLOB("\\**", "*anything", 1);
    CHECK_GLOB("\\**", "anything", 0);
    /* A trailing lone backslash escapes nothing: the pattern never matches. */
    CHECK_GLOB("\\", "", 0);
    CHECK_GLOB("\\", "\\", 0);
    CHECK_GLOB("a\\", "a", 0);
    CHECK_GLOB("a\\", "a\\", 0);
    CHECK_GLOB("*\\", "x\\", 0);
    CHECK_GLOB("*\\", "", 0);
}

static void test_length_delimited(void)
{
    CHECK(glob_match("abc", "abcdef", 3) == 1);
    CHECK(glob_match("abc*", "abcdef", 3) == 1);
    CHECK(glob_match("abcd", "abcdef", 3) == 0);
    CHECK(glob_match("*", NULL, 0) == 1);
    CHECK(glob_match("", NULL, 0) == 1);
    CHECK(glob_match("a", NULL, 0) == 0);
    CHECK(glob_match("\xc3\xa9*", "\xc3\xa9t\xc3\xa9", 5) == 1);
    CHECK(glob_match("*\xa9", "\xc3\xa9t\xc3\xa9", 5) == 1);
}

static void test_match_any(void)
{
    const char *const none[] = {NULL};
    const char *const some[] = {"news", "chat:*", "user:?", NULL};
    CHECK(glob_match_any(NULL, "x", 1) == 0);
    CHECK(glob_match_any(none, "", 0) == 0);
    CHECK(glob_match_any(some, "news", 4) == 1);
    CHECK(glob_match_any(some, "chat:1", 6) == 1);
    CHECK(glob_match_any(some, "user:7", 6) == 1);
    CHECK(glob_match_any(some, "user:77", 7) == 0);
    CHECK(glob_match_any(some, "newsy", 5) == 0);
    CHECK(glob_match_any(some, "newsy", 4) == 1);
}

/* Exponential for a backtracking recursive matcher; linear-ish here. */
static void test_pathological(void)
{
    enum { N = 200000 };
    static char s[N + 1];
    memset(s, 'a', N);
    s[N] = '\0';
    clock_t t0 = clock();
    CHECK(glob_match("a*a*a*a*a*b", s, N) == 0);
    CHECK(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s, N) == 0);
    CHECK(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", s, N) == 1);
    CHECK(glob_match("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b", s, N) == 0);
    CHECK(glob_match("a*a*a*a*a*b", s, 30) == 0);
    s[N - 1] = 'b';
    CHECK(glob_match("a*a*a*a*a*b", s, N) == 1);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 2.0);
    if (secs >= 2.0)
        fprintf(stderr, "  pathological patterns took %.2f s\n", secs);
}

/* Naive recursive reference with the same semantics (trailing '\' fails). */
static int ref_match(const char *p, size_t pl, const char *s, size_t sl)
{
    if (pl == 0)
        return sl == 0;
    if (*p == '*')
        return ref_match(p + 1, pl - 1, s, sl) || (sl && ref_match(p, pl, s + 1, sl - 1));
    if (*p == '?')
        return sl && ref_match(p + 1, pl - 1, s + 1, sl - 1);
    if (*p == '\\') {
        if (pl < 2)
            return 0;
        return sl && s[0] == p[1] && ref_match(p + 2, pl - 2, s + 1, sl - 1);
    }
    return sl && s[0] == *p && ref_match(p + 1, pl - 1, s + 1, sl - 1);
}

static uint32_t next_rand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void test_against_reference(void)
{
    static const char pat_alphabet[] = "ab*?\\";
    static const char str_alphabet[] = "ab*?\\";
    uint32_t seed = 12345;
    int mismatches = 0;
    for (int iter = 0; iter < 200000; iter++) {
        char p[9], s[11];
        size_t pl = next_rand(&seed) % 9, sl = next_rand(&seed) % 11;
        for (size_t i = 0; i < pl; i++)
            p[i] = pat_alphabet[next_rand(&seed) % 5];
        for (size_t i = 0; i < sl; i++)
            s[i] = str_alphabet[next_rand(&seed) % (next_rand(&seed) % 4 ? 2 : 5)];
        p[pl] = s[sl] = '\0';
        int want = ref_match(p, pl, s, sl), got = glob_match(p, s, sl);
        if (want != got && mismatches++ < 5)
            fprintf(stderr, "  glob_match(\"%s\", \"%s\") = %d, reference %d\n", p, s, got, want);
    }
    CHECK(mismatches == 0);
}

int main(void)
{
    test_basics();
    test_star();
    test_question();
    test_escape();
    test_length_delimited();
    test_match_any();
    test_pathological();
    test_against_reference();
    return CHECK_DONE("test_glob");
}
