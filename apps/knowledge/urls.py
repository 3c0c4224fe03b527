"""The documented knowledge paths of 000, 001, 002 and 003."""
from django.conf import settings
from django.urls import path

from apps.knowledge.api import views

urlpatterns = [
    # 000 — CodexEngine
    path("upload", views.UploadApi.as_view(), name="codex-upload"),
    path("documents", views.DocumentListApi.as_view(), name="codex-documents"),
    path("documents/<str:filename>", views.DocumentDeleteApi.as_view(), name="codex-document"),
    path("documents/<str:filename>/reingest", views.DocumentReingestApi.as_view(), name="codex-document-reingest"),
    # 001 — task agent
    path("api/documents", views.RagDocumentListApi.as_view(), name="task-documents"),
    path("api/documents/<str:document_id>", views.RagDocumentDetailApi.as_view(), name="task-document"),
    path("api/documents/<str:document_id>/chunks", views.RagDocumentChunksApi.as_view(), name="task-document-chunks"),
    path("api/chunks/<str:chunk_id>", views.RagChunkDetailApi.as_view(), name="task-chunk"),
    # 002 — Sage
    path("api/knowledge-base/add", views.KdbAddApi.as_view(), name="sage-kdb-add"),
    path("api/knowledge-base/update", views.KdbUpdateApi.as_view(), name="sage-kdb-update"),
    path("api/knowledge-base/info", views.KdbInfoApi.as_view(), name="sage-kdb-info"),
    path("api/knowledge-base/retrieve", views.KdbRetrieveApi.as_view(), name="sage-kdb-retrieve"),
    path("api/knowledge-base/list", views.KdbListApi.as_view(), name="sage-kdb-list"),
    path("api/knowledge-base/delete/<str:kdb_id>", views.KdbDeleteApi.as_view(), name="sage-kdb-delete"),
    path("api/knowledge-base/clear", views.KdbClearApi.as_view(), name="sage-kdb-clear"),
    path("api/knowledge-base/redo_all", views.KdbRedoAllApi.as_view(), name="sage-kdb-redo-all"),
    path("api/knowledge-base/doc/list", views.KdbDocListApi.as_view(), name="sage-kdb-doc-list"),
    path("api/knowledge-base/doc/info/<str:doc_id>", views.KdbDocInfoApi.as_view(), name="sage-kdb-doc-info"),
    path("api/knowledge-base/doc/add_by_files", views.KdbDocAddByFilesApi.as_view(), name="sage-kdb-doc-add"),
    path("api/knowledge-base/doc/delete/<str:doc_id>", views.KdbDocDeleteApi.as_view(), name="sage-kdb-doc-delete"),
    path("api/knowledge-base/doc/redo/<str:doc_id>", views.KdbDocRedoApi.as_view(), name="sage-kdb-doc-redo"),
    path("api/knowledge-base/doc/task_process", views.KdbDocTaskProcessApi.as_view(), name="sage-kdb-task-process"),
    path("api/knowledge-base/doc/task_redo", views.KdbDocTaskRedoApi.as_view(), name="sage-kdb-task-redo"),
    path("api/oss/upload", views.OssUploadApi.as_view(), name="sage-oss-upload"),
    # 003 — agents backend
    path("api/v1/agent/rag/resources", views.RagResourceListApi.as_view(), name="admin-rag-resources"),
    path("api/v1/agent/rag/resources/<path:resource_id>", views.RagResourceDetailApi.as_view(), name="admin-rag-resource"),
]

# Stored files are never served publicly (not even with DEBUG): their owner downloads them here.
urlpatterns.append(
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", views.MediaFileApi.as_view(), name="media-file")
)
