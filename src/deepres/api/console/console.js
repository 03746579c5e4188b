/* deepres console: sign in, draw or upload an AOI, list its dates, run a job, compare results.
 *
 * Plain browser JavaScript, no build step; Leaflet is the only library (vendored under
 * vendor/leaflet). Every call goes to this server's own API with the bearer JWT that
 * POST /auth/token gives for the pasted client token; the JWT lives in sessionStorage (this tab
 * only) and the client token itself is never stored.
 */
(function () {
  "use strict";

  const JWT_KEY = "deepres.jwt";
  const JWT_EXPIRES_KEY = "deepres.jwt.expires";
  const EARTH_RADIUS_M = 6371007.181; // authalic radius: a sphere with the ellipsoid's area
  const JOB_POLL_MS = 2000;

  const $ = (id) => document.getElementById(id);
  const state = {
    jwt: null,
    aoi: null, // GeoJSON object sent as `aoi` (what was drawn or uploaded)
    jobId: null,
    jobTimer: null,
    items: {}, // STAC items of the open job, by id
    compare: null, // {item, inputUrl, resultUrl}
    overlay: null,
    processedSeen: -1,
  };

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = {};
    if (state.jwt) headers.Authorization = "Bearer " + state.jwt;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await apiError(response);
    return response.json();
  }

  async function apiError(response) {
    let message = response.status + " " + response.statusText;
    try {
      const env = await response.json();
      const data = env.data || {};
      message = data.detail || data.message || env.errorMessage || message;
    } catch (e) {
      /* not the error envelope: keep the status line */
    }
    if (response.status === 401) signOut("Your session has ended: sign in again.");
    return new ApiError(response.status, message);
  }

  async function blobUrl(path) {
    const response = await fetch(path, { headers: { Authorization: "Bearer " + state.jwt } });
    if (!response.ok) throw await apiError(response);
    return URL.createObjectURL(await response.blob());
  }

  function say(id, text, kind) {
    const el = $(id);
    el.textContent = text || "";
    el.className = "msg" + (kind ? " " + kind : "");
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---------------------------------------------------------------- sign in
  function restoreSession() {
    const jwt = sessionStorage.getItem(JWT_KEY);
    const expires = Number(sessionStorage.getItem(JWT_EXPIRES_KEY) || 0);
    if (jwt && expires > Date.now()) setSignedIn(jwt);
    else signOut();
  }

  function setSignedIn(jwt) {
    state.jwt = jwt;
    $("who").textContent = "signed in";
    $("sign-out").hidden = false;
    $("token").value = "";
    updateButtons();
  }

  function signOut(message) {
    state.jwt = null;
    sessionStorage.removeItem(JWT_KEY);
    sessionStorage.removeItem(JWT_EXPIRES_KEY);
    $("who").textContent = "signed out";
    $("sign-out").hidden = true;
    if (message) say("token-msg", message, "error");
    updateButtons();
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return say("token-msg", "Paste a client token first.", "error");
    try {
      const answer = await api("POST", "/auth/token", { client_token: token });
      sessionStorage.setItem(JWT_KEY, answer.access_token);
      sessionStorage.setItem(JWT_EXPIRES_KEY, String(Date.now() + answer.expires_in * 1000));
      setSignedIn(answer.access_token);
      say("token-msg", "Signed in for " + Math.round(answer.expires_in / 3600) + " h.", "ok");
      listJobs();
    } catch (e) {
      say("token-msg", e.message, "error");
    }
  }

  function updateButtons() {
    const selected = document.querySelectorAll("#dates tbody input:checked").length;
    $("find-dates").disabled = !(state.jwt && state.aoi);
    $("submit").disabled = !(state.jwt && state.aoi && selected);
  }

  // ---------------------------------------------------------------- map
  const map = L.map("map", { center: [20, 0], zoom: 2, worldCopyJump: true, doubleClickZoom: true });
  L.control.scale({ imperial: false }).addTo(map);
  const graticule = L.layerGroup().addTo(map);
  const aoiLayer = L.featureGroup().addTo(map);
  const draftLayer = L.layerGroup().addTo(map);
  const footprints = L.featureGroup().addTo(map);
  let tiles = null;

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

  function useTiles() {
    const url = $("tile-url").value.trim();
    if (tiles) map.removeLayer(tiles);
    tiles = url ? L.tileLayer(url, { maxZoom: 19 }).addTo(map) : null;
    if (tiles) tiles.bringToBack();
  }

  // ---------------------------------------------------------------- AOI: draw, upload, area
  const draw = { mode: null, points: [], preview: null };

  function startDrawing(mode) {
    stopDrawing();
    draw.mode = mode;
    $("draw-" + (mode === "rect" ? "rect" : "poly")).classList.add("active");
    $("finish").hidden = mode !== "poly";
    $("map").classList.add("drawing");
    map.doubleClickZoom.disable();
    say("aoi-msg", mode === "rect" ? "Click two opposite corners." : "Click the vertices; click the first one again, double-click or Finish to close.");
  }

  function stopDrawing() {
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

  function redrawDraft(cursor) {
    draftLayer.clearLayers();
    const pts = cursor ? draw.points.concat([cursor]) : draw.points;
    if (draw.mode === "rect" && pts.length === 2) {
      draftLayer.addLayer(L.rectangle(L.latLngBounds(pts[0], pts[1]), { color: "#d9822b", weight: 2, dashArray: "4 4" }));
    } else if (pts.length > 1) {
      draftLayer.addLayer(L.polyline(pts, { color: "#d9822b", weight: 2, dashArray: "4 4" }));
    }
    draw.points.forEach((p) => draftLayer.addLayer(L.circleMarker(p, { radius: 4, color: "#d9822b" })));
  }

  function onMapClick(event) {
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

  function finishPolygon(vertices) {
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

  function hectares(obj) {
    let m2 = 0;
    for (const rings of polygonsOf(obj)) {
      rings.forEach((ring, i) => (m2 += (i === 0 ? 1 : -1) * Math.abs(ringArea(ring))));
    }
    return m2 / 10000;
  }

  function formatHa(ha) {
    return ha.toLocaleString("en", { maximumFractionDigits: 2 }) + " ha";
  }

  function setAoi(obj, how) {
    const polygons = polygonsOf(obj);
    if (!polygons.length) return say("aoi-msg", "No polygon found in that GeoJSON.", "error");
    state.aoi = obj;
    aoiLayer.clearLayers();
    aoiLayer.addLayer(L.geoJSON(obj, { style: { color: "#1d5b8c", weight: 2, fillOpacity: 0.08 } }));
    map.fitBounds(aoiLayer.getBounds(), { padding: [40, 40], maxZoom: 16 });
    $("area").textContent = "≈ " + formatHa(hectares(obj));
    $("area-server").textContent = "";
    say("aoi-msg", "AOI " + how + ".", "ok");
    $("dates").hidden = true;
    $("dates").querySelector("tbody").innerHTML = "";
    updateButtons();
  }

  function clearAoi() {
    stopDrawing();
    state.aoi = null;
    aoiLayer.clearLayers();
    $("area").textContent = "-";
    $("area-server").textContent = "";
    say("aoi-msg", "");
    updateButtons();
  }

  function uploadAoi() {
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

  // ---------------------------------------------------------------- available dates
  function defaultWindow() {
    const end = new Date();
    const start = new Date(end.getTime() - 90 * 86400000);
    $("end").value = end.toISOString().slice(0, 10);
    $("start").value = start.toISOString().slice(0, 10);
  }

  async function findDates() {
    const body = { aoi: state.aoi, cloud_cover: Number($("cloud").value) };
    if ($("start").value) body.start_date = $("start").value;
    if ($("end").value) body.end_date = $("end").value;
    $("find-dates").disabled = true;
    $("dates").hidden = true;
    say("dates-msg", "Searching…");
    try {
      const started = await api("POST", "/deep-resolution/available_dates/initiate", body);
      let status = started;
      while (status.status === "NEW" || status.status === "PROCESSING") {
        await sleep(Math.min(Math.max(status.nextTry || 1, 0.5), 3) * 1000);
        status = await api("POST", "/tasking/check-status", { pipelineId: started.pipelineId });
        say("dates-msg", "Searching… (" + status.status + ")");
      }
      const answer = await api("POST", "/deep-resolution/available_dates/retrieve", { pipelineId: started.pipelineId });
      showDates(answer.data);
    } catch (e) {
      say("dates-msg", e.message, "error");
    } finally {
      updateButtons();
    }
  }

  function showDates(data) {
    const dates = data.available_dates || [];
    if (typeof data.area_hectares === "number") {
      $("area-server").textContent = "(service: " + formatHa(data.area_hectares) + ")";
    }
    const tbody = $("dates").querySelector("tbody");
    tbody.innerHTML = "";
    for (const d of dates) {
      const day = d.date.slice(0, 10);
      const tr = document.createElement("tr");
      tr.dataset.date = day;
      tr.innerHTML = "<td><input type='checkbox'></td><td></td><td></td><td></td>";
      tr.querySelector("input").value = day;
      tr.cells[1].textContent = day;
      tr.cells[2].textContent = d.mgrs;
      tr.cells[3].textContent = Number(d.cloud_cover).toFixed(1);
      tbody.appendChild(tr);
    }
    $("dates").hidden = dates.length === 0;
    say("dates-msg", dates.length ? dates.length + " date(s) clear enough over the AOI." : "No date is clear enough over the AOI in that window.", dates.length ? "ok" : "error");
  }

  // ---------------------------------------------------------------- jobs
  async function submitJob() {
    const dates = [...new Set([...document.querySelectorAll("#dates tbody input:checked")].map((c) => c.value))];
    const body = { aoi: state.aoi, cloud_cover: Number($("cloud").value), dates, scale: Number($("scale").value) };
    $("submit").disabled = true;
    try {
      const answer = await api("POST", "/deep-resolution", body);
      say("job-msg", "Job queued.", "ok");
      openJob(answer.data.job_id);
      listJobs();
    } catch (e) {
      say("job-msg", e.message, "error");
    } finally {
      updateButtons();
    }
  }

  function openJob(jobId) {
    if (state.jobTimer) clearTimeout(state.jobTimer);
    state.jobId = jobId;
    state.items = {};
    state.processedSeen = -1;
    footprints.clearLayers();
    $("job-id").textContent = jobId;
    $("job-state").textContent = "";
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
      tr.cells[3].textContent = d.cloud_cover == null ? "" : Number(d.cloud_cover).toFixed(1);
      const item = state.items[state.jobId + "-" + d.mgrs + "-" + day];
      if (d.status === "PROCESSED" && item) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "small compare-btn";
        button.textContent = "Compare";
        button.addEventListener("click", () => openCompare(item));
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
      footprints.addLayer(L.geoJSON(item, { style: { color: "#1e6b34", weight: 2, fill: false, dashArray: "6 3" } }).bindTooltip(item.id));
    }
  }

  async function listJobs() {
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
        li.appendChild(document.createTextNode(" " + (job.status || "done") + ", " + formatHa(job.area_hectares)));
        ul.appendChild(li);
      }
    } catch (e) {
      /* the list is a convenience; errors show on the actions themselves */
    }
  }

  // ---------------------------------------------------------------- before / after
  async function openCompare(item) {
    const base = "/deep-resolution/jobs/" + encodeURIComponent(state.jobId) + "/quicklook/" + item.id.slice(-10) + ".png";
    const mgrs = "&mgrs=" + encodeURIComponent(item.properties["deepres:mgrs"]);
    closeCompare();
    $("compare").hidden = false;
    $("compare-title").textContent = item.id.slice(-10) + " " + item.properties["deepres:mgrs"] + " (" + item.properties.gsd + " m)";
    try {
      const [inputUrl, resultUrl] = await Promise.all([blobUrl(base + "?kind=input" + mgrs), blobUrl(base + "?kind=result" + mgrs)]);
      state.compare = { item, inputUrl, resultUrl };
      const input = $("ql-input");
      const result = $("ql-result");
      await Promise.all([loaded(input, inputUrl), loaded(result, resultUrl)]);
      $("swipe").style.aspectRatio = result.naturalWidth + " / " + result.naturalHeight;
      $("swipe-range").style.width = $("swipe").offsetWidth + "px";
      setSwipe(Number($("swipe-range").value));
      showOverlay();
      map.invalidateSize(); // the compare panel took some of the map's height
      map.fitBounds(itemBounds(item), { padding: [30, 30], animate: false });
    } catch (e) {
      say("job-msg", e.message, "error");
    }
  }

  function loaded(img, url) {
    return new Promise((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error("a quicklook did not load"));
      img.src = url;
    });
  }

  function closeCompare() {
    if (state.overlay) map.removeLayer(state.overlay);
    state.overlay = null;
    if (state.compare) {
      URL.revokeObjectURL(state.compare.inputUrl);
      URL.revokeObjectURL(state.compare.resultUrl);
    }
    state.compare = null;
    $("compare").hidden = true;
    map.invalidateSize();
  }

  function itemBounds(item) {
    const [w, s, e, n] = item.bbox;
    return L.latLngBounds([s, w], [n, e]);
  }

  function showOverlay() {
    if (state.overlay) map.removeLayer(state.overlay);
    state.overlay = null;
    const kind = $("overlay-kind").value;
    if (!state.compare || kind === "none") return;
    const url = kind === "input" ? state.compare.inputUrl : state.compare.resultUrl;
    state.overlay = L.imageOverlay(url, itemBounds(state.compare.item), {
      opacity: Number($("overlay-opacity").value) / 100,
      className: "ql-overlay",
    }).addTo(map);
  }

  /** Shows the input left of `percent` and the result right of it. */
  function setSwipe(percent) {
    $("ql-result").style.clipPath = "inset(0 0 0 " + percent + "%)";
    $("swipe-handle").style.left = percent + "%";
    $("swipe-range").value = String(percent);
  }

  function swipeTo(event) {
    const box = $("swipe").getBoundingClientRect();
    setSwipe(Math.round(Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1) * 1000) / 10);
  }

  // ---------------------------------------------------------------- wiring
  $("token-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("draw-rect").addEventListener("click", () => startDrawing("rect"));
  $("draw-poly").addEventListener("click", () => startDrawing("poly"));
  $("finish").addEventListener("click", () => finishPolygon(draw.points));
  $("clear-aoi").addEventListener("click", clearAoi);
  $("aoi-file").addEventListener("change", uploadAoi);
  $("find-dates").addEventListener("click", findDates);
  $("dates").addEventListener("change", (event) => {
    if (event.target.id === "all-dates") {
      document.querySelectorAll("#dates tbody input").forEach((c) => (c.checked = event.target.checked));
    }
    updateButtons();
  });
  $("submit").addEventListener("click", submitJob);
  $("open-job-btn").addEventListener("click", () => $("open-job").value.trim() && openJob($("open-job").value.trim()));
  $("jobs-box").addEventListener("toggle", listJobs);
  $("set-tiles").addEventListener("click", useTiles);
  $("overlay-kind").addEventListener("change", showOverlay);
  $("overlay-opacity").addEventListener("input", () => state.overlay && state.overlay.setOpacity(Number($("overlay-opacity").value) / 100));
  $("close-compare").addEventListener("click", closeCompare);
  $("swipe-range").addEventListener("input", (event) => setSwipe(Number(event.target.value)));
  $("swipe").addEventListener("pointerdown", (event) => {
    $("swipe").setPointerCapture(event.pointerId);
    swipeTo(event);
  });
  $("swipe").addEventListener("pointermove", (event) => event.buttons && swipeTo(event));
  map.on("click", onMapClick);
  map.on("mousemove", (event) => draw.mode && draw.points.length && redrawDraft(event.latlng));
  map.on("dblclick", () => draw.mode === "poly" && finishPolygon(draw.points));
  document.addEventListener("keydown", (event) => event.key === "Escape" && stopDrawing());

  defaultWindow();
  restoreSession();
  if (state.jwt) listJobs();

  // For scripted use (and the browser test): the map and the page state.
  window.deepresConsole = { map, state, setAoi, openJob };
})();
