/* Incremental SHA-256 (libcrypto) for the store's input identities. */
#ifndef KS_STORE_SHA256_H
#define KS_STORE_SHA256_H

#include "kansoku/ks_store.h"

#include <openssl/evp.h>

struct store_sha256 {
    EVP_MD_CTX *ctx;
};

int store_sha256_init(struct store_sha256 *h);
void store_sha256_update(struct store_sha256 *h, const void *p, size_t n);
/* Writes the lowercase hex digest and releases the context. */
void store_sha256_final(struct store_sha256 *h, char hex[65]);
/* Releases the context without a digest; safe after final or on a zeroed struct. */
void store_sha256_fini(struct store_sha256 *h);

#endif
