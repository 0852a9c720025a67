// The drawing page: strokes on a pad, sent to the server, the answer shown.
//
// In Digit mode the pad is square and what is on it is read as one digit
// (/api/predict); in Number mode it is wide, what is on it is read as a number
// (/api/number), and each digit found is boxed over the drawing. Strokes are kept as
// points in pad units (0..1 of its width and of its height), so the pad is redrawn
// crisply at any size and pixel ratio; they are sent as strokes in the pad's CSS
// pixels, which the server draws again with the same pen.
//
// The answer's verdict says what to show: a digit (or a number), an unsure reading
// with what else it may be, or, instead of a reading, that the drawing is not a
// digit (not a number), or that it is several digits, which Number mode reads.
//
// Under every answer the person can say what it really is ("Wrong? Tell it the
// right one"): the drawing goes to /api/feedback with that label, once, in the
// background, and can be taken back with the token the server returns.

const LOW_CONFIDENCE = 0.75;    // a number's digit below this is boxed as unsure
const LIKELY_ENOUGH = 0.01;     // another reading of a number at least this likely is offered too
const PREDICT_DELAY_MS = 300;   // after the last stroke ends
const STROKE_WIDTH = 0.055;     // of the pad's height, which digits about fill: a marker, not a hairline
const MIN_STEP = 2;             // CSS px between the samples kept of a stroke: smooth, and few to send
const COPIED_MS = 1500;         // how long the Copy button says it copied
const UPLOAD_SIDE = 1024;       // px: the longer side of an uploaded image, at most, as sent
const UPLOAD_AS_IS = 1 << 20;   // bytes: a smaller file that fits UPLOAD_SIDE may go untouched
const NOT_A_DIGIT = "not a digit";  // the label of a drawing that is no digit (or no number)

const MODES = {
  digit: {
    url: "/api/predict",
    hint: "Draw a digit from 0 to 9.",
    pad: "Drawing pad: draw one digit here with a mouse, finger or pen",
  },
  number: {
    url: "/api/number",
    hint: "Write a number, its digits side by side.",
    pad: "Drawing pad: write a number here with a mouse, finger or pen",
  },
};

const $ = (selector) => document.querySelector(selector);
const pad = $("#pad");
const context = pad.getContext("2d");
const dropZone = $("#drop-zone");
const boxes = $("#boxes");
const readingOutput = $("#reading");
const message = $("#message");
const confidence = $("#confidence");
const alternatives = $("#alternatives");
const copyButton = $("#copy");
const switchButton = $("#switch");
const which = $("#which");
const probabilities = $("#probabilities");
const preview = $("#preview");
const correctionForm = $("#correction");
const numberLabel = $("#number-label");
const thanks = $("#thanks");
const takeBackButton = $("#take-back");

let mode = "digit";
const strokes = [];
let drawingPointer = null;
let uploaded = null;     // {bitmap, body, size} of an uploaded image: shown on the pad, sent to the server
let padChanges = 0;      // drawing changes and photos chosen: a photo still decoding when the pad changes is dropped
let predictTimer = null;
let inFlight = null;     // AbortController of the request being answered
let found = [];          // the digits of the number shown, each box in fractions of the picture read
let strokesAspect = 1;   // the pad's width over its height when the strokes' points were last placed on it
let copiedTimer = null;
let answered = null;     // the answer a correction may be sent for: {drawing, predicted, model, key}
let kept = null;         // {id, token} of the correction sent for it, which can be taken back
let correctionTurn = 0;  // counts answers, so a late reply about an older one is not shown

/** A probability to one decimal, except that what is not certain never shows as 100.0% or 0.0%. */
const percent = (p) => (p >= 0.9995 ? ">99.9%" : p < 0.0005 ? "<0.1%" : `${(p * 100).toFixed(1)}%`);

// ---- drawing -------------------------------------------------------------

/** Where an event is, in pad units; a captured pointer may leave the pad, but not by more than its size. */
function padPoint(event, box) {
  const unit = (value) => Math.min(2, Math.max(-1, value));
  return [unit((event.clientX - box.left) / box.width), unit((event.clientY - box.top) / box.height)];
}

/** The pen's width in CSS px: the same part of a digit whether the pad is square or wide. */
const penWidth = (height) => STROKE_WIDTH * height;

/** Strokes as smooth curves: quadratic segments through the midpoints of the samples. */
function traceStrokes(width, height) {
  context.strokeStyle = context.fillStyle = getComputedStyle(pad).color;
  context.lineWidth = penWidth(height);
  context.lineCap = context.lineJoin = "round";
  for (const stroke of strokes) {
    const points = stroke.map(([x, y]) => [x * width, y * height]);
    context.beginPath();
    if (points.length === 1) {
      context.arc(points[0][0], points[0][1], context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    context.moveTo(...points[0]);
    for (let i = 1; i < points.length - 1; i++) {
      const [x, y] = points[i];
      const [nx, ny] = points[i + 1];
      context.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
    }
    context.lineTo(...points[points.length - 1]);
    context.stroke();
  }
}

/** [x, y, width, height] of `image` shown whole and centred in a width x height area. */
function fit(image, width, height) {
  const scale = Math.min(width / image.width, height / image.height);
  const [w, h] = [image.width * scale, image.height * scale];
  return [(width - w) / 2, (height - h) / 2, w, h];
}

/** Where on the pad the picture that was read lies: an uploaded image as drawn, or the whole pad. */
const pictureOnPad = (width, height) => (uploaded?.bitmap ? fit(uploaded.bitmap, width, height) : [0, 0, width, height]);

/** Each digit's box over its ink, and its reading just under the pad. */
function placeBoxes(width, height) {
  const [left, top, w, h] = pictureOnPad(width, height);
  found.forEach(({ box: [x, y, bw, bh] }, i) => {
    const style = boxes.children[i].style;
    style.left = `${left + x * w}px`;
    style.top = `${top + y * h}px`;
    style.width = `${bw * w}px`;
    style.height = `${bh * h}px`;
    style.setProperty("--below", `${height - top - (y + bh) * h}px`);
  });
}

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const { width, height } = pad.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    if (pad.width !== Math.round(width * ratio) || pad.height !== Math.round(height * ratio)) {
      pad.width = Math.round(width * ratio);
      pad.height = Math.round(height * ratio);
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    if (uploaded?.bitmap) context.drawImage(uploaded.bitmap, ...fit(uploaded.bitmap, width, height));
    traceStrokes(width, height);
    placeBoxes(width, height);
  });
}

/**
 * The boxes, and the correction offered, belong to the picture that was read; once it
 * changes they would box the wrong ink, and label the wrong drawing.
 */
function forgetBoxes() {
  found = [];
  boxes.replaceChildren();
  withdrawCorrection();
}

/**
 * The drawing changes (a stroke begun, one undone, the pad cleared): an answer still
 * on its way is about the drawing as it was, and is dropped, not shown beside the new
 * ink, where a correction sent for it would label the wrong drawing. The reading shown
 * stays faded until the new drawing is read.
 */
function drawingChanges() {
  padChanges++;
  inFlight?.abort();
  inFlight = null;
  document.body.classList.add("busy");
  forgetBoxes();
}

pad.addEventListener("pointerdown", (event) => {
  if (drawingPointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawingPointer = event.pointerId;
  drawingChanges();
  if (uploaded) { uploaded = null; strokes.length = 0; }
  strokes.push([padPoint(event, pad.getBoundingClientRect())]);
  clearTimeout(predictTimer);
  render();
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== drawingPointer) return;
  const box = pad.getBoundingClientRect();
  const stroke = strokes[strokes.length - 1];
  const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const sample of samples.length ? samples : [event]) {
    const [x, y] = padPoint(sample, box);
    const [lastX, lastY] = stroke[stroke.length - 1];
    if (Math.hypot((x - lastX) * box.width, (y - lastY) * box.height) >= MIN_STEP) stroke.push([x, y]);
  }
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
  drawingChanges();
  if (uploaded) uploaded = null;
  else strokes.pop();
  render();
  schedulePrediction();
}

function clear() {
  drawingChanges();
  strokes.length = 0;
  uploaded = null;
  render();
  schedulePrediction();
}

// ---- the mode ------------------------------------------------------------

/** The pad's width over its height. */
function padAspect() {
  const { width, height } = pad.getBoundingClientRect();
  return width / height;
}

/**
 * The strokes, kept in fractions of the pad's width and height, moved onto its shape
 * now if that has changed (Number mode's pad is wider on a desktop than on a phone; a
 * window resized, a phone turned, a drawing carried to the other mode): the old pad's
 * height onto the new one's, its middle onto the middle, and the boxes of the number
 * read in it with them. The ink keeps its shape and its size against the pen, which is
 * as wide a part of either pad's height.
 */
function fitStrokesToPad() {
  const [before, after] = [strokesAspect, padAspect()];
  strokesAspect = after;
  const carry = (x) => 0.5 + (x - 0.5) * (before / after);
  if (strokes.length === 0 || Math.abs(before / after - 1) < 1e-3) return;
  for (const stroke of strokes) {
    for (const point of stroke) point[0] = carry(point[0]);
  }
  for (const { box } of found) [box[0], box[2]] = [carry(box[0]), box[2] * (before / after)];
}

/**
 * Digit or Number. A drawing is cleared, as it was made for the other pad's shape,
 * unless `keepDrawing` (several digits drawn in Digit mode, carried to Number mode);
 * an uploaded picture is read again the new way.
 */
function setMode(value, keepDrawing = false) {
  mode = value;
  document.documentElement.dataset.mode = mode;
  $(`input[name="mode"][value="${mode}"]`).checked = true;
  pad.setAttribute("aria-label", MODES[mode].pad);
  try {
    localStorage.setItem("mode", mode);
  } catch {}  // storage refused (a private window, blocked site data): the choice lasts until the page closes
  if (!keepDrawing) strokes.length = 0;
  forgetBoxes();
  fitStrokesToPad();  // the pad's new shape, laid out by asking
  render();
  if (uploaded) askAboutUpload();
  else predictDrawing();
}

function savedMode() {
  try {
    return localStorage.getItem("mode");
  } catch {
    return null;
  }
}

// ---- asking the server ---------------------------------------------------

function schedulePrediction() {
  clearTimeout(predictTimer);
  predictTimer = setTimeout(predictDrawing, PREDICT_DELAY_MS);
}

/** The drawing in the pad's CSS pixels, with the pen it was drawn with, as the server redraws it. */
function drawingAsStrokes() {
  const { width, height } = pad.getBoundingClientRect();
  const tenth = (value) => Math.round(value * 10) / 10;
  return {
    strokes: strokes.map((stroke) => stroke.map(([x, y]) => [tenth(x * width), tenth(y * height)])),
    width,
    height,
    brush: penWidth(height),
  };
}

function predictDrawing() {
  clearTimeout(predictTimer);
  if (uploaded) return;
  if (strokes.length === 0) {
    inFlight?.abort();
    document.body.classList.remove("busy");
    showHint();
    return;
  }
  const drawing = drawingAsStrokes();
  ask(JSON.stringify(drawing), { "Content-Type": "application/json" }, [drawing.width, drawing.height], { strokes: drawing });
}

/** An upload's size as sent: its longer side at most UPLOAD_SIDE. */
function sentSize(bitmap) {
  const scale = Math.min(1, UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height));
  return [bitmap.width, bitmap.height].map((side) => Math.max(1, Math.round(side * scale)));
}

/**
 * The upload as sent. A phone photo is several MB, over the server's 2 MiB limit, and
 * often stored sideways with an EXIF tag saying how to turn it: it goes as the browser
 * shows it, its longer side at most UPLOAD_SIDE, as a JPEG (a PNG if it has transparency).
 * A small file that already fits goes as it is, its transparency exact, unless it is a
 * JPEG, which may carry such a tag.
 */
async function uploadBody(file, bitmap) {
  const [width, height] = sentSize(bitmap);
  if (width === bitmap.width && height === bitmap.height && file.size <= UPLOAD_AS_IS && file.type !== "image/jpeg") {
    return file;
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, width, height);
  const pixels = ctx.getImageData(0, 0, width, height).data;
  const transparent = pixels.some((value, i) => i % 4 === 3 && value < 255);
  return new Promise((resolve) => canvas.toBlob(resolve, transparent ? "image/png" : "image/jpeg", 0.9));
}

async function predictUpload(file) {
  if (!file) return;
  const upload = ++padChanges;
  document.body.classList.add("busy");  // a large photo takes a moment to decode
  // An image the browser cannot show still goes to the server, which says why it is refused.
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }).catch(() => null);
  const body = bitmap ? await uploadBody(file, bitmap) : file;
  if (upload !== padChanges) return;  // drawn on, or another photo chosen, while this one was decoding: dropped
  uploaded = bitmap ? { bitmap, body, size: sentSize(bitmap) } : { body };
  strokes.length = 0;
  forgetBoxes();
  render();
  askAboutUpload();
}

function askAboutUpload() {
  const form = new FormData();
  form.append("image", uploaded.body);
  ask(form, {}, uploaded.size, { image: uploaded.body });
}

/**
 * POSTs what is on the pad, `size` [width, height] in the units of the boxes a number's
 * answer has (unknown for an image the browser cannot show); a newer question aborts
 * an older one still in flight. `drawing` ({strokes} or {image}) is what a correction
 * of the answer sends.
 */
async function ask(body, headers, size, drawing) {
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  const show = mode === "number" ? (answer) => showNumber(answer, size) : showDigit;
  document.body.classList.add("busy");
  let response = null;
  try {
    response = await fetch(MODES[mode].url, { method: "POST", body, headers, signal: controller.signal });
    const answer = await response.json().catch(() => null);
    if (controller !== inFlight) return;
    if (response.ok && answer) {
      show(answer);
      offerCorrection(drawing, answer);
    } else showError(answer?.error ?? `The server answered ${response.status} ${response.statusText}.`);
  } catch (error) {
    if (error.name === "AbortError") return;
    showError(response ? "The server's answer could not be read. Try again."
                       : "Cannot reach the server. Check the connection and try again.");
    if (response) console.error(error);
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

/** Each digit's probability, the likeliest stressed unless `stressTop` is false. */
function showBars(values, stressTop = true) {
  const top = values && stressTop ? values.indexOf(Math.max(...values)) : -1;
  bars.forEach((item, digit) => {
    const p = values ? values[digit] : 0;
    item.classList.toggle("top", digit === top);
    item.querySelector(".bar span").style.width = `${(p * 100).toFixed(1)}%`;
    item.querySelector(".value").textContent = values ? percent(p) : "";
    item.setAttribute("aria-label", values ? `${digit}: ${percent(p)}` : String(digit));
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

/**
 * What was read, in big text (`look` "unsure" or "refused" shows it muted), and in
 * words, and a note under them; whatever a number's answer adds is reset.
 */
function showReading(text, words, note, look = "") {
  document.body.classList.remove("failed");
  readingOutput.className = look;
  readingOutput.textContent = text;
  message.textContent = words;
  confidence.textContent = note;
  alternatives.textContent = which.textContent = "";
  copyButton.hidden = switchButton.hidden = true;
  forgetBoxes();
}

/** No reading, as the drawing is not what the mode reads: why, in words, and what to do. */
const showRefusal = (words, note) => showReading("?", words, note, "refused");

function showDigit(answer) {
  const { verdict, digit, confidence: sure, probabilities: values, input, number } = answer;
  if (verdict === "not a digit" || verdict === "several digits") {
    if (verdict === "not a digit") {
      showRefusal("That doesn't look like a digit.", "Draw one digit, 0–9.");
    } else {  // the number as Number mode reads it, if it finds more than one digit there
      const count = number?.replace(/\D/g, "").length;  // its digits: a point, a comma or a minus is none
      showRefusal(count > 1 ? `That looks like ${count} digits: ${number}` : "That looks like several digits.",
                  "Digit mode reads one digit at a time.");
      switchButton.hidden = false;
    }
    which.textContent = "Read as if it were one digit:";  // the bars, none stressed: not an answer
    showBars(values, false);
  } else {
    const [first, second] = values.map((p, d) => [p, d]).sort((a, b) => b[0] - a[0]);
    const unsure = verdict === "unsure";
    showReading(String(digit), unsure ? `Not sure: ${first[1]} or ${second[1]}?` : `It's ${digit === 8 ? "an" : "a"} ${digit}.`,
                `${percent(sure)} sure`, unsure ? "unsure" : "");
    showBars(values);
  }
  showPreview(input);
}

function showNumber(answer, size) {
  const { verdict, number, confidence: sure, digits, alternatives: others } = answer;
  if (verdict === "not a number") {
    showRefusal("That doesn't look like a number.", "Write digits 0–9 side by side.");
    showBars(null);
    showPreview(null);
    return;
  }
  const unsure = verdict === "unsure";
  showReading(number, unsure ? `Not sure — is it ${number}?` : `It's ${number}.`, `${percent(sure)} sure`,
              unsure ? "unsure" : "");
  const likely = others.filter((other) => other.confidence >= LIKELY_ENOUGH).map((other) => other.number);
  alternatives.textContent = likely.length ? `or ${likely.join(", ")}?` : "";
  copyButton.hidden = false;
  if (size) {
    const [width, height] = size;
    found = digits.map(({ box: [x, y, w, h], ...digit }) => ({ ...digit, box: [x / width, y / height, w / width, h / height] }));
    boxes.replaceChildren(...found.map(boxButton));
    render();
  }
  showDigitOfNumber(digits, 0);
}

/** A focusable box over the `index`th digit: focusing or tapping it shows that digit's bars and input. */
function boxButton({ digit, confidence: sure }, index) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "box";
  button.classList.toggle("unsure", sure < LOW_CONFIDENCE);
  button.setAttribute("aria-label", `digit ${index + 1} of ${found.length}: ${digit}, ${percent(sure)} sure`);
  const reading = document.createElement("span");
  reading.className = "box-reading";
  reading.textContent = digit;
  button.append(reading);
  const show = () => showDigitOfNumber(found, index);
  button.addEventListener("focus", show);
  button.addEventListener("click", show);
  return button;
}

function showDigitOfNumber(digits, index) {
  const { digit, probabilities: values, input } = digits[index];
  [...boxes.children].forEach((box, i) => box.setAttribute("aria-pressed", String(i === index)));
  which.textContent = `Digit ${index + 1} of ${digits.length}: ${digit}`;
  showBars(values);
  showPreview(input);
}

/** No answer to show: the hint on an empty pad, or, `failed`, what went wrong. */
function showNoAnswer(symbol, text, failed) {
  showReading(symbol, text, "");
  document.body.classList.toggle("failed", failed);
  showBars(null);
  showPreview(null);
}

const showHint = () => showNoAnswer("?", MODES[mode].hint, false);
const showError = (text) => showNoAnswer("!", text, true);

async function copyNumber() {
  try {
    await navigator.clipboard.writeText(readingOutput.textContent);
    copyButton.textContent = "Copied";
  } catch {  // no clipboard here (a page not served over HTTPS) or permission refused
    copyButton.textContent = "Cannot copy";
  }
  clearTimeout(copiedTimer);
  copiedTimer = setTimeout(() => (copyButton.textContent = "Copy"), COPIED_MS);
}

// ---- corrections ---------------------------------------------------------

/** What the answer read, as a correction's "predicted" says it. */
function readingOf({ verdict, digit, number }) {
  if (verdict === "not a digit" || verdict === "not a number") return NOT_A_DIGIT;
  return number ?? String(digit);
}

function offerCorrection(drawing, answer) {
  const key = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  answered = { drawing, predicted: readingOf(answer), model: answer.model, key };
  numberLabel.value = "";
  correctionForm.hidden = false;
}

function withdrawCorrection() {
  correctionTurn += 1;
  answered = kept = null;
  correctionForm.hidden = true;
  showThanks("");
}

function showThanks(text, canTakeBack = false) {
  thanks.firstElementChild.textContent = text;
  takeBackButton.hidden = !canTakeBack;
}

/** An upload as the data URL the JSON body carries. */
const dataUrl = (blob) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(blob);
});

/**
 * Sends the answer's drawing with what it really is, once; the page does not wait on
 * it. If it cannot be sent, the form comes back, and sending again carries the same
 * key, so the server keeps it once however many tries reach it.
 */
async function sendCorrection(label) {
  const sending = answered;
  const turn = correctionTurn;
  if (!sending) return;
  const keyboard = correctionForm.contains(document.activeElement);  // focus follows the form's answer
  answered = null;
  correctionForm.hidden = true;
  showThanks("Sending…");
  if (keyboard) thanks.focus();
  const { drawing, predicted, model, key } = sending;
  let reply = null;
  let failure = "cannot reach the server";
  try {
    const body = { label, predicted, model, key, ...(drawing.strokes ? drawing : { image: await dataUrl(drawing.image) }) };
    const response = await fetch("/api/feedback", { method: "POST", headers: { "Content-Type": "application/json" },
                                                    body: JSON.stringify(body) });
    reply = await response.json().catch(() => null);
    if (!response.ok) failure = reply?.error ?? `the server answered ${response.status}`;
    else if (!reply) failure = "the server's answer was unreadable";
  } catch {}
  if (turn !== correctionTurn) return;  // another drawing since: this answer is gone
  if (reply?.delete_token) {
    kept = { id: reply.id, token: reply.delete_token };
    showThanks("Thank you: it will help the model learn.", true);
    if (keyboard && document.activeElement === thanks) takeBackButton.focus();
  } else {
    answered = sending;
    correctionForm.hidden = false;
    showThanks(`Not sent: ${failure}.`);
    if (keyboard && document.activeElement === thanks) (mode === "number" ? numberLabel : digitChoices[0]).focus();
  }
}

async function takeBack() {
  const taking = kept;
  if (!taking) return;
  const keyboard = document.activeElement === takeBackButton;
  takeBackButton.hidden = true;
  if (keyboard) thanks.focus();  // not lost to the page's top as the button goes
  const response = await fetch(`/api/feedback/${taking.id}`, {
    method: "DELETE", headers: { Authorization: `Bearer ${taking.token}` },
  }).catch(() => null);
  if (taking !== kept) return;
  if (response?.ok) {
    kept = null;
    showThanks("Taken back: your drawing is not kept.");
  } else {
    showThanks("Could not take it back. Try again.", true);
    if (keyboard && document.activeElement === thanks) takeBackButton.focus();
  }
}

const digitChoices = [..."0123456789", NOT_A_DIGIT].map((label) => {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label === NOT_A_DIGIT ? "Not a digit" : label;
  if (label === NOT_A_DIGIT) button.className = "not-digit";
  button.addEventListener("click", () => sendCorrection(label));
  return button;
});
$("#correct-digit").append(...digitChoices);
$("#not-number").addEventListener("click", () => sendCorrection(NOT_A_DIGIT));
correctionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sendCorrection(numberLabel.value);
});
takeBackButton.addEventListener("click", takeBack);

// ---- wiring --------------------------------------------------------------

$("#undo").addEventListener("click", undo);
$("#clear").addEventListener("click", clear);
$("#predict").addEventListener("click", () => (uploaded ? askAboutUpload() : predictDrawing()));
$("#upload").addEventListener("change", (event) => {
  predictUpload(event.target.files[0]);
  event.target.value = "";  // choosing the same file again is a new upload
});
copyButton.addEventListener("click", copyNumber);
// Several digits drawn in Digit mode: read as a number, the drawing carried onto the
// wide pad; focus goes to the mode now chosen, as the button itself is gone.
switchButton.addEventListener("click", () => {
  setMode("number", true);
  $('input[name="mode"][value="number"]').focus();
});
for (const radio of document.querySelectorAll('input[name="mode"]')) {
  radio.addEventListener("change", () => setMode(radio.value));
}

// Keys for the pad, not for a field being typed in: there Escape and Ctrl+Z are the field's.
document.addEventListener("keydown", (event) => {
  if (event.target.matches("textarea, input:not([type=radio], [type=checkbox], [type=file])")) return;
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

new ResizeObserver(() => {
  fitStrokesToPad();
  render();
}).observe(pad);
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", render);
setMode(MODES[savedMode()] ? savedMode() : "digit");
