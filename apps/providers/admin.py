"""Admin for providers (the key is write-only: it is never shown) and usage (read-only)."""
from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.providers.models import LLMProvider, UsageRecord


class LLMProviderForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current key. The key is stored encrypted and never shown.",
    )

    class Meta:
        model = LLMProvider
        fields = "__all__"

    def clean_api_key(self) -> str:
        key = self.cleaned_data.get("api_key", "").strip()
        if "\n" in key or "\r" in key:
            raise forms.ValidationError("The key must be a single line.")
        return key or (self.instance.api_key if self.instance.pk else "")


@admin.register(LLMProvider)
class LLMProviderAdmin(admin.ModelAdmin):
    form = LLMProviderForm
    list_display = ["name", "model", "base_url", "owner", "is_default", "supports_multimodal", "key_hint"]
    list_filter = ["is_default", "supports_multimodal"]
    search_fields = ["name", "model", "base_url", "owner__username"]
    raw_id_fields = ["owner"]

    @admin.display(description="API key")
    def key_hint(self, provider: LLMProvider) -> str:
        return provider.api_key_hint


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "model", "input_tokens", "output_tokens", "cached_tokens",
                    "reasoning_tokens", "endpoint"]
    list_filter = ["model", "endpoint"]
    search_fields = ["user__username", "session_id", "run_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
