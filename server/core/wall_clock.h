/* wall_clock: the wall clock in ms, and its ISO 8601 form (UTC, milliseconds,
 * as JavaScript's toISOString()). Thread-neutral. */
#ifndef SIO_WALL_CLOCK_H
#define SIO_WALL_CLOCK_H

#include <time.h>

static inline long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-12-03T18:27:37.123Z" into out (32 bytes). */
void wall_iso(long long ms, char out[32]);

#endif
