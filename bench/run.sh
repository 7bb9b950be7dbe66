#!/usr/bin/env bash
# bench/run.sh: the benchmark suite in one command.
#
#   bench/run.sh            # full run: 8 workloads, up to 13 contenders, 2 rounds, and the fairness figure: ~12 min
#   bench/run.sh --quick    # smoke test: 1 s per measurement, 1 round, ~5 min
#   bench/run.sh --workloads hello,echo,fairness --contenders go,gowsgi,uwsgi-1p4t
#   bench/run.sh --gowsgi /path/to/gowsgi ...   # measure that binary; this tree's gowsgi is not built
#
# It installs the Debian packages it lacks (apt-get, as root or via sudo),
# builds gowsgi, the pure Go ceiling and the runner into bench/.build, and
# runs bench/cmd/benchrun, which writes bench/results/latest.{md,json,svg}.
# Every other argument goes to benchrun (bench/run.sh --help lists them).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

# Debian packages: the peers, the load generator, and what building gowsgi needs.
pkgs=(wrk gunicorn python3-gunicorn uwsgi uwsgi-core uwsgi-plugin-python3 python3-waitress
      apache2 libapache2-mod-wsgi-py3 python3-flask python3-django python3-dev pkg-config gcc)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "run.sh: installing ${missing[*]}"
	sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || { echo "run.sh: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update -qq
	# Installing apache2 must not start it (on port 80): the suite starts
	# its own. A policy-rc.d that says no keeps the service down.
	policy=/usr/sbin/policy-rc.d made_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
		"${sudo[@]}" chmod +x "$policy"
		made_policy=1
	fi
	status=0
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
	if [ -n "$made_policy" ]; then "${sudo[@]}" rm -f "$policy"; fi
	((status == 0)) || exit "$status"
fi

command -v go >/dev/null || { echo "run.sh: Go is not on PATH (gowsgi needs Go ≥ 1.22: https://go.dev/dl/)" >&2; exit 1; }

build="$here/.build"
mkdir -p "$build"
# A --gowsgi of the caller's replaces this tree's build (benchrun takes the
# last --gowsgi it is given).
own_gowsgi=1
for a in "$@"; do
	case $a in --gowsgi | --gowsgi=* | -gowsgi | -gowsgi=*) own_gowsgi= ;; esac
done
echo "run.sh: building ${own_gowsgi:+gowsgi, }goserver and benchrun into $build"
(
	cd "$root"
	# Debian's Python, not a pyenv or venv one, for gowsgi and for the peers.
	export PKG_CONFIG_PATH=
	if [ -n "$own_gowsgi" ]; then
		# As scripts/serve.sh builds it: the static libpython when it is there.
		source scripts/buildtags.sh
		go build "${gowsgi_tags[@]}" -o "$build/gowsgi" ./cmd/gowsgi
		# The library contender: WithProcesses in a Go program.
		go build "${gowsgi_tags[@]}" -o "$build/gowsgi-lib" ./examples/workers
	fi
	go build -o "$build/goserver" ./bench/goserver
	go build -o "$build/benchrun" ./bench/cmd/benchrun
)
exec "$build/benchrun" --bench-dir "$here" --gowsgi "$build/gowsgi" --goserver "$build/goserver" "$@"
