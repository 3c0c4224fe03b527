// The web app's shared module: API calls, the session, a DOM builder, toasts and dialogs,
// streams, formatting, and the shell's wiring (navigation drawer, theme toggle, sign out).
// Every screen module imports from here; it talks only to the documented APIs and keeps the
// JWT in sessionStorage, so closing the tab signs out. Text reaches the DOM as text nodes only.

const TOKEN_KEY = "codex.token";
const REFRESH_KEY = "codex.refresh";
const USER_KEY = "codex.user";
const REFRESH_PATH = "/api/v1/admin/auth/token/refresh";
const SIGN_IN_PATH = "/app/login";
const HEARTBEATS = new Set(["heartbeat", "ping"]);

// ---------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------
const read = (key) => { try { return sessionStorage.getItem(key); } catch { return null; } };
const write = (key, value) => {
  try {
    if (value === null || value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch { /* storage disabled: the session lasts as long as the page */ }
};

export const session = {
  get token() { return read(TOKEN_KEY); },
  get refreshToken() { return read(REFRESH_KEY); },
  get user() {
    try { return JSON.parse(read(USER_KEY) || "null"); } catch { return null; }
  },
  set({ token, refreshToken, user } = {}) {
    if (token !== undefined) write(TOKEN_KEY, token);
    if (refreshToken !== undefined) write(REFRESH_KEY, refreshToken);
    if (user !== undefined) write(USER_KEY, user === null ? null : JSON.stringify(user));
  },
  clear() { for (const key of [TOKEN_KEY, REFRESH_KEY, USER_KEY]) write(key, null); },
};

function signInUrl() {
  const next = location.pathname + location.search + location.hash;
  return next.startsWith(SIGN_IN_PATH) || next === "/app/" ? SIGN_IN_PATH : `${SIGN_IN_PATH}?next=${encodeURIComponent(next)}`;
}

export function signOut() {
  const refresh = session.refreshToken;
  const token = session.token;
  session.clear();
  if (token) {
    // Revoke the tokens server-side too; the page leaves whether or not it answers.
    fetch("/api/auth/logout", {
      method: "POST", keepalive: true,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ refresh_token: refresh || "" }),
    }).catch(() => {});
  }
  location.replace(SIGN_IN_PATH);
}

/** Resolves to the signed-in user ({id, email, username}); sends a visitor with no session to
 * the sign-in page (and never resolves then). Fills the shell's #whoami. */
export async function requireSignIn() {
  if (!session.token) {
    location.replace(signInUrl());
    return new Promise(() => {});
  }
  const user = await api("/user/me");
  session.set({ user });
  const who = document.getElementById("whoami");
  if (who) who.textContent = user.username || user.email || "";
  return user;
}

// ---------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

// The five APIs' error bodies: {detail} (000, 004, 003), {message} (001, 002), {msg},
// DRF field errors {field: [...]}, and 004's {error: "insufficient_credits"}.
function errorMessage(body, status) {
  const fallback = `Request failed (${status}).`;
  if (!body || typeof body !== "object") return typeof body === "string" && body.trim() && body.length < 300 ? body.trim() : fallback;
  for (const key of ["detail", "message", "msg"]) {
    if (typeof body[key] === "string" && body[key]) return body[key];
  }
  const fields = body.errors || body.validationErrors || body;
  if (fields && typeof fields === "object") {
    for (const [field, value] of Object.entries(fields)) {
      const first = Array.isArray(value) ? value[0] : value;
      if (typeof first === "string") return field === "non_field_errors" ? first : `${field}: ${first}`;
      if (first && typeof first === "object" && typeof first.message === "string") return first.message;
    }
  }
  if (typeof body.error === "string") return body.error.replaceAll("_", " ");
  return fallback;
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

function toFormData(form) {
  if (form instanceof FormData) return form;
  const data = new FormData();
  for (const [key, value] of Object.entries(form)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) data.append(key, item);
  }
  return data;
}

let refreshing = null;

// One refresh at a time however many requests saw the 401 together: refresh tokens rotate,
// so a second concurrent refresh with the same token would be refused.
async function refreshSession() {
  if (!session.refreshToken) return false;
  refreshing ||= (async () => {
    try {
      const response = await fetch(REFRESH_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
      });
      if (!response.ok) return false;
      const body = await response.json();
      const tokens = body && body.access_token ? body : body && body.data;
      if (!tokens || !tokens.access_token) return false;
      session.set({ token: tokens.access_token, refreshToken: tokens.refresh_token || session.refreshToken });
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => { refreshing = null; }, 0);
    }
  })();
  return refreshing;
}

async function send(path, { method = "GET", json, form, query, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { Accept: "application/json", ...headers } };
  if (session.token) init.headers.Authorization = `Bearer ${session.token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = toFormData(form);
  }
  return fetch(withQuery(path, query), init);
}

async function parseBody(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  if (type.includes("json") || /^\s*[[{]/.test(text)) {
    try { return JSON.parse(text); } catch { /* not JSON after all */ }
  }
  return text;
}

// Sends the request; on a 401 for a signed-in session refreshes the token once and retries,
// otherwise sends the visitor to the sign-in page. Returns the Response when it is ok.
async function authorized(path, options) {
  const hadToken = Boolean(session.token);
  let response = await send(path, options);
  if (response.status === 401 && hadToken && await refreshSession()) response = await send(path, options);
  if (response.status === 401 && hadToken) {
    const body = await parseBody(response).catch(() => null);
    session.clear();
    location.assign(signInUrl());
    throw new ApiError(401, errorMessage(body, 401), body);
  }
  if (!response.ok) {
    const body = await parseBody(response).catch(() => null);
    throw new ApiError(response.status, errorMessage(body, response.status), body);
  }
  return response;
}

/** Calls one of our APIs and resolves to its parsed JSON body, exactly as the API sent it (a
 * Sage-style `{code, message, data}` envelope is not unwrapped); text for a non-JSON answer,
 * null for 204. Throws ApiError for any non-2xx answer. */
export async function api(path, options = {}) {
  return parseBody(await authorized(path, options));
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------
// Yields {data, event, id} per frame of a text/event-stream body, or per line of an NDJSON
// (text/plain, application/x-ndjson) one. Comments, blank lines and frames that are not JSON
// carry nothing for us.
async function* frames(response) {
  const sse = (response.headers.get("Content-Type") || "").includes("text/event-stream");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const separator = sse ? "\n\n" : "\n";
  const parse = (chunk) => {
    if (!sse) {
      const line = chunk.trim();
      if (!line) return null;
      try { return { data: JSON.parse(line), event: null, id: null }; } catch { return null; }
    }
    let event = null; let id = null; const data = [];
    for (const line of chunk.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
    if (!data.length) return null;
    try { return { data: JSON.parse(data.join("\n")), event, id }; } catch { return null; }
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf(separator)) >= 0) {
        const frame = parse(buffer.slice(0, end));
        buffer = buffer.slice(end + separator.length);
        if (frame) yield frame;
      }
    }
    const last = parse(buffer);
    if (last) yield last;
  } finally {
    // Left early (the end event, an abort): close the connection rather than leave it to GC.
    reader.cancel().catch(() => {});
  }
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("Aborted", "AbortError")); }, { once: true });
});

/** Streams an SSE or NDJSON endpoint: POST when `json` is given (or `method` says so), else GET.
 * Calls onEvent(data, {event, id, index}) for each event, heartbeats (`{"type":"heartbeat"}`,
 * `{"type":"ping"}`) excepted; `index` counts events from `lastIndex` (0 by default).
 * When the connection drops before `isEnd(data)` was seen and `resume(index)` is given, it
 * reconnects (up to `retries` times, backing off) with the request `resume` returns:
 * `{path, query}` for a GET that replays from the count of events already delivered, so no
 * event is delivered twice. Resolves when the stream ends; rejects on abort or failure. */
export async function streamEvents(path, {
  json, query, signal, onEvent, lastIndex = 0, method, isEnd = () => false, resume, retries = 5,
} = {}) {
  let index = lastIndex;
  let request = { path, query, json, method: method || (json !== undefined ? "POST" : "GET") };
  let failures = 0;
  for (;;) {
    let ended = false;
    try {
      const response = await authorized(request.path, {
        method: request.method, json: request.json, query: request.query, signal,
        headers: { Accept: "text/event-stream, application/x-ndjson, text/plain, application/json" },
      });
      for await (const frame of frames(response)) {
        if (frame.data && HEARTBEATS.has(frame.data.type)) continue;
        failures = 0;
        onEvent(frame.data, { event: frame.event, id: frame.id, index });
        index += 1;
        if (isEnd(frame.data)) { ended = true; break; }
      }
      if (ended || !resume) return;
    } catch (error) {
      if (error.name === "AbortError" || signal?.aborted || error instanceof ApiError || !resume) throw error;
    }
    // Dropped before the end: reconnect from where we are.
    if (++failures > retries) throw new ApiError(0, "The connection was lost and could not be resumed.");
    await sleep(Math.min(400 * 2 ** (failures - 1), 5000), signal);
    const next = resume(index);
    request = { path: next.path, query: next.query, json: next.json, method: next.method || (next.json !== undefined ? "POST" : "GET") };
  }
}

// ---------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------
/** el("button", {class: "btn", text: "Save", attrs: {type: "button"}, on: {click}}, ...children).
 * Strings become text nodes; null/false children are skipped. Never parses markup. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { class: className, text, attrs, on, dataset, ...rest } = props || {};
  if (className) node.className = Array.isArray(className) ? className.filter(Boolean).join(" ") : className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [event, handler] of Object.entries(on || {})) node.addEventListener(event, handler);
  for (const [key, value] of Object.entries(dataset || {})) node.dataset[key] = String(value);
  // Plain DOM properties (hidden, disabled, value, type, ...); never innerHTML/outerHTML.
  for (const [key, value] of Object.entries(rest)) {
    if (key === "innerHTML" || key === "outerHTML") throw new Error("el() never sets markup");
    node[key] = value;
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A short message in the corner, read out by screen readers; kind: info, ok, warn, err. */
export function toast(message, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = el("div", { attrs: { id: "toasts", role: "status", "aria-live": "polite" }, class: "toasts" });
    document.body.append(box);
  }
  const item = el("div", { class: `toast ${kind}` }, el("span", { text: message }),
    el("button", { class: "btn btn-ghost btn-icon", attrs: { type: "button", "aria-label": "Dismiss" }, text: "×", on: { click: () => item.remove() } }));
  box.append(item);
  setTimeout(() => item.remove(), kind === "err" ? 8000 : 4000);
  return item;
}

/** A modal <dialog> asking yes or no; resolves to true for the confirming button. The native
 * modal dialog keeps the focus inside it and closes on Escape. */
export function confirmDialog(message, { confirm = "Delete", cancel = "Cancel", danger = true } = {}) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "dialog", attrs: { "aria-labelledby": "confirm-dialog-text" } },
      el("p", { attrs: { id: "confirm-dialog-text" }, text: message }),
      el("div", { class: "toolbar end" },
        el("button", { class: "btn", attrs: { type: "button", value: "cancel" }, text: cancel, on: { click: () => dialog.close("cancel") } }),
        el("button", { class: `btn ${danger ? "btn-danger" : "btn-primary"}`, attrs: { type: "button", value: "ok" }, text: confirm, on: { click: () => dialog.close("ok") } })));
    const opener = document.activeElement;
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector("button[value=cancel]").focus();
  });
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------
/** A date (ISO string, Date, or epoch seconds/milliseconds) in the browser's locale. */
export function formatDate(value, { time = true } = {}) {
  if (value === null || value === undefined || value === "") return "";
  let date;
  if (typeof value === "number") date = new Date(value < 1e12 ? value * 1000 : value);
  else date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, time ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" });
}

export function formatBytes(bytes) {
  const value = Number(bytes) || 0;
  if (value < 1024) return `${value} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let size = value / 1024;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return `${size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

export function debounce(fn, ms = 250) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// ---------------------------------------------------------------------------
// The shell (base.html): navigation drawer, theme toggle, sign out
// ---------------------------------------------------------------------------
const THEME_LABELS = { system: "follow the system", light: "light", dark: "dark" };
const THEME_ICONS = { system: "◐", light: "☀", dark: "☾" };

function bindThemeToggle() {
  const button = document.getElementById("theme-toggle");
  const theme = window.codexTheme;
  if (!button || !theme) return;
  const show = () => {
    const label = `Theme: ${THEME_LABELS[theme.choice]}`;
    button.setAttribute("aria-label", label);
    button.title = label;
    button.replaceChildren(el("span", { attrs: { "aria-hidden": "true" }, text: THEME_ICONS[theme.choice] }));
  };
  button.addEventListener("click", () => {
    const next = theme.choices[(theme.choices.indexOf(theme.choice) + 1) % theme.choices.length];
    theme.set(next);
    toast(`Theme: ${THEME_LABELS[next]}`);
  });
  document.addEventListener("themechange", show);
  show();
}

function bindDrawer() {
  const toggle = document.getElementById("nav-toggle");
  const sidebar = document.getElementById("sidebar");
  const backdrop = document.querySelector(".drawer-backdrop");
  if (!toggle || !sidebar) return;
  const narrow = window.matchMedia("(max-width: 860px)");
  const setOpen = (open, { focus = false } = {}) => {
    sidebar.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.setAttribute("aria-label", open ? "Hide navigation" : "Show navigation");
    if (backdrop) backdrop.hidden = !open;
    // A closed drawer on a narrow screen is out of the tab order and the accessibility tree.
    sidebar.inert = narrow.matches && !open;
    if (open && focus) (sidebar.querySelector("[aria-current], a, button") || sidebar).focus();
    if (!open && focus) toggle.focus();
  };
  toggle.addEventListener("click", () => setOpen(!sidebar.classList.contains("open"), { focus: true }));
  backdrop?.addEventListener("click", () => setOpen(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && sidebar.classList.contains("open") && !document.querySelector("dialog[open]")) {
      setOpen(false, { focus: true });
    }
  });
  // Screens close the drawer after a choice in it (a thread opened) with this event.
  document.addEventListener("drawer:close", () => setOpen(false));
  narrow.addEventListener("change", () => setOpen(false));
  setOpen(false);
}

function bindShell() {
  bindThemeToggle();
  bindDrawer();
  document.getElementById("sign-out")?.addEventListener("click", signOut);
}

bindShell();
