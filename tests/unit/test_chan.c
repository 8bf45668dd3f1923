/* chan: channel names and channel fields (SPEC 5.2; docs/DESIGN.md,
 * "Channel names"). */
#include <criterion/criterion.h>
#include <string.h>

#include "chan.h"

Test(chan, names)
{
    char max[CHAN_NAME_MAX + 2];
    memset(max, 'a', sizeof(max));
    cr_assert(chan_name_valid("7", 1));
    cr_assert(chan_name_valid("news/eu-1", 9));
    cr_assert(chan_name_valid("~$!", 3));
    cr_assert(chan_name_valid(max, CHAN_NAME_MAX));
    cr_assert(!chan_name_valid(max, CHAN_NAME_MAX + 1));
    cr_assert(!chan_name_valid("", 0));
    cr_assert(!chan_name_valid("a b", 3));
    cr_assert(!chan_name_valid("a\n", 2));
    cr_assert(!chan_name_valid("\x7f", 1));
    cr_assert(!chan_name_valid("\xc3\xa9", 2), "printable ASCII only");
    cr_assert(chan_name_reserved("$conn", 5));
    cr_assert(!chan_name_reserved("c$", 2));
}

Test(chan, fields)
{
    char f[CHAN_FIELD_MAX];
    cr_assert_str_eq(chan_field(f, "7", 1), "7");
    cr_assert_str_eq(chan_field(f, "9223372036854775807", 19), "9223372036854775807");
    cr_assert_str_eq(chan_field(f, "9223372036854775808", 19), "~9223372036854775808");
    cr_assert_str_eq(chan_field(f, "007", 3), "~007");
    cr_assert_str_eq(chan_field(f, "0", 1), "~0");
    cr_assert_str_eq(chan_field(f, "in", 2), "~in");
    const char *name;
    size_t nl;
    cr_assert_eq(chan_field_name("~007", 4, &name, &nl), 0);
    cr_assert(nl == 3 && memcmp(name, "007", 3) == 0);
    cr_assert_eq(chan_field_name("42", 2, &name, &nl), 0);
    cr_assert(nl == 2 && memcmp(name, "42", 2) == 0);
    cr_assert_eq(chan_field_name("0", 1, &name, &nl), -1, "no channel");
    cr_assert_eq(chan_field_name("in", 2, &name, &nl), -1, "the inbox");
    cr_assert_eq(chan_field_name("~", 1, &name, &nl), -1);
    cr_assert_eq(chan_field_name("~a b", 4, &name, &nl), -1);
}
