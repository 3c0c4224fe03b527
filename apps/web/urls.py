"""The end-user web app under /app/: one page per screen and the assets they load."""
from django.urls import path

from apps.web import views

page = views.WebPageView.as_view

urlpatterns = [
    path("app/", page(page="chat"), name="web-chat"),
    path("app/t/<str:thread_id>", page(page="chat"), name="web-chat-thread"),
    path("app/login", page(page="login"), name="web-login"),
    path("app/agents", page(page="agents"), name="web-agents"),
    path("app/knowledge", page(page="knowledge"), name="web-knowledge"),
    path("app/tools", page(page="tools"), name="web-tools"),
    path("app/settings", page(page="settings"), name="web-settings"),
    # Speech and podcasts are fetched with the bearer token and played from blob: URLs.
    path("app/studio", page(page="studio", extra_policy="; media-src 'self' blob:"), name="web-studio"),
    path("app/assets/<path:name>", views.asset, name="web-asset"),
]
