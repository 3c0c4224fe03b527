"""The documented task paths of 001 (its /api/documents routes live in the knowledge app)."""
from django.urls import path

from apps.tasks.api import views

urlpatterns = [
    path("api/tasks", views.TaskListApi.as_view(), name="task-list"),
    path("api/tasks/<str:task_id>", views.TaskDetailApi.as_view(), name="task-detail"),
    path("api/tasks/<str:task_id>/steps", views.TaskStepListApi.as_view(), name="task-steps"),
    path("api/tasks/<str:task_id>/documents", views.TaskDocumentUploadApi.as_view(), name="task-documents-upload"),
    path(
        "api/tasks/<str:task_id>/documents/<str:document_id>",
        views.TaskDocumentDetailApi.as_view(),
        name="task-document",
    ),
]
