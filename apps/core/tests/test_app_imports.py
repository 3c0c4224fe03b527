"""No two apps import each other (issue 9: "a function-level import that hides a cycle counts").

Every module of ``apps/*/`` is parsed, and every import found anywhere in it counts:
module-level and function-level ``import``/``from … import``, and the obvious string
imports (``import_module("apps.x…")``, ``import_string("apps.x…")``, ``__import__``, a Celery
task queued by its name ``"<app>.<task>"``, and any string constant naming a dotted
``apps.<app>.<module>`` path). An app's own ``tests/`` may
build other apps' objects and is left out, as are migrations; model relations by label
(``"agents.Agent"``) are schema dependencies, not imports, and are not counted.

When two apps need each other, the shared piece moves to the lower app or to ``apps/core``,
or the lower app offers a hook the higher one registers at start-up (``AppConfig.ready``),
as ``apps/core/sessions.py`` and ``apps/accounts/registration.py`` do.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

APPS = Path(__file__).resolve().parents[2]
STRING_IMPORTERS = {"import_module", "import_string", "__import__"}
#: Celery tasks are queued by registered name, ``"<app label>.<task>"`` (apps/core/jobs.py): a hidden import.
TASK_SENDERS = {"enqueue", "send_task", "signature"}


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "apps" else None


def _imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
            # ``from apps import knowledge`` names the app in the imported name.
            if node.module == "apps":
                found += [(f"apps.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if name in STRING_IMPORTERS:
                    found.append((first.value, node.lineno))
                elif name in TASK_SENDERS and "." in first.value:
                    found.append((f"apps.{first.value.split('.')[0]}.tasks", node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("apps."):
            if node.value.count(".") >= 2 and " " not in node.value:
                found.append((node.value, node.lineno))
    return list(dict.fromkeys(found))


def app_imports(*, include_tests: bool = False) -> dict[tuple[str, str], list[str]]:
    """``{(importer, imported): ["apps/x/file.py:12", ...]}`` over every app module."""
    apps = {path.name for path in APPS.iterdir() if (path / "__init__.py").exists()}
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for file in sorted(APPS.glob("*/**/*.py")):
        parts = file.relative_to(APPS).parts
        if "migrations" in parts or (not include_tests and "tests" in parts):
            continue
        importer = parts[0]
        for module, line in _imported_modules(ast.parse(file.read_text(), filename=str(file))):
            imported = _app_of(module)
            if imported in apps and imported != importer:
                edges[(importer, imported)].append(f"apps/{'/'.join(parts)}:{line}")
    return edges


def test_no_two_apps_import_each_other():
    edges = app_imports()
    cycles = [
        f"{a} <-> {b}:\n    {a} -> {b}: {', '.join(edges[(a, b)][:5])}\n    {b} -> {a}: {', '.join(edges[(b, a)][:5])}"
        for a, b in sorted(edges) if a < b and (b, a) in edges
    ]
    assert not cycles, "apps that import each other:\n" + "\n".join(cycles)


def test_knowledge_does_not_import_conversations():
    # A thread's temporal documents are asked for by the conversations app, never the reverse
    # (tests included: the temporal routes are tested in apps/conversations/tests/test_temporal.py).
    assert app_imports(include_tests=True).get(("knowledge", "conversations"), []) == []


def test_the_scan_sees_hidden_and_string_imports():
    tree = ast.parse(
        "def f():\n    from apps.billing.services import x\n"
        "import_module('apps.tasks.tasks')\nenqueue('conversations.execute_run')\nX = 'apps.agents.runtime.run'\n"
    )
    assert {module for module, _ in _imported_modules(tree)} == {
        "apps.billing.services", "apps.tasks.tasks", "apps.conversations.tasks", "apps.agents.runtime.run"}
    assert ("conversations", "agents") in app_imports()  # the scan reads the real tree


#: SDKs a process imports when it first uses them, not when it loads Django, with what each costs
#: imported alone (MiB). They share dependencies: together they cost each platform process (two
#: daphnes, the run and task workers, beat) about 55 MiB (docs/scaling.md).
LAZY_SDKS = {"mcp": 45, "polar": 30, "pptx": 20, "captcha": 9}


def test_a_platform_process_leaves_the_rarely_used_sdks_unloaded():
    script = ("import json, sys, django; django.setup(); import codex.asgi, codex.celery; "
              "from django.urls import get_resolver; get_resolver().url_patterns; "
              f"print(json.dumps(sorted(name for name in {sorted(LAZY_SDKS)!r} if name in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=APPS.parent, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "codex.settings"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
