from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "apps.tasks"
    label = "tasks"
    verbose_name = "Tasks"

    def ready(self) -> None:
        from apps.core.sessions import session_source_register
        from apps.tasks.selectors import task_titles

        # Billing and the agents' workspaces name tasks by id; they ask through this registry.
        session_source_register("task", task_titles)
