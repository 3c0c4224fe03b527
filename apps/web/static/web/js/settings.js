// Settings screen: profile and password (001 /users/me), theme, LLM providers (002
// /api/llm-provider/*, verified before they are saved), API keys for /v1 (/api/keys), and
// credits with usage (003 /api/v1/agent/credits/*, 004 /api/billing/*).
import { api, confirmDialog, el, formatDate, requireSignIn, session, toast } from "./core.js";
import {
  badge, button, clearErrors, field, formError, input, sage, showErrors, submitting,
} from "./kit.js";

const $ = (id) => document.getElementById(id);
const SESSIONS_PER_PAGE = 10;
const number = (value, digits = 4) => Number(value || 0).toLocaleString(undefined, { maximumFractionDigits: digits });

// ---------------------------------------------------------------------------
// Profile and password
// ---------------------------------------------------------------------------
async function setUpProfile() {
  const me = await api("/users/me");
  const form = $("profile-form");
  const username = input("username", { value: me.username, attrs: { readonly: "", autocomplete: "username" } });
  const name = input("name", { value: me.name, attrs: { maxlength: "100", autocomplete: "name" } });
  const email = input("email", { type: "email", value: me.email, attrs: { autocomplete: "email" } });
  form.append(field("Username", username, { hint: "Your username cannot change." }), field("Name", name), field("Email", email),
    formError(), el("button", { class: "btn btn-primary", text: "Save profile", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const saved = await submitting(form, () => api("/users/me", {
      method: "PATCH", json: { name: name.value, email: email.value.trim() },
    }));
    if (saved) toast("Profile saved.", "ok");
  });
  return me;
}

function setUpPassword(me) {
  const form = $("password-form");
  // A hidden username field lets password managers file the new password under the right account.
  const user = input("username", { value: me.username, attrs: { autocomplete: "username", hidden: "" } });
  const current = input("currentPassword", { type: "password", required: true, attrs: { autocomplete: "current-password" } });
  const next = input("newPassword", { type: "password", required: true, attrs: { autocomplete: "new-password", minlength: "8" } });
  form.append(user, field("Current password", current), field("New password", next, { hint: "At least 8 characters, not all digits." }),
    formError(), el("button", { class: "btn btn-primary", text: "Change password", attrs: { type: "submit" } }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changed = await submitting(form, async () => {
      try {
        await api("/users/me/password", { method: "PUT", json: { currentPassword: current.value, newPassword: next.value } });
      } catch (error) {
        // 001 answers a wrong current password with 403 and no field: it belongs to that field.
        if (error.status === 403) error.body = { validationErrors: [{ field: "currentPassword", message: error.message }] };
        throw error;
      }
      // A new password ends every session, this one included: sign in again with it (as the
      // sign-in page does, through 002, which hands out a refresh token too).
      session.set({ token: null, refreshToken: null });
      const body = await api("/api/auth/login", { method: "POST", json: { username_or_email: me.username, password: next.value } });
      const tokens = body.data || body;
      session.set({ token: tokens.access_token, refreshToken: tokens.refresh_token });
      return true;
    }, { password: "newPassword" }); // the password rules answer under "password"
    if (!changed) return;
    form.reset();
    user.value = me.username;
    toast("Password changed. Other sessions are signed out.", "ok");
  });
}

// ---------------------------------------------------------------------------
// Theme
// ---------------------------------------------------------------------------
// theme.js (loaded by base.html) keeps the choice; the header's toggle changes it too.
function setUpTheme() {
  const radios = [...$("theme-choice").querySelectorAll("input[name=theme]")];
  const show = () => { for (const radio of radios) radio.checked = radio.value === window.codexTheme.choice; };
  for (const radio of radios) radio.addEventListener("change", () => { if (radio.checked) window.codexTheme.set(radio.value); });
  document.addEventListener("themechange", show);
  show();
}

// ---------------------------------------------------------------------------
// LLM providers
// ---------------------------------------------------------------------------
async function loadProviders() {
  const providers = await sage("/api/llm-provider/list");
  $("provider-list").replaceChildren(...providers.map((provider) => {
    const item = el("li", { class: "provider", dataset: { providerId: provider.provider_id } },
      el("div", { class: "item-head" },
        el("span", { class: "item-title", text: provider.name }), " ",
        provider.is_default ? badge("default", "ok") : "", provider.is_system ? badge("system") : ""),
      el("p", { class: "hint", text: `${provider.model} · ${provider.base_url}${provider.api_key_hint ? ` · key ${provider.api_key_hint}` : ""}` }));
    if (!provider.is_system) {
      const actions = el("div", { class: "item-actions" });
      const label = provider.is_default ? `Stop using ${provider.name} as the default` : `Make ${provider.name} the default`;
      actions.append(button(provider.is_default ? "Unset default" : "Make default", { label, onClick: async () => {
        try {
          await makeDefault(provider, !provider.is_default);
        } catch (error) {
          toast(error.message, "err");
        }
        await loadProviders();
      } }));
      actions.append(button("Delete", { kind: "danger", label: `Delete ${provider.name}`, onClick: () => removeProvider(provider) }));
      item.append(actions);
    }
    return item;
  }));
  $("providers-empty").hidden = providers.length > 0;
}

function makeDefault(provider, on = true) {
  return sage(`/api/llm-provider/update/${encodeURIComponent(provider.provider_id)}`, { method: "PUT", json: { is_default: on } });
}

async function removeProvider(provider) {
  if (!(await confirmDialog(`Delete the provider “${provider.name}”? Agents that use it fall back to the default.`))) return;
  try {
    await sage(`/api/llm-provider/delete/${encodeURIComponent(provider.provider_id)}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  toast(`Deleted “${provider.name}”.`, "ok");
  await loadProviders();
}

function setUpProviderForm() {
  const form = $("provider-form");
  const name = input("name", { required: true, attrs: { maxlength: "200" } });
  const baseUrl = input("base_url", { type: "url", required: true, attrs: { placeholder: "https://api.openai.com/v1" } });
  const key = input("api_keys", { type: "password", attrs: { autocomplete: "off" } });
  const model = input("model", { required: true, attrs: { placeholder: "gpt-4o-mini" } });
  const isDefault = el("input", { attrs: { type: "checkbox", name: "is_default" } });
  const verify = el("button", { class: "btn", text: "Verify", attrs: { type: "button" } });
  const save = el("button", { class: "btn btn-primary", text: "Save provider", attrs: { type: "submit", disabled: "" } });
  const result = el("p", { class: "hint", attrs: { role: "status", id: "provider-verify-result" } });
  form.append(
    el("h3", { text: "Add a provider" }),
    el("div", { class: "grid-2" }, field("Name", name), field("Base URL", baseUrl, { hint: "Usually ends in /v1." }),
      field("API key", key, { name: "api_keys", hint: "Leave empty for a server that needs none (e.g. Ollama)." }),
      field("Model", model)),
    el("label", { class: "check" }, isDefault, el("span", { text: " Use as my default model" })),
    formError(), result, el("div", { class: "toolbar" }, verify, save));

  const body = () => ({ name: name.value.trim(), base_url: baseUrl.value.trim(), api_keys: [key.value.trim() || "none"],
    model: model.value.trim(), is_default: isDefault.checked });
  let verified = null; // the body that passed verification; any edit invalidates it
  const invalidate = () => {
    if (verified === null) return;
    verified = null;
    save.disabled = true;
    result.textContent = "Changed since it was verified: verify again.";
  };
  form.addEventListener("input", (event) => { if (event.target !== isDefault) invalidate(); });
  verify.addEventListener("click", async () => {
    clearErrors(form);
    result.textContent = "Verifying…";
    verify.disabled = true;
    const sent = body();
    try {
      const answer = await sage("/api/llm-provider/verify", { method: "POST", json: sent });
      verified = JSON.stringify({ ...sent, is_default: false });
      save.disabled = false;
      result.textContent = `Verified: ${answer.model} replied “${answer.reply}”.`;
    } catch (error) {
      result.textContent = "";
      showErrors(form, error);
    } finally {
      verify.disabled = false;
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sent = body();
    if (verified !== JSON.stringify({ ...sent, is_default: false })) {
      showErrors(form, { message: "Verify the provider before saving it." });
      return;
    }
    // 002 creates every provider as not the default (a pasted example must not take over):
    // the default is a second, explicit step.
    const created = await submitting(form, async () => {
      const provider = await sage("/api/llm-provider/create", { method: "POST", json: sent });
      return sent.is_default ? makeDefault(provider) : provider;
    });
    if (!created) return;
    form.reset();
    verified = null;
    save.disabled = true;
    result.textContent = "";
    toast(`Saved “${created.name}”.`, "ok");
    await loadProviders();
  });
}

// ---------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------
async function loadKeys() {
  const data = await api("/api/keys");
  $("key-list").replaceChildren(...data.keys.map((key) => {
    const state = key.active ? badge("active", "ok") : badge(key.revoked_at ? "revoked" : "expired", "err");
    const used = key.last_used_at ? `last used ${formatDate(key.last_used_at)}` : "never used";
    const item = el("li", { class: "api-key", dataset: { keyId: String(key.id) } },
      el("div", { class: "item-head" }, el("span", { class: "item-title", text: key.name }), " ", state),
      el("p", { class: "hint" }, el("code", { text: `${key.prefix}…` }),
        ` · made ${formatDate(key.created_at)} · ${used}${key.expires_at ? ` · expires ${formatDate(key.expires_at)}` : ""}`));
    if (key.active) {
      item.append(el("div", { class: "item-actions" },
        button("Revoke", { kind: "danger", label: `Revoke ${key.name}`, onClick: () => revoke(key) })));
    }
    return item;
  }));
  $("keys-empty").hidden = data.keys.length > 0;
}

async function revoke(key) {
  if (!(await confirmDialog(`Revoke the key “${key.name}”? Programs using it stop working at once.`, { confirm: "Revoke" }))) return;
  try {
    await api(`/api/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
  } catch (error) {
    toast(error.message, "err");
    return;
  }
  toast(`Revoked “${key.name}”.`, "ok");
  await loadKeys();
}

function setUpKeyForm() {
  const form = $("key-form");
  const name = input("name", { required: true, attrs: { maxlength: "100", placeholder: "ci bot" } });
  const expires = input("expires_at", { type: "datetime-local" });
  form.append(field("Key name", name, { name: "name" }), field("Expires (optional)", expires, { name: "expires_at" }),
    el("button", { class: "btn btn-primary", text: "Create key", attrs: { type: "submit" } }), formError());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await submitting(form, () => api("/api/keys", {
      method: "POST", json: { name: name.value.trim(), expires_at: expires.value ? new Date(expires.value).toISOString() : null },
    }));
    if (!created) return;
    form.reset();
    showCreatedKey(created);
    await loadKeys();
  });
}

function showCreatedKey(created) {
  const box = $("key-created");
  const secret = el("input", { attrs: { readonly: "", id: "key-secret", "aria-describedby": "key-secret-hint" } });
  secret.value = created.key;
  const copy = button("Copy", { label: "Copy the new key", onClick: async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      toast("Copied.", "ok");
    } catch {
      secret.select();
      toast("Select the key and copy it with Ctrl+C.", "warn");
    }
  } });
  box.replaceChildren(
    el("label", { text: `Your new key “${created.name}”`, attrs: { for: "key-secret" } }),
    el("div", { class: "inline-form" }, secret, copy, button("Done", { kind: "ghost", onClick: () => { box.hidden = true; box.replaceChildren(); } })),
    el("p", { class: "hint", text: "Copy it now: it is shown only once.", attrs: { id: "key-secret-hint" } }));
  box.hidden = false;
  secret.focus();
  secret.select();
}

// ---------------------------------------------------------------------------
// Credits and usage
// ---------------------------------------------------------------------------
function table(node, headers, rows, empty) {
  const head = el("thead", {}, el("tr", {}, ...headers.map((text) => el("th", { text, attrs: { scope: "col" } }))));
  const body = el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((text) => el("td", { text: String(text) })))));
  if (!rows.length) body.append(el("tr", {}, el("td", { class: "empty", text: empty, attrs: { colspan: String(headers.length) } })));
  node.replaceChildren(head, body);
}

async function loadCredits() {
  const [balance, status, history] = await Promise.all([
    api("/api/v1/agent/credits/balance"), api("/api/billing/status"), api("/api/billing/usage-history"),
  ]);
  const stat = (label, value) => [el("dt", { text: label }), el("dd", { text: value })];
  $("credits-balance").replaceChildren(...stat("Credits", number(balance.credits)), ...stat("Bonus credits", number(balance.bonus_credits)),
    ...stat("Total", number(balance.total_credits)));
  $("credits-note").textContent = status.billing_enabled
    ? `${status.can_run ? "You can start runs." : status.message} Bonus credits are spent first.${status.plan_name ? ` Plan: ${status.plan_name}.` : ""}`
    : "Billing is off on this server: runs are free, and still metered below.";
  const row = (label, usage) => [label, usage.requests, number(usage.input_tokens, 0), number(usage.output_tokens, 0), number(usage.cost)];
  const headers = ["Day", "Model calls", "Input tokens", "Output tokens", "Credits"];
  table($("usage-table"), headers, [...history.daily.map((day) => row(day.date, day)), ...(history.daily.length ? [row("Total", history.total)] : [])],
    "No usage in the last 30 days.");
  table($("models-table"), ["Model", ...headers.slice(1)], history.by_model.map((entry) => row(entry.model, entry)), "No usage yet.");
  await loadSessions(1);
}

async function loadSessions(page) {
  const data = await api("/api/v1/agent/credits/usage", { query: { page, per_page: SESSIONS_PER_PAGE } });
  table($("sessions-table"), ["Conversation", "Credits", "Last spent"],
    data.sessions.map((entry) => [entry.session_title || entry.session_id, number(entry.credits), formatDate(entry.updated_at)]),
    "No credits spent yet.");
  const pages = Math.max(1, Math.ceil(data.total / data.per_page));
  const pager = $("sessions-pager");
  pager.replaceChildren();
  if (pages > 1) {
    const previous = button("Previous", { label: "Previous page of conversations", onClick: () => loadSessions(page - 1) });
    const next = button("Next", { label: "Next page of conversations", onClick: () => loadSessions(page + 1) });
    previous.disabled = page <= 1;
    next.disabled = page >= pages;
    pager.append(previous, el("span", { class: "hint", text: `Page ${page} of ${pages}` }), next);
  }
}

async function main() {
  await requireSignIn();
  setUpTheme();
  setUpProviderForm();
  setUpKeyForm();
  const me = await setUpProfile();
  setUpPassword(me);
  await Promise.all([loadProviders(), loadKeys(), loadCredits()]);
}

main();
