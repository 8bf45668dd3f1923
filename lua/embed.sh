#!/bin/sh
# The one place that turns lua/*.lua into the scripts Redis runs.
#
#   embed.sh lua DIR NAME   the Lua text of script DIR/NAME.lua, as sent to
#                           SCRIPT LOAD (the tests load it from here too)
#   embed.sh c DIR          C source defining lua_NAME[] for every script
#                           DIR/NAME.lua (every file but lib.lua)
#
# A script runs as: "local pg = {...} local function main() " before its
# first line, then its lines, then "end " before lib.lua's first line, lib.lua,
# and "return main()". Its line N is thus "@user_script:N"; lib.lua's line
# M is "@user_script:S+M" (S: the script's line count). Only the parts of
# lib.lua the script uses (pg.NAME, directly or through lib.lua) are kept:
# Redis runs the whole text on every call, so an unused function would
# cost a closure each time. The others become empty lines, so that the
# line numbers hold.
set -e

# lua_text DIR NAME
lua_text() {
    awk -f - "$1/$2.lua" "$1/lib.lua" <<'AWK'
# A block of lib.lua: "function pg.NAME" up to a line "end" (or the same
# line if it ends with "end"), or one line "pg.NAME = ...".
function refs(s, into) {
    while (match(s, /pg\.[A-Za-z_][A-Za-z_0-9]*/)) {
        into[substr(s, RSTART + 3, RLENGTH - 3)] = 1
        s = substr(s, RSTART + RLENGTH)
    }
}
FNR == NR { script[FNR] = $0; nscript = FNR; refs($0, need); next }
{
    line[FNR] = $0
    if (!open && match($0, /^(function pg\.|pg\.)[A-Za-z_][A-Za-z_0-9]*/)) {
        name = substr($0, RSTART, RLENGTH)
        sub(/^(function )?pg\./, "", name)
        open = !($0 ~ /^pg\./ || $0 ~ /[ )]end$/)
        cur = name
    }
    owner[FNR] = cur
    if (cur != "")
        body[cur] = body[cur] "\n" $0
    if (!open || $0 == "end") { open = 0; cur = "" }
}
END {
    do {
        grew = 0
        for (n in need)
            if (!(n in done) && (n in body)) { done[n] = 1; refs(body[n], need); grew = 1 }
    } while (grew)
    # pg is made with room for what it will hold: no rehash on each call.
    fields = ""
    for (n in done)
        fields = fields n " = false, "
    printf "local pg = {%s} local function main() ", fields
    for (i = 1; i <= nscript; i++)
        print script[i]
    printf "end "
    for (i = 1; i <= FNR; i++)
        print (owner[i] != "" && !(owner[i] in done)) ? "" : line[i]
    print "return main()"
}
AWK
}

case $1 in
lua)
    lua_text "$2" "$3"
    ;;
c)
    printf '/* Generated from the files of lua/ by lua/embed.sh; do not edit. */\n'
    for f in "$2"/*.lua; do
        name=$(basename "$f" .lua)
        [ "$name" = lib ] && continue
        printf 'extern const char lua_%s[];\nconst char lua_%s[] = {\n' "$name" "$name"
        lua_text "$2" "$name" | od -An -v -tu1 |
            awk '{ for (i = 1; i <= NF; i++) printf "%s,", $i; printf "\n" }'
        printf '0 };\n'
    done
    ;;
*)
    echo "usage: embed.sh lua DIR NAME | embed.sh c DIR" >&2
    exit 2
    ;;
esac
