/* glob: shell-style pattern matching for room and namespace permissions.
 * '*' matches any run of characters (including none), '?' exactly one byte,
 * '\' escapes the next character; everything else matches itself. Iterative
 * (no recursion, no backtracking blow-up): O(len(pattern) * len(s)) worst case. */
#ifndef SIO_GLOB_H
#define SIO_GLOB_H

#include <stddef.h>

int glob_match(const char *pattern, const char *s, size_t s_len);
/* 1 when any pattern of the NULL-terminated list matches. */
int glob_match_any(const char *const *patterns, const char *s, size_t s_len);

#endif
