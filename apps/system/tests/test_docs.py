"""docs/configuration.md documents every environment setting that codex/settings.py reads."""
from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)
#: ``env.str("NAME", ...)``, ``env.bool("NAME")``, ``environ.Env().str("NAME", ...)`` and the like.
_ENV_READ = re.compile(r"""\b(?:env|Env\(\))\.(?:str|bool|int|float|list|json|url|db_url|dict)\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def _settings_env_names() -> set[str]:
    return set(_ENV_READ.findall((BASE / "codex" / "settings.py").read_text()))


def test_the_pattern_finds_the_settings_we_know():
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "CODEX_VAR_DIR"} <= _settings_env_names()


def test_every_environment_setting_is_documented():
    documented = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", (BASE / "docs" / "configuration.md").read_text(), re.M))
    missing = sorted(_settings_env_names() - documented)
    assert not missing, f"add these to docs/configuration.md: {', '.join(missing)}"


def test_the_readme_links_every_operator_doc():
    readme = (BASE / "README.md").read_text()
    for doc in ("configuration", "deployment", "scaling", "operations"):
        assert f"docs/{doc}.md" in readme
        assert (BASE / "docs" / f"{doc}.md").exists()
