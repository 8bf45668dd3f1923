/* Levelled logging to stderr. The level is chosen once at start-up. */
#ifndef PG_LOG_H
#define PG_LOG_H

enum log_level { LL_DEBUG = 0, LL_INFO, LL_WARN, LL_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "debug", "info", "warn", "error" -> level. Returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);
/* Writes "2026-11-23T12:00:00.123Z LEVEL prog: message\n" to stderr. */
void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_set_program(const char *name);

/* The macros skip formatting below the level. */
#define LOG_AT(lvl, ...) \
    do { if ((lvl) >= log_get_level()) log_write((lvl), __VA_ARGS__); } while (0)
#define log_debug(...) LOG_AT(LL_DEBUG, __VA_ARGS__)
#define log_info(...) LOG_AT(LL_INFO, __VA_ARGS__)
#define log_warn(...) LOG_AT(LL_WARN, __VA_ARGS__)
#define log_error(...) LOG_AT(LL_ERROR, __VA_ARGS__)

#endif
