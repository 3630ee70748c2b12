/* ecs_watch: the ECS task metadata endpoint v4. On ECS the agent sets
 * ECS_CONTAINER_METADATA_URI_V4 in every container; GET <uri>/task answers
 * the task's JSON, whose "DesiredStatus" turns "STOPPED" as soon as ECS has
 * decided to stop the task (a deployment, a scale-in, a Spot interruption):
 * before the load balancer's deregistration delay runs out and cuts the
 * connections, and long before SIGTERM. ecs_watch polls it (one request at a
 * time, each bounded by the poll interval) and calls on_stopping until it
 * takes the news (once, normally); errors
 * and other answers are ignored (the endpoint may not be up yet). Cluster
 * thread only. */
#ifndef SIO_ECS_WATCH_H
#define SIO_ECS_WATCH_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct ecs_watch ecs_watch;

/* `uri` is copied. NULL on failure. */
/* on_stopping returns 0 when it took the news; else it is told again at the
 * next poll that still says STOPPED. */
ecs_watch *ecs_watch_new(struct event_base *base, const char *uri, uint32_t poll_ms,
                         int (*on_stopping)(void *ctx), void *ctx);
void ecs_watch_free(ecs_watch *w);

/* 1 when `body` is a task whose DesiredStatus is "STOPPED". */
int ecs_task_stopping(const char *body, size_t len);

#endif
