/* Fuzz target: the mail module's MIME walker against GMime. Every input is analysed as one
 * message twice, by the hand-written walker (with its fallback to GMime) and by GMime alone;
 * every field, URL and attachment must agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/mail/mail_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ks_mail *fast, *ref;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    if (!fast) {
        struct ks_mail_config cfg;
        ks_mail_config_default(&cfg);
        cfg.want = KS_MAIL_WANT_ALL & ~KS_MAIL_WANT_ATTACHMENTS; /* libmagic: slow, not ours */
        if (ks_mail_new(&cfg, NULL, &fast) != KS_OK)
            abort();
        cfg.mime_gmime = true;
        if (ks_mail_new(&cfg, NULL, &ref) != KS_OK)
            abort();
    }
    struct ks_mail_raw raw = {data, size, {.source = "fuzz"}, ""};
    const struct ks_mail_msg *a, *b;
    if (ks_mail_feed(fast, &raw, &a) != KS_OK || ks_mail_feed(ref, &raw, &b) != KS_OK)
        abort();
    char why[512];
    if (mail_msg_diff(a, b, why, sizeof why)) {
        fprintf(stderr, "walker vs GMime: %s\n", why);
        abort();
    }
    return 0;
}
