// Helpers shared by the agents, knowledge, tools, settings and studio screens (core.js has the rest).
// Everything a user or a model wrote reaches the page as text: el() makes text nodes, never markup.
import { api, ApiError, el, session } from "./core.js";

// 002 answers BaseResponse {code, message, data, timestamp}; the screens want `data`.
export function unwrap(body) {
  if (body && typeof body === "object" && "code" in body && "data" in body && "timestamp" in body) return body.data;
  return body;
}

export async function sage(path, options) {
  return unwrap(await api(path, options));
}

// The per-field messages of a 400, from whichever of the five APIs' shapes answered.
export function fieldErrors(error) {
  const body = error && error.body;
  if (!body || typeof body !== "object") return {};
  const out = {};
  const add = (field, messages) => {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    out[field] = out[field] ? `${out[field]} ${text}` : text;
  };
  const dict = body.errors || (body.data && body.data.errors);
  if (dict && typeof dict === "object") for (const [field, messages] of Object.entries(dict)) add(field, messages);
  if (Array.isArray(body.validationErrors)) for (const item of body.validationErrors) add(item.field, item.message);
  return out;
}

let fieldCount = 0;

// A labelled control in the .field pattern: label, control, optional hint, and an error line that
// showErrors fills. `name` is the API field the error belongs to (data-field).
export function field(label, control, { hint = "", name = control.name || "" } = {}) {
  const id = control.id || `f${++fieldCount}`;
  control.id = id;
  const describedBy = [];
  const wrapper = el("div", { class: "field", dataset: { field: name } }, el("label", { text: label, attrs: { for: id } }), control);
  if (hint) {
    wrapper.append(el("p", { class: "hint", text: hint, attrs: { id: `${id}-hint` } }));
    describedBy.push(`${id}-hint`);
  }
  const error = el("p", { class: "error", attrs: { id: `${id}-error`, hidden: "" } });
  wrapper.append(error);
  describedBy.push(`${id}-error`);
  control.setAttribute("aria-describedby", describedBy.join(" "));
  return wrapper;
}

export function input(name, { type = "text", value = "", required = false, attrs = {} } = {}) {
  const node = el("input", { attrs: { name, type, ...attrs } });
  node.value = value ?? "";
  if (required) node.required = true;
  return node;
}

export function textarea(name, { value = "", rows = 4, attrs = {} } = {}) {
  const node = el("textarea", { attrs: { name, rows: String(rows), ...attrs } });
  node.value = value ?? "";
  return node;
}

export function button(text, { kind = "", type = "button", label = "", onClick } = {}) {
  const attrs = { type };
  if (label) attrs["aria-label"] = label;
  return el("button", { class: `btn${kind ? ` btn-${kind}` : ""}`, text, attrs, on: onClick ? { click: onClick } : {} });
}

export function clearErrors(root) {
  for (const node of root.querySelectorAll(".field .error")) {
    node.textContent = "";
    node.hidden = true;
  }
  for (const node of root.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const summary = root.querySelector(".form-error");
  if (summary) { summary.textContent = ""; summary.hidden = true; }
}

// Shows an API error on a form: each field's message under its control (aliases map an API
// field name to the data-field of the control, e.g. systemPrefix → system_prompt), everything
// else in the form's .form-error alert. Focuses the first invalid control.
export function showErrors(root, error, aliases = {}) {
  clearErrors(root);
  const fields = fieldErrors(error);
  let first = null;
  const rest = [];
  for (const [name, message] of Object.entries(fields)) {
    // The field itself ("initiation_params.api_key"), its alias, or its top-level name.
    const keys = [name, aliases[name], name.split(/[.[]/)[0]].filter(Boolean);
    const holder = keys.map((key) => root.querySelector(`.field[data-field="${CSS.escape(key)}"]`)).find(Boolean);
    if (!holder) { rest.push(name === "non_field_errors" ? message : `${name}: ${message}`); continue; }
    const line = holder.querySelector(".error");
    line.textContent = message;
    line.hidden = false;
    const control = holder.querySelector("input, textarea, select");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    }
  }
  const summary = root.querySelector(".form-error");
  const text = rest.length ? rest.join(" ") : first ? "" : (error && error.message) || "Something went wrong.";
  if (summary) {
    summary.textContent = text;
    summary.hidden = !text;
  }
  if (first) first.focus();
  return fields;
}

export function formError() {
  return el("p", { class: "form-error error", attrs: { role: "alert", hidden: "" } });
}

// Runs `action` with the form's submit button disabled; an ApiError lands on the form.
export async function submitting(form, action, aliases) {
  const submit = form.querySelector("button[type=submit]");
  if (submit) submit.disabled = true;
  clearErrors(form);
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showErrors(form, error, aliases);
    return undefined;
  } finally {
    if (submit) submit.disabled = false;
  }
}

export function badge(text, kind = "") {
  return el("span", { class: `badge${kind ? ` ${kind}` : ""}`, text });
}

export function emptyState(text) {
  return el("p", { class: "empty", text });
}

// Fetches with the bearer token for what api() does not parse: files (blobs) and custom headers.
// A 401 goes through api() once (which refreshes the token or sends the user to sign in), then retries.
export async function authedFetch(path, { method = "GET", json, headers = {}, signal } = {}, retried = false) {
  const all = { ...headers };
  if (session.token) all.Authorization = `Bearer ${session.token}`;
  let body;
  if (json !== undefined) {
    all["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(path, { method, headers: all, body, signal });
  if (response.status === 401 && !retried) {
    await api("/user/me");
    return authedFetch(path, { method, json, headers, signal }, true);
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { /* not JSON */ }
    const message = (data && (data.detail || data.message || (data.error && data.error.message))) || `Request failed (${response.status}).`;
    throw new ApiError(response.status, String(message), data);
  }
  return response;
}

// A multipart POST through XMLHttpRequest, the one browser API that reports upload progress.
// onProgress(fraction) is called as the bytes go; resolves with the parsed JSON answer.
export function uploadWithProgress(path, form, onProgress, retried = false) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    if (session.token) request.setRequestHeader("Authorization", `Bearer ${session.token}`);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("error", () => reject(new ApiError(0, "The upload failed: no connection.", null)));
    request.addEventListener("load", async () => {
      let data = null;
      try { data = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status === 401 && !retried) {
        try {
          await api("/user/me");
          resolve(await uploadWithProgress(path, form, onProgress, true));
        } catch (error) { reject(error); }
        return;
      }
      if (request.status >= 200 && request.status < 300) { resolve(unwrap(data)); return; }
      const message = (data && (data.message || data.detail)) || `Upload failed (${request.status}).`;
      reject(new ApiError(request.status, String(message), data));
    });
    request.send(form);
  });
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { attrs: { href: url, download: filename } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
