"""Text to speech: espeak-ng on this machine, or an OpenAI-compatible ``/audio/speech`` endpoint.

espeak-ng is a formant synthesiser: robotic, but real speech in about a hundred
languages, with no weights to download. A configured speech endpoint (OpenAI,
or any server that speaks its API) replaces it for better voices.
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings

from apps.core.errors import BadGateway, Invalid, ServiceUnavailable
from apps.studio.engines.audio import Pcm, pcm_from_wav

#: espeak-ng speaks at about this many words a minute at speed 1.0.
BASE_WORDS_PER_MINUTE = 175
MIN_SPEED, MAX_SPEED = 0.5, 2.0
_VARIANT = re.compile(r"^[A-Za-z0-9_]{1,20}$")


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: ``id`` is what :func:`synthesize` takes (``en-us``, ``de``, ``en-us+f3``)."""

    id: str
    language: str
    name: str
    gender: str


def _espeak() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ServiceUnavailable("Speech needs espeak-ng on the server (scripts/ensure-system.sh installs it).")
    return binary


def _table(option: str) -> list[list[str]]:
    output = subprocess.run([_espeak(), option], capture_output=True, text=True, timeout=30, check=True).stdout
    return [line.split() for line in output.splitlines()[1:] if line.strip()]


@functools.cache
def voices() -> tuple[Voice, ...]:
    """Every language voice espeak-ng has, one per language code."""
    found = []
    for columns in _table("--voices"):
        if len(columns) < 5:
            continue
        gender = columns[2].split("/")[-1]
        found.append(Voice(id=columns[1].lower(), language=columns[1].lower(), name=columns[3].replace("_", " "),
                           gender={"M": "male", "F": "female"}.get(gender, "")))
    return tuple(found)


@functools.cache
def variants() -> frozenset[str]:
    """espeak-ng's voice variants (``m3``, ``f2``, ``Alicia``), appended to a voice as ``+name``."""
    return frozenset(columns[4].split("/")[-1].lower() for columns in _table("--voices=variant") if len(columns) >= 5)


@functools.cache
def _aliases() -> dict[str, str]:
    """Language prefixes (``en``) to the voice espeak-ng itself prefers for them."""
    best: dict[str, tuple[int, str]] = {}
    output = subprocess.run([_espeak(), "--voices"], capture_output=True, text=True, timeout=30, check=True).stdout
    for line in output.splitlines()[1:]:
        columns = line.split()
        if len(columns) < 5:
            continue
        for alias, priority in re.findall(r"\(([\w-]+) (\d+)\)", line):
            alias = alias.lower()
            if alias not in best or int(priority) < best[alias][0]:
                best[alias] = (int(priority), columns[1].lower())
    return {alias: voice for alias, (_, voice) in best.items()}


def voice_for_language(language: str) -> str | None:
    """The voice for a BCP 47 tag (``en-US``, ``pt-BR``, ``de``), or None when espeak-ng has none."""
    tag = language.strip().lower().replace("_", "-")
    known = {voice.id for voice in voices()}
    parts = tag.split("-")
    for size in range(len(parts), 0, -1):
        candidate = "-".join(parts[:size])
        if candidate in known:
            return candidate
        if candidate in _aliases():
            return _aliases()[candidate]
    return None


def resolve_voice(voice: str, *, locale: str = "") -> str:
    """An espeak-ng voice id for what a client sent: ``en-us``, ``en-US-Standard-A``, ``de+f3`` or empty.

    Unknown voices raise :class:`Invalid` naming the field, so a typo never speaks another language.
    """
    name, _, variant = (voice or "").strip().partition("+")
    if variant and (not _VARIANT.match(variant) or variant.lower() not in variants()):
        raise Invalid(f"Unknown voice variant {variant!r}.", field_errors={"voice": ["Unknown voice variant."]})
    if not name:
        resolved = voice_for_language(locale or settings.TTS_DEFAULT_LANGUAGE)
    else:
        resolved = voice_for_language(name)
    if resolved is None:
        raise Invalid(f"Unknown voice {voice!r}.", field_errors={"voice": ["Unknown voice; see the voices list."]})
    return f"{resolved}+{variant.lower()}" if variant else resolved


def check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("There is no text to speak.", field_errors={"text": ["This field may not be blank."]})
    if len(text) > settings.TTS_MAX_CHARS:
        raise Invalid(
            f"The text is longer than {settings.TTS_MAX_CHARS} characters.",
            field_errors={"text": [f"Ensure this field has no more than {settings.TTS_MAX_CHARS} characters."]},
        )
    return text


def check_speed(speed: float) -> float:
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise Invalid(
            f"Speed must be between {MIN_SPEED} and {MAX_SPEED}.",
            field_errors={"speed": [f"Ensure this value is between {MIN_SPEED} and {MAX_SPEED}."]},
        )
    return speed


def espeak_synthesize(text: str, *, voice: str, speed: float = 1.0) -> Pcm:
    """Speak ``text`` with an espeak-ng voice id (see :func:`resolve_voice`)."""
    with tempfile.TemporaryDirectory(prefix="codex-tts-") as folder:
        out = Path(folder) / "speech.wav"
        # Text goes in on stdin, never on the command line, so nothing a user writes is an option.
        completed = subprocess.run(
            [_espeak(), "-v", voice, "-s", str(round(BASE_WORDS_PER_MINUTE * speed)), "-w", str(out), "--stdin"],
            input=text.encode(), capture_output=True, timeout=settings.TTS_TIMEOUT_SECONDS,
        )
        if completed.returncode != 0 or not out.exists():
            raise ServiceUnavailable("espeak-ng could not speak this text.")
        return pcm_from_wav(out.read_bytes())


@dataclass(frozen=True)
class SpeechEndpoint:
    """An OpenAI-compatible speech API (``POST {base_url}/audio/speech``)."""

    base_url: str
    api_key: str
    model: str
    voice: str


def configured_endpoint() -> SpeechEndpoint | None:
    if not settings.TTS_BASE_URL:
        return None
    return SpeechEndpoint(settings.TTS_BASE_URL.rstrip("/"), settings.TTS_API_KEY, settings.TTS_MODEL, settings.TTS_VOICE)


def endpoint_synthesize(endpoint: SpeechEndpoint, text: str, *, voice: str = "", speed: float = 1.0,
                        response_format: str = "mp3") -> bytes:
    """The endpoint's audio bytes in ``response_format`` (mp3 or wav)."""
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    body = {"model": endpoint.model, "input": text, "voice": voice or endpoint.voice, "speed": speed,
            "response_format": response_format}
    try:
        response = httpx.post(f"{endpoint.base_url}/audio/speech", json=body, headers=headers,
                              timeout=settings.TTS_TIMEOUT_SECONDS, trust_env=False)
    except httpx.HTTPError as exc:
        raise BadGateway(f"The speech endpoint did not answer ({type(exc).__name__}).") from exc
    if response.status_code >= 400:
        raise BadGateway(f"The speech endpoint answered HTTP {response.status_code}.")
    if not response.content:
        raise BadGateway("The speech endpoint answered with no audio.")
    return response.content
