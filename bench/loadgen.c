/* Open-loop HTTP/1.1 load generator: a fixed request rate, latency from the *intended* send time.

   loadgen HOST PORT RATE SECONDS CONNS CLOSE [PATH]

   Request i is due at t0 + i/RATE (constant spacing, as wrk2 does). A due request goes out on a
   free connection at once; when all CONNS connections are busy it waits in a queue, and that wait
   counts in its latency: latency = response complete - intended send time. That is what a client
   arriving on schedule sees, and it is what a closed-loop tool (wrk, or wrk with a Lua delay())
   leaves out ("coordinated omission": a stalled server also stalls the requests that would have
   measured the stall). The uncorrected figure (response complete - moment it actually left) is
   reported too, as service_*. send_lag_* = moment it left - intended (the generator's own
   lateness plus waiting for a free connection); gen_lag_* = the generator's lateness alone (how
   late its loop noticed that a request was due: it shares the CPUs with the servers).

   CLOSE=0: CONNS keep-alive connections opened before t0; a connection the server closes is
   reopened for the next request (the reconnect counts in that request's latency), which is how
   servers that close after every response (uWSGI --http-socket) are measured. CLOSE=1: every
   request sends "Connection: close" on a new connection, at most CONNS at a time.

   Requests still unanswered DRAIN seconds after the schedule ends count as errors, with their
   latency taken as (deadline - intended) so that they cannot make the percentiles look better.
   Responses must carry Content-Length or end at EOF (no chunked bodies: the bench apps do not
   send any). Output: one JSON object on stdout. Linux only (epoll, timerfd). Built by the bench
   with `cc -O2`; stdlib + libc only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_NS 3000000000LL

enum { FREE_CLOSED, FREE_OPEN, CONNECTING, WAITING };

typedef struct {
    int fd, state, reused, status, got_head, to_eof;
    int64_t intended, started, sent;
    long body_left;
    size_t hlen;
    char head[8192];
} conn_t;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct sockaddr_in addr;
static char req[512];
static size_t req_len;
static int ep;
static conn_t *conns;
static int nconns, close_mode;
static int64_t *lat, *svc, *lag, *glag;
static size_t nglag;
static size_t nlat, cap;
static long errors, non2xx, reconnects, connect_errors, opened;
static int *free_stack, nfree;

static void record(int64_t l, int64_t s, int64_t g) {
    if (nlat == cap) {
        cap = cap ? cap * 2 : 65536;
        lat = realloc(lat, cap * sizeof *lat);
        svc = realloc(svc, cap * sizeof *svc);
        lag = realloc(lag, cap * sizeof *lag);
        if (!lat || !svc || !lag) { perror("realloc"); exit(2); }
    }
    lat[nlat] = l; svc[nlat] = s; lag[nlat] = g; nlat++;
}

static void release(int i) { free_stack[nfree++] = i; }

static void close_conn(conn_t *c) {
    if (c->fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); }
    c->fd = -1;
    c->state = FREE_CLOSED;
}

static int set_events(conn_t *c, int i, uint32_t ev, int op) {
    struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)i};
    return epoll_ctl(ep, op, c->fd, &e);
}

static int send_req(conn_t *c) {
    ssize_t n = send(c->fd, req, req_len, MSG_NOSIGNAL);
    if (n != (ssize_t)req_len) return -1;
    c->sent = now_ns();
    c->hlen = 0; c->got_head = 0; c->status = 0; c->body_left = 0; c->to_eof = 0;
    c->state = WAITING;
    return 0;
}

static void open_and_send(conn_t *c, int i);

/* put request `intended` on connection i (free) */
static void start(int i, int64_t intended) {
    conn_t *c = &conns[i];
    c->intended = intended;
    c->started = now_ns();
    if (c->state == FREE_OPEN) {
        c->reused = 1;
        if (send_req(c) == 0) { set_events(c, i, EPOLLIN, EPOLL_CTL_MOD); return; }
        close_conn(c);   /* the server closed it while idle: reconnect */
        reconnects++;
    }
    open_and_send(c, i);
}

static void open_and_send(conn_t *c, int i) {
    c->reused = 0;
    opened++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { perror("socket"); exit(2); }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        if (send_req(c) == 0) { set_events(c, i, EPOLLIN, EPOLL_CTL_ADD); return; }
    } else if (errno == EINPROGRESS) {
        c->state = CONNECTING;
        set_events(c, i, EPOLLOUT, EPOLL_CTL_ADD);
        return;
    }
    /* could not even connect: the request fails */
    connect_errors++; errors++;
    close(c->fd); c->fd = -1; c->state = FREE_CLOSED;
    record(now_ns() - c->intended, now_ns() - c->started, c->started - c->intended);
    release(i);
}

static void finish(int i, int ok) {
    conn_t *c = &conns[i];
    int64_t t = now_ns();
    if (ok) {
        record(t - c->intended, t - c->started, c->started - c->intended);
        if (c->status < 200 || c->status > 399) non2xx++;
    } else {
        errors++;
        record(t - c->intended, t - c->started, c->started - c->intended);
    }
    release(i);
}

/* parse what we have of the head; returns 1 once the head is complete */
static int parse_head(conn_t *c, size_t *body_bytes) {
    char *end = memmem(c->head, c->hlen, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t hl = (size_t)(end - c->head) + 4;
    *body_bytes = c->hlen - hl;
    c->status = (c->hlen > 12) ? atoi(c->head + 9) : 0;
    c->to_eof = 1;
    c->body_left = 0;
    for (char *p = c->head; p < end;) {
        char *nl = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (!nl) break;
        if ((size_t)(nl - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) {
            c->body_left = atol(p + 15);
            c->to_eof = 0;
        }
        p = nl + 2;
    }
    c->got_head = 1;
    return 1;
}

static void on_readable(int i) {
    conn_t *c = &conns[i];
    char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) {
            size_t body = (size_t)n;
            if (!c->got_head) {
                size_t room = sizeof c->head - c->hlen, take = (size_t)n < room ? (size_t)n : room;
                memcpy(c->head + c->hlen, buf, take);
                c->hlen += take;
                if (!parse_head(c, &body)) {
                    if (c->hlen == sizeof c->head) { close_conn(c); finish(i, 0); return; }
                    continue;
                }
                body += (size_t)n - take;   /* anything beyond the head buffer is body */
            }
            if (!c->to_eof) {
                c->body_left -= (long)body;
                if (c->body_left <= 0) {
                    if (close_mode) close_conn(c);
                    else c->state = FREE_OPEN;   /* if the server closed it we notice on reuse */
                    finish(i, 1);
                    return;
                }
            }
            continue;
        }
        if (n == 0) {
            if (c->got_head && c->to_eof) { close_conn(c); finish(i, 1); return; }
            if (c->reused && c->hlen == 0) {   /* stale keep-alive connection: retry fresh */
                close_conn(c);
                reconnects++;
                open_and_send(c, i);
                return;
            }
            close_conn(c); finish(i, 0); return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        if (c->reused && c->hlen == 0 && (errno == ECONNRESET || errno == EPIPE)) {
            close_conn(c); reconnects++; open_and_send(c, i); return;
        }
        close_conn(c); finish(i, 0); return;
    }
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(int64_t *v, size_t n, double p) {
    if (!n) return -1;
    size_t k = (size_t)(p / 100.0 * (double)n);
    if (k >= n) k = n - 1;
    return (double)v[k] / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT RATE SECONDS CONNS CLOSE [PATH]\n", argv[0]);
        return 2;
    }
    double rate = atof(argv[3]), secs = atof(argv[4]);
    nconns = atoi(argv[5]);
    close_mode = atoi(argv[6]);
    const char *path = argc > 7 ? argv[7] : "/";
    if (rate <= 0 || secs <= 0 || nconns <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
    req_len = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n%s\r\n", path,
                               argv[1], argv[2], close_mode ? "Connection: close\r\n" : "");
    ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event te = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);
    conns = calloc((size_t)nconns, sizeof *conns);
    free_stack = calloc((size_t)nconns, sizeof *free_stack);
    for (int i = nconns - 1; i >= 0; i--) { conns[i].fd = -1; release(i); }
    if (!close_mode) {   /* keep-alive: connect everything before the clock starts, like wrk */
        for (int i = 0; i < nconns; i++) {
            conn_t *c = &conns[i];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
            opened++;
            fcntl(c->fd, F_SETFL, O_NONBLOCK);
            c->state = FREE_OPEN;
            set_events(c, i, 0, EPOLL_CTL_ADD);
        }
    }
    int64_t interval = (int64_t)(1e9 / rate);
    int64_t t0 = now_ns() + 1000000, end = t0 + (int64_t)(secs * 1e9), next = t0;
    size_t qcap = (size_t)(rate * secs) + 16, qhead = 0, qtail = 0, qmax = 0;
    int64_t *queue = malloc(qcap * sizeof *queue);
    glag = malloc(qcap * sizeof *glag);
    long scheduled = 0;
    int64_t last_done = t0;
    struct epoll_event evs[128];
    for (;;) {
        int64_t t = now_ns();
        while (next <= t && next < end) {   /* glag: how late this loop noticed a due request */
            queue[qtail++] = next; glag[nglag++] = t - next; next += interval; scheduled++;
        }
        if (qtail - qhead > qmax) qmax = qtail - qhead;
        while (qhead < qtail && nfree > 0) start(free_stack[--nfree], queue[qhead++]);
        int busy = nconns - nfree;
        if (next >= end && qhead == qtail && busy == 0) break;
        if (t > end + DRAIN_NS) break;
        int64_t wake = next < end ? next : end + DRAIN_NS;
        struct itimerspec its = {0};
        its.it_value.tv_sec = wake / 1000000000LL;
        its.it_value.tv_nsec = wake % 1000000000LL;
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        int n = epoll_wait(ep, evs, 128, -1);
        for (int k = 0; k < n; k++) {
            uint32_t i = evs[k].data.u32;
            if (i == 0xffffffffu) { uint64_t x; (void)!read(tfd, &x, sizeof x); continue; }
            conn_t *c = &conns[i];
            if (c->state == FREE_OPEN) {   /* the server closed an idle keep-alive connection */
                close_conn(c);
                continue;
            }
            if (c->state == CONNECTING) {
                int err = 0; socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err || send_req(c) != 0) { connect_errors++; close_conn(c); finish(i, 0); continue; }
                set_events(c, (int)i, EPOLLIN, EPOLL_CTL_MOD);
            } else if (c->state == WAITING) {
                on_readable((int)i);
                if (c->state != WAITING) last_done = now_ns();
            }
        }
    }
    /* anything left unanswered: an error, latency censored at the deadline */
    int64_t deadline = now_ns();
    long unfinished = 0;
    for (int i = 0; i < nconns; i++)
        if (conns[i].state == WAITING || conns[i].state == CONNECTING) {
            record(deadline - conns[i].intended, deadline - conns[i].started, 0);
            errors++; unfinished++;
        }
    for (; qhead < qtail; qhead++) { record(deadline - queue[qhead], 0, 0); errors++; unfinished++; }
    size_t n = nlat;
    long completed = (long)n - errors;
    double span = (double)(last_done - t0) / 1e9;
    if (span < secs) span = secs;
    qsort(lat, n, sizeof *lat, cmp64);
    qsort(svc, n, sizeof *svc, cmp64);
    qsort(lag, n, sizeof *lag, cmp64);
    qsort(glag, nglag, sizeof *glag, cmp64);
    printf("{\"target_rps\": %.1f, \"seconds\": %.3f, \"connections\": %d, \"close\": %d, "
           "\"scheduled\": %ld, \"completed\": %ld, \"achieved_rps\": %.1f, \"errors\": %ld, "
           "\"unfinished\": %ld, \"connect_errors\": %ld, \"non2xx\": %ld, \"reconnects\": %ld, \"connections_opened\": %ld, "
           "\"max_queued\": %zu, "
           "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, "
           "\"service_p50_ms\": %.3f, \"service_p99_ms\": %.3f, \"service_max_ms\": %.3f, "
           "\"send_lag_p99_ms\": %.3f, \"send_lag_max_ms\": %.3f, "
           "\"gen_lag_p99_ms\": %.3f, \"gen_lag_max_ms\": %.3f}\n",
           rate, secs, nconns, close_mode, scheduled, completed, (double)completed / span, errors,
           unfinished, connect_errors, non2xx, reconnects, opened, qmax,
           pct(lat, n, 50), pct(lat, n, 90), pct(lat, n, 99), pct(lat, n, 99.9),
           n ? (double)lat[n - 1] / 1e6 : -1, pct(svc, n, 50), pct(svc, n, 99),
           n ? (double)svc[n - 1] / 1e6 : -1, pct(lag, n, 99), n ? (double)lag[n - 1] / 1e6 : -1,
           pct(glag, nglag, 99), nglag ? (double)glag[nglag - 1] / 1e6 : -1);
    return 0;
}
