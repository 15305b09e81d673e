"""Event log backends by URL: the one module that knows them, so ``event_log`` (the interface) stays
free of its implementations and the package graph has no cycle."""

from __future__ import annotations

from feedmix.events.event_log import DEFAULT_EVENT_LOG_URL, EventLog, R
from feedmix.events.event_stream import DEFAULT_GROUP, EventStream
from feedmix.events.schema import Event


def open_event_log(url: str = DEFAULT_EVENT_LOG_URL, record: type[R] = Event) -> EventLog[R]:  # type: ignore[assignment]
    """The event log for ``url``:

    * ``sqlite:///relative/events.db`` or ``sqlite:////absolute/events.db`` (SQLAlchemy's
      convention: what follows ``sqlite:///`` is the path) - the default, embedded and durable;
    * ``memory://`` - in-process, for tests;
    * ``redis://host:6379/0?stream=NAME[&dedup_ttl_s=604800][&maxlen=N][&timeout_ms=1000]``
      (``rediss://`` for TLS) - a Redis Stream, see ``RedisEventLog``.

    ``record`` is what the log holds: client events, or another kind of log record (exposures).
    """
    if url.startswith("sqlite:///"):
        from feedmix.events.sqlite_event_log import SqliteEventLog

        return SqliteEventLog.from_url(url, record)
    if url.startswith("memory://"):
        from feedmix.events.memory_event_log import MemoryEventLog

        return MemoryEventLog[R]()
    if url.startswith(("redis://", "rediss://")):
        from feedmix.events.redis_event_log import RedisEventLog

        return RedisEventLog.from_url(url, record)
    raise ValueError(f"unsupported event log URL {url!r} (use sqlite:///, memory:// or redis://)")


def open_event_stream(url: str, log: EventLog[R], group: str = DEFAULT_GROUP) -> EventStream[R]:
    """The consumer group ``group`` over the event log at ``url`` (``log`` is that log, opened):

    * ``redis://...?stream=NAME`` - a Redis consumer group on the log's stream (``RedisEventStream``):
      shared by every process, its position and pending entries kept by Redis;
    * any other log URL - ``MemoryEventStream`` over ``log``: consumers in this process only.
    """
    if url.startswith(("redis://", "rediss://")):
        from feedmix.events.redis_event_stream import RedisEventStream

        record = getattr(log, "record", Event)
        return RedisEventStream.from_url(url, group, record)
    from feedmix.events.memory_event_stream import MemoryEventStream

    return MemoryEventStream(log)
