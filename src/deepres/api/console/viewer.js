/* deepres console, the before/after viewer: two quicklooks of one processed date on one pixel
 * grid, shown 1:1 (one PNG pixel per screen pixel) in a large pane, zoomed by powers of two
 * (wheel, double-click, buttons) and panned by dragging; one transform moves both, so they stay
 * aligned, and a swipe line shows the left source west of it and the right one east of it.
 *
 * Sources: the input scene, the job's result, and the result of the same AOI and date run with
 * another model (bicubic against the network), which one click submits from here.
 */
import { $, api, blobUrl, recallJob, rememberJob, say, sleep, state } from "./core.js";
import { boundsOf, map } from "./mapview.js";

const LARGEST_SIDE = 4096; // the most the quicklook endpoint serves (its max_side bound)
const MIN_ZOOM = 1 / 16;
const MAX_ZOOM = 32;
const POLL_MS = 2000;
const PARTNER_KEY = "deepres.partner."; // + item id: the job run with the other model

const IMG = { left: "ql-input", right: "ql-result" };
const TAG = { left: "tag-left", right: "tag-right" };
const SELECT = { left: "left-src", right: "right-src" };

function quicklookPath(jobId, day, mgrs, kind) {
  return "/deep-resolution/jobs/" + encodeURIComponent(jobId) + "/quicklook/" + day + ".png?kind=" + kind + "&mgrs=" + encodeURIComponent(mgrs) + "&max_side=" + LARGEST_SIDE;
}

function modelOf(item) {
  const p = item.properties;
  return p["deepres:model"] + " x" + p["deepres:scale"];
}

// The processing level of the scene the result was made from, as its id says (L1C or L2A).
function levelOf(item) {
  const m = /(L1C|L2A)/i.exec(item.properties["deepres:source_item"] || "");
  return m ? m[1].toUpperCase() : "";
}

function addSource(view, key, jobId, kind, label, short) {
  view.sources[key] = { path: quicklookPath(jobId, view.day, view.mgrs, kind), label, short, url: null, loading: null };
}

// ---------------------------------------------------------------- open, close, sources
export async function openCompare(jobId, item) {
  closeCompare();
  const day = item.id.slice(-10);
  const mgrs = item.properties["deepres:mgrs"];
  const view = { jobId, item, day, mgrs, sources: {}, left: "input", right: "result:" + jobId, zoom: 1, tx: 0, ty: 0, pct: Number($("swipe-range").value), width: 0, height: 0 };
  state.compare = view;
  const native = item.properties.gsd * (item.properties["deepres:scale"] || 1);
  const level = levelOf(item);
  addSource(view, "input", jobId, "input", "input: Sentinel-2 " + (level ? level + " " : "") + "(" + +native.toFixed(2) + " m)", ("input " + level).trim());
  addSource(view, view.right, jobId, "result", "result: " + modelOf(item) + " (" + item.properties.gsd + " m)", modelOf(item));
  $("compare").hidden = false;
  $("right").classList.add("comparing");
  $("compare-title").textContent = day + " " + mgrs + " (" + item.properties.gsd + " m)";
  say("compare-msg", "");
  fillSelects(view);
  setupOther(view);
  map.invalidateSize();
  try {
    await Promise.all([show("left"), show("right")]);
    if (view !== state.compare) return;
    resetView("auto");
    showOverlay();
    map.fitBounds(boundsOf(item.bbox), { padding: [30, 30], animate: false });
  } catch (e) {
    say("compare-msg", e.message, "error");
  }
  const partner = sessionStorage.getItem(PARTNER_KEY + item.id);
  if (partner) followPartner(view, partner).catch((e) => say("compare-msg", e.message, "error"));
}

export function closeCompare() {
  if (state.overlay) map.removeLayer(state.overlay);
  state.overlay = null;
  if (state.compare) {
    for (const source of Object.values(state.compare.sources)) if (source.url) URL.revokeObjectURL(source.url);
  }
  state.compare = null;
  $("compare").hidden = true;
  $("right").classList.remove("comparing", "large");
  $("compare-large").textContent = "Larger";
  map.invalidateSize();
}

function fillSelects(view) {
  for (const side of ["left", "right"]) {
    const select = $(SELECT[side]);
    select.innerHTML = "";
    for (const [key, source] of Object.entries(view.sources)) {
      const option = document.createElement("option");
      option.value = key;
      option.textContent = source.label;
      select.appendChild(option);
    }
    select.value = view[side];
  }
}

/** Shows the chosen source on one side, fetching it once. */
async function show(side) {
  const view = state.compare;
  const source = view.sources[view[side]];
  source.loading = source.loading || blobUrl(source.path).then((url) => (source.url = url));
  const url = await source.loading;
  if (view !== state.compare) return;
  const img = $(IMG[side]);
  img.alt = source.label;
  await loaded(img, url);
  $(TAG[side]).textContent = source.short;
  layout();
}

export async function chooseSource(side) {
  const view = state.compare;
  if (!view) return;
  view[side] = $(SELECT[side]).value;
  try {
    await show(side);
    showOverlay();
  } catch (e) {
    say("compare-msg", e.message, "error");
  }
}

function loaded(img, url) {
  if (img.src === url && img.complete && img.naturalWidth) return Promise.resolve();
  return new Promise((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error("a quicklook did not load"));
    img.src = url;
  });
}

// ---------------------------------------------------------------- zoom, pan, swipe
function layout() {
  const view = state.compare;
  const imgs = [$(IMG.left), $(IMG.right)].filter((img) => img.complete && img.naturalWidth);
  view.width = Math.max(0, ...imgs.map((img) => img.naturalWidth));
  view.height = Math.max(0, ...imgs.map((img) => img.naturalHeight));
  for (const img of [$(IMG.left), $(IMG.right), $("stage")]) {
    img.style.width = view.width + "px";
    img.style.height = view.height + "px";
  }
  applyView();
}

const cssScale = (zoom) => zoom / (window.devicePixelRatio || 1); // 1:1 in device pixels

/** Zoom `zoom` (1: one PNG pixel per screen pixel), the image centred in the viewer.
 *
 * "fit": the zoom at which the image just fits. "auto": 1:1, or for an image under half the
 * viewer the largest power of two that fits (each PNG pixel an exact square of screen pixels).
 */
export function resetView(zoom) {
  const view = state.compare;
  if (!view) return;
  const box = $("swipe").getBoundingClientRect();
  const fit = Math.min(box.width / view.width, box.height / view.height) * (window.devicePixelRatio || 1);
  if (zoom === "fit") zoom = fit;
  if (zoom === "auto") zoom = fit >= 2 ? 2 ** Math.floor(Math.log2(fit)) : 1;
  view.zoom = Math.min(Math.max(zoom, MIN_ZOOM), MAX_ZOOM);
  const s = cssScale(view.zoom);
  view.tx = Math.round((box.width - view.width * s) / 2);
  view.ty = Math.round((box.height - view.height * s) / 2);
  applyView();
}

/** Zooms to `zoom` keeping the image point under viewer pixel (x, y) where it is. */
function zoomTo(zoom, x, y) {
  const view = state.compare;
  if (!view) return;
  const before = cssScale(view.zoom);
  view.zoom = Math.min(Math.max(zoom, MIN_ZOOM), MAX_ZOOM);
  const after = cssScale(view.zoom);
  view.tx = Math.round(x - ((x - view.tx) / before) * after);
  view.ty = Math.round(y - ((y - view.ty) / before) * after);
  applyView();
}

/** The next power of two above (`step` 1) or below (`step` -1) the current zoom. */
function nextZoom(step) {
  const exponent = Math.log2(state.compare.zoom);
  return 2 ** (step > 0 ? Math.floor(exponent + 1e-9) + 1 : Math.ceil(exponent - 1e-9) - 1);
}

export function zoomStep(step, event) {
  if (!state.compare) return;
  const box = $("swipe").getBoundingClientRect();
  const x = event && event.clientX != null && event.type !== "click" ? event.clientX - box.left : box.width / 2;
  const y = event && event.clientY != null && event.type !== "click" ? event.clientY - box.top : box.height / 2;
  zoomTo(nextZoom(step), x, y);
}

function zoomText(zoom) {
  if (Math.abs(zoom - Math.round(zoom)) < 1e-9 && zoom >= 1) return zoom + ":1";
  if (zoom < 1 && Math.abs(1 / zoom - Math.round(1 / zoom)) < 1e-9) return "1:" + Math.round(1 / zoom);
  return Math.round(zoom * 100) + " %";
}

function applyView() {
  const view = state.compare;
  if (!view) return;
  const s = cssScale(view.zoom);
  $("stage").style.transform = "translate(" + view.tx + "px, " + view.ty + "px) scale(" + s + ")";
  $("swipe-handle").style.left = view.tx + (view.pct / 100) * view.width * s + "px";
  $("zoom-label").textContent = zoomText(view.zoom);
  const shape = view.item.properties["proj:shape"];
  const shrink = shape && view.width ? Math.max(1, Math.round(shape[1] / view.width)) : 1;
  const metres = (view.item.properties.gsd * shrink) / view.zoom;
  const full = shrink === 1 ? "full resolution" : "shrunk x" + shrink + " (the product is " + shape[1] + " px wide)";
  $("scale-note").textContent = view.width + " x " + view.height + " px, " + full + "; one screen pixel = " + +metres.toFixed(3) + " m";
}

/** Shows the left source west of `percent` of the image and the right source east of it. */
export function setSwipe(percent) {
  $("ql-result").style.clipPath = "inset(0 0 0 " + percent + "%)";
  $("swipe-range").value = String(percent);
  if (state.compare) {
    state.compare.pct = percent;
    applyView();
  }
}

const drag = { mode: null, x: 0, y: 0, tx: 0, ty: 0 };

export function onPointerDown(event) {
  const view = state.compare;
  if (!view || event.button !== 0) return;
  $("swipe").setPointerCapture(event.pointerId);
  Object.assign(drag, { mode: event.target.id === "swipe-handle" ? "swipe" : "pan", x: event.clientX, y: event.clientY, tx: view.tx, ty: view.ty });
  $("swipe").classList.toggle("panning", drag.mode === "pan");
}

export function onPointerMove(event) {
  const view = state.compare;
  if (!view || !drag.mode || !event.buttons) return;
  if (drag.mode === "pan") {
    view.tx = drag.tx + Math.round(event.clientX - drag.x);
    view.ty = drag.ty + Math.round(event.clientY - drag.y);
    applyView();
  } else {
    const box = $("swipe").getBoundingClientRect();
    const width = view.width * cssScale(view.zoom);
    const percent = ((event.clientX - box.left - view.tx) / width) * 100;
    setSwipe(Math.round(Math.min(Math.max(percent, 0), 100) * 10) / 10);
  }
}

export function onPointerUp() {
  drag.mode = null;
  $("swipe").classList.remove("panning");
}

export function onWheel(event) {
  if (!state.compare) return;
  event.preventDefault();
  zoomStep(event.deltaY < 0 ? 1 : -1, event);
}

// ---------------------------------------------------------------- map overlay
export function showOverlay() {
  if (state.overlay) map.removeLayer(state.overlay);
  state.overlay = null;
  const view = state.compare;
  const kind = $("overlay-kind").value;
  if (!view || kind === "none") return;
  const source = view.sources[kind === "input" ? "input" : "result:" + view.jobId];
  if (!source.url) return;
  state.overlay = L.imageOverlay(source.url, boundsOf(view.item.bbox), {
    opacity: Number($("overlay-opacity").value) / 100,
    className: "ql-overlay",
  }).addTo(map);
}

export function setOverlayOpacity() {
  if (state.overlay) state.overlay.setOpacity(Number($("overlay-opacity").value) / 100);
}

// ---------------------------------------------------------------- the other model
/** Bicubic for a network's result; the default network for a bicubic one. */
function otherModel(name) {
  const models = state.models;
  const own = models.find((m) => m.name === name);
  if (own && own.baseline) {
    const network = models.find((m) => m.default && !m.baseline) || models.find((m) => !m.baseline);
    return network ? network.name : null;
  }
  const baseline = models.find((m) => m.baseline);
  return baseline ? baseline.name : "bicubic";
}

function setupOther(view) {
  view.other = otherModel(view.item.properties["deepres:model"]);
  const asked = recallJob(view.jobId);
  const button = $("compare-other");
  button.textContent = "Run " + (view.other || "another model") + " to compare";
  button.disabled = !asked || !view.other;
  button.title = asked ? "submits this AOI and date again with " + view.other + ", then shows it on the left" : "Only for jobs submitted from this tab: the console does not know this job's AOI.";
  if (!asked) say("compare-msg", button.title);
}

export async function runOther() {
  const view = state.compare;
  const asked = view && recallJob(view.jobId);
  if (!asked) return;
  const scale = view.item.properties["deepres:scale"] || asked.scale;
  const body = { aoi: asked.aoi, cloud_cover: asked.cloud_cover, dates: [view.day], scale, model: view.other };
  $("compare-other").disabled = true;
  try {
    const answer = await api("POST", "/deep-resolution", body);
    rememberJob(answer.data.job_id, body);
    sessionStorage.setItem(PARTNER_KEY + view.item.id, answer.data.job_id);
    await followPartner(view, answer.data.job_id);
  } catch (e) {
    say("compare-msg", e.message, "error");
    $("compare-other").disabled = false;
  }
}

/** Waits for the other model's run of this date, then shows it on the left. */
async function followPartner(view, jobId) {
  $("compare-other").disabled = true;
  const name = view.other || "the other model";
  say("compare-msg", name + ": job " + jobId.slice(0, 8) + "… queued.");
  for (;;) {
    const data = (await api("GET", "/deep-resolution/status/" + encodeURIComponent(jobId))).data;
    if (view !== state.compare) return;
    const row = (data.dates || []).find((d) => d.date.slice(0, 10) === view.day && d.mgrs === view.mgrs);
    if (row && row.status === "PROCESSED") break;
    if ((row && row.status === "FAILED") || data.status === "CANCELLED" || (!data.status && !row)) {
      say("compare-msg", name + " did not process " + view.day + ": " + ((row && row.reason) || data.error || data.status || "no such date"), "error");
      return;
    }
    say("compare-msg", name + ": " + (row ? row.status : data.status) + "…");
    await sleep(POLL_MS);
  }
  const items = await api("GET", "/deep-resolution/jobs/" + encodeURIComponent(jobId) + "/stac/items");
  const item = items.features.find((f) => f.id === jobId + "-" + view.mgrs + "-" + view.day);
  if (!item || view !== state.compare) return;
  const key = "result:" + jobId;
  addSource(view, key, jobId, "result", "result: " + modelOf(item) + " (" + item.properties.gsd + " m)", modelOf(item));
  view.left = key;
  fillSelects(view);
  await show("left");
  say("compare-msg", "Left: " + modelOf(item) + ", right: " + view.sources[view.right].short + ". Drag the orange line or the slider to swipe.", "ok");
}
