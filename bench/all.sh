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

gw() { # bench regexp
  go test -run XXX -bench "$1" -benchtime 1x -timeout 30m ./bench/gateway/ | tee -a "$OUT/log"
}
skip gateway || gw 'ForwardedGET|PayloadGET'
skip wrk || gw 'Wrk'
skip half || gw 'HalfLoad'
skip cold || gw 'ColdStart'
if ! skip traffic; then
  FAULTS=${FAULTS:-0} BASE_TANDEM=${BASE:+$OUT/tandem-base} bench/traffic/run.sh | tee -a "$OUT/log"
fi
skip queue || go test -run XXX -bench . -benchtime 1x -timeout 30m ./bench/queueflow/ | tee -a "$OUT/log"

echo
echo "== summary ($(date -u '+%Y-%m-%d %H:%M UTC'); load after: $(cut -d' ' -f1-3 /proc/loadavg))"
awk '
/^RESULT gateway (forward|payload)-(go|wrk) / {
  cpu = ($12 == "cpu") ? ", gateway CPU " $13 " µs/req" : ""
  printf "| gateway %-12s | direct %6s req/s, p99 %s | region %6s req/s, p99 %s%s | %sx direct |\n", $3, $5, $6, $8, $9, cpu, $11
}
/^RESULT gateway half-load / {
  printf "| gateway half load  | offered %s req/s, started: direct %s, region %s | added p50 %s, p99 %s | |\n", $4, $6, $8, $10, $12
}
/^RESULT gateway cold-start / {
  printf "| gateway cold start | handler start-to-listen %s | first request %s | added %s |\n", $5, $7, $9
}
/^RESULT traffic / { rps[$3] = rps[$3] " " $4; p99[$3] = p99[$3] " " $5; cpu[$3] = cpu[$3] " " $6; n[$3]++; if ($3 == "haproxy") { hsum += $4; hn++ } }
/^RESULT queue flow / {
  printf "| queue end to end   | raw JetStream %s msg/s, p50 %s | region %s msg/s, p50 %s, p99 %s | %sx raw |\n", $5, $6, $8, $9, $13, $11
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
