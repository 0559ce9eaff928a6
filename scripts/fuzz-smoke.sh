#!/usr/bin/env bash
# Runs every fuzz target of the module for a few seconds (FUZZTIME, default
# 3s) and requires each to have a committed seed corpus in
# <package>/testdata/fuzz/<FuzzName>/. Targets are found by grep, so a new
# Fuzz function is covered without editing this script.
#
# A missing corpus fails the run. What the fuzzer finds in its few seconds
# is reported loudly (and the failing input is left in the corpus folder to
# be committed as a regression case), but fails the run only with
# FUZZ_STRICT=1: a random search that finds something new on some runs and
# not others must not decide whether a change lands; the committed corpus,
# which `go test` runs every time, is what gates it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
status=0
findings=0
n=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    n=$((n + 1))
    corpus="$dir/testdata/fuzz/$target"
    if ! compgen -G "$corpus/*" >/dev/null; then
      echo "fuzz-smoke: $dir $target has no committed seed corpus in $corpus" >&2
      status=1
      continue
    fi
    echo "fuzz-smoke: $dir $target ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir" >/tmp/fuzz-smoke.$$ 2>&1; then
      cat /tmp/fuzz-smoke.$$ >&2
      echo "fuzz-smoke: ************************************************************" >&2
      echo "fuzz-smoke: FINDING in $dir $target: see above; a failing input, if one was" >&2
      echo "fuzz-smoke: found, is in $corpus: fix it and commit it as a regression case" >&2
      echo "fuzz-smoke: ************************************************************" >&2
      findings=$((findings + 1))
      if [ "${FUZZ_STRICT:-0}" = 1 ]; then status=1; fi
    fi
  done
done < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | sed 's|^\./||' | sort)
rm -f /tmp/fuzz-smoke.$$
echo "fuzz-smoke: $n targets, $findings with findings"
exit $status
