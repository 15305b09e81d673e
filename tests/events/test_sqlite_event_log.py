"""SQLite-specific guarantees: crash durability, transactional batches, several writers per file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import AppendResult, EventLogUnavailable
from feedmix.events.schema import Event
from feedmix.events.sqlite_event_log import SqliteEventLog

MakeEvent = Callable[..., Event]

_CHILD = """
import sys
from feedmix.events.backends import open_event_log
from feedmix.events.schema import Event

log = open_event_log(sys.argv[1])
for b in range(5):
    batch = [
        Event(event_id=f"b{b}-{i}", type="impression", user_id="u", post_id=f"p{b}x{i}", ts=1.0)
        for i in range(40)
    ]
    log.append(batch)
print("appended", flush=True)
sys.stdin.read()  # keep the connection open until killed
"""


def test_acknowledged_events_survive_kill_9_of_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, f"sqlite:///{db}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "appended"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    # the commits are still only in the WAL: reopening must recover them from it
    assert (tmp_path / "events.db-wal").stat().st_size > 0

    log = open_event_log(f"sqlite:///{db}")
    rows = log.read(limit=1000)
    log.close()

    assert len(rows) == 200
    assert [e.event_id for _, e in rows] == [f"b{b}-{i}" for b in range(5) for i in range(40)]


def test_a_batch_that_fails_mid_transaction_leaves_nothing_behind(
    tmp_path: Path, make_event: MakeEvent
) -> None:
    db = tmp_path / "events.db"
    log = SqliteEventLog(db)
    with sqlite3.connect(db) as admin:
        admin.execute(
            "CREATE TRIGGER fail_boom BEFORE INSERT ON events WHEN NEW.event_id = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
    batch = [make_event(event_id="a"), make_event(event_id="b"), make_event(event_id="boom"), make_event()]

    with pytest.raises(EventLogUnavailable, match="injected failure"):
        log.append(batch)

    assert log.count() == 0
    with sqlite3.connect(db) as admin:
        admin.execute("DROP TRIGGER fail_boom")
    # the log is usable again and the failed batch left no dedup trace: a retry stores all of it
    assert log.append(batch) == AppendResult(accepted=4, duplicates=0)
    log.close()


def test_two_logs_on_one_file_share_dedup_and_offsets(tmp_path: Path, make_event: MakeEvent) -> None:
    db = tmp_path / "events.db"
    first, second = SqliteEventLog(db), SqliteEventLog(db)
    a, b, c = make_event(), make_event(), make_event()

    assert first.append([a, b]) == AppendResult(accepted=2, duplicates=0)
    assert second.append([b, c]) == AppendResult(accepted=1, duplicates=1)

    assert [e for _, e in first.read()] == [a, b, c]
    assert first.read() == second.read()
    first.close()
    second.close()


def test_connections_use_wal_with_full_fsync(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "events.db")
    for conn in (log._writer, log._reader):
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # 2 = FULL
    log.close()


def test_url_paths_follow_the_sqlalchemy_convention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = open_event_log("sqlite:///data/rel.db")
    absolute = open_event_log(f"sqlite:///{tmp_path / 'abs' / 'events.db'}")

    assert isinstance(relative, SqliteEventLog)
    assert (tmp_path / "data" / "rel.db").exists()
    assert (tmp_path / "abs" / "events.db").exists()
    relative.close()
    absolute.close()


@pytest.mark.parametrize("url", ["sqlite:///events.db?mode=ro", "sqlite:///", "sqlite:///:memory:"])
def test_bad_sqlite_urls_are_rejected(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        open_event_log(url)
