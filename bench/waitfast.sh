#!/usr/bin/env bash
# waitfast.sh: wait until the host is in a fast phase (docs/performance.md,
# "The host's slow phases"): DLA46_c at batch 1 measured under 7 ms. Start a
# comparison right after it returns 0; it returns 1 after TIMEOUT seconds.
#
# usage: bench/waitfast.sh [TIMEOUT]     (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${OUT:-/tmp/dla-waitfast}/dla"
mkdir -p "$(dirname "$bin")"
go build -o "$bin" ./cmd/dla
end=$((SECONDS + ${1:-300}))
while [ "$SECONDS" -lt "$end" ]; do
  ms=$("$bin" bench -m dla46_c -b 1 --min-time 0.5s | awk 'END {print $3}')
  if awk -v m="$ms" 'BEGIN {exit !(m < 7)}'; then
    echo "fast phase: dla46_c batch 1 in $ms ms"
    exit 0
  fi
  sleep 5
done
echo "still in a slow phase after ${1:-300} s" >&2
exit 1
