"""The end-user web app under /app/: two pages and their two assets."""
from django.urls import path

from apps.web import views

urlpatterns = [
    path("app/", views.ChatPageView.as_view(), name="web-chat"),
    path("app/login", views.LoginPageView.as_view(), name="web-login"),
    path("app/assets/<str:name>", views.asset, name="web-asset"),
]
