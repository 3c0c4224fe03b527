"""Sandbox templates: what a sandbox starts with, which host tools it sees, how it previews."""
from __future__ import annotations

import shutil
from dataclasses import dataclass

from apps.core.errors import Invalid


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    #: The command a preview runs when none is given; ``{port}`` is filled in.
    preview_command: str
    preview_port: int
    #: A host program the template needs (checked on the host's /usr, which the sandbox sees read-only).
    requires: str = "/usr/bin/python3"
    #: Some runtimes reserve far more address space than they use (V8): their RLIMIT_AS is multiplied.
    address_space_factor: int = 1

    @property
    def available(self) -> bool:
        return shutil.which(self.requires.rsplit("/", 1)[-1], path=self.requires.rsplit("/", 1)[0]) is not None


TEMPLATES: dict[str, Template] = {
    "python": Template("python", "Python 3 with its standard library.", "python3 -m http.server {port}", 8000),
    "node": Template(
        "node", "Node.js from Debian (when the setup installed it).",
        "node -e \"require('http').createServer((q,s)=>s.end('ok')).listen({port})\"", 3000,
        requires="/usr/bin/node", address_space_factor=8,
    ),
    "static": Template("static", "A static web site, previewed by a plain file server.", "python3 -m http.server {port}", 8000),
}
#: 003 clients name their template ids freely ("agents-backend-sandbox"); unknown ids get this one.
DEFAULT_TEMPLATE = "python"


def template_get(name: str | None, *, strict: bool = False) -> Template:
    if not name or (name not in TEMPLATES and not strict):
        return TEMPLATES[DEFAULT_TEMPLATE]
    template = TEMPLATES.get(name)
    if template is None or not template.available:
        known = ", ".join(sorted(key for key, value in TEMPLATES.items() if value.available))
        raise Invalid(f"Unknown or unavailable template {name!r}.", field_errors={"template_id": [f"One of: {known}."]})
    return template
