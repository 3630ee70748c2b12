/* offset: what every store of connection state recovery shares: offsets as
 * text "<digits>-<digits>" (a Redis stream id "ms-seq", or the in-memory
 * store's "boot-seq"), parsed and compared, and which broadcasts a session
 * would have received. Pure; both threads use it. */
#ifndef SIO_OFFSET_H
#define SIO_OFFSET_H

#include <stddef.h>
#include <stdint.h>

#define OFFSET_TEXT_MAX 48 /* with its NUL: longer text is no offset */

/* 0 with both numbers, or -1 when `s` is not an offset. */
int offset_parse(const char *s, uint64_t *hi, uint64_t *lo);
/* <0, 0, >0 as a is before, equal to or after b (0 when either is no offset). */
int offset_cmp(const char *a, const char *b);

/* socket.io-adapter's shouldIncludePacket: a session in `rooms` gets a
 * broadcast to rooms `to` (none: everyone) minus those in any `except` room. */
int session_included(const char *const *rooms, size_t n_rooms, const char *const *to, size_t n_to,
                     const char *const *except, size_t n_except);

#endif
