"""Round-robin union with a fixed budget, and the full union with its size."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.eval.union import full_union, round_robin_union


def test_round_robin_interleaves_skips_duplicates_and_stops_at_the_budget() -> None:
    a = np.array([[1, 2, 3, 4], [9, -1, -1, -1]])
    b = np.array([[2, 5, 6, 7], [8, 7, 6, 5]])
    got = round_robin_union([a, b], budget=5)
    assert got.tolist() == [[1, 2, 5, 3, 6], [9, 8, 7, 6, 5]]  # row 2: a ran out, b fills its slots


def test_quotas_and_padding() -> None:
    a = np.array([[1, 2, 3, 4]])
    b = np.array([[5, 6, 7, 8]])
    assert round_robin_union([a, b], budget=6, quotas=[2, 1]).tolist() == [[1, 2, 5, 3, 4, 6]]
    assert round_robin_union([a[:, :1], b[:, :1]], budget=4).tolist() == [[1, 5, -1, -1]]
    with pytest.raises(ValueError):
        round_robin_union([a, b], budget=3, quotas=[1])


def test_full_union_sizes() -> None:
    a = np.array([[1, 2, 3], [4, -1, -1]])
    b = np.array([[3, 4, 5], [4, 4, -1]])
    merged, sizes = full_union([a, b])
    assert sizes.tolist() == [5, 1]
    assert merged.tolist() == [[1, 3, 2, 4, 5], [4, -1, -1, -1, -1]]
