/* A C face for libtlsh's C++ class (Debian libtlsh-dev ships only a C++ header). Internal to
 * src/samples; built only when the library and a C++ compiler are found (KS_HAVE_TLSH). */
#ifndef KS_SAMPLES_TLSH_SHIM_H
#define KS_SAMPLES_TLSH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct samples_tlsh;
struct samples_tlsh *samples_tlsh_new(void); /* NULL on failure */
void samples_tlsh_update(struct samples_tlsh *t, const unsigned char *data, size_t len);
/* Finishes and writes the hex digest ("T1..."), or "" when the input is too short or too
 * uniform for TLSH. */
void samples_tlsh_final(struct samples_tlsh *t, char *out, size_t size);
void samples_tlsh_free(struct samples_tlsh *t);

#ifdef __cplusplus
}
#endif

#endif
