"""EventLog in an embedded SQLite file: the default, durable with no service to run.

Durability: WAL journal with ``synchronous=FULL`` fsyncs the WAL on every commit, and ``append``
returns only after COMMIT, so an acknowledged batch survives a crash of the process and, on a disk
that honours fsync, of the machine. Each batch is one ``BEGIN IMMEDIATE`` ... ``COMMIT``
transaction (all or nothing). ``event_id`` is UNIQUE and rows are inserted with ``ON CONFLICT DO
NOTHING``, so duplicates cost nothing and are counted from the rows actually inserted.

Offsets are the ``AUTOINCREMENT`` rowid: never reused, and assigned under SQLite's write lock, so
they are in commit order even with several processes appending to one file.

Threads share two connections, each behind its own lock: one for writes, one for reads. In WAL mode
readers never block the writer, so a consumer tailing the log does not delay ingestion.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Generic

from feedmix.events.event_log import AppendResult, EventLogUnavailable, R, check_read_args
from feedmix.events.schema import Event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
)
"""
_INSERT = "INSERT INTO events (event_id, body) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING"
_READ = "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?"


class SqliteEventLog(Generic[R]):
    """Holds ``record`` objects (client events by default)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        busy_timeout_s: float = 10.0,
        record: type[R] = Event,  # type: ignore[assignment]
    ) -> None:
        self.record = record
        self.path = Path(path)
        if str(path) in ("", ":memory:"):
            raise ValueError("SqliteEventLog needs a file (use memory:// for an in-memory log)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        with _errors("open"):
            self._writer = _connect(self.path, busy_timeout_s)
            self._writer.execute(_SCHEMA)
            self._reader = _connect(self.path, busy_timeout_s)

    @classmethod
    def from_url(cls, url: str, record: type[R] = Event) -> SqliteEventLog[R]:  # type: ignore[assignment]
        """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (no query options)."""
        path = url.removeprefix("sqlite:///")
        if "?" in path or not path:
            raise ValueError(f"expected sqlite:///<path> without options, got {url!r}")
        return cls(path, record=record)

    def append(self, events: Sequence[R]) -> AppendResult:
        if not events:
            return AppendResult(accepted=0, duplicates=0)
        ids = [e.event_id for e in events]
        with self._write_lock, _errors("append"):
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                # under the write lock, the ids already stored cannot change before the insert
                stored = _stored_ids(conn, ids)
                fresh: list[int] = []
                for i, event_id in enumerate(ids):
                    if event_id not in stored:
                        stored.add(event_id)
                        fresh.append(i)
                rows = [(ids[i], events[i].model_dump_json(exclude_none=True)) for i in fresh]
                # executemany's rowcount sums the rows really inserted, so conflicts are not counted
                accepted = conn.executemany(_INSERT, rows).rowcount if rows else 0
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        return AppendResult(
            accepted=accepted,
            duplicates=len(ids) - accepted,
            fresh=tuple(fresh) if accepted == len(fresh) else None,
        )

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, R]]:
        check_read_args(after, limit)
        with self._read_lock, _errors("read"):
            rows = self._reader.execute(_READ, (after, limit)).fetchall()
        return [(int(seq), self.record.model_validate_json(body)) for seq, body in rows]

    def count(self) -> int:
        with self._read_lock, _errors("count"):
            (n,) = self._reader.execute("SELECT count(*) FROM events").fetchone()
        return int(n)

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()


def _stored_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the log already holds (in chunks below SQLite's variable limit)."""
    found: set[str] = set()
    distinct = list(dict.fromkeys(ids))
    for start in range(0, len(distinct), 500):
        chunk = distinct[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0] for r in conn.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk)
        )
    return found


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; append issues BEGIN/COMMIT itself.
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
    if str(mode).lower() != "wal":
        conn.close()
        raise EventLogUnavailable(f"{path}: cannot use WAL journal mode (got {mode!r})")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise EventLogUnavailable(f"sqlite event log {what}: {exc}") from exc
