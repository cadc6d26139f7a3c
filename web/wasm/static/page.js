"use strict";
const $ = (id) => document.getElementById(id);

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function showModel(d) {
  $("model").textContent = d.builtin
    ? `Built-in ${d.model}: ${d.classes} classes, ${d.size}x${d.size} input.`
    : `${d.model} from the picked file: ${d.classes} classes, ${d.size}x${d.size} input.`;
}

// Let the browser paint the status line before a long synchronous call.
const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

async function readFile(input) {
  return new Uint8Array(await input.files[0].arrayBuffer());
}

async function classify() {
  if (!$("image").files.length) return;
  const file = $("image").files[0];
  $("preview").src = URL.createObjectURL(file);
  status(`Classifying ${file.name}…`);
  await painted();
  const r = dla.classify(await readFile($("image")), 5);
  if (r.error) { status(r.error, true); $("result").hidden = true; return; }
  const body = $("result").querySelector("tbody");
  body.innerHTML = r.predictions.map((p, i) =>
    `<tr><td>${i + 1}</td><td></td><td class="score">${p.score.toFixed(5)}</td><td><div class="bar"></div></td></tr>`).join("");
  // Labels as text and widths through the CSSOM: the page runs under a
  // Content-Security-Policy without inline styles.
  r.predictions.forEach((p, i) => {
    body.rows[i].cells[1].textContent = p.label;
    body.rows[i].querySelector(".bar").style.width = `${(100 * p.score).toFixed(1)}%`;
  });
  $("result").hidden = false;
  $("result").dataset.json = JSON.stringify(r.predictions);
  status(`${file.name}: ${r.total_ms.toFixed(1)} ms (decode and preprocess ${r.decode_ms.toFixed(1)} ms, network ${r.forward_ms.toFixed(1)} ms)`);
}

async function loadWeights() {
  if (!$("weights").files.length) return;
  const file = $("weights").files[0];
  status(`Loading ${file.name}…`);
  await painted();
  const d = dla.loadWeights(await readFile($("weights")), file.name);
  $("weights").value = "";
  if (d.error) { status(d.error, true); return; }
  showModel(d);
  status(`Loaded ${file.name}.`);
  $("model").dataset.loaded = file.name;
  await classify();
}

// dlaStarted is called by the module once dla.* exist (err: a message or null).
function dlaStarted(err) {
  if (err) { status(err, true); return; }
  showModel(dla.describe());
  for (const id of ["image", "builtin"]) $(id).disabled = false;
  $("image").addEventListener("change", classify);
  $("weights").addEventListener("change", loadWeights);
  $("builtin").addEventListener("click", () => { showModel(dla.useBuiltin()); classify(); });
  document.body.dataset.ready = "true";
}

async function start() {
  if (typeof Go === "undefined") {
    throw new Error("wasm_exec.js is missing: this binary was built without the module (go run ./tools/release builds it in)");
  }
  const go = new Go();
  const resp = await fetch("dla.wasm");
  if (!resp.ok) throw new Error(`dla.wasm: ${resp.status} ${resp.statusText} (go run ./tools/release builds it in)`);
  // Servers that do not send application/wasm need the slower path.
  const { instance } = resp.headers.get("Content-Type") === "application/wasm"
    ? await WebAssembly.instantiateStreaming(resp, go.importObject)
    : await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
  go.run(instance);
}
start().catch((e) => { $("model").textContent = "unavailable"; status(e.message, true); });
