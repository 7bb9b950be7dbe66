#!/usr/bin/env bash
# Installs the Debian packages gowsgi needs to build, test and benchmark.
# Runs apt-get only for what is missing, as root (or through sudo).
#   scripts/install-deps.sh            build + tests (Python, the test apps, Chromium)
#   scripts/install-deps.sh --bench    also the peers of the benchmark suite
set -euo pipefail

pkgs=(
	gcc pkg-config python3-dev           # cgo against Debian's CPython (python3-embed.pc)
	python3.11-dbg libpython3.11-dbg     # the debug interpreter: reference-leak tests
	python3-flask python3-django python3-pyramid python3-falcon python3-bottle
	chromium fonts-dejavu-core           # the Django admin browser test (and legible screenshots)
	nginx-light                          # the front web server of the behind-nginx tests
	gunicorn                             # its flags: the CLI must know every one
	systemd iproute2                     # systemd-socket-activate and ss, for the socket tests
	curl ca-certificates
)
if [[ "${1:-}" == "--bench" ]]; then
	pkgs+=(uwsgi uwsgi-plugin-python3 python3-waitress wrk)
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "installing: ${missing[*]}"
	sudo=""
	if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	# Installing nginx must not start it (on port 80): the tests start
	# their own. A policy-rc.d that says no keeps services down.
	policy=/usr/sbin/policy-rc.d made_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod +x "$policy"
		made_policy=1
	fi
	status=0
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
	if [[ -n $made_policy ]]; then $sudo rm -f "$policy"; fi
	((status == 0)) || exit "$status"
fi

if ! command -v go >/dev/null; then
	echo "gowsgi needs Go 1.22 or newer on PATH (https://go.dev/dl/); Debian 12's golang package is too old." >&2
	exit 1
fi
