// The review page: pending corrections (GET /api/admin/corrections), each accepted or
// rejected (POST /api/admin/review), one by one or the selected ones together.
//
// The admin token is asked for once and kept in sessionStorage, so it is gone when the
// tab closes; it is sent as "Authorization: Bearer <token>", never in a URL. A 401
// forgets it and asks again.

const PAGE = 20;
const TOKEN = "digit-reader-admin-token";

const $ = (selector) => document.querySelector(selector);
const when = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });
let offset = 0;

class Unauthorized extends Error {}

async function call(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { ...options.headers, Accept: "application/json",
               Authorization: `Bearer ${sessionStorage.getItem(TOKEN)}` },
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Unauthorized(answer.error || "The admin token is wrong.");
  if (!response.ok) throw new Error(answer.error || `The server answered ${response.status}.`);
  return answer;
}

function show(error) {
  const status = $("#status");
  status.hidden = !error;
  status.textContent = error ? error.message : "";
  if (error instanceof Unauthorized) signIn();
}

function signIn() {
  sessionStorage.removeItem(TOKEN);
  $("#review").hidden = true;
  $("#sign-in").hidden = false;
  $("#token").focus();
}

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = term;
  dd.textContent = value;
  list.append(dt, dd);
}

function item(correction) {
  const node = $("#correction").content.firstElementChild.cloneNode(true);
  node.dataset.id = correction.id;
  node.querySelector(".select input").addEventListener("change", selectionChanged);
  node.querySelector(".picture").src = correction.picture;
  for (const [i, input] of correction.inputs.entries()) {
    const image = document.createElement("img");
    image.src = input;
    image.alt = `Model input ${i + 1}: what the model saw`;
    node.querySelector(".inputs").append(image);
  }
  const facts = node.querySelector(".facts");
  fact(facts, "Label", correction.label);
  fact(facts, "Server read", `${correction.prediction} (${correction.verdict})`);
  fact(facts, "Page said", correction.claimed_prediction);
  fact(facts, "Model", correction.model);
  fact(facts, "Sent", when.format(new Date(correction.created * 1000)));
  fact(facts, "Id", correction.id);
  // Each control named for its correction: a screen reader's list of them tells them apart.
  const which = `correction ${correction.label} (${correction.id.slice(0, 6)})`;
  node.querySelector(".select span").textContent = `Select ${which}`;
  for (const button of node.querySelectorAll(".actions button")) {
    button.setAttribute("aria-label", `${button.textContent} ${which}`);
    button.addEventListener("click", () => review([correction.id], button.dataset.status));
  }
  return node;
}

function selected() {
  return [...document.querySelectorAll(".correction")]
    .filter((node) => node.querySelector(".select input").checked).map((node) => node.dataset.id);
}

function selectionChanged() {
  const none = selected().length === 0;
  $("#accept-selected").disabled = none;
  $("#reject-selected").disabled = none;
}

async function load() {
  try {
    const page = await call(`/api/admin/corrections?limit=${PAGE}&offset=${offset}`);
    if (page.corrections.length === 0 && offset > 0) {  // the last ones of a page were reviewed
      offset = Math.max(0, offset - PAGE);
      return load();
    }
    $("#sign-in").hidden = true;
    $("#review").hidden = false;
    $("#counts").textContent = `${page.pending} pending`;
    $("#corrections").replaceChildren(...page.corrections.map(item));
    $("#newer").disabled = offset === 0;
    $("#older").disabled = offset + page.corrections.length >= page.pending;
    selectionChanged();
    show(null);
  } catch (error) {
    show(error);
  }
}

async function review(ids, status) {
  const place = [...document.querySelectorAll(".correction")].indexOf(document.activeElement.closest(".correction"));
  try {
    await call("/api/admin/review", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ids, status }),
    });
    await load();
    // The reviewed correction's button is gone: focus goes on to the one now in its place, not back to the top.
    const items = document.querySelectorAll(".correction");
    const next = items[Math.min(place, items.length - 1)]?.querySelector(".actions button") ?? $("#counts");
    if (place >= 0) next.focus();
  } catch (error) {
    show(error);
  }
}

$("#sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN, $("#token").value);
  $("#token").value = "";
  load();
});
$("#sign-out").addEventListener("click", signIn);
$("#accept-selected").addEventListener("click", () => review(selected(), "accepted"));
$("#reject-selected").addEventListener("click", () => review(selected(), "rejected"));
$("#newer").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
$("#older").addEventListener("click", () => { offset += PAGE; load(); });

if (sessionStorage.getItem(TOKEN)) load();
else signIn();
