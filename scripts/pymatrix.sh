#!/usr/bin/env bash
# Builds and tests the interp package against every CPython 3.9–3.13 found
# under pyenv ($(pyenv root)/versions/*/lib/pkgconfig), as a version
# matrix: Debian's 3.11 stays the default (scripts/test.sh). Each version
# gets its own Go build cache, since Go's cache does not see a change of
# the libpython that pkg-config names and would link a stale one.
#   scripts/pymatrix.sh            all of 3.9–3.13 that are installed
#   scripts/pymatrix.sh 3.12 3.13  only these
set -euo pipefail
cd "$(dirname "$0")/.."

root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
want=("$@")
((${#want[@]})) || want=(3.9 3.10 3.11 3.12 3.13)
status=0
for v in "${want[@]}"; do
	pc=$(ls -d "$root"/versions/"$v".*/lib/pkgconfig 2>/dev/null | sort -V | tail -n 1 || true)
	if [[ -z "$pc" || ! -f "$pc/python3-embed.pc" ]]; then
		echo "== Python $v: not installed under $root, skipped"
		continue
	fi
	prefix=$(dirname "$(dirname "$pc")")
	echo "== Python $v ($prefix)"
	if PKG_CONFIG_PATH=$pc LD_LIBRARY_PATH=$prefix/lib GOCACHE="${XDG_CACHE_HOME:-$HOME/.cache}/gowsgi-py$v" \
		go test -count=1 ./interp/; then
		:
	else
		status=1
	fi
done
exit $status
