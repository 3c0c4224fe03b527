"""Run starts that arrive together are claimed together: each run exactly once, with its own history."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.utils import timezone

from apps.conversations import runner, services
from apps.conversations.models import AgentRun, Message
from apps.conversations.tests.factories import AgentRunFactory, MessageFactory, ThreadFactory


@pytest.mark.django_db
def test_one_claim_takes_the_queued_runs_once_each_with_their_own_histories(alice, bob, django_assert_num_queries):
    first, second = ThreadFactory(owner=alice), ThreadFactory(owner=bob)
    MessageFactory(thread=first, role=Message.Role.USER, content="Hello")
    MessageFactory(thread=first, role=Message.Role.ASSISTANT, content="")  # an empty turn is not history
    MessageFactory(thread=first, role=Message.Role.TOOL, content="a tool's output")
    MessageFactory(thread=first, role=Message.Role.USER, content="And now?")
    MessageFactory(thread=second, role=Message.Role.USER, content="Bob's question")
    a, b = AgentRunFactory(thread=first, user=alice), AgentRunFactory(thread=second, user=bob)
    done = AgentRunFactory(thread=ThreadFactory(owner=alice), status=AgentRun.Status.COMPLETED, finished_at=timezone.now())
    unknown, malformed = str(uuid.uuid4()), "not-a-run"

    with django_assert_num_queries(3):  # the claim, the runs, their messages: not three per run
        claimed_a, claimed_b, claimed_done, claimed_unknown, claimed_malformed, again = services._runs_claim(
            items=[str(a.pk), str(b.pk), str(done.pk), unknown, malformed, str(a.pk).upper()])

    assert claimed_done is None and claimed_unknown is None and claimed_malformed is None
    assert again is None  # the same run delivered twice in one batch is claimed once
    assert claimed_a.run.pk == a.pk and claimed_a.run.user == alice
    assert claimed_a.messages == [{"role": "user", "content": "Hello"}, {"role": "user", "content": "And now?"}]
    assert claimed_b.messages == [{"role": "user", "content": "Bob's question"}]
    assert {run.pk: run.status for run in AgentRun.objects.filter(pk__in=[a.pk, b.pk])} == {a.pk: "running", b.pk: "running"}
    assert AgentRun.objects.get(pk=a.pk).heartbeat_at is not None
    # A redelivered task finds its run claimed already: nothing to do.
    assert services._runs_claim(items=[str(a.pk)]) == [None]


def test_callers_arriving_together_share_calls_and_each_gets_its_own_result():
    calls: list[list[int]] = []
    gate = threading.Event()

    def square(*, items: list[int]) -> list[int]:
        calls.append(items)
        gate.wait(5)  # the first call is in flight while the others arrive
        return [item * item for item in items]

    coalesced = runner.Coalesced(square)
    results: dict[int, int] = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, coalesced(n))) for n in range(20)]
    for thread in threads:
        thread.start()
    while sum(len(items) for items in calls) + len(coalesced.pending) < 20:
        time.sleep(0.001)
    gate.set()
    for thread in threads:
        thread.join(5)

    assert results == {n: n * n for n in range(20)}
    assert sorted(n for items in calls for n in items) == list(range(20))
    assert len(calls) == 2  # the first caller's call, then everyone who came while it ran
    assert coalesced(7) == 49  # and a lone caller after the burst still gets a call of its own


def test_a_failed_call_fails_its_callers_and_the_next_call_goes_ahead():
    attempts = []

    def flaky(*, items: list[str]) -> list[str]:
        attempts.append(items)
        if len(attempts) == 1:
            raise RuntimeError("the database went away")
        return [item.upper() for item in items]

    coalesced = runner.Coalesced(flaky)
    with pytest.raises(RuntimeError, match="went away"):
        coalesced("a")
    assert coalesced("b") == "B"
