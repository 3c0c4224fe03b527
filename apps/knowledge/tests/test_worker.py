"""Ingestion in real Celery workers: the shared session worker, and one we kill mid-way."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from kombu import Connection

from apps.knowledge import services
from apps.knowledge.models import Document
from apps.knowledge.tasks import ingest_document_task
from apps.knowledge.tests.conftest import corpus_file

#: A Redis database of its own: the killed worker's unacknowledged message is restored there
#: after a short visibility timeout without touching other sessions' in-flight tasks.
KILL_TEST_REDIS_DB = 11


def wait_for(predicate, *, timeout: float = 120.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met in time: {predicate()!r}")


def document_state(pk) -> Document | None:
    return Document.objects.filter(pk=pk).first()


@pytest.mark.worker_media
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_ingests_an_uploaded_file(celery_worker_process, alice_client, alice):
    response = alice_client.post("/upload", {"file": corpus_file("teas.csv")}, format="multipart")
    assert response.status_code == 202
    document = Document.objects.get(owner=alice)
    try:
        done = wait_for(lambda: (d := document_state(document.pk)) and d.status in {"ingested", "failed"} and d, timeout=30)
        assert done.status == "ingested", done.error
        assert done.progress == 1.0 and done.chunk_count == done.chunks.count() == 8
        listed = alice_client.get("/documents").json()["documents"]
        assert listed == [{"filename": "teas.csv", "size_bytes": 809, "chunks_count": 8, "status": "Ingested"}]
    finally:
        services.document_delete(document=Document.objects.get(pk=document.pk))


def _worker(queue: str, broker: str) -> subprocess.Popen:
    parts = urlsplit(settings.DATABASE_URL)
    database_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "CODEX_TESTING": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "codex", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=WARNING", "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"],
        env=env,
    )


@pytest.mark.worker_media
@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_is_delivered_again_and_ends_with_exactly_its_chunks(alice):
    if not settings.REDIS_AVAILABLE:
        pytest.skip("a Celery worker needs Redis")
    rows = 200
    csv = "id,text\n" + "".join(f"{i},Row {i} describes item number {i} of the long catalogue.\n" for i in range(rows))
    document = services.document_create(
        owner=alice, upload=SimpleUploadedFile("long.csv", csv.encode()), queue=False
    )
    queue = f"codex-test-kill-{uuid.uuid4().hex[:10]}"
    broker = urlunsplit(urlsplit(settings.CELERY_BROKER_URL)._replace(path=f"/{KILL_TEST_REDIS_DB}"))
    first = _worker(queue, broker)
    second = None
    try:
        with Connection(broker) as producer:
            ingest_document_task.apply_async(kwargs={"document_id": str(document.pk)}, queue=queue, connection=producer)
        midway = wait_for(lambda: (d := document_state(document.pk)) and d.status == "processing" and d.progress > 0 and d)
        first.kill()
        first.wait(timeout=10)
        killed = document_state(document.pk)
        assert killed.status == "processing" and killed.progress < 1.0 and killed.chunks.count() == 0, midway
        second = _worker(queue, broker)
        done = wait_for(lambda: (d := document_state(document.pk)) and d.status == "ingested" and d, timeout=180)
        assert done.chunk_count == rows
        assert done.chunks.count() == rows
        assert sorted(done.chunks.values_list("metadata__row", flat=True)) == list(range(1, rows + 1))
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=15)
        services.document_delete(document=Document.objects.get(pk=document.pk))
