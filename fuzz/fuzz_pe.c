/* The PE header parser and the executable finder on arbitrary bytes: they must never read
 * outside the buffer (exact-size buffers, so ASan sees any overread), and what they report
 * must be consistent with the buffer. The first byte chooses the declared file size: the
 * buffer itself, or larger/smaller (as when only the head of a big file is parsed). */
#include "samples/pe.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    uint64_t file_size = mode & 1 ? (uint64_t)len + mode * 4096u : len / (1u + (mode >> 6));
    struct samples_pe pe;
    int rc = samples_pe_parse(len ? buf : NULL, len, file_size, &pe);
    if (rc == KS_OK && !pe.is_pe)
        abort();
    if (pe.nkept > KS_SAMPLES_MAX_SECTIONS || pe.nkept > pe.nsections)
        abort();
    for (unsigned i = 0; i < pe.nkept; i++) {
        if (pe.sec[i].raw_size && (uint64_t)pe.sec[i].raw_off + pe.sec[i].raw_size > file_size)
            abort();
        if (pe.sec[i].name[8] != '\0')
            abort();
    }
    if (rc == KS_OK && !samples_pe_signature(buf, len))
        abort();
    size_t off = 0;
    if (ks_samples_find_executable(buf, len, &off) && off >= len)
        abort();
    (void)samples_is_elf(buf, len);
    return 0;
}
