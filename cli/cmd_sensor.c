/* kansoku sensor: the sensor daemon (capture, darknet, honeypot and analyzers in one loop). */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_sensor.h"

static const char sensor_usage[] = "Usage: kansoku sensor --config FILE [--check]\n";

static const char sensor_help[] =
    "Usage: kansoku sensor --config FILE [--check]\n"
    "\n"
    "Runs the sensor daemon described by FILE (docs/sensor.md): a live capture (interface),\n"
    "pcap files or a directory watched for new files, feeding the DDoS detector, the darknet\n"
    "statistics and the traffic counters (series sensor.packets / sensor.bytes per window);\n"
    "the honeypot's listeners. Records are written to the store in batches through a bounded\n"
    "on-disk spool: while the store is down they wait there and are replayed, each batch once.\n"
    "Metrics in the Prometheus text format are served on a loopback port (GET /metrics).\n"
    "\n"
    "Signals: SIGHUP re-reads FILE (a bad file is refused and the running configuration kept);\n"
    "SIGTERM or SIGINT flushes what the analyzers hold, seals the last batch, tries the store\n"
    "once more and exits. Logs go to stderr (journald takes them under systemd).\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE  the configuration file (required)\n"
    "      --check        check the file and exit (0: valid)\n"
    "\n"
    "With --json a summary object is printed on stdout at exit.\n"
    "\n"
    "Exit status: 0 stopped cleanly; 1 the configuration is invalid, or the sensor could not\n"
    "start (a port, the spool, the capture), or the live capture failed; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static struct ks_sensor *running;

static void on_stop(int sig)
{
    (void)sig;
    ks_sensor_request_stop(running);
}

static void on_hup(int sig)
{
    (void)sig;
    ks_sensor_request_reload(running);
}

static void summary(const struct ks_cli *cli, struct ks_sensor *s)
{
    struct ks_sensor_stats st;
    ks_sensor_stats(s, &st);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "packets", json_integer((json_int_t)st.packets));
        json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
        json_object_set_new(o, "rows", json_integer((json_int_t)st.rows));
        json_object_set_new(o, "rows_committed", json_integer((json_int_t)st.rows_committed));
        json_object_set_new(o, "batches_sealed", json_integer((json_int_t)st.batches_sealed));
        json_object_set_new(o, "batches_committed", json_integer((json_int_t)st.batches_committed));
        json_object_set_new(o, "batches_duplicate", json_integer((json_int_t)st.batches_duplicate));
        json_object_set_new(o, "spool_batches", json_integer((json_int_t)st.spool_batches));
        json_object_set_new(o, "spool_full_rows", json_integer((json_int_t)st.spool_full_rows));
        json_object_set_new(o, "ddos_attacks", json_integer((json_int_t)st.ddos_attacks));
        json_object_set_new(o, "honeypot_sessions", json_integer((json_int_t)st.honeypot_sessions));
        json_object_set_new(o, "reloads", json_integer((json_int_t)st.reloads));
        json_object_set_new(o, "store_up", json_boolean(st.store_up));
        ks_cli_json_line(o);
    }
    ks_cli_info(cli,
                "%llu packets, %llu rows (%llu committed), %llu batches committed, %llu already "
                "stored, %llu left in the spool",
                (unsigned long long)st.packets, (unsigned long long)st.rows,
                (unsigned long long)st.rows_committed, (unsigned long long)st.batches_committed,
                (unsigned long long)st.batches_duplicate, (unsigned long long)st.spool_batches);
}

int ks_cmd_sensor(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "sensor", sensor_usage, sensor_help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"config", required_argument, NULL, 'c'},
                                         {"check", no_argument, NULL, 0x200},
                                         {0}};
    const char *path = NULL;
    bool check = false;
    int opt, code = KS_EXIT_OK;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "c:", opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 0x200:
            check = true;
            break;
        default:
            return ks_cli_usage_error(&cli, "unexpected option");
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (!path)
        return ks_cli_usage_error(&cli, "--config FILE is required");

    struct ks_sensor_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        ks_cli_error(&cli, "out of memory");
        return KS_EXIT_FAIL;
    }
    int rc = ks_sensor_config_load(path, &cli.diag, cfg);
    if (rc != KS_OK) {
        if (rc == KS_EIO)
            ks_cli_error(&cli, "%s: cannot read the configuration file", path);
        else
            ks_cli_error(&cli, "%s: invalid configuration (%s)", path, ks_strerror(rc));
        free(cfg);
        return KS_EXIT_FAIL;
    }
    if (check) {
        if (!cli.quiet)
            printf("%s: valid (sensor %s, store %s, spool %s)\n", path, cfg->name, cfg->db,
                   cfg->spool_dir);
        free(cfg);
        return KS_EXIT_OK;
    }
    if (cli.quiet)
        cfg->log_level = KS_LOG_ERROR;
    else if (cli.verbose)
        cfg->log_level = KS_LOG_DEBUG;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGXFSZ, &sa, NULL);

    struct ks_sensor *s = NULL;
    rc = ks_sensor_new(cfg, &s);
    free(cfg);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "the sensor could not start (%s)", ks_strerror(rc));
        return KS_EXIT_FAIL;
    }
    running = s;
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);

    rc = ks_sensor_run(s);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "stopped: %s", ks_strerror(rc));
        code = KS_EXIT_FAIL;
    }
    ks_sensor_sync(s, 5000);
    /* No handler may use the sensor once it is freed: signals are ignored from here. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    summary(&cli, s);
    running = NULL;
    ks_sensor_free(s);
    return code;
}
