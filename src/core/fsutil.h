/* File-system helpers shared by the modules that keep files of their own (sample store,
 * sensor spool, rule-database cache). Internal to libkansoku. */
#ifndef KS_CORE_FSUTIL_H
#define KS_CORE_FSUTIL_H

/* mkdir -p: creates dir and its missing parents with mode (an existing directory is fine).
 * 0 on success; -1 with errno set (ENAMETOOLONG for paths of 4096 bytes or more). */
int ks_mkdirs(const char *dir, unsigned mode);

#endif
