"""Out of credits: every API refuses a run at start with 402 in its own shape, and a run that spends the
last credit stops before its next step with a clear event and a ``stopped`` status."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.agents.tests.factories import AgentFactory
from apps.billing.models import CreditLedgerEntry
from apps.billing.tests.factories import ModelPriceFactory
from apps.conversations import services as conversation_services
from apps.conversations.models import AgentRun, RunEvent
from apps.conversations.tests.factories import AgentRunFactory, MessageFactory, ThreadFactory
from apps.providers.testing import Reply
from apps.tasks.models import TaskStep
from apps.tasks.tests.factories import TaskFactory

HI = [{"role": "user", "content": "hi"}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "shape"),
    [
        ("/chat/stream", {"message": "hi", "thread_id": "t-new"}, {"detail"}),
        ("/api/chat", {"messages": HI}, {"code", "message", "data", "timestamp"}),
        ("/api/stream", {"messages": HI}, {"code", "message", "data", "timestamp"}),
        ("/api/v1/agent/chat/stream", {"messages": HI}, {"detail", "code"}),
        ("/api/agent/initiate", {"prompt": "hi"}, {"error", "detail"}),
        ("/v1/chat/completions", {"messages": HI}, {"error"}),
    ],
)
def test_a_run_without_credits_is_refused_with_402_in_each_apis_shape(alice, alice_client, path, body, shape):
    if path.startswith(("/api/chat", "/api/stream")):
        body = {**body, "agent_id": str(AgentFactory(owner=alice).pk)}
    if path.startswith("/v1/"):
        body = {**body, "model": str(AgentFactory(owner=alice).pk)}
    response = alice_client.post(path, body, format="json")
    assert response.status_code == 402, response.content
    data = response.json()
    assert set(data) == shape
    assert "credits" in str(data).lower()
    assert not AgentRun.objects.exists()


@pytest.mark.django_db
def test_the_platform_answers_insufficient_credits_and_the_admin_api_its_code(alice, alice_client):
    thread = ThreadFactory(owner=alice)
    response = alice_client.post(f"/api/thread/{thread.pk}/agent/start", {"prompt": "hi"}, format="json")
    assert response.status_code == 402
    assert response.json()["error"] == "insufficient_credits"
    admin = alice_client.post("/api/v1/agent/chat/stream", {"messages": HI}, format="json").json()
    assert admin["code"] == "INSUFFICIENT_CREDITS"
    openai = alice_client.post("/v1/chat/completions", {"messages": HI, "model": str(AgentFactory(owner=alice).pk)},
                               format="json").json()
    assert openai["error"]["code"] == "insufficient_credits"
    sage = alice_client.post("/api/chat", {"messages": HI, "agent_id": str(AgentFactory(owner=alice).pk)},
                             format="json").json()
    assert sage["code"] == 402


@pytest.mark.django_db
def test_a_task_step_without_credits_is_refused_in_the_task_apis_shape(alice, alice_client):
    task = TaskFactory(owner=alice)
    response = alice_client.post(f"/api/tasks/{task.pk}", {"message": "go on"}, format="json")
    assert response.status_code == 402
    body = response.json()
    assert body["statusCode"] == 402 and body["path"] == f"/api/tasks/{task.pk}"
    assert not TaskStep.objects.exists()


@pytest.mark.django_db
def test_with_credits_or_with_billing_off_the_run_starts(alice, alice_client, fund, settings):
    fund(alice, credits=1)
    assert alice_client.post("/api/agent/initiate", {"prompt": "hi"}, format="json").status_code < 300
    settings.BILLING_ENABLED = False
    assert alice_client.post("/api/agent/initiate", {"prompt": "again"}, format="json").status_code < 300


@pytest.mark.django_db(transaction=True)
def test_a_run_that_spends_the_last_credit_stops_at_its_next_step(alice, fund, fake_llm):
    fund(alice, credits=1)
    fake_llm.make_provider(owner=alice)
    ModelPriceFactory(input_per_million=Decimal("1000"), output_per_million=Decimal("0"))
    fake_llm.script(
        Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "2+2"}}],
              usage={"prompt_tokens": 1500, "completion_tokens": 10}),
        Reply(text="It is 4."),
    )
    thread = ThreadFactory(owner=alice)
    MessageFactory(thread=thread, content="What is 2+2?")
    run = AgentRunFactory(thread=thread)

    conversation_services.run_execute(run_id=str(run.pk))

    run.refresh_from_db()
    assert run.status == AgentRun.Status.STOPPED
    assert len(fake_llm.chat_requests) == 1  # the second model call never happened
    stop = RunEvent.objects.get(run=run, type="status", payload__step="insufficient_credits")
    assert stop.payload["status"] == "stopped" and "credits" in stop.payload["content"].lower()
    spend = CreditLedgerEntry.objects.get(kind="spend")
    assert (spend.amount, spend.shortfall, spend.run_id) == (Decimal("-1"), Decimal("0.5"), run.pk)


@pytest.mark.django_db(transaction=True)
def test_a_run_with_credits_left_goes_on_to_its_answer(alice, fund, fake_llm):
    fund(alice, credits=100)
    fake_llm.make_provider(owner=alice)
    ModelPriceFactory(input_per_million=Decimal("1000"))
    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "2+2"}}]), Reply(text="4."))
    run = AgentRunFactory(thread=MessageFactory(thread=ThreadFactory(owner=alice), content="2+2?").thread)

    conversation_services.run_execute(run_id=str(run.pk))

    run.refresh_from_db()
    assert run.status == AgentRun.Status.COMPLETED
    assert CreditLedgerEntry.objects.filter(kind="spend", run_id=run.pk).count() == 2
