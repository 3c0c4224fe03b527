"""Factories for system data."""
from __future__ import annotations

import factory

from apps.system.models import SystemSetting


class SystemSettingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SystemSetting
        django_get_or_create = ("key",)

    key = "allow_registration"
    value = True
