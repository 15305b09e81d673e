"""EventStream on the Redis Stream a ``RedisEventLog`` appends to: a Redis consumer group.

``XREADGROUP ... >`` hands each new entry to one consumer and records it in the group's pending
entries list; ``XACK`` removes it; ``XAUTOCLAIM`` moves entries idle longer than ``min_idle_ms`` to
a live consumer (a worker that died keeps nothing). The group is created on first use at the start
of the stream (``XGROUP CREATE ... 0 MKSTREAM``), so a group added to a running deployment reads the
history first: nothing logged before it existed is skipped. Entry ids are the log's offsets
(``<offset>-0``, see ``RedisEventLog``), which is what consumers key idempotency on.

Every command touches only the stream's key, so this runs unchanged on a Redis Cluster. Blocking
reads hold a connection for up to ``block_ms``: the client's socket timeout must be longer (the
URL's ``timeout_ms``, checked here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Generic, cast

import redis

from feedmix.events.event_log import EventLogUnavailable, R
from feedmix.events.event_stream import DEFAULT_GROUP, check_read_args
from feedmix.events.redis_event_log import LOG_OPTIONS
from feedmix.events.schema import Event
from feedmix.stores.redis_conn import RedisClient, make_any_client, store_errors
from feedmix.stores.url_options import float_option, url_options

DEFAULT_TIMEOUT_MS = 5000.0
_GROUP_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Entries = list[tuple[bytes, dict[bytes, bytes]]]


class RedisEventStream(Generic[R]):
    def __init__(
        self,
        client: RedisClient,
        stream: str,
        group: str = DEFAULT_GROUP,
        record: type[R] = Event,  # type: ignore[assignment]
        timeout_ms: float = DEFAULT_TIMEOUT_MS,
    ) -> None:
        if not _GROUP_NAME.fullmatch(group):
            raise ValueError(f"group name {group!r} must match {_GROUP_NAME.pattern}")
        self._client = client
        self.record = record
        self.group = group
        self.stream_key = f"feedmix:events:{{{stream}}}"  # the key RedisEventLog appends to
        self._timeout_ms = timeout_ms
        self._claim_cursor = "0-0"
        with store_errors("redis event stream: create group", EventLogUnavailable):
            try:
                client.xgroup_create(self.stream_key, group, id="0", mkstream=True)
            except redis.ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise

    @classmethod
    def from_url(cls, url: str, group: str = DEFAULT_GROUP, record: type[R] = Event) -> RedisEventStream[R]:  # type: ignore[assignment]
        """The event log's URL (``redis://host:6379/0?stream=NAME[&cluster=true]``); ``timeout_ms``
        defaults to 5 s here, above the workers' blocking reads."""
        opts = url_options(url, LOG_OPTIONS)
        if not opts.get("stream"):
            raise ValueError(f"redis event stream URL needs ?stream=NAME: {url!r}")
        timeout_ms = float_option(opts, "timeout_ms", DEFAULT_TIMEOUT_MS)
        client = make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS)
        return cls(client, opts["stream"], group, record, timeout_ms)

    def read(self, consumer: str, count: int, block_ms: int = 0) -> list[tuple[int, R]]:
        check_read_args(consumer, count)
        if block_ms >= self._timeout_ms:
            raise ValueError(
                f"block_ms ({block_ms}) must be below the client's timeout ({self._timeout_ms} ms)"
            )
        with store_errors("redis event stream read", EventLogUnavailable):
            reply = self._client.xreadgroup(
                self.group, consumer, {self.stream_key: ">"}, count=count, block=block_ms or None
            )
        if not reply:
            return []
        # one stream asked for: [[key, entries]] (RESP2) or {key: [entries]} (RESP3)
        entries = cast("Entries", reply[0][1] if isinstance(reply, list) else next(iter(reply.values()))[0])
        return self._decode(entries)

    def claim(self, consumer: str, min_idle_ms: int, count: int) -> list[tuple[int, R]]:
        check_read_args(consumer, count)
        with store_errors("redis event stream claim", EventLogUnavailable):
            reply: list[Any] = self._client.xautoclaim(
                self.stream_key, self.group, consumer, min_idle_ms, self._claim_cursor, count=count
            )
        cursor, entries = reply[0], reply[1]
        # the scan resumes after the last entry looked at; "0-0" means it went round the whole list
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        return self._decode(cast("Entries", [e for e in entries if e and e[1]]))

    def ack(self, offsets: Sequence[int]) -> int:
        if not offsets:
            return 0
        with store_errors("redis event stream ack", EventLogUnavailable):
            return int(self._client.xack(self.stream_key, self.group, *(f"{o}-0" for o in offsets)))

    def pending(self) -> int:
        with store_errors("redis event stream pending", EventLogUnavailable):
            info: dict[str, Any] = self._client.xpending(self.stream_key, self.group)
        return int(info["pending"])

    def lag(self) -> int:
        with store_errors("redis event stream lag", EventLogUnavailable):
            groups: list[dict[str, Any]] = self._client.xinfo_groups(self.stream_key)
        for g in groups:
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == self.group:
                return int(g.get("lag") or 0)
        return 0

    def close(self) -> None:
        self._client.close()

    def _decode(self, entries: Entries) -> list[tuple[int, R]]:
        return [
            (int(eid.split(b"-", 1)[0]), self.record.model_validate_json(fields[b"e"]))
            for eid, fields in entries
        ]
