#include "kansoku/ks_core.h"
#include "ks_config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *ks_version(void)
{
    return KS_VERSION;
}

const char *ks_strerror(int err)
{
    switch (err) {
    case KS_OK:
        return "ok";
    case KS_ENOMEM:
        return "out of memory";
    case KS_EIO:
        return "input/output error";
    case KS_ETRUNC:
        return "truncated";
    case KS_EFORMAT:
        return "bad format";
    case KS_ELIMIT:
        return "limit reached";
    case KS_EINVAL:
        return "invalid argument";
    case KS_ENOTFOUND:
        return "not found";
    case KS_ESTORE:
        return "store error";
    case KS_ECORRUPT:
        return "corrupt file";
    case KS_ENOSPC:
        return "no space left on device";
    case KS_EEXIST:
        return "already present";
    case KS_EUNSUPP:
        return "unsupported";
    case KS_ETIMEOUT:
        return "timed out";
    case KS_EINTR:
        return "interrupted";
    default:
        return "unknown error";
    }
}

size_t ks_loc_format(const struct ks_loc *loc, char *buf, size_t size)
{
    int n = 0;
    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (!loc)
        return 0;
    const char *src = loc->source ? loc->source : "";
    const char *sep = loc->source ? ": " : "";
    if (loc->packet)
        n = snprintf(buf, size, "%s%spacket %" PRIu64 " (offset %" PRIu64 ")", src, sep,
                     loc->packet, loc->offset);
    else if (loc->line)
        n = snprintf(buf, size, "%s%sline %" PRIu32, src, sep, loc->line);
    else if (loc->record)
        n = snprintf(buf, size, "%s%srecord %" PRIu64 " (offset %" PRIu64 ")", src, sep,
                     loc->record, loc->offset);
    else if (loc->offset)
        n = snprintf(buf, size, "%s%soffset %" PRIu64, src, sep, loc->offset);
    else
        n = snprintf(buf, size, "%s", src);
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

void ks_diag_report(const struct ks_diag *d, uint32_t *reported, const char *module,
                    const struct ks_loc *loc, int err, const char *fmt, ...)
{
    if (!d || !d->fn)
        return;
    if (reported) {
        if (d->limit && *reported >= d->limit)
            return;
        (*reported)++;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->fn(d->user, module, loc, err, msg);
}

/* Logging is configured once by the CLI before work starts; the level is read without a lock. */
static enum ks_log_level g_level = KS_LOG_WARN;
static void (*g_writer)(void *, enum ks_log_level, const char *, const char *);
static void *g_writer_user;

void ks_log_set_level(enum ks_log_level level)
{
    g_level = level;
}

enum ks_log_level ks_log_get_level(void)
{
    return g_level;
}

void ks_log_set_writer(void (*fn)(void *, enum ks_log_level, const char *, const char *),
                       void *user)
{
    g_writer = fn;
    g_writer_user = user;
}

void ks_log(enum ks_log_level level, const char *module, const char *fmt, ...)
{
    if (level > g_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_writer) {
        g_writer(g_writer_user, level, module, msg);
        return;
    }
    static const char *const names[] = {"error: ", "warning: ", "", ""};
    fprintf(stderr, "kansoku: %s%s%s%s\n", module ? module : "", module ? ": " : "", names[level],
            msg);
}
