"""The end-user web app under /app/: one page per screen and the assets they load."""
from django.urls import path

from apps.web import views

urlpatterns = [
    path("app/", views.ChatPageView.as_view(), name="web-chat"),
    path("app/t/<str:thread_id>", views.ChatPageView.as_view(), name="web-chat-thread"),
    path("app/login", views.LoginPageView.as_view(), name="web-login"),
    path("app/assets/<path:name>", views.asset, name="web-asset"),
]
