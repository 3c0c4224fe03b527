"""The console's title, and system settings edited with the same rules as the API."""
from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.core.errors import Invalid
from apps.system.models import SystemSetting
from apps.system.services import setting_validate

admin.site.site_header = "CodexEngine console"
admin.site.site_title = "CodexEngine console"
admin.site.index_title = "Administration"


class SystemSettingForm(forms.ModelForm):
    class Meta:
        model = SystemSetting
        fields = ["key", "value"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if "key" in cleaned and "value" in cleaned:
            try:
                setting_validate(key=cleaned["key"], value=cleaned["value"])
            except Invalid as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(SystemSetting)
class SystemSettingAdmin(admin.ModelAdmin):
    form = SystemSettingForm
    list_display = ["key", "value", "updated_at"]
    search_fields = ["key"]
    readonly_fields = ["updated_at"]
