/* Fuzz target for MD6: the first bytes choose the parameters (digest size, mode L, rounds, key,
 * a bit length) and a chunking of the updates; the digest on every path the CPU supports, fed
 * in those chunks, must equal the portable one-shot digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_md6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    struct ks_md6_params p;
    ks_md6_params_default(&p, 1 + ((unsigned)data[0] | (unsigned)data[1] << 8) % 600);
    p.L = data[2] % 70;
    p.r = data[3] % 48; /* few rounds keep the fuzzer fast; the structure is what is tested */
    size_t keylen = data[4] % 70;
    unsigned drop_bits = data[5] % 8;
    uint32_t seed = data[6] | (uint32_t)data[7] << 8;
    data += 8;
    size -= 8;
    if (keylen > size)
        keylen = size;
    p.key = data;
    p.keylen = keylen;
    data += keylen;
    size -= keylen;
    uint64_t bits = (uint64_t)size * 8;
    if (size)
        bits -= drop_bits;

    char msg[128];
    uint8_t want[KS_MD6_MAX_BYTES], got[KS_MD6_MAX_BYTES];
    p.path = KS_MD6_PATH_PORTABLE;
    int err = ks_md6_hash_bits(&p, data, bits, want, sizeof want);
    if (ks_md6_params_error(&p, msg, sizeof msg)) {
        if (err != KS_EINVAL)
            abort();
        return 0;
    }
    if (err != KS_OK)
        abort();
    static const enum ks_md6_path paths[] = {KS_MD6_PATH_PORTABLE, KS_MD6_PATH_SSE2,
                                             KS_MD6_PATH_AVX2, KS_MD6_PATH_AVX512};
    for (size_t pi = 0; pi < sizeof paths / sizeof paths[0]; pi++) {
        if (!ks_md6_path_supported(paths[pi]))
            continue;
        p.path = paths[pi];
        p.threads = 1 + (seed >> pi) % 2;
        struct ks_md6 *h = NULL;
        if (ks_md6_new(&p, &h) != KS_OK)
            abort();
        uint64_t done = 0;
        uint32_t s = seed * 2654435761u + (uint32_t)pi;
        while (done < bits) {
            s = s * 1103515245u + 12345u;
            uint64_t n = 8 * (uint64_t)((s >> 8) % 1500);
            if (n > bits - done)
                n = bits - done; /* the last update carries the partial byte */
            if (n == 0)
                n = 8;
            if (ks_md6_update_bits(h, data + done / 8, n) != KS_OK)
                abort();
            done += n;
        }
        if (ks_md6_final(h, got, sizeof got) != KS_OK)
            abort();
        ks_md6_free(h);
        if (memcmp(got, want, (p.d + 7) / 8) != 0)
            abort();
    }
    return 0;
}
