"""The 8-byte member encoding: lossless, and byte order equals numeric order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.stores.id_codec import decode_ids, encode_ids

int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(int64s, max_size=30))
def test_round_trip(ids: list[int]) -> None:
    members = encode_ids(np.array(ids, dtype=np.int64))
    assert all(len(m) == 8 for m in members)
    decoded = decode_ids(members)
    assert decoded.dtype == np.int64
    assert decoded.tolist() == ids


@given(int64s, int64s)
def test_byte_order_is_numeric_order(a: int, b: int) -> None:
    (ma,), (mb,) = encode_ids([a]), encode_ids([b])
    assert (ma < mb) == (a < b)


def test_members_of_the_wrong_width_are_rejected() -> None:
    with pytest.raises(ValueError):
        decode_ids([b"\x00" * 8, b"\x00" * 4])
