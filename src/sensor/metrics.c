/* sensor: a tiny HTTP/1.0 server for the metrics page. Loopback only, one connection at a
 * time, requests of at most 4 KiB read within 2 s, the page at most 256 KiB. */
#include "sensor_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define REQ_MAX 4096
#define PAGE_MAX (256 * 1024)
#define IO_TIMEOUT_S 2

struct metrics_srv {
    int fd;
    int stop_pipe[2];
    uint16_t port;
    pthread_t thread;
    bool started;
    size_t (*fn)(void *user, char *buf, size_t size);
    void *user;
    char *page;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len,
                  bool head)
{
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    send_all(fd, h, (size_t)n);
    if (!head)
        send_all(fd, body, len);
}

static void serve(struct metrics_srv *m, int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[REQ_MAX + 1];
    size_t got = 0;
    while (got < REQ_MAX) {
        ssize_t r = recv(fd, req + got, REQ_MAX - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    static const char text[] = "text/plain; charset=utf-8";
    bool head = strncmp(req, "HEAD ", 5) == 0;
    const char *path = head ? req + 5 : strncmp(req, "GET ", 4) == 0 ? req + 4 : NULL;
    if (!path) {
        static const char msg[] = "only GET and HEAD\n";
        reply(fd, "405 Method Not Allowed", text, msg, sizeof msg - 1, false);
        return;
    }
    if (strncmp(path, "/metrics ", 9) == 0 || strncmp(path, "/metrics?", 9) == 0) {
        size_t n = m->fn(m->user, m->page, PAGE_MAX);
        reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", m->page, n, head);
    } else if (strncmp(path, "/ ", 2) == 0) {
        static const char msg[] = "kansoku sensor: see /metrics\n";
        reply(fd, "200 OK", text, msg, sizeof msg - 1, head);
    } else {
        static const char msg[] = "not found\n";
        reply(fd, "404 Not Found", text, msg, sizeof msg - 1, head);
    }
}

static void *loop(void *arg)
{
    struct metrics_srv *m = arg;
    for (;;) {
        struct pollfd p[2] = {{m->fd, POLLIN, 0}, {m->stop_pipe[0], POLLIN, 0}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (p[1].revents & (POLLIN | POLLHUP)))
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        serve(m, c);
        close(c);
    }
    return NULL;
}

int metrics_start(const char *spec, size_t (*fn)(void *user, char *buf, size_t size), void *user,
                  struct metrics_srv **mp)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    *mp = NULL;
    if (sensor_parse_listen(spec, &ss, &sl) != KS_OK)
        return KS_EINVAL;
    struct metrics_srv *m = calloc(1, sizeof *m);
    if (!m)
        return KS_ENOMEM;
    m->fd = -1;
    m->stop_pipe[0] = m->stop_pipe[1] = -1;
    m->fn = fn;
    m->user = user;
    m->page = malloc(PAGE_MAX);
    int rc = KS_EIO;
    if (!m->page) {
        rc = KS_ENOMEM;
        goto fail;
    }
    m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(m->fd, (struct sockaddr *)&ss, sl) != 0 || listen(m->fd, 16) != 0)
        goto fail;
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(m->fd, (struct sockaddr *)&got, &gl) == 0)
        m->port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                 : ((struct sockaddr_in6 *)&got)->sin6_port);
    if (pipe2(m->stop_pipe, O_CLOEXEC) != 0)
        goto fail;
    if (pthread_create(&m->thread, NULL, loop, m) != 0)
        goto fail;
    m->started = true;
    *mp = m;
    return KS_OK;
fail : {
    int e = errno;
    metrics_stop(m);
    errno = e;
}
    return rc;
}

uint16_t metrics_port(const struct metrics_srv *m)
{
    return m ? m->port : 0;
}

void metrics_stop(struct metrics_srv *m)
{
    if (!m)
        return;
    if (m->started) {
        (void)!write(m->stop_pipe[1], "x", 1);
        pthread_join(m->thread, NULL);
    }
    if (m->fd >= 0)
        close(m->fd);
    if (m->stop_pipe[0] >= 0)
        close(m->stop_pipe[0]);
    if (m->stop_pipe[1] >= 0)
        close(m->stop_pipe[1]);
    free(m->page);
    free(m);
}
