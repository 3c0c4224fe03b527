"""Knowledge in the Django admin: progress and errors of ingestion, and a re-ingest action."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.knowledge import selectors, services
from apps.knowledge.models import Chunk, Document, IngestTask, KnowledgeBase


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "type", "language", "embedding_model", "chunk_size", "chunk_overlap", "created_at"]
    list_filter = ["type", "language"]
    search_fields = ["name", "intro", "owner__username"]
    raw_id_fields = ["owner"]
    exclude = ["embedding_api_key"]


@admin.action(description="Re-ingest the selected documents")
def reingest(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Document]) -> None:
    for document in queryset:
        services.document_enqueue(document=document)
    modeladmin.message_user(request, f"Queued {queryset.count()} document(s) for ingestion.", messages.SUCCESS)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["filename", "owner", "knowledge_base", "thread_id", "status", "progress", "chunk_count", "size", "created_at"]
    list_filter = ["status", "content_type"]
    search_fields = ["filename", "title", "owner__username", "thread_id", "task_id"]
    readonly_fields = ["status", "progress", "error", "chunk_count", "checksum", "size", "content_type", "created_at", "updated_at"]
    raw_id_fields = ["owner", "knowledge_base", "ingest_task"]
    actions = [reingest]


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["id", "document", "ordinal", "short_content"]
    search_fields = ["content", "document__filename"]
    raw_id_fields = ["document", "knowledge_base"]
    exclude = ["embedding"]

    @admin.display(description="content")
    def short_content(self, obj: Chunk) -> str:
        return obj.content[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Chunk | None = None) -> bool:
        return False


@admin.register(IngestTask)
class IngestTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "knowledge_base", "created_at", "progress"]
    raw_id_fields = ["owner", "knowledge_base"]

    @admin.display(description="success / fail / in progress / waiting")
    def progress(self, obj: IngestTask) -> str:
        counts = selectors.ingest_task_progress(task=obj)
        return f"{counts.success} / {counts.fail} / {counts.in_progress} / {counts.waiting}"
