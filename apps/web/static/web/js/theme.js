// Runs before the first paint (a classic script in <head>, not a module) so a dark page never
// flashes light. The choice ("system", "light" or "dark") is kept in localStorage; the page's
// <html data-theme> always holds the effective theme, so CSS needs only :root[data-theme=dark].
(() => {
  const KEY = "codex.theme";
  const CHOICES = ["system", "light", "dark"];
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  const stored = () => {
    try { return CHOICES.includes(localStorage.getItem(KEY)) ? localStorage.getItem(KEY) : "system"; } catch { return "system"; }
  };
  const apply = () => {
    const choice = stored();
    const root = document.documentElement;
    root.dataset.themeChoice = choice;
    root.dataset.theme = choice === "system" ? (media.matches ? "dark" : "light") : choice;
    document.dispatchEvent(new CustomEvent("themechange", { detail: { choice, theme: root.dataset.theme } }));
  };
  media.addEventListener("change", apply);
  window.addEventListener("storage", (event) => { if (event.key === KEY) apply(); });
  window.codexTheme = {
    choices: CHOICES,
    get choice() { return stored(); },
    set(choice) {
      try { localStorage.setItem(KEY, CHOICES.includes(choice) ? choice : "system"); } catch { /* private mode: this page only */ }
      apply();
    },
  };
  apply();
})();
