"""Which model a call uses: asked-for provider, the agent's, the user's default, the system's, the environment's."""
from __future__ import annotations

import pytest

from apps.core.errors import NotFound
from apps.providers.selectors import chat_model, model_config_for
from apps.providers.tests.factories import LLMProviderFactory

pytestmark = pytest.mark.django_db


def test_no_provider_means_the_offline_model(alice, settings):
    settings.LLM_BASE_URL = ""
    assert model_config_for(user=alice) is None
    assert chat_model(None).model_name == "codex-offline"


def test_the_environment_provides_a_default(alice, settings):
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = "http://llm.internal/v1", "k", "env-model"
    config = model_config_for(user=alice)
    assert (config.base_url, config.api_key, config.model, config.provider_id) == (
        "http://llm.internal/v1", "k", "env-model", None)


def test_the_users_default_wins_over_the_system_default(alice, bob, settings):
    settings.LLM_BASE_URL = "http://llm.internal/v1"
    system = LLMProviderFactory(owner=None, is_default=True, model="system-model")
    assert model_config_for(user=bob).provider_id == system.pk
    own = LLMProviderFactory(owner=alice, is_default=True, model="own-model")
    assert model_config_for(user=alice).provider_id == own.pk


def test_an_asked_for_provider_and_model_win(alice):
    LLMProviderFactory(owner=alice, is_default=True)
    other = LLMProviderFactory(owner=alice, model="base")
    config = model_config_for(user=alice, provider_id=str(other.pk), model="override")
    assert (config.provider_id, config.model) == (other.pk, "override")


def test_another_users_provider_cannot_be_asked_for(alice, bob):
    foreign = LLMProviderFactory(owner=bob)
    with pytest.raises(NotFound):
        model_config_for(user=alice, provider_id=str(foreign.pk))


def test_usage_summary_adds_up_a_session_for_its_user_only(alice, bob):
    from apps.providers.selectors import usage_summary
    from apps.providers.tests.factories import UsageRecordFactory

    UsageRecordFactory(user=alice, session_id="s1", model="a", input_tokens=10, output_tokens=5, endpoint="/api/chat")
    UsageRecordFactory(user=alice, session_id="s1", model="b", input_tokens=7, output_tokens=1, cached_tokens=3)
    UsageRecordFactory(user=alice, session_id="s2", input_tokens=100)
    UsageRecordFactory(user=bob, session_id="s1", input_tokens=1000)
    summary = usage_summary(user=alice, session_id="s1")
    assert {key: summary[key] for key in ("input_tokens", "output_tokens", "total_tokens", "cached_tokens",
                                          "step_count", "models", "endpoints")} == {
        "input_tokens": 17, "output_tokens": 6, "total_tokens": 23, "cached_tokens": 3, "step_count": 2,
        "models": ["a", "b"], "endpoints": ["/api/chat"]}
    assert summary["started_at"] <= summary["ended_at"]


def test_usage_is_kept_when_the_provider_was_deleted(alice):
    from asgiref.sync import async_to_sync

    from apps.providers.llm import Usage
    from apps.providers.services import usage_record_add

    provider = LLMProviderFactory(owner=alice)
    provider_id = provider.pk
    provider.delete()
    record = async_to_sync(usage_record_add)(user=alice, provider_id=provider_id, model="m", usage=Usage(3, 4))
    assert (record.provider_id, record.input_tokens, record.output_tokens) == (None, 3, 4)
