#!/usr/bin/env bash
# decode.sh: our JPEG decoder against libjpeg-turbo (OpenCV's imdecode and
# libjpeg-turbo's own tjDecompress2) and Go's image/jpeg on a folder of
# camera-like photos (0.3-12 Mpx, made by testdata/vision/photos/gen.py),
# one thread each, in CPU seconds (the machine is shared: wall time is not
# comparable), the decoders alternating round by round. Before timing it
# checks that our pixels equal OpenCV's on every photo.
#
# usage: bench/decode.sh [-d DIR] [-r ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=/tmp/dla-photos
ROUNDS=5
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DIR="$2"; shift 2 ;;
    -r) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
. bench/photos.sh
BIN=/tmp/dla-decode-bench
rm -rf "$BIN"
mkdir -p "$BIN"
go build -o "$BIN/decodetime" ./bench/decodetime
"$BIN/decodetime" -dir "$DIR" -md5 > "$BIN/ours.md5"
/usr/bin/python3 bench/decode_peers.py md5 "$DIR" > "$BIN/cv.md5"
if ! cmp -s "$BIN/ours.md5" "$BIN/cv.md5"; then
  echo "decoded pixels differ from OpenCV's:" >&2
  diff "$BIN/ours.md5" "$BIN/cv.md5" >&2 || true
  exit 1
fi
echo "pixels identical to OpenCV's on $(wc -l < "$BIN/ours.md5") photos" >&2
for r in $(seq "$ROUNDS"); do
  echo "== round $r" >&2
  flock /tmp/dla-cpu.lock sh -c "
    '$BIN/decodetime' -dir '$DIR' -reps 1 -decoder dla
    /usr/bin/python3 bench/decode_peers.py opencv '$DIR'
    '$BIN/decodetime' -dir '$DIR' -reps 1 -decoder dla-noexif
    /usr/bin/python3 bench/decode_peers.py turbo '$DIR'
    '$BIN/decodetime' -dir '$DIR' -reps 1 -decoder stdlib
    '$BIN/decodetime' -dir '$DIR' -reps 1 -decoder draft
  " | tee -a "$BIN/runs.txt" >&2
done
/usr/bin/python3 - "$BIN/runs.txt" <<'PY'
import collections, statistics, sys
cpu = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kv = dict(f.split("=") for f in line.split())
    cpu[kv["decoder"]].append(float(kv["cpu"]))
med = {k: statistics.median(v) for k, v in cpu.items()}
print("| decoder | CPU s, median | min | max |")
print("|---|---:|---:|---:|")
for k in ("dla", "opencv", "dla-noexif", "turbo", "stdlib", "draft"):
    if k in cpu:
        print("| %s | %.3f | %.3f | %.3f |" % (k, med[k], min(cpu[k]), max(cpu[k])))
print()
print("dla / OpenCV imdecode (EXIF applied by both): %.2f" % (med["dla"] / med["opencv"]))
print("dla / tjDecompress2 (no EXIF): %.2f" % (med["dla-noexif"] / med["turbo"]))
print("dla / image/jpeg: %.2f" % (med["dla-noexif"] / med["stdlib"]))
PY
