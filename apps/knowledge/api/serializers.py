"""Request and response shapes of the knowledge routes, in each API's own field names."""
from __future__ import annotations

from rest_framework import serializers

from apps.knowledge.models import SAGE_STATUS, Chunk, Document, KnowledgeBase

STATUS_BY_SAGE_CODE = {code: status for status, code in SAGE_STATUS.items()}


class FileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


# ------------------------------------------------------------------------------
# 000 — CodexEngine
# ------------------------------------------------------------------------------
class UploadedSerializer(serializers.Serializer):
    message = serializers.CharField()
    filename = serializers.CharField()


class ThreadQuerySerializer(serializers.Serializer):
    thread_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CodexDocumentSerializer(serializers.Serializer):
    filename = serializers.CharField()
    size_bytes = serializers.IntegerField(source="size")
    chunks_count = serializers.IntegerField(source="chunk_count")
    status = serializers.CharField(source="display_status")


class CodexDocumentListSerializer(serializers.Serializer):
    documents = CodexDocumentSerializer(many=True)


class DocumentDeletedSerializer(serializers.Serializer):
    message = serializers.CharField()
    db_chunks_deleted = serializers.IntegerField()


class ReingestedSerializer(serializers.Serializer):
    message = serializers.CharField()
    chunks_count = serializers.IntegerField()


# ------------------------------------------------------------------------------
# 001 — task agent
# ------------------------------------------------------------------------------
class RagDocumentQuerySerializer(serializers.Serializer):
    title = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=5000)


class RagDocumentSerializer(serializers.ModelSerializer):
    id = serializers.CharField()
    contentType = serializers.CharField(source="content_type")  # noqa: N815 - the documented DTO field

    class Meta:
        model = Document
        fields = ["id", "filename", "title", "description", "contentType", "progress"]


class RagChunkSerializer(serializers.ModelSerializer):
    id = serializers.CharField()
    documentId = serializers.CharField(source="document_id")  # noqa: N815
    documentTitle = serializers.CharField(source="document.title")  # noqa: N815
    documentDescription = serializers.CharField(source="document.description")  # noqa: N815

    class Meta:
        model = Chunk
        fields = ["id", "documentId", "documentTitle", "documentDescription", "content"]


# ------------------------------------------------------------------------------
# 002 — Sage
# ------------------------------------------------------------------------------
class KdbAddSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=32, required=False, default="rag")
    intro = serializers.CharField(required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=16, required=False, allow_blank=True, default="en")
    chunk_size = serializers.IntegerField(required=False, min_value=100, max_value=8000, default=1000)
    chunk_overlap = serializers.IntegerField(required=False, min_value=0, max_value=7999, default=200)
    embedding_base_url = serializers.URLField(required=False, allow_blank=True, default="")
    embedding_api_key = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)
    embedding_model = serializers.CharField(required=False, allow_blank=True, default="")


class KdbIdSerializer(serializers.Serializer):
    kdb_id = serializers.CharField(max_length=64)


class KdbUpdateSerializer(serializers.Serializer):
    kdb_id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False)
    type = serializers.CharField(max_length=32, required=False)
    intro = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    chunk_size = serializers.IntegerField(required=False, min_value=100, max_value=8000)
    chunk_overlap = serializers.IntegerField(required=False, min_value=0, max_value=7999)


class KdbCreatedSerializer(serializers.Serializer):
    kdb_id = serializers.CharField()
    user_id = serializers.CharField()


class SuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    user_id = serializers.CharField()


class KdbInfoSerializer(serializers.ModelSerializer):
    kdb_id = serializers.CharField(source="id")
    user_id = serializers.CharField(source="owner_id")
    doc_count = serializers.SerializerMethodField()

    class Meta:
        model = KnowledgeBase
        fields = [
            "kdb_id",
            "name",
            "type",
            "intro",
            "language",
            "embedding_model",
            "embedding_dimensions",
            "chunk_size",
            "chunk_overlap",
            "doc_count",
            "user_id",
            "created_at",
            "updated_at",
        ]

    def get_doc_count(self, obj: KnowledgeBase) -> int:
        return obj.documents.count()


class KdbListQuerySerializer(serializers.Serializer):
    query_name = serializers.CharField(required=False, allow_blank=True, default="")
    type = serializers.CharField(required=False, allow_blank=True, default="")
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class KdbListSerializer(serializers.Serializer):
    list = KdbInfoSerializer(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()


class KdbRetrieveSerializer(serializers.Serializer):
    kdb_id = serializers.CharField(max_length=64)
    query = serializers.CharField(max_length=4000)
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)


class RetrievedChunkSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    doc_id = serializers.CharField(source="document_id")
    doc_name = serializers.CharField(source="filename")
    title = serializers.CharField()
    content = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    row = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField()


class KdbRetrievedSerializer(serializers.Serializer):
    results = RetrievedChunkSerializer(many=True)
    user_id = serializers.CharField()


class KdbDocSerializer(serializers.ModelSerializer):
    doc_id = serializers.CharField(source="id")
    kdb_id = serializers.CharField(source="knowledge_base_id")
    doc_name = serializers.CharField(source="filename")
    status = serializers.IntegerField(source="sage_status")
    task_id = serializers.CharField(source="ingest_task_id", allow_null=True)
    chunk_count = serializers.IntegerField()

    class Meta:
        model = Document
        fields = [
            "doc_id",
            "kdb_id",
            "doc_name",
            "title",
            "content_type",
            "size",
            "status",
            "progress",
            "error",
            "chunk_count",
            "task_id",
            "created_at",
            "updated_at",
        ]


class KdbDocListQuerySerializer(serializers.Serializer):
    kdb_id = serializers.CharField(max_length=64)
    query_name = serializers.CharField(required=False, allow_blank=True, default="")
    query_status = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(STATUS_BY_SAGE_CODE)), required=False, default=list
    )
    task_id = serializers.CharField(required=False, allow_blank=True, default="")
    page_no = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class KdbDocListSerializer(serializers.Serializer):
    list = KdbDocSerializer(many=True)
    total = serializers.IntegerField()
    page_no = serializers.IntegerField()
    page_size = serializers.IntegerField()


class KdbAddByFilesSerializer(serializers.Serializer):
    kdb_id = serializers.CharField(max_length=64)
    override = serializers.BooleanField(required=False, default=False)
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=False)


class KdbTaskCreatedSerializer(serializers.Serializer):
    taskId = serializers.CharField()  # noqa: N815 - the documented field
    user_id = serializers.CharField()


class KdbTaskQuerySerializer(serializers.Serializer):
    kdb_id = serializers.CharField(max_length=64)
    task_id = serializers.CharField(max_length=64)


class KdbTaskProcessSerializer(serializers.Serializer):
    success = serializers.IntegerField()
    fail = serializers.IntegerField()
    inProgress = serializers.IntegerField(source="in_progress")  # noqa: N815
    waiting = serializers.IntegerField()
    total = serializers.IntegerField()
    taskProcess = serializers.FloatField(source="ratio")  # noqa: N815


class OssUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    path = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OssUploadedSerializer(serializers.Serializer):
    url = serializers.CharField()


# ------------------------------------------------------------------------------
# 003 — agents backend
# ------------------------------------------------------------------------------
class RagResourceSerializer(serializers.Serializer):
    uri = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)


class RagResourceListSerializer(serializers.Serializer):
    resources = RagResourceSerializer(many=True)


class RagResourceCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ChunkPageQuerySerializer(serializers.Serializer):
    """``GET /api/documents/{id}/chunks`` in pages; the answer stays the documented array."""

    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1_000_000)
    size = serializers.IntegerField(required=False, default=100, min_value=1, max_value=500)
