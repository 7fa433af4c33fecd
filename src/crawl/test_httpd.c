/* crawl_test_httpd: a small static HTTP/1.1 server on loopback for the crawler's tests and
 * the demo. Not part of kansoku: never installed, never listening outside 127.0.0.1.
 *
 *   crawl_test_httpd --root DIR [--port-file FILE] [--lifetime SECONDS]
 *
 * Serves ROOT/HOST/PATH when the directory ROOT/HOST exists (HOST from the Host header,
 * lowercased, port removed), else ROOT/PATH; the query is ignored; ".." is refused. A file
 * FILE.redirect next to FILE (which need not exist) makes a 302 to its first line. Special
 * paths: /__hang (reads the request, answers nothing until the client leaves or the lifetime
 * ends), /__huge (200 and an endless body), /__loop/N (302 to /__loop/N+1). One thread per
 * connection, "Connection: close". It exits after --lifetime seconds (default 300), so that
 * a test that dies cannot leave it behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *root = ".";
static int lifetime = 300;
static time_t started;

static void send_all(int fd, const void *b, size_t n)
{
    const char *p = b;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int code, const char *reason, const char *ctype, const char *extra,
                  const void *body, size_t len)
{
    char h[1024];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nServer: crawl_test_httpd\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     code, reason, ctype, len, extra ? extra : "");
    if (n > 0 && (size_t)n < sizeof h)
        send_all(fd, h, (size_t)n);
    if (len)
        send_all(fd, body, len);
}

static const char *ctype_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return "application/octet-stream";
    if (!strcasecmp(dot, ".html") || !strcasecmp(dot, ".htm"))
        return "text/html; charset=utf-8";
    if (!strcasecmp(dot, ".js"))
        return "application/javascript";
    if (!strcasecmp(dot, ".txt"))
        return "text/plain";
    if (!strcasecmp(dot, ".zip"))
        return "application/zip";
    return "application/octet-stream";
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    if (!f)
        return NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < (1 << 30)) {
        b = malloc((size_t)sb.st_size + 1);
        if (b && fread(b, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
            free(b);
            b = NULL;
        }
        if (b) {
            *len = (size_t)sb.st_size;
            b[*len] = '\0';
        }
    }
    fclose(f);
    return b;
}

static void serve(int fd)
{
    char req[8192];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    char method[16], target[4096];
    if (sscanf(req, "%15s %4095s", method, target) != 2) {
        reply(fd, 400, "Bad Request", "text/plain", NULL, "bad request\n", 12);
        return;
    }
    char host[256] = "";
    const char *hh = strcasestr(req, "\r\nHost:");
    if (hh) {
        hh += 7;
        while (*hh == ' ')
            hh++;
        size_t k = 0;
        while (hh[k] && hh[k] != '\r' && hh[k] != ':' && k < sizeof host - 1) {
            host[k] = (char)(hh[k] >= 'A' && hh[k] <= 'Z' ? hh[k] + 32 : hh[k]);
            k++;
        }
        host[k] = '\0';
    }
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    if (strcmp(target, "/__hang") == 0) {
        char b[256];
        while (time(NULL) - started < lifetime && recv(fd, b, sizeof b, 0) > 0)
            ;
        return;
    }
    if (strcmp(target, "/__huge") == 0) {
        static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                  "Connection: close\r\n\r\n";
        send_all(fd, hdr, sizeof hdr - 1);
        char chunk[65536];
        memset(chunk, 'A', sizeof chunk);
        for (int i = 0; i < 16384; i++) { /* 1 GiB at most */
            if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) <= 0)
                break;
        }
        return;
    }
    if (strncmp(target, "/__loop/", 8) == 0) {
        char loc[128];
        snprintf(loc, sizeof loc, "Location: /__loop/%ld\r\n", strtol(target + 8, NULL, 10) + 1);
        reply(fd, 302, "Found", "text/html", loc, "", 0);
        return;
    }
    if (target[0] != '/' || strstr(target, "..")) {
        reply(fd, 400, "Bad Request", "text/plain", NULL, "bad path\n", 9);
        return;
    }
    char path[8192], dir[4096];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/%s", root, host);
    if (host[0] && !strstr(host, "..") && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(path, sizeof path, "%s%s", dir, target);
    else
        snprintf(path, sizeof path, "%s%s", root, target);
    size_t pl = strlen(path);
    if (pl && path[pl - 1] == '/' && pl + 10 < sizeof path)
        memcpy(path + pl, "index.html", 11);
    char rpath[8300];
    snprintf(rpath, sizeof rpath, "%s.redirect", path);
    size_t len = 0;
    char *body = read_file(rpath, &len);
    if (body) {
        char *nl = strpbrk(body, "\r\n");
        if (nl)
            *nl = '\0';
        char loc[4200];
        snprintf(loc, sizeof loc, "Location: %s\r\n", body);
        reply(fd, 302, "Found", "text/html", loc, "", 0);
        free(body);
        return;
    }
    body = read_file(path, &len);
    if (!body) {
        reply(fd, 404, "Not Found", "text/plain", NULL, "not found\n", 10);
        return;
    }
    reply(fd, 200, "OK", ctype_of(path), NULL, strcmp(method, "HEAD") ? body : "",
          strcmp(method, "HEAD") ? len : 0);
    free(body);
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    serve(fd);
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc)
            root = argv[++i];
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else if (!strcmp(argv[i], "--lifetime") && i + 1 < argc)
            lifetime = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: crawl_test_httpd --root DIR [--port-file F] [--lifetime S]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    started = time(NULL);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 128) != 0) {
        perror("crawl_test_httpd");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    unsigned port = ntohs(sa.sin_port);
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
            perror("crawl_test_httpd: port file");
            return 1;
        }
    }
    printf("%u\n", port);
    fflush(stdout);
    struct timeval tv = {1, 0};
    setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (time(NULL) - started < lifetime) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            usleep(10000);
            continue;
        }
        struct timeval ct = {lifetime, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ct, sizeof ct);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, conn_main, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_attr_destroy(&at);
    }
    close(ls);
    return 0;
}
