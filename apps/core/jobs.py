"""Background jobs: Celery when Redis answers, an in-process worker thread when it does not."""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

_local_worker: ThreadPoolExecutor | None = None


def _worker() -> ThreadPoolExecutor:
    global _local_worker
    if _local_worker is None:
        _local_worker = ThreadPoolExecutor(max_workers=4, thread_name_prefix="codex-job")
    return _local_worker


def _run_locally(task: Any, kwargs: dict[str, Any]) -> Any:
    close_old_connections()
    try:
        return task.run(**kwargs)
    except Exception:
        logger.exception("in-process job %s failed", task.name)
        raise
    finally:
        close_old_connections()


def run_in_process(task: Any, **kwargs: Any) -> Future:
    return _worker().submit(_run_locally, task, kwargs)


def enqueue(task: Any, **kwargs: Any) -> None:
    """Queue ``task`` once the current transaction commits, where a worker can see its rows."""
    if settings.REDIS_AVAILABLE:
        transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))
    else:
        transaction.on_commit(lambda: run_in_process(task, **kwargs))
