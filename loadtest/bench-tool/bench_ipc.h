/* bench_ipc.h: the messages between the parent and its workers, over one
 * socketpair per worker: a header {type, length} and a payload of plain
 * structs (both ends are the same binary). */
#ifndef SIO_BENCH_IPC_H
#define SIO_BENCH_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "bench_stats.h"

enum {
    MSG_READY = 1,    /* worker -> parent: bench_counters; every connection is ready or failed */
    MSG_PROGRESS = 2, /* worker -> parent: bench_counters, once a second */
    MSG_REPORT = 3,   /* worker -> parent: bench_counters, bench_hist, u64 subs[rooms], u64 unique[rooms] */
    MSG_FINISH = 10,  /* parent -> worker: double drain_s, u64 published[rooms] */
};

typedef struct ipc_hdr {
    uint32_t type;
    uint32_t len;
} ipc_hdr;

#define IPC_MAX_PARTS 4

/* Writes one message made of up to IPC_MAX_PARTS pieces; blocks until sent. */
int ipc_send(int fd, uint32_t type, const void *const *parts, const size_t *lens, size_t n_parts);
/* Blocking read of exactly len bytes; 0, or -1 on EOF/error. */
int ipc_read_full(int fd, void *buf, size_t len);

#endif
