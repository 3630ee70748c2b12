/* bench_net.h: TCP connect and HTTP/1.1 response-head parsing, shared by the
 * WebSocket and polling transports and the self-test source. */
#ifndef SIO_BENCH_NET_H
#define SIO_BENCH_NET_H

#include <stddef.h>

#include "bench.h"

/* Opens a non-blocking TCP socket to u and starts connecting. Returns the fd,
 * or -1 with errno set. *pending is 1 while the connect is in progress. */
int net_connect(const bench_url *u, int *pending);
/* After a pending connect became writable: 0 when connected, else the errno. */
int net_connect_result(int fd);

/* The length of the header block (through CRLF CRLF), or 0 when incomplete. */
size_t http_head_len(const char *buf, size_t len);
/* The status code of a response head, or -1. */
int http_status(const char *head, size_t len);
/* Finds header `name` (case-insensitive); returns 0 with the trimmed value. */
int http_header(const char *head, size_t len, const char *name, const char **val, size_t *vlen);
/* Writes "HTTP <status> <reason>" of a head into out. */
void http_status_line(const char *head, size_t len, char *out, size_t outlen);

#endif
