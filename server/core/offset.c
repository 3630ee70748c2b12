#include "offset.h"

#include <string.h>

static int digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    *p = s;
    return 0;
}

int offset_parse(const char *s, uint64_t *hi, uint64_t *lo)
{
    if (strlen(s) >= OFFSET_TEXT_MAX || digits(&s, hi) || *s++ != '-' || digits(&s, lo))
        return -1;
    return *s ? -1 : 0;
}

int offset_cmp(const char *a, const char *b)
{
    uint64_t ah, al, bh, bl;
    if (offset_parse(a, &ah, &al) || offset_parse(b, &bh, &bl))
        return 0;
    if (ah != bh)
        return ah < bh ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

static int in_list(const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

int session_included(const char *const *rooms, size_t n_rooms, const char *const *to,
                         size_t n_to, const char *const *except, size_t n_except)
{
    int included = n_to == 0;
    for (size_t i = 0; i < n_rooms; i++) {
        if (in_list(except, n_except, rooms[i]))
            return 0;
        included = included || in_list(to, n_to, rooms[i]);
    }
    return included;
}

