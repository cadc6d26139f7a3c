// The page's only script: list the models, send a picked or dropped image
// to /v1/classify, draw the top five as bars with the time taken.
"use strict";

const $ = (id) => document.getElementById(id);

function headers() {
  const token = sessionStorage.getItem("dla-token");
  return token ? { Authorization: "Bearer " + token } : {};
}

// askToken shows the token field after a 401; the token stays in this tab.
function askToken(message) {
  $("token-row").hidden = false;
  $("status").textContent = message;
  $("token").focus();
}

async function loadModels() {
  const resp = await fetch("v1/models", { headers: headers() });
  if (resp.status === 401) {
    askToken("This server needs a token.");
    return;
  }
  const models = await resp.json();
  const select = $("model");
  select.replaceChildren();
  for (const m of models) {
    const opt = document.createElement("option");
    opt.value = m.name;
    opt.textContent = `${m.name} (${m.classes} classes, ${m.input_size}x${m.input_size})`;
    select.append(opt);
  }
}

function showResults(predictions) {
  const list = $("results");
  list.replaceChildren();
  for (const p of predictions) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = p.label;
    label.title = `class ${p.class}`;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(100 * p.score).toFixed(1)}%`;
    fill.style.display = "block";
    bar.append(fill);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `${(100 * p.score).toFixed(1)}%`;
    li.append(label, bar, score);
    list.append(li);
  }
}

async function classify(file) {
  $("status").textContent = "";
  $("results").replaceChildren();
  $("time").textContent = "";
  const preview = $("preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  const model = encodeURIComponent($("model").value || "");
  const started = performance.now();
  const resp = await fetch(`v1/classify?topk=5&model=${model}`, {
    method: "POST",
    headers: { ...headers(), "Content-Type": file.type || "application/octet-stream" },
    body: file,
  });
  const ms = performance.now() - started;
  const body = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  if (resp.status === 401) {
    askToken("The token is missing or wrong.");
    return;
  }
  if (!resp.ok) {
    $("status").textContent = body.error || `HTTP ${resp.status}`;
    return;
  }
  showResults(body.predictions);
  $("time").textContent = `${Math.round(ms)} ms`;
}

function init() {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => {
    if (e.target.files.length) classify(e.target.files[0]);
  });
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) classify(e.dataTransfer.files[0]);
  });
  $("token").addEventListener("change", (e) => {
    sessionStorage.setItem("dla-token", e.target.value);
    $("status").textContent = "";
    loadModels();
  });
  loadModels();
}

init();
