// The chat screen (chat.html) on the 002 API: conversations (/api/conversations), the agents the
// user may use (/api/agent/list), answers streamed as NDJSON from /api/web-stream (the run
// outlives the connection, so a dropped stream resumes from /api/stream/resume/{id}?last_index=N),
// stop through /api/sessions/{id}/interrupt, and the sources of a citation from 001's
// /api/chunks/{id}. Threads that belong to a 004 project get the sandbox pane (js/sandbox.js).
import { ApiError, api, confirmDialog, el, requireSignIn, streamEvents, toast } from "./core.js";
import { copyButton, citationChip, renderMarkdown, updateMarkdown } from "./markdown.js";
import { closeSandbox, openSandbox } from "./sandbox.js";

const $ = (id) => document.getElementById(id);
const PAGE = 60;  // messages rendered at a time; earlier ones come in pages as the reader scrolls up
const AGENT_KEY = "codex.agent";
const TITLE_LENGTH = 80;

const state = {
  threads: [],
  projects: new Map(),   // thread id → 004 project id, for the sandbox pane
  agents: [],
  threadId: null,
  title: "",
  turns: [],             // [{id, role, text, citations, steps, error, status}]
  shown: 0,              // how many of the last turns are rendered
  run: null,             // the streaming answer: {turn, controller, lastIndex, threadId, stopping}
  queue: [],             // texts sent while a run streams, sent in order when it ends
  sent: false,           // a message went out from this page (so the first openThread must not wipe it)
};

// crypto.randomUUID exists only in secure contexts; the app may be served over plain http on a LAN.
function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const dataOf = (body) => (body && typeof body === "object" && "data" in body && "code" in body ? body.data : body);

// ---------------------------------------------------------------------------
// Status line
// ---------------------------------------------------------------------------
function setStatus(text, { busy = false } = {}) {
  const line = $("status-line");
  // Called for every streamed line: touch the live region only when what it says changes.
  if (line.dataset.text === (text || "") && line.dataset.busy === String(busy)) return;
  line.dataset.text = text || "";
  line.dataset.busy = String(busy);
  line.replaceChildren(...(busy && text ? [el("span", { class: "spinner", attrs: { "aria-hidden": "true" } })] : []), text || "");
  line.classList.toggle("active", Boolean(text));
}

function setStreaming(on) {
  $("stop-button").hidden = !on;
  $("send-button").textContent = on ? "Queue" : "Send";
  $("message-input").setAttribute("aria-busy", String(on));
  for (const button of document.querySelectorAll(".message-actions .needs-idle")) button.disabled = on;
}

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------
function threadTitle(thread) { return thread.title || "New chat"; }

function renderThreads() {
  const list = $("thread-list");
  list.replaceChildren();
  for (const thread of state.threads) {
    const title = threadTitle(thread);
    const open = el("a", {
      class: "thread-open", text: title,
      attrs: { href: `/app/t/${encodeURIComponent(thread.session_id)}`, "aria-current": thread.session_id === state.threadId ? "page" : null },
      on: { click: (event) => { event.preventDefault(); navigate(thread.session_id); } },
    });
    const pin = el("button", {
      class: ["btn btn-ghost btn-icon thread-action pin", thread.pinned ? "on" : ""], text: thread.pinned ? "★" : "☆",
      attrs: { type: "button", "aria-pressed": String(Boolean(thread.pinned)), "aria-label": `${thread.pinned ? "Unpin" : "Pin"} “${title}”` },
      on: { click: () => togglePin(thread) },
    });
    const rename = el("button", {
      class: "btn btn-ghost btn-icon thread-action", text: "✎",
      attrs: { type: "button", "aria-label": `Rename “${title}”` }, on: { click: () => startRename(item, thread) },
    });
    const remove = el("button", {
      class: "btn btn-ghost btn-icon thread-action", text: "×",
      attrs: { type: "button", "aria-label": `Delete “${title}”` }, on: { click: () => deleteThread(thread) },
    });
    const item = el("li", { class: "thread", dataset: { id: thread.session_id } }, open, pin, rename, remove);
    list.append(item);
  }
  $("threads-empty").hidden = state.threads.length > 0;
}

async function loadThreads() {
  const [conversations, platform] = await Promise.all([
    api("/api/conversations", { query: { page: 1, page_size: 100, sort_by: "-updated_at" } }),
    api("/api/threads").catch(() => ({ threads: [] })),
  ]);
  // Pinned first, then newest first (the list comes newest first; the sort is stable).
  state.threads = ((dataOf(conversations) || {}).list || []).sort((a, b) => Number(Boolean(b.pinned)) - Number(Boolean(a.pinned)));
  state.projects = new Map((platform.threads || []).filter((t) => t.project_id).map((t) => [t.thread_id, t.project_id]));
  renderThreads();
  updateSandboxToggle();
}

function startRename(item, thread) {
  const input = el("input", { class: "thread-rename", value: threadTitle(thread), attrs: { "aria-label": "New title", maxlength: 200 } });
  const finish = async (save) => {
    input.removeEventListener("blur", onBlur);
    const title = input.value.trim();
    if (save && title && title !== thread.title) {
      try {
        await api(`/api/conversations/${encodeURIComponent(thread.session_id)}/title`, { method: "POST", json: { title } });
        thread.title = title;
        if (thread.session_id === state.threadId) showTitle(title);
      } catch (error) { toast(error.message, "err"); }
    }
    renderThreads();
    $("thread-list").querySelector(`[data-id="${CSS.escape(thread.session_id)}"] .thread-open`)?.focus();
  };
  const onBlur = () => finish(true);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); finish(true); }
    if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); finish(false); }
  });
  input.addEventListener("blur", onBlur);
  item.replaceChildren(input);
  input.focus();
  input.select();
}

// 002 has no pin route; 000's thread upsert sets it.
async function togglePin(thread) {
  try {
    await api("/threads", { method: "POST", json: { id: thread.session_id, pinned: !thread.pinned } });
    await loadThreads();
    $("thread-list").querySelector(`[data-id="${CSS.escape(thread.session_id)}"] .pin`)?.focus();
  } catch (error) { toast(error.message, "err"); }
}

async function deleteThread(thread) {
  if (!await confirmDialog(`Delete “${threadTitle(thread)}” and its messages?`)) return;
  try {
    await api(`/api/conversations/${encodeURIComponent(thread.session_id)}`, { method: "DELETE" });
    if (thread.session_id === state.threadId) navigate(null);
    await loadThreads();
    toast("Conversation deleted.", "ok");
  } catch (error) { toast(error.message, "err"); }
}

function showTitle(title) {
  state.title = title || "";
  $("thread-title").textContent = title || "New chat";
  document.title = `${title || "New chat"} · ${document.body.dataset.appName}`;
}

// ---------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------
async function loadAgents() {
  try {
    state.agents = dataOf(await api("/api/agent/list")) || [];
  } catch (error) {
    state.agents = [];
    toast(`Agents could not be listed: ${error.message}`, "warn");
  }
  const select = $("agent-select");
  select.replaceChildren(el("option", { value: "", text: "Default assistant" }),
    ...state.agents.map((agent) => el("option", { value: agent.id, text: agent.name || "Untitled agent" })));
  const stored = localStorage.getItem(AGENT_KEY) || "";
  select.value = state.agents.some((agent) => agent.id === stored) ? stored : "";
}

function selectAgentOf(thread) {
  const select = $("agent-select");
  if (thread && thread.agent_id && state.agents.some((agent) => agent.id === thread.agent_id)) select.value = thread.agent_id;
}

// ---------------------------------------------------------------------------
// Turns: the conversation as the reader sees it
// ---------------------------------------------------------------------------
// One assistant turn gathers the assistant and tool messages that answer one user message:
// tool calls and their results become steps, the text the answer, citations its sources.
function turnsFrom(messages) {
  const turns = [];
  let answer = null;
  for (const message of messages) {
    const text = typeof message.content === "string" ? message.content
      : Array.isArray(message.content) ? message.content.filter((part) => part && part.type === "text").map((part) => part.text).join("\n") : "";
    if (message.role === "user") {
      answer = null;
      turns.push({ id: message.message_id, role: "user", text });
      continue;
    }
    if (message.role !== "assistant" && message.role !== "tool") continue;
    if (!answer) {
      answer = { id: message.message_id, role: "assistant", text: "", citations: [], steps: [] };
      turns.push(answer);
    }
    if (message.role === "tool") {
      const step = answer.steps.find((s) => s.id === message.tool_call_id);
      if (step) { step.result = text; step.status = message.metadata && message.metadata.error ? "err" : "ok"; }
      continue;
    }
    for (const call of message.tool_calls || []) {
      answer.steps.push({ id: call.id, name: (call.function && call.function.name) || call.name || "tool", args: (call.function && call.function.arguments) ?? call.arguments, status: "ok" });
    }
    // A run's answer keeps its tool results in metadata.tool_results ({id, tool, result, error}).
    for (const result of (message.metadata && message.metadata.tool_results) || []) {
      const step = answer.steps.find((s) => s.id === result.id);
      if (step) { step.result = result.result ?? ""; step.status = result.error ? "err" : "ok"; }
    }
    if (message.reasoning_content) answer.reasoning = (answer.reasoning || "") + message.reasoning_content;
    if (text) answer.text = answer.text ? `${answer.text}\n\n${text}` : text;
    if (Array.isArray(message.citations) && message.citations.length) answer.citations = message.citations;
  }
  return turns;
}

function sourceLabel(citation) {
  const where = citation.page != null ? `, p. ${citation.page}` : citation.row != null ? `, row ${citation.row}` : "";
  return `${citation.filename || citation.title || "source"}${where}`;
}

// A step keeps its open/closed state across the re-renders of a streaming answer.
function details(holder, props, ...children) {
  const node = el("details", { ...props, attrs: { ...(props.attrs || {}), open: Boolean(holder.open) } }, ...children);
  node.addEventListener("toggle", () => { holder.open = node.open; });
  return node;
}

function renderSteps(turn) {
  const box = el("div", { class: "steps" });
  if (turn.reasoning) {
    turn.reasoningView ||= {};
    // The model's reasoning is shown as plain text.
    box.append(details(turn.reasoningView, { class: "step reasoning" }, el("summary", {}, el("span", { class: "badge", text: "thinking" }), " Reasoning"),
      el("div", { class: "step-body reasoning-text", text: turn.reasoning })));
  }
  for (const step of turn.steps || []) {
    const status = step.status === "running" ? el("span", { class: "spinner", attrs: { "aria-label": "running" } })
      : el("span", { class: `badge ${step.status === "err" ? "err" : "ok"}`, text: step.status === "err" ? "failed" : "done" });
    const args = typeof step.args === "string" ? step.args : JSON.stringify(step.args ?? {}, null, 2);
    box.append(details(step, { class: "step tool", dataset: { tool: step.name } },
      el("summary", {}, status, " ", el("span", { text: `Tool: ${step.name}` })),
      el("div", { class: "step-body" },
        el("p", { class: "small muted", text: "Arguments" }), el("pre", { class: "step-pre" }, el("code", { text: args })),
        step.result !== undefined ? el("p", { class: "small muted", text: "Result" }) : null,
        step.result !== undefined ? el("pre", { class: "step-pre" }, el("code", { text: String(step.result) })) : null)));
  }
  return box;
}

function renderSources(turn) {
  if (!turn.citations || !turn.citations.length) return null;
  return el("div", { class: "sources" }, el("span", { class: "small muted", text: "Sources" }),
    el("ol", { class: "source-list" }, turn.citations.map((citation, index) => el("li", {},
      citationChip(index + 1, citation), el("span", { class: "small", text: ` ${sourceLabel(citation)}` })))));
}

function actionsFor(turn, index) {
  const box = el("div", { class: "message-actions toolbar" });
  box.append(copyButton(() => turn.text, turn.role === "user" ? "Copy message" : "Copy answer"));
  if (turn.role === "user") {
    box.append(el("button", { class: "btn btn-ghost btn-sm needs-idle", text: "Edit", attrs: { type: "button", "aria-label": "Edit and resend" }, on: { click: () => startEdit(index) } }));
  } else if (index === state.turns.length - 1) {
    box.append(el("button", { class: "btn btn-ghost btn-sm needs-idle", text: "Regenerate", attrs: { type: "button", "aria-label": "Regenerate the answer" }, on: { click: () => regenerate(index) } }));
  }
  for (const button of box.querySelectorAll(".needs-idle")) button.disabled = Boolean(state.run);
  return box;
}

function renderTurn(turn, index, { lazy = false } = {}) {
  const node = el("article", { class: ["message", turn.role, turn.pending ? "pending" : ""], dataset: { index }, attrs: { "aria-busy": turn.pending ? "true" : null } });
  node.append(el("h3", { class: "visually-hidden", text: turn.role === "user" ? "You said:" : "Assistant:" }));
  fillTurn(node, turn, index, { lazy });
  return node;
}

// An answer rendered away from the screen shows its text as plain text until it comes near the
// viewport, where its markdown is rendered: a page of 60 earlier messages costs little to prepend.
// The rendering waits for idle time (requestIdleCallback) and renders the nearest waiting answers
// while it lasts, so scrolling through a long thread keeps its frames; a fast scroll shows plain
// text for a moment.
const lazyTurns = new WeakMap();  // .content.lazy element → its turn
const lazyWaiting = new Map();    // .content.lazy element near the screen → its distance from it (px)
let lazyObserver = null;
let lazyFrame = 0;

const whenIdle = window.requestIdleCallback ? (callback) => requestIdleCallback(callback, { timeout: 1000 })
  : (callback) => setTimeout(() => callback({ timeRemaining: () => 8, didTimeout: false }), 16);

function renderLazy(deadline) {
  lazyFrame = 0;
  const nearest = [...lazyWaiting].sort((a, b) => a[1] - b[1]).map(([target]) => target);
  for (const target of nearest) {
    lazyWaiting.delete(target);
    lazyObserver.unobserve(target);
    const turn = lazyTurns.get(target);
    if (!turn || !target.isConnected || !target.classList.contains("lazy")) continue;
    target.classList.remove("lazy");
    updateMarkdown(target, turn.text, { citations: turn.citations });
    if (deadline.didTimeout || deadline.timeRemaining() < 4) break;  // one at a time when the page is never idle
  }
  if (lazyWaiting.size && !lazyFrame) lazyFrame = whenIdle(renderLazy);
}

function observeLazy(content, turn) {
  lazyObserver ||= new IntersectionObserver((entries) => {
    for (const { target, isIntersecting, boundingClientRect: box, rootBounds: root } of entries) {
      if (!isIntersecting) { lazyWaiting.delete(target); continue; }
      lazyWaiting.set(target, root ? Math.max(0, box.top - root.bottom, root.top - box.bottom) : 0);
    }
    if (lazyWaiting.size && !lazyFrame) lazyFrame = whenIdle(renderLazy);
  }, { root: $("messages"), rootMargin: "800px 0px" });
  lazyTurns.set(content, turn);
  lazyObserver.observe(content);
}

// Re-renders a turn's inside; while it streams this runs at most once per animation frame. An
// answer's rendered markdown is kept and only its changed blocks re-rendered (see updateMarkdown).
function fillTurn(node, turn, index, { lazy = false } = {}) {
  const keep = node.firstChild;
  const parts = [keep];
  if (turn.role === "assistant") {
    parts.push(renderSteps(turn));
    if (turn.status) parts.push(el("p", { class: "run-status small muted" }, el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }), ` ${turn.status}`));
  }
  let content;
  if (turn.role === "user") {
    content = el("div", { class: "content", text: turn.text });
  } else if (turn.pending) {
    // While it streams, the same element is updated block by block, lexing only the text after
    // the blocks that cannot change any more (see updateMarkdown).
    content = node.querySelector(":scope > .content.prose") || el("div", { class: "content prose" });
    content.classList.remove("lazy");
    content.classList.add("live");
    updateMarkdown(content, turn.text, { citations: turn.citations, tail: true });
  } else {
    content = node.querySelector(":scope > .content.prose");
    if (content && content.classList.contains("lazy")) {
      // Not rendered yet: it is when it comes near the screen.
    } else if (content) {
      content.classList.remove("live");
      updateMarkdown(content, turn.text, { citations: turn.citations });  // a full pass: nothing if unchanged
    } else if (lazy) {
      content = el("div", { class: "content prose lazy", text: turn.text });
      observeLazy(content, turn);
    } else {
      content = el("div", { class: "content prose" });
      updateMarkdown(content, turn.text, { citations: turn.citations });
    }
  }
  parts.push(content);
  if (turn.role === "assistant") parts.push(renderSources(turn));
  if (turn.error) parts.push(el("p", { class: "error", attrs: { role: "alert" }, text: turn.error }));
  if (turn.stopped) parts.push(el("p", { class: "small muted", text: "Stopped." }));
  if (!turn.pending) parts.push(actionsFor(turn, index));
  node.replaceChildren(...parts.filter(Boolean));
}

function nodeOf(index) { return $("message-list").querySelector(`.message[data-index="${index}"]`); }

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToEnd() { $("messages").scrollTop = $("messages").scrollHeight; }

// Only the last `state.shown` turns are in the DOM: a 2,000-message thread renders its last
// page at once and the earlier ones a page at a time, when asked for or scrolled to.
const EAGER = 12;  // the last turns, on screen when a thread opens, are rendered at once; the rest lazily

function renderTurns() {
  const list = $("message-list");
  const start = Math.max(0, state.turns.length - state.shown);
  if (lazyObserver) { lazyObserver.disconnect(); lazyWaiting.clear(); }
  const page = document.createDocumentFragment();
  page.append(...state.turns.slice(start).map((turn, offset) => renderTurn(turn, start + offset, { lazy: start + offset < state.turns.length - EAGER })));
  list.replaceChildren(page);
  $("load-earlier").hidden = start === 0;
  $("empty-state").hidden = state.turns.length > 0;
}

function showEarlier() {
  const box = $("messages");
  const before = box.scrollHeight - box.scrollTop;
  const list = $("message-list");
  const oldStart = Math.max(0, state.turns.length - state.shown);
  state.shown = Math.min(state.turns.length, state.shown + PAGE);
  const start = Math.max(0, state.turns.length - state.shown);
  // Built off the document in one fragment, the answers' markdown left for when they come near the screen.
  const page = document.createDocumentFragment();
  page.append(...state.turns.slice(start, oldStart).map((turn, offset) => renderTurn(turn, start + offset, { lazy: true })));
  list.prepend(page);
  $("load-earlier").hidden = start === 0;
  box.scrollTop = box.scrollHeight - before;  // the reader stays where they were
}

function appendTurn(turn) {
  state.turns.push(turn);
  state.shown += 1;
  const index = state.turns.length - 1;
  // The answer before loses its Regenerate button: only the last answer has one.
  const previous = nodeOf(index - 1);
  if (previous && state.turns[index - 1].role === "assistant" && !state.turns[index - 1].pending) fillTurn(previous, state.turns[index - 1], index - 1);
  $("message-list").append(renderTurn(turn, index));
  $("empty-state").hidden = true;
  scrollToEnd();
  return index;
}

let frame = 0;
function refreshPending() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const run = state.run;
    if (!run || run.threadId !== state.threadId) return;
    const node = nodeOf(run.index);
    if (!node) return;
    const follow = nearBottom();
    const live = node.querySelector(":scope > .content.live");
    // Only the text grew since the last frame: update the answer's blocks and nothing else.
    if (live && !run.turn.changed) updateMarkdown(live, run.turn.text, { citations: run.turn.citations });
    else fillTurn(node, run.turn, run.index);
    run.turn.changed = false;
    if (follow) scrollToEnd();
  });
}

// ---------------------------------------------------------------------------
// Opening threads
// ---------------------------------------------------------------------------
function navigate(threadId, { replace = false } = {}) {
  const url = threadId ? `/app/t/${encodeURIComponent(threadId)}` : "/app/";
  if (location.pathname !== url) history[replace ? "replaceState" : "pushState"](null, "", url);
  document.dispatchEvent(new Event("drawer:close"));
  openThread(threadId);
}

// The composer takes the focus unless the reader already put it somewhere (the skip link, the drawer).
function focusComposer() {
  const active = document.activeElement;
  if (!active || active === document.body || active.closest(".thread, .threads-head")) $("message-input").focus();
}

async function openThread(threadId) {
  state.threadId = threadId;
  state.turns = [];
  state.shown = PAGE;
  closeSandbox();
  const thread = state.threads.find((t) => t.session_id === threadId);
  showTitle(thread ? thread.title : "");
  selectAgentOf(thread);
  renderThreads();
  renderTurns();
  updateSandboxToggle();
  if (!threadId) { setStatus(""); focusComposer(); return; }
  try {
    const body = dataOf(await api(`/api/conversations/${encodeURIComponent(threadId)}/messages`));
    if (state.threadId !== threadId) return;
    showTitle(body.title);
    state.turns = turnsFrom(body.messages || []);
    // A run of this page is still streaming into this thread: its turn is the live one.
    if (state.run && state.run.threadId === threadId) {
      state.turns = state.turns.filter((turn) => turn.id !== state.run.turn.id);
      if (state.turns.length && state.turns.at(-1).role === "assistant" && !state.turns.at(-1).text) state.turns.pop();
      state.run.index = state.turns.push(state.run.turn) - 1;
    }
    renderTurns();
    scrollToEnd();
    focusComposer();
    if (!state.run) await resumeIfRunning(threadId);
  } catch (error) {
    if (state.run && state.run.threadId === threadId) return;  // being created by the run streaming now
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
      toast("That conversation does not exist.", "warn");
      navigate(null, { replace: true });
    } else {
      setStatus(error.message);
    }
  }
}

// A thread whose run is still going (another tab started it, or the page was reloaded mid-answer):
// follow it from the beginning of that run's events.
async function resumeIfRunning(threadId) {
  let task;
  try { task = dataOf(await api(`/api/sessions/${encodeURIComponent(threadId)}/tasks_status`, { method: "POST" })); } catch { return; }
  if (!task || !task.is_running || state.threadId !== threadId || state.run) return;
  const last = state.turns.at(-1);
  const turn = last && last.role === "assistant" ? Object.assign(last, { text: "", steps: [], citations: [], pending: true }) : null;
  const live = turn || { id: newId(), role: "assistant", text: "", citations: [], steps: [], pending: true };
  if (!turn) appendTurn(live);
  else renderTurns();
  await follow({ threadId, turn: live, request: { path: `/api/stream/resume/${encodeURIComponent(threadId)}`, query: { last_index: 0 } } });
}

// ---------------------------------------------------------------------------
// Sending, streaming, stopping, queueing
// ---------------------------------------------------------------------------
function renderQueue() {
  const list = $("queue");
  list.replaceChildren(...state.queue.map((item, index) => el("li", { class: "queued" },
    el("span", { class: "badge warn", text: "Queued" }), el("span", { class: "queued-text", text: item.text }),
    el("button", {
      class: "btn btn-ghost btn-icon", text: "×", attrs: { type: "button", "aria-label": `Remove “${item.text.slice(0, 40)}” from the queue` },
      on: { click: () => { state.queue.splice(index, 1); renderQueue(); } },
    }))));
  list.hidden = state.queue.length === 0;
}

function submit(text) {
  if (!text) return;
  if (state.run) {
    state.queue.push({ text, threadId: state.threadId });
    renderQueue();
    setStatus("Queued: it is sent when this answer ends.");
    return;
  }
  send({ text });
}

function agentId() { return $("agent-select").value || undefined; }

/** Starts a run: `history` (for a new branch) is the conversation that comes before `text`. */
async function send({ text, history = null, threadId = null, title = null }) {
  state.sent = true;
  let id = threadId || state.threadId;
  const fresh = !id || history !== null;
  if (!id) {
    id = newId();
    state.threadId = id;
    window.history.pushState(null, "", `/app/t/${id}`);
    showTitle(text.slice(0, TITLE_LENGTH));
  }
  const user = { id: newId(), role: "user", text };
  appendTurn(user);
  const turn = { id: newId(), role: "assistant", text: "", citations: [], steps: [], pending: true, status: "Sending…" };
  appendTurn(turn);
  const messages = [...(history || []).map((t) => ({ role: t.role, content: t.text })), { role: "user", content: text }];
  await follow({
    threadId: id, turn,
    request: { path: "/api/web-stream", json: { messages, session_id: id, agent_id: agentId() } },
    afterStart: async () => {
      if (fresh) {
        if (title) await api(`/api/conversations/${encodeURIComponent(id)}/title`, { method: "POST", json: { title } }).catch(() => {});
        await loadThreads().catch(() => {});
      }
    },
  });
}

async function follow({ threadId, turn, request, afterStart }) {
  const controller = new AbortController();
  const run = { threadId, turn, controller, lastIndex: request.query ? request.query.last_index || 0 : 0, index: state.turns.indexOf(turn), stopping: false };
  state.run = run;
  setStreaming(true);
  setStatus(turn.status || "Working…", { busy: true });
  let started = false;
  let ended = false;
  try {
    await startStream(() => started, () => streamEvents(request.path, {
      json: request.json, query: request.query, signal: controller.signal, lastIndex: run.lastIndex,
      isEnd: (line) => line.type === "stream_end",
      resume: () => {
        setStatus("Connection lost; resuming…", { busy: true });
        return { path: `/api/stream/resume/${encodeURIComponent(threadId)}`, query: { last_index: run.lastIndex } };
      },
      onEvent: (line) => {
        if (!started) { started = true; afterStart && afterStart(); }
        if (line.metadata && Number.isInteger(line.metadata.index)) run.lastIndex = line.metadata.index + 1;
        else if (line.type === "stream_end" && Number.isInteger(line.total_stream_count)) run.lastIndex = line.total_stream_count;
        if (line.type === "stream_end") {
          ended = true;
          if (line.status === "stopped") turn.stopped = true;
          return;
        }
        applyLine(turn, line);
        refreshPending();
      },
    }));
    if (!ended && !turn.error) turn.error = "The connection closed before the answer finished.";
  } catch (error) {
    if (error.name === "AbortError") turn.stopped = true;
    else turn.error = error.message;
  } finally {
    turn.pending = false;
    turn.status = "";
    for (const step of turn.steps) if (step.status === "running") step.status = turn.stopped ? "err" : "ok";
    if (state.run === run) state.run = null;
    setStreaming(false);
    if (state.threadId === threadId) {
      const node = nodeOf(run.index);
      if (node) { node.classList.remove("pending"); node.removeAttribute("aria-busy"); fillTurn(node, turn, run.index); }
      setStatus(turn.stopped ? "Stopped." : "");
    }
    if (!started && afterStart) afterStart();
    sendNextQueued();
  }
}

// A message sent the moment the previous run ended can find that run not yet marked finished
// (409): it waits a little and tries again, as long as nothing of it has streamed.
async function startStream(hasStarted, open) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409 || hasStarted() || attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
    }
  }
}

function applyLine(turn, line) {
  // Anything but more answer text changes the turn's structure (steps, sources, status).
  if (line.type !== "normal" || turn.status) turn.changed = true;
  switch (line.type) {
    case "status":
      turn.status = line.content || "Working…";
      setStatus(turn.status, { busy: true });
      break;
    case "normal":
      turn.status = "";
      turn.text += line.content || "";
      if (turn.text) setStatus("Answering…", { busy: true });
      break;
    case "thinking":
      turn.reasoning = (turn.reasoning || "") + (line.reasoning_content || "");
      break;
    case "tool_call":
      for (const call of line.tool_calls || []) {
        const name = (call.function && call.function.name) || "tool";
        turn.steps.push({ id: call.id, name, args: call.function && call.function.arguments, status: "running" });
        turn.status = `Running ${name}…`;
        setStatus(turn.status, { busy: true });
      }
      break;
    case "tool_call_result": {
      const step = turn.steps.find((s) => s.id === line.tool_call_id) || turn.steps.findLast((s) => s.status === "running");
      if (step) { step.result = line.content; step.status = line.metadata && line.metadata.error ? "err" : "ok"; }
      break;
    }
    case "citations":
      turn.citations = (line.metadata && line.metadata.citations) || [];
      break;
    case "error":
      turn.error = line.content || "The answer failed.";
      break;
    default:
      break;  // token usage and any type added later carry nothing to show
  }
}

function sendNextQueued() {
  const next = state.queue.findIndex((item) => item.threadId === state.threadId || !item.threadId);
  if (next < 0 || state.run) return;
  const [item] = state.queue.splice(next, 1);
  renderQueue();
  send({ text: item.text });
}

async function stop() {
  const run = state.run;
  if (!run || run.stopping) return;
  run.stopping = true;
  setStatus("Stopping…", { busy: true });
  try {
    await api(`/api/sessions/${encodeURIComponent(run.threadId)}/interrupt`, { method: "POST", json: {} });
  } catch (error) {
    toast(error.message, "err");
  }
  // The run ends with a "stopped" end line; if none comes soon, stop listening anyway.
  setTimeout(() => { if (state.run === run) run.controller.abort(); }, 5000);
}

// Regenerate and edit start a new branch: a new conversation holding the history up to that
// point, so the model sees the conversation as it was and the original stays as it is.
function branch(index, text) {
  const history = state.turns.slice(0, index).filter((turn) => (turn.role === "user" || turn.role === "assistant") && turn.text);
  const title = `${state.title || text.slice(0, TITLE_LENGTH)} (branch)`.slice(0, 200);
  const id = newId();
  state.threadId = id;
  state.turns = history.map((turn) => ({ ...turn, pending: false }));
  state.shown = Math.max(PAGE, state.turns.length);
  window.history.pushState(null, "", `/app/t/${id}`);
  showTitle(title);
  renderTurns();
  renderThreads();
  send({ text, history, threadId: id, title });
}

function regenerate(index) {
  const question = state.turns.slice(0, index).findLastIndex((turn) => turn.role === "user");
  if (question < 0 || state.run) return;
  branch(question, state.turns[question].text);
}

function startEdit(index) {
  const turn = state.turns[index];
  const node = nodeOf(index);
  if (!node || state.run) return;
  const area = el("textarea", { class: "edit-input", value: turn.text, attrs: { "aria-label": "Edit the message", rows: 3 } });
  const save = el("button", { class: "btn btn-primary btn-sm", text: "Send", attrs: { type: "submit" } });
  const cancel = el("button", { class: "btn btn-sm", text: "Cancel", attrs: { type: "button" }, on: { click: () => fillTurn(node, turn, index) } });
  const form = el("form", { class: "edit-form stack", on: { submit: (event) => {
    event.preventDefault();
    const text = area.value.trim();
    if (text) branch(index, text);
  } } }, area, el("div", { class: "toolbar end" }, cancel, save));
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.stopPropagation(); fillTurn(node, turn, index); node.querySelector(".message-actions button")?.focus(); }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
  });
  node.querySelector(".content").replaceWith(form);
  node.querySelector(".message-actions")?.remove();
  area.focus();
}

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------
async function openSource(turnIndex, number) {
  const citation = (state.turns[turnIndex] || {}).citations?.[number];
  if (!citation) return;
  const dialog = $("source-dialog");
  $("source-title").textContent = `Source ${number + 1}: ${citation.filename || "document"}`;
  const meta = [citation.page != null ? `Page ${citation.page}` : "", citation.row != null ? `Row ${citation.row}` : "",
    typeof citation.score === "number" ? `Score ${citation.score.toFixed(3)}` : ""].filter(Boolean).join(" · ");
  $("source-meta").textContent = meta;
  $("source-body").replaceChildren(el("p", { class: "muted" }, el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }), " Loading the passage…"));
  if (!dialog.open) dialog.showModal();
  try {
    const chunk = await api(`/api/chunks/${encodeURIComponent(citation.chunk_id)}`);
    $("source-body").replaceChildren(renderMarkdown(chunk.content || ""));
    if (chunk.documentTitle && chunk.documentTitle !== citation.filename) $("source-meta").textContent = `${chunk.documentTitle}${meta ? ` · ${meta}` : ""}`;
  } catch (error) {
    $("source-body").replaceChildren(el("p", { class: "error", text: error.status === 404 ? "This passage no longer exists (its document was deleted or re-ingested)." : error.message }));
  }
}

// ---------------------------------------------------------------------------
// Sandbox pane
// ---------------------------------------------------------------------------
// A conversation inside a new 004 project: its runs' sandbox tools and the pane share the
// project's sandbox.
async function newProjectChat() {
  const button = $("new-project");
  button.disabled = true;
  try {
    const name = `Project ${new Date().toLocaleDateString(undefined, { dateStyle: "medium" })}`;
    const project = await api("/api/projects", { method: "POST", json: { name } });
    const thread = await api("/api/threads", { method: "POST", json: { name: `${name} chat`, project_id: project.project_id } });
    await loadThreads();
    navigate(thread.thread_id);
    toast("Project chat created: its sandbox opens from the Sandbox button.", "ok");
  } catch (error) {
    toast(error.message, "err");
  } finally {
    button.disabled = false;
  }
}

function updateSandboxToggle() {
  const project = state.threadId && state.projects.get(state.threadId);
  $("toggle-sandbox").hidden = !project;
  $("toggle-sandbox").setAttribute("aria-expanded", String(!$("sandbox-pane").hidden));
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------
function bind() {
  const input = $("message-input");
  const grow = () => { input.style.height = "auto"; input.style.height = `${Math.min(input.scrollHeight, 240)}px`; };
  const take = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    grow();
    submit(text);
  };
  $("composer").addEventListener("submit", (event) => { event.preventDefault(); take(); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); take(); }
  });
  input.addEventListener("input", grow);
  $("stop-button").addEventListener("click", stop);
  $("new-thread").addEventListener("click", () => { navigate(null); input.focus(); });
  $("new-project").addEventListener("click", newProjectChat);
  $("load-earlier").addEventListener("click", showEarlier);
  $("agent-select").addEventListener("change", () => localStorage.setItem(AGENT_KEY, $("agent-select").value));
  // Scrolled to the top of what is rendered: bring in the previous page.
  $("messages").addEventListener("scroll", () => {
    if ($("messages").scrollTop < 40 && !$("load-earlier").hidden) showEarlier();
  }, { passive: true });
  $("message-list").addEventListener("click", (event) => {
    const chip = event.target.closest(".chip.citation");
    if (!chip) return;
    const message = chip.closest(".message");
    openSource(Number(message.dataset.index), Number(chip.dataset.citation));
  });
  $("source-close").addEventListener("click", () => $("source-dialog").close());
  $("source-dialog").addEventListener("click", (event) => { if (event.target === $("source-dialog")) $("source-dialog").close(); });
  $("toggle-sandbox").addEventListener("click", () => {
    if ($("sandbox-pane").hidden) openSandbox({ projectId: state.projects.get(state.threadId) });
    else closeSandbox();
    updateSandboxToggle();
  });
  $("close-sandbox").addEventListener("click", () => { closeSandbox(); updateSandboxToggle(); $("toggle-sandbox").focus(); });
  window.addEventListener("popstate", () => openThread(threadFromUrl()));
}

function threadFromUrl() {
  const match = location.pathname.match(/^\/app\/t\/([^/]+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

async function init() {
  // Read the thread to open now: a message sent before the lists below arrive starts a thread
  // and changes the URL, and opening that one would wipe the answer being streamed.
  const wanted = threadFromUrl();
  state.threadId = wanted;  // a message sent before the thread has loaded continues it
  bind();
  try {
    await requireSignIn();
    await Promise.all([loadThreads(), loadAgents()]);
  } catch (error) {
    setStatus(error.message);
    return;
  }
  if (!state.sent) await openThread(wanted);
}

init();
