"""The export is incremental by offset: across runs, crashes and restarts, every event exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from feedmix.events.backends import open_event_log
from feedmix.events.event_log import EventLog
from feedmix.features.offline import event_export
from feedmix.features.offline.event_export import (
    EVENTS_SCHEMA,
    ExportInProgress,
    export_events,
    exported_through,
)
from feedmix.features.offline.parquet_io import list_parquet_files

from .helpers import T0, event


def exported_offsets(directory: Path) -> list[int]:
    out: list[int] = []
    for f in list_parquet_files(directory):
        out.extend(pq.read_table(f).column("log_offset").to_pylist())
    return out


@pytest.fixture(params=["memory", "sqlite"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> EventLog:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/events.db"
    return open_event_log(url)


def test_incremental_runs_export_each_event_once(log: EventLog, tmp_path: Path) -> None:
    out = tmp_path / "export"
    n, after = 0, 0
    for batch_size in [5, 0, 17, 1, 40]:
        log.append([event(n + i + 1, "impression", "u1", "a", T0 + n + i) for i in range(batch_size)])
        n += batch_size
        after = export_events(log, out, after, progress=False, read_batch=4, rows_per_file=7)
        assert after == n
        assert sorted(exported_offsets(out)) == list(range(1, n + 1))
    # re-running from 0 (a lost cursor) duplicates nothing: the directory knows where it stopped
    assert export_events(log, out, 0, progress=False) == n
    offsets = exported_offsets(out)
    assert sorted(offsets) == list(range(1, n + 1)) and len(set(offsets)) == len(offsets)
    assert exported_through(out) == n


def test_exported_rows_keep_every_field(tmp_path: Path) -> None:
    log = open_event_log("memory://")
    log.append([event(1, "click", "u7", "1z", T0 + 0.25, request_id="r1", position=3)])
    export_events(log, tmp_path, progress=False)
    (f,) = list_parquet_files(tmp_path)
    table = pq.read_table(f)
    assert table.schema == EVENTS_SCHEMA
    assert table.to_pylist() == [
        {
            "log_offset": 1,
            "event_id": "e1",
            "type": "click",
            "user_id": "u7",
            "post_id": "1z",
            "ts": T0 + 0.25,
            "request_id": "r1",
            "position": 3,
            "surface": None,
        }
    ]


def test_a_crash_mid_export_resumes_without_duplicates_or_gaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_event_log("memory://")
    log.append([event(i, "impression", "u1", "a", T0 + i) for i in range(1, 21)])
    real = event_export.write_parquet_atomic
    calls = {"n": 0}

    def fail_on_third(*args: Any, **kwargs: Any) -> Path:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("killed")
        return Path(real(*args, **kwargs))

    monkeypatch.setattr(event_export, "write_parquet_atomic", fail_on_third)
    with pytest.raises(OSError, match="killed"):
        export_events(log, tmp_path, progress=False, rows_per_file=6)
    assert sorted(exported_offsets(tmp_path)) == list(range(1, 13))  # two whole files, nothing torn
    monkeypatch.setattr(event_export, "write_parquet_atomic", real)
    assert export_events(log, tmp_path, progress=False, rows_per_file=6) == 20
    assert sorted(exported_offsets(tmp_path)) == list(range(1, 21))


def test_a_second_concurrent_export_is_refused(tmp_path: Path) -> None:
    log = open_event_log("memory://")
    log.append([event(1, "impression", "u1", "a", T0)])
    with event_export._exclusive(tmp_path), pytest.raises(ExportInProgress):
        export_events(log, tmp_path, progress=False)
    assert export_events(log, tmp_path, progress=False) == 1  # released afterwards


def test_progress_bar_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = open_event_log("memory://")
    log.append([event(1, "impression", "u1", "a", T0)])
    assert export_events(log, tmp_path, progress=True) == 1
    assert "export events" in capsys.readouterr().err
