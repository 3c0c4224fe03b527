"""The Celery application: one for the web processes, the workers and beat."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")

app = Celery("codex")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
