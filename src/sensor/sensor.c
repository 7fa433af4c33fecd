/* sensor: the daemon's loop (include/kansoku/ks_sensor.h). */
#include "sensor_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_darknet.h"
#include "kansoku/ks_ddos.h"
#include "kansoku/ks_flow.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_honeypot.h"
#include "kansoku/ks_time.h"

#define MOD "sensor"
#define HP_MAX_PORTS 1024
/* Traffic counters per window: total, tcp, udp, icmp (v4 and v6), other. */
enum { K_TOTAL, K_TCP, K_UDP, K_ICMP, K_OTHER, K_COUNT };
static const char *const k_names[K_COUNT] = {"total", "tcp", "udp", "icmp", "other"};

struct ks_sensor {
    struct ks_sensor_config cfg;
    volatile sig_atomic_t stop, reload;
    int64_t started_us;

    /* capture */
    struct ks_capture *cap;
    bool live, files_read;
    char dir_last[512]; /* pcap_dir: the last file read (files are read in name order) */
    char dir_current[512];
    uint64_t cap_packets_base, cap_bytes_base, cap_bad_base, cap_kdrop_base;

    /* analyzers (the loop's thread) */
    struct ks_ddos *ddos;
    struct ks_ddos_rules *rules;
    struct ks_darknet *dn;
    struct ks_geo *geo;
    struct ks_flow *flow; /* the flow collector: records become weighted packets */
    struct ks_flow_stats flow_final;
    struct ks_ddos_stats ddos_final; /* of detectors already freed (reloads) */
    struct ks_darknet_stats dn_final;

    /* honeypot (its own thread) */
    struct ks_honeypot *hp;
    pthread_t hp_thread;
    bool hp_running;
    uint16_t hp_tcp[HP_MAX_PORTS], hp_udp[HP_MAX_PORTS];
    uint64_t hp_sessions_final, hp_refused_final;

    /* the traffic window */
    int64_t win_start;
    bool win_open;
    uint64_t win_pkts[K_COUNT], win_bytes[K_COUNT];

    /* the open batch */
    pthread_mutex_t bmu;
    struct sbatch batch;
    uint64_t boot, seq;
    int64_t last_seal_wall;

    /* spool and writer */
    struct spool spool;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    bool wake, wstop;
    uint64_t attempts;
    struct ks_store *store; /* the writer's */
    char last_err[1024];

    /* counters: st is guarded by smu; the loop's own are published by publish() */
    pthread_mutex_t smu;
    struct ks_sensor_stats st;
    uint64_t packets, bytes, windows, files_done;
    uint64_t fed; /* packets given to ks_sensor_feed */
    int64_t last_publish_wall;

    struct metrics_srv *metrics;
};

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * KS_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* --- rows ----------------------------------------------------------------------------------- */

static void count_rows_dropped(struct ks_sensor *s, uint64_t n)
{
    pthread_mutex_lock(&s->smu);
    s->st.spool_full_rows += n;
    pthread_mutex_unlock(&s->smu);
}

/* With bmu held. */
static void emit_locked(struct ks_sensor *s, int table, const struct ks_store_value *v, size_t n)
{
    if (sb_add_row(&s->batch, table, v, n) != KS_OK) {
        count_rows_dropped(s, 1);
        return;
    }
    pthread_mutex_lock(&s->smu);
    s->st.rows++;
    s->st.pending_rows = s->batch.rb.rows;
    pthread_mutex_unlock(&s->smu);
}

static void wake_writer(struct ks_sensor *s)
{
    pthread_mutex_lock(&s->wmu);
    s->wake = true;
    pthread_cond_signal(&s->wcv);
    pthread_mutex_unlock(&s->wmu);
}

/* Seals the open batch into the spool (bmu held). */
static void seal_locked(struct ks_sensor *s)
{
    s->last_seal_wall = wall_us();
    if (s->batch.rb.rows == 0)
        return;
    int rc = spool_write(&s->spool, s->cfg.name, s->boot, s->seq, s->last_seal_wall, &s->batch);
    pthread_mutex_lock(&s->smu);
    if (rc == KS_OK) {
        s->st.batches_sealed++;
    } else {
        s->st.spool_full_batches++;
        s->st.spool_full_rows += s->batch.rb.rows;
    }
    s->st.pending_rows = 0;
    uint64_t dropped = s->st.spool_full_batches;
    pthread_mutex_unlock(&s->smu);
    if (rc == KS_ELIMIT) {
        if (dropped == 1 || dropped % 100 == 0)
            ks_log(KS_LOG_WARN, MOD,
                   "spool %s is full (%llu MiB): a batch of %llu rows dropped (%llu so far)",
                   s->spool.dir, (unsigned long long)(s->cfg.spool_max_bytes >> 20),
                   (unsigned long long)s->batch.rb.rows, (unsigned long long)dropped);
    } else if (rc != KS_OK) {
        ks_log(KS_LOG_ERROR, MOD, "spool %s: cannot write a batch (%s, %s): %llu rows dropped",
               s->spool.dir, ks_strerror(rc), strerror(errno), (unsigned long long)s->batch.rb.rows);
    }
    s->seq++;
    sb_clear(&s->batch);
    if (rc == KS_OK)
        wake_writer(s);
}

static void seal(struct ks_sensor *s)
{
    pthread_mutex_lock(&s->bmu);
    seal_locked(s);
    pthread_mutex_unlock(&s->bmu);
}

static void emit(struct ks_sensor *s, int table, const struct ks_store_value *v, size_t n)
{
    pthread_mutex_lock(&s->bmu);
    emit_locked(s, table, v, n);
    if (s->batch.rb.rows >= s->cfg.batch_max_rows || s->batch.rb.len >= SB_MAX_BYTES)
        seal_locked(s);
    pthread_mutex_unlock(&s->bmu);
}

/* --- the traffic window ---------------------------------------------------------------------- */

static void window_close(struct ks_sensor *s)
{
    if (!s->win_open)
        return;
    s->win_open = false;
    for (int m = 0; m < 2; m++) {
        const uint64_t *v = m ? s->win_bytes : s->win_pkts;
        for (int k = 0; k < K_COUNT; k++) {
            if (k != K_TOTAL && v[k] == 0)
                continue;
            struct ks_store_value row[5] = {ks_store_time(s->win_start), ks_store_text(s->cfg.name),
                                            ks_store_text(m ? "sensor.bytes" : "sensor.packets"),
                                            ks_store_text(k_names[k]), ks_store_f64((double)v[k])};
            emit(s, KS_TBL_SERIES, row, 5);
        }
    }
    memset(s->win_pkts, 0, sizeof s->win_pkts);
    memset(s->win_bytes, 0, sizeof s->win_bytes);
    s->windows++;
    /* Not sealed here: reading old captures closes windows much faster than flush_s, and one
     * batch (one fsync'd file, one store input) per window would be wasteful. */
}

/* Moves the window to the one holding t (closing the open one if it is earlier). */
static void window_at(struct ks_sensor *s, int64_t t)
{
    int64_t w = (int64_t)s->cfg.window_s * KS_USEC_PER_SEC;
    int64_t start = ks_time_floor(t, w);
    if (s->win_open && start <= s->win_start)
        return; /* same window, or a late packet: counted in the open one */
    window_close(s);
    s->win_start = start;
    s->win_open = true;
}

/* --- analyzers -------------------------------------------------------------------------------- */

static size_t vector_list(uint32_t mask, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned v = 0; v < KS_VEC_COUNT; v++) {
        if (!(mask >> v & 1u))
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", ks_ddos_vector_name(v));
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    return n;
}

static struct ks_store_value sv_vector(uint8_t v)
{
    const char *name = ks_ddos_vector_name(v);
    return name ? ks_store_text(name) : ks_store_null();
}

/* The rows of ddos_attacks and ddos_timeline, as src/ddos/store.c writes them. */
static void on_attack(void *user, const struct ks_ddos_attack *a)
{
    struct ks_sensor *s = user;
    char vecs[512], srcs[1024], ports[1024], addr[KS_ADDR_STRLEN];
    size_t nv = vector_list(a->vectors, vecs, sizeof vecs);
    size_t ns = (size_t)snprintf(srcs, sizeof srcs, "[");
    for (unsigned i = 0; i < a->n_top_sources && ns < sizeof srcs - 80; i++) {
        char sa[KS_ADDR_STRLEN];
        ks_addr_format(&a->top_sources[i].addr, sa, sizeof sa);
        ns += (size_t)snprintf(srcs + ns, sizeof srcs - ns, "%s{\"addr\":\"%s\",\"packets\":%llu}",
                               i ? "," : "", sa, (unsigned long long)a->top_sources[i].packets);
    }
    ns += (size_t)snprintf(srcs + ns, sizeof srcs - ns, "]");
    size_t np = (size_t)snprintf(ports, sizeof ports, "[");
    for (unsigned i = 0; i < a->n_top_ports && np < sizeof ports - 80; i++)
        np += (size_t)snprintf(ports + np, sizeof ports - np,
                               "%s{\"port\":%u,\"proto\":\"%s\",\"packets\":%llu}", i ? "," : "",
                               a->top_ports[i].port, a->top_ports[i].proto == 6 ? "tcp" : "udp",
                               (unsigned long long)a->top_ports[i].packets);
    np += (size_t)snprintf(ports + np, sizeof ports - np, "]");
    ks_addr_format(&a->target.addr, addr, sizeof addr);

    pthread_mutex_lock(&s->bmu);
    uint64_t no = ++s->batch.attacks; /* attack number within the batch (= the input) */
    struct ks_store_value row[20] = {
        ks_store_i64((int64_t)no),
        ks_store_bytes(KS_TYPE_ADDR, addr, strlen(addr)),
        ks_store_i64(a->target.len),
        ks_store_time(a->start_us),
        ks_store_time(a->end_us),
        ks_store_f64((double)(a->end_us - a->start_us) / 1e6),
        ks_store_text(ks_ddos_class_name(a->cls)),
        ks_store_bytes(KS_TYPE_TEXT, vecs, nv),
        sv_vector(a->main_vector),
        ks_store_u64(a->peak_pps),
        ks_store_u64(a->peak_bps),
        ks_store_u64(a->packets),
        ks_store_u64(a->bytes),
        ks_store_f64(a->dispersion.sources),
        ks_store_text(ks_ddos_disp_name(a->dispersion.judgement)),
        ks_store_f64(a->dispersion.top1_share),
        ks_store_f64(a->dispersion.top10_share),
        ks_store_bytes(KS_TYPE_TEXT, srcs, ns < sizeof srcs ? ns : sizeof srcs - 1),
        ks_store_bytes(KS_TYPE_TEXT, ports, np < sizeof ports ? np : sizeof ports - 1),
        ks_store_i64(a->open ? 1 : 0),
    };
    emit_locked(s, KS_TBL_DDOS_ATTACKS, row, 20);
    for (size_t i = 0; i < a->timeline_len; i++) {
        const struct ks_ddos_tl *t = &a->timeline[i];
        char tv[512];
        size_t tn = vector_list(t->vectors, tv, sizeof tv);
        struct ks_store_value tl[7] = {
            ks_store_i64((int64_t)no), ks_store_time(t->t_us), ks_store_i64(t->seconds),
            ks_store_u64(t->packets),  ks_store_u64(t->bytes), ks_store_bytes(KS_TYPE_TEXT, tv, tn),
            sv_vector(t->main_vector)};
        emit_locked(s, KS_TBL_DDOS_TIMELINE, tl, 7);
    }
    if (s->batch.rb.rows >= s->cfg.batch_max_rows || s->batch.rb.len >= SB_MAX_BYTES)
        seal_locked(s);
    pthread_mutex_unlock(&s->bmu);
    pthread_mutex_lock(&s->smu);
    s->st.ddos_attacks++;
    pthread_mutex_unlock(&s->smu);
}

static void on_cell(void *user, const struct ks_darknet_cell *c)
{
    struct ks_sensor *s = user;
    struct ks_store_value row[9] = {
        ks_store_time(c->day),
        ks_store_text(c->sensor),
        ks_store_text(ks_darknet_kind_name(c->kind)),
        ks_store_i64(c->proto),
        ks_store_i64(c->port),
        ks_store_i64((int64_t)c->packets),
        ks_store_i64((int64_t)c->bytes),
        ks_store_f64(c->sources),
        c->sketch ? ks_store_bytes(KS_TYPE_BLOB, c->sketch, c->sketch_len) : ks_store_null(),
    };
    emit(s, KS_TBL_DARKNET_CELLS, row, 9);
}

static void on_source(void *user, const struct ks_darknet_source *d)
{
    struct ks_sensor *s = user;
    struct ks_store_value row[8] = {
        ks_store_time(d->day),
        ks_store_text(d->sensor),
        ks_store_text(ks_darknet_dim_name(d->dim)),
        ks_store_text(d->key),
        ks_store_text(d->name),
        ks_store_i64((int64_t)d->sources),
        ks_store_i64((int64_t)d->packets),
        ks_store_i64((int64_t)d->error),
    };
    emit(s, KS_TBL_DARKNET_SOURCES, row, 8);
}

static void on_day(void *user, const struct ks_darknet_day *d)
{
    struct ks_sensor *s = user;
    struct ks_store_value row[10] = {
        ks_store_time(d->day),
        ks_store_text(d->sensor),
        ks_store_i64((int64_t)d->monitored),
        ks_store_i64((int64_t)d->packets),
        ks_store_i64((int64_t)d->scan_packets),
        ks_store_i64((int64_t)d->backscatter_packets),
        ks_store_f64(d->sources),
        ks_store_f64(d->backscatter_sources),
        ks_store_i64((int64_t)d->domestic_sources),
        ks_store_i64((int64_t)d->dropped),
    };
    emit(s, KS_TBL_DARKNET_DAYS, row, 10);
}

/* Called in the honeypot's thread. */
static void on_session(void *user, const struct ks_honeypot_session *h)
{
    struct ks_sensor *s = user;
    char src[KS_ADDR_STRLEN];
    ks_addr_format(&h->source, src, sizeof src);
    struct ks_store_value row[12] = {
        ks_store_time(h->start),
        ks_store_time(h->end),
        ks_store_text(s->cfg.name),
        ks_store_text(h->proto),
        ks_store_bytes(KS_TYPE_ADDR, src, strlen(src)),
        ks_store_i64(h->sport),
        ks_store_i64(h->port),
        ks_store_i64((int64_t)h->bytes),
        ks_store_text(h->reason),
        h->sha256[0] ? ks_store_bytes(KS_TYPE_TEXT, h->sha256, 64) : ks_store_null(),
        h->payload_len ? ks_store_bytes(KS_TYPE_BLOB, h->payload, h->payload_len) : ks_store_null(),
        h->sample[0] ? ks_store_bytes(KS_TYPE_TEXT, h->sample, 64) : ks_store_null(),
    };
    emit(s, KS_TBL_HONEYPOT_SESSIONS, row, 12);
}

static void log_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                     const char *msg)
{
    (void)user;
    char where[512];
    ks_loc_format(loc, where, sizeof where);
    ks_log(KS_LOG_WARN, module ? module : MOD, "%s%s%s: %s", where, where[0] ? ": " : "",
           ks_strerror(err), msg);
}
static const struct ks_diag diag = {log_diag, NULL, 20};

static void *hp_main(void *arg)
{
    struct ks_sensor *s = arg;
    int rc = ks_honeypot_run(s->hp, 0);
    if (rc != KS_OK)
        ks_log(KS_LOG_ERROR, MOD, "honeypot stopped: %s", ks_strerror(rc));
    return NULL;
}

static void feed_pkt(struct ks_sensor *s, const struct ks_pkt *p);

static void on_flow_pkt(void *user, const struct ks_pkt *p)
{
    feed_pkt(user, p);
}

/* A NetFlow/IPFIX/sFlow record: spread over its seconds as weighted packets (ks_flow.h). */
static void on_flow_record(void *user, const struct ks_flow_rec *r)
{
    ks_flow_spread(r, 0, on_flow_pkt, user);
}

static int honeypot_start(struct ks_sensor *s)
{
    const struct ks_sensor_config *c = &s->cfg;
    struct ks_honeypot_config hc;
    ks_honeypot_config_default(&hc);
    size_t nt = 0, nu = 0;
    if ((c->hp_tcp[0] &&
         ks_honeypot_parse_ports(c->hp_tcp, s->hp_tcp, HP_MAX_PORTS, &nt) != KS_OK) ||
        (c->hp_udp[0] &&
         ks_honeypot_parse_ports(c->hp_udp, s->hp_udp, HP_MAX_PORTS, &nu) != KS_OK)) {
        ks_log(KS_LOG_ERROR, MOD, "honeypot: bad port list");
        return KS_EINVAL;
    }
    hc.listen = c->hp_listen;
    hc.tcp_ports = s->hp_tcp;
    hc.ntcp = nt;
    hc.udp_ports = s->hp_udp;
    hc.nudp = nu;
    hc.sensor = c->name;
    hc.max_sessions = c->hp_max_sessions;
    hc.keep_privileges = true;
    hc.on_session = on_session;
    hc.user = s;
    int rc = ks_honeypot_new(&hc, &diag, &s->hp);
    if (rc != KS_OK) {
        ks_log(KS_LOG_ERROR, MOD, "honeypot: cannot listen on %s (%s)", c->hp_listen,
               strerror(errno));
        return rc;
    }
    if (pthread_create(&s->hp_thread, NULL, hp_main, s) != 0) {
        ks_honeypot_free(s->hp);
        s->hp = NULL;
        return KS_EIO;
    }
    s->hp_running = true;
    /* The ports bound (a 0 in the lists is an ephemeral port: tests read it here). */
    char ports[256];
    size_t pn = 0;
    ports[0] = '\0';
    for (size_t i = 0; i < nt + nu && pn + 16 < sizeof ports; i++) {
        int w = snprintf(ports + pn, sizeof ports - pn, "%s%s/%u", i ? "," : "",
                         i < nt ? "tcp" : "udp", ks_honeypot_port(s->hp, i));
        if (w > 0)
            pn += (size_t)w;
    }
    ks_log(KS_LOG_INFO, MOD, "honeypot listening on %s, ports %s", c->hp_listen, ports);
    return KS_OK;
}

static void honeypot_stop(struct ks_sensor *s)
{
    if (!s->hp)
        return;
    if (s->hp_running) {
        ks_honeypot_stop(s->hp);
        pthread_join(s->hp_thread, NULL);
        s->hp_running = false;
    }
    struct ks_honeypot_stats hs;
    ks_honeypot_stats(s->hp, &hs);
    s->hp_sessions_final += hs.tcp_sessions + hs.udp_datagrams;
    s->hp_refused_final += hs.refused_max_sessions + hs.refused_per_source;
    ks_honeypot_free(s->hp);
    s->hp = NULL;
}

static int analyzers_start(struct ks_sensor *s)
{
    const struct ks_sensor_config *c = &s->cfg;
    int rc = KS_OK;
    if (c->ddos) {
        struct ks_ddos_config dc;
        ks_ddos_config_default(&dc);
        if (c->ddos_thresholds[0]) {
            rc = ks_ddos_config_load(c->ddos_thresholds, &dc, &s->rules, &diag);
            if (rc != KS_OK) {
                ks_log(KS_LOG_ERROR, MOD, "ddos: %s: %s", c->ddos_thresholds, ks_strerror(rc));
                return rc;
            }
            dc.rules = s->rules;
        }
        dc.max_targets = c->ddos_max_targets;
        dc.workers = 0;
        dc.on_attack = on_attack;
        dc.user = s;
        if ((rc = ks_ddos_new(&dc, &s->ddos)) != KS_OK) {
            ks_log(KS_LOG_ERROR, MOD, "ddos: cannot start: %s", ks_strerror(rc));
            return rc;
        }
    }
    if (c->darknet) {
        if (c->geo_dir[0] && ks_geo_open(c->geo_dir, &s->geo) != KS_OK)
            ks_log(KS_LOG_WARN, MOD, "darknet: no geolocation data in %s: sources are '--'",
                   c->geo_dir);
        struct ks_darknet_config nc;
        ks_darknet_config_default(&nc);
        nc.sensor = c->darknet_sensor;
        nc.tz_offset_s = c->tz_offset_s;
        nc.geo = s->geo;
        nc.diag = &diag;
        struct ks_darknet_sink sink = {on_cell, on_source, on_day, s};
        if ((rc = ks_darknet_new(&nc, &sink, &s->dn)) != KS_OK) {
            ks_log(KS_LOG_ERROR, MOD, "darknet: cannot start: %s", ks_strerror(rc));
            return rc;
        }
        for (size_t i = 0; i < c->ndarknet_prefixes; i++) {
            struct ks_prefix p;
            const char *t = c->darknet_prefixes[i];
            if (ks_prefix_parse(t, strlen(t), &p, NULL) != KS_OK ||
                ks_darknet_add_prefix(s->dn, &p) != KS_OK) {
                ks_log(KS_LOG_ERROR, MOD, "darknet: bad prefix %s", t);
                return KS_EINVAL;
            }
        }
    }
    if (c->honeypot && (rc = honeypot_start(s)) != KS_OK)
        return rc;
    if (c->flow) {
        struct ks_flow_config fc;
        ks_flow_config_default(&fc);
        fc.diag = &diag;
        fc.on_record = on_flow_record;
        fc.user = s;
        if ((rc = ks_flow_new(&fc, &s->flow)) != KS_OK ||
            (rc = ks_flow_listen(s->flow, c->flow_listen)) != KS_OK) {
            ks_log(KS_LOG_ERROR, MOD, "flow: cannot listen on %s (%s)", c->flow_listen,
                   strerror(errno));
            return rc;
        }
        ks_log(KS_LOG_INFO, MOD, "flow collector listening on %s", c->flow_listen);
    }
    return KS_OK;
}

/* Emits what the analyzers hold (open attacks, the current darknet day, the traffic window)
 * and frees them; the honeypot too when `honeypot` is set. */
static void analyzers_stop(struct ks_sensor *s, bool honeypot)
{
    if (s->ddos) {
        ks_ddos_flush(s->ddos);
        struct ks_ddos_stats ds;
        ks_ddos_stats(s->ddos, &ds);
        s->ddos_final.targets_evicted += ds.targets_evicted;
        s->ddos_final.tracker_full += ds.tracker_full;
        ks_ddos_free(s->ddos);
        s->ddos = NULL;
    }
    ks_ddos_rules_free(s->rules);
    s->rules = NULL;
    if (s->dn) {
        ks_darknet_flush(s->dn, INT64_MAX);
        struct ks_darknet_stats ns;
        ks_darknet_stats(s->dn, &ns);
        s->dn_final.monitored += ns.monitored;
        s->dn_final.cells_dropped += ns.cells_dropped;
        s->dn_final.sources_evicted += ns.sources_evicted;
        ks_darknet_free(s->dn);
        s->dn = NULL;
    }
    ks_geo_free(s->geo);
    s->geo = NULL;
    if (s->flow) {
        struct ks_flow_stats fs;
        ks_flow_stats(s->flow, &fs);
        s->flow_final.records += fs.records;
        s->flow_final.bad_datagrams += fs.bad_datagrams;
        s->flow_final.sources_evicted += fs.sources_evicted;
        ks_flow_free(s->flow);
        s->flow = NULL;
    }
    if (honeypot)
        honeypot_stop(s);
    window_close(s);
}

/* --- capture ---------------------------------------------------------------------------------- */

static void capture_close(struct ks_sensor *s)
{
    if (!s->cap)
        return;
    struct ks_capture_stats cs;
    ks_capture_stats(s->cap, &cs);
    s->cap_bad_base += cs.bad;
    s->cap_kdrop_base += cs.live_dropped;
    ks_capture_free(s->cap);
    s->cap = NULL;
}

static void capture_config(const struct ks_sensor_config *c, struct ks_capture_config *cc)
{
    ks_capture_config_default(cc);
    cc->filter = c->filter[0] ? c->filter : NULL;
    cc->sample_rate = c->sample_rate;
    cc->promisc = c->promisc;
    cc->diag = &diag;
}

static int capture_open(struct ks_sensor *s)
{
    const struct ks_sensor_config *c = &s->cfg;
    struct ks_capture_config cc;
    capture_config(c, &cc);
    int rc = KS_OK;
    if (c->interface[0]) {
        rc = ks_capture_open_live(c->interface, &cc, &s->cap);
        s->live = true;
    } else if (c->nfiles && !s->files_read) {
        const char *paths[KS_SENSOR_MAX_FILES];
        for (size_t i = 0; i < c->nfiles; i++)
            paths[i] = c->files[i];
        rc = ks_capture_open_files(paths, c->nfiles, &cc, &s->cap);
    }
    if (rc != KS_OK)
        ks_log(KS_LOG_ERROR, MOD, "capture: %s", ks_capture_errmsg(NULL));
    return rc;
}

static void dir_state_path(const struct ks_sensor *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s/pcap-dir.last", s->cfg.spool_dir);
}

static void dir_state_load(struct ks_sensor *s)
{
    char path[2048];
    dir_state_path(s, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(s->dir_last, sizeof s->dir_last, f))
        s->dir_last[strcspn(s->dir_last, "\n")] = '\0';
    fclose(f);
}

static void dir_state_save(struct ks_sensor *s)
{
    char path[2048], tmp[2100];
    dir_state_path(s, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return;
    fprintf(f, "%s\n", s->dir_last);
    if (fflush(f) == 0 && fsync(fileno(f)) == 0) {
        fclose(f);
        rename(tmp, path);
        return;
    }
    fclose(f);
}

static bool is_capture_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' &&
           ((l > 5 && !strcmp(n + l - 5, ".pcap")) || (l > 7 && !strcmp(n + l - 7, ".pcapng")));
}

/* Opens the next complete file of pcap_dir (name after dir_last, unchanged for 2 s). */
static bool dir_next(struct ks_sensor *s)
{
    DIR *d = opendir(s->cfg.pcap_dir);
    if (!d)
        return false;
    char best[512] = "";
    int64_t now = wall_us();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_capture_name(e->d_name) || strlen(e->d_name) >= sizeof best)
            continue;
        if (s->dir_last[0] && strcmp(e->d_name, s->dir_last) <= 0)
            continue;
        if (best[0] && strcmp(e->d_name, best) >= 0)
            continue;
        char path[2048];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", s->cfg.pcap_dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        int64_t mt = (int64_t)sb.st_mtim.tv_sec * KS_USEC_PER_SEC + sb.st_mtim.tv_nsec / 1000;
        if (now - mt < 2 * KS_USEC_PER_SEC)
            continue; /* still being written (tcpdump -G rotates) */
        snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    if (!best[0])
        return false;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", s->cfg.pcap_dir, best);
    struct ks_capture_config cc;
    capture_config(&s->cfg, &cc);
    const char *paths[1] = {path};
    snprintf(s->dir_current, sizeof s->dir_current, "%s", best);
    if (ks_capture_open_files(paths, 1, &cc, &s->cap) != KS_OK) {
        ks_log(KS_LOG_WARN, MOD, "capture: %s: skipped", ks_capture_errmsg(NULL));
        snprintf(s->dir_last, sizeof s->dir_last, "%s", best);
        dir_state_save(s);
        return false;
    }
    ks_log(KS_LOG_DEBUG, MOD, "reading %s", path);
    return true;
}

/* --- the writer thread ------------------------------------------------------------------------ */

static void *writer_main(void *arg)
{
    struct ks_sensor *s = arg;
    uint32_t backoff = 1;
    bool was_up = true;
    pthread_mutex_lock(&s->wmu);
    for (;;) {
        bool last = s->wstop;
        if (!last && !s->wake) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += backoff;
            pthread_cond_timedwait(&s->wcv, &s->wmu, &ts);
        }
        last = s->wstop;
        s->wake = false;
        /* The configuration may be replaced by a reload (under wmu): work on a copy. */
        uint32_t retry_max = s->cfg.retry_max_s, busy = s->cfg.busy_timeout_ms;
        char db[sizeof s->cfg.db], name[sizeof s->cfg.name];
        memcpy(db, s->cfg.db, sizeof db);
        memcpy(name, s->cfg.name, sizeof name);
        pthread_mutex_unlock(&s->wmu);

        struct spool_stats ss = {0};
        char err[1024] = "";
        int rc = spool_replay(&s->spool, db, busy, name, &s->store, &ss, err, sizeof err);
        bool up = rc == KS_OK || (s->store != NULL);
        pthread_mutex_lock(&s->smu);
        s->st.batches_committed += ss.committed;
        s->st.batches_duplicate += ss.duplicate;
        s->st.batches_bad += ss.bad;
        s->st.rows_committed += ss.rows_committed;
        s->st.rows_rejected += ss.rows_rejected;
        s->st.store_errors += ss.store_errors;
        s->st.store_up = up;
        pthread_mutex_unlock(&s->smu);
        if (ss.bad)
            ks_log(KS_LOG_ERROR, MOD, "%s", err);
        if (rc != KS_OK) {
            if (was_up || strcmp(err, s->last_err) != 0)
                ks_log(KS_LOG_ERROR, MOD, "store unavailable, batches kept in the spool: %s", err);
            snprintf(s->last_err, sizeof s->last_err, "%s", err);
            backoff = backoff * 2 > retry_max ? retry_max : backoff * 2;
            was_up = false;
        } else {
            if (!was_up)
                ks_log(KS_LOG_INFO, MOD, "store reachable again: spool replayed");
            was_up = true;
            backoff = retry_max < 5 ? retry_max : 5;
        }
        if (ss.committed || ss.duplicate)
            ks_log(KS_LOG_DEBUG, MOD, "%llu batches stored, %llu already there",
                   (unsigned long long)ss.committed, (unsigned long long)ss.duplicate);
        pthread_mutex_lock(&s->wmu);
        s->attempts++;
        pthread_cond_broadcast(&s->wcv);
        if (last)
            break;
    }
    pthread_mutex_unlock(&s->wmu);
    ks_store_close(s->store);
    s->store = NULL;
    return NULL;
}

/* --- stats and metrics ---------------------------------------------------------------------------
 */

static void publish(struct ks_sensor *s)
{
    struct ks_ddos_stats ds = {0};
    struct ks_darknet_stats ns = {0};
    struct ks_honeypot_stats hs = {0};
    struct ks_capture_stats cs = {0};
    struct ks_flow_stats fs = {0};
    if (s->flow)
        ks_flow_stats(s->flow, &fs);
    if (s->ddos)
        ks_ddos_stats(s->ddos, &ds);
    if (s->dn)
        ks_darknet_stats(s->dn, &ns);
    if (s->hp)
        ks_honeypot_stats(s->hp, &hs);
    if (s->cap)
        ks_capture_stats(s->cap, &cs);
    uint64_t files, bytes;
    int64_t oldest;
    spool_counts(&s->spool, &files, &bytes, &oldest);
    pthread_mutex_lock(&s->smu);
    struct ks_sensor_stats *st = &s->st;
    st->packets = s->packets;
    st->bytes = s->bytes;
    st->decode_errors = s->cap_bad_base + cs.bad;
    st->kernel_drops = s->cap_kdrop_base + cs.live_dropped;
    st->ddos_targets = ds.targets;
    st->ddos_capacity = s->ddos ? s->cfg.ddos_max_targets : 0;
    st->ddos_evicted = s->ddos_final.targets_evicted + ds.targets_evicted;
    st->ddos_tracker_full = s->ddos_final.tracker_full + ds.tracker_full;
    st->darknet_packets = s->dn_final.monitored + ns.monitored;
    st->darknet_cells_dropped = s->dn_final.cells_dropped + ns.cells_dropped;
    st->darknet_sources_evicted = s->dn_final.sources_evicted + ns.sources_evicted;
    st->honeypot_sessions = s->hp_sessions_final + hs.tcp_sessions + hs.udp_datagrams;
    st->honeypot_refused = s->hp_refused_final + hs.refused_max_sessions + hs.refused_per_source;
    st->spool_batches = files;
    st->spool_bytes = bytes;
    st->oldest_batch_us = oldest;
    st->windows = s->windows;
    st->files_done = s->files_done;
    st->flow_records = s->flow_final.records + fs.records;
    st->flow_bad_datagrams = s->flow_final.bad_datagrams + fs.bad_datagrams;
    st->flow_sources_evicted = s->flow_final.sources_evicted + fs.sources_evicted;
    pthread_mutex_unlock(&s->smu);
}

void ks_sensor_stats(struct ks_sensor *s, struct ks_sensor_stats *st)
{
    uint64_t files, bytes;
    int64_t oldest;
    spool_counts(&s->spool, &files, &bytes, &oldest);
    pthread_mutex_lock(&s->smu);
    *st = s->st;
    st->spool_batches = files;
    st->spool_bytes = bytes;
    st->oldest_batch_us = oldest;
    pthread_mutex_unlock(&s->smu);
}

struct page {
    char *buf;
    size_t size, len;
};

static void pf(struct page *p, const char *fmt, ...) KS_PRINTF(2, 3);
static void pf(struct page *p, const char *fmt, ...)
{
    if (p->len + 1 >= p->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->len, p->size - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len = p->len + (size_t)n < p->size ? p->len + (size_t)n : p->size - 1;
}

static void metric(struct page *p, const char *name, const char *type, const char *help,
                   const char *sensor, const char *label, const char *lv, double v)
{
    pf(p, "# HELP kansoku_sensor_%s %s\n# TYPE kansoku_sensor_%s %s\n", name, help, name, type);
    if (label)
        pf(p, "kansoku_sensor_%s{sensor=\"%s\",%s=\"%s\"} %.17g\n", name, sensor, label, lv, v);
    else
        pf(p, "kansoku_sensor_%s{sensor=\"%s\"} %.17g\n", name, sensor, v);
}

static void sample(struct page *p, const char *name, const char *sensor, const char *label,
                   const char *lv, double v)
{
    pf(p, "kansoku_sensor_%s{sensor=\"%s\",%s=\"%s\"} %.17g\n", name, sensor, label, lv, v);
}

size_t ks_sensor_metrics_text(struct ks_sensor *s, char *buf, size_t size)
{
    if (!size)
        return 0;
    struct ks_sensor_stats st;
    ks_sensor_stats(s, &st);
    struct page p = {buf, size, 0};
    buf[0] = '\0';
    /* The sensor name as a label value: quotes and backslashes escaped. */
    char name[160];
    size_t n = 0;
    for (const char *c = s->cfg.name; *c && n + 2 < sizeof name; c++) {
        if (*c == '"' || *c == '\\')
            name[n++] = '\\';
        name[n++] = *c == '\n' ? ' ' : *c;
    }
    name[n] = '\0';
    int64_t now = wall_us();
    metric(&p, "packets_total", "counter", "Packets read from the capture.", name, NULL, NULL,
           (double)st.packets);
    metric(&p, "bytes_total", "counter", "Bytes (wire length) read from the capture.", name, NULL,
           NULL, (double)st.bytes);
    pf(&p, "# HELP kansoku_sensor_drops_total Packets, records or rows not fully counted, by "
           "reason.\n# TYPE kansoku_sensor_drops_total counter\n");
    sample(&p, "drops_total", name, "reason", "decode_error", (double)st.decode_errors);
    sample(&p, "drops_total", name, "reason", "kernel", (double)st.kernel_drops);
    sample(&p, "drops_total", name, "reason", "ddos_target_evicted", (double)st.ddos_evicted);
    sample(&p, "drops_total", name, "reason", "ddos_tracker_full", (double)st.ddos_tracker_full);
    sample(&p, "drops_total", name, "reason", "darknet_cells_full",
           (double)st.darknet_cells_dropped);
    sample(&p, "drops_total", name, "reason", "darknet_sources_evicted",
           (double)st.darknet_sources_evicted);
    sample(&p, "drops_total", name, "reason", "honeypot_refused", (double)st.honeypot_refused);
    sample(&p, "drops_total", name, "reason", "spool_full", (double)st.spool_full_rows);
    sample(&p, "drops_total", name, "reason", "store_rejected", (double)st.rows_rejected);
    sample(&p, "drops_total", name, "reason", "flow_bad_datagram", (double)st.flow_bad_datagrams);
    sample(&p, "drops_total", name, "reason", "flow_source_evicted",
           (double)st.flow_sources_evicted);
    pf(&p, "# HELP kansoku_sensor_table_entries Entries in a bounded table.\n"
           "# TYPE kansoku_sensor_table_entries gauge\n");
    sample(&p, "table_entries", name, "table", "ddos_targets", (double)st.ddos_targets);
    sample(&p, "table_entries", name, "table", "batch_rows", (double)st.pending_rows);
    sample(&p, "table_entries", name, "table", "spool_bytes", (double)st.spool_bytes);
    pf(&p, "# HELP kansoku_sensor_table_capacity Capacity of a bounded table.\n"
           "# TYPE kansoku_sensor_table_capacity gauge\n");
    sample(&p, "table_capacity", name, "table", "ddos_targets", (double)st.ddos_capacity);
    sample(&p, "table_capacity", name, "table", "batch_rows", (double)s->cfg.batch_max_rows);
    sample(&p, "table_capacity", name, "table", "spool_bytes", (double)s->cfg.spool_max_bytes);
    metric(&p, "spool_batches", "gauge", "Sealed batches waiting for the store.", name, NULL, NULL,
           (double)st.spool_batches);
    metric(&p, "store_lag_seconds", "gauge",
           "Age of the oldest batch not yet in the store (0: none waiting).", name, NULL, NULL,
           st.oldest_batch_us ? (double)(now - st.oldest_batch_us) / 1e6 : 0.0);
    metric(&p, "store_up", "gauge", "1 if the last attempt reached the store.", name, NULL, NULL,
           st.store_up ? 1 : 0);
    metric(&p, "store_errors_total", "counter", "Failed attempts to write to the store.", name,
           NULL, NULL, (double)st.store_errors);
    metric(&p, "rows_total", "counter", "Rows put in batches.", name, NULL, NULL, (double)st.rows);
    metric(&p, "rows_committed_total", "counter", "Rows committed to the store.", name, NULL, NULL,
           (double)st.rows_committed);
    pf(&p, "# HELP kansoku_sensor_batches_total Batches by outcome.\n"
           "# TYPE kansoku_sensor_batches_total counter\n");
    sample(&p, "batches_total", name, "outcome", "sealed", (double)st.batches_sealed);
    sample(&p, "batches_total", name, "outcome", "committed", (double)st.batches_committed);
    sample(&p, "batches_total", name, "outcome", "duplicate", (double)st.batches_duplicate);
    sample(&p, "batches_total", name, "outcome", "damaged", (double)st.batches_bad);
    sample(&p, "batches_total", name, "outcome", "spool_full", (double)st.spool_full_batches);
    metric(&p, "ddos_attacks_total", "counter", "DDoS attacks recorded.", name, NULL, NULL,
           (double)st.ddos_attacks);
    metric(&p, "darknet_packets_total", "counter", "Packets to monitored darknet addresses.", name,
           NULL, NULL, (double)st.darknet_packets);
    metric(&p, "flow_records_total", "counter", "Flow records collected.", name, NULL, NULL,
           (double)st.flow_records);
    metric(&p, "honeypot_sessions_total", "counter", "Honeypot sessions recorded.", name, NULL,
           NULL, (double)st.honeypot_sessions);
    metric(&p, "windows_total", "counter", "Traffic windows closed.", name, NULL, NULL,
           (double)st.windows);
    metric(&p, "reloads_total", "counter", "Configuration reloads applied.", name, NULL, NULL,
           (double)st.reloads);
    metric(&p, "reload_errors_total", "counter", "Configuration reloads refused.", name, NULL, NULL,
           (double)st.reload_errors);
    metric(&p, "uptime_seconds", "gauge", "Seconds since the sensor started.", name, NULL, NULL,
           (double)(now - s->started_us) / 1e6);
    return p.len;
}

static size_t metrics_cb(void *user, char *buf, size_t size)
{
    return ks_sensor_metrics_text(user, buf, size);
}

uint16_t ks_sensor_metrics_port(const struct ks_sensor *s)
{
    return metrics_port(s->metrics);
}

static int metrics_open(struct ks_sensor *s)
{
    const char *spec = s->cfg.metrics_listen;
    if (!spec[0] || !strcmp(spec, "off"))
        return KS_OK;
    int rc = metrics_start(spec, metrics_cb, s, &s->metrics);
    if (rc != KS_OK) {
        ks_log(KS_LOG_ERROR, MOD, "metrics: cannot listen on %s (%s)", spec, strerror(errno));
        return KS_EIO;
    }
    ks_log(KS_LOG_INFO, MOD, "metrics: listening on %s, port %u (GET /metrics)", spec,
           metrics_port(s->metrics));
    return KS_OK;
}

/* --- life cycle ------------------------------------------------------------------------------- */

int ks_sensor_new(const struct ks_sensor_config *cfg, struct ks_sensor **sp)
{
    *sp = NULL;
    if (!cfg || !cfg->db[0] || !cfg->spool_dir[0])
        return KS_EINVAL;
    struct ks_sensor *s = calloc(1, sizeof *s);
    if (!s)
        return KS_ENOMEM;
    s->cfg = *cfg;
    s->started_us = wall_us();
    s->last_seal_wall = s->started_us;
    s->last_publish_wall = s->started_us;
    pthread_mutex_init(&s->bmu, NULL);
    pthread_mutex_init(&s->wmu, NULL);
    pthread_mutex_init(&s->smu, NULL);
    pthread_cond_init(&s->wcv, NULL);
    sb_init(&s->batch);
    if (getrandom(&s->boot, sizeof s->boot, 0) != sizeof s->boot)
        s->boot = (uint64_t)s->started_us ^ ((uint64_t)getpid() << 32);
    ks_log_set_level((enum ks_log_level)cfg->log_level);
    int rc = spool_open(&s->spool, cfg->spool_dir, cfg->spool_max_bytes);
    if (rc != KS_OK) {
        ks_log(KS_LOG_ERROR, MOD, "spool %s: cannot use the directory (%s)", cfg->spool_dir,
               strerror(errno));
        spool_close(&s->spool);
        pthread_mutex_destroy(&s->bmu);
        pthread_mutex_destroy(&s->wmu);
        pthread_mutex_destroy(&s->smu);
        pthread_cond_destroy(&s->wcv);
        free(s);
        return KS_EIO;
    }
    uint64_t files, bytes;
    int64_t oldest;
    spool_counts(&s->spool, &files, &bytes, &oldest);
    if (files)
        ks_log(KS_LOG_INFO, MOD, "spool %s: %llu batches left by an earlier run, replaying",
               cfg->spool_dir, (unsigned long long)files);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        rc = KS_EIO;
        goto fail;
    }
    s->writer_started = true;
    wake_writer(s);
    if (cfg->pcap_dir[0])
        dir_state_load(s);
    if ((rc = metrics_open(s)) != KS_OK || (rc = capture_open(s)) != KS_OK ||
        (rc = analyzers_start(s)) != KS_OK)
        goto fail;
    ks_log(KS_LOG_INFO, MOD, "sensor %s started (store %s, spool %s)", cfg->name, cfg->db,
           cfg->spool_dir);
    *sp = s;
    return KS_OK;
fail:
    ks_sensor_free(s);
    return rc;
}

/* Re-reads the configuration file and applies it. */
static void do_reload(struct ks_sensor *s)
{
    struct ks_sensor_config *n = calloc(1, sizeof *n);
    if (!n)
        return;
    int rc = s->cfg.path[0] ? ks_sensor_config_load(s->cfg.path, &diag, n) : KS_EINVAL;
    if (rc != KS_OK) {
        ks_log(KS_LOG_ERROR, MOD, "reload: %s: %s: the running configuration is kept",
               s->cfg.path[0] ? s->cfg.path : "(no file)", ks_strerror(rc));
        pthread_mutex_lock(&s->smu);
        s->st.reload_errors++;
        pthread_mutex_unlock(&s->smu);
        free(n);
        return;
    }
    if (strcmp(n->db, s->cfg.db) || strcmp(n->spool_dir, s->cfg.spool_dir) ||
        strcmp(n->name, s->cfg.name))
        ks_log(KS_LOG_WARN, MOD, "reload: name, db and spool_dir need a restart: kept as they are");
    snprintf(n->db, sizeof n->db, "%s", s->cfg.db);
    snprintf(n->spool_dir, sizeof n->spool_dir, "%s", s->cfg.spool_dir);
    snprintf(n->name, sizeof n->name, "%s", s->cfg.name);
    bool cap_same = !strcmp(n->interface, s->cfg.interface) && n->nfiles == s->cfg.nfiles &&
                    !strcmp(n->pcap_dir, s->cfg.pcap_dir) && !strcmp(n->filter, s->cfg.filter) &&
                    n->sample_rate == s->cfg.sample_rate && n->promisc == s->cfg.promisc;
    for (size_t i = 0; cap_same && i < n->nfiles; i++)
        cap_same = !strcmp(n->files[i], s->cfg.files[i]);
    bool hp_same = !strcmp(n->hp_listen, s->cfg.hp_listen) && !strcmp(n->hp_tcp, s->cfg.hp_tcp) &&
                   !strcmp(n->hp_udp, s->cfg.hp_udp) &&
                   n->hp_max_sessions == s->cfg.hp_max_sessions;
    bool metrics_same = !strcmp(n->metrics_listen, s->cfg.metrics_listen);

    analyzers_stop(s, !hp_same);
    seal(s);
    if (!cap_same) {
        capture_close(s);
        s->files_read = false;
    }
    if (!metrics_same) {
        metrics_stop(s->metrics);
        s->metrics = NULL;
    }
    pthread_mutex_lock(&s->wmu);
    pthread_mutex_lock(&s->bmu);
    bool hp_was = s->hp != NULL;
    s->cfg = *n;
    pthread_mutex_unlock(&s->bmu);
    pthread_mutex_unlock(&s->wmu);
    free(n);
    ks_log_set_level((enum ks_log_level)s->cfg.log_level);
    if (!metrics_same)
        metrics_open(s);
    if (!cap_same && (s->cfg.interface[0] || s->cfg.nfiles))
        capture_open(s);
    if (hp_was) { /* the honeypot kept running: start only the others */
        bool hp = s->cfg.honeypot;
        s->cfg.honeypot = false;
        analyzers_start(s);
        s->cfg.honeypot = hp;
    } else {
        analyzers_start(s);
    }
    pthread_mutex_lock(&s->smu);
    s->st.reloads++;
    pthread_mutex_unlock(&s->smu);
    ks_log(KS_LOG_INFO, MOD, "configuration reloaded from %s", s->cfg.path);
}

static void feed_pkt(struct ks_sensor *s, const struct ks_pkt *p)
{
    uint64_t w = p->weight ? p->weight : 1;
    s->packets += w;
    s->bytes += (uint64_t)p->wire_len * w;
    window_at(s, p->ts_us);
    int k = p->proto == 6                       ? K_TCP
            : p->proto == 17                    ? K_UDP
            : (p->proto == 1 || p->proto == 58) ? K_ICMP
                                                : K_OTHER;
    s->win_pkts[K_TOTAL] += w;
    s->win_pkts[k] += w;
    s->win_bytes[K_TOTAL] += (uint64_t)p->wire_len * w;
    s->win_bytes[k] += (uint64_t)p->wire_len * w;
    if (s->ddos)
        ks_ddos_feed(s->ddos, p);
    if (s->dn)
        ks_darknet_feed(s->dn, p);
}

static void periodic(struct ks_sensor *s);

int ks_sensor_feed(struct ks_sensor *s, const struct ks_pkt *p)
{
    if (!s || !p)
        return KS_EINVAL;
    feed_pkt(s, p);
    if ((++s->fed & 1023) == 0)
        periodic(s);
    return KS_OK;
}

/* Every loop turn: seal on time, publish the counters. */
static void periodic(struct ks_sensor *s)
{
    int64_t now = wall_us();
    if (now - s->last_seal_wall >= (int64_t)s->cfg.flush_s * KS_USEC_PER_SEC) {
        if (s->live)
            window_at(s, now); /* a quiet link still closes its windows */
        seal(s);
    }
    if (now - s->last_publish_wall >= 200000) {
        s->last_publish_wall = now;
        publish(s);
    }
}

static void idle(struct ks_sensor *s, uint32_t ms)
{
    for (uint32_t t = 0; t < ms && !s->stop && !s->reload; t += 100) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        periodic(s);
    }
}

int ks_sensor_sync(struct ks_sensor *s, uint32_t wait_ms)
{
    seal(s);
    pthread_mutex_lock(&s->wmu);
    /* An attempt under way may have listed the spool before the seal: wait for the next. */
    uint64_t target = s->attempts + 2;
    s->wake = true;
    pthread_cond_signal(&s->wcv);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    while (s->attempts < target && rc == 0) {
        rc = pthread_cond_timedwait(&s->wcv, &s->wmu, &ts);
        s->wake = true;
        pthread_cond_signal(&s->wcv);
    }
    bool done = s->attempts >= target;
    pthread_mutex_unlock(&s->wmu);
    publish(s);
    return done ? KS_OK : KS_ETIMEOUT;
}

int ks_sensor_run(struct ks_sensor *s)
{
    struct ks_pkt pkt;
    int result = KS_OK;
    uint32_t turn = 0;
    while (!s->stop) {
        if (s->reload) {
            s->reload = 0;
            do_reload(s);
        }
        if (!s->cap && s->cfg.pcap_dir[0] && !dir_next(s)) {
            idle(s, s->cfg.poll_s * 1000);
            continue;
        }
        if (!s->cap) {
            if (s->flow) {
                ks_flow_poll(s->flow, 200);
                periodic(s);
            } else {
                idle(s, 200);
            }
            continue;
        }
        int n = ks_capture_next(s->cap, &pkt);
        if (n == 1) {
            feed_pkt(s, &pkt);
            if ((++turn & 1023) == 0) {
                if (s->flow)
                    ks_flow_poll(s->flow, 0);
                periodic(s);
            }
            continue;
        }
        if (n == KS_ETIMEOUT) {
            if (s->flow)
                ks_flow_poll(s->flow, 0);
            if (s->ddos)
                ks_ddos_tick(s->ddos, wall_us());
            periodic(s);
            continue;
        }
        if (n == KS_EINTR)
            continue;
        if (n < 0) {
            ks_log(KS_LOG_ERROR, MOD, "capture: %s", ks_capture_errmsg(s->cap));
            if (s->live) {
                result = KS_EIO;
                break;
            }
            continue; /* the next file */
        }
        /* n == 0: every source read. */
        capture_close(s);
        if (s->cfg.pcap_dir[0]) {
            snprintf(s->dir_last, sizeof s->dir_last, "%s", s->dir_current);
            dir_state_save(s);
            s->files_done++;
        } else {
            s->files_done += s->cfg.nfiles;
            s->files_read = true;
            ks_log(KS_LOG_INFO, MOD, "capture files read (%llu packets)",
                   (unsigned long long)s->packets);
            if (s->cfg.exit_when_done)
                break;
        }
        periodic(s);
    }
    ks_log(KS_LOG_INFO, MOD, "stopping: flushing the analyzers and the open batch");
    analyzers_stop(s, true);
    seal(s);
    publish(s);
    return result;
}

/* Only flags: the capture and the flow socket are never waited on for more than 200 ms, and a
 * signal handler must not touch a capture the loop may be freeing at that moment. */
void ks_sensor_request_stop(struct ks_sensor *s)
{
    if (s)
        s->stop = 1;
}

void ks_sensor_request_reload(struct ks_sensor *s)
{
    if (s)
        s->reload = 1;
}

void ks_sensor_free(struct ks_sensor *s)
{
    if (!s)
        return;
    analyzers_stop(s, true);
    capture_close(s);
    seal(s);
    metrics_stop(s->metrics);
    s->metrics = NULL;
    if (s->writer_started) {
        pthread_mutex_lock(&s->wmu);
        s->wstop = true;
        pthread_cond_signal(&s->wcv);
        pthread_mutex_unlock(&s->wmu);
        pthread_join(s->writer, NULL);
        s->writer_started = false;
    }
    uint64_t files, bytes;
    int64_t oldest;
    spool_counts(&s->spool, &files, &bytes, &oldest);
    if (files)
        ks_log(KS_LOG_WARN, MOD, "%llu batches stay in the spool %s for the next run",
               (unsigned long long)files, s->spool.dir);
    spool_close(&s->spool);
    sb_fini(&s->batch);
    pthread_mutex_destroy(&s->bmu);
    pthread_mutex_destroy(&s->wmu);
    pthread_mutex_destroy(&s->smu);
    pthread_cond_destroy(&s->wcv);
    free(s);
}
