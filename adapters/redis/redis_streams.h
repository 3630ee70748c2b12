/* redis_streams: the adapter's REDIS_ADAPTER=streams mode, wire-compatible
 * with @socket.io/redis-streams-adapter 0.3 (see redis_streams.c for the
 * format). The adapter owns it; cluster thread only. */
#ifndef SIO_REDIS_STREAMS_H
#define SIO_REDIS_STREAMS_H

#include "redis_adapter_internal.h"

typedef struct redis_streams redis_streams;

/* Starts its reading connection; `maxlen` bounds the stream (0: 10000). */
redis_streams *redis_streams_new(redis_adapter *a, const redis_endpoint *ep, size_t maxlen);
void redis_streams_free(redis_streams *s);
int redis_streams_is_up(const redis_streams *s);
const char *redis_streams_name(const redis_streams *s);
/* XADDs a broadcast (through the outbox): 0, -ENOBUFS or -EINVAL. */
int redis_streams_publish(redis_streams *s, const char *nsp, const adapter_broadcast *b);
/* A stream entry: its id, namespace and type, and (type "3") the decoded
 * broadcast with its uid (b zeroed otherwise; always clear it). 0 or -1. */
int redis_streams_entry(const redis_adapter *a, const redisReply *e, const char **id,
                        const char **nsp, const char **type, adapter_broadcast *b);
/* An ephemeral message on `prefix#nsp#` or this node's `prefix#nsp#uid#`. */
void redis_streams_on_message(redis_streams *s, nsp_state *ns, const uint8_t *msg, size_t len);
/* The edge's answer to such a request, published to its requester. */
void redis_streams_reply(redis_streams *s, const reply_msg *m);
/* `prefix#nsp#<this node's uid>#` (malloc'd). */
char *redis_streams_private_channel(const redis_streams *s, const nsp_state *ns);
/* Node's session key and value (base64 msgpack of {sid,pid,rooms,data,...}). */
char *redis_streams_session_key(const char *pid);
char *redis_streams_session_value(const json_t *session, size_t *len);
json_t *redis_streams_session_decode(const char *v, size_t len);

#endif
