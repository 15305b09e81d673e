"""THE leakage test: every training row gets exactly the feature values known before its impression.

The property test builds random timelines (feature writes and impressions on a coarse clock, so
exact ties and "1 ms later" happen all the time, across a midnight partition boundary) and checks
the DuckDB join against a brute-force Python as-of reference that reads nothing but the inputs.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.features.offline.feature_log import OfflineFeatureStore
from feedmix.features.offline.pit_join import FeatureSetSpec, build_training_rows

from .helpers import T0, event, export

POSTS = ("a", "b", "c")
USERS = ("u1", "u2")
FEATURES = ("ctr", "score")
TtlFrom = Literal["feature", "record"]


def rows_by_offset(table: Any) -> dict[int, dict[str, Any]]:
    return {r["impression_offset"]: r for r in table.to_pylist()}


# -- the explicit timeline ------------------------------------------------------------------------


@pytest.fixture
def timeline(tmp_path: Path) -> tuple[Path, Path]:
    """ctr of post "a" is 1 at T0-100, 2 at T0-10, 3 at exactly T0, 4 at T0+1ms; impressions around."""
    store = OfflineFeatureStore(tmp_path / "features")
    for value, ts in [(1.0, T0 - 100), (2.0, T0 - 10), (3.0, T0), (4.0, T0 + 0.001)]:
        store.write("post", ["a"], {"ctr": np.array([value])}, ts)
    events = [
        event(1, "impression", "u1", "a", T0 - 200),  # before any value
        event(2, "impression", "u1", "a", T0),  # the value written at exactly T0 is not yet known
        event(3, "impression", "u2", "a", T0 + 0.0005),  # between T0 and T0+1ms
        event(4, "impression", "u1", "a", T0 + 0.001),  # the 1 ms value is written at this very moment
        event(5, "impression", "u2", "a", T0 + 0.002),
        event(6, "impression", "u1", "b", T0 + 1),  # another post: nothing
    ]
    return export(events, tmp_path / "events"), tmp_path / "features"


def test_each_impression_gets_the_value_known_strictly_before_it(timeline: tuple[Path, Path]) -> None:
    events_dir, features = timeline
    spec = FeatureSetSpec("post", "post_id", ["ctr"])
    rows = rows_by_offset(build_training_rows(events_dir, features, [spec], label_window_s=60))
    assert {k: r["post.ctr"] for k, r in rows.items()} == {1: None, 2: 2.0, 3: 3.0, 4: 3.0, 5: 4.0, 6: None}


def test_ttl_turns_stale_values_into_null(timeline: tuple[Path, Path]) -> None:
    events_dir, features = timeline
    spec = FeatureSetSpec("post", "post_id", ["ctr"], max_age_s=10.0)
    rows = rows_by_offset(build_training_rows(events_dir, features, [spec], label_window_s=60))
    # impression 2 sees the T0-10 value at an age of exactly 10 s: still valid (age <= max_age)
    assert rows[2]["post.ctr"] == 2.0
    short = FeatureSetSpec("post", "post_id", ["ctr"], max_age_s=9.999)
    rows = rows_by_offset(build_training_rows(events_dir, features, [short], label_window_s=60))
    assert rows[2]["post.ctr"] is None  # 10 s old, TTL 9.999 s: expired, not an older value
    assert rows[3]["post.ctr"] == 3.0


def test_record_ttl_counts_from_the_latest_write_of_any_feature(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path / "features")
    store.write("post", ["a"], {"ctr": np.array([0.5])}, T0 - 100)
    store.write("post", ["a"], {"score": np.array([7.0])}, T0 - 1)  # refreshes the record, not ctr
    events_dir = export([event(1, "impression", "u1", "a", T0)], tmp_path / "ev")
    by_feature = FeatureSetSpec("post", "post_id", ["ctr", "score"], max_age_s=10)
    by_record = FeatureSetSpec("post", "post_id", ["ctr", "score"], max_age_s=10, ttl_from="record", name="r")
    (row,) = build_training_rows(events_dir, tmp_path / "features", [by_feature, by_record], 1).to_pylist()
    assert (row["post.ctr"], row["post.score"]) == (None, 7.0)
    assert (row["r.ctr"], row["r.score"]) == (0.5, 7.0)


def test_derived_keys_may_look_up_registered_tables(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path / "features")
    store.write("user_community", ["u1|pics", "u1|news"], {"clicks": np.array([3, 9])}, T0 - 5)
    events_dir = export(
        [event(1, "impression", "u1", "a", T0), event(2, "impression", "u1", "b", T0)], tmp_path / "ev"
    )
    posts = pa.table({"post_id": ["a", "b"], "community": ["pics", "news"]})
    key = "user_id || '|' || (SELECT community FROM posts p WHERE p.post_id = ev.post_id)"
    spec = FeatureSetSpec("user_community", "", ["clicks"], key_sql=key)
    table = build_training_rows(events_dir, tmp_path / "features", [spec], 1, tables={"posts": posts})
    assert table.column("user_community.clicks").to_pylist() == [3, 9]
    with pytest.raises(ValueError, match="reserved"):
        build_training_rows(events_dir, tmp_path / "features", [spec], 1, tables={"imp": posts})


def test_features_per_key_and_derived_keys(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path / "features")
    store.write("user", ["u1", "u2"], {"activity": np.array([5, 7])}, T0 - 5)
    store.write("user_post", ["u1:a", "u2:a"], {"affinity": np.array([0.5, 0.9])}, T0 - 5)
    events_dir = export(
        [event(1, "impression", "u1", "a", T0), event(2, "impression", "u2", "a", T0)], tmp_path / "ev"
    )
    specs = [
        FeatureSetSpec("user", "user_id", ["activity"]),
        FeatureSetSpec("user_post", "", ["affinity"], key_sql="user_id || ':' || post_id"),
    ]
    rows = rows_by_offset(build_training_rows(events_dir, tmp_path / "features", specs, label_window_s=1))
    assert (rows[1]["user.activity"], rows[1]["user_post.affinity"]) == (5, 0.5)
    assert (rows[2]["user.activity"], rows[2]["user_post.affinity"]) == (7, 0.9)


def test_a_feature_missing_everywhere_is_null_and_no_feature_files_is_fine(tmp_path: Path) -> None:
    store = OfflineFeatureStore(tmp_path / "features")
    store.write("post", ["a"], {"ctr": np.array([0.3])}, T0 - 1)
    events_dir = export([event(1, "impression", "u1", "a", T0)], tmp_path / "ev")
    specs = [FeatureSetSpec("post", "post_id", ["ctr", "never"]), FeatureSetSpec("nothing", "user_id", ["x"])]
    (row,) = build_training_rows(events_dir, tmp_path / "features", specs, label_window_s=1).to_pylist()
    assert (row["post.ctr"], row["post.never"], row["nothing.x"]) == (0.3, None, None)


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="not an impression column"):
        FeatureSetSpec("post", "community", ["x"])
    with pytest.raises(ValueError, match="names no features"):
        FeatureSetSpec("post", "post_id", [])
    with pytest.raises(ValueError, match="max_age_s"):
        FeatureSetSpec("post", "post_id", ["x"], max_age_s=-1)
    with pytest.raises(ValueError, match="entity"):
        FeatureSetSpec("Post/../x", "post_id", ["x"])
    with pytest.raises(ValueError, match="produced twice"):
        build_training_rows(
            "/nonexistent",
            "/nonexistent",
            [FeatureSetSpec("post", "post_id", ["x"]), FeatureSetSpec("post", "post_id", ["x"])],
            label_window_s=1,
        )


# -- the property test against a brute-force reference ------------------------------------------


@dataclass(frozen=True)
class Write:
    """One store.write call: rows of (post, ts, ctr or None, score or None); columns it carries."""

    rows: tuple[tuple[str, float, float | None, float | None], ...]
    carries: tuple[str, ...]


times = st.builds(lambda s, ms: T0 + s + ms, st.integers(0, 120), st.sampled_from([0.0, 0.001]))


@st.composite
def writes(draw: st.DrawFn, index: int) -> Write:
    carries = draw(st.sampled_from([("ctr",), ("score",), ("ctr", "score")]))
    n = draw(st.integers(1, 4))
    rows = []
    for j in range(n):
        # distinct values identify the exact row a join picked; some are None ("not carried")
        ctr = None if "ctr" not in carries or draw(st.integers(0, 4)) == 0 else float(index * 10 + j)
        score = None if "score" not in carries or draw(st.integers(0, 4)) == 0 else float(-index * 10 - j)
        rows.append((draw(st.sampled_from(POSTS)), draw(times), ctr, score))
    return Write(tuple(rows), carries)


@st.composite
def timelines(draw: st.DrawFn) -> tuple[list[Write], list[tuple[str, str, float]], float | None, TtlFrom]:
    n_writes = draw(st.integers(0, 8))
    ws = [draw(writes(i + 1)) for i in range(n_writes)]
    imps = draw(
        st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(POSTS), times), min_size=1, max_size=12)
    )
    ttl = draw(st.one_of(st.none(), st.sampled_from([0.0, 0.001, 5.0, 30.0])))
    return ws, imps, ttl, draw(st.sampled_from(["feature", "record"]))


def reference(
    ws: list[Write], imp_post: str, imp_ts: float, feature: str, ttl: float | None, ttl_from: TtlFrom
) -> float | None:
    """The latest non-null value with event_ts < imp_ts (ties: later write, later row), TTL applied.

    The TTL counts from that value's timestamp ("feature") or from the key's latest row written
    before the impression, whatever it carried ("record").
    """
    col = FEATURES.index(feature)
    best: tuple[float, int, int, float] | None = None
    record_ts = -math.inf
    for wi, w in enumerate(ws):
        for ri, (post, ts, *values) in enumerate(w.rows):
            if post != imp_post or not ts < imp_ts:
                continue
            record_ts = max(record_ts, ts)
            value = values[col]
            if value is not None and (best is None or (ts, wi, ri) > best[:3]):
                best = (ts, wi, ri, value)
    if best is None:
        return None
    age = imp_ts - (best[0] if ttl_from == "feature" else record_ts)
    return None if ttl is not None and age > ttl else best[3]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timelines())
def test_join_matches_brute_force_as_of_reference(
    case: tuple[list[Write], list[tuple[str, str, float]], float | None, TtlFrom],
) -> None:
    ws, imps, ttl, ttl_from = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = OfflineFeatureStore(root / "features", durable=False)
        for w in ws:
            cols = {}
            for f in w.carries:
                i = FEATURES.index(f)
                cols[f] = np.array([math.nan if r[2 + i] is None else r[2 + i] for r in w.rows])
            store.write("post", [r[0] for r in w.rows], cols, np.array([r[1] for r in w.rows]))
        events_dir = export(
            [event(i + 1, "impression", u, p, ts) for i, (u, p, ts) in enumerate(imps)], root / "events"
        )
        spec = FeatureSetSpec("post", "post_id", list(FEATURES), max_age_s=ttl, ttl_from=ttl_from)
        table = build_training_rows(events_dir, root / "features", [spec], label_window_s=1.0)
    rows = rows_by_offset(table)
    assert sorted(rows) == list(range(1, len(imps) + 1))  # one row per impression
    for offset, (_, post, ts) in enumerate(imps, start=1):
        for f in FEATURES:
            assert rows[offset][f"post.{f}"] == reference(ws, post, ts, f, ttl, ttl_from), (offset, f)
    # and the output is in time order
    out_ts = [r["ts"] for r in table.to_pylist()]
    assert out_ts == sorted(out_ts)
