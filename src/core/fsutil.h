/* File-system helpers shared by the modules that keep files of their own (sample store,
 * sensor spool, rule-database cache). Internal to libkansoku. */
#ifndef KS_CORE_FSUTIL_H
#define KS_CORE_FSUTIL_H

#include <stddef.h>

/* mkdir -p: creates dir and its missing parents with mode (an existing directory is fine).
 * 0 on success; -1 with errno set (ENAMETOOLONG for paths of 4096 bytes or more). */
int ks_mkdirs(const char *dir, unsigned mode);

/* Writes all n bytes (retrying short writes and EINTR). KS_OK, KS_ENOSPC (no space, quota,
 * file too large) or KS_EIO. */
int ks_write_all(int fd, const void *p, size_t n);

/* Reads until n bytes or end of file (retrying short reads and EINTR): the bytes read, or -1
 * with errno set. */
long long ks_read_full(int fd, void *buf, size_t n);

#endif
