/* Unit tests of the file-system helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/fsutil.h"
#include "kansoku/ks_core.h"

static char top[64];

static int make_top(void **state)
{
    (void)state;
    snprintf(top, sizeof top, "/tmp/ks-fsutil-XXXXXX");
    return mkdtemp(top) ? 0 : -1;
}

static int remove_top(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void mkdirs_makes_missing_parents(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof p, "%s/a/b//c/", top);
    assert_int_equal(ks_mkdirs(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b/c", top);
    assert_true(is_dir(p));
    assert_int_equal(ks_mkdirs(p, 0700), 0); /* existing: fine */
}

static void mkdirs_fails_on_a_file_in_the_way(void **state)
{
    (void)state;
    char f[256], p[300];
    snprintf(f, sizeof f, "%s/plain", top);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(ks_mkdirs(f, 0700), -1);
    snprintf(p, sizeof p, "%s/below", f);
    assert_int_equal(ks_mkdirs(p, 0700), -1);
}

static void mkdirs_refuses_empty_and_too_long_paths(void **state)
{
    (void)state;
    assert_int_equal(ks_mkdirs("", 0700), -1);
    char *p = malloc(5000);
    assert_non_null(p);
    memset(p, 'a', 4999);
    p[0] = '/';
    p[4999] = '\0';
    assert_int_equal(ks_mkdirs(p, 0700), -1);
    free(p);
}

static void write_all_and_read_full_round_trip_and_report_short_files(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof p, "%s/data", top);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(ks_write_all(fd, big, sizeof big), KS_OK);
    close(fd);
    static uint8_t back[sizeof big + 10];
    fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(ks_read_full(fd, back, sizeof back), (long long)sizeof big); /* EOF */
    assert_memory_equal(back, big, sizeof big);
    assert_int_equal(ks_read_full(fd, back, 10), 0);
    close(fd);
    assert_int_equal(ks_write_all(fd, big, 10), KS_EIO); /* closed descriptor */
    assert_int_equal(ks_read_full(fd, back, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mkdirs_makes_missing_parents),
        cmocka_unit_test(mkdirs_fails_on_a_file_in_the_way),
        cmocka_unit_test(mkdirs_refuses_empty_and_too_long_paths),
        cmocka_unit_test(write_all_and_read_full_round_trip_and_report_short_files),
    };
    return cmocka_run_group_tests(tests, make_top, remove_top);
}
