// CodexEngine web app. It talks only to the documented 000 API (spec/000-codexengine-api.txt)
// and keeps the JWT in sessionStorage, so closing the tab signs out. Model output and file
// names only ever reach the page as text (textContent / text nodes), never as markup.

const TOKEN_KEY = "codex.token";
const BUSY_STATUSES = new Set(["Queued", "Processing", "Pending"]);
const $ = (id) => document.getElementById(id);

const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set(token) { sessionStorage.setItem(TOKEN_KEY, token); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// crypto.randomUUID exists only in secure contexts; the app may be served over plain http on a LAN.
function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function errorFrom(response) {
  let message = `Request failed (${response.status}).`;
  try {
    const data = await response.json();
    if (data && data.detail) message = String(data.detail);
  } catch { /* not JSON: keep the generic message */ }
  return new ApiError(response.status, message);
}

async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    const error = await errorFrom(response);
    // On the chat page a 401 means the token expired: back to the sign-in page.
    if (response.status === 401 && document.body.dataset.page === "chat") signOut();
    throw error;
  }
  return response;
}

const apiJson = async (path, options) => (await api(path, options)).json();

function signOut() {
  session.clear();
  location.replace("/app/login");
}

function showError(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// ---------------------------------------------------------------------------
// Sign in / register
// ---------------------------------------------------------------------------
function initLogin() {
  if (session.token) { location.replace("/app/"); return; }
  const tabs = [$("tab-login"), $("tab-register")];
  const forms = { "tab-login": $("login-form"), "tab-register": $("register-form") };
  const select = (tab) => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      forms[other.id].hidden = !on;
    }
    showError($("auth-error"), "");
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => { select(tab); forms[tab.id].querySelector("input").focus(); });
    // The ARIA tabs pattern: arrows move between tabs and keep the focus on them.
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const next = tabs[(tabs.indexOf(tab) + 1) % 2];
      select(next);
      next.focus();
    });
  }

  const signIn = async (email, password) => {
    const data = await apiJson("/login", { method: "POST", body: { email, password } });
    session.set(data.access_token);
    location.assign("/app/");
  };
  const handle = (form, action) => form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showError($("auth-error"), "");
    try {
      await action(Object.fromEntries(new FormData(form)));
    } catch (error) {
      showError($("auth-error"), error.message);
      button.disabled = false;
    }
  });
  handle($("login-form"), ({ email, password }) => signIn(email.trim(), password));
  handle($("register-form"), async ({ username, email, password }) => {
    await apiJson("/register", { method: "POST", body: { username: username.trim(), email: email.trim(), password } });
    await signIn(email.trim(), password);
  });
}

// ---------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------
const state = { threads: [], threadId: null, controller: null, documentPolls: 0 };

// Parses a text/event-stream body into the JSON of its data frames; comments (": ping") are skipped.
async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
      if (!data) continue;
      try { yield JSON.parse(data); } catch { /* a frame that is not JSON carries nothing for us */ }
    }
  }
}

function scrollToEnd() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

function citationLabel(citation, index) {
  const where = citation.page != null ? `, p. ${citation.page}` : citation.row != null ? `, row ${citation.row}` : "";
  return `[${index + 1}] ${citation.filename || citation.title || "source"}${where}`;
}

function renderCitations(citations) {
  const box = el("details", "citations");
  box.append(el("summary", "", `${citations.length} source${citations.length === 1 ? "" : "s"}`));
  const list = el("ol");
  citations.forEach((citation, index) => list.append(el("li", "", citationLabel(citation, index))));
  box.append(list);
  return box;
}

function addMessage(role, content = "", citations = []) {
  const item = el("li", `message ${role}`);
  item.append(el("span", "visually-hidden", role === "user" ? "You said:" : "Assistant:"));
  item.append(el("div", "content", content));
  if (citations && citations.length) item.append(renderCitations(citations));
  $("messages").append(item);
  $("empty-state").hidden = true;
  scrollToEnd();
  return item;
}

function setStatus(text) {
  $("status-line").textContent = text || "";
  $("status-line").classList.toggle("active", Boolean(text));
}

function setStreaming(on) {
  $("send-button").hidden = on;
  $("stop-button").hidden = !on;
  $("message-input").setAttribute("aria-busy", String(on));
}

function renderThreads() {
  const list = $("thread-list");
  list.replaceChildren();
  for (const thread of state.threads) {
    const item = el("li", "thread");
    const open = el("button", "thread-open", thread.title || "Untitled");
    open.type = "button";
    if (thread.id === state.threadId) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => openThread(thread.id));
    const pin = el("button", `icon-button pin${thread.pinned ? " on" : ""}`, thread.pinned ? "★" : "☆");
    pin.type = "button";
    pin.setAttribute("aria-pressed", String(Boolean(thread.pinned)));
    pin.setAttribute("aria-label", `${thread.pinned ? "Unpin" : "Pin"} “${thread.title}”`);
    pin.addEventListener("click", () => togglePin(thread));
    const remove = el("button", "icon-button delete", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete “${thread.title}”`);
    remove.addEventListener("click", () => deleteThread(thread));
    item.append(open, pin, remove);
    list.append(item);
  }
  $("threads-empty").hidden = state.threads.length > 0;
}

async function loadThreads() {
  state.threads = (await apiJson("/threads")).threads || [];
  renderThreads();
}

function showThread(threadId, title) {
  state.threadId = threadId;
  history.replaceState(null, "", threadId ? `#${encodeURIComponent(threadId)}` : location.pathname);
  $("thread-title").textContent = title || "New chat";
  document.title = `${title || "New chat"} · ${document.body.dataset.appName}`;
  $("messages").replaceChildren();
  $("empty-state").hidden = false;
  setStatus("");
  renderThreads();
  closeDrawer("threads-panel", "toggle-threads");
}

async function openThread(threadId) {
  if (state.controller) state.controller.abort();
  const thread = state.threads.find((t) => t.id === threadId);
  showThread(threadId, thread && thread.title);
  try {
    const { history: messages } = await apiJson(`/chat/${encodeURIComponent(threadId)}/history`);
    for (const message of messages) addMessage(message.role, message.content, message.citations);
  } catch (error) {
    if (error.status === 404 || error.status === 403) showThread(null);
    else setStatus(error.message);
  }
  $("message-input").focus();
}

async function togglePin(thread) {
  try {
    await api("/threads", { method: "POST", body: { id: thread.id, pinned: !thread.pinned } });
    await loadThreads();
  } catch (error) { setStatus(error.message); }
}

async function deleteThread(thread) {
  if (!confirm(`Delete “${thread.title}” and its messages?`)) return;
  try {
    await api(`/threads/${encodeURIComponent(thread.id)}`, { method: "DELETE" });
    if (thread.id === state.threadId) showThread(null);
    await loadThreads();
  } catch (error) { setStatus(error.message); }
}

async function send(text) {
  if (!state.threadId) showThread(newId());
  const fresh = !state.threads.some((t) => t.id === state.threadId);
  addMessage("user", text);
  const answer = addMessage("assistant");
  answer.classList.add("pending");
  answer.setAttribute("aria-busy", "true");  // screen readers read the answer once, not token by token
  const content = answer.querySelector(".content");
  const controller = new AbortController();
  state.controller = controller;
  setStreaming(true);
  setStatus("Sending…");
  try {
    const body = { message: text, thread_id: state.threadId, title: fresh ? text.slice(0, 80) : undefined };
    const response = await api("/chat/stream", { method: "POST", body, signal: controller.signal });
    let finished = false;
    for await (const event of sseEvents(response)) {
      if (event.type === "status") setStatus(event.content);
      else if (event.type === "token") { content.append(event.content || ""); scrollToEnd(); }
      else if (event.type === "sources" && event.sources && event.sources.length) answer.append(renderCitations(event.sources));
      else if (event.type === "error") throw new ApiError(0, event.content || "The answer failed.");
      else if (event.type === "done") { finished = true; break; }
    }
    if (!finished) throw new ApiError(0, "The connection closed before the answer finished.");
    setStatus("");
  } catch (error) {
    if (error.name === "AbortError") setStatus("Stopped.");
    else { answer.append(el("p", "error", error.message)); setStatus(""); }
  } finally {
    content.normalize();
    answer.classList.remove("pending");
    answer.removeAttribute("aria-busy");
    if (state.controller === controller) { state.controller = null; setStreaming(false); }
    if (fresh) loadThreads().catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------
function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function statusClass(status) {
  if (status === "Ingested") return "ok";
  if (status.startsWith("Failed")) return "failed";
  return "busy";
}

async function loadDocuments() {
  clearTimeout(state.documentTimer);
  const { documents } = await apiJson("/documents");
  const list = $("document-list");
  list.replaceChildren();
  for (const doc of documents) {
    const item = el("li", "document");
    const name = el("span", "document-name", doc.filename);
    name.title = doc.filename;
    const meta = el("span", "document-meta", `${formatSize(doc.size_bytes || 0)} · ${doc.chunks_count || 0} chunk${doc.chunks_count === 1 ? "" : "s"}`);
    const badge = el("span", `badge ${statusClass(doc.status || "")}`, doc.status);
    const remove = el("button", "icon-button delete", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete ${doc.filename}`);
    remove.addEventListener("click", () => deleteDocument(doc.filename));
    item.append(name, badge, meta, remove);
    list.append(item);
  }
  $("documents-empty").hidden = documents.length > 0;
  // Ingestion runs in the background: poll while a file is still on its way, for a few minutes at most.
  if (documents.some((doc) => BUSY_STATUSES.has(doc.status)) && state.documentPolls++ < 150) {
    state.documentTimer = setTimeout(() => loadDocuments().catch(() => {}), 2000);
  }
}

async function deleteDocument(filename) {
  if (!confirm(`Delete ${filename}?`)) return;
  try {
    await api(`/documents/${encodeURIComponent(filename)}`, { method: "DELETE" });
    await loadDocuments();
  } catch (error) { showError($("documents-error"), error.message); }
}

// fetch() reports no upload progress, so the upload goes through XMLHttpRequest.
function upload(file) {
  const progress = $("upload-progress");
  const input = $("upload-input");
  showError($("documents-error"), "");
  progress.value = 0;
  progress.hidden = false;
  input.disabled = true;
  const request = new XMLHttpRequest();
  request.open("POST", "/upload");
  request.setRequestHeader("Authorization", `Bearer ${session.token}`);
  request.setRequestHeader("Accept", "application/json");
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
  });
  request.addEventListener("loadend", () => {
    progress.hidden = true;
    input.disabled = false;
    input.value = "";
    if (request.status === 401) { signOut(); return; }
    if (request.status < 200 || request.status >= 300) {
      let message = request.status ? `Upload failed (${request.status}).` : "Upload failed: the connection was lost.";
      try { message = JSON.parse(request.responseText).detail || message; } catch { /* keep the generic message */ }
      showError($("documents-error"), message);
    }
    state.documentPolls = 0;
    loadDocuments().catch((error) => showError($("documents-error"), error.message));
  });
  const form = new FormData();
  form.append("file", file);
  request.send(form);
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------
function closeDrawer(panelId, buttonId) {
  $(panelId).classList.remove("open");
  $(buttonId).setAttribute("aria-expanded", "false");
}

function bindDrawer(panelId, buttonId, onOpen) {
  $(buttonId).addEventListener("click", () => {
    const open = $(panelId).classList.toggle("open");
    $(buttonId).setAttribute("aria-expanded", String(open));
    if (open && onOpen) onOpen();
  });
}

async function initChat() {
  if (!session.token) { location.replace("/app/login"); return; }
  // Read the thread to reopen now: once the keys are bound, sending a first message
  // sets the hash itself, and reopening that would wipe the answer being streamed.
  const wanted = decodeURIComponent(location.hash.slice(1));
  const input = $("message-input");
  const submit = () => {
    const text = input.value.trim();
    if (!text || state.controller) return;
    input.value = "";
    input.style.height = "";
    send(text);
  };
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
  });
  $("stop-button").addEventListener("click", () => state.controller && state.controller.abort());
  $("new-thread").addEventListener("click", () => {
    if (state.controller) state.controller.abort();
    showThread(null);
    input.focus();
  });
  $("sign-out").addEventListener("click", signOut);
  $("upload-input").addEventListener("change", () => { if ($("upload-input").files[0]) upload($("upload-input").files[0]); });
  bindDrawer("threads-panel", "toggle-threads");
  bindDrawer("documents-panel", "toggle-documents", () => {
    state.documentPolls = 0;
    loadDocuments().catch((error) => showError($("documents-error"), error.message));
  });
  for (const button of document.querySelectorAll("[data-close]")) {
    const panel = button.dataset.close;
    const opener = panel === "threads-panel" ? "toggle-threads" : "toggle-documents";
    button.addEventListener("click", () => { closeDrawer(panel, opener); $(opener).focus(); });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { closeDrawer("threads-panel", "toggle-threads"); closeDrawer("documents-panel", "toggle-documents"); }
  });

  try {
    const me = await apiJson("/user/me");
    $("whoami").textContent = me.username || me.email;
    await loadThreads();
  } catch (error) {
    setStatus(error.message);
    return;
  }
  if (wanted && !state.threadId) await openThread(wanted);
  else if (!state.threadId) input.focus();
}

const pages = { login: initLogin, chat: initChat };
(pages[document.body.dataset.page] || (() => {}))();
