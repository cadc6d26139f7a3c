#!/usr/bin/env bash
# compare_ort.sh: our engine against ONNX Runtime 1.30 (../shared/peers), model
# by model and batch by batch, alternating the two so both see the same
# machine state, then a markdown table of medians and ratios.
#
# Set-up once (see ../shared/peers/README.md): Debian's python3-torch and
# python3-onnx for the peer ONNX files, and onnxruntime-node in /tmp/ortnode.
#
# usage: bench/compare_ort.sh [-m "dla34 dla46_c ..."] [-b "1 4 8"] [-o DIR] [-t SECONDS] [-p PASSES]
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$(cd ../shared/peers && pwd)"
MODELS="dla34 dla46_c dla46x_c dla60 dla60x dla60x_c dla102 dla102x dla102x2 dla169"
BATCHES="1 4 8"
OUT=/tmp/dla-compare
MINTIME=3
PASSES=2
while [ $# -gt 0 ]; do
  case "$1" in
    -m) MODELS="$2"; shift 2 ;;
    -b) BATCHES="$2"; shift 2 ;;
    -o) OUT="$2"; shift 2 ;;
    -t) MINTIME="$2"; shift 2 ;;
    -p) PASSES="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
export NODE_PATH="${ORT_NODE_DIR:-/tmp/ortnode}/node_modules"
ONNX_DIR="${ONNX_DIR:-/tmp/dla-onnx}"
go build -o "$OUT/dla" ./cmd/dla
: > "$OUT/ort.jsonl"
: > "$OUT/dla.jsonl"
for m in $MODELS; do
  [ -f "$ONNX_DIR/$m.onnx" ] || /usr/bin/python3 "$PEERS/export_onnx.py" --out-dir "$ONNX_DIR" "$m" >/dev/null 2>&1
  for b in $BATCHES; do
    for pass in $(seq "$PASSES"); do
      echo "== $m batch $b pass $pass" >&2
      node "$PEERS/bench_ort.js" --onnx-dir "$ONNX_DIR" --models "$m" --batches "$b" --threads 2 \
        --warmup 2 --min-reps 5 --max-reps 30 --min-time "$MINTIME" --quiet-wait 10 >> "$OUT/ort.jsonl"
      "$OUT/dla" bench -m "$m" -b "$b" --json --min-time "${MINTIME}s" >> "$OUT/dla.jsonl"
    done
  done
done
go run ./bench/table "$OUT/dla.jsonl" "$OUT/ort.jsonl"
