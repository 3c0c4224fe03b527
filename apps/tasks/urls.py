"""The documented task paths of 001 (its /api/documents routes live in the knowledge app) and 003's schedulers."""
from django.urls import path

from apps.tasks.api import schedulers, views

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
    path("api/v1/task/schedulers", schedulers.SchedulerListApi.as_view(), name="task-schedulers"),
    path("api/v1/task/schedulers/<str:schedule_id>", schedulers.SchedulerDetailApi.as_view(), name="task-scheduler"),
    path("api/v1/task/schedulers/<str:schedule_id>/run", schedulers.SchedulerRunApi.as_view(),
         name="task-scheduler-run"),
]
