#!/usr/bin/env bash
# train_vs_torch.sh: training throughput of `dla bench --train` against
# PyTorch's CPU training (../shared/peers/train_bench.py, Debian's
# python3-torch) at 224x224, batch 16, both cores, SGD momentum, with each
# side's peak RSS. The two take turns ROUNDS times per model, each turn
# holding /tmp/dla-cpu.lock so that other measurements on the host wait;
# compare the ratios within a round.
#
# usage: bench/train_vs_torch.sh [-m "dla46_c dla34"] [-r ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$(cd ../shared/peers && pwd)"
MODELS="dla46_c dla34"
ROUNDS=2
while [ $# -gt 0 ]; do
  case "$1" in
    -m) MODELS="$2"; shift 2 ;;
    -r) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bin="$(mktemp -d)/dla"
go build -o "$bin" ./cmd/dla
turn() { flock /tmp/dla-cpu.lock /usr/bin/time -f 'peak_rss_kb %M' "$@" 2>&1 | tr '\n' ' '; echo; }
for round in $(seq "$ROUNDS"); do
  for m in $MODELS; do
    echo "round $round $m dla:   $(turn "$bin" bench --train -m "$m" -b 16 --json)"
    echo "round $round $m torch: $(turn /usr/bin/python3 "$PEERS/train_bench.py" --models "$m" --quiet-wait 0)"
  done
done
