/* Fuzz target: the HTML tokenizer of the mail module against Gumbo's tree. Whenever the
 * tokenizer takes a document (instead of handing it to Gumbo), the URLs it reports (URL, where,
 * flags, shown domain, in order) must be exactly those of the tree walk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/mail/mail_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct list {
    char text[65536];
    size_t n;
};

static int collect(void *user, const struct ks_mail_url *u)
{
    struct list *l = user;
    size_t need = strlen(u->url) + strlen(u->where) + strlen(u->shown) + 24;
    if (l->n + need < sizeof l->text)
        l->n += (size_t)snprintf(l->text + l->n, sizeof l->text - l->n, "%s\t%s\t%x\t%s\n", u->url,
                                 u->where, u->flags, u->shown);
    return 0;
}

static void run(const char *s, size_t n, bool tree, struct list *l)
{
    uint64_t seen[512];
    memset(seen, 0, sizeof seen);
    struct mail_urlx x = {0};
    x.max_urls = 256;
    x.fn = collect;
    x.user = l;
    x.seen = seen;
    x.seen_cap = 512;
    mail_urlx_html_tree(&x, s, n, tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct list a, b;
    a.n = b.n = 0;
    run((const char *)data, size, true, &a);
    run((const char *)data, size, false, &b);
    if (a.n != b.n || memcmp(a.text, b.text, a.n) != 0) {
        fprintf(stderr, "tree:\n%.*stokenizer:\n%.*s", (int)a.n, a.text, (int)b.n, b.text);
        __builtin_trap();
    }
    return 0;
}
