/* bench_rooms: which rooms each client joins (--dist one | k:K | hot:H) and
 * how room indexes map to names (prefix + 1-based number) and back. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

size_t bench_rooms_of(const bench_config *cfg, uint32_t client, uint32_t *out, size_t max)
{
    uint32_t n = cfg->rooms;
    if (n == 0 || max == 0)
        return 0;
    switch (cfg->dist) {
    case DIST_ONE:
        out[0] = client % n;
        return 1;
    case DIST_HOT: {
        uint32_t hot = cfg->dist_arg;
        out[0] = client % hot;
        if (n <= hot || max < 2)
            return 1;
        out[1] = hot + client % (n - hot);
        return 2;
    }
    case DIST_K: {
        uint64_t st = cfg->seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)client + 1) * 0xD1B54A32D192ED03ull;
        size_t k = cfg->dist_arg < max ? cfg->dist_arg : max, got = 0;
        while (got < k) {
            uint32_t r = (uint32_t)(bench_rand(&st) % n);
            size_t i = 0;
            while (i < got && out[i] != r)
                i++;
            if (i == got)
                out[got++] = r;
        }
        return got;
    }
    }
    return 0;
}

int bench_room_name(const bench_config *cfg, uint32_t room, char *out, size_t n)
{
    int w = snprintf(out, n, "%s%u", cfg->room_prefix, room + 1);
    return w < 0 || (size_t)w >= n ? -1 : w;
}

int64_t bench_room_index(const bench_config *cfg, const char *name, size_t len)
{
    size_t pl = strlen(cfg->room_prefix);
    if (len <= pl || memcmp(name, cfg->room_prefix, pl) != 0 || len - pl > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = pl; i < len; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v >= 1 && v <= cfg->rooms ? (int64_t)(v - 1) : -1;
}
