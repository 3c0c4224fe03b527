"""Knowledge routes of all APIs: each parses, calls one service or selector, and shapes the answer."""
from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core.api.pagination import paginate
from apps.core.api.views import AdminApiView, CodexApiView, SageApiView, TaskApiView
from apps.core.errors import Invalid
from apps.knowledge import selectors, services
from apps.knowledge.api import serializers as s
from apps.knowledge.models import Document

MULTIPART = [MultiPartParser, FormParser]


def _valid(serializer_class: type, data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(serializer_class: type, request: Request) -> dict:
    data = {key: request.query_params.get(key) for key in request.query_params}
    return _valid(serializer_class, data)


# ------------------------------------------------------------------------------
# 000 — CodexEngine
# ------------------------------------------------------------------------------
class UploadApi(CodexApiView):
    """Store a file in the caller's library and queue its ingestion (202)."""

    parser_classes = MULTIPART

    @extend_schema(tags=["000 documents"], request=s.FileUploadSerializer, responses={202: s.UploadedSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.FileUploadSerializer, request.data)
        document = services.document_create(owner=request.user, upload=data["file"])
        return Response(
            {"message": "File uploaded to storage and queued for background ingestion.", "filename": document.filename},
            status=status.HTTP_202_ACCEPTED,
        )


class DocumentListApi(CodexApiView):
    """The caller's library with sizes, chunk counts and status strings."""

    @extend_schema(tags=["000 documents"], responses={200: s.CodexDocumentListSerializer})
    def get(self, request: Request) -> Response:
        documents = selectors.library_documents(user=request.user).order_by("filename")
        return Response({"documents": s.CodexDocumentSerializer(documents, many=True).data})


class DocumentDeleteApi(CodexApiView):
    """Delete a library (or, with thread_id, a thread's) file and its chunks."""

    @extend_schema(tags=["000 documents"], parameters=[s.ThreadQuerySerializer], responses={200: s.DocumentDeletedSerializer})
    def delete(self, request: Request, filename: str) -> Response:
        thread_id = _query(s.ThreadQuerySerializer, request)["thread_id"]
        document = selectors.document_by_filename(user=request.user, filename=filename, thread_id=thread_id)
        deleted = services.document_delete(document=document)
        return Response({"message": f"Successfully deleted {document.filename}", "db_chunks_deleted": deleted})


class DocumentReingestApi(CodexApiView):
    """Re-ingest a file now and answer its new chunk count."""

    @extend_schema(
        tags=["000 documents"], parameters=[s.ThreadQuerySerializer], request=None, responses={200: s.ReingestedSerializer}
    )
    def post(self, request: Request, filename: str) -> Response:
        thread_id = _query(s.ThreadQuerySerializer, request)["thread_id"]
        document = selectors.document_by_filename(user=request.user, filename=filename, thread_id=thread_id)
        document = services.document_reingest_now(document=document)
        if document.status == Document.Status.FAILED:
            raise Invalid(f"Re-ingestion failed: {document.error}")
        return Response({"message": "File re-ingested successfully", "chunks_count": document.chunk_count})


# ------------------------------------------------------------------------------
# 001 — task agent
# ------------------------------------------------------------------------------
class RagDocumentListApi(TaskApiView):
    """List RAG documents, or upload one with a title and description."""

    parser_classes = MULTIPART

    @extend_schema(tags=["001 documents"], responses={200: s.RagDocumentSerializer(many=True)})
    def get(self, request: Request) -> Response:
        documents = selectors.task_api_documents(user=request.user)
        return Response(s.RagDocumentSerializer(documents, many=True).data)

    @extend_schema(
        tags=["001 documents"],
        parameters=[s.RagDocumentQuerySerializer],
        request=s.FileUploadSerializer,
        responses={200: s.RagDocumentSerializer},
    )
    def post(self, request: Request) -> Response:
        query = _query(s.RagDocumentQuerySerializer, request)
        data = _valid(s.FileUploadSerializer, request.data)
        document = services.document_create(
            owner=request.user, upload=data["file"], title=query["title"], description=query["description"]
        )
        return Response(s.RagDocumentSerializer(document).data)


class RagDocumentDetailApi(TaskApiView):
    """Read or delete one RAG document."""

    @extend_schema(tags=["001 documents"], responses={200: s.RagDocumentSerializer})
    def get(self, request: Request, document_id: str) -> Response:
        document = selectors.task_api_document_get(user=request.user, document_id=document_id)
        return Response(s.RagDocumentSerializer(document).data)

    @extend_schema(tags=["001 documents"], responses={204: None})
    def delete(self, request: Request, document_id: str) -> Response:
        document = selectors.task_api_document_get(user=request.user, document_id=document_id)
        services.document_delete(document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RagDocumentChunksApi(TaskApiView):
    """The chunks of one RAG document, in order."""

    @extend_schema(tags=["001 documents"], parameters=[s.ChunkPageQuerySerializer],
                   responses={200: s.RagChunkSerializer(many=True)})
    def get(self, request: Request, document_id: str) -> Response:
        paging = _query(s.ChunkPageQuerySerializer, request)
        document = selectors.task_api_document_get(user=request.user, document_id=document_id)
        chunks = selectors.document_chunks(document=document).select_related("document")
        start = (paging["page"] - 1) * paging["size"]
        response = Response(s.RagChunkSerializer(chunks[start : start + paging["size"]], many=True).data)
        # The documented body is a bare array: the total travels in a header.
        response["X-Total-Count"] = str(chunks.count())
        return response


class RagChunkDetailApi(TaskApiView):
    """One chunk with its document's title and description."""

    @extend_schema(tags=["001 documents"], responses={200: s.RagChunkSerializer})
    def get(self, request: Request, chunk_id: str) -> Response:
        chunk = selectors.chunk_get(user=request.user, chunk_id=chunk_id)
        return Response(s.RagChunkSerializer(chunk).data)


# ------------------------------------------------------------------------------
# 002 — Sage (the BaseResponse envelope is added by SageApiView)
# ------------------------------------------------------------------------------
class SageKnowledgeApi(SageApiView):
    """Base of the Sage knowledge routes: session cookie or Bearer, BaseResponse envelope."""

    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]
    parser_classes = [JSONParser, *MULTIPART]

    def done(self, request: Request) -> Response:
        return Response({"success": True, "user_id": str(request.user.pk)})


class KdbAddApi(SageKnowledgeApi):
    """Create a knowledge base."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbAddSerializer, responses={200: s.KdbCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.KdbAddSerializer, request.data)
        knowledge_base = services.knowledge_base_create(owner=request.user, **data)
        return Response({"kdb_id": str(knowledge_base.pk), "user_id": str(request.user.pk)})


class KdbUpdateApi(SageKnowledgeApi):
    """Change a knowledge base's name, type, intro, language or chunking."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbUpdateSerializer, responses={200: s.SuccessSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.KdbUpdateSerializer, request.data)
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=data.pop("kdb_id"))
        services.knowledge_base_update(knowledge_base=knowledge_base, **data)
        return self.done(request)


class KdbInfoApi(SageKnowledgeApi):
    """Read a knowledge base."""

    @extend_schema(tags=["002 knowledge-base"], parameters=[s.KdbIdSerializer], responses={200: s.KdbInfoSerializer})
    def get(self, request: Request) -> Response:
        kdb_id = _query(s.KdbIdSerializer, request)["kdb_id"]
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=kdb_id)
        return Response(s.KdbInfoSerializer(knowledge_base).data)


class KdbRetrieveApi(SageKnowledgeApi):
    """Hybrid (vector + full-text) retrieval from a knowledge base."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbRetrieveSerializer, responses={200: s.KdbRetrievedSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.KdbRetrieveSerializer, request.data)
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=data["kdb_id"])
        results = selectors.knowledge_base_search(
            user=request.user, knowledge_base=knowledge_base, query=data["query"], top_k=data["top_k"]
        )
        return Response(
            {"results": s.RetrievedChunkSerializer(results, many=True).data, "user_id": str(request.user.pk)}
        )


class KdbListApi(SageKnowledgeApi):
    """List the caller's knowledge bases, filtered and paged."""

    @extend_schema(tags=["002 knowledge-base"], parameters=[s.KdbListQuerySerializer], responses={200: s.KdbListSerializer})
    def get(self, request: Request) -> Response:
        query = _query(s.KdbListQuerySerializer, request)
        bases = selectors.knowledge_base_list(user=request.user, name=query["query_name"], type=query["type"])
        page = paginate(bases, page=query["page"], page_size=query["page_size"])
        return Response(
            {
                "list": s.KdbInfoSerializer(page.items, many=True).data,
                "total": page.total,
                "page": page.page,
                "page_size": page.page_size,
            }
        )


class KdbDeleteApi(SageKnowledgeApi):
    """Delete a knowledge base with its documents."""

    @extend_schema(tags=["002 knowledge-base"], responses={200: s.SuccessSerializer})
    def delete(self, request: Request, kdb_id: str) -> Response:
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=kdb_id)
        services.knowledge_base_delete(knowledge_base=knowledge_base)
        return self.done(request)


class KdbClearApi(SageKnowledgeApi):
    """Delete every document of a knowledge base."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbIdSerializer, responses={200: s.SuccessSerializer})
    def post(self, request: Request) -> Response:
        kdb_id = _valid(s.KdbIdSerializer, request.data)["kdb_id"]
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=kdb_id)
        services.knowledge_base_clear(knowledge_base=knowledge_base)
        return self.done(request)


class KdbRedoAllApi(SageKnowledgeApi):
    """Re-ingest every document of a knowledge base."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbIdSerializer, responses={200: s.SuccessSerializer})
    def post(self, request: Request) -> Response:
        kdb_id = _valid(s.KdbIdSerializer, request.data)["kdb_id"]
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=kdb_id)
        services.knowledge_base_reingest_all(knowledge_base=knowledge_base)
        return self.done(request)


class KdbDocListApi(SageKnowledgeApi):
    """List a knowledge base's documents by name, status and task."""

    @extend_schema(
        tags=["002 knowledge-base"],
        parameters=[
            s.KdbDocListQuerySerializer(),
            OpenApiParameter("query_status", int, many=True, description="0 pending, 1 processing, 2 success, 3 failed"),
        ],
        responses={200: s.KdbDocListSerializer},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        raw = {key: params.get(key) for key in params if key != "query_status"}
        # query_status may come repeated (?query_status=0&query_status=3) or comma-separated.
        statuses = [part for value in params.getlist("query_status") for part in value.split(",") if part.strip()]
        query = _valid(s.KdbDocListQuerySerializer, {**raw, "query_status": statuses})
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=query["kdb_id"])
        documents = selectors.knowledge_base_documents(
            knowledge_base=knowledge_base,
            name=query["query_name"],
            statuses=[s.STATUS_BY_SAGE_CODE[code] for code in query["query_status"]],
            ingest_task_id=query["task_id"] or None,
        )
        page = paginate(documents, page=query["page_no"], page_size=query["page_size"])
        return Response(
            {
                "list": s.KdbDocSerializer(page.items, many=True).data,
                "total": page.total,
                "page_no": page.page,
                "page_size": page.page_size,
            }
        )


class KdbDocInfoApi(SageKnowledgeApi):
    """Read one knowledge-base document."""

    @extend_schema(tags=["002 knowledge-base"], responses={200: s.KdbDocSerializer})
    def get(self, request: Request, doc_id: str) -> Response:
        document = selectors.knowledge_base_document_get(user=request.user, document_id=doc_id)
        return Response(s.KdbDocSerializer(document).data)


class KdbDocAddByFilesApi(SageKnowledgeApi):
    """Upload several files into a knowledge base as one task."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbAddByFilesSerializer, responses={200: s.KdbTaskCreatedSerializer})
    def post(self, request: Request) -> Response:
        if not hasattr(request.data, "get"):
            raise Invalid("The body must be a form or a JSON object.", field_errors={"body": ["Must be an object."]})
        data = _valid(
            s.KdbAddByFilesSerializer,
            {
                "kdb_id": request.data.get("kdb_id"),
                "override": request.data.get("override", False),
                "files": request.FILES.getlist("files"),
            },
        )
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=data["kdb_id"])
        task = services.document_upload_batch(
            owner=request.user, knowledge_base=knowledge_base, uploads=data["files"], replace=data["override"]
        )
        return Response({"taskId": str(task.pk), "user_id": str(request.user.pk)})


class KdbDocDeleteApi(SageKnowledgeApi):
    """Delete one knowledge-base document."""

    @extend_schema(tags=["002 knowledge-base"], responses={200: s.SuccessSerializer})
    def delete(self, request: Request, doc_id: str) -> Response:
        document = selectors.knowledge_base_document_get(user=request.user, document_id=doc_id)
        services.document_delete(document=document)
        return self.done(request)


class KdbDocRedoApi(SageKnowledgeApi):
    """Re-ingest one knowledge-base document."""

    @extend_schema(tags=["002 knowledge-base"], request=None, responses={200: s.SuccessSerializer})
    def put(self, request: Request, doc_id: str) -> Response:
        document = selectors.knowledge_base_document_get(user=request.user, document_id=doc_id)
        services.document_enqueue(document=document)
        return self.done(request)


class KdbDocTaskProcessApi(SageKnowledgeApi):
    """Progress counts of an upload task."""

    @extend_schema(tags=["002 knowledge-base"], parameters=[s.KdbTaskQuerySerializer], responses={200: s.KdbTaskProcessSerializer})
    def get(self, request: Request) -> Response:
        query = _query(s.KdbTaskQuerySerializer, request)
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=query["kdb_id"])
        task = selectors.ingest_task_get(user=request.user, knowledge_base=knowledge_base, task_id=query["task_id"])
        return Response(s.KdbTaskProcessSerializer(selectors.ingest_task_progress(task=task)).data)


class KdbDocTaskRedoApi(SageKnowledgeApi):
    """Re-ingest the unfinished documents of an upload task."""

    @extend_schema(tags=["002 knowledge-base"], request=s.KdbTaskQuerySerializer, responses={200: s.SuccessSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.KdbTaskQuerySerializer, request.data)
        knowledge_base = selectors.knowledge_base_get(user=request.user, knowledge_base_id=data["kdb_id"])
        task = selectors.ingest_task_get(user=request.user, knowledge_base=knowledge_base, task_id=data["task_id"])
        services.ingest_task_redo(task=task)
        return self.done(request)


class OssUploadApi(SageKnowledgeApi):
    """Store a file under the caller's prefix and answer its URL."""

    parser_classes = MULTIPART

    @extend_schema(tags=["002 storage"], request=s.OssUploadSerializer, responses={200: s.OssUploadedSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.OssUploadSerializer, request.data)
        url = services.oss_file_store(owner=request.user, upload=data["file"], path=data["path"])
        return Response({"url": request.build_absolute_uri(url)})


# ------------------------------------------------------------------------------
# 003 — agents backend
# ------------------------------------------------------------------------------
def _resource(knowledge_base: Any) -> dict:
    return {"uri": f"rag://dataset/{knowledge_base.pk}", "title": knowledge_base.name, "description": knowledge_base.intro}


class RagResourceListApi(AdminApiView):
    """The caller's knowledge bases as RAG resources; add one."""

    @extend_schema(tags=["003 rag"], responses={200: s.RagResourceListSerializer})
    def get(self, request: Request) -> Response:
        bases = selectors.knowledge_base_list(user=request.user)
        return Response({"resources": [_resource(kb) for kb in bases]})

    @extend_schema(tags=["003 rag"], request=s.RagResourceCreateSerializer, responses={201: s.RagResourceSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(s.RagResourceCreateSerializer, request.data)
        knowledge_base = services.knowledge_base_create(
            owner=request.user, name=data["title"], intro=data["description"]
        )
        return Response(_resource(knowledge_base), status=status.HTTP_201_CREATED)


class RagResourceDetailApi(AdminApiView):
    """Delete a RAG resource (a knowledge base) by id or rag:// URI."""

    @extend_schema(tags=["003 rag"], responses={204: None})
    def delete(self, request: Request, resource_id: str) -> Response:
        knowledge_base = selectors.knowledge_base_get(
            user=request.user, knowledge_base_id=resource_id.removeprefix("rag://dataset/")
        )
        services.knowledge_base_delete(knowledge_base=knowledge_base)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------
# Stored files under MEDIA_URL
# ------------------------------------------------------------------------------
#: A stored file is never a page of ours: no scripts, no plugins, no same-origin access.
SANDBOX_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class MediaFileApi(SageKnowledgeApi):
    """``GET /media/<name>``: a user's own stored file (the URL ``/api/oss/upload`` answers).

    Served to its owner only (Bearer or session), as an attachment, with ``nosniff`` and a
    sandboxing CSP: uploaded HTML or SVG must never run on our origin. Nothing under
    ``MEDIA_ROOT`` is served publicly, whatever ``DJANGO_DEBUG`` says.
    """

    @extend_schema(exclude=True)
    def get(self, request: Request, name: str) -> FileResponse:
        stored = selectors.media_file_get(user=request.user, name=name)
        response = FileResponse(
            default_storage.open(stored, "rb"), as_attachment=True, filename=stored.rsplit("/", 1)[-1],
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = SANDBOX_CSP
        response["Cache-Control"] = "private, no-store"
        return response
