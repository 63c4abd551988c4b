#!/usr/bin/env bash
# Failover drills on tandem up's defaults (two regions, three control
# nodes, two traffic managers): kill -9, SIGSTOP and a network partition of
# the primary under load, each followed by a restore and a failback; then
# the control-plane faults: kill -9 and SIGSTOP of the deciding traffic
# manager, the decider cut from the control quorum, kill -9 of the control
# node leading the bucket. Prints each drill's report.
#
#   bench/drill/run.sh [duration] [faults...]     (from the repository root)
#   REGIONS=3 CHAIN=2 bench/drill/run.sh 6s kill  (three regions; the primary,
#                                                  then its successor, faulted)
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-6s}
shift || true
faults=${*:-kill hang partition traffic-kill traffic-hang traffic-partition control-node}
bin=$(mktemp -d)/tandem
go build -o "$bin" ./cmd/tandem
for fault in $faults; do
  dir=$(mktemp -d)
  "$bin" up --regions "${REGIONS:-2}" --dir "$dir" > "$dir/up.log" 2>&1 &
  up=$!
  for _ in $(seq 1 120); do grep -q "Ctrl-C" "$dir/up.log" && break; sleep 0.5; done
  echo "=== $fault"
  "$bin" drill --fault "$fault" --chain "${CHAIN:-1}" --duration "$duration" --topology "$dir/topology.yaml" | sed -n '/Drill report/,$p'
  kill -INT "$up"; wait "$up" || true
done
