/* Fuzz target: the Received: field parser and the RFC 5322 date parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kansoku/ks_mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_mail_received r;
    ks_mail_received_parse((const char *)data, size, &r);
    /* the strings are always NUL-terminated within their arrays */
    if (memchr(r.helo, 0, sizeof r.helo) == NULL || memchr(r.by, 0, sizeof r.by) == NULL ||
        memchr(r.rdns, 0, sizeof r.rdns) == NULL || memchr(r.with, 0, sizeof r.with) == NULL)
        __builtin_trap();
    int64_t t;
    ks_mail_date_parse((const char *)data, size, &t);
    double score;
    ks_mail_verdict_header("X-Spam-Status", (const char *)data, size, &score);
    ks_mail_verdict_header("X-Spamd-Result", (const char *)data, size, &score);
    ks_mail_spf_header("Authentication-Results", (const char *)data, size);
    char key[128];
    size_t n = ks_mail_subject_key((const char *)data, size, "john doe", key, sizeof key);
    if (n >= sizeof key || key[n] != '\0')
        __builtin_trap();
    return 0;
}
