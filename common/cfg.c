/* Table-driven configuration: defaults, then the file named by --config,
 * then the command-line flags, each later source overriding the earlier.
 *
 * Command line: "--name value" or "--name=value" for every table entry,
 * plus the built-ins --config FILE, --help and --version. --config may
 * appear anywhere; its file is applied before every flag. A value may
 * begin with "--" when given as the next argument ("--secret --x" sets the
 * secret to "--x"), as with getopt.
 *
 * Config file: one "name value" per line, the name and the value separated
 * by spaces or tabs; "name=value" is NOT accepted (a name never contains
 * '='), so there is one spelling to document. Leading and trailing blanks
 * are trimmed, the value is the rest of the line and may hold spaces.
 * Blank lines and lines whose first non-blank character is '#' are
 * skipped; there are no end-of-line comments, since '#' may be part of a
 * secret. The same name twice: the last one wins. "config", "help" and
 * "version" cannot be set from a file.
 *
 * Values: a CFG_STR field holds a malloc'd copy, or NULL for the empty
 * string (a NULL default, "--secret=" or "--secret ''"), so "not set" is
 * always just NULL. Other types with a NULL default are zero-filled
 * (CFG_ADDR: empty host, port 0). */
#include "config.h"

#include "cfg.h"
#include "log.h"
#include "numparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_WHY_MAX 512

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void *cfg_field(const struct cfg_opt *opt, void *conf)
{
    return (char *)conf + opt->offset;
}

static const struct cfg_opt *cfg_find(const struct cfg_program *prog, const char *name,
                                      size_t len)
{
    for (size_t i = 0; i < prog->nopts; i++) {
        const char *n = prog->opts[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &prog->opts[i];
    }
    return NULL;
}

static int is_name(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* ---- one value ---------------------------------------------------------- */

/* Parses value into the field; on error writes the reason (without the
 * option's name) to why. */
static int cfg_apply(const struct cfg_opt *opt, void *conf, const char *value,
                     char *why, size_t whylen)
{
    void *f = cfg_field(opt, conf);

    if (value == NULL)
        value = "";
    switch (opt->type) {
    case CFG_STR: {
        char *copy = NULL;
        if (*value != '\0' && (copy = strdup(value)) == NULL) {
            errf(why, whylen, "out of memory");
            return -1;
        }
        char **slot = f;
        free(*slot);
        *slot = copy;
        return 0;
    }
    case CFG_UINT: {
        uint64_t v;
        size_t len = strlen(value);
        if (parse_uint_range(value, len, 0, UINT64_MAX, &v) != 0) {
            /* Digits only but too big for 64 bits is a range error too. */
            if (len > 0 && value[0] != '0' && strspn(value, "0123456789") == len)
                errf(why, whylen, "'%.80s' out of range (%llu..%llu)", value,
                     (unsigned long long)opt->min, (unsigned long long)opt->max);
            else
                errf(why, whylen, "'%.80s' is not a plain decimal number "
                     "(digits only, no sign, no leading zero)", value);
            return -1;
        }
        if (v < opt->min || v > opt->max) {
            errf(why, whylen, "'%.80s' out of range (%llu..%llu)", value,
                 (unsigned long long)opt->min, (unsigned long long)opt->max);
            return -1;
        }
        *(uint64_t *)f = v;
        return 0;
    }
    case CFG_ADDR:
    case CFG_ADDRS: {
        const char *reason;
        if ((opt->type == CFG_ADDR ? cfg_addr_parse(value, f, &reason)
                                   : cfg_addr_list_parse(value, f, &reason)) != 0) {
            errf(why, whylen, "'%.80s': %s", value, reason);
            return -1;
        }
        return 0;
    }
    case CFG_BOOL:
        if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
            errf(why, whylen, "'%.80s' is not yes or no", value);
            return -1;
        }
        *(int *)f = value[0] == 'y';
        return 0;
    case CFG_LOGLEVEL:
        if (log_level_parse(value, f) != 0) {
            errf(why, whylen, "'%.80s' is not one of debug, info, warn, error", value);
            return -1;
        }
        return 0;
    }
    errf(why, whylen, "unknown option type %d", (int)opt->type);
    return -1;
}

int cfg_set(const struct cfg_opt *opt, void *conf, const char *value, char *err, size_t errlen)
{
    char why[CFG_WHY_MAX];

    if (cfg_apply(opt, conf, value, why, sizeof(why)) != 0) {
        errf(err, errlen, "%s: %s", opt->name, why);
        return -1;
    }
    return 0;
}

void cfg_free(const struct cfg_program *prog, void *conf)
{
    for (size_t i = 0; i < prog->nopts; i++) {
        if (prog->opts[i].type == CFG_STR) {
            char **slot = cfg_field(&prog->opts[i], conf);
            free(*slot);
            *slot = NULL;
        }
    }
}

/* Zero-fills every field (strings to NULL without freeing: conf may hold
 * garbage), then applies the defaults. */
static int cfg_defaults(const struct cfg_program *prog, void *conf, char *err, size_t errlen)
{
    for (size_t i = 0; i < prog->nopts; i++) {
        const struct cfg_opt *o = &prog->opts[i];
        void *f = cfg_field(o, conf);
        switch (o->type) {
        case CFG_STR: *(char **)f = NULL; break;
        case CFG_UINT: *(uint64_t *)f = 0; break;
        case CFG_ADDR: memset(f, 0, sizeof(struct cfg_addr)); break;
        case CFG_ADDRS: memset(f, 0, sizeof(struct cfg_addr_list)); break;
        case CFG_LOGLEVEL: *(enum log_level *)f = LL_DEBUG; break;
        case CFG_BOOL: *(int *)f = 0; break;
        }
    }
    for (size_t i = 0; i < prog->nopts; i++) {
        const struct cfg_opt *o = &prog->opts[i];
        char why[CFG_WHY_MAX];
        if (o->def != NULL && cfg_apply(o, conf, o->def, why, sizeof(why)) != 0) {
            errf(err, errlen, "internal error: bad default for %s: %s", o->name, why);
            return -1;
        }
    }
    return 0;
}

/* ---- --help ------------------------------------------------------------- */

static const char *cfg_metavar(const struct cfg_opt *o)
{
    if (strcmp(o->name, "config") == 0)
        return "FILE";
    switch (o->type) {
    case CFG_STR: return "VALUE";
    case CFG_UINT: return "N";
    case CFG_ADDR: return "HOST:PORT";
    case CFG_ADDRS: return "HOST:PORT,...";
    case CFG_LOGLEVEL: return "LEVEL";
    case CFG_BOOL: return "yes|no";
    }
    return "VALUE";
}

static void cfg_usage(const struct cfg_program *prog, FILE *out)
{
    static const struct { const char *left, *help; } builtins[] = {
        { "config FILE", "read \"name value\" lines from FILE; flags override it" },
        { "help", "print this help and exit" },
        { "version", "print the version and exit" },
    };
    int width = 0;
    char left[128];

    for (size_t i = 0; i < prog->nopts; i++) {
        int w = snprintf(left, sizeof(left), "%s %s", prog->opts[i].name,
                         cfg_metavar(&prog->opts[i]));
        if (w > width)
            width = w;
    }
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        int w = (int)strlen(builtins[i].left);
        if (w > width)
            width = w;
    }

    fprintf(out, "Usage: %s [OPTIONS]\n", prog->name);
    if (prog->summary != NULL)
        fprintf(out, "%s\n", prog->summary);
    fprintf(out, "\nOptions:\n");
    for (size_t i = 0; i < prog->nopts; i++) {
        const struct cfg_opt *o = &prog->opts[i];
        snprintf(left, sizeof(left), "%s %s", o->name, cfg_metavar(o));
        const char *help = o->help != NULL ? o->help : "";
        const char *sep = *help != '\0' ? " " : "";
        fprintf(out, "  --%-*s  %s", width, left, help);
        if (o->type == CFG_UINT)
            fprintf(out, "%s(%llu..%llu", sep, (unsigned long long)o->min,
                    (unsigned long long)o->max);
        else if (o->type == CFG_LOGLEVEL)
            fprintf(out, "%s(debug|info|warn|error", sep);
        else if (o->def != NULL)
            fprintf(out, "%s(", sep);
        if (o->def != NULL)
            fprintf(out, "%sdefault: %s", o->type == CFG_UINT || o->type == CFG_LOGLEVEL ? ", " : "",
                    o->def);
        if (o->def != NULL || o->type == CFG_UINT || o->type == CFG_LOGLEVEL)
            fputc(')', out);
        fputc('\n', out);
    }
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (i == 0 && cfg_find(prog, "config", 6) != NULL)
            continue;
        fprintf(out, "  --%-*s  %s\n", width, builtins[i].left, builtins[i].help);
    }
    fprintf(out, "\nEvery option except --config, --help and --version is also a config\n"
                 "file key: \"name value\" on a line, '#' starts a comment line.\n");
}

/* ---- the command line --------------------------------------------------- */

struct cfg_flag {
    const char *name;   /* after "--" */
    size_t len;         /* of the name */
    const char *value;  /* NULL for --help / --version */
};

/* Reads the flag at argv[*i] and advances *i past it (and its value).
 * Returns 1 with *f filled, 0 at the end, -1 with err filled. Checks only
 * the shape (what takes a value), not whether the option exists. */
static int cfg_next_flag(int argc, char **argv, int *i, struct cfg_flag *f,
                         char *err, size_t errlen)
{
    if (*i >= argc)
        return 0;
    const char *arg = argv[(*i)++];
    if (arg == NULL)
        return 0;
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || arg[2] == '=') {
        if (arg[0] == '-' && arg[1] != '\0')
            errf(err, errlen, "unknown option %.80s (see --help)", arg);
        else
            errf(err, errlen, "unexpected argument '%.80s' (see --help)", arg);
        return -1;
    }
    f->name = arg + 2;
    const char *eq = strchr(f->name, '=');
    f->len = eq != NULL ? (size_t)(eq - f->name) : strlen(f->name);
    if (is_name(f->name, f->len, "help") || is_name(f->name, f->len, "version")) {
        if (eq != NULL) {
            errf(err, errlen, "option --%.*s takes no value", (int)f->len, f->name);
            return -1;
        }
        f->value = NULL;
        return 1;
    }
    if (eq != NULL) {
        f->value = eq + 1;
    } else if (*i < argc && argv[*i] != NULL) {
        f->value = argv[(*i)++];
    } else {
        errf(err, errlen, "option --%.80s needs a value", f->name);
        return -1;
    }
    return 1;
}

/* ---- the config file ---------------------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int cfg_load_file(const struct cfg_program *prog, void *conf, const char *path,
                         char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0;
    int rc = -1;

    if (fp == NULL) {
        errf(err, errlen, "config file %s: %s", path, strerror(errno));
        return -1;
    }
    while ((got = getline(&line, &cap, fp)) != -1) {
        size_t n = (size_t)got;
        lineno++;
        if (strlen(line) != n) {
            errf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
            goto out;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || is_blank(line[n - 1])))
            n--;
        line[n] = '\0';
        char *key = line;
        while (is_blank(*key))
            key++;
        if (*key == '\0' || *key == '#')
            continue;

        size_t klen = 0;
        while (key[klen] != '\0' && !is_blank(key[klen]))
            klen++;
        char *value = key + klen;
        while (is_blank(*value))
            value++;

        if (is_name(key, klen, "config")) {
            errf(err, errlen, "%s:%d: config cannot be set in a config file", path, lineno);
            goto out;
        }
        const struct cfg_opt *o = cfg_find(prog, key, klen);
        if (o == NULL) {
            if (memchr(key, '=', klen) != NULL)
                errf(err, errlen, "%s:%d: unknown key '%.*s' (write \"name value\", not "
                     "\"name=value\")", path, lineno, (int)(klen > 80 ? 80 : klen), key);
            else
                errf(err, errlen, "%s:%d: unknown key '%.*s'", path, lineno,
                     (int)(klen > 80 ? 80 : klen), key);
            goto out;
        }
        if (*value == '\0') {
            errf(err, errlen, "%s:%d: %s: missing value", path, lineno, o->name);
            goto out;
        }
        char why[CFG_WHY_MAX];
        if (cfg_apply(o, conf, value, why, sizeof(why)) != 0) {
            errf(err, errlen, "%s:%d: %s: %s", path, lineno, o->name, why);
            goto out;
        }
    }
    if (ferror(fp)) {
        errf(err, errlen, "config file %s: read error: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(line);
    fclose(fp);
    return rc;
}

/* ---- all together ------------------------------------------------------- */

/* On CFG_EXIT and CFG_ERR the strings are freed already (fields NULL), so
 * the caller may just exit; calling cfg_free again is harmless. conf need
 * not be initialised: every field is written. Call cfg_free before loading
 * into the same conf a second time. */
enum cfg_result cfg_load(const struct cfg_program *prog, void *conf,
                         int argc, char **argv, char *err, size_t errlen)
{
    const struct cfg_opt *config_opt = cfg_find(prog, "config", 6);
    const char *config_path = NULL;
    struct cfg_flag f;
    int i, r;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg_defaults(prog, conf, err, errlen) != 0)
        goto fail;

    /* Pass 1: the shape of argv, --help, --version and --config. */
    i = 1;
    while ((r = cfg_next_flag(argc, argv, &i, &f, err, errlen)) == 1) {
        if (is_name(f.name, f.len, "help")) {
            cfg_usage(prog, stdout);
            fflush(stdout);
            cfg_free(prog, conf);
            return CFG_EXIT;
        }
        if (is_name(f.name, f.len, "version")) {
            printf("%s %s\n", prog->name, PACKAGE_VERSION);
            fflush(stdout);
            cfg_free(prog, conf);
            return CFG_EXIT;
        }
        if (is_name(f.name, f.len, "config")) {
            if (*f.value == '\0') {
                errf(err, errlen, "option --config needs a file name");
                goto fail;
            }
            config_path = f.value;
            continue;
        }
        if (cfg_find(prog, f.name, f.len) == NULL) {
            errf(err, errlen, "unknown option --%.*s (see --help)",
                 (int)(f.len > 80 ? 80 : f.len), f.name);
            goto fail;
        }
    }
    if (r < 0)
        goto fail;

    /* Pass 2: the file. */
    if (config_path != NULL && cfg_load_file(prog, conf, config_path, err, errlen) != 0)
        goto fail;

    /* Pass 3: the flags, in order; the last of a repeated flag wins. */
    i = 1;
    while (cfg_next_flag(argc, argv, &i, &f, err, errlen) == 1) {
        char why[CFG_WHY_MAX];
        const struct cfg_opt *o;
        if (f.value == NULL)
            continue;
        if (is_name(f.name, f.len, "config") && config_opt == NULL)
            continue;
        o = cfg_find(prog, f.name, f.len);
        if (o == NULL)
            continue;  /* cannot happen: pass 1 checked */
        if (cfg_apply(o, conf, f.value, why, sizeof(why)) != 0) {
            errf(err, errlen, "--%s: %s", o->name, why);
            goto fail;
        }
    }
    return CFG_OK;

fail:
    cfg_free(prog, conf);
    return CFG_ERR;
}
