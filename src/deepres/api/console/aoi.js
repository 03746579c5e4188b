/* deepres console, the area of interest: draw a rectangle or polygon, or upload GeoJSON; its area
 * on the authalic sphere (the service answers the ellipsoid's once dates are searched).
 */
import { $, emit, formatHa, say, state } from "./core.js";
import { aoiLayer, draftLayer, map } from "./mapview.js";

const EARTH_RADIUS_M = 6371007.181; // authalic radius: a sphere with the ellipsoid's area

export const draw = { mode: null, points: [], preview: null };

export function startDrawing(mode) {
  stopDrawing();
  draw.mode = mode;
  $("draw-" + (mode === "rect" ? "rect" : "poly")).classList.add("active");
  $("finish").hidden = mode !== "poly";
  $("map").classList.add("drawing");
  map.doubleClickZoom.disable();
  say("aoi-msg", mode === "rect" ? "Click two opposite corners." : "Click the vertices; click the first one again, double-click or Finish to close.");
}

export function stopDrawing() {
  draw.mode = null;
  draw.points = [];
  draftLayer.clearLayers();
  draw.preview = null;
  $("draw-rect").classList.remove("active");
  $("draw-poly").classList.remove("active");
  $("finish").hidden = true;
  $("map").classList.remove("drawing");
  map.doubleClickZoom.enable();
}

export function redrawDraft(cursor) {
  draftLayer.clearLayers();
  const pts = cursor ? draw.points.concat([cursor]) : draw.points;
  if (draw.mode === "rect" && pts.length === 2) {
    draftLayer.addLayer(L.rectangle(L.latLngBounds(pts[0], pts[1]), { color: "#d9822b", weight: 2, dashArray: "4 4" }));
  } else if (pts.length > 1) {
    draftLayer.addLayer(L.polyline(pts, { color: "#d9822b", weight: 2, dashArray: "4 4" }));
  }
  draw.points.forEach((p) => draftLayer.addLayer(L.circleMarker(p, { radius: 4, color: "#d9822b" })));
}

export function onMapClick(event) {
  if (!draw.mode) return;
  const p = event.latlng.wrap();
  if (draw.mode === "rect") {
    draw.points.push(p);
    if (draw.points.length === 2) {
      const b = L.latLngBounds(draw.points[0], draw.points[1]);
      finishPolygon([b.getSouthWest(), b.getSouthEast(), b.getNorthEast(), b.getNorthWest()]);
    } else redrawDraft();
    return;
  }
  if (draw.points.length >= 3) {
    const first = map.latLngToContainerPoint(draw.points[0]);
    if (first.distanceTo(map.latLngToContainerPoint(p)) < 8) return finishPolygon(draw.points);
  }
  draw.points.push(p);
  redrawDraft();
}

export function finishPolygon(vertices) {
  // A double-click also clicks twice: drop repeated vertices.
  const points = vertices.filter((p, i) => i === 0 || !p.equals(vertices[i - 1]));
  if (points.length < 3) return say("aoi-msg", "A polygon needs at least 3 vertices.", "error");
  const ring = points.map((p) => [round7(p.lng), round7(p.lat)]);
  ring.push(ring[0].slice());
  stopDrawing();
  setAoi({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [ring] } }, "drawn");
}

const round7 = (v) => Math.round(v * 1e7) / 1e7;

function polygonsOf(obj) {
  if (!obj || typeof obj !== "object") return [];
  if (obj.type === "FeatureCollection") return (obj.features || []).flatMap(polygonsOf);
  if (obj.type === "Feature") return polygonsOf(obj.geometry);
  if (obj.type === "Polygon") return [obj.coordinates];
  if (obj.type === "MultiPolygon") return obj.coordinates;
  if (obj.type === "GeometryCollection") return (obj.geometries || []).flatMap(polygonsOf);
  return [];
}

/** Square metres inside a lon/lat ring on the authalic sphere (signed by winding). */
function ringArea(ring) {
  const rad = Math.PI / 180;
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [lon1, lat1] = ring[i];
    const [lon2, lat2] = ring[i + 1];
    sum += (lon2 - lon1) * rad * (2 + Math.sin(lat1 * rad) + Math.sin(lat2 * rad));
  }
  return (sum * EARTH_RADIUS_M * EARTH_RADIUS_M) / 2;
}

/** The hectares inside every polygon of a GeoJSON object (holes taken out). */
export function hectares(obj) {
  let m2 = 0;
  for (const rings of polygonsOf(obj)) {
    rings.forEach((ring, i) => (m2 += (i === 0 ? 1 : -1) * Math.abs(ringArea(ring))));
  }
  return m2 / 10000;
}

export function setAoi(obj, how) {
  const polygons = polygonsOf(obj);
  if (!polygons.length) return say("aoi-msg", "No polygon found in that GeoJSON.", "error");
  state.aoi = obj;
  state.serverHa = null;
  state.datesListed = false;
  aoiLayer.clearLayers();
  aoiLayer.addLayer(L.geoJSON(obj, { style: { color: "#1d5b8c", weight: 2, fillOpacity: 0.08 } }));
  map.fitBounds(aoiLayer.getBounds(), { padding: [40, 40], maxZoom: 16 });
  $("area").textContent = "≈ " + formatHa(hectares(obj));
  $("area-server").textContent = "";
  say("aoi-msg", "AOI " + how + ".", "ok");
  $("dates").hidden = true;
  $("dates").querySelector("tbody").innerHTML = "";
  emit("changed");
}

export function clearAoi() {
  stopDrawing();
  state.aoi = null;
  state.serverHa = null;
  state.datesListed = false;
  aoiLayer.clearLayers();
  $("area").textContent = "-";
  $("area-server").textContent = "";
  $("dates").hidden = true;
  $("dates").querySelector("tbody").innerHTML = "";
  say("aoi-msg", "");
  emit("changed");
}

export function uploadAoi() {
  const file = $("aoi-file").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    try {
      setAoi(JSON.parse(reader.result), "uploaded from " + file.name);
    } catch (e) {
      say("aoi-msg", "That file is not GeoJSON: " + e.message, "error");
    }
  };
  reader.readAsText(file);
}
