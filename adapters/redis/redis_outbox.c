#include "redis_outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { C_WAITING, C_INFLIGHT, C_DONE };

/* One command: argv and lengths point into the same allocation. */
typedef struct command {
    struct command *next;
    redis_outbox *o;
    int argc, state;
    uint64_t after;         /* the fence it waits for (redis_outbox_set_fence) */
    size_t bytes;
    const char **argv;
    size_t *lens;
} command;

struct redis_outbox {
    redis_sender sender;
    size_t max_commands, max_bytes;
    command *head, *tail;   /* in order; answered ones leave from the head */
    command *next_send;     /* where sending goes on (none before it waits) */
    int rescan;             /* a command in flight was lost: look from the head */
    size_t count, bytes;
    int open;
    const uint64_t *fence_sent, *fence_confirmed; /* NULL: no fence */
    redis_outbox_stats stats;
};

static command *command_new(redis_outbox *o, int argc, const char **argv, const size_t *lens)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += lens[i];
    size_t size = sizeof(command) + (size_t)argc * (sizeof(char *) + sizeof(size_t)) + bytes;
    command *c = malloc(size);
    if (!c)
        return NULL;
    *c = (command){NULL, o, argc, C_WAITING, o->fence_sent ? *o->fence_sent : 0, size,
                   (const char **)(c + 1), NULL};
    c->lens = (size_t *)(c->argv + argc);
    char *p = (char *)(c->lens + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        c->argv[i] = p;
        c->lens[i] = lens[i];
        p += lens[i];
    }
    return c;
}

/* Answered commands leave from the head, in order. */
static void pop_answered(redis_outbox *o)
{
    while (o->head && o->head->state == C_DONE) {
        command *c = o->head;
        o->head = c->next;
        if (!o->head)
            o->tail = NULL;
        if (o->next_send == c)
            o->next_send = o->head;
        o->count--;
        o->bytes -= c->bytes;
        free(c);
    }
}

static void send_waiting(redis_outbox *o);

/* Each command's own answer. NULL: its connection was lost; it goes again,
 * in its place, once the outbox is open (or the next answer comes). */
static void on_reply(redis_conn *conn, redisReply *reply, void *ud)
{
    command *c = ud;
    redis_outbox *o = c->o;
    if (c->state != C_INFLIGHT)
        return;
    if (!reply) {
        c->state = C_WAITING;
        o->stats.resent++;
        o->rescan = 1;
        return;
    }
    c->state = C_DONE;
    if (reply->type == REDIS_REPLY_ERROR)
        o->stats.failed++;
    else
        o->stats.sent++;
    pop_answered(o);
    send_waiting(o);
}

static void send_waiting(redis_outbox *o)
{
    if (o->rescan && o->open) {
        o->rescan = 0;
        o->next_send = o->head;
    }
    while (o->open && o->next_send) {
        command *c = o->next_send;
        if (c->state == C_WAITING && o->fence_confirmed && *o->fence_confirmed < c->after)
            return; /* what was subscribed before it is not active yet */
        if (c->state == C_WAITING) {
            if (o->sender.command(o->sender.ctx, on_reply, c, c->argc, c->argv, c->lens))
                return; /* down or its output full: the next answer or opening sends more */
            c->state = C_INFLIGHT;
        }
        o->next_send = c->next;
    }
}

int redis_outbox_has_room(const redis_outbox *o, size_t bytes)
{
    return o->count < o->max_commands && o->bytes + bytes <= o->max_bytes;
}

int redis_outbox_push(redis_outbox *o, int argc, const char **argv, const size_t *lens)
{
    command *c = command_new(o, argc, argv, lens);
    if (!c)
        return -ENOMEM;
    if (!redis_outbox_has_room(o, c->bytes)) {
        o->stats.refused++;
        free(c);
        return -ENOBUFS;
    }
    if (o->tail)
        o->tail->next = c;
    else
        o->head = c;
    o->tail = c;
    if (!o->next_send)
        o->next_send = c;
    o->count++;
    o->bytes += c->bytes;
    send_waiting(o);
    return 0;
}

void redis_outbox_set_open(redis_outbox *o, int open)
{
    o->open = open;
    send_waiting(o);
}

void redis_outbox_set_fence(redis_outbox *o, const uint64_t *sent, const uint64_t *confirmed)
{
    o->fence_sent = sent;
    o->fence_confirmed = confirmed;
}

void redis_outbox_fence_moved(redis_outbox *o)
{
    send_waiting(o);
}

void redis_outbox_fence_reset(redis_outbox *o, uint64_t after)
{
    for (command *c = o->head; c; c = c->next)
        if (c->state == C_WAITING)
            c->after = after;
    send_waiting(o);
}

redis_outbox *redis_outbox_new(const redis_sender *sender, size_t max_commands, size_t max_bytes)
{
    redis_outbox *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->sender = *sender;
    o->max_commands = max_commands;
    o->max_bytes = max_bytes;
    return o;
}

void redis_outbox_free(redis_outbox *o)
{
    if (!o)
        return;
    while (o->head) {
        command *c = o->head;
        o->head = c->next;
        free(c);
    }
    free(o);
}

size_t redis_outbox_depth(const redis_outbox *o)
{
    return o->count;
}

const redis_outbox_stats *redis_outbox_get_stats(const redis_outbox *o)
{
    return &o->stats;
}
