"""Celery tasks of billing: thin, they call a service."""
from __future__ import annotations

from celery import shared_task

from apps.billing import services


@shared_task(acks_late=True)
def subscriptions_renew_task() -> int:
    """Beat (hourly): roll staff-assigned subscriptions into their next period and grant every live
    subscription's current period once."""
    return services.subscriptions_renew()
