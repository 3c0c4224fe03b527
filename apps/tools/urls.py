"""Tool paths of 002."""
from django.urls import path

from apps.tools.api import views

urlpatterns = [
    path("api/tools", views.ToolListApi.as_view(), name="tool-list"),
    path("api/tools/exec", views.ToolExecApi.as_view(), name="tool-exec"),
]
