"""Where the runtime's database work runs.

Unset, asgiref's thread-sensitive thread (requests, tests); the worker sets its pool
of database threads, so hundreds of runs on one event loop do not queue behind a
single thread for their plan, toolset and retrieval.
"""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

T = TypeVar("T")

db_executor: ContextVar[Executor | None] = ContextVar("runtime_db_executor", default=None)


async def in_db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    executor = db_executor.get()
    if executor is None:
        return await sync_to_async(fn)(*args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args, **kwargs))
