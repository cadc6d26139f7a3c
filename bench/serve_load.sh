#!/usr/bin/env bash
# serve_load.sh: `dla serve` under load against `dla predict` on the same
# photos, for DLA46_c and DLA34 on synthetic weights (bench/serveload):
# N requests (default 2000) from C clients (default 32), half to
# /v1/classify and half to the V2 infer endpoint, every answer checked
# against `dla predict --json`. Prints one Markdown row per model:
#
#   model | requests | clients | ok | 503 | req/s | p50 ms | p99 ms | peak RSS MB | predict img/s | ratio
#
# The photos are JPEGs from Debian packages (plasma-workspace-wallpapers,
# python-matplotlib-data): 15 of 400x250, one of 512x600, larger ones up to
# 1080x1920. Each model's run holds /tmp/dla-cpu.lock so no other
# measurement overlaps it.
#
# usage: bench/serve_load.sh [N] [C] [MODEL...]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
c="${2:-32}"
shift $(( $# > 2 ? 2 : $# ))
models=("${@:-dla46_c dla34}")
read -r -a models <<< "${models[*]}"

photos=()
for f in /usr/share/wallpapers/*/contents/screenshot.jpg \
  /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg \
  /usr/share/wallpapers/Shell/contents/images/720x1440.jpg \
  /usr/share/wallpapers/Flow/contents/images/720x1440.jpg \
  /usr/share/wallpapers/Honeywave/contents/images/1080x1920.jpg; do
  [ -f "$f" ] && photos+=("$f")
done
if [ "${#photos[@]}" -lt 10 ]; then
  echo "serve_load.sh: too few photos; apt-get install plasma-workspace-wallpapers python-matplotlib-data" >&2
  exit 1
fi
list=$(IFS=,; echo "${photos[*]}")

out="${OUT:-/tmp/dla-serve-load}"
mkdir -p "$out"
go build -o "$out/dla" ./cmd/dla
go build -o "$out/serveload" ./bench/serveload
echo "${#photos[@]} photos; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')), $(nproc) cores"
echo "| model | requests | clients | ok | 503 | req/s | p50 ms | p99 ms | peak RSS MB | predict img/s | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  flock /tmp/dla-cpu.lock "$out/serveload" -dla "$out/dla" -m "$m" -n "$n" -c "$c" -images "$list"
done
