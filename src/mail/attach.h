/* Attachment analysis (attach.c): a libmagic cookie per analyzer, and what it found in the
 * contents it saw last. */
#ifndef KS_MAIL_ATTACH_H
#define KS_MAIL_ATTACH_H

#include "mail_int.h"

struct magic_set;

struct mail_attach {
    struct magic_set *magic;   /* NULL if libmagic's database could not be loaded */
    bool magic_tried;          /* loaded at the first use */
    struct ks_mail_memo *memo; /* shared (ks_mail_config.memo) or own */
    bool own_memo;
};

/* memo: a shared one, or NULL for one of its own. */
int mail_attach_new(struct ks_mail_memo *memo, struct mail_attach **ap);
void mail_attach_free(struct mail_attach *a);
/* The antivirus verdict the memo holds for att's content from `engine`: 1 detected (its name in
 * name), 0 clean, -1 none held. */
int mail_attach_av_get(struct mail_attach *a, const struct ks_mail_attachment *att,
                       const void *engine, char *name, size_t cap);
/* Remembers a verdict for att's content (if the memo still holds the content). */
void mail_attach_av_put(struct mail_attach *a, const struct ks_mail_attachment *att,
                        const void *engine, bool hit, const char *name);
/* Fills att for the decoded content (p, n); strings go to the arena. */
void mail_attach_analyse(struct mail_attach *a, const uint8_t *p, size_t n, const char *name,
                         const char *mime, struct mail_arena *ar, uint64_t max_archive,
                         struct ks_mail_attachment *att);

#endif
