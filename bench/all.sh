#!/usr/bin/env bash
# Every comparison of bench/README.md in one go, each against its baseline
# measured in the same run, printed as one table at the end.
#
#   bench/all.sh                 # about 6 minutes
#   SKIP="queue cold" bench/all.sh
#   BASE=/work/main bench/all.sh # also the traffic manager built from another tree
#
# Parts (SKIP names any of them): gateway (Go closed loop, forwarding and
# payload mode), wrk (gateway under wrk, both modes), half (open loop at
# half the region's peak), cold (cold start), traffic (traffic manager vs
# HAProxy vs a minimal net/http proxy, wrk; FAULTS=1 adds the kill and hang
# runs), queue (HTTP -> queue -> handler vs raw JetStream).
# Needs wrk and haproxy (installed from Debian when missing, as root).
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP=${SKIP:-}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
skip() { [[ " $SKIP " == *" $1 "* ]]; }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${BASE:-}" ]; then
  (cd "$BASE" && go build -o "$OUT/tandem-base" ./cmd/tandem)
fi

# part NAME COMMAND...: runs one comparison; a failing part is reported
# in the summary and the others still run.
part() {
  local name=$1; shift
  skip "$name" && return 0
  "$@" 2>&1 | tee -a "$OUT/log" || echo "RESULT failed $name" >>"$OUT/log"
}
gw() { go test -run XXX -bench "$1" -benchtime 1x -timeout 30m ./bench/gateway/; }
part gateway gw 'ForwardedGET|PayloadGET'
part wrk gw 'Wrk'
part half gw 'HalfLoad'
part cold gw 'ColdStart'
part traffic env FAULTS="${FAULTS:-0}" BASE_TANDEM="${BASE:+$OUT/tandem-base}" bench/traffic/run.sh
part queue go test -run XXX -bench . -benchtime 1x -timeout 30m ./bench/queueflow/

echo
echo "== summary ($(date -u '+%Y-%m-%d %H:%M UTC'); load after: $(cut -d' ' -f1-3 /proc/loadavg))"
awk '
/^RESULT gateway (forward|payload)-(go|wrk) / {
  gc = ($12 == "cpu") ? ", gateway CPU " $13 " µs/req" : ""
  printf "| gateway %-12s | direct %6s req/s, p99 %s | region %6s req/s, p99 %s%s | %sx direct |\n", $3, $5, $6, $8, $9, gc, $11
}
/^RESULT gateway half-load / {
  printf "| gateway half load  | offered %s req/s, started: direct %s, region %s | added p50 %s, p99 %s | |\n", $5, $7, $9, $11, $13
}
/^RESULT gateway cold-start / {
  printf "| gateway cold start | handler start-to-listen %s | first request %s | added %s |\n", $5, $7, $9
}
/^RESULT failed / { printf "| %s | FAILED (see its output above) | | |\n", $3 }
/^RESULT traffic / { rps[$3] = rps[$3] " " $4; p99[$3] = p99[$3] " " $5; cpu[$3] = cpu[$3] " " $6; n[$3]++; if ($3 == "haproxy") { hsum += $4; hn++ } }
/^RESULT queue flow / {
  printf "| queue end to end   | raw JetStream %s msg/s, p50 %s | region %s msg/s, p50 %s, p99 %s, CPU µs/msg %s region + %s handlers (raw %s) | %sx raw |\n", $5, $6, $8, $9, $13, $21, $22, $24, $11
  printf "| queue half load    | offered %s msg/s (half the region peak) | p50 %s, p99 %s | |\n", $15, $17, $19
}
END {
  if (hn > 0) {
    h = hsum / hn
    for (k in rps) {
      split(rps[k], a, " "); s = 0; for (i in a) s += a[i]; m = s / n[k]
      printf "| traffic %-10s | req/s%s (mean %.0f) | p99%s; CPU µs/req%s | %.2fx HAProxy |\n", k, rps[k], m, p99[k], cpu[k], m / h
    }
  }
}' "$OUT/log"
