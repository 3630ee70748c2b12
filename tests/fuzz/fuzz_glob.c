/* fuzz_glob: the room/namespace glob matcher (server/core/glob.c). The input
 * is "<pattern>\0<string>" (no NUL: the pattern matched against itself).
 *
 * Invariants: glob_match agrees with a plain recursive reference (memoized, so
 * it stays polynomial); a pattern without metacharacters matches exactly
 * itself; "*" matches everything; a trailing lone '\\' never matches; glob_match_any is the OR of its patterns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"

#define MAX 96

static signed char memo[MAX + 2][MAX + 2];

/* Reference: does p[pi..] match s[si..]? */
static int ref(const char *p, size_t pl, size_t pi, const char *s, size_t sl, size_t si)
{
    if (memo[pi][si] >= 0)
        return memo[pi][si];
    int r;
    if (pi == pl)
        r = si == sl;
    else if (p[pi] == '*')
        r = ref(p, pl, pi + 1, s, sl, si) || (si < sl && ref(p, pl, pi, s, sl, si + 1));
    else if (p[pi] == '?')
        r = si < sl && ref(p, pl, pi + 1, s, sl, si + 1);
    else if (p[pi] == '\\' && pi + 1 < pl)
        r = si < sl && s[si] == p[pi + 1] && ref(p, pl, pi + 2, s, sl, si + 1);
    else if (p[pi] == '\\')
        r = 0; /* a trailing lone '\' never matches: patterns fail closed */
    else
        r = si < sl && s[si] == p[pi] && ref(p, pl, pi + 1, s, sl, si + 1);
    memo[pi][si] = (signed char)r;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t pl = nul ? (size_t)(nul - (const char *)data) : size;
    const char *s = nul ? nul + 1 : (const char *)data;
    size_t sl = nul ? size - pl - 1 : size;
    if (pl > MAX || sl > MAX)
        return 0;
    char *pattern = malloc(pl + 1); /* NUL-terminated, as callers pass it */
    memcpy(pattern, data, pl);
    pattern[pl] = 0;
    char *str = malloc(sl ? sl : 1); /* exactly sl bytes: no NUL after it */
    memcpy(str, s, sl);

    memset(memo, -1, sizeof(memo));
    int got = glob_match(pattern, str, sl);
    if (got != ref(pattern, pl, 0, str, sl, 0))
        abort();
    if (!strpbrk(pattern, "*?\\") && got != (pl == sl && memcmp(pattern, str, sl) == 0))
        abort();
    if (!glob_match("*", str, sl))
        abort();
    const char *const list[] = {"no\\*such", pattern, NULL};
    if (glob_match_any(list, str, sl) != (got || glob_match(list[0], str, sl)))
        abort();
    free(pattern);
    free(str);
    return 0;
}
