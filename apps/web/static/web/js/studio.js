// Studio screen: text to speech with a player, and podcast and slide-deck jobs with progress and
// download, over 003's /api/v1/agent/tts/* and /api/v1/agent/generation/* routes (docs/studio.md).
// Audio and files come back as blobs (they need the bearer token) and play from blob: URLs.
import { api, el, requireSignIn, toast } from "./core.js";
import { authedFetch, button, clearErrors, field, formError, showErrors, sleep, textarea } from "./kit.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const FILES = { podcast: { name: "podcast.mp3", label: "Download the podcast (MP3)" },
  ppt: { name: "slides.pptx", label: "Download the slides (PowerPoint)" } };
const urls = new Set();

function blobUrl(blob) {
  const url = URL.createObjectURL(blob);
  urls.add(url);
  return url;
}

function forget(container) {
  for (const node of container.querySelectorAll("[src^='blob:'], [href^='blob:']")) {
    const url = node.getAttribute("src") || node.getAttribute("href");
    URL.revokeObjectURL(url);
    urls.delete(url);
  }
}

function player(blob, filename, label) {
  const url = blobUrl(blob);
  const audio = el("audio", { attrs: { controls: "", src: url, "aria-label": label, preload: "metadata" } });
  const link = el("a", { class: "btn", text: `Download ${filename}`, attrs: { href: url, download: filename } });
  return el("div", { class: "player" }, audio, link);
}

// ---------------------------------------------------------------------------
// Text to speech
// ---------------------------------------------------------------------------
async function setUpSpeech() {
  const form = $("tts-form");
  const text = textarea("text", { rows: 4, attrs: { maxlength: "5000" } });
  const voice = el("select", { attrs: { name: "voice" } }, el("option", { text: "Default voice", attrs: { value: "" } }));
  const speed = el("input", { attrs: { type: "range", name: "speed", min: "0.5", max: "2", step: "0.1", value: "1" } });
  const speedValue = el("output", { text: "1.0×", attrs: { for: "" } });
  speed.addEventListener("input", () => { speedValue.textContent = `${Number(speed.value).toFixed(1)}×`; });
  const speedField = field("Speed", speed);
  speedValue.setAttribute("for", speed.id);
  speedField.querySelector("label").after(speedValue);
  form.append(field("Text", text), el("div", { class: "grid-2" }, field("Voice", voice), speedField), formError(),
    el("button", { class: "btn btn-primary", text: "Speak", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    const output = $("tts-output");
    try {
      const response = await authedFetch("/api/v1/agent/tts/synthesize", {
        method: "POST", json: { text: text.value, voice: voice.value, speed: Number(speed.value) },
      });
      const blob = await response.blob();
      forget(output);
      output.replaceChildren(player(blob, "speech.mp3", "Synthesized speech"));
      output.hidden = false;
      output.querySelector("audio").focus();
    } catch (error) {
      showErrors(form, error);
    } finally {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
  });
  try {
    const voices = await api("/api/v1/agent/tts/voices");
    voice.append(...voices.map((entry) => el("option", { text: `${entry.name} (${entry.language})`, attrs: { value: entry.id } })));
  } catch (error) {
    toast(`The voices did not load: ${error.message}`, "warn");
  }
}

// ---------------------------------------------------------------------------
// Podcast and slide-deck jobs
// ---------------------------------------------------------------------------
function setUpJob(formId, panelId, kind) {
  const form = $(formId);
  const panel = $(panelId);
  const content = textarea("content", { rows: 8, attrs: { maxlength: "200000" } });
  form.append(field("Content", content, { hint: "A report, notes or an article." }), formError(),
    el("button", { class: "btn btn-primary", text: kind === "podcast" ? "Generate podcast" : "Generate slides", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      await runJob(kind, content.value, panel, form);
    } finally {
      submit.disabled = false;
    }
  });
}

function jobView(panel, kind) {
  forget(panel);
  const status = el("p", { class: "job-status", attrs: { role: "status" } });
  const bar = el("progress", { attrs: { max: "100", value: "0", "aria-label": kind === "podcast" ? "Podcast progress" : "Slides progress" } });
  const note = el("p", { class: "hint job-note" });
  const actions = el("div", { class: "item-actions" });
  panel.replaceChildren(status, bar, note, actions);
  panel.hidden = false;
  return { status, bar, note, actions };
}

async function runJob(kind, content, panel, form) {
  let response;
  try {
    response = await authedFetch(`/api/v1/agent/generation/${kind}`, {
      method: "POST", json: { content }, headers: { Prefer: "respond-async" },
    });
  } catch (error) {
    showErrors(form, error);
    return;
  }
  const view = jobView(panel, kind);
  if (!(response.headers.get("Content-Type") || "").includes("application/json")) {
    finish(view, kind, await response.blob()); // done before the answer: the file itself
    return;
  }
  let job = await response.json();
  const cancel = button("Cancel", { kind: "ghost", label: `Cancel the ${kind === "podcast" ? "podcast" : "slides"}`, onClick: async () => {
    cancel.disabled = true;
    try {
      job = await api(`/api/v1/agent/generation/jobs/${job.job_id}/cancel`, { method: "POST" });
    } catch (error) {
      toast(error.message, "err");
    }
  } });
  view.actions.append(cancel);
  while (!["succeeded", "failed", "cancelled"].includes(job.status)) {
    show(view, job);
    await sleep(POLL_MS);
    try {
      job = await api(`/api/v1/agent/generation/jobs/${job.job_id}`);
    } catch (error) {
      view.status.textContent = `Lost track of the job: ${error.message}`;
      return;
    }
  }
  show(view, job);
  view.actions.replaceChildren();
  if (job.status === "succeeded") {
    const file = await authedFetch(job.download_url || `/api/v1/agent/generation/jobs/${job.job_id}/download`);
    finish(view, kind, await file.blob(), job);
  }
}

function show(view, job) {
  const percent = Math.round((job.progress || 0) * 100);
  const words = { queued: "Queued", running: `Working: ${percent}%`, succeeded: "Done", failed: "Failed", cancelled: "Cancelled" };
  view.status.textContent = job.status === "failed" ? `Failed: ${job.error || "unknown reason"}` : words[job.status] || job.status;
  view.status.className = `job-status${job.status === "failed" ? " error" : ""}`;
  view.bar.value = job.status === "succeeded" ? 100 : percent;
  view.note.textContent = job.progress_note || "";
}

function finish(view, kind, blob, job = null) {
  view.status.textContent = "Done";
  view.bar.value = 100;
  const file = FILES[kind];
  if (kind === "podcast") {
    view.actions.replaceChildren(player(blob, file.name, "Generated podcast"));
  } else {
    view.actions.replaceChildren(el("a", { class: "btn btn-primary", text: file.label, attrs: { href: blobUrl(blob), download: file.name } }));
  }
  if (job && job.engine) view.note.textContent = `Made by ${job.engine}.`;
}

async function main() {
  await requireSignIn();
  setUpJob("podcast-form", "podcast-job", "podcast");
  setUpJob("slides-form", "slides-job", "ppt");
  await setUpSpeech();
}

window.addEventListener("pagehide", () => { for (const url of urls) URL.revokeObjectURL(url); });
main();
