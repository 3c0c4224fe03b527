// Knowledge screen: knowledge bases (002 /api/knowledge-base/*), uploads with per-file progress,
// re-ingest, and a retrieval test. Each file is its own upload request, so each has its own
// upload percentage and ingestion task; the document list is polled while anything is in flight.
import { confirmDialog, el, formatBytes, requireSignIn, toast } from "./core.js";
import {
  badge, button, field, formError, input, sage, sleep, submitting, textarea, uploadWithProgress,
} from "./kit.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const PAGE_SIZE = 100;
const PARALLEL_UPLOADS = 3;
const STATUS = { 0: "queued", 1: "processing", 2: "ingested", 3: "failed" };

const state = {
  bases: [],
  current: null, // the selected knowledge base
  rows: new Map(), // key → {node, upload?: {name, size, fraction, error}, doc?: KdbDoc}
  polling: false,
  uploadsRunning: 0,
  queue: [],
};

// ---------------------------------------------------------------------------
// Knowledge bases
// ---------------------------------------------------------------------------
async function loadBases() {
  const page = await sage("/api/knowledge-base/list", { query: { page_size: 100 } });
  state.bases = page.list;
  const list = $("kb-list");
  list.replaceChildren(...state.bases.map((base) => {
    const open = button(base.name, { kind: "ghost", label: `Open ${base.name}`, onClick: () => select(base.kdb_id) });
    open.classList.add("item-title");
    if (state.current && state.current.kdb_id === base.kdb_id) open.setAttribute("aria-current", "true");
    return el("li", { class: "kb", dataset: { kdbId: base.kdb_id } }, open,
      el("span", { class: "hint", text: `${base.doc_count} document${base.doc_count === 1 ? "" : "s"}` }));
  }));
  $("kb-empty").hidden = state.bases.length > 0;
}

function setUpCreate() {
  const form = $("kb-create-form");
  const name = input("name", { required: true, attrs: { maxlength: "200" } });
  const intro = textarea("intro", { rows: 2 });
  form.append(field("Name", name), field("Description (optional)", intro), formError(),
    el("button", { class: "btn btn-primary", text: "Create knowledge base", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await submitting(form, () => sage("/api/knowledge-base/add", {
      method: "POST", json: { name: name.value.trim(), intro: intro.value },
    }));
    if (!created) return;
    form.reset();
    toast("Knowledge base created.", "ok");
    await loadBases();
    await select(created.kdb_id);
  });
}

async function select(kdbId) {
  const base = await sage("/api/knowledge-base/info", { query: { kdb_id: kdbId } });
  state.current = base;
  state.rows.clear();
  $("kb-documents").replaceChildren();
  $("kb-results").replaceChildren();
  $("kb-detail").hidden = false;
  $("kb-name").textContent = base.name;
  $("kb-intro").textContent = base.intro || "";
  $("kb-rename-form").hidden = true;
  history.replaceState(null, "", `/app/knowledge?kb=${encodeURIComponent(base.kdb_id)}`);
  await loadBases();
  await refreshDocuments();
  $("kb-name").focus();
}

function setUpRename() {
  const form = $("kb-rename-form");
  const name = input("name", { required: true, attrs: { maxlength: "200" } });
  form.append(field("New name", name), el("button", { class: "btn btn-primary", text: "Save name", attrs: { type: "submit" } }),
    button("Cancel", { kind: "ghost", onClick: () => { form.hidden = true; $("kb-rename").focus(); } }), formError());
  $("kb-rename").addEventListener("click", () => {
    form.hidden = false;
    name.value = state.current.name;
    name.select();
    name.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await submitting(form, () => sage("/api/knowledge-base/update", {
      method: "POST", json: { kdb_id: state.current.kdb_id, name: name.value.trim() },
    }));
    if (!done) return;
    form.hidden = true;
    toast("Renamed.", "ok");
    await select(state.current.kdb_id);
  });
}

async function deleteBase() {
  const base = state.current;
  if (!(await confirmDialog(`Delete “${base.name}” and all its documents?`))) return;
  try {
    await sage(`/api/knowledge-base/delete/${encodeURIComponent(base.kdb_id)}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  state.current = null;
  $("kb-detail").hidden = true;
  history.replaceState(null, "", "/app/knowledge");
  toast(`Deleted “${base.name}”.`, "ok");
  await loadBases();
}

async function reingestAll() {
  try {
    await sage("/api/knowledge-base/redo_all", { method: "POST", json: { kdb_id: state.current.kdb_id } });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  toast("Every document is queued again.", "ok");
  await refreshDocuments();
}

// ---------------------------------------------------------------------------
// Documents and uploads
// ---------------------------------------------------------------------------
async function fetchDocuments(kdbId) {
  const documents = [];
  for (let page = 1; ; page += 1) {
    const data = await sage("/api/knowledge-base/doc/list", { query: { kdb_id: kdbId, page_no: page, page_size: PAGE_SIZE } });
    documents.push(...data.list);
    if (documents.length >= data.total || !data.list.length) return documents;
  }
}

function busy(row) {
  if (row.upload && !row.doc) return !row.upload.error;
  return row.doc && (row.doc.status === 0 || row.doc.status === 1);
}

async function refreshDocuments() {
  const base = state.current;
  if (!base) return;
  let documents;
  try {
    documents = await fetchDocuments(base.kdb_id);
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  if (state.current !== base) return; // another base was opened meanwhile
  const seen = new Set();
  for (const doc of documents) {
    seen.add(doc.doc_id);
    const row = state.rows.get(doc.doc_id) || adoptUpload(doc) || { key: doc.doc_id };
    row.doc = doc;
    state.rows.set(doc.doc_id, row);
    renderRow(row);
  }
  for (const [key, row] of state.rows) {
    if (row.doc && !seen.has(row.doc.doc_id)) { row.node.remove(); state.rows.delete(key); }
  }
  renderEmpty();
  if ([...state.rows.values()].some(busy)) poll();
}

// An upload that learnt its document id takes over the document's row.
function adoptUpload(doc) {
  for (const [key, row] of state.rows) {
    if (row.upload && row.upload.docId === doc.doc_id) {
      state.rows.delete(key);
      row.key = doc.doc_id;
      return row;
    }
  }
  return null;
}

async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    while (state.current && [...state.rows.values()].some(busy)) {
      await sleep(POLL_MS);
      await refreshDocuments();
    }
  } finally {
    state.polling = false;
  }
}

function describe(row) {
  if (row.doc) {
    const doc = row.doc;
    const status = STATUS[doc.status];
    if (status === "processing") return { text: `Processing ${Math.round(doc.progress * 100)}%`, kind: "warn", progress: doc.progress };
    if (status === "queued") return { text: "Queued", kind: "warn", progress: null };
    if (status === "failed") return { text: `Failed: ${doc.error || "unknown reason"}`, kind: "err" };
    return { text: `Ingested · ${doc.chunk_count} chunk${doc.chunk_count === 1 ? "" : "s"}`, kind: "ok" };
  }
  const upload = row.upload;
  if (upload.error) return { text: `Failed: ${upload.error}`, kind: "err" };
  if (upload.waiting) return { text: "Waiting to upload", kind: "", progress: 0 };
  return { text: `Uploading ${Math.round(upload.fraction * 100)}%`, kind: "warn", progress: upload.fraction };
}

function renderRow(row) {
  const name = row.doc ? row.doc.doc_name : row.upload.name;
  if (!row.node) {
    row.node = el("li", { class: "document" },
      el("span", { class: "doc-name", text: name }),
      el("span", { class: "doc-size hint" }),
      el("span", { class: "doc-state badge" }),
      el("progress", { attrs: { max: "100", "aria-label": `Progress of ${name}` } }),
      el("span", { class: "item-actions" }));
    $("kb-documents").prepend(row.node);
  }
  const info = describe(row);
  row.node.dataset.key = row.key;
  row.node.dataset.state = row.doc ? STATUS[row.doc.status] : row.upload.error ? "failed" : "uploading";
  row.node.querySelector(".doc-name").textContent = name;
  const size = row.doc ? row.doc.size : row.upload.size;
  row.node.querySelector(".doc-size").textContent = size != null ? formatBytes(size) : "";
  const label = row.node.querySelector(".doc-state");
  label.className = `doc-state badge${info.kind ? ` ${info.kind}` : ""}`;
  if (label.textContent !== info.text) {
    // Percentages change every second: only the outcome is announced, once, in one live region.
    if (label.textContent && (info.kind === "ok" || info.kind === "err")) $("kb-announce").textContent = `${name}: ${info.text}`;
    label.textContent = info.text;
  }
  const bar = row.node.querySelector("progress");
  bar.hidden = info.progress === undefined;
  if (info.progress === null) bar.removeAttribute("value"); // queued: an indeterminate bar
  else if (info.progress !== undefined) bar.value = Math.round(info.progress * 100);
  const actions = row.node.querySelector(".item-actions");
  const wanted = row.doc ? (busy(row) ? "busy" : "idle") : "none";
  if (actions.dataset.mode !== wanted) {
    actions.dataset.mode = wanted;
    actions.replaceChildren();
    if (row.doc) {
      const again = button("Re-ingest", { label: `Re-ingest ${name}`, onClick: () => reingest(row) });
      again.disabled = busy(row);
      actions.append(again, button("Delete", { kind: "danger", label: `Delete ${name}`, onClick: () => removeDocument(row) }));
    }
  }
}

function renderEmpty() {
  $("kb-documents-empty").hidden = state.rows.size > 0;
}

async function reingest(row) {
  try {
    await sage(`/api/knowledge-base/doc/redo/${encodeURIComponent(row.doc.doc_id)}`, { method: "PUT" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  row.doc = { ...row.doc, status: 0, progress: 0, error: "" };
  renderRow(row);
  poll();
}

async function removeDocument(row) {
  if (!(await confirmDialog(`Delete “${row.doc.doc_name}”?`))) return;
  try {
    await sage(`/api/knowledge-base/doc/delete/${encodeURIComponent(row.doc.doc_id)}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  row.node.remove();
  state.rows.delete(row.key);
  renderEmpty();
  $("kb-files").focus();
}

let uploadCount = 0;

function enqueue(files) {
  if (!state.current) return;
  for (const file of files) {
    const key = `upload-${++uploadCount}`;
    const row = { key, upload: { name: file.name, size: file.size, fraction: 0, waiting: true, file, kdbId: state.current.kdb_id } };
    state.rows.set(key, row);
    renderRow(row);
    state.queue.push(row);
  }
  renderEmpty();
  pump();
}

function pump() {
  while (state.uploadsRunning < PARALLEL_UPLOADS && state.queue.length) {
    const row = state.queue.shift();
    state.uploadsRunning += 1;
    upload(row).finally(() => {
      state.uploadsRunning -= 1;
      pump();
    });
  }
}

async function upload(row) {
  const { file, kdbId } = row.upload;
  row.upload.waiting = false;
  renderRow(row);
  const form = new FormData();
  form.append("kdb_id", kdbId);
  form.append("files", file, file.name);
  try {
    const task = await uploadWithProgress("/api/knowledge-base/doc/add_by_files", form, (fraction) => {
      row.upload.fraction = fraction;
      renderRow(row);
    });
    row.upload.fraction = 1;
    const found = await sage("/api/knowledge-base/doc/list", { query: { kdb_id: kdbId, task_id: task.taskId, page_size: 1 } });
    const docId = found.list.length ? found.list[0].doc_id : null;
    if (docId && !state.rows.has(docId)) {
      row.upload.docId = docId;
    } else {
      // A poll listed the document first (or it is not under its task): its own row shows it.
      row.node.remove();
      state.rows.delete(row.key);
    }
  } catch (error) {
    row.upload.error = error.message;
    renderRow(row);
    return;
  }
  row.upload.file = null;
  if (state.current && state.current.kdb_id === kdbId) await refreshDocuments();
}

function setUpDropzone() {
  const zone = $("kb-dropzone");
  const picker = $("kb-files");
  picker.addEventListener("change", () => {
    enqueue([...picker.files]);
    picker.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    enqueue([...event.dataTransfer.files]);
  });
}

// ---------------------------------------------------------------------------
// Test retrieval
// ---------------------------------------------------------------------------
function setUpRetrieval() {
  const form = $("kb-retrieve-form");
  const query = input("query", { type: "search", required: true, attrs: { maxlength: "4000" } });
  const topK = input("top_k", { type: "number", value: "5", attrs: { min: "1", max: "100" } });
  form.append(el("div", { class: "inline-form" }, field("Question", query), field("Results", topK),
    el("button", { class: "btn btn-primary", text: "Search", attrs: { type: "submit" } })), formError());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const list = $("kb-results");
    const data = await submitting(form, () => sage("/api/knowledge-base/retrieve", {
      method: "POST", json: { kdb_id: state.current.kdb_id, query: query.value, top_k: topK.value === "" ? 5 : Number(topK.value) },
    }));
    if (!data) return;
    list.replaceChildren(...data.results.map((chunk, index) => {
      const where = chunk.page != null ? `page ${chunk.page}` : chunk.row != null ? `row ${chunk.row}` : "";
      return el("li", { class: "result" },
        el("div", { class: "result-head" },
          el("span", { class: "result-rank", text: `${index + 1}.` }), " ",
          el("span", { class: "result-doc", text: chunk.doc_name }),
          where ? el("span", { class: "hint", text: ` · ${where}` }) : "",
          " ", badge(`score ${chunk.score.toFixed(4)}`)),
        el("p", { class: "result-content", text: chunk.content }));
    }));
    if (!data.results.length) list.append(el("li", { class: "empty", text: "Nothing in this knowledge base matches." }));
  });
}

async function main() {
  await requireSignIn();
  setUpCreate();
  setUpRename();
  setUpDropzone();
  setUpRetrieval();
  $("kb-delete").addEventListener("click", deleteBase);
  $("kb-reingest-all").addEventListener("click", reingestAll);
  await loadBases();
  const wanted = new URLSearchParams(location.search).get("kb");
  if (wanted) await select(wanted).catch((error) => toast(error.message, "err"));
}

main();
