"""CandidateBatch: columns stay aligned with ids through every operation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.core.candidates import CandidateBatch

ids_strategy = st.lists(st.integers(min_value=0, max_value=50), max_size=60)


@given(ids_strategy, st.data())
def test_filter_keeps_rows_aligned(ids: list[int], data: st.DataObject) -> None:
    b = CandidateBatch(ids, {"x": np.array(ids, dtype=np.float64) * 10})
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids))), dtype=bool)
    f = b.filter(mask)
    assert f.ids.tolist() == [i for i, m in zip(ids, mask, strict=True) if m]
    assert np.array_equal(f.column("x"), f.ids * 10)


@given(ids_strategy)
def test_dedup_keeps_first_occurrence_in_order(ids: list[int]) -> None:
    b = CandidateBatch(ids, {"pos": np.arange(len(ids))})
    d = b.dedup()
    expected = list(dict.fromkeys(ids))
    assert d.ids.tolist() == expected
    assert d.column("pos").tolist() == [ids.index(i) for i in expected]


@given(st.lists(ids_strategy, max_size=4))
def test_concat_fills_missing_columns(parts: list[list[int]]) -> None:
    batches = [CandidateBatch(p, {"a": np.ones(len(p))} if k % 2 == 0 else {}) for k, p in enumerate(parts)]
    c = CandidateBatch.concat(batches)
    assert c.ids.tolist() == [i for p in parts for i in p]
    assert c.has("a") == (len(parts) > 0)
    if c.has("a"):
        expected = [1.0 if k % 2 == 0 else 0.0 for k, p in enumerate(parts) for _ in p]
        assert c.column("a").tolist() == expected


def test_misaligned_column_is_rejected() -> None:
    with pytest.raises(ValueError, match="column 'x' has 2 rows"):
        CandidateBatch([1, 2, 3], {"x": [1, 2]})
    with pytest.raises(ValueError, match="mask"):
        CandidateBatch([1, 2, 3]).filter([True])


def test_missing_column_error_names_it() -> None:
    with pytest.raises(KeyError, match="'score' is missing"):
        CandidateBatch([1]).column("score")


@st.composite
def _two_batches_and_an_order(draw: st.DrawFn) -> tuple[CandidateBatch, CandidateBatch, np.ndarray]:
    def batch(prefix: str, n: int) -> CandidateBatch:
        names = draw(st.sets(st.sampled_from(["a", "b", "c", "d", "s"]), max_size=5))
        cols: dict[str, np.ndarray] = {}
        for name in sorted(names):
            if name == "s":
                cols[name] = np.array([f"{prefix}{i}" for i in range(n)])
            elif name == "b":
                cols[name] = np.arange(n) % 2 == 0
            else:
                cols[name] = np.arange(n, dtype=np.float64) + (100 if prefix == "y" else 0)
        b = CandidateBatch(np.arange(n) + (1000 if prefix == "y" else 0), cols)
        if n and draw(st.booleans()):  # an earlier lazy selection, so layers are composed
            b = b.take(draw(st.permutations(list(range(n)))))
            b = b.with_columns({"late": np.ones(n)})
        return b

    x, y = batch("x", draw(st.integers(0, 6))), batch("y", draw(st.integers(0, 4)))
    order = np.array(draw(st.permutations(list(range(len(x) + len(y))))), dtype=np.intp)
    return x, y, order


@given(_two_batches_and_an_order(), st.data())
def test_interleave_equals_concat_then_take(
    case: tuple[CandidateBatch, CandidateBatch, np.ndarray], data: st.DataObject
) -> None:
    x, y, order = case
    lazy, eager = x.interleave(y, order), CandidateBatch.concat([x, y]).take(order)
    if len(x) and len(y):
        more = np.array(data.draw(st.lists(st.integers(0, len(order) - 1), max_size=8)), dtype=np.intp)
        lazy, eager = lazy.take(more), eager.take(more)  # and still after a later selection
    assert np.array_equal(lazy.ids, eager.ids)
    if len(x) and len(y):
        assert sorted(lazy.column_names) == sorted(eager.column_names)
    for name in lazy.column_names:  # (an empty side adds no columns; concat zero-fills them)
        got, want = lazy.column(name), eager.column(name)
        assert got.dtype == want.dtype and np.array_equal(got, want), name
