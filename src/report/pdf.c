/* index.html -> report.pdf through headless Chromium's print-to-PDF. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kansoku/ks_report.h"

extern char **environ;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int ks_report_pdf(const char *dir, const char *browser, unsigned timeout_s)
{
    char abs[PATH_MAX], html[PATH_MAX + 16], url[PATH_MAX + 32], pdf[PATH_MAX + 32],
        tmp_pdf[PATH_MAX + 32], prof[] = "/tmp/kansoku-chromium.XXXXXX", profarg[sizeof prof + 32],
                                pdfarg[PATH_MAX + 64];
    struct stat sb;
    pid_t pid;
    int rc = KS_EIO, status = 0;
    if (!realpath(dir, abs))
        return KS_EIO;
    snprintf(html, sizeof html, "%s/index.html", abs);
    if (stat(html, &sb) != 0)
        return KS_EIO;
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(pdf, sizeof pdf, "%s/report.pdf", abs);
    snprintf(tmp_pdf, sizeof tmp_pdf, "%s/.report.pdf.tmp", abs);
    if (!mkdtemp(prof))
        return KS_EIO;
    snprintf(profarg, sizeof profarg, "--user-data-dir=%s", prof);
    snprintf(pdfarg, sizeof pdfarg, "--print-to-pdf=%s", tmp_pdf);
    unlink(tmp_pdf);
    char *argv[] = {(char *)(browser ? browser : "chromium"),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--no-pdf-header-footer",
                    "--run-all-compositor-stages-before-draw",
                    profarg,
                    pdfarg,
                    url,
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        rc = e == ENOENT ? KS_ENOTFOUND : KS_EIO;
        goto out;
    }
    struct timespec t0, now, nap = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            rc = KS_EIO;
            goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((unsigned)(now.tv_sec - t0.tv_sec) >= timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            rc = KS_ETIMEOUT;
            goto out;
        }
        nanosleep(&nap, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        rc = KS_ENOTFOUND;
        goto out;
    }
    if (stat(tmp_pdf, &sb) != 0 || sb.st_size < 100 || rename(tmp_pdf, pdf) != 0)
        goto out;
    rc = KS_OK;
out:
    unlink(tmp_pdf);
    nftw(prof, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
