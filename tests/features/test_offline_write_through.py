"""OfflineWriteThroughStore: an online store in every respect, plus an offline history of its writes.

The first half re-runs the whole OnlineStore contract (``test_online_store_contract``) with the
decorator wrapped around the in-memory and the Redis store: this module overrides the
``backend`` and ``make_store`` fixtures, and the contract's tests are collected here again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedmix.events.memory_event_log import MemoryEventLog
from feedmix.events.schema import Event
from feedmix.features.backends import open_online_store
from feedmix.features.definitions import default_registry
from feedmix.features.entity_keys import post_keys
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.offline.event_export import export_events
from feedmix.features.offline.feature_log import OfflineFeatureStore
from feedmix.features.offline.pit_join import FeatureSetSpec, build_training_rows
from feedmix.features.offline.registry_specs import post_communities_table, registry_feature_sets
from feedmix.features.offline_write_through import OfflineWriteThroughStore
from feedmix.features.online_store import OnlineStore, read_entities
from feedmix.features.registry import FeatureRegistry
from feedmix.stores.errors import StoreUnavailable

from . import test_online_store_contract as contract
from .conftest import MakeStore, redis_store_url, small_registry

# -- the OnlineStore contract, through the decorator ---------------------------------------------

for _name, _test in vars(contract).items():
    if _name.startswith("test_"):
        globals()[_name] = _test


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    opened: list[OfflineWriteThroughStore] = []

    def make(registry: FeatureRegistry | None = None) -> OnlineStore:
        url = "memory://" if backend == "memory" else redis_store_url(request)
        online = open_online_store(url, registry or small_registry())
        offline = OfflineFeatureStore(tmp_path / f"offline{len(opened)}", durable=False)
        store = OfflineWriteThroughStore(online, offline, flush_rows=64, flush_interval_s=None)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
        # every write the online store accepted reached the history, none failed or was dropped
        assert store.offline_failures == 0 and store.rows_dropped == 0 and store.buffered_rows == 0


# -- what the history holds ----------------------------------------------------------------------


class SimClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def history(root: Path, entity: str) -> list[dict[str, Any]]:
    files = OfflineFeatureStore(root).files(entity)
    if not files:
        return []
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    return sorted(table.to_pylist(), key=lambda r: (r["event_ts"], r["key"]))


def test_writes_are_recorded_with_the_write_time_event_keys_and_stored_values(tmp_path: Path) -> None:
    clock = SimClock(1_000.0)
    online = MemoryOnlineStore(small_registry())
    with OfflineWriteThroughStore(online, tmp_path, flush_interval_s=None, clock=clock) as store:
        ids = np.array([1, 36, 123456789], dtype=np.int64)
        # ts (what the values describe) is older than the write: the history keeps the write time
        store.write("post", post_keys(ids), {"score": [0.1, 2, 3], "count": ids}, ts=10.0)
        clock.t = 1_500.0
        store.write(
            "user_community", np.array(["u1|pics", "u2|café"]), {"clicks": np.array([4, 5])}, ts=1_400.0
        )
        assert store.read("post", ["10"], ["count"]).columns["count"].tolist() == [36]  # reads delegate
        assert store.registry is online.registry and store.remote is False

    posts = history(tmp_path, "post")
    assert [(r["key"], r["event_ts"], r["count"]) for r in posts] == [
        ("1", 1_000.0, 1),
        ("10", 1_000.0, 36),
        ("21i3v9", 1_000.0, 123456789),  # base36, as events spell post ids, not b"..." or ints
    ]
    # float32 as the online store holds it (0.1 rounded), not the float64 the caller passed
    assert [r["score"] for r in posts] == [float(np.float32(0.1)), 2.0, 3.0]
    assert pq.read_schema(OfflineFeatureStore(tmp_path).files("post")[0]).field("score").type == pa.float32()
    assert history(tmp_path, "user_community") == [
        {"key": "u1|pics", "event_ts": 1_500.0, "clicks": 4},
        {"key": "u2|café", "event_ts": 1_500.0, "clicks": 5},  # UTF-8 keys come back as text
    ]


def test_a_failed_online_write_records_nothing_and_raises(tmp_path: Path) -> None:
    class Flaky(MemoryOnlineStore):
        down = True

        def write(self, *args: Any, **kwargs: Any) -> None:
            if self.down:
                raise StoreUnavailable("down")
            super().write(*args, **kwargs)

    online = Flaky(small_registry())
    with OfflineWriteThroughStore(online, tmp_path, flush_interval_s=None) as store:
        with pytest.raises(StoreUnavailable):
            store.write("post", ["a"], {"count": [1]}, ts=1.0)
        online.down = False
        with pytest.raises(TypeError):  # rejected by the online store: not recorded either
            store.write("post", ["a"], {"count": [1.5]}, ts=1.0)
        assert store.buffered_rows == 0
        store.write("post", ["b"], {"count": [2]}, ts=1.0)
    assert [r["key"] for r in history(tmp_path, "post")] == ["b"]


def test_stamps_never_go_backwards(tmp_path: Path) -> None:
    clock = SimClock(100.0)
    with OfflineWriteThroughStore(
        MemoryOnlineStore(small_registry()), tmp_path, flush_interval_s=None, clock=clock
    ) as store:
        store.write("post", ["a"], {"count": [1]}, ts=0.0)
        clock.t = 90.0  # the wall clock stepped back (NTP)
        store.write("post", ["a"], {"count": [2]}, ts=0.0)
    assert [(r["event_ts"], r["count"]) for r in history(tmp_path, "post")] == [(100.0, 1), (100.0, 2)]


def test_the_caller_may_reuse_its_arrays(tmp_path: Path) -> None:
    with OfflineWriteThroughStore(
        MemoryOnlineStore(small_registry()), tmp_path, flush_interval_s=None, clock=SimClock(5.0)
    ) as store:
        values = np.array([1, 2], dtype=np.int64)
        store.write("post", ["a", "b"], {"count": values}, ts=0.0)
        values[:] = 99
    assert [r["count"] for r in history(tmp_path, "post")] == [1, 2]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_appends_in_batches_by_size_and_by_interval_in_the_background(tmp_path: Path) -> None:
    registry = small_registry()
    by_size = OfflineWriteThroughStore(
        MemoryOnlineStore(registry), tmp_path / "size", flush_rows=10, flush_interval_s=None
    )
    for i in range(9):
        by_size.write("post", [f"k{i}"], {"count": [i]}, ts=0.0)
    time.sleep(0.1)
    assert by_size.buffered_rows == 9 and by_size.offline.files("post") == []  # below the size
    by_size.write("post", ["k9"], {"count": [9]}, ts=0.0)
    wait_for(lambda: by_size.rows_written == 10)
    assert len(by_size.offline.files("post")) == 1  # one file for the ten writes, not ten files
    by_size.close()

    by_time = OfflineWriteThroughStore(
        MemoryOnlineStore(registry), tmp_path / "time", flush_rows=1000, flush_interval_s=0.2
    )
    by_time.write("post", ["a"], {"count": [1]}, ts=0.0)
    wait_for(lambda: by_time.rows_written == 1)
    by_time.close()


def test_close_appends_what_is_buffered_and_closes_the_online_store(tmp_path: Path) -> None:
    online = MemoryOnlineStore(small_registry())
    store = OfflineWriteThroughStore(online, tmp_path, flush_interval_s=None)
    store.write("post", ["a"], {"count": [7]}, ts=0.0)
    store.close()
    store.close()  # idempotent
    assert [r["count"] for r in history(tmp_path, "post")] == [7]
    assert online.read("post", ["a"], ["count"]).missing.tolist() == [True]  # closed: emptied


class FlakyOffline(OfflineFeatureStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root, durable=False)
        self.fail = True
        self.calls = 0

    def write(self, *args: Any, **kwargs: Any) -> list[Path]:
        self.calls += 1
        if self.fail:
            raise OSError("disk full")
        return super().write(*args, **kwargs)


def test_a_failing_append_is_counted_and_retried_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    offline = FlakyOffline(tmp_path)
    store = OfflineWriteThroughStore(
        MemoryOnlineStore(small_registry()), offline, flush_rows=1, max_buffer_rows=3, flush_interval_s=None
    )
    store.write("post", ["a"], {"count": [1]}, ts=0.0)  # flushes in the background, and fails
    wait_for(lambda: store.offline_failures >= 1)
    assert "disk full" in caplog.text
    assert store.read("post", ["a"], ["count"]).columns["count"].tolist() == [1]  # online unaffected
    store.write("post", ["b", "c"], {"count": [2, 3]}, ts=0.0)  # fills the buffer to its limit
    store.write("post", ["d"], {"count": [4]}, ts=0.0)  # beyond it: dropped, counted, not raised
    assert store.rows_dropped == 1
    assert store.flush() is False  # a direct flush reports the failure instead of raising
    assert store.buffered_rows == 3  # kept for the retry, in order

    offline.fail = False
    assert store.flush() is True
    store.close()
    assert [(r["key"], r["count"]) for r in history(tmp_path, "post")] == [("a", 1), ("b", 2), ("c", 3)]
    assert (store.rows_written, store.rows_dropped) == (3, 1)


def test_a_failing_append_backs_off_instead_of_spinning(tmp_path: Path) -> None:
    offline = FlakyOffline(tmp_path)
    store = OfflineWriteThroughStore(
        MemoryOnlineStore(small_registry()), offline, flush_rows=1, flush_interval_s=None
    )
    for i in range(200):
        store.write("post", [f"k{i}"], {"count": [i]}, ts=0.0)
        time.sleep(0.001)
    assert 1 <= offline.calls <= 3  # the first failure backs off for a second
    offline.fail = False
    store.close()
    assert len(history(tmp_path, "post")) == 200


def test_writes_from_many_threads_are_all_recorded(tmp_path: Path) -> None:
    store = OfflineWriteThroughStore(
        MemoryOnlineStore(small_registry()), tmp_path, flush_rows=50, flush_interval_s=None
    )

    def writer(t: int) -> None:
        for i in range(100):
            store.write("post", [f"t{t}k{i}"], {"count": [i]}, ts=0.0)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    store.close()
    assert sorted(r["key"] for r in history(tmp_path, "post")) == sorted(
        f"t{t}k{i}" for t in range(4) for i in range(100)
    )


# -- the history is what training reads ---------------------------------------------------------


def test_the_recorded_history_is_what_build_training_rows_joins(tmp_path: Path) -> None:
    """Writes at 100, 200 and 300 s; impressions in between see exactly the previous write."""
    clock = SimClock(0.0)
    store = OfflineWriteThroughStore(
        MemoryOnlineStore(default_registry()), tmp_path / "features", flush_interval_s=None, clock=clock
    )
    for t, clicks in ((100.0, 1), (200.0, 5), (300.0, 9)):
        clock.t = t
        store.write("post", ["3f"], {"clicks_1h": [clicks], "ctr_1h": [clicks / 100]}, ts=t)
        store.write("community", ["pics"], {"impressions_24h": [clicks * 10]}, ts=t)
        store.write("user_community", ["u1|pics"], {"hides_24h": [clicks]}, ts=t)
    store.close()
    log = MemoryEventLog()
    imps = [(1, 50.0), (2, 100.0), (3, 150.0), (4, 200.5), (5, 300.0), (6, 301.0)]
    log.append(
        [Event(event_id=f"e{i}", type="impression", user_id="u1", post_id="3f", ts=t) for i, t in imps]
    )
    export_events(log, tmp_path / "events", progress=False, durable=False)

    sets = registry_feature_sets(default_registry())
    rows = build_training_rows(
        tmp_path / "events",
        tmp_path / "features",
        sets.specs,
        label_window_s=60,
        tables={"post_communities": post_communities_table({"3f": "pics"})},
    ).to_pylist()

    assert [r["f.clicks_1h"] for r in rows] == [None, None, 1, 5, 5, 9]  # strictly before each ts
    assert [r["f.ctr_1h"] for r in rows] == [None, None, *(float(np.float32(c / 100)) for c in (1, 5, 5, 9))]
    assert [r["f.community.impressions_24h"] for r in rows] == [None, None, 10, 50, 50, 90]
    assert [r["f.user_community.hides_24h"] for r in rows] == [None, None, 1, 5, 5, 9]
    assert all(r["f.user.clicks_24h"] is None for r in rows)  # never written


def test_a_plain_spec_reads_it_too(tmp_path: Path) -> None:
    """The history is the ordinary OfflineFeatureStore format, not something only registry specs read."""
    clock = SimClock(10.0)
    with OfflineWriteThroughStore(
        MemoryOnlineStore(small_registry()), tmp_path / "f", flush_interval_s=None, clock=clock
    ) as store:
        store.write("user", ["u1"], {"visits": [3]}, ts=0.0)
    log = MemoryEventLog()
    log.append([Event(event_id="e1", type="impression", user_id="u1", post_id="a", ts=11.0)])
    export_events(log, tmp_path / "ev", progress=False, durable=False)
    spec = FeatureSetSpec("user", "user_id", ["visits"])
    (row,) = build_training_rows(tmp_path / "ev", tmp_path / "f", [spec], label_window_s=1).to_pylist()
    assert row["user.visits"] == 3


def test_multi_entity_reads_go_to_the_wrapped_stores_read_many(tmp_path: Path) -> None:
    calls: list[float | None] = []

    class Spy(MemoryOnlineStore):
        def read_many(self, requests: Any, *, timeout_s: float | None = None) -> Any:
            calls.append(timeout_s)
            return super().read_many(requests, timeout_s=timeout_s)

    with OfflineWriteThroughStore(Spy(small_registry()), tmp_path, flush_interval_s=None) as store:
        store.write("post", ["a"], {"count": [3]}, ts=0.0)
        store.write("user", ["u"], {"visits": [4]}, ts=0.0)
        got = read_entities(store, [("post", ["a"], ["count"]), ("user", ["u"], ["visits"])], timeout_s=0.5)
    assert calls == [0.5]  # one call, with the caller's time bound
    assert (got[0].columns["count"].tolist(), got[1].columns["visits"].tolist()) == ([3], [4])
