"""Reads of sandboxes and deployments, always scoped to who is asking: another user's id is a 404."""
from __future__ import annotations

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.sandboxes.models import Deployment, Sandbox, SandboxSession


def sandbox_list(*, user) -> QuerySet[Sandbox]:
    return Sandbox.objects.filter(owner=user)


def sandbox_get(*, user, sandbox_id: str, alive: bool = False) -> Sandbox:
    """The user's sandbox by its public id; a foreign, unknown or (with ``alive``) finished one is a 404."""
    queryset = sandbox_list(user=user) if user is not None and user.is_authenticated else Sandbox.objects.none()
    if alive:
        queryset = queryset.filter(status__in=Sandbox.ALIVE)
    sandbox = queryset.filter(public_id=str(sandbox_id)).first()
    if sandbox is None:
        raise NotFound("Sandbox not found.")
    return sandbox


def project_sandbox(*, user, project) -> Sandbox | None:
    return sandbox_list(user=user).filter(project=project, status__in=Sandbox.ALIVE).order_by("-created_at").first()


def session_get(*, sandbox: Sandbox, name: str) -> SandboxSession:
    session = sandbox.sessions.filter(name=name).first()
    if session is None:
        raise NotFound(f"No session named {name!r} in this sandbox.")
    return session


def deployment_latest(*, user, project) -> Deployment | None:
    return Deployment.objects.filter(project=project, owner=user).order_by("-version").first()


def deployment_live(*, site_slug: str) -> Deployment | None:
    """The newest ready deployment of a site (what /sites/<slug>/ serves)."""
    return Deployment.objects.filter(site_slug=site_slug, status=Deployment.Status.READY).order_by("-version").first()
