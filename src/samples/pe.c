/* PE headers on the bounded cursor (Microsoft PE/COFF specification, rev. 12.0: 2 "MS-DOS
 * stub", 3.3 "COFF file header", 3.4 "optional header", 4 "section table") and the ELF
 * identification bytes (System V ABI, 4.1 "e_ident"). */
#include "pe.h"

#include "core/cur.h"

#include <string.h>

#define PE_SECTION_HEADER 40u
#define PE_COFF_HEADER 20u

static void section_name(const uint8_t raw[8], char out[9])
{
    size_t i = 0;
    for (; i < 8 && raw[i]; i++)
        out[i] = (raw[i] >= 0x20 && raw[i] < 0x7f) ? (char)raw[i] : '?';
    out[i] = '\0';
}

static bool is_upx_name(const char *name)
{
    /* UPX names its sections UPX0, UPX1, UPX2 (and .UPX0... in some versions). */
    if (name[0] == '.')
        name++;
    return strncmp(name, "UPX", 3) == 0 && name[3] >= '0' && name[3] <= '9';
}

int samples_pe_parse(const uint8_t *buf, size_t len, uint64_t file_size, struct samples_pe *pe)
{
    memset(pe, 0, sizeof *pe);
    struct ks_cur c = ks_cur_make(buf, len);
    if (ks_cur_u8(&c) != 'M' || ks_cur_u8(&c) != 'Z')
        return KS_EFORMAT;
    ks_cur_skip(&c, 0x3c - 2);
    uint32_t lfanew = ks_cur_u32le(&c);
    if (ks_cur_err(&c))
        return KS_EFORMAT;
    /* e_lfanew is a file offset; it must leave room for the signature and COFF header. */
    if ((uint64_t)lfanew + 4 + PE_COFF_HEADER > len)
        return KS_EFORMAT;
    struct ks_cur h = ks_cur_make_at(buf, len, 0);
    ks_cur_skip(&h, lfanew);
    uint8_t sig[4];
    ks_cur_bytes(&h, sig, 4);
    if (ks_cur_err(&h) || memcmp(sig, "PE\0\0", 4) != 0)
        return KS_EFORMAT;
    pe->is_pe = true;
    pe->machine = ks_cur_u16le(&h);
    pe->nsections = ks_cur_u16le(&h);
    ks_cur_skip(&h, 12); /* TimeDateStamp, PointerToSymbolTable, NumberOfSymbols */
    uint16_t opt_size = ks_cur_u16le(&h);
    ks_cur_skip(&h, 2); /* Characteristics */
    struct ks_cur opt = ks_cur_sub(&h, opt_size);
    if (ks_cur_err(&h)) {
        pe->anomalies++;
        return KS_ETRUNC;
    }
    if (opt_size >= 2)
        pe->pe32plus = ks_cur_u16le(&opt) == 0x20b;
    for (unsigned i = 0; i < pe->nsections; i++) {
        struct ks_cur sh = ks_cur_sub(&h, PE_SECTION_HEADER);
        if (ks_cur_err(&h)) {
            pe->anomalies++;
            return KS_ETRUNC;
        }
        uint8_t raw_name[8];
        ks_cur_bytes(&sh, raw_name, 8);
        ks_cur_skip(&sh, 8); /* VirtualSize, VirtualAddress */
        uint32_t raw_size = ks_cur_u32le(&sh);
        uint32_t raw_off = ks_cur_u32le(&sh);
        ks_cur_skip(&sh, 12); /* relocations, line numbers */
        uint32_t flags = ks_cur_u32le(&sh);
        char name[9] = {0};
        section_name(raw_name, name);
        if (is_upx_name(name))
            pe->upx = true;
        /* Clip the raw range to the file: packed and damaged images often lie here. */
        if ((uint64_t)raw_off >= file_size) {
            pe->anomalies += raw_size > 0;
            raw_size = 0;
        } else if ((uint64_t)raw_off + raw_size > file_size) {
            pe->anomalies++;
            raw_size = (uint32_t)(file_size - raw_off);
        }
        if (pe->nkept < KS_SAMPLES_MAX_SECTIONS) {
            struct ks_sample_section *s = &pe->sec[pe->nkept++];
            memcpy(s->name, name, sizeof s->name);
            s->raw_off = raw_off;
            s->raw_size = raw_size;
            s->flags = flags;
            s->entropy = 0;
        }
    }
    return KS_OK;
}

bool samples_pe_signature(const uint8_t *buf, size_t len)
{
    struct ks_cur c = ks_cur_make(buf, len);
    if (ks_cur_u8(&c) != 'M' || ks_cur_u8(&c) != 'Z')
        return false;
    ks_cur_skip(&c, 0x3c - 2);
    uint32_t lfanew = ks_cur_u32le(&c);
    if (ks_cur_err(&c))
        return false;
    struct ks_cur h = ks_cur_make(buf, len);
    ks_cur_skip(&h, lfanew);
    uint8_t sig[4];
    return ks_cur_bytes(&h, sig, 4) == KS_OK && memcmp(sig, "PE\0\0", 4) == 0;
}

bool samples_is_elf(const uint8_t *buf, size_t len)
{
    struct ks_cur c = ks_cur_make(buf, len);
    uint8_t id[6];
    if (ks_cur_bytes(&c, id, sizeof id) != KS_OK)
        return false;
    /* EI_CLASS 1/2 (32/64-bit), EI_DATA 1/2 (LSB/MSB). */
    return memcmp(id,
                  "\x7f"
                  "ELF",
                  4) == 0 &&
           (id[4] == 1 || id[4] == 2) && (id[5] == 1 || id[5] == 2);
}
