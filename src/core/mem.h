/* Memory helpers for the tables of the packet paths (internal). */
#ifndef KS_CORE_MEM_H
#define KS_CORE_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#define KS_HUGE_PAGE ((size_t)2 << 20)

/* n rounded up to whole huge pages: the length of a ks_map_huge mapping that holds n bytes. */
static inline size_t ks_huge_len(size_t n)
{
    return (n + KS_HUGE_PAGE - 1) & ~(KS_HUGE_PAGE - 1);
}

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

/* Zeroed memory of len bytes (a multiple of KS_HUGE_PAGE) in its own mapping, aligned to
 * 2 MiB and marked for transparent huge pages: accesses at random places then miss in the
 * cache but rarely in the TLB, and a ring streamed by several threads faults a page per 2 MiB.
 * Pages are counted in RSS only as they are touched. NULL if the mapping fails; munmap(p, len)
 * frees it. */
static inline void *ks_map_huge(size_t len)
{
    uint8_t *m =
        mmap(NULL, len + KS_HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)m + KS_HUGE_PAGE - 1) & ~(uintptr_t)(KS_HUGE_PAGE - 1);
    size_t head = (size_t)(a - (uintptr_t)m), tail = KS_HUGE_PAGE - head;
    if (head)
        munmap(m, head);
    if (tail)
        munmap((uint8_t *)a + len, tail);
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)a, len, MADV_HUGEPAGE); /* a hint: fine to fail */
#endif
    return (void *)a;
}

#endif
