"""Embeddings survive a save/load round trip, ids, dtypes and meta included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from feedmix.retrieval.embeddings.vectors import META_FILE, Embeddings


def test_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    emb = Embeddings(
        user_ids=np.array(["alice", "bob"]),
        user_vectors=rng.random((2, 4), dtype=np.float32),
        item_ids=np.array([7, 11, 13], dtype=np.int64),
        item_vectors=rng.random((3, 4), dtype=np.float32),
        meta={"trainer": "implicit.als", "params": {"factors": 4}, "data": {"ts_max": 1.5}, "metrics": {}},
    )
    loaded = Embeddings.load(emb.save(tmp_path / "model"))
    assert loaded.user_ids.tolist() == ["alice", "bob"]
    assert loaded.item_ids.dtype == np.int64 and loaded.item_ids.tolist() == [7, 11, 13]
    np.testing.assert_array_equal(loaded.user_vectors, emb.user_vectors)
    np.testing.assert_array_equal(loaded.item_vectors, emb.item_vectors)
    assert loaded.item_vectors.dtype == np.float32
    assert loaded.meta == emb.meta
    assert (tmp_path / "model" / META_FILE).read_text().startswith("{")
    assert loaded.items.rows_of(np.array([11])).tolist() == [1]


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="same dimension"):
        Embeddings(np.array([1]), np.zeros((1, 3), np.float32), np.array([1]), np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="one item vector"):
        Embeddings(
            np.array([1]), np.zeros((1, 3), np.float32), np.array([1, 2]), np.zeros((1, 3), np.float32)
        )
