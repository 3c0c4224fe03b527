"""A thread's temporal files: the conversations app vouches for the thread, the knowledge app keeps the files."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.conversations.tests.factories import ThreadFactory
from apps.knowledge.models import Chunk, Document

pytestmark = pytest.mark.django_db


def _upload(client, thread_id: str):
    return client.post(f"/upload/temporal?thread_id={thread_id}",
                       {"file": SimpleUploadedFile("notes.txt", b"The launch is on Tuesday.", content_type="text/plain")},
                       format="multipart")


def test_deleting_a_thread_deletes_its_temporal_documents_and_chunks(alice, alice_client):
    thread = ThreadFactory(owner=alice)
    assert _upload(alice_client, thread.pk).status_code == 200
    document = Document.objects.get(thread_id=thread.pk)
    assert Chunk.objects.filter(document=document).exists()
    assert alice_client.delete(f"/threads/{thread.pk}").status_code == 200
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not Chunk.objects.filter(document_id=document.pk).exists()


def test_another_users_thread_cannot_get_or_lose_temporal_files(alice, bob, alice_client, client_for):
    thread = ThreadFactory(owner=alice)
    assert _upload(alice_client, thread.pk).status_code == 200
    bob_client = client_for(bob)
    assert _upload(bob_client, thread.pk).status_code == 404
    response = bob_client.delete(f"/chat/{thread.pk}/temporal")
    assert response.status_code == 404 and set(response.json()) >= {"detail"}
    assert list(Document.objects.values_list("owner", flat=True)) == [alice.pk]
