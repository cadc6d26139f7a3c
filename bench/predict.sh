#!/usr/bin/env bash
# predict.sh: `dla predict DIR` throughput against the model alone (`dla bench
# -b 8`) and against a Python pipeline of OpenCV decoding and PaddleClas
# preprocessing plus ONNX Runtime's forward pass at batch 8, for DLA46_c and
# DLA34 on random weights, on the camera-like photos of bench/decode.sh: all
# of them (0.3-12 Mpx) and the ones up to 1.5 Mpx. Each pair is measured
# right after bench/waitfast.sh finds a fast phase of the host.
#
# The Python pipeline is timed in parts, which flatters it: its decoding and
# preprocessing per image (one thread, bench/predict_peers.py) plus an eighth
# of ORT's batch-8 forward (two threads, ../shared/peers/bench_ort.js), as if
# the two overlapped nothing and cost nothing in between.
#
# Needs onnxruntime-node in /tmp/ortnode and the peer ONNX files (see
# ../shared/peers/README.md; .ci/run installs the former).
#
# usage: bench/predict.sh [-d DIR] [-m "dla46_c dla34"]
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$(cd ../shared/peers && pwd)"
DIR=/tmp/dla-photos
MODELS="dla46_c dla34"
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DIR="$2"; shift 2 ;;
    -m) MODELS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
. bench/photos.sh
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SMALL="$OUT/small"
mkdir -p "$SMALL"
for f in "$DIR"/*.jpg; do
  # File names end in _WxH_qQ.jpg (gen.py).
  wh=$(basename "$f" | sed 's/.*_\([0-9]*\)x\([0-9]*\)_q.*/\1 \2/')
  set -- $wh
  [ $(($1 * $2)) -le 1500000 ] && ln -s "$f" "$SMALL/"
done
go build -o "$OUT/dla" ./cmd/dla
export NODE_PATH="${ORT_NODE_DIR:-/tmp/ortnode}/node_modules"
ONNX_DIR="${ONNX_DIR:-/tmp/dla-onnx}"
rate() { # images seconds
  awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f", n / s}'
}
printf "| model | photos | predict img/s | predict --draft img/s | bench -b 8 img/s | predict / bench | Python+ORT img/s | predict / Python+ORT |\n"
printf "|---|---|---:|---:|---:|---:|---:|---:|\n"
for m in $MODELS; do
  go run ./bench/synthweights -m "$m" -o "$OUT/$m.safetensors"
  [ -f "$ONNX_DIR/$m.onnx" ] || /usr/bin/python3 "$PEERS/export_onnx.py" --out-dir "$ONNX_DIR" "$m" >/dev/null 2>&1
  for set in "$SMALL" "$DIR"; do
    n=$(ls "$set"/*.jpg | wc -l)
    name="0.3-12 Mpx"
    [ "$set" = "$SMALL" ] && name="0.3-1.5 Mpx"
    bench/waitfast.sh 600 >&2 || true
    flock /tmp/dla-cpu.lock bash -c "
      t0=\$(date +%s.%N); '$OUT/dla' predict -w '$OUT/$m.safetensors' --batch 8 --json '$set' > /dev/null; t1=\$(date +%s.%N)
      '$OUT/dla' predict -w '$OUT/$m.safetensors' --batch 8 --json --draft '$set' > /dev/null; t2=\$(date +%s.%N)
      '$OUT/dla' bench -m '$m' -b 8 --json --min-time 3s > '$OUT/bench.json'
      node '$PEERS/bench_ort.js' --onnx-dir '$ONNX_DIR' --models '$m' --batches 8 --threads 2 --warmup 2 --min-reps 5 --max-reps 20 --min-time 3 > '$OUT/ort.json'
      /usr/bin/python3 bench/predict_peers.py '$set' > '$OUT/py.txt'
      awk -v a=\$t0 -v b=\$t1 -v c=\$t2 'BEGIN {print b - a, c - b}' > '$OUT/predict.txt'
    "
    read -r tp td < "$OUT/predict.txt"
    bench=$(grep -o '"images_per_s":[0-9.]*' "$OUT/bench.json" | cut -d: -f2)
    ortms=$(grep -o '"median_ms":[0-9.]*' "$OUT/ort.json" | head -1 | cut -d: -f2)
    pyms=$(sed 's/.*wall_ms=\([0-9.]*\).*/\1/' "$OUT/py.txt")
    py=$(awk -v p="$pyms" -v o="$ortms" 'BEGIN {printf "%.1f", 1000 / (p + o / 8)}')
    pr=$(rate "$n" "$tp")
    printf "| %s | %s (%d) | %s | %s | %.1f | %.2f | %s | %.2f |\n" "$m" "$name" "$n" "$pr" "$(rate "$n" "$td")" \
      "$bench" "$(awk -v a="$pr" -v b="$bench" 'BEGIN {print a / b}')" "$py" "$(awk -v a="$pr" -v b="$py" 'BEGIN {print a / b}')"
  done
done
