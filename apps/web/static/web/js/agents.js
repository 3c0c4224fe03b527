// Agents screen: the picker (search, create, duplicate, delete) and the editor, over 002's
// /api/agent/* routes, with the model catalog of 004 (/api/models/available).
import { api, confirmDialog, debounce, el, requireSignIn, toast } from "./core.js";
import {
  badge, button, clearErrors, field, formError, input, sage, showErrors, submitting, textarea,
} from "./kit.js";

const $ = (id) => document.getElementById(id);
const MAX_LOOP_LIMIT = 50;
const OFFLINE_MODEL = "offline";
// API field → the data-field of its control, so a 400 lands under the right control.
const ALIASES = { systemPrefix: "system_prompt", maxLoopCount: "max_loop_count", llm_provider_id: "model",
  availableTools: "tools", availableSkills: "skills", availableKnowledgeBases: "knowledge_bases",
  availableSubAgentIds: "sub_agents" };

const state = {
  agents: [],
  catalog: { models: [], tools: [], skills: [], bases: [], servers: [] },
  editing: null, // the agent being edited (null id for a new one)
  undo: null, // the editor's "Undo optimize" button
  options: [], // users the owner may share with
};

async function loadCatalog() {
  const [models, tools, skills, bases, servers] = await Promise.allSettled([
    api("/api/models/available"),
    sage("/api/tools"),
    sage("/api/skills", { query: { dimension: "all" } }),
    sage("/api/knowledge-base/list", { query: { page_size: 100 } }),
    sage("/api/mcp/list"),
  ]);
  const value = (result, pick, fallback = []) => (result.status === "fulfilled" ? pick(result.value) || fallback : fallback);
  state.catalog = {
    models: value(models, (data) => data.models),
    tools: value(tools, (data) => data.tools.filter((tool) => !["mcp", "agent", "skill"].includes(tool.type))),
    skills: value(skills, (data) => data.skills),
    bases: value(bases, (data) => data.list),
    servers: value(servers, (data) => data.servers),
  };
}

async function loadAgents() {
  state.agents = await sage("/api/agent/list");
  renderList();
}

function renderList() {
  const query = $("agent-search").value.trim().toLowerCase();
  const shown = state.agents.filter((agent) => !query
    || agent.name.toLowerCase().includes(query) || (agent.description || "").toLowerCase().includes(query));
  const list = $("agent-list");
  list.replaceChildren(...shown.map(agentItem));
  $("agents-empty").hidden = state.agents.length > 0;
  if (state.agents.length && !shown.length) list.append(el("li", { class: "empty", text: "No agent matches your search." }));
}

function agentItem(agent) {
  const open = button(agent.name, { kind: "ghost", label: `Edit ${agent.name}`, onClick: () => openEditor(agent.id) });
  open.classList.add("item-title");
  const meta = el("div", { class: "item-meta" });
  if (agent.description) meta.append(el("span", { class: "hint", text: agent.description }));
  if (!agent.is_owner) meta.append(badge("Shared with you"));
  const actions = el("div", { class: "item-actions" },
    button("Duplicate", { label: `Duplicate ${agent.name}`, onClick: () => duplicate(agent) }));
  if (agent.is_owner) {
    actions.append(button("Delete", { kind: "danger", label: `Delete ${agent.name}`, onClick: () => remove(agent) }));
  }
  const item = el("li", { class: "agent", dataset: { agentId: agent.id } }, open, meta, actions);
  if (state.editing && state.editing.id === agent.id) open.setAttribute("aria-current", "true");
  return item;
}

const CONFIG_FIELDS = ["name", "description", "systemPrefix", "systemContext", "availableWorkflows", "availableTools",
  "availableSubAgentIds", "availableSkills", "availableKnowledgeBases", "memoryType", "maxLoopCount", "deepThinking",
  "llm_provider_id", "enableMultimodal", "multiAgent", "agentMode"];

function configOf(agent) {
  const config = {};
  for (const key of CONFIG_FIELDS) if (agent[key] !== undefined && agent[key] !== null) config[key] = agent[key];
  return config;
}

async function duplicate(agent) {
  const full = await sage(`/api/agent/${agent.id}`);
  const copy = { ...configOf(full), name: `${full.name} (copy)`.slice(0, 200) };
  // A shared agent's provider may not be ours to use: the copy falls back to the default model.
  if (!full.is_owner) delete copy.llm_provider_id;
  try {
    const created = await sage("/api/agent/create", { method: "POST", json: copy });
    toast(`Duplicated as “${copy.name}”.`, "ok");
    await loadAgents();
    await openEditor(created.agent_id);
  } catch (error) {
    toast(error.message, "err");
  }
}

async function remove(agent) {
  if (!(await confirmDialog(`Delete the agent “${agent.name}”? Conversations with it stay.`))) return;
  try {
    await sage(`/api/agent/${agent.id}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  if (state.editing && state.editing.id === agent.id) closeEditor();
  toast(`Deleted “${agent.name}”.`, "ok");
  await loadAgents();
}

// ---------------------------------------------------------------------------
// The editor
// ---------------------------------------------------------------------------
let checkCount = 0;

function check(name, value, text, description, on) {
  const id = `check-${++checkCount}`;
  const box = el("input", { attrs: { type: "checkbox", name, value, id } });
  box.checked = on;
  const row = el("div", { class: "check" }, box, el("label", { text, attrs: { for: id } }));
  if (description) {
    row.append(el("span", { class: "hint", text: description, attrs: { id: `${id}-hint` } }));
    box.setAttribute("aria-describedby", `${id}-hint`);
  }
  return row;
}

function checkboxGroup(legend, name, items, selected, { empty, hint } = {}) {
  const chosen = new Set(selected || []);
  const set = el("fieldset", { class: "field checks", dataset: { field: name } }, el("legend", { text: legend }));
  if (hint) set.append(el("p", { class: "hint", text: hint }));
  if (!items.length) set.append(el("p", { class: "hint", text: empty || "None yet." }));
  for (const item of items) set.append(check(name, item.value, item.label, item.description, chosen.has(item.value)));
  // Values the agent names that the catalog does not list (a deleted skill, a base not ours) stay.
  for (const value of chosen) {
    if (!items.some((item) => item.value === value)) set.append(check(name, value, `${value} (unavailable)`, "", true));
  }
  set.append(el("p", { class: "error", attrs: { hidden: "" } }));
  return set;
}

function modelSelect(agent) {
  const select = el("select", { attrs: { name: "model" } });
  const current = agent.llm_provider_id || "";
  for (const model of state.catalog.models) {
    // An entry without a provider (the environment's model, the offline model) is "the default".
    const value = model.provider_id || "";
    if (!value && select.querySelector('option[value=""]')) continue;
    const label = model.provider_id ? `${model.name} (${model.model})` : "Default model";
    select.append(el("option", { text: label, attrs: { value } }));
  }
  if (!select.querySelector('option[value=""]')) select.prepend(el("option", { text: "Default model", attrs: { value: "" } }));
  if (current && !select.querySelector(`option[value="${CSS.escape(current)}"]`)) {
    select.append(el("option", { text: "A provider you cannot see", attrs: { value: current } }));
  }
  select.value = current;
  const offline = state.catalog.models.length === 1 && state.catalog.models[0].id === OFFLINE_MODEL;
  return field("Model", select, {
    name: "model",
    hint: offline ? "No provider is set up: the built-in offline model answers. Add one in Settings." : "The default is your default provider.",
  });
}

function buildForm(agent) {
  const form = $("agent-form");
  const owner = agent.is_owner !== false;
  const prompt = textarea("system_prompt", { value: agent.systemPrefix || "", rows: 8 });
  const goal = input("optimization_goal", { attrs: { placeholder: "e.g. more concise, cite sources" } });
  const optimize = button("Optimize prompt", { onClick: () => optimizePrompt(prompt, goal, optimize) });
  const undo = button("Undo optimize", { kind: "ghost", onClick: () => {
    prompt.value = undo.dataset.previous || "";
    undo.hidden = true;
  } });
  undo.hidden = true;
  const loop = input("max_loop_count", {
    type: "number", value: String(agent.maxLoopCount ?? 10), attrs: { min: "1", max: String(MAX_LOOP_LIMIT), step: "1" },
  });
  const others = state.agents.filter((other) => other.id !== agent.id);
  const tools = state.catalog.tools.map((tool) => ({ value: tool.name, label: tool.name, description: tool.description }));
  const skills = state.catalog.skills.map((skill) => ({ value: skill.name, label: skill.name, description: skill.description }));
  const bases = state.catalog.bases.map((base) => ({ value: base.kdb_id, label: base.name, description: base.intro }));
  const subs = others.map((other) => ({ value: other.id, label: other.name, description: other.description }));

  form.replaceChildren(
    field("Name", input("name", { value: agent.name || "", required: true, attrs: { maxlength: "200" } })),
    field("Description", textarea("description", { value: agent.description || "", rows: 2 })),
    field("System prompt", prompt, { name: "system_prompt", hint: "Who the agent is and how it answers." }),
    el("div", { class: "inline-form" }, field("Optimization goal (optional)", goal), optimize, undo),
    modelSelect(agent),
    checkboxGroup("Tools", "tools", tools, agent.availableTools),
    checkboxGroup("Skills", "skills", skills, agent.availableSkills, { empty: "No skills yet: upload one in Tools." }),
    checkboxGroup("Knowledge bases", "knowledge_bases", bases, agent.availableKnowledgeBases,
      { empty: "No knowledge bases yet: make one in Knowledge." }),
    mcpSummary(),
    checkboxGroup("Sub-agents", "sub_agents", subs, agent.availableSubAgentIds,
      { empty: "No other agents to delegate to.", hint: "The agent may hand a task to these agents." }),
    field("Loop limit", loop, { name: "max_loop_count", hint: `Model calls per answer, 1 to ${MAX_LOOP_LIMIT}.` }),
    formError(),
    el("div", { class: "toolbar" },
      el("span", { class: "spacer" }),
      button("Close", { kind: "ghost", onClick: closeEditor }),
      el("button", { class: "btn btn-primary", text: agent.id ? "Save" : "Create agent", attrs: { type: "submit" } })),
  );
  undo.dataset.previous = "";
  form.onsubmit = (event) => { event.preventDefault(); save(); };
  for (const control of form.elements) if (!owner && control.type !== "button") control.disabled = true;
  if (!owner) {
    form.querySelector("button[type=submit]").hidden = true;
    optimize.closest(".inline-form").hidden = true;
  }
  state.undo = undo;
}

function mcpSummary() {
  const box = el("fieldset", { class: "field" }, el("legend", { text: "MCP servers" }));
  box.append(el("p", { class: "hint", text: "The tools of your active, connected MCP servers are offered to every run of your agents. Add and refresh servers in Tools." }));
  const list = el("ul", { class: "list compact" });
  for (const server of state.catalog.servers) {
    const ok = server.is_active && server.status === "connected";
    list.append(el("li", {},
      el("span", { text: server.name }), " ",
      badge(ok ? `${(server.tools || []).length} tools` : server.is_active ? server.status : "inactive", ok ? "ok" : "warn")));
  }
  if (!state.catalog.servers.length) list.append(el("li", { class: "hint", text: "No MCP servers yet." }));
  box.append(list, el("a", { text: "Manage MCP servers", attrs: { href: "/app/tools" } }));
  return box;
}

async function optimizePrompt(prompt, goal, trigger) {
  const form = $("agent-form");
  clearErrors(form);
  if (!prompt.value.trim()) {
    showErrors(form, { body: { errors: { system_prompt: ["Write a prompt first."] } } });
    return;
  }
  trigger.disabled = true;
  trigger.setAttribute("aria-busy", "true");
  try {
    const result = await sage("/api/agent/system-prompt/optimize", {
      method: "POST", json: { original_prompt: prompt.value, optimization_goal: goal.value.trim() },
    });
    state.undo.dataset.previous = prompt.value;
    state.undo.hidden = false;
    prompt.value = result.optimized_prompt;
    toast(result.generated_by === "offline" ? "Prompt restructured by the offline optimizer." : "Prompt optimized.", "ok");
  } catch (error) {
    showErrors(form, error, { original_prompt: "system_prompt", optimization_goal: "optimization_goal" });
  } finally {
    trigger.disabled = false;
    trigger.removeAttribute("aria-busy");
  }
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
}

function collect(form) {
  const value = (name) => form.elements.namedItem(name).value;
  const loop = value("max_loop_count");
  return {
    name: value("name").trim(),
    description: value("description"),
    systemPrefix: value("system_prompt"),
    llm_provider_id: value("model") || null,
    availableTools: checked(form, "tools"),
    availableSkills: checked(form, "skills"),
    availableKnowledgeBases: checked(form, "knowledge_bases"),
    availableSubAgentIds: checked(form, "sub_agents"),
    // Sent as typed, so the API's own limits answer (a blank or 0 is the API's 400, shown at the field).
    maxLoopCount: loop === "" ? null : Number(loop),
  };
}

async function save() {
  const form = $("agent-form");
  const body = collect(form);
  const agent = state.editing;
  const saved = await submitting(form, async () => {
    if (agent.id) return sage(`/api/agent/${agent.id}`, { method: "PUT", json: body });
    const draft = { ...configOf(agent), ...body };
    return sage("/api/agent/create", { method: "POST", json: draft });
  }, ALIASES);
  if (!saved) return;
  toast(agent.id ? `Saved “${body.name}”.` : `Created “${body.name}”.`, "ok");
  await loadAgents();
  await openEditor(saved.agent_id);
}

async function openEditor(agentId, draft = null) {
  const focused = document.activeElement;
  let agent;
  if (agentId) {
    try {
      agent = await sage(`/api/agent/${agentId}`);
    } catch (error) {
      toast(error.message, "err");
      return;
    }
  } else {
    agent = { id: null, is_owner: true, maxLoopCount: 10, ...(draft || {}) };
  }
  state.editing = agent;
  $("agent-editor").hidden = false;
  $("agent-editor-title").textContent = agent.id ? `Edit “${agent.name}”` : "New agent";
  $("agent-draft-note").textContent = draft
    ? `Drafted ${draft.generated_by === "model" ? "by your model" : "by the offline template"}: review it, then create the agent.`
    : agent.is_owner === false ? "Shared with you: you can chat with it and duplicate it, not change it." : "";
  buildForm(agent);
  renderList();
  await renderSharing(agent);
  history.replaceState(null, "", agent.id ? `/app/agents?agent=${encodeURIComponent(agent.id)}` : "/app/agents");
  // Into the editor, unless the user went on elsewhere (the search box) while it loaded.
  const now = document.activeElement;
  if (now === focused || now === document.body || !now) $("agent-form").elements.namedItem("name").focus();
}

function closeEditor() {
  state.editing = null;
  $("agent-editor").hidden = true;
  history.replaceState(null, "", "/app/agents");
  renderList();
  $("agent-new").focus();
}

// ---------------------------------------------------------------------------
// Sharing: grants by username (the API takes user ids; /api/user/options maps names to ids)
// ---------------------------------------------------------------------------
async function renderSharing(agent) {
  const section = $("agent-sharing");
  section.hidden = !agent.id || agent.is_owner === false;
  if (section.hidden) return;
  let grants;
  try {
    grants = await sage(`/api/agent/${agent.id}/auth`);
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  const list = $("agent-grants");
  list.replaceChildren(...grants.users.map((user) => el("li", {},
    el("span", { text: user.username }), " ",
    button("Stop sharing", { kind: "ghost", label: `Stop sharing with ${user.username}`,
      onClick: () => setGrants(agent, grants.user_ids.filter((id) => id !== user.user_id)) }))));
  if (!grants.users.length) list.append(el("li", { class: "hint", text: "Not shared with anyone." }));

  const form = $("agent-share-form");
  const username = input("username", { attrs: { autocomplete: "off", list: "share-usernames" } });
  const names = el("datalist", { attrs: { id: "share-usernames" } });
  form.replaceChildren(field("Share with (username)", username, { name: "username" }), names,
    el("button", { class: "btn", text: "Share", attrs: { type: "submit" } }), formError());
  form.onsubmit = async (event) => {
    event.preventDefault();
    const wanted = username.value.trim();
    const options = await userOptions();
    const match = options.find((option) => option.username === wanted)
      || options.find((option) => option.username.toLowerCase() === wanted.toLowerCase());
    if (!match) {
      showErrors(form, { body: { errors: { username: [wanted ? `No user named “${wanted}” that you can share with.` : "Enter a username."] } } });
      return;
    }
    if (grants.user_ids.includes(match.user_id)) {
      showErrors(form, { body: { errors: { username: [`Already shared with ${match.username}.`] } } });
      return;
    }
    await submitting(form, () => setGrants(agent, [...grants.user_ids, match.user_id]), { user_ids: "username" });
  };
  userOptions().then((options) => {
    names.replaceChildren(...options.map((option) => el("option", { attrs: { value: option.username } })));
  }).catch(() => {});
}

async function userOptions() {
  if (!state.options.length) state.options = await sage("/api/user/options");
  return state.options;
}

async function setGrants(agent, userIds) {
  await sage(`/api/agent/${agent.id}/auth`, { method: "POST", json: { user_ids: userIds } });
  await renderSharing(agent);
  toast("Sharing updated.", "ok");
}

// ---------------------------------------------------------------------------
// Auto-generate from a description
// ---------------------------------------------------------------------------
function setUpGenerate() {
  const dialog = $("agent-generate");
  const form = $("agent-generate-form");
  const description = textarea("agent_description", { rows: 5, attrs: { maxlength: "5000" } });
  form.querySelector(".toolbar").before(field("Description", description, { name: "agent_description" }), formError());
  $("agent-generate-open").addEventListener("click", () => {
    clearErrors(form);
    dialog.showModal();
    description.focus();
  });
  form.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const draft = await submitting(form, () => sage("/api/agent/auto-generate", {
      method: "POST", json: { agent_description: description.value },
    }));
    if (!draft) return;
    dialog.close();
    description.value = "";
    await openEditor(null, draft);
  });
}

async function main() {
  await requireSignIn();
  setUpGenerate();
  $("agent-search").addEventListener("input", debounce(renderList, 150));
  $("agent-new").addEventListener("click", () => openEditor(null));
  await Promise.all([loadCatalog(), loadAgents()]);
  // Enabled once the catalog is in: an editor opened before would offer no tools or models.
  $("agent-new").disabled = false;
  $("agent-generate-open").disabled = false;
  const wanted = new URLSearchParams(location.search).get("agent");
  if (wanted) await openEditor(wanted);
}

main();
