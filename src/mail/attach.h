/* Attachment analysis (attach.c): a libmagic cookie per analyzer, and what it found in the
 * contents it saw last. */
#ifndef KS_MAIL_ATTACH_H
#define KS_MAIL_ATTACH_H

#include "mail_int.h"

struct magic_set;
struct att_memo;

struct mail_attach {
    struct magic_set *magic; /* NULL if libmagic's database could not be loaded */
    bool magic_tried;        /* loaded at the first use */
    /* The analysis of recent contents by SHA-256 (a campaign sends the same file thousands of
     * times: libmagic, the archive listing and MD5 run once per content). Direct-mapped,
     * MAIL_ATT_MEMO_SLOTS entries; a new content replaces the one in its slot. */
    struct att_memo *memo; /* NULL until the first attachment, or if it could not be made */
    uint64_t memo_hits, memo_replaced;
};

#define MAIL_ATT_MEMO_SLOTS 1024u

int mail_attach_new(struct mail_attach **ap);
void mail_attach_free(struct mail_attach *a);
/* Fills att for the decoded content (p, n); strings go to the arena. */
void mail_attach_analyse(struct mail_attach *a, const uint8_t *p, size_t n, const char *name,
                         const char *mime, struct mail_arena *ar, uint64_t max_archive,
                         struct ks_mail_attachment *att);

#endif
