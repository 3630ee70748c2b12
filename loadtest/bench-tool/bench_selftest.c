/* bench_selftest: --self-test. Measures sio-bench's own receive path on one
 * core: a child process plays a minimal Socket.IO server on loopback (HTTP
 * upgrade, Engine.IO open, CONNECT and subscribe answers, frames written by
 * wslay) and then streams bench events to every subscribed client as fast as
 * the sockets take them, in batches, with per-room sequence numbers. One
 * worker receives them through the normal code path; its delivery rate and
 * deliveries per CPU-second are the numbers to read. */
#include "bench_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include "bench_net.h"
#include "bench_worker.h"


typedef struct source {
    struct event_base *base;
    uint32_t batch;              /* events generated per write */
    uint32_t expected;           /* clients; streaming starts when all subscribed */
    uint32_t subscribed;
    struct src_conn **list;      /* the subscribed ones */
    int streaming;
} source;

typedef struct src_conn {
    source *src;
    struct event_base *base;
    uint32_t index;              /* in src->list */
    int fd;
    struct event *rev, *wev;
    wslay_frame_context_ptr fr;
    char in[4096];
    size_t in_len;
    int upgraded, streaming;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    char room[256];
    uint32_t seq;
} src_conn;

static void src_close(src_conn *s)
{
    if (s->src->list && s->src->list[s->index] == s)
        s->src->list[s->index] = NULL;
    event_free(s->rev);
    if (s->wev)
        event_free(s->wev);
    close(s->fd);
    wslay_frame_context_free(s->fr);
    free(s->out);
    free(s);
}

static ssize_t src_send_cb(const uint8_t *data, size_t len, int flags, void *ud)
{
    src_conn *s = ud;
    if (s->out_len + len > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap * 2 : 65536;
        while (cap < s->out_len + len)
            cap *= 2;
        uint8_t *p = realloc(s->out, cap);
        if (!p)
            return -1;
        s->out = p;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return (ssize_t)len;
}

static ssize_t src_recv_cb(uint8_t *buf, size_t len, int flags, void *ud)
{
    src_conn *s = ud;
    ssize_t n = recv(s->fd, buf, len, 0);
    return n > 0 ? n : -1;
}

static int src_genmask(uint8_t *buf, size_t len, void *ud)
{
    memset(buf, 0, len);
    return 0;
}

static const struct wslay_frame_callbacks SRC_CALLBACKS = {src_send_cb, src_recv_cb, src_genmask};

static void text(src_conn *s, const char *msg)
{
    size_t len = strlen(msg);
    struct wslay_frame_iocb io = {.fin = 1, .opcode = WSLAY_TEXT_FRAME, .payload_length = len,
                                  .data = (const uint8_t *)msg, .data_length = len};
    wslay_frame_send(s->fr, &io);
}

/* Writes what is buffered; 1 when all of it went out, 0 when the socket is full, -1 on error. */
static int flush_out(src_conn *s)
{
    while (s->out_off < s->out_len) {
        ssize_t n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
        s->out_off += (size_t)n;
    }
    s->out_off = s->out_len = 0;
    return 1;
}

static void on_src_writable(evutil_socket_t fd, short what, void *arg)
{
    src_conn *s = arg;
    for (int rounds = 0; rounds < 4; rounds++) {
        int rc = flush_out(s);
        if (rc < 0) {
            src_close(s);
            return;
        }
        if (rc == 0 || !s->src->streaming)
            return;
        char msg[400];
        uint64_t t = bench_now_us();
        for (uint32_t i = 0; i < s->src->batch; i++) {
            int n = snprintf(msg, sizeof(msg), "42[\"bench\",{\"t\":%llu,\"room\":\"%s\",\"seq\":%u}]",
                             (unsigned long long)t, s->room, ++s->seq);
            struct wslay_frame_iocb io = {.fin = 1, .opcode = WSLAY_TEXT_FRAME,
                                          .payload_length = (uint64_t)n,
                                          .data = (const uint8_t *)msg, .data_length = (size_t)n};
            wslay_frame_send(s->fr, &io);
        }
    }
}

/* Every client subscribed (or the ramp-up is over): stream to all at once, so
 * that the ramp-up is not slowed down by the stream. */
static void start_streaming(source *src)
{
    if (src->streaming)
        return;
    src->streaming = 1;
    for (uint32_t i = 0; i < src->subscribed; i++)
        if (src->list[i])
            event_add(src->list[i]->wev, NULL);
}

static void on_client_text(src_conn *s, const uint8_t *p, size_t n)
{
    char reply[512];
    if (n >= 2 && p[0] == '4' && p[1] == '0') {
        text(s, "40{\"sid\":\"selftest\"}");
    } else if (n >= 2 && p[0] == '4' && p[1] == '2') {
        unsigned id = 0;
        size_t i = 2;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            id = id * 10 + (unsigned)(p[i++] - '0');
        const uint8_t *r = memmem(p, n, "\",[\"", 4), *e;
        if (!r || !(e = memchr(r + 4, '"', (size_t)(p + n - r - 4))) ||
            (size_t)(e - r - 4) >= sizeof(s->room))
            return;
        snprintf(s->room, sizeof(s->room), "%.*s", (int)(e - r - 4), r + 4);
        snprintf(reply, sizeof(reply), "43%u[{\"ok\":true,\"rooms\":[\"%s\"]}]", id, s->room);
        text(s, reply);
        source *src = s->src;
        if (s->streaming || src->subscribed == src->expected)
            return;
        s->streaming = 1;
        s->index = src->subscribed;
        src->list[src->subscribed++] = s;
        if (src->subscribed == src->expected)
            start_streaming(src);
    }
}

static void on_src_readable(evutil_socket_t fd, short what, void *arg)
{
    src_conn *s = arg;
    if (!s->upgraded) {
        ssize_t n = recv(fd, s->in + s->in_len, sizeof(s->in) - 1 - s->in_len, 0);
        if (n <= 0) {
            src_close(s);
            return;
        }
        s->in_len += (size_t)n;
        size_t head = http_head_len(s->in, s->in_len);
        const char *key;
        size_t kl;
        if (!head)
            return;
        if (http_header(s->in, head, "Sec-WebSocket-Key", &key, &kl) || kl > 64) {
            src_close(s);
            return;
        }
        char buf[128], acc[64], resp[256];
        unsigned char sha[SHA_DIGEST_LENGTH];
        int bl = snprintf(buf, sizeof(buf), "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)kl, key);
        SHA1((const unsigned char *)buf, (size_t)bl, sha);
        EVP_EncodeBlock((unsigned char *)acc, sha, SHA_DIGEST_LENGTH);
        int rl = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
        src_send_cb((const uint8_t *)resp, (size_t)rl, 0, s);
        text(s, "0{\"sid\":\"selftest\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,"
                "\"maxPayload\":1000000}");
        s->upgraded = 1;
        if (flush_out(s) < 0)
            src_close(s);
        return;
    }
    for (;;) {
        struct wslay_frame_iocb io;
        ssize_t r = wslay_frame_recv(s->fr, &io);
        if (r == WSLAY_ERR_WANT_READ)
            return;
        if (r < 0 || io.opcode == WSLAY_CONNECTION_CLOSE) {
            src_close(s);
            return;
        }
        /* the client's frames are small: each arrives whole */
        if (io.opcode == WSLAY_TEXT_FRAME && io.data_length == io.payload_length)
            on_client_text(s, io.data, io.data_length);
        if (flush_out(s) < 0) {
            src_close(s);
            return;
        }
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    src_conn *s = calloc(1, sizeof(*s));
    if (!s) {
        close(fd);
        return;
    }
    evutil_make_socket_nonblocking(fd);
    source *src = arg;
    s->src = src;
    s->base = src->base;
    s->fd = fd;
    s->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_src_readable, s);
    s->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_src_writable, s);
    if (!s->rev || !s->wev || wslay_frame_context_init(&s->fr, &SRC_CALLBACKS, s)) {
        close(fd);
        free(s);
        return;
    }
    event_add(s->rev, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void on_ramp_over(evutil_socket_t fd, short what, void *arg)
{
    start_streaming(arg);
}

static void source_main(int lfd, const bench_config *cfg)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    source src = {.base = event_base_new(), .batch = cfg->batch, .expected = cfg->connections};
    src.list = calloc(cfg->connections, sizeof(src_conn *));
    struct event_base *base = src.base;
    struct evconnlistener *l =
        base && src.list ? evconnlistener_new(base, on_accept, &src, LEV_OPT_CLOSE_ON_FREE, -1, lfd)
                         : NULL;
    if (!l)
        _exit(1);
    struct event *deadline = evtimer_new(base, on_deadline, base);
    struct event *ramp = evtimer_new(base, on_ramp_over, &src);
    struct timeval tv = {(time_t)(cfg->ramp_timeout + cfg->duration + 60), 0};
    struct timeval rt = {(time_t)cfg->ramp_timeout, 0};
    evtimer_add(deadline, &tv);
    evtimer_add(ramp, &rt);
    event_base_dispatch(base);
    _exit(0);
}

int bench_self_test(bench_config *cfg)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("sio-bench: self-test listener");
        return 1;
    }
    char url[64], err[256];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%u/socket.io/", ntohs(sa.sin_port));
    if (bench_url_parse(url, &cfg->urls[0], err, sizeof(err)) ||
        bench_url_resolve(&cfg->urls[0], err, sizeof(err))) {
        fprintf(stderr, "sio-bench: %s\n", err);
        return 1;
    }
    cfg->n_urls = 1;
    cfg->workers = 1;
    cfg->rooms = cfg->connections;
    cfg->dist = DIST_ONE;
    cfg->rate = 0;
    cfg->drain = 0;
    fflush(stdout);
    pid_t src = fork();
    if (src < 0) {
        perror("sio-bench: fork");
        return 1;
    }
    if (src == 0)
        source_main(lfd, cfg);
    close(lfd);
    printf("sio-bench self-test: 1 worker, %u connections, each streamed bench events by a "
           "built-in frame source for %gs, %u events per write\n", cfg->connections, cfg->duration,
           cfg->batch);
    int rc = bench_run(cfg);
    kill(src, SIGTERM);
    waitpid(src, NULL, 0);
    return rc;
}
