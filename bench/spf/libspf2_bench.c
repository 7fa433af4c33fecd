/* The peer: libspf2 (Debian libspf2-dev), one check after another as its API works.
 *
 *   libspf2_bench PORT DOMAINS CHECKS [cached]
 *
 * libspf2 resolves through the system resolver (res_ninit reads /etc/resolv.conf). To point it
 * at the benchmark's local server without touching the system, this program interposes
 * __res_ninit: it calls the real one, then replaces the name servers by 127.0.0.1:PORT. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spf2/spf.h>

static unsigned short bench_port = 53;

int __res_ninit(res_state statp);
int __res_ninit(res_state statp)
{
    static int (*real)(res_state);
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "__res_ninit");
        memcpy(&real, &sym, sizeof real); /* POSIX: dlsym's object pointer is a function */
    }
    int rc = real ? real(statp) : -1;
    if (rc == 0) {
        statp->nscount = 1;
        memset(&statp->nsaddr_list[0], 0, sizeof statp->nsaddr_list[0]);
        statp->nsaddr_list[0].sin_family = AF_INET;
        statp->nsaddr_list[0].sin_port = htons(bench_port);
        statp->nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        statp->retrans = 2;
        statp->retry = 2;
    }
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(SPF_server_t *srv, unsigned long i, unsigned long ndom)
{
    char ip[32], from[64];
    snprintf(ip, sizeof ip, "192.0.2.%lu", i % 250 + 1);
    snprintf(from, sizeof from, "user%lu@s%lu.bench", i % 97, i % ndom);
    SPF_request_t *req = SPF_request_new(srv);
    SPF_response_t *resp = NULL;
    SPF_request_set_ipv4_str(req, ip);
    SPF_request_set_helo_dom(req, "mta.example.net");
    SPF_request_set_env_from(req, from);
    SPF_request_query_mailfrom(req, &resp);
    int pass = resp && SPF_response_result(resp) == SPF_RESULT_PASS;
    if (resp)
        SPF_response_free(resp);
    SPF_request_free(req);
    return pass;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT DOMAINS CHECKS [cached]\n", argv[0]);
        return 2;
    }
    bench_port = (unsigned short)atoi(argv[1]);
    unsigned long ndom = strtoul(argv[2], NULL, 10), total = strtoul(argv[3], NULL, 10);
    int cached = argc > 4 && strcmp(argv[4], "cached") == 0;
    if (!ndom)
        return 2;
    SPF_server_t *srv = SPF_server_new(cached ? SPF_DNS_CACHE : SPF_DNS_RESOLV, 0);
    if (!srv)
        return 1;
    if (cached)
        for (unsigned long i = 0; i < ndom; i++)
            one(srv, i, ndom);
    unsigned long pass = 0;
    double t0 = now();
    for (unsigned long i = 0; i < total; i++)
        pass += (unsigned long)one(srv, i, ndom);
    double dt = now() - t0;
    printf("checks_per_s=%.0f pass=%lu other=%lu\n", (double)total / dt, pass, total - pass);
    SPF_server_free(srv);
    return 0;
}
