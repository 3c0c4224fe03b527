"""Admin for skills and MCP servers; an MCP server's key is write-only here as in the API."""
from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.tools.models import MCPServer, Skill, SkillFile, SkillVersion


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
