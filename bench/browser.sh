#!/usr/bin/env bash
# browser.sh: DLA46_c in headless Chromium, the Go engine compiled to
# WebAssembly against onnxruntime-web 1.30 (single-threaded wasm) on our
# exported ONNX files; prints the module size and a markdown table.
#
# Needs Debian's chromium; installs onnxruntime-web into $ORT_WEB_DIR.
# usage: bench/browser.sh [-runs 20] [-passes 2]
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_WEB_DIR="${ORT_WEB_DIR:-/tmp/ortweb}"
if [ ! -f "$ORT_WEB_DIR/node_modules/onnxruntime-web/dist/ort.wasm.min.js" ]; then
  mkdir -p "$ORT_WEB_DIR"
  (cd "$ORT_WEB_DIR" && npm init -y >/dev/null && npm install --ignore-scripts --no-audit --no-fund onnxruntime-web@1.30.0 >/dev/null)
fi
exec go run ./bench/browser -ort "$ORT_WEB_DIR/node_modules/onnxruntime-web/dist" "$@"
