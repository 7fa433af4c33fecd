/* The peer of the mail ingest benchmark: a bare GMime 3 program that reads an mbox with GMime's
 * own mbox parser, walks every part of every message and decodes it (transfer encoding undone,
 * into a null stream). Prints "messages bytes seconds". */
#include <fcntl.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

static unsigned long long parts;

static void decode(GMimeObject *parent, GMimeObject *part, gpointer user)
{
    (void)parent;
    (void)user;
    if (!GMIME_IS_PART(part))
        return;
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
    if (!w)
        return;
    GMimeStream *null = g_mime_stream_null_new();
    g_mime_data_wrapper_write_to_stream(w, null);
    g_object_unref(null);
    parts++;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_mail_gmime MBOX\n");
        return 2;
    }
    g_mime_init();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    GMimeStream *s = g_mime_stream_fs_open(argv[1], O_RDONLY, 0, NULL);
    if (!s) {
        perror(argv[1]);
        return 1;
    }
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    g_mime_parser_set_format(p, GMIME_FORMAT_MBOX);
    unsigned long long msgs = 0;
    while (!g_mime_parser_eos(p)) {
        GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
        if (!m)
            break;
        g_mime_message_foreach(m, decode, NULL);
        g_object_unref(m);
        msgs++;
    }
    g_object_unref(p);
    g_object_unref(s);
    clock_gettime(CLOCK_MONOTONIC, &b);
    struct stat st;
    stat(argv[1], &st);
    double sec = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%llu %lld %.3f %llu\n", msgs, (long long)st.st_size, sec, parts);
    return 0;
}
