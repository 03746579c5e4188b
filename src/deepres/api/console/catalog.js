/* deepres console, where the data is: GET /deep-resolution/catalog fits the map to the catalog's
 * extent, lists its most recent scenes (click one to zoom to it and search its date) and sets
 * the date window around the newest scene, unless the user already chose one.
 */
import { $, api, say, state } from "./core.js";
import { boundsOf, catalogLayer, map, tip } from "./mapview.js";

const RECENT = 8;
const WINDOW_DAYS = 90;
const DAY_MS = 86400000;

const isoDay = (date) => date.toISOString().slice(0, 10);

/** Until the catalog answers: the 90 days up to today. */
export function todayWindow() {
  const end = new Date();
  $("end").value = isoDay(end);
  $("start").value = isoDay(new Date(end.getTime() - WINDOW_DAYS * DAY_MS));
}

export async function loadCatalog() {
  if (!state.jwt) return;
  say("catalog-msg", "Reading the catalog…");
  try {
    const catalog = await api("GET", "/deep-resolution/catalog?limit=" + RECENT);
    state.catalog = catalog;
    showCatalog(catalog);
  } catch (e) {
    say("catalog-msg", "The catalog did not answer: " + e.message, "error");
  }
}

function showCatalog(catalog) {
  const { bbox, start, end } = catalog.extent;
  const scenes = catalog.recent;
  const where = catalog.kind === "static" ? catalog.scene_count + " scene(s) in a local catalog" : "STAC API, collection " + catalog.collection;
  const when = start ? ", " + start.slice(0, 10) + " to " + (end ? end.slice(0, 10) : "now") : "";
  say("catalog-msg", where + when + ".", "ok");

  catalogLayer.clearLayers();
  if (bbox) {
    catalogLayer.addLayer(L.rectangle(boundsOf(bbox), { color: "#7a8794", weight: 1, dashArray: "3 5", fill: false, interactive: false }));
  }
  const ul = $("scenes");
  ul.innerHTML = "";
  for (const scene of scenes) {
    const footprint = scene.geometry || (scene.bbox && L.rectangle(boundsOf(scene.bbox)).toGeoJSON());
    const layer = footprint && L.geoJSON(footprint, { style: { color: "#8a5a00", weight: 1, fillOpacity: 0.04 } }).bindTooltip(tip(scene.id));
    if (layer) {
      catalogLayer.addLayer(layer);
      const dot = L.circleMarker(layer.getBounds().getCenter(), { radius: 5, color: "#8a5a00", weight: 2, fillOpacity: 0.6 });
      dot.bindTooltip(tip(scene.date + " " + scene.mgrs)).on("click", () => useScene(scene, layer));
      catalogLayer.addLayer(dot);
    }
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link scene-btn";
    button.dataset.id = scene.id;
    button.title = scene.id + ": zoom to it and search its date";
    button.textContent = scene.date + " " + scene.mgrs;
    li.appendChild(button);
    const cloud = scene.cloud_cover == null ? "cloud unknown" : Number(scene.cloud_cover).toFixed(1) + " % cloud";
    li.appendChild(document.createTextNode(" " + cloud));
    button.addEventListener("click", () => useScene(scene, layer));
    ul.appendChild(li);
  }
  $("scenes-box").hidden = scenes.length === 0;

  if (!state.aoi) {
    if (bbox) map.fitBounds(boundsOf(bbox), { padding: [20, 20], animate: false });
    else if (catalogLayer.getLayers().length) map.fitBounds(catalogLayer.getBounds(), { padding: [20, 20], animate: false });
  }
  if (!state.windowChosen && scenes.length) {
    const newest = new Date(scenes[0].date + "T00:00:00Z");
    const first = start ? new Date(start.slice(0, 10) + "T00:00:00Z") : null;
    let from = new Date(newest.getTime() - WINDOW_DAYS * DAY_MS);
    if (first && first > from) from = first;
    $("start").value = isoDay(from);
    $("end").value = isoDay(newest);
    $("window-hint").textContent = "Window: up to the catalog's newest scene (" + scenes[0].date + ").";
  }
}

/** Zooms to a scene's footprint and narrows the date window to its day. */
function useScene(scene, layer) {
  if (layer) map.fitBounds(layer.getBounds(), { padding: [20, 20] });
  $("start").value = scene.date;
  $("end").value = scene.date;
  state.windowChosen = true;
  $("window-hint").textContent = "Window: " + scene.date + " (" + scene.mgrs + "), from the catalog list.";
  say("aoi-msg", "Draw or upload an AOI inside the " + scene.mgrs + " footprint (between 3 and 25,000 ha).");
}
