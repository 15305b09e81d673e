"""Base36 post id conversions, scalar and vectorised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.events.post_ids import (
    MAX_POST_ID,
    int_to_post_id,
    ints_to_post_ids,
    post_id_to_int,
    post_ids_to_int,
)

post_ints = st.integers(min_value=0, max_value=MAX_POST_ID)


@pytest.mark.parametrize(
    ("s", "n"), [("0", 0), ("z", 35), ("10", 36), ("1abc2z", int("1abc2z", 36)), ("zzzzzzzzzzzz", 36**12 - 1)]
)
def test_known_values(s: str, n: int) -> None:
    assert post_id_to_int(s) == n
    assert int_to_post_id(n) == s


def test_the_largest_id_fits_in_int64() -> None:
    assert post_ids_to_int(["zzzzzzzzzzzz"])[0] == MAX_POST_ID
    assert np.iinfo(np.int64).max > MAX_POST_ID


@given(st.lists(post_ints, max_size=50))
def test_vectorised_conversions_match_the_scalar_ones(ns: list[int]) -> None:
    strings = ints_to_post_ids(np.array(ns, dtype=np.int64))
    assert strings == [int_to_post_id(n) for n in ns]

    back = post_ids_to_int(strings)
    assert back.dtype == np.int64
    assert back.tolist() == ns == [post_id_to_int(s) for s in strings]


BAD = ["", "ABC", "0abc", "a b", " a", "a\n", "-1", "+1", "a_b", "é", "a\x00", "zzzzzzzzzzzzz"]


@pytest.mark.parametrize("bad", BAD)
def test_non_canonical_ids_are_rejected_by_both_forms(bad: str) -> None:
    with pytest.raises(ValueError):
        post_id_to_int(bad)
    with pytest.raises(ValueError):
        post_ids_to_int(["abc", bad])


@pytest.mark.parametrize("n", [-1, MAX_POST_ID + 1])
def test_out_of_range_ints_are_rejected(n: int) -> None:
    with pytest.raises(ValueError):
        int_to_post_id(n)


def test_empty_input_gives_an_empty_int64_array() -> None:
    out = post_ids_to_int([])
    assert out.shape == (0,)
    assert out.dtype == np.int64
