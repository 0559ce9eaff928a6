#!/usr/bin/env bash
# Tracking benchmark with the real binary: `hangar server` on SQLite and on
# PostgreSQL, driven by wrk over loopback HTTP as an MLflow client would
# drive it — runs/log-metric one point a request on one connection (issue
# 8's ≥ 4,000 requests/s), and the authenticated GET workspace on 1 and 16
# connections (issue 8's baseline).
#
# PostgreSQL runs twice, from the installed server binaries in a private
# temporary cluster on a Unix socket: as the test suite runs it (fsync=off,
# synchronous_commit=off: not durable) and with PostgreSQL's defaults
# (fsync=on, synchronous_commit=on: every commit flushed to disk before it
# is acknowledged).
#
# Usage: scripts/bench-tracking.sh        (DURATION=10s to change the length)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
command -v wrk >/dev/null 2>&1 || { echo "bench-tracking: wrk is missing (scripts/bench-serving.sh installs it)" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "bench-tracking: PostgreSQL server binaries are missing (scripts/install-deps.sh installs them)" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/hangar" ./cmd/hangar

# PostgreSQL refuses to run as root: run it as nobody then.
as_pg=()
[ "$(id -u)" -ne 0 ] || as_pg=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
pg_url=
start_pg() { # NAME SETTINGS... → sets pg_url (not in a subshell: cleanup must see the pid)
  local dir=$work/$1
  shift
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown nobody "$dir"
  LC_ALL=C "${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
  LC_ALL=C "${as_pg[@]}" "$pgbin/postgres" -D "$dir/data" -k "$dir" -p 5432 -c listen_addresses= -c max_connections=50 "$@" >"$dir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -S "$dir/.s.PGSQL.5432" ] && break; sleep 0.1; done
  [ -S "$dir/.s.PGSQL.5432" ] || { echo "bench-tracking: PostgreSQL did not start:" >&2; cat "$dir/log" >&2; exit 1; }
  pg_url="postgres://postgres@/postgres?host=$dir&port=5432&sslmode=disable"
}

port=18290
measure() { # NAME DB
  local name=$1 db=$2 dir=$work/server-$1 url out
  port=$((port + 1))
  url=http://127.0.0.1:$port
  "$work/hangar" server --addr 127.0.0.1:$port --db "$db" --data-dir "$dir" >"$dir.out" 2>"$dir.log" &
  local pid=$!
  pids+=($pid)
  for _ in $(seq 1 300); do [ -s "$dir/owner.token" ] && curl -fs -o /dev/null "$url/readyz" && break; sleep 0.1; done
  local token run
  token=$(cat "$dir/owner.token")
  run=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"experiment_id":"0"}' "$url/api/2.0/mlflow/runs/create" |
    sed -n 's/.*"run_id":"\([0-9a-f]*\)".*/\1/p')
  cat >"$work/$name-metric.lua" <<LUA
local step = 0
request = function()
  step = step + 1
  local body = string.format('{"run_id":"$run","key":"loss","value":%d.25,"timestamp":1700000000000,"step":%d}', step, step)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token"}, body)
end
LUA
  row() { # LABEL WRK-ARGS...
    local label=$1
    shift
    out=$(wrk --latency "$@")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
      echo "bench-tracking: $label: answers other than 200:" >&2
      echo "$out" >&2
      exit 1
    fi
    printf '  %-12s %-34s %10s req/s   p50 %-9s p99 %s\n' "$name" "$label" \
      "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
  }
  wrk -t1 -c1 -d2s -s "$work/$name-metric.lua" "$url/api/2.0/mlflow/runs/log-metric" >/dev/null # warm up
  row "runs/log-metric, 1 connection" -t1 -c1 -d"$DURATION" -s "$work/$name-metric.lua" "$url/api/2.0/mlflow/runs/log-metric"
  local sent
  sent=$(awk '/requests in/ {print $1}' <<<"$out")
  row "GET workspace, 1 connection" -t1 -c1 -d"$DURATION" -H "Authorization: Bearer $token" "$url/api/v1/workspaces/default"
  row "GET workspace, 16 connections" -t2 -c16 -d"$DURATION" -H "Authorization: Bearer $token" "$url/api/v1/workspaces/default"
  # Every acknowledged point is stored (the warm-up's too, so at least
  # the measured requests' points).
  local got
  got=$(curl -fsS -H "Authorization: Bearer $token" "$url/api/2.0/mlflow/metrics/get-history?run_id=$run&metric_key=loss&max_results=100000" | grep -o '"key":"loss"' | wc -l)
  [ "$got" -ge "$sent" ] || { echo "bench-tracking: $name: $got points stored, $sent acknowledged" >&2; exit 1; }
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

start_pg pg-test -c fsync=off -c synchronous_commit=off -c full_page_writes=off
pg_test=$pg_url
start_pg pg-durable
pg_durable=$pg_url
echo "wrk, $DURATION each, one client process over loopback HTTP ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
measure sqlite "$work/hangar.db"
measure pg-nofsync "$pg_test"
measure pg-durable "$pg_durable"
echo "load now $(cut -d' ' -f1-3 /proc/loadavg)"
