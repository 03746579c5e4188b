/* deepres console: sign in, see where the catalog has data, draw or upload an AOI, list its dates,
 * run a job with the model and scale of one's choice, and judge the result at full resolution.
 *
 * Plain browser JavaScript modules, no build step; Leaflet is the only library (vendored under
 * vendor/leaflet, loaded before this module as the global `L`). This file wires the page; each
 * concern has its own module: core (state, API, session), mapview, aoi, catalog, dates, jobs and
 * viewer (the before/after comparison).
 */
import { $, on, restoreSession, signIn, signOut, state } from "./core.js";
import { clearAoi, draw, finishPolygon, onMapClick, redrawDraft, setAoi, startDrawing, stopDrawing, uploadAoi } from "./aoi.js";
import { loadCatalog, todayWindow } from "./catalog.js";
import { findDates, onDatesChange } from "./dates.js";
import { fillScales, listJobs, loadModels, openJob, submitJob, updateButtons } from "./jobs.js";
import { map, useTiles } from "./mapview.js";
import * as viewer from "./viewer.js";

on("changed", updateButtons);
on("signed-in", () => {
  listJobs();
  loadCatalog();
});

$("token-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
$("draw-rect").addEventListener("click", () => startDrawing("rect"));
$("draw-poly").addEventListener("click", () => startDrawing("poly"));
$("finish").addEventListener("click", () => finishPolygon(draw.points));
$("clear-aoi").addEventListener("click", clearAoi);
$("aoi-file").addEventListener("change", uploadAoi);
for (const id of ["start", "end"]) {
  $(id).addEventListener("input", () => {
    state.windowChosen = true;
    $("window-hint").textContent = "";
  });
}
$("find-dates").addEventListener("click", findDates);
$("dates").addEventListener("change", onDatesChange);
$("model").addEventListener("change", fillScales);
$("submit").addEventListener("click", submitJob);
$("open-job-btn").addEventListener("click", () => $("open-job").value.trim() && openJob($("open-job").value.trim()));
$("jobs-box").addEventListener("toggle", listJobs);
$("tile-form").addEventListener("submit", (event) => {
  event.preventDefault();
  useTiles();
});

$("left-src").addEventListener("change", () => viewer.chooseSource("left"));
$("right-src").addEventListener("change", () => viewer.chooseSource("right"));
$("compare-other").addEventListener("click", viewer.runOther);
$("overlay-kind").addEventListener("change", viewer.showOverlay);
$("overlay-opacity").addEventListener("input", viewer.setOverlayOpacity);
$("close-compare").addEventListener("click", viewer.closeCompare);
$("compare-large").addEventListener("click", () => {
  const large = $("right").classList.toggle("large");
  $("compare-large").textContent = large ? "Show map" : "Larger";
  map.invalidateSize();
  viewer.resetView(state.compare ? state.compare.zoom : 1);
});
$("zoom-in").addEventListener("click", (event) => viewer.zoomStep(1, event));
$("zoom-out").addEventListener("click", (event) => viewer.zoomStep(-1, event));
$("zoom-1").addEventListener("click", () => viewer.resetView(1));
$("zoom-fit").addEventListener("click", () => viewer.resetView("fit"));
$("swipe-range").addEventListener("input", (event) => viewer.setSwipe(Number(event.target.value)));
$("swipe").addEventListener("pointerdown", viewer.onPointerDown);
$("swipe").addEventListener("pointermove", viewer.onPointerMove);
$("swipe").addEventListener("pointerup", viewer.onPointerUp);
$("swipe").addEventListener("wheel", viewer.onWheel, { passive: false });
$("swipe").addEventListener("dblclick", (event) => viewer.zoomStep(1, event));

map.on("click", onMapClick);
map.on("mousemove", (event) => draw.mode && draw.points.length && redrawDraft(event.latlng));
map.on("dblclick", () => draw.mode === "poly" && finishPolygon(draw.points));
document.addEventListener("keydown", (event) => event.key === "Escape" && stopDrawing());

todayWindow();
updateButtons();
loadModels();
restoreSession();

// For scripted use (and the browser test): the map, the page state and a few actions.
window.deepresConsole = { map, state, setAoi, openJob, resetView: viewer.resetView };
