"""Labels come only from the same (user, post), inside the window after the impression they follow."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.events.schema import EVENT_TYPES
from feedmix.features.offline.pit_join import LABELS, build_training_rows

from .helpers import T0, event, export

W = 60.0


def labels(table_rows: list[dict[str, object]]) -> dict[int, set[str]]:
    return {int(r["impression_offset"]): {c for c in LABELS.values() if r[c]} for r in table_rows}  # type: ignore[call-overload]


def test_every_action_type_has_a_label_column() -> None:
    assert set(LABELS) == set(EVENT_TYPES) - {"impression"}


def test_labels_window_users_posts_and_reimpressions(tmp_path: Path) -> None:
    events = [
        event(1, "click", "u1", "a", T0 - 1),  # before the impression: labels nothing
        event(2, "impression", "u1", "a", T0),
        event(3, "upvote", "u1", "a", T0),  # same timestamp as the impression: counts (after it)
        event(4, "click", "u2", "a", T0 + 1),  # another user's click
        event(5, "hide", "u1", "b", T0 + 1),  # another post
        event(6, "click", "u1", "a", T0 + W),  # the window [T0, T0+W) has closed
        event(7, "impression", "u2", "b", T0 + 10),
        event(8, "hide", "u2", "b", T0 + 10 + W - 0.001),  # just inside
        event(9, "impression", "u1", "c", T0 + 20),
        event(10, "impression", "u1", "c", T0 + 30),  # shown again: later actions belong to this one
        event(11, "click", "u1", "c", T0 + 31),
        event(12, "downvote", "u1", "c", T0 + 29),  # between the two: the first impression's
    ]
    table = build_training_rows(export(events, tmp_path / "ev"), tmp_path / "f", [], label_window_s=W)
    assert labels(table.to_pylist()) == {2: {"upvoted"}, 7: {"hidden"}, 9: {"downvoted"}, 10: {"clicked"}}


def test_label_window_complete_follows_the_watermark(tmp_path: Path) -> None:
    events = [event(1, "impression", "u1", "a", T0), event(2, "impression", "u1", "b", T0 + 100)]
    events_dir = export(events, tmp_path / "ev")
    rows = build_training_rows(events_dir, tmp_path / "f", [], label_window_s=W).to_pylist()
    assert [r["label_window_complete"] for r in rows] == [True, False]  # watermark: newest event, T0+100
    rows = build_training_rows(
        events_dir, tmp_path / "f", [], label_window_s=W, watermark=T0 + 200
    ).to_pylist()
    assert [r["label_window_complete"] for r in rows] == [True, True]


def test_no_events_gives_no_rows(tmp_path: Path) -> None:
    assert build_training_rows(tmp_path / "none", tmp_path / "f", [], label_window_s=W).num_rows == 0
    with pytest.raises(ValueError, match="label_window_s"):
        build_training_rows(tmp_path / "none", tmp_path / "f", [], label_window_s=0)


kinds = st.sampled_from(["impression", "impression", "click", "upvote", "downvote", "hide"])
ts = st.builds(lambda s, ms: T0 + s + ms, st.integers(0, 40), st.sampled_from([0.0, 0.001]))


def reference(evs: list[tuple[str, str, str, float]], window: float) -> dict[int, set[str]]:
    """Attribute each action to the latest impression (by ts, then offset) at or before it."""
    out: dict[int, set[str]] = {i + 1: set() for i, e in enumerate(evs) if e[0] == "impression"}
    for kind, user, post, t in evs:
        if kind == "impression":
            continue
        imps = [
            (e[3], i + 1)
            for i, e in enumerate(evs)
            if e[0] == "impression" and e[1:3] == (user, post) and e[3] <= t
        ]
        if imps:
            imp_ts, offset = max(imps)
            if t < imp_ts + window:
                out[offset].add(LABELS[kind])
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(kinds, st.sampled_from(["u1", "u2"]), st.sampled_from(["a", "b"]), ts), max_size=25),
    st.sampled_from([0.001, 5.0, 15.0]),
)
def test_labels_match_brute_force_reference(evs: list[tuple[str, str, str, float]], window: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        events = [event(i + 1, k, u, p, t) for i, (k, u, p, t) in enumerate(evs)]
        table = build_training_rows(
            export(events, Path(tmp) / "ev"), Path(tmp) / "f", [], label_window_s=window
        )
    assert labels(table.to_pylist()) == reference(evs, window)
