// C wrapper around libtlsh's Tlsh class for the unit tests (the oracle of hashpass.c);
// exceptions never cross into C.
#include "tlsh_shim.h"

#include <climits>
#include <cstring>
#include <new>
#include <tlsh.h>

struct samples_libtlsh {
    Tlsh t;
};

extern "C" struct samples_libtlsh *samples_libtlsh_new(void)
{
    return new (std::nothrow) samples_libtlsh;
}

extern "C" void samples_libtlsh_update(struct samples_libtlsh *t, const unsigned char *data, size_t len)
{
    // Tlsh::update takes an unsigned int length.
    while (len > 0) {
        unsigned int n = len > UINT_MAX / 2 ? UINT_MAX / 2 : (unsigned int)len;
        t->t.update(data, n);
        data += n;
        len -= n;
    }
}

extern "C" void samples_libtlsh_final(struct samples_libtlsh *t, char *out, size_t size)
{
    char buf[256];
    t->t.final();
    const char *h = t->t.getHash(buf, sizeof buf);
    if (!h || !h[0] || std::strlen(h) >= size) {
        if (size)
            out[0] = '\0';
        return;
    }
    std::memcpy(out, h, std::strlen(h) + 1);
}

extern "C" void samples_libtlsh_free(struct samples_libtlsh *t)
{
    delete t;
}
