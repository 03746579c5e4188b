/* deepres console, the map: Leaflet (vendored global `L`), a graticule instead of a basemap, the
 * layers the other modules draw on, and an optional tile server the user names, whose failures
 * are said out loud.
 */
import { $, say } from "./core.js";

export const map = L.map("map", { center: [20, 0], zoom: 2, worldCopyJump: true, doubleClickZoom: true });
L.control.scale({ imperial: false }).addTo(map);
const graticule = L.layerGroup().addTo(map);
export const catalogLayer = L.featureGroup().addTo(map); // catalog extent and recent scenes
export const aoiLayer = L.featureGroup().addTo(map);
export const draftLayer = L.layerGroup().addTo(map);
export const footprints = L.featureGroup().addTo(map); // products of the open job

const GRATICULE_STEPS = [30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];

function drawGraticule() {
  graticule.clearLayers();
  const b = map.getBounds();
  const span = Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth());
  const step = GRATICULE_STEPS.find((s) => span / s >= 4) || GRATICULE_STEPS.at(-1);
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const style = { color: "#b8c4cf", weight: 1, interactive: false };
  const west = Math.floor(b.getWest() / step) * step;
  const south = Math.max(-85, Math.floor(b.getSouth() / step) * step);
  const north = Math.min(85, b.getNorth());
  for (let lon = west; lon <= b.getEast(); lon += step) {
    graticule.addLayer(L.polyline([[south, lon], [north, lon]], style));
    label([b.getNorth(), lon], lon.toFixed(digits) + "°", [-2, -2]);
  }
  for (let lat = south; lat <= north; lat += step) {
    graticule.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
    label([lat, b.getWest()], lat.toFixed(digits) + "°", [-4, 12]);
  }
}

function label(latlng, text, anchor) {
  const at = map.latLngToContainerPoint(latlng);
  if (at.x < 56 && at.y < 24) return; // the corner where both kinds of label would collide
  const icon = L.divIcon({ className: "graticule-label", html: text, iconSize: null, iconAnchor: anchor });
  graticule.addLayer(L.marker(latlng, { icon, interactive: false, keyboard: false }));
}

map.on("moveend zoomend resize", drawGraticule);
drawGraticule();

/** Tooltip content that is text, never markup (ids and names may come from a remote catalog). */
export function tip(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

/** [west, south, east, north] as Leaflet bounds. */
export function boundsOf(bbox) {
  const [w, s, e, n] = bbox;
  return L.latLngBounds([s, w], [n, e]);
}

// ---------------------------------------------------------------- basemap tiles
let tiles = null;

/** Shows the tile server named in #tile-url under everything, and says when its tiles fail. */
export function useTiles() {
  const url = $("tile-url").value.trim();
  if (tiles) map.removeLayer(tiles);
  tiles = null;
  tell("", "");
  if (!url) return;
  if (!["{z}", "{x}", "{y}"].every((part) => url.includes(part))) {
    return tell("A tile URL needs {z}, {x} and {y}, e.g. https://tiles.example/{z}/{x}/{y}.png.", "error");
  }
  const host = hostOf(url);
  const count = { loaded: 0, failed: 0 };
  const layer = L.tileLayer(url, { maxZoom: 19 });
  layer.on("tileerror", () => {
    count.failed += 1;
    report(layer, host, count);
  });
  layer.on("tileload", () => {
    count.loaded += 1;
    report(layer, host, count);
  });
  tiles = layer.addTo(map);
  tiles.bringToBack();
  tell("Loading tiles from " + host + "…", "");
}

/** Says how the basemap fares under the tile URL, and over the map too when it fails. */
function tell(text, kind) {
  say("tiles-msg", text, kind);
  const banner = $("map-msg");
  banner.textContent = kind === "error" ? text : "";
  banner.hidden = kind !== "error";
}

function report(layer, host, count) {
  if (layer !== tiles) return; // a replaced layer's late answers
  if (count.failed && !count.loaded) {
    tell("The tile server " + host + " did not deliver any tile (" + count.failed + " failed): check the URL, that the server is up and that this browser may reach it.", "error");
  } else if (count.failed) {
    tell(count.failed + " of " + (count.failed + count.loaded) + " tiles from " + host + " failed to load.", "error");
  } else {
    tell("Basemap from " + host + ": " + count.loaded + " tile(s) loaded.", "ok");
  }
}

function hostOf(url) {
  try {
    return new URL(url.replace(/\{[^}]*\}/g, "0")).host || url;
  } catch (e) {
    return url;
  }
}
