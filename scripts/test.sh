#!/usr/bin/env bash
# The one command that runs all of Hangar's tests on a fresh Debian/Ubuntu
# machine: installs what the tests need, checks formatting, vets, runs
# staticcheck (every check, staticcheck.conf; pinned, fetched through the Go
# module proxy) and the whole suite with the race detector (the store suite on
# SQLite and on a real PostgreSQL that the tests start themselves), then a
# short run of every fuzz target (scripts/fuzz-smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
if ! go mod tidy -diff >/dev/null; then
  echo "go mod tidy would change go.mod/go.sum: run it and commit the result" >&2
  exit 1
fi
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
go test -race -timeout 20m "$@" ./...
# Every fuzz target briefly, each with its committed seed corpus.
scripts/fuzz-smoke.sh
