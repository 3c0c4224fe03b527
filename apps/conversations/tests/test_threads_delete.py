"""Deleting a thread deletes what belongs to it: temporal documents, their chunks and stored files,
and the workspaces its agents wrote; nothing of another thread or another user goes with it."""
from __future__ import annotations

import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.agents.tests.factories import AgentFactory, AgentGrantFactory
from apps.agents.tests.test_api import media  # noqa: F401
from apps.agents.workspace import workspace_write
from apps.conversations.models import Thread
from apps.conversations.tests.factories import ThreadFactory
from apps.knowledge.models import Chunk, Document

pytestmark = pytest.mark.django_db

DELETE_ROUTES = ["/threads/{id}", "/api/conversations/{id}"]  # 000 and 002


def _upload(client, thread_id: str) -> Document:
    response = client.post(f"/upload/temporal?thread_id={thread_id}",
                           {"file": SimpleUploadedFile("notes.txt", b"The launch is on Tuesday.", content_type="text/plain")},
                           format="multipart")
    assert response.status_code == 200
    return Document.objects.get(thread_id=thread_id)


@pytest.fixture
def threads(alice, bob, alice_client, client_for, media):  # noqa: F811
    agent, helper = AgentFactory(owner=alice), AgentFactory(owner=alice)
    for thread_id, owner in (("doomed", alice), ("kept", alice), ("bobs", bob)):
        ThreadFactory(id=thread_id, owner=owner, agent=agent)
    documents = {"doomed": _upload(alice_client, "doomed"), "kept": _upload(alice_client, "kept"),
                 "bobs": _upload(client_for(bob), "bobs")}
    for writer in (agent, helper):
        workspace_write(agent_id=str(writer.pk), session_id="doomed", file_path="site/index.html", content="<h1>x</h1>")
    workspace_write(agent_id=str(agent.pk), session_id="kept", file_path="report.md", content="kept")
    workspace_write(agent_id=str(agent.pk), session_id="bobs", file_path="secret.md", content="bob's")
    # A link the agent's files could hold, to another thread's workspace: removed, never followed.
    os.symlink(media / f"workspaces/{agent.pk}/kept", media / f"workspaces/{agent.pk}/doomed/site/elsewhere")
    return agent, helper, documents


@pytest.mark.parametrize("route", DELETE_ROUTES)
def test_deleting_a_thread_deletes_its_temporal_files_and_its_workspaces(
    route, threads, alice_client, django_capture_on_commit_callbacks
):
    agent, helper, documents = threads
    doomed = documents["doomed"]
    assert Chunk.objects.filter(document=doomed).exists() and default_storage.exists(doomed.file.name)

    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.delete(route.format(id="doomed")).status_code == 200

    assert not Thread.objects.filter(pk="doomed").exists()
    assert not Document.objects.filter(pk=doomed.pk).exists()
    assert not Chunk.objects.filter(document_id=doomed.pk).exists()
    assert not default_storage.exists(doomed.file.name)
    assert not default_storage.exists(f"workspaces/{agent.pk}/doomed")
    assert not default_storage.exists(f"workspaces/{helper.pk}/doomed")
    # The other thread's and the other user's are all there.
    for name in ("kept", "bobs"):
        assert Chunk.objects.filter(document=documents[name]).exists()
        assert default_storage.exists(documents[name].file.name)
    assert default_storage.exists(f"workspaces/{agent.pk}/kept/report.md")
    assert default_storage.exists(f"workspaces/{agent.pk}/bobs/secret.md")


@pytest.mark.parametrize("route", DELETE_ROUTES)
def test_another_user_deletes_nothing(route, threads, bob, client_for, django_capture_on_commit_callbacks):
    agent, helper, documents = threads
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(bob).delete(route.format(id="doomed")).status_code == 404
    assert Thread.objects.filter(pk="doomed").exists()
    assert Chunk.objects.filter(document=documents["doomed"]).exists()
    assert default_storage.exists(documents["doomed"].file.name)
    assert default_storage.exists(f"workspaces/{agent.pk}/doomed/site/index.html")
    assert default_storage.exists(f"workspaces/{helper.pk}/doomed/site/index.html")


def test_whoever_takes_a_deleted_threads_id_starts_with_no_files(threads, alice_client, bob, client_for,
                                                                django_capture_on_commit_callbacks):
    # 000 clients choose thread ids: a file left behind would be the next owner's to read.
    agent, _, _ = threads
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.delete("/threads/doomed").status_code == 200
    AgentGrantFactory(agent=agent, user=bob)
    ThreadFactory(id="doomed", owner=bob, agent=agent)
    listed = client_for(bob).post(f"/api/agent/{agent.pk}/file_workspace?session_id=doomed")
    assert listed.status_code == 200 and listed.json()["data"]["files"] == []
    assert not Document.objects.filter(thread_id="doomed").exists()
