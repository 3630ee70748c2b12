/* floor_main: sio-floor's command line, the process limits and signals, the
 * listening socket and the epoll loop (level-triggered). A turn is one
 * epoll_wait(): every event is handled, then out_end_turn() flushes what the
 * turn queued and frees what it closed. SIGTERM/SIGINT (a signalfd in the same
 * loop) end it with exit 0; losing Redis ends it with exit 1. */
#include "floor.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 1024
#define ACCEPTS_PER_TURN 512

floor_state F;

/* epoll data of the three fds that are not connections */
static char TAG_LISTEN, TAG_REDIS, TAG_SIGNAL;
static int spare_fd = -1; /* given up when the fds run out (shed) */

typedef struct floor_args {
    const char *port, *bind, *redis, *prefix;
    floor_mode mode;
} floor_args;

static void usage(FILE *to)
{
    fprintf(to, "usage: sio-floor --port P [--bind 127.0.0.1] --redis redis://HOST:PORT\n"
                "                 [--prefix socket.io] [--mode write|writev]\n"
                "\n"
                "The machine's floor of loadtest/bench: just enough Engine.IO v4 / Socket.IO v5\n"
                "for sio-bench's clients, and every broadcast from Redis written to its members\n"
                "with one write() each (write) or one writev() per socket per turn (writev).\n");
}

static int parse_args(int argc, char **argv, floor_args *a)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},  {"bind", required_argument, NULL, 'b'},
        {"redis", required_argument, NULL, 'r'}, {"prefix", required_argument, NULL, 'x'},
        {"mode", required_argument, NULL, 'm'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (floor_args){NULL, "127.0.0.1", NULL, "socket.io", MODE_WRITE};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'p': a->port = optarg; break;
        case 'b': a->bind = optarg; break;
        case 'r': a->redis = optarg; break;
        case 'x': a->prefix = optarg; break;
        case 'm':
            if (strcmp(optarg, "write") && strcmp(optarg, "writev")) {
                fprintf(stderr, "sio-floor: bad --mode '%s' (write or writev)\n", optarg);
                return -1;
            }
            a->mode = strcmp(optarg, "writev") == 0 ? MODE_WRITEV : MODE_WRITE;
            break;
        case 'h': return 1;
        default: return -1;
        }
    }
    char *end = NULL;
    long port = a->port ? strtol(a->port, &end, 10) : -1;
    const char *why = optind < argc ? "unexpected argument"
                      : !a->port || !*a->port || *end || port < 0 || port > 65535 ? "--port P (0-65535) is needed"
                      : !a->redis ? "--redis URL is needed"
                      : !*a->prefix ? "--prefix may not be empty" : NULL;
    if (why) {
        fprintf(stderr, "sio-floor: %s\n", why);
        return -1;
    }
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int open_listener(const floor_args *a)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai;
    int rc = getaddrinfo(a->bind, a->port, &hints, &ai);
    if (rc) {
        fprintf(stderr, "sio-floor: --bind %s: %s\n", a->bind, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4096)) {
        fprintf(stderr, "sio-floor: cannot listen on %s:%s: %s\n", a->bind, a->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* "listening on HOST:PORT" with the port bound (--port 0 picks one). */
static void print_ready(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
    if (getsockname(lfd, (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    fprintf(stderr, ss.ss_family == AF_INET6 ? "sio-floor: listening on [%s]:%s\n"
                                             : "sio-floor: listening on %s:%s\n", host, port);
}

static int watch(int fd, void *ptr)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};
    return epoll_ctl(F.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL))
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Out of fds: the spare one is given up to accept the connection and close it
 * at once (level-triggered, a connection left in the backlog would spin the loop). */
static void shed(int lfd)
{
    static int warned;
    if (!warned++)
        fprintf(stderr, "sio-floor: out of file descriptors: closing new connections\n");
    close(spare_fd);
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(int lfd)
{
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        if (fd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0)
                shed(lfd);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                fprintf(stderr, "sio-floor: accept: %s\n", strerror(errno));
            return;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as sio-server (lws) */
        if (!conn_new(fd))
            close(fd);
    }
}

static void on_conn_event(floor_conn *c, uint32_t events)
{
    if (c->flags & F_DEAD)
        return;
    if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
        conn_kill(c);
        return;
    }
    if (events & EPOLLOUT)
        conn_on_writable(c);
    if ((events & EPOLLIN) && !(c->flags & F_DEAD))
        conn_on_readable(c);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs until a signal (0) or the loss of Redis (1). */
static int run(int lfd, int rfd)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t last_sweep = now_ms();
    char err[256];
    for (;;) {
        int n = epoll_wait(F.epfd, evs, MAX_EVENTS, 1000);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "sio-floor: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        F.now_ms = now_ms();
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &TAG_LISTEN) {
                on_accept(lfd);
            } else if (p == &TAG_SIGNAL) {
                return 0;
            } else if (p == &TAG_REDIS) {
                if (redis_on_readable(rfd, err, sizeof(err))) {
                    fprintf(stderr, "sio-floor: %s\n", err);
                    return 1;
                }
            } else {
                on_conn_event(p, evs[i].events);
            }
        }
        out_end_turn();
        if (F.now_ms - last_sweep >= 1000) {
            last_sweep = F.now_ms;
            poll_sweep();
            out_end_turn();
        }
    }
}

int main(int argc, char **argv)
{
    floor_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    raise_nofile();
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    F.mode = a.mode;
    F.prefix = a.prefix;
    F.now_ms = now_ms();
    char err[256];
    int sfd = open_signals();
    int rfd = redis_open(a.redis, a.prefix, err, sizeof(err));
    if (rfd < 0) {
        fprintf(stderr, "sio-floor: %s\n", err);
        if (rfd == -2)
            usage(stderr);
        return rfd == -2 ? 2 : 1;
    }
    int lfd = open_listener(&a);
    F.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lfd < 0 || sfd < 0 || F.epfd < 0 || watch(lfd, &TAG_LISTEN) || watch(rfd, &TAG_REDIS) ||
        watch(sfd, &TAG_SIGNAL)) {
        if (lfd >= 0)
            fprintf(stderr, "sio-floor: cannot set up the event loop: %s\n", strerror(errno));
        return 1;
    }
    print_ready(lfd);
    rc = run(lfd, rfd);
    fprintf(stderr, "sio-floor: exit: %llu connections, %llu broadcasts, %llu deliveries, "
            "%llu messages skipped\n", (unsigned long long)F.n_conns,
            (unsigned long long)F.n_broadcasts, (unsigned long long)F.n_deliveries,
            (unsigned long long)F.n_skipped);
    return rc;
}
