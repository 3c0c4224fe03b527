from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "apps.conversations"
    label = "conversations"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from apps.conversations.selectors import thread_titles
        from apps.core.sessions import session_source_register

        # Billing and the agents' workspaces name threads by id; they ask through this registry.
        session_source_register("thread", thread_titles)
