"""The Celery application: one for the web processes, the workers and beat."""
import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")

app = Celery("codex")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

#: Tasks that are agent runs: they wait on a run loop, so they go to the thread-pool run worker.
RUN_TASKS = frozenset({"conversations.execute_run"})


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **extra: Any) -> dict[str, str] | None:
    # Read at send time, not import time, so a test session can give runs a queue of its own.
    if name in RUN_TASKS:
        from django.conf import settings

        return {"queue": settings.CELERY_RUN_QUEUE}
    return None


app.conf.task_routes = (route_task,)
