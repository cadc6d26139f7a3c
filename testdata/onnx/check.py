"""Validate ONNX files written by `go test ./onnx/` with the ONNX checker.

usage: /usr/bin/python3 check.py MODEL.onnx...

Runs onnx.checker.check_model with full_check (which adds strict shape
inference, so every value_info shape the exporter wrote must agree with
ONNX's own inference) and prints one line per model. Exits 1 on the first
failure with the checker's message.
"""
import sys

import onnx


def main(paths):
    for path in paths:
        model = onnx.load(path)
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # the checker raises several exception types
            print(f"{path}: {e}", file=sys.stderr)
            return 1
        opset = {o.domain: o.version for o in model.opset_import}[""]
        print(f"{path}: ok (ir {model.ir_version}, opset {opset}, {len(model.graph.node)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
