// Tools screen: MCP servers (002 /api/mcp/*), skills (002 /api/skills*), and toolkit profiles
// (004 /api/composio*, which shows a "not available" state where the server answers 404).
import { api, ApiError, confirmDialog, el, formatDate, requireSignIn, toast } from "./core.js";
import {
  badge, button, clearErrors, field, formError, input, sage, showErrors, submitting, textarea, uploadWithProgress,
} from "./kit.js";

const $ = (id) => document.getElementById(id);
const FRONT_MATTER = /^---[ \t]*\r?\n[\s\S]*?\r?\n---[ \t]*(?:\r?\n|$)/;

// ---------------------------------------------------------------------------
// MCP servers
// ---------------------------------------------------------------------------
function setUpMcpForm() {
  const form = $("mcp-add-form");
  const name = input("name", { required: true, attrs: { maxlength: "48", autocomplete: "off" } });
  const url = input("url", { type: "url", required: true, attrs: { placeholder: "https://mcp.example.com/mcp" } });
  const protocol = el("select", { attrs: { name: "protocol" } },
    el("option", { text: "Streamable HTTP", attrs: { value: "streamable_http" } }),
    el("option", { text: "SSE", attrs: { value: "sse" } }));
  const key = input("api_key", { type: "password", attrs: { autocomplete: "off" } });
  form.append(
    el("div", { class: "grid-2" },
      field("Name", name, { hint: "Letters, digits, - and _; its tools are called name__tool." }),
      field("URL", url, { name: "url" }),
      field("Protocol", protocol),
      field("API key (optional)", key, { hint: "Sent as a bearer token; never shown again." })),
    formError(),
    el("button", { class: "btn btn-primary", text: "Add server", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const transport = protocol.value;
    const body = { name: name.value.trim(), protocol: transport, api_key: key.value || null,
      [transport === "sse" ? "sse_url" : "streamable_http_url"]: url.value.trim() };
    const added = await submitting(form, () => sage("/api/mcp/add", { method: "POST", json: body }),
      { streamable_http_url: "url", sse_url: "url" });
    if (!added) return;
    form.reset();
    toast(added.status === "connected" ? `Connected “${added.server_name}”: ${added.tools_count} tools.`
      : `Added “${added.server_name}”, but it did not connect: ${added.error}`, added.status === "connected" ? "ok" : "warn");
    await loadServers();
  });
}

async function loadServers() {
  const data = await sage("/api/mcp/list");
  $("mcp-list").replaceChildren(...data.servers.map(serverItem));
  $("mcp-empty").hidden = data.servers.length > 0;
}

function serverItem(server) {
  const ok = server.status === "connected";
  const tools = server.tools || [];
  const details = el("details", { class: "tool-list" },
    el("summary", { text: `${tools.length} tool${tools.length === 1 ? "" : "s"}` }),
    el("ul", {}, ...tools.map((tool) => el("li", {},
      el("code", { text: tool.name }), tool.description ? el("span", { class: "hint", text: ` — ${tool.description}` }) : ""))));
  const item = el("li", { class: "mcp-server", dataset: { name: server.name } },
    el("div", { class: "item-head" },
      el("span", { class: "item-title", text: server.name }), " ",
      badge(server.status, ok ? "ok" : "err"),
      server.is_active ? "" : badge("inactive", "warn")),
    el("p", { class: "hint", text: `${server.protocol} · ${server.url}` }));
  if (server.error) item.append(el("p", { class: "error", text: server.error }));
  if (server.refreshed_at) item.append(el("p", { class: "hint", text: `Checked ${formatDate(server.refreshed_at)}` }));
  item.append(details, el("div", { class: "item-actions" },
    button("Refresh", { label: `Refresh ${server.name}`, onClick: (event) => refresh(server, event.currentTarget) }),
    button("Delete", { kind: "danger", label: `Delete ${server.name}`, onClick: () => removeServer(server) })));
  return item;
}

async function refresh(server, trigger) {
  trigger.disabled = true;
  trigger.setAttribute("aria-busy", "true");
  try {
    const result = await sage(`/api/mcp/${encodeURIComponent(server.name)}/refresh`, { method: "POST" });
    toast(result.status === "connected" ? `${server.name}: ${result.tools_count} tools.` : `${server.name}: ${result.error}`,
      result.status === "connected" ? "ok" : "err");
  } catch (error) {
    toast(error.message, "err");
  }
  await loadServers();
  const again = document.querySelector(`.mcp-server[data-name="${CSS.escape(server.name)}"] button`);
  if (again) again.focus();
}

async function removeServer(server) {
  if (!(await confirmDialog(`Delete the MCP server “${server.name}”?`))) return;
  try {
    await sage(`/api/mcp/${encodeURIComponent(server.name)}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  await loadServers();
}

// ---------------------------------------------------------------------------
// Skills
// ---------------------------------------------------------------------------
function setUpSkillUpload() {
  const form = $("skill-upload-form");
  const file = input("file", { type: "file", required: true, attrs: { accept: ".zip,application/zip" } });
  const progress = el("progress", { attrs: { max: "100", value: "0", hidden: "", "aria-label": "Upload progress" } });
  form.append(field("Skill ZIP", file, { name: "file" }),
    el("button", { class: "btn btn-primary", text: "Upload skill", attrs: { type: "submit" } }), progress, formError());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!file.files.length) {
      showErrors(form, { body: { errors: { file: ["Choose a ZIP file."] } } });
      return;
    }
    const body = new FormData();
    body.append("file", file.files[0]);
    progress.hidden = false;
    const saved = await submitting(form, () => uploadWithProgress("/api/skills/upload", body, (fraction) => {
      progress.value = Math.round(fraction * 100);
    }));
    progress.hidden = true;
    if (!saved) return;
    form.reset();
    toast(`Skill “${saved.name}” saved (version ${saved.version}).`, "ok");
    await loadSkills();
  });
}

async function loadSkills() {
  const data = await sage("/api/skills", { query: { dimension: "all" } });
  $("skill-list").replaceChildren(...data.skills.map(skillItem));
  $("skills-empty").hidden = data.skills.length > 0;
}

function skillItem(skill) {
  // System skills are changed by staff, in the admin; here they are read-only.
  const editable = skill.scope !== "system";
  const item = el("li", { class: "skill", dataset: { name: skill.name } },
    el("div", { class: "item-head" },
      el("span", { class: "item-title", text: skill.name }), " ",
      badge(skill.scope), " ", el("span", { class: "hint", text: `v${skill.version}` })),
    el("p", { class: "hint", text: skill.description }));
  const actions = el("div", { class: "item-actions" },
    button(editable ? "Edit SKILL.md" : "Read SKILL.md", { label: `${editable ? "Edit" : "Read"} ${skill.name}`,
      onClick: () => openSkill(skill, editable) }));
  if (editable) actions.append(button("Delete", { kind: "danger", label: `Delete ${skill.name}`, onClick: () => removeSkill(skill) }));
  item.append(actions);
  return item;
}

async function openSkill(skill, editable) {
  let data;
  const agentId = skill.agent_id || "";
  try {
    data = await sage("/api/skills/content", { query: { name: skill.name, agent_id: agentId } });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  const form = $("skill-editor");
  const content = textarea("content", { value: data.content, rows: 18, attrs: { spellcheck: "false", class: "code" } });
  content.readOnly = !editable;
  const preview = el("div", { class: "prose card skill-preview", attrs: { id: "skill-preview", "aria-label": "Instructions preview", role: "region" } });
  preview.hidden = true;
  const togglePreview = button("Preview", { onClick: async () => {
    if (!preview.hidden) {
      preview.hidden = true;
      togglePreview.setAttribute("aria-expanded", "false");
      return;
    }
    // Loaded on demand: the sanitiser and the markdown parser are not needed to edit.
    const { renderMarkdown } = await import("./markdown.js");
    preview.replaceChildren(renderMarkdown(content.value.replace(FRONT_MATTER, "")));
    preview.hidden = false;
    togglePreview.setAttribute("aria-expanded", "true");
  } });
  togglePreview.setAttribute("aria-controls", "skill-preview");
  togglePreview.setAttribute("aria-expanded", "false");
  content.addEventListener("input", () => { preview.hidden = true; togglePreview.setAttribute("aria-expanded", "false"); });
  form.replaceChildren(
    el("h3", { text: `${skill.name}/SKILL.md`, attrs: { id: "skill-editor-title" } }),
    field("SKILL.md", content, { name: "content", hint: "Front matter (name, description) between --- lines, then the instructions." }),
    preview,
    formError(),
    el("div", { class: "toolbar" }, togglePreview, el("span", { class: "spacer" }),
      button("Close", { kind: "ghost", onClick: () => { form.hidden = true; } }),
      editable ? el("button", { class: "btn btn-primary", text: "Save SKILL.md", attrs: { type: "submit" } }) : ""));
  form.setAttribute("aria-labelledby", "skill-editor-title");
  form.hidden = false;
  form.onsubmit = async (event) => {
    event.preventDefault();
    const done = await submitting(form, () => sage("/api/skills/content", {
      method: "PUT", json: { name: skill.name, content: content.value, agent_id: agentId },
    }), { file: "content" });
    if (done === undefined) return; // the error is on the form
    toast(`Saved ${skill.name}/SKILL.md.`, "ok");
    await loadSkills();
  };
  content.focus();
}

async function removeSkill(skill) {
  if (!(await confirmDialog(`Delete the skill “${skill.name}”?`))) return;
  try {
    await sage("/api/skills", { method: "DELETE", query: { name: skill.name, agent_id: skill.agent_id || "" } });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  $("skill-editor").hidden = true;
  await loadSkills();
}

// ---------------------------------------------------------------------------
// Toolkit profiles (004 /api/composio*: docs/skills-and-mcp.md)
// ---------------------------------------------------------------------------
const UNAVAILABLE = new Set([404, 405, 501]);
const discovered = new Map(); // profile id → the tools its last discovery found, shown in its item

async function loadProfiles() {
  const panel = $("profiles-panel");
  let profiles;
  try {
    profiles = (await api("/api/composio/profiles")).profiles || [];
  } catch (error) {
    if (error instanceof ApiError && UNAVAILABLE.has(error.status)) {
      panel.replaceChildren(el("div", { class: "empty", attrs: { id: "profiles-unavailable" } },
        el("p", { text: "Toolkit profiles are not available on this server." }),
        el("p", { class: "hint", text: "Add the same tools as MCP servers above in the meantime." })));
      return;
    }
    panel.replaceChildren(el("p", { class: "error", attrs: { role: "alert" }, text: error.message }));
    return;
  }
  const list = el("ul", { class: "list", attrs: { "aria-label": "Your toolkit profiles", id: "profile-list" } },
    ...profiles.map(profileItem));
  panel.replaceChildren(await profileForm(), list);
  if (!profiles.length) panel.append(el("p", { class: "empty", text: "No toolkit profiles yet." }));
}

function profileItem(profile) {
  const id = profile.profile_id;
  const title = profile.display_name || profile.profile_name;
  const status = profile.connection_status || (profile.is_connected ? "ACTIVE" : "DISCONNECTED");
  const kind = status === "ACTIVE" ? "ok" : status === "FAILED" ? "err" : "warn";
  const item = el("li", { class: "profile", dataset: { profileId: id } },
    el("div", { class: "item-head" },
      el("span", { class: "item-title", text: title }), " ",
      el("span", { class: "hint", text: profile.toolkit_name || profile.toolkit_slug || "" }), " ",
      badge(status.toLowerCase(), kind),
      profile.is_default ? badge("default") : "",
      profile.is_active === false ? badge("inactive", "warn") : ""),
    el("p", { class: "hint", text: `${profile.tools_count ?? 0} tools${profile.server_name ? ` · as ${profile.server_name}__…` : ""}` }));
  if (profile.error) item.append(el("p", { class: "error", text: profile.error }));
  const tools = el("ul", { class: "list compact profile-tools" }, ...(discovered.get(id) || []).map((tool) => el("li", {},
    el("code", { text: tool.name }), tool.description ? el("span", { class: "hint", text: ` — ${tool.description}` }) : "")));
  const active = profile.is_active !== false;
  item.append(tools, el("div", { class: "item-actions" },
    button("Discover tools", { label: `Discover tools of ${title}`, onClick: (event) => discover(profile, event.currentTarget) }),
    button(active ? "Deactivate" : "Activate", { label: `${active ? "Deactivate" : "Activate"} ${title}`, onClick: async () => {
      try {
        await api(`/api/composio-secure/credential-profiles/${encodeURIComponent(id)}/toggle-active`, {
          method: "PUT", query: { is_active: String(!active) },
        });
      } catch (error) {
        toast(error.message, "err");
      }
      await loadProfiles();
    } }),
    button("Delete", { kind: "danger", label: `Delete ${title}`, onClick: async () => {
      if (!(await confirmDialog(`Delete the toolkit profile “${title}”?`))) return;
      try {
        await api(`/api/composio/profiles/${encodeURIComponent(id)}`, { method: "DELETE" });
      } catch (error) {
        toast(error.message, "err");
        return;
      }
      await loadProfiles();
    } })));
  return item;
}

async function discover(profile, trigger) {
  const title = profile.display_name || profile.profile_name;
  trigger.disabled = true;
  trigger.setAttribute("aria-busy", "true");
  try {
    const found = (await api(`/api/composio/discover-tools/${encodeURIComponent(profile.profile_id)}`, { method: "POST" })).tools || [];
    discovered.set(profile.profile_id, found);
    toast(`${title}: ${found.length} tools.`, "ok");
  } catch (error) {
    toast(error.message, "err");
  }
  await loadProfiles(); // the connection's status and error changed too
  const again = document.querySelector(`.profile[data-profile-id="${CSS.escape(profile.profile_id)}"] .item-actions button`);
  if (again) again.focus();
}

const FIELD_TYPES = { secret: "password", url: "url" };

async function profileForm() {
  const form = el("form", { attrs: { id: "profile-form", novalidate: "" } });
  let toolkits = [];
  try {
    toolkits = (await api("/api/composio/toolkits", { query: { limit: 100 } })).toolkits || [];
  } catch (error) {
    form.append(el("p", { class: "error", text: `The toolkit catalog did not load: ${error.message}` }));
    return form;
  }
  const toolkit = el("select", { attrs: { name: "toolkit_slug" } },
    ...toolkits.map((kit) => el("option", { text: kit.name || kit.slug, attrs: { value: kit.slug } })));
  const name = input("profile_name", { required: true, attrs: { maxlength: "100" } });
  const about = el("p", { class: "hint" });
  const credentials = el("div", { class: "grid-2 credentials" });
  const showFields = () => {
    const kit = toolkits.find((entry) => entry.slug === toolkit.value);
    about.textContent = kit ? kit.description || "" : "";
    credentials.replaceChildren(...(kit ? kit.initiation_fields || [] : []).map((spec) => {
      const control = input(`initiation_params.${spec.name}`, {
        type: FIELD_TYPES[spec.field_type] || "text", value: spec.default_value || "", attrs: { autocomplete: "off" },
      });
      if (spec.required) control.required = true;
      return field(`${spec.display_name || spec.name}${spec.required ? "" : " (optional)"}`, control,
        { name: spec.name, hint: spec.description || "" }); // the API names a credential's errors by the bare field
    }));
  };
  toolkit.addEventListener("change", showFields);
  form.append(el("h3", { text: "Add a profile" }),
    el("div", { class: "grid-2" }, field("Toolkit", toolkit), field("Profile name", name)), about, credentials, formError(),
    el("button", { class: "btn btn-primary", text: "Add profile", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const params = {};
    for (const control of credentials.querySelectorAll("input")) {
      if (control.value) params[control.name.replace(/^initiation_params\./, "")] = control.value;
    }
    const created = await submitting(form, () => api("/api/composio/profiles", {
      method: "POST", json: { toolkit_slug: toolkit.value, profile_name: name.value.trim(), initiation_params: params },
    }));
    if (!created) return;
    toast(created.message || "Profile added.", "ok");
    await loadProfiles();
  });
  if (toolkits.length) showFields();
  else form.prepend(el("p", { class: "hint", text: "The toolkit catalog is empty." }));
  return form;
}

async function main() {
  await requireSignIn();
  setUpMcpForm();
  setUpSkillUpload();
  await Promise.all([loadServers(), loadSkills(), loadProfiles()]);
}

main();
