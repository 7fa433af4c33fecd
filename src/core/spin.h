/* Waiting on a lock-free ring (internal): the reader/worker pipelines of ddos and darknet. */
#ifndef KS_CORE_SPIN_H
#define KS_CORE_SPIN_H

#include <sched.h>
#include <time.h>

/* One wait of a thread whose peer has not published yet: spin briefly (the peer is usually a
 * few hundred nanoseconds away), then yield the CPU, then sleep 50 µs, so that an idle
 * pipeline costs nothing. *spins counts the waits since the last progress; reset it to 0. */
static inline void ks_spin_backoff(unsigned *spins)
{
    if (*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else if (*spins < 256) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    (*spins)++;
}

#endif
