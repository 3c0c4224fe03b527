#!/usr/bin/env bash
# Install the Debian packages the platform needs and that are missing: python3-venv
# (to make .venv), redis-server (unless REDIS_URL points elsewhere), bubblewrap and git
# (sandboxes, deployments), espeak-ng and mpg123 (studio speech) and, with
# --browser, chromium for the Playwright tests. `apt-get update` runs only when
# something must be installed; without root or apt-get it says what is missing.
set -euo pipefail

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

missing=()
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
redis_is_local() { [ -z "${REDIS_URL:-}" ] || [[ "${REDIS_URL}" == redis://127.0.0.1* || "${REDIS_URL}" == redis://localhost* ]]; }
if redis_is_local && ! command -v redis-server >/dev/null 2>&1; then
  missing+=(redis-server redis-tools)
fi
# Sandboxes (apps/sandboxes) run code in bubblewrap namespaces; git backs deploy/git.
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v git >/dev/null 2>&1 || missing+=(git)
# Studio: espeak-ng speaks offline; mpg123 decodes MP3 (the speech tests check the audio with it).
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v mpg123 >/dev/null 2>&1 || missing+=(mpg123)
if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "installing with sudo: ${missing[*]}"
  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: please install these packages: ${missing[*]}" >&2
  # Without a venv nothing else can work; Redis and chromium have fallbacks or skips.
  [[ " ${missing[*]} " == *" python3-venv "* ]] && exit 1
fi
exit 0
