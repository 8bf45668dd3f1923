#!/bin/sh
# embed.sh FILE NAME: writes C source defining NAME[] (FILE's bytes, NUL
# added) and NAME_len, so the dashboard ships inside the binary.
set -e
file=$1
name=$2
printf '/* Generated from %s by embed.sh; do not edit. */\n' "$(basename "$file")"
printf '#include <stddef.h>\n\nconst char %s[] = {\n' "$name"
od -An -v -tu1 "$file" | awk '{ for (i = 1; i <= NF; i++) printf "%s,", $i; printf "\n" }'
printf '0 };\nconst size_t %s_len = sizeof(%s) - 1;\n' "$name" "$name"
