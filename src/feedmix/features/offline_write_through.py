"""An online store that also records every write it accepts in the offline feature history.

Training rows need the value each feature had when each impression was served, and the only
place that knows when a value reached serving is the write path itself. Wrap the online store the
streaming aggregator (or any producer) writes to::

    store = OfflineWriteThroughStore(open_online_store(url), OfflineFeatureStore("features/"))

and every successful ``write`` is also appended to the ``OfflineFeatureStore``, which
``pit_join.build_training_rows`` reads. Reads, ``registry`` and ``remote`` are the wrapped store's
(``read_many`` too, so a multi-entity read stays one round trip).

What is recorded:

* ``event_ts`` is the *write time*: the store's ``clock`` (wall-clock Unix seconds) read right
  after the online write returned, i.e. once the value was available to serving, as
  ``feature_log`` requires; not the ``ts`` the caller passed (the time the values describe), which
  may be older. Stamps never go backwards, so a later write of a key always wins in the join.
* keys as events spell them: the online store's byte keys decoded to text (base36 post ids,
  user ids, community names, ``"<user>|<community>"``);
* values in the registry's dtypes, exactly as the online store holds them (float32 rounding
  included). One exception: a float NaN written online is recorded as "not carried" (NULL), the
  feature log's convention, so the join keeps the previous value there.

Nothing offline may slow or fail the online path. ``write`` only copies the batch into a buffer;
a background thread appends buffered rows to Parquet (one file per entity, column set and UTC
date) once ``flush_rows`` rows are waiting, every ``flush_interval_s`` seconds, on ``flush()``
and on ``close()``. A failed append is logged and counted (``offline_failures``, Prometheus
``feedmix_offline_write_through_failures_total``), never raised; its rows are retried after a
back-off while the buffer stays under ``max_buffer_rows``, and beyond that new rows are dropped
and counted (``rows_dropped``): a long disk outage must not exhaust memory. Dropped rows leave the
history staler than serving was, never ahead of it. A retried append that had written part of its
files may write those rows twice, which the join does not notice (same key, time and values).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter

from feedmix.features.entity_keys import KeyArray, as_key_array
from feedmix.features.entity_schema import EntitySchema, FeatureRead
from feedmix.features.offline.feature_log import OfflineFeatureStore
from feedmix.features.online_store import Keys, OnlineStore, ReadRequest, read_entities
from feedmix.features.registry import FeatureRegistry

log = logging.getLogger(__name__)

OFFLINE_FAILURES = Counter(
    "feedmix_offline_write_through_failures_total",
    "Appends of online feature writes to the offline feature history that failed",
)
OFFLINE_ROWS = Counter(
    "feedmix_offline_write_through_rows_total",
    "Rows of online feature writes mirrored to the offline feature history, by outcome",
    ["result"],
)

_MAX_BACKOFF_S = 60.0


@dataclass
class _Write:
    """One accepted online write, ready for the offline store."""

    entity: str
    keys: KeyArray  # as the online store got them (UTF-8 bytes); decoded off the write path
    columns: dict[str, npt.NDArray[Any]]
    stamp: float

    @property
    def rows(self) -> int:
        return len(self.keys)


class OfflineWriteThroughStore:
    """An ``OnlineStore`` that appends every successful write to an ``OfflineFeatureStore``."""

    def __init__(
        self,
        online: OnlineStore,
        offline: OfflineFeatureStore | str | Path,
        *,
        flush_rows: int = 50_000,
        flush_interval_s: float | None = 30.0,
        max_buffer_rows: int = 1_000_000,
        clock: Callable[[], float] = time.time,
        owns_online: bool = True,
    ) -> None:
        """``clock`` gives the write stamps: wall-clock Unix seconds, the events' time base
        (inject a simulated clock in tests and replays). ``flush_interval_s=None``: no timed
        flushes, only by size, ``flush()`` and ``close()``. ``owns_online=False`` leaves the online
        store open at ``close()``, for a caller that shares it with readers and closes it itself."""
        if flush_rows < 1 or max_buffer_rows < flush_rows:
            raise ValueError("need 1 <= flush_rows <= max_buffer_rows")
        if flush_interval_s is not None and not flush_interval_s > 0:
            raise ValueError("flush_interval_s must be positive (or None for no timed flushes)")
        self._online = online
        self._owns_online = owns_online
        self.offline = offline if isinstance(offline, OfflineFeatureStore) else OfflineFeatureStore(offline)
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        self._clock = clock
        self._schemas: dict[str, EntitySchema] = {}
        self._lock = threading.Lock()  # the buffer, the stamps and the counters
        self._flush_lock = threading.Lock()  # one append at a time, so files keep write order
        self._pending: list[_Write] = []
        self._rows = 0
        self._last_stamp = -np.inf
        self._dropping = False
        self._closed = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_flush = time.monotonic()
        self._retry_at = 0.0  # monotonic; after a failure, timed and size flushes wait until then
        self._backoff_s = 0.0
        #: appends that failed, rows appended, rows given up on
        self.offline_failures = 0
        self.rows_written = 0
        self.rows_dropped = 0
        self._thread = threading.Thread(target=self._run, name="offline-write-through", daemon=True)
        self._thread.start()

    # -- the OnlineStore protocol ----------------------------------------------------------------

    @property
    def remote(self) -> bool:
        return self._online.remote

    @property
    def registry(self) -> FeatureRegistry:
        return self._online.registry

    @property
    def online(self) -> OnlineStore:
        """The wrapped store."""
        return self._online

    def write(self, entity: str, keys: Keys, columns: Mapping[str, npt.ArrayLike], ts: float) -> None:
        """The online write (its errors propagate), then, if it succeeded, a buffered offline copy."""
        self._online.write(entity, keys, columns, ts)
        try:
            self._record(entity, keys, columns)
        except Exception:  # a bug here must not fail a write the online store has accepted
            n = len(keys)
            with self._lock:
                self.rows_dropped += n
            OFFLINE_ROWS.labels("dropped").inc(n)
            log.exception("could not buffer %d %s rows for the offline feature history", n, entity)

    def read(self, entity: str, keys: Keys, names: Sequence[str]) -> FeatureRead:
        return self._online.read(entity, keys, names)

    def read_many(
        self, requests: Sequence[ReadRequest], *, timeout_s: float | None = None
    ) -> list[FeatureRead]:
        """The wrapped store's multi-entity read (one round trip where it has one)."""
        return read_entities(self._online, requests, timeout_s=timeout_s)

    def close(self) -> None:
        """Append what is buffered, stop the background thread, then close the online store."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join()
        try:
            self.flush()
        finally:
            if self._owns_online:
                self._online.close()

    def __enter__(self) -> OfflineWriteThroughStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the offline side ------------------------------------------------------------------------

    @property
    def buffered_rows(self) -> int:
        with self._lock:
            return self._rows

    def flush(self) -> bool:
        """Append everything buffered now; False (never an exception) if some of it failed."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                self._rows = 0
                self._last_flush = time.monotonic()
            groups = _groups(batch)
            while groups:
                group = groups[0]
                try:
                    self._append(group)
                except Exception as exc:
                    self._failed(exc, [w for g in groups for w in g])
                    return False
                groups.pop(0)
                rows = sum(w.rows for w in group)
                with self._lock:
                    self.rows_written += rows
                    self._backoff_s = 0.0
                    self._retry_at = 0.0
                OFFLINE_ROWS.labels("written").inc(rows)
            return True

    def _record(self, entity: str, keys: Keys, columns: Mapping[str, npt.ArrayLike]) -> None:
        key_bytes = as_key_array(keys)
        n = len(key_bytes)
        if n == 0 or not columns:
            return  # the online store wrote nothing either
        schema = self._schemas.get(entity)
        if schema is None:
            schema = self._schemas[entity] = EntitySchema(self.registry, entity)
        # copies in the stored dtypes (the caller may reuse its arrays), before the lock
        cols = {name: np.array(values, copy=True) for name, values in schema.cast_columns(columns, n).items()}
        key_copy = np.array(key_bytes, copy=True)
        with self._lock:
            # the value is available to serving from now on; never stamp before an earlier write
            stamp = self._last_stamp = max(float(self._clock()), self._last_stamp)
            dropped = self._closed or self._rows + n > self.max_buffer_rows
            if dropped:
                self.rows_dropped += n
            else:
                self._pending.append(_Write(entity, key_copy, cols, stamp))
                self._rows += n
            started_dropping = dropped and not self._dropping
            self._dropping = dropped
            due = self._rows >= self.flush_rows
        if dropped:
            OFFLINE_ROWS.labels("dropped").inc(n)
        if started_dropping:  # once per episode, not once per write
            log.warning(
                "offline feature history %s: buffer full (%d rows) or store closed; dropping new rows"
                " until appends catch up",
                self.offline.root,
                self.max_buffer_rows,
            )
        if due:
            self._wake.set()

    def _append(self, group: list[_Write]) -> None:
        first = group[0]
        if len(group) == 1:
            keys, columns, stamps = first.keys, first.columns, np.full(first.rows, first.stamp)
        else:
            keys = np.concatenate([w.keys for w in group])
            columns = {name: np.concatenate([w.columns[name] for w in group]) for name in first.columns}
            stamps = np.concatenate([np.full(w.rows, w.stamp) for w in group])
        self.offline.write(first.entity, _text(keys), columns, stamps)

    def _failed(self, exc: Exception, unwritten: list[_Write]) -> None:
        rows = sum(w.rows for w in unwritten)
        with self._lock:
            self.offline_failures += 1
            self._backoff_s = min(_MAX_BACKOFF_S, max(1.0, 2 * self._backoff_s))
            self._retry_at = time.monotonic() + self._backoff_s
            kept = rows if self._rows + rows <= self.max_buffer_rows else 0
            if kept:
                self._pending = unwritten + self._pending  # oldest first: write order is kept
                self._rows += kept
            self.rows_dropped += rows - kept
            backoff = self._backoff_s
        OFFLINE_FAILURES.inc()
        if rows - kept:
            OFFLINE_ROWS.labels("dropped").inc(rows - kept)
        log.warning(
            "offline feature history append to %s failed (%d rows kept for retry in %.0f s, %d dropped): %s",
            self.offline.root,
            kept,
            backoff,
            rows - kept,
            exc,
        )

    def _run(self) -> None:
        """The background appender: waits for enough rows, the interval, or close."""
        tick = None if self.flush_interval_s is None else min(1.0, self.flush_interval_s / 4)
        while True:
            self._wake.wait(tick)
            self._wake.clear()
            if self._stop.is_set():
                return  # close() does the final flush
            now = time.monotonic()
            with self._lock:
                waiting = self._rows > 0 and now >= self._retry_at
                by_size = self._rows >= self.flush_rows
                by_time = (
                    self.flush_interval_s is not None and now - self._last_flush >= self.flush_interval_s
                )
                retry_in = self._retry_at - now
            if waiting and (by_size or by_time):
                self.flush()
            elif by_size and retry_in > 0:
                self._stop.wait(retry_in)  # backing off: a full buffer must not spin this thread
                self._wake.set()


def _text(keys: KeyArray) -> npt.NDArray[np.str_]:
    """UTF-8 key bytes as text: numpy's ASCII conversion when it applies (5x faster), else decode."""
    try:
        return keys.astype(np.str_)
    except UnicodeDecodeError:
        return np.strings.decode(keys, "utf-8")


def _groups(writes: list[_Write]) -> list[list[_Write]]:
    """Writes batched per entity into runs of consecutive writes with the same columns.

    One offline file per run; for each entity the runs stay in write order, so of two rows with
    the same key and stamp the join still takes the later write (other entities' files do not
    matter to it). The aggregator always writes the same columns, so it gets one run per entity.
    """
    runs: dict[str, list[list[_Write]]] = {}
    for w in writes:
        entity_runs = runs.setdefault(w.entity, [])
        if entity_runs and list(entity_runs[-1][0].columns) == list(w.columns):
            entity_runs[-1].append(w)
        else:
            entity_runs.append([w])
    return [run for entity_runs in runs.values() for run in entity_runs]


if TYPE_CHECKING:
    _is_an_online_store: type[OnlineStore] = OfflineWriteThroughStore
