/* Fuzz target: the URL deobfuscator. Its output is never longer than its input, and
 * mail_obfuscated (the check that spares texts the copy) says exactly when it changes one. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/mail/mail_int.h"
#include "kansoku/ks_mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = malloc(size + 1);
    if (!out)
        return 0;
    bool changed;
    size_t n = ks_mail_deobfuscate((const char *)data, size, out, size + 1, &changed);
    if (n > size || out[n] != '\0')
        __builtin_trap();
    if (mail_obfuscated((const char *)data, size) != changed)
        __builtin_trap();
    char small[8];
    ks_mail_deobfuscate((const char *)data, size, small, sizeof small, &changed);
    free(out);
    return 0;
}
