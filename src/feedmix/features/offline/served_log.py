"""The served-feature log: an append-only Parquet record of the feature values serving used.

Training on recomputed features risks training/serving skew (a recomputation bug, a value that
arrived between serving and the impression); training on what serving logged has none. This is
the sink behind ``ServingFeatureLogSideEffect``, kept free of pipeline types so any producer can
use it.

Rows are buffered in memory (appends are cheap and thread-safe) and written as one Parquet file
per UTC date of ``ts`` when ``flush_rows`` rows are buffered, every ``flush_interval_s`` seconds
(a background thread), and on ``close``. Layout: ``root/date=<YYYY-MM-DD>/part-<ns>-<uuid>.parquet``,
each file written atomically.

A failed flush is logged and counted (``flush_failures`` and a Prometheus counter), never raised:
the log must not take serving down. Its rows go back into the buffer for the next flush while the
buffer stays under ``max_buffer_rows``; beyond that they are dropped and counted, because an
unbounded buffer during a long disk outage would take the server down instead. Rows whose
columns cannot be combined (a column that changed type) are dropped at once: retrying cannot help.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from prometheus_client import Counter

from feedmix.features.offline.parquet_io import part_file_name, to_arrow, utc_dates, write_parquet_atomic

log = logging.getLogger(__name__)

TS_COLUMN = "ts"
FLUSH_FAILURES = Counter(
    "feedmix_served_feature_log_flush_failures_total", "Failed served-feature log flushes"
)
ROWS = Counter("feedmix_served_feature_log_rows_total", "Served-feature log rows, by outcome", ["result"])


class ServedFeatureLog:
    """Thread-safe buffered writer; every appended batch must carry a float ``ts`` column."""

    def __init__(
        self,
        root_dir: str | Path,
        *,
        flush_rows: int = 10_000,
        flush_interval_s: float | None = 30.0,
        max_buffer_rows: int = 200_000,
        durable: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if flush_rows < 1 or max_buffer_rows < flush_rows:
            raise ValueError("need 1 <= flush_rows <= max_buffer_rows")
        if flush_interval_s is not None and flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be positive (or None for no timed flushes)")
        self.root = Path(root_dir)
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.max_buffer_rows = max_buffer_rows
        self.durable = durable
        self._clock = clock
        self._lock = threading.Lock()  # guards the buffer and the counters
        self._flush_lock = threading.Lock()  # one flush at a time, so files keep append order
        self._chunks: list[pa.Table] = []
        self._rows = 0
        self._last_flush = clock()
        self._closed = False
        self.flush_failures = 0
        self.rows_written = 0
        self.rows_dropped = 0
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        if flush_interval_s is not None:
            self._timer = threading.Thread(
                target=self._flush_periodically, name="served-feature-log", daemon=True
            )
            self._timer.start()

    @property
    def buffered_rows(self) -> int:
        with self._lock:
            return self._rows

    def append(self, columns: Mapping[str, Any]) -> None:
        """Buffer one batch of rows (equal-length columns); may flush on the caller's thread.

        Values are converted to Arrow here, so the caller may reuse its arrays afterwards.
        """
        if TS_COLUMN not in columns:
            raise ValueError(f"a served-feature batch needs a {TS_COLUMN!r} column")
        table = pa.table({name: to_arrow(values) for name, values in columns.items()})
        ts = table.column(TS_COLUMN)
        if not pa.types.is_floating(ts.type) or ts.null_count:
            raise ValueError(f"{TS_COLUMN!r} must be float seconds without missing values")
        if table.num_rows == 0:
            return
        with self._lock:
            if self._closed:
                raise RuntimeError("served-feature log is closed")
            self._chunks.append(table)
            self._rows += table.num_rows
            due = self._rows >= self.flush_rows
        if due:
            self.flush()

    def flush(self) -> bool:
        """Write what is buffered; False (never an exception) when some of it could not be written."""
        with self._flush_lock:
            with self._lock:
                chunks, self._chunks = self._chunks, []
                self._rows = 0
                self._last_flush = self._clock()
            if not chunks:
                return True
            try:
                table = pa.concat_tables(chunks, promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                self._failed(exc, [], sum(c.num_rows for c in chunks))
                return False
            dates = utc_dates(table.column(TS_COLUMN).to_numpy())
            pending = [(d, table.filter(pa.array(dates == d))) for d in np.unique(dates)]
            while pending:
                date, part = pending[0]
                try:
                    write_parquet_atomic(
                        part, self.root / f"date={date}" / part_file_name(), durable=self.durable
                    )
                except Exception as exc:
                    self._failed(exc, [p for _, p in pending], 0)
                    return False
                pending.pop(0)
                with self._lock:
                    self.rows_written += part.num_rows
                ROWS.labels("written").inc(part.num_rows)
            return True

    def close(self) -> None:
        """Stop the timer and write what is left; appends after this raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._timer is not None:
            self._timer.join()
        self.flush()

    def __enter__(self) -> ServedFeatureLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _failed(self, exc: Exception, retry: list[pa.Table], unrecoverable_rows: int) -> None:
        retry_rows = sum(t.num_rows for t in retry)
        with self._lock:
            self.flush_failures += 1
            kept = 0
            if retry and self._rows + retry_rows <= self.max_buffer_rows:
                self._chunks = retry + self._chunks
                self._rows += retry_rows
                kept = retry_rows
            dropped = unrecoverable_rows + retry_rows - kept
            self.rows_dropped += dropped
        FLUSH_FAILURES.inc()
        if dropped:
            ROWS.labels("dropped").inc(dropped)
        log.warning(
            "served-feature log flush to %s failed (%d rows kept for retry, %d dropped): %s",
            self.root,
            kept,
            dropped,
            exc,
        )

    def _flush_periodically(self) -> None:
        assert self.flush_interval_s is not None
        while not self._stop.wait(self.flush_interval_s / 4):
            with self._lock:
                due = self._rows > 0 and self._clock() - self._last_flush >= self.flush_interval_s
            if due:
                self.flush()
