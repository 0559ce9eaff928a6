#!/usr/bin/env bash
# Installs what Hangar's tests need on Debian/Ubuntu when it is missing:
#   - PostgreSQL server binaries (initdb, pg_ctl): the store suite runs on a real PostgreSQL
#   - python3-xgboost: prediction and training parity tests against real XGBoost
#   - python3-numpy, python3-pandas, python3-sklearn: the scoring-script runtime
#     (pyworker) runs real scoring scripts and MLflow pyfunc models in Debian's
#     python3; Hangar never pip-installs anything
#   - versitygw (pinned, with `go install`): the S3 server the artifact store
#     tests (s3store, internal/s3test) run against; a real S3 gateway over a folder
# Idempotent: it installs nothing when everything is present.
set -euo pipefail

# The S3 server for the s3store tests, pinned; skipped when that version is
# already installed in GOBIN or $(go env GOPATH)/bin, where internal/s3test
# looks for it.
versitygw_version=v1.8.0
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
if go version -m "$gobin/versitygw" 2>/dev/null | grep -q "^[[:space:]]*mod[[:space:]]*github.com/versity/versitygw[[:space:]]*${versitygw_version//./\\.}\([[:space:]]\|$\)"; then
  echo "install-deps: versitygw $versitygw_version present"
else
  echo "install-deps: installing versitygw $versitygw_version into $gobin"
  go install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
fi

missing=()
have_pg() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
have_pg || missing+=(postgresql)
# Each Debian package with the Python module that proves it is installed.
for pair in xgboost:python3-xgboost numpy:python3-numpy pandas:python3-pandas sklearn:python3-sklearn; do
  if ! /usr/bin/python3 -c "import ${pair%%:*}" >/dev/null 2>&1; then
    missing+=("${pair#*:}")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${missing[*]} and no apt-get: install them by hand" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "install-deps: missing ${missing[*]}: run as root or install sudo" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start services: the tests start their own
# PostgreSQL, and machines without an init system fail the start. A
# policy-rc.d that answers 101 ("action forbidden") is Debian's way to say so;
# it is removed again unless it was there before.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
