/* Memory helpers for the tables of the packet paths (internal). */
#ifndef KS_CORE_MEM_H
#define KS_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Writes a zero byte to each page of [p, p + len), memory that reads as zeros already, so that
 * its pages become the process's own now. Fresh anonymous memory that is read before it is
 * written maps the kernel's shared zero page, and the first write then takes a copy-on-write
 * fault that, in a process with several threads, also flushes the page from the TLB of every
 * CPU running one of them (an interrupt to each): a table that is probed before it is filled
 * pays that on each of its pages, in the middle of the work. */
static inline void ks_touch_pages(void *p, size_t len)
{
    volatile uint8_t *b = p;
    for (size_t i = 0; i < len; i += 4096)
        b[i] = 0;
}

#endif
