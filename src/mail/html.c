/* URLs of HTML bodies, read from the tree Gumbo (an HTML5 parser) builds: the attributes that
 * hold URLs (href, src, action, formaction, background, srcset, data, meta refresh), the text
 * nodes (bare URLs in the text), and the visible text of links (a link showing another
 * domain than it leads to is marked). The tree is walked without recursion. */
#include "mail_int.h"

#include <gumbo.h>
#include <stdlib.h>
#include <string.h>

/* Past these, Gumbo is not used (its tree destruction recurses on nesting depth) and the HTML
 * is scanned as text, which still finds absolute URLs in attributes. */
#define HTML_MAX_BYTES (8u << 20)
#define HTML_MAX_TAGS 100000u
#define LINK_TEXT_MAX 512

static void add_attr(struct mail_urlx *x, const char *v, size_t n, const char *where,
                     const char *shown)
{
    while (n && mail_isspace((unsigned char)*v)) {
        v++;
        n--;
    }
    if (n >= 2 && v[0] == '/' && v[1] == '/') { /* protocol-relative */
        char tmp[4096];
        if (n + 6 >= sizeof tmp)
            return;
        memcpy(tmp, "http:", 5);
        memcpy(tmp + 5, v, n);
        mail_urlx_add(x, tmp, n + 5, where, 0, shown);
        return;
    }
    if (mail_iprefix(v, n, "www."))
        mail_urlx_add(x, v, n, where, KS_MAIL_URL_BARE, shown);
    else
        mail_urlx_add(x, v, n, where, 0, shown);
}

/* "img.jpg 1x, http://x/y.jpg 2x": the first word of each comma-separated candidate. */
static void add_srcset(struct mail_urlx *x, const char *v, size_t len)
{
    const char *p = v, *end = v + len;
    while (p < end) {
        while (p < end && (mail_isspace((unsigned char)*p) || *p == ','))
            p++;
        const char *b = p;
        while (p < end && !mail_isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - b);
        if (n && b[n - 1] == ',')
            n--;
        if (n)
            mail_urlx_add(x, b, n, "html:srcset", 0, "");
        while (p < end && *p != ',')
            p++;
    }
}

/* <meta http-equiv="refresh" content="5; url=http://...">. */
static void add_refresh(struct mail_urlx *x, const char *content, size_t n)
{
    size_t at = mail_ifind(content, n, "url");
    if (at == SIZE_MAX)
        return;
    const char *p = content + at + 3, *end = content + n;
    while (p < end && (mail_isspace((unsigned char)*p)))
        p++;
    if (p == end || *p != '=')
        return;
    p++;
    while (p < end && (mail_isspace((unsigned char)*p) || *p == '\'' || *p == '"'))
        p++;
    size_t k = (size_t)(end - p);
    while (k && (p[k - 1] == '\'' || p[k - 1] == '"' || mail_isspace((unsigned char)p[k - 1])))
        k--;
    mail_urlx_add(x, p, k, "html:meta.refresh", 0, "");
}

/* The visible text of an element, up to LINK_TEXT_MAX bytes, walked without recursion. */
static size_t node_text(const GumboNode *root, char *buf, size_t size)
{
    size_t n = 0, visited = 0;
    const GumboNode *node = root;
    while (node && visited++ < 256) {
        if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE) {
            const char *t = node->v.text.text;
            size_t tl = strlen(t);
            for (size_t i = 0; i < tl && n + 2 < size; i++)
                buf[n++] = t[i];
            if (n + 2 < size)
                buf[n++] = ' ';
        }
        /* next in document order, staying under root */
        if (node->type == GUMBO_NODE_ELEMENT && node->v.element.children.length > 0) {
            node = node->v.element.children.data[0];
            continue;
        }
        while (node && node != root) {
            const GumboNode *parent = node->parent;
            size_t idx = node->index_within_parent;
            if (parent && parent->type == GUMBO_NODE_ELEMENT &&
                idx + 1 < parent->v.element.children.length) {
                node = parent->v.element.children.data[idx + 1];
                break;
            }
            node = parent;
        }
        if (node == root)
            break;
    }
    buf[n] = '\0';
    return n;
}

static const char *where_of(GumboTag tag, const char *attr)
{
    if (strcmp(attr, "href") == 0) {
        switch (tag) {
        case GUMBO_TAG_A:
            return "html:a.href";
        case GUMBO_TAG_AREA:
            return "html:area.href";
        case GUMBO_TAG_LINK:
            return "html:link.href";
        default:
            return "html:href";
        }
    }
    if (strcmp(attr, "src") == 0) {
        switch (tag) {
        case GUMBO_TAG_IMG:
            return "html:img.src";
        case GUMBO_TAG_SCRIPT:
            return "html:script.src";
        case GUMBO_TAG_IFRAME:
            return "html:iframe.src";
        case GUMBO_TAG_FRAME:
            return "html:frame.src";
        case GUMBO_TAG_EMBED:
            return "html:embed.src";
        case GUMBO_TAG_INPUT:
            return "html:input.src";
        default:
            return "html:src";
        }
    }
    if (strcmp(attr, "action") == 0)
        return "html:form.action";
    if (strcmp(attr, "formaction") == 0)
        return "html:formaction";
    if (strcmp(attr, "background") == 0)
        return "html:background";
    if (strcmp(attr, "data") == 0)
        return "html:object.data";
    return "html:attr";
}

static void element(struct mail_urlx *x, const GumboNode *node)
{
    const GumboElement *el = &node->v.element;
    for (unsigned i = 0; i < el->attributes.length && !x->stopped; i++) {
        const GumboAttribute *a = el->attributes.data[i];
        const char *name = a->name;
        if (strcmp(name, "href") == 0) {
            if (el->tag == GUMBO_TAG_BASE)
                continue;
            char shown[256] = "";
            if (el->tag == GUMBO_TAG_A) {
                char text[LINK_TEXT_MAX];
                size_t tl = node_text(node, text, sizeof text);
                if (tl)
                    mail_text_domain(text, tl, shown, sizeof shown);
            }
            add_attr(x, a->value, strlen(a->value), where_of(el->tag, name), shown);
        } else if (strcmp(name, "src") == 0 || strcmp(name, "action") == 0 ||
                   strcmp(name, "formaction") == 0 || strcmp(name, "background") == 0 ||
                   (strcmp(name, "data") == 0 && el->tag == GUMBO_TAG_OBJECT)) {
            add_attr(x, a->value, strlen(a->value), where_of(el->tag, name), "");
        } else if (strcmp(name, "srcset") == 0) {
            add_srcset(x, a->value, strlen(a->value));
        } else if (strcmp(name, "content") == 0 && el->tag == GUMBO_TAG_META) {
            const GumboAttribute *he = gumbo_get_attribute(&el->attributes, "http-equiv");
            if (he && mail_ieq(he->value, strlen(he->value), "refresh"))
                add_refresh(x, a->value, strlen(a->value));
        }
    }
}

/* Gumbo's allocations for one document come from a bump arena (the module's mail_arena) and
 * are never freed one by one: Gumbo makes about a thousand small allocations per document, and
 * malloc/free were 12 % of its time (its tree teardown 4 % more). Past GARENA_MAX bytes they go
 * to malloc, each marked in a header, so that the document's teardown frees just those. */
#define GARENA_MAX (16u << 20)
#define GARENA_HDR 16u

struct garena {
    struct mail_arena ar;
    size_t mallocs; /* allocations past GARENA_MAX, still to free */
};

enum { GA_ARENA = 1, GA_MALLOC = 2 };

static void *garena_alloc(void *user, size_t size)
{
    struct garena *a = user;
    size_t need = GARENA_HDR + ((size + 15) & ~(size_t)15);
    if (need < size)
        return NULL;
    unsigned char *p = mail_arena_alloc(&a->ar, need);
    if (p) {
        p[0] = GA_ARENA;
        return p + GARENA_HDR;
    }
    if (!(p = malloc(need)))
        return NULL;
    a->mallocs++;
    p[0] = GA_MALLOC;
    return p + GARENA_HDR;
}

static void garena_free(void *user, void *ptr)
{
    (void)user;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - GARENA_HDR;
    if (p[0] == GA_MALLOC)
        free(p);
}

void mail_urlx_html(struct mail_urlx *x, const char *s, size_t len)
{
    mail_urlx_html_tree(x, s, len, false);
}

void mail_urlx_html_tree(struct mail_urlx *x, const char *s, size_t len, bool tree)
{
    size_t tags = 0;
    for (const char *p = s; p && (size_t)(p - s) < len;) {
        p = memchr(p, '<', len - (size_t)(p - s));
        if (!p)
            break;
        tags++;
        p++;
    }
    if (len > HTML_MAX_BYTES || tags > HTML_MAX_TAGS) {
        mail_urlx_text(x, s, len, "html:text");
        return;
    }
    /* the tokenizer when the document's tree is its token sequence, else the tree */
    if (!tree && mail_urlx_html_fast(x, s, len, add_attr, add_srcset, add_refresh))
        return;
    struct garena arena = {.mallocs = 0};
    mail_arena_init(&arena.ar, GARENA_MAX);
    GumboOptions opt = kGumboDefaultOptions;
    opt.allocator = garena_alloc;
    opt.deallocator = garena_free;
    opt.userdata = &arena;
    GumboOutput *out = gumbo_parse_with_options(&opt, s, len);
    if (!out) {
        mail_arena_fini(&arena.ar);
        mail_urlx_text(x, s, len, "html:text");
        return;
    }
    const GumboNode *node = out->root;
    while (node && !x->stopped) {
        if (node->type == GUMBO_NODE_ELEMENT) {
            element(x, node);
        } else if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA) {
            const GumboNode *par = node->parent;
            bool code =
                par && par->type == GUMBO_NODE_ELEMENT && (par->v.element.tag == GUMBO_TAG_STYLE);
            if (!code)
                mail_urlx_text(x, node->v.text.text, strlen(node->v.text.text), "html:text");
        }
        if (node->type == GUMBO_NODE_ELEMENT && node->v.element.children.length > 0) {
            node = node->v.element.children.data[0];
            continue;
        }
        if (node->type == GUMBO_NODE_DOCUMENT && node->v.document.children.length > 0) {
            node = node->v.document.children.data[0];
            continue;
        }
        /* next sibling, or the parent's next sibling */
        for (;;) {
            const GumboNode *parent = node->parent;
            if (!parent) {
                node = NULL;
                break;
            }
            size_t idx = node->index_within_parent;
            const GumboVector *kids = parent->type == GUMBO_NODE_DOCUMENT
                                          ? &parent->v.document.children
                                          : &parent->v.element.children;
            if (idx + 1 < kids->length) {
                node = kids->data[idx + 1];
                break;
            }
            node = parent;
        }
    }
    if (arena.mallocs)
        gumbo_destroy_output(&opt, out);
    mail_arena_fini(&arena.ar);
}
