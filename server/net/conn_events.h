/* conn_events: the connection events edge_lws.c delivers to conn.c, in plain
 * types (edge_lws.c sees libwebsockets.h, which cannot meet http_parser.h). */
#ifndef SIO_NET_CONN_EVENTS_H
#define SIO_NET_CONN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct edge;
struct lws;

/* `c`: lws's zeroed per-connection storage, sizeof(conn) bytes. */
void conn_on_adopt(struct edge *e, struct conn *c, struct lws *wsi);
int conn_on_readable(struct conn *c, uint8_t *p, size_t n);
void conn_on_writable(struct conn *c);
/* Also for a connection that never got as far as conn_on_adopt (c may be NULL). */
void conn_on_closed(struct conn *c);

#endif
