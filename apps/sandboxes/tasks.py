"""Periodic sandbox work (Celery beat): idle and scheduled timeouts."""
from celery import shared_task

from apps.sandboxes import services


@shared_task(acks_late=True)
def expire_idle_sandboxes() -> int:
    return services.sandboxes_expire_idle()
