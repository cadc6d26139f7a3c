#!/usr/bin/env bash
# predict.sh: `dla predict DIR` throughput against the model alone (`dla bench
# -b 8`) and against a Python pipeline of OpenCV decoding and PaddleClas
# preprocessing plus ONNX Runtime's forward pass at batch 8, for DLA46_c and
# DLA34 on random weights, on the camera-like photos of bench/decode.sh: all
# of them (0.3-12 Mpx) and the ones up to 1.5 Mpx. Each pair is measured
# right after bench/waitfast.sh finds a fast phase of the host (waiting at
# most $WAIT seconds, default 600).
#
# The Python pipeline is timed in parts, which flatters it: its decoding and
# preprocessing per image (one thread, CPU time, bench/predict_peers.py) plus
# an eighth of ORT's fastest batch-8 forward in the run (two threads,
# ../shared/peers/bench_ort.js), as if nothing came between them. Our side
# is 2 / (predict's CPU s per image): both cores busy, as on an idle host.
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
OUT=/tmp/dla-predict-bench
rm -rf "$OUT"
mkdir -p "$OUT"
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
# The host is shared and often busy: wall-clock rates then measure the
# neighbours. Besides them, the script measures CPU seconds per image, which
# contention barely moves: predict's over the folder less its fixed start-up
# (a run on 8 photos), and the forward pass's from two `dla bench` runs of
# different lengths. On an idle 2-core host, throughput is 2 / (CPU s per
# image) for both, so their CPU ratio is the idle predict/bench ratio.
cpu() { # out-file command...: wall and user+sys seconds of the command
  local f="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$f" "$@" > "$f.out"
  awk '{print $1, $2 + $3}' "$f" > "$f.t"
}
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }
printf "| model | photos | predict img/s (wall) | bench -b 8 img/s (wall) | predict CPU ms/img | --draft CPU ms/img | forward CPU ms/img | predict / bench (CPU) | --draft / bench (CPU) | Python preprocess CPU ms/img | ORT b8 min ms | Python+ORT img/s | predict / Python+ORT |\n"
printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
mkdir -p "$OUT/eight"
ls "$SMALL"/*.jpg | head -8 | xargs -I{} ln -s {} "$OUT/eight/"
for m in $MODELS; do
  go run ./bench/synthweights -m "$m" -o "$OUT/$m.safetensors"
  [ -f "$ONNX_DIR/$m.onnx" ] || /usr/bin/python3 "$PEERS/export_onnx.py" --out-dir "$ONNX_DIR" "$m" >/dev/null 2>&1
  for set in "$SMALL" "$DIR"; do
    n=$(ls "$set"/*.jpg | wc -l)
    name="0.3-12 Mpx"
    [ "$set" = "$SMALL" ] && name="0.3-1.5 Mpx"
    bench/waitfast.sh "${WAIT:-600}" >&2 || true
    W="$OUT/$m.safetensors"
    exec 9> /tmp/dla-cpu.lock
    flock 9
    cpu "$OUT/p8" "$OUT/dla" predict -w "$W" --batch 8 --json "$OUT/eight"
    cpu "$OUT/pn" "$OUT/dla" predict -w "$W" --batch 8 --json "$set"
    cpu "$OUT/dn" "$OUT/dla" predict -w "$W" --batch 8 --json --draft "$set"
    cpu "$OUT/b1" "$OUT/dla" bench -m "$m" -b 8 --json --min-time 1s --max-runs 100000
    cpu "$OUT/b4" "$OUT/dla" bench -m "$m" -b 8 --json --min-time 4s --max-runs 100000
    node "$PEERS/bench_ort.js" --onnx-dir "$ONNX_DIR" --models "$m" --batches 8 --threads 2 --warmup 2 \
      --min-reps 5 --max-reps 20 --min-time 3 > "$OUT/ort.json"
    /usr/bin/python3 bench/predict_peers.py "$set" > "$OUT/py.txt"
    flock -u 9
    read -r _ c8 < "$OUT/p8.t"
    read -r wn cn < "$OUT/pn.t"
    read -r _ cd < "$OUT/dn.t"
    read -r _ cb1 < "$OUT/b1.t"
    read -r _ cb4 < "$OUT/b4.t"
    r1=$(grep -o '"runs":[0-9]*' "$OUT/b1.out" | cut -d: -f2)
    r4=$(grep -o '"runs":[0-9]*' "$OUT/b4.out" | cut -d: -f2)
    bench=$(grep -o '"images_per_s":[0-9.]*' "$OUT/b4.out" | cut -d: -f2)
    fwd=$(calc "1000 * ($cb4 - $cb1) / (8 * ($r4 - $r1))")
    pcpu=$(calc "1000 * ($cn - $c8) / ($n - 8)")
    dcpu=$(calc "1000 * ($cd - $c8) / ($n - 8)")
    # ORT's fastest batch-8 run stands for its idle time.
    ortms=$(grep -o '"min_ms":[0-9.]*' "$OUT/ort.json" | head -1 | cut -d: -f2)
    pyms=$(sed 's/.*cpu_ms=\([0-9.]*\).*/\1/' "$OUT/py.txt")
    py=$(calc "1000 / ($pyms + $ortms / 8)" 1)
    printf "| %s | %s (%d) | %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$m" "$name" "$n" \
      "$(calc "$n / $wn" 1)" "$bench" "$pcpu" "$dcpu" "$fwd" "$(calc "$fwd / $pcpu")" "$(calc "$fwd / $dcpu")" \
      "$pyms" "$ortms" "$py" "$(calc "2000 / $pcpu / $py")"
  done
done
