// Sign in and create an account (login.html). Sign-in goes through the 002 login, which hands
// out a refresh token beside the access token; registration through the 000 one.
import { api, session } from "./core.js";

const $ = (id) => document.getElementById(id);

// Only a path of this app: ?next= must never send the visitor to another site.
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "";
  return /^\/app\/(?!\/)/.test(next) && !next.startsWith("/app/login") ? next : "/app/";
}

function showError(message) {
  $("auth-error").textContent = message || "";
  $("auth-error").hidden = !message;
}

async function signIn(login, password) {
  const body = await api("/api/auth/login", { method: "POST", json: { username_or_email: login, password } });
  const tokens = body.data || body;
  session.set({ token: tokens.access_token, refreshToken: tokens.refresh_token });
  location.assign(nextPage());
}

function bindTabs() {
  const tabs = [$("tab-login"), $("tab-register")];
  const forms = { "tab-login": $("login-form"), "tab-register": $("register-form") };
  const select = (tab) => {
    for (const other of tabs) {
      const on = other === tab;
      other.setAttribute("aria-selected", String(on));
      other.tabIndex = on ? 0 : -1;
      forms[other.id].hidden = !on;
    }
    showError("");
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => { select(tab); forms[tab.id].querySelector("input").focus(); });
    // The ARIA tabs pattern: arrows move between the tabs and keep the focus on them.
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const next = tabs[(tabs.indexOf(tab) + 1) % tabs.length];
      select(next);
      next.focus();
    });
  }
}

function handle(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showError("");
    try {
      await action(Object.fromEntries(new FormData(form)));
    } catch (error) {
      showError(error.message);
      button.disabled = false;
    }
  });
}

if (session.token) {
  location.replace(nextPage());
} else {
  bindTabs();
  handle($("login-form"), ({ email, password }) => signIn(email.trim(), password));
  handle($("register-form"), async ({ username, email, password }) => {
    await api("/register", { method: "POST", json: { username: username.trim(), email: email.trim(), password } });
    await signIn(email.trim(), password);
  });
}
