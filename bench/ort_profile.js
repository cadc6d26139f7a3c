#!/usr/bin/env node
// ort_profile.js: per-node kernel times of ONNX Runtime (onnxruntime-node, CPU,
// THREADS threads (default 2), the session options of ../shared/peers/bench_ort.js) for one
// model file, from ORT's own profiler: the median over the timed runs of each
// node, in graph order.
//
// usage: [THREADS=N] NODE_PATH=/tmp/ortnode/node_modules node bench/ort_profile.js MODEL.onnx [BATCH] [RUNS]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const [file, batch, runs] = [process.argv[2], Number(process.argv[3] || 1), Number(process.argv[4] || 30)];
  if (!file) throw new Error('usage: ort_profile.js MODEL.onnx [BATCH] [RUNS]');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-'));
  const s = await ort.InferenceSession.create(file, {
    intraOpNumThreads: Number(process.env.THREADS || 2), interOpNumThreads: 1, graphOptimizationLevel: 'all',
    executionMode: 'sequential', enableProfiling: true, profileFilePrefix: path.join(dir, 'p'),
  });
  const n = batch * 3 * 224 * 224;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(i); // any fixed input
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [batch, 3, 224, 224]) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await s.run(feeds);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  s.endProfiling();
  const trace = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f))[0];
  const events = JSON.parse(fs.readFileSync(trace, 'utf8'));
  fs.rmSync(dir, { recursive: true });
  // Node events are named <node>_kernel_time; warm-up runs are included in
  // the trace, so the median is taken over all of them.
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, { name, op: e.args.op_name, ms: [] });
    nodes.get(name).ms.push(e.dur / 1000);
  }
  let total = 0;
  const rows = [...nodes.values()].map((r) => {
    r.ms.sort((a, b) => a - b);
    r.median = r.ms[r.ms.length >> 1];
    total += r.median;
    return r;
  });
  console.log(`# ort ${path.basename(file)} batch ${batch}: ${wall.toFixed(2)} ms per run, node medians sum to ${total.toFixed(2)} ms`);
  for (const r of rows) console.log(`${r.name}\t${r.op}\t${r.median.toFixed(3)}`);
}

main().catch((e) => { console.error('ort_profile: ' + e.message); process.exit(1); });
