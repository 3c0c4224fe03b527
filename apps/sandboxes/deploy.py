"""Deployments of a project's sandbox: pluggable deployers, ``local`` by default.

``local`` copies the build output (``dist/``, ``build/``, or the whole workspace for a static
site) into ``DEPLOY_ROOT/<site>/v<N>/``, served at ``/sites/<site>/``. Only regular files and
directories are copied, never links, so what is served is the platform's own copy.
``git`` first commits the workspace into a repository under ``DEPLOY_ROOT/_git/<site>.git``
(pushed to ``DEPLOY_GIT_REMOTE`` when set), then deploys locally. ``vercel`` (with
``VERCEL_TOKEN``) is written but not tested here: there is no network to Vercel.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from apps.core.errors import Invalid, NotFound, PayloadTooLarge, ServiceUnavailable
from apps.sandboxes import selectors, services
from apps.sandboxes.backends.local import host_uid
from apps.sandboxes.files import Workspace
from apps.sandboxes.models import Deployment, Sandbox

BUILD_DIRS = ("dist", "build", "out", "public")
SKIP = {".git", "node_modules", "__pycache__", ".codex"}
LOG_LINES = 20


def site_slug(project) -> str:
    return f"{slugify(project.name)[:40] or 'site'}-{str(project.pk)[:8]}"


def site_url(slug: str) -> str:
    return f"/sites/{slug}/"


def _log(deployment: Deployment, line: str) -> None:
    deployment.log = (deployment.log + line.rstrip() + "\n")[-20000:]
    deployment.save(update_fields=["log", "updated_at"])


def _source(workspace: Workspace) -> str:
    """The directory to publish: the first build output that exists, else the workspace itself."""
    names = {entry.name for entry in workspace.list("") if entry.type == "directory"}
    return next((name for name in BUILD_DIRS if name in names), "")


def _copy(workspace: Workspace, source: str, target: Path) -> int:
    """Copy the regular files under ``source`` into ``target``, by descriptor; returns bytes copied."""
    copied = 0
    for relative, fd in workspace.iter_files(source):
        try:
            inner = relative[len(source) + 1:] if source else relative
            if any(part in SKIP or part.startswith(".") for part in inner.split("/")):
                continue
            size = os.fstat(fd).st_size
            copied += size
            if copied > settings.DEPLOY_MAX_BYTES:
                raise PayloadTooLarge(f"The site is larger than DEPLOY_MAX_BYTES ({settings.DEPLOY_MAX_BYTES}).")
            destination = target / inner
            destination.parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.dup(fd), "rb") as reader, open(destination, "wb") as writer:
                shutil.copyfileobj(reader, writer)
            os.chmod(destination, 0o644)
        finally:
            os.close(fd)
    return copied


def _git(repo: Path, workspace: Path, *args: str, uid: int | None = None) -> str:
    """git over the sandbox's work tree, as the sandbox's own host uid when there is one.

    git reads the work tree by name; running as that uid, a link swapped in mid-walk can only
    reach what the sandbox itself may read, never the platform's files.
    """
    env = {
        "GIT_DIR": str(repo), "GIT_WORK_TREE": str(workspace), "HOME": str(repo.parent), "PATH": "/usr/bin:/bin",
        "GIT_AUTHOR_NAME": "CodexEngine", "GIT_AUTHOR_EMAIL": "deploy@localhost",
        "GIT_COMMITTER_NAME": "CodexEngine", "GIT_COMMITTER_EMAIL": "deploy@localhost",
        # The work tree is the sandbox's: no hooks, no filters or attributes of its own are honoured.
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_ATTR_NOSYSTEM": "1",
    }
    identity = {"user": uid, "group": uid, "extra_groups": []} if uid is not None else {}
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "safe.directory=*", "-c", "core.symlinks=true", *args],
        env=env, capture_output=True, text=True, timeout=120, cwd="/", **identity,
    )
    if result.returncode != 0:
        raise ServiceUnavailable(f"git {args[0]} failed: {result.stderr.strip()[:300]}")
    return result.stdout.strip()


class LocalDeployer:
    name = "local"

    def publish(self, deployment: Deployment, sandbox: Sandbox) -> None:
        spec = services.sandbox_spec(sandbox)
        workspace = Workspace(spec.workspace)
        source = _source(workspace)
        _log(deployment, f"publishing {'/' + source if source else 'the workspace'} as version {deployment.version}")
        target = Path(settings.DEPLOY_ROOT) / deployment.site_slug / f"v{deployment.version}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        copied = _copy(workspace, source, target)
        _log(deployment, f"copied {copied} bytes")
        deployment.url = site_url(deployment.site_slug)


class GitDeployer(LocalDeployer):
    name = "git"

    def publish(self, deployment: Deployment, sandbox: Sandbox) -> None:
        spec = services.sandbox_spec(sandbox)
        repo = Path(settings.DEPLOY_ROOT) / "_git" / f"{deployment.site_slug}.git"
        if not repo.exists():
            repo.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "--bare", "-q", str(repo)], check=True, capture_output=True, timeout=60)
            (repo / "info").mkdir(exist_ok=True)
            (repo / "info" / "exclude").write_text("\n".join(f"{name}/" for name in SKIP) + "\n")
            _log(deployment, f"initialised {repo.name}")
        uid = host_uid(spec)
        if uid is not None:
            # The repository is the sandbox uid's (it sees no path to it); the platform reads it as root.
            for path in [repo, *repo.rglob("*")]:
                os.lchown(path, uid, uid)
        _git(repo, spec.workspace, "add", "-A", uid=uid)
        status = _git(repo, spec.workspace, "status", "--porcelain", uid=uid)
        if status or not _has_commits(repo, spec.workspace, uid):
            _git(repo, spec.workspace, "commit", "-q", "--allow-empty", "-m", f"Deploy version {deployment.version}", uid=uid)
        deployment.commit = _git(repo, spec.workspace, "rev-parse", "HEAD", uid=uid)
        _log(deployment, f"committed {deployment.commit[:12]}")
        if settings.DEPLOY_GIT_REMOTE:
            _git(repo, spec.workspace, "push", "-q", settings.DEPLOY_GIT_REMOTE, "HEAD:refs/heads/main")
            _log(deployment, "pushed to the configured remote")
        super().publish(deployment, sandbox)


def _has_commits(repo: Path, workspace: Path, uid: int | None) -> bool:
    try:
        _git(repo, workspace, "rev-parse", "--verify", "-q", "HEAD", uid=uid)
    except ServiceUnavailable:
        return False
    return True


class VercelDeployer:
    """Deploys through Vercel's API with ``VERCEL_TOKEN``. Untested here (no network to Vercel)."""

    name = "vercel"

    def publish(self, deployment: Deployment, sandbox: Sandbox) -> None:
        if not settings.VERCEL_TOKEN:
            raise ServiceUnavailable("The vercel deployer needs VERCEL_TOKEN.")
        workspace = Workspace(services.sandbox_spec(sandbox).workspace)
        source = _source(workspace)
        files, headers = [], {"Authorization": f"Bearer {settings.VERCEL_TOKEN}"}
        with httpx.Client(base_url="https://api.vercel.com", headers=headers, timeout=60) as client:
            for relative, fd in workspace.iter_files(source):
                with os.fdopen(fd, "rb") as handle:
                    data = handle.read()
                digest = hashlib.sha1(data).hexdigest()
                client.post("/v2/files", content=data, headers={"x-vercel-digest": digest}).raise_for_status()
                files.append({"file": relative[len(source) + 1:] if source else relative, "sha": digest, "size": len(data)})
            response = client.post("/v13/deployments", content=json.dumps({"name": deployment.site_slug, "files": files}))
            response.raise_for_status()
            deployment.url = "https://" + response.json()["url"]
        _log(deployment, f"deployed to {deployment.url}")


DEPLOYERS = {"local": LocalDeployer, "git": GitDeployer, "vercel": VercelDeployer}


def deployer_for(kind: str):
    provider = settings.DEPLOY_BACKEND if kind == "local" else kind
    if kind == "git" and settings.DEPLOY_BACKEND == "vercel":
        provider = "vercel"
    deployer = DEPLOYERS.get(provider)
    if deployer is None:
        raise ServiceUnavailable(f"Unknown deployer {provider!r}.")
    return deployer()


def project_deploy(*, user, project, kind: str = "git", sandbox_id: str | None = None) -> Deployment:
    """Publish the project's sandbox as a new version; a failure is kept on the deployment."""
    if sandbox_id:
        sandbox = selectors.sandbox_get(user=user, sandbox_id=sandbox_id, alive=True)
        if sandbox.project_id not in (None, project.pk):
            raise Invalid("That sandbox belongs to another project.", field_errors={"sandbox_id": ["Another project's."]})
    else:
        sandbox = selectors.project_sandbox(user=user, project=project)
        if sandbox is None:
            raise NotFound("This project has no sandbox to deploy; call sandbox/ensure-active first.")
    deployer = deployer_for(kind)
    slug = site_slug(project)
    for _ in range(3):
        try:
            with transaction.atomic():
                version = (Deployment.objects.filter(project=project).aggregate(top=Max("version"))["top"] or 0) + 1
                deployment = Deployment.objects.create(
                    project=project, owner=user, sandbox=sandbox, provider=deployer.name, version=version,
                    site_slug=slug, status=Deployment.Status.BUILDING,
                )
            break
        except IntegrityError:
            continue
    else:
        raise ServiceUnavailable("Another deployment of this project is starting; try again.")
    try:
        services.sandbox_use(sandbox=sandbox)
        deployer.publish(deployment, sandbox)
    except Exception as exc:  # the client sees the failure in status and log, not a 500
        deployment.status = Deployment.Status.FAILED
        _log(deployment, f"failed: {getattr(exc, 'message', None) or type(exc).__name__}")
        if not isinstance(exc, (Invalid, NotFound, PayloadTooLarge, ServiceUnavailable)):
            raise
        return deployment
    deployment.status = Deployment.Status.READY
    deployment.save(update_fields=["status", "url", "commit", "updated_at"])
    _log(deployment, f"live at {deployment.url}")
    return deployment


def deployment_update(*, user, project) -> Deployment:
    """Commit and redeploy a project that was deployed before."""
    latest = selectors.deployment_latest(user=user, project=project)
    if latest is None:
        raise NotFound("This project has not been deployed yet; call deploy/git first.")
    kind = "git" if latest.provider in ("git", "vercel") else "local"
    return project_deploy(user=user, project=project, kind=kind)


def deployment_last_lines(deployment: Deployment) -> list[str]:
    return deployment.log.splitlines()[-LOG_LINES:]


def deployment_site_root(deployment: Deployment) -> Path:
    return Path(settings.DEPLOY_ROOT) / deployment.site_slug / f"v{deployment.version}"
