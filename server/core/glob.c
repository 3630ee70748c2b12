/* glob: shell-style '*' / '?' / '\' matching of a length-delimited string, by
 * the classic iterative star-backtrack (remember the last '*', retry from one
 * byte further on a mismatch): no recursion, O(len(pattern) * len(s)).
 * A trailing lone '\' escapes nothing: such a pattern never matches (fail
 * closed, since patterns grant permissions). */
#include "glob.h"

#include <string.h>

/* The literal byte at pattern[p] (an escape is consumed with its target);
 * -1 for a trailing lone '\'. */
static int literal_at(const char *pattern, size_t plen, size_t p, size_t *step)
{
    if (pattern[p] != '\\') {
        *step = 1;
        return (unsigned char)pattern[p];
    }
    if (p + 1 >= plen)
        return -1;
    *step = 2;
    return (unsigned char)pattern[p + 1];
}

int glob_match(const char *pattern, const char *s, size_t s_len)
{
    if (!pattern || (!s && s_len))
        return 0;
    size_t plen = strlen(pattern);
    size_t p = 0, i = 0;
    size_t star_p = 0, star_i = 0;
    int have_star = 0;

    while (i < s_len) {
        if (p < plen && pattern[p] == '*') {
            have_star = 1;
            star_p = ++p;
            star_i = i;
            continue;
        }
        if (p < plen && pattern[p] == '?') {
            p++;
            i++;
            continue;
        }
        if (p < plen) {
            size_t step;
            int c = literal_at(pattern, plen, p, &step);
            if (c == (unsigned char)s[i]) {
                p += step;
                i++;
                continue;
            }
        }
        if (!have_star)
            return 0;
        p = star_p; /* let the last '*' swallow one more byte */
        i = ++star_i;
    }
    while (p < plen && pattern[p] == '*')
        p++;
    return p == plen;
}

int glob_match_any(const char *const *patterns, const char *s, size_t s_len)
{
    if (!patterns)
        return 0;
    for (; *patterns; patterns++)
        if (glob_match(*patterns, s, s_len))
            return 1;
    return 0;
}
