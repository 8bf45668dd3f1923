/* cfg: defaults -> --config file -> flags, --help/--version. Addresses:
 * test_cfg_addr.c. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct tconf {
    char *config;
    struct cfg_addr tcp;
    struct cfg_addr bcast;
    uint64_t timeout;
    uint64_t big;
    char *secret;
    char *name;
    enum log_level level;
};

#define OPT(n, t, f, d, lo, hi, h) { n, t, offsetof(struct tconf, f), d, lo, hi, h }

static const struct cfg_opt topts[] = {
    OPT("config", CFG_STR, config, NULL, 0, 0, "config file"),
    OPT("tcp-address", CFG_ADDR, tcp, "0.0.0.0:8600", 0, 0, "listen address"),
    OPT("broadcast-address", CFG_ADDR, bcast, NULL, 0, 0, "given to devices"),
    OPT("msg-timeout", CFG_UINT, timeout, "60", 1, 86400, "seconds"),
    OPT("big", CFG_UINT, big, "0", 0, UINT64_MAX, "any 64-bit number"),
    OPT("secret", CFG_STR, secret, NULL, 0, 0, "shared secret"),
    OPT("name", CFG_STR, name, "pushgate", 0, 0, "a name"),
    OPT("log-level", CFG_LOGLEVEL, level, "info", 0, 0, "verbosity"),
};
static const struct cfg_program tprog = { "tprog", "a test program", topts, NELEMS(topts) };

/* The same without a "config" entry: --config is then a built-in. */
static const struct cfg_program tprog_noconf = { "tprog", "a test program", topts + 1,
                                                 NELEMS(topts) - 1 };

static char err[512];

static enum cfg_result load_argv(const struct cfg_program *p, struct tconf *c, int argc,
                                 const char **argv)
{
    memset(c, 0xa5, sizeof(*c));  /* cfg_load must not trust what is there */
    memset(err, 0, sizeof(err));
    return cfg_load(p, c, argc, (char **)argv, err, sizeof(err));
}

#define LOADP(p, c, ...)                                                                \
    load_argv((p), (c), (int)NELEMS(((const char *[]){ "tprog", __VA_ARGS__ })),        \
              (const char *[]){ "tprog", __VA_ARGS__ })
#define LOAD(c, ...) LOADP(&tprog, (c), __VA_ARGS__)

/* Loads argv expecting CFG_ERR with exactly the message want. */
#define LOAD_ERR(want, ...)                                                             \
    do {                                                                                \
        struct tconf c_;                                                                \
        cr_assert_eq(LOAD(&c_, __VA_ARGS__), CFG_ERR);                                  \
        cr_assert_str_eq(err, (want));                                                  \
        cr_assert_null(c_.secret, "strings not freed on error");                        \
        cr_assert_null(c_.name, "strings not freed on error");                          \
    } while (0)

/* Writes len bytes of content to a new temporary file; path is malloc'd,
 * caller unlinks. */
static char *tmpfile_with_len(const char *content, size_t len)
{
    const char *dir = getenv("TMPDIR");
    char *path;
    if (dir == NULL || *dir == '\0')
        dir = P_tmpdir;
    cr_assert_neq(asprintf(&path, "%s/pg-test-cfg-XXXXXX", dir), -1);
    int fd = mkstemp(path);
    cr_assert_neq(fd, -1, "mkstemp %s", path);
    cr_assert_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static char *tmpfile_with(const char *content)
{
    return tmpfile_with_len(content, strlen(content));
}

/* ---- defaults ---- */

Test(cfg_defaults, no_arguments)
{
    struct tconf c;
    const char *argv[] = { "tprog" };
    cr_assert_eq(load_argv(&tprog, &c, 1, argv), CFG_OK);
    cr_assert_null(c.config);
    cr_assert_str_eq(c.tcp.host, "0.0.0.0");
    cr_assert_eq(c.tcp.port, 8600);
    cr_assert_str_eq(c.bcast.host, "");
    cr_assert_eq(c.bcast.port, 0);
    cr_assert_eq(c.timeout, 60);
    cr_assert_eq(c.big, 0);
    cr_assert_null(c.secret);
    cr_assert_str_eq(c.name, "pushgate");
    cr_assert_eq(c.level, LL_INFO);
    cr_assert_str_eq(err, "");
    cfg_free(&tprog, &c);
    cr_assert_null(c.name);
    cfg_free(&tprog, &c);  /* twice is harmless */
}

Test(cfg_defaults, bad_default_is_reported)
{
    static const struct cfg_opt bad[] = {
        OPT("msg-timeout", CFG_UINT, timeout, "0", 1, 10, "seconds"),
    };
    static const struct cfg_program p = { "tprog", NULL, bad, 1 };
    struct tconf c;
    const char *argv[] = { "tprog" };
    cr_assert_eq(load_argv(&p, &c, 1, argv), CFG_ERR);
    cr_assert_str_eq(err, "internal error: bad default for msg-timeout: '0' out of range (1..10)");
}

/* ---- flags ---- */

Test(cfg_flags, space_and_equals_forms)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--tcp-address", "127.0.0.1:9000", "--msg-timeout=5",
                      "--secret", "s3", "--log-level=debug", "--big", "18446744073709551615",
                      "--broadcast-address=[::1]:0"), CFG_OK, "%s", err);
    cr_assert_str_eq(c.tcp.host, "127.0.0.1");
    cr_assert_eq(c.tcp.port, 9000);
    cr_assert_eq(c.timeout, 5);
    cr_assert_str_eq(c.secret, "s3");
    cr_assert_eq(c.level, LL_DEBUG);
    cr_assert_eq(c.big, UINT64_MAX);
    cr_assert_str_eq(c.bcast.host, "::1");
    cr_assert_eq(c.bcast.port, 0);
    cfg_free(&tprog, &c);
}

Test(cfg_flags, last_one_wins_without_leak)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--secret", "a", "--secret=b", "--name", "x", "--name", "y",
                      "--msg-timeout", "1", "--msg-timeout", "86400"), CFG_OK);
    cr_assert_str_eq(c.secret, "b");
    cr_assert_str_eq(c.name, "y");
    cr_assert_eq(c.timeout, 86400);
    cfg_free(&tprog, &c);
}

Test(cfg_flags, empty_string_is_null)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--secret=", "--name", ""), CFG_OK);
    cr_assert_null(c.secret);
    cr_assert_null(c.name);
    cfg_free(&tprog, &c);
}

Test(cfg_flags, values_may_look_like_flags_or_hold_equals)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--secret", "--name", "--name=a=b"), CFG_OK);
    cr_assert_str_eq(c.secret, "--name");
    cr_assert_str_eq(c.name, "a=b");
    cfg_free(&tprog, &c);
}

Test(cfg_flags, unknown_option)
{
    LOAD_ERR("unknown option --bogus (see --help)", "--bogus", "1");
    LOAD_ERR("unknown option --bogus (see --help)", "--bogus=1");
    LOAD_ERR("unknown option --Secret (see --help)", "--Secret", "x");
    LOAD_ERR("unknown option -h (see --help)", "-h");
    LOAD_ERR("unknown option --=x (see --help)", "--=x");
    LOAD_ERR("unknown option -- (see --help)", "--");
    LOAD_ERR("unexpected argument 'extra' (see --help)", "--secret", "s", "extra");
    LOAD_ERR("unexpected argument '-' (see --help)", "-");
}

Test(cfg_flags, missing_value)
{
    LOAD_ERR("option --msg-timeout needs a value", "--msg-timeout");
    LOAD_ERR("option --secret needs a value", "--name", "n", "--secret");
}

Test(cfg_flags, bad_numbers)
{
    static const char *bad[] = { "", "1x", "-1", "+1", "01", "00", " 1", "1 ", "0x10", "1.5", "1e3" };
    for (size_t i = 0; i < NELEMS(bad); i++) {
        char want[200], arg[64];
        snprintf(want, sizeof(want), "--msg-timeout: '%s' is not a plain decimal number "
                 "(digits only, no sign, no leading zero)", bad[i]);
        snprintf(arg, sizeof(arg), "--msg-timeout=%s", bad[i]);
        LOAD_ERR(want, arg);
    }
}

Test(cfg_flags, numbers_out_of_range)
{
    LOAD_ERR("--msg-timeout: '0' out of range (1..86400)", "--msg-timeout", "0");
    LOAD_ERR("--msg-timeout: '86401' out of range (1..86400)", "--msg-timeout", "86401");
    LOAD_ERR("--msg-timeout: '99999999999999999999999' out of range (1..86400)",
             "--msg-timeout", "99999999999999999999999");
    LOAD_ERR("--big: '18446744073709551616' out of range (0..18446744073709551615)",
             "--big", "18446744073709551616");
}

Test(cfg_flags, bad_addresses)
{
    LOAD_ERR("--tcp-address: 'localhost': missing ':port'", "--tcp-address", "localhost");
    LOAD_ERR("--tcp-address: ':80': empty host", "--tcp-address", ":80");
    LOAD_ERR("--tcp-address: 'h:': missing port", "--tcp-address", "h:");
    LOAD_ERR("--tcp-address: 'h:65536': port out of range (0..65535)", "--tcp-address", "h:65536");
    LOAD_ERR("--tcp-address: 'h:080': port is not a plain decimal number", "--tcp-address", "h:080");
    LOAD_ERR("--tcp-address: '': empty address (want host:port)", "--tcp-address=");
    LOAD_ERR("--tcp-address: '::1:80': an IPv6 address must be in brackets: [addr]:port",
             "--tcp-address", "::1:80");
}

Test(cfg_flags, bad_log_level)
{
    LOAD_ERR("--log-level: 'verbose' is not one of debug, info, warn, error", "--log-level", "verbose");
    LOAD_ERR("--log-level: 'INFO' is not one of debug, info, warn, error", "--log-level=INFO");
    LOAD_ERR("--log-level: '' is not one of debug, info, warn, error", "--log-level=");
}

Test(cfg_flags, all_log_levels)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++) {
        struct tconf c;
        cr_assert_eq(LOAD(&c, "--log-level", names[i]), CFG_OK);
        cr_assert_eq(c.level, (enum log_level)i);
        cfg_free(&tprog, &c);
    }
}

Test(cfg_flags, help_and_version_take_no_value)
{
    LOAD_ERR("option --help takes no value", "--help=1");
    LOAD_ERR("option --version takes no value", "--version=yes");
}

Test(cfg_flags, first_error_wins_over_later_help)
{
    LOAD_ERR("unknown option --bogus (see --help)", "--bogus=1", "--help");
}

/* ---- --help and --version ---- */

Test(cfg_help, exact_usage, .init = cr_redirect_stdout)
{
    static const struct cfg_opt o[] = {
        OPT("tcp-address", CFG_ADDR, tcp, "127.0.0.1:1", 0, 0, "where to listen"),
        OPT("msg-timeout", CFG_UINT, timeout, "3", 0, 10, "how long"),
        OPT("secret", CFG_STR, secret, NULL, 0, 0, "shared secret"),
        OPT("log-level", CFG_LOGLEVEL, level, "warn", 0, 0, "how much to log"),
        OPT("big", CFG_UINT, big, NULL, 5, 6, NULL),
    };
    static const struct cfg_program p = { "tprog", "a test program", o, NELEMS(o) };
    struct tconf c;
    cr_assert_eq(LOADP(&p, &c, "--help"), CFG_EXIT);
    cr_assert_null(c.secret);
    cr_assert_stdout_eq_str(
        "Usage: tprog [OPTIONS]\n"
        "a test program\n"
        "\n"
        "Options:\n"
        "  --tcp-address HOST:PORT  where to listen (default: 127.0.0.1:1)\n"
        "  --msg-timeout N          how long (0..10, default: 3)\n"
        "  --secret VALUE           shared secret\n"
        "  --log-level LEVEL        how much to log (debug|info|warn|error, default: warn)\n"
        "  --big N                  (5..6)\n"
        "  --config FILE            read \"name value\" lines from FILE; flags override it\n"
        "  --help                   print this help and exit\n"
        "  --version                print the version and exit\n"
        "\n"
        "Every option except --config, --help and --version is also a config\n"
        "file key: \"name value\" on a line, '#' starts a comment line.\n");
}

Test(cfg_help, config_entry_in_table_is_listed_once, .init = cr_redirect_stdout)
{
    static const struct cfg_opt o[] = {
        OPT("config", CFG_STR, config, NULL, 0, 0, "read options from FILE"),
    };
    static const struct cfg_program p = { "tprog", NULL, o, NELEMS(o) };
    struct tconf c;
    cr_assert_eq(LOADP(&p, &c, "--help"), CFG_EXIT);
    cr_assert_stdout_eq_str(
        "Usage: tprog [OPTIONS]\n"
        "\n"
        "Options:\n"
        "  --config FILE  read options from FILE\n"
        "  --help         print this help and exit\n"
        "  --version      print the version and exit\n"
        "\n"
        "Every option except --config, --help and --version is also a config\n"
        "file key: \"name value\" on a line, '#' starts a comment line.\n");
}

/* --help does not read the config file and wins over later problems. */
Test(cfg_help, before_file_and_later_errors, .init = cr_redirect_stdout)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--secret", "x", "--config", "/nonexistent/pg.conf", "--help",
                      "--bogus"), CFG_EXIT);
    cr_assert_null(c.secret);
}

Test(cfg_version, prints_name_and_version, .init = cr_redirect_stdout)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--msg-timeout", "5", "--version"), CFG_EXIT);
    cr_assert_stdout_eq_str("tprog " PACKAGE_VERSION "\n");
}

/* ---- the config file ---- */

Test(cfg_file, format)
{
    char *path = tmpfile_with(
        "# a comment\n"
        "\n"
        "   \t\n"
        "  # indented comment\n"
        "tcp-address 10.0.0.1:7000\n"
        "msg-timeout\t\t 30  \t\n"
        "secret my secret # not a comment\r\n"
        "name first\n"
        "name second\n"
        "log-level warn");  /* no final newline */
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--config", path), CFG_OK, "%s", err);
    cr_assert_str_eq(c.config, path);
    cr_assert_str_eq(c.tcp.host, "10.0.0.1");
    cr_assert_eq(c.tcp.port, 7000);
    cr_assert_eq(c.timeout, 30);
    cr_assert_str_eq(c.secret, "my secret # not a comment");
    cr_assert_str_eq(c.name, "second");
    cr_assert_eq(c.level, LL_WARN);
    cfg_free(&tprog, &c);
    unlink(path);
    free(path);
}

/* The file is applied first wherever --config is; flags override it. */
Test(cfg_file, flags_override_file_in_any_order)
{
    char *path = tmpfile_with("msg-timeout 5\nsecret fromfile\nname filename\n");
    char *eq;
    struct tconf c;

    cr_assert_eq(LOAD(&c, "--msg-timeout", "7", "--secret=flag", "--config", path), CFG_OK, "%s", err);
    cr_assert_eq(c.timeout, 7);
    cr_assert_str_eq(c.secret, "flag");
    cr_assert_str_eq(c.name, "filename");
    cfg_free(&tprog, &c);

    cr_assert_neq(asprintf(&eq, "--config=%s", path), -1);
    cr_assert_eq(LOAD(&c, eq, "--msg-timeout", "8"), CFG_OK, "%s", err);
    cr_assert_eq(c.timeout, 8);
    cr_assert_str_eq(c.secret, "fromfile");
    cr_assert_str_eq(c.config, path);
    cfg_free(&tprog, &c);

    unlink(path);
    free(path);
    free(eq);
}

Test(cfg_file, config_as_builtin)
{
    char *path = tmpfile_with("msg-timeout 9\n");
    struct tconf c;
    cr_assert_eq(LOADP(&tprog_noconf, &c, "--config", path), CFG_OK, "%s", err);
    cr_assert_eq(c.timeout, 9);
    cfg_free(&tprog_noconf, &c);
    unlink(path);
    free(path);
}

/* Runs cfg_load with --config on a file holding content and expects
 * CFG_ERR with "<path>:<want>". */
static void file_err_len(const char *content, size_t len, const char *want)
{
    char *path = tmpfile_with_len(content, len);
    char full[600];
    struct tconf c;

    snprintf(full, sizeof(full), "%s:%s", path, want);
    cr_assert_eq(LOAD(&c, "--secret", "s", "--config", path), CFG_ERR, "content: %s", content);
    cr_assert_str_eq(err, full);
    cr_assert_null(c.secret);
    unlink(path);
    free(path);
}

static void file_err(const char *content, const char *want)
{
    file_err_len(content, strlen(content), want);
}

Test(cfg_file, errors_name_file_and_line)
{
    file_err("# ok\nmsg-timeout 5\nbogus 1\n", "3: unknown key 'bogus'");
    file_err("msg-timeout=5\n", "1: unknown key 'msg-timeout=5' (write \"name value\", not \"name=value\")");
    file_err("\nmsg-timeout\n", "2: msg-timeout: missing value");
    file_err("msg-timeout   \t \n", "1: msg-timeout: missing value");
    file_err("msg-timeout 1x\n", "1: msg-timeout: '1x' is not a plain decimal number "
             "(digits only, no sign, no leading zero)");
    file_err("msg-timeout 0\n", "1: msg-timeout: '0' out of range (1..86400)");
    file_err("tcp-address nohost\n", "1: tcp-address: 'nohost': missing ':port'");
    file_err("log-level loud\n", "1: log-level: 'loud' is not one of debug, info, warn, error");
    file_err("config other.conf\n", "1: config cannot be set in a config file");
    file_err("help 1\n", "1: unknown key 'help'");
    file_err_len("name x\na\0b 1\n", 13, "2: NUL byte in line");
}

Test(cfg_file, missing_file)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--config", "/nonexistent/pg.conf"), CFG_ERR);
    cr_assert_str_eq(err, "config file /nonexistent/pg.conf: No such file or directory");
    cr_assert_eq(LOAD(&c, "--config="), CFG_ERR);
    cr_assert_str_eq(err, "option --config needs a file name");
}

/* ---- cfg_set ---- */

Test(cfg_set, strings_replace_without_leak)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--name", "a"), CFG_OK);
    cr_assert_eq(cfg_set(&topts[6], &c, "b", err, sizeof(err)), 0);
    cr_assert_str_eq(c.name, "b");
    cr_assert_eq(cfg_set(&topts[6], &c, "", err, sizeof(err)), 0);
    cr_assert_null(c.name);
    cr_assert_eq(cfg_set(&topts[6], &c, "c", err, sizeof(err)), 0);
    cr_assert_str_eq(c.name, "c");
    cfg_free(&tprog, &c);
}

Test(cfg_set, error_names_the_option)
{
    struct tconf c;
    cr_assert_eq(LOAD(&c, "--msg-timeout", "9"), CFG_OK);
    cr_assert_eq(cfg_set(&topts[3], &c, "0", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "msg-timeout: '0' out of range (1..86400)");
    cr_assert_eq(c.timeout, 9, "value changed on error");
    cr_assert_eq(cfg_set(&topts[1], &c, "h:99999", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "tcp-address: 'h:99999': port out of range (0..65535)");
    cr_assert_str_eq(c.tcp.host, "0.0.0.0");
    cr_assert_eq(cfg_set(&topts[3], &c, "1", NULL, 0), 0);
    cr_assert_eq(c.timeout, 1);
    cr_assert_eq(cfg_set(&topts[3], &c, "x", NULL, 0), -1);  /* no err buffer */
    cfg_free(&tprog, &c);
}

/* ---- yes/no options ---- */

struct bconf {
    int deflate;
};

static const struct cfg_opt bopts[] = {
    { "deflate", CFG_BOOL, offsetof(struct bconf, deflate), "yes", 0, 0, "compress" },
};
static const struct cfg_program bprog = { "bprog", NULL, bopts, NELEMS(bopts) };

static enum cfg_result load_bool(struct bconf *c, const char *arg)
{
    const char *argv[] = { "bprog", arg };
    memset(c, 0xa5, sizeof(*c));
    return cfg_load(&bprog, c, arg ? 2 : 1, (char **)argv, err, sizeof(err));
}

Test(cfg_bool, yes_no_and_default)
{
    struct bconf c;
    cr_assert_eq(load_bool(&c, NULL), CFG_OK);
    cr_assert_eq(c.deflate, 1);
    cr_assert_eq(load_bool(&c, "--deflate=no"), CFG_OK);
    cr_assert_eq(c.deflate, 0);
    cr_assert_eq(load_bool(&c, "--deflate=yes"), CFG_OK);
    cr_assert_eq(c.deflate, 1);
}

Test(cfg_bool, other_words_refused)
{
    static const char *bad[] = { "--deflate=", "--deflate=true", "--deflate=1", "--deflate=NO" };
    struct bconf c;
    for (size_t i = 0; i < NELEMS(bad); i++) {
        char want[128];
        snprintf(want, sizeof(want), "--deflate: '%s' is not yes or no", bad[i] + 10);
        cr_assert_eq(load_bool(&c, bad[i]), CFG_ERR);
        cr_assert_str_eq(err, want);
    }
}
