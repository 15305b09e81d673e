"""Serving logs what it ranked with, for a deterministic sample of requests, and training joins it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedmix.components.side_effects.serving_feature_log_side_effect import (
    ServingFeatureLogSideEffect,
    sampled,
)
from feedmix.core.candidates import CandidateBatch
from feedmix.core.executor import PipelineResult
from feedmix.core.params import ParamRegistry
from feedmix.core.query import Deadline, Query
from feedmix.core.trace import ComponentTrace, RequestTrace, StageTrace
from feedmix.events.post_ids import post_ids_to_int
from feedmix.features.offline import served_log
from feedmix.features.offline.logged_join import join_logged_features
from feedmix.features.offline.parquet_io import list_parquet_files
from feedmix.features.offline.pit_join import build_training_rows
from feedmix.features.offline.served_log import ServedFeatureLog

from .helpers import T0, event, export


def read_log(root: Path) -> pa.Table:
    files = list_parquet_files(root)
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")


def rows(n: int, request_id: str = "r", ts: float = T0 + 120) -> dict[str, Any]:
    return {"request_id": [request_id] * n, "ts": np.full(n, ts), "score": np.arange(n, dtype=np.float64)}


# -- sampling ------------------------------------------------------------------------------------


def test_sampling_is_deterministic_nested_and_respects_the_rate() -> None:
    ids = [f"req-{i}" for i in range(20_000)]
    assert [sampled(r, 0.1) for r in ids[:500]] == [sampled(r, 0.1) for r in ids[:500]]
    for rate in (0.01, 0.1, 0.5):
        share = sum(sampled(r, rate) for r in ids) / len(ids)
        assert abs(share - rate) < 5 * (rate * (1 - rate) / len(ids)) ** 0.5 + 1e-9, (rate, share)
    assert not any(sampled(r, 0.0) for r in ids) and all(sampled(r, 1.0) for r in ids)
    # raising the rate only adds requests: a request sampled at 5% is also sampled at 10%
    assert all(sampled(r, 0.1) for r in ids if sampled(r, 0.05))
    # another key samples independently
    both = sum(sampled(r, 0.1) and sampled(r, 0.1, key=b"other") for r in ids) / len(ids)
    assert abs(both - 0.01) < 0.004


# -- the side effect -----------------------------------------------------------------------------


def make_query(effect: ServingFeatureLogSideEffect, rate: float, request_id: str) -> Query:
    params = ParamRegistry(effect.declared_params()).defaults({f"{effect.identifier}.sample_rate": rate})
    return Query("u1", "home", params, Deadline(1.0), request_id, now=T0, context={"page": 2})


def make_result(query: Query, posts: list[str]) -> PipelineResult:
    n = len(posts)
    batch = CandidateBatch(
        post_ids_to_int(posts),
        {
            "row": np.arange(n),
            "score": np.linspace(1, 0, n),
            "score.quality": np.full(n, 0.5, dtype=np.float32),
            "f.ctr_24h": np.full(n, 0.03),
            "embedding": np.zeros((n, 4)),
        },
    )
    trace = RequestTrace(
        "home",
        query.request_id,
        stages=[StageTrace("scorers", components=[ComponentTrace("heuristic_scorer", "scorer")])],
    )
    return PipelineResult(query, batch, trace, ["fresh"])


def test_side_effect_logs_whole_sampled_requests_with_configured_columns(tmp_path: Path) -> None:
    sink = ServedFeatureLog(tmp_path, flush_interval_s=None)
    effect = ServingFeatureLogSideEffect(
        "served_features",
        sink,
        columns=["score", "score.*", "f.*", "missing.*", "embedding"],
        clock=lambda: T0,
    )
    request_ids = [uuid.uuid4().hex[:16] for _ in range(300)]
    for rid in request_ids:
        query = make_query(effect, 0.25, rid)
        effect.run(query, make_result(query, ["a", "b", "1z"]))
    sink.close()
    table = read_log(tmp_path)
    logged = set(table.column("request_id").to_pylist())
    assert logged == {r for r in request_ids if sampled(r, 0.25)}
    assert 40 < len(logged) < 110  # about a quarter of 300
    assert table.num_rows == 3 * len(logged)  # whole pages
    first = table.slice(0, 3).to_pylist()
    assert [r["post_id"] for r in first] == ["a", "b", "1z"]
    assert [r["position"] for r in first] == [0, 1, 2]
    assert first[0]["page"] == 2 and first[0]["ts"] == T0 and first[0]["sample_rate"] == 0.25
    assert first[0]["model_version"] == "heuristic_scorer" and first[0]["pipeline"] == "home"
    assert first[0]["f.ctr_24h"] == 0.03 and first[0]["score.quality"] == 0.5 and first[0]["score"] == 1.0
    assert "row" not in table.column_names and "embedding" not in table.column_names


def test_side_effect_options_are_checked() -> None:
    sink = ServedFeatureLog("/nonexistent", flush_interval_s=None)
    with pytest.raises(ValueError, match="clash"):
        ServingFeatureLogSideEffect("served_features", sink, columns=["position"])
    effect = ServingFeatureLogSideEffect("served_features", sink, model_version="ranker-7")
    query = make_query(effect, 1.0, "r1")
    effect.run(query, make_result(query, ["a"]))
    assert sink.buffered_rows == 1
    assert effect.sink._chunks[0].column("model_version").to_pylist() == ["ranker-7"]


# -- the buffered sink ---------------------------------------------------------------------------


def test_flushes_by_rows_by_time_and_on_close(tmp_path: Path) -> None:
    by_rows = ServedFeatureLog(tmp_path / "rows", flush_rows=5, flush_interval_s=None)
    by_rows.append(rows(3))
    assert list_parquet_files(tmp_path / "rows") == []
    by_rows.append(rows(3))
    assert read_log(tmp_path / "rows").num_rows == 6 and by_rows.buffered_rows == 0

    by_time = ServedFeatureLog(tmp_path / "time", flush_rows=1000, flush_interval_s=0.05)
    by_time.append(rows(2))
    deadline = time.monotonic() + 5
    while not list_parquet_files(tmp_path / "time") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert read_log(tmp_path / "time").num_rows == 2
    by_time.close()

    on_close = ServedFeatureLog(tmp_path / "close", flush_interval_s=None)
    on_close.append(rows(4))
    on_close.close()
    assert read_log(tmp_path / "close").num_rows == 4
    with pytest.raises(RuntimeError, match="closed"):
        on_close.append(rows(1))


def test_a_failed_flush_is_counted_not_raised_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = served_log.write_parquet_atomic
    failing = {"on": True}

    def flaky(*args: Any, **kwargs: Any) -> Path:
        if failing["on"]:
            raise OSError("disk gone")
        return Path(real(*args, **kwargs))

    monkeypatch.setattr(served_log, "write_parquet_atomic", flaky)
    sink = ServedFeatureLog(tmp_path, flush_rows=2, max_buffer_rows=10, flush_interval_s=None)
    sink.append(rows(3, "r1"))  # flushes on the caller's thread: must not raise
    assert sink.flush_failures == 1 and sink.buffered_rows == 3
    sink.append(rows(3, "r2"))
    assert sink.flush_failures == 2 and sink.buffered_rows == 6
    sink.append(rows(5, "r3"))  # 11 rows > max_buffer_rows: the failed rows are dropped, counted
    assert sink.rows_dropped == 11 and sink.buffered_rows == 0
    failing["on"] = False
    sink.append(rows(2, "r4"))
    sink.close()
    assert sink.rows_written == 2
    assert read_log(tmp_path).column("request_id").to_pylist() == ["r4", "r4"]


def test_retried_rows_are_written_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = served_log.write_parquet_atomic
    calls = {"n": 0}

    def fail_second(*args: Any, **kwargs: Any) -> Path:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("flaky")
        return Path(real(*args, **kwargs))

    monkeypatch.setattr(served_log, "write_parquet_atomic", fail_second)
    sink = ServedFeatureLog(tmp_path, flush_interval_s=None)
    sink.append(rows(2, "before-midnight", ts=T0))  # 2013-08-18
    sink.append(rows(3, "after-midnight", ts=T0 + 120))  # 2013-08-19: this file's write fails
    assert sink.flush() is False
    assert sink.flush() is True
    ids = read_log(tmp_path).column("request_id").to_pylist()
    assert sorted(ids) == ["after-midnight"] * 3 + ["before-midnight"] * 2


def test_incompatible_columns_are_dropped_not_retried_forever(tmp_path: Path) -> None:
    sink = ServedFeatureLog(tmp_path, flush_interval_s=None)
    sink.append(rows(1) | {"x": np.array([1.0])})
    sink.append(rows(1) | {"x": np.array(["text"])})
    assert sink.flush() is False
    assert sink.rows_dropped == 2 and sink.buffered_rows == 0


def test_concurrent_appends_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    sink = ServedFeatureLog(tmp_path, flush_rows=7, flush_interval_s=0.01, durable=False)

    def producer(t: int) -> None:
        for i in range(50):
            sink.append(rows(3, f"t{t}-{i}"))

    threads = [threading.Thread(target=producer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    sink.close()
    ids = read_log(tmp_path).column("request_id").to_pylist()
    assert len(ids) == 8 * 50 * 3
    assert sorted(set(ids)) == sorted(f"t{t}-{i}" for t in range(8) for i in range(50))


# -- joining the log to training rows ------------------------------------------------------------


def test_logged_values_join_by_request_and_post(tmp_path: Path) -> None:
    events = [
        event(1, "impression", "u1", "a", T0 + 121, request_id="r1", position=0),
        event(2, "impression", "u1", "b", T0 + 121, request_id="r1", position=1),
        event(3, "impression", "u2", "a", T0 + 122, request_id="r2", position=0),  # not sampled
        event(4, "impression", "u3", "a", T0 + 123, request_id="r1", position=0),  # claims u1's request
        event(5, "impression", "u1", "c", T0 + 124),  # no request id at all
    ]
    training = build_training_rows(export(events, tmp_path / "ev"), tmp_path / "f", [], label_window_s=60)
    with ServedFeatureLog(tmp_path / "served", flush_interval_s=None) as sink:
        base = {"request_id": ["r1", "r1"], "user_id": ["u1", "u1"], "post_id": ["a", "b"]}
        sink.append(base | {"ts": np.array([T0 + 120, T0 + 120]), "f.ctr": np.array([0.1, 0.2])})
        # the same request replayed later: the latest logged row wins, nothing is duplicated
        sink.append(base | {"ts": np.array([T0 + 125, T0 + 125]), "f.ctr": np.array([0.7, 0.8])})
    joined = join_logged_features(training, tmp_path / "served")
    assert joined.num_rows == training.num_rows
    assert joined.column("impression_offset").to_pylist() == [1, 2, 3, 4, 5]  # order kept
    assert joined.column("served.logged").to_pylist() == [True, True, False, False, False]
    assert joined.column("served.f.ctr").to_pylist() == [0.7, 0.8, None, None, None]
    assert joined.column("served.ts").to_pylist()[:2] == [T0 + 125, T0 + 125]
    only = join_logged_features(training, tmp_path / "served", columns=["f.ctr", "never_logged"])
    assert only.column_names[-3:] == ["served.logged", "served.f.ctr", "served.never_logged"]
    empty = join_logged_features(training, tmp_path / "nothing", columns=["f.ctr"])
    assert empty.column("served.logged").to_pylist() == [False] * 5
    assert empty.column("served.f.ctr").null_count == 5
