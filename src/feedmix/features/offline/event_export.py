"""Copies the event log to Parquet, incrementally by offset, for the offline joins.

The event log is the source of truth for training labels, but its backends (SQLite, Redis) are
built for appends and tailing, not for scans and joins. The export turns it into immutable
Parquet files named by the offsets they hold, ``events-<first>-<last>.parquet``, so:

* it is incremental: a run starts after the larger of ``after`` and the last offset already in
  ``out_dir``, so calling it again (even with the default ``after=0``) never duplicates an event;
* it is crash-safe: each file is written atomically, and the next run resumes after the last
  *finished* file, so an interrupted run loses nothing and leaves no half file;
* one run at a time per directory: an advisory lock refuses a second concurrent exporter, which
  would otherwise compute the same start offset and export the same events twice.

Events keep their log offset (``log_offset``), which is also the tie-breaker when two events have
the same timestamp.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from feedmix.events.event_log import EventLog
from feedmix.events.schema import Event
from feedmix.features.offline.parquet_io import write_parquet_atomic

EVENTS_SCHEMA = pa.schema(
    [
        ("log_offset", pa.int64()),
        ("event_id", pa.string()),
        ("type", pa.string()),
        ("user_id", pa.string()),
        ("post_id", pa.string()),
        ("ts", pa.float64()),
        ("request_id", pa.string()),
        ("position", pa.int32()),
        ("surface", pa.string()),
    ]
)
_FILE_NAME = re.compile(r"^events-(\d{20})-(\d{20})\.parquet$")
_LOCK_NAME = ".export.lock"


class ExportInProgress(RuntimeError):
    """Another export holds the directory's lock."""


def exported_through(out_dir: str | Path) -> int:
    """The last log offset held by a finished export file in ``out_dir`` (0 when there is none)."""
    directory = Path(out_dir)
    if not directory.is_dir():
        return 0
    last = 0
    for entry in directory.iterdir():
        m = _FILE_NAME.match(entry.name)
        if m:
            last = max(last, int(m.group(2)))
    return last


def export_events(
    log: EventLog,
    out_dir: str | Path,
    after: int = 0,
    progress: bool = True,
    *,
    read_batch: int = 10_000,
    rows_per_file: int = 250_000,
    durable: bool = True,
) -> int:
    """Export the events with offsets above ``after`` (and above what ``out_dir`` holds).

    Returns the offset to pass as ``after`` next time: the last exported offset, or the start
    offset when there was nothing new.
    """
    if read_batch < 1 or rows_per_file < 1:
        raise ValueError("read_batch and rows_per_file must be >= 1")
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with _exclusive(directory), _progress_bar(progress) as bar:
        cursor = max(after, exported_through(directory))
        pending: list[tuple[int, Event]] = []
        while True:
            chunk = log.read(after=cursor, limit=read_batch)
            if not chunk:
                break
            for offset, _ in chunk:
                if offset <= cursor:
                    raise RuntimeError(f"event log returned offset {offset} after {cursor}: not increasing")
                cursor = offset
            pending.extend(chunk)
            if bar is not None:
                bar.update(len(chunk))
            while len(pending) >= rows_per_file:
                _write_file(directory, pending[:rows_per_file], durable)
                pending = pending[rows_per_file:]
        if pending:
            _write_file(directory, pending, durable)
    return cursor


def events_table(rows: list[tuple[int, Event]]) -> pa.Table:
    """(offset, event) pairs as a table with ``EVENTS_SCHEMA``."""
    cols: dict[str, list[Any]] = {name: [] for name in EVENTS_SCHEMA.names}
    for offset, e in rows:
        cols["log_offset"].append(offset)
        cols["event_id"].append(e.event_id)
        cols["type"].append(e.type)
        cols["user_id"].append(e.user_id)
        cols["post_id"].append(e.post_id)
        cols["ts"].append(e.ts)
        cols["request_id"].append(e.request_id)
        cols["position"].append(e.position)
        cols["surface"].append(e.surface)
    return pa.table(cols, schema=EVENTS_SCHEMA)


def _write_file(directory: Path, rows: list[tuple[int, Event]], durable: bool) -> None:
    first, last = rows[0][0], rows[-1][0]
    write_parquet_atomic(
        events_table(rows), directory / f"events-{first:020d}-{last:020d}.parquet", durable=durable
    )


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    fd = os.open(directory / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportInProgress(f"another export into {directory} is running") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(desc="export events", unit="ev") as bar:
        yield bar
