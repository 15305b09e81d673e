"""EventLog on a Redis Stream, for deployments that already run Redis and want several writers.

One Lua script per batch makes ``append`` atomic and idempotent: it first decides, reading only,
which events are new (no dedup key yet, not earlier in the batch), then writes them all. Nothing is
written unless every write is certain to succeed, and Redis runs the script without interleaving
other commands, so a batch is never half stored and concurrent appenders never share an offset.

Keys (``NAME`` from the URL's ``stream=``; the ``{NAME}`` hash tag puts all of them in one Redis
Cluster slot, which a multi-key script requires):

* ``feedmix:events:{NAME}`` - the stream; one entry per event, field ``e`` = the event's JSON;
* ``feedmix:events:{NAME}:offset`` - the last offset handed out;
* ``feedmix:events:{NAME}:eid:<event_id>`` - dedup marker, expiring after ``dedup_ttl_s``
  (7 days by default): a retry older than that is stored again.

Offsets: entries are added with explicit stream ids ``<offset>-0``, so the id *is* the offset
(1, 2, 3...) and ``read(after)`` is ``XRANGE (after+1)-0 +``. The next offset is one past the larger
of the counter key and the stream's last-generated id, so it stays monotonic even if either key is
lost. The price: entry ids are not timestamps (tools showing them as dates show 1970), and
retention is by length (``maxlen``), not ``XTRIM MINID``; ``count`` is the stream's length and
drops once trimming starts.

Durability is Redis's: ``append`` returns once the primary has applied the script, which survives
a crash only with AOF enabled (``appendonly yes``; ``appendfsync always`` to lose nothing,
``everysec`` to lose up to a second) and, with replicas, only if the primary's writes reached them
before failover. ``wait_replicas=N`` in the URL closes that gap: the append then also waits (``WAIT``,
on the connection that wrote) until N replicas hold the batch, and fails (the client retries; the
log is idempotent) when they do not within ``wait_timeout_ms``, so an acknowledged event survives
the loss of its master (measured: ``feedmix bench failover``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Generic, cast

from feedmix.events.event_log import AppendResult, EventLogUnavailable, R, check_read_args
from feedmix.events.schema import Event
from feedmix.stores.errors import StoreUnavailable
from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, RedisClient, make_any_client, store_errors
from feedmix.stores.redis_scripts import run_scripts
from feedmix.stores.url_options import int_option, url_options

DEFAULT_DEDUP_TTL_S = 7 * 24 * 3600
#: what a Redis event-log URL may say (the consumer-group stream reads the same URL)
LOG_OPTIONS = ("stream", "dedup_ttl_s", "maxlen", "wait_replicas", "wait_timeout_ms", *TIMEOUT_OPTIONS)
DEFAULT_TIMEOUT_MS = 1000.0
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

# KEYS: stream, offset counter, one dedup key per event (batch order)
# ARGV: dedup ttl (s), maxlen (0 = unbounded), one JSON payload per event
# The shebang (Redis >= 7) makes Redis refuse the whole script up front when over maxmemory,
# rather than failing a write half-way.
_APPEND = """#!lua
local n = #KEYS - 2
local fresh, in_batch = {}, {}
for i = 1, n do
  local k = KEYS[i + 2]
  if not in_batch[k] and redis.call('EXISTS', k) == 0 then
    fresh[#fresh + 1] = i
  end
  in_batch[k] = true
end
if #fresh == 0 then
  return {0, n}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for j = 1, #info, 2 do
    if info[j] == 'last-generated-id' then
      local ms = tonumber(string.match(info[j + 1], '^(%d+)-'))
      if ms > last then last = ms end
    end
  end
end
local ttl, maxlen = ARGV[1], tonumber(ARGV[2])
for j, i in ipairs(fresh) do
  local id = string.format('%d-0', last + j)
  if maxlen > 0 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, id, 'e', ARGV[i + 2])
  else
    redis.call('XADD', KEYS[1], id, 'e', ARGV[i + 2])
  end
  redis.call('SET', KEYS[i + 2], '1', 'EX', ttl)
end
redis.call('SET', KEYS[2], string.format('%d', last + #fresh))
local out = {#fresh, n - #fresh}
for _, i in ipairs(fresh) do out[#out + 1] = i end
return out
"""


class RedisEventLog(Generic[R]):
    """Holds ``record`` objects (client events by default)."""

    def __init__(
        self,
        client: RedisClient,
        stream: str,
        dedup_ttl_s: int = DEFAULT_DEDUP_TTL_S,
        maxlen: int = 0,
        record: type[R] = Event,  # type: ignore[assignment]
        wait_replicas: int = 0,
        wait_timeout_ms: int = 200,
    ) -> None:
        self.record = record
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        if not _STREAM_NAME.fullmatch(stream):
            raise ValueError(f"stream name {stream!r} must match {_STREAM_NAME.pattern}")
        if dedup_ttl_s < 1:
            raise ValueError("dedup_ttl_s must be >= 1")
        self._client = client
        self.stream = stream
        self.dedup_ttl_s = dedup_ttl_s
        self.maxlen = maxlen
        self.stream_key = f"feedmix:events:{{{stream}}}"
        self._offset_key = f"{self.stream_key}:offset"
        self._append = client.register_script(_APPEND)

    @classmethod
    def from_url(cls, url: str, record: type[R] = Event) -> RedisEventLog[R]:  # type: ignore[assignment]
        """``redis://host:6379/0?stream=NAME[&dedup_ttl_s=604800][&maxlen=0][&timeout_ms=1000]
        [&wait_replicas=0][&wait_timeout_ms=200][&cluster=true]``."""
        opts = url_options(url, LOG_OPTIONS)
        if not opts.get("stream"):
            raise ValueError(f"redis event log URL needs ?stream=NAME: {url!r}")
        return cls(
            make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS),
            stream=opts["stream"],
            dedup_ttl_s=int_option(opts, "dedup_ttl_s", DEFAULT_DEDUP_TTL_S, minimum=1),
            maxlen=int_option(opts, "maxlen", 0),
            record=record,
            wait_replicas=int_option(opts, "wait_replicas", 0),
            wait_timeout_ms=int_option(opts, "wait_timeout_ms", 200, minimum=1),
        )

    def append(self, events: Sequence[R]) -> AppendResult:
        if not events:
            return AppendResult(accepted=0, duplicates=0)
        keys = [self.stream_key, self._offset_key, *(f"{self.stream_key}:eid:{e.event_id}" for e in events)]
        args: list[Any] = [
            self.dedup_ttl_s,
            self.maxlen,
            *(e.model_dump_json(exclude_none=True) for e in events),
        ]
        with store_errors("redis event log append", EventLogUnavailable):
            try:
                (reply,) = run_scripts(
                    self._client,
                    self._append,
                    [(keys, args)],
                    wait_replicas=self.wait_replicas,
                    wait_timeout_ms=self.wait_timeout_ms,
                )
            except StoreUnavailable as exc:
                raise EventLogUnavailable(f"redis event log append: {exc}") from exc
            accepted, duplicates, *fresh = cast("list[int]", reply)
        # the script returns the 1-based batch positions of the stored events after the counts
        return AppendResult(
            accepted=int(accepted), duplicates=int(duplicates), fresh=tuple(int(i) - 1 for i in fresh)
        )

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, R]]:
        check_read_args(after, limit)
        with store_errors("redis event log read", EventLogUnavailable):
            entries = cast(
                "list[tuple[bytes, dict[bytes, bytes]]]",
                self._client.xrange(self.stream_key, min=f"{after + 1}-0", max="+", count=limit),
            )
        return [
            (int(eid.split(b"-", 1)[0]), self.record.model_validate_json(fields[b"e"]))
            for eid, fields in entries
        ]

    def count(self) -> int:
        with store_errors("redis event log count", EventLogUnavailable):
            return int(self._client.xlen(self.stream_key))

    def close(self) -> None:
        self._client.close()
