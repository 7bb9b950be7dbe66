#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then vet,
# gofmt, the race-enabled tests, and the reference-leak tests against
# Debian's debug interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# install-deps.sh installed Chromium: the browser test must run, not skip.
export GOWSGI_REQUIRE_BROWSER=1

echo "== go vet"
go vet ./...
echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n "$bad" ]]; then echo "gofmt would change: $bad" >&2; exit 1; fi
echo "== go test -race ./..."
go test -race -count=1 -timeout 30m ./...
echo "== examples/django-admin (its own module: the browser test's chromedp stays out of the library's)"
(cd examples/django-admin && go vet ./... && go test -race -count=1 -timeout 15m ./...)
echo "== examples/deploy (its own module: the systemd, container and Kubernetes recipes)"
(cd examples/deploy && go vet ./... && go test -count=1 -timeout 10m ./...)
echo "== the end-to-end suite again, the app in a worker process (wsgi.WithProcesses)"
GOWSGI_TEST_PROCESSES=1 go test -race -count=1 -timeout 15m .
echo "== the static libpython build (-tags pystatic, as scripts/serve.sh builds the CLI)"
source scripts/buildtags.sh
if ((${#gowsgi_tags[@]})); then
	go test "${gowsgi_tags[@]}" -count=1 -timeout 10m ./interp/ ./cmd/gowsgi/
else
	echo "no static libpython3.11 here: skipped"
fi
echo "== reference leaks (python3.11-dbg)"
go test -tags pydebug -count=1 -timeout 10m -run 'Refcount|StartResponseRules' ./interp/
