#!/usr/bin/env bash
# Fails (exit 1) and lists the files that clang-format would change. Used as a CTest test.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.h' 2>/dev/null \
    || find shared device dashboard tests -name '*.cpp' -o -name '*.h')
bad=0
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
[ $bad -eq 0 ] && echo "check-format: ${#files[@]} files formatted"
exit $bad
