/* PE (Portable Executable) and ELF header reading for the sample registry: only what packer
 * hints need (sections, their raw ranges and flags, UPX names). Internal to src/samples. */
#ifndef KS_SAMPLES_PE_H
#define KS_SAMPLES_PE_H

#include "kansoku/ks_samples.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct samples_pe {
    bool is_pe;         /* MZ, e_lfanew in range, "PE\0\0" */
    bool pe32plus;      /* optional header magic 0x20b */
    uint16_t machine;   /* IMAGE_FILE_HEADER.Machine */
    uint16_t nsections; /* NumberOfSections as declared */
    unsigned nkept;     /* sections described in sec[] */
    struct ks_sample_section sec[KS_SAMPLES_MAX_SECTIONS];
    bool upx;           /* a section named UPX0/UPX1/UPX2/.UPX0... */
    uint32_t anomalies; /* fields that point outside the file, truncated tables */
};

/* Reads the PE headers in buf[0..len) (the start of a file of file_size bytes: the section
 * table must lie within buf). Section ranges are clipped to file_size (counted as anomalies).
 * Returns KS_OK for a PE image, KS_EFORMAT if buf is not one, KS_ETRUNC if its headers are
 * cut short (pe->is_pe is then true and pe holds what was read). Never reads outside buf. */
int samples_pe_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct samples_pe *pe);

/* Whether buf starts with an MZ header whose e_lfanew points at "PE\0\0" within buf: the
 * cheap test for carving executables out of payloads (constant time). */
bool samples_pe_signature(const uint8_t *buf, size_t len);

/* Whether buf starts an ELF image ("\x7fELF", a valid class and data encoding). */
bool samples_is_elf(const uint8_t *buf, size_t len);

#endif
