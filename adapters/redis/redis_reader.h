/* redis_reader: hiredis's RESP reader with a memory budget per reply.
 *
 * hiredis 0.14 (bookworm) has no bound on what one reply may allocate: a
 * header "*999999990\r\n" makes it calloc 8 GB before a single element has
 * arrived. Here the reply objects are built by our own functions, which count
 * every byte of the reply being parsed (objects and strings) and refuse past
 * `max_reply_bytes`; unparsed input is held to the same bound. The objects are
 * laid out as hiredis's, so freeReplyObject frees them.
 *
 * Errors: 0 on success, -EPROTO for malformed RESP, -E2BIG for a reply past
 * the budget, -ENOMEM when malloc fails. Once an error is returned the reader
 * is spent: free it and make a new one for a new connection.
 *
 * Ownership: the reader owns the bytes it was fed; every reply handed out is
 * the caller's, freed with freeReplyObject. One thread, no locks. */
#ifndef SIO_REDIS_READER_H
#define SIO_REDIS_READER_H

#include <stddef.h>

#include <hiredis/hiredis.h>

typedef struct redis_reader redis_reader;

redis_reader *redis_reader_new(size_t max_reply_bytes);
void redis_reader_free(redis_reader *r);

/* Appends input bytes (copied). */
int redis_reader_feed(redis_reader *r, const char *buf, size_t len);

/* The next complete reply in *out, or *out = NULL when it has not all arrived. */
int redis_reader_next(redis_reader *r, redisReply **out);

/* What went wrong, after a negative return ("" before). */
const char *redis_reader_error(const redis_reader *r);

#endif
