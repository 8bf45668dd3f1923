/* log: level names, the level filter, and the exact line written to
 * stderr, read back through a pipe put in place of fd 2. Criterion runs
 * each test in its own process, so the level and program name start at
 * their defaults every time. */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_BYTES 4096

static int pipe_fd[2] = { -1, -1 };
static int saved_stderr = -1;

static void capture_begin(void)
{
    cr_assert_eq(pipe(pipe_fd), 0);
    fflush(stderr);
    saved_stderr = dup(2);
    cr_assert_geq(saved_stderr, 0);
    cr_assert_eq(dup2(pipe_fd[1], 2), 2);
    close(pipe_fd[1]);
}

/* Everything written to stderr since capture_begin, NUL-terminated. */
static size_t capture_end(char *buf, size_t cap)
{
    fflush(stderr);
    cr_assert_eq(dup2(saved_stderr, 2), 2);  /* closes the pipe's write end */
    close(saved_stderr);
    size_t n = 0;
    ssize_t got;
    while (n < cap - 1 && (got = read(pipe_fd[0], buf + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    close(pipe_fd[0]);
    return n;
}

/* The part of a line after "<timestamp> ". */
static const char *after_timestamp(const char *line)
{
    const char *sp = strchr(line, ' ');
    cr_assert_not_null(sp, "no space in \"%s\"", line);
    return sp + 1;
}

/* capture_end, and asserts that exactly n lines were written, each
 * "<timestamp> " and want[i]. */
static void capture_expect(const char *const want[], int n)
{
    char buf[LINE_MAX_BYTES * 2];
    capture_end(buf, sizeof(buf));
    char *p = buf;
    for (int i = 0; i < n; i++) {
        char *nl = strchr(p, '\n');
        cr_assert_not_null(nl, "line %d of %d missing in \"%s\"", i + 1, n, buf);
        *nl = '\0';
        cr_assert_str_eq(after_timestamp(p), want[i], "line %d", i + 1);
        p = nl + 1;
    }
    cr_assert_str_eq(p, "", "more than %d lines", n);
}

Test(log, level_names_both_ways)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++) {
        enum log_level l = LL_ERROR;
        cr_assert_eq(log_level_parse(names[i], &l), 0);
        cr_assert_eq(l, (enum log_level)i);
        cr_assert_str_eq(log_level_name((enum log_level)i), names[i]);
    }
    enum log_level l = LL_WARN;
    cr_assert_eq(log_level_parse("INFO", &l), -1);
    cr_assert_eq(log_level_parse("warning", &l), -1);
    cr_assert_eq(log_level_parse("", &l), -1);
    cr_assert_eq(log_level_parse(NULL, &l), -1);
    cr_assert_eq(l, LL_WARN);
    cr_assert_str_eq(log_level_name((enum log_level)4), "unknown");
    cr_assert_str_eq(log_level_name((enum log_level)-1), "unknown");
}

Test(log, level_defaults_to_info_and_ignores_unknown_levels)
{
    cr_assert_eq(log_get_level(), LL_INFO);
    log_set_level(LL_ERROR);
    cr_assert_eq(log_get_level(), LL_ERROR);
    log_set_level((enum log_level)4);
    cr_assert_eq(log_get_level(), LL_ERROR);
    log_set_level(LL_DEBUG);
    cr_assert_eq(log_get_level(), LL_DEBUG);
}

Test(log, line_format)
{
    char out[LINE_MAX_BYTES * 2];
    log_set_program("brokerd");
    time_t before = time(NULL);
    capture_begin();
    log_info("hello %d %s", 42, "world");
    capture_end(out, sizeof(out));
    time_t after = time(NULL);

    regex_t re;
    cr_assert_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                              "INFO brokerd: hello 42 world\n$", REG_EXTENDED | REG_NOSUB), 0);
    cr_assert_eq(regexec(&re, out, 0, NULL, 0), 0, "line: \"%s\"", out);
    regfree(&re);
    /* The timestamp is UTC and now. */
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    cr_assert_not_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t t = timegm(&tm);
    cr_assert(t >= before && t <= after, "timestamp %lld not in [%lld, %lld]", (long long)t,
              (long long)before, (long long)after);
}

Test(log, level_tags)
{
    log_set_level(LL_DEBUG);
    log_set_program("p");
    capture_begin();
    log_debug("d");
    log_info("i");
    log_warn("w");
    log_error("e");
    log_write((enum log_level)9, "x");       /* an unknown level logs as ERROR */
    capture_expect((const char *[]){ "DEBUG p: d", "INFO p: i", "WARN p: w", "ERROR p: e",
                                     "ERROR p: x" }, 5);
}

Test(log, below_the_level_nothing_is_written_or_formatted)
{
    int formatted = 0;
    log_set_level(LL_WARN);
    capture_begin();
    log_debug("%d", ++formatted);
    log_info("%d", ++formatted);
    log_warn("w%d", 1);
    log_error("e%d", 2);
    capture_expect((const char *[]){ "WARN pushgate: w1", "ERROR pushgate: e2" }, 2);
    cr_assert_eq(formatted, 0);
}

Test(log, program_name_is_the_last_path_component)
{
    capture_begin();
    log_set_program("/usr/sbin/routerd");
    log_error("a");
    log_set_program("");                       /* ignored */
    log_set_program(NULL);                     /* ignored */
    log_error("b");
    log_set_program("build/");                 /* nothing after the slash: kept whole */
    log_error("c");
    capture_expect((const char *[]){ "ERROR routerd: a", "ERROR routerd: b", "ERROR build/: c" },
                   3);
}

Test(log, program_name_is_cut_at_63_bytes)
{
    char name[100], want[120];
    memset(name, 'n', 99);
    name[99] = '\0';
    log_set_program(name);
    capture_begin();
    log_error("m");
    snprintf(want, sizeof(want), "ERROR %.63s: m", name);
    capture_expect((const char *[]){ want }, 1);
}

Test(log, control_bytes_become_question_marks)
{
    capture_begin();
    log_warn("a\tb\rc\x01" "d\x7f" "e\nf");
    log_warn("one newline is not doubled\n");
    log_warn("two\n\n");
    capture_expect((const char *[]){ "WARN pushgate: a?b?c?d?e?f",
                                     "WARN pushgate: one newline is not doubled",
                                     "WARN pushgate: two?" }, 3);
}

Test(log, a_long_message_is_cut_to_one_line_ending_in_dots)
{
    static char msg[6000], out[LINE_MAX_BYTES * 2];
    memset(msg, 'x', sizeof(msg) - 1);
    capture_begin();
    log_error("%s", msg);
    size_t n = capture_end(out, sizeof(out));
    cr_assert_eq(n, LINE_MAX_BYTES - 1);      /* 4094 bytes and the newline */
    cr_assert_eq(strchr(out, '\n'), out + n - 1);
    cr_assert_eq(strcmp(out + n - 5, "x...\n"), 0, "ends \"%s\"", out + n - 8);
    const char *rest = after_timestamp(out);
    cr_assert_eq(strncmp(rest, "ERROR pushgate: xxx", 19), 0);
    size_t xs = strspn(rest + 16, "x");
    cr_assert_eq(xs, (size_t)(out + n - 4 - (rest + 16)));
}
