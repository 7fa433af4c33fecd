/* A C face for libtlsh's C++ class (Debian libtlsh-dev ships only a C++ header), for the unit
 * tests: libtlsh is the oracle of the hand-written TLSH in hashpass.c. Internal to
 * src/samples; built only when the library and a C++ compiler are found (KS_HAVE_LIBTLSH). */
#ifndef KS_SAMPLES_TLSH_SHIM_H
#define KS_SAMPLES_TLSH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct samples_libtlsh;
struct samples_libtlsh *samples_libtlsh_new(void); /* NULL on failure */
void samples_libtlsh_update(struct samples_libtlsh *t, const unsigned char *data, size_t len);
/* Finishes and writes the hex digest ("T1..."), or "" when the input is too short or too
 * uniform for TLSH. */
void samples_libtlsh_final(struct samples_libtlsh *t, char *out, size_t size);
void samples_libtlsh_free(struct samples_libtlsh *t);

#ifdef __cplusplus
}
#endif

#endif
