/* deepres console, shared core: page state, messages, the API client and the session.
 *
 * Every call goes to this server's own API with the bearer JWT that POST /auth/token gives for
 * the pasted client token; the JWT lives in sessionStorage (this tab only) and the client token
 * itself is never stored.
 */

const JWT_KEY = "deepres.jwt";
const JWT_EXPIRES_KEY = "deepres.jwt.expires";
const JOB_KEY = "deepres.job.";

export const $ = (id) => document.getElementById(id);

export const state = {
  jwt: null,
  aoi: null, // GeoJSON object sent as `aoi` (what was drawn or uploaded)
  serverHa: null, // the service's area of the AOI, once a date search told it
  datesListed: false, // a date search answered for the current AOI
  windowChosen: false, // the user (or a catalog scene) set the date window
  catalog: null, // GET /deep-resolution/catalog
  models: [], // GET /deep-resolution/models results
  submitting: false,
  jobId: null,
  jobTimer: null,
  items: {}, // STAC items of the open job, by id
  processedSeen: -1,
  compare: null, // the before/after viewer's state (viewer.js)
  overlay: null,
};

// ---------------------------------------------------------------- events between modules
const listeners = {};

/** Calls `fn` whenever `emit(name)` runs ("changed": something that enables a button did). */
export function on(name, fn) {
  (listeners[name] = listeners[name] || []).push(fn);
}

export function emit(name, ...args) {
  for (const fn of listeners[name] || []) fn(...args);
}

// ---------------------------------------------------------------- messages
export function say(id, text, kind) {
  const el = $(id);
  el.textContent = text || "";
  el.className = "msg" + (kind ? " " + kind : "");
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function formatHa(ha) {
  return ha.toLocaleString("en", { maximumFractionDigits: 2 }) + " ha";
}

// ---------------------------------------------------------------- API
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
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

/** An object URL of what `path` answers (a quicklook PNG), fetched with the bearer JWT. */
export async function blobUrl(path) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + state.jwt } });
  if (!response.ok) throw await apiError(response);
  return URL.createObjectURL(await response.blob());
}

/** Keeps what a job was submitted with (its AOI above all), so it can be run again to compare. */
export function rememberJob(jobId, body) {
  sessionStorage.setItem(JOB_KEY + jobId, JSON.stringify(body));
}

/** What `rememberJob` kept for `jobId` in this tab, or null. */
export function recallJob(jobId) {
  const text = sessionStorage.getItem(JOB_KEY + jobId);
  return text ? JSON.parse(text) : null;
}

// ---------------------------------------------------------------- session
export function restoreSession() {
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
  emit("changed");
  emit("signed-in");
}

export function signOut(message) {
  state.jwt = null;
  sessionStorage.removeItem(JWT_KEY);
  sessionStorage.removeItem(JWT_EXPIRES_KEY);
  $("who").textContent = "signed out";
  $("sign-out").hidden = true;
  if (message) say("token-msg", message, "error");
  emit("changed");
}

export async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return say("token-msg", "Paste a client token first.", "error");
  try {
    const answer = await api("POST", "/auth/token", { client_token: token });
    sessionStorage.setItem(JWT_KEY, answer.access_token);
    sessionStorage.setItem(JWT_EXPIRES_KEY, String(Date.now() + answer.expires_in * 1000));
    say("token-msg", "Signed in for " + Math.round(answer.expires_in / 3600) + " h.", "ok");
    setSignedIn(answer.access_token);
  } catch (e) {
    say("token-msg", e.message, "error");
  }
}
