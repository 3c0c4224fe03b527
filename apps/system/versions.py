"""The desktop release feed: versions entered by admins or imported from a GitHub release.

Versions order by their numbers (``1.10.0`` after ``1.9.2``; a pre-release before its
release), never by the date they were entered.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import fetch
from apps.core.errors import BadGateway, Conflict, Invalid, NotFound
from apps.system.models import AppVersion

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PLATFORM = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+$")
_ARCHES = (("aarch64", ("aarch64", "arm64")), ("x86_64", ("x86_64", "x64", "amd64")), ("i686", ("i686", "x86")))
_TARGETS = (("darwin", (".app.tar.gz", ".dmg")), ("linux", (".appimage.tar.gz", ".appimage")),
            ("windows", (".msi.zip", ".nsis.zip", "-setup.exe", ".msi", ".exe")))


@dataclass(frozen=True, order=True)
class VersionKey:
    numbers: tuple[int, int, int]
    is_release: bool
    prerelease: tuple[Any, ...]


def version_key(version: str) -> VersionKey:
    match = _VERSION.match(version.strip())
    if match is None:
        raise Invalid(f"{version!r} is not a version number.", field_errors={"version": ["Use a version like 1.4.2."]})
    major, minor, patch, pre = match.groups()
    prerelease = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in (pre or "").split(".") if part)
    return VersionKey((int(major), int(minor or 0), int(patch or 0)), pre is None, prerelease)


def _normal(version: str) -> str:
    version_key(version)
    return version.strip().removeprefix("v")


def _check_platforms(platforms: Any) -> dict[str, dict[str, str]]:
    if not isinstance(platforms, dict):
        raise Invalid("platforms must be an object.", field_errors={"platforms": ["Must be an object."]})
    for name, build in platforms.items():
        if not _PLATFORM.match(name):
            raise Invalid(f"Unknown platform {name!r}.", field_errors={"platforms": ["Keys look like darwin-aarch64."]})
        if not isinstance(build, dict) or not isinstance(build.get("url"), str) or not build["url"].startswith(("https://", "http://")):
            raise Invalid(f"Platform {name} needs a url.", field_errors={"platforms": [f"{name} needs an http(s) url."]})
        if not isinstance(build.get("signature", ""), str):
            raise Invalid(f"Platform {name}'s signature must be text.", field_errors={"platforms": ["Bad signature."]})
    return {name: {"signature": build.get("signature", ""), "url": build["url"]} for name, build in platforms.items()}


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def version_list() -> list[AppVersion]:
    return sorted(AppVersion.objects.all(), key=lambda v: version_key(v.version), reverse=True)


def version_latest() -> AppVersion:
    versions = version_list()
    if not versions:
        raise NotFound("No version has been published yet.")
    return versions[0]


def update_for(*, current_version: str, target: str, arch: str) -> tuple[AppVersion, dict[str, str]] | None:
    """The newest version above ``current_version`` with a build for ``target-arch``, or None."""
    current = version_key(current_version)
    platform = f"{target}-{arch}".lower()
    for version in version_list():
        if version_key(version.version) <= current:
            return None
        if platform in version.platforms:
            return version, version.platforms[platform]
    return None


# ------------------------------------------------------------------------------
# Writes
# ------------------------------------------------------------------------------
def version_create(*, version: str, notes: str = "", pub_date: datetime | None = None,
                   platforms: dict[str, Any] | None = None) -> AppVersion:
    record = AppVersion(version=_normal(version), notes=notes, pub_date=pub_date or timezone.now(),
                        platforms=_check_platforms(platforms or {}))
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        raise Conflict(f"Version {record.version} already exists.", field_errors={"version": ["Already exists."]}) from None
    return record


def version_delete(*, version: str) -> None:
    deleted, _ = AppVersion.objects.filter(version=version.strip().removeprefix("v")).delete()
    if not deleted:
        raise NotFound(f"Version {version} not found.")


def _get(url: str) -> str:
    try:
        result = async_to_sync(fetch.fetch)(url, timeout=settings.VERSION_GITHUB_TIMEOUT)
    except fetch.FetchRefused as exc:
        raise BadGateway(f"GitHub could not be reached: {exc.message}") from exc
    if result.status >= 400:
        raise BadGateway(f"GitHub answered HTTP {result.status} for {url}.")
    return result.text


def _target_and_arch(asset_name: str) -> str | None:
    lower = asset_name.lower()
    target = next((name for name, endings in _TARGETS if lower.endswith(endings)), None)
    if target is None:
        return None
    arch = next((name for name, words in _ARCHES if any(word in lower for word in words)), "x86_64")
    if target == "darwin" and "universal" in lower:
        arch = "aarch64"
    return f"{target}-{arch}"


def _platforms_from_assets(assets: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Tauri's ``latest.json`` when the release has one; else each bundle with its ``.sig``."""
    by_name = {asset.get("name", ""): asset.get("browser_download_url", "") for asset in assets if isinstance(asset, dict)}
    if by_name.get("latest.json"):
        try:
            manifest = json.loads(_get(by_name["latest.json"]))
        except json.JSONDecodeError as exc:
            raise BadGateway("The release's latest.json is not JSON.") from exc
        return _check_platforms(manifest.get("platforms", {}) if isinstance(manifest, dict) else {})
    platforms: dict[str, dict[str, str]] = {}
    for name, url in by_name.items():
        platform = _target_and_arch(name)
        if platform is None or platform in platforms or not url:
            continue
        signature_url = by_name.get(f"{name}.sig")
        platforms[platform] = {"signature": _get(signature_url).strip() if signature_url else "", "url": url}
    return platforms


def version_import_github(*, repo: str = "") -> AppVersion:
    """Create (or refresh) the version of the repository's latest GitHub release."""
    repo = (repo or settings.VERSION_GITHUB_REPO).strip()
    if not repo:
        raise Invalid("No repository to import from.",
                      field_errors={"repo": ["Send a repo (owner/name) or set VERSION_GITHUB_REPO."]})
    if not _REPO.match(repo):
        raise Invalid(f"{repo!r} is not owner/name.", field_errors={"repo": ["Use owner/name."]})
    text = _get(f"{settings.VERSION_GITHUB_API_URL.rstrip('/')}/repos/{repo}/releases/latest")
    try:
        release = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadGateway("GitHub's answer is not JSON.") from exc
    if not isinstance(release, dict) or not isinstance(release.get("tag_name"), str):
        raise BadGateway("GitHub's answer has no tag_name.")
    try:
        version = _normal(release["tag_name"])
    except Invalid:
        raise BadGateway(f"The release tag {release['tag_name']!r} is not a version number.") from None
    values = {
        "notes": release.get("body") or "",
        "pub_date": parse_datetime(release.get("published_at") or "") or timezone.now(),
        "platforms": _platforms_from_assets(release.get("assets") or []),
        "source": AppVersion.Source.GITHUB,
    }
    record, _ = AppVersion.objects.update_or_create(version=version, defaults=values)
    return record
