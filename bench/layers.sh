#!/usr/bin/env bash
# layers.sh: our engine against ONNX Runtime layer by layer. Runs
# `dla bench --profile` and bench/ort_profile.js on one model and batch, then
# pairs the convolutions in graph order (ORT fuses Conv+BN+ReLU(+Add) into one
# node, as we do, so the counts match) and prints both times and their ratio,
# with totals by kind and size. THREADS=1 compares one core each: the host's
# slow phases (docs/performance.md) take away the second core, not the first,
# so kernel work is judged best there.
#
# usage: [THREADS=N] bench/layers.sh MODEL [BATCH]     (set-up as for compare_ort.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
m="${1:?usage: bench/layers.sh MODEL [BATCH]}"
b="${2:-1}"
export THREADS="${THREADS:-2}"
OUT="${OUT:-/tmp/dla-layers}"
ONNX_DIR="${ONNX_DIR:-/tmp/dla-onnx}"
export NODE_PATH="${ORT_NODE_DIR:-/tmp/ortnode}/node_modules"
mkdir -p "$OUT"
[ -f "$ONNX_DIR/$m.onnx" ] || /usr/bin/python3 ../shared/peers/export_onnx.py --out-dir "$ONNX_DIR" "$m" >/dev/null
go build -o "$OUT/dla" ./cmd/dla
node bench/ort_profile.js "$ONNX_DIR/$m.onnx" "$b" 30 > "$OUT/ort.txt"
"$OUT/dla" bench -m "$m" -b "$b" --threads "$THREADS" --profile --min-time 3s > "$OUT/dla.txt"
head -1 "$OUT/ort.txt"
sed -n 2,3p "$OUT/dla.txt"
awk -F'\t' '$2 == "Conv" || $2 == "FusedConv" {print $3}' "$OUT/ort.txt" > "$OUT/ort.conv"
awk '/^  [a-z_0-9.]+ +(conv|stem)/ {print $1, $2, $3 $4, $(NF-2)}' "$OUT/dla.txt" > "$OUT/dla.conv"
# Our fused stem (nn.fuseStem) is one step: pair it with ORT's first three
# convolutions, summed.
if awk 'NR == 1 {exit !($2 ~ /^stem/)}' "$OUT/dla.conv"; then
  awk 'NR <= 3 {s += $1; if (NR == 3) print s; next} {print}' "$OUT/ort.conv" > "$OUT/ort.tmp" && mv "$OUT/ort.tmp" "$OUT/ort.conv"
fi
if [ "$(wc -l < "$OUT/ort.conv")" != "$(wc -l < "$OUT/dla.conv")" ]; then
  echo "layers.sh: ORT has $(wc -l < "$OUT/ort.conv") convolutions, we have $(wc -l < "$OUT/dla.conv")" >&2
  exit 1
fi
paste -d' ' "$OUT/dla.conv" "$OUT/ort.conv" | awk '
  { printf "%-36s %-16s %-20s %8.3f %8.3f %5.2f\n", $1, $2, $3, $4, $5, $4 / $5
    split($3, s, "@"); k = $2 " @" s[2]; a[k] += $4; o[k] += $5; n[k]++; ta += $4; to += $5 }
  END {
    print "\nby kind and size             n     dla ms   ORT ms  ratio"
    for (k in a) printf "%-26s %4d %9.2f %8.2f %6.2f\n", k, n[k], a[k], o[k], a[k] / o[k]
    printf "%-26s %4s %9.2f %8.2f %6.2f\n", "all convolutions", "", ta, to, ta / to
  }'
