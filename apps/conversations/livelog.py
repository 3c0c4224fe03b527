"""The live side of run events: numbered events kept in Redis while a run is hot.

A run's events are appended to the Redis list ``run:<id>:events`` and announced on
the pub/sub channel ``run:<id>`` in one round trip; nothing touches PostgreSQL per
token (the runner flushes ``RunEvent`` rows in batches). A run channel carries JSON
arrays: the events one run emitted in one tick of the worker's loop, encoded once. Readers in any daphne
process share one pub/sub connection per process (:class:`_RedisHub`), subscribe
before they read the list, and fill any gap from the list, so a reader never
misses or repeats an event.

Without Redis (``settings.REDIS_AVAILABLE`` false) the same interface is served by
an in-process store; the platform then runs in one process and jobs run on a
worker thread, so the store is guarded by a lock and wakes readers on their own
event loops.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: How long a finished run's events stay in Redis; replays after that come from PostgreSQL.
FINISHED_TTL_SECONDS = 3600
#: A safety net for runs whose worker died before it could set the finished TTL.
LIVE_TTL_SECONDS = 24 * 3600


def run_channel(run_id: str) -> str:
    return f"run:{run_id}"


def events_key(run_id: str) -> str:
    return f"run:{run_id}:events"


def stop_key(run_id: str) -> str:
    return f"run:{run_id}:stop"


def user_runs_channel(user_id: str) -> str:
    return f"user:{user_id}:runs"


def _prefixed(name: str) -> str:
    # Tests share the Redis server with every other process; keep their keys apart.
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'codex')}:{name}" if settings.REDIS_AVAILABLE else name


class Subscription:
    """Messages published on one channel, delivered to one reader's queue."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()

    def deliver(self, message: dict[str, Any]) -> None:
        self.queue.put_nowait(message)


# ------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------
_sync_client: Any = None
_sync_lock = threading.Lock()


def _redis():
    """A thread-safe synchronous client: writers call it from their run loops (sub-ms round trips)."""
    global _sync_client
    if _sync_client is None:
        import redis

        with _sync_lock:
            if _sync_client is None:
                _sync_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, health_check_interval=30)
    return _sync_client


_sync_append: Any = None


def _sync_script() -> Any:
    global _sync_append
    if _sync_append is None:
        _sync_append = _redis().register_script(_APPEND_SCRIPT)
    return _sync_append


class _RedisHub:
    """One pub/sub connection per event loop, fanning messages out to local subscribers."""

    def __init__(self) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        self.pubsub = self.client.pubsub()
        self.subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self.acks: dict[str, list[asyncio.Future]] = defaultdict(list)
        self.pump: asyncio.Task | None = None
        self.wake = asyncio.Event()
        self.connecting = asyncio.Lock()

    async def connect(self) -> None:
        """Open the one pub/sub connection, once however many readers ask at the same moment.

        redis-py's ``PubSub.connect`` checks for a connection, then awaits the pool for one: two
        readers subscribing at once each get a connection, and the second replaces the first, whose
        channels then deliver to nobody (a cold burst of streams stalled until their catch-up).
        """
        if self.pubsub.connection is not None:
            return
        async with self.connecting:
            if self.pubsub.connection is None:
                await self.pubsub.connect()

    async def subscribe(self, channel: str) -> Subscription:
        subscription = Subscription(channel)
        wire = _prefixed(channel)
        first = not self.subscribers[wire]
        self.subscribers[wire].add(subscription)
        if first:
            ack = asyncio.get_running_loop().create_future()
            self.acks[wire].append(ack)
            try:
                await self.connect()
                await self.pubsub.subscribe(wire)
            except BaseException:
                # Redis is away: the reader follows PostgreSQL instead, and leaves nothing behind here.
                self.subscribers[wire].discard(subscription)
                if not self.subscribers[wire]:
                    del self.subscribers[wire]
                self.acks.pop(wire, None)
                raise
            self._ensure_pump()
            try:
                # Only once Redis confirms does the reader read the backlog: nothing falls between.
                await asyncio.wait_for(asyncio.shield(ack), timeout=2.0)
            except TimeoutError:
                logger.warning("no subscribe confirmation for %s; readers fill gaps from the list", wire)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        wire = _prefixed(subscription.channel)
        subscribers = self.subscribers.get(wire)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self.subscribers[wire]
            try:
                await self.pubsub.unsubscribe(wire)
            except Exception:  # the pump reconnects and resubscribes only live channels
                logger.warning("unsubscribe from %s failed", wire, exc_info=True)

    def _ensure_pump(self) -> None:
        self.wake.set()
        if self.pump is None or self.pump.done():
            self.pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _run_pump(self) -> None:
        while True:
            try:
                if not self.pubsub.subscribed:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                # listen() reads message after message with no timer per message (get_message's
                # timeout cost more than the message); it ends when the last channel is left.
                async for message in self.pubsub.listen():
                    self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Redis pub/sub connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(0.5)
                await self._reconnect()

    async def _reconnect(self) -> None:
        try:
            await self.pubsub.aclose()
        except Exception:
            logger.debug("closing a broken pub/sub connection failed", exc_info=True)
        self.pubsub = self.client.pubsub()
        if self.subscribers:
            try:
                await self.connect()
                await self.pubsub.subscribe(*self.subscribers.keys())
            except Exception:
                logger.warning("resubscribe failed; retrying", exc_info=True)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        kind = message["type"]
        if kind == "subscribe":
            for ack in self.acks.pop(channel, []):
                if not ack.done():
                    ack.set_result(None)
            return
        if kind != "message":
            return
        subscribers = self.subscribers.get(channel)
        if not subscribers:
            return
        data = json.loads(message["data"])  # one decode for every reader of the channel in this process
        for subscription in subscribers:
            subscription.deliver(data)


_hubs: dict[asyncio.AbstractEventLoop, _RedisHub] = {}


def _hub() -> _RedisHub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [known for known in _hubs if known.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = _RedisHub()
    return hub


# ------------------------------------------------------------------------------
# In-process store, when there is no Redis
# ------------------------------------------------------------------------------
class _MemoryStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.expires: dict[str, float] = {}
        self.stops: set[str] = set()
        self.subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        with self.lock:
            subscribers = list(self.subscribers.get(channel, ()))
        for subscription in subscribers:
            if not subscription.loop.is_closed():
                subscription.loop.call_soon_threadsafe(subscription.deliver, message)

    def append(self, run_id: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.lists.setdefault(run_id, []).append(event)
        self.publish(run_channel(run_id), [event])  # a run channel carries lists of events, as in Redis

    def expire(self, run_id: str, seconds: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.expires[run_id] = now + seconds
            for key in [key for key, at in self.expires.items() if at < now]:
                self.lists.pop(key, None)
                self.expires.pop(key, None)
                self.stops.discard(key)


_memory = _MemoryStore()


# ------------------------------------------------------------------------------
# The interface the runner and the readers use
# ------------------------------------------------------------------------------
def _encode(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


#: One call per batch, whatever it holds: for each run, RPUSH its events (a new list gets
#: LIVE_TTL_SECONDS) and PUBLISH them as one JSON array, so the events are encoded once, the
#: batch costs one command to pack and one reply to parse, and readers get one message per run.
#: KEYS: list key, channel, per run; ARGV: its event count, whether the list is new, the events.
_APPEND_SCRIPT = f"""
local at = 1
for run = 1, #KEYS, 2 do
  local count = tonumber(ARGV[at])
  local fresh = ARGV[at + 1] == '1'
  local events = {{}}
  for i = 1, count do events[i] = ARGV[at + 1 + i] end
  redis.call('RPUSH', KEYS[run], unpack(events))
  if fresh then redis.call('EXPIRE', KEYS[run], {LIVE_TTL_SECONDS}) end
  redis.call('PUBLISH', KEYS[run + 1], '[' .. table.concat(events, ',') .. ']')
  at = at + 2 + count
end
return 0
"""


def _script_arguments(batch: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    by_run: dict[str, list[dict[str, Any]]] = {}
    for run_id, event in batch:
        by_run.setdefault(run_id, []).append(event)
    keys: list[str] = []
    args: list[Any] = []
    for run_id, events in by_run.items():
        keys += [_prefixed(events_key(run_id)), _prefixed(run_channel(run_id))]
        args += [len(events), "1" if events[0]["seq"] == 1 else "0", *(_encode(event) for event in events)]
    return keys, args


class _Appender:
    """Per event loop: every event emitted in one loop tick, by any run, goes out in one script call.

    Runs share the worker's event loop, so a blocking round trip per token would stall
    every other run; here a burst of tokens from many runs costs one awaited round
    trip. Events of one run keep their order (one drain task sends batches in turn).
    """

    def __init__(self) -> None:
        import redis.asyncio as aioredis

        self.client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, health_check_interval=30)
        self.script = self.client.register_script(_APPEND_SCRIPT)
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.task: asyncio.Task | None = None

    def add(self, run_id: str, event: dict[str, Any]) -> None:
        self.pending.append((run_id, event))
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            keys, args = _script_arguments(batch)
            try:
                await self.script(keys=keys, args=args)
            except Exception:
                # Readers fill the hole from PostgreSQL (the runner keeps every event there).
                logger.warning("live append of %d event(s) failed", len(batch), exc_info=True)

    async def flush(self) -> None:
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)


_appenders: dict[asyncio.AbstractEventLoop, _Appender] = {}


def _appender(loop: asyncio.AbstractEventLoop) -> _Appender:
    appender = _appenders.get(loop)
    if appender is None:
        for old in [known for known in _appenders if known.is_closed()]:
            del _appenders[old]
        appender = _appenders[loop] = _Appender()
    return appender


def append_event(run_id: str, event: dict[str, Any]) -> None:
    """Keep and announce one event (RPUSH + PUBLISH).

    On an event loop the event joins the loop's next pipelined batch (see
    :class:`_Appender`; :func:`flush_appends` waits for it); from a plain thread it is
    one synchronous round trip.
    """
    if not settings.REDIS_AVAILABLE:
        _memory.append(run_id, event)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        _appender(loop).add(run_id, event)
        return
    try:
        keys, args = _script_arguments([(run_id, event)])
        _sync_script()(keys=keys, args=args)
    except RedisError:
        # As on a loop: the runner keeps every event in PostgreSQL, and readers fill the hole from
        # there. Raising here would lose the event (a run's ``end``) and leave the run running.
        logger.warning("live append of event %s of run %s failed", event["seq"], run_id, exc_info=True)


async def warm() -> None:
    """Open this loop's Redis connection now rather than on a run's first event."""
    if settings.REDIS_AVAILABLE:
        await _appender(asyncio.get_running_loop()).client.ping()


async def flush_appends() -> None:
    """Wait until every event appended on this loop so far has reached Redis."""
    appender = _appenders.get(asyncio.get_running_loop())
    if appender is not None:
        await appender.flush()


def finish_events(run_id: str) -> None:
    """The run has ended: keep its events for a while for cheap replays, then PostgreSQL serves them."""
    if not settings.REDIS_AVAILABLE:
        _memory.expire(run_id, FINISHED_TTL_SECONDS)
        return
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.expire(_prefixed(events_key(run_id)), FINISHED_TTL_SECONDS)
        pipe.expire(_prefixed(stop_key(run_id)), FINISHED_TTL_SECONDS)
        pipe.execute()
    except RedisError:
        logger.warning("could not set the finished TTL of run %s; LIVE_TTL_SECONDS applies", run_id, exc_info=True)


def publish(channel: str, message: dict[str, Any]) -> None:
    if not settings.REDIS_AVAILABLE:
        _memory.publish(channel, message)
        return
    _redis().publish(_prefixed(channel), json.dumps(message, separators=(",", ":")))


def live_count(run_id: str) -> int:
    """How many events the live log holds (0 once it has expired)."""
    if not settings.REDIS_AVAILABLE:
        with _memory.lock:
            return len(_memory.lists.get(run_id, ()))
    return int(_redis().llen(_prefixed(events_key(run_id))))


def kept_events(run_id: str) -> list[dict[str, Any]]:
    """Every event the live log holds for the run, from a plain thread (the reaper)."""
    if not settings.REDIS_AVAILABLE:
        with _memory.lock:
            return list(_memory.lists.get(run_id, ()))
    return [json.loads(item) for item in _redis().lrange(_prefixed(events_key(run_id)), 0, -1)]


def request_stop(run_id: str) -> None:
    if not settings.REDIS_AVAILABLE:
        with _memory.lock:
            _memory.stops.add(run_id)
        return
    _redis().set(_prefixed(stop_key(run_id)), "1", ex=LIVE_TTL_SECONDS)


def stop_requested(run_id: str) -> bool:
    if not settings.REDIS_AVAILABLE:
        with _memory.lock:
            return run_id in _memory.stops
    return bool(_redis().exists(_prefixed(stop_key(run_id))))


async def stops_requested(run_ids: list[str]) -> list[bool]:
    """Which of these runs were asked to stop, in one round trip (the runner's stop poller)."""
    if not settings.REDIS_AVAILABLE:
        with _memory.lock:
            return [run_id in _memory.stops for run_id in run_ids]
    client = _appender(asyncio.get_running_loop()).client
    values = await client.mget([_prefixed(stop_key(run_id)) for run_id in run_ids])
    return [value is not None for value in values]


async def read_events(run_id: str, after: int) -> list[dict[str, Any]]:
    """Kept events numbered above ``after`` (event n is list index n - 1)."""
    if not settings.REDIS_AVAILABLE:
        with _memory.lock:
            return list(_memory.lists.get(run_id, ())[after:])
    raw = await _hub().client.lrange(_prefixed(events_key(run_id)), after, -1)
    return [json.loads(item) for item in raw]


@asynccontextmanager
async def subscribed(channel: str) -> AsyncIterator[Subscription]:
    """Receive what is published on ``channel`` from now on, in this event loop."""
    if not settings.REDIS_AVAILABLE:
        subscription = Subscription(channel)
        with _memory.lock:
            _memory.subscribers[channel].add(subscription)
        try:
            yield subscription
        finally:
            with _memory.lock:
                _memory.subscribers[channel].discard(subscription)
        return
    hub = _hub()
    subscription = await hub.subscribe(channel)
    try:
        yield subscription
    finally:
        await hub.unsubscribe(subscription)
