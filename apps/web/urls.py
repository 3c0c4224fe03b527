"""The end-user web app under /app/: one page per screen and the assets they load."""
from django.urls import path

from apps.web import views

urlpatterns = [
    path("app/", views.ChatPageView.as_view(), name="web-chat"),
    path("app/t/<str:thread_id>", views.ChatPageView.as_view(), name="web-chat-thread"),
    path("app/login", views.LoginPageView.as_view(), name="web-login"),
    path("app/agents", views.AgentsPageView.as_view(), name="web-agents"),
    path("app/knowledge", views.KnowledgePageView.as_view(), name="web-knowledge"),
    path("app/tools", views.ToolsPageView.as_view(), name="web-tools"),
    path("app/settings", views.SettingsPageView.as_view(), name="web-settings"),
    path("app/studio", views.StudioPageView.as_view(), name="web-studio"),
    path("app/assets/<path:name>", views.asset, name="web-asset"),
]
