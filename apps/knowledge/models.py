"""Knowledge bases, their documents, the chunks retrieval searches, and upload batches."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q
from pgvector.django import HnswIndex, VectorField

from apps.core.fields import EncryptedTextField

#: The dimension of the chunk embedding column; every embedding model must produce it.
EMBEDDING_DIMENSIONS = 384
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
#: The text-search configuration of the tsvector beside each embedding.
TEXT_SEARCH_CONFIG = "english"


class KnowledgeBase(models.Model):
    """A named collection of documents that agents and users retrieve from."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="knowledge_bases", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, default="rag")
    intro = models.TextField(blank=True)
    language = models.CharField(max_length=16, default="en", blank=True)
    embedding_model = models.CharField(max_length=200, default=DEFAULT_EMBEDDING_MODEL)
    embedding_dimensions = models.PositiveIntegerField(default=EMBEDDING_DIMENSIONS)
    chunk_size = models.PositiveIntegerField(default=1000)
    chunk_overlap = models.PositiveIntegerField(default=200)
    # An optional OpenAI-compatible embeddings endpoint; empty means the built-in local model.
    embedding_base_url = models.URLField(max_length=500, blank=True)
    embedding_api_key = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                name="knowledge_base_unique_name_per_owner",
                violation_error_message="You already have a knowledge base with this name.",
            ),
            models.CheckConstraint(
                condition=Q(chunk_size__gte=100) & Q(chunk_size__lte=8000),
                name="knowledge_base_chunk_size_range",
                violation_error_message="chunk_size must be between 100 and 8000 characters.",
            ),
            models.CheckConstraint(
                condition=Q(chunk_overlap__lt=F("chunk_size")),
                name="knowledge_base_overlap_below_size",
                violation_error_message="chunk_overlap must be smaller than chunk_size.",
            ),
            models.CheckConstraint(
                condition=Q(embedding_dimensions=EMBEDDING_DIMENSIONS),
                name="knowledge_base_embedding_dimensions",
                violation_error_message=f"Embeddings must have {EMBEDDING_DIMENSIONS} dimensions.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def uses_remote_embeddings(self) -> bool:
        return bool(self.embedding_base_url)


class IngestTask(models.Model):
    """One upload batch (002's ``taskId``); its counts are derived from its documents."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="ingest_tasks", on_delete=models.CASCADE)
    knowledge_base = models.ForeignKey(KnowledgeBase, related_name="ingest_tasks", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"batch {self.pk} of {self.knowledge_base_id}"


class Document(models.Model):
    """An uploaded file and where it belongs.

    Its scope is exactly one of: a knowledge base, a thread (temporal upload), a 001
    task, or — none of those — the owner's default library (000's ``/upload``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        INGESTED = "ingested", "Ingested"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="documents", on_delete=models.CASCADE)
    knowledge_base = models.ForeignKey(
        KnowledgeBase, null=True, blank=True, related_name="documents", on_delete=models.CASCADE
    )
    # Threads and tasks live in other apps; they are referenced by id so this app never waits on them.
    thread_id = models.CharField(max_length=200, blank=True, db_index=True)
    task_id = models.CharField(max_length=200, blank=True, db_index=True)
    ingest_task = models.ForeignKey(
        IngestTask, null=True, blank=True, related_name="documents", on_delete=models.SET_NULL
    )
    file = models.FileField(upload_to="knowledge/", max_length=500)
    filename = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file, hex.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0.0) & Q(progress__lte=1.0),
                name="document_progress_range",
                violation_error_message="progress must be between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=Q(knowledge_base__isnull=True) | (Q(thread_id="") & Q(task_id="")),
                name="document_one_scope",
                violation_error_message="A document belongs to a knowledge base, a thread or a task, not several.",
            ),
            models.CheckConstraint(
                condition=Q(thread_id="") | Q(task_id=""),
                name="document_thread_or_task",
                violation_error_message="A document belongs to a thread or a task, not both.",
            ),
            models.CheckConstraint(
                condition=~Q(filename=""),
                name="document_filename_not_empty",
                violation_error_message="A document needs a filename.",
            ),
            models.UniqueConstraint(
                fields=["owner", "filename"],
                condition=Q(knowledge_base__isnull=True, thread_id="", task_id=""),
                name="document_unique_filename_in_library",
                violation_error_message="Your library already holds a file with this name.",
            ),
            models.UniqueConstraint(
                fields=["owner", "thread_id", "filename"],
                condition=~Q(thread_id=""),
                name="document_unique_filename_in_thread",
                violation_error_message="This thread already holds a file with this name.",
            ),
            models.UniqueConstraint(
                fields=["knowledge_base", "filename"],
                condition=Q(knowledge_base__isnull=False),
                name="document_unique_filename_in_knowledge_base",
                violation_error_message="This knowledge base already holds a file with this name.",
            ),
        ]
        indexes = [models.Index(fields=["owner", "status"], name="document_owner_status")]

    def __str__(self) -> str:
        return self.filename

    @property
    def display_status(self) -> str:
        """000's status string (NOTES.md)."""
        if self.status == self.Status.FAILED:
            return f"Failed: {self.error or 'unknown error'}"
        return self.get_status_display()

    @property
    def sage_status(self) -> int:
        """002's status integer: 0 pending, 1 processing, 2 success, 3 failed."""
        return SAGE_STATUS[self.status]


SAGE_STATUS = {
    Document.Status.QUEUED: 0,
    Document.Status.PROCESSING: 1,
    Document.Status.INGESTED: 2,
    Document.Status.FAILED: 3,
}


class Chunk(models.Model):
    """A piece of a document with its embedding and its full-text vector."""

    id = models.BigAutoField(primary_key=True)
    document = models.ForeignKey(Document, related_name="chunks", on_delete=models.CASCADE)
    # Denormalised from the document so a filtered vector search stays on one table.
    knowledge_base = models.ForeignKey(
        KnowledgeBase, null=True, blank=True, related_name="+", on_delete=models.CASCADE
    )
    ordinal = models.PositiveIntegerField()
    content = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    search_vector = models.GeneratedField(
        expression=SearchVector("content", config=TEXT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["document", "ordinal"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "ordinal"],
                name="chunk_unique_ordinal_per_document",
                violation_error_message="A document cannot hold two chunks with the same ordinal.",
            ),
        ]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
            models.Index(fields=["knowledge_base"], name="chunk_knowledge_base"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"
