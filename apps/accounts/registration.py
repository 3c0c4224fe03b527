"""Whether self-service sign-up is open now, and whether only by invitation.

The two switches are site settings that the system app keeps (``allow_registration`` and
``registration_invite_only``, edited from the console). That app builds on this one, so
it hands its reader in at start-up (:func:`switches_source_set`, from its
``AppConfig.ready``) rather than being imported from here; without it, sign-up is open.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RegistrationSwitches:
    allowed: bool = True
    invite_only: bool = False


_source: Callable[[], RegistrationSwitches] = RegistrationSwitches


def switches_source_set(source: Callable[[], RegistrationSwitches]) -> None:
    global _source
    _source = source


def registration_switches() -> RegistrationSwitches:
    return _source()
