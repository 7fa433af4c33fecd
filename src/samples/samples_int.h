/* Internals of the sample registry shared by its source files. */
#ifndef KS_SAMPLES_INT_H
#define KS_SAMPLES_INT_H

#include "kansoku/ks_samples.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_samples {
    struct ks_samples_config cfg; /* its strings are not kept (dir below is a copy) */
    struct ks_diag diag;
    uint32_t reported;
    char *dir; /* samples directory, or NULL */
    int dirfd; /* open on dir, or -1 */
    uint64_t tmp_seq;
    uint8_t *head;            /* first bytes of the file being analyzed */
    uint8_t *buf;             /* read buffer of the streaming pass */
    void *magic, *magic_mime; /* magic_t */
    struct cl_engine *av;
    void *yara; /* YR_RULES * */
    bool yara_init;
    struct ks_samples_stats st;
};

void samples_report(struct ks_samples *s, const char *source, int err, const char *fmt, ...)
    KS_PRINTF(4, 5);
void samples_list_add(char *out, size_t size, const char *item);

int samples_open_dir(struct ks_samples *s);

int samples_magic_open(struct ks_samples *s);
void samples_magic_close(struct ks_samples *s);
void samples_magic_type(struct ks_samples *s, const uint8_t *head, size_t len,
                        struct ks_sample_info *info);

int samples_av_open(struct ks_samples *s, const char *db);
void samples_av_close(struct ks_samples *s);
void samples_av_scan(struct ks_samples *s, const char *name, int fd, const uint8_t *mem,
                     uint64_t size, struct ks_sample_info *info);

int samples_yara_open(struct ks_samples *s, const char *dir);
void samples_yara_close(struct ks_samples *s);
void samples_yara_scan(struct ks_samples *s, int fd, const uint8_t *mem, uint64_t size,
                       struct ks_sample_info *info);

#endif
