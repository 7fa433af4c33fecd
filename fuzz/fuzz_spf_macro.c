/* Fuzz target: the SPF macro expander (RFC 7208 7) in both domain-spec and explain-string
 * modes, with a bounded output buffer. The first byte picks the mode and the limit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spf/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool exp = data[0] & 1;
    size_t max = (data[0] & 2) ? 64 : 8192;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    struct spf_macro_ctx m = {.s = "strong-bad+x.y@email.example.com",
                              .l = "strong-bad+x.y",
                              .o = "email.example.com",
                              .d = "email.example.com",
                              .i = "192.0.2.3",
                              .p = "mx.example.org",
                              .v = "in-addr",
                              .h = "mail.example.net",
                              .c = "192.0.2.3",
                              .r = "mx.example.org",
                              .t = "1700000000"};
    struct spf_buf out;
    spf_buf_init(&out, max);
    bool has_p = false;
    int chk = spf_macro_check(s, len, exp, &has_p);
    int rc = spf_macro_expand(&m, s, len, exp, &out);
    /* The checker and the expander agree on syntax; output never exceeds the limit. */
    if ((rc == KS_OK || rc == KS_EFORMAT) && (chk == KS_OK) != (rc == KS_OK))
        __builtin_trap();
    if (out.len > max)
        __builtin_trap();
    if (rc == KS_OK) {
        size_t n = out.len;
        size_t start = spf_domain_truncate(out.p, &n);
        if (n > 253 || start > out.len)
            __builtin_trap();
    }
    spf_domain_spec_check(s, len, &has_p);
    spf_buf_fini(&out);
    return 0;
}
