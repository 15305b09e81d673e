"""Interaction logs → confidence/seen matrices, from our event log and from MovieLens files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedmix.events.backends import open_event_log
from feedmix.events.post_ids import post_id_to_int
from feedmix.events.schema import Event
from feedmix.retrieval.embeddings.interactions import (
    IdMap,
    Interactions,
    build_matrix,
    interactions_from_event_log,
    movielens_interactions,
)


def test_id_map_round_trips_and_marks_unknown_keys() -> None:
    ids = IdMap.from_keys(np.array(["u3", "u1", "u2", "u1"]))
    assert ids.keys.tolist() == ["u1", "u2", "u3"]
    assert ids.rows_of(np.array(["u2", "nope", "u1", "zzz"])).tolist() == [1, -1, 0, -1]
    assert ids.keys_of(np.array([2, 0])).tolist() == ["u3", "u1"]
    assert IdMap.from_keys(np.empty(0, dtype=np.int64)).rows_of(np.array([5])).tolist() == [-1]


def test_weights_are_summed_per_pair_then_clipped_and_seen_keeps_every_pair() -> None:
    log = Interactions(
        user_keys=np.array([1, 1, 1, 1, 2, 2]),
        item_keys=np.array([10, 10, 20, 20, 10, 30]),
        weights=np.array([1.0, 2.0, 1.0, -1.0, -1.0, 0.0], dtype=np.float32),
        ts=np.arange(6, dtype=np.float64),
    )
    m = build_matrix(log)
    assert m.confidence.toarray().tolist() == [[3.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert m.seen.toarray().tolist() == [[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    assert m.confidence.nnz == 1  # clipped pairs are dropped, not stored as zeros
    assert m.window == {"events": 6, "ts_min": 0.0, "ts_max": 5.0}


def test_fixed_maps_drop_events_with_unknown_keys() -> None:
    log = Interactions(
        np.array([1, 2]), np.array([10, 99]), np.ones(2, dtype=np.float32), np.zeros(2, dtype=np.float64)
    )
    m = build_matrix(log, users=IdMap(np.array([1, 2, 3])), items=IdMap(np.array([10, 20])))
    assert m.shape == (3, 2)
    assert m.confidence.toarray().tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    assert m.window["events"] == 1


def _event(n: int, kind: str, user: str, post: str, ts: float | None) -> Event:
    return Event.model_validate(
        {"event_id": f"e{n}", "type": kind, "user_id": user, "post_id": post, "ts": ts}
    )


def test_event_log_loader_builds_the_right_matrix() -> None:
    log = open_event_log("memory://")
    events = [
        ("impression", "alice", "a1", 100.0),
        ("click", "alice", "a1", 101.0),  # a1: 0 + 1 = 1
        ("upvote", "alice", "b2", 102.0),
        ("click", "alice", "b2", 103.0),  # b2: 2 + 1 = 3
        ("click", "alice", "c3", 104.0),
        ("hide", "alice", "c3", 105.0),  # c3: 1 - 1 = 0 -> seen only
        ("impression", "bob", "a1", 106.0),  # seen only
        ("downvote", "bob", "b2", 107.0),  # -1 -> clipped
        ("upvote", "bob", "c3", 108.0),  # 2
    ]
    log.append([_event(i, *e) for i, e in enumerate(events)])

    read = interactions_from_event_log(log, page_size=2)  # several pages
    assert read.last_offset == len(events)
    m = build_matrix(read.interactions)
    assert m.users.keys.tolist() == ["alice", "bob"]
    assert m.items.keys.tolist() == sorted(post_id_to_int(p) for p in ("a1", "b2", "c3"))
    assert m.confidence.toarray().tolist() == [[1.0, 3.0, 0.0], [0.0, 0.0, 2.0]]
    assert m.seen.toarray().tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]

    # a time window, end exclusive: only what happened in [101, 104)
    window = interactions_from_event_log(log, start_ts=101.0, end_ts=104.0).interactions
    assert window.ts.tolist() == [101.0, 102.0, 103.0]
    # incremental read from the last offset sees only new events
    log.append([_event(100, "click", "carol", "a1", 200.0)])
    later = interactions_from_event_log(log, after=read.last_offset)
    assert later.interactions.user_keys.tolist() == ["carol"] and later.last_offset == len(events) + 1


def test_event_log_loader_opens_and_reads_an_empty_log_by_url() -> None:
    read = interactions_from_event_log("memory://")
    assert len(read.interactions) == 0 and read.last_offset == 0
    assert build_matrix(read.interactions).shape == (0, 0)


def test_movielens_ratings_become_binary_positives(tmp_path: Path) -> None:
    folder = tmp_path / "movielens-latest-small"
    folder.mkdir()
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,10,4.0,100\n1,20,3.5,101\n2,10,5.0,102\n"
    )
    log = movielens_interactions(tmp_path)  # the data root works as well as the folder
    assert log.weights.tolist() == [1.0, 0.0, 1.0]
    assert log.user_keys.dtype == np.int64 and log.ts.tolist() == [100.0, 101.0, 102.0]
    with pytest.raises(FileNotFoundError):
        movielens_interactions(tmp_path / "nowhere")
