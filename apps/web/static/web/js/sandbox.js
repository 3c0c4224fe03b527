// The sandbox pane beside the chat (chat.html), for a thread that belongs to a 004 project:
// the project's sandbox (ensure-active), its file tree and a file viewer, a terminal that runs
// commands (execute) and shows their output, the live preview in an iframe (preview-url, served
// by /preview/ on this origin with its own sandboxing CSP), and deploy with its status.
import { api, el, formatBytes, streamEvents, toast } from "./core.js";

const $ = (id) => document.getElementById(id);
const pane = { projectId: null, sandboxId: null, deployTimer: 0, bound: false, devServer: null };

const sandboxPath = (suffix = "") => `/api/sandboxes/${encodeURIComponent(pane.sandboxId)}${suffix}`;

function setBadge(text, kind = "") {
  const badge = $("sandbox-status");
  badge.textContent = text;
  badge.className = `badge ${kind}`;
}

function selectTab(tab) {
  for (const other of document.querySelectorAll("#sandbox-pane [role=tab]")) {
    const on = other === tab;
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !on;
  }
}

function bindOnce() {
  if (pane.bound) return;
  pane.bound = true;
  const tabs = [...document.querySelectorAll("#sandbox-pane [role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const next = tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      selectTab(next);
      next.focus();
    });
  }
  $("sandbox-refresh").addEventListener("click", () => loadTree());
  $("command-form").addEventListener("submit", (event) => { event.preventDefault(); runCommand(); });
  $("preview-open").addEventListener("click", () => openPreview());
  $("deploy-button").addEventListener("click", () => deploy());
}

/** Shows the pane for a project: makes sure its sandbox runs, then lists its files. */
export async function openSandbox({ projectId }) {
  bindOnce();
  pane.projectId = projectId;
  $("sandbox-pane").hidden = false;
  document.getElementById("chat-page")?.classList.add("with-sandbox");
  setBadge("starting…");
  $("file-tree").replaceChildren();
  $("file-viewer").hidden = true;
  $("terminal-output").textContent = "";
  $("preview-frame").hidden = true;
  $("preview-frame").removeAttribute("src");
  try {
    const sandbox = await api(`/api/project/${encodeURIComponent(projectId)}/sandbox/ensure-active`, { method: "POST", json: {} });
    if (pane.projectId !== projectId) return;
    pane.sandboxId = sandbox.sandbox_id;
    setBadge(sandbox.status || "running", "ok");
    await Promise.all([loadTree(), deploymentStatus({ quiet: true })]);
  } catch (error) {
    setBadge("unavailable", "err");
    toast(error.message, "err");
  }
}

export function closeSandbox() {
  clearTimeout(pane.deployTimer);
  pane.devServer?.abort();
  pane.devServer = null;
  pane.projectId = null;
  pane.sandboxId = null;
  const node = $("sandbox-pane");
  if (node) node.hidden = true;
  document.getElementById("chat-page")?.classList.remove("with-sandbox");
}

function treeItems(nodes) {
  return nodes
    .slice()
    .sort((a, b) => (a.type === "directory") === (b.type === "directory") ? a.name.localeCompare(b.name) : a.type === "directory" ? -1 : 1)
    .map((node) => {
      if (node.type === "directory") {
        return el("li", { class: "dir" }, el("details", {},
          el("summary", { text: `${node.name}/` }),
          el("ul", {}, treeItems(node.children || []))));
      }
      return el("li", { class: "file" }, el("button", {
        class: "btn btn-ghost btn-sm file-open", text: node.name,
        attrs: { type: "button", title: `${node.path} (${formatBytes(node.size)})` },
        on: { click: () => openFile(node.path) },
      }));
    });
}

async function loadTree() {
  if (!pane.sandboxId) return;
  try {
    const { tree } = await api(sandboxPath("/files/tree"));
    $("file-tree").replaceChildren(...(tree.length ? treeItems(tree) : [el("li", { class: "muted small", text: "The workspace is empty." })]));
  } catch (error) { toast(error.message, "err"); }
}

async function openFile(path) {
  try {
    const file = await api(sandboxPath("/files/content"), { query: { path } });
    $("file-name").textContent = path;
    $("file-content").textContent = file.encoding === "base64" ? `(binary file, ${formatBytes(file.size)})` : file.content;
    $("file-viewer").hidden = false;
  } catch (error) { toast(error.message, "err"); }
}

async function runCommand() {
  const input = $("command-input");
  const command = input.value.trim();
  if (!command || !pane.sandboxId) return;
  const output = $("terminal-output");
  output.append(el("span", { class: "prompt", text: `$ ${command}\n` }));
  input.value = "";
  input.disabled = true;
  try {
    const result = await api(sandboxPath("/execute"), { method: "POST", json: { command } });
    if (result.stdout) output.append(result.stdout);
    if (result.stderr) output.append(el("span", { class: "stderr", text: result.stderr }));
    const status = result.timed_out ? "timed out" : result.killed_reason ? `killed (${result.killed_reason})` : `exit ${result.exit_code}`;
    output.append(el("span", { class: result.exit_code === 0 ? "exit ok" : "exit err", text: `${result.stdout && !result.stdout.endsWith("\n") ? "\n" : ""}[${status}, ${result.duration}s]\n` }));
    loadTree();
  } catch (error) {
    output.append(el("span", { class: "stderr", text: `${error.message}\n` }));
  } finally {
    input.disabled = false;
    input.focus();
    output.scrollTop = output.scrollHeight;
  }
}

// A preview server started just now takes a moment to listen: until then the proxy answers 502.
async function waitForServer(src) {
  for (let attempt = 0; attempt < 30; attempt += 1) {
    try {
      const response = await fetch(src, { method: "GET", cache: "no-store" });
      if (response.status !== 502 && response.status !== 503) return;
    } catch { /* not up yet */ }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function openPreview() {
  if (!pane.sandboxId) return;
  const button = $("preview-open");
  button.disabled = true;
  try {
    const { url } = await api(sandboxPath("/preview-url"));
    const target = new URL(url, location.href);
    // Framed from our own origin only (the page's CSP says frame-src 'self').
    const src = target.origin === location.origin ? target.pathname + target.search : target.href;
    if (target.origin === location.origin) await waitForServer(src);
    followDevServer();
    const frame = $("preview-frame");
    frame.src = src;
    frame.hidden = false;
    button.textContent = "Reload preview";
  } catch (error) {
    toast(error.message, "err");
  } finally {
    button.disabled = false;
  }
}

// The preview server's output (the session "dev-server") goes to the terminal as it comes,
// resumed from the next line index if the stream drops.
function followDevServer() {
  if (pane.devServer) return;
  const controller = new AbortController();
  pane.devServer = controller;
  const output = $("terminal-output");
  let next = 0;
  streamEvents(sandboxPath("/dev-server/stream"), {
    query: { session: "dev-server", index: 0 }, signal: controller.signal,
    isEnd: (event) => event.type === "end",
    resume: () => ({ path: sandboxPath("/dev-server/stream"), query: { session: "dev-server", index: next } }),
    onEvent: (event) => {
      if (event.type === "output") {
        next = event.index + 1;
        const follow = output.scrollHeight - output.scrollTop - output.clientHeight < 40;
        output.append(el("span", { class: "dev-server", text: `${event.line}\n` }));
        if (follow) output.scrollTop = output.scrollHeight;
      } else if (event.type === "end") {
        output.append(el("span", { class: "exit", text: `[dev-server ${event.status}${event.exit_code != null ? `, exit ${event.exit_code}` : ""}]\n` }));
      }
    },
  }).catch(() => {}).finally(() => { if (pane.devServer === controller) pane.devServer = null; });
}

function showDeployment(deployment) {
  const status = $("deploy-status");
  status.replaceChildren(el("span", { class: `badge ${deployment.status === "ready" ? "ok" : deployment.status === "failed" ? "err" : "warn"}`, text: deployment.status }), " ");
  if (deployment.url && deployment.status === "ready") {
    status.append(el("a", { text: deployment.url, attrs: { href: deployment.url, target: "_blank", rel: "noopener" } }));
  }
}

async function deploymentStatus({ quiet = false } = {}) {
  if (!pane.projectId) return;
  try {
    const deployment = await api(`/api/project/${encodeURIComponent(pane.projectId)}/deployment/status`);
    showDeployment(deployment);
    if (!["ready", "failed"].includes(deployment.status)) pane.deployTimer = setTimeout(() => deploymentStatus({ quiet: true }), 1500);
  } catch (error) {
    if (error.status === 404) $("deploy-status").textContent = "Not deployed yet.";
    else if (!quiet) toast(error.message, "err");
  }
}

async function deploy() {
  if (!pane.projectId) return;
  const button = $("deploy-button");
  button.disabled = true;
  $("deploy-status").textContent = "Deploying…";
  try {
    const deployment = await api(`/api/project/${encodeURIComponent(pane.projectId)}/deploy/git`, { method: "POST", json: { sandbox_id: pane.sandboxId } });
    showDeployment(deployment);
    clearTimeout(pane.deployTimer);
    if (!["ready", "failed"].includes(deployment.status)) deploymentStatus();
  } catch (error) {
    $("deploy-status").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}
