// The model card page: the served model's card (GET /api/model, the model.json the
// export writes) made readable.
//
// Every section is hidden in the HTML and shown only once the card has something for
// it, so an older card with fewer fields still makes a clean page. The plots come from
// /api/model/<name>.png; one that the model was made without stays hidden, never a
// broken image.

const VERDICTS = ["digit", "unsure", "not a digit", "several digits"];
const VERDICT_HEADINGS = {"digit": "A digit", "unsure": "Unsure", "not a digit": "Not a digit",
                          "several digits": "Several digits"};

const $ = (selector) => document.querySelector(selector);
const count = new Intl.NumberFormat("en");
const percent = (share, decimals = 2) => `${(share * 100).toFixed(decimals)}%`;
const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

function make(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** A term and its value in a <dl>, shown; nothing when the value is missing. */
function fact(list, term, value, className) {
  if (value === undefined || value === null || value === "") return;
  list.append(make("dt", term), make("dd", value, className));
  list.hidden = false;
}

function showSection(id) {
  $(`#${id}`).hidden = false;
}

/** "image, N × 28 × 28 × 1: float32 in [0, 1], …": a tensor and what it holds (else its type). */
function tensor(t, holds) {
  if (!t || !t.name) return undefined;
  const shape = Array.isArray(t.shape) ? `, ${t.shape.join(" × ")}` : "";
  const type = typeof t.type === "string" ? t.type.replace(/^tensor\((.*)\)$/, "$1") : "";
  return `${t.name}${shape}${holds || type ? `: ${holds || type}` : ""}`;
}

function when(timestamp) {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? String(timestamp) : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function minutes(seconds) {
  return seconds < 90 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`;
}

// ---- the sections ---------------------------------------------------------

function describeModel(card, training) {
  const meanings = Array.isArray(card.outputs_meaning) ? card.outputs_meaning : [];
  const refuses = meanings.includes("not a digit") || meanings.includes("several digits");
  $("#what").textContent = "A convolutional network that reads one handwritten digit in a 28×28 picture"
    + (refuses ? ", or says that the picture is not a digit, or is several digits" : "")
    + ". It runs in ONNX Runtime on this server.";
  const facts = $("#facts");
  fact(facts, "File", card.file, "code");
  fact(facts, "SHA-256", card.sha256, "code hash");
  if (isNumber(card.bytes)) fact(facts, "Size", `${(card.bytes / 1e6).toFixed(2)} MB (${count.format(card.bytes)} bytes)`);
  if (isNumber(training.parameters)) fact(facts, "Parameters", count.format(training.parameters));
  fact(facts, "ONNX opset", card.opset);
  const one = (tensors) => Array.isArray(tensors) && tensors.length === 1;  // the digit model's: one of each
  if (one(card.inputs)) fact(facts, "Input", tensor(card.inputs[0], card.input_convention));
  if (one(card.outputs)) {
    fact(facts, "Output", tensor(card.outputs[0], meanings.length ? `probabilities of ${meanings.join(", ")}` : ""));
  }
  if (card.created_at) fact(facts, "Made", when(card.created_at));
  if (card.versions && typeof card.versions === "object") {
    fact(facts, "Made with", Object.entries(card.versions).map(([name, version]) => `${name} ${version}`).join(", "));
  }
  showSection("model");
}

function describeAccuracy(card, training) {
  if (isNumber(card.test_accuracy)) {
    $("#test-accuracy").textContent = percent(card.test_accuracy);
    $("#test-accuracy-words").textContent = "of the 10,000 MNIST test digits read right: the likeliest of the ten "
      + "digits, as the served model computes it in ONNX Runtime.";
    $("#accuracy-headline").hidden = false;
    showSection("accuracy");
  }
  const validation = training.val_accuracy;
  if (validation && typeof validation === "object") {
    const names = {"digits": "Validation digits read right", "not a digit": "Validation non-digits called not a digit",
                   "several digits": "Validation pictures of several digits called several digits"};
    for (const [name, share] of Object.entries(validation)) {
      if (isNumber(share)) fact($("#validation"), names[name] || `Validation: ${name}`, percent(share));
    }
    if (!$("#validation").hidden) showSection("accuracy");
  }
  if (Array.isArray(training.per_class_accuracy)) {
    perDigitTable(training.per_class_accuracy, Array.isArray(training.confusion_matrix) ? training.confusion_matrix : null);
    showSection("accuracy");
  }
}

/** One row per digit: how many test images, the share read right, and what it was taken for instead. */
function perDigitTable(accuracies, confusion) {
  const table = $("#per-digit");
  const headings = confusion ? ["Digit", "Test images", "Read right", "Mistaken for"] : ["Digit", "Read right"];
  for (const heading of headings) {
    const th = make("th", heading);
    th.scope = "col";
    table.tHead.rows[0].append(th);
  }
  accuracies.forEach((accuracy, digit) => {
    const row = table.tBodies[0].insertRow();
    const th = make("th", String(digit));
    th.scope = "row";
    row.append(th);
    const counts = confusion && Array.isArray(confusion[digit]) ? confusion[digit] : null;
    if (confusion) row.append(make("td", counts ? count.format(counts.reduce((a, b) => a + b, 0)) : "", "number"));
    row.append(make("td", isNumber(accuracy) ? percent(accuracy) : "", "number"));
    if (confusion) {
      const mistakes = counts ? counts.map((n, read) => [read, n]).filter(([read, n]) => read !== digit && n > 0)
        .sort((a, b) => b[1] - a[1]).slice(0, 3) : [];
      row.append(make("td", mistakes.length ? mistakes.map(([read, n]) => `${read} (${n}×)`).join(", ") : "never"));
    }
  });
  $("#per-digit-frame").hidden = false;
}

/** The verdict a picture of a test set should be given. */
function rightVerdict(testSet) {
  if (/non-digit|not a digit/i.test(testSet)) return "not a digit";
  if (/several/i.test(testSet)) return "several digits";
  return "digit";
}

function describeRefusals(verdicts) {
  const sets = Object.entries(verdicts || {}).filter(([, shares]) => shares && typeof shares === "object");
  if (!sets.length) return;
  const seen = new Set(sets.flatMap(([, shares]) => Object.keys(shares)));
  const columns = [...VERDICTS.filter((v) => seen.has(v)), ...[...seen].filter((v) => !VERDICTS.includes(v))];
  const table = $("#verdicts");
  const corner = make("th", "Test set");
  corner.scope = "col";
  table.tHead.rows[0].append(corner);
  for (const verdict of columns) {
    const th = make("th", VERDICT_HEADINGS[verdict] || verdict, "number");
    th.scope = "col";
    table.tHead.rows[0].append(th);
  }
  for (const [testSet, shares] of sets) {
    const row = table.tBodies[0].insertRow();
    const th = make("th", testSet.charAt(0).toUpperCase() + testSet.slice(1));
    th.scope = "row";
    row.append(th);
    for (const verdict of columns) {
      const share = shares[verdict];
      const cell = make("td", "", "number");
      const text = isNumber(share) ? percent(share, 1) : "";
      cell.append(verdict === rightVerdict(testSet) ? make("strong", text) : text);
      row.append(cell);
    }
  }
  showSection("refusals");
}

function describeCalibration(training) {
  const facts = $("#calibration-facts");
  if (isNumber(training.temperature)) {
    fact(facts, "Temperature", `${training.temperature} (fitted on validation images; the network's logits are divided by it)`);
  }
  if (isNumber(training.test_calibration_error)) {
    fact(facts, "Expected calibration error", `${percent(training.test_calibration_error)} on the test digits `
      + "(how far its confidence is from how often it is right, on average)");
  }
  if (!facts.hidden) {
    $("#calibration-words").hidden = false;
    showSection("calibration");
  }
}

function describeTraining(training) {
  const facts = $("#training-facts");
  if (isNumber(training.epochs)) {
    fact(facts, "Epochs", isNumber(training.best_epoch)
      ? `${training.epochs}; the weights kept are those of epoch ${training.best_epoch}, the best on validation`
      : String(training.epochs));
  }
  if (isNumber(training.wall_time_seconds)) fact(facts, "Training time", minutes(training.wall_time_seconds));
  if (Array.isArray(training.augment)) {
    fact(facts, "Training images changed by", training.augment.length ? training.augment.join(", ") : "nothing");
  }
  if (!facts.hidden) showSection("training");
}

function describeExport(card, training) {
  const parity = card.parity && typeof card.parity === "object" ? card.parity : {};
  const sentences = [];
  if (isNumber(parity.images)) {
    sentences.push(`ONNX Runtime and Keras were given the same ${count.format(parity.images)} test pictures.`);
  }
  if (isNumber(parity.max_probability_difference)) {
    sentences.push(`No probability differed by more than ${parity.max_probability_difference.toExponential(1)}.`);
  }
  if (isNumber(parity.argmax_agreement)) {
    sentences.push(`They gave the same likeliest answer to ${percent(parity.argmax_agreement)} of them.`);
  }
  if (sentences.length) {
    $("#parity").textContent = `${sentences.join(" ")} The export fails when the two disagree.`;
    showSection("export");
  }
  const facts = $("#export-facts");
  if (isNumber(training.test_accuracy)) {  // the same test digits in both: the accuracy the export kept
    fact(facts, "Test accuracy in Keras", percent(training.test_accuracy));
    const served = isNumber(parity.onnxruntime_test_accuracy) ? parity.onnxruntime_test_accuracy : card.test_accuracy;
    if (isNumber(served)) fact(facts, "Test accuracy in ONNX Runtime", percent(served));
    showSection("export");
  }
}

// ---- the plots ------------------------------------------------------------

/** Each plot is asked for once the card is shown; its figure (and section) appear only if it loads.
    The reliability diagram is drawn by the training that calibrates the model: a card without
    calibration has none to ask for. */
function loadPlots(training) {
  for (const image of document.querySelectorAll("img[data-plot]")) {
    const figure = image.closest("figure");
    if (image.dataset.plot === "reliability" && !isNumber(training.test_calibration_error)) {
      figure.remove();
      continue;
    }
    image.addEventListener("load", () => {
      figure.hidden = false;
      figure.closest("section").hidden = false;
    }, {once: true});
    image.addEventListener("error", () => figure.remove(), {once: true});
    image.src = `/api/model/${image.dataset.plot}.png`;
  }
}

// ---- the page -------------------------------------------------------------

async function main() {
  const status = $("#status");
  let card;
  try {
    const answer = await fetch("/api/model", {headers: {Accept: "application/json"}});
    if (!answer.ok) throw new Error(`the server answered ${answer.status}`);
    card = await answer.json();
  } catch (error) {
    status.textContent = `The model's card could not be loaded (${error.message}). Reload the page to try again.`;
    status.classList.add("failed");
    return;
  }
  const training = card.training && typeof card.training === "object" ? card.training : {};
  describeModel(card, training);
  describeAccuracy(card, training);
  describeRefusals(card.verdicts);
  describeCalibration(training);
  describeTraining(training);
  describeExport(card, training);
  loadPlots(training);
  status.textContent = "";
  status.hidden = true;
}

main();
