#!/usr/bin/env bash
# Serving benchmark: Hangar's native scoring listener (hangar serve-model, a
# 100-tree model, one JSON row per request, key auth and capture on) beside
# the two peers in scripts/bench — Flask + scikit-learn + gunicorn, and a Go
# echo server that does no model work — measured one after the other in the
# same run with wrk -t2 -c16 -d10s --latency -s post.lua.
#
# It installs what it needs when missing (Debian: wrk, python3-sklearn,
# python3-flask, gunicorn, python3-xgboost), builds hangar and the echo peer,
# trains both models on the same data, starts the three servers on loopback
# ports, runs wrk against each and prints the three results and the ratios.
#
# The same model is also deployed to an online endpoint of `hangar server`
# (CLI-created, capture on) and measured as a fourth row.
#
# Usage: scripts/bench-serving.sh            (DURATION=10s CONNS=16 THREADS=2 to change the load)
#
# SERVER_CPUS=1 LOAD_CPUS=0 isolates the load generator from the servers
# under test (taskset): every server runs on the SERVER_CPUS cores and wrk
# on the LOAD_CPUS ones, so the latency wrk reports is not its own threads
# waiting behind the server's for a core. Unset (the default) everything
# shares every core, as the issue's command does.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
PY=/usr/bin/python3 # Debian's python, where the Debian packages are
SERVER_CPUS=${SERVER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-}
on_servers=() on_load=()
[ -z "$SERVER_CPUS" ] || on_servers=(taskset -c "$SERVER_CPUS")
[ -z "$LOAD_CPUS" ] || on_load=(taskset -c "$LOAD_CPUS")

# --- tools, idempotently -----------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
$PY -c 'import sklearn' >/dev/null 2>&1 || missing+=(python3-sklearn)
$PY -c 'import flask' >/dev/null 2>&1 || missing+=(python3-flask)
$PY -c 'import xgboost' >/dev/null 2>&1 || missing+=(python3-xgboost)
[ -x /usr/bin/gunicorn ] || command -v gunicorn >/dev/null 2>&1 || missing+=(gunicorn)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "bench-serving: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
gunicorn=/usr/bin/gunicorn
[ -x "$gunicorn" ] || gunicorn=$(command -v gunicorn)

# --- build and train -----------------------------------------------------------
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/hangar" ./cmd/hangar
go build -o "$work/echo" scripts/bench/echo_server.go
$PY scripts/bench/sklearn_score_server.py train "$work/model.pkl"
$PY scripts/bench/train_xgboost.py "$work/xgb"

# --- servers ---------------------------------------------------------------------
py_port=18081 echo_port=18082 hangar_port=18083
key=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"${on_servers[@]}" "$gunicorn" -w 2 --timeout 0 -b 127.0.0.1:$py_port --chdir "$root/scripts/bench" --log-level warning \
  "sklearn_score_server:app(model=\"$work/model.pkl\")" &
pids+=($!)
py_pid=$!
"${on_servers[@]}" "$work/echo" 127.0.0.1:$echo_port &
pids+=($!)
echo_pid=$!
HANGAR_SERVE_KEY=$key "${on_servers[@]}" "$work/hangar" serve-model --model "$work/xgb" --addr 127.0.0.1:$hangar_port \
  --endpoint bench --max-concurrent-requests-per-instance 32 --capture-dir "$work/capture" >"$work/hangar.out" 2>"$work/hangar.log" &
pids+=($!)
hangar_pid=$!
# The same model as a deployment of an online endpoint of `hangar server`
# (created with the CLI, served by the server's own listener, capture into
# a data asset on): what a user of the endpoint commands gets.
server_port=18084
"${on_servers[@]}" "$work/hangar" server --addr 127.0.0.1:$server_port --data-dir "$work/server" >"$work/server.out" 2>"$work/server.log" &
pids+=($!)
server_pid=$!

body='{"data": [[0.12, -1.3, 0.55, 2.1, -0.7, 0.01, 1.9, -2.2, 0.33, 0.8, -0.45, 1.1, 0.0, -0.9, 0.6, 1.4, -1.7, 0.25, 0.9, -0.1]]}'
wait_up() { # URL [AUTH]
  for _ in $(seq 1 200); do
    if curl -fs -o /dev/null -H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} -d "$body" "$1"; then return 0; fi
    sleep 0.1
  done
  echo "bench-serving: $1 did not come up" >&2
  cat "$work/hangar.log" >&2
  exit 1
}
wait_up "http://127.0.0.1:$py_port/score"
wait_up "http://127.0.0.1:$echo_port/score"
wait_up "http://127.0.0.1:$hangar_port/endpoints/bench/score" "$key"
for _ in $(seq 1 200); do [ -s "$work/server/owner.token" ] && curl -fs -o /dev/null "http://127.0.0.1:$server_port/readyz" && break; sleep 0.1; done
export HANGAR_URL=http://127.0.0.1:$server_port HANGAR_TOKEN=$(cat "$work/server/owner.token") HANGAR_WORKSPACE=default
cat >"$work/endpoint.yml" <<YML
name: bench
auth_mode: key
YML
cat >"$work/deployment.yml" <<YML
name: blue
endpoint_name: bench
model:
  path: $work/xgb
instance_count: 1
request_settings:
  max_concurrent_requests_per_instance: 32
data_collector:
  collections:
    model_inputs:
      enabled: 'True'
    model_outputs:
      enabled: 'True'
YML
"$work/hangar" online-endpoint create -f "$work/endpoint.yml" -o none
"$work/hangar" online-deployment create -f "$work/deployment.yml" --all-traffic -o none 2>/dev/null
server_key=$("$work/hangar" online-endpoint get-credentials -n bench -o tsv --query primaryKey)
server_url=http://127.0.0.1:$server_port/api/v1/workspaces/default/endpoints/bench/score
wait_up "$server_url" "$server_key"
echo "hangar answers: $(curl -fsS -H 'Content-Type: application/json' -H "Authorization: Bearer $key" -d "$body" http://127.0.0.1:$hangar_port/endpoints/bench/score)"
echo "python answers: $(curl -fsS -H 'Content-Type: application/json' -d "$body" http://127.0.0.1:$py_port/score)"

# Hangar's load carries the key: post.lua plus the Authorization header.
cat >"$work/post-hangar.lua" <<LUA
dofile("$root/scripts/bench/post.lua")
wrk.headers["Authorization"] = "Bearer $key"
LUA
cat >"$work/post-server.lua" <<LUA
dofile("$root/scripts/bench/post.lua")
wrk.headers["Authorization"] = "Bearer $server_key"
LUA

# --- measure ---------------------------------------------------------------------
# ROUNDS rounds, the three servers one after the other in each, so a change
# in the machine's load hits all three alike; the medians are compared.
ROUNDS=${ROUNDS:-3}
declare -A all
# cpu_ticks PID: the CPU time (clock ticks) of PID and its children
# (gunicorn's workers) so far.
cpu_ticks() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
# The server's CPU per request is printed beside the throughput: on a
# machine whose load changes from minute to minute it is the steadier
# figure (wrk and the server share the cores, so req/s swings with
# whoever else runs).
# family PID: PID and its children (gunicorn's workers).
family() { echo "$1" $(pgrep -P "$1" || true); }
run() { # NAME URL SCRIPT PID
  local out rps p50 p99 errs n t0 t1 cpu p others=()
  # The other servers are paused (SIGSTOP) while one is measured, so that
  # their timers (gunicorn's heartbeats, capture flushes) do not run on
  # the measured server's cores and show in its tail latency.
  for p in "$py_pid" "$echo_pid" "$hangar_pid" "$server_pid"; do
    [ "$p" = "$4" ] || others+=($(family "$p"))
  done
  kill -STOP "${others[@]}" 2>/dev/null || true
  t0=$(cpu_ticks "$4")
  out=$("${on_load[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$3" "$2")
  t1=$(cpu_ticks "$4")
  kill -CONT "${others[@]}" 2>/dev/null || true
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / hz * 1e6 / n }')
  printf '  %-30s %10s req/s   p50 %-9s p99 %-9s server CPU %6s us/req   %s\n' "$1" "$rps" "$p50" "$p99" "$cpu" "$errs"
  all[$1]="${all[$1]:-} $rps"
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, one 20-feature JSON row per request, $ROUNDS rounds ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))${SERVER_CPUS:+, servers on cores $SERVER_CPUS}${LOAD_CPUS:+, wrk on cores $LOAD_CPUS}"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r (load $(cut -d' ' -f1-3 /proc/loadavg))"
  run python_flask_sklearn_gunicorn "http://127.0.0.1:$py_port/score" "$root/scripts/bench/post.lua" "$py_pid"
  run go_echo "http://127.0.0.1:$echo_port/score" "$root/scripts/bench/post.lua" "$echo_pid"
  run hangar_native_key_capture "http://127.0.0.1:$hangar_port/endpoints/bench/score" "$work/post-hangar.lua" "$hangar_pid"
  run hangar_server_endpoint "$server_url" "$work/post-server.lua" "$server_pid"
done
py=$(median "${all[python_flask_sklearn_gunicorn]}")
echo_rps=$(median "${all[go_echo]}")
hangar=$(median "${all[hangar_native_key_capture]}")
server=$(median "${all[hangar_server_endpoint]}")
echo
echo "medians: python $py, echo $echo_rps, hangar serve-model $hangar, hangar server endpoint $server req/s (load now $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v h="$hangar" -v s="$server" -v p="$py" -v e="$echo_rps" \
  'BEGIN { printf "serve-model / python: %.1fx, / echo: %.2f;   server endpoint / python: %.1fx (target >= 10x), / echo: %.2f (target >= 0.5)\n", h / p, h / e, s / p, s / e }'
curl -fsS http://127.0.0.1:$hangar_port/metrics | grep -E '^hangar_serving_(requests_total|capture_dropped_total|capture_records_total)' || true
curl -fsS -H "Authorization: Bearer $HANGAR_TOKEN" http://127.0.0.1:$server_port/metrics | grep -E '^hangar_serving_(requests_total|capture_dropped_total|capture_records_total)' || true
