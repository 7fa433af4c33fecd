/* kansoku mail: read mailboxes (urls, read), store their statistics (ingest), report (stats). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_mail.h"
#include "kansoku/ks_samples.h"
#include "kansoku/ks_spf.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

#define SLOTS_PER_THREAD 8
#define MAX_THREADS 16
#define SLOT_REPORTS 8
#define PENDING_MAX ((size_t)64 << 20) /* rows held while an input's SHA-256 is computed */
#define HASH_ASIDE_MIN (1 << 20)       /* smaller inputs are hashed before their messages */

#define MAIL_USAGE                                                                                 \
    "Usage: kansoku mail urls [options] FILE...\n"                                                 \
    "       kansoku mail read [options] FILE...\n"                                                 \
    "       kansoku mail ingest [--label spam|ham] [--labels INDEX] [--trusted PREFIX]... "        \
    "FILE...\n"                                                                                    \
    "       kansoku mail stats [--from DATE] [--to DATE] [--json]\n"

#define INPUT_HELP                                                                                 \
    "Inputs: mbox files (mboxrd/mboxo), Maildirs (cur/, new/), single RFC 5322 messages,\n"        \
    "directories of them (walked in name order) and '-' for stdin.\n"                              \
    "Input options:\n"                                                                             \
    "      --max-message BYTES  skip (and report) larger messages (default 33554432)\n"            \
    "      --mboxo              unquote only \">From \" (default mboxrd: \">+From \")\n"           \
    "      --redirector H/P?Q   add a redirector (host/path-prefix?param; '?*' any param)\n"       \
    "      --no-redirectors     do not unwrap redirectors (not even the built-in list)\n"          \
    "      --html-tree          read every HTML part through Gumbo's tree (the reference for\n"    \
    "                           the tokenizer used otherwise; slower)\n"                           \
    "      --mime-gmime         read every message's MIME structure with GMime (the reference\n"   \
    "                           for the walker used otherwise; slower)\n"                          \
    "      --threads N          analyse on N threads (default: the number of cores, <= 16);\n"     \
    "                           output and reports stay in message order\n"

#define ENGINES_HELP                                                                               \
    "      --clamav-db PATH     ClamAV database directory or file for attachment verdicts\n"       \
    "                           (default /var/lib/clamav when it holds databases)\n"               \
    "      --no-clamav          no antivirus verdicts\n"                                           \
    "      --spf-check          evaluate SPF (RFC 7208) for messages without a\n"                  \
    "                           Received-SPF/Authentication-Results result: sender hop,\n"         \
    "                           its HELO, Return-Path\n"                                           \
    "      --dns ADDR[:PORT]    DNS server(s) for --spf-check (default /etc/resolv.conf)\n"

static const char *mail_help = MAIL_USAGE
    "\nRead mail, extract what spam statistics need, store it and report it.\n\n"
    "Verbs:\n"
    "  urls    every URL of every message: MESSAGE-ID<TAB>URL<TAB>WHERE[,FLAGS]\n"
    "  read    one summary line per message (time, verdict, sender, subject key, SPF...)\n"
    "  ingest  analyse messages into the store (one input per file, by SHA-256)\n"
    "  stats   spam ratio per ISO week and day, senders by country, messages per sender,\n"
    "          campaigns, SPF per month, from the store\n\n"
    "Run 'kansoku mail VERB --help' for a verb's options.\n\n" KS_CLI_COMMON_HELP;

enum {
    OPT_MAX_MESSAGE = 0x200,
    OPT_MBOXO,
    OPT_REDIRECTOR,
    OPT_NO_REDIRECTORS,
    OPT_LABEL,
    OPT_LABELS,
    OPT_TRUSTED,
    OPT_FORCE,
    OPT_FROM,
    OPT_TO,
    OPT_TZ,
    OPT_MIN_CAMPAIGN,
    OPT_NO_VERDICT_HEADERS,
    OPT_CLAMAV_DB,
    OPT_NO_CLAMAV,
    OPT_SPF_CHECK,
    OPT_DNS,
    OPT_HTML_TREE,
    OPT_THREADS,
    OPT_MIME_GMIME,
};

/* Options shared by the verbs that read mail. */
struct mail_opts {
    struct ks_mail_reader_config rcfg;
    struct ks_mail_config mcfg;
    const char **redirectors;
    size_t nredir;
    bool no_redirectors;
    enum ks_mail_verdict label;
    const char *labels_path;
    struct ks_prefix_set *trusted;
    bool force;
    struct ks_geo *geo;
    const char *clamav_db;
    bool no_clamav;
    bool spf_check;
    const char *dns;
    struct ks_samples *av;
    struct ks_spf_resolver *resolver;
    struct ks_spf *spf;
    size_t threads;
};

static void opts_init(struct mail_opts *o)
{
    memset(o, 0, sizeof *o);
    ks_mail_reader_config_default(&o->rcfg);
    ks_mail_config_default(&o->mcfg);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cores > 1 ? (size_t)(cores < MAX_THREADS ? cores : MAX_THREADS) : 1;
}

static void opts_fini(struct mail_opts *o)
{
    free(o->redirectors);
    ks_prefix_set_free(o->trusted);
    ks_geo_free(o->geo);
    ks_samples_free(o->av);
    ks_spf_free(o->spf);
    ks_spf_resolver_free(o->resolver);
}

/* Whether a directory holds ClamAV databases (what freshclam writes). */
static bool dir_has_clamav(const char *dir)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    if (!d)
        return false;
    while (!found && (e = readdir(d))) {
        const char *dot = strrchr(e->d_name, '.');
        found = dot && (strcmp(dot, ".cvd") == 0 || strcmp(dot, ".cld") == 0);
    }
    closedir(d);
    return found;
}

/* The antivirus (a sample registry with only a ClamAV database) and the SPF checker, when
 * asked for. Returns an exit code. */
static int engines_open(struct ks_cli *cli, struct mail_opts *o)
{
    const char *db = o->no_clamav ? NULL : o->clamav_db;
    if (!db && !o->no_clamav && dir_has_clamav("/var/lib/clamav"))
        db = "/var/lib/clamav";
    if (db) {
        struct ks_samples_config scfg;
        ks_samples_config_default(&scfg);
        scfg.clamav_db = db;
        scfg.md6 = scfg.fuzzy = false;
        int rc = ks_samples_new(&scfg, &cli->diag, &o->av);
        if (rc != KS_OK) {
            ks_cli_error(cli, "%s: ClamAV database not loaded: %s", db, ks_strerror(rc));
            return KS_EXIT_FAIL;
        }
        o->mcfg.av = o->av;
    }
    if (o->spf_check) {
        struct ks_spf_resolver_config rcfg;
        ks_spf_resolver_config_default(&rcfg);
        rcfg.servers = o->dns;
        int rc = ks_spf_resolver_new(&rcfg, &o->resolver);
        if (rc == KS_OK)
            rc = ks_spf_new(NULL, ks_spf_resolver_dns(o->resolver), &o->spf);
        if (rc != KS_OK) {
            ks_cli_error(cli, "cannot set up DNS%s%s: %s", o->dns ? " " : "", o->dns ? o->dns : "",
                         ks_strerror(rc));
            return KS_EXIT_FAIL;
        }
        o->mcfg.spf = o->spf;
    }
    return KS_EXIT_OK;
}

/* Handles an input option: 1 handled, 0 not ours, -1 usage error (*code set). */
static int input_opt(struct ks_cli *cli, struct mail_opts *o, int c, const char *arg, int *code)
{
    switch (c) {
    case OPT_MAX_MESSAGE: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (errno || *end || v < 1024) {
            *code = ks_cli_usage_error(cli, "--max-message needs a byte count >= 1024");
            return -1;
        }
        o->rcfg.max_message = v;
        return 1;
    }
    case OPT_MBOXO:
        o->rcfg.mbox = KS_MAIL_MBOXO;
        return 1;
    case OPT_REDIRECTOR: {
        if (!strchr(arg, '?') && strcmp(arg, "*") != 0) {
            *code = ks_cli_usage_error(cli, "--redirector needs HOST/PATH?PARAM or '*'");
            return -1;
        }
        const char **nv = realloc(o->redirectors, (o->nredir + 2) * sizeof *nv);
        if (!nv) {
            *code = KS_EXIT_FAIL;
            return -1;
        }
        o->redirectors = nv;
        o->redirectors[o->nredir++] = arg;
        o->redirectors[o->nredir] = NULL;
        return 1;
    }
    case OPT_NO_REDIRECTORS:
        o->no_redirectors = true;
        return 1;
    case OPT_NO_VERDICT_HEADERS:
        o->mcfg.verdict_headers = false;
        return 1;
    case OPT_CLAMAV_DB:
        o->clamav_db = arg;
        return 1;
    case OPT_NO_CLAMAV:
        o->no_clamav = true;
        return 1;
    case OPT_SPF_CHECK:
        o->spf_check = true;
        return 1;
    case OPT_DNS:
        o->dns = arg;
        return 1;
    case OPT_HTML_TREE:
        o->mcfg.html_tree = true;
        return 1;
    case OPT_MIME_GMIME:
        o->mcfg.mime_gmime = true;
        return 1;
    case OPT_THREADS: {
        char *end;
        errno = 0;
        unsigned long v = strtoul(arg, &end, 10);
        if (errno || *end || v < 1 || v > MAX_THREADS) {
            *code = ks_cli_usage_error(cli, "--threads needs a number from 1 to %d", MAX_THREADS);
            return -1;
        }
        o->threads = v;
        return 1;
    }
    default:
        return 0;
    }
}

/* Builds the redirector list: the built-in one plus --redirector entries. */
static const char **build_redirectors(struct mail_opts *o)
{
    static const char *none[] = {NULL};
    if (o->no_redirectors)
        return none;
    if (!o->nredir)
        return NULL;
    const char *const *def = ks_mail_redirectors_default();
    size_t nd = 0;
    while (def[nd])
        nd++;
    const char **all = calloc(nd + o->nredir + 1, sizeof *all);
    if (!all)
        return NULL;
    for (size_t i = 0; i < nd; i++)
        all[i] = def[i];
    for (size_t i = 0; i < o->nredir; i++)
        all[nd + i] = o->redirectors[i];
    free(o->redirectors);
    o->redirectors = all;
    o->nredir = 0;
    return all;
}

static void flags_text(unsigned f, const char *shown, char *buf, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{KS_MAIL_URL_OBFUSCATED, "obfuscated"},
                 {KS_MAIL_URL_BARE, "bare"},
                 {KS_MAIL_URL_IDN, "idn"},
                 {KS_MAIL_URL_NUMERIC, "numeric"},
                 {KS_MAIL_URL_IP, "ip"},
                 {KS_MAIL_URL_USERINFO, "userinfo"}}; /* redirect: WHERE says it */
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit)
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "",
                                  names[i].name);
    if (f & KS_MAIL_URL_MISMATCH)
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%smismatch=%s", n ? "," : "",
                              shown);
}

static json_t *flags_json(unsigned f)
{
    json_t *a = json_array();
    char buf[256];
    flags_text(f & ~KS_MAIL_URL_MISMATCH, "", buf, sizeof buf);
    for (char *p = buf, *q; *p; p = q) {
        q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        q = q ? q + 1 : p + n;
    }
    if (f & KS_MAIL_URL_MISMATCH)
        json_array_append_new(a, json_string("mismatch"));
    return a;
}

/* A JSON string from possibly invalid UTF-8 (invalid bytes become U+FFFD by jansson's rules:
 * it refuses them, so they are replaced here). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t)
        return json_string("");
    for (size_t i = 0; i <= n; i++)
        t[i] = (s[i] & 0x80) ? '?' : s[i];
    j = json_string(t);
    free(t);
    return j;
}

/* --- labels (--labels INDEX: "spam PATH" / "ham PATH" lines, TREC's format) ------------- */

struct label_map {
    char **path;
    enum ks_mail_verdict *v;
    size_t n, cap;
};

static int cmp_label(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int labels_load(struct ks_cli *cli, const char *index, struct label_map *lm)
{
    FILE *f = fopen(index, "r");
    if (!f) {
        ks_cli_error(cli, "%s: %s", index, strerror(errno));
        return KS_EXIT_FAIL;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", index);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    char line[PATH_MAX + 64];
    unsigned lineno = 0;
    /* entries are stored as "realpath\0" with the verdict in a parallel array: sort both */
    struct ent {
        char *p;
        enum ks_mail_verdict v;
    } *ents = NULL;
    size_t n = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *sp = strchr(line, ' ');
        if (!sp || line[0] == '#')
            continue;
        *sp = '\0';
        enum ks_mail_verdict v;
        if (strcasecmp(line, "spam") == 0)
            v = KS_MAIL_SPAM;
        else if (strcasecmp(line, "ham") == 0)
            v = KS_MAIL_HAM;
        else {
            ks_cli_warn(cli, "%s: line %u: label '%s' is neither spam nor ham", index, lineno,
                        line);
            continue;
        }
        char *rel = sp + 1;
        while (*rel == ' ')
            rel++;
        char full[PATH_MAX * 2 + 2], real[PATH_MAX];
        if (rel[0] == '/')
            snprintf(full, sizeof full, "%s", rel);
        else
            snprintf(full, sizeof full, "%s/%s", dir, rel);
        if (!realpath(full, real))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct ent *ne = realloc(ents, cap * sizeof *ne);
            if (!ne)
                break;
            ents = ne;
        }
        ents[n].p = strdup(real);
        ents[n].v = v;
        if (ents[n].p)
            n++;
    }
    fclose(f);
    qsort(ents, n, sizeof *ents, cmp_label);
    lm->path = calloc(n + 1, sizeof *lm->path);
    lm->v = calloc(n + 1, sizeof *lm->v);
    for (size_t i = 0; i < n && lm->path && lm->v; i++) {
        lm->path[i] = ents[i].p;
        lm->v[i] = ents[i].v;
    }
    lm->n = n;
    free(ents);
    return KS_EXIT_OK;
}

static enum ks_mail_verdict labels_find(const struct label_map *lm, const char *path)
{
    if (!lm->n)
        return KS_MAIL_UNKNOWN;
    char real[PATH_MAX];
    if (!realpath(path, real))
        return KS_MAIL_UNKNOWN;
    size_t lo = 0, hi = lm->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(lm->path[mid], real);
        if (c == 0)
            return lm->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return KS_MAIL_UNKNOWN;
}

static void labels_free(struct label_map *lm)
{
    for (size_t i = 0; i < lm->n; i++)
        free(lm->path[i]);
    free(lm->path);
    free(lm->v);
}

/* --- reading loop shared by urls, read and ingest ---------------------------------------- */

/* --- analysis on several threads --------------------------------------------------------- */

/* Messages are read in order by the main thread into a ring of slots, analysed by worker
 * threads (each slot has its own analyzer, whose results stay valid until the slot is reused),
 * then printed or stored in order by the main thread. What the analyzers report is kept in
 * the slot and passed on in message order, under the command's limit, so the output does not
 * depend on the number of threads. With one thread, the main thread analyses each message
 * itself. With N > 1, N - 1 workers are started and the main thread is the N-th analyser:
 * when the oldest message is not analysed yet, it analyses a later one instead of sleeping.
 * (N workers beside a reading and storing main thread were N + 1 busy threads on N cores:
 * a futex wake-up and a preemption per message cost 12 % of the CPU time of `ingest`.)
 * Wake-ups are sent only to a thread that sleeps. */
struct slot_report {
    struct ks_loc loc;
    int err;
    char module[16];
    char msg[400];
};

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_DONE };

struct slot {
    struct ks_mail *mail;
    struct ks_diag diag;
    uint8_t *data;
    size_t cap;
    struct ks_mail_raw raw;
    char source[PATH_MAX];
    char *envelope;
    size_t envcap;
    const struct ks_mail_msg *msg;
    int rc;
    enum slot_state state;
    struct slot_report rep[SLOT_REPORTS];
    unsigned nrep, dropped;
};

struct pool {
    struct slot *slots;
    size_t nslots, nstarted;
    pthread_t th[MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    uint64_t head, tail, next; /* consumed < analysed-or-taken < filled */
    unsigned idle;             /* workers waiting for work */
    bool main_waits;           /* the main thread waits for the oldest slot */
    bool quit;
    struct ks_mail_memo *memo; /* the slots' analyzers share what attachments gave */
};

static void slot_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                      const char *msg)
{
    struct slot *sl = user;
    if (sl->nrep >= SLOT_REPORTS) {
        sl->dropped++;
        return;
    }
    struct slot_report *r = &sl->rep[sl->nrep++];
    r->loc = *loc;
    r->err = err;
    snprintf(r->module, sizeof r->module, "%s", module);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

static void slot_analyse(struct slot *sl)
{
    sl->nrep = sl->dropped = 0;
    sl->rc = ks_mail_feed(sl->mail, &sl->raw, &sl->msg);
}

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->next == p->tail) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        if (p->quit)
            break;
        struct slot *sl = &p->slots[p->next++ % p->nslots];
        pthread_mutex_unlock(&p->mu);
        slot_analyse(sl);
        pthread_mutex_lock(&p->mu);
        sl->state = SLOT_DONE;
        if (p->main_waits)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_free(struct pool *p)
{
    if (p->nstarted) {
        pthread_mutex_lock(&p->mu);
        p->quit = true;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < p->nstarted; i++)
            pthread_join(p->th[i], NULL);
    }
    for (size_t i = 0; i < p->nslots && p->slots; i++) {
        ks_mail_free(p->slots[i].mail);
        free(p->slots[i].data);
        free(p->slots[i].envelope);
    }
    free(p->slots);
    ks_mail_memo_free(p->memo);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
}

static int pool_init(struct pool *p, size_t nthreads, const struct ks_mail_config *cfg_in)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    struct ks_mail_config cfg_v = *cfg_in, *cfg = &cfg_v;
    if (!cfg->memo) {
        if (ks_mail_memo_new(&p->memo) != KS_OK)
            return KS_ENOMEM;
        cfg->memo = p->memo;
    }
    p->nslots = nthreads > 1 ? nthreads * SLOTS_PER_THREAD : 1;
    size_t nworkers = nthreads > 1 ? nthreads - 1 : 0; /* the main thread analyses too */
    p->slots = calloc(p->nslots, sizeof *p->slots);
    if (!p->slots)
        return KS_ENOMEM;
    for (size_t i = 0; i < p->nslots; i++) {
        struct slot *sl = &p->slots[i];
        sl->diag.fn = slot_diag;
        sl->diag.user = sl;
        if (ks_mail_new(cfg, &sl->diag, &sl->mail) != KS_OK)
            return KS_ENOMEM;
    }
    for (size_t i = 0; i < nworkers; i++) {
        if (pthread_create(&p->th[i], NULL, pool_worker, p) != 0)
            break; /* fewer workers: the work is the same */
        p->nstarted++;
    }
    if (nthreads > 1 && p->nstarted == 0)
        p->nslots = 1; /* no thread could start: the main thread analyses */
    return KS_OK;
}

/* Copies a message into a slot (the reader's bytes are borrowed until its next call). */
static int slot_fill(struct slot *sl, const struct ks_mail_raw *raw)
{
    if (raw->len > sl->cap) {
        size_t cap = raw->len + raw->len / 4 + 4096;
        uint8_t *d = realloc(sl->data, cap);
        if (!d)
            return KS_ENOMEM;
        sl->data = d;
        sl->cap = cap;
    }
    memcpy(sl->data, raw->data, raw->len);
    size_t el = strlen(raw->envelope ? raw->envelope : "");
    if (el + 1 > sl->envcap) {
        char *e = realloc(sl->envelope, el + 64);
        if (!e)
            return KS_ENOMEM;
        sl->envelope = e;
        sl->envcap = el + 64;
    }
    memcpy(sl->envelope, raw->envelope ? raw->envelope : "", el + 1);
    snprintf(sl->source, sizeof sl->source, "%s", raw->loc.source ? raw->loc.source : "");
    sl->raw = *raw;
    sl->raw.data = sl->data;
    sl->raw.envelope = sl->envelope;
    sl->raw.loc.source = sl->source;
    return KS_OK;
}

/* An input's SHA-256 (its identity in the store), computed on a thread of its own while the
 * input's first messages are analysed: hashing 200 MB took 0.14 s before the first message
 * was read, with the other core idle. Their rows wait in memory (struct pending) until the
 * input is begun. This is done only when the input cannot turn out "ingested before" (no
 * input of the store has its size, or --force): otherwise messages would be analysed (and
 * counted) for nothing. */
struct hasher {
    pthread_t th;
    char path[PATH_MAX];
    char sha256[65];
    uint64_t size;
    int rc, err;
    atomic_bool done;
};

/* Rows of whole messages, encoded (ks_store_rowbuf), with where each message's rows end. */
struct pending {
    struct ks_store_rowbuf rows;
    size_t *ends; /* rows.len after each message */
    size_t nends, ends_cap;
};

struct run {
    struct ks_cli *cli;
    struct mail_opts *o;
    struct pool pool;
    uint32_t reported; /* analyzer reports passed on */
    /* ingest */
    struct ks_store *store;
    struct ks_ingest *ing;
    char cur_source[PATH_MAX];
    bool skip_source;
    enum ks_mail_verdict cur_label;
    struct label_map labels;
    uint64_t inputs, inputs_skipped, stored, store_errors;
    bool failed;
    bool hashing; /* hash running: rows go to pend */
    struct hasher hash;
    struct pending pend;
};

typedef int (*msg_fn)(struct run *r, const struct ks_mail_raw *raw, const struct ks_mail_msg *m);

static int print_urls(struct run *r, const struct ks_mail_raw *raw, const struct ks_mail_msg *m)
{
    (void)raw;
    for (size_t i = 0; i < m->nurls; i++) {
        const struct ks_mail_url *u = &m->urls[i];
        if (r->cli->json) {
            json_t *o = json_object();
            json_object_set_new(o, "message_id", jstr(m->message_id));
            json_object_set_new(o, "url", jstr(u->url));
            json_object_set_new(o, "where", json_string(u->where));
            json_object_set_new(o, "domain", jstr(u->domain));
            json_object_set_new(o, "flags", flags_json(u->flags));
            if (u->flags & KS_MAIL_URL_MISMATCH)
                json_object_set_new(o, "shown", jstr(u->shown));
            ks_cli_json_line(o);
        } else {
            char fl[256];
            flags_text(u->flags, u->shown, fl, sizeof fl);
            printf("%s\t%s\t%s%s%s\n", m->message_id, u->url, u->where, fl[0] ? "," : "", fl);
        }
    }
    return 0;
}

static int print_read(struct run *r, const struct ks_mail_raw *raw, const struct ks_mail_msg *m)
{
    char ts[KS_TIME_STRLEN] = "";
    if (m->time_us)
        ks_time_format(m->time_us, 0, 0, ts, sizeof ts);
    char ip[KS_ADDR_STRLEN] = "";
    if (m->sender.family)
        ks_addr_format(&m->sender, ip, sizeof ip);
    enum ks_mail_verdict v = r->cur_label != KS_MAIL_UNKNOWN ? r->cur_label : m->verdict;
    if (r->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "source", jstr(raw->loc.source));
        json_object_set_new(o, "offset", json_integer((json_int_t)raw->loc.offset));
        json_object_set_new(o, "record", json_integer((json_int_t)raw->loc.record));
        json_object_set_new(o, "message_id", jstr(m->message_id));
        json_object_set_new(o, "time", ts[0] ? json_string(ts) : json_null());
        json_object_set_new(o, "time_source", json_string(m->time_source));
        json_object_set_new(o, "verdict", json_string(ks_mail_verdict_name(v)));
        json_object_set_new(o, "verdict_source",
                            jstr(r->cur_label != KS_MAIL_UNKNOWN ? "label" : m->verdict_source));
        json_object_set_new(o, "score", isnan(m->score) ? json_null() : json_real(m->score));
        json_object_set_new(o, "sender", ip[0] ? json_string(ip) : json_null());
        json_object_set_new(o, "helo", jstr(m->sender_helo));
        json_object_set_new(o, "country", json_string(m->country));
        json_object_set_new(o, "asn", json_integer(m->asn));
        json_object_set_new(o, "hops", json_integer(m->hops));
        json_object_set_new(o, "from", jstr(m->from));
        json_object_set_new(o, "subject", jstr(m->subject));
        json_object_set_new(o, "subject_key", jstr(m->subject_key));
        json_object_set_new(o, "spf", json_string(ks_mail_spf_name(m->spf)));
        json_object_set_new(o, "spf_source",
                            json_string(m->spf_checked                 ? "check"
                                        : m->spf != KS_MAIL_SPF_ABSENT ? "header"
                                                                       : "none"));
        json_object_set_new(o, "return_path", jstr(m->return_path));
        json_object_set_new(o, "fuzzy", jstr(m->fuzzy));
        json_object_set_new(o, "size", json_integer((json_int_t)m->size));
        json_object_set_new(o, "parts", json_integer(m->parts));
        json_object_set_new(o, "depth", json_integer(m->depth));
        json_object_set_new(o, "urls", json_integer((json_int_t)m->nurls));
        json_object_set_new(o, "problems", json_integer(m->problems));
        json_t *atts = json_array();
        for (size_t i = 0; i < m->natt; i++) {
            const struct ks_mail_attachment *a = &m->att[i];
            json_t *j = json_object();
            json_object_set_new(j, "name", jstr(a->name));
            json_object_set_new(j, "mime", jstr(a->mime));
            json_object_set_new(j, "magic", jstr(a->magic));
            json_object_set_new(j, "sha256", json_string(a->sha256));
            json_object_set_new(j, "md5", json_string(a->md5));
            json_object_set_new(j, "size", json_integer((json_int_t)a->size));
            json_object_set_new(j, "executable", json_boolean(a->flags & KS_MAIL_ATT_EXECUTABLE));
            json_object_set_new(j, "suspicious", json_boolean(a->flags & KS_MAIL_ATT_SUSPICIOUS));
            json_object_set_new(j, "archive", json_boolean(a->flags & KS_MAIL_ATT_ARCHIVE));
            json_object_set_new(j, "exe_in_archive",
                                json_boolean(a->flags & KS_MAIL_ATT_EXE_IN_ARCHIVE));
            json_object_set_new(j, "members", jstr(a->members));
            json_object_set_new(
                j, "av", a->av_scanned ? json_string(a->av[0] ? a->av : "clean") : json_null());
            json_object_set_new(j, "category", jstr(a->category));
            json_array_append_new(atts, j);
        }
        json_object_set_new(o, "attachments", atts);
        ks_cli_json_line(o);
    } else {
        printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ts[0] ? ts : "-", ks_mail_verdict_name(v),
               ip[0] ? ip : "-", m->country, ks_mail_spf_name(m->spf),
               m->message_id[0] ? m->message_id : "-", m->subject_key);
    }
    return 0;
}

static void finish_hash(struct run *r);

static void end_input(struct run *r)
{
    finish_hash(r);
    if (!r->ing)
        return;
    int rc = ks_store_input_end(r->ing, !r->failed);
    r->ing = NULL;
    if (rc != KS_OK) {
        ks_cli_error(r->cli, "%s: store: %s: %s", r->cur_source, ks_strerror(rc),
                     ks_store_errmsg(r->store));
        r->store_errors++;
    }
}

/* Begins the input once its SHA-256 is known (rc: that of the hash). */
static void begin_hashed(struct run *r, int rc, int err, struct ks_store_input *in)
{
    const char *source = r->cur_source;
    if (rc == KS_OK)
        rc = ks_store_input_begin(r->store, in, r->o->force ? KS_STORE_FORCE : 0, &r->ing);
    if (rc == KS_EEXIST) {
        ks_cli_info(r->cli, "%s: ingested before: skipped (--force to replace)", source);
        r->inputs_skipped++;
        r->skip_source = true;
    } else if (rc != KS_OK) {
        ks_cli_error(r->cli, "%s: %s: %s", source, ks_strerror(rc),
                     rc == KS_EIO ? strerror(err) : ks_store_errmsg(r->store));
        r->store_errors++;
        r->skip_source = true;
    } else {
        r->inputs++;
    }
}

static void *hash_main(void *arg)
{
    struct hasher *h = arg;
    h->rc = ks_store_hash_file(h->path, h->sha256, &h->size);
    h->err = errno;
    atomic_store(&h->done, true);
    return NULL;
}

static int size_seen(void *user, const struct ks_store_input_info *in)
{
    return in->size == *(const uint64_t *)user;
}

/* Whether the input can be begun after its first messages: a regular file (others fail to
 * hash at once) that cannot be a duplicate, large enough for the hash to matter (a Maildir's
 * files are hashed in place: a thread and a look at every input each would cost more). */
static bool hash_aside(struct run *r, const char *source)
{
    struct stat sb;
    if (stat(source, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < HASH_ASIDE_MIN)
        return false;
    uint64_t size = (uint64_t)sb.st_size;
    return r->o->force || ks_store_inputs(r->store, size_seen, &size) == 0;
}

static void pend_free(struct pending *pd)
{
    ks_store_rowbuf_free(&pd->rows);
    free(pd->ends);
    memset(pd, 0, sizeof *pd);
}

static int pend_row(void *user, int table, const struct ks_store_value *vals, size_t nvals)
{
    return ks_store_rowbuf_add(&((struct pending *)user)->rows, table, vals, nvals);
}

/* The rows of one more message are held: notes where they end. */
static int pend_message_end(struct pending *pd)
{
    if (pd->nends == pd->ends_cap) {
        size_t cap = pd->ends_cap ? 2 * pd->ends_cap : 256;
        size_t *e = realloc(pd->ends, cap * sizeof *e);
        if (!e)
            return KS_ENOMEM;
        pd->ends = e;
        pd->ends_cap = cap;
    }
    pd->ends[pd->nends++] = pd->rows.len;
    return KS_OK;
}

/* Writes the rows of one message, from *at to its end; returns what ks_mail_store_msg would
 * have (the first failing row's error; the message's later rows are skipped). */
static int pend_replay(struct run *r, size_t *at, size_t end)
{
    const struct pending *pd = &r->pend;
    int rc = KS_OK;
    while (*at < end) {
        int table;
        size_t n;
        struct ks_store_value vals[KS_STORE_ROW_MAX_COLS];
        if (ks_store_rowbuf_next(pd->rows.buf, end, at, &table, vals, &n) != KS_OK) {
            *at = end; /* cannot happen (encoded here): the next message starts at its own rows */
            return rc == KS_OK ? KS_EINVAL : rc;
        }
        if (rc == KS_OK)
            rc = ks_store_put_row(r->ing, table, vals, n);
    }
    return rc;
}

static int store_rc(struct run *r, int rc);

/* Waits for the hash, begins the input and writes the rows held meanwhile. */
static void finish_hash(struct run *r)
{
    if (!r->hashing)
        return;
    r->hashing = false;
    struct hasher *h = &r->hash;
    pthread_join(h->th, NULL);
    struct ks_store_input in = {.name = r->cur_source, .kind = "mail", .size = h->size};
    memcpy(in.sha256, h->sha256, sizeof in.sha256);
    begin_hashed(r, h->rc, h->err, &in);
    size_t at = 0;
    for (size_t m = 0; r->ing && !r->skip_source && m < r->pend.nends; m++)
        store_rc(r, pend_replay(r, &at, r->pend.ends[m]));
    ks_store_rowbuf_clear(&r->pend.rows, SIZE_MAX);
    r->pend.nends = 0;
}

static void begin_input(struct run *r, const char *source)
{
    end_input(r);
    snprintf(r->cur_source, sizeof r->cur_source, "%s", source);
    r->skip_source = false;
    r->failed = false;
    r->cur_label = r->o->label != KS_MAIL_UNKNOWN ? r->o->label : labels_find(&r->labels, source);
    if (!r->store)
        return;
    if (hash_aside(r, source)) {
        struct hasher *h = &r->hash;
        snprintf(h->path, sizeof h->path, "%s", source);
        atomic_store(&h->done, false);
        if (pthread_create(&h->th, NULL, hash_main, h) == 0) {
            r->hashing = true;
            return;
        }
    }
    struct ks_store_input in = {.name = source, .kind = "mail"};
    int rc = ks_store_hash_file(source, in.sha256, &in.size);
    begin_hashed(r, rc, errno, &in);
}

static int store_msg(struct run *r, const struct ks_mail_raw *raw, const struct ks_mail_msg *m)
{
    (void)raw;
    if (r->hashing && !atomic_load(&r->hash.done) && r->pend.rows.len < PENDING_MAX) {
        if (ks_mail_rows(m, r->cur_label, pend_row, &r->pend) == KS_OK &&
            pend_message_end(&r->pend) == KS_OK)
            return 0;
        pend_free(&r->pend); /* out of memory: wait for the hash, and drop what was held */
        r->hashing = false;
        pthread_join(r->hash.th, NULL);
        ks_cli_error(r->cli, "%s: out of memory", r->cur_source);
        r->store_errors++;
        r->skip_source = true;
        return 1;
    }
    finish_hash(r);
    if (!r->ing)
        return 0;
    return store_rc(r, ks_mail_store_msg(r->ing, m, r->cur_label));
}

/* Counts a message's rows written, or reports the store's error. */
static int store_rc(struct run *r, int rc)
{
    if (rc == KS_OK) {
        r->stored++;
    } else if (rc != KS_EINVAL) {
        ks_cli_error(r->cli, "%s: store: %s: %s", r->cur_source, ks_strerror(rc),
                     ks_store_errmsg(r->store));
        r->failed = true;
        r->skip_source = true;
        return 1;
    }
    return 0;
}

/* Hands the oldest slot's result on (waiting for its analysis) and frees it. */
static uint64_t consume_one(struct run *r, msg_fn fn)
{
    struct pool *p = &r->pool;
    struct slot *sl = &p->slots[p->head % p->nslots];
    if (p->nstarted) {
        pthread_mutex_lock(&p->mu);
        while (sl->state != SLOT_DONE) {
            if (p->next != p->tail) {
                /* the oldest is being analysed: analyse a later one meanwhile */
                struct slot *other = &p->slots[p->next++ % p->nslots];
                pthread_mutex_unlock(&p->mu);
                slot_analyse(other);
                pthread_mutex_lock(&p->mu);
                other->state = SLOT_DONE;
                continue;
            }
            p->main_waits = true;
            pthread_cond_wait(&p->done, &p->mu);
            p->main_waits = false;
        }
        pthread_mutex_unlock(&p->mu);
    }
    for (unsigned k = 0; k < sl->nrep; k++)
        ks_diag_report(&r->cli->diag, &r->reported, sl->rep[k].module, &sl->rep[k].loc,
                       sl->rep[k].err, "%s", sl->rep[k].msg);
    uint64_t done = 0;
    if (sl->rc == KS_OK) {
        done = 1;
        fn(r, &sl->raw, sl->msg);
    }
    sl->state = SLOT_FREE;
    p->head++;
    return done;
}

/* Hands every message read so far on, in order. */
static uint64_t drain(struct run *r, msg_fn fn)
{
    uint64_t done = 0;
    while (r->pool.head < r->pool.tail)
        done += consume_one(r, fn);
    return done;
}

/* Queues a message for analysis (consuming the oldest first when the ring is full). */
static int submit(struct run *r, const struct ks_mail_raw *raw, msg_fn fn, uint64_t *msgs)
{
    struct pool *p = &r->pool;
    if (p->tail - p->head == p->nslots)
        *msgs += consume_one(r, fn);
    struct slot *sl = &p->slots[p->tail % p->nslots];
    int rc = slot_fill(sl, raw);
    if (rc != KS_OK)
        return rc;
    if (!p->nstarted) {
        slot_analyse(sl);
        sl->state = SLOT_DONE;
        p->tail++;
        return KS_OK;
    }
    pthread_mutex_lock(&p->mu);
    sl->state = SLOT_FILLED;
    p->tail++;
    if (p->idle)
        pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return KS_OK;
}

static void mail_stats_sum(const struct pool *p, struct ks_mail_stats *ms)
{
    memset(ms, 0, sizeof *ms);
    for (size_t i = 0; i < p->nslots; i++) {
        struct ks_mail_stats st;
        ks_mail_stats(p->slots[i].mail, &st);
        const uint64_t *a = (const uint64_t *)&st;
        uint64_t *b = (uint64_t *)ms;
        for (size_t k = 0; k < sizeof st / sizeof(uint64_t); k++)
            b[k] += a[k];
    }
}

static int read_all(struct run *r, int nfiles, char **files, msg_fn fn)
{
    int code = KS_EXIT_OK;
    uint64_t msgs = 0;
    struct ks_mail_reader_stats tot = {0};
    for (int i = 0; i < nfiles; i++) {
        if (r->store && strcmp(files[i], "-") == 0) {
            ks_cli_error(r->cli, "ingest reads files (stdin has no identity): save it first");
            code = KS_EXIT_FAIL;
            continue;
        }
        struct ks_mail_reader *rd = NULL;
        int rc = ks_mail_reader_open(files[i], &r->o->rcfg, &r->cli->diag, &rd);
        if (rc != KS_OK) {
            ks_cli_error(r->cli, "%s: %s", files[i],
                         rc == KS_EIO ? strerror(errno) : ks_strerror(rc));
            code = KS_EXIT_FAIL;
            continue;
        }
        struct ks_mail_raw raw;
        while ((rc = ks_mail_reader_next(rd, &raw)) == KS_OK) {
            if (!r->cur_source[0] || strcmp(raw.loc.source, r->cur_source) != 0) {
                msgs += drain(r, fn); /* the previous input's messages go to its rows */
                begin_input(r, raw.loc.source);
            }
            if (r->skip_source)
                continue;
            if (submit(r, &raw, fn, &msgs) != KS_OK) {
                rc = KS_ENOMEM;
                break;
            }
        }
        msgs += drain(r, fn);
        struct ks_mail_reader_stats st;
        ks_mail_reader_stats(rd, &st);
        tot.files += st.files;
        tot.messages += st.messages;
        tot.bytes += st.bytes;
        tot.oversized += st.oversized;
        tot.empty += st.empty;
        tot.broken_from += st.broken_from;
        tot.not_mail += st.not_mail;
        tot.unreadable += st.unreadable;
        if (st.unreadable)
            code = KS_EXIT_FAIL;
        ks_mail_reader_free(rd);
        if (rc != KS_ENOTFOUND) {
            ks_cli_error(r->cli, "%s: %s", files[i], ks_strerror(rc));
            code = KS_EXIT_FAIL;
        }
    }
    end_input(r);
    struct ks_mail_stats ms;
    mail_stats_sum(&r->pool, &ms);
    if (!r->cli->quiet) {
        fprintf(stderr,
                "kansoku: mail: %llu files, %llu messages (%llu spam, %llu ham, %llu unknown by "
                "headers), %llu URLs, %llu attachments\n",
                (unsigned long long)tot.files, (unsigned long long)msgs,
                (unsigned long long)ms.spam, (unsigned long long)ms.ham,
                (unsigned long long)ms.unknown, (unsigned long long)ms.urls,
                (unsigned long long)ms.attachments);
        if (r->o->av)
            fprintf(stderr,
                    "kansoku: mail: antivirus: %llu attachments scanned, %llu detected, %llu "
                    "scan errors\n",
                    (unsigned long long)ms.av_scanned, (unsigned long long)ms.av_detected,
                    (unsigned long long)ms.av_errors);
        if (r->o->spf)
            fprintf(stderr,
                    "kansoku: mail: SPF: %llu messages checked, %llu without a sender hop\n",
                    (unsigned long long)ms.spf_checked, (unsigned long long)ms.spf_skipped);
        if (r->cli->verbose)
            fprintf(stderr, "kansoku: mail: %llu messages read by GMime (not by the walker)\n",
                    (unsigned long long)ms.mime_fallbacks);
        if (r->cli->verbose && r->pool.memo) {
            struct ks_mail_memo_stats mst;
            ks_mail_memo_stats(r->pool.memo, &mst);
            fprintf(stderr,
                    "kansoku: mail: attachment contents seen before: %llu of %llu, %llu "
                    "antivirus verdicts reused, %llu contents forgotten for newer ones\n",
                    (unsigned long long)mst.hits, (unsigned long long)mst.lookups,
                    (unsigned long long)mst.av_hits, (unsigned long long)mst.replaced);
        }
        uint64_t bad = tot.oversized + tot.empty + tot.not_mail + tot.broken_from + ms.no_headers +
                       ms.boundary + ms.charset + ms.depth + ms.parts + ms.too_complex;
        if (bad)
            fprintf(stderr,
                    "kansoku: mail: problems: %llu oversized skipped, %llu empty skipped, %llu "
                    "not mail, %llu broken From_ lines, %llu without headers, %llu bad "
                    "boundaries, %llu bad charsets, %llu too deep, %llu too many parts, %llu "
                    "too complex\n",
                    (unsigned long long)tot.oversized, (unsigned long long)tot.empty,
                    (unsigned long long)tot.not_mail, (unsigned long long)tot.broken_from,
                    (unsigned long long)ms.no_headers, (unsigned long long)ms.boundary,
                    (unsigned long long)ms.charset, (unsigned long long)ms.depth,
                    (unsigned long long)ms.parts, (unsigned long long)ms.too_complex);
        if (ms.boundary_recovered)
            fprintf(stderr,
                    "kansoku: mail: %llu multiparts split at a boundary found in the body\n",
                    (unsigned long long)ms.boundary_recovered);
        if (r->store)
            fprintf(stderr,
                    "kansoku: mail: %llu inputs stored (%llu messages), %llu ingested before\n",
                    (unsigned long long)r->inputs, (unsigned long long)r->stored,
                    (unsigned long long)r->inputs_skipped);
    }
    if (r->store_errors)
        code = KS_EXIT_FAIL;
    return code;
}

/* --- verbs ------------------------------------------------------------------------------- */

static int verb_read(int argc, char **argv, bool urls, bool ingest)
{
    struct ks_cli cli;
    const char *help_urls =
        "Usage: kansoku mail urls [options] FILE...\n\n"
        "Prints every URL of every message, one per line: MESSAGE-ID<TAB>URL<TAB>WHERE, with\n"
        "flags after WHERE (obfuscated, bare, idn, numeric, ip, redirect, mismatch=DOMAIN).\n"
        "WHERE: text, html:a.href, html:img.src, html:form.action, html:meta.refresh, html:text,\n"
        "attachment:text, redirect (a target unwrapped from a redirector URL)...\n"
        "--json: {message_id, url, where, domain, flags[], shown}.\n\n" INPUT_HELP
        "\n" KS_CLI_COMMON_HELP;
    const char *help_read =
        "Usage: kansoku mail read [options] FILE...\n\n"
        "One line per message: TIME VERDICT SENDER COUNTRY SPF MESSAGE-ID SUBJECT-KEY (tabs).\n"
        "--json adds source, offset, score, helo, AS, subject, fuzzy hash, parts, "
        "attachments.\n\n" INPUT_HELP
        "      --trusted PREFIX     a relay of ours: the sender is the first hop outside them\n"
        "      --label spam|ham     the verdict of every message (instead of filter headers)\n"
        "      --labels INDEX       verdicts per file: lines \"spam PATH\" / \"ham PATH\"\n"
        "      --no-verdict-headers ignore X-Spam-* / X-Spamd-Result / "
        "X-Rspamd-Action\n" ENGINES_HELP "\n" KS_CLI_COMMON_HELP;
    const char *help_ingest =
        "Usage: kansoku mail ingest [options] FILE...\n\n"
        "Analyses messages into the store: per message its time (Date:, else the first\n"
        "Received:), verdict, sender address, country, AS, subject key, URL domains, body\n"
        "fuzzy hash (ssdeep) and SPF result; its URLs and attachments. Each file is one input,\n"
        "identified by SHA-256: a file ingested before is skipped (--force replaces "
        "it).\n\n" INPUT_HELP
        "      --trusted PREFIX     a relay of ours: the sender is the first hop outside them\n"
        "      --label spam|ham     the verdict of every message (instead of filter headers)\n"
        "      --labels INDEX       verdicts per file: lines \"spam PATH\" / \"ham PATH\"\n"
        "      --no-verdict-headers ignore X-Spam-* / X-Spamd-Result / X-Rspamd-Action\n"
        "      --force              re-ingest files ingested before\n" ENGINES_HELP
        "\n" KS_CLI_COMMON_HELP;
    const char *name = urls ? "mail urls" : ingest ? "mail ingest" : "mail read";
    ks_cli_init(&cli, name, MAIL_USAGE, urls ? help_urls : ingest ? help_ingest : help_read);
    static const struct option lopts[] = {
        KS_CLI_COMMON_OPTS,
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"mboxo", no_argument, NULL, OPT_MBOXO},
        {"redirector", required_argument, NULL, OPT_REDIRECTOR},
        {"no-redirectors", no_argument, NULL, OPT_NO_REDIRECTORS},
        {"no-verdict-headers", no_argument, NULL, OPT_NO_VERDICT_HEADERS},
        {"label", required_argument, NULL, OPT_LABEL},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"trusted", required_argument, NULL, OPT_TRUSTED},
        {"force", no_argument, NULL, OPT_FORCE},
        {"clamav-db", required_argument, NULL, OPT_CLAMAV_DB},
        {"no-clamav", no_argument, NULL, OPT_NO_CLAMAV},
        {"spf-check", no_argument, NULL, OPT_SPF_CHECK},
        {"dns", required_argument, NULL, OPT_DNS},
        {"html-tree", no_argument, NULL, OPT_HTML_TREE},
        {"mime-gmime", no_argument, NULL, OPT_MIME_GMIME},
        {"threads", required_argument, NULL, OPT_THREADS},
        {0},
    };
    struct mail_opts o;
    opts_init(&o);
    struct run r = {0};
    r.cli = &cli;
    r.o = &o;
    int code = KS_EXIT_OK, c;
    while ((c = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, lopts, NULL)) != -1) {
        int h = ks_cli_common_opt(&cli, c, KS_CLI_OPT_ARG(c, argv), &code);
        if (h < 0)
            goto out;
        if (h > 0)
            continue;
        h = input_opt(&cli, &o, c, optarg, &code);
        if (h < 0)
            goto out;
        if (h > 0)
            continue;
        switch (c) {
        case OPT_LABEL:
            if (strcasecmp(optarg, "spam") == 0)
                o.label = KS_MAIL_SPAM;
            else if (strcasecmp(optarg, "ham") == 0)
                o.label = KS_MAIL_HAM;
            else {
                code = ks_cli_usage_error(&cli, "--label is spam or ham, not '%s'", optarg);
                goto out;
            }
            break;
        case OPT_LABELS:
            o.labels_path = optarg;
            break;
        case OPT_TRUSTED: {
            struct ks_prefix p;
            if (ks_prefix_parse(optarg, strlen(optarg), &p, NULL) != KS_OK) {
                code = ks_cli_usage_error(&cli, "--trusted: '%s' is not a prefix", optarg);
                goto out;
            }
            if (!o.trusted && ks_prefix_set_new(&o.trusted) != KS_OK) {
                code = KS_EXIT_FAIL;
                goto out;
            }
            ks_prefix_set_add(o.trusted, &p, 1);
            break;
        }
        case OPT_FORCE:
            o.force = true;
            break;
        default:
            code = ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind >= argc) {
        code = ks_cli_usage_error(&cli, "no input: give mbox files, Maildirs or '-'");
        goto out;
    }
    if (o.labels_path && (code = labels_load(&cli, o.labels_path, &r.labels)) != KS_EXIT_OK)
        goto out;
    o.mcfg.trusted = o.trusted;
    o.mcfg.redirectors = build_redirectors(&o);
    if (urls)
        o.mcfg.want = KS_MAIL_WANT_URLS;
    if (!urls) {
        /* country and AS when the geo data are installed; without them, "--" and 0 */
        int grc = ks_geo_open(cli.geo_dir, &o.geo);
        if (o.geo && grc != KS_OK)
            ks_cli_info(&cli, "geo data incomplete in %s: %s", cli.geo_dir, ks_strerror(grc));
        o.mcfg.geo = o.geo;
        if ((code = engines_open(&cli, &o)) != KS_EXIT_OK)
            goto out;
    }
    if (pool_init(&r.pool, o.threads, &o.mcfg) != KS_OK) {
        ks_cli_error(&cli, "out of memory");
        code = KS_EXIT_FAIL;
        goto out;
    }
    if (ingest) {
        int rc = ks_store_open(cli.db_path, NULL, &r.store);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
            code = KS_EXIT_FAIL;
            goto out;
        }
    }
    code = read_all(&r, argc - optind, argv + optind,
                    urls     ? print_urls
                    : ingest ? store_msg
                             : print_read);
out:
    fflush(stdout);
    pool_free(&r.pool);
    pend_free(&r.pend);
    ks_store_close(r.store);
    labels_free(&r.labels);
    opts_fini(&o);
    return code;
}

static int emit_stat(void *user, const char *kind, const char *json)
{
    struct ks_cli *cli = user;
    if (cli->json) {
        printf("{\"kind\":\"%s\",%s\n", kind, json + 1);
        return 0;
    }
    /* tables: one line per record, KIND then the fields as key=value */
    json_error_t err;
    json_t *o = json_loads(json, 0, &err);
    if (!o)
        return 0;
    printf("%-9s", kind);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (json_is_string(v))
            printf(" %s=%s", key, json_string_value(v));
        else if (json_is_integer(v))
            printf(" %s=%lld", key, (long long)json_integer_value(v));
        else if (json_is_real(v))
            printf(" %s=%.4g", key, json_real_value(v));
        else if (json_is_true(v) || json_is_false(v))
            printf(" %s=%s", key, json_is_true(v) ? "yes" : "no");
        else if (json_is_array(v)) {
            char *s = json_dumps(v, JSON_COMPACT);
            printf(" %s=%s", key, s ? s : "[]");
            free(s);
        }
    }
    putchar('\n');
    json_decref(o);
    return 0;
}

static int parse_day(const char *s, int64_t *t)
{
    return ks_time_parse(s, strlen(s), t);
}

static int verb_stats(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(
        &cli, "mail stats", MAIL_USAGE,
        "Usage: kansoku mail stats [--from DATE] [--to DATE] [--tz +HH:MM] [--json]\n\n"
        "Spam statistics from the stored mail (kansoku mail ingest). Records, one per line\n"
        "(with --json: objects with \"kind\"):\n"
        "  total     messages, spam, ham, unknown, spam ratio\n"
        "  week      ISO week: messages, spam, ratio\n"
        "  day       day: messages, spam, ratio\n"
        "  year      the period against the same period a year before (when stored)\n"
        "  country   spam senders by country: messages, share\n"
        "  senders   messages per sending address: addresses, mean, median, p90, max\n"
        "  campaign  groups by subject key, URL domains or body fuzzy hash: messages,\n"
        "            first/last day, peak daily share, burst days, subject variants\n"
        "  spf       SPF results per month\n"
        "  malware   spam by attachment/link class: link (to malware the crawler fetched),\n"
        "            malware (antivirus hit), undetected (executable, no hit), suspicious,\n"
        "            other: counts and shares\n\n"
        "Options:\n"
        "      --from DATE        period start (RFC 3339 date or date-time; default all)\n"
        "      --to DATE          period end, exclusive\n"
        "      --tz +HH:MM        days and weeks in this zone (default +00:00)\n"
        "      --min-campaign N   messages for a group to count as a campaign "
        "(10)\n\n" KS_CLI_COMMON_HELP);
    static const struct option lopts[] = {
        KS_CLI_COMMON_OPTS,
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"tz", required_argument, NULL, OPT_TZ},
        {"min-campaign", required_argument, NULL, OPT_MIN_CAMPAIGN},
        {0},
    };
    struct ks_mail_stats_config cfg;
    ks_mail_stats_config_default(&cfg);
    struct ks_store *st = NULL;
    int code = KS_EXIT_OK, c;
    while ((c = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, lopts, NULL)) != -1) {
        int h = ks_cli_common_opt(&cli, c, KS_CLI_OPT_ARG(c, argv), &code);
        if (h < 0)
            goto out;
        if (h > 0)
            continue;
        switch (c) {
        case OPT_FROM:
        case OPT_TO: {
            int64_t t;
            if (parse_day(optarg, &t) != KS_OK) {
                code = ks_cli_usage_error(&cli, "'%s' is not an RFC 3339 date", optarg);
                goto out;
            }
            if (c == OPT_FROM)
                cfg.from_us = t;
            else
                cfg.to_us = t;
            break;
        }
        case OPT_TZ: {
            int hh = 0, mm = 0;
            char sign = 0;
            if (sscanf(optarg, "%c%2d:%2d", &sign, &hh, &mm) != 3 || (sign != '+' && sign != '-') ||
                hh > 23 || mm > 59) {
                code = ks_cli_usage_error(&cli, "--tz needs +HH:MM or -HH:MM");
                goto out;
            }
            cfg.tz_offset_s = (hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
            break;
        }
        case OPT_MIN_CAMPAIGN: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 2 || v > 1000000) {
                code = ks_cli_usage_error(&cli, "--min-campaign needs a number >= 2");
                goto out;
            }
            cfg.min_campaign = (uint32_t)v;
            break;
        }
        default:
            code = ks_cli_usage_error(&cli, "unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        code = ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    struct ks_store_config scfg;
    ks_store_config_default(&scfg);
    scfg.readonly = true;
    int rc = ks_store_open(cli.db_path, &scfg, &st);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        code = KS_EXIT_FAIL;
        goto out;
    }
    rc = ks_mail_stats_compute(st, &cfg, emit_stat, &cli);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s: %s", ks_strerror(rc), ks_store_errmsg(st));
        code = KS_EXIT_FAIL;
    }
out:
    fflush(stdout);
    ks_store_close(st);
    return code;
}

int ks_cmd_mail(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "mail", MAIL_USAGE, mail_help);
    if (argc < 2) {
        fputs(MAIL_USAGE, stderr);
        return KS_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
        fputs(mail_help, stdout);
        return KS_EXIT_OK;
    }
    if (strcmp(verb, "urls") == 0)
        return verb_read(argc - 1, argv + 1, true, false);
    if (strcmp(verb, "read") == 0)
        return verb_read(argc - 1, argv + 1, false, false);
    if (strcmp(verb, "ingest") == 0)
        return verb_read(argc - 1, argv + 1, false, true);
    if (strcmp(verb, "stats") == 0)
        return verb_stats(argc - 1, argv + 1);
    return ks_cli_usage_error(&cli, "unknown verb '%s'", verb);
}
