"""Background jobs: Celery when Redis answers, an in-process worker thread when it does not."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
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
    """Queue ``task`` once the current transaction commits, where a worker can see its rows.

    ``task`` may be the registered task's name: a service that hands work to its own app's
    task module names it, so that module (which imports the service) is not imported back.
    """
    transaction.on_commit(lambda: _enqueue_now(_registered(task) if isinstance(task, str) else task, kwargs))


_discovery = threading.Lock()


def discover_tasks() -> None:
    """Import every app's task modules now (the worker's autodiscovery), once, under a lock.

    daphne calls it at start (codex/asgi.py): done on the first enqueue instead, it held a
    burst of fifty first chats behind the lock for seconds, right after the ready line.
    """
    with _discovery:
        current_app.loader.import_default_modules()
        # Binds every task to the app (about 5 ms for ours): Celery does it on the first
        # ``app.tasks``, which was the first enqueue of each web process, inside a chat.
        current_app.finalize(auto=True)


def warm_broker() -> None:
    """Make now what the first enqueue of a web process would: the result backend, the broker
    transport and the producer pool's connections, each declared on its queue.

    daphne calls it at start (codex/asgi.py): Celery makes these lazily, on the first chats of a
    burst (a process's first enqueue took 20 ms of CPU, then about 1 ms; after this, 4 ms), and
    each producer of the pool connects and declares its queue on its first use. So does the task
    sender (``amqp.send_task_message``, which imports celery.events for its dispatcher) and the
    cache's Redis connection, which the first chat's throttle opened.
    """
    if not settings.REDIS_AVAILABLE:
        return
    app = current_app
    try:
        app.backend  # noqa: B018 (apply_async returns an AsyncResult bound to it)
        app.amqp.send_task_message  # noqa: B018 (a cached property: builds the sender once)
        cache.get("warm-broker")  # opens the cache's connection (throttles, announcements)
        queues = [app.amqp.queues[name] for name in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_RUN_QUEUE)]
        producers = [app.producer_pool.acquire(block=True) for _ in range(app.conf.broker_pool_limit or 1)]
        try:
            for producer in producers:
                for queue in queues:
                    producer.maybe_declare(queue)
        finally:
            for producer in producers:
                producer.release()
    except Exception:  # the broker is down: the first requests make them, as before
        logger.warning("could not warm the broker connections", exc_info=True)


def _registered(name: str) -> Any:
    if name not in current_app.tasks:
        # Not imported yet (a process that did not call discover_tasks): the first requests of a
        # busy process arrive together, so they wait for one import under the lock.
        with _discovery:
            if name not in current_app.tasks:
                current_app.loader.import_default_modules()
    return current_app.tasks[name]


def _enqueue_now(task: Any, kwargs: dict[str, Any]) -> None:
    if settings.REDIS_AVAILABLE:
        task.apply_async(kwargs=kwargs)
    else:
        run_in_process(task, **kwargs)
