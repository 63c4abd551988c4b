#!/usr/bin/env bash
# Tandem traffic manager vs HAProxy, same run, same two backends.
#
#   bench/traffic/run.sh            # everything (about 3 minutes)
#   WRK_DURATION=20s RATE=1000 bench/traffic/run.sh
#   FAULTS=0 ROUNDS=3 bench/traffic/run.sh          # throughput only, 3 rounds
#   BASE_TANDEM=/tmp/tandem-main bench/traffic/run.sh  # also an older build, same run
#
# 1. throughput: wrk against each proxy (and straight at a backend as the
#    ceiling) -> req/s and p99;
# 2. kill -9 of the primary backend under a steady GET load;
# 3. SIGSTOP (hang) of the primary backend under the same load.
# Throughput rows: straight at backend a (the ceiling), HAProxy, `tandem
# traffic`, and minproxy (a minimal tuned net/http ReverseProxy: what
# net/http itself reaches), interleaved ROUNDS times; with BASE_TANDEM
# also that binary as "tandem-base". Each row also prints a RESULT line
# that bench/all.sh collects.
# HAProxy: primary + `backup` server, the same check interval/fall/rise/
# timeout as Tandem's probes, retries 3, option redispatch,
# retry-on all-retryable-errors, timeout server = Tandem's responseTimeout.
# Not run in CI. Needs root for apt-get when haproxy or wrk are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

WRK_DURATION=${WRK_DURATION:-10s}
WRK_CONNS=${WRK_CONNS:-64}
RATE=${RATE:-500}
LOAD_DURATION=${LOAD_DURATION:-8s}
INTERVAL_MS=${INTERVAL_MS:-200}   # probe interval (HAProxy inter)
TIMEOUT_MS=${TIMEOUT_MS:-200}     # probe timeout (HAProxy timeout check)
TOLERATED=${TOLERATED:-2}         # Tandem toleratedFailures; HAProxy fall = TOLERATED+1
RISE=${RISE:-2}
RESPONSE_TIMEOUT=${RESPONSE_TIMEOUT:-1s}
ROUNDS=${ROUNDS:-2}
FAULTS=${FAULTS:-1}
BASE_TANDEM=${BASE_TANDEM:-}

A=127.0.0.1:17101 B=127.0.0.1:17201
TANDEM_HTTP=127.0.0.1:17080 TANDEM_ADMIN=127.0.0.1:17070 HAPROXY_HTTP=127.0.0.1:17090 MINPROXY_HTTP=127.0.0.1:17095

if ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update && apt-get install -y haproxy wrk
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/" ./bench/traffic/backend ./bench/traffic/loadgen ./bench/traffic/minproxy ./cmd/tandem

ms() { echo "$1" | sed 's/ms$//'; }
wait_http() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "no answer from $1" >&2; return 1; }

port_free() { ! curl -s -o /dev/null --max-time 0.5 "http://$1/" 2>/dev/null; }
start_backends() {
  for addr in $A $B; do port_free "$addr" || { echo "something already listens on $addr" >&2; exit 1; }; done
  "$WORK/backend" -listen $A -name a & PID_A=$!; PIDS+=($PID_A)
  "$WORK/backend" -listen $B -name b & PID_B=$!; PIDS+=($PID_B)
  wait_http "http://$A/healthz"; wait_http "http://$B/healthz"
  kill -0 $PID_A && kill -0 $PID_B
}
stop_backends() {
  kill -CONT $PID_A $PID_B 2>/dev/null || true
  kill -9 $PID_A $PID_B 2>/dev/null || true
  wait $PID_A $PID_B 2>/dev/null || true
}

write_tandem_config() {
  echo "bench-region-key" >"$WORK/region.key"
  echo "bench-traffic-key" >"$WORK/traffic.key"
  cat >"$WORK/topology.yaml" <<EOF
regions:
  - {name: a, proxyURL: "http://$A", priority: 1, adminKeyFile: "$WORK/region.key"}
  - {name: b, proxyURL: "http://$B", priority: 2, adminKeyFile: "$WORK/region.key"}
traffic:
  listen: {http: "$TANDEM_HTTP", admin: "$TANDEM_ADMIN"}
  adminKeyFile: "$WORK/traffic.key"
  profile: {name: app.bench.local}
  routing: priority
  probes: {interval: ${INTERVAL_MS}ms, timeout: ${TIMEOUT_MS}ms, toleratedFailures: $TOLERATED, rise: $RISE}
  passive: {consecutiveFailures: 3}
  lease: 2s
  leaseMargin: 500ms
  retry: {attempts: 3, connectTimeout: 1s, responseTimeout: $RESPONSE_TIMEOUT}
EOF
}

write_haproxy_config() {
  local fall=$((TOLERATED + 1))
  cat >"$WORK/haproxy.cfg" <<EOF
global
  maxconn 4096
  nbthread 2
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server $RESPONSE_TIMEOUT
  timeout check ${TIMEOUT_MS}ms
  retries 3
  option redispatch
  retry-on all-retryable-errors
  option http-keep-alive
frontend fe
  bind $HAPROXY_HTTP
  default_backend be
backend be
  option httpchk GET /healthz
  http-check expect status 200
  server a $A check inter ${INTERVAL_MS}ms fall $fall rise $RISE
  server b $B check inter ${INTERVAL_MS}ms fall $fall rise $RISE backup
EOF
}

start_proxy() { # tandem | tandem-base | haproxy | minproxy
  for addr in $TANDEM_HTTP $HAPROXY_HTTP $MINPROXY_HTTP; do port_free "$addr" || { echo "something already listens on $addr" >&2; exit 1; }; done
  if [ "$1" = tandem ] || [ "$1" = tandem-base ]; then
    local bin="$WORK/tandem"
    [ "$1" = tandem-base ] && bin=$BASE_TANDEM
    rm -rf "$WORK/data"
    "$bin" traffic --config "$WORK/topology.yaml" --data "$WORK/data" --log-level warn 2>"$WORK/tandem.log" & PROXY_PID=$!
    PROXY_URL="http://$TANDEM_HTTP/"
  elif [ "$1" = minproxy ]; then
    "$WORK/minproxy" -listen $MINPROXY_HTTP -upstream "http://$A" & PROXY_PID=$!
    PROXY_URL="http://$MINPROXY_HTTP/"
  else
    haproxy -q -f "$WORK/haproxy.cfg" -db 2>"$WORK/haproxy.log" & PROXY_PID=$!
    PROXY_URL="http://$HAPROXY_HTTP/"
  fi
  PIDS+=($PROXY_PID)
  wait_http "$PROXY_URL"
}
stop_proxy() { kill $PROXY_PID 2>/dev/null || true; wait $PROXY_PID 2>/dev/null || true; sleep 0.2; }

# cpu_ticks PID -> user+system clock ticks the process has used
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk_run URL PID -> "req/s p99 cpu-µs-per-request" (PID: the process
# whose CPU time per request is counted; on a shared machine this moves
# far less than req/s does)
wrk_run() {
  local before; before=$(cpu_ticks "$2")
  local out; out=$(wrk -t2 -c"$WRK_CONNS" -d"$WRK_DURATION" --latency "$1")
  local after; after=$(cpu_ticks "$2")
  local rps p99 reqs
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $p99 $(awk -v t=$((after - before)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
}

write_tandem_config
write_haproxy_config
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uname -sr); haproxy $(haproxy -v | head -1 | awk '{print $3}'); $(go version | awk '{print $3}')"
echo "probes: interval ${INTERVAL_MS}ms timeout ${TIMEOUT_MS}ms fall $((TOLERATED+1)) rise $RISE; response timeout $RESPONSE_TIMEOUT"

echo "== throughput (wrk -t2 -c$WRK_CONNS -d$WRK_DURATION)"
start_backends
read -r direct_rps direct_p99 direct_cpu < <(wrk_run "http://$A/" $PID_A)
echo "direct to backend  req/s $direct_rps  p99 $direct_p99  backend CPU $direct_cpu µs/req"
echo "RESULT traffic direct $direct_rps $direct_p99 $direct_cpu"
ORDER="haproxy tandem minproxy"
[ -n "$BASE_TANDEM" ] && ORDER="$ORDER tandem-base"
for _ in $(seq 1 "$ROUNDS"); do   # interleaved to even out noise
  for p in $ORDER; do
    start_proxy $p
    read -r rps p99 cpu < <(wrk_run "$PROXY_URL" $PROXY_PID)
    echo "$p  req/s $rps  p99 $p99  proxy CPU $cpu µs/req"
    echo "RESULT traffic $p $rps $p99 $cpu"
    stop_proxy
  done
done
stop_backends
[ "$FAULTS" = 1 ] || exit 0

for fault in "kill -9" "kill -STOP"; do
  echo "== $fault of the primary under $RATE GET/s for $LOAD_DURATION (fault at 3s)"
  for p in haproxy tandem; do
    start_backends
    start_proxy $p
    sleep 1 # let the first probes settle (both proxies)
    printf '%-8s ' "$p"
    "$WORK/loadgen" -url "$PROXY_URL" -rate "$RATE" -duration "$LOAD_DURATION" -fault-after 3s -fault "$fault $PID_A" -secondary b
    stop_proxy
    stop_backends
  done
done
