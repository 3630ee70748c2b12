#include "redis_outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One command: argv and lengths point into the same allocation. */
typedef struct command {
    struct command *next;
    int argc;
    size_t bytes;
    const char **argv;
    size_t *lens;
} command;

struct redis_outbox {
    redis_conn *conn;
    size_t max_commands, max_bytes;
    command *head, *tail;   /* [head, unsent) in flight, [unsent, tail] waiting */
    command *unsent;
    size_t count, bytes;
    int open;
    redis_outbox_stats stats;
};

static command *command_new(int argc, const char **argv, const size_t *lens)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += lens[i];
    size_t size = sizeof(command) + (size_t)argc * (sizeof(char *) + sizeof(size_t)) + bytes;
    command *c = malloc(size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->argc = argc;
    c->bytes = size;
    c->argv = (const char **)(c + 1);
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

static void pop_head(redis_outbox *o)
{
    command *c = o->head;
    o->head = c->next;
    if (!o->head)
        o->tail = NULL;
    if (o->unsent == c)
        o->unsent = o->head;
    o->count--;
    o->bytes -= c->bytes;
    free(c);
}

static void send_waiting(redis_outbox *o);

/* The connection was lost: what was in flight goes again, in order. */
static void lost(redis_outbox *o)
{
    for (command *c = o->head; c && c != o->unsent; c = c->next)
        o->stats.resent++;
    o->unsent = o->head;
}

/* Replies come in the order of the commands: each answers the head. When the
 * connection is lost, every command in flight gets NULL: the first marks them
 * all for sending again, the others then find nothing in flight. */
static void on_reply(redis_conn *conn, redisReply *reply, void *ud)
{
    redis_outbox *o = ud;
    if (!o->head || o->head == o->unsent)
        return;
    if (!reply) {
        lost(o);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR)
        o->stats.failed++;
    else
        o->stats.sent++;
    pop_head(o);
    send_waiting(o);
}

static void send_waiting(redis_outbox *o)
{
    while (o->open && o->unsent) {
        command *c = o->unsent;
        if (redis_conn_command(o->conn, on_reply, o, c->argc, c->argv, c->lens)) {
            if (redis_conn_is_up(o->conn))
                return; /* its output is full: the next reply sends more */
            lost(o); /* down: nothing more goes until it is open again */
            o->open = 0;
            return;
        }
        o->unsent = c->next;
    }
}

int redis_outbox_has_room(const redis_outbox *o, size_t bytes)
{
    return o->count < o->max_commands && o->bytes + bytes <= o->max_bytes;
}

int redis_outbox_push(redis_outbox *o, int argc, const char **argv, const size_t *lens)
{
    command *c = command_new(argc, argv, lens);
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
    if (!o->unsent)
        o->unsent = c;
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

redis_outbox *redis_outbox_new(redis_conn *conn, size_t max_commands, size_t max_bytes)
{
    redis_outbox *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->conn = conn;
    o->max_commands = max_commands;
    o->max_bytes = max_bytes;
    return o;
}

void redis_outbox_free(redis_outbox *o)
{
    if (!o)
        return;
    while (o->head)
        pop_head(o);
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
