#!/usr/bin/env bash
# Starts gowsgi on the hello example app: http://127.0.0.1:8000/
# Extra arguments go to gowsgi (e.g. --threads 8).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/buildtags.sh
exec go run "${gowsgi_tags[@]}" ./cmd/gowsgi --chdir examples/hello --bind 127.0.0.1:8000 "$@" app:app
