// The drawing page: strokes on a pad, sent to /api/predict, the answer shown.
//
// Strokes are kept as points in pad units (0..1), so the pad can be redrawn crisply
// at any size and pixel ratio, and exported the same way whatever screen drew them.

const LOW_CONFIDENCE = 0.75;  // below this, the page says it is unsure
const PREDICT_DELAY_MS = 300; // after the last stroke ends
const STROKE_WIDTH = 0.055;   // of the pad's side: a marker, not a hairline
const EXPORT_SIDE = 320;      // px of the PNG sent to the server
const UPLOAD_SIDE = 1024;     // px: the longer side of an uploaded image, at most, as sent
const UPLOAD_AS_IS = 1 << 20; // bytes: a smaller file that fits UPLOAD_SIDE may go untouched

const $ = (selector) => document.querySelector(selector);
const pad = $("#pad");
const context = pad.getContext("2d");
const dropZone = $("#drop-zone");
const digitOutput = $("#digit");
const message = $("#message");
const confidence = $("#confidence");
const probabilities = $("#probabilities");
const preview = $("#preview");

const strokes = [];
let drawingPointer = null;
let uploaded = null;     // {bitmap, body} of an uploaded image: shown on the pad, sent to the server
let predictTimer = null;
let inFlight = null;     // AbortController of the request being answered

// ---- drawing -------------------------------------------------------------

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height];
}

/** Strokes as smooth curves: quadratic segments through the midpoints of the samples. */
function traceStrokes(ctx, side, ink) {
  ctx.strokeStyle = ctx.fillStyle = ink;
  ctx.lineWidth = STROKE_WIDTH * side;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of strokes) {
    const points = stroke.map(([x, y]) => [x * side, y * side]);
    ctx.beginPath();
    if (points.length === 1) {
      ctx.arc(points[0][0], points[0][1], ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.moveTo(...points[0]);
    for (let i = 1; i < points.length - 1; i++) {
      const [x, y] = points[i];
      const [nx, ny] = points[i + 1];
      ctx.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
    }
    ctx.lineTo(...points[points.length - 1]);
    ctx.stroke();
  }
}

function drawImageFitted(ctx, image, side) {
  const scale = Math.min(side / image.width, side / image.height);
  const width = image.width * scale, height = image.height * scale;
  ctx.drawImage(image, (side - width) / 2, (side - height) / 2, width, height);
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const side = pad.getBoundingClientRect().width;
    const ratio = window.devicePixelRatio || 1;
    if (pad.width !== Math.round(side * ratio)) pad.width = pad.height = Math.round(side * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, side, side);
    if (uploaded?.bitmap) drawImageFitted(context, uploaded.bitmap, side);
    traceStrokes(context, side, getComputedStyle(pad).color);
  });
}

pad.addEventListener("pointerdown", (event) => {
  if (drawingPointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawingPointer = event.pointerId;
  if (uploaded) { uploaded = null; strokes.length = 0; }
  strokes.push([padPoint(event)]);
  clearTimeout(predictTimer);
  render();
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== drawingPointer) return;
  const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  strokes[strokes.length - 1].push(...(samples.length ? samples : [event]).map(padPoint));
  render();
});

function endStroke(event) {
  if (event.pointerId !== drawingPointer) return;
  drawingPointer = null;
  schedulePrediction();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function undo() {
  if (uploaded) uploaded = null;
  else strokes.pop();
  render();
  schedulePrediction();
}

function clear() {
  strokes.length = 0;
  uploaded = null;
  render();
  schedulePrediction();
}

// ---- asking the server ---------------------------------------------------

function schedulePrediction() {
  clearTimeout(predictTimer);
  predictTimer = setTimeout(predictDrawing, PREDICT_DELAY_MS);
}

/** The drawing as black ink on a white square PNG, the same whatever the screen. */
function drawingAsPng() {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = EXPORT_SIDE;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, EXPORT_SIDE, EXPORT_SIDE);
  traceStrokes(ctx, EXPORT_SIDE, "#000");
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

async function predictDrawing() {
  clearTimeout(predictTimer);
  if (uploaded) return;
  if (strokes.length === 0) {
    inFlight?.abort();
    showHint();
    return;
  }
  ask(await drawingAsPng(), { "Content-Type": "image/png" });
}

/**
 * The upload as sent. A phone photo is several MB, over the server's 2 MiB limit, and
 * often stored sideways with an EXIF tag saying how to turn it: it goes as the browser
 * shows it, its longer side at most UPLOAD_SIDE, as a JPEG (a PNG if it has transparency).
 * A small file that already fits goes as it is, its transparency exact, unless it is a
 * JPEG, which may carry such a tag.
 */
async function uploadBody(file, bitmap) {
  const scale = Math.min(1, UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.size <= UPLOAD_AS_IS && file.type !== "image/jpeg") return file;
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const transparent = pixels.some((value, i) => i % 4 === 3 && value < 255);
  return new Promise((resolve) => canvas.toBlob(resolve, transparent ? "image/png" : "image/jpeg", 0.9));
}

async function predictUpload(file) {
  if (!file) return;
  document.body.classList.add("busy");  // a large photo takes a moment to decode
  // An image the browser cannot show still goes to the server, which says why it is refused.
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }).catch(() => null);
  uploaded = { bitmap, body: bitmap ? await uploadBody(file, bitmap) : file };
  strokes.length = 0;
  render();
  askAboutUpload();
}

function askAboutUpload() {
  const form = new FormData();
  form.append("image", uploaded.body);
  ask(form, {});
}

/** POSTs to /api/predict; a newer question aborts an older one still in flight. */
async function ask(body, headers) {
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  document.body.classList.add("busy");
  try {
    const response = await fetch("/api/predict", { method: "POST", body, headers, signal: controller.signal });
    const answer = await response.json().catch(() => null);
    if (controller !== inFlight) return;
    if (response.ok && answer) showAnswer(answer);
    else showError(answer?.error ?? `The server answered ${response.status} ${response.statusText}.`);
  } catch (error) {
    if (error.name !== "AbortError") showError("Cannot reach the server. Check the connection and try again.");
  } finally {
    if (controller === inFlight) {
      inFlight = null;
      document.body.classList.remove("busy");
    }
  }
}

// ---- showing the answer --------------------------------------------------

const bars = Array.from({ length: 10 }, (_, digit) => {
  const item = document.createElement("li");
  item.innerHTML = `<span class="label">${digit}</span><span class="bar"><span></span></span><span class="value"></span>`;
  probabilities.append(item);
  return item;
});

function showBars(values) {
  const top = values ? values.indexOf(Math.max(...values)) : -1;
  bars.forEach((item, digit) => {
    const p = values ? values[digit] : 0;
    item.classList.toggle("top", digit === top);
    item.querySelector(".bar span").style.width = `${(p * 100).toFixed(1)}%`;
    item.querySelector(".value").textContent = values ? `${(p * 100).toFixed(1)}%` : "";
    item.setAttribute("aria-label", `${digit}: ${(p * 100).toFixed(1)} percent`);
  });
}

function showPreview(dataUrl) {
  const ctx = preview.getContext("2d");
  ctx.clearRect(0, 0, 28, 28);
  if (!dataUrl) return;
  const image = new Image();
  image.onload = () => ctx.drawImage(image, 0, 0);
  image.src = dataUrl;
}

function showAnswer({ digit, confidence: sure, probabilities: values, input }) {
  const [first, second] = values.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
  const unsure = sure < LOW_CONFIDENCE;
  document.body.classList.remove("failed");
  digitOutput.classList.toggle("unsure", unsure);
  digitOutput.textContent = String(digit);
  message.textContent = unsure ? `Not sure: ${first[1]} or ${second[1]}?` : `It's a ${digit}.`;
  confidence.textContent = `${(sure * 100).toFixed(1)}% sure`;
  showBars(values);
  showPreview(input);
}

/** No answer to show: the hint on an empty pad, or, `failed`, what went wrong. */
function showNoAnswer(symbol, text, failed) {
  document.body.classList.toggle("failed", failed);
  digitOutput.classList.remove("unsure");
  digitOutput.textContent = symbol;
  message.textContent = text;
  confidence.textContent = "";
  showBars(null);
  showPreview(null);
}

const showHint = () => showNoAnswer("?", "Draw a digit from 0 to 9.", false);
const showError = (text) => showNoAnswer("!", text, true);

// ---- wiring --------------------------------------------------------------

$("#undo").addEventListener("click", undo);
$("#clear").addEventListener("click", clear);
$("#predict").addEventListener("click", () => (uploaded ? askAboutUpload() : predictDrawing()));
$("#upload").addEventListener("change", (event) => {
  predictUpload(event.target.files[0]);
  event.target.value = "";  // choosing the same file again is a new upload
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") clear();
  else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  }
});

dropZone.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  predictUpload(event.dataTransfer.files[0]);
});

new ResizeObserver(render).observe(pad);
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", render);
showHint();
