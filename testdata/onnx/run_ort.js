#!/usr/bin/env node
// Run an ONNX model once with ONNX Runtime (onnxruntime-node, CPU) for
// `go test ./onnx/`.
//
// usage: node run_ort.js MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32
//
// INPUT.f32 and OUTPUT.f32 are raw little-endian float32 arrays. The model's
// first input is fed, its first output written; stdout gets the output name
// and dims as JSON. onnxruntime-node is found through NODE_PATH or in
// $ORT_NODE_DIR/node_modules (default /tmp/ortnode).
'use strict';
const fs = require('fs');
const path = require('path');

function loadORT() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    const dir = process.env.ORT_NODE_DIR || '/tmp/ortnode';
    return require(path.join(dir, 'node_modules', 'onnxruntime-node'));
  }
}

async function main(argv) {
  if (argv.length !== 4) {
    throw new Error('usage: node run_ort.js MODEL.onnx INPUT.f32 N,C,H,W OUTPUT.f32');
  }
  const [model, input, shapeArg, output] = argv;
  const ort = loadORT();
  const dims = shapeArg.split(',').map(Number);
  const buf = fs.readFileSync(input);
  const want = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== 4 * want) {
    throw new Error(`${input}: ${buf.length} bytes, shape ${dims} needs ${4 * want}`);
  }
  // Copy into an aligned Float32Array (file buffers may start at any offset).
  const data = new Float32Array(want);
  for (let i = 0; i < want; i++) data[i] = buf.readFloatLE(4 * i);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const results = await session.run(feeds);
  const name = session.outputNames[0];
  const out = results[name];
  fs.writeFileSync(output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  console.log(JSON.stringify({ output: name, dims: out.dims }));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e.message || String(e));
  process.exit(1);
});
