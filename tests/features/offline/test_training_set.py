"""End to end: events in a SQLite log, the streaming aggregator flushing through the write-through
store as time passes, then ``feedmix features training-set``; every row is checked by brute force.

The timeline spans five hours across a UTC midnight (two date partitions): six users, nine posts
in three communities plus one post of unknown community, impressions followed by clicks, upvotes,
downvotes and hides after random delays (some beyond the label window), re-impressions, and
flushes every ten minutes plus some at exactly an impression's timestamp.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
import pytest

from feedmix import cli
from feedmix.events.backends import open_event_log
from feedmix.events.post_ids import int_to_post_id
from feedmix.events.schema import Event
from feedmix.features.definitions import default_registry
from feedmix.features.entity_keys import as_key_array
from feedmix.features.entity_schema import FeatureRead
from feedmix.features.feature_columns import feature_column
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.offline.feature_log import OfflineFeatureStore
from feedmix.features.offline.pit_join import LABELS
from feedmix.features.offline.served_log import ServedFeatureLog
from feedmix.features.offline.training_set import ExportMismatch, build_training_set
from feedmix.features.offline_write_through import OfflineWriteThroughStore
from feedmix.features.online_store import Keys
from feedmix.features.registry import FeatureRegistry
from feedmix.features.streaming_aggregates import EngagementAggregator

from .helpers import T0

WINDOW = 3600.0
START, END = T0 - 3 * 3600.0, T0 + 2 * 3600.0
COMMUNITIES = ["pics", "news", "aww"]
POST_INTS = [36**3 + 7 * k for k in range(9)]  # four-digit base36 ids
POSTS = [int_to_post_id(p) for p in POST_INTS]
POST_COMMUNITY = {p: COMMUNITIES[i % 3] for i, p in enumerate(POSTS)}
UNKNOWN_POST = int_to_post_id(99_999)  # its community is unknown to the aggregator and the table
USERS = [f"u{i}" for i in range(1, 7)]


class SimClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass(frozen=True)
class Flushed:
    """One row the aggregator wrote: at simulated time ``t``, ``values`` of ``entity`` ``key``."""

    t: float
    entity: str
    key: str
    values: dict[str, Any]


class RecordingStore:
    """The ground truth: every row the aggregator flushed, with the (simulated) time it did."""

    def __init__(self, inner: MemoryOnlineStore, clock: SimClock) -> None:
        self.inner = inner
        self.clock = clock
        self.rows: list[Flushed] = []

    remote = False

    @property
    def registry(self) -> FeatureRegistry:
        return self.inner.registry

    def write(self, entity: str, keys: Keys, columns: Mapping[str, npt.ArrayLike], ts: float) -> None:
        self.inner.write(entity, keys, columns, ts)
        cols = {k: np.asarray(v) for k, v in columns.items()}
        for i, key in enumerate(as_key_array(keys).tolist()):
            values = {k: v[i].item() for k, v in cols.items()}
            self.rows.append(Flushed(self.clock.t, entity, key.decode(), values))

    def read(self, entity: str, keys: Keys, names: Sequence[str]) -> FeatureRead:
        return self.inner.read(entity, keys, names)

    def close(self) -> None:
        self.inner.close()


def make_events(rng: random.Random) -> tuple[list[Event], list[float]]:
    """Impressions with the actions they cause, in time order, and the extra flush times."""
    raw: list[tuple[float, str, str, str, str | None]] = []
    for k in range(260):
        ts = round(rng.uniform(START, END), 3)
        user = rng.choice(USERS)
        post = rng.choice([*POSTS, UNKNOWN_POST]) if k % 13 else UNKNOWN_POST
        raw.append((ts, "impression", user, post, f"r{k}"))
        for kind, p, lo, hi in (
            ("click", 0.3, 0.5, 900),
            ("upvote", 0.12, 1, 5400),  # a third of these land after the label window
            ("hide", 0.08, 0.5, 300),
            ("downvote", 0.05, 1, 600),
        ):
            if rng.random() < p:
                raw.append((round(ts + rng.uniform(lo, hi), 3), kind, user, post, None))
    # the same user shown the same post again a little later: later actions belong to the new one
    for ts, _, user, post, _ in [r for r in raw if r[1] == "impression"][:8]:
        raw.append((round(ts + 40.0, 3), "impression", user, post, None))
        raw.append((round(ts + 45.0, 3), "click", user, post, None))
    raw.sort(key=lambda r: r[0])
    events = [
        Event(event_id=f"e{n}", type=kind, user_id=user, post_id=post, ts=ts, request_id=request_id)
        for n, (ts, kind, user, post, request_id) in enumerate(raw, start=1)
    ]
    impressions = [e for e in events if e.type == "impression"]
    exact = [float(e.ts) for e in rng.sample(impressions, 6)]
    return events, exact


def community_of(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    index = {p: i % 3 for i, p in enumerate(POST_INTS)}
    return np.array([index.get(int(i), -1) for i in ids], dtype=np.int64)


def run_aggregator(
    events: list[Event], flush_times: list[float], offline_root: Path
) -> tuple[RecordingStore, OfflineWriteThroughStore]:
    """Apply the events in time order, flushing at each flush time after the events up to it."""
    clock = SimClock(START)
    registry = default_registry()
    truth = RecordingStore(MemoryOnlineStore(registry, clock=clock), clock)
    store = OfflineWriteThroughStore(
        truth,
        OfflineFeatureStore(offline_root, durable=False),
        flush_rows=500,
        flush_interval_s=None,
        clock=clock,
    )
    agg = EngagementAggregator(community_of, COMMUNITIES, clock=clock)
    i = 0
    for tf in flush_times:
        batch = []
        while i < len(events) and float(events[i].ts) <= tf:
            batch.append(events[i])
            i += 1
        clock.t = tf
        agg.apply(batch, now=tf)
        agg.flush(store, now=tf)
    store.close()
    assert store.offline_failures == 0 and store.rows_dropped == 0
    return truth, store


def entity_keys(user: str, post: str) -> dict[str, str | None]:
    community = POST_COMMUNITY.get(post)
    return {
        "post": post,
        "user": user,
        "community": community,
        "user_community": None if community is None else f"{user}|{community}",
    }


def flushed_as_of(
    truth: RecordingStore, entity: str, key: str | None, ts: float, *, strict: bool = True
) -> Flushed | None:
    """The last row flushed for this key before ``ts`` (``strict=False``: at or before)."""
    best = None
    for row in truth.rows:
        if row.entity == entity and row.key == key and (row.t < ts if strict else row.t <= ts):
            best = row  # rows are in write order: the last one wins
    return best


def reference_labels(events: list[Event]) -> dict[str, set[str]]:
    """Each action labels the latest impression of its (user, post) at or before it, within WINDOW."""
    out = {e.event_id: set[str]() for e in events if e.type == "impression"}
    for a in events:
        if a.type == "impression":
            continue
        shown = [
            (e.ts, n, e.event_id)
            for n, e in enumerate(events)
            if e.type == "impression" and (e.user_id, e.post_id) == (a.user_id, a.post_id) and e.ts <= a.ts
        ]
        if shown:
            imp_ts, _, imp_id = max(shown)
            if a.ts < imp_ts + WINDOW:
                out[imp_id].add(LABELS[a.type])
    return out


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    rng = random.Random(20130819)
    events, exact = make_events(rng)
    flush_times = sorted({*(START + 600.0 * k for k in range(31)), *exact})
    url = f"sqlite:///{tmp_path / 'events.db'}"
    log = open_event_log(url)
    for k in range(0, len(events), 100):
        log.append(events[k : k + 100])
    log.close()
    truth, _ = run_aggregator(events, flush_times, tmp_path / "features")
    communities_csv = tmp_path / "post_communities.csv"
    communities_csv.write_text(
        "post_id,community\n" + "".join(f"{p},{c}\n" for p, c in POST_COMMUNITY.items())
    )
    return {
        "events": events,
        "exact": exact,
        "url": url,
        "truth": truth,
        "root": tmp_path,
        "communities_csv": communities_csv,
    }


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert cli.main(["features", "training-set", *args]) == 0
    captured = capsys.readouterr()
    assert "[training-set" in captured.err  # progress went to stderr, the summary alone to stdout
    summary: dict[str, Any] = json.loads(captured.out)
    return summary


def test_training_set_end_to_end_matches_the_brute_force_reference(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root: Path = world["root"]
    events: list[Event] = world["events"]
    truth: RecordingStore = world["truth"]
    out = root / "train.parquet"
    served = root / "served"
    with ServedFeatureLog(served, flush_interval_s=None, durable=False) as served_log:
        # what serving logged for request r0 (the right user) and r1 (another user: must not match)
        r0 = next(e for e in events if e.request_id == "r0")
        r1 = next(e for e in events if e.request_id == "r1")
        other = next(u for u in USERS if u != r1.user_id)
        served_log.append(
            {
                "request_id": ["r0", "r1"],
                "user_id": [r0.user_id, other],
                "post_id": [r0.post_id, r1.post_id],
                "ts": np.array([float(r0.ts) - 0.05, float(r1.ts) - 0.05]),
                "f.ctr_1h": np.array([0.125, 0.5]),
            }
        )

    summary = run_cli(
        capsys,
        "--events", world["url"],
        "--offline", str(root / "features"),
        "--out", str(out),
        "--served-log", str(served),
        "--label-window", str(WINDOW),
        "--post-communities", str(world["communities_csv"]),
    )  # fmt: skip

    rows = pq.read_table(out).to_pylist()
    impressions = [e for e in events if e.type == "impression"]
    assert len(rows) == summary["rows"] == len(impressions)
    by_id = {r["event_id"]: r for r in rows}
    assert set(by_id) == {e.event_id for e in impressions}

    # labels: the brute-force attribution, row by row, and the summary's positives
    expected_labels = reference_labels(events)
    for event_id, row in by_id.items():
        assert {c for c in LABELS.values() if row[c]} == expected_labels[event_id], event_id
    for label in LABELS.values():
        assert summary["positives"][label] == sum(label in s for s in expected_labels.values())
    assert summary["positives"]["clicked"] > 30 and summary["positives"]["hidden"] > 5

    # features: each equals the value the aggregator had flushed strictly before the impression
    registry = default_registry()
    columns = [feature_column(d.entity, d.name) for e in registry.entities() for d in registry.by_entity(e)]
    assert summary["features"] == columns and summary["skipped_entities"] == []
    missing_counts = dict.fromkeys(columns, 0)
    compared = would_leak = 0
    for e in impressions:
        row = by_id[e.event_id]
        ts = float(e.ts)
        for entity, key in entity_keys(e.user_id, e.post_id).items():
            before = flushed_as_of(truth, entity, key, ts)
            after = next(
                (r for r in truth.rows if r.entity == entity and r.key == key and r.t >= ts), None
            )  # the first flush at or after the impression: what a leaky join would have used
            for d in registry.by_entity(entity):
                col = feature_column(entity, d.name)
                expected = d.default if before is None else before.values[d.name]
                assert row[col] == expected, (e.event_id, col, before)
                assert row[col + ".missing"] is (before is None), (e.event_id, col)
                missing_counts[col] += before is None
                compared += 1
                if after is not None and after.values[d.name] != expected:
                    would_leak += 1
    assert compared == len(impressions) * len(columns)
    assert would_leak > 200  # the check has teeth: a join that looked ahead would fail it
    for col in columns:
        assert summary["missing_rate"][col] == pytest.approx(missing_counts[col] / len(impressions))
    # the unknown-community post has post and user features but never community ones
    unknown = [by_id[e.event_id] for e in impressions if e.post_id == UNKNOWN_POST]
    assert unknown and all(r["f.community.ctr_24h.missing"] for r in unknown)
    assert any(not r["f.impressions_24h.missing"] for r in unknown)

    # impressions at exactly a flush: that flush counted them, the row must not see it
    for ts in world["exact"]:
        e = next(e for e in impressions if e.ts == ts)
        at = flushed_as_of(truth, "post", e.post_id, ts, strict=False)
        prev = flushed_as_of(truth, "post", e.post_id, ts)
        assert at is not None and at.t == ts  # flushed at that very moment, counting this impression
        assert by_id[e.event_id]["f.impressions_24h"] == (
            0 if prev is None else prev.values["impressions_24h"]
        )
        assert by_id[e.event_id]["f.impressions_24h"] < at.values["impressions_24h"]

    # serving's logged values: matched by request, post and user
    assert summary["served_logged_rows"] == 1
    assert by_id[r0.event_id]["served.f.ctr_1h"] == 0.125 and by_id[r0.event_id]["served.logged"]
    assert by_id[r1.event_id]["served.f.ctr_1h"] is None and not by_id[r1.event_id]["served.logged"]

    # dtypes are the registry's, whatever the history held
    schema = pq.read_schema(out)
    assert str(schema.field("f.ctr_1h").type) == "float"
    assert str(schema.field("f.user.clicks_24h").type) == "int64"
    assert str(schema.field("f.ctr_1h.missing").type) == "bool"


def test_a_second_run_exports_only_new_events(
    world: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root: Path = world["root"]
    args = ["--events", world["url"], "--offline", str(root / "features"), "--quiet"]
    first = run_cli_quiet(capsys, *args, "--out", str(root / "a.parquet"))
    assert first["events"]["new"] == len(world["events"])
    assert first["skipped_entities"] == ["community", "user_community"]  # no post -> community table
    assert not any(c.startswith("f.community") for c in first["features"])

    newest = max(float(e.ts) for e in world["events"])
    log = open_event_log(world["url"])
    late = [
        Event(event_id="late1", type="impression", user_id="u1", post_id=POSTS[0], ts=newest + 10),
        Event(event_id="late2", type="click", user_id="u1", post_id=POSTS[0], ts=newest + 20),
    ]
    log.append(late)
    log.close()
    second = run_cli_quiet(capsys, *args, "--out", str(root / "b.parquet"), "--complete-only")
    assert second["events"]["new"] == 2
    assert second["events"]["exported_through"] == first["events"]["exported_through"] + 2
    rows = pq.read_table(root / "b.parquet").to_pylist()
    # only impressions whose window closed by the watermark (the newest event) are kept
    watermark = newest + 20
    complete = {
        e.event_id for e in [*world["events"], *late] if e.type == "impression" and e.ts + WINDOW <= watermark
    }
    assert {r["event_id"] for r in rows} == complete and "late1" not in complete
    assert second["rows"] == len(rows) and second["open_label_windows"] == 0


def run_cli_quiet(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert cli.main(["features", "training-set", *args]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    summary: dict[str, Any] = json.loads(captured.out)
    return summary


def test_an_export_from_another_log_is_refused(tmp_path: Path) -> None:
    first = f"sqlite:///{tmp_path / 'a.db'}"
    log = open_event_log(first)
    log.append([Event(event_id="x1", type="impression", user_id="u1", post_id="a", ts=T0)])
    log.close()
    work = tmp_path / "work"
    build_training_set(first, tmp_path / "f", tmp_path / "a.parquet", work_dir=work, progress=False)
    # a recreated log: offsets start again at 1, with other events
    second = f"sqlite:///{tmp_path / 'b.db'}"
    log = open_event_log(second)
    log.append([Event(event_id="y1", type="impression", user_id="u2", post_id="b", ts=T0)])
    log.close()
    with pytest.raises(ExportMismatch, match="x1"):
        build_training_set(second, tmp_path / "f", tmp_path / "b.parquet", work_dir=work, progress=False)
    # the default work dir is per log URL, so the same call without work_dir just works
    summary = build_training_set(second, tmp_path / "f", tmp_path / "b.parquet", progress=False)
    assert summary["rows"] == 1 and summary["missing_rate"]["f.ctr_1h"] == 1.0
