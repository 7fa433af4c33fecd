/* crawl: the honeyclient's engine on libcurl's multi interface.
 *
 * One thread. Roots become chains (at most max_chains at a time); each chain has a queue of
 * fetches (a root, then what its pages lead to) and a small visited set. Fetches start when
 * their host has a free connection and its delay has passed, up to max_total at once; curl
 * never follows a redirect by itself, so that every hop is checked, limited and recorded.
 * The address check runs in the open-socket callback: curl asks us for the socket of the
 * address it is about to connect to, and we refuse it before any byte goes out or comes in. */
#include "crawl_int.h"

#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_table.h"
#include "core/lazy_curl.h"

#define DEFAULT_UA                                                                                 \
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "            \
    "Chrome/120.0 Safari/537.36"
#define INFO_CACHE 256 /* registry results kept by SHA-256 within a run */
#define URL_MAX (KS_CRAWL_MAX_REF + 512)

void ks_crawl_config_default(struct ks_crawl_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_depth = 6;
    cfg->max_redirects = 10;
    cfg->max_fetches = 32;
    cfg->max_bytes = 8u << 20;
    cfg->max_chain_bytes = 32u << 20;
    cfg->fetch_timeout_ms = 20000;
    cfg->connect_timeout_ms = 10000;
    cfg->chain_timeout_ms = 60000;
    cfg->max_total = 16;
    cfg->max_per_host = 2;
    cfg->host_delay_ms = 250;
    cfg->max_chains = 64;
    cfg->max_hosts = 4096;
    cfg->max_queue = 8192;
    cfg->max_chain_urls = 64;
    cfg->max_links = 64;
    cfg->user_agent = DEFAULT_UA;
}

struct chain {
    uint64_t id;
    char *root, *message_id;
    int64_t start_ms, deadline_ms; /* set by the first fetch */
    uint32_t started, redirects, executables, errors, recorded;
    uint32_t total; /* fetches queued so far, the root included (max_fetches) */
    uint64_t bytes;
    uint32_t pending; /* queued + running */
    uint32_t nvisited;
    uint64_t *visited; /* hashes of the URLs queued, max_chain_urls */
};

struct task {
    struct task *next;
    struct chain *ch;
    char *url, *parent;
    enum ks_crawl_link link;
    uint32_t depth;
    uint64_t host; /* hash of "host:port" */
};

struct xfer {
    CURL *easy;
    struct ks_crawl *c;
    struct task *t;
    uint8_t *body;
    size_t len, cap, limit; /* limit: what this fetch may read */
    bool cut, chain_cut;    /* the body hit max_bytes / the chain's byte budget */
    bool chain_timed;       /* its time limit is what is left of the chain's, not fetch_timeout */
    bool refused;           /* the address check refused the connection */
    struct ks_addr addr;
    int64_t start_us, start_ms;
    char err[CURL_ERROR_SIZE];
};

struct host {
    uint32_t active;
    int64_t next_ms;
};

struct info_slot {
    char sha256[65];
    struct ks_sample_info *info;
    bool ok, kept;
};

struct ks_crawl {
    struct ks_crawl_config cfg;
    const struct ks_diag *diag;
    uint32_t diag_reported;
    CURLM *multi;
    struct curl_slist *resolve, *connect_to;
    char **mapped; /* host names of resolve/connect_to entries (only_mapped) */
    size_t nmapped;
    bool map_all; /* a connect_to entry with an empty host */
    struct ks_table *hosts;
    struct task *qhead, *qtail;
    uint32_t queued, nchains, nactive;
    struct xfer **active; /* max_total */
    uint64_t next_chain;
    volatile sig_atomic_t stop;
    struct ks_crawl_stats st;
    struct info_slot cache[INFO_CACHE];
    uint32_t cache_next;
    struct ks_sample_info *scratch;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void report(struct ks_crawl *c, const char *url, int err, const char *fmt, const char *msg)
{
    struct ks_loc loc = {.source = url};
    ks_diag_report(c->diag, &c->diag_reported, "crawl", &loc, err, fmt, msg);
}

/* --- hosts ----------------------------------------------------------------------------------- */

/* "host:port" of an absolute http(s) URL into buf; false if it has none. */
static bool url_host(const char *url, char *buf, size_t size, char *name, size_t nsize)
{
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        int n = snprintf(buf, size, "%s:%s", h, p);
        ok = n > 0 && (size_t)n < size;
        if (name)
            snprintf(name, nsize, "%s", h);
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

static bool host_mapped(const struct ks_crawl *c, const char *name)
{
    if (c->map_all)
        return true;
    for (size_t i = 0; i < c->nmapped; i++)
        if (strcasecmp(c->mapped[i], name) == 0)
            return true;
    return false;
}

/* Keeps the host part ("HOST" of "HOST:PORT:...") of a resolve/connect_to entry. */
static int add_mapped(struct ks_crawl *c, const char *entry, bool connect_to)
{
    const char *e = entry;
    if (*e == '+' || *e == '-')
        e++;
    const char *colon = strchr(e, ':');
    if (!colon)
        return KS_EINVAL;
    /* a second field is needed: HOST:PORT:... */
    const char *colon2 = strchr(colon + 1, ':');
    if (!colon2)
        return KS_EINVAL;
    if (colon == e) {
        if (!connect_to)
            return KS_EINVAL;
        c->map_all = true;
        return KS_OK;
    }
    char **m = realloc(c->mapped, (c->nmapped + 1) * sizeof *m);
    if (!m)
        return KS_ENOMEM;
    c->mapped = m;
    m[c->nmapped] = strndup(e, (size_t)(colon - e));
    if (!m[c->nmapped])
        return KS_ENOMEM;
    c->nmapped++;
    return KS_OK;
}

/* --- lifecycle ------------------------------------------------------------------------------- */

int ks_crawl_new(const struct ks_crawl_config *cfg, const struct ks_diag *diag,
                 struct ks_crawl **cp)
{
    int rc = KS_ENOMEM;
    *cp = NULL;
    if (!cfg->max_fetches || !cfg->max_bytes || !cfg->max_chain_bytes || !cfg->max_total ||
        !cfg->max_per_host || !cfg->max_chains || !cfg->max_hosts || !cfg->max_queue ||
        !cfg->max_chain_urls || !cfg->fetch_timeout_ms || !cfg->chain_timeout_ms)
        return KS_EINVAL;
    if (ks_curl_error()) /* libcurl is opened at the first use: absent, nothing can be fetched */
        return KS_EUNSUPP;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return KS_EIO;
    struct ks_crawl *c = calloc(1, sizeof *c);
    if (!c)
        return KS_ENOMEM;
    c->cfg = *cfg;
    if (!c->cfg.user_agent)
        c->cfg.user_agent = DEFAULT_UA;
    c->diag = diag;
    for (size_t i = 0; i < cfg->nresolve; i++) {
        if ((rc = add_mapped(c, cfg->resolve[i], false)) != KS_OK)
            goto fail;
        struct curl_slist *l = curl_slist_append(c->resolve, cfg->resolve[i]);
        if (!l) {
            rc = KS_ENOMEM;
            goto fail;
        }
        c->resolve = l;
    }
    for (size_t i = 0; i < cfg->nconnect_to; i++) {
        if ((rc = add_mapped(c, cfg->connect_to[i], true)) != KS_OK)
            goto fail;
        struct curl_slist *l = curl_slist_append(c->connect_to, cfg->connect_to[i]);
        if (!l) {
            rc = KS_ENOMEM;
            goto fail;
        }
        c->connect_to = l;
    }
    rc = KS_ENOMEM;
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(uint64_t);
    tc.value_size = sizeof(struct host);
    tc.capacity = cfg->max_hosts;
    if (ks_table_new(&tc, &c->hosts) != KS_OK)
        goto fail;
    c->active = calloc(cfg->max_total, sizeof *c->active);
    c->scratch = malloc(sizeof *c->scratch);
    if (!c->active || !c->scratch)
        goto fail;
    c->multi = curl_multi_init();
    if (!c->multi) {
        rc = KS_EIO;
        goto fail;
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_total);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->max_per_host);
    *cp = c;
    return KS_OK;
fail:
    ks_crawl_free(c);
    return rc;
}

static void task_free(struct task *t)
{
    if (!t)
        return;
    free(t->url);
    free(t->parent);
    free(t);
}

static void chain_free(struct chain *ch)
{
    if (!ch)
        return;
    free(ch->root);
    free(ch->message_id);
    free(ch->visited);
    free(ch);
}

void ks_crawl_free(struct ks_crawl *c)
{
    if (!c)
        return;
    /* ks_crawl_run leaves no transfer or task behind; this is for a run that never ran. */
    struct task *t = c->qhead;
    while (t) {
        struct task *n = t->next;
        task_free(t);
        t = n;
    }
    if (c->multi)
        curl_multi_cleanup(c->multi);
    curl_slist_free_all(c->resolve);
    curl_slist_free_all(c->connect_to);
    for (size_t i = 0; i < c->nmapped; i++)
        free(c->mapped[i]);
    free(c->mapped);
    ks_table_free(c->hosts);
    free(c->active);
    free(c->scratch);
    for (size_t i = 0; i < INFO_CACHE; i++)
        free(c->cache[i].info);
    free(c);
}

void ks_crawl_stop(struct ks_crawl *c)
{
    c->stop = 1;
}

void ks_crawl_stats(const struct ks_crawl *c, struct ks_crawl_stats *st)
{
    *st = c->st;
    struct ks_table_stats ts;
    ks_table_stats(c->hosts, &ts);
    st->hosts_dropped += ts.evicted; /* hosts forgotten (their delay with them) */
}

/* --- recording -------------------------------------------------------------------------------- */

static void put_str(struct ks_ingest *ing, const char *s)
{
    ks_store_put_text(ing, s ? s : "", s ? strlen(s) : 0);
}

static void record(struct ks_crawl *c, struct chain *ch, const struct ks_crawl_fetch *f)
{
    struct ks_crawl_stats *st = &c->st;
    st->fetches++;
    ch->recorded++;
    if (strcmp(f->kind, "page") == 0)
        st->pages++;
    else if (strcmp(f->kind, "redirect") == 0)
        st->redirects++;
    else if (strcmp(f->kind, "download") == 0)
        st->downloads++;
    else if (strcmp(f->kind, "executable") == 0)
        st->executables++;
    else
        st->errors++;
    if (f->error[0])
        ch->errors++;
    if (c->cfg.on_fetch)
        c->cfg.on_fetch(c->cfg.user, f);
    struct ks_ingest *ing = c->cfg.ing;
    if (!ing)
        return;
    ks_store_row_begin(ing, KS_TBL_CRAWL_FETCHES);
    ks_store_put_time(ing, f->ts);
    ks_store_put_i64(ing, (int64_t)f->chain);
    put_str(ing, f->root);
    put_str(ing, f->url);
    put_str(ing, f->parent);
    put_str(ing, ks_crawl_link_name(f->link));
    ks_store_put_i64(ing, f->depth);
    put_str(ing, f->message_id);
    ks_store_put_i64(ing, f->status);
    if (f->address.family)
        ks_store_put_addr(ing, &f->address);
    else
        ks_store_put_null(ing);
    put_str(ing, f->content_type);
    ks_store_put_i64(ing, (int64_t)f->size);
    put_str(ing, f->sha256);
    put_str(ing, f->kind);
    put_str(ing, f->error);
    ks_store_put_i64(ing, f->ms);
    if (ks_store_row_end(ing) != KS_OK)
        st->store_errors++;
}

/* A task that ends without a transfer (refused before any connection). */
static void record_unfetched(struct ks_crawl *c, struct task *t, const char *kind,
                             const char *error)
{
    struct ks_crawl_fetch f = {
        .ts = wall_us(),
        .chain = t->ch->id,
        .root = t->ch->root,
        .url = t->url,
        .parent = t->parent ? t->parent : "",
        .link = t->link,
        .depth = t->depth,
        .message_id = t->ch->message_id,
        .content_type = "",
        .kind = kind,
        .error = error,
        .sample = "",
    };
    record(c, t->ch, &f);
}

/* --- chains and the queue ---------------------------------------------------------------- */

static void chain_done(struct ks_crawl *c, struct chain *ch)
{
    c->st.chains++;
    c->nchains--;
    if (c->cfg.on_chain) {
        int64_t now = now_ms();
        struct ks_crawl_chain r = {
            .chain = ch->id,
            .root = ch->root,
            .message_id = ch->message_id,
            .fetches = ch->recorded,
            .executables = ch->executables,
            .errors = ch->errors,
            .bytes = ch->bytes,
            .ms = ch->start_ms ? (uint32_t)(now - ch->start_ms) : 0,
        };
        c->cfg.on_chain(c->cfg.user, &r);
    }
    chain_free(ch);
}

static void task_done(struct ks_crawl *c, struct task *t)
{
    struct chain *ch = t->ch;
    task_free(t);
    if (--ch->pending == 0)
        chain_done(c, ch);
}

/* Queues url for ch unless a limit says no; returns whether it was queued. */
static bool enqueue(struct ks_crawl *c, struct chain *ch, const char *url, const char *parent,
                    enum ks_crawl_link link, uint32_t depth)
{
    struct ks_crawl_stats *st = &c->st;
    uint64_t h = ks_hash_bytes(url, strlen(url), 0x6372617731ull);
    for (uint32_t i = 0; i < ch->nvisited; i++) {
        if (ch->visited[i] == h) {
            st->visited_dup++;
            return false;
        }
    }
    if (link != KS_CRAWL_LINK_ROOT) {
        if (depth > c->cfg.max_depth) {
            st->limit_depth++;
            return false;
        }
        bool redirect =
            link == KS_CRAWL_LINK_HTTP || link == KS_CRAWL_LINK_REFRESH || link == KS_CRAWL_LINK_JS;
        if (redirect && ch->redirects >= c->cfg.max_redirects) {
            st->limit_redirects++;
            return false;
        }
        if (ch->total >= c->cfg.max_fetches) {
            st->limit_fetches++;
            return false;
        }
        if (c->queued >= c->cfg.max_queue) {
            st->queue_dropped++;
            return false;
        }
        if (redirect)
            ch->redirects++;
    }
    if (ch->nvisited >= c->cfg.max_chain_urls) {
        st->visited_dropped++;
        return false;
    }
    struct task *t = calloc(1, sizeof *t);
    char hk[300];
    if (!t)
        return false;
    t->ch = ch;
    t->url = strdup(url);
    t->parent = parent ? strdup(parent) : NULL;
    t->link = link;
    t->depth = depth;
    if (!t->url || (parent && !t->parent)) {
        task_free(t);
        return false;
    }
    if (url_host(url, hk, sizeof hk, NULL, 0))
        t->host = ks_hash_bytes(hk, strlen(hk), 0x686f7374ull);
    ch->visited[ch->nvisited++] = h;
    ch->pending++;
    ch->total++;
    if (c->qtail)
        c->qtail->next = t;
    else
        c->qhead = t;
    c->qtail = t;
    c->queued++;
    return true;
}

/* Starts a chain for root; false when the root is refused at once (then recorded). */
static void chain_start(struct ks_crawl *c, const struct ks_crawl_root *root)
{
    char url[URL_MAX];
    struct chain *ch = calloc(1, sizeof *ch);
    if (!ch)
        return;
    ch->id = ++c->next_chain;
    ch->root = strdup(root->url ? root->url : "");
    ch->message_id = strdup(root->message_id ? root->message_id : "");
    ch->visited = calloc(c->cfg.max_chain_urls, sizeof *ch->visited);
    if (!ch->root || !ch->message_id || !ch->visited) {
        chain_free(ch);
        return;
    }
    c->nchains++;
    const char *r = ch->root;
    int rc = ks_crawl_url_resolve(NULL, r, strlen(r), url, sizeof url);
    if (rc != KS_OK) {
        /* recorded as a fetch that never happened */
        struct task t = {.ch = ch, .url = ch->root, .link = KS_CRAWL_LINK_ROOT};
        if (rc == KS_EUNSUPP)
            c->st.refused_scheme++;
        else
            c->st.bad_urls++;
        record_unfetched(c, &t, "error", rc == KS_EUNSUPP ? "refused-scheme" : "bad-url");
        chain_done(c, ch);
        return;
    }
    /* With only_mapped, a root on another host is skipped without a record (a run over
     * the store's spam URLs would otherwise record every unmapped one). */
    char hk[300], name[300];
    if (c->cfg.only_mapped &&
        (!url_host(url, hk, sizeof hk, name, sizeof name) || !host_mapped(c, name))) {
        c->st.not_mapped++;
        c->st.chains_skipped++;
        chain_free(ch);
        c->nchains--;
        return;
    }
    if (!enqueue(c, ch, url, NULL, KS_CRAWL_LINK_ROOT, 0))
        chain_done(c, ch);
}

/* --- transfers ------------------------------------------------------------------------------ */

static size_t on_write(char *data, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    size_t n = size * nmemb;
    size_t room = x->limit - x->len;
    size_t take = n < room ? n : room;
    if (x->len + take > x->cap) {
        size_t cap = x->cap ? x->cap : 16384;
        while (cap < x->len + take)
            cap *= 2;
        if (cap > x->limit)
            cap = x->limit;
        uint8_t *b = realloc(x->body, cap);
        if (!b)
            return 0;
        x->body = b;
        x->cap = cap;
    }
    if (take) {
        memcpy(x->body + x->len, data, take);
        x->len += take;
    }
    if (take < n) {
        /* which limit: the resource's or the chain's */
        if (x->limit >= x->c->cfg.max_bytes)
            x->cut = true;
        else
            x->chain_cut = true;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    return n;
}

static bool sockaddr_to_addr(const struct sockaddr *sa, struct ks_addr *a)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        a->family = 4;
        memcpy(a->b, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        a->family = 6;
        memcpy(a->b, &in6->sin6_addr, 16);
        return true;
    }
    return false;
}

/* The address check: curl calls this with the address it is about to connect to. */
static curl_socket_t on_opensocket(void *user, curlsocktype purpose, struct curl_sockaddr *sa)
{
    struct xfer *x = user;
    struct ks_addr a;
    if (purpose != CURLSOCKTYPE_IPCXN || !sockaddr_to_addr(&sa->addr, &a)) {
        x->refused = true;
        return CURL_SOCKET_BAD;
    }
    x->addr = a;
    if (!x->c->cfg.allow_private && !ks_crawl_addr_is_public(&a)) {
        x->refused = true;
        return CURL_SOCKET_BAD;
    }
    x->refused = false; /* another address of the name may be allowed */
    return socket(sa->family, sa->socktype, sa->protocol);
}

static void xfer_free(struct xfer *x)
{
    if (!x)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    free(x->body);
    free(x);
}

static int start(struct ks_crawl *c, struct task *t, int64_t now)
{
    struct chain *ch = t->ch;
    struct xfer *x = calloc(1, sizeof *x);
    if (!x)
        return KS_ENOMEM;
    x->c = c;
    x->t = t;
    x->start_us = wall_us();
    x->start_ms = now;
    if (!ch->start_ms) {
        ch->start_ms = now;
        ch->deadline_ms = now + c->cfg.chain_timeout_ms;
    }
    uint64_t left = c->cfg.max_chain_bytes > ch->bytes ? c->cfg.max_chain_bytes - ch->bytes : 0;
    x->limit = (size_t)(c->cfg.max_bytes < left ? c->cfg.max_bytes : left);
    int64_t budget = ch->deadline_ms - now;
    x->chain_timed = budget < c->cfg.fetch_timeout_ms;
    if (budget > c->cfg.fetch_timeout_ms)
        budget = c->cfg.fetch_timeout_ms;
    if (budget < 1)
        budget = 1;
    CURL *e = x->easy = curl_easy_init();
    if (!e) {
        xfer_free(x);
        return KS_ENOMEM;
    }
    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* never a proxy from the environment */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->cfg.user_agent);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* the limits count decoded bytes */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)budget);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(c->cfg.connect_timeout_ms ? c->cfg.connect_timeout_ms : 10000));
    /* Malicious sites rarely have valid certificates; we only read what they send. */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 0L);
    if (t->parent)
        curl_easy_setopt(e, CURLOPT_REFERER, t->parent);
    if (c->resolve)
        curl_easy_setopt(e, CURLOPT_RESOLVE, c->resolve);
    if (c->connect_to)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        xfer_free(x);
        return KS_EIO;
    }
    for (uint32_t i = 0; i < c->cfg.max_total; i++) {
        if (!c->active[i]) {
            c->active[i] = x;
            break;
        }
    }
    c->nactive++;
    if (c->nactive > c->st.peak_active)
        c->st.peak_active = c->nactive;
    ch->started++;
    return KS_OK;
}

/* --- what a response is -------------------------------------------------------------------- */

static bool ctype_is(const char *ct, const char *what)
{
    size_t n = strlen(what);
    return ct && strncasecmp(ct, what, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* 0: not a document we read; 1: HTML; 2: script. */
static int doc_type(const char *ct, const uint8_t *b, size_t n, enum ks_crawl_link link)
{
    if (ctype_is(ct, "text/html") || ctype_is(ct, "application/xhtml+xml"))
        return 1;
    if (ctype_is(ct, "application/javascript") || ctype_is(ct, "text/javascript") ||
        ctype_is(ct, "application/x-javascript") || ctype_is(ct, "application/ecmascript"))
        return 2;
    if (link == KS_CRAWL_LINK_SCRIPT && (!ct || ctype_is(ct, "text/plain")))
        return 2;
    if (ct && !ctype_is(ct, "text/plain") && !ctype_is(ct, "application/octet-stream"))
        return 0;
    /* no or vague type: sniff the first bytes as browsers do (a tag first) */
    size_t i = 0;
    if (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
        i = 3;
    while (i < n && i < 512 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    if (i < n && b[i] == '<' && i + 1 < n &&
        (b[i + 1] == '!' || b[i + 1] == '/' || (b[i + 1] | 0x20) >= 'a'))
        return 1;
    return 0;
}

/* Windows scripts that run programs (a VBScript/JScript dropper, a batch file, an HTML
 * application), by content: in a download, not in a page a browser would render. */
static bool windows_script(const uint8_t *b, size_t n)
{
    static const char *const words[] = {"wscript.shell",    "createobject(", "shell.application",
                                        "<hta:application", "adodb.stream",  "@echo off"};
    size_t lim = n < 65536 ? n : 65536;
    for (size_t i = 0; i < lim; i++) {
        uint8_t c = b[i] | 0x20;
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
            const char *w = words[k];
            if (c != (uint8_t)(w[0] | 0x20))
                continue;
            size_t j = 1;
            while (w[j] && i + j < lim && (uint8_t)(b[i + j] | 0x20) == (uint8_t)(w[j] | 0x20))
                j++;
            if (!w[j])
                return true;
        }
    }
    return false;
}

static void sha256_hex(const uint8_t *b, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The registry's result for these bytes (analysed once per run and SHA-256). */
static struct info_slot *analyze(struct ks_crawl *c, const uint8_t *b, size_t n, const char *sha256)
{
    for (uint32_t i = 0; i < INFO_CACHE; i++)
        if (c->cache[i].info && strcmp(c->cache[i].sha256, sha256) == 0)
            return &c->cache[i];
    struct info_slot *s = &c->cache[c->cache_next++ % INFO_CACHE];
    if (!s->info && !(s->info = malloc(sizeof *s->info)))
        return NULL;
    snprintf(s->sha256, sizeof s->sha256, "%s", sha256);
    s->ok = ks_samples_analyze_mem(c->cfg.samples, b, n, s->info) == KS_OK;
    s->kept = false;
    if (s->ok) {
        int rc = ks_samples_keep_mem(c->cfg.samples, b, n, s->info, NULL);
        s->kept = rc == KS_OK;
    }
    return s;
}

/* --- links of a document ------------------------------------------------------------------ */

struct link_ctx {
    struct ks_crawl *c;
    struct task *t;
    char base[URL_MAX];
    uint32_t n;
};

static int on_link(void *user, enum ks_crawl_link kind, const char *ref, size_t len)
{
    struct link_ctx *k = user;
    struct ks_crawl *c = k->c;
    char url[URL_MAX];
    int rc = ks_crawl_url_resolve(k->base, ref, len, url, sizeof url);
    if (rc == KS_EUNSUPP) {
        c->st.refused_scheme++;
        return 0;
    }
    if (rc != KS_OK) {
        c->st.bad_urls++;
        return 0;
    }
    if (kind == KS_CRAWL_LINK_BASE) {
        memcpy(k->base, url, strlen(url) + 1);
        return 0;
    }
    if (k->n >= c->cfg.max_links) {
        c->st.links_dropped++;
        return 0;
    }
    k->n++;
    enqueue(c, k->t->ch, url, k->t->url, kind, k->t->depth + 1);
    return 0;
}

/* --- a finished transfer --------------------------------------------------------------------- */

static void finish(struct ks_crawl *c, struct xfer *x, CURLcode res)
{
    struct task *t = x->t;
    struct chain *ch = t->ch;
    struct ks_crawl_stats *st = &c->st;
    int64_t now = now_ms();
    long status = 0;
    char *ct = NULL, *ip = NULL, *loc = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(x->easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc);
    struct ks_crawl_fetch f = {
        .ts = x->start_us,
        .chain = ch->id,
        .root = ch->root,
        .url = t->url,
        .parent = t->parent ? t->parent : "",
        .link = t->link,
        .depth = t->depth,
        .message_id = ch->message_id,
        .status = status,
        .address = x->addr,
        .content_type = ct ? ct : "",
        .size = x->len,
        .kind = "error",
        .error = "",
        .ms = (uint32_t)(now - x->start_ms),
        .sample = "",
    };
    if (ip && *ip && !x->refused)
        ks_addr_parse(ip, strlen(ip), &f.address);
    if (x->refused)
        f.address = x->addr;
    ch->bytes += x->len;
    st->bytes += x->len;
    if (x->len)
        sha256_hex(x->body, x->len, f.sha256);
    switch (res) {
    case CURLE_OK:
        break;
    case CURLE_WRITE_ERROR:
        if (x->cut || x->chain_cut) {
            f.error = x->cut ? "max-bytes" : "chain-bytes";
            st->max_bytes_hits++;
        } else {
            f.error = "transfer";
        }
        break;
    case CURLE_OPERATION_TIMEDOUT:
        /* curl's timer may fire a little before the chain's deadline by our clock */
        f.error = x->chain_timed || now >= ch->deadline_ms ? "chain-timeout" : "timeout";
        st->timeouts++;
        break;
    case CURLE_COULDNT_CONNECT:
        if (x->refused) {
            f.error = "refused-address";
            st->refused_address++;
        } else {
            f.error = "connect";
        }
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        f.error = "dns";
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        f.error = "refused-scheme";
        st->refused_scheme++;
        break;
    default:
        f.error = x->refused ? "refused-address" : "transfer";
        if (x->refused)
            st->refused_address++;
        else
            report(c, t->url, KS_EIO, "%s", x->err[0] ? x->err : curl_easy_strerror(res));
        break;
    }
    bool got = status > 0 && (res == CURLE_OK || x->cut || x->chain_cut || x->len > 0);
    int dt = 0;
    if (got) {
        size_t off = 0;
        if (status >= 300 && status < 400 && loc && *loc) {
            f.kind = "redirect";
        } else if (status >= 400) {
            f.kind = "error"; /* what an error page holds is not followed */
            if (!f.error[0])
                f.error = "http";
        } else if (x->len && (ks_samples_find_executable(x->body, x->len, &off) ||
                              (crawl_is_archive(x->body, x->len) &&
                               crawl_archive_has_executable(x->body, x->len)))) {
            f.kind = "executable";
        } else if (x->len && (dt = doc_type(ct, x->body, x->len, t->link)) != 0) {
            f.kind = "page";
        } else {
            f.kind = windows_script(x->body, x->len) ? "executable" : "download";
        }
    }
    /* Downloads go to the registry too when its antivirus is loaded: EICAR-like files are
     * not executables by their shape, but the antivirus names them. */
    struct info_slot *is = NULL;
    bool exe = strcmp(f.kind, "executable") == 0;
    if (c->cfg.samples && x->len && (exe || strcmp(f.kind, "download") == 0)) {
        is = analyze(c, x->body, x->len, f.sha256);
        if (!exe && is && is->ok && is->info->av[0])
            exe = true, f.kind = "executable";
        if (!exe)
            is = NULL;
    }
    if (exe) {
        ch->executables++;
        if (is && is->ok)
            f.sample = is->info->sha256;
    }
    record(c, ch, &f);
    if (exe && c->cfg.samples) {
        if (!is || !is->ok) {
            st->sample_errors++;
            report(c, t->url, KS_EIO, "%s", "the registry could not analyse the executable");
        } else {
            st->samples++;
            if (c->cfg.store && c->cfg.ing) {
                struct ks_geo_result gr = {"--", 0, ""};
                if (c->cfg.geo && f.address.family)
                    ks_geo_lookup(c->cfg.geo, &f.address, &gr);
                /* name = the chain's root: the URL as found in the mail (the report joins
                 * sample_events.name with mail_urls.url) */
                struct ks_sample_event ev = {.ts = f.ts,
                                             .source = f.address,
                                             .country = gr.country,
                                             .asn = gr.asn,
                                             .via = "crawler",
                                             .name = ch->root};
                if (ks_samples_record(c->cfg.samples, c->cfg.store, c->cfg.ing, &ev, is->info,
                                      is->kept, NULL) != KS_OK)
                    st->store_errors++;
            }
        }
    }
    /* What the response leads to. */
    if (strcmp(f.kind, "redirect") == 0) {
        char url[URL_MAX];
        int rc = ks_crawl_url_resolve(t->url, loc, strlen(loc), url, sizeof url);
        if (rc == KS_OK)
            enqueue(c, ch, url, t->url, KS_CRAWL_LINK_HTTP, t->depth + 1);
        else if (rc == KS_EUNSUPP)
            st->refused_scheme++;
        else
            st->bad_urls++;
    } else if (strcmp(f.kind, "page") == 0) {
        struct link_ctx *k = malloc(sizeof *k);
        if (k) {
            struct ks_crawl_links_stats ls;
            k->c = c;
            k->t = t;
            k->n = 0;
            snprintf(k->base, sizeof k->base, "%s", t->url);
            ks_crawl_links(x->body, x->len, dt == 2 ? KS_CRAWL_DOC_JS : KS_CRAWL_DOC_HTML, on_link,
                           k, &ls);
            st->links_too_long += ls.too_long;
            free(k);
        }
    }
    curl_multi_remove_handle(c->multi, x->easy);
    for (uint32_t i = 0; i < c->cfg.max_total; i++)
        if (c->active[i] == x)
            c->active[i] = NULL;
    c->nactive--;
    struct host *h = ks_table_find(c->hosts, &t->host);
    if (h && h->active)
        h->active--;
    xfer_free(x);
    task_done(c, t);
}

/* --- scheduling ------------------------------------------------------------------------------ */

/* Starts what may start; returns the time (ms) until a waiting task may, or -1. */
static int64_t schedule(struct ks_crawl *c)
{
    int64_t now = now_ms(), wait = -1;
    struct task *prev = NULL, *t = c->qhead;
    while (t && c->nactive < c->cfg.max_total) {
        struct task *next = t->next;
        struct chain *ch = t->ch;
        const char *refuse = NULL;
        char name[300], hk[300];
        if (ch->deadline_ms && now >= ch->deadline_ms) {
            refuse = "chain-timeout";
            c->st.timeouts++;
        } else if (c->cfg.only_mapped &&
                   (!url_host(t->url, hk, sizeof hk, name, sizeof name) || !host_mapped(c, name))) {
            refuse = "not-mapped";
            c->st.not_mapped++;
        }
        struct host *h = NULL;
        if (!refuse) {
            bool is_new = false;
            h = ks_table_upsert(c->hosts, &t->host, (uint32_t)(now / 1000), &is_new);
            if (!h) {
                refuse = "limit-hosts";
                c->st.hosts_dropped++;
            } else if (is_new) {
                h->active = 0;
                h->next_ms = 0;
            }
        }
        if (!refuse && (h->active >= c->cfg.max_per_host || now < h->next_ms)) {
            if (h->active < c->cfg.max_per_host) {
                int64_t w = h->next_ms - now;
                if (wait < 0 || w < wait)
                    wait = w;
            }
            prev = t;
            t = next;
            continue;
        }
        /* unlink t */
        if (prev)
            prev->next = next;
        else
            c->qhead = next;
        if (c->qtail == t)
            c->qtail = prev;
        t->next = NULL;
        c->queued--;
        if (refuse) {
            record_unfetched(c, t, "error", refuse);
            task_done(c, t);
        } else {
            h->active++;
            h->next_ms = now + c->cfg.host_delay_ms;
            if (start(c, t, now) != KS_OK) {
                h->active--;
                record_unfetched(c, t, "error", "no-memory");
                task_done(c, t);
            }
        }
        t = next;
    }
    return wait;
}

int ks_crawl_run(struct ks_crawl *c, int (*next)(void *user, struct ks_crawl_root *root),
                 void *user)
{
    bool roots_done = next == NULL;
    int rc = KS_OK;
    while (!c->stop) {
        while (!roots_done && c->nchains < c->cfg.max_chains && !c->stop) {
            struct ks_crawl_root r = {0};
            if (next(user, &r) != 1) {
                roots_done = true;
                break;
            }
            chain_start(c, &r);
        }
        int64_t wait = schedule(c);
        if (roots_done && c->nchains == 0)
            break;
        int running = 0;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
            rc = KS_EIO;
            break;
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x)
                finish(c, x, m->data.result);
        }
        /* new tasks may be startable at once */
        if (c->qhead && c->nactive < c->cfg.max_total) {
            int64_t w2 = schedule(c);
            if (w2 >= 0 && (wait < 0 || w2 < wait))
                wait = w2;
        }
        if (roots_done && c->nchains == 0)
            break;
        int timeout = 100;
        if (c->nactive == 0 && wait >= 0 && wait < timeout)
            timeout = (int)wait;
        if (c->nactive == 0 && wait < 0 && !c->qhead)
            timeout = 0;
        if (timeout > 0)
            curl_multi_poll(c->multi, NULL, 0, timeout, NULL);
    }
    if (c->stop) {
        rc = KS_EINTR;
        /* finish what runs and what waits as "stopped" */
        for (uint32_t i = 0; i < c->cfg.max_total; i++) {
            struct xfer *x = c->active[i];
            if (!x)
                continue;
            struct task *t = x->t;
            curl_multi_remove_handle(c->multi, x->easy);
            c->active[i] = NULL;
            c->nactive--;
            xfer_free(x);
            record_unfetched(c, t, "error", "stopped");
            task_done(c, t);
        }
        while (c->qhead) {
            struct task *t = c->qhead;
            c->qhead = t->next;
            c->queued--;
            record_unfetched(c, t, "error", "stopped");
            task_done(c, t);
        }
        c->qtail = NULL;
    }
    return rc;
}
