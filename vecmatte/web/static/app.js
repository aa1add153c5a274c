// vecmatte's painting page: the trimap lives here as one byte per pixel (0 background,
// 128 unknown, 255 foreground, or the values of an opened trimap file); strokes set whole
// pixels (no anti-aliasing, so the trimap sent is exactly what was painted); after each
// stroke the server computes the matte (POST /api/alpha), debounced.
"use strict";

const DEBOUNCE_MS = 250;
const UNDO_DEPTH = 30;

const $ = (id) => document.getElementById(id);
const paint = $("paint");
const result = $("result");
const statusLine = $("status");

const state = {
  photoFile: null,     // the file as opened: sent to the server unchanged
  photoPixels: null,   // Uint8ClampedArray RGBA, for composites
  photoCanvas: null,
  width: 0,
  height: 0,
  trimap: null,        // Uint8Array(width * height)
  undo: [],
  alpha: null,         // Uint8ClampedArray(width * height) of the last matte
  alphaBlob: null,
  background: null,    // Uint8ClampedArray RGBA of the uploaded background, fitted
  edits: 0,            // generation of the trimap; the matte shown is of body.dataset.matte
  timer: 0,
  request: null,
  stroke: null,
  strokeEnd: 0,        // performance.now() at the end of the last stroke
};

function setStatus(text, kind = "idle", warning = false) {
  statusLine.textContent = text;
  statusLine.dataset.state = kind;
  statusLine.classList.toggle("warning", warning);
}

function canvasOf(width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

async function decode(blob) {
  // The browser applies the EXIF orientation, as the server's loader does.
  const bitmap = await createImageBitmap(blob);
  const canvas = canvasOf(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { canvas, pixels: context.getImageData(0, 0, canvas.width, canvas.height).data };
}

// fetch, with a network failure (the server stopped, a dropped connection) said in the
// status line as `${what}: the server did not answer ...`; null then.
async function post(url, form, what, options = {}) {
  try {
    return await fetch(url, { method: "POST", body: form, ...options });
  } catch (error) {
    // "TypeError: Failed to fetch" alone did not say what to do.
    if (!options.signal?.aborted) {
      setStatus(`${what}the server did not answer (${error.message}): is vecmatte serve still ` +
                "running? Start it again, then repeat the last step", "error");
    }
    return null;
  }
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return body.error || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// --- opening files --------------------------------------------------------------------------
async function openPhoto(file) {
  let decoded;
  try {
    decoded = await decode(file);
  } catch {
    setStatus(`${file.name}: the browser cannot read this image`, "error");
    return;
  }
  // A matte still on its way belongs to the previous photograph.
  if (state.request) state.request.abort();
  state.request = null;
  clearTimeout(state.timer);
  state.photoFile = file;
  state.photoCanvas = decoded.canvas;
  state.photoPixels = decoded.pixels;
  state.width = decoded.canvas.width;
  state.height = decoded.canvas.height;
  for (const canvas of [paint, result]) {
    canvas.width = state.width;
    canvas.height = state.height;
  }
  state.trimap = new Uint8Array(state.width * state.height).fill(128);
  state.undo = [];
  $("undo").disabled = true;
  state.alpha = null;
  state.alphaBlob = null;
  state.background = null;
  document.body.classList.add("has-photo");
  setStatus(`${file.name}: ${state.width} × ${state.height}. Open a trimap or a mask, or paint ` +
            "foreground and background.");
  edited(false);
}

function takeTrimap(pixels, width, height, what) {
  if (!state.photoFile) {
    setStatus(`open a photograph before the ${what}`, "error");
    return false;
  }
  if (width !== state.width || height !== state.height) {
    // The check of the photograph's (empty) trimap, still waiting, said over this error
    // "paint some foreground" (a trimap opened within DEBOUNCE_MS of its photograph).
    clearTimeout(state.timer);
    setStatus(`the ${what} is ${width} × ${height} but the photograph is ` +
              `${state.width} × ${state.height}; they must be the same size`, "error");
    return false;
  }
  pushUndo();
  for (let i = 0, j = 0; i < state.trimap.length; i += 1, j += 4) {
    // gray: the channels are equal; a colour file is averaged as the server does
    state.trimap[i] = Math.round((pixels[j] + pixels[j + 1] + pixels[j + 2]) / 3);
  }
  return true;
}

async function openTrimap(file) {
  let decoded;
  try {
    decoded = await decode(file);
  } catch {
    setStatus(`${file.name}: the browser cannot read this image`, "error");
    return;
  }
  if (takeTrimap(decoded.pixels, decoded.canvas.width, decoded.canvas.height, "trimap")) {
    edited(true, 0);
  }
}

async function openMask(file) {
  if (!state.photoFile) {
    setStatus("open a photograph before the mask", "error");
    return;
  }
  const form = new FormData();
  form.append("mask", file, file.name);
  form.append("band", $("band").value);
  setStatus("making a trimap from the mask…", "busy");
  const response = await post("/api/trimap", form, "mask: ");
  if (!response) return;
  if (!response.ok) {
    setStatus(`mask: ${await errorOf(response)}`, "error");
    return;
  }
  const decoded = await decode(await response.blob());
  if (takeTrimap(decoded.pixels, decoded.canvas.width, decoded.canvas.height, "mask")) {
    edited(true, 0);
  }
}

async function openBackground(file) {
  let decoded;
  try {
    decoded = await decode(file);
  } catch {
    setStatus(`${file.name}: the browser cannot read this image`, "error");
    return;
  }
  if (!state.photoFile) return;
  // Scale to cover the photograph, centred, as vecmatte.composite(fit="cover") does.
  const canvas = canvasOf(state.width, state.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const scale = Math.max(state.width / decoded.canvas.width, state.height / decoded.canvas.height);
  const w = decoded.canvas.width * scale;
  const h = decoded.canvas.height * scale;
  context.drawImage(decoded.canvas, (state.width - w) / 2, (state.height - h) / 2, w, h);
  state.background = context.getImageData(0, 0, state.width, state.height).data;
  $("view").value = "image";
  drawResult();
}

// --- painting ---------------------------------------------------------------------------------
function pushUndo() {
  state.undo.push(state.trimap.slice());
  if (state.undo.length > UNDO_DEPTH) state.undo.shift();
  $("undo").disabled = false;
}

function undo() {
  if (!state.undo.length) return;
  state.trimap = state.undo.pop();
  $("undo").disabled = state.undo.length === 0;
  edited(true, 0);
}

function toolValue() {
  return Number(document.querySelector("input[name=tool]:checked").value);
}

function stamp(cx, cy, radius, value) {
  const { width, height, trimap } = state;
  const r2 = radius * radius;
  const y0 = Math.max(0, Math.ceil(cy - radius));
  const y1 = Math.min(height - 1, Math.floor(cy + radius));
  for (let y = y0; y <= y1; y += 1) {
    const half = Math.sqrt(Math.max(0, r2 - (y - cy) * (y - cy)));
    const x0 = Math.max(0, Math.ceil(cx - half));
    const x1 = Math.min(width - 1, Math.floor(cx + half));
    if (x1 >= x0) trimap.fill(value, y * width + x0, y * width + x1 + 1);
  }
}

function segment(from, to, radius, value) {
  const length = Math.hypot(to.x - from.x, to.y - from.y);
  const steps = Math.max(1, Math.ceil(length / Math.max(0.5, radius / 2)));
  for (let k = 1; k <= steps; k += 1) {
    const t = k / steps;
    stamp(from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, radius, value);
  }
}

function imagePoint(event) {
  // The canvas's content box: its border is no part of the image (with it, strokes landed
  // a pixel off at natural size, a screen pixel's worth of image pixels when scaled down).
  const box = paint.getBoundingClientRect();
  const [borderX, borderY] = [paint.clientLeft, paint.clientTop];
  return {
    x: ((event.clientX - box.left - borderX) * state.width) / (box.width - 2 * borderX) - 0.5,
    y: ((event.clientY - box.top - borderY) * state.height) / (box.height - 2 * borderY) - 0.5,
  };
}

function brushRadius() {
  return Number($("brush").value) / 2;
}

paint.addEventListener("pointerdown", (event) => {
  if (!state.photoFile || event.button !== 0) return;
  paint.setPointerCapture(event.pointerId);
  pushUndo();
  const point = imagePoint(event);
  state.stroke = { last: point, value: toolValue(), radius: brushRadius() };
  stamp(point.x, point.y, state.stroke.radius, state.stroke.value);
  clearTimeout(state.timer);  // no solve in the middle of a stroke
  scheduleDraw();
});

paint.addEventListener("pointermove", (event) => {
  if (!state.stroke) return;
  const point = imagePoint(event);
  segment(state.stroke.last, point, state.stroke.radius, state.stroke.value);
  state.stroke.last = point;
  scheduleDraw();
});

function endStroke() {
  if (!state.stroke) return;
  state.stroke = null;
  state.strokeEnd = performance.now();
  edited(true);
}
paint.addEventListener("pointerup", endStroke);
paint.addEventListener("pointercancel", endStroke);

// --- drawing ----------------------------------------------------------------------------------
let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawPaint();
  });
}

function drawPaint() {
  const { width, height, trimap, photoPixels } = state;
  if (!photoPixels) return;
  const context = paint.getContext("2d");
  const out = context.createImageData(width, height);
  const data = out.data;
  for (let i = 0, j = 0; i < trimap.length; i += 1, j += 4) {
    const t = trimap[i];
    let r = photoPixels[j];
    let g = photoPixels[j + 1];
    let b = photoPixels[j + 2];
    if (t > 229) {            // foreground (> 0.9): tinted green
      r = r * 0.7; g = g * 0.7 + 70; b = b * 0.7;
    } else if (t < 26) {      // background (< 0.1): darkened, tinted red
      r = r * 0.45 + 70; g = g * 0.45; b = b * 0.45 + 20;
    }
    data[j] = r; data[j + 1] = g; data[j + 2] = b; data[j + 3] = 255;
  }
  context.putImageData(out, 0, 0);
}

function backgroundPixels(view) {
  // RGBA of what the cutout is shown on: the uploaded image, a colour, or a checkerboard.
  if (view === "image" && state.background) return state.background;
  const { width, height } = state;
  const pixels = new Uint8ClampedArray(4 * width * height);
  const hex = $("bg-colour").value;
  const colour = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  for (let y = 0, j = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1, j += 4) {
      const shade = ((x >> 4) + (y >> 4)) % 2 ? 204 : 255;
      pixels[j] = view === "colour" ? colour[0] : shade;
      pixels[j + 1] = view === "colour" ? colour[1] : shade;
      pixels[j + 2] = view === "colour" ? colour[2] : shade;
    }
  }
  return pixels;
}

function drawResult() {
  const { alpha, photoPixels } = state;
  const context = result.getContext("2d");
  if (!alpha) {
    context.clearRect(0, 0, result.width, result.height);
    return;
  }
  const view = $("view").value;
  const out = context.createImageData(state.width, state.height);
  const data = out.data;
  if (view === "alpha") {
    for (let i = 0, j = 0; i < alpha.length; i += 1, j += 4) {
      data[j] = data[j + 1] = data[j + 2] = alpha[i];
      data[j + 3] = 255;
    }
  } else {
    const back = backgroundPixels(view);
    for (let i = 0, j = 0; i < alpha.length; i += 1, j += 4) {
      const a = alpha[i] / 255;
      data[j] = a * photoPixels[j] + (1 - a) * back[j];
      data[j + 1] = a * photoPixels[j + 1] + (1 - a) * back[j + 1];
      data[j + 2] = a * photoPixels[j + 2] + (1 - a) * back[j + 2];
      data[j + 3] = 255;
    }
  }
  context.putImageData(out, 0, 0);
}

// --- solving ----------------------------------------------------------------------------------
function trimapBlob() {
  const canvas = canvasOf(state.width, state.height);
  const context = canvas.getContext("2d");
  const image = context.createImageData(state.width, state.height);
  for (let i = 0, j = 0; i < state.trimap.length; i += 1, j += 4) {
    image.data[j] = image.data[j + 1] = image.data[j + 2] = state.trimap[i];
    image.data[j + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

function edited(changed, delay = DEBOUNCE_MS) {
  if (changed) state.edits += 1;
  document.body.dataset.edits = String(state.edits);
  $("download-trimap").disabled = !state.photoFile;
  drawPaint();
  clearTimeout(state.timer);
  state.timer = setTimeout(solve, delay);
}

async function solve() {
  if (!state.photoFile) return;
  let hasFg = false;
  let hasBg = false;
  let hasUnknown = false;
  for (const t of state.trimap) {
    if (t > 229) hasFg = true;
    else if (t < 26) hasBg = true;
    else hasUnknown = true;
    if (hasFg && hasBg && hasUnknown) break;
  }
  if (!hasFg || !hasBg) {
    setStatus(`paint some ${hasFg ? "background" : "foreground"} (or open a trimap or a mask)`);
    return;
  }
  if (state.request) state.request.abort();
  const request = new AbortController();
  state.request = request;
  const generation = state.edits;
  const started = performance.now();  // includes encoding the trimap as PNG
  const form = new FormData();
  form.append("image", state.photoFile, state.photoFile.name || "photo.png");
  form.append("trimap", await trimapBlob(), "trimap.png");
  form.append("method", $("method").value);
  setStatus("computing the matte…", "busy");
  const response = await post("/api/alpha", form, "", { signal: request.signal });
  if (!response || request.signal.aborted) return;
  if (!response.ok) {
    setStatus(await errorOf(response), "error");
    state.request = null;
    return;
  }
  const blob = await response.blob();
  const decoded = await decode(blob);
  if (request.signal.aborted) return;
  state.request = null;
  state.alphaBlob = blob;
  state.alpha = new Uint8ClampedArray(state.width * state.height);
  for (let i = 0; i < state.alpha.length; i += 1) state.alpha[i] = decoded.pixels[4 * i];
  drawResult();
  for (const id of ["download-alpha", "download-foreground", "download-cutout"]) {
    $(id).disabled = false;
  }
  const total = (performance.now() - started) / 1000;
  const server = response.headers.get("X-Vecmatte-Seconds");
  // What the library warns of this matte (not converged, nothing unknown): said, not hidden.
  const warning = response.headers.get("X-Vecmatte-Warning");
  setStatus(`matte by ${response.headers.get("X-Vecmatte-Method")} in ${total.toFixed(2)} s ` +
            `(solve ${server} s)` + (warning ? `; warning: ${warning}` : ""),
            "idle", Boolean(warning));
  // Measurements for bench/web_latency.py: stroke end -> matte shown (debounce included),
  // request sent -> matte shown, and the server's own time.
  const now = performance.now();
  if (state.strokeEnd) document.body.dataset.strokeToMatteMs = (now - state.strokeEnd).toFixed(1);
  document.body.dataset.requestMs = (now - started).toFixed(1);
  document.body.dataset.serverSeconds = server;
  document.body.dataset.solveSeconds = response.headers.get("X-Vecmatte-Solve-Seconds");
  document.body.dataset.matte = String(generation);
}

// --- downloads --------------------------------------------------------------------------------
function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}

async function downloadComposite(endpoint, name) {
  if (!state.alphaBlob) return;
  const form = new FormData();
  form.append("image", state.photoFile, state.photoFile.name || "photo.png");
  form.append("alpha", state.alphaBlob, "alpha.png");
  form.append("foreground_method", $("foreground-method").value);
  setStatus(`estimating the foreground colours for ${name}…`, "busy");
  const response = await post(endpoint, form, `${name}: `);
  if (!response) return;
  if (!response.ok) {
    setStatus(`${name}: ${await errorOf(response)}`, "error");
    return;
  }
  download(await response.blob(), name);
  setStatus(`${name} ready`);
}

$("download-alpha").addEventListener("click", () => download(state.alphaBlob, "alpha.png"));
$("download-foreground").addEventListener("click",
  () => downloadComposite("/api/foreground", "foreground.png"));
$("download-cutout").addEventListener("click", () => downloadComposite("/api/cutout", "cutout.png"));
$("download-trimap").addEventListener("click", async () => download(await trimapBlob(), "trimap.png"));

// --- controls ---------------------------------------------------------------------------------
function onFile(id, handler) {
  $(id).addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";  // the same file can be opened again
    if (file) handler(file);
  });
}
onFile("photo-input", openPhoto);
onFile("trimap-input", openTrimap);
onFile("mask-input", openMask);
onFile("bg-input", openBackground);

$("clear").addEventListener("click", () => {
  if (!state.photoFile) return;
  pushUndo();
  state.trimap.fill(128);
  state.alpha = null;
  drawResult();
  edited(true, 0);
});
$("undo").addEventListener("click", undo);
$("brush").addEventListener("input", () => { $("brush-size").value = $("brush").value; });
$("method").addEventListener("change", () => edited(true, 0));
$("view").addEventListener("change", drawResult);
$("bg-colour").addEventListener("input", () => {
  $("view").value = "colour";
  drawResult();
});

document.addEventListener("keydown", (event) => {
  if (event.target.matches("input, select")) return;
  if ((event.ctrlKey || event.metaKey) && event.key === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "f") $("tool-fg").checked = true;
  else if (event.key === "b") $("tool-bg").checked = true;
  else if (event.key === "u") $("tool-unknown").checked = true;
});

const dropZone = $("drop-zone");
dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  // A file of no image type (a text file, an image the system has no type for) is tried
  // too: the browser says whether it can read it (it was dropped without a word).
  const files = [...event.dataTransfer.files];
  const file = files.find((f) => f.type.startsWith("image/")) || files[0];
  if (file) openPhoto(file);
});

async function loadMethods() {
  const select = $("method");
  try {
    const response = await fetch("/api/methods");
    const info = await response.json();
    for (const method of info.methods) {
      const option = new Option(method.name, method.name);
      option.title = method.summary;
      option.selected = method.name === info.default;
      select.append(option);
    }
    for (const method of info.foreground_methods) {
      const option = new Option(method.name, method.name);
      option.title = method.summary;
      $("foreground-method").append(option);
    }
    const keep = new Option("none", "none");
    keep.title = "the photograph's own colours";
    $("foreground-method").append(keep);
    document.body.dataset.ready = "true";
  } catch (error) {
    setStatus(`cannot reach the server: ${error}`, "error");
  }
}
loadMethods();
