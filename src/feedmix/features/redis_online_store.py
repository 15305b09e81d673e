"""OnlineStore on Redis: one packed binary record per entity row, a batch read is one MGET.

Layout (chosen for read speed):

* Key ``<prefix>:f:<entity>:{<key>}``, and ``<prefix>:f:user_community:{<user>}|<community>``.
  The braces are Redis Cluster hash tags: a post's or user's row has a stable slot, and all rows
  of one user×community pair set share the user's slot.
* Value: the record of :mod:`feedmix.features.entity_schema` (layout fingerprint, write time,
  written-features bitmask, all of the entity's values in registry order). A row is one string,
  so 1,000 candidates × 50 features is one MGET of 1,000 keys, and decoding the reply is one
  ``np.frombuffer`` with a structured dtype plus one copy per requested feature. A record written
  under another layout (fingerprint or size differs) reads as missing; after a layout change rows
  come back as the aggregator rewrites them, or expire.
* TTL: the record's, reset on every write, is the entity's ``ttl_s`` (the minimum over its
  features: see ``EntitySchema``).

Reads: on a single node the MGET command is packed here (vectorised) and sent on a pooled
connection: redis-py's per-argument packing would cost more than Redis takes to answer. It is
one network round trip (``round_trips`` counts them), also for ``read_many``, which reads the rows
of several entities (a candidate's post, community and user×community rows) in the same MGET.
A read may be given ``timeout_s``, a bound on the reply wait below the socket timeout (the
hydrator passes its own timeout, capped by the time left to the request); it applies to each
socket read of the reply, and a connection that timed out is closed, so a late reply is never
read by the next request. A ``redis.cluster.RedisCluster`` client is also
accepted: MGET across slots is not allowed there, so reads use ``mget_nonatomic`` (one pipelined
batch per node, bounded by the socket timeout only).

Timeouts: the client's (``timeout_ms``, ``connect_timeout_ms`` in the URL, 50 ms by default)
bound every wait; a dropped pooled connection or a failed connect is retried once at once (a
restarted Redis), a timeout never. So a refused connection costs next to nothing, and a host that
drops packets at most two connect timeouts.

Writes: a Lua script writes all rows of the call atomically. When the call carries every
feature of the entity it is a plain ``SET ... PX ttl`` per row; otherwise it is a
read-modify-write inside the script: the given features' byte ranges replace the old record's,
the bitmask is OR-ed, the rest is kept (if the old record is absent or of another layout, the
new one starts from defaults). So a writer that owns only some features never clobbers another
writer's.

On a cluster, whole-row writes are pipelined ``SET``s (split per node) and partial writes one
script call per slot (redis-py refuses scripts in cluster pipelines). ``round_trips`` counts
requests as issued here; a cluster pipeline or ``mget_nonatomic`` counts once though it fans
out to every node involved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import hiredis  # redis-py's C reply parser (pinned in pyproject): cluster replies are parsed with it
import numpy as np
import numpy.typing as npt
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from feedmix.features.entity_keys import COMPOSITE_SEPARATOR, KeyArray, as_key_array
from feedmix.features.entity_schema import HEADER_SIZE, EntitySchema, FeatureRead
from feedmix.features.online_store import Keys, ReadRequest, checked_write_keys
from feedmix.features.registry import FeatureRegistry
from feedmix.stores.redis_conn import TIMEOUT_OPTIONS, make_any_client, store_errors
from feedmix.stores.url_options import url_options

DEFAULT_TIMEOUT_MS = 50.0

# KEYS: rows. ARGV: record size, header size, mask bytes, ttl ms, "1" if every feature is written,
# the written value ranges ("start stop ..." 1-based, inclusive), then one new record per key.
_WRITE_LUA = """
local size = tonumber(ARGV[1])
local header = tonumber(ARGV[2])
local mask_bytes = tonumber(ARGV[3])
local ttl = ARGV[4]
local full = ARGV[5] == '1'
local ranges = {}
for n in string.gmatch(ARGV[6], '%d+') do ranges[#ranges + 1] = tonumber(n) end
for i, key in ipairs(KEYS) do
  local rec = ARGV[6 + i]
  if not full then
    local old = redis.call('GET', key)
    if old and #old == size and string.sub(old, 1, 8) == string.sub(rec, 1, 8) then
      local parts = {string.sub(rec, 1, header)}
      for j = header + 1, header + mask_bytes do
        parts[#parts + 1] = string.char(bit.bor(string.byte(old, j), string.byte(rec, j)))
      end
      local pos = header + mask_bytes + 1
      for r = 1, #ranges, 2 do
        local first, last = ranges[r], ranges[r + 1]
        if first > pos then parts[#parts + 1] = string.sub(old, pos, first - 1) end
        parts[#parts + 1] = string.sub(rec, first, last)
        pos = last + 1
      end
      if pos <= size then parts[#parts + 1] = string.sub(old, pos, size) end
      rec = table.concat(parts)
    end
  end
  redis.call('SET', key, rec, 'PX', ttl)
end
return #KEYS
"""

# "$<len>\r\n" for every key length a request may use
_BULK_HEADERS = [b"$%d\r\n" % n for n in range(1024)]


def pack_mget(keys: Sequence[bytes]) -> bytes:
    """The RESP encoding of ``MGET keys...`` (what redis-py would send, at a fraction of the cost)."""
    parts = [b"*%d\r\n$4\r\nMGET\r\n" % (len(keys) + 1)]
    headers, known = _BULK_HEADERS, len(_BULK_HEADERS)
    for key in keys:
        n = len(key)
        parts += (headers[n] if n < known else b"$%d\r\n" % n, key, b"\r\n")
    return b"".join(parts)


def pack_gets(keys: Sequence[bytes]) -> bytes:
    """The RESP encoding of one ``GET`` per key, sent as one pipeline (a cluster refuses an MGET whose
    keys span hash slots, and 1,000 candidates' keys span about 1,000)."""
    headers, known = _BULK_HEADERS, len(_BULK_HEADERS)
    parts: list[bytes] = []
    for key in keys:
        n = len(key)
        parts += (b"*2\r\n$3\r\nGET\r\n", headers[n] if n < known else b"$%d\r\n" % n, key, b"\r\n")
    return b"".join(parts)


class RedisOnlineStore:
    # a network round trip: hydrators run it on the pool so its wait overlaps other work
    remote: ClassVar[bool] = True

    def __init__(
        self, client: redis.Redis | RedisCluster, registry: FeatureRegistry, prefix: str = "feedmix"
    ) -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("prefix must not contain { or } (they would take over the hash tag)")
        self._client = client
        self.registry = registry
        self.prefix = prefix
        self._schemas = {e: EntitySchema(registry, e) for e in registry.entities()}
        self._heads = {e: f"{prefix}:f:{e}:{{".encode() for e in self._schemas}
        self._write_script = client.register_script(_WRITE_LUA)
        #: network round trips made (reads and writes), for the benchmark and tests (unlocked: a
        #: diagnostic, not a metric)
        self.round_trips = 0
        #: on a cluster: each slot's master (None: to be read from the client) and each key's slot
        self._owners: list[str] | None = None
        self._slots: dict[bytes, int] = {}

    @classmethod
    def from_url(cls, url: str, registry: FeatureRegistry) -> RedisOnlineStore:
        opts = url_options(url, ("prefix", *TIMEOUT_OPTIONS))
        client = make_any_client(url, opts, default_timeout_ms=DEFAULT_TIMEOUT_MS)
        return cls(client, registry, prefix=opts.get("prefix", "feedmix"))

    def schema(self, entity: str) -> EntitySchema:
        try:
            return self._schemas[entity]
        except KeyError:
            raise ValueError(f"entity {entity!r} has no features in the registry") from None

    def redis_keys(self, entity: str, keys: KeyArray) -> list[bytes]:
        """The Redis key of each entity key (see the module docstring for the layout)."""
        head = self._heads[entity]
        if entity == "user_community":
            user, _, community = np.strings.partition(keys, COMPOSITE_SEPARATOR)
            tagged = np.strings.add(np.strings.add(head, user), b"}|")
            return list(np.strings.add(tagged, community).tolist())
        return list(np.strings.add(np.strings.add(head, keys), b"}").tolist())

    # -- writes --------------------------------------------------------------------------------

    def write(self, entity: str, keys: Keys, columns: Mapping[str, npt.ArrayLike], ts: float) -> None:
        schema = self.schema(entity)
        arr = checked_write_keys(entity, keys)
        cols = schema.cast_columns(columns, len(arr))
        if len(arr) == 0 or not cols:
            return
        size = schema.record_size
        buf = schema.pack(cols, len(arr), ts)
        records = [buf[i : i + size] for i in range(0, len(buf), size)]
        ranges = " ".join(f"{a} {b}" for a, b in schema.written_ranges(list(cols)))
        common: list[Any] = [
            size,
            HEADER_SIZE,
            schema.mask_bytes,
            max(1, round(schema.ttl_s * 1000)),
            "1" if len(cols) == len(schema.names) else "0",
            ranges,
        ]
        rkeys = self.redis_keys(entity, arr)
        with store_errors("feature store write"):
            if isinstance(self._client, RedisCluster):
                self._write_cluster(rkeys, records, common)
            else:
                self._write_script(keys=rkeys, args=[*common, *records])
                self.round_trips += 1

    def _write_cluster(self, rkeys: list[bytes], records: list[bytes], common: list[Any]) -> None:
        """Cluster writes: whole rows as pipelined SETs (split per node), merges one script per slot.

        redis-py refuses scripts in cluster pipelines, and a script's keys must share a slot.
        """
        assert isinstance(self._client, RedisCluster)
        ttl_ms, full = int(common[3]), common[4] == "1"
        if full:
            cluster: Any = self._client  # redis-py's cluster pipeline is untyped
            pipe = cluster.pipeline()
            for key, rec in zip(rkeys, records, strict=True):
                pipe.set(key, rec, px=ttl_ms)
            pipe.execute()
            self.round_trips += 1
            return
        by_slot: dict[int, list[int]] = {}
        for i, key in enumerate(rkeys):
            by_slot.setdefault(key_slot(key), []).append(i)
        for rows in by_slot.values():
            self._write_script(
                keys=[rkeys[i] for i in rows],
                args=[*common, *(records[i] for i in rows)],
                client=self._client,
            )
            self.round_trips += 1

    # -- reads ---------------------------------------------------------------------------------

    def read(
        self, entity: str, keys: Keys, names: Sequence[str], *, timeout_s: float | None = None
    ) -> FeatureRead:
        """One entity's rows in one MGET; ``timeout_s`` as in ``read_many``."""
        return self.read_many([(entity, keys, names)], timeout_s=timeout_s)[0]

    def read_many(
        self, requests: Sequence[ReadRequest], *, timeout_s: float | None = None
    ) -> list[FeatureRead]:
        """Several ``(entity, keys, names)`` reads in one MGET: one round trip for all of them.

        ``timeout_s`` bounds the wait for the reply (each part of it) below the client's socket
        timeout, so a caller with less time left than that (a request near its deadline) gets
        ``StoreUnavailable`` in time instead of waiting the full socket timeout.
        """
        plans: list[tuple[EntitySchema, Sequence[str], int]] = []
        rkeys: list[bytes] = []
        for entity, keys, names in requests:
            schema = self.schema(entity)
            schema.check_names(names)
            arr = as_key_array(keys)
            if len(arr):
                rkeys += self.redis_keys(entity, arr)
            plans.append((schema, names, len(arr)))
        values: list[bytes | None] = []
        if rkeys:
            with store_errors("feature store read"):
                values = self._mget(rkeys, timeout_s)
        out: list[FeatureRead] = []
        start = 0
        for schema, names, n in plans:
            size, blank = schema.record_size, schema.blank_record()
            part = values[start : start + n]
            start += n
            buf = b"".join([v if v is not None and len(v) == size else blank for v in part])
            out.append(schema.unpack(buf, names) if n else schema.default_read(names, 0))
        return out

    def _mget(self, rkeys: list[bytes], timeout_s: float | None = None) -> list[bytes | None]:
        self.round_trips += 1
        if isinstance(self._client, RedisCluster):
            return self._mget_cluster(self._client, rkeys)
        command = pack_mget(rkeys)
        pool = self._client.connection_pool
        conn = pool.get_connection()
        wait = _reply_wait(conn, timeout_s)
        try:
            # the client's retry policy (one retry on a dropped pooled connection, none on timeouts)
            reply = conn.retry.call_with_retry(
                lambda: _send_and_read(conn, command, wait), lambda _error: _disconnect(conn)
            )
        except BaseException:
            _disconnect(conn)  # a half-read reply must not reach the next user of this connection
            raise
        finally:
            pool.release(conn)
        return list(reply)

    def _mget_cluster(self, cluster: RedisCluster, rkeys: list[bytes]) -> list[bytes | None]:
        """One pipeline of packed GETs per master, written to every master before any reply is read, so
        the masters answer in parallel: one round trip per node. redis-py's ``mget_nonatomic`` builds
        one MGET per slot in Python, about three times slower for 1,000 keys than this. The replies are
        parsed by hiredis straight from the sockets. A redirection (a slot moved by a failover or a
        reshard) or any error falls back to ``mget_nonatomic``, which follows the redirection and
        refreshes the client's slot map (and this store forgets its own)."""
        try:
            owner = self._slot_owners(cluster)
            by_node: dict[str, list[int]] = {}
            for i, key in enumerate(rkeys):
                by_node.setdefault(owner[self._slot(key)], []).append(i)
        except Exception:
            self._owners = None
            return list(cluster.mget_nonatomic(rkeys))
        sent: list[tuple[Any, Any, list[int]]] = []
        out: list[bytes | None] = [None] * len(rkeys)
        try:
            for name, rows in by_node.items():
                node = cluster.get_node(node_name=name)  # type: ignore[no-untyped-call]
                pool = node.redis_connection.connection_pool
                conn = pool.get_connection()
                sent.append((pool, conn, rows))
                conn.send_packed_command([pack_gets([rkeys[i] for i in rows])])
            for _pool, conn, rows in sent:
                for i, reply in zip(rows, _read_replies(conn, len(rows)), strict=True):
                    out[i] = reply
        except Exception:
            for _pool, conn, _rows in sent:
                _disconnect(conn)  # unread replies must not reach the next user of the connection
            self._owners = None
            return list(cluster.mget_nonatomic(rkeys))
        finally:
            for pool, conn, _rows in sent:
                pool.release(conn)
        return out

    def _slot_owners(self, cluster: RedisCluster) -> list[str]:
        """The master serving each of the 16,384 slots, read once from the client's slot map."""
        if self._owners is None:
            cache = cluster.nodes_manager.slots_cache
            self._owners = [cache[slot][0].name if cache.get(slot) else "" for slot in range(16384)]
        return self._owners

    def _slot(self, key: bytes) -> int:
        slot = self._slots.get(key)
        if slot is None:
            if len(self._slots) > 1_000_000:
                self._slots.clear()
            slot = self._slots[key] = key_slot(key)
        return slot

    def close(self) -> None:
        self._client.close()


def _read_replies(conn: Any, n: int) -> list[bytes | None]:
    """``n`` replies from a connection, parsed by hiredis straight from its socket (redis-py's reader
    costs several microseconds a reply). An error reply raises."""
    reader = hiredis.Reader()
    sock = conn._sock  # redis-py's connected socket, with the client's timeout
    out: list[bytes | None] = []
    while len(out) < n:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise redis.ConnectionError("the connection closed while replies were due")
        reader.feed(chunk)
        reply = reader.gets()
        while reply is not False:
            if isinstance(reply, hiredis.ReplyError):
                raise redis.ResponseError(str(reply))
            out.append(reply)
            reply = reader.gets()
    return out


def _disconnect(conn: Any) -> None:
    conn.disconnect()


def _reply_wait(conn: Any, timeout_s: float | None) -> float | None:
    """How long to wait for a reply: ``timeout_s`` capped by the socket timeout, at least 1 ms
    (0 would make the socket non-blocking); None for the socket timeout itself."""
    if timeout_s is None:
        return None
    socket_timeout = conn.socket_timeout
    cap = float(socket_timeout) if socket_timeout else float("inf")
    return max(0.001, min(float(timeout_s), cap))


def _send_and_read(conn: Any, command: bytes, wait: float | None = None) -> Any:
    conn.send_packed_command([command])
    if wait is None:
        return conn.read_response()
    return conn.read_response(timeout=wait)
