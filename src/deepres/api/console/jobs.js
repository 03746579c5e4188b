/* deepres console, jobs: the model and scale to ask for, why Submit is disabled when it is,
 * submitting, following the open job and listing the user's jobs.
 */
import { $, api, emit, formatHa, recallJob, rememberJob, say, state } from "./core.js";
import { hectares } from "./aoi.js";
import { tickedDates } from "./dates.js";
import { footprints, tip } from "./mapview.js";
import { openCompare } from "./viewer.js";

const JOB_POLL_MS = 2000;
const JOB_SCALES = [4, 2, 1]; // what POST /deep-resolution takes, finest first
const SCALE_LABELS = { 1: "1 (10 m)", 2: "2 (5 m)", 4: "4 (2.5 m)" };
// The service's AOI limits for a job (settings min_hectares / max_hectares by default). The
// browser's area is on a sphere, the service's on the ellipsoid: judge by the service's once a
// date search told it, else leave a 1 % margin and let the service have the last word.
const MIN_HA = 3;
const MAX_HA = 25000;

// ---------------------------------------------------------------- model and scale
export async function loadModels() {
  try {
    const answer = await api("GET", "/deep-resolution/models");
    state.models = answer.results;
  } catch (e) {
    state.models = [];
    say("job-msg", "The model list did not load (" + e.message + "): jobs get the service's default model.", "error");
  }
  const select = $("model");
  select.innerHTML = "";
  for (const m of state.models) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name + " " + m.version + (m.default ? " (default)" : m.baseline ? " (baseline)" : "");
    option.title = m.description;
    option.selected = m.default;
    select.appendChild(option);
  }
  fillScales();
}

export function modelNamed(name) {
  return state.models.find((m) => m.name === name) || null;
}

export function fillScales() {
  const model = modelNamed($("model").value);
  const select = $("scale");
  const previous = Number(select.value) || JOB_SCALES[0];
  const scales = JOB_SCALES.filter((s) => !model || model.scales.includes(s));
  select.innerHTML = "";
  for (const s of scales) {
    const option = document.createElement("option");
    option.value = String(s);
    option.textContent = SCALE_LABELS[s];
    select.appendChild(option);
  }
  select.value = String(scales.includes(previous) ? previous : scales[0]);
  $("model-note").textContent = model ? model.description : "";
  $("model-note").title = model ? model.description : "";
}

// ---------------------------------------------------------------- why a button is disabled
function submitReason() {
  if (!state.jwt) return "Sign in first (step 1).";
  if (!state.aoi) return "Draw or upload an area of interest (step 2).";
  const ha = state.serverHa ?? hectares(state.aoi);
  const margin = state.serverHa == null ? 0.01 : 0;
  if (ha < MIN_HA * (1 - margin) || ha > MAX_HA * (1 + margin)) {
    return "The AOI is " + formatHa(ha) + "; a job takes between " + MIN_HA + " and " + MAX_HA.toLocaleString("en") + " ha.";
  }
  if (!state.datesListed) return "Find the available dates (step 3).";
  if (!document.querySelector("#dates tbody tr")) return "No date found: widen the window or raise the max cloud %.";
  if (!tickedDates().length) return "Tick at least one date.";
  if (state.submitting) return "Submitting…";
  return "";
}

function findReason() {
  if (!state.jwt) return "Sign in first.";
  if (!state.aoi) return "Draw or upload an AOI first.";
  return "";
}

export function updateButtons() {
  const find = findReason();
  $("find-dates").disabled = Boolean(find);
  $("find-why").textContent = find;
  const submit = submitReason();
  $("submit").disabled = Boolean(submit);
  $("submit-why").textContent = submit;
}

// ---------------------------------------------------------------- submit and follow
export async function submitJob() {
  const body = { aoi: state.aoi, cloud_cover: Number($("cloud").value), dates: tickedDates(), scale: Number($("scale").value) };
  if ($("model").value) body.model = $("model").value;
  state.submitting = true;
  updateButtons();
  try {
    const answer = await api("POST", "/deep-resolution", body);
    rememberJob(answer.data.job_id, body);
    say("job-msg", "Job queued.", "ok");
    openJob(answer.data.job_id);
    listJobs();
  } catch (e) {
    say("job-msg", e.message, "error");
  } finally {
    state.submitting = false;
    emit("changed");
  }
}

export function openJob(jobId) {
  if (state.jobTimer) clearTimeout(state.jobTimer);
  state.jobId = jobId;
  state.items = {};
  state.processedSeen = -1;
  footprints.clearLayers();
  $("job-id").textContent = jobId;
  $("job-state").textContent = "";
  const asked = recallJob(jobId);
  $("job-model").textContent = asked ? (asked.model || "default model") + " x" + asked.scale : "";
  pollJob();
}

async function pollJob() {
  const jobId = state.jobId;
  try {
    const answer = await api("GET", "/deep-resolution/status/" + encodeURIComponent(jobId));
    if (jobId !== state.jobId) return;
    const data = answer.data;
    const done = !data.status;
    $("job-state").textContent = data.status || "done";
    await showJobDates(data.dates || []);
    if (!done && data.status !== "CANCELLED") state.jobTimer = setTimeout(pollJob, JOB_POLL_MS);
  } catch (e) {
    say("job-msg", e.message, "error");
  }
}

async function showJobDates(dates) {
  const processed = dates.filter((d) => d.status === "PROCESSED").length;
  if (processed !== state.processedSeen) {
    state.processedSeen = processed;
    if (processed) await loadItems();
  }
  const tbody = $("job-dates").querySelector("tbody");
  tbody.innerHTML = "";
  for (const d of dates) {
    const day = d.date.slice(0, 10);
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td></td><td></td><td></td><td></td>";
    tr.cells[0].textContent = day;
    tr.cells[1].textContent = d.mgrs || "";
    tr.cells[2].textContent = d.status;
    tr.cells[2].className = "status-" + d.status;
    if (d.reason) tr.cells[2].title = d.reason;
    tr.cells[3].textContent = d.cloud_cover_known === false ? "unknown" : d.cloud_cover == null ? "" : Number(d.cloud_cover).toFixed(1);
    const item = state.items[state.jobId + "-" + d.mgrs + "-" + day];
    if (d.status === "PROCESSED" && item) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small compare-btn";
      button.textContent = "Compare";
      button.title = "before/after at full resolution";
      button.addEventListener("click", () => openCompare(state.jobId, item));
      tr.cells[4].appendChild(button);
      const link = document.createElement("a");
      link.href = d.link;
      link.textContent = " COG";
      link.title = "download the Cloud-Optimised GeoTIFF (signed link)";
      tr.cells[4].appendChild(link);
    }
    tbody.appendChild(tr);
  }
  $("job-dates").hidden = dates.length === 0;
}

async function loadItems() {
  const collection = await api("GET", "/deep-resolution/jobs/" + encodeURIComponent(state.jobId) + "/stac/items");
  footprints.clearLayers();
  state.items = {};
  for (const item of collection.features) {
    state.items[item.id] = item;
    footprints.addLayer(L.geoJSON(item, { style: { color: "#1e6b34", weight: 2, fill: false, dashArray: "6 3" } }).bindTooltip(tip(item.id)));
  }
}

export async function listJobs() {
  if (!state.jwt) return;
  try {
    const page = await api("GET", "/deep-resolution/jobs?limit=10");
    const ul = $("jobs");
    ul.innerHTML = "";
    for (const job of page.results) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.textContent = job.job_id.slice(0, 8) + "… " + job.created.slice(0, 16).replace("T", " ");
      a.title = job.job_id;
      a.addEventListener("click", () => openJob(job.job_id));
      li.appendChild(a);
      const model = job.model ? job.model + ", " : "";
      li.appendChild(document.createTextNode(" " + model + (job.status || "done") + ", " + formatHa(job.area_hectares)));
      ul.appendChild(li);
    }
  } catch (e) {
    /* the list is a convenience; errors show on the actions themselves */
  }
}
