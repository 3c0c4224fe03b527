"""Admin for skills, MCP servers, toolkits and toolkit profiles; keys and credentials are write-only here as in the API."""
from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin

from apps.tools.models import MCPServer, Skill, SkillFile, SkillVersion, Toolkit, ToolkitProfile


class SkillFileInline(admin.TabularInline):
    model = SkillFile
    extra = 0
    fields = ["path", "size"]
    readonly_fields = ["path", "size"]


class SkillVersionInline(admin.TabularInline):
    model = SkillVersion
    extra = 0
    fields = ["version", "created_at"]
    readonly_fields = ["version", "created_at"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "owner", "agent", "version", "updated_at"]
    list_filter = ["scope"]
    search_fields = ["name", "description", "owner__username"]
    raw_id_fields = ["owner", "agent"]
    readonly_fields = ["version"]
    inlines = [SkillFileInline, SkillVersionInline]


class MCPServerForm(forms.ModelForm):
    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Leave empty to keep the current key.")

    class Meta:
        model = MCPServer
        exclude: list[str] = []

    def clean_api_key(self) -> str:
        return self.cleaned_data["api_key"] or (self.instance.api_key if self.instance.pk else "")


@admin.register(MCPServer)
class MCPServerAdmin(admin.ModelAdmin):
    form = MCPServerForm
    list_display = ["name", "owner", "source", "transport", "status", "is_active", "refreshed_at"]
    list_filter = ["transport", "status", "source", "is_active", "allow_private"]
    search_fields = ["name", "url", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["status", "error", "tools", "refreshed_at"]


@admin.register(Toolkit)
class ToolkitAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "category", "transport", "is_enabled", "source", "updated_at"]
    list_filter = ["category", "transport", "is_enabled", "source"]
    search_fields = ["slug", "name", "description"]
    readonly_fields = ["source", "created_at", "updated_at"]

    def save_model(self, request: Any, obj: Toolkit, form: Any, change: bool) -> None:
        # An edited shipped toolkit becomes the staff's: load_toolkits no longer overwrites it.
        obj.source = Toolkit.Source.STAFF
        super().save_model(request, obj, form, change)


class ToolkitProfileForm(forms.ModelForm):
    """The credentials are write-only: a new JSON object of field values replaces them, empty keeps them."""

    credentials = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text='A JSON object of the toolkit\'s field values, e.g. {"api_key": "..."}; leave empty to keep them.',
    )

    class Meta:
        model = ToolkitProfile
        exclude: list[str] = []

    def clean_credentials(self) -> str:
        given = self.cleaned_data["credentials"]
        if not given:
            return self.instance.credentials if self.instance.pk else ""
        try:
            values = json.loads(given)
        except ValueError as exc:
            raise forms.ValidationError("Enter a JSON object.") from exc
        if not isinstance(values, dict):
            raise forms.ValidationError("Enter a JSON object.")
        return json.dumps(values)


@admin.register(ToolkitProfile)
class ToolkitProfileAdmin(admin.ModelAdmin):
    form = ToolkitProfileForm
    list_display = ["profile_name", "toolkit", "owner", "status", "is_active", "is_default", "is_default_for_dashboard",
                    "refreshed_at"]
    list_filter = ["status", "is_active", "allow_private", "toolkit"]
    search_fields = ["profile_name", "display_name", "server_name", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["status", "error", "tools", "refreshed_at", "last_used_at", "created_at", "updated_at"]
