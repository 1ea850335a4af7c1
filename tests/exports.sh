#!/bin/sh
# libhftc.so exports its API and nothing else: every defined dynamic symbol is an hftc_* name, and every
# function and object include/hftc.h declares is among them (a declaration without HFTC_API would be hidden).
# Usage: exports.sh LIBHFTC_SO HFTC_H
set -eu
lib=$1
header=$2
symbols=$(nm -D --defined-only "$lib")
exported=$(printf '%s\n' "$symbols" | awk '{print $NF}')
status=0
foreign=$(printf '%s\n' "$exported" | grep -v '^hftc_' || true)
if [ -n "$foreign" ]; then
    echo "$lib exports symbols outside the API:"
    printf '%s\n' "$foreign" | sed 's/^/  /'
    status=1
fi
# The names the header declares: hftc_x( or hftc_x[] outside comments (not the typedefs' (*hftc_x_fn)).
declared=$(grep -v '^ *\(/\*\|\*\)' "$header" | grep -o 'hftc_[a-z0-9_]*\((\|\[\]\)' | tr -d '([]' | sort -u)
if [ -z "$declared" ]; then
    echo "no declarations found in $header"
    exit 1
fi
for name in $declared; do
    if ! printf '%s\n' "$exported" | grep -qx "$name"; then
        echo "$lib does not export $name (declared in $header)"
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "$lib exports the $(printf '%s\n' "$declared" | wc -l) names of $header and no other"
exit "$status"
