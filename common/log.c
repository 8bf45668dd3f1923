/* Levelled logging to stderr.
 *
 * The only mutable globals of common/ live here: the level and the program
 * name, both set once at start-up before any other thread exists. Each line
 * is formatted into one buffer and written with a single fwrite so lines
 * from different places never interleave. Control bytes in the message are
 * replaced by '?' so a log line about untrusted input stays one line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_PROG_MAX 64
#define LOG_LINE_MAX 4096

static enum log_level log_level = LL_INFO;
static char log_prog[LOG_PROG_MAX] = "pushgate";

static const char *const log_names[] = { "debug", "info", "warn", "error" };
static const char *const log_tags[] = { "DEBUG", "INFO", "WARN", "ERROR" };
#define LOG_NLEVELS (sizeof(log_names) / sizeof(log_names[0]))

void log_set_level(enum log_level level)
{
    if ((unsigned)level < LOG_NLEVELS)
        log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < LOG_NLEVELS; i++) {
        if (strcmp(name, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level < LOG_NLEVELS)
        return log_names[level];
    return "unknown";
}

void log_set_program(const char *name)
{
    if (name == NULL || *name == '\0')
        return;
    /* Keep only the last path component: argv[0] may be a path. */
    const char *slash = strrchr(name, '/');
    if (slash != NULL && slash[1] != '\0')
        name = slash + 1;
    snprintf(log_prog, sizeof(log_prog), "%s", name);
}

/* "2026-11-23T12:00:00.123Z" into buf; returns its length. */
static size_t log_timestamp(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        ts.tv_sec = time(NULL);
        ts.tv_nsec = 0;
    }
    if (gmtime_r(&ts.tv_sec, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(buf + n, cap - n, ".%03ldZ", (long)(ts.tv_nsec / 1000000));
    if (m > 0 && (size_t)m < cap - n)
        n += (size_t)m;
    return n;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    size_t n, start;
    va_list ap;

    if ((unsigned)level >= LOG_NLEVELS)
        level = LL_ERROR;

    n = log_timestamp(line, sizeof(line));
    int m = snprintf(line + n, sizeof(line) - n, " %s %s: ", log_tags[level], log_prog);
    if (m > 0)
        n += (size_t)m;
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    start = n;

    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (m > 0)
        n += (size_t)m;
    /* Leave room for the newline; a truncated message ends in "...". */
    if (n > sizeof(line) - 2) {
        n = sizeof(line) - 2;
        memcpy(line + n - 3, "...", 3);
    }
    /* One trailing newline from the caller is not doubled. */
    if (n > start && line[n - 1] == '\n')
        n--;
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x20 || c == 0x7f)
            line[i] = '?';
    }
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
    fflush(stderr);
}
