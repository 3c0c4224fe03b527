"""Health, system info and monitoring paths of all five APIs."""
from django.urls import path

from apps.system.api import views

urlpatterns = [
    path("", views.RootApi.as_view(), name="root"),
]
