"""The OnlineStore contract, run against the in-process and the Redis backend."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.features.entity_keys import post_keys
from feedmix.features.registry import FeatureRegistry

from .conftest import MakeStore, small_registry

ALL = ["score", "count", "flag"]


def test_written_values_read_back_in_key_order_with_their_dtypes(make_store: MakeStore) -> None:
    store = make_store()
    store.write(
        "post",
        ["a", "b", "c"],
        {"score": [0.25, 1.5, -2.0], "count": [7, 0, 2**40], "flag": [False, True, False]},
        ts=100.0,
    )

    got = store.read("post", ["c", "a", "b"], ALL)

    assert got.columns["score"].dtype == np.float32
    assert got.columns["count"].dtype == np.int64
    assert got.columns["flag"].dtype == np.bool_
    assert got.columns["score"].tolist() == [-2.0, 0.25, 1.5]
    assert got.columns["count"].tolist() == [2**40, 7, 0]
    assert got.columns["flag"].tolist() == [False, False, True]
    assert not got.missing.any() and not got.unset.any()
    assert got.missing_counts() == {"score": 0, "count": 0, "flag": 0}


def test_unknown_keys_get_defaults_and_are_flagged(make_store: MakeStore) -> None:
    store = make_store()
    store.write("post", ["a"], {"score": [3.0], "count": [3], "flag": [False]}, ts=1.0)

    got = store.read("post", ["zz", "a", "yy"], ["count", "score", "flag"])

    assert got.names == ("count", "score", "flag")
    assert got.columns["count"].tolist() == [-1, 3, -1]
    assert got.columns["score"].tolist() == [0.5, 3.0, 0.5]
    assert got.columns["flag"].tolist() == [True, False, True]
    assert got.missing.tolist() == [True, False, True]
    assert got.missing_counts() == {"count": 2, "score": 2, "flag": 2}


def test_a_partial_write_keeps_the_other_features(make_store: MakeStore) -> None:
    store = make_store()
    store.write("post", ["a", "b"], {"score": [1.0, 2.0], "count": [10, 20], "flag": [False, False]}, ts=1.0)
    store.write("post", ["b", "c"], {"count": [21, 31]}, ts=2.0)  # c is new

    got = store.read("post", ["a", "b", "c"], ALL)

    assert got.columns["count"].tolist() == [10, 21, 31]
    assert got.columns["score"].tolist() == [1.0, 2.0, 0.5]  # c's score was never written
    assert got.columns["flag"].tolist() == [False, False, True]
    assert got.missing.tolist() == [False, False, False]
    # c has a row, but only its count was written: the others are unset (and counted as missing)
    assert got.unset.tolist() == [[False, False, False], [False, False, False], [True, False, True]]
    assert got.missing_counts() == {"score": 1, "count": 0, "flag": 1}


def test_writers_of_disjoint_features_do_not_clobber_each_other(make_store: MakeStore) -> None:
    store = make_store()
    keys = [f"k{i}" for i in range(50)]
    store.write("post", keys, {"score": np.arange(50, dtype=np.float32)}, ts=1.0)
    store.write("post", keys, {"flag": np.zeros(50, dtype=bool)}, ts=2.0)
    store.write("post", keys, {"count": np.arange(50) * 2}, ts=3.0)

    got = store.read("post", keys, ALL)

    assert got.columns["score"].tolist() == list(range(50))
    assert got.columns["count"].tolist() == list(range(0, 100, 2))
    assert not got.columns["flag"].any()
    assert not got.unset.any()


def test_the_last_of_repeated_keys_in_one_write_wins(make_store: MakeStore) -> None:
    store = make_store()
    store.write("post", ["a", "b", "a"], {"count": [1, 2, 3]}, ts=1.0)
    assert store.read("post", ["a", "b"], ["count"]).columns["count"].tolist() == [3, 2]


def test_reading_a_key_twice_returns_it_twice_and_empty_reads_work(make_store: MakeStore) -> None:
    store = make_store()
    store.write("post", ["a"], {"count": [5]}, ts=1.0)

    assert store.read("post", ["a", "a"], ["count"]).columns["count"].tolist() == [5, 5]
    empty = store.read("post", [], ALL)
    assert empty.columns["score"].shape == (0,) and empty.columns["score"].dtype == np.float32
    assert empty.missing.shape == (0,) and empty.unset.shape == (0, 3)
    store.write("post", [], {"count": []}, ts=1.0)  # a no-op, not an error


def test_keys_may_be_lists_or_numpy_arrays(make_store: MakeStore) -> None:
    store = make_store()
    ids = np.array([1, 36, 123456789], dtype=np.int64)
    store.write("post", post_keys(ids), {"count": ids}, ts=1.0)

    as_text = store.read("post", ["1", "10", "21i3v9"], ["count"])
    as_unicode = store.read("post", np.array(["21i3v9"]), ["count"])

    assert as_text.columns["count"].tolist() == [1, 36, 123456789]
    assert as_unicode.columns["count"].tolist() == [123456789]


def test_entities_are_separate_namespaces(make_store: MakeStore) -> None:
    store = make_store()
    store.write("user", ["a"], {"visits": [4]}, ts=1.0)
    store.write("user_community", ["a|pics", "b|pics"], {"clicks": [1, 2]}, ts=1.0)

    assert store.read("post", ["a"], ["count"]).missing.tolist() == [True]
    assert store.read("user", ["a"], ["visits"]).columns["visits"].tolist() == [4]
    pairs = store.read("user_community", ["b|pics", "a|pics", "a|funny"], ["clicks"])
    assert pairs.columns["clicks"].tolist() == [2, 1, 0]
    assert pairs.missing.tolist() == [False, False, True]


def test_a_row_expires_ttl_after_its_last_write_and_restarts_from_defaults(make_store: MakeStore) -> None:
    store = make_store(small_registry(ttl_s=0.3))
    store.write("post", ["a", "b"], {"count": [1, 2], "score": [9.0, 9.0]}, ts=1.0)
    time.sleep(0.15)
    store.write("post", ["b"], {"count": [3]}, ts=2.0)  # restarts b's TTL
    time.sleep(0.25)  # a: 0.4 s after its write, b: 0.25 s after its last write

    got = store.read("post", ["a", "b"], ["count", "score"])
    assert got.missing.tolist() == [True, False]
    assert got.columns["count"].tolist() == [-1, 3]
    assert got.columns["score"].tolist() == [0.5, 9.0]

    store.write("post", ["a"], {"count": [4]}, ts=3.0)  # a new row: its old score is gone
    again = store.read("post", ["a"], ["count", "score"])
    assert again.columns["count"].tolist() == [4]
    assert again.columns["score"].tolist() == [0.5]
    assert again.unset.tolist() == [[False, True]]


def test_unknown_features_entities_and_bad_values_are_rejected(make_store: MakeStore) -> None:
    store = make_store()
    with pytest.raises(ValueError, match=r"post\.nope"):
        store.read("post", ["a"], ["nope"])
    with pytest.raises(ValueError, match="community"):
        store.read("community", ["a"], ["x"])
    with pytest.raises(ValueError, match="shape"):
        store.write("post", ["a", "b"], {"count": [1]}, ts=1.0)
    with pytest.raises(TypeError):  # a float must not be truncated into an int64 feature
        store.write("post", ["a"], {"count": [1.5]}, ts=1.0)
    with pytest.raises(ValueError, match="key"):
        store.write("post", ["a{b}"], {"count": [1]}, ts=1.0)
    with pytest.raises(ValueError, match="key"):
        store.write("user_community", ["no-separator"], {"clicks": [1]}, ts=1.0)
    with pytest.raises(ValueError, match="repeat"):
        store.read("post", ["a"], ["count", "count"])


_value_rows = st.lists(
    st.tuples(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12),
        st.floats(width=32, allow_nan=False),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_value_rows, absent=st.lists(st.text(alphabet="XYZ", min_size=1, max_size=5), max_size=5))
def test_roundtrip_property(
    make_store: MakeStore, rows: list[tuple[str, float, int, bool]], absent: list[str]
) -> None:
    """Any values of every dtype read back exactly (last write per key wins); absent keys get defaults."""
    store = make_store()
    ns = uuid.uuid4().hex[:8]  # hypothesis reuses the store across examples
    keys = [f"{ns}{k}" for k, *_ in rows]
    store.write(
        "post",
        keys,
        {
            "score": np.array([r[1] for r in rows], dtype=np.float32),
            "count": np.array([r[2] for r in rows], dtype=np.int64),
            "flag": np.array([r[3] for r in rows], dtype=bool),
        },
        ts=1.0,
    )
    expected = {k: r for k, r in zip(keys, rows, strict=True)}  # later duplicates overwrite
    query = list(expected) + [f"{ns}{a}" for a in absent]

    got = store.read("post", query, ["flag", "count", "score"])

    n = len(expected)
    assert got.columns["score"][:n].tolist() == [float(np.float32(r[1])) for r in expected.values()]
    assert got.columns["count"][:n].tolist() == [r[2] for r in expected.values()]
    assert got.columns["flag"][:n].tolist() == [r[3] for r in expected.values()]
    assert got.columns["count"][n:].tolist() == [-1] * len(absent)
    assert got.missing.tolist() == [False] * n + [True] * len(absent)


def test_registry_used_by_the_store_is_exposed(make_store: MakeStore) -> None:
    reg: FeatureRegistry = small_registry()
    assert make_store(reg).registry is reg
